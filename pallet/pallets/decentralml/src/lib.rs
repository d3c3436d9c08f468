//! # decentralml marketplace pallet
//!
//! A marketplace for machine-learning work with rewards held in escrow.
//!
//! ## Overview
//!
//! A *creator* posts a task: a bundle on IPFS (referenced by CID, sha256 and size), a reward per
//! accepted result, a number of slots, a deadline, a review period, a work period, a validation
//! policy and a submission mode. The reward for every slot is put on hold from the creator's
//! account under [`HoldReason::TaskEscrow`], and a storage deposit under
//! [`HoldReason::TaskStorage`]. *Workers* take a slot, putting up a small bond under
//! [`HoldReason::AssignmentBond`], do the work off-chain and send a result bundle: in the open
//! before the deadline (plain tasks), or sealed: a commitment before the deadline, revealed
//! after it. The creator, or the *validator* it names, accepts or rejects each result; each
//! accept pays exactly the reward from the creator's hold to the worker. When the task ends,
//! every reward still held goes back to the creator; the record stays readable for the
//! retention period, after which anyone can remove it and the deposit goes back too.
//!
//! ## Terminology
//!
//! - **Creator**: the account that posts and funds a task.
//! - **Worker**: an account that takes a slot of a task and sends a result.
//! - **Validator**: an account the creator names that may accept, reject and publish the model.
//! - **Reviewer**: the creator or the validator.
//! - **Escrow**: the rewards held from the creator for a task: `reward * (slots - paid)` while
//!   the task is open, nothing once it is closed or cancelled.
//! - **Storage deposit**: held from the creator while the task's record exists.
//! - **Assignment bond**: held from a worker from taking a slot until it submits (or reveals),
//!   or the task is cancelled or closed; forfeited to the creator if the slot is released for
//!   not submitting within the work period, or the task closes with its commitment unrevealed.
//! - **Sealed submission**: a commitment `result_commitment(task_id, worker, result, salt)`
//!   before the deadline, revealed between the deadline and the end of the reveal period.
//!   Nobody can commit after seeing a revealed result, and a commitment binds its worker, so a
//!   copied reference pays the copier nothing. AutoAccept tasks must be sealed.
//! - **Review period**: blocks the reviewer has to decide a result after its submission (or
//!   reveal). Once it has passed, the result can no longer be rejected, and the worker can
//!   claim the reward with [`Pallet::claim_reward`].
//! - **Work period**: blocks a worker has to submit or commit after taking a slot. Once it has
//!   passed, anyone can free the slot with [`Pallet::release_assignment`].
//! - **Retention period**: blocks an ended task's record stays before
//!   [`Pallet::remove_task`].
//! - **Force origin**: [`Config::ForceOrigin`], which may end a stuck task at once.
//!
//! ## Lifecycle
//!
//! ```text
//! create_task ──> Open ──(results in*, none awaiting review within its period)──> Closed
//!                   ├──(force origin, any time; every submitted result paid)──> Closed
//!                   └──(creator, no result awaiting review, no commitment)──> Cancelled
//! Closed / Cancelled ──(RetentionPeriod after it ended; anyone)──remove_task──> gone
//!   * the deadline for plain tasks, the end of the reveal period for sealed ones
//!
//! per worker (plain):  assign_task ──> Assigned ──submit_result──> Submitted
//! per worker (sealed): assign_task ──> Assigned ──commit_result──> Committed
//!                                          ──reveal_result (from the deadline)──> Submitted
//! Submitted ──accept_result / claim_reward / close──> Paid
//!           └──reject_result (within the review period)──> Rejected
//! Assigned ──release_assignment (work period passed; bond to the creator)──> Released
//! Committed ──close_task with it unrevealed (bond to the creator)──> Released
//! ```
//!
//! Under [`ValidationPolicy::AutoAccept`] a result is paid when it is revealed. `ManualAccept`
//! and `CustomAccept` wait for a reviewer; on-chain they differ only in what they tell workers.
//!
//! ## Interface
//!
//! - [`Pallet::create_task`]: post a task and put its escrow and deposit on hold.
//! - [`Pallet::set_validator`]: name or remove the task's validator while no result waits
//!   (creator).
//! - [`Pallet::assign_task`]: take a free slot, holding the bond (anyone but the reviewers).
//! - [`Pallet::submit_result`]: send a result for one's slot of a plain task, before the
//!   deadline.
//! - [`Pallet::commit_result`]: commit to a result for one's slot of a sealed task, before the
//!   deadline.
//! - [`Pallet::reveal_result`]: reveal the committed result, within the reveal period.
//! - [`Pallet::accept_result`]: accept a result and pay its worker (reviewer).
//! - [`Pallet::reject_result`]: reject a result with a reason, freeing its slot (reviewer).
//! - [`Pallet::claim_reward`]: get paid for a result left undecided past the review period.
//! - [`Pallet::release_assignment`]: free a slot not submitted within the work period; its bond
//!   goes to the creator (anyone).
//! - [`Pallet::cancel_task`]: end a task with no result awaiting review (creator).
//! - [`Pallet::close_task`]: end a task whose results are in (anyone).
//! - [`Pallet::publish_model`]: record the federated model of a task, while it is open and for
//!   `ModelPublishPeriod` after it closed (reviewer).
//! - [`Pallet::force_close_task`]: end a stuck task, paying every submitted result (force
//!   origin).
//! - [`Pallet::remove_task`]: delete an ended task's records after the retention period and
//!   return its storage deposit (anyone).
//!
//! ## Storage versions
//!
//! Version 1 (sealed submissions, bonds, storage deposits). A chain at version 0 runs
//! [`migrations::v1::MigrateV0ToV1`] on upgrade.
//!
//! ## Invariants
//!
//! Checked by `do_try_state` after every test and under `try-runtime`:
//!
//! 1. Under each hold reason the pallet holds exactly what its records owe: from each creator,
//!    the escrow of its open tasks (`reward * (slots - paid)`, zero once ended) and the deposit
//!    of each of its task records; from each worker, the bond of each assignment not yet
//!    submitted or revealed.
//! 2. Counters agree with the assignments: `assigned`, `committed`, `pending` and `paid` count
//!    the task's `Assigned`, `Committed`, `Submitted` and `Paid` assignments, the live list
//!    holds exactly the workers of the first three, each once, and no task has more
//!    assignment records than it ever made.
//! 3. A task never has more live assignments and payments than slots.
//! 4. Neither the creator nor the validator holds an assignment on the task.
//! 5. An ended task has no assignment still live: no result is stranded.
//! 6. Records agree: task ids are below `NextTaskId`, no record belongs to an unknown task,
//!    submitted CIDs match the assignments, deposits match the metadata, a plain task has no
//!    commitment, and `ended_at` is set exactly on ended tasks.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use types::*;
pub use weights::WeightInfo;

