//! The epoch-exact network: a halving inside the horizon, block counts above 4 320 a month
//! when hashrate outruns the difficulty, and retargets only at epoch boundaries.

use bitwatt_chain::{
    CompactBits, DIFFICULTY_ADJUSTMENT_INTERVAL, HASHES_PER_DIFFICULTY, MAX_TIMESPAN_S,
    retarget_bits_fast,
};
use bitwatt_engine::{NetworkMonth, NetworkOrigin, NetworkSim, WorldFleetCurve, project};
use bitwatt_model::{FleetBand, SECONDS_PER_MONTH, WorldFleet};

use crate::common::{assert_close, month, scenario};

/// The last block paying 3.125 BTC; block 1 050 000 pays 1.5625 BTC.
const LAST_BLOCK_OF_ERA_4: f64 = 1_049_999.0;

/// A halving inside the horizon: the month containing block 1 050 000 pays 3.125 BTC for its
/// blocks up to 1 049 999 and 1.5625 BTC after; later months pay 1.5625 BTC a block, and a
/// fleet's BTC income halves with it.
#[test]
fn halving_splits_the_month_and_halves_the_subsidy_after() {
    // Start 6 000 blocks before the halving (about 1.4 months at 10 minutes a block): the
    // halving falls in month 1. Fees 0, so the reward is the subsidy alone.
    let start = month("2028-03");
    let time = start.start_unix_s() - 300;
    // Height 1 044 000 is 1 728 blocks into its epoch (1 042 272 = 517 · 2016).
    let epoch_start = time - 1_728 * 600;
    let text = format!(
        r#"
schema_version = 1
name = "Halving"
start_month = "2028-03"
horizon_months = 4

[market]
btc_price_usd = 100000
btc_drift_percent_per_year = 0
fees_btc_per_block = 0

[market.network]
height = 1044000
difficulty = 150e12
epoch_start_time_unix_s = {epoch_start}
time_unix_s = {time}

[[site]]
name = "S"
grid_capacity_mw = 10
market_exposure_percent = 0

[[mining_fleet]]
name = "F"
site = "S"
model = "Antminer S21 XP"
count = 1000
uptime_percent = 100
pool_fee_percent = 0
economic_curtailment = false
"#
    );
    let scenario = scenario(&text);
    let projection = project(&scenario, &[]).expect("compiles");
    let market = &projection.market;
    let mut tip = 1_044_000.0;
    let mut halving_month = None;
    for t in 0..4 {
        let blocks = market.blocks[t];
        let end = tip + blocks;
        assert_eq!(market.end_height[t], end.floor() as u32, "end height");
        let expected = if end <= LAST_BLOCK_OF_ERA_4 {
            3.125 * blocks
        } else if tip >= LAST_BLOCK_OF_ERA_4 {
            1.5625 * blocks
        } else {
            halving_month = Some(t);
            3.125 * (LAST_BLOCK_OF_ERA_4 - tip) + 1.5625 * (end - LAST_BLOCK_OF_ERA_4)
        };
        assert_close(
            market.subsidy_btc[t],
            expected,
            &format!("subsidy, month {t}"),
        );
        // The fleet: 1 000 × 270 TH/s, all running (no curtailment, no outages, no pool fee):
        // its share of the network's hashrate times the network's BTC.
        let share = 1_000.0 * 270e12 / market.network_hashrate_hs[t];
        assert_close(
            projection.months[t].btc_mined,
            share * expected,
            &format!("BTC mined, month {t}"),
        );
        tip = end;
    }
    assert_eq!(halving_month, Some(1), "the halving falls in month 1");
    // Per block: 3.125 before, 1.5625 after, in between in the halving month.
    let per_block = |t: usize| market.subsidy_btc[t] / market.blocks[t];
    assert_close(per_block(0), 3.125, "month 0");
    assert!(per_block(1) > 1.5625 && per_block(1) < 3.125);
    assert_close(per_block(2), 1.5625, "month 2");
    assert_close(per_block(3), 1.5625, "month 3");
}

/// A world fleet whose every machine runs at any plausible hashprice (1 J/TH against free
/// power) and that neither grows nor retires: the network's hashrate stays at the origin's.
fn fixed_fleet() -> WorldFleetCurve {
    WorldFleetCurve::new(&WorldFleet {
        bands: vec![FleetBand {
            efficiency_j_per_th: 1.0,
            hashrate_share_percent: 100.0,
        }],
        power_price_median_usd_per_mwh: 0.0,
        power_price_spread_usd_per_mwh: 1.0,
        growth_percent_per_year_at_full_margin: 0.0,
        retirement_percent_per_year: 0.0,
        ..WorldFleet::default()
    })
}

/// The snapshot's bits (difficulty ≈ 149.3 T) at the first block of an epoch, height
/// 1 008 000 = 500 · 2016, with a constant hashrate `speed` times the one the difficulty
/// implies (10-minute blocks).
fn origin(speed: f64) -> (NetworkOrigin, f64) {
    let bits = CompactBits::from_consensus(0x1701_e2a0);
    let difficulty = bits.core_difficulty();
    let hashrate_hs = speed * difficulty * HASHES_PER_DIFFICULTY / 600.0;
    let time_s = 1_900_000_000;
    (
        NetworkOrigin {
            height: 1_008_000,
            bits,
            epoch_start_time_s: time_s,
            time_s,
            hashrate_hs,
        },
        hashrate_hs,
    )
}

