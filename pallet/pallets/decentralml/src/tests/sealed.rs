//! Sealed submissions: commit before the deadline, reveal after it.

use super::{mock::*, utils::*};
use crate::*;
use frame::{deps::sp_runtime::AccountId32, testing_prelude::*};
use polkadot_sdk::polkadot_sdk_frame as frame;

fn hex(text: &str) -> Vec<u8> {
	let text = text.strip_prefix("0x").unwrap_or(text);
	(0..text.len())
		.step_by(2)
		.map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
		.collect()
}

fn array32(text: &str) -> [u8; 32] {
	hex(text).try_into().expect("32 bytes")
}

/// The vector the Python tests check too: one encoding of the commitment on both sides.
#[test]
fn commitment_matches_the_shared_test_vector() {
	let vector: serde_json::Value =
		serde_json::from_str(include_str!("../../test-vectors/commitment.json")).unwrap();
	let text = |key: &str| vector[key].as_str().unwrap().to_owned();
	let result = RawContentRef {
		cid: vector["result"]["cid"].as_str().unwrap().as_bytes().to_vec(),
		sha256: array32(vector["result"]["sha256"].as_str().unwrap()),
		size: vector["result"]["size"].as_u64().unwrap(),
	};
	let task_id = vector["task_id"].as_u64().unwrap() as TaskId;
	let worker = AccountId32::new(array32(&text("worker")));
	let salt = array32(&text("salt"));
	assert_eq!(text("domain").as_bytes(), COMMITMENT_DOMAIN);
	assert_eq!(
		(COMMITMENT_DOMAIN, task_id, &worker, &result, salt).encode(),
		hex(&text("preimage"))
	);
	assert_eq!(
		result_commitment(task_id, &worker, &result, &salt).to_vec(),
		hex(&text("commitment"))
	);
}

#[test]
fn sealed_auto_accept_pays_at_reveal() {
	ExtBuilder::build_and_execute(|| {
		let spec = NewTask::sealed_auto();
		let escrow = spec.escrow();
		let id = create_with(spec);
		assign(id, BOB);
		assert_eq!(held_bond(BOB), BOND);
		events();
		go_to_block(3);
		commit(id, BOB, "b");
		let commitment = result_commitment(id, &BOB, &content("b"), &salt(BOB, "b"));
		assert_eq!(
			Assignments::<Test>::get(id, BOB),
			Some(Assignment::Committed { commitment, at: 3, bond: BOND })
		);
		assert_eq!((task(id).assigned, task(id).committed), (0, 1));
		assert_eq!(events(), vec![Event::ResultCommitted { task_id: id, worker: BOB, commitment }]);
		// Committing hands over no result: nothing is paid and the bond stays until the reveal.
		assert_eq!((free(BOB), held_bond(BOB)), (ENDOWMENT - BOND, BOND));
		assert_noop!(reveal(id, BOB, "b"), Error::<Test>::RevealPeriodNotStarted);
		go_to_block(DEADLINE);
		assert_ok!(reveal(id, BOB, "b"));
		assert_eq!((free(BOB), held_bond(BOB)), (ENDOWMENT + REWARD, 0));
		assert_eq!(held(ALICE), escrow - REWARD);
		assert_eq!(
			Assignments::<Test>::get(id, BOB),
			Some(Assignment::Paid { result: Some(bounded("b")) })
		);
		assert_eq!((task(id).committed, task(id).pending, task(id).paid), (0, 0, 1));
		assert_eq!(
			events(),
			vec![
				Event::BondReturned { task_id: id, worker: BOB, amount: BOND },
				Event::ResultSubmitted { task_id: id, worker: BOB, result: bounded("b") },
				Event::ResultAccepted { task_id: id, worker: BOB, by: None },
				Event::RewardPaid { task_id: id, worker: BOB, amount: REWARD },
			]
		);
	});
}