#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod impls;
#[cfg(any(test, feature = "try-runtime"))]
mod invariants;
pub mod migrations;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

use polkadot_sdk::polkadot_sdk_frame as frame;

// `create_task` takes each task parameter as its own argument, as explorers display them.
#[allow(clippy::too_many_arguments)]
#[frame::pallet]
pub mod pallet {
	use super::*;
	use alloc::vec::Vec;
	use frame::prelude::*;
	use frame::traits::fungible::MutateHold;

	/// The in-code storage version.
	const STORAGE_VERSION: StorageVersion = StorageVersion::new(1);

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// The pallet's configuration.
	#[pallet::config]
	pub trait Config: polkadot_sdk::frame_system::Config {
		/// The currency rewards are paid in; rewards, storage deposits and assignment bonds are
		/// held under the pallet's [`HoldReason`]s.
		type Currency: fungible::Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;

		/// The smallest reward per result. Must be at least the existential deposit, so a paid
		/// worker's account always exists.
		#[pallet::constant]
		type MinimumReward: Get<BalanceOf<Self>>;

		/// The fixed part of the deposit held for a task's storage.
		#[pallet::constant]
		type TaskDepositBase: Get<BalanceOf<Self>>;

		/// The deposit held per byte of a task's metadata.
		#[pallet::constant]
		type TaskDepositPerByte: Get<BalanceOf<Self>>;

		/// Held from a worker for each slot it takes, under [`HoldReason::AssignmentBond`];
		/// returned when it submits (or reveals), or when the task is cancelled or ends with
		/// nothing committed; forfeited to the creator when the slot is released for not
		/// submitting within the work period, or the task closes with a commitment unrevealed.
		#[pallet::constant]
		type AssignmentBond: Get<BalanceOf<Self>>;

		/// The most slots a task may have. Benchmarks depend on this value.
		#[pallet::constant]
		type MaxSlots: Get<u32>;

		/// The most assignment records a task may ever have, rejected and released ones
		/// included, so a task's records stay bounded for [`Pallet::remove_task`]. At least
		/// `MaxSlots`.
		#[pallet::constant]
		type MaxAssignmentsPerTask: Get<u32>;

		/// The longest CID accepted, in bytes.
		#[pallet::constant]
		type MaxCidLen: Get<u32>;

