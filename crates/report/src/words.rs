//! How the engine's enumerations and the base case's assumptions read in tables and reports.

use bitwatt_engine::{DefaultCause, LiquidationKind, Rate};
use bitwatt_model::Scenario;

/// How a default cause reads in a table: `payment shortfall`, `DSCR covenant`, ….
pub fn cause_text(cause: DefaultCause) -> &'static str {
    match cause {
        DefaultCause::Payment => "payment shortfall",
        DefaultCause::DscrCovenant => "DSCR covenant",
        DefaultCause::LtvCovenant => "LTV covenant",
        DefaultCause::Maturity => "balance due at maturity unpaid",
        DefaultCause::MarginCall => "margin call unmet",
        DefaultCause::CrossDefault => "cross-default",
    }
}

/// How an interest rate reads: `9.50 % fixed` or `SOFR + 450 bp`.
pub fn rate_text(rate: Rate) -> String {
    match rate {
        Rate::Fixed(rate) => format!("{:.2} % fixed", rate * 100.0),
        Rate::Floating(margin) => format!("SOFR + {:.0} bp", margin * 10_000.0),
    }
}

/// How a kind of liquidated collateral reads: `ASICs`, `GPUs`, `BTC`, `sites`.
pub fn liquidation_kind_text(kind: LiquidationKind) -> &'static str {
    match kind {
        LiquidationKind::Asic => "ASICs",
        LiquidationKind::Gpu => "GPUs",
        LiquidationKind::Btc => "BTC",
        LiquidationKind::Site => "sites",
    }
}

/// What the base case assumes rather than observes, printed under every projection.
pub fn assumption_notes(scenario: &Scenario) -> Vec<String> {
    let market = &scenario.market;
    let drift = match market.btc_drift_percent_per_year {
        Some(drift) => format!("BTC drift {drift:.2} % a year, as the scenario sets it"),
        None => format!(
            "BTC drift = SOFR ({:.2} % a year), never the historical drift",
            market.sofr_percent
        ),
    };
    let fleet = &market.world_fleet;
    vec![
        drift,
        format!(
            "network hashrate follows an assumed world-fleet cost curve ({} efficiency bands, \
             miners' power at ${:.0} ± {:.0}/MWh; market.world_fleet)",
            fleet.bands.len(),
            fleet.power_price_median_usd_per_mwh,
            fleet.power_price_spread_usd_per_mwh
        ),
    ]
}
