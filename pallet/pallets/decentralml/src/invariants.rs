//! The pallet's invariants, checked after every test and under `try-runtime`.

use super::*;
use alloc::collections::{btree_map::BTreeMap, btree_set::BTreeSet};
use frame::{deps::sp_runtime::TryRuntimeError, hashing::blake2_256, prelude::*};

/// What the records owe under each of the pallet's hold reasons, per account.
pub struct ExpectedHolds<T: Config> {
	/// From each creator: the rewards of the unpaid slots of its open tasks.
	pub escrow: BTreeMap<T::AccountId, BalanceOf<T>>,
	/// From each creator: the storage deposits of its task records not yet removed.
	pub storage: BTreeMap<T::AccountId, BalanceOf<T>>,
	/// From each worker: the bonds of its assignments not yet submitted or revealed.
	pub bonds: BTreeMap<T::AccountId, BalanceOf<T>>,
}

impl<T: Config> ExpectedHolds<T> {
	/// The expected amounts under `reason`.
	pub fn under(&self, reason: HoldReason) -> &BTreeMap<T::AccountId, BalanceOf<T>> {
		match reason {
			HoldReason::TaskEscrow => &self.escrow,
			HoldReason::TaskStorage => &self.storage,
			HoldReason::AssignmentBond => &self.bonds,
		}
	}
}

/// Every hold reason of the pallet.
pub const HOLD_REASONS: [HoldReason; 3] =
	[HoldReason::TaskEscrow, HoldReason::TaskStorage, HoldReason::AssignmentBond];

fn add<T: Config>(
	map: &mut BTreeMap<T::AccountId, BalanceOf<T>>,
	who: &T::AccountId,
	amount: BalanceOf<T>,
) {
	let sum = map.entry(who.clone()).or_insert_with(Zero::zero);
	*sum = sum.saturating_add(amount);
}

impl<T: Config> Pallet<T> {
	/// Check every invariant listed in the crate docs.
	pub fn do_try_state() -> Result<(), TryRuntimeError> {
		Self::check_holds_match_records()?;
		let next_id = NextTaskId::<T>::get();
		for (task_id, task) in Tasks::<T>::iter() {
			ensure!(task_id < next_id, "a task id is not below NextTaskId");
			Self::check_record(&task)?;
			Self::check_counters(task_id, &task)?;
			Self::check_slots(&task)?;
			Self::check_no_own_assignment(task_id, &task)?;
			Self::check_nothing_stranded(task_id, &task)?;
			Self::check_submitted_cids(task_id)?;
		}
		// Records of a task id that has no task would be unreachable, and never removed.
		for task_id in LiveWorkers::<T>::iter_keys() {
			ensure!(Tasks::<T>::contains_key(task_id), "live workers of an unknown task");
		}
		for (task_id, _, _) in Assignments::<T>::iter() {
			ensure!(Tasks::<T>::contains_key(task_id), "an assignment of an unknown task");
		}
		for (task_id, _, _) in SubmittedCids::<T>::iter() {
			ensure!(Tasks::<T>::contains_key(task_id), "a submitted CID of an unknown task");
		}
		Ok(())
	}

	/// What each account's records owe under each hold reason. Checks each task's own record
	/// of its escrow against `reward * unpaid` on the way.
	pub fn expected_holds() -> Result<ExpectedHolds<T>, TryRuntimeError> {
		let mut expected = ExpectedHolds::<T> {
			escrow: BTreeMap::new(),
			storage: BTreeMap::new(),
			bonds: BTreeMap::new(),
		};
		for (task_id, task) in Tasks::<T>::iter() {
			let formula = if task.is_open() {
				let unpaid: BalanceOf<T> = task.slots.saturating_sub(task.paid).into();
				task.reward.saturating_mul(unpaid)
			} else {
				Zero::zero()
			};
			ensure!(task.escrow == formula, "task escrow does not match reward * unpaid slots");
			add::<T>(&mut expected.escrow, &task.creator, task.escrow);
			add::<T>(&mut expected.storage, &task.creator, task.deposit);
			for (worker, assignment) in Assignments::<T>::iter_prefix(task_id) {
				if let Assignment::Assigned { bond, .. } | Assignment::Committed { bond, .. } =
					assignment
				{
					add::<T>(&mut expected.bonds, &worker, bond);
				}
			}
		}
		Ok(expected)
	}

	/// Invariant 1, per account that has a record: what is held under each reason equals what
	/// its records owe. (The total under each reason over every account, with or without a
	/// record, needs to enumerate accounts, which only a runtime can: the tests check it on
	/// the mock runtime.)
	fn check_holds_match_records() -> Result<(), TryRuntimeError> {
		let expected = Self::expected_holds()?;
		for reason in HOLD_REASONS {
			for (who, amount) in expected.under(reason) {
				ensure!(
					Self::held_for(reason, who) == *amount,
					"held balance differs from what the records owe"
				);
			}
		}
		Ok(())
	}

