//! `integrity_test` refuses every `Config` whose constants break a relation the pallet relies
//! on. Each test moves one constant of the mock out of range.

use super::mock::*;
use frame::testing_prelude::*;
use polkadot_sdk::polkadot_sdk_frame as frame;

fn integrity_test() {
	<Decentralml as Hooks<u64>>::integrity_test();
}

#[test]
fn the_mock_passes() {
	integrity_test();
}

#[test]
#[should_panic(expected = "MinimumReward must be at least the existential deposit")]
fn minimum_reward_below_existential_deposit() {
	TestMinimumReward::set(EXISTENTIAL_DEPOSIT - 1);
	integrity_test();
}

#[test]
#[should_panic(expected = "MaxSlots must be above zero")]
fn zero_slots() {
	TestMaxSlots::set(0);
	integrity_test();
}

#[test]
#[should_panic(expected = "MaxCidLen must fit a CIDv1")]
fn cid_bound_too_short() {
	TestMaxCidLen::set(crate::MIN_CID_LEN - 1);
	integrity_test();
}

#[test]
#[should_panic(expected = "MaxReasonLen must be above zero")]
fn zero_reason_length() {
	TestMaxReasonLen::set(0);
	integrity_test();
}

#[test]
#[should_panic(expected = "TaskDepositBase must be above zero")]
fn free_task_storage() {
	TestTaskDepositBase::set(0);
	integrity_test();
}

#[test]
#[should_panic(expected = "TaskDepositBase + TaskDepositPerByte * MaxMetadataLen must fit")]
fn deposit_overflows() {
	TestTaskDepositPerByte::set(Balance::MAX / 2);
	integrity_test();
}

#[test]
#[should_panic(expected = "MinimumReward * MaxSlots plus the largest deposit must fit")]
fn escrow_of_the_smallest_full_task_overflows() {
	TestMinimumReward::set(Balance::MAX / 4);
	integrity_test();
}

#[test]
#[should_panic(expected = "MaxReviewPeriod must be above zero")]
fn zero_review_period() {
	TestMaxReviewPeriod::set(0);
	integrity_test();
}

#[test]
#[should_panic(expected = "MaxWorkPeriod must be above zero")]
fn zero_work_period() {
	TestMaxWorkPeriod::set(0);
	integrity_test();
}

#[test]
#[should_panic(expected = "ModelPublishPeriod must be above zero")]
fn zero_publish_period() {
	TestModelPublishPeriod::set(0);
	integrity_test();
}

#[test]
#[should_panic(expected = "must stay below half the largest block number")]
fn periods_that_never_end() {
	TestMaxReviewPeriod::set(u64::MAX / 2);
	integrity_test();
}

#[test]
#[should_panic(expected = "ExpectedBlockTime must be above zero")]
fn zero_block_time() {
	TestExpectedBlockTime::set(0);
	integrity_test();
}

#[test]
#[should_panic(expected = "MaxSlots too large: close_task of a full task does not fit in a block")]
fn full_task_too_heavy_to_close() {
	TestMaxSlots::set(1_000_000);
	TestMaxAssignmentsPerTask::set(1_000_000);
	integrity_test();
}

#[test]
#[should_panic(expected = "MaxAssignmentsPerTask must be at least MaxSlots")]
fn assignment_cap_below_the_slots() {
	TestMaxAssignmentsPerTask::set(MAX_SLOTS - 1);
	integrity_test();
}

#[test]
#[should_panic(expected = "MaxSlots too large: remove_task of a full task does not fit in a block")]
fn too_many_records_to_remove() {
	TestMaxAssignmentsPerTask::set(100_000_000);
	integrity_test();
}

#[test]
#[should_panic(expected = "AssignmentBond must be above zero")]
fn free_slots_for_squatters() {
	TestAssignmentBond::set(0);
	integrity_test();
}

#[test]
#[should_panic(expected = "MaxRevealPeriod must be above zero")]
fn zero_reveal_period() {
	TestMaxRevealPeriod::set(0);
	integrity_test();
}

#[test]
#[should_panic(expected = "RetentionPeriod must be at least ModelPublishPeriod")]
fn record_removed_before_its_model_is_final() {
	TestRetentionPeriod::set(MODEL_PUBLISH_PERIOD - 1);
	integrity_test();
}
