//! The bitwatt engine: the economics computed from validated models and market inputs.
//!
//! * [`fleet_economics`] → [`FleetEconomics`]: revenue, power cost, hashcost, breakeven power
//!   price, shutdown hashprice and payback of a mining fleet at a [`MiningMarket`].
#![deny(missing_docs)]

mod mining;

pub use mining::{FleetEconomics, HalvingStep, MiningMarket, UnitEconomics, fleet_economics};
