//! The stress library: named sets of shocks over a window, applied on top of a market path
//! in the order given (`bitwatt project FILE --stress hashprice-collapse --stress
//! generation-leap`).
//!
//! A stress changes the market's exogenous factors — BTC price, fees, GPU rents and
//! utilisation, AI demand, power, the regime, liquidation depth, tenant hazards, outages — and
//! the network responds to the stressed prices through the world fleet's cost curve, so
//! hashrate and difficulty fall with a lag as they did in November 2025. Shocks to levels are
//! permanent (the path goes on from the shocked level on its own drift); shocks to conditions
//! (fees at their floor, the forced stress regime, thin markets, tenant hazards) last their
//! window.

use std::fmt;
use std::str::FromStr;

use bitwatt_model::{Market, YearMonth};

use crate::market::MarketPath;

/// Fees per block at their floor (BTC): blocks clear with almost no fee pressure, as in the
/// quiet weeks of 2025 (≈ 0.02 BTC a block in November 2025, REFERENCE).
const FEE_FLOOR_BTC_PER_BLOCK: f64 = 0.01;

/// The six stresses of the library.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StressKind {
    /// BTC −50 % over two months, fees at their floor for a year.
    HashpriceCollapse,
    /// A hyperscaler cancels ~2 GW: GPU rent −30 % over six months, utilisation and AI demand
    /// down, tenant hazards ×3 for two years.
    AiCapexPullback,
    /// A new GPU generation: every generation on the market loses 40 % of its rent and 50 %
    /// of its resale value.
    GenerationLeap,
    /// A year of forced stress regime: BTC −50 %, GPU rent −35 %, no refinancing, liquidation
    /// markets 70 % thinner.
    CorrelationConvergence,
    /// A 10-day outage at every site and a month of power at five times its price.
    GridEvent,
    /// GPU rents deflate 40 % a year from the start of the stress on.
    InferenceDeflation,
}

impl StressKind {
    /// Every stress, in the library's order.
    pub const ALL: [StressKind; 6] = [
        StressKind::HashpriceCollapse,
        StressKind::AiCapexPullback,
        StressKind::GenerationLeap,
        StressKind::CorrelationConvergence,
        StressKind::GridEvent,
        StressKind::InferenceDeflation,
    ];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            StressKind::HashpriceCollapse => "hashprice-collapse",
            StressKind::AiCapexPullback => "ai-capex-pullback",
            StressKind::GenerationLeap => "generation-leap",
            StressKind::CorrelationConvergence => "correlation-convergence",
            StressKind::GridEvent => "grid-event",
            StressKind::InferenceDeflation => "inference-deflation",
        }
    }

    /// The situation the stress represents, in a sentence.
    pub fn description(self) -> &'static str {
        match self {
            StressKind::HashpriceCollapse => {
                "BTC falls 50 % over two months while blocks clear at the fee floor for a year: hashprice halves and only later do hashrate and difficulty give way"
            }
            StressKind::AiCapexPullback => {
                "a hyperscaler cancels about 2 GW of AI capacity: GPU rents fall 30 % over six months, utilisation drops 15 %, and tenants are three times as likely to default for two years"
            }
            StressKind::GenerationLeap => {
                "a new GPU generation arrives earlier than planned: every generation on the market rents for 40 % less and resells for half"
            }
            StressKind::CorrelationConvergence => {
                "everything goes bad together for a year: BTC −50 %, GPU rents −35 %, credit markets shut (no refinancing, no equity issuance) and buyers of repossessed machines vanish (liquidation depth −70 %)"
            }
            StressKind::GridEvent => {
                "a grid emergency: every site is dark for 10 days and power costs five times its price for the month"
            }
            StressKind::InferenceDeflation => {
                "inference prices collapse and drag GPU rents down 40 % a year for good"
            }
        }
    }
}

impl fmt::Display for StressKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A stress and the month its window opens (default: the first projected month).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stress {
    /// Which stress.
    pub kind: StressKind,
    /// First month of the window; `None`: the path's first month.
    pub start_month: Option<YearMonth>,
}

/// A stress named on the command line that cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StressError {
    /// The name is not in the library.
    #[error("--stress {0:?}: expected one of {names} (optionally followed by @YYYY-MM, the first month of its window)", names = stress_names())]
    UnknownName(String),
    /// The month after `@` cannot be read.
    #[error("--stress {0:?}: expected a month as YYYY-MM after @")]
    BadMonth(String),
    /// The window opens outside the projection.
    #[error(
        "--stress {stress}@{month}: expected a month from {first} to {last}, the projected months"
    )]
    OutsideHorizon {
        /// The stress.
        stress: StressKind,
        /// The month given.
        month: YearMonth,
        /// First projected month.
        first: YearMonth,
        /// Last projected month.
        last: YearMonth,
    },
}

fn stress_names() -> String {
    let names: Vec<String> = StressKind::ALL
        .iter()
        .map(|k| format!("\"{}\"", k.name()))
        .collect();
    names.join(", ")
}

impl FromStr for Stress {
    type Err = StressError;

