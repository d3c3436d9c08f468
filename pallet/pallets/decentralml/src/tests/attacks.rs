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
		assert_eq!(free(ALICE) + held(ALICE) + held_storage(ALICE), ENDOWMENT - REWARD);
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
		assert_eq!(free(ALICE), ENDOWMENT - REWARD - DEPOSIT);
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
		assert_eq!(free(ALICE), ENDOWMENT - 3 * REWARD - DEPOSIT);
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
		assert_eq!(free(ALICE), ENDOWMENT - 2 * DEPOSIT);
		// Nor does it keep the storage deposits when the records go.
		go_to_block(DEADLINE + RETENTION_PERIOD);
		assert_ok!(Decentralml::remove_task(RuntimeOrigin::signed(EVE), id));
		assert_ok!(Decentralml::remove_task(RuntimeOrigin::signed(EVE), other));
		assert_eq!(held_storage(ALICE), 0);
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
		assert_eq!(free(ALICE), ENDOWMENT - DEPOSIT);
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

#[test]
fn a_copied_pending_commitment_pays_the_copier_nothing() {
	ExtBuilder::build_and_execute(|| {
		let spec = NewTask::sealed_auto();
		let id = create_with(spec.clone());
		assign(id, BOB);
		assign(id, CHARLIE);
		// Charlie sees Bob's commitment in the pool and sends the same one first.
		let bobs = result_commitment(id, &BOB, &content("b"), &salt(BOB, "b"));
		assert_ok!(Decentralml::commit_result(RuntimeOrigin::signed(CHARLIE), id, bobs));
		commit(id, BOB, "b");
		go_to_block(DEADLINE);
		// Bob's reveal is in the pool: Charlie copies it, result and salt, and goes first.
		assert_noop!(
			Decentralml::reveal_result(
				RuntimeOrigin::signed(CHARLIE),
				id,
				content("b"),
				salt(BOB, "b")
			),
			Error::<Test>::CommitmentMismatch
		);
		assert_ok!(reveal(id, BOB, "b"));
		go_to_block(DEADLINE + REVEAL);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
		// Charlie's copied commitment opens to nothing he can reveal: it costs him his bond.
		assert_eq!((free(CHARLIE), held_bond(CHARLIE)), (ENDOWMENT - BOND, 0));
		assert_eq!(free(ALICE), ENDOWMENT - REWARD - DEPOSIT + BOND);
	});
}

#[test]
fn a_copied_revealed_reference_pays_the_copier_nothing() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { slots: 3, ..NewTask::sealed_auto() });
		assign(id, BOB);
		assign(id, CHARLIE);
		assign(id, DAVE);
		commit(id, BOB, "b");
		// Charlie commits to something before the deadline, hoping to swap in Bob's result.
		commit(id, CHARLIE, "junk");
		go_to_block(DEADLINE);
		assert_ok!(reveal(id, BOB, "b"));
		// Bob's result is public now. Charlie's commitment does not open to it, with any salt,
		// and Dave, who committed nothing, can no longer commit.
		for salt in [salt(CHARLIE, "junk"), salt(BOB, "b"), [0; 32]] {
			assert_noop!(
				Decentralml::reveal_result(RuntimeOrigin::signed(CHARLIE), id, content("b"), salt),
				Error::<Test>::CommitmentMismatch
			);
		}
		let dave = result_commitment(id, &DAVE, &content("b"), &salt(DAVE, "b"));
		assert_noop!(
			Decentralml::commit_result(RuntimeOrigin::signed(DAVE), id, dave),
			Error::<Test>::DeadlinePassed
		);
		go_to_block(DEADLINE + REVEAL);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
		// Charlie never revealed his own commitment: his bond went to the creator. Dave, who
		// sent nothing, got his back at the close.
		assert_eq!((free(CHARLIE), free(DAVE)), (ENDOWMENT - BOND, ENDOWMENT));
		assert_eq!(free(ALICE), ENDOWMENT - REWARD - DEPOSIT + BOND);
	});
}

