//! The monthly market path every borrower runs on, and the deterministic base case.

use std::sync::Arc;

use bitwatt_chain::{CompactBits, implied_hashrate_hs, snapshot};
use bitwatt_model::{Counterparty, GpuGeneration, Market, Scenario, YearMonth};

use crate::network::{NetworkOrigin, NetworkSim, WorldFleetCurve};
use crate::stress::Stress;

/// One market path: the factors month by month (index 0 is the start month). Plain data, so
/// a generator can refill it in place for every Monte Carlo path (`clone_from` reuses every
/// series' memory).
#[derive(Debug, PartialEq)]
pub struct MarketPath {
    /// First month.
    pub start_month: YearMonth,
    /// BTC price, the month's average (USD).
    pub btc_price_usd: Vec<f64>,
    /// Fees per block (BTC).
    pub fees_btc_per_block: Vec<f64>,
    /// Network hashrate (H/s).
    pub network_hashrate_hs: Vec<f64>,
    /// Difficulty weighted by the month's blocks.
    pub difficulty: Vec<f64>,
    /// Blocks found in the month (expected, fractional).
    pub blocks: Vec<f64>,
    /// Subsidy of the month's blocks, summed (BTC).
    pub subsidy_btc: Vec<f64>,
    /// Tip height at the end of the month.
    pub end_height: Vec<u32>,
    /// Efficiency of the newest ASICs (J/TH).
    pub frontier_efficiency_j_per_th: Vec<f64>,
    /// GPU rent reference index (USD per GPU-hour).
    pub gpu_rent_index_usd_per_gpu_hour: Vec<f64>,
    /// Rent factor of each generation relative to the index, `[generation · months + month]`,
    /// in the order of `market.gpu.generations`.
    pub generation_rent_factor: Vec<f64>,
    /// AI utilisation: share of rentable GPU hours rented.
    pub ai_utilisation: Vec<f64>,
    /// AI demand relative to the base case (1 = as expected); tenant hazards rise as it falls.
    pub ai_demand: Vec<f64>,
    /// Spot power price, the month's average (USD/MWh).
    pub power_price_usd_per_mwh: Vec<f64>,
    /// SOFR (fraction a year).
    pub sofr: Vec<f64>,
    /// Whether the month is in the stress regime: the credit market is closed (no
    /// refinancing, no at-the-market equity) and liquidation markets are thinner.
    pub stress: Vec<bool>,
    /// Lowest BTC price within the month (USD), from the Brownian bridge between the
    /// month's opening and closing prices; margin calls are tested against it.
    pub btc_low_usd: Vec<f64>,
    /// Depth of every liquidation market relative to its calm depth.
    pub liquidation_depth_factor: Vec<f64>,
    /// GPU resale value relative to the value of the rent a GPU can still earn (1 = no
    /// discount beyond obsolescence, which enters through the rent).
    pub gpu_resale_factor: Vec<f64>,
    /// Multiplier of every tenant's and guarantor's default hazard.
    pub tenant_hazard_factor: Vec<f64>,
    /// Days of grid outage at every site beyond their expected outages.
    pub extra_outage_days: Vec<f64>,
    /// Counterparties (tenants, guarantors, offtakers, by name) that default on this path,
    /// with the month index of their default.
    pub counterparty_defaults: Vec<(Arc<str>, usize)>,
}

