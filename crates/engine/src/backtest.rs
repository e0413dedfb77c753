//! Backtests against history. `hashprice`: daily hashprice recomputed from the BTC price, the
//! difficulty in force and the block rewards of the day, against the realised series.

use std::collections::BTreeMap;

use bitwatt_chain::{
    BlockReward, DailyClose, DailyDifficulty, DailyMinerEconomics, UtcDay, daily_from_blocks,
    hashprice_usd_per_ph_day,
};
use serde::Serialize;

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