fn run_months(speed: f64, months: usize) -> (Vec<NetworkMonth>, f64) {
    let (origin, hashrate_hs) = origin(speed);
    let mut sim = NetworkSim::new(fixed_fleet(), origin, 50.0, months);
    let steps = (0..months).map(|_| sim.step_month(90_000.0, 0.0)).collect();
    (steps, hashrate_hs)
}

/// Hashrate above what the difficulty expects gives more than 4 320 blocks a month: at twice
/// the implied hashrate, blocks come every 300 s until the first retarget.
#[test]
fn faster_hashrate_gives_more_than_4320_blocks_a_month() {
    let (months, hashrate_hs) = run_months(2.0, 1);
    let bits0 = CompactBits::from_consensus(0x1701_e2a0);
    let interval = |bits: CompactBits| bits.core_difficulty() * HASHES_PER_DIFFICULTY / hashrate_hs;
    let time0 = 1_900_000_000.0;
    // Epoch 1: its last 2015 blocks at 300 s; the timespan 2015 · 300 = 604 500 s halves the
    // target (difficulty × 2.0010).
    let interval0 = interval(bits0);
    assert_close(interval0, 300.0, "first interval");
    let close1 = time0 + 2_015.0 * interval0;
    let bits1 = retarget_bits_fast(bits0, (close1.round() - time0) as u32);
    // Epoch 2: 2016 blocks at ≈ 600.3 s, its first one interval after the retarget; its
    // timespan is 2015 of those intervals.
    let interval1 = interval(bits1);
    let epoch2_start = close1 + interval1;
    let close2 = close1 + 2_016.0 * interval1;
    let bits2 = retarget_bits_fast(bits1, (close2.round() - epoch2_start.round()) as u32);
    // Epoch 3: the rest of the month.
    let rest_s = SECONDS_PER_MONTH - 2_015.0 * interval0 - 2_016.0 * interval1;
    let blocks = 2_015.0 + 2_016.0 + rest_s / interval(bits2);
    assert_close(months[0].blocks, blocks, "blocks in month 0");
    assert!(months[0].blocks > 5_300.0, "{} blocks", months[0].blocks);
    assert_eq!(months[0].end_difficulty, bits2.core_difficulty());
    assert_close(months[0].hashrate_hs, hashrate_hs, "hashrate");
}

/// In a full base case, fast growth of the world fleet (a high BTC price, growth 500 % a year
/// at full margin, no deployment lag) mines more than 4 320 blocks every month after the
/// first; a fleet that never grows stays at or below 10-minute blocks.
#[test]
fn fast_world_fleet_growth_mines_more_than_4320_blocks_a_month() {
    let base = |growth: f64, price: f64| {
        scenario(&format!(
            r#"
schema_version = 1
name = "Growth"
start_month = "2026-01"
horizon_months = 12
[market]
btc_price_usd = {price}
btc_drift_percent_per_year = 0
[market.world_fleet]
growth_percent_per_year_at_full_margin = {growth}
deployment_lag_months = 0
retirement_percent_per_year = 0
[[site]]
name = "S"
grid_capacity_mw = 10
[[mining_fleet]]
name = "F"
site = "S"
model = "Antminer S21 XP"
count = 100
"#
        ))
    };
    let fast = bitwatt_engine::base_market_path(&base(500.0, 500_000.0));
    let still = bitwatt_engine::base_market_path(&base(0.0, 90_000.0));
    for t in 1..12 {
        assert!(
            fast.blocks[t] > 4_320.0,
            "month {t}: {} blocks",
            fast.blocks[t]
        );
        assert!(
            fast.network_hashrate_hs[t] > fast.network_hashrate_hs[t - 1],
            "the hashrate grows"
        );
    }
    let fast_total: f64 = fast.blocks.iter().sum();
    assert!(fast_total > 12.0 * 4_383.0, "{fast_total} blocks a year");
    for t in 0..12 {
        assert!(
            still.blocks[t] <= 4_383.0 + 1.0,
            "month {t}: {}",
            still.blocks[t]
        );
    }
}

