use super::{mock::*, utils::*};
use crate::*;
use frame::testing_prelude::*;
use polkadot_sdk::polkadot_sdk_frame as frame;

#[test]
fn submit_result_works() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		events();
		go_to_block(4);
		submit(id, BOB, "r1");
		assert_eq!(
			Assignments::<Test>::get(id, BOB),
			Some(Assignment::Submitted { result: bounded("r1"), at: 4 })
		);
		assert_eq!((task(id).assigned, task(id).pending, task(id).paid), (0, 1, 0));
		assert_eq!(
			events(),
			vec![
				Event::BondReturned { task_id: id, worker: BOB, amount: BOND },
				Event::ResultSubmitted { task_id: id, worker: BOB, result: bounded("r1") }
			]
		);
		// Nothing is paid before a decision; the bond is back.
		assert_eq!(free(BOB), ENDOWMENT);
		assert_eq!(held_bond(BOB), 0);
		assert_eq!(held(ALICE), NewTask::default().escrow());
	});
}

#[test]
fn plain_auto_accept_is_refused() {
	ExtBuilder::build_and_execute(|| {
		let spec = NewTask { policy: ValidationPolicy::AutoAccept, ..Default::default() };
		assert_noop!(spec.create(ALICE), Error::<Test>::AutoAcceptNeedsSealed);
	});
}

#[test]
fn plain_auto_accept_from_before_sealed_submissions_still_pays_at_submission() {
	ExtBuilder::build_and_execute(|| {
		// A task migrated from storage version 0 keeps its plain AutoAccept policy.
		let spec = NewTask::sealed_auto();
		let escrow = spec.escrow();
		let id = create_with(spec);
		Tasks::<Test>::mutate(id, |t| t.as_mut().unwrap().submission = Submission::Plain);
		assign(id, BOB);
		events();
		submit(id, BOB, "r1");
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
		assert_eq!(held(ALICE), escrow - REWARD);
		assert_eq!(
			Assignments::<Test>::get(id, BOB),
			Some(Assignment::Paid { result: Some(bounded("r1")) })
		);
		assert_eq!((task(id).pending, task(id).paid), (0, 1));
		assert!(LiveWorkers::<Test>::get(id).is_empty());
		assert_eq!(
			events(),
			vec![
				Event::BondReturned { task_id: id, worker: BOB, amount: BOND },
				Event::ResultSubmitted { task_id: id, worker: BOB, result: bounded("r1") },
				Event::ResultAccepted { task_id: id, worker: BOB, by: None },
				Event::RewardPaid { task_id: id, worker: BOB, amount: REWARD },
			]
		);
	});
}

#[test]
fn submit_result_when_not_assigned_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assert_noop!(
			Decentralml::submit_result(RuntimeOrigin::signed(BOB), id, content("r")),
			Error::<Test>::NotAssigned
		);
		assert_noop!(
			Decentralml::submit_result(RuntimeOrigin::signed(BOB), 3, content("r")),
			Error::<Test>::UnknownTask
		);
	});
}

#[test]
fn submit_result_twice_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		submit(id, BOB, "r1");
		assert_noop!(
			Decentralml::submit_result(RuntimeOrigin::signed(BOB), id, content("r2")),
			Error::<Test>::AlreadySubmitted
		);
	});
}

#[test]
fn submit_result_after_deadline_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		go_to_block(DEADLINE);
		assert_noop!(
			Decentralml::submit_result(RuntimeOrigin::signed(BOB), id, content("late")),
			Error::<Test>::DeadlinePassed
		);
	});
}

#[test]
fn submit_result_duplicate_cid_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		assign(id, CHARLIE);
		submit(id, BOB, "same");
		assert_noop!(
			Decentralml::submit_result(RuntimeOrigin::signed(CHARLIE), id, content("same")),
			Error::<Test>::DuplicateResult
		);
		// A rejected CID stays refused: nobody can resubmit someone else's rejected work.
		assert_ok!(Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, BOB, vec![]));
		assert_noop!(
			Decentralml::submit_result(RuntimeOrigin::signed(CHARLIE), id, content("same")),
			Error::<Test>::DuplicateResult
		);
	});
}

#[test]
fn submit_result_same_cid_on_other_task_works() {
	ExtBuilder::build_and_execute(|| {
		let a = create_default();
		let b = create_default();
		assign(a, BOB);
		assign(b, BOB);
		submit(a, BOB, "same");
		submit(b, BOB, "same");
	});
}

#[test]
fn submit_result_cid_validation_works() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		assert_noop!(
			Decentralml::submit_result(
				RuntimeOrigin::signed(BOB),
				id,
				RawContentRef { cid: vec![], sha256: [0; 32], size: 0 }
			),
			Error::<Test>::EmptyCid
		);
		assert_noop!(
			Decentralml::submit_result(
				RuntimeOrigin::signed(BOB),
				id,
				RawContentRef { cid: vec![1; MAX_CID_LEN as usize + 1], sha256: [0; 32], size: 0 }
			),
			Error::<Test>::CidTooLong
		);
	});
}

#[test]
fn submit_result_after_release_or_reject_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		assign(id, CHARLIE);
		go_to_block(1 + WORK);
		assert_ok!(Decentralml::release_assignment(RuntimeOrigin::signed(EVE), id, BOB));
		assert_noop!(
			Decentralml::submit_result(RuntimeOrigin::signed(BOB), id, content("r")),
			Error::<Test>::NotAssigned
		);
		submit(id, CHARLIE, "c");
		assert_ok!(Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, CHARLIE, vec![]));
		assert_noop!(
			Decentralml::submit_result(RuntimeOrigin::signed(CHARLIE), id, content("c2")),
			Error::<Test>::NotAssigned
		);
	});
}

#[test]
fn submit_result_on_cancelled_task_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id));
		assert_noop!(
			Decentralml::submit_result(RuntimeOrigin::signed(BOB), id, content("r")),
			Error::<Test>::TaskNotOpen
		);
	});
}
