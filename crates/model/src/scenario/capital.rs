//! The rest of the capital structure: hedges (`[[hedge]]`), at-the-market equity
//! (`[equity_issuance]`) and the terms of a workout after default (`[recovery]`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::YearMonth;

/// A hedge settled monthly in cash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Hedge {
    /// Name shown in tables.
    pub name: String,
    /// The kind of hedge.
    pub kind: HedgeKind,
    /// First month settled.
    pub start_month: YearMonth,
    /// Last month settled.
    pub end_month: YearMonth,
    /// BTC put or collar: BTC covered each month.
    #[serde(default)]
    pub btc_per_month: Option<f64>,
    /// BTC put or collar: the put strike (USD); the hedge pays (strike − price) per BTC when
    /// the month's average price is below it.
    #[serde(default)]
    pub put_strike_usd: Option<f64>,
    /// BTC collar: the call strike sold (USD); the borrower pays (price − strike) per BTC when
    /// the month's average price is above it.
    #[serde(default)]
    pub call_strike_usd: Option<f64>,
    /// Interest-rate swap or cap: the floating debt it hedges.
    #[serde(default)]
    pub debt: Option<String>,
    /// Interest-rate swap or cap: notional (USD); default: the hedged debt's balance each
    /// month.
    #[serde(default)]
    pub notional_usd: Option<f64>,
    /// Interest-rate swap: the fixed rate paid against SOFR (percent a year).
    #[serde(default)]
    pub fixed_rate_percent: Option<f64>,
    /// Interest-rate cap: SOFR above this strike is paid to the borrower (percent a year).
    #[serde(default)]
    pub cap_strike_percent: Option<f64>,
    /// Premium paid each month from start to end (USD); 0 for a zero-cost collar or a swap.
    #[serde(default)]
    pub premium_usd_per_month: f64,
}

/// Kinds of hedge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HedgeKind {
    /// A bought BTC put, settled monthly on the average price.
    BtcPut,
    /// A bought put and a sold call on BTC, settled monthly on the average price.
    BtcCollar,
    /// Pay fixed, receive SOFR on the notional.
    InterestRateSwap,
    /// Receive SOFR above the strike on the notional.
    InterestRateCap,
}

/// At-the-market equity issuance: shares sold into the market to cover a cash shortfall,
/// only while the market is calm.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EquityIssuance {
    /// Most raised in one month (USD, before the discount).
    pub max_usd_per_month: f64,
    /// Discount to the market price plus the agent's fee (percent of the amount sold).
    #[serde(default = "default_atm_discount_percent")]
    pub discount_percent: f64,
}

fn default_atm_discount_percent() -> f64 {
    // Assumption: ATM programmes pay agents 2–3 % and sell near the market price.
    3.0
}

/// What a default costs the lenders besides the fire sale.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Recovery {
    /// Months from default until the lenders receive the proceeds.
    #[serde(default = "default_workout_months")]
    pub workout_months: u32,
    /// Legal and administrative costs of the workout (percent of gross proceeds).
    #[serde(default = "default_workout_cost_percent")]
    pub workout_cost_percent: f64,
}

fn default_workout_months() -> u32 {
    // Assumption: US bankruptcies of secured borrowers resolve in about a year.
    12
}
fn default_workout_cost_percent() -> f64 {
    // Assumption: professional fees of a Chapter 11 run to a few percent of the estate.
    5.0
}

impl Default for Recovery {
    fn default() -> Self {
        Recovery {
            workout_months: default_workout_months(),
            workout_cost_percent: default_workout_cost_percent(),
        }
    }
}