	/// The task's own fields agree with each other.
	fn check_record(task: &TaskOf<T>) -> Result<(), TryRuntimeError> {
		// Zero only on a task migrated from storage version 0 that had ended (its deposit
		// was returned then) or whose deposit could not be held again.
		ensure!(
			task.deposit.is_zero() || task.deposit == Self::task_deposit(task.metadata.len()),
			"deposit does not match the metadata length"
		);
		ensure!(task.is_open() == task.ended_at.is_none(), "ended_at set on an open task");
		if task.submission == Submission::Plain {
			ensure!(task.committed == 0, "a plain task has commitments");
		}
		Ok(())
	}

	/// Invariant 2: the task's counters agree with its assignments, and its live list holds
	/// exactly the workers whose assignment is live, each once.
	fn check_counters(task_id: TaskId, task: &TaskOf<T>) -> Result<(), TryRuntimeError> {
		let (mut assigned, mut committed, mut pending, mut paid, mut all) =
			(0u32, 0u32, 0u32, 0u32, 0u32);
		let mut live_by_assignment = BTreeSet::new();
		for (worker, assignment) in Assignments::<T>::iter_prefix(task_id) {
			all += 1;
			match assignment {
				Assignment::Assigned { .. } => assigned += 1,
				Assignment::Committed { .. } => committed += 1,
				Assignment::Submitted { .. } => pending += 1,
				Assignment::Paid { .. } => paid += 1,
				Assignment::Rejected { .. } | Assignment::Released => continue,
			}
			if !matches!(assignment, Assignment::Paid { .. }) {
				live_by_assignment.insert(worker);
			}
		}
		ensure!(task.assigned == assigned, "assigned counter differs from assignments");
		ensure!(task.committed == committed, "committed counter differs from assignments");
		ensure!(task.pending == pending, "pending counter differs from assignments");
		ensure!(task.paid == paid, "paid counter differs from assignments");
		ensure!(all <= task.records, "more assignment records than the task ever made");
		let live = LiveWorkers::<T>::get(task_id);
		let live_set: BTreeSet<_> = live.iter().cloned().collect();
		ensure!(live_set.len() == live.len(), "live list holds a worker twice");
		ensure!(live_set == live_by_assignment, "live list differs from the live assignments");
		Ok(())
	}

	/// Invariant 3: never more live assignments and payments than slots, nor more records
	/// than the bound.
	fn check_slots(task: &TaskOf<T>) -> Result<(), TryRuntimeError> {
		ensure!(
			task.assigned
				.saturating_add(task.committed)
				.saturating_add(task.pending)
				.saturating_add(task.paid)
				<= task.slots,
			"more assignments and payments than slots"
		);
		Ok(())
	}

	/// Invariant 4: neither the creator nor the validator holds an assignment on the task.
	fn check_no_own_assignment(task_id: TaskId, task: &TaskOf<T>) -> Result<(), TryRuntimeError> {
		ensure!(
			!Assignments::<T>::contains_key(task_id, &task.creator),
			"creator holds an assignment on its own task"
		);
		if let Some(validator) = &task.validator {
			ensure!(
				!Assignments::<T>::contains_key(task_id, validator),
				"validator holds an assignment on the task it reviews"
			);
		}
		Ok(())
	}

	/// Invariant 5: an ended task has no live assignment.
	fn check_nothing_stranded(task_id: TaskId, task: &TaskOf<T>) -> Result<(), TryRuntimeError> {
		if !task.is_open() {
			ensure!(
				task.assigned == 0 && task.committed == 0 && task.pending == 0,
				"ended task still has live assignments"
			);
			ensure!(LiveWorkers::<T>::get(task_id).is_empty(), "ended task still has live workers");
		}
		Ok(())
	}

	/// Submitted CIDs agree with assignments: a result awaiting review is recorded under its
	/// own CID with its worker, and every recorded CID belongs to a worker who submitted.
	fn check_submitted_cids(task_id: TaskId) -> Result<(), TryRuntimeError> {
		let mut submitters = 0usize;
		for (worker, assignment) in Assignments::<T>::iter_prefix(task_id) {
			match assignment {
				Assignment::Submitted { result, .. } => {
					submitters += 1;
					ensure!(
						SubmittedCids::<T>::get(task_id, blake2_256(&result.cid)) == Some(worker),
						"a pending result's CID is not recorded for its worker"
					);
				},
				Assignment::Paid { result } | Assignment::Rejected { result } => {
					submitters += 1;
					// A decided result keeps its reference (records migrated from version 0
					// have none), recorded under its own CID for its worker.
					if let Some(result) = result {
						ensure!(
							SubmittedCids::<T>::get(task_id, blake2_256(&result.cid))
								== Some(worker),
							"a decided result's CID is not recorded for its worker"
						);
					}
				},
				Assignment::Assigned { .. }
				| Assignment::Committed { .. }
				| Assignment::Released => {},
			}
		}
		let mut recorded = 0usize;
		for (_, worker) in SubmittedCids::<T>::iter_prefix(task_id) {
			recorded += 1;
			ensure!(
				matches!(
					Assignments::<T>::get(task_id, &worker),
					Some(
						Assignment::Submitted { .. }
							| Assignment::Paid { .. }
							| Assignment::Rejected { .. }
					)
				),
				"a recorded CID belongs to a worker who did not submit"
			);
		}
		ensure!(recorded == submitters, "recorded CIDs differ from the results submitted");
		Ok(())
	}
}
