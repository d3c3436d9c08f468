//! The decentralml development runtime: System, Timestamp, Balances, TransactionPayment, Sudo,
//! Utility and the marketplace pallet, on a parachain base (ParachainSystem, ParachainInfo, Aura
//! and AuraExt) so that the same wasm runs on Chopsticks, on `polkadot-omni-node` as a dev node,
//! and as a parachain of a relay chain.
//!
//! Built to wasm by `scripts/build-runtime` and run on a dev chain; its `development` genesis
//! preset funds the well-known dev accounts //Alice .. //Ferdie, makes //Alice the only Aura
//! collator and sets the parachain id [`DEV_PARA_ID`].

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod genesis_config_presets;

use alloc::vec::Vec;
use cumulus_primitives_core::{ParaId, RelayProofRequest};
use pallet_transaction_payment::{FeeDetails, RuntimeDispatchInfo};
use polkadot_sdk::{
	polkadot_sdk_frame::{
		self as frame,
		deps::sp_genesis_builder,
		runtime::{apis, prelude::*},
	},
	*,
};

/// Units of the native token, for presets and tests.
pub mod currency {
	use super::interface::Balance;

	/// Decimals of the native token (in the chain properties as `tokenDecimals`).
	pub const DECIMALS: u8 = 12;
	/// Symbol of the native token (in the chain properties as `tokenSymbol`).
	pub const SYMBOL: &str = "DML";
	/// One whole token.
	pub const UNIT: Balance = 10u128.pow(DECIMALS as u32);
	/// A thousandth of a token.
	pub const MILLI: Balance = UNIT / 1_000;
	/// The existential deposit.
	pub const EXISTENTIAL_DEPOSIT: Balance = MILLI;
}

/// The chain's block time target, in milliseconds. Clients read it as the pallet constant
/// `Decentralml::ExpectedBlockTime` to turn durations into block numbers.
pub const MILLISECS_PER_BLOCK: u64 = 6_000;

/// The Aura slot: one block per slot. It cannot change once the chain has started.
pub const SLOT_DURATION: u64 = MILLISECS_PER_BLOCK;

/// The parachain id of the development chain (in its genesis and its chain spec). A real
/// deployment sets the id its relay chain registered (docs/operations.md).
pub const DEV_PARA_ID: u32 = 1000;

/// The Aura authority id: collators sign blocks with sr25519 keys.
pub type AuraId = sp_consensus_aura::sr25519::AuthorityId;

/// The relay chain's slot, in milliseconds.
const RELAY_CHAIN_SLOT_DURATION_MILLIS: u32 = 6_000;
/// Parachain blocks per relay chain slot.
const BLOCK_PROCESSING_VELOCITY: u32 = 1;
/// Blocks that may be built before the relay chain has included their parents (async backing).
const UNINCLUDED_SEGMENT_CAPACITY: u32 = 3;

/// How many parachain blocks may be authored, and on which relay parents.
type ConsensusHook = cumulus_pallet_aura_ext::FixedVelocityConsensusHook<
	Runtime,
	RELAY_CHAIN_SLOT_DURATION_MILLIS,
	BLOCK_PROCESSING_VELOCITY,
	UNINCLUDED_SEGMENT_CAPACITY,
>;

/// SS58 address prefix: the generic Substrate prefix.
pub const SS58_PREFIX: u16 = 42;

/// The runtime version.
#[runtime_version]
pub const VERSION: RuntimeVersion = RuntimeVersion {
	spec_name: alloc::borrow::Cow::Borrowed("decentralml-dev"),
	impl_name: alloc::borrow::Cow::Borrowed("decentralml-dev"),
	authoring_version: 1,
	spec_version: 4,
	impl_version: 1,
	apis: RUNTIME_API_VERSIONS,
	transaction_version: 1,
	system_version: 1,
};

/// Transaction extensions. Kept to the long-standing set that Python and JavaScript Substrate
/// clients sign for without special support.
pub type TxExtension = (
	frame_system::CheckNonZeroSender<Runtime>,
	frame_system::CheckSpecVersion<Runtime>,
	frame_system::CheckTxVersion<Runtime>,
	frame_system::CheckGenesis<Runtime>,
	frame_system::CheckEra<Runtime>,
	frame_system::CheckNonce<Runtime>,
	frame_system::CheckWeight<Runtime>,
	pallet_transaction_payment::ChargeTransactionPayment<Runtime>,
);

