use super::{mock::*, utils::*};
use crate::*;
use frame::testing_prelude::*;
use polkadot_sdk::polkadot_sdk_frame as frame;

fn submitted_task() -> TaskId {
	let id = create_with(NewTask { validator: Some(FERDIE), ..Default::default() });
	assign(id, BOB);
	submit(id, BOB, "r1");
	events();
	id
}

#[test]
fn accept_result_works() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		let escrow = NewTask::default().escrow();
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB));
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
		assert_eq!(held(ALICE), escrow - REWARD);
		assert_eq!(free(ALICE), ENDOWMENT - escrow - DEPOSIT);
		assert_eq!(task(id).escrow, escrow - REWARD);
		assert_eq!(
			Assignments::<Test>::get(id, BOB),
			Some(Assignment::Paid { result: Some(bounded("r1")) })
		);
		assert_eq!(
			events(),
			vec![
				Event::ResultAccepted { task_id: id, worker: BOB, by: Some(ALICE) },
				Event::RewardPaid { task_id: id, worker: BOB, amount: REWARD },
			]
		);
	});
}

#[test]
fn accept_result_by_validator_works() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(FERDIE), id, BOB));
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
		// The validator is not paid, and pays nothing.
		assert_eq!(free(FERDIE), ENDOWMENT);
	});
}

#[test]
fn accept_result_by_stranger_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		assert_noop!(
			Decentralml::accept_result(RuntimeOrigin::signed(CHARLIE), id, BOB),
			Error::<Test>::NotReviewer
		);
		// Not even the worker itself.
		assert_noop!(
			Decentralml::accept_result(RuntimeOrigin::signed(BOB), id, BOB),
			Error::<Test>::NotReviewer
		);
		assert_noop!(Decentralml::accept_result(RuntimeOrigin::none(), id, BOB), BadOrigin);
	});
}

#[test]
fn accept_result_twice_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB));
		assert_noop!(
			Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB),
			Error::<Test>::NoPendingResult
		);
		assert_noop!(
			Decentralml::accept_result(RuntimeOrigin::signed(FERDIE), id, BOB),
			Error::<Test>::NoPendingResult
		);
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
	});
}

#[test]
fn accept_result_without_submission_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		assert_noop!(
			Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB),
			Error::<Test>::NoPendingResult
		);
		assert_noop!(
			Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, CHARLIE),
			Error::<Test>::NoPendingResult
		);
		assert_noop!(
			Decentralml::accept_result(RuntimeOrigin::signed(ALICE), 42, BOB),
			Error::<Test>::UnknownTask
		);
	});
}

#[test]
fn accept_result_after_deadline_works() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		go_to_block(DEADLINE + 1);
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB));
	});
}

#[test]
fn reject_result_works() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		let escrow = NewTask::default().escrow();
		assert_ok!(Decentralml::reject_result(
			RuntimeOrigin::signed(FERDIE),
			id,
			BOB,
			b"accuracy below baseline".to_vec()
		));
		assert_eq!(
			Assignments::<Test>::get(id, BOB),
			Some(Assignment::Rejected { result: Some(bounded("r1")) })
		);
		assert_eq!(free(BOB), ENDOWMENT);
		assert_eq!(held(ALICE), escrow);
		assert_eq!(task(id).free_slots(), 2);
		assert_eq!(
			events(),
			vec![Event::ResultRejected {
				task_id: id,
				worker: BOB,
				by: FERDIE,
				reason: b"accuracy below baseline".to_vec().try_into().unwrap(),
			}]
		);
	});
}

#[test]
fn reject_result_validation_works() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		assert_noop!(
			Decentralml::reject_result(RuntimeOrigin::signed(CHARLIE), id, BOB, vec![]),
			Error::<Test>::NotReviewer
		);
		assert_noop!(
			Decentralml::reject_result(
				RuntimeOrigin::signed(ALICE),
				id,
				BOB,
				vec![b'x'; MAX_REASON_LEN as usize + 1]
			),
			Error::<Test>::ReasonTooLong
		);
		assert_noop!(
			Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, CHARLIE, vec![]),
			Error::<Test>::NoPendingResult
		);
		assert_ok!(Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, BOB, vec![]));
		// Decisions are final.
		assert_noop!(
			Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, BOB, vec![]),
			Error::<Test>::NoPendingResult
		);
		assert_noop!(
			Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB),
			Error::<Test>::NoPendingResult
		);
	});
}

#[test]
fn claim_reward_works() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		go_to_block(1 + REVIEW);
		assert_ok!(Decentralml::claim_reward(RuntimeOrigin::signed(BOB), id));
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
		assert_eq!(held(ALICE), NewTask::default().escrow() - REWARD);
		assert_eq!(
			events(),
			vec![
				Event::ResultAccepted { task_id: id, worker: BOB, by: None },
				Event::RewardPaid { task_id: id, worker: BOB, amount: REWARD },
			]
		);
	});
}

#[test]
fn claim_reward_validation_works() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		go_to_block(REVIEW);
		assert_noop!(
			Decentralml::claim_reward(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::ReviewPeriodNotOver
		);
		go_to_block(1 + REVIEW);
		assert_noop!(
			Decentralml::claim_reward(RuntimeOrigin::signed(CHARLIE), id),
			Error::<Test>::NoPendingResult
		);
		assert_noop!(
			Decentralml::claim_reward(RuntimeOrigin::signed(BOB), 9),
			Error::<Test>::UnknownTask
		);
		assert_ok!(Decentralml::claim_reward(RuntimeOrigin::signed(BOB), id));
		assert_noop!(
			Decentralml::claim_reward(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::NoPendingResult
		);
	});
}

#[test]
fn claim_reward_after_reject_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		assert_ok!(Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, BOB, vec![]));
		go_to_block(1 + REVIEW);
		assert_noop!(
			Decentralml::claim_reward(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::NoPendingResult
		);
	});
}

#[test]
fn publish_model_works() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		assert_ok!(Decentralml::publish_model(RuntimeOrigin::signed(FERDIE), id, content("m1")));
		assert_eq!(task(id).model, Some(bounded("m1")));
		assert_ok!(Decentralml::publish_model(RuntimeOrigin::signed(ALICE), id, content("m2")));
		assert_eq!(task(id).model, Some(bounded("m2")));
		assert_eq!(
			events(),
			vec![
				Event::ModelPublished { task_id: id, by: FERDIE, model: bounded("m1") },
				Event::ModelPublished { task_id: id, by: ALICE, model: bounded("m2") },
			]
		);
	});
}

#[test]
fn publish_model_validation_works() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		assert_noop!(
			Decentralml::publish_model(RuntimeOrigin::signed(BOB), id, content("m")),
			Error::<Test>::NotReviewer
		);
		assert_noop!(
			Decentralml::publish_model(RuntimeOrigin::signed(ALICE), 8, content("m")),
			Error::<Test>::UnknownTask
		);
		assert_noop!(
			Decentralml::publish_model(
				RuntimeOrigin::signed(ALICE),
				id,
				RawContentRef { cid: vec![], sha256: [0; 32], size: 0 }
			),
			Error::<Test>::EmptyCid
		);
		let other = create_default();
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), other));
		assert_noop!(
			Decentralml::publish_model(RuntimeOrigin::signed(ALICE), other, content("m")),
			Error::<Test>::TaskCancelled
		);
	});
}

#[test]
fn publish_model_after_close_works() {
	ExtBuilder::build_and_execute(|| {
		let id = submitted_task();
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB));
		go_to_block(DEADLINE);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		assert_ok!(Decentralml::publish_model(RuntimeOrigin::signed(ALICE), id, content("m")));
	});
}
