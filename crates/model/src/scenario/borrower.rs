//! The borrower's assets and operations: sites, mining fleets, AI capacity, conversions,
//! treasury, opex, tax and distributions.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::YearMonth;
use crate::fleet::AsicModel;

/// A site with a grid connection (`[[site]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// Name; fleets, leases and conversions refer to it.
    pub name: String,
    /// Grid connection (MW at the meter).
    pub grid_capacity_mw: f64,
    /// Power usage effectiveness of the mining load (facility over machine power).
    #[serde(default = "default_mining_pue")]
    pub pue: f64,
    /// Power usage effectiveness of AI load (facility over critical IT power).
    #[serde(default = "default_ai_pue")]
    pub ai_pue: f64,
    /// Power purchase agreement, if any.
    #[serde(default)]
    pub ppa: Option<Ppa>,
    /// Share of the load not covered by the PPA that pays the spot price (percent); the rest
    /// pays `tariff_usd_per_mwh`.
    #[serde(default = "default_hundred")]
    pub market_exposure_percent: f64,
    /// Fixed tariff for the load neither under the PPA nor at spot (USD/MWh).
    #[serde(default)]
    pub tariff_usd_per_mwh: f64,
    /// Delivery and transmission charges on every MWh drawn (USD/MWh).
    #[serde(default)]
    pub delivery_usd_per_mwh: f64,
    /// Expected days a year the whole site is down (grid events, failures).
    #[serde(default)]
    pub outage_days_per_year: f64,
    /// Value of the powered site without contracted tenants, for collateral (USD per MW of
    /// grid capacity).
    #[serde(default = "default_powered_site_usd_per_mw")]
    pub powered_site_value_usd_per_mw: f64,
}

/// A power purchase agreement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ppa {
    /// Fixed price (USD/MWh).
    pub price_usd_per_mwh: f64,
    /// Share of the site's load it covers (percent).
    pub share_percent: f64,
    /// Last month it runs (inclusive).
    pub end_month: YearMonth,
}

/// A group of identical ASICs at a site (`[[mining_fleet]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MiningFleet {
    /// Name shown in tables.
    pub name: String,
    /// Site it runs at.
    pub site: String,
    /// A catalog model name (see `bitwatt mine --list-models`) or an inline model.
    pub model: MachineModel,
    /// Number of machines.
    pub count: u32,
    /// Age of the machines at the start (months).
    #[serde(default)]
    pub age_months: u32,
    /// Share of time the machines hash when running (percent).
    #[serde(default = "default_uptime")]
    pub uptime_percent: f64,
    /// FPPS pool fee (percent of gross mining revenue).
    #[serde(default = "default_pool_fee")]
    pub pool_fee_percent: f64,
    /// Switch machines off in months when they earn less than their power costs.
    #[serde(default = "default_true")]
    pub economic_curtailment: bool,
    /// Sell PPA power that curtailed machines do not draw back at the spot price.
    #[serde(default)]
    pub power_credit_sales: bool,
    /// What happens at the end of the machines' life.
    #[serde(default)]
    pub renewal: Renewal,
    /// Economic life of a machine (months).
    #[serde(default = "default_asic_life_months")]
    pub life_months: u32,
    /// Price of frontier machines bought at renewal (USD per TH/s), sustaining capex.
    #[serde(default = "default_frontier_price")]
    pub renewal_price_usd_per_th: f64,
}

/// An ASIC model: a catalog name or the figures of a machine not in the catalog.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum MachineModel {
    /// A model of the built-in catalog, by name.
    Catalog(String),
    /// A model given in the file.
    Inline(AsicModel),
}

/// Fleet renewal policy.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Renewal {
    /// Machines at the end of their life are replaced by frontier machines drawing the same
    /// power; the purchase is sustaining capex (it reduces CFADS).
    ReplaceWithFrontier,
    /// Machines keep running past their life until they fail (no capex).
    #[default]
    RunDown,
}

/// A named counterparty: a tenant, an offtaker or a guarantor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Counterparty {
    /// Name; the same name in several places (or borrowers) is the same counterparty.
    pub name: String,
    /// Annual default probability in the base case (percent).
    pub default_probability_percent_per_year: f64,
    /// How much the hazard rises as AI demand falls: hazard × (1 + sensitivity × demand drop).
    #[serde(default = "default_ai_demand_sensitivity")]
    pub ai_demand_sensitivity: f64,
    /// Correlation of the counterparty's credit with the credit cycle, a systematic factor
    /// drawn once per Monte Carlo path and shared by every counterparty (the Gaussian
    /// copula's asset correlation ρ, as in Basel's one-factor model; 0–1). 0: given the
    /// market path, counterparties default independently.
    #[serde(default)]
    pub asset_correlation: f64,
    /// Assumed default month, a what-if for the projection (the Monte Carlo draws defaults
    /// itself); none: the counterparty pays throughout.
    #[serde(default)]
    pub default_month: Option<YearMonth>,
}

