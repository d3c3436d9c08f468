//! A test runtime with the real balances pallet.

use crate as pallet_decentralml;
use frame::deps::sp_runtime::TryRuntimeError;
use frame::testing_prelude::*;
use polkadot_sdk::{pallet_balances, polkadot_sdk_frame as frame};

pub type AccountId = u64;
pub type Balance = u128;
type Block = frame_system::mocking::MockBlock<Test>;

construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		Decentralml: pallet_decentralml,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type Lookup = frame::traits::IdentityLookup<AccountId>;
	type AccountData = pallet_balances::AccountData<Balance>;
}

pub const EXISTENTIAL_DEPOSIT: Balance = 10;

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

// `static` so the integrity tests can set one constant out of its allowed range.
parameter_types! {
	pub static TestMinimumReward: Balance = EXISTENTIAL_DEPOSIT;
	pub static TestTaskDepositBase: Balance = DEPOSIT_BASE;
	pub static TestTaskDepositPerByte: Balance = DEPOSIT_PER_BYTE;
	pub static TestAssignmentBond: Balance = BOND;
	pub static TestMaxSlots: u32 = MAX_SLOTS;
	pub static TestMaxAssignmentsPerTask: u32 = MAX_ASSIGNMENTS;
	pub static TestMaxRevealPeriod: u64 = MAX_REVEAL_PERIOD;
	pub static TestRetentionPeriod: u64 = RETENTION_PERIOD;
	pub static TestMaxCidLen: u32 = MAX_CID_LEN;
	pub static TestMaxReasonLen: u32 = MAX_REASON_LEN;
	pub static TestMaxReviewPeriod: u64 = MAX_REVIEW_PERIOD;
	pub static TestMaxWorkPeriod: u64 = MAX_WORK_PERIOD;
	pub static TestModelPublishPeriod: u64 = MODEL_PUBLISH_PERIOD;
	pub static TestExpectedBlockTime: u64 = 6_000;
}

pub const DEPOSIT_BASE: Balance = 50;
pub const DEPOSIT_PER_BYTE: Balance = 1;
pub const BOND: Balance = 7;
pub const MAX_SLOTS: u32 = 8;
pub const MAX_ASSIGNMENTS: u32 = 16;
pub const MAX_REVEAL_PERIOD: u64 = 50;
pub const RETENTION_PERIOD: u64 = 40;
pub const MAX_CID_LEN: u32 = 64;
pub const MAX_METADATA_LEN: u32 = 128;
pub const MAX_REASON_LEN: u32 = 32;
pub const MAX_REVIEW_PERIOD: u64 = 100;
pub const MAX_WORK_PERIOD: u64 = 100;
pub const MODEL_PUBLISH_PERIOD: u64 = 20;

impl pallet_decentralml::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinimumReward = TestMinimumReward;
	type TaskDepositBase = TestTaskDepositBase;
	type TaskDepositPerByte = TestTaskDepositPerByte;
	type AssignmentBond = TestAssignmentBond;
	type MaxSlots = TestMaxSlots;
	type MaxAssignmentsPerTask = TestMaxAssignmentsPerTask;
	type MaxRevealPeriod = TestMaxRevealPeriod;
	type RetentionPeriod = TestRetentionPeriod;
	type MaxCidLen = TestMaxCidLen;
	type MaxMetadataLen = ConstU32<MAX_METADATA_LEN>;
	type MaxReasonLen = TestMaxReasonLen;
	type MaxReviewPeriod = TestMaxReviewPeriod;
	type MaxWorkPeriod = TestMaxWorkPeriod;
	type ModelPublishPeriod = TestModelPublishPeriod;
	type ForceOrigin = EnsureRoot<AccountId>;
	type ExpectedBlockTime = TestExpectedBlockTime;
	type WeightInfo = ();
}

/// Creators and workers used by the tests, each funded with `ENDOWMENT`.
pub const ALICE: AccountId = 1;
pub const BOB: AccountId = 2;
pub const CHARLIE: AccountId = 3;
pub const DAVE: AccountId = 4;
pub const EVE: AccountId = 5;
pub const FERDIE: AccountId = 6;
/// An account with no funds.
pub const POOR: AccountId = 99;
pub const ENDOWMENT: Balance = 1_000_000;

pub struct ExtBuilder;

impl ExtBuilder {
	pub fn build() -> TestState {
		let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
		pallet_balances::GenesisConfig::<Test> {
			balances: [ALICE, BOB, CHARLIE, DAVE, EVE, FERDIE]
				.into_iter()
				.map(|who| (who, ENDOWMENT))
				.collect(),
			..Default::default()
		}
		.assimilate_storage(&mut storage)
		.unwrap();
		let mut ext: TestState = storage.into();
		ext.execute_with(|| System::set_block_number(1));
		ext
	}

	/// Run `test`, then check every invariant of the pallet and that the test minted or burned
	/// nothing (the mock charges no fees, so escrow only moves funds between accounts).
	pub fn build_and_execute(test: impl FnOnce()) {
		Self::build().execute_with(|| {
			let issuance = Balances::total_issuance();
			test();
			check_invariants().expect("pallet invariants hold after the test");
			assert_eq!(Balances::total_issuance(), issuance, "the test minted or burned funds");
		});
	}
}

/// `do_try_state`, plus what only a concrete runtime can check: over every account, what is
/// held under each of the pallet's reasons equals what the records owe, so nothing is held
/// for a record that no longer owes it, and the totals per reason agree.
pub fn check_invariants() -> Result<(), TryRuntimeError> {
	Decentralml::do_try_state()?;
	let expected = Decentralml::expected_holds()?;
	for reason in crate::invariants::HOLD_REASONS {
		let owed = expected.under(reason);
		let id: RuntimeHoldReason = reason.into();
		let mut total_held: Balance = 0;
		for (who, holds) in pallet_balances::Holds::<Test>::iter() {
			let held: Balance = holds.iter().filter(|h| h.id == id).map(|h| h.amount).sum();
			total_held += held;
			if held != owed.get(&who).copied().unwrap_or_default() {
				return Err("an account's hold differs from what its records owe".into());
			}
		}
		if total_held != owed.values().sum::<Balance>() {
			return Err("the total held under a reason differs from the records".into());
		}
	}
	Ok(())
}

/// For the benchmark test suite.
#[allow(dead_code)]
pub fn new_test_ext() -> TestState {
	ExtBuilder::build()
}
