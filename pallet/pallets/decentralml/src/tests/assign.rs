use super::{mock::*, utils::*};
use crate::*;
use frame::testing_prelude::*;
use polkadot_sdk::polkadot_sdk_frame as frame;

#[test]
fn assign_task_works() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		events();
		go_to_block(3);
		assign(id, BOB);
		assert_eq!(
			Assignments::<Test>::get(id, BOB),
			Some(Assignment::Assigned { at: 3, bond: BOND })
		);
		assert_eq!(LiveWorkers::<Test>::get(id).to_vec(), vec![BOB]);
		assert_eq!(task(id).assigned, 1);
		assert_eq!(task(id).free_slots(), 1);
		assert_eq!(events(), vec![Event::TaskAssigned { task_id: id, worker: BOB, bond: BOND }]);
		// Taking a slot holds the bond, nothing more.
		assert_eq!(held_bond(BOB), BOND);
		assert_eq!(free(BOB), ENDOWMENT - BOND);
		assert_eq!(task(id).records, 1);
	});
}

#[test]
fn assign_task_twice_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::AlreadyAssigned
		);
	});
}

#[test]
fn assign_task_own_task_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { validator: Some(EVE), ..Default::default() });
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(ALICE), id),
			Error::<Test>::OwnTask
		);
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(EVE), id),
			Error::<Test>::OwnTask
		);
	});
}

#[test]
fn assign_task_when_full_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		assign(id, CHARLIE);
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(DAVE), id),
			Error::<Test>::NoFreeSlot
		);
	});
}

#[test]
fn assign_task_after_deadline_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		go_to_block(DEADLINE);
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::DeadlinePassed
		);
		go_to_block(DEADLINE - 1);
		assign(id, BOB);
	});
}

#[test]
fn assign_task_unknown_task_fails() {
	ExtBuilder::build_and_execute(|| {
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(BOB), 7),
			Error::<Test>::UnknownTask
		);
		assert_noop!(Decentralml::assign_task(RuntimeOrigin::none(), 0), BadOrigin);
	});
}

#[test]
fn assign_task_after_reject_is_barred() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		submit(id, BOB, "r1");
		assert_ok!(Decentralml::reject_result(
			RuntimeOrigin::signed(ALICE),
			id,
			BOB,
			b"bad".to_vec()
		));
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::WorkerBarred
		);
		// The slot is free for someone else.
		assign(id, CHARLIE);
		assign(id, DAVE);
	});
}

#[test]
fn assign_task_after_release_is_barred() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		go_to_block(1 + WORK);
		assert_ok!(Decentralml::release_assignment(RuntimeOrigin::signed(EVE), id, BOB));
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::WorkerBarred
		);
	});
}

#[test]
fn assign_task_after_payment_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { slots: 3, ..Default::default() });
		assign(id, BOB);
		submit(id, BOB, "r1");
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB));
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::AlreadyAssigned
		);
	});
}

#[test]
fn assign_task_on_ended_task_fails() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id));
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(BOB), id),
			Error::<Test>::TaskNotOpen
		);
	});
}

#[test]
fn paid_slots_are_not_reassigned() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { slots: 1, ..Default::default() });
		assign(id, BOB);
		submit(id, BOB, "r1");
		assert_ok!(Decentralml::accept_result(RuntimeOrigin::signed(ALICE), id, BOB));
		assert_noop!(
			Decentralml::assign_task(RuntimeOrigin::signed(CHARLIE), id),
			Error::<Test>::NoFreeSlot
		);
	});
}

#[test]
fn release_assignment_works() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { slots: 1, ..Default::default() });
		assign(id, BOB);
		events();
		go_to_block(1 + WORK);
		assert_ok!(Decentralml::release_assignment(RuntimeOrigin::signed(CHARLIE), id, BOB));
		assert_eq!(Assignments::<Test>::get(id, BOB), Some(Assignment::Released));
		assert!(LiveWorkers::<Test>::get(id).is_empty());
		assert_eq!(task(id).assigned, 0);
		assert_eq!(
			events(),
			vec![
				Event::BondForfeited { task_id: id, worker: BOB, amount: BOND },
				Event::AssignmentReleased { task_id: id, worker: BOB }
			]
		);
		// The squatter's bond went to the creator; the releaser got nothing.
		assert_eq!((free(BOB), held_bond(BOB)), (ENDOWMENT - BOND, 0));
		assert_eq!(
			free(ALICE),
			ENDOWMENT - NewTask { slots: 1, ..Default::default() }.held() + BOND
		);
		assert_eq!(free(CHARLIE), ENDOWMENT);
		assign(id, CHARLIE);
	});
}

#[test]
fn release_assignment_validation_works() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		assign(id, CHARLIE);
		submit(id, CHARLIE, "c");
		go_to_block(WORK);
		assert_noop!(
			Decentralml::release_assignment(RuntimeOrigin::signed(EVE), id, BOB),
			Error::<Test>::WorkPeriodNotOver
		);
		go_to_block(1 + WORK);
		assert_noop!(
			Decentralml::release_assignment(RuntimeOrigin::signed(EVE), id, CHARLIE),
			Error::<Test>::AlreadySubmitted
		);
		assert_noop!(
			Decentralml::release_assignment(RuntimeOrigin::signed(EVE), id, DAVE),
			Error::<Test>::NotAssigned
		);
		assert_noop!(
			Decentralml::release_assignment(RuntimeOrigin::signed(EVE), 5, BOB),
			Error::<Test>::UnknownTask
		);
		assert_noop!(Decentralml::release_assignment(RuntimeOrigin::none(), id, BOB), BadOrigin);
	});
}
