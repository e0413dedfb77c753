//! The market base case: BTC price, fees, the network at the start, the world fleet, GPU rents,
//! AI demand, power and interest rates.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::YearMonth;
use super::market_model::MarketModel;

/// The `[market]` table: the deterministic base case every projection starts from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Market {
    /// BTC price at the start (USD); default: the network snapshot's price.
    #[serde(default)]
    pub btc_price_usd: Option<f64>,
    /// Annual drift of the BTC price (percent, continuously compounded); default: the SOFR
    /// rate, never the historical drift.
    #[serde(default)]
    pub btc_drift_percent_per_year: Option<f64>,
    /// An explicit monthly BTC price path (USD), first entry for the start month; past its end
    /// the price follows the drift from the last entry.
    #[serde(default)]
    pub btc_price_series_usd: Vec<f64>,
    /// Fees per block (BTC); default: the snapshot's 144-block mean.
    #[serde(default)]
    pub fees_btc_per_block: Option<f64>,
    /// The network at the start; default: the built-in snapshot.
    #[serde(default)]
    pub network: Option<NetworkStart>,
    /// The world fleet's cost curve (a labelled assumption: no public data gives it).
    #[serde(default)]
    pub world_fleet: WorldFleet,
    /// GPU rents and AI demand.
    #[serde(default)]
    pub gpu: GpuMarket,
    /// Wholesale (spot) power price at the start (USD/MWh), the monthly average.
    #[serde(default = "default_power_price_usd_per_mwh")]
    pub power_price_usd_per_mwh: f64,
    /// Annual escalation of the spot power price (percent).
    #[serde(default)]
    pub power_price_escalation_percent_per_year: f64,
    /// Secured overnight financing rate, the floating base rate (percent a year).
    #[serde(default = "default_sofr_percent")]
    pub sofr_percent: f64,
    /// Volatility of the BTC price (percent a year), for the lowest price within a month
    /// (margin calls are triggered within the month, not only at its end).
    #[serde(default = "default_btc_volatility_percent_per_year")]
    pub btc_volatility_percent_per_year: f64,
    /// Depth of the markets where collateral is sold after a default (a labelled assumption).
    #[serde(default)]
    pub liquidation: LiquidationMarkets,
    /// The stochastic market of the Monte Carlo.
    #[serde(default)]
    pub model: MarketModel,
}

/// The markets collateral is sold into: each asset class clears a monthly volume, and selling
/// more pushes the price down exponentially (p = p₀·exp(−β·q/Q)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiquidationMarkets {
    /// Mining machines, each efficiency band a market of its own.
    #[serde(default = "default_asic_depth")]
    pub asic: LiquidationDepth,
    /// GPUs, each generation a market of its own.
    #[serde(default = "default_gpu_depth")]
    pub gpu: LiquidationDepth,
    /// BTC.
    #[serde(default = "default_btc_depth")]
    pub btc: LiquidationDepth,
    /// Powered sites and data centres with their leases.
    #[serde(default = "default_site_depth")]
    pub site: LiquidationDepth,
    /// Depth in the stress regime, in percent of the calm depth.
    #[serde(default = "default_stress_depth_percent")]
    pub stress_depth_percent: f64,
    /// Markets of particular GPU generations deeper or thinner than `gpu`
    /// (`[[market.liquidation.gpu_generation]]`).
    #[serde(default)]
    pub gpu_generation: Vec<GenerationDepth>,
    /// Markets of particular efficiency bands of mining machines deeper or thinner than
    /// `asic` (`[[market.liquidation.asic_band]]`).
    #[serde(default)]
    pub asic_band: Vec<AsicBandDepth>,
}

/// The liquidation market of one GPU generation, replacing `gpu`'s depth for it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerationDepth {
    /// The generation (a name of `market.gpu.generations`).
    pub generation: String,
    /// Volume the market clears in a month at undisturbed prices (USD).
    pub monthly_volume_usd: f64,
    /// Price fall from selling a tenth of the monthly volume (percent).
    pub impact_percent: f64,
}

