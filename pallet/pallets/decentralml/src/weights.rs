//! Weights for `pallet_decentralml`.
//!
//! In the shape of a generated `weights.rs`. The storage reads, writes and proof sizes are
//! counted from each call's code: every proof size is the item's `MaxEncodedLen` (read from the
//! storage info of the configured runtime) plus the trie overhead the benchmarking CLI adds for
//! an unbounded map (2475 bytes) or a value (495 bytes). The execution times are estimates to be
//! replaced by a benchmarking binary's figures; `benchmarking.rs` holds the benchmarks.

#![allow(unused_parens)]
#![allow(unused_imports)]
#![allow(missing_docs)]

use crate::{Assignments, Config, LiveWorkers, NextTaskId, SubmittedCids, Tasks};
use core::marker::PhantomData;
use polkadot_sdk::polkadot_sdk_frame::{
	deps::frame_support::traits::StorageInfoTrait, weights_prelude::*,
};

/// Weight functions needed for `pallet_decentralml`.
pub trait WeightInfo {
	fn create_task(m: u32) -> Weight;
	fn set_validator() -> Weight;
	fn assign_task() -> Weight;
	fn submit_result() -> Weight;
	fn accept_result() -> Weight;
	fn reject_result(r: u32) -> Weight;
	fn claim_reward() -> Weight;
	fn release_assignment() -> Weight;
	fn cancel_task(s: u32) -> Weight;
	fn close_task(s: u32) -> Weight;
	fn publish_model() -> Weight;
}

/// Proof size of a storage map entry: `MaxEncodedLen` plus the trie overhead of an unbounded map.
fn map_proof<S: StorageInfoTrait>() -> u64 {
	S::storage_info().iter().map(|info| u64::from(info.max_size.unwrap_or(0)) + 2475).sum()
}

/// Proof size of a storage value: `MaxEncodedLen` plus the trie overhead of a value.
fn value_proof<S: StorageInfoTrait>() -> u64 {
	S::storage_info().iter().map(|info| u64::from(info.max_size.unwrap_or(0)) + 495).sum()
}

/// `System::Account` (`max_size`: 128, added: 2603), as in the balances pallet's weights.
const ACCOUNT_PROOF: u64 = 2603;
/// `Balances::Holds` (`max_size`: 85, added: 2560) for one hold reason.
const HOLDS_PROOF: u64 = 2560;