		/// The longest task metadata accepted, in bytes.
		#[pallet::constant]
		type MaxMetadataLen: Get<u32>;

		/// The longest rejection reason accepted, in bytes.
		#[pallet::constant]
		type MaxReasonLen: Get<u32>;

		/// The longest review period a task may set, in blocks.
		#[pallet::constant]
		type MaxReviewPeriod: Get<BlockNumberFor<Self>>;

		/// The longest work period a task may set, in blocks.
		#[pallet::constant]
		type MaxWorkPeriod: Get<BlockNumberFor<Self>>;

		/// The longest reveal period a sealed task may set, in blocks.
		#[pallet::constant]
		type MaxRevealPeriod: Get<BlockNumberFor<Self>>;

		/// How long after a task ends its record (results, model) stays readable, in blocks;
		/// after it anyone may remove the record with [`Pallet::remove_task`], which returns the
		/// storage deposit. At least `ModelPublishPeriod`.
		#[pallet::constant]
		type RetentionPeriod: Get<BlockNumberFor<Self>>;

		/// How long after a task ends its reviewers may still publish (or replace) its model, in
		/// blocks. Bounds how long a validator keeps any power over an ended task.
		#[pallet::constant]
		type ModelPublishPeriod: Get<BlockNumberFor<Self>>;

		/// The origin that may end a stuck task with [`Pallet::force_close_task`] (Root on the
		/// dev runtime; a governance origin elsewhere).
		type ForceOrigin: EnsureOrigin<Self::RuntimeOrigin>;

		/// The time between blocks the chain aims for, in milliseconds. Clients convert
		/// durations to block numbers with it; the pallet itself only counts blocks.
		#[pallet::constant]
		type ExpectedBlockTime: Get<u64>;

		/// Weights of this pallet's calls.
		type WeightInfo: WeightInfo;
	}

