//! Estimate of the next difficulty adjustment, as mempool.space shows it.
//!
//! This follows mempool.space's estimate (`calcDifficultyAdjustment` in its backend, the figures
//! behind `/api/v1/difficulty-adjustment`). It is written from a description of that estimate,
//! not from mempool's (AGPL) code, and is checked against the input/output vectors of mempool's
//! own unit tests (`backend/src/__tests__/api/difficulty-adjustment.test.ts`), ported below.
//!
//! With `b = height mod 2016` blocks mined in the epoch and `elapsed = max(0, now − epoch start)`:
//!
//! * late in the epoch (or without a quarter-epoch time) the change is
//!   `600 / (actual / (b + 1)) − 1`, where `actual` runs from the epoch start to now, or to the
//!   tip block's time once the epoch's last block (`b = 2015`) has locked the retarget in;
//! * early in the epoch (`b < 503`) with the time of the block 503 below the tip, it is measured
//!   over that 504-block window instead: the part of the window in the previous epoch is scaled
//!   by the previous retarget (`· (1 + previous / 100)`) as if mined at today's difficulty, and
//!   the expected interval is the window's span over 503 intervals;
//! * the change is capped to [−75 %, +300 %], Core's four-fold limit.
//!
//! Times are integer milliseconds, floored, where mempool's are; on testnet (mempool's
//! `testnet`, i.e. testnet3) the plain average is capped at 20 minutes, the 20-minute
//! minimum-difficulty rule, and a time offset reports how long the network has waited.

use serde::Serialize;

use crate::network::NetworkState;
use crate::pow::{DIFFICULTY_ADJUSTMENT_INTERVAL, TARGET_BLOCK_SPACING_S};

/// How far below the tip the quarter-epoch block lies: the estimate reads the time of the block
/// at `height − 503`, the first block of the 504-block window that ends at the tip (mempool's
/// backend fetches `getblockhash(tip − 503)`).
pub const QUARTER_EPOCH_OFFSET_BLOCKS: u32 = 503;

/// Longest mean block interval testnet can show (s): after 20 minutes without a block, testnet
/// allows a block at minimum difficulty.
const TESTNET_MAX_BLOCK_SECONDS: f64 = 1200.0;

/// Which network's rules the estimate applies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AdjustmentNetwork {
    /// Mainnet rules. mempool uses these for every network but its `testnet` (signet and
    /// testnet4 included).
    #[default]
    Mainnet,
    /// Testnet3: the mean interval is capped at 20 minutes and a time offset is reported.
    Testnet,
}

/// What the estimate needs to know about the chain and the clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdjustmentInput {
    /// Height of the tip block.
    pub height: u32,
    /// Timestamp of the first block of the current epoch, at `height − height mod 2016`
    /// (Unix seconds).
    pub epoch_start_time_s: i64,
    /// The current time (Unix seconds).
    pub now_s: i64,
    /// Timestamp of the tip block (Unix seconds). Used once the epoch's last block has locked
    /// the retarget in, and for testnet's time offset.
    pub latest_block_time_s: i64,
    /// Timestamp of the block [`QUARTER_EPOCH_OFFSET_BLOCKS`] below the tip (Unix seconds), see
    /// [`quarter_epoch_block_height`]. `None`, or `Some(0)` as mempool reads a zero, leaves the
    /// estimate on the current epoch alone.
    pub quarter_epoch_time_s: Option<i64>,
    /// Difficulty change of the last retarget in percent (negative when it fell).
    pub previous_retarget_percent: f64,
    /// Which network's rules apply.
    pub network: AdjustmentNetwork,
}

impl AdjustmentInput {
    /// The input for a network state read at `now_s`.
    pub fn from_network_state(
        state: &NetworkState,
        now_s: i64,
        network: AdjustmentNetwork,
    ) -> Self {
        Self {
            height: state.tip_height,
            epoch_start_time_s: state.epoch_start_time_s,
            now_s,
            latest_block_time_s: state.tip_time_s,
            quarter_epoch_time_s: state.quarter_epoch_time_s,
            previous_retarget_percent: state.previous_retarget_percent,
            network,
        }
    }
}