/// Weights for `pallet_decentralml` using the configured runtime's database weights.
pub struct SubstrateWeight<T>(PhantomData<T>);
impl<T: Config> WeightInfo for SubstrateWeight<T> {
	/// Storage: `Decentralml::NextTaskId` (r:1 w:1)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Storage: `System::Account` (r:1 w:1)
	/// Storage: `Decentralml::Tasks` (r:0 w:1)
	/// The range of component `m` is `[0, MaxMetadataLen]`.
	fn create_task(m: u32) -> Weight {
		Weight::from_parts(48_000_000, value_proof::<NextTaskId<T>>() + HOLDS_PROOF + ACCOUNT_PROOF)
			.saturating_add(Weight::from_parts(1_200, 0).saturating_mul(m.into()))
			.saturating_add(T::DbWeight::get().reads(3_u64))
			.saturating_add(T::DbWeight::get().writes(4_u64))
	}
	/// Storage: `Decentralml::Tasks` (r:1 w:1)
	/// Storage: `Decentralml::Assignments` (r:1 w:0)
	fn set_validator() -> Weight {
		Weight::from_parts(18_000_000, map_proof::<Tasks<T>>() + map_proof::<Assignments<T>>())
			.saturating_add(T::DbWeight::get().reads(2_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
	/// Storage: `Decentralml::Tasks` (r:1 w:1)
	/// Storage: `Decentralml::Assignments` (r:1 w:1)
	/// Storage: `Decentralml::LiveWorkers` (r:1 w:1)
	fn assign_task() -> Weight {
		Weight::from_parts(
			32_000_000,
			map_proof::<Tasks<T>>() + map_proof::<Assignments<T>>() + map_proof::<LiveWorkers<T>>(),
		)
		.saturating_add(T::DbWeight::get().reads(3_u64))
		.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	/// Worst case, `AutoAccept`:
	/// Storage: `Decentralml::Tasks` (r:1 w:1)
	/// Storage: `Decentralml::Assignments` (r:1 w:1)
	/// Storage: `Decentralml::SubmittedCids` (r:1 w:1)
	/// Storage: `Decentralml::LiveWorkers` (r:1 w:1)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Storage: `System::Account` (r:2 w:2)
	fn submit_result() -> Weight {
		Weight::from_parts(
			75_000_000,
			map_proof::<Tasks<T>>()
				+ map_proof::<Assignments<T>>()
				+ map_proof::<SubmittedCids<T>>()
				+ map_proof::<LiveWorkers<T>>()
				+ HOLDS_PROOF
				+ 2 * ACCOUNT_PROOF,
		)
		.saturating_add(T::DbWeight::get().reads(7_u64))
		.saturating_add(T::DbWeight::get().writes(7_u64))
	}
	/// Storage: `Decentralml::Tasks` (r:1 w:1)
	/// Storage: `Decentralml::Assignments` (r:1 w:1)
	/// Storage: `Decentralml::LiveWorkers` (r:1 w:1)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Storage: `System::Account` (r:2 w:2)
	fn accept_result() -> Weight {
		Weight::from_parts(
			60_000_000,
			map_proof::<Tasks<T>>()
				+ map_proof::<Assignments<T>>()
				+ map_proof::<LiveWorkers<T>>()
				+ HOLDS_PROOF
				+ 2 * ACCOUNT_PROOF,
		)
		.saturating_add(T::DbWeight::get().reads(6_u64))
		.saturating_add(T::DbWeight::get().writes(6_u64))
	}
	/// Storage: `Decentralml::Tasks` (r:1 w:1)
	/// Storage: `Decentralml::Assignments` (r:1 w:1)
	/// Storage: `Decentralml::LiveWorkers` (r:1 w:1)
	/// The range of component `r` is `[0, MaxReasonLen]`.
	fn reject_result(r: u32) -> Weight {
		Weight::from_parts(
			34_000_000,
			map_proof::<Tasks<T>>() + map_proof::<Assignments<T>>() + map_proof::<LiveWorkers<T>>(),
		)
		.saturating_add(Weight::from_parts(1_000, 0).saturating_mul(r.into()))
		.saturating_add(T::DbWeight::get().reads(3_u64))
		.saturating_add(T::DbWeight::get().writes(3_u64))
	}
	/// Same storage as `accept_result`.
	fn claim_reward() -> Weight {
		Self::accept_result()
	}
	/// Storage: `Decentralml::Tasks` (r:1 w:1)
	/// Storage: `Decentralml::Assignments` (r:1 w:1)
	/// Storage: `Decentralml::LiveWorkers` (r:1 w:1)
	fn release_assignment() -> Weight {
		Self::reject_result(0)
	}
	/// Storage: `Decentralml::Tasks` (r:1 w:1)
	/// Storage: `Decentralml::LiveWorkers` (r:1 w:1)
	/// Storage: `Decentralml::Assignments` (r:0 w:s)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Storage: `System::Account` (r:1 w:1)
	/// The range of component `s` is `[0, MaxSlots]`.
	fn cancel_task(s: u32) -> Weight {
		Weight::from_parts(
			45_000_000,
			map_proof::<Tasks<T>>() + map_proof::<LiveWorkers<T>>() + HOLDS_PROOF + ACCOUNT_PROOF,
		)
		.saturating_add(Weight::from_parts(6_000_000, 0).saturating_mul(s.into()))
		.saturating_add(T::DbWeight::get().reads(4_u64))
		.saturating_add(T::DbWeight::get().writes(4_u64))
		.saturating_add(T::DbWeight::get().writes(u64::from(s)))
	}
	/// Storage: `Decentralml::Tasks` (r:1 w:1)
	/// Storage: `Decentralml::LiveWorkers` (r:1 w:1)
	/// Storage: `Decentralml::Assignments` (r:s w:s)
	/// Storage: `Balances::Holds` (r:1 w:1)
	/// Storage: `System::Account` (r:1+s w:1+s), a payment per submitted result
	/// The range of component `s` is `[0, MaxSlots]`.
	fn close_task(s: u32) -> Weight {
		Weight::from_parts(
			50_000_000,
			map_proof::<Tasks<T>>() + map_proof::<LiveWorkers<T>>() + HOLDS_PROOF + ACCOUNT_PROOF,
		)
		.saturating_add(Weight::from_parts(40_000_000, 0).saturating_mul(s.into()))
		.saturating_add(
			Weight::from_parts(0, map_proof::<Assignments<T>>() + ACCOUNT_PROOF)
				.saturating_mul(s.into()),
		)
		.saturating_add(T::DbWeight::get().reads(4_u64))
		.saturating_add(T::DbWeight::get().reads(2_u64.saturating_mul(s.into())))
		.saturating_add(T::DbWeight::get().writes(4_u64))
		.saturating_add(T::DbWeight::get().writes(2_u64.saturating_mul(s.into())))
	}
	/// Storage: `Decentralml::Tasks` (r:1 w:1)
	fn publish_model() -> Weight {
		Weight::from_parts(20_000_000, map_proof::<Tasks<T>>())
			.saturating_add(T::DbWeight::get().reads(1_u64))
			.saturating_add(T::DbWeight::get().writes(1_u64))
	}
}

// For tests: the same counts on the reference database weights, without proof sizes.
impl WeightInfo for () {
	fn create_task(m: u32) -> Weight {
		Weight::from_parts(48_000_000, 0)
			.saturating_add(Weight::from_parts(1_200, 0).saturating_mul(m.into()))
			.saturating_add(RocksDbWeight::get().reads_writes(3, 4))
	}
	fn set_validator() -> Weight {
		Weight::from_parts(18_000_000, 0).saturating_add(RocksDbWeight::get().reads_writes(2, 1))
	}
	fn assign_task() -> Weight {
		Weight::from_parts(32_000_000, 0).saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
	fn submit_result() -> Weight {
		Weight::from_parts(75_000_000, 0).saturating_add(RocksDbWeight::get().reads_writes(7, 7))
	}
	fn accept_result() -> Weight {
		Weight::from_parts(60_000_000, 0).saturating_add(RocksDbWeight::get().reads_writes(6, 6))
	}
	fn reject_result(r: u32) -> Weight {
		Weight::from_parts(34_000_000, 0)
			.saturating_add(Weight::from_parts(1_000, 0).saturating_mul(r.into()))
			.saturating_add(RocksDbWeight::get().reads_writes(3, 3))
	}
	fn claim_reward() -> Weight {
		Self::accept_result()
	}
	fn release_assignment() -> Weight {
		Self::reject_result(0)
	}
	fn cancel_task(s: u32) -> Weight {
		Weight::from_parts(45_000_000, 0)
			.saturating_add(Weight::from_parts(6_000_000, 0).saturating_mul(s.into()))
			.saturating_add(RocksDbWeight::get().reads_writes(4, 4 + u64::from(s)))
	}
	fn close_task(s: u32) -> Weight {
		Weight::from_parts(50_000_000, 0)
			.saturating_add(Weight::from_parts(40_000_000, 0).saturating_mul(s.into()))
			.saturating_add(
				RocksDbWeight::get().reads_writes(4 + 2 * u64::from(s), 4 + 2 * u64::from(s)),
			)
	}
	fn publish_model() -> Weight {
		Weight::from_parts(20_000_000, 0).saturating_add(RocksDbWeight::get().reads_writes(1, 1))
	}
}
