//! The migration from storage version 0, run on a state written with the version-0 layout.

use super::{mock::*, utils::*};
use crate::{migrations::v0, *};
use frame::{
	deps::frame_support::{
		storage_alias,
		traits::{
			GetStorageVersion, LockableCurrency, OnRuntimeUpgrade, StorageVersion, WithdrawReasons,
		},
	},
	testing_prelude::*,
	traits::fungible::MutateHold,
};
use polkadot_sdk::polkadot_sdk_frame as frame;

#[storage_alias]
type Tasks<T: Config> = StorageMap<Pallet<T>, Twox64Concat, TaskId, v0::TaskOf<T>, OptionQuery>;

#[storage_alias]
type Assignments<T: Config> = StorageDoubleMap<
	Pallet<T>,
	Twox64Concat,
	TaskId,
	Blake2_128Concat,
	<T as frame_system::Config>::AccountId,
	v0::AssignmentOf<T>,
	OptionQuery,
>;

fn v0_task(creator: AccountId, slots: u32, paid: u32, status: TaskStatus) -> v0::TaskOf<Test> {
	let open = status == TaskStatus::Open;
	let deposit = DEPOSIT;
	v0::TaskInfo {
		creator,
		kind: TaskKind::ModelContribution,
		policy: ValidationPolicy::ManualAccept,
		bundle: bounded("task"),
		metadata: b"{}".to_vec().try_into().unwrap(),
		reward: REWARD,
		slots,
		deadline: DEADLINE,
		review_period: REVIEW,
		work_period: WORK,
		validator: None,
		deposit,
		escrow: if open { REWARD * (slots - paid) as Balance + deposit } else { 0 },
		assigned: 0,
		pending: 0,
		paid,
		status,
		ended_at: if open { None } else { Some(5) },
		model: None,
	}
}

/// Write a version-0 task, holding its escrow as version 0 did (rewards and deposit under
/// the escrow reason).
fn put_task(id: TaskId, task: v0::TaskOf<Test>) {
	if task.escrow > 0 {
		assert_ok!(Balances::hold(&HoldReason::TaskEscrow.into(), &task.creator, task.escrow));
	}
	Tasks::<Test>::insert(id, task);
	NextTaskId::<Test>::put(id + 1);
}

fn put_assignment(id: TaskId, worker: AccountId, assignment: v0::AssignmentOf<Test>) {
	use crate::pallet::{LiveWorkers as Live, SubmittedCids as Cids};
	match &assignment {
		v0::Assignment::Assigned { .. } => Live::<Test>::try_append(id, worker).unwrap(),
		v0::Assignment::Submitted { result, .. } => {
			Live::<Test>::try_append(id, worker).unwrap();
			Cids::<Test>::insert(id, frame::hashing::blake2_256(&result.cid), worker);
		},
		v0::Assignment::Paid | v0::Assignment::Rejected => {
			let cid = format!("bafy{worker}-{id}").into_bytes();
			Cids::<Test>::insert(id, frame::hashing::blake2_256(&cid), worker);
		},
		v0::Assignment::Released => {},
	}
	Assignments::<Test>::insert(id, worker, assignment);
}

/// The state of a version-0 chain: an open task with a worker in every state, a closed task,
/// an open AutoAccept task whose creator has locked its balance, and a cancelled task.
fn v0_state() {
	StorageVersion::new(0).put::<Decentralml>();
	let mut open = v0_task(ALICE, 4, 1, TaskStatus::Open);
	(open.assigned, open.pending) = (1, 1);
	put_task(0, open);
	put_assignment(0, BOB, v0::Assignment::Assigned { at: 2 });
	put_assignment(0, CHARLIE, v0::Assignment::Submitted { result: bounded("c"), at: 3 });
	put_assignment(0, DAVE, v0::Assignment::Paid);
	put_assignment(0, EVE, v0::Assignment::Rejected);
	put_assignment(0, FERDIE, v0::Assignment::Released);
	// DAVE was paid from ALICE's escrow under version 0.
	assert_ok!(<Balances as frame::traits::fungible::Mutate<_>>::transfer(
		&ALICE,
		&DAVE,
		REWARD,
		frame::traits::tokens::Preservation::Preserve
	));

	put_task(1, v0_task(BOB, 1, 1, TaskStatus::Closed));
	put_assignment(1, FERDIE, v0::Assignment::Paid);

	let mut auto = v0_task(CHARLIE, 2, 0, TaskStatus::Open);
	auto.policy = ValidationPolicy::AutoAccept;
	put_task(2, auto);
	<Balances as LockableCurrency<AccountId>>::set_lock(
		*b"v0locked",
		&CHARLIE,
		Balance::MAX,
		WithdrawReasons::all(),
	);

	put_task(3, v0_task(ALICE, 2, 0, TaskStatus::Cancelled));
}

