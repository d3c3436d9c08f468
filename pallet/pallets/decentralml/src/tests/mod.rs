//! Tests of `pallet-decentralml`. Every test runs through `ExtBuilder::build_and_execute`, which
//! checks the pallet's invariants afterwards.

mod assign;
mod attacks;
mod close;
mod create;
mod force_close;
mod integrity;
mod lifecycle;
mod migration;
pub(crate) mod mock;
mod review;
mod sealed;
mod sequences;
mod submit;
pub(crate) mod utils;
mod validator;