#[test]
fn a_squatter_released_after_the_work_period_loses_its_bond_to_the_creator() {
	ExtBuilder::build_and_execute(|| {
		let spec = NewTask { slots: 1, ..Default::default() };
		let id = create_with(spec.clone());
		// Bob takes the only slot and never works.
		assign(id, BOB);
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(DAVE), id),
			Error::<Test>::NoFreeSlot
		);
		go_to_block(1 + WORK - 1);
		assert_noop!(
			Decentralml::release_assignment(RuntimeOrigin::signed(EVE), id, BOB),
			Error::<Test>::WorkPeriodNotOver
		);
		go_to_block(1 + WORK);
		assert_ok!(Decentralml::release_assignment(RuntimeOrigin::signed(EVE), id, BOB));
		assert_eq!(free(BOB), ENDOWMENT - BOND);
		assert_eq!(free(ALICE), ENDOWMENT - spec.held() + BOND);
		assert_eq!(free(EVE), ENDOWMENT);
		// Dave gets the slot; Bob cannot come back.
		assign(id, DAVE);
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::WorkerBarred
		);
	});
}

#[test]
fn after_close_and_removal_nothing_of_the_task_stays_in_storage() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { slots: 3, ..NewTask::sealed_auto() });
		for (worker, tag) in [(BOB, "b"), (CHARLIE, "c")] {
			assign(id, worker);
			commit(id, worker, tag);
		}
		assign(id, DAVE);
		go_to_block(DEADLINE);
		assert_ok!(reveal(id, BOB, "b"));
		go_to_block(DEADLINE + REVEAL);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		go_to_block(DEADLINE + REVEAL + RETENTION_PERIOD);
		assert_ok!(Decentralml::remove_task(RuntimeOrigin::signed(EVE), id));
		// Under the pallet's prefix only the id counter is left.
		let prefix = frame::hashing::twox_128(b"Decentralml");
		let next_id = NextTaskId::<Test>::hashed_key();
		let mut key = prefix.to_vec();
		let mut left = Vec::new();
		while let Some(next) = frame::deps::sp_io::storage::next_key(&key) {
			if !next.starts_with(&prefix) {
				break;
			}
			if next != next_id {
				left.push(next.clone());
			}
			key = next;
		}
		assert_eq!(left, Vec::<Vec<u8>>::new());
		for who in [ALICE, BOB, CHARLIE, DAVE] {
			assert_eq!((held(who), held_storage(who), held_bond(who)), (0, 0, 0));
		}
		// Charlie committed and never revealed: his bond is the only other thing that moved.
		assert_eq!(free(ALICE), ENDOWMENT - REWARD + BOND);
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
		assert_eq!((free(CHARLIE), free(DAVE)), (ENDOWMENT - BOND, ENDOWMENT));
	});
}

#[test]
fn a_squatter_committing_random_bytes_loses_its_bond_to_the_creator() {
	ExtBuilder::build_and_execute(|| {
		let spec = NewTask { slots: 1, ..NewTask::sealed_auto() };
		let id = create_with(spec.clone());
		// Bob takes the only slot and commits to nothing he could reveal, to keep it.
		assign(id, BOB);
		assert_ok!(Decentralml::commit_result(RuntimeOrigin::signed(BOB), id, [0xAB; 32]));
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(DAVE), id),
			Error::<Test>::NoFreeSlot
		);
		// The bond stays held through the commitment: squatting is not free.
		assert_eq!(held_bond(BOB), BOND);
		go_to_block(DEADLINE + REVEAL);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		assert_eq!((free(BOB), held_bond(BOB)), (ENDOWMENT - BOND, 0));
		assert_eq!(free(ALICE), ENDOWMENT - spec.deposit() + BOND);
		assert_eq!(free(EVE), ENDOWMENT);
		assert_eq!(Assignments::<Test>::get(id, BOB), Some(Assignment::Released));
	});
}
