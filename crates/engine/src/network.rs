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
    /// Months of new machines held together as one cohort (see [`FleetCohorts`]).
    months_per_cohort: usize,
}

/// The widest range of efficiencies a cohort of new machines may hold, in ln(J/TH): a year
/// of the frontier improving 10 % a year. Faster improvement gives shorter cohorts.
const COHORT_SPAN_LN_EFFICIENCY: f64 = 0.105_360_515_657_826_3;

/// The longest cohort (months).
const MAX_MONTHS_PER_COHORT: usize = 12;

impl WorldFleetCurve {
    /// The curve of a validated `[market.world_fleet]` table.
    pub fn new(fleet: &WorldFleet) -> WorldFleetCurve {
        let frontier_improvement_per_month =
            (1.0 - fleet.frontier_improvement_percent_per_year / 100.0).powf(1.0 / 12.0);
        // Months whose frontier spans the cohort's range (a tolerance so that exactly 10 % a
        // year gives 12, not 11 by rounding); no improvement gives the longest cohort.
        let ln_improvement_per_month = -frontier_improvement_per_month.ln();
        let months_per_cohort = if ln_improvement_per_month > 0.0 {
            (COHORT_SPAN_LN_EFFICIENCY / ln_improvement_per_month + 1e-9)
                .floor()
                .clamp(1.0, MAX_MONTHS_PER_COHORT as f64) as usize
        } else {
            MAX_MONTHS_PER_COHORT
        };
        WorldFleetCurve {
            power_median_usd_per_mwh: fleet.power_price_median_usd_per_mwh,
            power_spread_usd_per_mwh: fleet.power_price_spread_usd_per_mwh,
            frontier_efficiency_j_per_th: fleet.frontier_efficiency_j_per_th,
            frontier_improvement_per_month,
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
            months_per_cohort,
        }
    }

    /// Share of a band of efficiency `j_per_th` that runs at `hashprice`: the miners whose power
    /// costs less than the band's breakeven power price, with power prices spread
    /// logistically around the median (smooth, no on/off cliff).
    pub fn running_share(&self, efficiency_j_per_th: f64, hashprice_usd_per_ph_day: f64) -> f64 {
        let exponent = self.median_in_spreads()
            - hashprice_usd_per_ph_day * self.share_slope_per_hashprice(efficiency_j_per_th);
        1.0 / (1.0 + exp_branch_free(exponent))
    }

    /// The median power price in spreads: a logistic's argument at zero hashprice.
    fn median_in_spreads(&self) -> f64 {
        self.power_median_usd_per_mwh / self.power_spread_usd_per_mwh
    }

    /// How fast a band's logistic argument grows with hashprice: the band's breakeven power
    /// price per unit of hashprice, in units of the power price spread.
    fn share_slope_per_hashprice(&self, efficiency_j_per_th: f64) -> f64 {
        1.0 / (efficiency_j_per_th * MWH_PER_PH_DAY_PER_J_PER_TH * self.power_spread_usd_per_mwh)
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
        self.cost_usd_per_ph_day(self.frontier_efficiency_j_per_th(month))
    }

    /// All-in cost of new hashrate of `efficiency` (USD per PH/s per day), priced like the
    /// frontier.
    fn cost_usd_per_ph_day(&self, efficiency: f64) -> f64 {
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
        margin(
            hashprice_usd_per_ph_day,
            self.frontier_cost_usd_per_ph_day(month),
        )
    }
}

/// Hashprice less a cost, as a share of hashprice, none below zero.
fn margin(hashprice_usd_per_ph_day: f64, cost_usd_per_ph_day: f64) -> f64 {
    ((hashprice_usd_per_ph_day - cost_usd_per_ph_day) / hashprice_usd_per_ph_day).max(0.0)
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
    /// Installed capacity by cohort: the start bands, then one cohort for the machines
    /// switched on in each year of the path (see [`FleetCohorts`]).
    cohorts: FleetCohorts,
    /// Σ of the cohorts' installed hashrate, kept as it changes (H/s).
    installed_hs: f64,
    /// Frontier margin of each month so far (share of hashprice), for the deployment lag.
    margins: Vec<f64>,
    /// The frontier of each month of the horizon, the same on every path.
    frontiers: Vec<Frontier>,
    month: usize,
}