impl Clone for MarketPath {
    fn clone(&self) -> MarketPath {
        MarketPath {
            start_month: self.start_month,
            btc_price_usd: self.btc_price_usd.clone(),
            fees_btc_per_block: self.fees_btc_per_block.clone(),
            network_hashrate_hs: self.network_hashrate_hs.clone(),
            difficulty: self.difficulty.clone(),
            blocks: self.blocks.clone(),
            subsidy_btc: self.subsidy_btc.clone(),
            end_height: self.end_height.clone(),
            frontier_efficiency_j_per_th: self.frontier_efficiency_j_per_th.clone(),
            gpu_rent_index_usd_per_gpu_hour: self.gpu_rent_index_usd_per_gpu_hour.clone(),
            generation_rent_factor: self.generation_rent_factor.clone(),
            ai_utilisation: self.ai_utilisation.clone(),
            ai_demand: self.ai_demand.clone(),
            power_price_usd_per_mwh: self.power_price_usd_per_mwh.clone(),
            sofr: self.sofr.clone(),
            stress: self.stress.clone(),
            btc_low_usd: self.btc_low_usd.clone(),
            liquidation_depth_factor: self.liquidation_depth_factor.clone(),
            gpu_resale_factor: self.gpu_resale_factor.clone(),
            tenant_hazard_factor: self.tenant_hazard_factor.clone(),
            extra_outage_days: self.extra_outage_days.clone(),
            counterparty_defaults: self.counterparty_defaults.clone(),
        }
    }

    /// Field by field, so the series keep their memory.
    fn clone_from(&mut self, source: &MarketPath) {
        self.start_month = source.start_month;
        self.btc_price_usd.clone_from(&source.btc_price_usd);
        self.fees_btc_per_block
            .clone_from(&source.fees_btc_per_block);
        self.network_hashrate_hs
            .clone_from(&source.network_hashrate_hs);
        self.difficulty.clone_from(&source.difficulty);
        self.blocks.clone_from(&source.blocks);
        self.subsidy_btc.clone_from(&source.subsidy_btc);
        self.end_height.clone_from(&source.end_height);
        self.frontier_efficiency_j_per_th
            .clone_from(&source.frontier_efficiency_j_per_th);
        self.gpu_rent_index_usd_per_gpu_hour
            .clone_from(&source.gpu_rent_index_usd_per_gpu_hour);
        self.generation_rent_factor
            .clone_from(&source.generation_rent_factor);
        self.ai_utilisation.clone_from(&source.ai_utilisation);
        self.ai_demand.clone_from(&source.ai_demand);
        self.power_price_usd_per_mwh
            .clone_from(&source.power_price_usd_per_mwh);
        self.sofr.clone_from(&source.sofr);
        self.stress.clone_from(&source.stress);
        self.btc_low_usd.clone_from(&source.btc_low_usd);
        self.liquidation_depth_factor
            .clone_from(&source.liquidation_depth_factor);
        self.gpu_resale_factor.clone_from(&source.gpu_resale_factor);
        self.tenant_hazard_factor
            .clone_from(&source.tenant_hazard_factor);
        self.extra_outage_days.clone_from(&source.extra_outage_days);
        self.counterparty_defaults
            .clone_from(&source.counterparty_defaults);
    }
}

impl MarketPath {
    /// Month index in which the counterparty `name` defaults on this path, if it does.
    pub fn counterparty_default_month(&self, name: &str) -> Option<usize> {
        self.counterparty_defaults
            .iter()
            .find(|(defaulted, _)| &**defaulted == name)
            .map(|&(_, t)| t)
    }
}

impl MarketPath {
    /// Number of months.
    pub fn months(&self) -> usize {
        self.btc_price_usd.len()
    }

    /// BTC paid to the whole network in month `t`: subsidy plus fees (BTC).
    pub fn network_reward_btc(&self, t: usize) -> f64 {
        self.subsidy_btc[t] + self.blocks[t] * self.fees_btc_per_block[t]
    }

    /// Realised hashprice in month `t` (USD per PH/s per day): the network's reward in USD per
    /// PH/s of network hashrate per day.
    pub fn hashprice_usd_per_ph_day(&self, t: usize) -> f64 {
        hashprice_of(
            self.network_reward_btc(t),
            self.btc_price_usd[t],
            self.network_hashrate_hs[t],
        )
    }