#[test]
fn sealed_manual_accept_review_period_starts_at_reveal() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask {
			submission: Submission::Sealed { reveal_period: REVEAL },
			..Default::default()
		});
		assign(id, BOB);
		commit(id, BOB, "b");
		go_to_block(DEADLINE + 2);
		assert_ok!(reveal(id, BOB, "b"));
		assert_eq!(
			Assignments::<Test>::get(id, BOB),
			Some(Assignment::Submitted { result: bounded("b"), at: DEADLINE + 2 })
		);
		go_to_block(DEADLINE + 2 + REVIEW - 1);
		assert_noop!(
			Decentralml::claim_reward(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::ReviewPeriodNotOver
		);
		assert_ok!(Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, BOB, vec![]));
		assert_eq!(free(BOB), ENDOWMENT);
	});
}

#[test]
fn submission_mode_is_enforced() {
	ExtBuilder::build_and_execute(|| {
		let sealed = create_with(NewTask::sealed_auto());
		let plain = create_default();
		assign(sealed, BOB);
		assign(plain, BOB);
		assert_noop!(
			Decentralml::submit_result(RuntimeOrigin::signed(BOB), sealed, content("b")),
			Error::<Test>::SubmissionsSealed
		);
		assert_noop!(
			Decentralml::commit_result(RuntimeOrigin::signed(BOB), plain, [1; 32]),
			Error::<Test>::SubmissionsPlain
		);
		assert_noop!(reveal(plain, BOB, "b"), Error::<Test>::SubmissionsPlain);
	});
}

#[test]
fn reveal_period_is_bounded_at_creation() {
	ExtBuilder::build_and_execute(|| {
		for reveal_period in [0, MAX_REVEAL_PERIOD + 1] {
			let spec = NewTask {
				submission: Submission::Sealed { reveal_period },
				..NewTask::sealed_auto()
			};
			assert_noop!(spec.create(ALICE), Error::<Test>::InvalidRevealPeriod);
		}
		let longest = NewTask {
			submission: Submission::Sealed { reveal_period: MAX_REVEAL_PERIOD },
			..NewTask::sealed_auto()
		};
		assert_ok!(longest.create(ALICE));
	});
}

#[test]
fn commit_validation_works() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask::sealed_auto());
		assert_noop!(
			Decentralml::commit_result(RuntimeOrigin::signed(BOB), id, [1; 32]),
			Error::<Test>::NotAssigned
		);
		assert_noop!(
			Decentralml::commit_result(RuntimeOrigin::signed(BOB), 9, [1; 32]),
			Error::<Test>::UnknownTask
		);
		assign(id, BOB);
		assert_noop!(reveal(id, BOB, "b"), Error::<Test>::NotCommitted);
		commit(id, BOB, "b");
		// A commitment is final: no second one, and no release of a committed slot.
		assert_noop!(
			Decentralml::commit_result(RuntimeOrigin::signed(BOB), id, [2; 32]),
			Error::<Test>::AlreadyCommitted
		);
		go_to_block(1 + WORK);
		assert_noop!(
			Decentralml::release_assignment(RuntimeOrigin::signed(EVE), id, BOB),
			Error::<Test>::AlreadyCommitted
		);
		assign(id, CHARLIE);
		go_to_block(DEADLINE);
		assert_noop!(
			Decentralml::commit_result(RuntimeOrigin::signed(CHARLIE), id, [3; 32]),
			Error::<Test>::DeadlinePassed
		);
	});
}

#[test]
fn reveal_validation_works() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { slots: 3, ..NewTask::sealed_auto() });
		assign(id, BOB);
		commit(id, BOB, "b");
		go_to_block(DEADLINE);
		// Another result, or the right result with another salt, does not open the commitment.
		assert_noop!(reveal(id, BOB, "other"), Error::<Test>::CommitmentMismatch);
		assert_noop!(
			Decentralml::reveal_result(
				RuntimeOrigin::signed(BOB),
				id,
				content("b"),
				salt(BOB, "x")
			),
			Error::<Test>::CommitmentMismatch
		);
		assert_ok!(reveal(id, BOB, "b"));
		assert_noop!(reveal(id, BOB, "b"), Error::<Test>::AlreadySubmitted);
	});
}

