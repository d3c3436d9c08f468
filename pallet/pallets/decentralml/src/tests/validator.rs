//! The validator's powers: who names it, when it can change, and how long it may publish.

use super::{mock::*, utils::*};
use crate::*;
use frame::testing_prelude::*;
use polkadot_sdk::polkadot_sdk_frame as frame;

#[test]
fn validator_can_change_while_nothing_waits() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { validator: Some(FERDIE), ..Default::default() });
		assign(id, BOB);
		// An assignment that has not submitted does not pin the validator.
		assert_ok!(Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, Some(EVE)));
		submit(id, BOB, "b");
		assert_ok!(Decentralml::reject_result(RuntimeOrigin::signed(EVE), id, BOB, vec![]));
		// Decided: the creator may change reviewers again.
		assert_ok!(Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, None));
		assert_eq!(task(id).validator, None);
	});
}

#[test]
fn validator_is_named_only_on_open_tasks_but_removed_on_any() {
	ExtBuilder::build_and_execute(|| {
		let closed = create_with(NewTask { validator: Some(FERDIE), ..Default::default() });
		let cancelled = create_with(NewTask { validator: Some(FERDIE), ..Default::default() });
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), cancelled));
		go_to_block(DEADLINE);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), closed));
		for id in [closed, cancelled] {
			assert_noop!(
				Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, Some(EVE)),
				Error::<Test>::TaskNotOpen
			);
			// Only the creator, even for a removal.
			assert_noop!(
				Decentralml::set_validator(RuntimeOrigin::signed(FERDIE), id, None),
				Error::<Test>::NotCreator
			);
			events();
			assert_ok!(Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, None));
			assert_eq!(events(), vec![Event::ValidatorSet { task_id: id, validator: None }]);
		}
	});
}

#[test]
fn publish_model_is_open_for_the_publish_period_after_close() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { validator: Some(FERDIE), ..Default::default() });
		go_to_block(DEADLINE + 3);
		assert_ok!(Decentralml::close_task(RuntimeOrigin::signed(EVE), id));
		assert_eq!(task(id).ended_at, Some(DEADLINE + 3));
		go_to_block(DEADLINE + 3 + MODEL_PUBLISH_PERIOD - 1);
		assert_ok!(Decentralml::publish_model(RuntimeOrigin::signed(FERDIE), id, content("m1")));
		assert_ok!(Decentralml::publish_model(RuntimeOrigin::signed(ALICE), id, content("m2")));
		go_to_block(DEADLINE + 3 + MODEL_PUBLISH_PERIOD);
		// The period binds the creator as well as the validator.
		assert_noop!(
			Decentralml::publish_model(RuntimeOrigin::signed(ALICE), id, content("m3")),
			Error::<Test>::PublishPeriodOver
		);
		assert_eq!(task(id).model, Some(bounded("m2")));
	});
}

#[test]
fn publish_model_is_unbounded_while_the_task_is_open() {
	ExtBuilder::build_and_execute(|| {
		let id = create_with(NewTask { validator: Some(FERDIE), ..Default::default() });
		assign(id, BOB);
		go_to_block(1 + WORK);
		// Open past its deadline (nothing closed it): the task's model may still improve.
		go_to_block(DEADLINE + 10 * MODEL_PUBLISH_PERIOD);
		assert_ok!(Decentralml::publish_model(RuntimeOrigin::signed(FERDIE), id, content("m")));
		assert_eq!(task(id).ended_at, None);
	});
}

#[test]
fn cancel_records_when_the_task_ended() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		go_to_block(7);
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id));
		assert_eq!(task(id).ended_at, Some(7));
		assert_noop!(
			Decentralml::publish_model(RuntimeOrigin::signed(ALICE), id, content("m")),
			Error::<Test>::TaskCancelled
		);
	});
}
