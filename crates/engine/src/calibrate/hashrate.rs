//! Hashrate response: how the network's hashrate grows with the frontier's margin some months
//! before, the world fleet's `growth_percent_per_year_at_full_margin`,
//! `deployment_lag_months` and `retirement_percent_per_year`, and the noise beyond that
//! response (`hashrate_noise_percent_per_year`).
//!
//! The model (`NetworkSim`) grows installed capacity at the end of month `t` by
//! `g · m(t − L)` of itself and retires `r` of it, then shocks it by a mean-one log-normal
//! factor, so the month-on-month ratio of hashrate less one is linear in the lagged margin:
//! `H(t+1)/H(t) − 1 = −r + g · m(t − L) + noise`. This module fits that line by least
//! squares for every lag from [`MIN_LAG_MONTHS`] to [`MAX_LAG_MONTHS`] on the same months and
//! keeps the lag that explains most. The margin is the model's own
//! (`WorldFleetCurve::frontier_margin`): hashprice against the all-in cost of the frontier
//! machine, whose efficiency improves at the fleet's rate, run backwards from the scenario's
//! start for history — the fleet mix and the frontier stay labelled assumptions.

use std::collections::BTreeMap;

use bitwatt_chain::{
    DIFFICULTY_ADJUSTMENT_INTERVAL, DailyClose, DailyDifficulty, block_subsidy_btc,
    hashprice_usd_per_ph_day, implied_hashrate_hs,
};
use bitwatt_model::{WorldFleet, YearMonth};
use serde::Serialize;

use super::least_squares;
use crate::network::WorldFleetCurve;
use crate::simulate::Estimate;

/// Shortest lag fitted (months).
pub const MIN_LAG_MONTHS: u32 = 3;
/// Longest lag fitted (months).
pub const MAX_LAG_MONTHS: u32 = 12;
/// Fewest month-on-month changes a fit needs, after the longest lag.
const MIN_CHANGES: usize = 24;
/// Fewest consecutive months of history a fit needs.
pub const MIN_HASHRATE_MONTHS: usize = MIN_CHANGES + MAX_LAG_MONTHS as usize + 1;

/// One month of network history.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct HashrateMonth {
    /// The month.
    pub month: YearMonth,
    /// Hashrate at the month's end (EH/s): the difficulty in force then, times 2³² / 600 s.
    pub hashrate_ehs: f64,
    /// Hashprice, the mean of the month's days (USD per PH/s per day).
    pub hashprice_usd_per_ph_day: f64,
}

/// The network's history month by month from daily closes and the daily difficulty: the
/// hashrate the difficulty in force at each month's end implies, and the mean of the days'
/// hashprice (the subsidy of the day's height — placed by the day's position in its epoch —
/// plus `fees_btc_per_block`, at the difficulty in force and the day's close). Only months
/// whose every day has a close and a difficulty are kept.
pub fn monthly_network_history(
    closes: &[DailyClose],
    difficulty: &[DailyDifficulty],
    fees_btc_per_block: f64,
) -> Vec<HashrateMonth> {
    let price: BTreeMap<_, f64> = closes.iter().map(|c| (c.day, c.close_usd)).collect();
    // The days of each epoch in the file, to place a day's height inside its epoch.
    let mut epoch_days: BTreeMap<u32, u32> = BTreeMap::new();
    for day in difficulty {
        *epoch_days.entry(day.epoch).or_default() += 1;
    }
    struct MonthSum {
        days: u32,
        hashprice: f64,
        end_difficulty: f64,
    }
    let mut months: BTreeMap<YearMonth, MonthSum> = BTreeMap::new();
    let mut day_in_epoch = 0;
    for (i, day) in difficulty.iter().enumerate() {
        day_in_epoch = match i.checked_sub(1).map(|p| difficulty[p].epoch) {
            Some(previous) if previous == day.epoch => day_in_epoch + 1,
            _ => 0,
        };
        let Some(&close_usd) = price.get(&day.day) else {
            continue;
        };
        let share_of_epoch = (f64::from(day_in_epoch) + 0.5) / f64::from(epoch_days[&day.epoch]);
        let height = day.epoch * DIFFICULTY_ADJUSTMENT_INTERVAL
            + (share_of_epoch * f64::from(DIFFICULTY_ADJUSTMENT_INTERVAL)) as u32;
        let reward_btc = block_subsidy_btc(height) + fees_btc_per_block;
        let month = YearMonth::from_unix_s(day.day.start_unix_s());
        let sum = months.entry(month).or_insert(MonthSum {
            days: 0,
            hashprice: 0.0,
            end_difficulty: 0.0,
        });
        sum.days += 1;
        sum.hashprice += hashprice_usd_per_ph_day(day.difficulty, reward_btc, close_usd);
        sum.end_difficulty = day.difficulty;
    }
    months
        .into_iter()
        .filter(|(month, sum)| i64::from(sum.days) == days_in(*month))
        .map(|(month, sum)| HashrateMonth {
            month,
            hashrate_ehs: implied_hashrate_hs(sum.end_difficulty) / 1e18,
            hashprice_usd_per_ph_day: sum.hashprice / f64::from(sum.days),
        })
        .collect()
}

