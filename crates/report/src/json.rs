//! The JSON documents that `bitwatt project --json`, `simulate --json` and `portfolio --json`
//! print, defined once for every front end (the command line, the Python binding).
//!
//! * [`ProjectJson`]: a borrower's base case, month by month;
//! * [`SimulateJson`]: a borrower's credit metrics over simulated paths;
//! * [`PortfolioJson`]: a lender's book on shared market paths.
//!
//! None carries how the run went (threads, wall time): the front end adds that. Each goes out
//! with the schema version as its first key ([`with_schema_version`]).

use bitwatt_engine::{
    ClaimRecovery, CollateralValues, CovenantHeadroom, CreditMetrics, DebtMonth, DebtOutcome,
    DefaultCause, DefaultEvent, Fingerprint, KindProceeds, Liquidation, LiquidationKind, MonthRow,
    PortfolioMetrics, Projection, SensitivityRow, Stress, btc_drift_per_year,
};
use bitwatt_model::{DebtKind, Scenario, YearMonth};
use serde::Serialize;

use crate::words::{assumption_notes, liquidation_kind_text, rate_text};

/// Version of the JSON documents; bumped when a key changes meaning or goes.
pub const OUTPUT_SCHEMA_VERSION: u32 = 1;

/// A document with `schema_version` as its first key.
#[derive(Serialize)]
pub struct Versioned<T: Serialize> {
    /// Always [`OUTPUT_SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The document, its keys after the version.
    #[serde(flatten)]
    pub document: T,
}

/// `document` with the schema version as its first key.
pub fn with_schema_version<T: Serialize>(document: T) -> Versioned<T> {
    Versioned {
        schema_version: OUTPUT_SCHEMA_VERSION,
        document,
    }
}

/// The first month of a stress's window on the projection: its own, or the projection's first.
pub fn stress_start(stress: &Stress, projection: &Projection) -> YearMonth {
    stress
        .start_month
        .unwrap_or(projection.borrower.start_month)
}

/// The full result of `simulate --json`, without how the run went.
#[derive(Serialize)]
pub struct SimulateJson<'a> {
    /// The scenario's name.
    pub scenario: &'a str,
    /// The stresses applied on every path, as given (`NAME[@YYYY-MM]`), in order.
    pub stresses: Vec<String>,
    /// What the result was computed from and by: the build, the inputs, the seed, the paths.
    pub fingerprint: &'a Fingerprint,
    /// Whether every path ran (false when the run was interrupted).
    pub complete: bool,
    /// The credit metrics, their keys at the top level of the document.
    #[serde(flatten)]
    pub metrics: &'a CreditMetrics,
    /// Where each covenant first breaks in the base case as one lever moves.
    pub headroom: &'a [CovenantHeadroom],
    /// With `--sensitivity`: the bumps ranked by their change in PD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensitivity: Option<&'a [SensitivityRow]>,
}

/// The full result of `portfolio --json`, without how the run went.
#[derive(Serialize)]
pub struct PortfolioJson<'a> {
    /// The book's name.
    pub book: &'a str,
    /// The seed of the random numbers.
    pub seed: u64,
    /// The stresses applied on every path, as given (`NAME[@YYYY-MM]`), in order.
    pub stresses: Vec<String>,
    /// The liquidation the summary reports (both are in the metrics).
    pub liquidation: Liquidation,
    /// The book's metrics, their keys at the top level of the document.
    #[serde(flatten)]
    pub metrics: &'a PortfolioMetrics,
}

/// The full result of `project --json`.
#[derive(Serialize)]
pub struct ProjectJson<'a> {
    scenario: &'a str,
    start_month: YearMonth,
    horizon_months: usize,
    btc_drift_percent_per_year: f64,
    assumptions: Vec<String>,
    stresses: Vec<StressJson>,
    summary: SummaryJson,
    recoveries: Option<RecoveriesJson<'a>>,
    debts: Vec<DebtJson<'a>>,
    months: Vec<MonthJson<'a>>,
}

#[derive(Serialize)]
struct RecoveriesJson<'a> {
    total_exposure_usd: f64,
    total_recovered_usd: f64,
    debts: Vec<ClaimJson<'a>>,
    liquidation: Vec<LiquidationJson>,
}

#[derive(Serialize)]
struct ClaimJson<'a> {
    name: &'a str,
    #[serde(flatten)]
    recovery: ClaimRecovery,
}

#[derive(Serialize)]
struct LiquidationJson {
    kind: &'static str,
    #[serde(flatten)]
    proceeds: KindProceeds,
}

#[derive(Serialize)]
struct StressJson {
    name: &'static str,
    start_month: YearMonth,
    description: &'static str,
}

#[derive(Serialize)]
struct MonthValue {
    value: f64,
    month: YearMonth,
}

#[derive(Serialize)]
struct DefaultJson {
    month: YearMonth,
    cause: DefaultCause,
    /// 0: the borrower; k: its k-th ring-fenced project company.
    entity: usize,
}

#[derive(Serialize)]
struct SummaryJson {
    months_run: usize,
    default: Option<DefaultJson>,
    min_dscr: Option<MonthValue>,
    max_ltv: Option<MonthValue>,
    covenant_breaches: u32,
    cures_used: u32,
    lock_up_months: u32,
    equity_irr: Option<f64>,
    market_equity_usd: f64,
    final_cash_usd: f64,
    collateral_at_end_usd: CollateralValues,
}

