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
		match spec.submission {
			Submission::Sealed { reveal_period } => ensure!(
				!reveal_period.is_zero() && reveal_period <= T::MaxRevealPeriod::get(),
				Error::<T>::InvalidRevealPeriod
			),
			Submission::Plain => ensure!(
				spec.policy != ValidationPolicy::AutoAccept,
				Error::<T>::AutoAcceptNeedsSealed
			),
		}
		let bundle = Self::bound_content(spec.bundle)?;
		let deposit = Self::task_deposit(spec.metadata.len());
		let metadata: BoundedVec<u8, T::MaxMetadataLen> =
			spec.metadata.try_into().map_err(|_| Error::<T>::MetadataTooLong)?;
		let slots: BalanceOf<T> = spec.slots.into();
		let escrow = spec.reward.checked_mul(&slots).ok_or(Error::<T>::EscrowOverflow)?;
		// Both holds sit on the creator's account together.
		escrow.checked_add(&deposit).ok_or(Error::<T>::EscrowOverflow)?;

		let task_id = NextTaskId::<T>::get();
		// A saturating counter would hand out its last id twice and overwrite a funded task.
		let next_id = task_id.checked_add(1).ok_or(Error::<T>::TaskIdsExhausted)?;

		// The call is transactional: when the second hold fails, the first is undone with it.
		T::Currency::hold(&HoldReason::TaskEscrow.into(), &creator, escrow)
			.map_err(|_| Error::<T>::InsufficientBalance)?;
		T::Currency::hold(&HoldReason::TaskStorage.into(), &creator, deposit)
			.map_err(|_| Error::<T>::InsufficientBalance)?;

		NextTaskId::<T>::put(next_id);
		let task = TaskInfo {
			creator: creator.clone(),
			kind: spec.kind,
			policy: spec.policy,
			submission: spec.submission,
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
			committed: 0,
			pending: 0,
			paid: 0,
			records: 0,
			status: TaskStatus::Open,
			ended_at: None,
			model: None,
		};
		Tasks::<T>::insert(task_id, &task);
		Self::deposit_event(Event::TaskCreated {
			task_id,
			creator,
			kind: task.kind,
			policy: task.policy,
			submission: task.submission,
			reward: task.reward,
			slots: task.slots,
			deadline: task.deadline,
			escrow,
			deposit,
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
			// Workers submitted to the reviewers named at the time; swapping one out under them
			// would let the creator pick a reviewer after seeing the results.
			ensure!(task.pending == 0, Error::<T>::ResultAwaitingReview);
			ensure!(task.committed == 0, Error::<T>::ResultCommitted);
			if let Some(v) = &validator {
				ensure!(task.is_open(), Error::<T>::TaskNotOpen);
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
			ensure!(task.is_open(), Error::<T>::TaskNotOpen);
			ensure!(now < task.deadline, Error::<T>::DeadlinePassed);
			ensure!(!task.is_reviewer(&worker), Error::<T>::OwnTask);
			match Assignments::<T>::get(task_id, &worker) {
				None => {},
				Some(Assignment::Rejected { .. }) | Some(Assignment::Released) => {
					return Err(Error::<T>::WorkerBarred.into())
				},
				Some(_) => return Err(Error::<T>::AlreadyAssigned.into()),
			}
			ensure!(task.free_slots() > 0, Error::<T>::NoFreeSlot);
			ensure!(task.records < T::MaxAssignmentsPerTask::get(), Error::<T>::TooManyAssignments);
			let bond = T::AssignmentBond::get();
			T::Currency::hold(&HoldReason::AssignmentBond.into(), &worker, bond)
				.map_err(|_| Error::<T>::InsufficientBalance)?;
			LiveWorkers::<T>::try_append(task_id, &worker).map_err(|_| Error::<T>::NoFreeSlot)?;
			Assignments::<T>::insert(task_id, &worker, Assignment::Assigned { at: now, bond });
			task.assigned.saturating_inc();
			task.records.saturating_inc();
			Self::deposit_event(Event::TaskAssigned { task_id, worker, bond });
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
		ensure!(task.is_open(), Error::<T>::TaskNotOpen);
		ensure!(task.submission == Submission::Plain, Error::<T>::SubmissionsSealed);
		let bond = Self::unsubmitted_bond(task_id, &worker)?;
		ensure!(now < task.deadline, Error::<T>::DeadlinePassed);
		task.assigned.saturating_dec();
		Self::return_bond(task_id, &worker, bond)?;
		Self::record_result(task_id, &mut task, &worker, result, now)?;
		Tasks::<T>::insert(task_id, task);
		Ok(())
	}

	/// The bond of `worker`'s assignment on `task_id`, which must hold a slot with nothing
	/// submitted or committed.
	fn unsubmitted_bond(
		task_id: TaskId,
		worker: &T::AccountId,
	) -> Result<BalanceOf<T>, DispatchError> {
		match Assignments::<T>::get(task_id, worker) {
			Some(Assignment::Assigned { bond, .. }) => Ok(bond),
			None | Some(Assignment::Rejected { .. }) | Some(Assignment::Released) => {
				Err(Error::<T>::NotAssigned.into())
			},
			Some(Assignment::Committed { .. }) => Err(Error::<T>::AlreadyCommitted.into()),
			Some(_) => Err(Error::<T>::AlreadySubmitted.into()),
		}
	}

	pub(crate) fn do_commit_result(
		worker: T::AccountId,
		task_id: TaskId,
		commitment: [u8; 32],
	) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.is_open(), Error::<T>::TaskNotOpen);
		ensure!(task.submission != Submission::Plain, Error::<T>::SubmissionsPlain);
		let bond = Self::unsubmitted_bond(task_id, &worker)?;
		ensure!(now < task.deadline, Error::<T>::DeadlinePassed);
		task.assigned.saturating_dec();
		task.committed.saturating_inc();
		// The bond stays until the reveal: a commitment of random bytes would otherwise hold
		// the slot until the reveal period ends for the price of two fees.
		let committed = Assignment::Committed { commitment, at: now, bond };
		Assignments::<T>::insert(task_id, &worker, committed);
		Tasks::<T>::insert(task_id, task);
		Self::deposit_event(Event::ResultCommitted { task_id, worker, commitment });
		Ok(())
	}

	pub(crate) fn do_reveal_result(
		worker: T::AccountId,
		task_id: TaskId,
		result: RawContentRef,
		salt: [u8; 32],
	) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.is_open(), Error::<T>::TaskNotOpen);
		let Submission::Sealed { reveal_period } = task.submission else {
			return Err(Error::<T>::SubmissionsPlain.into());
		};
		let (commitment, bond) = match Assignments::<T>::get(task_id, &worker) {
			Some(Assignment::Committed { commitment, bond, .. }) => (commitment, bond),
			Some(Assignment::Assigned { .. }) => return Err(Error::<T>::NotCommitted.into()),
			None | Some(Assignment::Rejected { .. }) | Some(Assignment::Released) => {
				return Err(Error::<T>::NotAssigned.into())
			},
			Some(_) => return Err(Error::<T>::AlreadySubmitted.into()),
		};
		// Before the deadline a revealed reference could still be copied into a commitment.
		ensure!(now >= task.deadline, Error::<T>::RevealPeriodNotStarted);
		ensure!(now < task.deadline.saturating_add(reveal_period), Error::<T>::RevealPeriodOver);
		// Bound the CID before hashing it: the call's weight assumes at most `MaxCidLen` bytes.
		let bounded = Self::bound_content(result.clone())?;
		ensure!(
			result_commitment(task_id, &worker, &result, &salt) == commitment,
			Error::<T>::CommitmentMismatch
		);
		let result = bounded;
		task.committed.saturating_dec();
		Self::return_bond(task_id, &worker, bond)?;
		Self::record_result(task_id, &mut task, &worker, result, now)?;
		Tasks::<T>::insert(task_id, task);
		Ok(())
	}

	/// Record `worker`'s result as submitted at `now`, refusing a CID the task already has,
	/// and pay it at once under `AutoAccept`.
	fn record_result(
		task_id: TaskId,
		task: &mut TaskOf<T>,
		worker: &T::AccountId,
		result: ContentRefOf<T>,
		now: BlockNumberFor<T>,
	) -> DispatchResult {
		let cid_hash = blake2_256(&result.cid);
		ensure!(!SubmittedCids::<T>::contains_key(task_id, cid_hash), Error::<T>::DuplicateResult);
		SubmittedCids::<T>::insert(task_id, cid_hash, worker);
		task.pending.saturating_inc();
		Assignments::<T>::insert(
			task_id,
			worker,
			Assignment::Submitted { result: result.clone(), at: now },
		);
		Self::deposit_event(Event::ResultSubmitted {
			task_id,
			worker: worker.clone(),
			result: result.clone(),
		});
		if task.policy == ValidationPolicy::AutoAccept {
			Self::deposit_event(Event::ResultAccepted {
				task_id,
				worker: worker.clone(),
				by: None,
			});
			Self::pay(task_id, task, worker, result)?;
		}
		Ok(())
	}

	/// `worker`'s result awaiting review on an open task, with its submission time.
	fn pending_submission(
		task: &TaskOf<T>,
		task_id: TaskId,
		worker: &T::AccountId,
	) -> Result<(ContentRefOf<T>, BlockNumberFor<T>), DispatchError> {
		ensure!(task.is_open(), Error::<T>::TaskNotOpen);
		match Assignments::<T>::get(task_id, worker) {
			Some(Assignment::Submitted { result, at }) => Ok((result, at)),
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
		let (result, _) = Self::pending_submission(&task, task_id, &worker)?;
		Self::deposit_event(Event::ResultAccepted {
			task_id,
			worker: worker.clone(),
			by: Some(who),
		});
		Self::pay(task_id, &mut task, &worker, result)?;
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
		let (result, submitted_at) = Self::pending_submission(&task, task_id, &worker)?;
		// Past its review period the result is the worker's to claim: a late reject would let
		// the reviewer race the claim and keep the reward.
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(
			now < submitted_at.saturating_add(task.review_period),
			Error::<T>::ReviewPeriodOver
		);
		task.pending.saturating_dec();
		Assignments::<T>::insert(task_id, &worker, Assignment::Rejected { result: Some(result) });
		Self::remove_live_worker(task_id, &worker);
		Tasks::<T>::insert(task_id, task);
		Self::deposit_event(Event::ResultRejected { task_id, worker, by: who, reason });
		Ok(())
	}

	pub(crate) fn do_claim_reward(worker: T::AccountId, task_id: TaskId) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		let (result, submitted_at) = Self::pending_submission(&task, task_id, &worker)?;
		ensure!(
			now >= submitted_at.saturating_add(task.review_period),
			Error::<T>::ReviewPeriodNotOver
		);
		Self::deposit_event(Event::ResultAccepted { task_id, worker: worker.clone(), by: None });
		Self::pay(task_id, &mut task, &worker, result)?;
		Tasks::<T>::insert(task_id, task);
		Ok(())
	}

	pub(crate) fn do_release_assignment(task_id: TaskId, worker: T::AccountId) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.is_open(), Error::<T>::TaskNotOpen);
		let (assigned_at, bond) = match Assignments::<T>::get(task_id, &worker) {
			Some(Assignment::Assigned { at, bond }) => (at, bond),
			Some(Assignment::Committed { .. }) => return Err(Error::<T>::AlreadyCommitted.into()),
			Some(Assignment::Submitted { .. }) => return Err(Error::<T>::AlreadySubmitted.into()),
			_ => return Err(Error::<T>::NotAssigned.into()),
		};
		ensure!(now >= assigned_at.saturating_add(task.work_period), Error::<T>::WorkPeriodNotOver);
		task.assigned.saturating_dec();
		Self::forfeit_bond(task_id, &task.creator, &worker, bond)?;
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
		ensure!(task.is_open(), Error::<T>::TaskNotOpen);
		ensure!(task.pending == 0, Error::<T>::ResultAwaitingReview);
		// The worker did the work, and the creator could cancel on seeing the reveal in the
		// pool: a commitment binds the creator until the task closes.
		ensure!(task.committed == 0, Error::<T>::ResultCommitted);
		let workers = LiveWorkers::<T>::take(task_id);
		for worker in workers.iter() {
			Self::end_unsubmitted(task_id, &task.creator, worker, false)?;
		}
		task.assigned = 0;
		let refunded = Self::refund(&mut task)?;
		task.status = TaskStatus::Cancelled;
		task.ended_at = Some(frame_system::Pallet::<T>::block_number());
		Tasks::<T>::insert(task_id, task);
		Self::deposit_event(Event::TaskCancelled { task_id, refunded });
		Ok(workers.len() as u32)
	}

	/// Close `task_id` after its deadline; returns how many live assignments were ended.
	pub(crate) fn do_close_task(who: T::AccountId, task_id: TaskId) -> Result<u32, DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.is_open(), Error::<T>::TaskNotOpen);
		ensure!(now >= task.deadline, Error::<T>::DeadlineNotReached);
		if let Submission::Sealed { reveal_period } = task.submission {
			ensure!(
				now >= task.deadline.saturating_add(reveal_period),
				Error::<T>::RevealPeriodNotOver
			);
		}
		let (ended, _, refunded) = Self::end_task(task_id, &mut task, now, false)?;
		Tasks::<T>::insert(task_id, task);
		Self::deposit_event(Event::TaskClosed { task_id, by: who, refunded });
		Ok(ended)
	}

	/// Close `task_id` for the force origin; returns how many live assignments were ended.
	pub(crate) fn do_force_close_task(
		by: Option<T::AccountId>,
		task_id: TaskId,
	) -> Result<u32, DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		let mut task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		ensure!(task.is_open(), Error::<T>::TaskNotOpen);
		let (ended, paid, refunded) = Self::end_task(task_id, &mut task, now, true)?;
		Tasks::<T>::insert(task_id, task);
		Self::deposit_event(Event::TaskForceClosed { task_id, by, paid, refunded });
		Ok(ended)
	}

	/// End an open task: pay its submitted results, end its unsubmitted assignments, refund the
	/// rest and mark it closed. Unless `pay_all`, a result still within its review period
	/// refuses the whole close. Returns the live assignments ended, the results paid and the
	/// amount refunded.
	fn end_task(
		task_id: TaskId,
		task: &mut TaskOf<T>,
		now: BlockNumberFor<T>,
		pay_all: bool,
	) -> Result<(u32, u32, BalanceOf<T>), DispatchError> {
		let workers = LiveWorkers::<T>::get(task_id);
		// Check every live assignment before changing anything.
		let mut to_pay = Vec::new();
		let mut to_end = Vec::new();
		for worker in workers.iter() {
			match Assignments::<T>::get(task_id, worker) {
				Some(Assignment::Submitted { result, at }) => {
					ensure!(
						pay_all || now >= at.saturating_add(task.review_period),
						Error::<T>::ResultAwaitingReview
					);
					to_pay.push((worker.clone(), result));
				},
				_ => to_end.push(worker.clone()),
			}
		}
		LiveWorkers::<T>::remove(task_id);
		for worker in to_end.iter() {
			// A close comes after the reveal period: a commitment still unrevealed forfeits
			// its bond. A force close may come before it, through no fault of the worker.
			Self::end_unsubmitted(task_id, &task.creator, worker, !pay_all)?;
		}
		task.assigned = 0;
		task.committed = 0;
		for (worker, result) in to_pay.iter() {
			Self::deposit_event(Event::ResultAccepted {
				task_id,
				worker: worker.clone(),
				by: None,
			});
			Self::pay_assignment(task_id, task, worker, result.clone())?;
		}
		let refunded = Self::refund(task)?;
		task.status = TaskStatus::Closed;
		task.ended_at = Some(now);
		Ok((workers.len() as u32, to_pay.len() as u32, refunded))
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
			if let Some(ended_at) = task.ended_at {
				let now = frame_system::Pallet::<T>::block_number();
				ensure!(
					now < ended_at.saturating_add(T::ModelPublishPeriod::get()),
					Error::<T>::PublishPeriodOver
				);
			}
			task.model = Some(model.clone());
			Self::deposit_event(Event::ModelPublished { task_id, by: who, model });
			Ok(())
		})
	}

	/// End `worker`'s assignment with nothing submitted as its task ends. An assignment with
	/// nothing sent goes, with its bond returned. A commitment goes the same way, unless
	/// `forfeit_unrevealed`: then its bond goes to the creator and the record stays as
	/// `Released`, the trace of a commitment never revealed.
	fn end_unsubmitted(
		task_id: TaskId,
		creator: &T::AccountId,
		worker: &T::AccountId,
		forfeit_unrevealed: bool,
	) -> DispatchResult {
		match Assignments::<T>::take(task_id, worker) {
			Some(Assignment::Committed { bond, .. }) if forfeit_unrevealed => {
				Self::forfeit_bond(task_id, creator, worker, bond)?;
				Assignments::<T>::insert(task_id, worker, Assignment::Released);
				Self::deposit_event(Event::AssignmentReleased { task_id, worker: worker.clone() });
			},
			Some(Assignment::Assigned { bond, .. } | Assignment::Committed { bond, .. }) => {
				Self::return_bond(task_id, worker, bond)?;
			},
			_ => {},
		}
		Ok(())
	}

	fn return_bond(task_id: TaskId, worker: &T::AccountId, amount: BalanceOf<T>) -> DispatchResult {
		if !amount.is_zero() {
			T::Currency::release(
				&HoldReason::AssignmentBond.into(),
				worker,
				amount,
				Precision::Exact,
			)?;
			Self::deposit_event(Event::BondReturned { task_id, worker: worker.clone(), amount });
		}
		Ok(())
	}

	fn forfeit_bond(
		task_id: TaskId,
		creator: &T::AccountId,
		worker: &T::AccountId,
		amount: BalanceOf<T>,
	) -> DispatchResult {
		if !amount.is_zero() {
			T::Currency::transfer_on_hold(
				&HoldReason::AssignmentBond.into(),
				worker,
				creator,
				amount,
				Precision::Exact,
				Restriction::Free,
				// The bond was put up for the slot: the worker's later locks cannot keep it.
				Fortitude::Force,
			)?;
			Self::deposit_event(Event::BondForfeited { task_id, worker: worker.clone(), amount });
		}
		Ok(())
	}

	pub(crate) fn do_remove_task(task_id: TaskId) -> Result<u32, DispatchError> {
		let task = Tasks::<T>::get(task_id).ok_or(Error::<T>::UnknownTask)?;
		let ended_at = task.ended_at.ok_or(Error::<T>::TaskNotEnded)?;
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(
			now >= ended_at.saturating_add(T::RetentionPeriod::get()),
			Error::<T>::RetentionPeriodNotOver
		);
		// Every record is bounded by `records`, at most `MaxAssignmentsPerTask` for a task
		// created under this version (a migrated task may have more, all removed here too).
		let _ = Assignments::<T>::clear_prefix(task_id, u32::MAX, None);
		let _ = SubmittedCids::<T>::clear_prefix(task_id, u32::MAX, None);
		LiveWorkers::<T>::remove(task_id);
		Tasks::<T>::remove(task_id);
		if !task.deposit.is_zero() {
			T::Currency::release(
				&HoldReason::TaskStorage.into(),
				&task.creator,
				task.deposit,
				Precision::Exact,
			)?;
		}
		Self::deposit_event(Event::TaskRemoved { task_id, deposit: task.deposit });
		Ok(task.records)
	}

	/// Pay `worker`'s submitted `result` and take it off the live list.
	fn pay(
		task_id: TaskId,
		task: &mut TaskOf<T>,
		worker: &T::AccountId,
		result: ContentRefOf<T>,
	) -> DispatchResult {
		Self::remove_live_worker(task_id, worker);
		Self::pay_assignment(task_id, task, worker, result)
	}

	/// Move exactly `reward` from the creator's hold to `worker` and mark the result paid.
	fn pay_assignment(
		task_id: TaskId,
		task: &mut TaskOf<T>,
		worker: &T::AccountId,
		result: ContentRefOf<T>,
	) -> DispatchResult {
		let amount = task.reward;
		T::Currency::transfer_on_hold(
			&HoldReason::TaskEscrow.into(),
			&task.creator,
			worker,
			amount,
			Precision::Exact,
			Restriction::Free,
			// The reward was committed to the task when it was held: a freeze or lock the
			// creator takes on later (vesting, voting) must not block paying it.
			Fortitude::Force,
		)?;
		task.escrow = task.escrow.checked_sub(&amount).ok_or(Error::<T>::EscrowOverflow)?;
		task.pending.saturating_dec();
		task.paid.saturating_inc();
		Assignments::<T>::insert(task_id, worker, Assignment::Paid { result: Some(result) });
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

	/// Check every relation between the `Config` constants the pallet relies on; panics with
	/// the relation that does not hold. Run by `integrity_test`.
	pub fn check_constants() {
		use frame::traits::fungible::Inspect;
		let max_slots = T::MaxSlots::get();
		assert!(max_slots > 0, "MaxSlots must be above zero");
		let max_assignments = T::MaxAssignmentsPerTask::get();
		assert!(
			max_assignments >= max_slots,
			"MaxAssignmentsPerTask must be at least MaxSlots, or a task could not fill its slots"
		);
		assert!(
			!T::AssignmentBond::get().is_zero(),
			"AssignmentBond must be above zero, or holding a slot without working costs nothing"
		);
		assert!(
			T::MaxCidLen::get() >= MIN_CID_LEN,
			"MaxCidLen must fit a CIDv1 of a sha2-256 digest in base32 (59 bytes)"
		);
		assert!(T::MaxReasonLen::get() > 0, "MaxReasonLen must be above zero");
		let minimum_reward = T::MinimumReward::get();
		assert!(!minimum_reward.is_zero(), "MinimumReward must be above zero");
		assert!(
			minimum_reward >= T::Currency::minimum_balance(),
			"MinimumReward must be at least the existential deposit, so a paid worker's account \
			 always exists"
		);
		assert!(!T::TaskDepositBase::get().is_zero(), "TaskDepositBase must be above zero");
		let per_byte = T::TaskDepositPerByte::get();
		let max_len: BalanceOf<T> = T::MaxMetadataLen::get().into();
		let max_deposit =
			per_byte.checked_mul(&max_len).and_then(|d| d.checked_add(&T::TaskDepositBase::get()));
		assert!(
			max_deposit.is_some(),
			"TaskDepositBase + TaskDepositPerByte * MaxMetadataLen must fit the balance type"
		);
		let slots: BalanceOf<T> = max_slots.into();
		assert!(
			minimum_reward
				.checked_mul(&slots)
				.and_then(|r| max_deposit.and_then(|d| r.checked_add(&d)))
				.is_some(),
			"MinimumReward * MaxSlots plus the largest deposit must fit the balance type"
		);
		let review = T::MaxReviewPeriod::get();
		let work = T::MaxWorkPeriod::get();
		let publish = T::ModelPublishPeriod::get();
		let reveal = T::MaxRevealPeriod::get();
		let retention = T::RetentionPeriod::get();
		assert!(!review.is_zero(), "MaxReviewPeriod must be above zero");
		assert!(!work.is_zero(), "MaxWorkPeriod must be above zero");
		assert!(!reveal.is_zero(), "MaxRevealPeriod must be above zero");
		assert!(!publish.is_zero(), "ModelPublishPeriod must be above zero");
		assert!(
			retention >= publish,
			"RetentionPeriod must be at least ModelPublishPeriod, so a record is not removed \
			 while its model may still be published"
		);
		// Deadlines plus periods saturate at the largest block number: keep every sum of
		// periods a task can reach far below it, so no period ends "never".
		let longest = review
			.checked_add(&work)
			.and_then(|p| p.checked_add(&reveal))
			.and_then(|p| p.checked_add(&retention));
		let half_of_max = BlockNumberFor::<T>::max_value() / 2u32.into();
		assert!(
			longest.is_some_and(|p| p < half_of_max),
			"MaxReviewPeriod + MaxWorkPeriod + MaxRevealPeriod + RetentionPeriod must stay below \
			 half the largest block number"
		);
		assert!(T::ExpectedBlockTime::get() > 0, "ExpectedBlockTime must be above zero");
		// Closing a full task touches every slot, removing one every record: each must fit in
		// one block, or a full task's escrow or deposit would stay held for ever.
		let max_block = <T as frame_system::Config>::BlockWeights::get().max_block;
		for (call, weight) in [
			("close_task", T::WeightInfo::close_task(max_slots)),
			("cancel_task", T::WeightInfo::cancel_task(max_slots)),
			("force_close_task", T::WeightInfo::force_close_task(max_slots)),
			("remove_task", T::WeightInfo::remove_task(max_assignments)),
		] {
			assert!(
				weight.all_lte(max_block),
				"MaxSlots too large: {call} of a full task does not fit in a block"
			);
		}
	}

	/// What the pallet holds from `who` as task escrow.
	pub fn held_by(who: &T::AccountId) -> BalanceOf<T> {
		Self::held_for(HoldReason::TaskEscrow, who)
	}

	/// What the pallet holds from `who` under `reason`.
	pub fn held_for(reason: HoldReason, who: &T::AccountId) -> BalanceOf<T> {
		<T::Currency as fungible::InspectHold<T::AccountId>>::balance_on_hold(&reason.into(), who)
	}
}