#[test]
fn reveal_after_the_reveal_period_fails_and_the_slot_is_lost_at_close() {
	ExtBuilder::build_and_execute(|| {
		let spec = NewTask::sealed_auto();
		let escrow = spec.escrow();
		let id = create_with(spec);
		assign(id, BOB);
		assign(id, CHARLIE);
		commit(id, BOB, "b");
		go_to_block(DEADLINE + REVEAL - 1);
		assert_noop!(
			Decentralml::close_task(RuntimeOrigin::signed(EVE), id),
			Error::<Test>::RevealPeriodNotOver
		);
		go_to_block(DEADLINE + REVEAL);
		assert_noop!(reveal(id, BOB, "b"), Error::<Test>::RevealPeriodOver);
		events();
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		// The unrevealed commitment loses its slot and its bond to the creator, and stays on
		// record as released; the slot that sent nothing gets its bond back; the whole escrow
		// goes back to the creator.
		assert_eq!(Assignments::<Test>::get(id, BOB), Some(Assignment::Released));
		assert_eq!(Assignments::<Test>::get(id, CHARLIE), None);
		assert_eq!((free(BOB), held_bond(BOB)), (ENDOWMENT - BOND, 0));
		assert_eq!((free(CHARLIE), held_bond(CHARLIE)), (ENDOWMENT, 0));
		assert_eq!(free(ALICE), ENDOWMENT - DEPOSIT + BOND);
		let mut closing = events();
		closing.sort_by_key(|e| format!("{e:?}"));
		assert_eq!(
			closing,
			vec![
				Event::AssignmentReleased { task_id: id, worker: BOB },
				Event::BondForfeited { task_id: id, worker: BOB, amount: BOND },
				Event::BondReturned { task_id: id, worker: CHARLIE, amount: BOND },
				Event::TaskClosed { task_id: id, by: EVE, refunded: escrow },
			]
		);
	});
}

#[test]
fn cancel_is_refused_while_a_commitment_is_unrevealed() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask::sealed_auto());
		assign(id, BOB);
		commit(id, BOB, "b");
		assert_noop!(
			Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::ResultCommitted
		);
		go_to_block(DEADLINE);
		assert_ok!(reveal(id, BOB, "b"));
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
	});
}

#[test]
fn force_close_ends_unrevealed_commitments() {
	ExtBuilder::build_and_execute(|| {
		let spec = NewTask::sealed_auto();
		let escrow = spec.escrow();
		let id = create_with(spec);
		assign(id, BOB);
		commit(id, BOB, "b");
		events();
		assert_ok!(Decentralml::force_close_task(RuntimeOrigin::root(), id));
		// The force close came before the reveal period: the commitment ends with its bond
		// returned, through no fault of the worker.
		assert_eq!(Assignments::<Test>::get(id, BOB), None);
		assert_eq!(task(id).committed, 0);
		assert_eq!((free(BOB), held_bond(BOB)), (ENDOWMENT, 0));
		assert_eq!(free(ALICE), ENDOWMENT - DEPOSIT);
		assert_eq!(
			events(),
			vec![
				Event::BondReturned { task_id: id, worker: BOB, amount: BOND },
				Event::TaskForceClosed { task_id: id, by: None, paid: 0, refunded: escrow },
			]
		);
	});
}

#[test]
fn the_validator_stays_while_a_commitment_is_unrevealed() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { validator: Some(FERDIE), ..NewTask::sealed_auto() });
		assign(id, BOB);
		commit(id, BOB, "b");
		// Bob committed under Ferdie: the creator cannot swap in another reviewer now.
		assert_noop!(
			Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, Some(EVE)),
			Error::<Test>::ResultCommitted
		);
		assert_noop!(
			Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, None),
			Error::<Test>::ResultCommitted
		);
	});
}

#[test]
fn a_reveal_with_an_oversized_cid_is_refused_before_hashing() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask::sealed_auto());
		assign(id, BOB);
		let huge = RawContentRef { cid: vec![b'a'; MAX_CID_LEN as usize + 1], ..content("b") };
		let commitment = result_commitment(id, &BOB, &huge, &[1; 32]);
		assert_ok!(Decentralml::commit_result(RuntimeOrigin::signed(BOB), id, commitment));
		go_to_block(DEADLINE);
		assert_noop!(
			Decentralml::reveal_result(RuntimeOrigin::signed(BOB), id, huge, [1; 32]),
			Error::<Test>::CidTooLong
		);
	});
}
