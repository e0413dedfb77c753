//! Validated input types for bitwatt.
//!
//! * [`Fleet`], [`MachineGroup`], [`AsicModel`]: a mining fleet read from TOML
//!   ([`Fleet::from_toml`]) and checked once at the boundary;
//! * [`asic_catalog`]: the built-in ASIC models with their sources;
//! * [`Scenario`]: a scenario file (market base case, one borrower, its debt), read with
//!   [`Scenario::from_toml`], which reports every problem at once ([`ScenarioErrors`]);
//! * [`Book`]: a lender's book of borrowers (scenarios) and holdings in their debt, read with
//!   [`Book::from_toml`] ([`BookErrors`]);
//! * [`ModelError`]: what is wrong with an input file, naming the field.
#![deny(missing_docs)]

mod catalog;
mod error;
mod fleet;
mod scenario;

pub use catalog::{asic_catalog, find_catalog_model};
pub use error::ModelError;
pub use fleet::{
    AsicModel, FLEET_SCHEMA_VERSION, Fleet, MAX_MACHINES_PER_GROUP, MIN_UPTIME_PERCENT,
    MachineGroup, POWER_PRICE_RANGE_USD_PER_MWH, SAMPLE_FLEET_TOML, sample_fleet,
};
pub use scenario::{
    ASIC_BAND_EDGES_J_PER_TH, AsicBandDepth, BOOK_SCHEMA_VERSION, BUILT_IN_EXAMPLES, Backstop,
    Book, BookBorrower, BookError, BookErrors, CallPrice, ColocationLease, Conversion,
    Counterparty, Covenants, DAYS_PER_MONTH, Debt, DebtKind, Distributions, EquityIssuance,
    FACTOR_COUNT, FieldError, FleetBand, GenerationDepth, GpuCloud, GpuGeneration, GpuMarket,
    HOURS_PER_MONTH, Hedge, HedgeKind, Holding, IdiosyncraticRisk, LiquidationDepth,
    LiquidationMarkets, MAX_DEBT_INSTRUMENTS, MAX_HORIZON_MONTHS, MODEL_FACTORS, MachineModel,
    Market, MarketModel, MiningFleet, NetworkStart, Opex, PIVOT_MINER_TOML, Ppa, Recovery,
    Refinancing, Renewal, SCENARIO_SCHEMA_VERSION, SECONDS_PER_MONTH, Scenario, ScenarioErrors,
    Schedule, Seniority, Site, Tax, Treasury, WorldFleet, YearMonth, asic_band, built_in_example,
    correlation_cholesky, nearest_correlation, problems_in, scenario_json_schema, unknown_example,
};
