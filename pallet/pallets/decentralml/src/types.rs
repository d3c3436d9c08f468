//! Types stored and emitted by the pallet.

use super::*;
use alloc::vec::Vec;
use frame::prelude::*;

/// The shortest `MaxCidLen` a runtime may configure: a CIDv1 of a sha2-256 digest in base32.
pub const MIN_CID_LEN: u32 = 59;

/// Identifier of a task, assigned sequentially from zero.
pub type TaskId = u32;

/// The balance type of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as fungible::Inspect<<T as frame_system::Config>::AccountId>>::Balance;

/// A content reference as stored: bounded CID.
pub type ContentRefOf<T> = ContentRef<<T as Config>::MaxCidLen>;

/// A task as stored.
pub type TaskOf<T> = TaskInfo<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	<T as Config>::MaxCidLen,
	<T as Config>::MaxMetadataLen,
>;

/// An assignment as stored.
pub type AssignmentOf<T> = Assignment<BalanceOf<T>, BlockNumberFor<T>, <T as Config>::MaxCidLen>;

/// How a task's results reach the chain, as stored.
pub type SubmissionOf<T> = Submission<BlockNumberFor<T>>;

/// Prefixed to every commitment preimage, so a commitment cannot be mistaken for another
/// hash the chain or its clients compute.
pub const COMMITMENT_DOMAIN: [u8; 21] = *b"decentralml/commit/v1";

/// The commitment a worker sends with [`Pallet::commit_result`]:
/// `blake2_256(SCALE(COMMITMENT_DOMAIN, task_id, worker, result, salt))`, where `task_id` is a
/// `u32` (little-endian), `worker` the account's SCALE encoding (32 bytes for an
/// `AccountId32`), `result` a [`RawContentRef`] (compact-length-prefixed CID bytes, the 32-byte
/// sha256, the size as a little-endian `u64`) and `salt` 32 bytes. The worker's account is in
/// the preimage, so nobody else can reveal it, and a copied commitment proves nothing.
pub fn result_commitment<AccountId: Encode>(
	task_id: TaskId,
	worker: &AccountId,
	result: &RawContentRef,
	salt: &[u8; 32],
) -> [u8; 32] {
	frame::hashing::blake2_256(&(COMMITMENT_DOMAIN, task_id, worker, result, salt).encode())
}

/// How a task's results reach the chain.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum Submission<BlockNumber> {
	/// The worker submits its result's reference before the deadline with
	/// [`Pallet::submit_result`]. The reference is public from the moment the transaction is
	/// in the pool: another worker of the task can send the same reference first.
	Plain,
	/// The worker commits to a hash of its result before the deadline with
	/// [`Pallet::commit_result`], and reveals the result from the deadline for `reveal_period`
	/// blocks with [`Pallet::reveal_result`]. Nobody can commit after seeing a revealed result.
	Sealed {
		/// Blocks from the deadline during which commitments are revealed.
		reveal_period: BlockNumber,
	},
}

/// What kind of work a task asks for.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum TaskKind {
	/// Train the task's model on the contributor's own data; the result is a set of weights.
	ModelContribution,
	/// Change the model's architecture; the result is a new model.
	ModelEngineering,
	/// Label the task's data; the result is a labels file.
	DataAnnotation,
}

/// How results are decided.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum ValidationPolicy {
	/// Every submitted result is accepted and paid when it is submitted.
	AutoAccept,
	/// The creator or validator decides each result by hand.
	ManualAccept,
	/// The creator or validator decides each result with its own function, off-chain.
	/// On-chain this behaves as `ManualAccept`; it tells contributors how they are judged.
	CustomAccept,
}

/// A content reference as given in a call: the CID is checked against `MaxCidLen` on entry.
#[derive(Encode, Decode, DecodeWithMemTracking, Clone, PartialEq, Eq, Debug, TypeInfo)]
pub struct RawContentRef {
	/// The IPFS CID, as text bytes.
	pub cid: Vec<u8>,
	/// The sha256 digest of the content's bytes.
	pub sha256: [u8; 32],
	/// The content's size in bytes.
	pub size: u64,
}

/// A reference to content on IPFS: what to fetch, how to verify it, and how big it may be.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxCidLen))]
pub struct ContentRef<MaxCidLen: Get<u32>> {
	/// The IPFS CID, as text bytes.
	pub cid: BoundedVec<u8, MaxCidLen>,
	/// The sha256 digest of the content's bytes.
	pub sha256: [u8; 32],
	/// The content's size in bytes.
	pub size: u64,
}

/// Where a task is in its life.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	Clone,
	Copy,
	PartialEq,
	Eq,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum TaskStatus {
	/// Takes assignments and results until the deadline; results are reviewed until closed.
	Open,
	/// Cancelled by its creator; the escrow went back to the creator.
	Cancelled,
	/// Closed after its deadline (or forced by the force origin); every result was paid or
	/// decided, the rest refunded.
	Closed,
}

/// A task posted by a creator.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxCidLen, MaxMetadataLen))]
// The `*NoBound` derives repeat the parameters' bounds in their where clauses.
#[allow(clippy::multiple_bound_locations)]
pub struct TaskInfo<
	AccountId: Clone + PartialEq + Eq + core::fmt::Debug,
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxCidLen: Get<u32>,
	MaxMetadataLen: Get<u32>,