    /// Rent of generation `generation` in month `t` (USD per GPU-hour).
    pub fn generation_rent_usd_per_gpu_hour(&self, generation: usize, t: usize) -> f64 {
        self.gpu_rent_index_usd_per_gpu_hour[t]
            * self.generation_rent_factor[generation * self.months() + t]
    }
}

/// Hashprice (USD per PH/s per day) of a month whose network earned `reward_btc` at
/// `price_usd` with `hashrate_hs` of network hashrate.
#[inline]
pub(crate) fn hashprice_of(reward_btc: f64, price_usd: f64, hashrate_hs: f64) -> f64 {
    reward_btc * price_usd / (hashrate_hs / 1e15) / bitwatt_model::DAYS_PER_MONTH
}

/// The network at the start: the scenario's `[market.network]` or the built-in snapshot.
pub fn network_origin(market: &Market) -> NetworkOrigin {
    match &market.network {
        Some(network) => {
            let bits = CompactBits::from_difficulty(network.difficulty);
            NetworkOrigin {
                height: network.height,
                bits,
                epoch_start_time_s: network.epoch_start_time_unix_s,
                time_s: network.time_unix_s,
                hashrate_hs: network
                    .hashrate_ehs
                    .map_or_else(|| implied_hashrate_hs(bits.core_difficulty()), |e| e * 1e18),
            }
        }
        None => {
            let state = snapshot();
            NetworkOrigin {
                height: state.tip_height,
                bits: state.bits,
                epoch_start_time_s: state.epoch_start_time_s,
                time_s: state.tip_time_s,
                hashrate_hs: state.trailing_hashrate_hs,
            }
        }
    }
}

/// BTC price at the start (USD): the scenario's, or the snapshot's.
pub fn start_btc_price_usd(market: &Market) -> f64 {
    market
        .btc_price_series_usd
        .first()
        .copied()
        .or(market.btc_price_usd)
        .unwrap_or_else(|| snapshot().price_usd.expect("the snapshot has a price"))
}

/// Fees per block in the base case (BTC): the scenario's, or the snapshot's mean.
pub fn base_fees_btc_per_block(market: &Market) -> f64 {
    market
        .fees_btc_per_block
        .unwrap_or_else(|| snapshot().mean_fees_btc_per_block)
}

/// BTC drift in the base case (fraction a year, continuously compounded): the scenario's, or
/// the risk-free rate.
pub fn btc_drift_per_year(market: &Market) -> f64 {
    market
        .btc_drift_percent_per_year
        .unwrap_or(market.sofr_percent)
        / 100.0
}

/// The deterministic base case of a scenario: prices on their drifts, the network following
/// the world fleet's cost curve, GPU rents deflating and stepping down at launches.
pub fn base_market_path(scenario: &Scenario) -> MarketPath {
    stressed_market_path(scenario, &[])
}

/// The base case with `stresses` applied in order to the market's exogenous factors (prices,
/// fees, rents, utilisation, power, regime, liquidation depth); the network then responds to
/// the stressed prices through the world fleet's cost curve.
pub fn stressed_market_path(scenario: &Scenario, stresses: &[Stress]) -> MarketPath {
    let mut path = stressed_exogenous_path(scenario, stresses);
    respond_to_prices(&mut path, &scenario.market);
    path
}

/// The base case with `stresses` applied, before the network runs: every factor but the
/// network's and the intramonth lows (see [`respond_to_prices`]).
pub(crate) fn stressed_exogenous_path(scenario: &Scenario, stresses: &[Stress]) -> MarketPath {
    let market = &scenario.market;
    let months = scenario.horizon_months as usize;
    let start = scenario.first_month();
    let mut path = exogenous_base_path(market, start, months);
    path.counterparty_defaults =
        assumed_counterparty_defaults(scenario.counterparties(), start, months);
    for stress in stresses {
        stress.apply(&mut path, market);
    }
    thin_liquidation_markets(&mut path, market);
    path
}

