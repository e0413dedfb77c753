//! The Bitcoin network month by month: hashrate from the world fleet's cost curve, blocks from
//! hashrate and difficulty, retargets by the exact rule every 2016 blocks, halvings as the
//! height crosses them.

use bitwatt_chain::{
    CompactBits, DIFFICULTY_ADJUSTMENT_INTERVAL, HALVING_INTERVAL, HASHES_PER_DIFFICULTY,
    MAX_TIMESPAN_S, MIN_TIMESPAN_S, block_subsidy_btc, hashprice_usd_per_ph_day,
    retarget_bits_fast,
};
use bitwatt_model::{SECONDS_PER_MONTH, WorldFleet};

/// Energy of one PH/s running for a day, per J/TH of efficiency (MWh): 1 000 TH · 86 400 s / 3.6e9.
const MWH_PER_PH_DAY_PER_J_PER_TH: f64 = 0.024;

/// The world fleet's parameters in the units the monthly step uses.
#[derive(Clone, Debug)]
pub struct WorldFleetCurve {
    power_median_usd_per_mwh: f64,
    power_spread_usd_per_mwh: f64,
    frontier_efficiency_j_per_th: f64,
    frontier_improvement_per_month: f64,
    frontier_price_usd_per_th: f64,
    amortisation_months: f64,
    growth_per_month_at_full_margin: f64,
    deployment_lag_months: usize,
    retirement_per_month: f64,
    bands: Vec<(f64, f64)>,
}

impl WorldFleetCurve {
    /// The curve of a validated `[market.world_fleet]` table.
    pub fn new(fleet: &WorldFleet) -> WorldFleetCurve {
        WorldFleetCurve {
            power_median_usd_per_mwh: fleet.power_price_median_usd_per_mwh,
            power_spread_usd_per_mwh: fleet.power_price_spread_usd_per_mwh,
            frontier_efficiency_j_per_th: fleet.frontier_efficiency_j_per_th,
            frontier_improvement_per_month: (1.0
                - fleet.frontier_improvement_percent_per_year / 100.0)
                .powf(1.0 / 12.0),
            frontier_price_usd_per_th: fleet.frontier_price_usd_per_th,
            amortisation_months: f64::from(fleet.frontier_amortisation_months),
            growth_per_month_at_full_margin: fleet.growth_percent_per_year_at_full_margin
                / 100.0
                / 12.0,
            deployment_lag_months: fleet.deployment_lag_months as usize,
            retirement_per_month: fleet.retirement_percent_per_year / 100.0 / 12.0,
            bands: fleet
                .bands
                .iter()
                .map(|b| (b.efficiency_j_per_th, b.hashrate_share_percent / 100.0))
                .collect(),
        }
    }

    /// Share of a band of efficiency `j_per_th` that runs at `hashprice`: the miners whose power
    /// costs less than the band's breakeven power price, with power prices spread
    /// logistically around the median (smooth, no on/off cliff).
    pub fn running_share(&self, efficiency_j_per_th: f64, hashprice_usd_per_ph_day: f64) -> f64 {
        let breakeven_usd_per_mwh =
            hashprice_usd_per_ph_day / (efficiency_j_per_th * MWH_PER_PH_DAY_PER_J_PER_TH);
        let z =
            (breakeven_usd_per_mwh - self.power_median_usd_per_mwh) / self.power_spread_usd_per_mwh;
        1.0 / (1.0 + (-z).exp())
    }

    /// Efficiency of the newest machines `month` months after the start (J/TH; before the
    /// start for a negative `month`, at the same rate of improvement).
    pub fn frontier_efficiency_j_per_th(&self, month: i32) -> f64 {
        self.frontier_efficiency_j_per_th * self.frontier_improvement_per_month.powi(month)
    }