/// The newest machines of a month: their efficiency (J/TH), all-in cost (USD per PH/s per
/// day) and logistic slope ([`WorldFleetCurve::share_slope_per_hashprice`]).
#[derive(Clone, Copy, Debug)]
struct Frontier {
    efficiency_j_per_th: f64,
    cost_usd_per_ph_day: f64,
    slope: f64,
}

impl Frontier {
    /// The frontier `month` months after the start.
    fn of_month(curve: &WorldFleetCurve, month: usize) -> Frontier {
        let efficiency_j_per_th = curve.frontier_efficiency_j_per_th(month as i32);
        Frontier {
            efficiency_j_per_th,
            cost_usd_per_ph_day: curve.cost_usd_per_ph_day(efficiency_j_per_th),
            slope: curve.share_slope_per_hashprice(efficiency_j_per_th),
        }
    }
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
        let cohorts = curve.bands.len() + horizon_months.div_ceil(curve.months_per_cohort);
        let frontiers = (0..horizon_months)
            .map(|month| Frontier::of_month(&curve, month))
            .collect();
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
            cohorts: FleetCohorts::with_capacity(cohorts),
            installed_hs: 0.0,
            margins: Vec::with_capacity(horizon_months),
            frontiers,
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
        self.cohorts.clear();
        for &(efficiency, share) in &curve.bands {
            self.cohorts
                .start(curve.share_slope_per_hashprice(efficiency), share);
        }
        let running = self.running_hashrate_hs(start_hashprice_usd_per_ph_day);
        let installed_hs = origin.hashrate_hs / running.max(1e-9);
        self.cohorts.scale(installed_hs);
        self.installed_hs = self.cohorts.installed_hs.iter().sum();
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

    /// Multiplies every cohort's installed capacity by `factor`: a shock to the world fleet
    /// beyond its response to the cost curve, which the fleet's economics then answer.
    pub fn scale_capacity(&mut self, factor: f64) {
        self.cohorts.scale(factor);
        self.installed_hs *= factor;
    }

    /// Subsidy of the next block (BTC).
    pub fn next_subsidy_btc(&self) -> f64 {
        block_subsidy_btc(whole_blocks(self.tip_height) + 1)
    }

    /// Runs one month at the month's BTC price and fees per block: sets the running hashrate
    /// from the cost curve at the hashprice of the difficulty in force, mines the month's
    /// blocks (retargeting as epochs close), then grows and retires capacity.
    pub fn step_month(&mut self, btc_price_usd: f64, fees_btc_per_block: f64) -> NetworkMonth {
        let [month] = NetworkSim::step_months([self], [btc_price_usd], [fees_btc_per_block]);
        month
    }

