//! Backtests against history. `hashprice`: daily hashprice recomputed from the BTC price, the
//! difficulty in force and the block rewards of the day, against the realised series.
//! `network`: the model's endogenous hashrate and epoch-exact difficulty run from a start
//! month on the real BTC prices, against the real difficulty.

use std::collections::BTreeMap;

use bitwatt_chain::{
    BlockReward, DailyClose, DailyDifficulty, DailyMinerEconomics, DifficultyEpoch, UtcDay,
    daily_from_blocks, hashprice_usd_per_ph_day,
};
use bitwatt_model::{MAX_HORIZON_MONTHS, NetworkStart, Scenario, YearMonth};
use serde::Serialize;

use crate::calibrate::{BtcCalibration, CalibrationError, calibrate_btc};
use crate::market::{base_fees_btc_per_block, base_market_path};
use crate::simulate::{CreditMetrics, SimulationError, simulate};

/// One day of the hashprice backtest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct HashpriceDay {
    /// The day (UTC).
    #[serde(serialize_with = "day_text")]
    pub day: UtcDay,
    /// Blocks found that day.
    pub blocks: u32,
    /// Subsidy and fees per block (BTC).
    pub reward_btc_per_block: f64,
    /// The difficulty in force all day.
    pub difficulty: f64,
    /// The day's close (USD per BTC).
    pub price_usd: f64,
    /// Hashprice recomputed (USD per PH/s per day).
    pub model_usd_per_ph_day: f64,
    /// Hashprice realised (USD per PH/s per day).
    pub realised_usd_per_ph_day: f64,
    /// Recomputed over realised, less one.
    pub relative_error: f64,
}

fn day_text<S: serde::Serializer>(day: &UtcDay, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(day)
}

/// The hashprice backtest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HashpriceBacktest {
    /// The days compared, in order.
    pub days: Vec<HashpriceDay>,
    /// Days of the realised series with a hashprice that were not compared because the
    /// difficulty changed during the day (a retarget).
    pub retarget_days: usize,
    /// Days not compared because an input is missing (no price, no difficulty, or block
    /// statistics that do not cover the day's blocks).
    pub incomplete_days: usize,
    /// Share of the days compared within 1 % of the realised value.
    pub within_1_percent_share: f64,
    /// Median absolute relative error.
    pub median_abs_relative_error: f64,
    /// Largest absolute relative error.
    pub worst_abs_relative_error: f64,
}

/// Recomputes each day's hashprice of `realised` from `closes`, `difficulty` (the difficulty
/// in force at each day's end) and the block rewards of `blocks`, on the days whose inputs
/// are all present and whose difficulty did not change (the day before ends in the same
/// epoch): `(subsidy + fees) per block × blocks per PH/s-day at D × price`.
pub fn backtest_hashprice(
    closes: &[DailyClose],
    difficulty: &[DailyDifficulty],
    blocks: &[BlockReward],
    realised: &[DailyMinerEconomics],
) -> HashpriceBacktest {
    let price: BTreeMap<UtcDay, f64> = closes.iter().map(|c| (c.day, c.close_usd)).collect();
    let epoch: BTreeMap<UtcDay, &DailyDifficulty> = difficulty.iter().map(|d| (d.day, d)).collect();
    let rewards: BTreeMap<UtcDay, DailyMinerEconomics> = daily_from_blocks(blocks)
        .into_iter()
        .map(|day| (day.day, day))
        .collect();
    let (mut days, mut retarget_days, mut incomplete_days) = (Vec::new(), 0, 0);
    for row in realised {
        let Some(realised_usd) = row.hashprice_usd_per_ph_day else {
            continue;
        };
        let (Some(today), Some(yesterday)) = (epoch.get(&row.day), epoch.get(&row.day.previous()))
        else {
            incomplete_days += 1;
            continue;
        };
        if today.epoch != yesterday.epoch {
            retarget_days += 1;
            continue;
        }
        let (Some(&price_usd), Some(day)) = (price.get(&row.day), rewards.get(&row.day)) else {
            incomplete_days += 1;
            continue;
        };
        let count = day.blocks;
        if count != row.blocks || count == 0 || realised_usd <= 0.0 {
            incomplete_days += 1;
            continue;
        }
        let reward_btc_per_block = (day.subsidy_btc + day.fees_btc) / f64::from(count);
        let model = hashprice_usd_per_ph_day(today.difficulty, reward_btc_per_block, price_usd);
        days.push(HashpriceDay {
            day: row.day,
            blocks: count,
            reward_btc_per_block,
            difficulty: today.difficulty,
            price_usd,
            model_usd_per_ph_day: model,
            realised_usd_per_ph_day: realised_usd,
            relative_error: model / realised_usd - 1.0,
        });
    }
    let mut errors: Vec<f64> = days.iter().map(|d| d.relative_error.abs()).collect();
    errors.sort_by(f64::total_cmp);
    let within = errors.iter().filter(|&&e| e <= 0.01).count();
    HashpriceBacktest {
        within_1_percent_share: within as f64 / errors.len().max(1) as f64,
        median_abs_relative_error: errors.get(errors.len() / 2).copied().unwrap_or(f64::NAN),
        worst_abs_relative_error: errors.last().copied().unwrap_or(f64::NAN),
        days,
        retarget_days,
        incomplete_days,
    }
}