/// The liquidation market of one efficiency band of mining machines, replacing `asic`'s
/// depth for it. Bands are bounded at 14, 17, 20, 24, 28, 34 and 45 J/TH.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AsicBandDepth {
    /// An efficiency in the band (J/TH): the band it falls in.
    pub efficiency_j_per_th: f64,
    /// Volume the market clears in a month at undisturbed prices (USD).
    pub monthly_volume_usd: f64,
    /// Price fall from selling a tenth of the monthly volume (percent).
    pub impact_percent: f64,
}

/// Upper edges of the efficiency bands of mining machines' liquidation markets (J/TH): a
/// machine is in the first band whose edge is above its efficiency, the least efficient in
/// the last.
pub const ASIC_BAND_EDGES_J_PER_TH: [f64; 7] = [14.0, 17.0, 20.0, 24.0, 28.0, 34.0, 45.0];

/// The liquidation band of machines at `j_per_th` (0 = most efficient).
pub fn asic_band(j_per_th: f64) -> u8 {
    ASIC_BAND_EDGES_J_PER_TH
        .iter()
        .position(|&edge| j_per_th < edge)
        .unwrap_or(ASIC_BAND_EDGES_J_PER_TH.len()) as u8
}

/// One asset class's liquidation market in the calm regime.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LiquidationDepth {
    /// Volume the market clears in a month at undisturbed prices (USD).
    pub monthly_volume_usd: f64,
    /// Price fall from selling a tenth of the monthly volume (percent).
    pub impact_percent: f64,
}

/// The network at the start of the first month.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkStart {
    /// Height of the last block before the start.
    pub height: u32,
    /// Difficulty in force (Core's `getdifficulty`); the compact bits are derived from it.
    pub difficulty: f64,
    /// Timestamp of the first block of the current 2016-block epoch (Unix seconds).
    pub epoch_start_time_unix_s: i64,
    /// Timestamp of the block at `height` (Unix seconds).
    pub time_unix_s: i64,
    /// Network hashrate at the start (EH/s); default: the hashrate the difficulty implies.
    #[serde(default)]
    pub hashrate_ehs: Option<f64>,
}

/// The world mining fleet as a cost curve: hashrate by efficiency band and the spread of the
/// power prices miners pay. A labelled assumption (no public data gives it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorldFleet {
    /// Efficiency bands of the installed fleet at the start.
    #[serde(default = "default_fleet_bands")]
    pub bands: Vec<FleetBand>,
    /// Median power price paid by the world's miners (USD/MWh).
    #[serde(default = "default_world_power_usd_per_mwh")]
    pub power_price_median_usd_per_mwh: f64,
    /// Spread of miners' power prices around the median (USD/MWh, logistic scale): a band's
    /// running share falls smoothly as its hashcost passes hashprice.
    #[serde(default = "default_world_power_spread_usd_per_mwh")]
    pub power_price_spread_usd_per_mwh: f64,
    /// Efficiency of the newest machines at the start (J/TH).
    #[serde(default = "default_frontier_j_per_th")]
    pub frontier_efficiency_j_per_th: f64,
    /// Price of frontier machines at the start (USD per TH/s); it falls with efficiency (the
    /// price per watt stays constant).
    #[serde(default = "default_frontier_price_usd_per_th")]
    pub frontier_price_usd_per_th: f64,
    /// Months over which new miners expect to recover a machine's price.
    #[serde(default = "default_frontier_amortisation_months")]
    pub frontier_amortisation_months: u32,
    /// How fast the frontier efficiency improves (percent less energy per TH a year).
    #[serde(default = "default_frontier_improvement")]
    pub frontier_improvement_percent_per_year: f64,
    /// Capacity growth a year when the frontier machine's margin is 100 % of hashprice
    /// (percent of installed hashrate; scales linearly with the margin, none below zero).
    #[serde(default = "default_growth_at_full_margin")]
    pub growth_percent_per_year_at_full_margin: f64,
    /// Months between a margin and the capacity it pays for being switched on.
    #[serde(default = "default_deployment_lag_months")]
    pub deployment_lag_months: u32,
    /// Installed capacity retired each year (percent).
    #[serde(default = "default_retirement")]
    pub retirement_percent_per_year: f64,
}