#[frame_construct_runtime]
mod runtime {
	/// The runtime.
	#[runtime::runtime]
	#[runtime::derive(
		RuntimeCall,
		RuntimeEvent,
		RuntimeError,
		RuntimeOrigin,
		RuntimeFreezeReason,
		RuntimeHoldReason,
		RuntimeSlashReason,
		RuntimeLockId,
		RuntimeTask,
		RuntimeViewFunction
	)]
	pub struct Runtime;

	/// Accounts, blocks, events.
	#[runtime::pallet_index(0)]
	pub type System = frame_system::Pallet<Runtime>;

	/// The parachain's view of the relay chain: its validation data inherent, runtime upgrades
	/// with the relay chain's go-ahead. Declared before Timestamp, as its inherent comes first.
	#[runtime::pallet_index(6)]
	pub type ParachainSystem = cumulus_pallet_parachain_system::Pallet<Runtime>;

	/// On-chain time (the block author sets it from the slot).
	#[runtime::pallet_index(1)]
	pub type Timestamp = pallet_timestamp::Pallet<Runtime>;

	/// The parachain id, from genesis.
	#[runtime::pallet_index(7)]
	pub type ParachainInfo = staging_parachain_info::Pallet<Runtime>;

	/// Balances of the native token, with holds for escrow.
	#[runtime::pallet_index(2)]
	pub type Balances = pallet_balances::Pallet<Runtime>;

	/// Transaction fees.
	#[runtime::pallet_index(3)]
	pub type TransactionPayment = pallet_transaction_payment::Pallet<Runtime>;

	/// Privileged calls on the dev chain.
	#[runtime::pallet_index(4)]
	pub type Sudo = pallet_sudo::Pallet<Runtime>;

	/// Batches of calls (`batch_all`), used to send many review decisions at once.
	#[runtime::pallet_index(5)]
	pub type Utility = pallet_utility::Pallet<Runtime>;

	/// Block authorship by slot: the collators are the Aura authorities from genesis.
	#[runtime::pallet_index(8)]
	pub type Aura = pallet_aura::Pallet<Runtime>;

	/// Aura for parachains: at most [`BLOCK_PROCESSING_VELOCITY`] blocks per relay slot, and
	/// the authority set a block is checked against in `validate_block`.
	#[runtime::pallet_index(9)]
	pub type AuraExt = cumulus_pallet_aura_ext::Pallet<Runtime>;

	/// The marketplace.
	#[runtime::pallet_index(10)]
	pub type Decentralml = pallet_decentralml::Pallet<Runtime>;
}

parameter_types! {
	pub const Version: RuntimeVersion = VERSION;
	pub const SS58Prefix: u16 = SS58_PREFIX;
	/// Two seconds of execution per block, as a relay chain validates a parachain block, and
	/// at most the relay chain's proof-of-validity size; three quarters for normal calls.
	pub RuntimeBlockWeights: frame_system::limits::BlockWeights =
		frame_system::limits::BlockWeights::with_sensible_defaults(
			Weight::from_parts(
				weights::constants::WEIGHT_REF_TIME_PER_SECOND.saturating_mul(2),
				cumulus_primitives_core::relay_chain::MAX_POV_SIZE as u64,
			),
			Perbill::from_percent(75),
		);
	/// No XCM yet: nothing is reserved for downward or lateral messages.
	pub const ReservedMessageWeight: Weight = Weight::zero();
}

#[derive_impl(frame_system::config_preludes::SolochainDefaultConfig)]
impl frame_system::Config for Runtime {
	type Block = Block;
	type Version = Version;
	type SS58Prefix = SS58Prefix;
	type BlockWeights = RuntimeBlockWeights;
	// A new runtime takes effect only once the relay chain allows it.
	type OnSetCode = cumulus_pallet_parachain_system::ParachainSetCode<Self>;
	// Charge storage access as the reference database does, so weights include it.
	type DbWeight = weights::constants::RocksDbWeight;
	type AccountData = pallet_balances::AccountData<interface::Balance>;
}

#[derive_impl(pallet_timestamp::config_preludes::TestDefaultConfig)]
impl pallet_timestamp::Config for Runtime {
	// Aura checks each block's time against its slot, which already spaces blocks.
	type MinimumPeriod = ConstU64<0>;
	type OnTimestampSet = Aura;
}

