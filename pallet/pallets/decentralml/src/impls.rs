//! The pallet's state transitions and fund movements.

use super::*;
use alloc::vec::Vec;
use frame::{
	hashing::blake2_256,
	prelude::*,
	traits::{
		fungible::MutateHold,
		tokens::{Fortitude, Precision, Restriction},
	},
};

impl<T: Config> Pallet<T> {
	/// The deposit held for a task whose metadata has `metadata_len` bytes.
	pub fn task_deposit(metadata_len: usize) -> BalanceOf<T> {
		let per_byte = T::TaskDepositPerByte::get();
		let len: BalanceOf<T> = (metadata_len as u32).into();
		T::TaskDepositBase::get().saturating_add(per_byte.saturating_mul(len))
	}

	/// Check a content reference from a call and bound its CID.
	pub(crate) fn bound_content(raw: RawContentRef) -> Result<ContentRefOf<T>, Error<T>> {
		ensure!(!raw.cid.is_empty(), Error::<T>::EmptyCid);
		let cid = raw.cid.try_into().map_err(|_| Error::<T>::CidTooLong)?;
		Ok(ContentRef { cid, sha256: raw.sha256, size: raw.size })
	}

	pub(crate) fn do_create_task(
		creator: T::AccountId,
		spec: TaskSpec<T>,
	) -> Result<TaskId, DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(spec.reward >= T::MinimumReward::get(), Error::<T>::RewardTooLow);
		ensure!(spec.slots > 0, Error::<T>::ZeroSlots);
		ensure!(spec.slots <= T::MaxSlots::get(), Error::<T>::TooManySlots);
		ensure!(spec.deadline > now, Error::<T>::DeadlineInPast);
		ensure!(
			!spec.review_period.is_zero() && spec.review_period <= T::MaxReviewPeriod::get(),
			Error::<T>::InvalidReviewPeriod
		);
		ensure!(
			!spec.work_period.is_zero() && spec.work_period <= T::MaxWorkPeriod::get(),
			Error::<T>::InvalidWorkPeriod
		);
		let bundle = Self::bound_content(spec.bundle)?;
		let deposit = Self::task_deposit(spec.metadata.len());
		let metadata: BoundedVec<u8, T::MaxMetadataLen> =
			spec.metadata.try_into().map_err(|_| Error::<T>::MetadataTooLong)?;
		let slots: BalanceOf<T> = spec.slots.into();
		let escrow = spec
			.reward
			.checked_mul(&slots)
			.and_then(|rewards| rewards.checked_add(&deposit))
			.ok_or(Error::<T>::EscrowOverflow)?;

		T::Currency::hold(&HoldReason::TaskEscrow.into(), &creator, escrow)
			.map_err(|_| Error::<T>::InsufficientBalance)?;

