//! The pallet's invariants, checked after every test and under `try-runtime`.

use super::*;
use alloc::collections::{btree_map::BTreeMap, btree_set::BTreeSet};
use frame::{deps::sp_runtime::TryRuntimeError, hashing::blake2_256, prelude::*};

impl<T: Config> Pallet<T> {
	/// Check every invariant listed in the crate docs.
	pub fn do_try_state() -> Result<(), TryRuntimeError> {
		Self::check_escrow_matches_holds()?;
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
		// Records of a task id that has no task would be unreachable.
		for task_id in LiveWorkers::<T>::iter_keys() {
			ensure!(Tasks::<T>::contains_key(task_id), "live workers of an unknown task");
		}
		for (task_id, _, _) in Assignments::<T>::iter() {
			ensure!(Tasks::<T>::contains_key(task_id), "an assignment of an unknown task");
		}
		Ok(())
	}

	/// The escrow each creator's records owe under the pallet's hold reason: for every open
	/// task, the reward of every unpaid slot plus the deposit. Checks each task's own record of
	/// its escrow against that formula on the way.
	pub fn expected_holds() -> Result<BTreeMap<T::AccountId, BalanceOf<T>>, TryRuntimeError> {
		let mut expected: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (_, task) in Tasks::<T>::iter() {
			let formula = if task.is_open() {
				let unpaid: BalanceOf<T> = task.slots.saturating_sub(task.paid).into();
				task.reward.saturating_mul(unpaid).saturating_add(task.deposit)
			} else {
				Zero::zero()
			};
			ensure!(task.escrow == formula, "task escrow does not match reward * unpaid + deposit");
			let sum = expected.entry(task.creator.clone()).or_insert_with(Zero::zero);
			*sum = sum.saturating_add(task.escrow);
		}
		Ok(expected)
	}

	/// Invariant 1: holds equal open escrow per creator; escrow follows the formula. (The total
	/// under the hold reason over every account, creators or not, needs to enumerate accounts,
	/// which only the runtime can: the tests check it on the mock runtime.)
	fn check_escrow_matches_holds() -> Result<(), TryRuntimeError> {
		for (creator, escrow) in Self::expected_holds()? {
			ensure!(Self::held_by(&creator) == escrow, "held balance differs from open escrow");
		}
		Ok(())
	}

	/// The task's own fields agree with each other.
	fn check_record(task: &TaskOf<T>) -> Result<(), TryRuntimeError> {
		ensure!(
			task.deposit == Self::task_deposit(task.metadata.len()),
			"deposit does not match the metadata length"
		);
		ensure!(task.is_open() == task.ended_at.is_none(), "ended_at set on an open task");
		Ok(())
	}

	/// Invariant 2: the task's counters agree with its assignments, and its live list holds
	/// exactly the workers whose assignment is live, each once.
	fn check_counters(task_id: TaskId, task: &TaskOf<T>) -> Result<(), TryRuntimeError> {
		let (mut assigned, mut pending, mut paid) = (0u32, 0u32, 0u32);
		let mut live_by_assignment = BTreeSet::new();
		for (worker, assignment) in Assignments::<T>::iter_prefix(task_id) {
			match assignment {
				Assignment::Assigned { .. } => assigned += 1,
				Assignment::Submitted { .. } => pending += 1,
				Assignment::Paid => paid += 1,
				Assignment::Rejected | Assignment::Released => continue,
			}
			if !matches!(assignment, Assignment::Paid) {
				live_by_assignment.insert(worker);
			}
		}
		ensure!(task.assigned == assigned, "assigned counter differs from assignments");
		ensure!(task.pending == pending, "pending counter differs from assignments");
		ensure!(task.paid == paid, "paid counter differs from assignments");
		let live = LiveWorkers::<T>::get(task_id);
		let live_set: BTreeSet<_> = live.iter().cloned().collect();
		ensure!(live_set.len() == live.len(), "live list holds a worker twice");
		ensure!(live_set == live_by_assignment, "live list differs from the live assignments");
		Ok(())
	}

	/// Invariant 3: never more live assignments and payments than slots.
	fn check_slots(task: &TaskOf<T>) -> Result<(), TryRuntimeError> {
		ensure!(
			task.assigned.saturating_add(task.pending).saturating_add(task.paid) <= task.slots,
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
				task.assigned == 0 && task.pending == 0,
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
				Assignment::Paid | Assignment::Rejected => submitters += 1,
				Assignment::Assigned { .. } | Assignment::Released => {},
			}
		}
		let mut recorded = 0usize;
		for (_, worker) in SubmittedCids::<T>::iter_prefix(task_id) {
			recorded += 1;
			ensure!(
				matches!(
					Assignments::<T>::get(task_id, &worker),
					Some(Assignment::Submitted { .. } | Assignment::Paid | Assignment::Rejected)
				),
				"a recorded CID belongs to a worker who did not submit"
			);
		}
		ensure!(recorded == submitters, "recorded CIDs differ from the results submitted");
		Ok(())
	}
}
