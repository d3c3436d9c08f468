//! Checks of the runtime's configuration.

use super::*;
use frame::{testing_prelude::*, traits::IntegrityTest};

fn dev_genesis() -> TestState {
	let mut storage = frame_system::GenesisConfig::<Runtime>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Runtime> {
		balances: Sr25519Keyring::iter()
			.map(|a| (a.to_account_id(), genesis_config_presets::DEV_ENDOWMENT))
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	storage.into()
}

#[test]
fn integrity_tests_pass() {
	dev_genesis().execute_with(|| {
		<AllPalletsWithSystem as IntegrityTest>::integrity_test();
	});
}

#[test]
fn development_preset_funds_dev_accounts_and_names_alice_sudo() {
	let preset = genesis_config_presets::get_preset(&PresetId::from("development")).unwrap();
	let json: serde_json::Value = serde_json::from_slice(&preset).unwrap();
	let balances = json["balances"]["balances"].as_array().unwrap();
	assert!(balances.len() >= 6, "Alice .. Ferdie funded");
	assert!(json["sudo"]["key"].is_string());
	assert!(genesis_config_presets::get_preset(&PresetId::from("nope")).is_none());
}

#[test]
fn minimum_reward_is_at_least_existential_deposit() {
	let min: u128 = <<Runtime as pallet_decentralml::Config>::MinimumReward as Get<u128>>::get();
	assert!(min >= crate::currency::EXISTENTIAL_DEPOSIT);
}

#[test]
fn every_call_weight_has_a_proof_size() {
	use pallet_decentralml::WeightInfo;
	type W = pallet_decentralml::weights::SubstrateWeight<Runtime>;
	for weight in [
		W::create_task(0),
		W::set_validator(),
		W::assign_task(),
		W::submit_result(),
		W::accept_result(),
		W::reject_result(0),
		W::claim_reward(),
		W::release_assignment(),
		W::cancel_task(64),
		W::close_task(64),
		W::publish_model(),
		W::force_close_task(64),
		W::commit_result(),
		W::reveal_result(),
		W::remove_task(256),
	] {
		assert!(weight.ref_time() > 0 && weight.proof_size() > 0, "{weight:?}");
		// A call must fit comfortably in a block.
		let max = <<Runtime as frame_system::Config>::BlockWeights as Get<
			frame_system::limits::BlockWeights,
		>>::get()
		.max_block;
		assert!(weight.all_lt(max / 10), "{weight:?} is more than a tenth of a block");
	}
}

#[test]
fn only_root_can_force_close_a_task() {
	use pallet_decentralml::{RawContentRef, Submission, TaskKind, TaskStatus, ValidationPolicy};
	dev_genesis().execute_with(|| {
		System::set_block_number(1);
		let alice = Sr25519Keyring::Alice.to_account_id();
		assert_ok!(Decentralml::create_task(
			RuntimeOrigin::signed(alice.clone()),
			TaskKind::ModelContribution,
			ValidationPolicy::ManualAccept,
			Submission::Plain,
			RawContentRef { cid: b"bafytask".to_vec(), sha256: [1; 32], size: 10 },
			vec![],
			crate::currency::UNIT,
			1,
			100,
			10,
			10,
			None,
		));
		// Not the creator, not a sudo key: only the Root origin itself.
		assert_noop!(
			Decentralml::force_close_task(RuntimeOrigin::signed(alice.clone()), 0),
			BadOrigin
		);
		assert_ok!(Decentralml::force_close_task(RuntimeOrigin::root(), 0));
		assert_eq!(
			pallet_decentralml::Tasks::<Runtime>::get(0).unwrap().status,
			TaskStatus::Closed
		);
		assert_eq!(Decentralml::held_by(&alice), 0);
	});
}

#[test]
fn development_preset_makes_a_parachain_with_alice_as_the_only_collator() {
	// A preset is a patch of the default config, merged as the chain spec builder does.
	fn merge(base: &mut serde_json::Value, patch: serde_json::Value) {
		match (base, patch) {
			(serde_json::Value::Object(base), serde_json::Value::Object(patch)) => {
				for (key, value) in patch {
					merge(base.entry(key).or_insert(serde_json::Value::Null), value);
				}
			},
			(base, patch) => *base = patch,
		}
	}
	let preset = genesis_config_presets::get_preset(&PresetId::from("development")).unwrap();
	let mut config = serde_json::to_value(RuntimeGenesisConfig::default()).unwrap();
	merge(&mut config, serde_json::from_slice(&preset).unwrap());
	let config: RuntimeGenesisConfig = serde_json::from_value(config).unwrap();
	TestState::from(config.build_storage().unwrap()).execute_with(|| {
		assert_eq!(ParachainInfo::parachain_id(), ParaId::from(DEV_PARA_ID));
		let alice = AuraId::from(Sr25519Keyring::Alice.public());
		assert_eq!(pallet_aura::Authorities::<Runtime>::get().into_inner(), vec![alice]);
	});
}

#[test]
fn the_aura_slot_is_the_block_time_clients_read() {
	// Clients turn durations into blocks with `ExpectedBlockTime`; Aura makes a block a slot.
	let expected: u64 =
		<<Runtime as pallet_decentralml::Config>::ExpectedBlockTime as Get<u64>>::get();
	let slot: u64 = <<Runtime as pallet_aura::Config>::SlotDuration as Get<u64>>::get();
	assert_eq!(slot, expected);
}

#[test]
fn normal_blocks_stay_within_the_relay_chains_proof_size_limit() {
	let weights = <<Runtime as frame_system::Config>::BlockWeights as Get<
		frame_system::limits::BlockWeights,
	>>::get();
	let pov = cumulus_primitives_core::relay_chain::MAX_POV_SIZE as u64;
	assert_eq!(weights.max_block.proof_size(), pov);
	let normal = weights.get(DispatchClass::Normal).max_total.unwrap();
	assert!(normal.proof_size() < pov);
}