> {
	/// Who posted the task and funds it.
	pub creator: AccountId,
	/// What kind of work it asks for.
	pub kind: TaskKind,
	/// How results are decided.
	pub policy: ValidationPolicy,
	/// How results reach the chain.
	pub submission: Submission<BlockNumber>,
	/// The task bundle on IPFS.
	pub bundle: ContentRef<MaxCidLen>,
	/// Free-form metadata (e.g. a JSON description) for contributors.
	pub metadata: BoundedVec<u8, MaxMetadataLen>,
	/// Paid for each accepted result.
	pub reward: Balance,
	/// How many results the task pays for.
	pub slots: u32,
	/// Last block before which assignments and results are taken (exclusive).
	pub deadline: BlockNumber,
	/// Blocks the creator has to review a result after its submission, after which its worker
	/// can claim the reward.
	pub review_period: BlockNumber,
	/// Blocks a worker has to submit after taking a slot, after which anyone can release it.
	pub work_period: BlockNumber,
	/// An account, besides the creator, that may accept, reject and publish the model.
	pub validator: Option<AccountId>,
	/// The storage deposit held from the creator under [`HoldReason::TaskStorage`] while the
	/// task's record exists; returned by [`Pallet::remove_task`].
	pub deposit: Balance,
	/// The rewards held from the creator under [`HoldReason::TaskEscrow`] right now.
	pub escrow: Balance,
	/// Slots taken with nothing committed or submitted yet.
	pub assigned: u32,
	/// Slots whose worker committed to a sealed result not revealed yet.
	pub committed: u32,
	/// Results submitted and awaiting a decision.
	pub pending: u32,
	/// Results paid.
	pub paid: u32,
	/// Assignment records ever made on the task, rejected and released ones included; at most
	/// `MaxAssignmentsPerTask`, so removing the task is bounded.
	pub records: u32,
	/// Where the task is in its life.
	pub status: TaskStatus,
	/// The block at which the task was closed or cancelled; `None` while it is open.
	pub ended_at: Option<BlockNumber>,
	/// The latest federated model published for the task.
	pub model: Option<ContentRef<MaxCidLen>>,
}

impl<A, B, N, C, M> TaskInfo<A, B, N, C, M>
where
	A: Clone + PartialEq + Eq + core::fmt::Debug,
	B: Clone + PartialEq + Eq + core::fmt::Debug,
	N: Clone + PartialEq + Eq + core::fmt::Debug,
	C: Get<u32>,
	M: Get<u32>,
{
	/// Slots neither taken, committed, awaiting review, nor paid.
	pub fn free_slots(&self) -> u32 {
		self.slots
			.saturating_sub(self.paid)
			.saturating_sub(self.assigned)
			.saturating_sub(self.committed)
			.saturating_sub(self.pending)
	}

	/// Whether `who` may decide results and publish the model.
	pub fn is_reviewer(&self, who: &A) -> bool {
		&self.creator == who || self.validator.as_ref() == Some(who)
	}

	/// Whether the task still takes assignments, results and decisions.
	pub fn is_open(&self) -> bool {
		self.status == TaskStatus::Open
	}
}

/// A worker's standing on one task.
#[derive(
	Encode,
	Decode,
	DecodeWithMemTracking,
	CloneNoBound,
	PartialEqNoBound,
	EqNoBound,
	DebugNoBound,
	TypeInfo,
	MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxCidLen))]
#[allow(clippy::multiple_bound_locations)]
pub enum Assignment<
	Balance: Clone + PartialEq + Eq + core::fmt::Debug,
	BlockNumber: Clone + PartialEq + Eq + core::fmt::Debug,
	MaxCidLen: Get<u32>,
> {
	/// Holds a slot and has not submitted or committed yet.
	Assigned {
		/// When the slot was taken.
		at: BlockNumber,
		/// Held from the worker under [`HoldReason::AssignmentBond`]: returned when it submits
		/// (or reveals), or when the task is cancelled or closed; forfeited to the creator when
		/// the slot is released for not submitting within the work period.
		bond: Balance,
	},
	/// Committed to a sealed result, to be revealed after the deadline.
	Committed {
		/// `result_commitment(task_id, worker, result, salt)`.
		commitment: [u8; 32],
		/// When it was committed.
		at: BlockNumber,
		/// The assignment's bond, still held: returned at the reveal, forfeited to the creator
		/// when the task closes with the commitment unrevealed.
		bond: Balance,
	},
	/// Submitted (or revealed) a result that awaits a decision.
	Submitted {
		/// The result bundle.
		result: ContentRef<MaxCidLen>,
		/// When it was submitted or revealed: its review period starts here.
		at: BlockNumber,
	},
	/// The result was accepted and paid.
	Paid {
		/// The result bundle, kept so the task's record shows what was paid for; `None` only
		/// on records migrated from storage version 0, which did not keep it.
		result: Option<ContentRef<MaxCidLen>>,
	},
	/// The result was rejected; the worker cannot take the task again.
	Rejected {
		/// The result bundle, kept so the task's record shows what was rejected; `None` only
		/// on records migrated from storage version 0.
		result: Option<ContentRef<MaxCidLen>>,
	},
	/// The slot was released because the worker did not submit within the work period; the
	/// worker cannot take the task again.
	Released,
}

/// What a creator asks for in `create_task`, before validation.
pub struct TaskSpec<T: Config> {
	/// What kind of work is asked for.
	pub kind: TaskKind,
	/// How results are decided.
	pub policy: ValidationPolicy,
	/// How results reach the chain.
	pub submission: SubmissionOf<T>,
	/// The task bundle.
	pub bundle: RawContentRef,
	/// Free-form metadata.
	pub metadata: Vec<u8>,
	/// Paid per accepted result.
	pub reward: BalanceOf<T>,
	/// Results paid for.
	pub slots: u32,
	/// Absolute block from which no slot or result is taken.
	pub deadline: BlockNumberFor<T>,
	/// Blocks to review each result.
	pub review_period: BlockNumberFor<T>,
	/// Blocks to submit after taking a slot.
	pub work_period: BlockNumberFor<T>,
	/// Optional validator.
	pub validator: Option<<T as frame_system::Config>::AccountId>,
}