impl cumulus_pallet_parachain_system::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type OnSystemEvent = ();
	type SelfParaId = staging_parachain_info::Pallet<Runtime>;
	// No XCM: no outbound queue, and messages from the relay chain or other parachains are
	// dropped. Wiring pallet-message-queue and the XCMP queue here is how XCM would be added.
	type OutboundXcmpMessageSource = ();
	type DmpQueue = ();
	type ReservedDmpWeight = ReservedMessageWeight;
	type XcmpMessageHandler = ();
	type ReservedXcmpWeight = ReservedMessageWeight;
	type CheckAssociatedRelayNumber =
		cumulus_pallet_parachain_system::RelayNumberMonotonicallyIncreases;
	type WeightInfo = ();
	type ConsensusHook = ConsensusHook;
	type RelayParentOffset = ConstU32<0>;
	type SchedulingSignatureVerifier = ();
}

impl staging_parachain_info::Config for Runtime {}

impl pallet_aura::Config for Runtime {
	type AuthorityId = AuraId;
	type DisabledValidators = ();
	type MaxAuthorities = ConstU32<32>;
	// Async backing: several blocks may share a parachain slot; AuraExt's consensus hook
	// bounds them per relay slot.
	type AllowMultipleBlocksPerSlot = ConstBool<true>;
	type SlotDuration = ConstU64<SLOT_DURATION>;
}

impl cumulus_pallet_aura_ext::Config for Runtime {}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Runtime {
	type Balance = u128;
	type ExistentialDeposit = ConstU128<{ currency::EXISTENTIAL_DEPOSIT }>;
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
	type RuntimeFreezeReason = RuntimeFreezeReason;
}

#[derive_impl(pallet_transaction_payment::config_preludes::TestDefaultConfig)]
impl pallet_transaction_payment::Config for Runtime {
	type OnChargeTransaction = pallet_transaction_payment::FungibleAdapter<Balances, ()>;
	// One planck per picosecond of execution, and a micro-token per byte.
	type WeightToFee = weights::IdentityFee<interface::Balance>;
	type LengthToFee = weights::ConstantMultiplier<interface::Balance, ConstU128<1_000_000>>;
}

#[derive_impl(pallet_sudo::config_preludes::TestDefaultConfig)]
impl pallet_sudo::Config for Runtime {}

impl pallet_utility::Config for Runtime {
	type RuntimeEvent = RuntimeEvent;
	type RuntimeCall = RuntimeCall;
	type PalletsOrigin = OriginCaller;
	type WeightInfo = ();
}

impl pallet_decentralml::Config for Runtime {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type MinimumReward = ConstU128<{ currency::MILLI * 10 }>;
	type TaskDepositBase = ConstU128<{ currency::UNIT / 10 }>;
	type TaskDepositPerByte = ConstU128<{ currency::MILLI / 10 }>;
	// A tenth of the smallest reward: enough that squatting many slots costs something.
	type AssignmentBond = ConstU128<{ currency::MILLI }>;
	type MaxSlots = ConstU32<64>;
	// Room for every slot to be rejected or released three times over.
	type MaxAssignmentsPerTask = ConstU32<256>;
	type MaxCidLen = ConstU32<128>;
	type MaxMetadataLen = ConstU32<4096>;
	type MaxReasonLen = ConstU32<256>;
	// 30 days of 6-second blocks.
	type MaxReviewPeriod = ConstU32<432_000>;
	type MaxWorkPeriod = ConstU32<432_000>;
	// 7 days of 6-second blocks.
	type MaxRevealPeriod = ConstU32<100_800>;
	type ModelPublishPeriod = ConstU32<100_800>;
	// 14 days of 6-second blocks.
	type RetentionPeriod = ConstU32<201_600>;
	type ForceOrigin = EnsureRoot<interface::AccountId>;
	type ExpectedBlockTime = ConstU64<MILLISECS_PER_BLOCK>;
	type WeightInfo = pallet_decentralml::weights::SubstrateWeight<Runtime>;
}

type Block = frame::runtime::types_common::BlockOf<Runtime, TxExtension>;
type Header = HeaderFor<Runtime>;