    /// [`NetworkSim::step_month`] on `K` (at least one) networks of independent paths at once:
    /// each network's numbers are exactly those of its own `step_month`, the same operations
    /// in the same order; only their interleaving differs, so that the processor overlaps the
    /// networks' long chains of dependent operations (each retarget waits on the hashrate,
    /// which waits on the hashprice of the difficulty in force). A network whose month is
    /// mined before the others' has its running hashrate computed with theirs and unused.
    pub fn step_months<const K: usize>(
        mut networks: [&mut NetworkSim; K],
        btc_price_usd: [f64; K],
        fees_btc_per_block: [f64; K],
    ) -> [NetworkMonth; K] {
        let start_height = networks.each_ref().map(|n| n.tip_height);
        let mut left_s = [SECONDS_PER_MONTH; K];
        let mut hash_seconds = [0.0; K];
        let mut weighted_difficulty = [0.0; K];
        let mut hashprice = [0.0; K];
        // Miners respond to the hashprice of the difficulty in force: the running hashrate is
        // set again after every retarget inside the month. A network whose month is mined
        // keeps its last hashprice; its running hashrate is computed with the others' and
        // left unused.
        let mut mining = [true; K];
        while mining.contains(&true) {
            for k in 0..K {
                if mining[k] {
                    let network = &networks[k];
                    let reward_btc = network.next_subsidy_btc() + fees_btc_per_block[k];
                    hashprice[k] =
                        hashprice_usd_per_ph_day(network.difficulty, reward_btc, btc_price_usd[k]);
                }
            }
            let hashrate_hs = FleetCohorts::running_hs_together(
                networks.each_ref().map(|n| &n.cohorts),
                hashprice,
                networks.each_ref().map(|n| n.curve.median_in_spreads()),
            );
            for k in 0..K {
                if mining[k] {
                    let before_s = left_s[k];
                    let (blocks, difficulty_blocks) =
                        networks[k].mine_until_retarget(hashrate_hs[k], &mut left_s[k]);
                    hash_seconds[k] += hashrate_hs[k] * (before_s - left_s[k]);
                    weighted_difficulty[k] += difficulty_blocks;
                    mining[k] = left_s[k] > 0.0 && blocks != 0.0;
                }
            }
        }
        std::array::from_fn(|k| {
            let network = &mut *networks[k];
            let blocks = network.tip_height - start_height[k];
            let subsidy_btc = subsidy_btc_between(start_height[k], network.tip_height);
            let frontier_efficiency_j_per_th = network.grow_and_retire(hashprice[k]);
            NetworkMonth {
                hashrate_hs: hash_seconds[k] / SECONDS_PER_MONTH,
                blocks,
                subsidy_btc,
                mean_difficulty: if blocks > 0.0 {
                    weighted_difficulty[k] / blocks
                } else {
                    network.difficulty
                },
                end_difficulty: network.difficulty,
                end_height: whole_blocks(network.tip_height),
                frontier_efficiency_j_per_th,
            }
        })
    }

    /// Hashrate running at `hashprice` (H/s): every cohort's installed capacity times its
    /// running share.
    fn running_hashrate_hs(&self, hashprice_usd_per_ph_day: f64) -> f64 {
        self.cohorts
            .running_hs(hashprice_usd_per_ph_day, self.curve.median_in_spreads())
    }

