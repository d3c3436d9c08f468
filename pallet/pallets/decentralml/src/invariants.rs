//! The pallet's invariants, checked after every test and under `try-runtime`.

use super::*;
use alloc::collections::btree_map::BTreeMap;
use frame::{deps::sp_runtime::TryRuntimeError, prelude::*};

impl<T: Config> Pallet<T> {
	/// Check every invariant listed in the crate docs.
	pub fn do_try_state() -> Result<(), TryRuntimeError> {
		Self::check_escrow_matches_holds()?;
		for (task_id, task) in Tasks::<T>::iter() {
			Self::check_counters(task_id, &task)?;
			Self::check_slots(task_id, &task)?;
			Self::check_no_own_assignment(task_id, &task)?;
			Self::check_nothing_stranded(task_id, &task)?;
		}
		Ok(())
	}

	/// Invariant 1: holds equal open escrow per creator; escrow follows the formula.
	fn check_escrow_matches_holds() -> Result<(), TryRuntimeError> {
		let mut expected: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
		for (_, task) in Tasks::<T>::iter() {
			let formula = if task.status == TaskStatus::Open {
				let unpaid: BalanceOf<T> = task.slots.saturating_sub(task.paid).into();
				task.reward.saturating_mul(unpaid).saturating_add(task.deposit)
			} else {
				Zero::zero()
			};
			ensure!(task.escrow == formula, "task escrow does not match reward * unpaid + deposit");
			let sum = expected.entry(task.creator.clone()).or_insert_with(Zero::zero);
			*sum = sum.saturating_add(task.escrow);
		}
		for (creator, escrow) in expected {
			ensure!(Self::held_by(&creator) == escrow, "held balance differs from open escrow");
		}
		Ok(())
	}

	/// Invariant 2: the task's counters agree with its assignments and live list.
	fn check_counters(task_id: TaskId, task: &TaskOf<T>) -> Result<(), TryRuntimeError> {
		let (mut assigned, mut pending, mut paid) = (0u32, 0u32, 0u32);
		for (_, assignment) in Assignments::<T>::iter_prefix(task_id) {
			match assignment {
				Assignment::Assigned { .. } => assigned += 1,
				Assignment::Submitted { .. } => pending += 1,
				Assignment::Paid => paid += 1,
				Assignment::Rejected | Assignment::Released => {},
			}
		}
		ensure!(task.assigned == assigned, "assigned counter differs from assignments");
		ensure!(task.pending == pending, "pending counter differs from assignments");
		ensure!(task.paid == paid, "paid counter differs from assignments");
		let live = LiveWorkers::<T>::get(task_id);
		ensure!(live.len() as u32 == assigned + pending, "live list differs from assignments");
		for worker in live.iter() {
			ensure!(
				matches!(
					Assignments::<T>::get(task_id, worker),
					Some(Assignment::Assigned { .. } | Assignment::Submitted { .. })
				),
				"live list holds a worker without a live assignment"
			);
		}
		Ok(())
	}

	/// Invariant 3: never more live assignments and payments than slots.
	fn check_slots(_task_id: TaskId, task: &TaskOf<T>) -> Result<(), TryRuntimeError> {
		ensure!(
			task.assigned.saturating_add(task.pending).saturating_add(task.paid) <= task.slots,
			"more assignments and payments than slots"
		);
		Ok(())
	}

	/// Invariant 4: the creator never holds an assignment on its own task.
	fn check_no_own_assignment(task_id: TaskId, task: &TaskOf<T>) -> Result<(), TryRuntimeError> {
		ensure!(
			!Assignments::<T>::contains_key(task_id, &task.creator),
			"creator holds an assignment on its own task"
		);
		Ok(())
	}

	/// Invariant 5: an ended task has no live assignment.
	fn check_nothing_stranded(task_id: TaskId, task: &TaskOf<T>) -> Result<(), TryRuntimeError> {
		if task.status != TaskStatus::Open {
			ensure!(
				task.assigned == 0 && task.pending == 0,
				"ended task still has live assignments"
			);
			ensure!(LiveWorkers::<T>::get(task_id).is_empty(), "ended task still has live workers");
		}
		Ok(())
	}
}
