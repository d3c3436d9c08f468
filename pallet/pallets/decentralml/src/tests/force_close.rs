//! `force_close_task`: the force origin ends a stuck task.

use super::{mock::*, utils::*};
use crate::*;
use frame::testing_prelude::*;
use polkadot_sdk::polkadot_sdk_frame as frame;

#[test]
fn force_close_pays_every_submitted_result_and_refunds_the_rest() {
	ExtBuilder::build_and_execute(|| {
		let spec = NewTask { slots: 4, ..Default::default() };
		let escrow = spec.escrow();
		let id = create_with(spec);
		for worker in [BOB, CHARLIE, DAVE, EVE] {
			assign(id, worker);
		}
		submit(id, BOB, "b");
		submit(id, CHARLIE, "c");
		submit(id, DAVE, "d");
		assert_ok!(Decentralml::reject_result(RuntimeOrigin::signed(ALICE), id, DAVE, vec![]));
		events();
		// Before the deadline, and with both results inside their review period.
		go_to_block(2);
		assert_ok!(Decentralml::force_close_task(RuntimeOrigin::root(), id));
		assert_eq!(free(BOB), ENDOWMENT + REWARD);
		assert_eq!(free(CHARLIE), ENDOWMENT + REWARD);
		// The rejected result and the unsubmitted slot are not paid.
		assert_eq!(free(DAVE), ENDOWMENT);
		assert_eq!(free(EVE), ENDOWMENT);
		assert_eq!(held(ALICE), 0);
		assert_eq!(free(ALICE), ENDOWMENT - 2 * REWARD - DEPOSIT);
		// The unsubmitted slot's bond went back.
		assert_eq!(held_bond(EVE), 0);
		let t = task(id);
		assert_eq!((t.status, t.ended_at, t.paid, t.escrow), (TaskStatus::Closed, Some(2), 2, 0));
		assert_eq!(Assignments::<Test>::get(id, EVE), None);
		assert_eq!(
			Assignments::<Test>::get(id, DAVE),
			Some(Assignment::Rejected { result: Some(bounded("d")) })
		);
		assert_eq!(
			events(),
			vec![
				Event::BondReturned { task_id: id, worker: EVE, amount: BOND },
				Event::ResultAccepted { task_id: id, worker: BOB, by: None },
				Event::RewardPaid { task_id: id, worker: BOB, amount: REWARD },
				Event::ResultAccepted { task_id: id, worker: CHARLIE, by: None },
				Event::RewardPaid { task_id: id, worker: CHARLIE, amount: REWARD },
				Event::TaskForceClosed {
					task_id: id,
					by: None,
					paid: 2,
					refunded: escrow - 2 * REWARD,
				},
			]
		);
	});
}

#[test]
fn force_close_needs_the_force_origin() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { validator: Some(FERDIE), ..Default::default() });
		assign(id, BOB);
		submit(id, BOB, "b");
		for who in [ALICE, FERDIE, BOB, EVE] {
			assert_noop!(Decentralml::force_close_task(RuntimeOrigin::signed(who), id), BadOrigin);
		}
		assert_noop!(Decentralml::force_close_task(RuntimeOrigin::none(), id), BadOrigin);
		assert_eq!(free(BOB), ENDOWMENT);
		assert_eq!(task(id).status, TaskStatus::Open);
	});
}

#[test]
fn force_close_validation_works() {
	ExtBuilder::build_and_execute(|| {
		assert_noop!(
			Decentralml::force_close_task(RuntimeOrigin::root(), 7),
			Error::<Test>::UnknownTask
		);
		let id = create_default();
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id));
		assert_noop!(
			Decentralml::force_close_task(RuntimeOrigin::root(), id),
			Error::<Test>::TaskNotOpen
		);
		let id = create_default();
		assert_ok!(Decentralml::force_close_task(RuntimeOrigin::root(), id));
		assert_noop!(
			Decentralml::force_close_task(RuntimeOrigin::root(), id),
			Error::<Test>::TaskNotOpen
		);
		assert_eq!(free(ALICE), ENDOWMENT - 2 * DEPOSIT);
	});
}

#[test]
fn force_close_charges_only_the_assignments_it_ends() {
	ExtBuilder::build_and_execute(|| {
		use crate::weights::WeightInfo;
		let id = create_with(NewTask { slots: 3, ..Default::default() });
		assign(id, BOB);
		assign(id, CHARLIE);
		submit(id, BOB, "b");
		let info = Decentralml::force_close_task(RuntimeOrigin::root(), id).unwrap();
		assert_eq!(info.actual_weight, Some(<() as WeightInfo>::force_close_task(2)));
	});
}