    /// End of month: capacity grows with the frontier's margin `deployment_lag_months` ago
    /// (new machines at this month's frontier efficiency, joining the year's cohort) and every
    /// cohort retires a share.
    /// Returns this month's frontier efficiency (J/TH).
    fn grow_and_retire(&mut self, hashprice_usd_per_ph_day: f64) -> f64 {
        let curve = &self.curve;
        // Months past the horizon the network was made for are computed as they come.
        let frontier = match self.frontiers.get(self.month) {
            Some(&frontier) => frontier,
            None => Frontier::of_month(curve, self.month),
        };
        self.margins.push(margin(
            hashprice_usd_per_ph_day,
            frontier.cost_usd_per_ph_day,
        ));
        let lagged_margin = self
            .month
            .checked_sub(curve.deployment_lag_months)
            .map_or(self.margins[0], |m| self.margins[m]);
        let added_hs = self.installed_hs * curve.growth_per_month_at_full_margin * lagged_margin;
        let retire = 1.0 - curve.retirement_per_month;
        self.cohorts.scale(retire);
        if self.month.is_multiple_of(curve.months_per_cohort) {
            self.cohorts.start(frontier.slope, added_hs);
        } else {
            self.cohorts.add_to_last(frontier.slope, added_hs);
        }
        self.installed_hs = self.installed_hs * retire + added_hs;
        self.month += 1;
        frontier.efficiency_j_per_th
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
        let timespan = (round_seconds(self.time_s) - round_seconds(self.epoch_start_time_s))
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

/// The world fleet's installed capacity as a few cohorts, so that a month costs the same
/// whatever the horizon. A cohort holds machines of nearby efficiencies: its installed
/// hashrate (H/s) and the capacity-weighted mean and variance of their logistic slopes
/// ([`WorldFleetCurve::share_slope_per_hashprice`]). Its running share is the logistic at the
/// mean slope plus the second-order term of the spread around it. A cohort spans at most
/// [`COHORT_SPAN_LN_EFFICIENCY`] (a year at 10 % a year of improvement, a month at 90 %), and
/// its share is then within 10⁻⁴ of its capacity of the sum over each month's machines,
/// however unevenly the months added them (10⁻⁵ when they add alike; a test). Retirement
/// scales every cohort alike and leaves the moments unchanged. The columns are padded with
/// empty cohorts to a whole number of [`COHORT_LANES`], which the running sum takes together.
#[derive(Clone, Debug)]
struct FleetCohorts {
    slope_means: Vec<f64>,
    slope_variances: Vec<f64>,
    installed_hs: Vec<f64>,
    /// Cohorts in use; the rest of the columns is padding of no capacity.
    len: usize,
}

/// Cohorts whose running shares are computed together, a loop the compiler vectorises.
const COHORT_LANES: usize = 4;

impl FleetCohorts {
    fn with_capacity(cohorts: usize) -> FleetCohorts {
        let padded = cohorts.next_multiple_of(COHORT_LANES);
        FleetCohorts {
            slope_means: Vec::with_capacity(padded),
            slope_variances: Vec::with_capacity(padded),
            installed_hs: Vec::with_capacity(padded),
            len: 0,
        }
    }

    fn clear(&mut self) {
        self.slope_means.clear();
        self.slope_variances.clear();
        self.installed_hs.clear();
        self.len = 0;
    }

    /// A new cohort of `installed_hs` machines, all of logistic slope `slope`.
    fn start(&mut self, slope: f64, installed_hs: f64) {
        if self.len == self.installed_hs.len() {
            let padded = self.len + COHORT_LANES;
            self.slope_means.resize(padded, 0.0);
            self.slope_variances.resize(padded, 0.0);
            self.installed_hs.resize(padded, 0.0);
        }
        self.slope_means[self.len] = slope;
        self.slope_variances[self.len] = 0.0;
        self.installed_hs[self.len] = installed_hs;
        self.len += 1;
    }

    /// Adds `added_hs` of machines of logistic slope `slope` to the newest cohort, updating
    /// its weighted mean and variance (West's weighted form of Welford's update).
    fn add_to_last(&mut self, slope: f64, added_hs: f64) {
        let last = self.len - 1;
        let installed = self.installed_hs[last] + added_hs;
        if added_hs <= 0.0 || installed <= 0.0 {
            return;
        }
        let mean = self.slope_means[last];
        let deviation = slope - mean;
        let new_mean = mean + deviation * added_hs / installed;
        let squares = self.slope_variances[last] * self.installed_hs[last]
            + added_hs * deviation * (slope - new_mean);
        self.slope_means[last] = new_mean;
        self.slope_variances[last] = squares / installed;
        self.installed_hs[last] = installed;
    }

    /// Multiplies every cohort's installed capacity by `factor`.
    fn scale(&mut self, factor: f64) {
        for installed in &mut self.installed_hs {
            *installed *= factor;
        }
    }

    /// Hashrate running at `hashprice` (H/s), cohort by cohort in order: the capacity times
    /// E[σ(hashprice · slope − median)] ≈ σ(z̄) + ½ σ''(z̄) · hashprice² · Var(slope), with
    /// σ'' = σ (1 − σ)(1 − 2σ) and the median power price in spreads.
    fn running_hs(&self, hashprice_usd_per_ph_day: f64, median_in_spreads: f64) -> f64 {
        let [running_hs] = FleetCohorts::running_hs_together(
            [self],
            [hashprice_usd_per_ph_day],
            [median_in_spreads],
        );
        running_hs
    }

    /// [`FleetCohorts::running_hs`] of `K` fleets at once, each summed exactly as alone: the
    /// fleets' lanes are computed side by side, so that their exponentials overlap. Fleets of
    /// one market hold the same number of cohorts (they start in the same months); fleets
    /// that do not are summed one by one. On a processor with AVX2 the lanes go four to an
    /// instruction instead of two: the same IEEE operations (no fused multiply-add), so the
    /// same bits on any processor (a test).
    fn running_hs_together<const K: usize>(
        fleets: [&FleetCohorts; K],
        hashprice_usd_per_ph_day: [f64; K],
        median_in_spreads: [f64; K],
    ) -> [f64; K] {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, the one feature the function is compiled for.
            return unsafe {
                FleetCohorts::running_hs_together_avx2(
                    fleets,
                    hashprice_usd_per_ph_day,
                    median_in_spreads,
                )
            };
        }
        FleetCohorts::running_hs_together_any_cpu(
            fleets,
            hashprice_usd_per_ph_day,
            median_in_spreads,
        )
    }

    /// [`FleetCohorts::running_hs_together_any_cpu`] compiled for AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn running_hs_together_avx2<const K: usize>(
        fleets: [&FleetCohorts; K],
        hashprice_usd_per_ph_day: [f64; K],
        median_in_spreads: [f64; K],
    ) -> [f64; K] {
        FleetCohorts::running_hs_together_any_cpu(
            fleets,
            hashprice_usd_per_ph_day,
            median_in_spreads,
        )
    }

