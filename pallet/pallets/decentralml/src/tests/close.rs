use super::{mock::*, utils::*};
use crate::*;
use frame::testing_prelude::*;
use polkadot_sdk::polkadot_sdk_frame as frame;

#[test]
fn cancel_task_works() {
	ExtBuilder::build_and_execute(|| {
		let spec = NewTask::default();
		let escrow = spec.escrow();
		let id = create_with(spec);
		assign(id, BOB);
		events();
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(held(ALICE), 0);
		// The record stays, with its deposit, until it is removed.
		assert_eq!(held_storage(ALICE), DEPOSIT);
		assert_eq!(free(ALICE), ENDOWMENT - DEPOSIT);
		assert_eq!(task(id).status, TaskStatus::Cancelled);
		assert_eq!(task(id).escrow, 0);
		assert_eq!(Assignments::<Test>::get(id, BOB), None);
		assert!(LiveWorkers::<Test>::get(id).is_empty());
		// The unsubmitted assignment ends with its bond returned.
		assert_eq!((free(BOB), held_bond(BOB)), (ENDOWMENT, 0));
		assert_eq!(
			events(),
			vec![
				Event::BondReturned { task_id: id, worker: BOB, amount: BOND },
				Event::TaskCancelled { task_id: id, refunded: escrow },
			]
		);
	});
}

#[test]
fn cancel_task_after_payments_returns_the_rest() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { slots: 3, ..Default::default() });
		assign(id, BOB);
		submit(id, BOB, "b");
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB));
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(held(ALICE), 0);
		assert_eq!(free(ALICE), ENDOWMENT - REWARD - DEPOSIT);
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
	});
}

#[test]
fn cancel_task_validation_works() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { validator: Some(FERDIE), ..Default::default() });
		assert_noop!(
			Decentralml::cancel_task(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::NotCreator
		);
		// A validator may decide results but not end the task.
		assert_noop!(
			Decentralml::cancel_task(RuntimeOrigin::signed(FERDIE), id),
			Error::<Test>::NotCreator
		);
		assert_noop!(
			Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), 4),
			Error::<Test>::UnknownTask
		);
		assign(id, BOB);
		submit(id, BOB, "b");
		assert_noop!(
			Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::ResultAwaitingReview
		);
		// Even once the review period passed: the worker's claim comes first.
		go_to_block(100);
		assert_noop!(
			Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::ResultAwaitingReview
		);
		assert_ok!(Decentralml::claim_reward(RuntimeOrigin::signed(BOB), id));
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id));
		assert_noop!(
			Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::TaskNotOpen
		);
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
	});
}

#[test]
fn close_task_works() {
	ExtBuilder::build_and_execute(|| {
		let spec = NewTask { slots: 3, ..Default::default() };
		let escrow = spec.escrow();
		let id = create_with(spec);
		assign(id, BOB);
		assign(id, CHARLIE);
		submit(id, BOB, "b");
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB));
		events();
		go_to_block(DEADLINE);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		assert_eq!(task(id).status, TaskStatus::Closed);
		assert_eq!(held(ALICE), 0);
		assert_eq!(free(ALICE), ENDOWMENT - REWARD - DEPOSIT);
		assert_eq!(free(EVE), ENDOWMENT);
		assert_eq!(Assignments::<Test>::get(id, CHARLIE), None);
		assert_eq!((free(CHARLIE), held_bond(CHARLIE)), (ENDOWMENT, 0));
		assert_eq!(
			events(),
			vec![
				Event::BondReturned { task_id: id, worker: CHARLIE, amount: BOND },
				Event::TaskClosed { task_id: id, by: EVE, refunded: escrow - REWARD },
			]
		);
	});
}

#[test]
fn close_task_pays_results_past_their_review_period() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { slots: 3, ..Default::default() });
		assign(id, BOB);
		assign(id, CHARLIE);
		go_to_block(DEADLINE - REVIEW + 1);
		submit(id, BOB, "b");
		submit(id, CHARLIE, "c");
		events();
		go_to_block(DEADLINE);
		assert_noop!(
			Decentralml::close_task(RuntimeOrigin::signed(EVE), id),
			Error::<Test>::ResultAwaitingReview
		);
		// Both were submitted at DEADLINE - REVIEW + 1: their review period ends a block later.
		go_to_block(DEADLINE + 1);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
		assert_eq!(free(CHARLIE), ENDOWMENT + REWARD);
		assert_eq!(held(ALICE), 0);
		assert_eq!(free(ALICE), ENDOWMENT - 2 * REWARD - DEPOSIT);
		assert_eq!(task(id).paid, 2);
		let paid: Vec<_> =
			events().into_iter().filter(|e| matches!(e, Event::RewardPaid { .. })).collect();
		assert_eq!(paid.len(), 2);
	});
}

#[test]
fn close_task_refused_while_a_result_awaits_review() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		go_to_block(DEADLINE - 1);
		submit(id, BOB, "b");
		go_to_block(DEADLINE);
		assert_noop!(
			Decentralml::close_task(RuntimeOrigin::signed(EVE), id),
			Error::<Test>::ResultAwaitingReview
		);
		go_to_block(DEADLINE - 1 + REVIEW);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
	});
}

#[test]
fn close_task_validation_works() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		go_to_block(DEADLINE - 1);
		assert_noop!(
			Decentralml::close_task(RuntimeOrigin::signed(EVE), id),
			Error::<Test>::DeadlineNotReached
		);
		assert_noop!(
			Decentralml::close_task(RuntimeOrigin::signed(EVE), 3),
			Error::<Test>::UnknownTask
		);
		assert_noop!(Decentralml::close_task(RuntimeOrigin::none(), id), BadOrigin);
		go_to_block(DEADLINE);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		assert_noop!(
			Decentralml::close_task(RuntimeOrigin::signed(EVE), id),
			Error::<Test>::TaskNotOpen
		);
		assert_eq!(free(ALICE), ENDOWMENT - DEPOSIT);
	});
}

#[test]
fn close_task_refunds_only_to_the_creator() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		go_to_block(DEADLINE);
		let before: Vec<_> = [BOB, CHARLIE, EVE].iter().map(|w| free(*w)).collect();
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(BOB), id));
		let after: Vec<_> = [BOB, CHARLIE, EVE].iter().map(|w| free(*w)).collect();
		assert_eq!(before, after);
		assert_eq!(free(ALICE), ENDOWMENT - DEPOSIT);
	});
}

#[test]
fn ended_tasks_refuse_reviews() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id));
		assert_noop!(
			Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB),
			Error::<Test>::TaskNotOpen
		);
		assert_noop!(
			Decentralml::claim_reward(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::TaskNotOpen
		);
		assert_noop!(
			Decentralml::release_assignment(RuntimeOrigin::signed(BOB), id, BOB),
			Error::<Test>::TaskNotOpen
		);
	});
}

#[test]
fn cancel_and_close_charge_only_the_assignments_they_end() {
	ExtBuilder::build_and_execute(|| {
		use crate::weights::WeightInfo;
		let id = create_with(NewTask { slots: 3, ..Default::default() });
		assign(id, BOB);
		let info = Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id).unwrap();
		assert_eq!(info.actual_weight, Some(<() as WeightInfo>::cancel_task(1)));
		let id = create_default();
		go_to_block(DEADLINE);
		let info = Decentralml::close_task(RuntimeOrigin::signed(EVE), id).unwrap();
		assert_eq!(info.actual_weight, Some(<() as WeightInfo>::close_task(0)));
	});
}