/// One band of the world fleet.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FleetBand {
    /// Efficiency of the band (J/TH).
    pub efficiency_j_per_th: f64,
    /// The band's share of installed hashrate (percent; the bands sum to 100).
    pub hashrate_share_percent: f64,
}

/// GPU rent reference index, its generations and AI demand.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GpuMarket {
    /// The reference index at the start (USD per GPU-hour): the rent of a generation whose
    /// factor is 1.
    #[serde(default = "default_reference_rent")]
    pub reference_rent_usd_per_gpu_hour: f64,
    /// Annual deflation of the reference index (percent a year, continuously compounded).
    #[serde(default = "default_rent_deflation")]
    pub rent_deflation_percent_per_year: f64,
    /// Share of rentable GPU hours that are rented (AI utilisation, percent).
    #[serde(default = "default_utilisation")]
    pub utilisation_percent: f64,
    /// GPU generations: their rent relative to the index and their launch dates.
    #[serde(default = "default_generations")]
    pub generations: Vec<GpuGeneration>,
}

/// A GPU generation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GpuGeneration {
    /// Name (e.g. "H100"); GPU clouds refer to it.
    pub name: String,
    /// Month of general availability.
    pub launch_month: YearMonth,
    /// Rent relative to the reference index at the start month.
    pub rent_factor: f64,
    /// Factor applied to every older generation's rent when this one launches after the start
    /// month (0–1]; launches before the start are already in the rent factors.
    pub step_down_factor: f64,
}

fn default_power_price_usd_per_mwh() -> f64 {
    45.0
}
fn default_sofr_percent() -> f64 {
    // SOFR in late 2025 (after the October 2025 cut): ≈ 3.9 %.
    3.9
}
fn default_fleet_bands() -> Vec<FleetBand> {
    // Labelled assumption: the late-2025 fleet mix by efficiency, shaped on the catalog's
    // generations (S21 XP / Hydro ≈ 12–13.5 J/TH, S21 Pro/+ ≈ 15, S21 / M60 ≈ 17.5–18.5,
    // S19 XP ≈ 21.5, S19j Pro ≈ 29.5).
    [
        (12.5, 20.0),
        (15.0, 25.0),
        (18.0, 25.0),
        (21.5, 15.0),
        (29.5, 15.0),
    ]
    .into_iter()
    .map(|(efficiency_j_per_th, hashrate_share_percent)| FleetBand {
        efficiency_j_per_th,
        hashrate_share_percent,
    })
    .collect()
}
fn default_world_power_usd_per_mwh() -> f64 {
    45.0
}
fn default_world_power_spread_usd_per_mwh() -> f64 {
    15.0
}
fn default_frontier_j_per_th() -> f64 {
    12.0
}
fn default_frontier_price_usd_per_th() -> f64 {
    // S21 XP, November 2025 (shared/REFERENCE.md).
    25.70
}
fn default_frontier_amortisation_months() -> u32 {
    48
}
fn default_frontier_improvement() -> f64 {
    10.0
}
fn default_growth_at_full_margin() -> f64 {
    80.0
}
fn default_deployment_lag_months() -> u32 {
    6
}
fn default_retirement() -> f64 {
    5.0
}
fn default_reference_rent() -> f64 {
    // H100 list rent, March 2026 ($2.35, shared/REFERENCE.md).
    2.35
}
fn default_rent_deflation() -> f64 {
    // A100 list rents fell ≈ 23 % a year 2023-01 → 2026-09 (shared/REFERENCE.md), of which the
    // generation step-downs below explain about half; the index carries the rest.
    10.0
}
fn default_utilisation() -> f64 {
    85.0
}
fn default_generations() -> Vec<GpuGeneration> {
    // Launch months from the vendors' general-availability dates; Rubin as announced for
    // the second half of 2026, Rubin Ultra for 2027 and Feynman for 2028 (assumptions). Rent factors relative
    // to the H100 index from the 2025–26 rate cards (shared/data).
    let generation =
        |name: &str, launch: &str, rent_factor: f64, step_down_factor: f64| GpuGeneration {
            name: name.to_string(),
            launch_month: launch.parse().expect("valid built-in month"),
            rent_factor,
            step_down_factor,
        };
    vec![
        generation("A100", "2020-05", 0.6, 0.85),
        generation("H100", "2022-10", 1.0, 0.85),
        generation("H200", "2024-06", 1.2, 0.9),
        generation("B200", "2025-03", 1.8, 0.85),
        generation("GB300", "2025-10", 2.2, 0.9),
        generation("Rubin", "2026-10", 2.8, 0.85),
        generation("Rubin Ultra", "2027-10", 3.5, 0.9),
        generation("Feynman", "2028-10", 4.5, 0.85),
    ]
}