/// A guarantor that backstops a lease up to a cap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Backstop {
    /// The guarantor.
    pub guarantor: Counterparty,
    /// Most the guarantor pays over the lease's life (USD).
    pub cap_usd: f64,
}

/// A colocation lease of critical IT capacity (`[[colocation_lease]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ColocationLease {
    /// Name; conversions and debt refer to it.
    pub name: String,
    /// Site it occupies.
    pub site: String,
    /// Critical IT load leased (MW).
    pub critical_it_mw: f64,
    /// Rent in the first lease year (USD per kW of critical IT a month).
    pub rent_usd_per_kw_month: f64,
    /// Annual rent escalator (percent).
    #[serde(default)]
    pub escalator_percent_per_year: f64,
    /// First month of rent.
    pub start_month: YearMonth,
    /// Lease term (months).
    pub tenor_months: u32,
    /// Operating cost borne by the landlord (USD per kW-month); power is passed through.
    #[serde(default = "default_lease_opex")]
    pub opex_usd_per_kw_month: f64,
    /// The tenant.
    pub tenant: Counterparty,
    /// A guarantor of the tenant's rent, if any.
    #[serde(default)]
    pub backstop: Option<Backstop>,
    /// After the tenant defaults: months the capacity stands empty before it is let again.
    #[serde(default = "default_re_lease_downtime_months")]
    pub re_lease_downtime_months: u32,
    /// After the tenant defaults: rent of the new lease in percent of the contracted rent,
    /// scaled by AI demand at the time.
    #[serde(default = "default_re_lease_rent_percent")]
    pub re_lease_rent_percent: f64,
}

/// Owned GPUs rented out (`[[gpu_cloud]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GpuCloud {
    /// Name; conversions and debt refer to it.
    pub name: String,
    /// Site it runs at.
    pub site: String,
    /// GPU generation, one of `market.gpu.generations`.
    pub generation: String,
    /// Number of GPUs.
    pub gpu_count: u32,
    /// All-in cost per GPU (servers, network, installation; USD), paid in `start_month`.
    pub capex_usd_per_gpu: f64,
    /// Critical IT power per GPU including its share of the server (kW).
    pub power_kw_per_gpu: f64,
    /// First month of service.
    pub start_month: YearMonth,
    /// Economic life (months); the GPUs are retired after it.
    #[serde(default = "default_gpu_life_months")]
    pub life_months: u32,
    /// Share of the GPUs under a take-or-pay contract (percent).
    #[serde(default)]
    pub contracted_percent: f64,
    /// Contract price (USD per GPU-hour).
    #[serde(default)]
    pub contract_rate_usd_per_gpu_hour: f64,
    /// Contract term from `start_month` (months).
    #[serde(default)]
    pub contract_tenor_months: u32,
    /// The contract's offtaker.
    #[serde(default)]
    pub offtaker: Option<Counterparty>,
    /// Operating cost (USD per GPU-hour, excluding power).
    #[serde(default = "default_gpu_opex")]
    pub opex_usd_per_gpu_hour: f64,
}

/// Moving MW of a site from mining to AI (`[[conversion]]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Conversion {
    /// Name shown in tables.
    pub name: String,
    /// Site converted.
    pub site: String,
    /// Critical IT capacity built (MW); mining loses this times the site's AI PUE.
    pub critical_it_mw: f64,
    /// First month of construction; mining capacity is removed from this month.
    pub start_month: YearMonth,
    /// Construction months; the capacity is ready at the end.
    pub duration_months: u32,
    /// Build cost (USD per MW of critical IT), spent evenly over construction.
    pub capex_usd_per_mw: f64,
    /// The colocation lease or GPU cloud the capacity feeds.
    pub feeds: String,
}

/// Random risks of the borrower's own (`[idiosyncratic]`), drawn on every Monte Carlo path
/// from a key of the run's seed and the borrower's name: unplanned site outages and late
/// conversions. The deterministic projection draws none of them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct IdiosyncraticRisk {
    /// Unplanned outages per site per year (events a year; Poisson, each site on its own),
    /// beyond the expected `outage_days_per_year` of the site.
    pub site_outage_events_per_year: f64,
    /// Days a site is dark per unplanned outage (days, 0–31).
    pub site_outage_event_days: f64,
    /// Probability that each `[[conversion]]` completes late (percent).
    pub conversion_delay_probability_percent: f64,
    /// Mean delay of a late conversion (months): the delay is ⌈E⌉ months with E exponential of
    /// this mean, capped at 36 months.
    pub conversion_delay_mean_months: f64,
}