/// Completes a deterministic path from its exogenous factors: the network runs on its prices
/// (replacing any network already there) and each month's low is the median of its Brownian
/// bridge.
pub(crate) fn respond_to_prices(path: &mut MarketPath, market: &Market) {
    run_network(path, market, &mut None, || 0.0);
    let sigma = market.btc_volatility_percent_per_year / 100.0;
    let prices = &path.btc_price_usd;
    path.btc_low_usd.clear();
    path.btc_low_usd.extend((0..prices.len()).map(|t| {
        let open = prices[t.saturating_sub(1)];
        brownian_bridge_low_usd(open, prices[t], sigma, MEDIAN)
    }));
}

/// Liquidation markets are no deeper than the stress depth in the stress regime's months.
pub(crate) fn thin_liquidation_markets(path: &mut MarketPath, market: &Market) {
    let stress_depth = market.liquidation.stress_depth_percent / 100.0;
    for (depth, &stressed) in path.liquidation_depth_factor.iter_mut().zip(&path.stress) {
        if stressed {
            *depth = depth.min(stress_depth);
        }
    }
}

/// The counterparties the scenario assumes to default within the projection (their
/// `default_month`; one before the start counts from month 0).
pub(crate) fn assumed_counterparty_defaults<'a>(
    counterparties: impl Iterator<Item = &'a Counterparty>,
    start: YearMonth,
    months: usize,
) -> Vec<(Arc<str>, usize)> {
    let mut defaults: Vec<(Arc<str>, usize)> = Vec::new();
    for counterparty in counterparties {
        let Some(month) = counterparty.default_month else {
            continue;
        };
        let t = usize::try_from(month.months_since(start)).unwrap_or(0);
        if t < months
            && !defaults
                .iter()
                .any(|(name, _)| **name == *counterparty.name)
        {
            defaults.push((Arc::from(counterparty.name.as_str()), t));
        }
    }
    defaults
}

/// The quantile of the intramonth low a deterministic path uses: its median.
const MEDIAN: f64 = 0.5;

/// Every factor of the base case but the network's.
pub(crate) fn exogenous_base_path(market: &Market, start: YearMonth, months: usize) -> MarketPath {
    let drift = btc_drift_per_year(market);
    let price0 = start_btc_price_usd(market);
    let btc_price_usd: Vec<f64> = (0..months)
        .map(|t| match market.btc_price_series_usd.get(t) {
            Some(&price) => price,
            None => {
                let (anchor_month, anchor_price) = match market.btc_price_series_usd.last() {
                    Some(&last) => (market.btc_price_series_usd.len() - 1, last),
                    None => (0, price0),
                };
                anchor_price * (drift * (t - anchor_month) as f64 / 12.0).exp()
            }
        })
        .collect();
    let gpu = &market.gpu;
    let deflation = gpu.rent_deflation_percent_per_year / 100.0;
    let escalation = 1.0 + market.power_price_escalation_percent_per_year / 100.0;
    MarketPath {
        start_month: start,
        btc_price_usd,
        fees_btc_per_block: vec![base_fees_btc_per_block(market); months],
        gpu_rent_index_usd_per_gpu_hour: (0..months)
            .map(|t| gpu.reference_rent_usd_per_gpu_hour * (-deflation * t as f64 / 12.0).exp())
            .collect(),
        generation_rent_factor: generation_rent_factors(market, start, months),
        ai_utilisation: vec![gpu.utilisation_percent / 100.0; months],
        ai_demand: vec![1.0; months],
        power_price_usd_per_mwh: (0..months)
            .map(|t| market.power_price_usd_per_mwh * escalation.powf(t as f64 / 12.0))
            .collect(),
        sofr: vec![market.sofr_percent / 100.0; months],
        stress: vec![false; months],
        liquidation_depth_factor: vec![1.0; months],
        gpu_resale_factor: vec![1.0; months],
        tenant_hazard_factor: vec![1.0; months],
        extra_outage_days: vec![0.0; months],
        ..MarketPath::with_start(start)
    }
}