    /// All-in cost of frontier hashrate `month` months after the start (USD per PH/s per
    /// day): power at the median price plus the machine amortised over its life (price per TH
    /// falls with efficiency, so the price per watt stays constant).
    pub fn frontier_cost_usd_per_ph_day(&self, month: i32) -> f64 {
        let efficiency = self.frontier_efficiency_j_per_th(month);
        let price_per_th =
            self.frontier_price_usd_per_th * efficiency / self.frontier_efficiency_j_per_th;
        let capex_usd_per_ph_day =
            price_per_th * 1_000.0 / (self.amortisation_months * bitwatt_model::DAYS_PER_MONTH);
        efficiency * MWH_PER_PH_DAY_PER_J_PER_TH * self.power_median_usd_per_mwh
            + capex_usd_per_ph_day
    }

    /// The frontier's margin `month` months after the start: hashprice less the frontier's
    /// all-in cost, as a share of hashprice, none below zero. New capacity grows with it.
    pub fn frontier_margin(&self, hashprice_usd_per_ph_day: f64, month: i32) -> f64 {
        let cost = self.frontier_cost_usd_per_ph_day(month);
        ((hashprice_usd_per_ph_day - cost) / hashprice_usd_per_ph_day).max(0.0)
    }
}

/// The network's state between months: the tip (as a real number of blocks, since miners are
/// paid expected, fractional blocks), the epoch, the compact bits and the installed fleet.
#[derive(Clone, Debug)]
pub struct NetworkSim {
    curve: WorldFleetCurve,
    /// Where it starts, and the hashprice there.
    origin: NetworkOrigin,
    start_hashprice_usd_per_ph_day: f64,
    tip_height: f64,
    epoch_start_height: f64,
    epoch_start_time_s: f64,
    time_s: f64,
    bits: CompactBits,
    difficulty: f64,
    /// Installed capacity by vintage: (J/TH, H/s installed). The start bands, then one
    /// vintage per month.
    vintages: Vec<(f64, f64)>,
    /// Frontier margin of each month so far (share of hashprice), for the deployment lag.
    margins: Vec<f64>,
    month: usize,
}

/// What the network did in one month.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetworkMonth {
    /// Hashrate running during the month (H/s).
    pub hashrate_hs: f64,
    /// Blocks found (expected, fractional).
    pub blocks: f64,
    /// Subsidy of those blocks, summed (BTC).
    pub subsidy_btc: f64,
    /// Difficulty weighted by the blocks found under it.
    pub mean_difficulty: f64,
    /// Difficulty in force at the end of the month.
    pub end_difficulty: f64,
    /// Tip height at the end of the month (whole blocks).
    pub end_height: u32,
    /// Frontier efficiency this month (J/TH).
    pub frontier_efficiency_j_per_th: f64,
}

/// The network at the start of a path.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NetworkOrigin {
    /// Tip height.
    pub height: u32,
    /// Compact bits in force.
    pub bits: CompactBits,
    /// Timestamp of the epoch's first block (Unix seconds).
    pub epoch_start_time_s: i64,
    /// Timestamp of the tip (Unix seconds).
    pub time_s: i64,
    /// Hashrate at the start (H/s).
    pub hashrate_hs: f64,
}

impl NetworkSim {
    /// The network at `origin`, with the world fleet's installed capacity set so that the
    /// share running at the starting hashprice gives the starting hashrate.
    pub fn new(
        curve: WorldFleetCurve,
        origin: NetworkOrigin,
        start_hashprice_usd_per_ph_day: f64,
        horizon_months: usize,
    ) -> NetworkSim {
        let vintages = Vec::with_capacity(curve.bands.len() + horizon_months);
        let mut network = NetworkSim {
            curve,
            origin,
            start_hashprice_usd_per_ph_day,
            tip_height: 0.0,
            epoch_start_height: 0.0,
            epoch_start_time_s: 0.0,
            time_s: 0.0,
            bits: origin.bits,
            difficulty: 0.0,
            vintages,
            margins: Vec::with_capacity(horizon_months),
            month: 0,
        };
        network.restart();
        network
    }