fn days_in(month: YearMonth) -> i64 {
    (month.plus_months(1).start_unix_s() - month.start_unix_s()) / 86_400
}

/// The response fitted at one lag.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LagFit {
    /// The lag (months).
    pub lag_months: u32,
    /// `growth_percent_per_year_at_full_margin`: the slope, a year.
    pub growth_percent_per_year_at_full_margin: Estimate,
    /// `retirement_percent_per_year`: minus the intercept, a year.
    pub retirement_percent_per_year: Estimate,
    /// Share of the variance of the monthly growth the lagged margin explains.
    pub r_squared: f64,
}

/// The hashrate response calibration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HashrateResponseCalibration {
    /// First month of growth fitted (its growth is to the month after).
    pub from: YearMonth,
    /// Last month of growth fitted.
    pub to: YearMonth,
    /// Month-on-month changes fitted (every lag fits the same ones).
    pub changes: usize,
    /// Every lag's fit, shortest first.
    pub lags: Vec<LagFit>,
    /// The lag that explains most (highest R²).
    pub best: LagFit,
    /// `hashrate_noise_percent_per_year`: the volatility of the monthly log growth beyond the
    /// best lag's response.
    pub hashrate_noise_percent_per_year: Estimate,
    /// Each month of history with the model's frontier margin (share of hashprice).
    pub months: Vec<MarginMonth>,
}

/// A month of history with the frontier's margin.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct MarginMonth {
    /// The month.
    pub month: YearMonth,
    /// Hashrate at its end (EH/s).
    pub hashrate_ehs: f64,
    /// Mean hashprice (USD per PH/s per day).
    pub hashprice_usd_per_ph_day: f64,
    /// The frontier machine's efficiency that month (J/TH).
    pub frontier_efficiency_j_per_th: f64,
    /// The frontier's margin (share of hashprice, none below zero).
    pub frontier_margin: f64,
}