impl Default for IdiosyncraticRisk {
    fn default() -> Self {
        IdiosyncraticRisk {
            site_outage_events_per_year: 0.0,
            site_outage_event_days: 7.0,
            conversion_delay_probability_percent: 0.0,
            conversion_delay_mean_months: 6.0,
        }
    }
}

impl IdiosyncraticRisk {
    /// Longest conversion delay drawn (months).
    pub const MAX_CONVERSION_DELAY_MONTHS: u32 = 36;

    /// Whether any risk is drawn: an outage rate or a delay probability above 0.
    pub fn is_active(&self) -> bool {
        self.site_outage_events_per_year > 0.0 || self.conversion_delay_probability_percent > 0.0
    }
}

/// The BTC treasury (`[treasury]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Treasury {
    /// BTC held at the start.
    #[serde(default)]
    pub btc_held: f64,
    /// Share of each month's mined BTC sold that month (percent); the rest is held.
    #[serde(default = "default_hundred")]
    pub sell_mined_percent: f64,
}

/// Operating costs not tied to a fleet or lease (`[opex]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Opex {
    /// Corporate overhead (USD a month).
    #[serde(default)]
    pub fixed_usd_per_month: f64,
    /// Site operations per MW of grid capacity left to mining (USD per MW-month); AI load
    /// carries its own opex in its lease or GPU cloud.
    #[serde(default)]
    pub site_usd_per_mw_month: f64,
    /// Maintenance capex per MW of grid capacity left to mining (USD per MW-month); reduces
    /// CFADS.
    #[serde(default)]
    pub maintenance_capex_usd_per_mw_month: f64,
    /// Annual escalation of the costs above (percent).
    #[serde(default)]
    pub escalation_percent_per_year: f64,
}

/// Income tax (`[tax]`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tax {
    /// Rate on taxable income (percent).
    #[serde(default)]
    pub rate_percent: f64,
    /// Straight-line tax life of capex (months).
    #[serde(default = "default_depreciation_months")]
    pub depreciation_months: u32,
    /// Undepreciated tax basis at the start (USD), depreciated over `depreciation_months`.
    #[serde(default)]
    pub opening_tax_basis_usd: f64,
}

/// What happens to cash the business does not need (`[distributions]`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Distributions {
    /// Share of cash above `minimum_cash_usd` paid out each month (percent); 0 retains cash.
    #[serde(default)]
    pub excess_cash_percent: f64,
    /// Cash kept in the business before anything is paid out (USD).
    #[serde(default)]
    pub minimum_cash_usd: f64,
}

fn default_mining_pue() -> f64 {
    1.05
}
fn default_ai_pue() -> f64 {
    1.3
}
fn default_hundred() -> f64 {
    100.0
}
fn default_powered_site_usd_per_mw() -> f64 {
    // Assumption: powered land with an energised interconnection changes hands for
    // roughly $1 M per MW in 2025 transactions.
    1_000_000.0
}
fn default_uptime() -> f64 {
    97.0
}
fn default_pool_fee() -> f64 {
    2.0
}
fn default_true() -> bool {
    true
}
fn default_asic_life_months() -> u32 {
    60
}
fn default_frontier_price() -> f64 {
    // S21 XP, November 2025 (shared/REFERENCE.md).
    25.70
}
fn default_ai_demand_sensitivity() -> f64 {
    2.0
}
fn default_re_lease_downtime_months() -> u32 {
    // Assumption: a powered, fitted hall is let again within two quarters.
    6
}
fn default_re_lease_rent_percent() -> f64 {
    // Assumption: a forced re-letting concedes a fifth of the contracted rent.
    80.0
}
fn default_lease_opex() -> f64 {
    // Site NOI margins of 80–90 % on ≈ $120–150 per kW-month (shared/REFERENCE.md).
    18.0
}
fn default_gpu_life_months() -> u32 {
    60
}
fn default_gpu_opex() -> f64 {
    0.15
}
fn default_depreciation_months() -> u32 {
    60
}

impl Default for Treasury {
    fn default() -> Self {
        Treasury {
            btc_held: 0.0,
            sell_mined_percent: default_hundred(),
        }
    }
}

impl Default for Tax {
    fn default() -> Self {
        Tax {
            rate_percent: 0.0,
            depreciation_months: default_depreciation_months(),
            opening_tax_basis_usd: 0.0,
        }
    }
}