/// Runs the network month by month on the path's prices and fees: hashrate, difficulty,
/// blocks, subsidy, heights and the frontier efficiency. Before each month the world fleet's
/// installed capacity is multiplied by `exp(capacity_log_shock())` (0 for none: the factor
/// is then exactly 1). Replaces any network already on the path. `network` holds the
/// simulator of an earlier path of the same market, restarted in its memory, or none (one
/// is made and left there).
pub(crate) fn run_network(
    path: &mut MarketPath,
    market: &Market,
    network: &mut Option<NetworkSim>,
    mut capacity_log_shock: impl FnMut() -> f64,
) {
    run_networks([path], market, [network], |_| capacity_log_shock());
}

/// [`run_network`] on `K` paths of the same market at once, month by month together
/// ([`NetworkSim::step_months`]): each path's network exactly as alone.
/// `capacity_log_shock(k)` is path `k`'s shock for the month.
pub(crate) fn run_networks<const K: usize>(
    mut paths: [&mut MarketPath; K],
    market: &Market,
    networks: [&mut Option<NetworkSim>; K],
    mut capacity_log_shock: impl FnMut(usize) -> f64,
) {
    let months = paths[0].months();
    for path in paths.iter_mut() {
        debug_assert_eq!(path.months(), months, "paths of one market");
        path.network_hashrate_hs.clear();
        path.difficulty.clear();
        path.blocks.clear();
        path.subsidy_btc.clear();
        path.end_height.clear();
        path.frontier_efficiency_j_per_th.clear();
    }
    // A network kept from an earlier path of the same market restarts in its memory.
    let mut networks = networks.map(|network| match network {
        Some(network) => {
            network.restart();
            network
        }
        None => {
            let origin = network_origin(market);
            let start_hashprice = bitwatt_chain::hashprice_usd_per_ph_day(
                origin.bits.core_difficulty(),
                bitwatt_chain::block_subsidy_btc(origin.height + 1)
                    + base_fees_btc_per_block(market),
                start_btc_price_usd(market),
            );
            network.insert(NetworkSim::new(
                WorldFleetCurve::new(&market.world_fleet),
                origin,
                start_hashprice,
                months,
            ))
        }
    });
    for t in 0..months {
        for (k, network) in networks.iter_mut().enumerate() {
            network.scale_capacity(capacity_log_shock(k).exp());
        }
        let network_months = NetworkSim::step_months(
            networks.each_mut().map(|network| &mut **network),
            paths.each_ref().map(|path| path.btc_price_usd[t]),
            paths.each_ref().map(|path| path.fees_btc_per_block[t]),
        );
        for (path, month) in paths.iter_mut().zip(network_months) {
            path.network_hashrate_hs.push(month.hashrate_hs);
            path.difficulty.push(month.mean_difficulty);
            path.blocks.push(month.blocks);
            path.subsidy_btc.push(month.subsidy_btc);
            path.end_height.push(month.end_height);
            path.frontier_efficiency_j_per_th
                .push(month.frontier_efficiency_j_per_th);
        }
    }
}

/// The `quantile` of the lowest price of a month that opens at `open_usd` and closes at
/// `close_usd`, the log price a Brownian bridge with volatility `sigma_per_year` between them:
/// P(low < b) = exp(−2·ln(open/b)·ln(close/b) / (σ²·Δt)) for b below both ends, so the low
/// at quantile u solves that probability = u. A Monte Carlo path draws u uniformly; a
/// deterministic path uses the median.
pub fn brownian_bridge_low_usd(
    open_usd: f64,
    close_usd: f64,
    sigma_per_year: f64,
    quantile: f64,
) -> f64 {
    let (x0, x1) = (open_usd.ln(), close_usd.ln());
    let variance = sigma_per_year * sigma_per_year / 12.0;
    let spread = ((x1 - x0).powi(2) - 2.0 * variance * quantile.ln()).sqrt();
    ((x0 + x1 - spread) / 2.0).exp()
}

