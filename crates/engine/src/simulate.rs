//! `simulate`: a borrower on many generated market paths, and the credit metrics a lender
//! prices with — probability of default by year and cause, loss given default, exposure,
//! expected loss and the loss distribution's tail, each with its Monte Carlo standard error.
//!
//! Paths run in fixed-size chunks in parallel; each path's outcome (default month and cause,
//! each instrument's exposure and loss) is kept in path order and every statistic is computed
//! serially from them, so the result is the same bit for bit for any number of threads.

use bitwatt_model::{MAX_DEBT_INSTRUMENTS, Scenario};
use rayon::prelude::*;
use serde::Serialize;

use crate::borrower::{Borrower, CompileError};
use crate::generator::{GeneratorError, MarketGenerator, RandomKey};
use crate::market::{MarketPath, base_market_path};
use crate::recovery::LiquidationPrices;
use crate::stress::Stress;
use crate::waterfall::{DefaultCause, PathBuffers, recover, run_path};

/// Paths in a chunk: a constant, never derived from the thread count.
pub const CHUNK_PATHS: u64 = 1_024;

/// Why a simulation cannot run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SimulationError {
    /// The borrower does not compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// The market model is unusable.
    #[error(transparent)]
    Generator(#[from] GeneratorError),
    /// No paths asked for.
    #[error("--paths 0: expected at least one path")]
    NoPaths,
}

/// What one path left: the borrower's default, and each instrument's default, exposure and
/// loss (present value at default of what the lenders do not recover).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PathOutcome {
    /// Month and cause of the borrower's (parent's) default.
    pub default: Option<(usize, DefaultCause)>,
    /// Month each instrument defaulted, if it did.
    pub debt_default_month: [Option<usize>; MAX_DEBT_INSTRUMENTS],
    /// Exposure at default per instrument (USD; 0 without default).
    pub exposure_usd: [f64; MAX_DEBT_INSTRUMENTS],
    /// Loss per instrument (USD; 0 without default).
    pub loss_usd: [f64; MAX_DEBT_INSTRUMENTS],
    /// Loss per instrument discounted to the start at the risk-free rate (USD).
    pub discounted_loss_usd: [f64; MAX_DEBT_INSTRUMENTS],
    /// Principal outstanding per instrument while it has not defaulted, month by month,
    /// discounted to the start at the risk-free rate, in USD-years.
    pub discounted_exposure_usd_years: [f64; MAX_DEBT_INSTRUMENTS],
}

impl PathOutcome {
    /// The loss of every instrument together (USD).
    pub fn total_loss_usd(&self) -> f64 {
        self.loss_usd.iter().sum()
    }
}

/// Runs `paths` market paths of `scenario` (with `stresses` on top) from `seed`, on the
/// current rayon thread pool; the outcomes come back in path order.
pub fn simulate_paths(
    scenario: &Scenario,
    stresses: &[Stress],
    paths: u64,
    seed: u64,
) -> Result<(Borrower, Vec<PathOutcome>), SimulationError> {
    if paths == 0 {
        return Err(SimulationError::NoPaths);
    }
    let base = base_market_path(scenario);
    let borrower = Borrower::with_base_path(scenario, &base)?;
    let generator = MarketGenerator::new(scenario, stresses)?;
    let key = RandomKey::from_seed(seed);
    let risk_free = scenario.market.sofr_percent / 100.0;
    let chunks = paths.div_ceil(CHUNK_PATHS);
    let results: Vec<Vec<PathOutcome>> = (0..chunks)
        .into_par_iter()
        .map_init(
            || {
                (
                    MarketPath::with_start(scenario.first_month()),
                    PathBuffers::new(&borrower),
                )
            },
            |(market, buffers), chunk| {
                let first = chunk * CHUNK_PATHS;
                let last = (first + CHUNK_PATHS).min(paths);
                (first..last)
                    .map(|path| {
                        generator.generate(&key, path, market);
                        run_one(&borrower, market, buffers, risk_free)
                    })
                    .collect()
            },
        )
        .collect();
    Ok((borrower, results.into_iter().flatten().collect()))
}