/// One month of the network backtest.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct NetworkBacktestMonth {
    /// The month.
    pub month: YearMonth,
    /// The real BTC price fed to the model (the month's mean close, USD).
    pub btc_price_usd: f64,
    /// The model's difficulty (weighted by the month's blocks).
    pub model_difficulty: f64,
    /// The real difficulty (the mean of the month's days).
    pub real_difficulty: f64,
    /// Model over real, less one.
    pub relative_error: f64,
    /// The model's network hashrate (EH/s).
    pub model_hashrate_ehs: f64,
}

/// The network backtest.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkBacktest {
    /// The months compared, from the start.
    pub months: Vec<NetworkBacktestMonth>,
    /// Fees per block fed to the model (BTC).
    pub fees_btc_per_block: f64,
    /// Median absolute relative error of the difficulty.
    pub median_abs_relative_error: f64,
    /// Largest absolute relative error.
    pub worst_abs_relative_error: f64,
    /// The month of the largest.
    pub worst_month: YearMonth,
}

/// Why a network backtest cannot run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum BacktestError {
    /// The start is outside the data.
    #[error("start {start}: expected a month with prices and a difficulty epoch in force ({what})")]
    StartOutsideData {
        /// The start month.
        start: YearMonth,
        /// What is missing.
        what: &'static str,
    },
    /// Fewer than two months of data after the start.
    #[error("start {0}: expected at least two months of prices and difficulty from it")]
    TooShort(YearMonth),
}

/// The network as it was at the start of `start`: the epoch in force (its difficulty and
/// the time of its first block, from `epochs`) and the height reached at the epoch's own pace.
pub fn historical_network_start(
    start: YearMonth,
    epochs: &[DifficultyEpoch],
) -> Result<NetworkStart, BacktestError> {
    let start_s = start.start_unix_s();
    // The epoch in force at the start and the next, both with the time of their first block.
    let (epoch, epoch_time, next, next_time) = epochs
        .windows(2)
        .find_map(
            |w| match (w[0].first_block_time_unix_s, w[1].first_block_time_unix_s) {
                (Some(t0), Some(t1)) if t0 <= start_s && start_s < t1 => Some((w[0], t0, w[1], t1)),
                _ => None,
            },
        )
        .ok_or(BacktestError::StartOutsideData {
            start,
            what: "no difficulty epoch with a known start in force at its start",
        })?;
    // The height reached at the epoch's own pace.
    let spacing_s =
        (next_time - epoch_time) as f64 / f64::from(next.start_height - epoch.start_height);
    let blocks_in = ((start_s - epoch_time) as f64 / spacing_s) as u32;
    let height = epoch.start_height + blocks_in.min(next.start_height - epoch.start_height - 1);
    Ok(NetworkStart {
        height,
        difficulty: epoch.difficulty,
        epoch_start_time_unix_s: epoch_time,
        time_unix_s: start_s,
        hashrate_ehs: None,
    })
}

