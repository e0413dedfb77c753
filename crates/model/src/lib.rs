//! Validated input types for bitwatt.
//!
//! * [`Fleet`], [`MachineGroup`], [`AsicModel`]: a mining fleet read from TOML
//!   ([`Fleet::from_toml`]) and checked once at the boundary;
//! * [`asic_catalog`]: the built-in ASIC models with their sources;
//! * [`ModelError`]: what is wrong with an input file, naming the field.
#![deny(missing_docs)]

mod catalog;
mod error;
mod fleet;

pub use catalog::{asic_catalog, find_catalog_model};
pub use error::ModelError;
pub use fleet::{
    AsicModel, FLEET_SCHEMA_VERSION, Fleet, MAX_MACHINES_PER_GROUP, MIN_UPTIME_PERCENT,
    MachineGroup, POWER_PRICE_RANGE_USD_PER_MWH, SAMPLE_FLEET_TOML, sample_fleet,
};