	/// Why the pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// The rewards of an open task's unpaid slots, held from its creator.
		#[codec(index = 0)]
		TaskEscrow,
		/// The storage deposit of a task record, held from its creator until the record is
		/// removed.
		#[codec(index = 1)]
		TaskStorage,
		/// The bond of an assignment not yet submitted or revealed, held from its worker.
		#[codec(index = 2)]
		AssignmentBond,
	}

	/// The id the next task gets.
	#[pallet::storage]
	pub type NextTaskId<T> = StorageValue<_, TaskId, ValueQuery>;

	/// Tasks by id. Ended tasks stay, with no escrow, as the record of what was paid, until
	/// [`Pallet::remove_task`] after the retention period.
	#[pallet::storage]
	pub type Tasks<T: Config> = StorageMap<_, Twox64Concat, TaskId, TaskOf<T>, OptionQuery>;

	/// Each worker's standing on a task.
	#[pallet::storage]
	pub type Assignments<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		TaskId,
		Blake2_128Concat,
		T::AccountId,
		AssignmentOf<T>,
		OptionQuery,
	>;

	/// The workers of a task whose assignment is live (`Assigned`, `Committed` or `Submitted`).
	#[pallet::storage]
	pub type LiveWorkers<T: Config> =
		StorageMap<_, Twox64Concat, TaskId, BoundedVec<T::AccountId, T::MaxSlots>, ValueQuery>;

	/// Result CIDs already submitted to a task, by the blake2-256 of the CID, with their worker.
	#[pallet::storage]
	pub type SubmittedCids<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		TaskId,
		Blake2_128Concat,
		[u8; 32],
		T::AccountId,
		OptionQuery,
	>;

	#[pallet::event]
	#[pallet::generate_deposit(pub(super) fn deposit_event)]
	pub enum Event<T: Config> {
		/// A task was posted and its escrow put on hold.
		TaskCreated {
			/// The new task.
			task_id: TaskId,
			/// Who posted and funds it.
			creator: T::AccountId,
			/// What kind of work it asks for.
			kind: TaskKind,
			/// How results are decided.
			policy: ValidationPolicy,
			/// How results reach the chain.
			submission: SubmissionOf<T>,
			/// Paid per accepted result.
			reward: BalanceOf<T>,
			/// How many results it pays for.
			slots: u32,
			/// Block from which no assignment, commitment or plain result is taken.
			deadline: BlockNumberFor<T>,
			/// Held from the creator under [`HoldReason::TaskEscrow`]: the reward of every slot.
			escrow: BalanceOf<T>,
			/// Held from the creator under [`HoldReason::TaskStorage`] until the record is
			/// removed.
			deposit: BalanceOf<T>,
		},
		/// The task's validator was named or removed.
		ValidatorSet {
			/// The task.
			task_id: TaskId,
			/// The new validator, if any.
			validator: Option<T::AccountId>,
		},
		/// A worker took a slot and its bond was put on hold.
		TaskAssigned {
			/// The task.
			task_id: TaskId,
			/// Who took the slot.
			worker: T::AccountId,
			/// Held from the worker until it submits or reveals, or the task ends.
			bond: BalanceOf<T>,
		},
		/// A worker committed to a sealed result.
		ResultCommitted {
			/// The task.
			task_id: TaskId,
			/// Who committed.
			worker: T::AccountId,
			/// The commitment.
			commitment: [u8; 32],
		},
		/// An assignment bond went back to its worker.
		BondReturned {
			/// The task.
			task_id: TaskId,
			/// Whose bond.
			worker: T::AccountId,
			/// How much.
			amount: BalanceOf<T>,
		},
		/// An assignment bond went to the task's creator: the worker did not submit within the
		/// work period.
		BondForfeited {
			/// The task.
			task_id: TaskId,
			/// Whose bond.
			worker: T::AccountId,
			/// How much.
			amount: BalanceOf<T>,
		},
		/// A worker submitted a result, or revealed a sealed one: it awaits a decision from
		/// here.
		ResultSubmitted {
			/// The task.
			task_id: TaskId,
			/// Who submitted.
			worker: T::AccountId,
			/// The result bundle.
			result: ContentRefOf<T>,
		},
		/// A result was accepted.
		ResultAccepted {
			/// The task.
			task_id: TaskId,
			/// Whose result.
			worker: T::AccountId,
			/// The reviewer who accepted it, or `None` when the policy accepted it.
			by: Option<T::AccountId>,
		},
		/// A result was rejected and its slot freed.
		ResultRejected {
			/// The task.
			task_id: TaskId,
			/// Whose result.
			worker: T::AccountId,
			/// The reviewer who rejected it.
			by: T::AccountId,
			/// Why.
			reason: BoundedVec<u8, T::MaxReasonLen>,
		},
		/// A reward was paid from the creator's escrow.
		RewardPaid {
			/// The task.
			task_id: TaskId,
			/// Who was paid.
			worker: T::AccountId,
			/// How much.
			amount: BalanceOf<T>,
		},
		/// An assignment not submitted within the work period was released.
		AssignmentReleased {
			/// The task.
			task_id: TaskId,
			/// Whose slot was freed.
			worker: T::AccountId,
		},
		/// The creator cancelled the task and got the escrow back.
		TaskCancelled {
			/// The task.
			task_id: TaskId,
			/// Returned to the creator.
			refunded: BalanceOf<T>,
		},
		/// The task was closed after its deadline and the rest of its escrow returned.
		TaskClosed {
			/// The task.
			task_id: TaskId,
			/// Who closed it.
			by: T::AccountId,
			/// Returned to the creator.
			refunded: BalanceOf<T>,
		},
		/// The force origin closed the task: every result not rejected was paid, the rest of its
		/// escrow returned.
		TaskForceClosed {
			/// The task.
			task_id: TaskId,
			/// The signed account behind the force origin, or `None` for Root or a collective.
			by: Option<T::AccountId>,
			/// Results paid by the force close.
			paid: u32,
			/// Returned to the creator.
			refunded: BalanceOf<T>,
		},
		/// An ended task's record was removed after the retention period and its storage deposit
		/// returned to the creator.
		TaskRemoved {
			/// The task.
			task_id: TaskId,
			/// Returned to the creator.
			deposit: BalanceOf<T>,
		},
		/// A reviewer recorded the federated model of the task.
		ModelPublished {
			/// The task.
			task_id: TaskId,
			/// The reviewer who published it.
			by: T::AccountId,
			/// The model bundle.
			model: ContentRefOf<T>,
		},
	}

	#[pallet::error]
	pub enum Error<T> {
		/// No task has this id.
		UnknownTask,
		/// The reward is below the minimum reward.
		RewardTooLow,
		/// A task needs at least one slot.
		ZeroSlots,
		/// More slots than `MaxSlots`.
		TooManySlots,
		/// The deadline is not after the current block.
		DeadlineInPast,
		/// The review period is zero or longer than `MaxReviewPeriod`.
		InvalidReviewPeriod,
		/// The work period is zero or longer than `MaxWorkPeriod`.
		InvalidWorkPeriod,
		/// The CID is empty.
		EmptyCid,
		/// The CID is longer than `MaxCidLen`.
		CidTooLong,
		/// The metadata is longer than `MaxMetadataLen`.
		MetadataTooLong,
		/// The rejection reason is longer than `MaxReasonLen`.
		ReasonTooLong,
		/// The rewards and deposit overflow the balance type.
		EscrowOverflow,
		/// The caller cannot afford what the call holds: the rewards and storage deposit of a
		/// task, or the bond of an assignment.
		InsufficientBalance,
		/// The task is closed or cancelled.
		TaskNotOpen,
		/// The task's deadline has passed.
		DeadlinePassed,
		/// The task's deadline has not passed yet.
		DeadlineNotReached,
		/// Every slot is taken, awaiting review or paid.
		NoFreeSlot,
		/// The caller already holds a slot, or had one, on this task.
		AlreadyAssigned,
		/// The creator or the task's validator cannot take the task.
		OwnTask,
		/// The caller's result was rejected or its slot released; it cannot take the task again.
		WorkerBarred,
		/// The caller holds no slot on this task.
		NotAssigned,
		/// A result was already submitted for this slot.
		AlreadySubmitted,
		/// This result CID was already submitted to the task.
		DuplicateResult,
		/// Only the creator or the task's validator may do this.
		NotReviewer,
		/// Only the task's creator may do this.
		NotCreator,
		/// This worker has no result awaiting a decision.
		NoPendingResult,
		/// The review period after the submission has not passed yet.
		ReviewPeriodNotOver,
		/// The work period after the assignment has not passed yet.
		WorkPeriodNotOver,
		/// A result awaits review; decide it first (or wait for its review period to pass).
		ResultAwaitingReview,
		/// A cancelled task has no model to publish.
		TaskCancelled,
		/// The result's review period has passed: it can no longer be rejected, only accepted,
		/// claimed by its worker or paid at close.
		ReviewPeriodOver,
		/// Every task id has been used.
		TaskIdsExhausted,
		/// The task ended more than `ModelPublishPeriod` blocks ago; its model is final.
		PublishPeriodOver,
		/// The reveal period is zero or longer than `MaxRevealPeriod`.
		InvalidRevealPeriod,
		/// An AutoAccept task pays whoever's reference lands first, so its results must be
		/// sealed: a plain one would pay whoever copies a reference from the pool.
		AutoAcceptNeedsSealed,
		/// The task takes sealed results: commit with `commit_result`, then reveal.
		SubmissionsSealed,
		/// The task takes plain results: submit with `submit_result`.
		SubmissionsPlain,
		/// The caller committed to a result already; reveal it after the deadline.
		AlreadyCommitted,
		/// The caller holds a slot but committed to nothing, so there is nothing to reveal.
		NotCommitted,
		/// The revealed result and salt do not match the caller's commitment.
		CommitmentMismatch,
		/// Results are revealed from the deadline on, not before.
		RevealPeriodNotStarted,
		/// The reveal period has passed; the commitment can no longer be revealed.
		RevealPeriodOver,
		/// The reveal period has not passed yet.
		RevealPeriodNotOver,
		/// A worker committed to a result that is not revealed yet; the task cannot be
		/// cancelled under it.
		ResultCommitted,
		/// The task has had `MaxAssignmentsPerTask` assignments.
		TooManyAssignments,
		/// The task is still open; only an ended task's record can be removed.
		TaskNotEnded,
		/// The task ended less than `RetentionPeriod` blocks ago; its record stays until then.
		RetentionPeriodNotOver,
	}

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn integrity_test() {
			Self::check_constants();
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(
			_n: BlockNumberFor<T>,
		) -> Result<(), frame::deps::sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Post a task and put its rewards and deposit on hold.
		///
		/// ## Dispatch Origin
		///
		/// Signed: the creator, who funds the task.
		///
		/// ## Details
		///
		/// Holds `reward * slots` from the creator under [`HoldReason::TaskEscrow`] and the
		/// storage deposit, `TaskDepositBase + TaskDepositPerByte * metadata.len()`, under
		/// [`HoldReason::TaskStorage`] until the task's record is removed.
		///
		/// ## Parameters
		///
		/// - `kind`, `policy`: what work is asked for and how results are decided.
		/// - `submission`: plain or sealed (with a reveal period of 1 to `MaxRevealPeriod`
		///   blocks); an AutoAccept task must be sealed.
		/// - `bundle`: the task bundle on IPFS.
		/// - `metadata`: at most `MaxMetadataLen` bytes for contributors.
		/// - `reward`: paid per accepted result, at least `MinimumReward`.
		/// - `slots`: results paid for, 1 to `MaxSlots`.
		/// - `deadline`: absolute block from which no slot or result is taken.
		/// - `review_period`, `work_period`: in blocks, bounded by the pallet's constants.
		/// - `validator`: an account that may decide results besides the creator.
		///
		/// ## Events
		///
		/// [`Event::TaskCreated`], and [`Event::ValidatorSet`] when a validator is named.
		///
		/// ## Complexity
		///
		/// O(1), with the CID and metadata bounded.
		#[pallet::call_index(0)]
		#[pallet::weight(T::WeightInfo::create_task(metadata.len() as u32))]
		pub fn create_task(
			origin: OriginFor<T>,
			kind: TaskKind,
			policy: ValidationPolicy,
			submission: SubmissionOf<T>,
			bundle: RawContentRef,
			metadata: Vec<u8>,
			reward: BalanceOf<T>,
			slots: u32,
			deadline: BlockNumberFor<T>,
			review_period: BlockNumberFor<T>,
			work_period: BlockNumberFor<T>,
			validator: Option<T::AccountId>,
		) -> DispatchResult {
			let creator = ensure_signed(origin)?;
			let spec = TaskSpec {
				kind,
				policy,
				submission,
				bundle,
				metadata,
				reward,
				slots,
				deadline,
				review_period,
				work_period,
				validator,
			};
			Self::do_create_task(creator, spec).map(|_| ())
		}

		/// Name or remove the validator of a task.
		///
		/// ## Dispatch Origin
		///
		/// Signed: the task's creator.
		///
		/// ## Details
		///
		/// Refused while a result awaits review or a commitment is unrevealed, so the reviewer a
		/// worker submitted (or committed) to stays until the result is decided. A validator can be named only on an open task; it can
		/// be removed from an ended task too, which ends its power to publish the model.
		///
		/// ## Events
		///
		/// [`Event::ValidatorSet`].
		///
		/// ## Complexity
		///
		/// O(1).
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::set_validator())]
		pub fn set_validator(
			origin: OriginFor<T>,
			task_id: TaskId,
			validator: Option<T::AccountId>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_set_validator(who, task_id, validator)
		}

		/// Take a free slot of an open task.
		///
		/// ## Dispatch Origin
		///
		/// Signed: any account but the task's creator and validator.
		///
		/// ## Details
		///
		/// Holds `AssignmentBond` from the worker under [`HoldReason::AssignmentBond`]. Refused
		/// after the deadline, when every slot is taken, when the task has had
		/// `MaxAssignmentsPerTask` assignments, to a worker that already has or had a slot, and
		/// to a worker whose result was rejected or whose slot was released.
		///
		/// ## Events
		///
		/// [`Event::TaskAssigned`].
		///
		/// ## Complexity
		///
		/// O(`MaxSlots`) to append to the bounded list of live workers.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::assign_task())]
		pub fn assign_task(origin: OriginFor<T>, task_id: TaskId) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			Self::do_assign_task(worker, task_id)
		}

		/// Submit the result for one's slot of a plain task, before the deadline.
		///
		/// ## Dispatch Origin
		///
		/// Signed: the assigned worker.
		///
		/// ## Details
		///
		/// Returns the worker's bond. A CID already submitted to the task is refused. Under
		/// `AutoAccept` (only tasks from before sealed submissions existed) the result is
		/// accepted and paid at once.
		///
		/// ## Events
		///
		/// [`Event::BondReturned`], [`Event::ResultSubmitted`]; under `AutoAccept` also
		/// [`Event::ResultAccepted`] and [`Event::RewardPaid`].
		///
		/// ## Complexity
		///
		/// O(`MaxSlots`) under `AutoAccept` (the worker leaves the live list), O(1) otherwise.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::submit_result())]
		pub fn submit_result(
			origin: OriginFor<T>,
			task_id: TaskId,
			result: RawContentRef,
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			Self::do_submit_result(worker, task_id, result)
		}

		/// Accept a worker's result and pay it exactly the reward.
		///
		/// ## Dispatch Origin
		///
		/// Signed: the creator or the task's validator.
		///
		/// ## Events
		///
		/// [`Event::ResultAccepted`], [`Event::RewardPaid`].
		///
		/// ## Complexity
		///
		/// O(`MaxSlots`).
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::accept_result())]
		pub fn accept_result(
			origin: OriginFor<T>,
			task_id: TaskId,
			worker: T::AccountId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_accept_result(who, task_id, worker)
		}

		/// Reject a worker's result with a reason; its slot is free for someone else and the
		/// worker cannot take the task again.
		///
		/// ## Dispatch Origin
		///
		/// Signed: the creator or the task's validator.
		///
		/// ## Details
		///
		/// Only within the result's review period: once it has passed, the result can only be
		/// accepted, claimed by its worker or paid at close.
		///
		/// ## Events
		///
		/// [`Event::ResultRejected`].
		///
		/// ## Complexity
		///
		/// O(`MaxSlots`).
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::reject_result(reason.len() as u32))]
		pub fn reject_result(
			origin: OriginFor<T>,
			task_id: TaskId,
			worker: T::AccountId,
			reason: Vec<u8>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_reject_result(who, task_id, worker, reason)
		}

		/// Get paid for one's result when the review period after its submission has passed
		/// without a decision.
		///
		/// ## Dispatch Origin
		///
		/// Signed: the worker whose result awaits review.
		///
		/// ## Events
		///
		/// [`Event::ResultAccepted`] (with no reviewer), [`Event::RewardPaid`].
		///
		/// ## Complexity
		///
		/// O(`MaxSlots`).
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::claim_reward())]
		pub fn claim_reward(origin: OriginFor<T>, task_id: TaskId) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			Self::do_claim_reward(worker, task_id)
		}

		/// Free a slot whose worker did not submit or commit within the task's work period;
		/// the worker's bond goes to the creator.
		///
		/// ## Dispatch Origin
		///
		/// Signed: anyone.
		///
		/// ## Events
		///
		/// [`Event::BondForfeited`], [`Event::AssignmentReleased`].
		///
		/// ## Complexity
		///
		/// O(`MaxSlots`).
		#[pallet::call_index(7)]
		#[pallet::weight(T::WeightInfo::release_assignment())]
		pub fn release_assignment(
			origin: OriginFor<T>,
			task_id: TaskId,
			worker: T::AccountId,
		) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_release_assignment(task_id, worker)
		}

		/// Cancel a task that has no result awaiting review and no commitment unrevealed;
		/// unsubmitted assignments end with their bonds returned, and the whole escrow goes back
		/// to the creator. The storage deposit stays held until the record is removed.
		///
		/// ## Dispatch Origin
		///
		/// Signed: the task's creator.
		///
		/// ## Events
		///
		/// [`Event::BondReturned`] for each assignment ended, [`Event::TaskCancelled`].
		///
		/// ## Complexity
		///
		/// O(`MaxSlots`): charged at the bound, refunded to the live assignments ended.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::cancel_task(T::MaxSlots::get()))]
		pub fn cancel_task(origin: OriginFor<T>, task_id: TaskId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let ended = Self::do_cancel_task(who, task_id)?;
			Ok(Some(T::WeightInfo::cancel_task(ended)).into())
		}

		/// Close a task after its deadline (and, when sealed, its reveal period): pay the results
		/// whose review period has passed, end the unsubmitted assignments (their bonds
		/// returned) and the unrevealed commitments, and return the rest of the escrow to the
		/// creator. The storage deposit stays held until the record is removed.
		///
		/// ## Dispatch Origin
		///
		/// Signed: anyone.
		///
		/// ## Details
		///
		/// Refused while a result awaits review within its review period.
		///
		/// ## Events
		///
		/// [`Event::RewardPaid`] for each result paid, [`Event::BondReturned`] for each
		/// assignment ended with nothing sent, [`Event::BondForfeited`] and
		/// [`Event::AssignmentReleased`] for each commitment never revealed, then
		/// [`Event::TaskClosed`].
		///
		/// ## Complexity
		///
		/// O(`MaxSlots`): charged at the bound, refunded to the live assignments ended.
		#[pallet::call_index(9)]
		#[pallet::weight(T::WeightInfo::close_task(T::MaxSlots::get()))]
		pub fn close_task(origin: OriginFor<T>, task_id: TaskId) -> DispatchResultWithPostInfo {
			let who = ensure_signed(origin)?;
			let ended = Self::do_close_task(who, task_id)?;
			Ok(Some(T::WeightInfo::close_task(ended)).into())
		}

		/// Record the federated model of a task.
		///
		/// ## Dispatch Origin
		///
		/// Signed: the creator or the task's validator.
		///
		/// ## Details
		///
		/// Allowed while the task is open and for `ModelPublishPeriod` blocks after it closes; a
		/// later call replaces the model. A cancelled task has no model.
		///
		/// ## Events
		///
		/// [`Event::ModelPublished`].
		///
		/// ## Complexity
		///
		/// O(1).
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::publish_model())]
		pub fn publish_model(
			origin: OriginFor<T>,
			task_id: TaskId,
			model: RawContentRef,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_publish_model(who, task_id, model)
		}

		/// End a stuck task: pay every submitted result not rejected, whatever its review
		/// period, end the unsubmitted assignments and return the rest of the escrow.
		///
		/// ## Dispatch Origin
		///
		/// [`Config::ForceOrigin`].
		///
		/// ## Details
		///
		/// Works on any open task, before or after its deadline. Workers who submitted are paid
		/// exactly the reward, as if accepted; nobody loses a submitted result to a force close.
		/// Unsubmitted assignments and commitments not revealed yet end with their bonds
		/// returned: the force origin may act before the reveal period is over.
		///
		/// ## Events
		///
		/// [`Event::RewardPaid`] for each result paid, then [`Event::TaskForceClosed`].
		///
		/// ## Complexity
		///
		/// O(`MaxSlots`): charged at the bound, refunded to the live assignments ended.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::force_close_task(T::MaxSlots::get()))]
		pub fn force_close_task(
			origin: OriginFor<T>,
			task_id: TaskId,
		) -> DispatchResultWithPostInfo {
			T::ForceOrigin::ensure_origin(origin.clone())?;
			// Name the account behind the force origin when there is one (a signed origin
			// allowed by a custom `ForceOrigin`); Root and collectives have none.
			let by = ensure_signed(origin).ok();
			let ended = Self::do_force_close_task(by, task_id)?;
			Ok(Some(T::WeightInfo::force_close_task(ended)).into())
		}

		/// Commit to the result for one's slot of a sealed task, before the deadline.
		///
		/// ## Dispatch Origin
		///
		/// Signed: the assigned worker.
		///
		/// ## Details
		///
		/// `commitment` is [`result_commitment`]`(task_id, worker, result, salt)`. The result
		/// itself stays private (and off IPFS) until [`Pallet::reveal_result`]. The bond stays
		/// held until the reveal, and goes to the creator if the task closes with the
		/// commitment unrevealed. A commitment is final: it can only be revealed.
		///
		/// ## Events
		///
		/// [`Event::ResultCommitted`].
		///
		/// ## Complexity
		///
		/// O(1).
		#[pallet::call_index(12)]
		#[pallet::weight(T::WeightInfo::commit_result())]
		pub fn commit_result(
			origin: OriginFor<T>,
			task_id: TaskId,
			commitment: [u8; 32],
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			Self::do_commit_result(worker, task_id, commitment)
		}

		/// Reveal the result one committed to, from the deadline until the end of the task's
		/// reveal period.
		///
		/// ## Dispatch Origin
		///
		/// Signed: the worker who committed.
		///
		/// ## Details
		///
		/// The result and salt must hash, with the task id and the caller's account, to the
		/// commitment. A CID already revealed to the task is refused. Returns the worker's
		/// bond. The result's review period starts here; under `AutoAccept` it is accepted and
		/// paid at once.
		///
		/// ## Events
		///
		/// [`Event::BondReturned`], [`Event::ResultSubmitted`]; under `AutoAccept` also
		/// [`Event::ResultAccepted`] and [`Event::RewardPaid`].
		///
		/// ## Complexity
		///
		/// O(`MaxSlots`) under `AutoAccept` (the worker leaves the live list), O(1) otherwise.
		#[pallet::call_index(13)]
		#[pallet::weight(T::WeightInfo::reveal_result())]
		pub fn reveal_result(
			origin: OriginFor<T>,
			task_id: TaskId,
			result: RawContentRef,
			salt: [u8; 32],
		) -> DispatchResult {
			let worker = ensure_signed(origin)?;
			Self::do_reveal_result(worker, task_id, result, salt)
		}

		/// Remove every record of a task that ended at least `RetentionPeriod` blocks ago and
		/// return its storage deposit to the creator.
		///
		/// ## Dispatch Origin
		///
		/// Signed: anyone.
		///
		/// ## Events
		///
		/// [`Event::TaskRemoved`].
		///
		/// ## Complexity
		///
		/// O(`MaxAssignmentsPerTask`): charged at the bound, refunded to the task's records.
		#[pallet::call_index(14)]
		#[pallet::weight(T::WeightInfo::remove_task(T::MaxAssignmentsPerTask::get()))]
		pub fn remove_task(origin: OriginFor<T>, task_id: TaskId) -> DispatchResultWithPostInfo {
			ensure_signed(origin)?;
			let records = Self::do_remove_task(task_id)?;
			Ok(Some(T::WeightInfo::remove_task(records)).into())
		}
	}
}