/// One path's outcome; `risk_free` (a year) discounts losses and exposures to the start.
fn run_one(
    borrower: &Borrower,
    market: &MarketPath,
    buffers: &mut PathBuffers,
    risk_free: f64,
) -> PathOutcome {
    let summary = run_path(borrower, market, buffers);
    let mut outcome = PathOutcome {
        default: summary
            .default
            .map(|event| (event.month_index, event.cause)),
        debt_default_month: [None; MAX_DEBT_INSTRUMENTS],
        exposure_usd: [0.0; MAX_DEBT_INSTRUMENTS],
        loss_usd: [0.0; MAX_DEBT_INSTRUMENTS],
        discounted_loss_usd: [0.0; MAX_DEBT_INSTRUMENTS],
        discounted_exposure_usd_years: [0.0; MAX_DEBT_INSTRUMENTS],
    };
    let debts = borrower.debts.len();
    let monthly = 1.0 + risk_free / 12.0;
    for (d, debt) in summary.debt_outcomes().iter().enumerate() {
        // Exposure until the default month, included.
        let end = debt
            .default
            .map_or(summary.months_run, |e| e.month_index + 1);
        let mut factor = 1.0;
        let mut exposure = 0.0;
        for t in 0..end {
            exposure += buffers.debt_rows[t * debts + d].opening_balance_usd * factor / 12.0;
            factor /= monthly;
        }
        outcome.discounted_exposure_usd_years[d] = exposure;
    }
    if summary.debt_outcomes().iter().all(|d| d.default.is_none()) {
        return outcome;
    }
    let prices = LiquidationPrices::for_estate(
        &summary.estate,
        &borrower.liquidation_markets,
        &market.liquidation_depth_factor,
    );
    let recoveries = recover(&summary, &prices);
    for (d, (debt, claim)) in summary
        .debt_outcomes()
        .iter()
        .zip(recoveries.claims())
        .enumerate()
    {
        if let Some(event) = debt.default {
            outcome.debt_default_month[d] = Some(event.month_index);
            outcome.exposure_usd[d] = claim.ead_usd;
            outcome.loss_usd[d] = claim.loss_usd;
            outcome.discounted_loss_usd[d] =
                claim.loss_usd * monthly.powi(-(event.month_index as i32));
        }
    }
    outcome
}

/// An estimate and its Monte Carlo standard error.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Its standard error.
    pub standard_error: f64,
}

impl Estimate {
    /// The share of `n` paths with a property `count` had.
    fn proportion(count: usize, n: usize) -> Estimate {
        let p = count as f64 / n as f64;
        Estimate {
            value: p,
            standard_error: (p * (1.0 - p) / n as f64).sqrt(),
        }
    }

    /// The mean of `values` (summed in order).
    fn mean(values: impl Iterator<Item = f64> + Clone) -> Option<Estimate> {
        let n = values.clone().count();
        if n == 0 {
            return None;
        }
        let mean = values.clone().sum::<f64>() / n as f64;
        let variance = if n > 1 {
            values.map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64
        } else {
            0.0
        };
        Some(Estimate {
            value: mean,
            standard_error: (variance / n as f64).sqrt(),
        })
    }
}

/// Credit metrics of one instrument.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstrumentMetrics {
    /// Instrument name.
    pub name: String,
    /// Probability it defaults within the horizon.
    pub pd: Estimate,
    /// Loss given default: mean over defaulting paths of loss over exposure.
    pub lgd: Option<Estimate>,
    /// Mean exposure at default over defaulting paths (USD).
    pub exposure_at_default_usd: Option<Estimate>,
    /// Expected loss over all paths (USD).
    pub expected_loss_usd: Estimate,
    /// The break-even spread and the market's.
    pub spread: SpreadMetrics,
}

/// The spread an instrument needs to cover its expected loss, against the market's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SpreadMetrics {
    /// Break-even spread: discounted expected loss over discounted expected exposure (basis
    /// points a year); none without exposure.
    pub break_even_spread_bps: Option<Estimate>,
    /// The market's spread for the debt (basis points), if the scenario gives it.
    pub market_spread_bps: Option<f64>,
    /// The upfront fee spread over the expected discounted life of the exposure (basis points
    /// a year).
    pub upfront_fee_bps_per_year: Option<f64>,
    /// Market spread plus the amortised fee, less the break-even spread: what the market pays
    /// beyond expected loss, or (negative) the shortfall (basis points a year).
    pub excess_spread_bps: Option<f64>,
}

/// The probability of the borrower's default by one cause.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CausePd {
    /// The cause.
    pub cause: DefaultCause,
    /// Probability of a default by it within the horizon.
    pub pd: Estimate,
}

/// A tail measure of the loss distribution at one confidence level.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LossTail {
    /// Confidence level (e.g. 0.99).
    pub level: f64,
    /// Value at risk: the loss not exceeded on that share of paths (USD).
    pub var_usd: f64,
    /// Expected shortfall: the mean loss beyond the VaR's share of paths (USD).
    pub es_usd: f64,
}

/// The credit metrics of a simulation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CreditMetrics {
    /// Paths run.
    pub paths: usize,
    /// Probability the borrower has defaulted by the end of each year of the horizon.
    pub cumulative_pd_by_year: Vec<Estimate>,
    /// Probability of the borrower's default within the horizon, by cause.
    pub pd_by_cause: Vec<CausePd>,
    /// Each instrument's metrics.
    pub instruments: Vec<InstrumentMetrics>,
    /// Expected loss of all instruments together (USD).
    pub expected_loss_usd: Estimate,
    /// VaR and ES of the total loss at 95, 99 and 99.9 %.
    pub loss_tail: Vec<LossTail>,
}

/// Every default cause, in the order reported.
const CAUSES: [DefaultCause; 6] = [
    DefaultCause::Payment,
    DefaultCause::DscrCovenant,
    DefaultCause::LtvCovenant,
    DefaultCause::Maturity,
    DefaultCause::MarginCall,
    DefaultCause::CrossDefault,
];

