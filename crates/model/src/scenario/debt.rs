//! Debt instruments (`[[debt]]`): kinds, rates, schedules, covenants.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::YearMonth;

/// One debt instrument.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Debt {
    /// Name shown in tables.
    pub name: String,
    /// The kind of instrument.
    pub kind: DebtKind,
    /// Principal (USD): the amount drawn for a term loan (for a loan drawn before the start,
    /// the balance outstanding at the start); for project finance the most the lenders commit
    /// (sizing may give less).
    #[serde(default)]
    pub principal_usd: Option<f64>,
    /// Project finance: most debt as a share of the financed capex (percent).
    #[serde(default)]
    pub loan_to_cost_percent: Option<f64>,
    /// Project finance: the DSCR the sculpted schedule targets in the base case.
    #[serde(default)]
    pub target_dscr: Option<f64>,
    /// The conversion whose capex the loan finances (drawn with construction spend); with
    /// `ring_fenced`, that conversion and the lease or GPU cloud it feeds form the project
    /// company.
    #[serde(default)]
    pub funds: Option<String>,
    /// Month a term loan is drawn; default: the start month.
    #[serde(default)]
    pub draw_month: Option<YearMonth>,
    /// Fixed coupon (percent a year); give this or `margin_bps`.
    #[serde(default)]
    pub fixed_rate_percent: Option<f64>,
    /// Floating margin over SOFR (basis points); give this or `fixed_rate_percent`.
    #[serde(default)]
    pub margin_bps: Option<f64>,
    /// Repayment schedule.
    pub schedule: Schedule,
    /// Custom schedule: principal repaid each month from the first amortisation month
    /// (percent of the original principal; the rest is due at maturity).
    #[serde(default)]
    pub custom_repayment_percent: Vec<f64>,
    /// First month of principal repayment; default: the month after the draw (or after
    /// construction completes).
    #[serde(default)]
    pub amortisation_start_month: Option<YearMonth>,
    /// Month the remaining balance is due.
    pub maturity_month: YearMonth,
    /// Rank in a default.
    #[serde(default)]
    pub seniority: Seniority,
    /// Names of the assets (sites, fleets, leases, GPU clouds, "treasury") securing the debt.
    #[serde(default)]
    pub collateral: Vec<String>,
    /// The debt sits in its own project company with its own cash and collateral.
    #[serde(default)]
    pub ring_fenced: bool,
    /// Debt service reserve: months of scheduled debt service kept in reserve (0: none).
    #[serde(default)]
    pub dsra_months: u32,
    /// Maintenance covenants.
    #[serde(default)]
    pub covenants: Covenants,
    /// Upfront fee (basis points of the principal), paid at the draw.
    #[serde(default)]
    pub upfront_fee_bps: f64,
    /// Spread the market charges over the risk-free rate for this debt (basis points), to
    /// compare with the break-even spread.
    #[serde(default)]
    pub market_spread_bps: Option<f64>,
}

/// Kinds of debt. (Asset-backed, convertible, high-yield and BTC-backed loans come next.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DebtKind {
    /// A corporate term loan drawn once.
    TermLoan,
    /// Project finance: drawn with construction, sized once at close, sculpted to a DSCR.
    ProjectFinance,
}

/// How principal is repaid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// Everything at maturity.
    Bullet,
    /// Equal principal each month from the first amortisation month to maturity.
    Linear,
    /// The percentages in `custom_repayment_percent`, the rest at maturity.
    Custom,
    /// Debt service = base-case CFADS / target DSCR (project finance only).
    Sculpted,
}

/// Rank of a claim in a default.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Seniority {
    /// First claim on its collateral.
    #[default]
    SeniorSecured,
    /// Ranks with the other unsecured claims.
    SeniorUnsecured,
    /// Paid after the senior claims.
    Subordinated,
}

/// Maintenance covenants, tested quarterly from the first full quarter after completion.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Covenants {
    /// Months of CFADS and debt service in the DSCR test (trailing).
    #[serde(default = "default_dscr_window")]
    pub dscr_window_months: u32,
    /// Below this DSCR cash is locked up (no distributions); none if absent.
    #[serde(default)]
    pub lock_up_dscr: Option<f64>,
    /// Below this DSCR the debt is in default unless cured; none if absent.
    #[serde(default)]
    pub default_dscr: Option<f64>,
    /// Above this loan-to-value (percent of collateral value) the debt is in default unless
    /// cured; none if absent.
    #[serde(default)]
    pub max_ltv_percent: Option<f64>,
    /// How many times the sponsor may cure a breach with equity over the life of the debt.
    #[serde(default)]
    pub equity_cures: u32,
}

fn default_dscr_window() -> u32 {
    12
}

impl Default for Covenants {
    fn default() -> Self {
        Covenants {
            dscr_window_months: default_dscr_window(),
            lock_up_dscr: None,
            default_dscr: None,
            max_ltv_percent: None,
            equity_cures: 0,
        }
    }
}
