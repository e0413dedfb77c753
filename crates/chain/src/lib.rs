//! Consensus-exact Bitcoin economics for bitwatt.
//!
//! * [`CompactBits`], [`Target`], [`RetargetInput`]: compact bits, targets, Core's
//!   `GetDifficulty` and `CalculateNextWorkRequired`, on rust-bitcoin's `pow` types;
//! * [`block_subsidy_sat`] and the halving schedule;
//! * [`hashprice_usd_per_ph_day`] and [`hashvalue_btc_per_ph_day`] as Luxor defines them;
//! * [`NetworkState`] and the compiled-in [`snapshot`];
//! * [`UtcDay`]: calendar days of daily data; readers of daily history ([`read_daily_closes`],
//!   [`read_daily_difficulty`], [`read_block_rewards`], [`read_daily_miner_economics`]).
#![deny(missing_docs)]

mod adjustment;
mod calendar;
mod hashprice;
mod history;
mod network;
mod pow;
mod sources;
mod subsidy;

pub use adjustment::{
    AdjustmentEstimate, AdjustmentInput, AdjustmentNetwork, QUARTER_EPOCH_OFFSET_BLOCKS,
    epoch_start_height, estimate_adjustment, quarter_epoch_block_height,
};
pub use calendar::{BadDay, UtcDay, civil_from_days, days_from_civil};
pub use hashprice::{
    HS_PER_PHS, SECONDS_PER_DAY, blocks_per_ph_day, hashprice_usd_per_ph_day,
    hashvalue_btc_per_ph_day,
};
pub use history::{
    BlockReward, DailyClose, DailyDifficulty, DailyMinerEconomics, DataError, DifficultyEpoch,
    GpuRateCard, daily_from_blocks, read_block_rewards, read_daily_closes, read_daily_difficulty,
    read_daily_miner_economics, read_difficulty_epochs, read_gpu_rate_cards,
};
pub use network::{NetworkState, SNAPSHOT_DATE, snapshot};
pub use pow::{
    BlockWork, CompactBits, DIFFICULTY_ADJUSTMENT_INTERVAL, HASHES_PER_DIFFICULTY, MAX_TIMESPAN_S,
    MIN_TIMESPAN_S, POW_LIMIT_BITS, PowError, RetargetInput, TARGET_BLOCK_SPACING_S,
    TARGET_TIMESPAN_S, Target, expected_block_interval_s, implied_hashrate_hs, retarget_bits_fast,
};
pub use sources::{
    DEFAULT_FETCH_TIMEOUT, NetworkSource, RpcAuth, SourceError, fetch_network_state,
    fetch_network_state_within, trailing_hashrate_hs,
};
pub use subsidy::{
    HALVING_INTERVAL, INITIAL_SUBSIDY_SAT, SAT_PER_BTC, block_subsidy_btc, block_subsidy_sat,
    halving_era, next_halving_height, sat_to_btc,
};
