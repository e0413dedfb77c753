//! Checks against the real chain, from the public data in `shared/data` (see its README).
//!
//! The folder sits beside the repository (`../shared/data`) or where `BITWATT_SHARED_DATA`
//! points; a fresh clone does not have it, and then every test here says so and passes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use bitwatt_chain::{
    BlockWork, CompactBits, DIFFICULTY_ADJUSTMENT_INTERVAL, RetargetInput, block_subsidy_sat,
    quarter_epoch_block_height, snapshot, trailing_hashrate_hs,
};

fn data_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("BITWATT_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("btc_difficulty_epochs.csv").is_file() {
        Some(dir)
    } else {
        eprintln!(
            "skipped: shared data not found at {} (set BITWATT_SHARED_DATA)",
            dir.display()
        );
        None
    }
}

/// Rows of a simple CSV file (no quoted commas) as maps from column name to text.
fn read_csv(dir: &Path, name: &str) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(dir.join(name)).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = lines.next().unwrap().split(',').map(String::from).collect();
    lines
        .map(|line| {
            header
                .iter()
                .cloned()
                .zip(line.split(',').map(String::from))
                .collect()
        })
        .collect()
}

struct Epoch {
    bits: CompactBits,
    target_hex: String,
    difficulty: f64,
    first_block_time: Option<i64>,
}

fn epochs(dir: &Path) -> Vec<Epoch> {
    read_csv(dir, "btc_difficulty_epochs.csv")
        .into_iter()
        .map(|row| Epoch {
            bits: CompactBits::parse(&row["nbits"]).unwrap(),
            target_hex: row["target_hex"].clone(),
            difficulty: row["difficulty"].parse().unwrap(),
            first_block_time: row["first_block_time"].parse().ok(),
        })
        .collect()
}

/// Block times by height, from the `getblockstats` windows.
fn block_times(dir: &Path) -> HashMap<u32, (i64, u64, u64)> {
    read_csv(dir, "btc_block_stats_partial.csv")
        .into_iter()
        .map(|row| {
            (
                row["height"].parse().unwrap(),
                (
                    row["time"].parse().unwrap(),
                    row["totalfee"].parse().unwrap(),
                    row["subsidy"].parse().unwrap(),
                ),
            )
        })
        .collect()
}

#[test]
fn every_epoch_bits_decode_to_the_stored_target_and_difficulty() {
    let Some(dir) = data_dir() else { return };
    let epochs = epochs(&dir);
    assert!(epochs.len() >= 474, "{} epochs", epochs.len());
    for (i, epoch) in epochs.iter().enumerate() {
        let target = epoch.bits.target().unwrap();
        assert_eq!(target.to_hex(), epoch.target_hex, "epoch {i}");
        assert_eq!(target.to_compact_lossy(), epoch.bits, "epoch {i}");
        let core = epoch.bits.core_difficulty();
        // The file prints six decimals.
        assert!(
            (core - epoch.difficulty).abs() <= 5e-7_f64.max(epoch.difficulty * 1e-12),
            "epoch {i}: {core} vs {}",
            epoch.difficulty
        );
    }
}

#[test]
fn retargets_inside_the_block_windows_follow_core() {
    let Some(dir) = data_dir() else { return };
    let epochs = epochs(&dir);
    let times = block_times(&dir);
    let mut checked = 0;
    for (i, pair) in epochs.windows(2).enumerate() {
        let first = i as u32 * DIFFICULTY_ADJUSTMENT_INTERVAL;
        let last = first + DIFFICULTY_ADJUSTMENT_INTERVAL - 1;
        let (Some(&(first_time, _, _)), Some(&(last_time, _, _))) =
            (times.get(&first), times.get(&last))
        else {
            continue;
        };
        let input = RetargetInput {
            bits: pair[0].bits,
            first_block_time: first_time,
            last_block_time: last_time,
        };
        assert_eq!(
            input.next_bits().unwrap(),
            pair[1].bits,
            "retarget at epoch {}",
            i + 1
        );
        checked += 1;
    }
    // Epochs 0–6, 248–252, 338–346, 386–389, 452–462 lie inside the windows.
    assert!(checked >= 30, "only {checked} retargets checked");
}

#[test]
fn first_block_times_match_the_block_stats() {
    let Some(dir) = data_dir() else { return };
    let times = block_times(&dir);
    for (i, epoch) in epochs(&dir).iter().enumerate() {
        let height = i as u32 * DIFFICULTY_ADJUSTMENT_INTERVAL;
        if let (Some(t), Some(&(stats_time, _, _))) = (epoch.first_block_time, times.get(&height)) {
            assert_eq!(t, stats_time, "epoch {i}");
        }
    }
}

#[test]
fn every_block_subsidy_matches_the_chain() {
    let Some(dir) = data_dir() else { return };
    let times = block_times(&dir);
    assert!(times.len() > 80_000);
    for (height, (_, _, subsidy)) in &times {
        assert_eq!(block_subsidy_sat(*height), *subsidy, "height {height}");
    }
}

#[test]
fn snapshot_is_the_real_chain_at_925_344() {
    let Some(dir) = data_dir() else { return };
    let snap = snapshot();
    let tip = snap.tip_height;
    let epochs = epochs(&dir);
    let times = block_times(&dir);
    let epoch = &epochs[(tip / DIFFICULTY_ADJUSTMENT_INTERVAL) as usize];
    assert_eq!(snap.bits, epoch.bits);
    assert_eq!(snap.tip_time_s, times[&tip].0);
    assert_eq!(
        snap.epoch_start_time_s,
        times[&(tip - tip % DIFFICULTY_ADJUSTMENT_INTERVAL)].0
    );
    let quarter = quarter_epoch_block_height(tip).unwrap();
    assert_eq!(snap.quarter_epoch_time_s, Some(times[&quarter].0));
    let previous = &epochs[(tip / DIFFICULTY_ADJUSTMENT_INTERVAL - 1) as usize];
    let change = (epoch.bits.core_difficulty() / previous.bits.core_difficulty() - 1.0) * 100.0;
    assert!((snap.previous_retarget_percent - change).abs() < 1e-9);

    // Core's getnetworkhashps 1008: work of the last 1008 blocks over the time span of the
    // 1009 blocks from tip − 1008 to the tip.
    let window = tip - 1008..=tip;
    let block_times: Vec<i64> = window.clone().map(|h| times[&h].0).collect();
    let work = window
        .skip(1)
        .map(|h| {
            epochs[(h / DIFFICULTY_ADJUSTMENT_INTERVAL) as usize]
                .bits
                .target()
                .unwrap()
                .work()
        })
        .fold(BlockWork::zero(), |acc, w| acc + w);
    let hashrate = trailing_hashrate_hs(work, &block_times);
    assert!(
        (snap.trailing_hashrate_hs / hashrate - 1.0).abs() < 1e-12,
        "{hashrate}"
    );

    let fees: u64 = (tip - 143..=tip).map(|h| times[&h].1).sum();
    assert_eq!(snap.fee_blocks, 144);
    assert!((snap.mean_fees_btc_per_block - fees as f64 / 144.0 / 1e8).abs() < 1e-15);

    let price = read_csv(&dir, "btc_usd_daily_yahoo.csv")
        .into_iter()
        .find(|row| row["Date"] == "2025-11-26")
        .map(|row| row["Close"].parse::<f64>().unwrap());
    assert_eq!(snap.price_usd, price);
}