/// Storage migrations run on the first block of a new runtime version; each is guarded by its
/// pallet's storage version, so it runs once.
type Migrations = (pallet_decentralml::migrations::v1::MigrateV0ToV1<Runtime>,);

type RuntimeExecutive = Executive<
	Runtime,
	Block,
	frame_system::ChainContext<Runtime>,
	Runtime,
	AllPalletsWithSystem,
	Migrations,
>;

// The entry point relay chain validators call to check a block of this parachain.
cumulus_pallet_parachain_system::register_validate_block! {
	Runtime = Runtime,
	BlockExecutor = cumulus_pallet_aura_ext::BlockExecutor::<Runtime, RuntimeExecutive>,
}

impl_runtime_apis! {
	impl apis::Core<Block> for Runtime {
		fn version() -> RuntimeVersion {
			VERSION
		}

		fn execute_block(block: <Block as frame::traits::Block>::LazyBlock) {
			RuntimeExecutive::execute_block(block)
		}

		fn initialize_block(header: &Header) -> ExtrinsicInclusionMode {
			RuntimeExecutive::initialize_block(header)
		}
	}

	impl apis::Metadata<Block> for Runtime {
		fn metadata() -> OpaqueMetadata {
			OpaqueMetadata::new(Runtime::metadata().into())
		}

		fn metadata_at_version(version: u32) -> Option<OpaqueMetadata> {
			Runtime::metadata_at_version(version)
		}

		fn metadata_versions() -> Vec<u32> {
			Runtime::metadata_versions()
		}
	}

	impl apis::BlockBuilder<Block> for Runtime {
		fn apply_extrinsic(extrinsic: ExtrinsicFor<Runtime>) -> ApplyExtrinsicResult {
			RuntimeExecutive::apply_extrinsic(extrinsic)
		}

		fn finalize_block() -> HeaderFor<Runtime> {
			RuntimeExecutive::finalize_block()
		}

		fn inherent_extrinsics(data: InherentData) -> Vec<ExtrinsicFor<Runtime>> {
			data.create_extrinsics()
		}

		fn check_inherents(
			block: <Block as frame::traits::Block>::LazyBlock,
			data: InherentData,
		) -> CheckInherentsResult {
			data.check_extrinsics(&block)
		}
	}

	impl apis::TaggedTransactionQueue<Block> for Runtime {
		fn validate_transaction(
			source: TransactionSource,
			tx: ExtrinsicFor<Runtime>,
			block_hash: <Runtime as frame_system::Config>::Hash,
		) -> TransactionValidity {
			RuntimeExecutive::validate_transaction(source, tx, block_hash)
		}
	}

	impl apis::OffchainWorkerApi<Block> for Runtime {
		fn offchain_worker(header: &HeaderFor<Runtime>) {
			RuntimeExecutive::offchain_worker(header)
		}
	}

	impl sp_consensus_aura::AuraApi<Block, AuraId> for Runtime {
		fn slot_duration() -> sp_consensus_aura::SlotDuration {
			sp_consensus_aura::SlotDuration::from_millis(SLOT_DURATION)
		}

		fn authorities() -> Vec<AuraId> {
			pallet_aura::Authorities::<Runtime>::get().into_inner()
		}
	}

	impl cumulus_primitives_aura::AuraUnincludedSegmentApi<Block> for Runtime {
		fn can_build_upon(
			included_hash: <Block as frame::traits::Block>::Hash,
			slot: cumulus_primitives_aura::Slot,
		) -> bool {
			ConsensusHook::can_build_upon(included_hash, slot)
		}
	}

	impl cumulus_primitives_core::CollectCollationInfo<Block> for Runtime {
		fn collect_collation_info(header: &Header) -> cumulus_primitives_core::CollationInfo {
			ParachainSystem::collect_collation_info(header)
		}
	}

	impl cumulus_primitives_core::GetParachainInfo<Block> for Runtime {
		fn parachain_id() -> ParaId {
			ParachainInfo::parachain_id()
		}
	}

	impl cumulus_primitives_core::RelayParentOffsetApi<Block> for Runtime {
		fn relay_parent_offset() -> u32 {
			0
		}

		fn max_claim_queue_offset() -> u8 {
			// Asynchronous backing: a candidate may land in the next relay block or the one after.
			1
		}
	}

	impl cumulus_primitives_core::TargetBlockRate<Block> for Runtime {
		fn target_block_rate() -> u32 {
			BLOCK_PROCESSING_VELOCITY
		}
	}

	impl cumulus_primitives_core::KeyToIncludeInRelayProof<Block> for Runtime {
		fn keys_to_prove() -> RelayProofRequest {
			RelayProofRequest::default()
		}
	}

	impl apis::AccountNonceApi<Block, interface::AccountId, interface::Nonce> for Runtime {
		fn account_nonce(account: interface::AccountId) -> interface::Nonce {
			System::account_nonce(account)
		}
	}

	impl pallet_transaction_payment_rpc_runtime_api::TransactionPaymentApi<
		Block,
		interface::Balance,
	> for Runtime {
		fn query_info(uxt: ExtrinsicFor<Runtime>, len: u32) -> RuntimeDispatchInfo<interface::Balance> {
			TransactionPayment::query_info(uxt, len)
		}
		fn query_fee_details(uxt: ExtrinsicFor<Runtime>, len: u32) -> FeeDetails<interface::Balance> {
			TransactionPayment::query_fee_details(uxt, len)
		}
		fn query_weight_to_fee(weight: Weight) -> interface::Balance {
			TransactionPayment::weight_to_fee(weight)
		}
		fn query_length_to_fee(length: u32) -> interface::Balance {
			TransactionPayment::length_to_fee(length)
		}
	}

	#[cfg(feature = "runtime-benchmarks")]
	impl frame::deps::frame_benchmarking::Benchmark<Block> for Runtime {
		fn benchmark_metadata(extra: bool) -> (
			Vec<frame::deps::frame_benchmarking::BenchmarkList>,
			Vec<frame::deps::frame_support::traits::StorageInfo>,
		) {
			benchmarks::metadata(extra)
		}

		fn dispatch_benchmark(
			config: frame::deps::frame_benchmarking::BenchmarkConfig,
		) -> Result<
			Vec<frame::deps::frame_benchmarking::BenchmarkBatch>,
			alloc::string::String,
		> {
			benchmarks::dispatch(config)
		}
	}

	#[cfg(feature = "try-runtime")]
	impl frame::deps::frame_try_runtime::TryRuntime<Block> for Runtime {
		fn on_runtime_upgrade(
			checks: frame::deps::frame_try_runtime::UpgradeCheckSelect,
		) -> (Weight, Weight) {
			// A failed check must fail the try-runtime run loudly: panicking is how it reports.
			let weight = RuntimeExecutive::try_runtime_upgrade(checks)
				.expect("runtime upgrade checks pass");
			(
				weight,
				<<Runtime as frame_system::Config>::BlockWeights as Get<
					frame_system::limits::BlockWeights,
				>>::get()
				.max_block,
			)
		}

		fn execute_block(
			block: <Block as frame::traits::Block>::LazyBlock,
			state_root_check: bool,
			signature_check: bool,
			select: frame::deps::frame_try_runtime::TryStateSelect,
		) -> Weight {
			RuntimeExecutive::try_execute_block(block, state_root_check, signature_check, select)
				.expect("the block executes and the try-state checks pass")
		}
	}

	impl apis::GenesisBuilder<Block> for Runtime {
		fn build_state(config: Vec<u8>) -> sp_genesis_builder::Result {
			build_state::<RuntimeGenesisConfig>(config)
		}

		fn get_preset(id: &Option<PresetId>) -> Option<Vec<u8>> {
			get_preset::<RuntimeGenesisConfig>(id, self::genesis_config_presets::get_preset)
		}

		fn preset_names() -> Vec<PresetId> {
			self::genesis_config_presets::preset_names()
		}
	}
}

/// Types that clients and the chain spec builder need.
pub mod interface {
	use super::Runtime;
	use polkadot_sdk::*;

	/// An account id (sr25519 public key).
	pub type AccountId = <Runtime as frame_system::Config>::AccountId;
	/// An account's transaction index.
	pub type Nonce = <Runtime as frame_system::Config>::Nonce;
	/// A block or extrinsic hash.
	pub type Hash = <Runtime as frame_system::Config>::Hash;
	/// A balance of the native token.
	pub type Balance = <Runtime as pallet_balances::Config>::Balance;
}

#[cfg(feature = "runtime-benchmarks")]
mod benchmarks;
#[cfg(test)]
mod tests;