    /// `name` or `name@YYYY-MM`.
    fn from_str(text: &str) -> Result<Stress, StressError> {
        let (name, month) = match text.split_once('@') {
            Some((name, month)) => (name, Some(month)),
            None => (text, None),
        };
        let kind = StressKind::ALL
            .into_iter()
            .find(|k| k.name() == name.trim())
            .ok_or_else(|| StressError::UnknownName(text.to_string()))?;
        let start_month = match month {
            None => None,
            Some(month) => Some(
                month
                    .trim()
                    .parse::<YearMonth>()
                    .map_err(|_| StressError::BadMonth(text.to_string()))?,
            ),
        };
        Ok(Stress { kind, start_month })
    }
}

impl fmt::Display for Stress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.start_month {
            Some(month) => write!(f, "{}@{month}", self.kind),
            None => write!(f, "{}", self.kind),
        }
    }
}

impl Stress {
    /// Checks that the window opens within a projection of `months` months from `first`.
    pub fn check(&self, first: YearMonth, months: usize) -> Result<(), StressError> {
        let last = first.plus_months(months as i32 - 1);
        match self.start_month {
            Some(month) if month < first || month > last => Err(StressError::OutsideHorizon {
                stress: self.kind,
                month,
                first,
                last,
            }),
            _ => Ok(()),
        }
    }

    /// The months (indices on `path`) the stress forces into the stress regime: a year from
    /// its start for correlation convergence, none for the others.
    pub fn forced_stress_months(&self, path: &MarketPath) -> std::ops::Range<usize> {
        let months = path.months();
        let s = self.offset(path).min(months);
        match self.kind {
            StressKind::CorrelationConvergence => s..(s + 12).min(months),
            _ => s..s,
        }
    }

    /// Index of the window's first month on `path` (0 when it opens before the path).
    fn offset(&self, path: &MarketPath) -> usize {
        self.start_month.map_or(0, |month| {
            usize::try_from(month.months_since(path.start_month)).unwrap_or(0)
        })
    }

    /// Applies the shocks to the exogenous factors of `path` (everything but the network,
    /// which is run afterwards on the stressed prices).
    pub fn apply(&self, path: &mut MarketPath, market: &Market) {
        let months = path.months();
        let s = self.offset(path).min(months);
        // Months since the window opened, counting the first as 1.
        let elapsed = |t: usize| (t + 1 - s) as f64;
        match self.kind {
            StressKind::HashpriceCollapse => {
                for t in s..months {
                    path.btc_price_usd[t] *= 0.5f64.powf(elapsed(t).min(2.0) / 2.0);
                }
                for fees in &mut path.fees_btc_per_block[s..(s + 12).min(months)] {
                    *fees = fees.min(FEE_FLOOR_BTC_PER_BLOCK);
                }
            }
            StressKind::AiCapexPullback => {
                for t in s..months {
                    let ramp = (elapsed(t) / 6.0).min(1.0);
                    path.gpu_rent_index_usd_per_gpu_hour[t] *= 1.0 - 0.30 * ramp;
                    path.ai_utilisation[t] *= 1.0 - 0.15 * ramp;
                    path.ai_demand[t] *= 1.0 - 0.30 * ramp;
                }
                for hazard in &mut path.tenant_hazard_factor[s..(s + 24).min(months)] {
                    *hazard *= 3.0;
                }
            }
            StressKind::GenerationLeap => {
                let opening = path.start_month.plus_months(s as i32);
                for (g, generation) in market.gpu.generations.iter().enumerate() {
                    if generation.launch_month <= opening {
                        for factor in
                            &mut path.generation_rent_factor[g * months + s..(g + 1) * months]
                        {
                            *factor *= 0.6;
                        }
                    }
                }
                for resale in &mut path.gpu_resale_factor[s..] {
                    *resale *= 0.5;
                }
            }
            StressKind::CorrelationConvergence => {
                for t in s..months {
                    let ramp = (elapsed(t) / 12.0).min(1.0);
                    path.btc_price_usd[t] *= 0.5f64.powf(ramp);
                    path.gpu_rent_index_usd_per_gpu_hour[t] *= 0.65f64.powf(ramp);
                    path.ai_demand[t] *= 0.65f64.powf(ramp);
                }
                let window = s..(s + 12).min(months);
                for stressed in &mut path.stress[window.clone()] {
                    *stressed = true;
                }
                for depth in &mut path.liquidation_depth_factor[window] {
                    *depth = depth.min(0.3);
                }
            }
            StressKind::GridEvent => {
                if s < months {
                    path.extra_outage_days[s] += 10.0;
                    path.power_price_usd_per_mwh[s] *= 5.0;
                }
            }
            StressKind::InferenceDeflation => {
                let base_rate = market.gpu.rent_deflation_percent_per_year / 100.0;
                let extra_rate = (-(0.6f64.ln()) - base_rate).max(0.0);
                for t in s..months {
                    path.gpu_rent_index_usd_per_gpu_hour[t] *=
                        (-extra_rate * elapsed(t) / 12.0).exp();
                }
            }
        }
    }
}