/// Runs the network of `template`'s market (its world fleet, efficiency and response) from
/// the start of `start` on the real monthly mean closes of `closes`, with fees at
/// `fees_btc_per_block`, the network at the start taken from `epochs` (the epoch in force,
/// the height reached at the epoch's pace), and compares the model's difficulty with the
/// mean of the real daily difficulty month by month, until the prices or difficulty end
/// (at most the model's horizon).
pub fn backtest_network(
    template: &Scenario,
    start: YearMonth,
    closes: &[DailyClose],
    epochs: &[DifficultyEpoch],
    difficulty: &[DailyDifficulty],
    fees_btc_per_block: f64,
) -> Result<NetworkBacktest, BacktestError> {
    let month_of = |day: UtcDay| YearMonth::from_unix_s(day.start_unix_s());
    let monthly_mean = |values: &mut dyn Iterator<Item = (UtcDay, f64)>| {
        let mut months: BTreeMap<YearMonth, (f64, u32)> = BTreeMap::new();
        for (day, value) in values {
            let entry = months.entry(month_of(day)).or_default();
            entry.0 += value;
            entry.1 += 1;
        }
        months
            .into_iter()
            .map(|(month, (sum, count))| (month, sum / f64::from(count)))
            .collect::<BTreeMap<YearMonth, f64>>()
    };
    let prices = monthly_mean(&mut closes.iter().map(|c| (c.day, c.close_usd)));
    let real = monthly_mean(&mut difficulty.iter().map(|d| (d.day, d.difficulty)));
    let months = (0..MAX_HORIZON_MONTHS as i32)
        .map(|t| start.plus_months(t))
        .take_while(|m| prices.contains_key(m) && real.contains_key(m))
        .count();
    if months == 0 {
        return Err(BacktestError::StartOutsideData {
            start,
            what: "no price or difficulty that month",
        });
    }
    if months < 2 {
        return Err(BacktestError::TooShort(start));
    }
    let mut scenario = template.clone();
    scenario.start_month = Some(start);
    scenario.horizon_months = months as u32;
    let market = &mut scenario.market;
    market.btc_price_series_usd = (0..months)
        .map(|t| prices[&start.plus_months(t as i32)])
        .collect();
    market.btc_price_usd = None;
    market.fees_btc_per_block = Some(fees_btc_per_block);
    market.network = Some(historical_network_start(start, epochs)?);
    let path = base_market_path(&scenario);
    let compared: Vec<NetworkBacktestMonth> = (0..months)
        .map(|t| {
            let month = start.plus_months(t as i32);
            let real_difficulty = real[&month];
            NetworkBacktestMonth {
                month,
                btc_price_usd: path.btc_price_usd[t],
                model_difficulty: path.difficulty[t],
                real_difficulty,
                relative_error: path.difficulty[t] / real_difficulty - 1.0,
                model_hashrate_ehs: path.network_hashrate_hs[t] / 1e18,
            }
        })
        .collect();
    let mut errors: Vec<(f64, YearMonth)> = compared
        .iter()
        .map(|m| (m.relative_error.abs(), m.month))
        .collect();
    errors.sort_by(|a, b| a.0.total_cmp(&b.0));
    let (worst, worst_month) = errors[errors.len() - 1];
    Ok(NetworkBacktest {
        median_abs_relative_error: errors[errors.len() / 2].0,
        worst_abs_relative_error: worst,
        worst_month,
        months: compared,
        fees_btc_per_block,
    })
}

/// The credit backtest: a borrower run from a start month with the market model fitted on
/// history before it and the market as it stood then.
#[derive(Clone, Debug)]
pub struct CreditBacktest {
    /// The scenario as run (its `[market.model]` the fit's, its market the start's).
    pub scenario: Scenario,
    /// The BTC calibration on the days before the start.
    pub fit: BtcCalibration,
    /// Fees per block fed to the model (BTC): the mean of the realised days in the year
    /// before the start, else the scenario's.
    pub fees_btc_per_block: f64,
    /// The credit metrics the model assigned ex ante.
    pub metrics: CreditMetrics,
}