/// Probability that a month opening at `open_usd` and closing at `close_usd` trades below
/// `barrier_usd` at some point, for a Brownian bridge of the log price.
pub fn bridge_crossing_probability(
    open_usd: f64,
    close_usd: f64,
    sigma_per_year: f64,
    barrier_usd: f64,
) -> f64 {
    if barrier_usd >= open_usd.min(close_usd) {
        return 1.0;
    }
    let variance = sigma_per_year * sigma_per_year / 12.0;
    let (a, b) = (
        (open_usd / barrier_usd).ln(),
        (close_usd / barrier_usd).ln(),
    );
    (-2.0 * a * b / variance).exp()
}

/// Each generation's rent factor month by month: its factor at the start, times the
/// step-down of every newer generation launched after the start and by that month.
pub fn generation_rent_factors(market: &Market, start: YearMonth, months: usize) -> Vec<f64> {
    let generations = &market.gpu.generations;
    let mut factors = Vec::with_capacity(generations.len() * months);
    fill_generation_rent_factors(
        market,
        start,
        months,
        |g| generations[g].launch_month,
        &mut factors,
    );
    factors
}

/// Fills `factors` with each generation's rent factor month by month when generation `g`
/// launches in `launch(g)` rather than on its schedule: which generation is newer, and which
/// launches are still to come after the start, follow the schedule; the step-down comes in
/// the month of the launch.
pub(crate) fn fill_generation_rent_factors(
    market: &Market,
    start: YearMonth,
    months: usize,
    launch: impl Fn(usize) -> YearMonth,
    factors: &mut Vec<f64>,
) {
    let generations = &market.gpu.generations;
    factors.clear();
    for generation in generations {
        // The newer generations launching after the start step this one's rent down from
        // their launch month on; between launches the factor stays.
        let steps_down = |newer: &GpuGeneration| {
            newer.launch_month > generation.launch_month && newer.launch_month > start
        };
        let mut t = 0;
        while t < months {
            let month = start.plus_months(t as i32);
            // The product over the generations launched by `month`, in their order.
            let step_down: f64 = generations
                .iter()
                .enumerate()
                .filter(|&(g, newer)| steps_down(newer) && launch(g) <= month)
                .map(|(_, newer)| newer.step_down_factor)
                .product();
            // The month of the next launch still to come.
            let next = generations
                .iter()
                .enumerate()
                .filter(|&(g, newer)| steps_down(newer) && launch(g) > month)
                .map(|(g, _)| launch(g).months_since(start) as usize)
                .min()
                .map_or(months, |next| next.min(months));
            let factor = generation.rent_factor * step_down;
            factors.extend(std::iter::repeat_n(factor, next - t));
            t = next;
        }
    }
}

impl MarketPath {
    /// An empty path starting at `start`.
    pub fn with_start(start: YearMonth) -> MarketPath {
        MarketPath {
            start_month: start,
            btc_price_usd: Vec::new(),
            fees_btc_per_block: Vec::new(),
            network_hashrate_hs: Vec::new(),
            difficulty: Vec::new(),
            blocks: Vec::new(),
            subsidy_btc: Vec::new(),
            end_height: Vec::new(),
            frontier_efficiency_j_per_th: Vec::new(),
            gpu_rent_index_usd_per_gpu_hour: Vec::new(),
            generation_rent_factor: Vec::new(),
            ai_utilisation: Vec::new(),
            ai_demand: Vec::new(),
            power_price_usd_per_mwh: Vec::new(),
            sofr: Vec::new(),
            stress: Vec::new(),
            btc_low_usd: Vec::new(),
            liquidation_depth_factor: Vec::new(),
            gpu_resale_factor: Vec::new(),
            tenant_hazard_factor: Vec::new(),
            extra_outage_days: Vec::new(),
            counterparty_defaults: Vec::new(),
        }
    }
}