#[test]
fn migration_translates_every_task_assignment_and_hold() {
	ExtBuilder::build_and_execute(|| {
		v0_state();
		let free_before: Vec<_> = [ALICE, BOB, CHARLIE].iter().map(|w| free(*w)).collect();
		migrations::v1::MigrateV0ToV1::<Test>::on_runtime_upgrade();
		assert_eq!(Decentralml::on_chain_storage_version(), 1);

		// The open task: its deposit moved to the storage hold, its escrow is the rewards.
		let t = task(0);
		assert_eq!((t.submission, t.deposit, t.escrow), (Submission::Plain, DEPOSIT, 3 * REWARD));
		assert_eq!((t.assigned, t.committed, t.pending, t.paid, t.records), (1, 0, 1, 1, 5));
		assert_eq!((held(ALICE), held_storage(ALICE)), (3 * REWARD, DEPOSIT));
		assert_eq!(free(ALICE), free_before[0]);
		// Every assignment kept its state; the unsubmitted one has no bond (none was held).
		let a = |w| crate::pallet::Assignments::<Test>::get(0, w);
		assert_eq!(a(BOB), Some(Assignment::Assigned { at: 2, bond: 0 }));
		assert_eq!(a(CHARLIE), Some(Assignment::Submitted { result: bounded("c"), at: 3 }));
		assert_eq!(
			(a(DAVE), a(EVE), a(FERDIE)),
			(
				Some(Assignment::Paid { result: None }),
				Some(Assignment::Rejected { result: None }),
				Some(Assignment::Released)
			)
		);
		assert_eq!(held_bond(BOB), 0);

		// The closed task: its deposit went back when it closed; it records none.
		let t = task(1);
		assert_eq!((t.deposit, t.escrow, t.records, t.ended_at), (0, 0, 1, Some(5)));
		assert_eq!((held(BOB), held_storage(BOB), free(BOB)), (0, 0, free_before[1]));

		// A lock over the creator's whole balance does not stop the move: holds may cover
		// frozen funds. The plain AutoAccept task keeps its policy.
		let t = task(2);
		assert_eq!(
			(t.deposit, t.escrow, t.policy),
			(DEPOSIT, 2 * REWARD, ValidationPolicy::AutoAccept)
		);
		assert_eq!((held(CHARLIE), held_storage(CHARLIE)), (2 * REWARD, DEPOSIT));
		assert_eq!(free(CHARLIE), free_before[2]);

		assert_eq!(task(3).deposit, 0);
		check_invariants().expect("the migrated state keeps every invariant");

		// Run again: the storage version guards it, nothing changes.
		let before = task(0);
		migrations::v1::MigrateV0ToV1::<Test>::on_runtime_upgrade();
		assert_eq!(task(0), before);
		assert_eq!((held(ALICE), held_storage(ALICE)), (3 * REWARD, DEPOSIT));
	});
}

#[test]
fn migrated_tasks_run_to_their_end_under_the_new_rules() {
	ExtBuilder::build_and_execute(|| {
		v0_state();
		migrations::v1::MigrateV0ToV1::<Test>::on_runtime_upgrade();
		// The migrated unsubmitted slot submits (no bond to return) and is accepted.
		submit(0, BOB, "b");
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(ALICE), 0, BOB));
		go_to_block(DEADLINE + REVIEW);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), 0));
		// CHARLIE's result lapsed past its review period and was paid at close.
		assert_eq!(
			crate::pallet::Assignments::<Test>::get(0, CHARLIE),
			Some(Assignment::Paid { result: Some(bounded("c")) })
		);
		assert_eq!(held(ALICE), 0);
		// Every record can be removed after the retention period.
		go_to_block(DEADLINE + REVIEW + RETENTION_PERIOD);
		for id in [0, 1, 3] {
			assert_ok!(Decentralml::remove_task(RuntimeOrigin::signed(EVE), id));
		}
		assert_eq!((held_storage(ALICE), held_storage(BOB)), (0, 0));
		assert_eq!(crate::pallet::Tasks::<Test>::iter().count(), 1);
	});
}

/// The migration's own pre- and post-upgrade checks, as `try-runtime` runs them.
#[cfg(feature = "try-runtime")]
#[test]
fn migration_passes_its_try_runtime_checks() {
	ExtBuilder::build_and_execute(|| {
		v0_state();
		migrations::v1::MigrateV0ToV1::<Test>::try_on_runtime_upgrade(true)
			.expect("pre-upgrade, migration and post-upgrade checks pass");
		assert_eq!(Decentralml::on_chain_storage_version(), 1);
	});
}