/// Why a credit backtest cannot run.
#[derive(Debug, thiserror::Error)]
pub enum CreditBacktestError {
    /// The history does not reach the start.
    #[error(transparent)]
    Data(#[from] BacktestError),
    /// Too few prices before the start to fit.
    #[error("fitting on the prices before the start: {0}")]
    Fit(#[from] CalibrationError),
    /// The scenario with the fitted model does not run.
    #[error(transparent)]
    Simulation(#[from] SimulationError),
}

/// Runs `template`'s borrower from `start` on `paths` Monte Carlo paths (seed `seed`) with the
/// BTC model fitted on the closes before `start` (drift left as the scenario says: an
/// assumption), the BTC price at the last close before the start, the network at the start
/// (`epochs`) and fees at the mean of the realised days (`realised`) of the year before.
pub fn backtest_credit(
    template: &Scenario,
    start: YearMonth,
    closes: &[DailyClose],
    epochs: &[DifficultyEpoch],
    realised: &[DailyMinerEconomics],
    (paths, seed): (u64, u64),
) -> Result<CreditBacktest, CreditBacktestError> {
    let start_day = UtcDay::from_unix_s(start.start_unix_s());
    let before: Vec<DailyClose> = closes
        .iter()
        .filter(|c| c.day < start_day)
        .copied()
        .collect();
    let fit = calibrate_btc(&before)?;
    let last_close = before
        .last()
        .map(|c| c.close_usd)
        .ok_or(BacktestError::StartOutsideData {
            start,
            what: "no price before it",
        })?;
    let year_before = UtcDay::from_days_since_epoch(start_day.days_since_epoch() - 365);
    let observed: Vec<f64> = realised
        .iter()
        .filter(|d| d.day >= year_before && d.day < start_day && d.blocks > 0)
        .map(|d| d.fees_btc / f64::from(d.blocks))
        .collect();
    let mut scenario = template.clone();
    scenario.start_month = Some(start);
    let fees_btc_per_block = if observed.is_empty() {
        base_fees_btc_per_block(&scenario.market)
    } else {
        observed.iter().sum::<f64>() / observed.len() as f64
    };
    let market = &mut scenario.market;
    market.btc_price_series_usd.clear();
    market.btc_price_usd = Some(last_close);
    market.fees_btc_per_block = Some(fees_btc_per_block);
    market.network = Some(historical_network_start(start, epochs)?);
    fit.model.apply_to(&mut market.model);
    let (simulation, result) = simulate(&scenario, &[], paths, seed)?;
    let metrics = result.metrics(simulation.borrower());
    Ok(CreditBacktest {
        scenario,
        fit,
        fees_btc_per_block,
        metrics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> UtcDay {
        text.parse().unwrap()
    }

    #[test]
    fn recomputes_and_skips_retargets_and_gaps() {
        let closes = [
            DailyClose {
                day: day("2024-01-01"),
                close_usd: 40_000.0,
            },
            DailyClose {
                day: day("2024-01-02"),
                close_usd: 45_000.0,
            },
            DailyClose {
                day: day("2024-01-03"),
                close_usd: 44_000.0,
            },
        ];
        let difficulty = [
            DailyDifficulty {
                day: day("2023-12-31"),
                epoch: 400,
                difficulty: 7e13,
            },
            DailyDifficulty {
                day: day("2024-01-01"),
                epoch: 400,
                difficulty: 7e13,
            },
            DailyDifficulty {
                day: day("2024-01-02"),
                epoch: 401,
                difficulty: 7.2e13,
            },
            DailyDifficulty {
                day: day("2024-01-03"),
                epoch: 401,
                difficulty: 7.2e13,
            },
        ];
        let block = |text: &str, fees_sat| BlockReward {
            height: 0,
            time_unix_s: day(text).start_unix_s() + 3_600,
            fees_sat,
            subsidy_sat: 625_000_000,
        };
        let blocks = [
            block("2024-01-01", 20_000_000),
            block("2024-01-01", 40_000_000),
            block("2024-01-02", 0),
            block("2024-01-03", 10_000_000),
        ];
        let realised = |text: &str, blocks, hashprice| DailyMinerEconomics {
            day: day(text),
            blocks,
            subsidy_btc: 0.0,
            fees_btc: 0.0,
            hashprice_usd_per_ph_day: Some(hashprice),
        };
        let expected = hashprice_usd_per_ph_day(7e13, 6.55, 40_000.0);
        let result = backtest_hashprice(
            &closes,
            &difficulty,
            &blocks,
            &[
                realised("2024-01-01", 2, expected * 1.02),
                realised("2024-01-02", 1, 1.0),
                // Two blocks realised, one in the block file: incomplete.
                realised("2024-01-03", 2, 1.0),
            ],
        );
        assert_eq!(result.retarget_days, 1);
        assert_eq!(result.incomplete_days, 1);
        assert_eq!(result.days.len(), 1);
        let first = &result.days[0];
        assert!((first.reward_btc_per_block - 6.55).abs() < 1e-12);
        assert!((first.model_usd_per_ph_day - expected).abs() < 1e-9);
        assert!((first.relative_error - (1.0 / 1.02 - 1.0)).abs() < 1e-12);
        assert_eq!(result.within_1_percent_share, 0.0);
    }
}
