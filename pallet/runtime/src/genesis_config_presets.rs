//! Genesis presets: `development` (and the default) funds the dev accounts, makes //Alice sudo
//! and the only collator, and sets the dev parachain id.

use crate::{
	currency::UNIT, frame::runtime::prelude::*, interface::Balance, AuraConfig, AuraId,
	BalancesConfig, ParachainInfoConfig, RuntimeGenesisConfig, SudoConfig, DEV_PARA_ID,
};
use alloc::{vec, vec::Vec};
use polkadot_sdk::{polkadot_sdk_frame::deps::sp_genesis_builder, *};
use serde_json::Value;

/// What each dev account starts with: a million tokens.
pub const DEV_ENDOWMENT: Balance = 1_000_000 * UNIT;

/// The development preset: //Alice .. //Ferdie (and //One, //Two) funded, //Alice sudo and the
/// only Aura collator, parachain id [`DEV_PARA_ID`].
pub fn development_config_genesis() -> Value {
	frame_support::build_struct_json_patch!(RuntimeGenesisConfig {
		balances: BalancesConfig {
			balances: Sr25519Keyring::iter()
				.map(|account| (account.to_account_id(), DEV_ENDOWMENT))
				.collect::<Vec<_>>(),
		},
		sudo: SudoConfig { key: Some(Sr25519Keyring::Alice.to_account_id()) },
		parachain_info: ParachainInfoConfig { parachain_id: DEV_PARA_ID.into() },
		aura: AuraConfig { authorities: vec![AuraId::from(Sr25519Keyring::Alice.public())] },
	})
}

/// The preset named `id`, as JSON bytes.
pub fn get_preset(id: &PresetId) -> Option<Vec<u8>> {
	let patch = match id.as_ref() {
		sp_genesis_builder::DEV_RUNTIME_PRESET
		| sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET => development_config_genesis(),
		_ => return None,
	};
	Some(
		serde_json::to_string(&patch)
			.expect("serialising a JSON value to a string cannot fail; qed.")
			.into_bytes(),
	)
}

/// The names of the presets.
pub fn preset_names() -> Vec<PresetId> {
	vec![
		PresetId::from(sp_genesis_builder::DEV_RUNTIME_PRESET),
		PresetId::from(sp_genesis_builder::LOCAL_TESTNET_RUNTIME_PRESET),
	]
}