    /// [`FleetCohorts::running_hs_together`] for any processor (inlined into the AVX2 build).
    #[inline(always)]
    fn running_hs_together_any_cpu<const K: usize>(
        fleets: [&FleetCohorts; K],
        hashprice_usd_per_ph_day: [f64; K],
        median_in_spreads: [f64; K],
    ) -> [f64; K] {
        // Finite, so that an empty lane or a share of exactly 1 (no curvature) is never 0 · ∞.
        let hashprice = hashprice_usd_per_ph_day.map(|h| h.min(f64::MAX));
        let hashprice_squared = hashprice.map(|h| (h * h).min(f64::MAX));
        let mut running_hs = [0.0; K];
        let columns = fleets[0].installed_hs.len();
        if K > 1 && fleets.iter().any(|f| f.installed_hs.len() != columns) {
            return std::array::from_fn(|k| {
                let [running_hs] = FleetCohorts::running_hs_together(
                    [fleets[k]],
                    [hashprice_usd_per_ph_day[k]],
                    [median_in_spreads[k]],
                );
                running_hs
            });
        }
        for start in (0..columns).step_by(COHORT_LANES) {
            let lanes = start..start + COHORT_LANES;
            let mut running = [[0.0; COHORT_LANES]; K];
            for k in 0..K {
                let fleet = fleets[k];
                let means = &fleet.slope_means[lanes.clone()];
                let variances = &fleet.slope_variances[lanes.clone()];
                let installed = &fleet.installed_hs[lanes.clone()];
                for lane in 0..COHORT_LANES {
                    let exponent = median_in_spreads[k] - hashprice[k] * means[lane];
                    let share = 1.0 / (1.0 + exp_branch_free(exponent));
                    let curvature = share * (1.0 - share) * (1.0 - 2.0 * share);
                    let expected_share =
                        share + 0.5 * curvature * hashprice_squared[k] * variances[lane];
                    running[k][lane] = installed[lane] * expected_share.clamp(0.0, 1.0);
                }
            }
            for k in 0..K {
                for running in running[k] {
                    running_hs[k] += running;
                }
            }
        }
        running_hs
    }
}

