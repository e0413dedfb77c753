//! The state of the Bitcoin network at a tip, and the snapshot compiled into the binary.

use serde::Serialize;

use crate::hashprice::hashvalue_btc_per_ph_day;
use crate::pow::{CompactBits, implied_hashrate_hs};
use crate::subsidy::{block_subsidy_btc, next_halving_height};

/// What a data source reports about the network at its tip: enough to compute difficulty,
/// hashrate, the next adjustment, the subsidy, fees and hashprice.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkState {
    /// Where the figures come from (e.g. "snapshot 2025-11-27", "bitcoind http://…").
    pub source: String,
    /// Height of the tip block.
    pub tip_height: u32,
    /// Timestamp of the tip block (Unix seconds).
    pub tip_time_s: i64,
    /// Compact bits in force at the tip.
    pub bits: CompactBits,
    /// Timestamp of the first block of the current epoch (height − height mod 2016).
    pub epoch_start_time_s: i64,
    /// Timestamp of the block 503 blocks below the tip (mempool.space's "quarter epoch" block),
    /// used by the adjustment estimate early in an epoch; `None` where the source lacks it.
    pub quarter_epoch_time_s: Option<i64>,
    /// Difficulty change of the last retarget in percent (negative when it fell).
    pub previous_retarget_percent: f64,
    /// Hashrate over the trailing blocks as Core's `getnetworkhashps` computes it (H/s).
    pub trailing_hashrate_hs: f64,
    /// Number of blocks the trailing hashrate spans (1008 where the source allows).
    pub trailing_hashrate_blocks: u32,
    /// Mean fees per block over the last `fee_blocks` blocks (BTC).
    pub mean_fees_btc_per_block: f64,
    /// Number of blocks the fee mean spans (144 where the source allows).
    pub fee_blocks: u32,
    /// BTC price in USD where the source carries one.
    pub price_usd: Option<f64>,
}

impl NetworkState {
    /// Difficulty at the tip as Core's `GetDifficulty` reports it.
    pub fn difficulty(&self) -> f64 {
        self.bits.core_difficulty()
    }

    /// Hashrate implied by the difficulty, `D · 2³² / 600` (H/s).
    pub fn implied_hashrate_hs(&self) -> f64 {
        implied_hashrate_hs(self.difficulty())
    }

    /// Subsidy plus mean fees per block (BTC): the reward a miner expects per block, with the
    /// subsidy and difficulty current at the tip (Luxor's convention).
    pub fn block_reward_btc(&self) -> f64 {
        block_subsidy_btc(self.tip_height) + self.mean_fees_btc_per_block
    }

    /// The reward per block after the next halving, with the same mean fees (BTC), and the
    /// height of that halving; `None` past the last 32-bit height.
    pub fn block_reward_after_next_halving_btc(&self) -> Option<(u32, f64)> {
        next_halving_height(self.tip_height)
            .map(|h| (h, block_subsidy_btc(h) + self.mean_fees_btc_per_block))
    }

    /// BTC earned per PH/s per day at the tip's difficulty and reward.
    pub fn hashvalue_btc_per_ph_day(&self) -> f64 {
        hashvalue_btc_per_ph_day(self.difficulty(), self.block_reward_btc())
    }
}

/// Date of the compiled-in snapshot (UTC), the tip block's day.
pub const SNAPSHOT_DATE: &str = "2025-11-27";

/// The network at height 925 344, the first block of the epoch that took difficulty from
/// 152.27 T to 149.30 T (−1.95 %), mined 2025-11-27 01:16:48 UTC.
///
/// Sources (all from the real chain, recomputed by a test from `shared/data`):
/// * bits, time and epoch boundaries: `btc_difficulty_epochs.csv` (Electrum checkpoints and
///   bitcoinj headers), block times from `btc_block_stats_partial.csv` (`getblockstats`);
/// * trailing hashrate: Core's `getnetworkhashps 1008` formula over heights 924 336 … 925 344;
/// * fees: mean `totalfee` over the 144 blocks 925 201 … 925 344 (260 166 877 sat);
/// * price: Yahoo Finance BTC-USD close of 2025-11-26 (the last daily close before the tip,
///   `btc_usd_daily_yahoo.csv`).
pub fn snapshot() -> NetworkState {
    NetworkState {
        source: format!("snapshot {SNAPSHOT_DATE}"),
        tip_height: 925_344,
        tip_time_s: 1_764_206_208,
        bits: CompactBits::from_consensus(0x1701_e2a0),
        epoch_start_time_s: 1_764_206_208,
        quarter_epoch_time_s: Some(1_763_893_598),
        previous_retarget_percent: -1.950_595_700_595_692,
        trailing_hashrate_hs: 1.059_558_924_525_234e21,
        trailing_hashrate_blocks: 1008,
        mean_fees_btc_per_block: 260_166_877.0 / 144.0 / 1e8,
        fee_blocks: 144,
        price_usd: Some(90_518.367_187_5),
    }
}