    /// Starts the network again where [`NetworkSim::new`] started it, reusing its memory (a
    /// Monte Carlo worker restarts one network for every path).
    pub fn restart(&mut self) {
        let (origin, start_hashprice_usd_per_ph_day) =
            (self.origin, self.start_hashprice_usd_per_ph_day);
        let curve = &self.curve;
        let running: f64 = curve
            .bands
            .iter()
            .map(|&(efficiency, share)| {
                share * curve.running_share(efficiency, start_hashprice_usd_per_ph_day)
            })
            .sum();
        let installed_hs = origin.hashrate_hs / running.max(1e-9);
        self.vintages.clear();
        self.vintages.extend(
            curve
                .bands
                .iter()
                .map(|&(efficiency, share)| (efficiency, share * installed_hs)),
        );
        self.margins.clear();
        let height = f64::from(origin.height);
        self.tip_height = height;
        self.epoch_start_height =
            height - f64::from(origin.height % DIFFICULTY_ADJUSTMENT_INTERVAL);
        self.epoch_start_time_s = origin.epoch_start_time_s as f64;
        self.time_s = origin.time_s as f64;
        self.bits = origin.bits;
        self.difficulty = origin.bits.core_difficulty();
        self.month = 0;
    }

    /// Difficulty in force now.
    pub fn difficulty(&self) -> f64 {
        self.difficulty
    }

    /// Multiplies every vintage's installed capacity by `factor`: a shock to the world fleet
    /// beyond its response to the cost curve, which the fleet's economics then answer.
    pub fn scale_capacity(&mut self, factor: f64) {
        for vintage in &mut self.vintages {
            vintage.1 *= factor;
        }
    }

    /// Subsidy of the next block (BTC).
    pub fn next_subsidy_btc(&self) -> f64 {
        block_subsidy_btc(self.tip_height.floor() as u32 + 1)
    }

    /// Runs one month at the month's BTC price and fees per block: sets the running hashrate
    /// from the cost curve at the hashprice of the difficulty in force, mines the month's
    /// blocks (retargeting as epochs close), then grows and retires capacity.
    pub fn step_month(&mut self, btc_price_usd: f64, fees_btc_per_block: f64) -> NetworkMonth {
        let start_height = self.tip_height;
        let mut left_s = SECONDS_PER_MONTH;
        let mut hash_seconds = 0.0;
        let mut weighted_difficulty = 0.0;
        let mut hashprice = 0.0;
        // Miners respond to the hashprice of the difficulty in force: the running hashrate is
        // set again after every retarget inside the month.
        while left_s > 0.0 {
            let reward_btc = self.next_subsidy_btc() + fees_btc_per_block;
            hashprice = hashprice_usd_per_ph_day(self.difficulty, reward_btc, btc_price_usd);
            let hashrate_hs = self.running_hashrate_hs(hashprice);
            let before_s = left_s;
            let (blocks, difficulty_blocks) = self.mine_until_retarget(hashrate_hs, &mut left_s);
            hash_seconds += hashrate_hs * (before_s - left_s);
            weighted_difficulty += difficulty_blocks;
            if blocks == 0.0 {
                break;
            }
        }
        let blocks = self.tip_height - start_height;
        let subsidy_btc = subsidy_btc_between(start_height, self.tip_height);
        self.grow_and_retire(hashprice);
        NetworkMonth {
            hashrate_hs: hash_seconds / SECONDS_PER_MONTH,
            blocks,
            subsidy_btc,
            mean_difficulty: if blocks > 0.0 {
                weighted_difficulty / blocks
            } else {
                self.difficulty
            },
            end_difficulty: self.difficulty,
            end_height: self.tip_height.floor() as u32,
            frontier_efficiency_j_per_th: self
                .curve
                .frontier_efficiency_j_per_th(self.month as i32 - 1),
        }
    }

    /// Hashrate running at `hashprice`: every vintage's installed capacity times its running
    /// share (H/s).
    fn running_hashrate_hs(&self, hashprice_usd_per_ph_day: f64) -> f64 {
        self.vintages
            .iter()
            .map(|&(efficiency, installed)| {
                installed
                    * self
                        .curve
                        .running_share(efficiency, hashprice_usd_per_ph_day)
            })
            .sum()
    }

