use super::{mock::*, utils::*};
use crate::*;
use frame::testing_prelude::*;
use polkadot_sdk::polkadot_sdk_frame as frame;

#[test]
fn create_task_works() {
	ExtBuilder::build_and_execute(|| {
		// Given
		let spec = NewTask { validator: Some(FERDIE), ..Default::default() };
		let escrow = spec.escrow();
		let deposit = DEPOSIT_BASE + 2 * DEPOSIT_PER_BYTE;
		// When
		let id = create_with(spec.clone());
		// Then
		assert_eq!(id, 0);
		assert_eq!(NextTaskId::<Test>::get(), 1);
		assert_eq!(held(ALICE), escrow);
		assert_eq!(held_storage(ALICE), deposit);
		assert_eq!(free(ALICE), ENDOWMENT - escrow - deposit);
		assert_eq!(
			task(0),
			TaskInfo {
				creator: ALICE,
				kind: TaskKind::ModelContribution,
				policy: ValidationPolicy::ManualAccept,
				submission: Submission::Plain,
				bundle: bounded("task"),
				metadata: b"{}".to_vec().try_into().unwrap(),
				reward: REWARD,
				slots: 2,
				deadline: DEADLINE,
				review_period: REVIEW,
				work_period: WORK,
				validator: Some(FERDIE),
				deposit,
				escrow,
				assigned: 0,
				committed: 0,
				pending: 0,
				paid: 0,
				records: 0,
				status: TaskStatus::Open,
				ended_at: None,
				model: None,
			}
		);
		assert_eq!(
			events(),
			vec![
				Event::TaskCreated {
					task_id: 0,
					creator: ALICE,
					kind: TaskKind::ModelContribution,
					policy: ValidationPolicy::ManualAccept,
					submission: Submission::Plain,
					reward: REWARD,
					slots: 2,
					deadline: DEADLINE,
					escrow,
					deposit,
				},
				Event::ValidatorSet { task_id: 0, validator: Some(FERDIE) },
			]
		);
	});
}

#[test]
fn create_task_ids_are_sequential() {
	ExtBuilder::build_and_execute(|| {
		assert_eq!(create_default(), 0);
		assert_eq!(create_default(), 1);
		assert_eq!(create_with(NewTask { slots: 1, ..Default::default() }), 2);
		assert_eq!(
			held(ALICE),
			2 * NewTask::default().escrow() + NewTask { slots: 1, ..Default::default() }.escrow()
		);
	});
}

#[test]
fn create_task_deposit_grows_with_metadata() {
	ExtBuilder::build_and_execute(|| {
		let spec = NewTask { metadata: vec![b'x'; 100], ..Default::default() };
		create_with(spec.clone());
		assert_eq!(task(0).deposit, DEPOSIT_BASE + 100 * DEPOSIT_PER_BYTE);
		assert_eq!(held(ALICE), 2 * REWARD);
		assert_eq!(held_storage(ALICE), DEPOSIT_BASE + 100);
	});
}

#[test]
fn create_task_validation_works() {
	ExtBuilder::build_and_execute(|| {
		go_to_block(10);
		let cases: Vec<(NewTask, Error<Test>)> = vec![
			(NewTask { reward: 0, ..Default::default() }, Error::RewardTooLow),
			(
				NewTask { reward: EXISTENTIAL_DEPOSIT - 1, ..Default::default() },
				Error::RewardTooLow,
			),
			(NewTask { slots: 0, ..Default::default() }, Error::ZeroSlots),
			(NewTask { slots: MAX_SLOTS + 1, ..Default::default() }, Error::TooManySlots),
			(NewTask { deadline: 10, ..Default::default() }, Error::DeadlineInPast),
			(NewTask { deadline: 3, ..Default::default() }, Error::DeadlineInPast),
			(NewTask { review_period: 0, ..Default::default() }, Error::InvalidReviewPeriod),
			(
				NewTask { review_period: MAX_REVIEW_PERIOD + 1, ..Default::default() },
				Error::InvalidReviewPeriod,
			),
			(NewTask { work_period: 0, ..Default::default() }, Error::InvalidWorkPeriod),
			(
				NewTask { work_period: MAX_WORK_PERIOD + 1, ..Default::default() },
				Error::InvalidWorkPeriod,
			),
			(
				NewTask {
					bundle: RawContentRef { cid: vec![], sha256: [0; 32], size: 1 },
					..Default::default()
				},
				Error::EmptyCid,
			),
			(
				NewTask {
					bundle: RawContentRef {
						cid: vec![b'a'; MAX_CID_LEN as usize + 1],
						sha256: [0; 32],
						size: 1,
					},
					..Default::default()
				},
				Error::CidTooLong,
			),
			(
				NewTask { metadata: vec![0; MAX_METADATA_LEN as usize + 1], ..Default::default() },
				Error::MetadataTooLong,
			),
			(NewTask { reward: Balance::MAX, ..Default::default() }, Error::EscrowOverflow),
			(NewTask { reward: ENDOWMENT, ..Default::default() }, Error::InsufficientBalance),
		];
		for (spec, error) in cases {
			assert_noop!(spec.create(ALICE), error);
		}
		assert_noop!(NewTask::default().create(POOR), Error::<Test>::InsufficientBalance);
		assert_eq!(held(ALICE), 0);
		assert_eq!(free(ALICE), ENDOWMENT);
		assert_eq!(NextTaskId::<Test>::get(), 0);
	});
}