/// e^x for x in [−708, 709] (clamped there, where e^x is still a normal number), without
/// branches: the reduction and rational approximation of
/// fdlibm's `__ieee754_exp` (error under 1 ulp). Its IEEE-exact operations give the same bits
/// on every machine, unlike a libm whose code path depends on the processor.
fn exp_branch_free(x: f64) -> f64 {
    // fdlibm e_exp.c's constants, bit for bit: ln 2 split so that k · LN2_HI is exact, and the
    // Remez coefficients of the rational approximation on [−ln2/2, ln2/2]. (k is rounded to
    // even at exact halves, where fdlibm rounds away from zero: still under 1 ulp.)
    const LN2_HI: f64 = f64::from_bits(0x3fe62e42_fee00000);
    const LN2_LO: f64 = f64::from_bits(0x3dea39ef_35793c76);
    const INV_LN2: f64 = f64::from_bits(0x3ff71547_652b82fe);
    const P1: f64 = f64::from_bits(0x3fc55555_5555553e);
    const P2: f64 = f64::from_bits(0xbf66c16c_16bebd93);
    const P3: f64 = f64::from_bits(0x3f11566a_af25de2c);
    const P4: f64 = f64::from_bits(0xbebbbd41_c5d26bf1);
    const P5: f64 = f64::from_bits(0x3e663769_72bea4d0);
    // Adding 1.5 · 2⁵² rounds to the nearest integer and leaves it in the low mantissa bits.
    const ROUND_TO_INTEGER: f64 = 6_755_399_441_055_744.0;
    let x = x.clamp(-708.0, 709.0);
    let shifted = x * INV_LN2 + ROUND_TO_INTEGER;
    let k = shifted - ROUND_TO_INTEGER;
    let hi = x - k * LN2_HI;
    let lo = k * LN2_LO;
    let r = hi - lo;
    let t = r * r;
    let c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))));
    let y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    // 2^k from k's two's complement: k + 1023 in the exponent field.
    let k_bits = shifted.to_bits().wrapping_sub(ROUND_TO_INTEGER.to_bits());
    y * f64::from_bits(k_bits.wrapping_add(1023) << 52)
}

/// The whole blocks of a real-valued tip: `tip.floor() as u32`, which a cast gives alone for
/// every value (it truncates towards zero, which is the floor at and above zero, and saturates
/// at 0 below it), without the library call `floor` is on x86-64.
fn whole_blocks(tip: f64) -> u32 {
    tip as u32
}

/// `seconds.round()` (halves away from zero) without the library call: the truncation plus
/// one where the fraction left, exact below 2⁵², is at least a half, for positive values
/// below 2⁵². Other values (−0 and negatives included) go to `round`.
fn round_seconds(seconds: f64) -> f64 {
    if seconds > 0.0 && seconds < 4_503_599_627_370_496.0 {
        let whole = (seconds as u64) as f64;
        if seconds - whole >= 0.5 {
            whole + 1.0
        } else {
            whole
        }
    } else {
        seconds.round()
    }
}