		let task_id = NextTaskId::<T>::get();
		NextTaskId::<T>::put(task_id.saturating_add(1));
		let task = TaskInfo {
			creator: creator.clone(),
			kind: spec.kind,
			policy: spec.policy,
			bundle,
			metadata,
			reward: spec.reward,
			slots: spec.slots,
			deadline: spec.deadline,
			review_period: spec.review_period,
			work_period: spec.work_period,
			validator: spec.validator.clone(),
			deposit,
			escrow,
			assigned: 0,
			pending: 0,
			paid: 0,
			status: TaskStatus::Open,
			model: None,
		};
		Tasks::<T>::insert(task_id, &task);
		Self::deposit_event(Event::TaskCreated {
			task_id,
			creator,
			kind: task.kind,
			policy: task.policy,
			reward: task.reward,
			slots: task.slots,
			deadline: task.deadline,
			escrow,
		});
		if let Some(validator) = spec.validator {
			Self::deposit_event(Event::ValidatorSet { task_id, validator: Some(validator) });
		}
		Ok(task_id)
	}

	pub(crate) fn do_set_validator(
		who: T::AccountId,
		task_id: TaskId,
		validator: Option<T::AccountId>,
	) -> DispatchResult {
		Tasks::<T>::try_mutate(task_id, |maybe_task| {
			let task = maybe_task.as_mut().ok_or(Error::<T>::UnknownTask)?;
			ensure!(task.creator == who, Error::<T>::NotCreator);
			ensure!(task.status == TaskStatus::Open, Error::<T>::TaskNotOpen);
			if let Some(v) = &validator {
				// A validator deciding its own result would pay itself.
				ensure!(!Assignments::<T>::contains_key(task_id, v), Error::<T>::OwnTask);
			}
			task.validator = validator.clone();
			Self::deposit_event(Event::ValidatorSet { task_id, validator });
			Ok(())
		})
	}

	pub(crate) fn do_assign_task(worker: T::AccountId, task_id: TaskId) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		Tasks::<T>::try_mutate(task_id, |maybe_task| {
			let task = maybe_task.as_mut().ok_or(Error::<T>::UnknownTask)?;
			ensure!(task.status == TaskStatus::Open, Error::<T>::TaskNotOpen);
			ensure!(now < task.deadline, Error::<T>::DeadlinePassed);
			ensure!(!task.is_reviewer(&worker), Error::<T>::OwnTask);
			match Assignments::<T>::get(task_id, &worker) {
				None => {},
				Some(Assignment::Rejected) | Some(Assignment::Released) => {
					return Err(Error::<T>::WorkerBarred.into())
				},
				Some(_) => return Err(Error::<T>::AlreadyAssigned.into()),
			}
			ensure!(task.free_slots() > 0, Error::<T>::NoFreeSlot);
			LiveWorkers::<T>::try_append(task_id, &worker).map_err(|_| Error::<T>::NoFreeSlot)?;
			Assignments::<T>::insert(task_id, &worker, Assignment::Assigned { at: now });
			task.assigned.saturating_inc();
			Self::deposit_event(Event::TaskAssigned { task_id, worker });
			Ok(())
		})
	}

	pub(crate) fn do_submit_result(
		worker: T::AccountId,
		task_id: TaskId,
		result: RawContentRef,
	) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let result = Self::bound_content(result)?;
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.status == TaskStatus::Open, Error::<T>::TaskNotOpen);
		match Assignments::<T>::get(task_id, &worker) {
			Some(Assignment::Assigned { .. }) => {},
			None | Some(Assignment::Rejected) | Some(Assignment::Released) => {
				return Err(Error::<T>::NotAssigned.into())
			},
			Some(_) => return Err(Error::<T>::AlreadySubmitted.into()),
		}
		ensure!(now < task.deadline, Error::<T>::DeadlinePassed);
		let cid_hash = blake2_256(&result.cid);
		ensure!(!SubmittedCids::<T>::contains_key(task_id, cid_hash), Error::<T>::DuplicateResult);
		SubmittedCids::<T>::insert(task_id, cid_hash, &worker);

		task.assigned.saturating_dec();
		task.pending.saturating_inc();
		Assignments::<T>::insert(
			task_id,
			&worker,
			Assignment::Submitted { result: result.clone(), at: now },
		);
		Self::deposit_event(Event::ResultSubmitted { task_id, worker: worker.clone(), result });
		if task.policy == ValidationPolicy::AutoAccept {
			Self::deposit_event(Event::ResultAccepted {
				task_id,
				worker: worker.clone(),
				by: None,
			});
			Self::pay(task_id, &mut task, &worker)?;
		}
		Tasks::<T>::insert(task_id, task);
		Ok(())
	}

	/// The submission time of `worker`'s result awaiting review on an open task.
	fn pending_submission(
		task: &TaskOf<T>,
		task_id: TaskId,
		worker: &T::AccountId,
	) -> Result<BlockNumberFor<T>, DispatchError> {
		ensure!(task.status == TaskStatus::Open, Error::<T>::TaskNotOpen);
		match Assignments::<T>::get(task_id, worker) {
			Some(Assignment::Submitted { at, .. }) => Ok(at),
			_ => Err(Error::<T>::NoPendingResult.into()),
		}
	}

	pub(crate) fn do_accept_result(
		who: T::AccountId,
		task_id: TaskId,
		worker: T::AccountId,
	) -> DispatchResult {
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.is_reviewer(&who), Error::<T>::NotReviewer);
		Self::pending_submission(&task, task_id, &worker)?;
		Self::deposit_event(Event::ResultAccepted {
			task_id,
			worker: worker.clone(),
			by: Some(who),
		});
		Self::pay(task_id, &mut task, &worker)?;
		Tasks::<T>::insert(task_id, task);
		Ok(())
	}

	pub(crate) fn do_reject_result(
		who: T::AccountId,
		task_id: TaskId,
		worker: T::AccountId,
		reason: Vec<u8>,
	) -> DispatchResult {
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.is_reviewer(&who), Error::<T>::NotReviewer);
		let reason: BoundedVec<u8, T::MaxReasonLen> =
			reason.try_into().map_err(|_| Error::<T>::ReasonTooLong)?;
		Self::pending_submission(&task, task_id, &worker)?;
		task.pending.saturating_dec();
		Assignments::<T>::insert(task_id, &worker, Assignment::Rejected);
		Self::remove_live_worker(task_id, &worker);
		Tasks::<T>::insert(task_id, task);
		Self::deposit_event(Event::ResultRejected { task_id, worker, by: who, reason });
		Ok(())
	}

	pub(crate) fn do_claim_reward(worker: T::AccountId, task_id: TaskId) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		let submitted_at = Self::pending_submission(&task, task_id, &worker)?;
		ensure!(
			now >= submitted_at.saturating_add(task.review_period),
			Error::<T>::ReviewPeriodNotOver
		);
		Self::deposit_event(Event::ResultAccepted { task_id, worker: worker.clone(), by: None });
		Self::pay(task_id, &mut task, &worker)?;
		Tasks::<T>::insert(task_id, task);
		Ok(())
	}

	pub(crate) fn do_release_assignment(task_id: TaskId, worker: T::AccountId) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.status == TaskStatus::Open, Error::<T>::TaskNotOpen);
		let assigned_at = match Assignments::<T>::get(task_id, &worker) {
			Some(Assignment::Assigned { at }) => at,
			Some(Assignment::Submitted { .. }) => return Err(Error::<T>::AlreadySubmitted.into()),
			_ => return Err(Error::<T>::NotAssigned.into()),
		};
		ensure!(now >= assigned_at.saturating_add(task.work_period), Error::<T>::WorkPeriodNotOver);
		task.assigned.saturating_dec();
		Assignments::<T>::insert(task_id, &worker, Assignment::Released);
		Self::remove_live_worker(task_id, &worker);
		Tasks::<T>::insert(task_id, task);
		Self::deposit_event(Event::AssignmentReleased { task_id, worker });
		Ok(())
	}

	/// Cancel `task_id`; returns how many live assignments were ended.
	pub(crate) fn do_cancel_task(who: T::AccountId, task_id: TaskId) -> Result<u32, DispatchError> {
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.creator == who, Error::<T>::NotCreator);
		ensure!(task.status == TaskStatus::Open, Error::<T>::TaskNotOpen);
		ensure!(task.pending == 0, Error::<T>::ResultAwaitingReview);
		let workers = LiveWorkers::<T>::take(task_id);
		for worker in workers.iter() {
			Assignments::<T>::remove(task_id, worker);
		}
		task.assigned = 0;
		let refunded = Self::refund(&mut task)?;
		task.status = TaskStatus::Cancelled;
		Tasks::<T>::insert(task_id, task);
		Self::deposit_event(Event::TaskCancelled { task_id, refunded });
		Ok(workers.len() as u32)
	}

	/// Close `task_id` after its deadline; returns how many live assignments were ended.
	pub(crate) fn do_close_task(who: T::AccountId, task_id: TaskId) -> Result<u32, DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.status == TaskStatus::Open, Error::<T>::TaskNotOpen);
		ensure!(now >= task.deadline, Error::<T>::DeadlineNotReached);
		let workers = LiveWorkers::<T>::take(task_id);
		// Check every live assignment before moving any funds.
		let mut to_pay = Vec::new();
		for worker in workers.iter() {
			match Assignments::<T>::get(task_id, worker) {
				Some(Assignment::Submitted { at, .. }) => {
					ensure!(
						now >= at.saturating_add(task.review_period),
						Error::<T>::ResultAwaitingReview
					);
					to_pay.push(worker.clone());
				},
				_ => Assignments::<T>::remove(task_id, worker),
			}
		}
		task.assigned = 0;
		for worker in to_pay.iter() {
			Self::deposit_event(Event::ResultAccepted {
				task_id,
				worker: worker.clone(),
				by: None,
			});
			Self::pay_assignment(task_id, &mut task, worker)?;
		}
		let refunded = Self::refund(&mut task)?;
		task.status = TaskStatus::Closed;
		Tasks::<T>::insert(task_id, task);
		Self::deposit_event(Event::TaskClosed { task_id, by: who, refunded });
		Ok(workers.len() as u32)
	}

	pub(crate) fn do_publish_model(
		who: T::AccountId,
		task_id: TaskId,
		model: RawContentRef,
	) -> DispatchResult {
		let model = Self::bound_content(model)?;
		Tasks::<T>::try_mutate(task_id, |maybe_task| {
			let task = maybe_task.as_mut().ok_or(Error::<T>::UnknownTask)?;
			ensure!(task.is_reviewer(&who), Error::<T>::NotReviewer);
			ensure!(task.status != TaskStatus::Cancelled, Error::<T>::TaskCancelled);
			task.model = Some(model.clone());
			Self::deposit_event(Event::ModelPublished { task_id, by: who, model });
			Ok(())
		})
	}

	/// Pay `worker`'s submitted result and take it off the live list.
	fn pay(task_id: TaskId, task: &mut TaskOf<T>, worker: &T::AccountId) -> DispatchResult {
		Self::remove_live_worker(task_id, worker);
		Self::pay_assignment(task_id, task, worker)
	}

	/// Move exactly `reward` from the creator's hold to `worker` and mark the result paid.
	fn pay_assignment(
		task_id: TaskId,
		task: &mut TaskOf<T>,
		worker: &T::AccountId,
	) -> DispatchResult {
		let amount = task.reward;
		T::Currency::transfer_on_hold(
			&HoldReason::TaskEscrow.into(),
			&task.creator,
			worker,
			amount,
			Precision::Exact,
			Restriction::Free,
			Fortitude::Polite,
		)?;
		task.escrow = task.escrow.checked_sub(&amount).ok_or(Error::<T>::EscrowOverflow)?;
		task.pending.saturating_dec();
		task.paid.saturating_inc();
		Assignments::<T>::insert(task_id, worker, Assignment::Paid);
		Self::deposit_event(Event::RewardPaid { task_id, worker: worker.clone(), amount });
		Ok(())
	}

	/// Release everything still held for `task` back to its creator.
	fn refund(task: &mut TaskOf<T>) -> Result<BalanceOf<T>, DispatchError> {
		let amount = task.escrow;
		if !amount.is_zero() {
			T::Currency::release(
				&HoldReason::TaskEscrow.into(),
				&task.creator,
				amount,
				Precision::Exact,
			)?;
		}
		task.escrow = Zero::zero();
		Ok(amount)
	}

	fn remove_live_worker(task_id: TaskId, worker: &T::AccountId) {
		LiveWorkers::<T>::mutate(task_id, |workers| workers.retain(|w| w != worker));
	}

	/// What the pallet holds from `who` under its hold reason.
	pub fn held_by(who: &T::AccountId) -> BalanceOf<T> {
		<T::Currency as fungible::InspectHold<T::AccountId>>::balance_on_hold(
			&HoldReason::TaskEscrow.into(),
			who,
		)
	}
}