    /// End of month: capacity grows with the frontier's margin `deployment_lag_months` ago
    /// (a new vintage at this month's frontier efficiency) and every vintage retires a share.
    fn grow_and_retire(&mut self, hashprice_usd_per_ph_day: f64) {
        self.margins.push(
            self.curve
                .frontier_margin(hashprice_usd_per_ph_day, self.month as i32),
        );
        let lagged_margin = self
            .month
            .checked_sub(self.curve.deployment_lag_months)
            .map_or(self.margins[0], |m| self.margins[m]);
        let installed: f64 = self.vintages.iter().map(|v| v.1).sum();
        let retire = 1.0 - self.curve.retirement_per_month;
        for vintage in &mut self.vintages {
            vintage.1 *= retire;
        }
        self.vintages.push((
            self.curve.frontier_efficiency_j_per_th(self.month as i32),
            installed * self.curve.growth_per_month_at_full_margin * lagged_margin,
        ));
        self.month += 1;
    }

    /// Mines at `hashrate_hs` until the epoch closes or `left_s` runs out, retargeting by the
    /// exact rule when the epoch's last block is found. Returns the blocks found and
    /// Σ blocks × difficulty.
    fn mine_until_retarget(&mut self, hashrate_hs: f64, left_s: &mut f64) -> (f64, f64) {
        if hashrate_hs <= 0.0 {
            *left_s = 0.0;
            return (0.0, 0.0);
        }
        let epoch = f64::from(DIFFICULTY_ADJUSTMENT_INTERVAL);
        let interval_s = self.difficulty * HASHES_PER_DIFFICULTY / hashrate_hs;
        // The epoch's last block (start + 2015) closes it and sets the next bits.
        let to_close = self.epoch_start_height + epoch - 1.0 - self.tip_height;
        let found = (*left_s / interval_s).min(to_close);
        let weighted = found * self.difficulty;
        self.tip_height += found;
        self.time_s += found * interval_s;
        if found < to_close {
            *left_s = 0.0;
            return (found, weighted);
        }
        *left_s = (*left_s - found * interval_s).max(0.0);
        // Bitcoin's rule: the timespan of the epoch's first to last block, 2015 intervals.
        let timespan = (self.time_s.round() - self.epoch_start_time_s.round())
            .clamp(MIN_TIMESPAN_S as f64, MAX_TIMESPAN_S as f64) as u32;
        self.bits = retarget_bits_fast(self.bits, timespan);
        self.difficulty = self.bits.core_difficulty();
        self.epoch_start_height += epoch;
        // The next epoch's first block comes one interval later, at the new difficulty.
        self.epoch_start_time_s =
            self.time_s + self.difficulty * HASHES_PER_DIFFICULTY / hashrate_hs;
        (found, weighted)
    }
}

/// Subsidy of the blocks after tip `from` up to tip `to` (BTC), for real-valued tips: block
/// `k` occupies the interval (k − 1, k] and pays `block_subsidy(k)`.
pub fn subsidy_btc_between(from: f64, to: f64) -> f64 {
    let mut total = 0.0;
    let mut lower = from;
    while lower < to {
        let next_block = lower.floor() as u32 + 1;
        let era_end = f64::from((next_block / HALVING_INTERVAL + 1) * HALVING_INTERVAL - 1);
        let upper = to.min(era_end);
        total += (upper - lower) * block_subsidy_btc(next_block);
        lower = upper;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsidy_integrates_across_a_halving() {
        // Blocks 1 049 999 and 1 050 000: 3.125 + 1.5625.
        assert_eq!(subsidy_btc_between(1_049_998.0, 1_050_000.0), 4.6875);
        assert_eq!(subsidy_btc_between(1_049_998.5, 1_049_999.0), 1.5625);
        assert_eq!(subsidy_btc_between(925_344.0, 925_344.0), 0.0);
        assert_eq!(subsidy_btc_between(100.0, 4_420.0), 4_320.0 * 50.0);
    }
}