/// Subsidy of the blocks after tip `from` up to tip `to` (BTC), for real-valued tips: block
/// `k` occupies the interval (k − 1, k] and pays `block_subsidy(k)`.
pub fn subsidy_btc_between(from: f64, to: f64) -> f64 {
    let mut total = 0.0;
    let mut lower = from;
    while lower < to {
        let next_block = whole_blocks(lower) + 1;
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
    fn branch_free_exp_is_within_two_ulps_of_libm() {
        // Two implementations each under 1 ulp from e^x differ by at most 2 ulps.
        let mut worst_ulps: f64 = 0.0;
        let mut x = -708.0;
        while x <= 709.0 {
            let (fast, libm) = (exp_branch_free(x), x.exp());
            let ulp = f64::from_bits(libm.to_bits() + 1) - libm;
            worst_ulps = worst_ulps.max((fast - libm).abs() / ulp);
            x += 0.000_713;
        }
        assert!(worst_ulps <= 2.0, "{worst_ulps} ulps");
        assert_eq!(exp_branch_free(0.0), 1.0);
        assert_eq!(exp_branch_free(std::f64::consts::LN_2), 2.0);
        // Clamped: no infinity, no zero, so a running share is never NaN.
        assert_eq!(exp_branch_free(1e6), exp_branch_free(709.0));
        assert!(exp_branch_free(-1e6) > 0.0);
    }

    #[test]
    fn cohorts_are_shorter_when_the_frontier_improves_faster() {
        let months = |percent_per_year: f64| {
            WorldFleetCurve::new(&bitwatt_model::WorldFleet {
                frontier_improvement_percent_per_year: percent_per_year,
                ..bitwatt_model::WorldFleet::default()
            })
            .months_per_cohort
        };
        assert_eq!(months(0.0), 12);
        assert_eq!(months(5.0), 12);
        assert_eq!(months(10.0), 12);
        assert_eq!(months(20.0), 5);
        assert_eq!(months(50.0), 1);
        assert_eq!(months(90.0), 1);
    }

    #[test]
    fn a_cohort_runs_like_its_months_of_machines() {
        // A cohort of machines as `grow_and_retire` adds them — retiring a share every month,
        // whole months adding nothing when the margin is gone — at hashprices from deep loss
        // to deep profit: its second-order share against the sum of the months' own logistic
        // shares, for the frontier improving 10, 20 and 30 % a year.
        let uneven = [3.0, 0.0, 0.5, 2.0, 1.0, 0.0, 4.0, 1.0, 1.0, 0.2, 0.0, 7.0];
        for percent_per_year in [10.0, 20.0, 30.0] {
            let curve = WorldFleetCurve::new(&bitwatt_model::WorldFleet {
                frontier_improvement_percent_per_year: percent_per_year,
                ..bitwatt_model::WorldFleet::default()
            });
            let n = curve.months_per_cohort;
            let median_in_spreads = curve.power_median_usd_per_mwh / curve.power_spread_usd_per_mwh;
            let even = vec![1.0; n];
            let first_and_last = |first: f64, last: f64| {
                (0..n)
                    .map(|i| {
                        if i == 0 {
                            first
                        } else if i == n - 1 {
                            last
                        } else {
                            0.0
                        }
                    })
                    .collect::<Vec<f64>>()
            };
            let mut cases = vec![
                (even.clone(), 1e-5),
                (uneven[..n].to_vec(), 1e-4),
                (first_and_last(1.0, 9.0), 1e-4),
                (first_and_last(9.0, 1.0), 1e-4),
                (first_and_last(0.0, 1.0), 1e-4),
            ];
            if n == 1 {
                cases.truncate(1);
            }
            for first_month in [0, 60, 119] {
                for (added, tolerance) in &cases {
                    let retire = 0.99;
                    let slopes: Vec<f64> = (first_month..first_month + n as i32)
                        .map(|m| {
                            curve.share_slope_per_hashprice(curve.frontier_efficiency_j_per_th(m))
                        })
                        .collect();
                    let mut cohorts = FleetCohorts::with_capacity(1);
                    cohorts.start(slopes[0], added[0]);
                    for (&slope, &added_hs) in slopes.iter().zip(added).skip(1) {
                        cohorts.scale(retire);
                        cohorts.add_to_last(slope, added_hs);
                    }
                    // Month i's machines have retired n − 1 − i times.
                    let left: Vec<f64> = (0..n)
                        .map(|i| added[i] * retire_after(retire, n - 1 - i))
                        .collect();
                    let capacity: f64 = left.iter().sum();
                    assert!((cohorts.installed_hs[0] - capacity).abs() < 1e-12 * capacity);
                    let mut hashprice = 2.0;
                    while hashprice < 2_000.0 {
                        let by_month: f64 = slopes
                            .iter()
                            .zip(&left)
                            .map(|(&slope, &left_hs)| {
                                left_hs / (1.0 + (median_in_spreads - hashprice * slope).exp())
                            })
                            .sum();
                        let cohort = cohorts.running_hs(hashprice, median_in_spreads);
                        assert!(
                            (cohort - by_month).abs() <= tolerance * capacity,
                            "{percent_per_year} % a year, month {first_month}, {added:?}, \
                             hashprice {hashprice}: {cohort} against {by_month}"
                        );
                        hashprice *= 1.03;
                    }
                }
            }
        }
    }

    /// `retire` to the power `months`, by repeated multiplication as `FleetCohorts::scale`
    /// applies it.
    fn retire_after(retire: f64, months: usize) -> f64 {
        (0..months).fold(1.0, |left, _| left * retire)
    }

    #[test]
    fn running_hashrate_has_the_same_bits_on_any_processor_and_alone_or_together() {
        // Fleets of 1 to 15 cohorts of random slopes, variances and capacities, at hashprices
        // from 0 to ∞: the dispatched sum (AVX2 where the processor has it), the build for any
        // processor, and four fleets summed together against each alone.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut uniform = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        for cohorts in 1..=15 {
            let fleets: Vec<FleetCohorts> = (0..4)
                .map(|_| {
                    let mut fleet = FleetCohorts::with_capacity(cohorts);
                    for _ in 0..cohorts {
                        fleet.start(0.01 + 0.3 * uniform(), 1e18 * uniform());
                        fleet.add_to_last(0.01 + 0.3 * uniform(), 1e18 * uniform());
                    }
                    fleet
                })
                .collect();
            let fleets: [&FleetCohorts; 4] = std::array::from_fn(|k| &fleets[k]);
            for hashprice in [0.0, 1e-3, 12.5, 40.0, 55.0, 80.0, 300.0, 1e9, f64::INFINITY] {
                let hashprices = std::array::from_fn(|k| hashprice * (1.0 + k as f64 * uniform()));
                let medians = std::array::from_fn(|_| 1.0 + 5.0 * uniform());
                let together = FleetCohorts::running_hs_together(fleets, hashprices, medians);
                let any_cpu =
                    FleetCohorts::running_hs_together_any_cpu(fleets, hashprices, medians);
                for k in 0..4 {
                    let alone = fleets[k].running_hs(hashprices[k], medians[k]);
                    assert_eq!(
                        together[k].to_bits(),
                        alone.to_bits(),
                        "{cohorts} {hashprice}"
                    );
                    assert_eq!(
                        together[k].to_bits(),
                        any_cpu[k].to_bits(),
                        "{cohorts} {hashprice}"
                    );
                }
            }
        }
    }

    #[test]
    fn whole_blocks_and_rounded_seconds_equal_floor_and_round() {
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            -0.5,
            -1.5,
            0.49999999999999994,
            4_503_599_627_370_495.5,
            4_503_599_627_370_496.0,
            9.1e15,
            1.7e9 + 0.5,
            1.7e9 - 0.5,
            4_294_967_295.7,
            5e9,
            f64::MAX,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
            f64::MIN_POSITIVE,
            -1e-300,
        ];
        let mut x: f64 = 0.123_456_789;
        while x < 1e17 {
            values.extend([x, -x, x.floor() + 0.5, x.floor() - 0.5]);
            x *= 1.37;
        }
        for v in values {
            assert_eq!(whole_blocks(v), v.floor() as u32, "{v}");
            assert_eq!(round_seconds(v).to_bits(), v.round().to_bits(), "{v}");
        }
    }

    #[test]
    fn an_infinite_hashprice_runs_the_whole_fleet() {
        let mut cohorts = FleetCohorts::with_capacity(2);
        cohorts.start(0.2, 1.0);
        cohorts.start(0.3, 2.0);
        cohorts.add_to_last(0.31, 1.0);
        assert_eq!(cohorts.running_hs(f64::INFINITY, 3.0), 4.0);
    }

    #[test]
    fn subsidy_integrates_across_a_halving() {
        // Blocks 1 049 999 and 1 050 000: 3.125 + 1.5625.
        assert_eq!(subsidy_btc_between(1_049_998.0, 1_050_000.0), 4.6875);
        assert_eq!(subsidy_btc_between(1_049_998.5, 1_049_999.0), 1.5625);
        assert_eq!(subsidy_btc_between(925_344.0, 925_344.0), 0.0);
        assert_eq!(subsidy_btc_between(100.0, 4_420.0), 4_320.0 * 50.0);
    }
}
