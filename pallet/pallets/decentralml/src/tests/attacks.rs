//! Each rule that protects someone's money, tried as the other party would: the attack, then
//! the balances.

use super::{mock::*, utils::*};
use crate::*;
use frame::{
	deps::frame_support::traits::{LockableCurrency, WithdrawReasons},
	testing_prelude::*,
};
use polkadot_sdk::polkadot_sdk_frame as frame;

/// A creator locks its whole balance after funding a task, as voting or vesting would.
fn lock_everything(who: AccountId) {
	<Balances as LockableCurrency<AccountId>>::set_lock(
		*b"attack!!",
		&who,
		Balance::MAX,
		WithdrawReasons::all(),
	);
}

#[test]
fn reviewer_cannot_reject_once_the_review_period_has_passed() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		submit(id, BOB, "b");
		// The reviewer waits out the review period, then rejects just ahead of the claim.
		go_to_block(1 + REVIEW);
		assert_noop!(
			Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, BOB, b"late".to_vec()),
			Error::<Test>::ReviewPeriodOver
		);
		assert_ok!(Decentralml::claim_reward(RuntimeOrigin::signed(BOB), id));
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
		assert_eq!(free(ALICE) + held(ALICE), ENDOWMENT - REWARD);
	});
}

#[test]
fn validator_cannot_reject_once_the_review_period_has_passed() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { validator: Some(FERDIE), ..Default::default() });
		assign(id, BOB);
		submit(id, BOB, "b");
		go_to_block(DEADLINE + REVIEW);
		assert_noop!(
			Decentralml::reject_result(RuntimeOrigin::signed(FERDIE), id, BOB, vec![]),
			Error::<Test>::ReviewPeriodOver
		);
		// Closing pays the result the reviewer let lapse.
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
		assert_eq!(free(ALICE), ENDOWMENT - REWARD);
		assert_eq!(held(ALICE), 0);
	});
}

#[test]
fn a_lock_on_the_creator_blocks_no_payout() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { slots: 3, ..Default::default() });
		for (worker, tag) in [(BOB, "b"), (CHARLIE, "c"), (DAVE, "d")] {
			assign(id, worker);
			submit(id, worker, tag);
		}
		lock_everything(ALICE);
		// Accept, claim and close each pay out of the hold despite the lock.
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB));
		go_to_block(1 + REVIEW);
		assert_ok!(Decentralml::claim_reward(RuntimeOrigin::signed(CHARLIE), id));
		// Nor can the locked creator now reject its way out of paying.
		assert_noop!(
			Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, DAVE, vec![]),
			Error::<Test>::ReviewPeriodOver
		);
		go_to_block(DEADLINE);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		for worker in [BOB, CHARLIE, DAVE] {
			assert_eq!(free(worker), ENDOWMENT + REWARD);
		}
		assert_eq!(held(ALICE), 0);
		assert_eq!(free(ALICE), ENDOWMENT - 3 * REWARD);
	});
}

#[test]
fn a_lock_on_the_creator_blocks_no_refund() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		let other = create_default();
		lock_everything(ALICE);
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id));
		go_to_block(DEADLINE);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), other));
		assert_eq!(held(ALICE), 0);
		assert_eq!(free(ALICE), ENDOWMENT);
	});
}

#[test]
fn the_last_task_id_is_never_handed_out_twice() {
	ExtBuilder::build_and_execute(|| {
		NextTaskId::<Test>::put(TaskId::MAX - 1);
		let escrow = NewTask::default().escrow();
		let first = create_default();
		assert_eq!(first, TaskId::MAX - 1);
		// Today's counter would saturate: the next two tasks would share the last id, and the
		// second would overwrite the first with its escrow still held.
		assert_noop!(NewTask::default().create(BOB), Error::<Test>::TaskIdsExhausted);
		assert_noop!(NewTask::default().create(ALICE), Error::<Test>::TaskIdsExhausted);
		assert_eq!(task(first).creator, ALICE);
		assert_eq!(held(ALICE), escrow);
		assert_eq!(held(BOB), 0);
		assert_eq!(free(BOB), ENDOWMENT);
		assert_eq!(NextTaskId::<Test>::get(), TaskId::MAX);
	});
}

#[test]
fn creator_cannot_swap_the_validator_under_a_pending_result() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { validator: Some(FERDIE), ..Default::default() });
		assign(id, BOB);
		submit(id, BOB, "b");
		// Bob submitted to Ferdie; the creator tries to put a friendlier reviewer in.
		assert_noop!(
			Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, Some(EVE)),
			Error::<Test>::ResultAwaitingReview
		);
		assert_noop!(
			Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, None),
			Error::<Test>::ResultAwaitingReview
		);
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(FERDIE), id, BOB));
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
		assert_eq!(free(EVE), ENDOWMENT);
		// Once nothing waits, the creator may change reviewers again.
		assert_ok!(Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, Some(EVE)));
	});
}

#[test]
fn validator_cannot_rewrite_a_closed_tasks_model_forever() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { validator: Some(FERDIE), ..Default::default() });
		go_to_block(DEADLINE);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		assert_ok!(Decentralml::publish_model(RuntimeOrigin::signed(FERDIE), id, content("m1")));
		go_to_block(DEADLINE + MODEL_PUBLISH_PERIOD);
		assert_noop!(
			Decentralml::publish_model(RuntimeOrigin::signed(FERDIE), id, content("evil")),
			Error::<Test>::PublishPeriodOver
		);
		assert_eq!(task(id).model, Some(bounded("m1")));
		assert_eq!(free(FERDIE), ENDOWMENT);
		assert_eq!(free(ALICE), ENDOWMENT);
	});
}

#[test]
fn creator_can_remove_a_validator_from_a_closed_task() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { validator: Some(FERDIE), ..Default::default() });
		go_to_block(DEADLINE);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		assert_ok!(Decentralml::publish_model(RuntimeOrigin::signed(ALICE), id, content("m")));
		assert_ok!(Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, None));
		assert_noop!(
			Decentralml::publish_model(RuntimeOrigin::signed(FERDIE), id, content("evil")),
			Error::<Test>::NotReviewer
		);
		assert_eq!(task(id).model, Some(bounded("m")));
	});
}
