//! Assignment bonds, the cap on assignment records, and removal after the retention period.

use super::{mock::*, utils::*};
use crate::*;
use frame::{
	deps::frame_support::traits::{LockableCurrency, WithdrawReasons},
	testing_prelude::*,
};
use polkadot_sdk::polkadot_sdk_frame as frame;

#[test]
fn a_worker_who_cannot_afford_the_bond_cannot_take_a_slot() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(POOR), id),
			Error::<Test>::InsufficientBalance
		);
		assert_eq!(task(id).free_slots(), 2);
	});
}

#[test]
fn a_lock_on_the_squatter_does_not_keep_its_bond() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		<Balances as LockableCurrency<AccountId>>::set_lock(
			*b"squatlck",
			&BOB,
			Balance::MAX,
			WithdrawReasons::all(),
		);
		go_to_block(1 + WORK);
		assert_ok!(Decentralml::release_assignment(RuntimeOrigin::signed(EVE), id, BOB));
		assert_eq!((free(BOB), held_bond(BOB)), (ENDOWMENT - BOND, 0));
		assert_eq!(free(ALICE), ENDOWMENT - NewTask::default().held() + BOND);
	});
}

#[test]
fn each_worker_holds_one_bond_per_slot() {
	ExtBuilder::build_and_execute(|| {
		let first = create_default();
		let second = create_default();
		assign(first, BOB);
		assign(second, BOB);
		assert_eq!(held_bond(BOB), 2 * BOND);
		submit(first, BOB, "b");
		assert_eq!(held_bond(BOB), BOND);
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), second));
		assert_eq!((free(BOB), held_bond(BOB)), (ENDOWMENT, 0));
	});
}

#[test]
fn assignment_records_are_capped_counting_rejected_and_released_ones() {
	ExtBuilder::build_and_execute(|| {
		let many: Vec<AccountId> = (100..100 + MAX_ASSIGNMENTS as u64 + 1).collect();
		for who in &many {
			assert_ok!(Balances::transfer_allow_death(RuntimeOrigin::signed(FERDIE), *who, 1_000));
		}
		let id = create_with(NewTask { slots: 1, deadline: 1_000, ..Default::default() });
		// Each worker takes the one slot and is rejected, freeing it for the next.
		for (i, who) in many.iter().take(MAX_ASSIGNMENTS as usize).enumerate() {
			assign(id, *who);
			submit(id, *who, &format!("r{i}"));
			assert_ok!(Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, *who, vec![]));
		}
		assert_eq!(task(id).records, MAX_ASSIGNMENTS);
		assert_eq!(task(id).free_slots(), 1);
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(many[MAX_ASSIGNMENTS as usize]), id),
			Error::<Test>::TooManyAssignments
		);
	});
}

#[test]
fn remove_task_works_after_the_retention_period() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { slots: 3, ..Default::default() });
		let other = create_default();
		assign(other, BOB);
		for (worker, tag) in [(BOB, "b"), (CHARLIE, "c"), (DAVE, "d")] {
			assign(id, worker);
			submit(id, worker, tag);
		}
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB));
		assert_ok!(Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, CHARLIE, vec![]));
		assert_ok!(Decentralml::publish_model(RuntimeOrigin::signed(ALICE), id, content("m")));
		assert_noop!(
			Decentralml::remove_task(RuntimeOrigin::signed(EVE), id),
			Error::<Test>::TaskNotEnded
		);
		go_to_block(DEADLINE + REVIEW);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		// The record stays readable through the retention period.
		go_to_block(DEADLINE + REVIEW + RETENTION_PERIOD - 1);
		assert_noop!(
			Decentralml::remove_task(RuntimeOrigin::signed(EVE), id),
			Error::<Test>::RetentionPeriodNotOver
		);
		assert_eq!(task(id).model, Some(bounded("m")));
		// Every decided result is still on record with what was sent.
		let decided = |w| Assignments::<Test>::get(id, w);
		assert_eq!(decided(BOB), Some(Assignment::Paid { result: Some(bounded("b")) }));
		assert_eq!(decided(CHARLIE), Some(Assignment::Rejected { result: Some(bounded("c")) }));
		assert_eq!(decided(DAVE), Some(Assignment::Paid { result: Some(bounded("d")) }));
		go_to_block(DEADLINE + REVIEW + RETENTION_PERIOD);
		events();
		assert_ok!(Decentralml::remove_task(RuntimeOrigin::signed(EVE), id));
		assert_eq!(events(), vec![Event::TaskRemoved { task_id: id, deposit: DEPOSIT }]);
		// Nothing of the task is left, and nothing of the other task was touched.
		assert!(Tasks::<Test>::get(id).is_none());
		assert_eq!(Assignments::<Test>::iter_prefix(id).count(), 0);
		assert_eq!(SubmittedCids::<Test>::iter_prefix(id).count(), 0);
		assert!(!LiveWorkers::<Test>::contains_key(id));
		assert!(Tasks::<Test>::get(other).is_some());
		assert_eq!(Assignments::<Test>::iter_prefix(other).count(), 1);
		// The deposit is back: the creator is down exactly the two results paid at close and
		// accept, and the other task's escrow and deposit.
		assert_eq!(held_storage(ALICE), DEPOSIT);
		assert_eq!(free(ALICE), ENDOWMENT - 2 * REWARD - NewTask::default().held());
		assert_eq!(free(EVE), ENDOWMENT);
		assert_noop!(
			Decentralml::remove_task(RuntimeOrigin::signed(EVE), id),
			Error::<Test>::UnknownTask
		);
	});
}

#[test]
fn remove_task_charges_only_the_records_it_removes() {
	ExtBuilder::build_and_execute(|| {
		use crate::weights::WeightInfo;
		let id = create_default();
		assign(id, BOB);
		submit(id, BOB, "b");
		assert_ok!(Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, BOB, vec![]));
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id));
		go_to_block(1 + RETENTION_PERIOD);
		let info = Decentralml::remove_task(RuntimeOrigin::signed(EVE), id).unwrap();
		assert_eq!(info.actual_weight, Some(<() as WeightInfo>::remove_task(1)));
	});
}
