//! The scenario file: one borrower, its debt and the market base case.
//!
//! Every quantity carries its unit in its name. [`Scenario::from_toml`] parses a file into a
//! document, checks every field and reports every problem at once ([`ScenarioErrors`]); a
//! [`Scenario`] that exists is valid. [`scenario_json_schema`] gives the JSON Schema.

mod book;
mod borrower;
mod capital;
mod debt;
mod market;
mod market_model;
mod month;
mod validate;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use book::{BOOK_SCHEMA_VERSION, Book, BookBorrower, BookError, BookErrors, Holding};
pub use borrower::{
    Backstop, ColocationLease, Conversion, Counterparty, Distributions, GpuCloud,
    IdiosyncraticRisk, MachineModel, MiningFleet, Opex, Ppa, Renewal, Site, Tax, Treasury,
};
pub use capital::{EquityIssuance, Hedge, HedgeKind, Recovery};
pub use debt::{CallPrice, Covenants, Debt, DebtKind, Refinancing, Schedule, Seniority};
pub use market::{
    ASIC_BAND_EDGES_J_PER_TH, AsicBandDepth, FleetBand, GenerationDepth, GpuGeneration, GpuMarket,
    LiquidationDepth, LiquidationMarkets, Market, NetworkStart, WorldFleet, asic_band,
};
pub use market_model::{
    FACTOR_COUNT, MODEL_FACTORS, MarketModel, correlation_cholesky, nearest_correlation,
};
pub use month::{DAYS_PER_MONTH, HOURS_PER_MONTH, SECONDS_PER_MONTH, YearMonth};
pub use validate::{FieldError, ScenarioErrors, problems_in, scenario_json_schema};

/// The scenario file-format version this build reads.
pub const SCENARIO_SCHEMA_VERSION: u32 = 1;

/// Text of the built-in example `examples/pivot-miner.toml`: a listed US miner in late 2025
/// converting 200 MW for a neocloud tenant on project-finance debt.
pub const PIVOT_MINER_TOML: &str = include_str!("../../../../examples/pivot-miner.toml");

/// The built-in examples by name (`examples/NAME.toml`), the default first.
pub const BUILT_IN_EXAMPLES: [(&str, &str); 3] = [
    ("pivot-miner", PIVOT_MINER_TOML),
    (
        "neocloud-abl",
        include_str!("../../../../examples/neocloud-abl.toml"),
    ),
    (
        "pure-miner",
        include_str!("../../../../examples/pure-miner.toml"),
    ),
];

/// The text of the built-in example `name`, if there is one.
pub fn built_in_example(name: &str) -> Option<&'static str> {
    BUILT_IN_EXAMPLES
        .iter()
        .find(|(example, _)| *example == name)
        .map(|(_, text)| *text)
}

/// What is wrong with the example name `name`: `"NAME": expected one of "pivot-miner", …`.
pub fn unknown_example(name: &str) -> String {
    let names: Vec<String> = BUILT_IN_EXAMPLES
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect();
    format!("{name:?}: expected one of {}", names.join(", "))
}

/// Most debt instruments one scenario may hold (a path keeps their outcomes in a fixed array).
pub const MAX_DEBT_INSTRUMENTS: usize = 16;

/// Longest projection (months).
pub const MAX_HORIZON_MONTHS: u32 = 240;

/// A validated scenario: the market base case and one borrower with its debt.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// File-format version; must be [`SCENARIO_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// Borrower name shown in reports.
    pub name: String,
    /// First projected month; default: the month of the built-in network snapshot.
    #[serde(default)]
    pub start_month: Option<YearMonth>,
    /// Months projected (1–240).
    #[serde(default = "default_horizon_months")]
    pub horizon_months: u32,
    /// Cash on hand at the start (USD).
    #[serde(default)]
    pub opening_cash_usd: f64,
    /// The market base case.
    #[serde(default)]
    pub market: Market,
    /// Sites with grid connections.
    #[serde(default)]
    pub site: Vec<Site>,
    /// Mining fleets.
    #[serde(default)]
    pub mining_fleet: Vec<MiningFleet>,
    /// Colocation leases of AI capacity.
    #[serde(default)]
    pub colocation_lease: Vec<ColocationLease>,
    /// Owned GPU clouds.
    #[serde(default)]
    pub gpu_cloud: Vec<GpuCloud>,
    /// Conversions of mining capacity to AI.
    #[serde(default)]
    pub conversion: Vec<Conversion>,
    /// The BTC treasury.
    #[serde(default)]
    pub treasury: Treasury,
    /// Corporate and site operating costs.
    #[serde(default)]
    pub opex: Opex,
    /// Income tax.
    #[serde(default)]
    pub tax: Tax,
    /// Distribution policy (none by default: cash is retained).
    #[serde(default)]
    pub distributions: Distributions,
    /// Debt instruments.
    #[serde(default)]
    pub debt: Vec<Debt>,
    /// Hedges settled monthly.
    #[serde(default)]
    pub hedge: Vec<Hedge>,
    /// At-the-market equity issuance; none if absent.
    #[serde(default)]
    pub equity_issuance: Option<EquityIssuance>,
    /// Workout terms after a default.
    #[serde(default)]
    pub recovery: Recovery,
    /// The borrower's own random risks (site outages, late conversions); none by default.
    #[serde(default)]
    pub idiosyncratic: IdiosyncraticRisk,
}

impl Scenario {
    /// Every counterparty of the borrower, in the file's order, a name possibly more than
    /// once: each lease's tenant and backstop guarantor, then each GPU cloud's offtaker.
    pub fn counterparties(&self) -> impl Iterator<Item = &Counterparty> {
        let leases = self.colocation_lease.iter().flat_map(|lease| {
            std::iter::once(&lease.tenant).chain(lease.backstop.iter().map(|b| &b.guarantor))
        });
        let offtakers = self.gpu_cloud.iter().filter_map(|c| c.offtaker.as_ref());
        leases.chain(offtakers)
    }
}

fn default_horizon_months() -> u32 {
    120
}

impl Default for Market {
    fn default() -> Self {
        toml::from_str("").expect("every market field has a default")
    }
}