/// The difficulty changes only when an epoch's last block (height ≡ 2015 mod 2016) is found.
/// At an eighth of the implied hashrate blocks come every 4 800 s: 547.875 a month, so the
/// first epoch closes in month 3, with the timespan clamped to four times the target.
#[test]
fn difficulty_retargets_only_at_epoch_boundaries() {
    let (months, hashrate_hs) = run_months(1.0 / 8.0, 24);
    let bits0 = CompactBits::from_consensus(0x1701_e2a0);
    let d0 = bits0.core_difficulty();
    for (t, m) in months.iter().enumerate().take(3) {
        assert_close(m.blocks, 547.875, &format!("blocks in month {t}"));
        assert_eq!(m.end_difficulty, d0, "month {t}");
        assert_eq!(m.mean_difficulty, d0, "month {t}");
    }
    assert_eq!(months[2].end_height, 1_008_000 + 1_643);
    // Month 3: 2015 − 1643.625 = 371.375 blocks finish the epoch (1 782 600 s), whose timespan
    // 2015 · 4800 = 9 672 000 s is clamped to 4 838 400 s: the target × 4.
    let bits1 = retarget_bits_fast(bits0, MAX_TIMESPAN_S as u32);
    let d1 = bits1.core_difficulty();
    assert_close(d1, d0 / 4.0, "clamped retarget");
    let interval1 = d1 * HASHES_PER_DIFFICULTY / hashrate_hs;
    let after = (SECONDS_PER_MONTH - 371.375 * 4_800.0) / interval1;
    assert_close(months[3].blocks, 371.375 + after, "blocks in month 3");
    assert_eq!(months[3].end_difficulty, d1);
    assert_close(
        months[3].mean_difficulty,
        (371.375 * d0 + after * d1) / (371.375 + after),
        "mean difficulty in month 3",
    );
    // Month 4: the second epoch (2016 blocks at 1200 s) closes with a timespan of
    // 2015 · 1200 = 2 418 000 s: the target × 2 418 000 / 1 209 600 (difficulty ≈ d0 / 8.004).
    let bits2 = retarget_bits_fast(bits1, 2_418_000);
    assert_eq!(months[4].end_difficulty, bits2.core_difficulty());
    // From there blocks come every D·2³²/H ≈ 600.3 s, so 2015 of them span about 1 209 600 s,
    // the target timespan (Bitcoin's off-by-one): a fixed point of the rule at the compact
    // encoding's precision, so later retargets leave the bits as they are.
    let interval2 = bits2.core_difficulty() * HASHES_PER_DIFFICULTY / hashrate_hs;
    let timespan = (2_015.0 * interval2).round();
    assert!((timespan - 1_209_600.0).abs() <= 1.0, "timespan {timespan}");
    assert_eq!(retarget_bits_fast(bits2, timespan as u32), bits2);
    // Every month: the difficulty moves only when an epoch closed in it (its last block,
    // height ≡ 2015 mod 2016, was found).
    let epoch = DIFFICULTY_ADJUSTMENT_INTERVAL;
    let mut height = 1_008_000_u32;
    let mut difficulty = d0;
    let mut retargets = 0;
    for (t, m) in months.iter().enumerate() {
        let closed = (m.end_height + 1) / epoch - (height + 1) / epoch;
        if closed == 0 {
            assert_eq!(m.end_difficulty, difficulty, "no epoch closed in month {t}");
            assert_eq!(
                m.mean_difficulty, difficulty,
                "no epoch closed in month {t}"
            );
        } else {
            assert!(t >= 3, "the first epoch closes in month 3");
        }
        if t >= 4 {
            assert_eq!(m.end_difficulty, bits2.core_difficulty(), "month {t}");
        }
        retargets += closed;
        height = m.end_height;
        difficulty = m.end_difficulty;
    }
    // One retarget every 2016 blocks: 24 months end at height 1 008 000 + Σ blocks.
    let total: f64 = months.iter().map(|m| m.blocks).sum();
    assert_eq!(height, (1_008_000.0 + total).floor() as u32);
    assert_eq!(retargets, (height + 1) / epoch - 1_008_001 / epoch);
    assert!(retargets > 24, "{retargets} retargets");
}

/// On the default world fleet, whose hashrate follows the BTC price (here 90 k, a crash to
/// 40 k, then 120 k), every month in which an epoch closes moves the difficulty and no other
/// month does.
#[test]
fn difficulty_follows_a_varying_hashrate_only_at_retargets() {
    let market = bitwatt_model::Market::default();
    let origin = bitwatt_engine::network_origin(&market);
    let start_hashprice =
        bitwatt_chain::hashprice_usd_per_ph_day(origin.bits.core_difficulty(), 3.125, 90_000.0);
    let mut sim = NetworkSim::new(
        WorldFleetCurve::new(&market.world_fleet),
        origin,
        start_hashprice,
        36,
    );
    let epoch = DIFFICULTY_ADJUSTMENT_INTERVAL;
    let mut height = origin.height;
    let mut difficulty = sim.difficulty();
    let mut changes = 0;
    for t in 0..36 {
        let price = match t {
            0..6 => 90_000.0,
            6..12 => 40_000.0,
            _ => 120_000.0,
        };
        let m = sim.step_month(price, 0.02);
        assert_eq!(m.end_difficulty, sim.difficulty());
        let closed = (m.end_height + 1) / epoch - (height + 1) / epoch;
        if closed == 0 {
            assert_eq!(m.end_difficulty, difficulty, "no epoch closed in month {t}");
        } else {
            assert_ne!(
                m.end_difficulty, difficulty,
                "{closed} epochs closed in month {t}"
            );
            changes += 1;
        }
        height = m.end_height;
        difficulty = m.end_difficulty;
    }
    assert!(changes >= 30, "{changes} months with a retarget");
}