#[derive(Serialize)]
struct DebtJson<'a> {
    name: &'a str,
    kind: DebtKind,
    entity: usize,
    commitment_usd: f64,
    rate: String,
    outcome: DebtOutcomeJson,
    months: Vec<&'a DebtMonth>,
}

#[derive(Serialize)]
struct DebtOutcomeJson {
    default: Option<DefaultJson>,
    exposure_at_default_usd: f64,
    collateral_at_default_usd: f64,
    final_balance_usd: f64,
    interest_paid_usd: f64,
    principal_paid_usd: f64,
    peak_balance_usd: f64,
    min_tested_dscr: Option<f64>,
    covenant_breaches: u32,
    cures_used: u32,
    margin_calls: u32,
    refinancings: u32,
    called_month: Option<YearMonth>,
}

#[derive(Serialize)]
struct MonthJson<'a> {
    month: YearMonth,
    #[serde(flatten)]
    row: &'a MonthRow,
}

impl<'a> ProjectJson<'a> {
    /// The document of `scenario`'s base case `projection` under `stresses` (in order).
    pub fn new(
        scenario: &'a Scenario,
        projection: &'a Projection,
        stresses: &[Stress],
    ) -> ProjectJson<'a> {
        let start = projection.borrower.start_month;
        let at = |t: usize| start.plus_months(t as i32);
        let default_json = |event: DefaultEvent| DefaultJson {
            month: at(event.month_index),
            cause: event.cause,
            entity: event.entity,
        };
        let summary = &projection.summary;
        ProjectJson {
            scenario: &scenario.name,
            start_month: start,
            horizon_months: projection.borrower.horizon_months,
            btc_drift_percent_per_year: btc_drift_per_year(&scenario.market) * 100.0,
            assumptions: assumption_notes(scenario),
            recoveries: projection.recoveries.as_ref().map(|r| RecoveriesJson {
                total_exposure_usd: r.total_ead_usd,
                total_recovered_usd: r.total_recovered_usd,
                debts: projection
                    .borrower
                    .debts
                    .iter()
                    .zip(r.claims())
                    .filter(|(_, claim)| claim.lgd.is_some())
                    .map(|(plan, claim)| ClaimJson {
                        name: &plan.name,
                        recovery: *claim,
                    })
                    .collect(),
                liquidation: LiquidationKind::ALL
                    .iter()
                    .zip(&r.liquidation)
                    .map(|(kind, proceeds)| LiquidationJson {
                        kind: liquidation_kind_text(*kind),
                        proceeds: *proceeds,
                    })
                    .collect(),
            }),
            stresses: stresses
                .iter()
                .map(|stress| StressJson {
                    name: stress.kind.name(),
                    start_month: stress_start(stress, projection),
                    description: stress.kind.description(),
                })
                .collect(),
            summary: SummaryJson {
                months_run: summary.months_run,
                default: summary.default.map(default_json),
                min_dscr: summary.min_dscr.map(|(value, t)| MonthValue {
                    value,
                    month: at(t),
                }),
                max_ltv: summary.max_ltv.map(|(value, t)| MonthValue {
                    value,
                    month: at(t),
                }),
                covenant_breaches: summary.covenant_breaches,
                cures_used: summary.cures_used,
                lock_up_months: summary.lock_up_months,
                equity_irr: projection.equity_irr,
                market_equity_usd: summary.market_equity_usd,
                final_cash_usd: summary.final_cash_usd,
                collateral_at_end_usd: summary.collateral,
            },
            debts: projection
                .borrower
                .debts
                .iter()
                .zip(summary.debt_outcomes())
                .enumerate()
                .map(|(d, (plan, outcome))| DebtJson {
                    name: &plan.name,
                    kind: plan.kind,
                    entity: plan.entity,
                    commitment_usd: plan.commitment_usd,
                    rate: rate_text(plan.rate),
                    outcome: DebtOutcomeJson::new(
                        outcome,
                        outcome.default.map(default_json),
                        outcome.called_month.map(at),
                    ),
                    months: projection.debt_months_of(d).collect(),
                })
                .collect(),
            months: projection
                .months
                .iter()
                .enumerate()
                .map(|(t, row)| MonthJson { month: at(t), row })
                .collect(),
        }
    }
}

impl DebtOutcomeJson {
    fn new(
        outcome: &DebtOutcome,
        default: Option<DefaultJson>,
        called_month: Option<YearMonth>,
    ) -> DebtOutcomeJson {
        DebtOutcomeJson {
            default,
            exposure_at_default_usd: outcome.exposure_at_default_usd,
            collateral_at_default_usd: outcome.collateral_at_default_usd,
            final_balance_usd: outcome.final_balance_usd,
            interest_paid_usd: outcome.interest_paid_usd,
            principal_paid_usd: outcome.principal_paid_usd,
            peak_balance_usd: outcome.peak_balance_usd,
            min_tested_dscr: outcome.min_tested_dscr,
            covenant_breaches: outcome.covenant_breaches,
            cures_used: outcome.cures_used,
            margin_calls: outcome.margin_calls,
            refinancings: outcome.refinancings,
            called_month,
        }
    }
}
