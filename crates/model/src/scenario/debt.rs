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
    /// Asset-backed loan and revolver: the most the lenders commit (USD).
    #[serde(default)]
    pub commitment_usd: Option<f64>,
    /// Asset-backed loan: last month of the draw window; the commitment is drawn in equal
    /// monthly parts from `draw_month` to this month, each within the borrowing base.
    /// Default: all at `draw_month`.
    #[serde(default)]
    pub draw_end_month: Option<YearMonth>,
    /// Asset-backed loan (and optionally a revolver): borrowing base = this share of the
    /// collateral's market value (percent).
    #[serde(default)]
    pub advance_rate_percent: Option<f64>,
    /// Asset-backed loan: the advance rate falls by this many percentage points a year from
    /// the first draw (0: constant).
    #[serde(default)]
    pub advance_rate_step_down_percent_per_year: f64,
    /// Revolver: fee on the undrawn commitment (basis points a year).
    #[serde(default)]
    pub commitment_fee_bps: f64,
    /// High-yield bond: call prices by month; the issuer calls the whole bond when its free
    /// cash covers the call price.
    #[serde(default)]
    pub call_schedule: Vec<CallPrice>,
    /// BTC-backed loan: BTC pledged from the treasury.
    #[serde(default)]
    pub btc_pledged: Option<f64>,
    /// BTC-backed loan: LTV (percent) at which the lender calls for more collateral.
    #[serde(default)]
    pub margin_call_ltv_percent: Option<f64>,
    /// BTC-backed loan: LTV (percent) at which the lender sells the pledged BTC.
    #[serde(default)]
    pub liquidation_ltv_percent: Option<f64>,
    /// BTC-backed loan: the LTV (percent) a margin call restores; default: the LTV at the
    /// draw.
    #[serde(default)]
    pub top_up_ltv_percent: Option<f64>,
    /// Refinancing of the balance left at maturity; none: it must be repaid from cash.
    #[serde(default)]
    pub refinancing: Option<Refinancing>,
}

/// A call price of a high-yield bond.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallPrice {
    /// First month the price applies (until the next entry).
    pub from_month: YearMonth,
    /// Price in percent of the principal.
    pub price_percent: f64,
}

/// How a balance left at maturity is refinanced: only if, in the window before maturity, the
/// credit market is open (calm regime) and the borrower's DSCR clears the lender's minimum.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Refinancing {
    /// Months before maturity in which a refinancing can be arranged.
    #[serde(default = "default_refinancing_window_months")]
    pub window_months: u32,
    /// Trailing twelve-month DSCR the new lender requires.
    #[serde(default = "default_refinancing_min_dscr")]
    pub min_dscr: f64,
    /// Margin of the new loan over SOFR (basis points); default: the old loan's rate.
    #[serde(default)]
    pub margin_bps: Option<f64>,
    /// Term of the new loan (months), repaid at its end.
    #[serde(default = "default_refinancing_tenor_months")]
    pub tenor_months: u32,
}

fn default_refinancing_window_months() -> u32 {
    12
}
fn default_refinancing_min_dscr() -> f64 {
    1.25
}
fn default_refinancing_tenor_months() -> u32 {
    36
}

/// Kinds of debt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DebtKind {
    /// A corporate term loan drawn once.
    TermLoan,
    /// Project finance: drawn with construction, sized once at close, sculpted to a DSCR.
    ProjectFinance,
    /// Asset-backed / delayed-draw term loan: a commitment drawn over a window within a
    /// borrowing base (advance rate × collateral value); a shortfall is prepaid, and only an
    /// unpaid shortfall is a default.
    Abl,
    /// Convertible notes: coupon to maturity, incurrence covenants only. No equity price is
    /// modelled, so the notes are debt to maturity (never converted).
    Convertible,
    /// High-yield bond: fixed coupon, bullet, call schedule, incurrence covenants only.
    HighYield,
    /// Loan against pledged treasury BTC with margin calls.
    BtcBacked,
    /// Revolving credit facility: drawn when cash runs short, repaid from excess cash.
    Revolver,
}

impl DebtKind {
    /// Whether the kind carries only incurrence covenants (no maintenance tests).
    pub fn incurrence_only(self) -> bool {
        matches!(self, DebtKind::Convertible | DebtKind::HighYield)
    }
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
    /// Incurrence covenant: while net debt exceeds this multiple of last-twelve-month EBITDA
    /// the borrower may not draw new debt (revolver, delayed draws) nor pay distributions;
    /// none if absent.
    #[serde(default)]
    pub incurrence_max_net_leverage: Option<f64>,
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
            incurrence_max_net_leverage: None,
        }
    }
}