/// Fits the response on the longest run of consecutive months of `history`, with the
/// frontier of `fleet` as it stands at the scenario start `fleet_start`. `None` when that run
/// is shorter than [`MIN_HASHRATE_MONTHS`].
pub fn calibrate_hashrate_response(
    history: &[HashrateMonth],
    fleet: &WorldFleet,
    fleet_start: YearMonth,
) -> Option<HashrateResponseCalibration> {
    let history = longest_consecutive_run(history);
    let max_lag = MAX_LAG_MONTHS as usize;
    if history.len() < MIN_HASHRATE_MONTHS {
        return None;
    }
    let curve = WorldFleetCurve::new(fleet);
    let months: Vec<MarginMonth> = history
        .iter()
        .map(|h| {
            let since_start = h.month.months_since(fleet_start);
            MarginMonth {
                month: h.month,
                hashrate_ehs: h.hashrate_ehs,
                hashprice_usd_per_ph_day: h.hashprice_usd_per_ph_day,
                frontier_efficiency_j_per_th: curve.frontier_efficiency_j_per_th(since_start),
                frontier_margin: curve.frontier_margin(h.hashprice_usd_per_ph_day, since_start),
            }
        })
        .collect();
    // Growth from month t to t + 1, for t from the longest lag on, so every lag fits the same
    // changes.
    let growth = |t: usize| months[t + 1].hashrate_ehs / months[t].hashrate_ehs - 1.0;
    let observed = max_lag..months.len() - 1;
    let per_year = 12.0 * 100.0;
    let lags: Vec<(LagFit, Vec<f64>)> = (MIN_LAG_MONTHS..=MAX_LAG_MONTHS)
        .map(|lag| {
            let points: Vec<(f64, f64)> = observed
                .clone()
                .map(|t| (months[t - lag as usize].frontier_margin, growth(t)))
                .collect();
            let line = least_squares(&points)?;
            let mean_y = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
            let total: f64 = points.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
            let residual: f64 = line.residuals.iter().map(|r| r * r).sum();
            let fit = LagFit {
                lag_months: lag,
                growth_percent_per_year_at_full_margin: Estimate {
                    value: line.slope * per_year,
                    standard_error: line.slope_standard_error * per_year,
                },
                retirement_percent_per_year: Estimate {
                    value: -line.intercept * per_year,
                    standard_error: line.intercept_standard_error * per_year,
                },
                r_squared: 1.0 - residual / total,
            };
            // The log of each month's growth over the fitted mean growth: the shock.
            let shocks = points
                .iter()
                .map(|&(margin, y)| ((1.0 + y) / (1.0 + line.intercept + line.slope * margin)).ln())
                .collect();
            Some((fit, shocks))
        })
        .collect::<Option<_>>()?;
    let (best, shocks) = lags
        .iter()
        .max_by(|a, b| a.0.r_squared.total_cmp(&b.0.r_squared))?
        .clone();
    let noise = super::standard_deviation(&shocks) * 12f64.sqrt() * 100.0;
    Some(HashrateResponseCalibration {
        from: months[observed.start].month,
        to: months[observed.end - 1].month,
        changes: observed.len(),
        lags: lags.into_iter().map(|(fit, _)| fit).collect(),
        best,
        hashrate_noise_percent_per_year: Estimate {
            value: noise,
            standard_error: noise / (2.0 * (shocks.len() - 1) as f64).sqrt(),
        },
        months,
    })
}

