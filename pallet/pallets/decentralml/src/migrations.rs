//! Storage migrations.
//!
//! Run [`v1::MigrateV0ToV1`] in the runtime's `Executive` migrations when upgrading a chain
//! whose pallet storage is at version 0 (a runtime built before sealed submissions, assignment
//! bonds and storage deposits). It runs once: the storage version guards it.

use super::*;
use frame::{
	deps::frame_support::{migrations::VersionedMigration, traits::UncheckedOnRuntimeUpgrade},
	prelude::*,
	traits::{fungible::MutateHold, tokens::Precision},
};

/// The layout of storage version 0, as the last runtime without sealed submissions wrote it.
pub mod v0 {
	use super::*;

	/// A task as stored at version 0.
	#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
	#[scale_info(skip_type_params(MaxCidLen, MaxMetadataLen))]
	pub struct TaskInfo<
		AccountId,
		Balance,
		BlockNumber,
		MaxCidLen: Get<u32>,
		MaxMetadataLen: Get<u32>,
	> {
		pub creator: AccountId,
		pub kind: TaskKind,
		pub policy: ValidationPolicy,
		pub bundle: ContentRef<MaxCidLen>,
		pub metadata: BoundedVec<u8, MaxMetadataLen>,
		pub reward: Balance,
		pub slots: u32,
		pub deadline: BlockNumber,
		pub review_period: BlockNumber,
		pub work_period: BlockNumber,
		pub validator: Option<AccountId>,
		/// Held under the escrow reason with the rewards while open, released at the end.
		pub deposit: Balance,
		/// `reward * (slots - paid) + deposit` while open, zero once ended.
		pub escrow: Balance,
		pub assigned: u32,
		pub pending: u32,
		pub paid: u32,
		pub status: TaskStatus,
		pub ended_at: Option<BlockNumber>,
		pub model: Option<ContentRef<MaxCidLen>>,
	}

	/// An assignment as stored at version 0.
	#[derive(Encode, Decode, Clone, PartialEq, Eq, Debug, TypeInfo, MaxEncodedLen)]
	#[scale_info(skip_type_params(MaxCidLen))]
	pub enum Assignment<BlockNumber, MaxCidLen: Get<u32>> {
		Assigned { at: BlockNumber },
		Submitted { result: ContentRef<MaxCidLen>, at: BlockNumber },
		Paid,
		Rejected,
		Released,
	}

	pub type TaskOf<T> = TaskInfo<
		<T as frame_system::Config>::AccountId,
		BalanceOf<T>,
		BlockNumberFor<T>,
		<T as Config>::MaxCidLen,
		<T as Config>::MaxMetadataLen,
	>;
	pub type AssignmentOf<T> = Assignment<BlockNumberFor<T>, <T as Config>::MaxCidLen>;

	/// `Tasks` read with the version-0 layout.
	#[frame::deps::frame_support::storage_alias]
	pub type Tasks<T: Config> = StorageMap<Pallet<T>, Twox64Concat, TaskId, TaskOf<T>, OptionQuery>;
}

pub mod v1 {
	use super::*;
	use alloc::collections::btree_map::BTreeMap;
	#[cfg(feature = "try-runtime")]
	use alloc::vec::Vec;

	/// Version 0 to 1, run once (guarded by the storage version).
	pub type MigrateV0ToV1<T> = VersionedMigration<
		0,
		1,
		UncheckedMigrateV0ToV1<T>,
		Pallet<T>,
		<T as frame_system::Config>::DbWeight,
	>;

	/// The migration without the version guard; use [`MigrateV0ToV1`].
	///
	/// - Every task gets `submission: Plain` (version 0 had nothing else), no commitments,
	///   and `records` set to its assignment records.
	/// - An open task's storage deposit moves from the escrow hold to its own
	///   [`HoldReason::TaskStorage`] hold, so the escrow hold keeps the rewards only. Holds may
	///   cover frozen funds, so a lock on the creator does not stop the move; should the
	///   currency still refuse the new hold, the deposit stays with the creator, free, and the
	///   task records no deposit (logged), rather than failing the upgrade.
	/// - An ended task released its deposit when it ended at version 0: it records none, and
	///   its record can be removed after the retention period like any other.
	/// - An unsubmitted assignment records a bond of zero: none was held when it was taken; a
	///   paid or rejected one records no result reference (version 0 did not keep it).
	pub struct UncheckedMigrateV0ToV1<T>(core::marker::PhantomData<T>);

	impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedMigrateV0ToV1<T> {
		fn on_runtime_upgrade() -> Weight {
			let mut reads = 0u64;
			let mut writes = 0u64;
			let mut records: BTreeMap<TaskId, u32> = BTreeMap::new();
			Assignments::<T>::translate::<v0::AssignmentOf<T>, _>(|task_id, _, old| {
				reads += 1;
				writes += 1;
				*records.entry(task_id).or_default() += 1;
				Some(match old {
					v0::Assignment::Assigned { at } => {
						Assignment::Assigned { at, bond: Zero::zero() }
					},
					v0::Assignment::Submitted { result, at } => {
						Assignment::Submitted { result, at }
					},
					// Version 0 did not keep a decided result's reference.
					v0::Assignment::Paid => Assignment::Paid { result: None },
					v0::Assignment::Rejected => Assignment::Rejected { result: None },
					v0::Assignment::Released => Assignment::Released,
				})
			});
			Tasks::<T>::translate::<v0::TaskOf<T>, _>(|task_id, old| {
				reads += 1;
				writes += 1;
				let open = old.status == TaskStatus::Open;
				let (deposit, escrow) = if open {
					// Balances: the creator's account and its holds, each read and written.
					reads += 2;
					writes += 2;
					(move_deposit::<T>(task_id, &old), old.escrow.saturating_sub(old.deposit))
				} else {
					(Zero::zero(), Zero::zero())
				};
				Some(TaskInfo {
					creator: old.creator,
					kind: old.kind,
					policy: old.policy,
					submission: Submission::Plain,
					bundle: old.bundle,
					metadata: old.metadata,
					reward: old.reward,
					slots: old.slots,
					deadline: old.deadline,
					review_period: old.review_period,
					work_period: old.work_period,
					validator: old.validator,
					deposit,
					escrow,
					assigned: old.assigned,
					committed: 0,
					pending: old.pending,
					paid: old.paid,
					records: records.get(&task_id).copied().unwrap_or_default(),
					status: old.status,
					ended_at: old.ended_at,
					model: old.model,
				})
			});
			T::DbWeight::get().reads_writes(reads, writes)
		}

		#[cfg(feature = "try-runtime")]
		fn pre_upgrade() -> Result<Vec<u8>, frame::deps::sp_runtime::TryRuntimeError> {
			let tasks = Tasks::<T>::iter_keys().count() as u64;
			let assignments = Assignments::<T>::iter_keys().count() as u64;
			// Read with the old layout: the new one does not decode yet.
			let old: Vec<v0::TaskOf<T>> = v0::Tasks::<T>::iter_values().collect();
			ensure!(old.len() as u64 == tasks, "a task does not decode with the version-0 layout");
			let mut held: BTreeMap<T::AccountId, BalanceOf<T>> = BTreeMap::new();
			for creator in old.into_iter().map(|t| t.creator) {
				let escrow = Pallet::<T>::held_for(HoldReason::TaskEscrow, &creator);
				held.insert(creator, escrow);
			}
			Ok((tasks, assignments, held.into_iter().collect::<Vec<_>>()).encode())
		}

		#[cfg(feature = "try-runtime")]
		fn post_upgrade(state: Vec<u8>) -> Result<(), frame::deps::sp_runtime::TryRuntimeError> {
			let (tasks, assignments, held): (u64, u64, Vec<(T::AccountId, BalanceOf<T>)>) =
				Decode::decode(&mut &state[..]).map_err(|_| "pre-upgrade state does not decode")?;
			ensure!(Tasks::<T>::iter_keys().count() as u64 == tasks, "a task was lost");
			ensure!(
				Assignments::<T>::iter_keys().count() as u64 == assignments,
				"an assignment was lost"
			);
			for (creator, before) in held {
				let escrow = Pallet::<T>::held_for(HoldReason::TaskEscrow, &creator);
				let storage = Pallet::<T>::held_for(HoldReason::TaskStorage, &creator);
				// Equal unless a deposit could not be held again and went back to the creator.
				ensure!(
					escrow.saturating_add(storage) <= before,
					"more held from a creator than before the migration"
				);
			}
			Pallet::<T>::do_try_state()
		}
	}

	/// Move an open version-0 task's deposit from the escrow hold to the storage hold;
	/// returns the deposit the task now records.
	fn move_deposit<T: Config>(task_id: TaskId, old: &v0::TaskOf<T>) -> BalanceOf<T> {
		if old.deposit.is_zero() {
			return Zero::zero();
		}
		let moved = T::Currency::release(
			&HoldReason::TaskEscrow.into(),
			&old.creator,
			old.deposit,
			Precision::Exact,
		)
		.and_then(|_| {
			T::Currency::hold(&HoldReason::TaskStorage.into(), &old.creator, old.deposit)
		});
		match moved {
			Ok(_) => old.deposit,
			Err(e) => {
				frame::log::warn!(
					target: "runtime::decentralml",
					"task {task_id}: storage deposit returned to the creator, not held again: {e:?}"
				);
				Zero::zero()
			},
		}
	}
}
