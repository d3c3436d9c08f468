//! A test runtime with the real balances pallet.

use crate as pallet_decentralml;
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

parameter_types! {
	pub static MinimumReward: Balance = EXISTENTIAL_DEPOSIT;
}

pub const DEPOSIT_BASE: Balance = 50;
pub const DEPOSIT_PER_BYTE: Balance = 1;
pub const MAX_SLOTS: u32 = 8;
pub const MAX_CID_LEN: u32 = 64;
pub const MAX_METADATA_LEN: u32 = 128;
pub const MAX_REASON_LEN: u32 = 32;
pub const MAX_REVIEW_PERIOD: u64 = 100;
pub const MAX_WORK_PERIOD: u64 = 100;

impl pallet_decentralml::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinimumReward = MinimumReward;
	type TaskDepositBase = ConstU128<DEPOSIT_BASE>;
	type TaskDepositPerByte = ConstU128<DEPOSIT_PER_BYTE>;
	type MaxSlots = ConstU32<MAX_SLOTS>;
	type MaxCidLen = ConstU32<MAX_CID_LEN>;
	type MaxMetadataLen = ConstU32<MAX_METADATA_LEN>;
	type MaxReasonLen = ConstU32<MAX_REASON_LEN>;
	type MaxReviewPeriod = ConstU64<MAX_REVIEW_PERIOD>;
	type MaxWorkPeriod = ConstU64<MAX_WORK_PERIOD>;
	type ExpectedBlockTime = ConstU64<6000>;
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

	/// Run `test`, then check every invariant of the pallet.
	pub fn build_and_execute(test: impl FnOnce()) {
		Self::build().execute_with(|| {
			test();
			Decentralml::do_try_state().expect("pallet invariants hold after the test");
		});
	}
}

/// For the benchmark test suite.
#[allow(dead_code)]
pub fn new_test_ext() -> TestState {
	ExtBuilder::build()
}