/// The estimate, with mempool's `/api/v1/difficulty-adjustment` fields in snake case.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AdjustmentEstimate {
    /// Share of the epoch mined, 0 to 100 (%): `(height mod 2016) / 2016 · 100`.
    pub progress_percent: f64,
    /// Estimated difficulty change at the next retarget, −75 to 300 (%).
    pub difficulty_change: f64,
    /// When the next retarget is expected (Unix milliseconds):
    /// `remaining_time_ms + now · 1000`.
    pub estimated_retarget_date_ms: i64,
    /// Blocks left until the next retarget, 1 to 2016.
    pub remaining_blocks: u32,
    /// Expected time until the next retarget (ms): `remaining_blocks · adjusted_time_avg_ms`.
    pub remaining_time_ms: i64,
    /// The previous retarget in percent, passed through from the input.
    pub previous_retarget_percent: f64,
    /// Timestamp of the first block of the epoch (Unix seconds; mempool's `previousTime`).
    pub previous_time_s: i64,
    /// Height of the first block of the next epoch.
    pub next_retarget_height: u64,
    /// Mean block interval in this epoch so far (ms, floored): `elapsed / blocks mined`, 600 s
    /// when none has been; capped at 20 minutes on testnet.
    pub time_avg_ms: i64,
    /// Expected block interval for the rest of the epoch (ms, floored): over the 504-block
    /// window early in the epoch, otherwise the epoch's mean (not capped on testnet).
    pub adjusted_time_avg_ms: i64,
    /// Testnet only: minus the time since the tip block, at most 20 minutes, once that time plus
    /// the mean interval exceeds 20 minutes (ms, ≤ 0); 0 otherwise.
    pub time_offset_ms: i64,
    /// Blocks the epoch would hold by now at one per 600 s: `elapsed / 600`.
    pub expected_blocks: f64,
}

/// Height of the first block of the epoch that `height` belongs to.
pub const fn epoch_start_height(height: u32) -> u32 {
    height - height % DIFFICULTY_ADJUSTMENT_INTERVAL
}

/// Height whose timestamp is [`AdjustmentInput::quarter_epoch_time_s`] for a tip at `height`:
/// `height − 503`, or `None` below 503 (mempool then has no quarter-epoch time).
pub const fn quarter_epoch_block_height(height: u32) -> Option<u32> {
    height.checked_sub(QUARTER_EPOCH_OFFSET_BLOCKS)
}

/// Seconds as floored integer milliseconds; saturates, and NaN gives 0.
fn floor_ms(seconds: f64) -> i64 {
    // `as` from f64 saturates at the i64 bounds and maps NaN to 0: no panic for any input.
    (seconds * 1000.0).floor() as i64
}