#[test]
fn create_task_accepts_the_bounds() {
	ExtBuilder::build_and_execute(|| {
		let spec = NewTask {
			slots: MAX_SLOTS,
			reward: EXISTENTIAL_DEPOSIT,
			review_period: MAX_REVIEW_PERIOD,
			work_period: MAX_WORK_PERIOD,
			metadata: vec![0; MAX_METADATA_LEN as usize],
			bundle: RawContentRef {
				cid: vec![b'a'; MAX_CID_LEN as usize],
				sha256: [1; 32],
				size: 0,
			},
			deadline: 2,
			..Default::default()
		};
		let escrow = spec.escrow();
		create_with(spec);
		assert_eq!(held(ALICE), escrow);
	});
}

#[test]
fn create_task_minimum_reward_is_configurable() {
	ExtBuilder::build_and_execute(|| {
		TestMinimumReward::set(500);
		assert_noop!(
			NewTask { reward: 499, ..Default::default() }.create(ALICE),
			Error::<Test>::RewardTooLow
		);
		assert_ok!(NewTask { reward: 500, ..Default::default() }.create(ALICE));
		TestMinimumReward::set(EXISTENTIAL_DEPOSIT);
	});
}

#[test]
fn create_task_requires_signed_origin() {
	ExtBuilder::build_and_execute(|| {
		let t = NewTask::default();
		assert_noop!(
			Decentralml::create_task(
				RuntimeOrigin::none(),
				t.kind,
				t.policy,
				t.submission,
				t.bundle,
				t.metadata,
				t.reward,
				t.slots,
				t.deadline,
				t.review_period,
				t.work_period,
				None
			),
			BadOrigin
		);
	});
}

#[test]
fn set_validator_works() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		events();
		assert_ok!(Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, Some(EVE)));
		assert_eq!(task(id).validator, Some(EVE));
		assert_ok!(Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, None));
		assert_eq!(task(id).validator, None);
		assert_eq!(
			events(),
			vec![
				Event::ValidatorSet { task_id: id, validator: Some(EVE) },
				Event::ValidatorSet { task_id: id, validator: None },
			]
		);
	});
}

#[test]
fn set_validator_validation_works() {
	ExtBuilder::build_and_execute(|| {
		let id = create_default();
		assign(id, BOB);
		assert_noop!(
			Decentralml::set_validator(RuntimeOrigin::signed(ALICE), 9, Some(EVE)),
			Error::<Test>::UnknownTask
		);
		assert_noop!(
			Decentralml::set_validator(RuntimeOrigin::signed(EVE), id, Some(EVE)),
			Error::<Test>::NotCreator
		);
		assert_noop!(
			Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, Some(BOB)),
			Error::<Test>::OwnTask
		);
		assert_ok!(Decentralml::cancel_task(RuntimeOrigin::signed(ALICE), id));
		assert_noop!(
			Decentralml::set_validator(RuntimeOrigin::signed(ALICE), id, Some(EVE)),
			Error::<Test>::TaskNotOpen
		);
	});
}