/// The metrics of `outcomes` (in path order) for `borrower`.
pub fn credit_metrics(borrower: &Borrower, outcomes: &[PathOutcome]) -> CreditMetrics {
    let n = outcomes.len();
    let years = borrower.horizon_months.div_ceil(12);
    let cumulative_pd_by_year = (1..=years)
        .map(|year| {
            let by = (year * 12).min(borrower.horizon_months);
            let count = outcomes
                .iter()
                .filter(|o| o.default.is_some_and(|(t, _)| t < by))
                .count();
            Estimate::proportion(count, n)
        })
        .collect();
    let pd_by_cause = CAUSES
        .iter()
        .map(|&cause| {
            let count = outcomes
                .iter()
                .filter(|o| o.default.is_some_and(|(_, c)| c == cause))
                .count();
            CausePd {
                cause,
                pd: Estimate::proportion(count, n),
            }
        })
        .collect();
    let instruments = borrower
        .debts
        .iter()
        .enumerate()
        .map(|(d, plan)| {
            let defaulted = outcomes
                .iter()
                .filter(|o| o.debt_default_month[d].is_some());
            InstrumentMetrics {
                name: plan.name.clone(),
                pd: Estimate::proportion(defaulted.clone().count(), n),
                lgd: Estimate::mean(
                    defaulted
                        .clone()
                        .filter(|o| o.exposure_usd[d] > 0.0)
                        .map(move |o| o.loss_usd[d] / o.exposure_usd[d]),
                ),
                exposure_at_default_usd: Estimate::mean(defaulted.map(move |o| o.exposure_usd[d])),
                expected_loss_usd: Estimate::mean(outcomes.iter().map(move |o| o.loss_usd[d]))
                    .expect("at least one path"),
                spread: spread_metrics(plan, outcomes, d),
            }
        })
        .collect();
    let mut losses: Vec<f64> = outcomes.iter().map(PathOutcome::total_loss_usd).collect();
    let expected_loss_usd = Estimate::mean(losses.iter().copied()).expect("at least one path");
    losses.sort_by(f64::total_cmp);
    let loss_tail = [0.95, 0.99, 0.999]
        .iter()
        .map(|&level| {
            // The loss at the level's quantile, and the mean of the worst (1 − level) share.
            let tail_count = (((1.0 - level) * n as f64).ceil() as usize).clamp(1, n);
            let tail = &losses[n - tail_count..];
            LossTail {
                level,
                var_usd: tail[0],
                es_usd: tail.iter().sum::<f64>() / tail_count as f64,
            }
        })
        .collect();
    CreditMetrics {
        paths: n,
        cumulative_pd_by_year,
        pd_by_cause,
        instruments,
        expected_loss_usd,
        loss_tail,
    }
}

/// The break-even spread of instrument `d` of `plan` and how the market's spread compares.
fn spread_metrics(
    plan: &crate::borrower::DebtPlan,
    outcomes: &[PathOutcome],
    d: usize,
) -> SpreadMetrics {
    let n = outcomes.len() as f64;
    let mean_loss = outcomes
        .iter()
        .map(|o| o.discounted_loss_usd[d])
        .sum::<f64>()
        / n;
    let mean_exposure = outcomes
        .iter()
        .map(|o| o.discounted_exposure_usd_years[d])
        .sum::<f64>()
        / n;
    let break_even_spread_bps = (mean_exposure > 0.0).then(|| {
        let ratio = mean_loss / mean_exposure;
        // Delta method for a ratio of means: the spread of L − R·E.
        let residual_variance = outcomes
            .iter()
            .map(|o| {
                (o.discounted_loss_usd[d] - ratio * o.discounted_exposure_usd_years[d]).powi(2)
            })
            .sum::<f64>()
            / (n - 1.0).max(1.0);
        Estimate {
            value: ratio * 10_000.0,
            standard_error: (residual_variance / n).sqrt() / mean_exposure * 10_000.0,
        }
    });
    let market_spread_bps = plan.market_spread.map(|spread| spread * 10_000.0);
    // The fee is paid once on the commitment; spread over the expected life in years.
    let life_years = if plan.commitment_usd > 0.0 {
        mean_exposure / plan.commitment_usd
    } else {
        0.0
    };
    let upfront_fee_bps_per_year = (life_years > 0.0 && plan.upfront_fee_fraction > 0.0)
        .then(|| plan.upfront_fee_fraction * 10_000.0 / life_years);
    let excess_spread_bps = match (market_spread_bps, break_even_spread_bps) {
        (Some(market), Some(break_even)) => {
            Some(market + upfront_fee_bps_per_year.unwrap_or(0.0) - break_even.value)
        }
        _ => None,
    };
    SpreadMetrics {
        break_even_spread_bps,
        market_spread_bps,
        upfront_fee_bps_per_year,
        excess_spread_bps,
    }
}