/// Estimates the next difficulty adjustment as mempool.space does.
///
/// Never panics: integer arithmetic saturates, and degenerate spans (now before the epoch
/// start, zero-length windows) give the capped change rather than an error.
pub fn estimate_adjustment(input: &AdjustmentInput) -> AdjustmentEstimate {
    let interval = DIFFICULTY_ADJUSTMENT_INTERVAL;
    let spacing_s = f64::from(TARGET_BLOCK_SPACING_S);

    let blocks_in_epoch = input.height % interval;
    let progress_percent = f64::from(blocks_in_epoch) / f64::from(interval) * 100.0;
    let remaining_blocks = interval - blocks_in_epoch;
    let next_retarget_height = u64::from(input.height) + u64::from(remaining_blocks);

    let elapsed_s = input.now_s.saturating_sub(input.epoch_start_time_s).max(0) as f64;
    let expected_blocks = elapsed_s / spacing_s;
    // Once the epoch's last block is in, the retarget is fixed by that block's time.
    let actual_end_s = if blocks_in_epoch == interval - 1 {
        input.latest_block_time_s
    } else {
        input.now_s
    };
    let actual_timespan_s = actual_end_s.saturating_sub(input.epoch_start_time_s) as f64;

    let mut time_avg_s = if blocks_in_epoch == 0 {
        spacing_s
    } else {
        elapsed_s / f64::from(blocks_in_epoch)
    };
    let mut adjusted_time_avg_s = time_avg_s;

    let quarter_epoch_time_s = input.quarter_epoch_time_s.filter(|&t| t != 0);
    let difficulty_change = match quarter_epoch_time_s {
        Some(quarter_s) if blocks_in_epoch < QUARTER_EPOCH_OFFSET_BLOCKS => {
            // The window's blocks in the previous epoch, rescaled to today's difficulty.
            let before_epoch_s = input.epoch_start_time_s.saturating_sub(quarter_s) as f64;
            let rescaled_s = before_epoch_s * (1.0 + input.previous_retarget_percent / 100.0);
            let window_span_s = elapsed_s + rescaled_s;
            adjusted_time_avg_s = window_span_s / f64::from(QUARTER_EPOCH_OFFSET_BLOCKS);
            let window_blocks = f64::from(QUARTER_EPOCH_OFFSET_BLOCKS + 1);
            (spacing_s / (window_span_s / window_blocks) - 1.0) * 100.0
        }
        _ => (spacing_s / (actual_timespan_s / f64::from(blocks_in_epoch + 1)) - 1.0) * 100.0,
    };
    // Core's four-fold limit. The bounds are constants, so `clamp` cannot panic; a NaN (from a
    // NaN previous retarget) stays NaN, as in mempool.
    let difficulty_change = difficulty_change.clamp(-75.0, 300.0);

    let mut time_offset_ms = 0;
    if input.network == AdjustmentNetwork::Testnet {
        if time_avg_s > TESTNET_MAX_BLOCK_SECONDS {
            time_avg_s = TESTNET_MAX_BLOCK_SECONDS;
        }
        let since_tip_s = input.now_s.saturating_sub(input.latest_block_time_s);
        if since_tip_s as f64 + time_avg_s > TESTNET_MAX_BLOCK_SECONDS {
            time_offset_ms = since_tip_s
                .min(TESTNET_MAX_BLOCK_SECONDS as i64)
                .saturating_mul(1000)
                .saturating_neg();
        }
    }

    let time_avg_ms = floor_ms(time_avg_s);
    let adjusted_time_avg_ms = floor_ms(adjusted_time_avg_s);
    let remaining_time_ms = i64::from(remaining_blocks).saturating_mul(adjusted_time_avg_ms);
    let estimated_retarget_date_ms =
        remaining_time_ms.saturating_add(input.now_s.saturating_mul(1000));

    AdjustmentEstimate {
        progress_percent,
        difficulty_change,
        estimated_retarget_date_ms,
        remaining_blocks,
        remaining_time_ms,
        previous_retarget_percent: input.previous_retarget_percent,
        previous_time_s: input.epoch_start_time_s,
        next_retarget_height,
        time_avg_ms,
        adjusted_time_avg_ms,
        time_offset_ms,
        expected_blocks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::snapshot;
    use proptest::prelude::*;

    // Unix seconds of the dates in mempool's test vectors (`date -u -d … +%s`).
    const T_2024_02_02_15_42_06: i64 = 1_706_888_526;
    const T_2024_02_08_14_43_05: i64 = 1_707_403_385;
    const T_2024_02_11_22_43_01: i64 = 1_707_691_381;
    const T_2022_08_16_03_16_54: i64 = 1_660_619_814;
    const T_2022_08_18_11_07_00: i64 = 1_660_820_820;
    const T_2022_08_19_13_52_46: i64 = 1_660_917_166;
    const T_2022_08_19_14_03_53: i64 = 1_660_917_833;
    const T_2023_04_20_09_57_33: i64 = 1_681_984_653;
    const T_2023_05_04_14_54_09: i64 = 1_683_212_049;
    const T_2023_05_04_14_54_26: i64 = 1_683_212_066;

    /// Arguments in the order of mempool's `calcDifficultyAdjustment(DATime, quarterEpochTime,
    /// nowSeconds, blockHeight, previousRetarget, network, latestBlockTimestamp)`.
    fn input(
        epoch_start_time_s: i64,
        quarter_epoch_time_s: Option<i64>,
        now_s: i64,
        height: u32,
        previous_retarget_percent: f64,
        network: AdjustmentNetwork,
        latest_block_time_s: i64,
    ) -> AdjustmentInput {
        AdjustmentInput {
            height,
            epoch_start_time_s,
            now_s,
            latest_block_time_s,
            quarter_epoch_time_s,
            previous_retarget_percent,
            network,
        }
    }

    /// The expected result in the field order of mempool's test vectors.
    #[allow(clippy::too_many_arguments)]
    fn expected(
        progress_percent: f64,
        difficulty_change: f64,
        estimated_retarget_date_ms: i64,
        remaining_blocks: u32,
        remaining_time_ms: i64,
        previous_retarget_percent: f64,
        previous_time_s: i64,
        next_retarget_height: u64,
        time_avg_ms: i64,
        adjusted_time_avg_ms: i64,
        time_offset_ms: i64,
        expected_blocks: f64,
    ) -> AdjustmentEstimate {
        AdjustmentEstimate {
            progress_percent,
            difficulty_change,
            estimated_retarget_date_ms,
            remaining_blocks,
            remaining_time_ms,
            previous_retarget_percent,
            previous_time_s,
            next_retarget_height,
            time_avg_ms,
            adjusted_time_avg_ms,
            time_offset_ms,
            expected_blocks,
        }
    }

    // Vectors 1–4 of mempool/mempool `backend/src/__tests__/api/difficulty-adjustment.test.ts`
    // (commit 14d8f67878e90ea6b8f473219b3d570217f4bfa2), compared exactly as its
    // `toStrictEqual` does: the floats must be the same doubles.

    #[test]
    fn mempool_vector_1_normal_adjustment() {
        let got = estimate_adjustment(&input(
            T_2024_02_02_15_42_06,
            Some(T_2024_02_08_14_43_05),
            T_2024_02_11_22_43_01,
            830_027,
            7.333505241141637,
            AdjustmentNetwork::Mainnet,
            0,
        ));
        let want = expected(
            71.97420634920636,
            8.512745140778843,
            1_708_004_001_715,
            565,
            312_620_715,
            7.333505241141637,
            1_706_888_526,
            830_592,
            553_311,
            553_311,
            0,
            1338.0916666666667,
        );
        assert_eq!(got, want);
    }

    #[test]
    fn mempool_vector_2_within_quarter_epoch_overlap() {
        let got = estimate_adjustment(&input(
            T_2022_08_18_11_07_00,
            Some(T_2022_08_16_03_16_54),
            T_2022_08_19_14_03_53,
            750_134,
            0.6280047707459726,
            AdjustmentNetwork::Mainnet,
            0,
        ));
        let want = expected(
            9.027777777777777,
            1.0420538959004633,
            1_662_009_048_328,
            1834,
            1_091_215_328,
            0.6280047707459726,
            1_660_820_820,
            751_968,
            533_038,
            594_992,
            0,
            161.68833333333333,
        );
        assert_eq!(got, want);
    }

    #[test]
    fn mempool_vector_3_testnet() {
        let got = estimate_adjustment(&input(
            T_2022_08_18_11_07_00,
            Some(T_2022_08_16_03_16_54),
            T_2022_08_19_14_03_53,
            750_134,
            0.6280047707459726,
            AdjustmentNetwork::Testnet,
            T_2022_08_19_13_52_46,
        ));
        // As vector 2 but for the time offset: 11 min 7 s since the tip, which with the
        // 533.038 s mean passes 20 minutes.
        let want = expected(
            9.027777777777777,
            1.0420538959004633,
            1_662_009_048_328,
            1834,
            1_091_215_328,
            0.6280047707459726,
            1_660_820_820,
            751_968,
            533_038,
            594_992,
            -667_000,
            161.68833333333333,
        );
        assert_eq!(got, want);
    }

    #[test]
    fn mempool_vector_4_mainnet_lock_in() {
        // Epoch ending at 788 255: the last block is in, so the tip's time fixes the change;
        // the (stale) quarter-epoch time is ignored this late in the epoch.
        let got = estimate_adjustment(&input(
            T_2023_04_20_09_57_33,
            Some(T_2022_08_16_03_16_54),
            T_2023_05_04_14_54_09,
            788_255,
            1.7220298879531821,
            AdjustmentNetwork::Mainnet,
            T_2023_05_04_14_54_26,
        ));
        let want = expected(
            99.95039682539682,
            -1.4512637555574193,
            1_683_212_658_129,
            1,
            609_129,
            1.7220298879531821,
            1_681_984_653,
            788_256,
            609_129,
            609_129,
            0,
            2045.66,
        );
        assert_eq!(got, want);
    }

    // The earlier version of the same test file (mempool/mempool commit
    // 05f85c5201d5609ace99e32c248f2625dea5bdfd) predates the quarter-epoch window: its three
    // vectors are the estimate without a quarter-epoch time (and without `adjustedTimeAvg`,
    // which then equals `timeAvg`).

    #[test]
    fn mempool_earlier_vector_1_without_quarter_epoch_time() {
        let got = estimate_adjustment(&input(
            T_2022_08_18_11_07_00,
            None,
            T_2022_08_19_14_03_53,
            750_134,
            0.6280047707459726,
            AdjustmentNetwork::Mainnet,
            0,
        ));
        let want = expected(
            9.027777777777777,
            13.180707740199772,
            1_661_895_424_692,
            1834,
            977_591_692,
            0.6280047707459726,
            1_660_820_820,
            751_968,
            533_038,
            533_038,
            0,
            161.68833333333333,
        );
        assert_eq!(got, want);
    }

    #[test]
    fn mempool_earlier_vector_2_testnet_without_quarter_epoch_time() {
        let got = estimate_adjustment(&input(
            T_2022_08_18_11_07_00,
            None,
            T_2022_08_19_14_03_53,
            750_134,
            0.6280047707459726,
            AdjustmentNetwork::Testnet,
            T_2022_08_19_13_52_46,
        ));
        let want = expected(
            9.027777777777777,
            13.180707740199772,
            1_661_895_424_692,
            1834,
            977_591_692,
            0.6280047707459726,
            1_660_820_820,
            751_968,
            533_038,
            533_038,
            -667_000,
            161.68833333333333,
        );
        assert_eq!(got, want);
    }

    #[test]
    fn mempool_earlier_vector_3_lock_in_without_quarter_epoch_time() {
        let got = estimate_adjustment(&input(
            T_2023_04_20_09_57_33,
            None,
            T_2023_05_04_14_54_09,
            788_255,
            1.7220298879531821,
            AdjustmentNetwork::Mainnet,
            T_2023_05_04_14_54_26,
        ));
        let want = expected(
            99.95039682539682,
            -1.4512637555574193,
            1_683_212_658_129,
            1,
            609_129,
            1.7220298879531821,
            1_681_984_653,
            788_256,
            609_129,
            609_129,
            0,
            2045.66,
        );
        assert_eq!(got, want);
    }

    #[test]
    fn previous_retarget_is_passed_through() {
        let mut i = input(
            T_2022_08_18_11_07_00,
            None,
            T_2022_08_19_14_03_53,
            750_134,
            -12.5,
            AdjustmentNetwork::Mainnet,
            0,
        );
        assert_eq!(estimate_adjustment(&i).previous_retarget_percent, -12.5);
        i.previous_retarget_percent = 0.6280047707459726;
        assert_eq!(
            estimate_adjustment(&i).previous_retarget_percent,
            0.6280047707459726
        );
    }

    #[test]
    fn zero_quarter_epoch_time_counts_as_none() {
        let base = input(
            T_2022_08_18_11_07_00,
            None,
            T_2022_08_19_14_03_53,
            750_134,
            0.6280047707459726,
            AdjustmentNetwork::Mainnet,
            0,
        );
        let zero = AdjustmentInput {
            quarter_epoch_time_s: Some(0),
            ..base
        };
        assert_eq!(estimate_adjustment(&zero), estimate_adjustment(&base));
    }

    #[test]
    fn quarter_window_only_before_block_503_of_the_epoch() {
        let epoch_start = 1_700_000_000;
        let at = |height: u32| {
            let blocks = i64::from(height % 2016);
            input(
                epoch_start,
                Some(epoch_start - 504 * 600),
                epoch_start + blocks * 300,
                height,
                0.0,
                AdjustmentNetwork::Mainnet,
                0,
            )
        };
        let base = 2016 * 400;
        // 502 blocks in: the window (and its 503-interval mean) is used.
        let early = estimate_adjustment(&at(base + 502));
        assert_ne!(early.adjusted_time_avg_ms, early.time_avg_ms);
        // 503 blocks in: the epoch alone.
        let late = estimate_adjustment(&at(base + 503));
        assert_eq!(late.adjusted_time_avg_ms, late.time_avg_ms);
        assert_eq!(late.time_avg_ms, 300_000);
    }

    #[test]
    fn change_is_capped_at_four_fold() {
        let epoch_start = 1_700_000_000;
        // 1000 blocks in 1000 s: far above +300 %.
        let fast = input(
            epoch_start,
            None,
            epoch_start + 1000,
            2016 * 400 + 1000,
            0.0,
            AdjustmentNetwork::Mainnet,
            0,
        );
        assert_eq!(estimate_adjustment(&fast).difficulty_change, 300.0);
        // 10 blocks in 100 days: far below −75 %.
        let slow = AdjustmentInput {
            height: 2016 * 400 + 10,
            now_s: epoch_start + 100 * 86_400,
            ..fast
        };
        assert_eq!(estimate_adjustment(&slow).difficulty_change, -75.0);
    }

    #[test]
    fn first_block_of_epoch_without_window_uses_target_spacing() {
        let epoch_start = 1_700_000_000;
        let got = estimate_adjustment(&input(
            epoch_start,
            None,
            epoch_start + 600,
            2016 * 400,
            0.0,
            AdjustmentNetwork::Mainnet,
            epoch_start,
        ));
        assert_eq!(got.progress_percent, 0.0);
        assert_eq!(got.remaining_blocks, 2016);
        assert_eq!(got.next_retarget_height, 2016 * 401);
        assert_eq!(got.time_avg_ms, 600_000);
        assert_eq!(got.adjusted_time_avg_ms, 600_000);
        assert_eq!(got.remaining_time_ms, 2016 * 600_000);
        assert_eq!(
            got.estimated_retarget_date_ms,
            (epoch_start + 600) * 1000 + 2016 * 600_000
        );
        // 600 s for the block being mined: on target.
        assert_eq!(got.difficulty_change, 0.0);
        assert_eq!(got.expected_blocks, 1.0);
    }

    #[test]
    fn now_before_epoch_start_does_not_go_negative() {
        let epoch_start = 1_700_000_000;
        let got = estimate_adjustment(&input(
            epoch_start,
            None,
            epoch_start - 3600,
            2016 * 400 + 10,
            0.0,
            AdjustmentNetwork::Mainnet,
            epoch_start,
        ));
        assert_eq!(got.time_avg_ms, 0);
        assert_eq!(got.expected_blocks, 0.0);
        // The actual span is negative: the change lands on the cap, as in mempool.
        assert_eq!(got.difficulty_change, -75.0);
    }

    #[test]
    fn testnet_caps_mean_at_twenty_minutes_but_not_the_adjusted_mean() {
        let epoch_start = 1_700_000_000;
        let got = estimate_adjustment(&input(
            epoch_start,
            None,
            epoch_start + 100 * 3000,
            2016 * 400 + 100,
            0.0,
            AdjustmentNetwork::Testnet,
            epoch_start + 100 * 3000 - 60,
        ));
        assert_eq!(got.time_avg_ms, 1_200_000);
        assert_eq!(got.adjusted_time_avg_ms, 3_000_000);
        assert_eq!(got.remaining_time_ms, 1916 * 3_000_000);
        // 60 s since the tip + 1200 s > 1200 s.
        assert_eq!(got.time_offset_ms, -60_000);
        let mainnet = estimate_adjustment(&AdjustmentInput {
            network: AdjustmentNetwork::Mainnet,
            ..input(
                epoch_start,
                None,
                epoch_start + 100 * 3000,
                2016 * 400 + 100,
                0.0,
                AdjustmentNetwork::Testnet,
                epoch_start + 100 * 3000 - 60,
            )
        });
        assert_eq!(mainnet.time_avg_ms, 3_000_000);
        assert_eq!(mainnet.time_offset_ms, 0);
    }

    #[test]
    fn testnet_offset_is_at_most_twenty_minutes() {
        let epoch_start = 1_700_000_000;
        let got = estimate_adjustment(&input(
            epoch_start,
            None,
            epoch_start + 100 * 600,
            2016 * 400 + 100,
            0.0,
            AdjustmentNetwork::Testnet,
            epoch_start,
        ));
        assert_eq!(got.time_offset_ms, -1_200_000);
    }

    #[test]
    fn heights_of_the_blocks_the_caller_reads() {
        assert_eq!(epoch_start_height(750_134), 749_952);
        assert_eq!(epoch_start_height(749_952), 749_952);
        assert_eq!(epoch_start_height(0), 0);
        assert_eq!(quarter_epoch_block_height(750_134), Some(749_631));
        assert_eq!(quarter_epoch_block_height(503), Some(0));
        assert_eq!(quarter_epoch_block_height(502), None);
    }

    #[test]
    fn snapshot_estimate_at_epoch_start() {
        let state = snapshot();
        let input = AdjustmentInput::from_network_state(
            &state,
            state.tip_time_s,
            AdjustmentNetwork::Mainnet,
        );
        let got = estimate_adjustment(&input);
        assert_eq!(got.remaining_blocks, 2016);
        assert_eq!(got.next_retarget_height, 927_360);
        assert_eq!(got.previous_time_s, state.epoch_start_time_s);
        assert!(got.difficulty_change.is_finite());
        assert!(got.adjusted_time_avg_ms > 0);
    }

    #[test]
    fn serializes_with_the_cli_keys() {
        let got = estimate_adjustment(&input(
            T_2022_08_18_11_07_00,
            None,
            T_2022_08_19_14_03_53,
            750_134,
            0.0,
            AdjustmentNetwork::Mainnet,
            0,
        ));
        let json = serde_json::to_value(&got).unwrap();
        for key in [
            "progress_percent",
            "difficulty_change",
            "remaining_blocks",
            "next_retarget_height",
            "estimated_retarget_date_ms",
            "time_avg_ms",
            "adjusted_time_avg_ms",
            "remaining_time_ms",
            "previous_retarget_percent",
            "previous_time_s",
            "time_offset_ms",
            "expected_blocks",
        ] {
            assert!(json.get(key).is_some(), "missing {key}");
        }
        assert_eq!(json["remaining_blocks"], 1834);
        assert_eq!(json["time_avg_ms"], 533_038);
    }

    #[test]
    fn extreme_inputs_do_not_panic() {
        for height in [0, 1, 502, 503, 2015, 2016, u32::MAX - 1, u32::MAX] {
            for (start, now, latest, quarter) in [
                (0, 0, 0, None),
                (i64::MIN, i64::MAX, i64::MIN, Some(i64::MAX)),
                (i64::MAX, i64::MIN, i64::MAX, Some(i64::MIN)),
                (
                    1_700_000_000,
                    1_700_000_000,
                    1_700_000_000,
                    Some(1_700_000_000),
                ),
            ] {
                for prev in [0.0, -100.0, f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
                    for network in [AdjustmentNetwork::Mainnet, AdjustmentNetwork::Testnet] {
                        let got = estimate_adjustment(&input(
                            start, quarter, now, height, prev, network, latest,
                        ));
                        assert!((1..=2016).contains(&got.remaining_blocks));
                        assert!(got.time_offset_ms <= 0);
                    }
                }
            }
        }
        let got = estimate_adjustment(&input(
            0,
            None,
            0,
            u32::MAX,
            0.0,
            AdjustmentNetwork::Mainnet,
            0,
        ));
        assert_eq!(got.next_retarget_height % 2016, 0);
        assert!(got.next_retarget_height > u64::from(u32::MAX));
    }

    proptest! {
        #[test]
        fn estimate_is_total_and_bounded(
            height in any::<u32>(),
            start in any::<i64>(),
            now in any::<i64>(),
            latest in any::<i64>(),
            quarter in proptest::option::of(any::<i64>()),
            prev in -75.0f64..300.0,
            testnet in any::<bool>(),
        ) {
            let network = if testnet { AdjustmentNetwork::Testnet } else { AdjustmentNetwork::Mainnet };
            let got = estimate_adjustment(&input(start, quarter, now, height, prev, network, latest));
            prop_assert!(got.difficulty_change.is_nan()
                || (-75.0..=300.0).contains(&got.difficulty_change));
            prop_assert_eq!(u64::from(got.remaining_blocks) + u64::from(height), got.next_retarget_height);
            prop_assert!(got.progress_percent >= 0.0 && got.progress_percent < 100.0);
            prop_assert!(got.time_avg_ms >= 0);
            prop_assert!(got.expected_blocks >= 0.0);
        }

        #[test]
        fn realistic_change_is_never_nan(
            blocks in 0u32..2016,
            elapsed in 0i64..4_000_000,
            before in 0i64..400_000,
            prev in -75.0f64..300.0,
        ) {
            let start = 1_700_000_000;
            let got = estimate_adjustment(&input(
                start,
                Some(start - before),
                start + elapsed,
                2016 * 400 + blocks,
                prev,
                AdjustmentNetwork::Mainnet,
                start + elapsed,
            ));
            prop_assert!((-75.0..=300.0).contains(&got.difficulty_change));
        }
    }
}