impl Default for WorldFleet {
    fn default() -> Self {
        WorldFleet {
            bands: default_fleet_bands(),
            power_price_median_usd_per_mwh: default_world_power_usd_per_mwh(),
            power_price_spread_usd_per_mwh: default_world_power_spread_usd_per_mwh(),
            frontier_efficiency_j_per_th: default_frontier_j_per_th(),
            frontier_price_usd_per_th: default_frontier_price_usd_per_th(),
            frontier_amortisation_months: default_frontier_amortisation_months(),
            frontier_improvement_percent_per_year: default_frontier_improvement(),
            growth_percent_per_year_at_full_margin: default_growth_at_full_margin(),
            deployment_lag_months: default_deployment_lag_months(),
            retirement_percent_per_year: default_retirement(),
        }
    }
}

impl Default for GpuMarket {
    fn default() -> Self {
        GpuMarket {
            reference_rent_usd_per_gpu_hour: default_reference_rent(),
            rent_deflation_percent_per_year: default_rent_deflation(),
            utilisation_percent: default_utilisation(),
            generations: default_generations(),
        }
    }
}

fn default_btc_volatility_percent_per_year() -> f64 {
    // Annualised volatility of daily BTC log returns: 54 % over 2022–25, 46 % over 2023–26
    // (REFERENCE, computed from data/).
    50.0
}

// Liquidation depths are assumptions: no public data gives the clearing volume of secondary
// markets for mining machines, GPUs or data centres.
fn default_asic_depth() -> LiquidationDepth {
    // 2022: about $4 bn of rig-backed loans met a rig market that fell 85–90 %.
    LiquidationDepth {
        monthly_volume_usd: 150e6,
        impact_percent: 10.0,
    }
}
fn default_gpu_depth() -> LiquidationDepth {
    LiquidationDepth {
        monthly_volume_usd: 1e9,
        impact_percent: 10.0,
    }
}
fn default_btc_depth() -> LiquidationDepth {
    // Spot BTC trades hundreds of billions of USD a month.
    LiquidationDepth {
        monthly_volume_usd: 100e9,
        impact_percent: 1.0,
    }
}
fn default_site_depth() -> LiquidationDepth {
    // Data-centre and powered-land transactions: several billion USD a month in 2025.
    LiquidationDepth {
        monthly_volume_usd: 5e9,
        impact_percent: 10.0,
    }
}
fn default_stress_depth_percent() -> f64 {
    50.0
}

impl Default for LiquidationMarkets {
    fn default() -> Self {
        LiquidationMarkets {
            asic: default_asic_depth(),
            gpu: default_gpu_depth(),
            btc: default_btc_depth(),
            site: default_site_depth(),
            stress_depth_percent: default_stress_depth_percent(),
            gpu_generation: Vec::new(),
            asic_band: Vec::new(),
        }
    }
}