/// The longest run of consecutive months of `history` (the latest of equal runs).
fn longest_consecutive_run(history: &[HashrateMonth]) -> &[HashrateMonth] {
    let mut best = &history[..0];
    let mut start = 0;
    for end in 1..=history.len() {
        let breaks =
            end == history.len() || history[end].month != history[end - 1].month.plus_months(1);
        if breaks {
            if end - start >= best.len() {
                best = &history[start..end];
            }
            start = end;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use bitwatt_chain::{CompactBits, HASHES_PER_DIFFICULTY};
    use bitwatt_model::FleetBand;
    use rand::{SeedableRng, rngs::ChaCha8Rng};
    use rand_distr::{Distribution, StandardNormal};

    use super::*;
    use crate::network::{NetworkOrigin, NetworkSim};

    /// A fleet whose machines all run at any hashprice of the test (power at 10 USD/MWh with a
    /// spread of 1, the frontier improving slowly), so that hashrate moves only by the
    /// response and the noise.
    fn fleet(growth: f64, lag: u32, retirement: f64) -> WorldFleet {
        WorldFleet {
            bands: vec![FleetBand {
                efficiency_j_per_th: 12.0,
                hashrate_share_percent: 100.0,
            }],
            power_price_median_usd_per_mwh: 10.0,
            power_price_spread_usd_per_mwh: 1.0,
            frontier_improvement_percent_per_year: 3.0,
            growth_percent_per_year_at_full_margin: growth,
            deployment_lag_months: lag,
            retirement_percent_per_year: retirement,
            ..WorldFleet::default()
        }
    }

    /// The model's own network for `months` months on BTC prices drawn afresh each month
    /// (log-normal around a level that doubles at each halving, so the margin varies but
    /// stays inside the range where every machine runs), with the capacity shocked
    /// each month by a mean-one log-normal of `noise_percent_per_year`, as the generator
    /// does.
    fn synthetic_history(
        fleet: &WorldFleet,
        noise_percent_per_year: f64,
        months: usize,
    ) -> Vec<HashrateMonth> {
        let bits = CompactBits::from_consensus(0x1701_e2a0);
        let difficulty = bits.core_difficulty();
        let hashrate_hs = difficulty * HASHES_PER_DIFFICULTY / 600.0;
        let origin = NetworkOrigin {
            height: 1_008_000,
            bits,
            epoch_start_time_s: 1_900_000_000,
            time_s: 1_900_000_000,
            hashrate_hs,
        };
        let start_hashprice = hashprice_usd_per_ph_day(difficulty, 3.125, 90_000.0);
        let mut sim = NetworkSim::new(WorldFleetCurve::new(fleet), origin, start_hashprice, months);
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let sigma = noise_percent_per_year / 100.0 / 12f64.sqrt();
        let start = YearMonth::new(2030, 3).unwrap();
        (0..months)
            .map(|t| {
                let z: f64 = StandardNormal.sample(&mut rng);
                sim.scale_capacity((sigma * z - sigma * sigma / 2.0).exp());
                let u: f64 = StandardNormal.sample(&mut rng);
                // The price doubles at each halving, as the reward halves.
                let price = 90_000.0 * 3.125 / sim.next_subsidy_btc() * (0.25 * u).exp();
                let month = sim.step_month(price, 0.02);
                HashrateMonth {
                    month: start.plus_months(t as i32),
                    hashrate_ehs: month.hashrate_hs / 1e18,
                    hashprice_usd_per_ph_day: hashprice_usd_per_ph_day(
                        month.end_difficulty,
                        sim.next_subsidy_btc() + 0.02,
                        price,
                    ),
                }
            })
            .collect()
    }

    #[test]
    fn the_models_own_response_is_recovered_within_three_standard_errors() {
        let (growth, lag, retirement, noise) = (150.0, 7, 30.0, 12.0);
        let fleet = fleet(growth, lag, retirement);
        let history = synthetic_history(&fleet, noise, 240);
        let fit = calibrate_hashrate_response(&history, &fleet, YearMonth::new(2030, 3).unwrap())
            .unwrap();
        assert_eq!(fit.changes, 240 - 12 - 1);
        assert_eq!(fit.lags.len(), 10);
        assert_eq!(fit.best.lag_months, lag, "{:#?}", fit.lags);
        let within = |estimate: &Estimate, truth: f64| {
            assert!(
                (estimate.value - truth).abs() < 3.0 * estimate.standard_error,
                "{estimate:?} against {truth}"
            );
        };
        within(&fit.best.growth_percent_per_year_at_full_margin, growth);
        within(&fit.best.retirement_percent_per_year, retirement);
        within(&fit.hashrate_noise_percent_per_year, noise);
        // The margins varied, and were never so low that machines switched off.
        let margins: Vec<f64> = fit.months.iter().map(|m| m.frontier_margin).collect();
        let (low, high) = margins
            .iter()
            .fold((f64::MAX, f64::MIN), |(l, h), &m| (l.min(m), h.max(m)));
        assert!(low < 0.1 && high > 0.4, "margins {low}..{high}");
    }

    #[test]
    fn too_short_or_broken_histories_are_refused() {
        let fleet = fleet(80.0, 6, 5.0);
        let history = synthetic_history(&fleet, 10.0, 60);
        let start = YearMonth::new(2030, 3).unwrap();
        assert!(calibrate_hashrate_response(&history[..36], &fleet, start).is_none());
        // A gap: the longest consecutive run (the last 40 months) is fitted.
        let gapped: Vec<HashrateMonth> = history
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 19)
            .map(|(_, m)| *m)
            .collect();
        let fit = calibrate_hashrate_response(&gapped, &fleet, start).unwrap();
        assert_eq!(fit.months.len(), 40);
        assert_eq!(fit.months[0].month, start.plus_months(20));
    }
}
