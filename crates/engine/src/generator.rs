//! The Monte Carlo market generator: one random market path per index, reproducible from the
//! seed alone.
//!
//! Randomness: the key is SHA-256 of `"bitwatt-v1"` and the seed (never the scenario, so a
//! bumped scenario reuses the same numbers); path `i` draws from ChaCha8 stream `i`, and each
//! source of risk from its own lane of that stream (`set_word_pos(lane << 60)` after
//! `set_stream`), so adding a source later leaves the others' draws unchanged and any split of
//! the paths over threads or shards gives the same paths.
//!
//! The model (`[market.model]`), month by month from the base case:
//! * a two-state Markov chain of regimes, calm and stress (entered and left with the
//!   scenario's monthly probabilities, starting calm); stress windows forced by a stress
//!   (correlation convergence) are stress whatever the chain says;
//! * six correlated shocks — BTC, GPU rent, AI demand, power, fees, SOFR — drawn as
//!   x = √(1 − w)·L·z + √w·s·ε, with L the Cholesky factor of the calm correlation, z six
//!   independent normals, ε one common normal, s the direction in which everything goes bad
//!   together (BTC, rents and demand down, power up) and w the convergence in stress (0 when
//!   calm): exact, and valid at w = 1; fees and SOFR, outside s, keep their calm shocks;
//! * BTC: the base path's log price plus the regime's excess drift, less σ²/2 and the jumps'
//!   compensator (so that within a regime the expected price follows its drift), plus σ·x, plus
//!   Poisson jumps with log-normal sizes, plus, in stress, a common crash that also hits GPU
//!   rents and AI demand; its lowest price within each month is drawn from the Brownian bridge
//!   between the month's neighbouring prices;
//! * GPU rent index: the base (deflating, stepping down at launches) times a random walk;
//!   AI demand: mean-reverting around the base; utilisation follows demand, capped at 1;
//! * power, fees: mean-reverting log deviations from the base, fees with congestion spikes,
//!   power with seasonal spikes (a month's price times the spike multiple, more often in the
//!   peak months); SOFR: mean-reverting (Vasicek) around the base;
//! * grid events: a Poisson number a month, each taking every site off the grid for the
//!   event's days (`extra_outage_days`, lost operating days in the waterfall);
//! * GPU generations: each launch after the start moves from its schedule by a rounded normal
//!   number of months, and every older generation's rent (so its resale value, the rent it
//!   can still earn) steps down at the drawn launch;
//! * then the scenario's stresses on top, the liquidation markets thinned in stress, and the
//!   network run epoch by epoch on the path's prices and fees, the world fleet's installed
//!   capacity multiplied each month by a mean-one log-normal shock (hashrate noise beyond the
//!   cost curve's response, which the fleet's economics and the difficulty then follow);
//! * each tenant, guarantor and offtaker defaults when its cumulative intensity — its annual
//!   probability, raised as AI demand falls, by the stresses' tenant hazard factor and
//!   doubled in stress — passes an exponential threshold drawn from a key of the run's key and
//!   its name, so a counterparty shared by several borrowers fails on the same paths for all.
//!
//! With zero volatilities, no jumps, no spikes, no grid events, no hashrate noise, no launch
//! jitter and no stress the generator gives the base case's factors exactly.

use std::sync::Arc;

use bitwatt_model::{
    Counterparty, FACTOR_COUNT, Market, MarketModel, Scenario, YearMonth, correlation_cholesky,
};
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use sha2::{Digest, Sha256};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::market::{
    MarketPath, assumed_counterparty_defaults, brownian_bridge_low_usd, btc_drift_per_year,
    exogenous_base_path, fill_generation_rent_factors, run_networks, thin_liquidation_markets,
};
use crate::network::NetworkSim;
use crate::stress::Stress;

/// Lanes of a path's stream, one per source of risk.
mod lane {
    /// The regime chain.
    pub const REGIME: u64 = 0;
    /// The correlated factor shocks.
    pub const SHOCKS: u64 = 1;
    /// BTC jumps and common crashes.
    pub const JUMPS: u64 = 2;
    /// The intramonth BTC low.
    pub const BRIDGE: u64 = 3;
    /// Fee spikes.
    pub const SPIKES: u64 = 4;
    /// The world fleet's capacity shocks.
    pub const HASHRATE: u64 = 5;
    /// GPU generations' launch dates.
    pub const LAUNCHES: u64 = 6;
    /// Power price spikes.
    pub const POWER_SPIKES: u64 = 7;
    /// Grid events.
    pub const GRID_EVENTS: u64 = 8;
    /// The credit cycle: the counterparties' systematic factor.
    pub const CREDIT_CYCLE: u64 = 9;
}

/// Direction of each factor when everything goes bad together: BTC, GPU rent and AI demand
/// down, power up; fees and SOFR do not join in.
pub const STRESS_DIRECTION: [f64; FACTOR_COUNT] = [-1.0, -1.0, -1.0, 1.0, 0.0, 0.0];

/// The key all of a run's random numbers come from: a hash of the seed alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomKey([u8; 32]);

impl RandomKey {
    /// The key of `seed`: SHA-256 of `"bitwatt-v1"` and the seed's eight little-endian bytes.
    pub fn from_seed(seed: u64) -> RandomKey {
        let mut hasher = Sha256::new();
        hasher.update(b"bitwatt-v1");
        hasher.update(seed.to_le_bytes());
        RandomKey(hasher.finalize().into())
    }

    /// The key of a counterparty's draws: the run's key and the counterparty's name, so that
    /// the same counterparty has the same luck in every scenario and book of the run.
    pub fn counterparty(&self, name: &str) -> RandomKey {
        let mut hasher = Sha256::new();
        hasher.update(self.0);
        hasher.update(b"counterparty");
        hasher.update(name.as_bytes());
        RandomKey(hasher.finalize().into())
    }

    /// The key of a borrower's own draws (site outages, conversion delays): the run's key and
    /// the borrower's name, so that a borrower has the same luck whatever the other borrowers
    /// of a book.
    pub fn borrower(&self, name: &str) -> RandomKey {
        let mut hasher = Sha256::new();
        hasher.update(self.0);
        hasher.update(b"borrower");
        hasher.update(name.as_bytes());
        RandomKey(hasher.finalize().into())
    }

    /// The generator of `lane` of path `path`'s stream.
    pub fn lane(&self, path: u64, lane: u64) -> ChaCha8Rng {
        let mut rng = ChaCha8Rng::from_seed(self.0);
        // `set_stream` resets the position: the stream first, the lane's position second.
        rng.set_stream(path);
        rng.set_word_pos(u128::from(lane) << 60);
        rng
    }
}

/// The six correlated shocks of a month: √(1 − w)·(L·z)ᵢ + √w·sᵢ·ε for the factors that join
/// the crash (sᵢ ≠ 0), (L·z)ᵢ for the others, which keep their volatility (L lower triangular,
/// summed in a fixed order). Their covariance is (1 − w)·C + w·s·sᵀ among the joining factors,
/// unit variances throughout.
pub fn correlated_shocks(
    cholesky: &[[f64; FACTOR_COUNT]; FACTOR_COUNT],
    w: f64,
    z: &[f64; FACTOR_COUNT],
    epsilon: f64,
) -> [f64; FACTOR_COUNT] {
    let (calm, common) = ((1.0 - w).sqrt(), w.sqrt());
    let mut x = [0.0; FACTOR_COUNT];
    for (i, out) in x.iter_mut().enumerate() {
        let mut sum = 0.0;
        for (l, z) in cholesky[i][..=i].iter().zip(z) {
            sum += l * z;
        }
        let direction = STRESS_DIRECTION[i];
        *out = if direction == 0.0 {
            sum
        } else {
            calm * sum + common * direction * epsilon
        };
    }
    x
}

/// Why a scenario's market cannot be simulated.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GeneratorError {
    /// The calm correlation matrix is not positive semi-definite.
    #[error(
        "market.model.calm_correlation: expected a positive semi-definite correlation matrix (its factorisation fails at row {0})"
    )]
    NotPositiveSemiDefinite(usize),
}

/// The model's parameters as the generator uses them (fractions, per month).
#[derive(Clone, Copy, Debug)]
struct Parameters {
    enter_stress: f64,
    leave_stress: f64,
    /// BTC drift (a year) and volatility (a year) by regime: calm, stress.
    btc_drift: [f64; 2],
    btc_volatility: [f64; 2],
    /// Jumps a month by regime, and their log-size mean and deviation.
    jumps_per_month: [f64; 2],
    /// The jumps' compensator by regime, a drift (a year) that keeps the regime's expected
    /// price where its drift puts it: λ·(E[e^J] − 1).
    jump_compensator: [f64; 2],
    jump_mean: f64,
    jump_deviation: f64,
    crash_probability: f64,
    crash_log: f64,
    rent_volatility: f64,
    demand_volatility: f64,
    demand_persistence: f64,
    power_volatility: f64,
    power_persistence: f64,
    fees_volatility: f64,
    fees_persistence: f64,
    spike_probability: f64,
    spike_log: f64,
    sofr_volatility: f64,
    sofr_persistence: f64,
    convergence: f64,
    /// Log size of a power price spike.
    power_spike_log: f64,
    grid_events_per_month: f64,
    grid_event_outage_days: f64,
    /// Deviation of the monthly log shock to the world fleet's installed capacity.
    hashrate_volatility_per_month: f64,
    launch_jitter_months: f64,
}

impl Parameters {
    fn new(market: &Market) -> Parameters {
        let model: &MarketModel = &market.model;
        let persistence = |per_year: f64| (-per_year / 12.0).exp();
        let base_drift = btc_drift_per_year(market);
        let calm_volatility = model
            .btc_calm_volatility_percent_per_year
            .unwrap_or(market.btc_volatility_percent_per_year)
            / 100.0;
        let jump_mean = (1.0 + model.btc_jump_mean_percent / 100.0).max(1e-9).ln();
        let jump_deviation = model.btc_jump_volatility_percent / 100.0;
        // E[e^J] − 1 for a log-normal jump.
        let jump_excess = (jump_mean + jump_deviation * jump_deviation / 2.0).exp() - 1.0;
        Parameters {
            enter_stress: model.stress_entry_percent_per_month / 100.0,
            leave_stress: model.stress_exit_percent_per_month / 100.0,
            btc_drift: [base_drift, model.btc_stress_drift_percent_per_year / 100.0],
            btc_volatility: [
                calm_volatility,
                model.btc_stress_volatility_percent_per_year / 100.0,
            ],
            jumps_per_month: [
                model.btc_jumps_per_year_calm / 12.0,
                model.btc_jumps_per_year_stress / 12.0,
            ],
            jump_mean,
            jump_deviation,
            jump_compensator: [
                model.btc_jumps_per_year_calm * jump_excess,
                model.btc_jumps_per_year_stress * jump_excess,
            ],
            crash_probability: model.crash_percent_per_month_in_stress / 100.0,
            crash_log: (1.0 - model.crash_size_percent / 100.0).max(1e-9).ln(),
            rent_volatility: model.gpu_rent_volatility_percent_per_year / 100.0,
            demand_volatility: model.ai_demand_volatility_percent_per_year / 100.0,
            demand_persistence: persistence(model.ai_demand_reversion_per_year),
            power_volatility: model.power_volatility_percent_per_year / 100.0,
            power_persistence: persistence(model.power_reversion_per_year),
            fees_volatility: model.fees_volatility_percent_per_year / 100.0,
            fees_persistence: persistence(model.fees_reversion_per_year),
            spike_probability: model.fee_spike_percent_per_month / 100.0,
            spike_log: model.fee_spike_multiple.ln(),
            sofr_volatility: model.sofr_volatility_points_per_year / 100.0,
            sofr_persistence: persistence(model.sofr_reversion_per_year),
            convergence: model.correlation_convergence,
            power_spike_log: model.power_spike_multiple.ln(),
            grid_events_per_month: model.grid_events_per_year / MONTHS_PER_YEAR,
            grid_event_outage_days: model.grid_event_outage_days,
            hashrate_volatility_per_month: model.hashrate_noise_percent_per_year
                / 100.0
                / MONTHS_PER_YEAR.sqrt(),
            launch_jitter_months: model.gpu_launch_jitter_months,
        }
    }
}

/// Generates the Monte Carlo market paths of a scenario.
#[derive(Clone, Debug)]
pub struct MarketGenerator {
    market: Market,
    stresses: Vec<Stress>,
    /// The base case's factors (no network): each path deviates from it.
    base: MarketPath,
    cholesky: [[f64; FACTOR_COUNT]; FACTOR_COUNT],
    parameters: Parameters,
    /// Counterparties whose default is drawn (not those the scenario assumes to default).
    counterparties: Vec<CounterpartyRisk>,
    /// Probability of a power price spike in each month, by whether its calendar month is a
    /// peak month.
    power_spike_probability: Vec<f64>,
}

/// A counterparty whose default the generator draws: a tenant, guarantor or offtaker.
#[derive(Clone, Debug)]
struct CounterpartyRisk {
    name: Arc<str>,
    /// Default intensity a month in the base case: −ln(1 − annual PD) / 12.
    monthly_intensity: f64,
    /// How much the intensity rises as AI demand falls below the base case.
    ai_demand_sensitivity: f64,
    /// Loading √ρ on the credit cycle and √(1 − ρ) on the counterparty's own draw.
    cycle_loading: f64,
    own_loading: f64,
}

/// A worker's working memory for [`MarketGenerator::generate_with`] (one a path for
/// [`MarketGenerator::generate_together`]): the network simulator and the drawn launch months,
/// kept between paths so that generating a path allocates nothing.
#[derive(Debug, Default)]
pub struct GeneratorScratch {
    network: Option<NetworkSim>,
    launch_months: Vec<YearMonth>,
}

/// How much every counterparty's default intensity is multiplied in the stress regime.
const STRESS_HAZARD_MULTIPLE: f64 = 2.0;

/// Months in a year, for per-year rates.
const MONTHS_PER_YEAR: f64 = 12.0;

impl MarketGenerator {
    /// The generator of `scenario`'s market with `stresses` applied on top of every path.
    pub fn new(
        scenario: &Scenario,
        stresses: &[Stress],
    ) -> Result<MarketGenerator, GeneratorError> {
        MarketGenerator::with_counterparties(scenario, scenario.counterparties(), stresses)
    }

    /// The generator of `scenario`'s market (its start, horizon and `[market]`) drawing the
    /// defaults of `counterparties` (a name more than once counts once, as first given), not
    /// the scenario's own: a book's market with every borrower's counterparties.
    pub(crate) fn with_counterparties<'a>(
        scenario: &Scenario,
        counterparties: impl IntoIterator<Item = &'a Counterparty>,
        stresses: &[Stress],
    ) -> Result<MarketGenerator, GeneratorError> {
        let market = &scenario.market;
        let months = scenario.horizon_months as usize;
        let start = scenario.first_month();
        let counterparties: Vec<&Counterparty> = counterparties.into_iter().collect();
        let mut base = exogenous_base_path(market, start, months);
        base.counterparty_defaults =
            assumed_counterparty_defaults(counterparties.iter().copied(), start, months);
        let cholesky = correlation_cholesky(&market.model.calm_correlation_matrix())
            .map_err(GeneratorError::NotPositiveSemiDefinite)?;
        let mut drawn: Vec<CounterpartyRisk> = Vec::new();
        for counterparty in counterparties {
            let known = drawn.iter().any(|c| *c.name == *counterparty.name);
            if known || counterparty.default_month.is_some() {
                continue;
            }
            let annual =
                (counterparty.default_probability_percent_per_year / 100.0).min(1.0 - 1e-12);
            drawn.push(CounterpartyRisk {
                name: Arc::from(counterparty.name.as_str()),
                monthly_intensity: -(1.0 - annual).ln() / MONTHS_PER_YEAR,
                ai_demand_sensitivity: counterparty.ai_demand_sensitivity,
                cycle_loading: counterparty.asset_correlation.sqrt(),
                own_loading: (1.0 - counterparty.asset_correlation).sqrt(),
            });
        }
        let model = &market.model;
        let power_spike_probability = (0..months)
            .map(|t| {
                let calendar_month = start.plus_months(t as i32).month();
                if model.power_spike_peak_months.contains(&calendar_month) {
                    model.power_spike_percent_per_peak_month / 100.0
                } else {
                    model.power_spike_percent_per_month / 100.0
                }
            })
            .collect();
        Ok(MarketGenerator {
            power_spike_probability,
            market: market.clone(),
            stresses: stresses.to_vec(),
            base,
            cholesky,
            parameters: Parameters::new(market),
            counterparties: drawn,
        })
    }

    /// Months of every path.
    pub fn months(&self) -> usize {
        self.base.months()
    }

    /// The regime chain of path `path`: `true` in the months it is in stress (it starts calm
    /// and draws each month's regime from the last).
    pub fn regimes(&self, key: &RandomKey, path: u64, stress: &mut [bool]) {
        let p = &self.parameters;
        let mut rng = key.lane(path, lane::REGIME);
        let mut stressed = false;
        for flag in stress.iter_mut() {
            let u: f64 = rng.random();
            stressed = if stressed {
                u >= p.leave_stress
            } else {
                u < p.enter_stress
            };
            *flag = stressed;
        }
    }

    /// Fills `out` with path `path` of the run keyed by `key` (reusing its memory).
    pub fn generate(&self, key: &RandomKey, path: u64, out: &mut MarketPath) {
        self.generate_with(key, path, out, &mut GeneratorScratch::default());
    }

    /// As [`MarketGenerator::generate`], with the working memory of `scratch` (kept by a
    /// worker between its paths, so that a path allocates nothing).
    pub fn generate_with(
        &self,
        key: &RandomKey,
        path: u64,
        out: &mut MarketPath,
        scratch: &mut GeneratorScratch,
    ) {
        self.generate_together([key], [path], [out], [scratch]);
    }

    /// [`MarketGenerator::generate_with`] for `K` paths at once, each exactly as alone: their
    /// networks run month by month together ([`NetworkSim::step_months`]), which overlaps
    /// their long chains of dependent operations.
    pub fn generate_together<const K: usize>(
        &self,
        keys: [&RandomKey; K],
        paths: [u64; K],
        mut outs: [&mut MarketPath; K],
        scratches: [&mut GeneratorScratch; K],
    ) {
        for k in 0..K {
            self.draw_factors(keys[k], paths[k], outs[k], &mut scratches[k].launch_months);
        }
        let sigma = self.parameters.hashrate_volatility_per_month;
        let mut hashrate_rngs: [ChaCha8Rng; K] =
            std::array::from_fn(|k| keys[k].lane(paths[k], lane::HASHRATE));
        run_networks(
            outs.each_mut().map(|out| &mut **out),
            &self.market,
            scratches.map(|scratch| &mut scratch.network),
            |k| {
                let z: f64 = StandardNormal.sample(&mut hashrate_rngs[k]);
                // A mean-one log-normal factor.
                sigma * z - sigma * sigma / 2.0
            },
        );
        for k in 0..K {
            self.draw_monthly_lows(keys[k], paths[k], outs[k]);
        }
    }

    /// Path `path`'s factors — regimes, prices, rents, demand, power, fees, SOFR, GPU
    /// launches, stresses, liquidation depth and counterparty defaults — into `out`, from the
    /// base path: all but the network and the monthly lows.
    fn draw_factors(
        &self,
        key: &RandomKey,
        path: u64,
        out: &mut MarketPath,
        launch_months: &mut Vec<YearMonth>,
    ) {
        let p = &self.parameters;
        let months = self.months();
        out.clone_from(&self.base);

        // Regimes: the chain, then the windows the stresses force.
        self.regimes(key, path, &mut out.stress);
        for stress in &self.stresses {
            for t in stress.forced_stress_months(out) {
                out.stress[t] = true;
            }
        }

        let mut shock_rng = key.lane(path, lane::SHOCKS);
        let mut jump_rng = key.lane(path, lane::JUMPS);
        let mut spike_rng = key.lane(path, lane::SPIKES);
        let mut power_spike_rng = key.lane(path, lane::POWER_SPIKES);
        let mut grid_rng = key.lane(path, lane::GRID_EVENTS);
        let root_month = (1.0 / MONTHS_PER_YEAR).sqrt();
        let (mut btc, mut rent, mut demand, mut power, mut fees, mut sofr) =
            (0.0, 0.0, 0.0, 0.0, 0.0, 0.0);
        for t in 0..months {
            let regime = usize::from(out.stress[t]);
            let w = if regime == 1 { p.convergence } else { 0.0 };
            let mut z = [0.0; FACTOR_COUNT];
            for z in &mut z {
                *z = StandardNormal.sample(&mut shock_rng);
            }
            let epsilon: f64 = StandardNormal.sample(&mut shock_rng);
            let x = correlated_shocks(&self.cholesky, w, &z, epsilon);

            // BTC: the regime's drift in excess of the base case's, less the Itô term.
            let sigma = p.btc_volatility[regime];
            btc += (p.btc_drift[regime]
                - p.btc_drift[0]
                - sigma * sigma / 2.0
                - p.jump_compensator[regime])
                / MONTHS_PER_YEAR
                + sigma * root_month * x[0];
            let jumps = poisson(&mut jump_rng, p.jumps_per_month[regime]);
            for _ in 0..jumps {
                let size: f64 = StandardNormal.sample(&mut jump_rng);
                btc += p.jump_mean + p.jump_deviation * size;
            }
            let crash_draw: f64 = jump_rng.random();
            let crash = if regime == 1 && crash_draw < p.crash_probability {
                p.crash_log
            } else {
                0.0
            };
            btc += crash;
            out.btc_price_usd[t] *= btc.exp();

            rent += p.rent_volatility * root_month * x[1]
                - p.rent_volatility * p.rent_volatility / (2.0 * MONTHS_PER_YEAR)
                + crash;
            out.gpu_rent_index_usd_per_gpu_hour[t] *= rent.exp();
            demand =
                demand * p.demand_persistence + p.demand_volatility * root_month * x[2] + crash;
            out.ai_demand[t] *= demand.exp();
            out.ai_utilisation[t] = (out.ai_utilisation[t] * demand.exp()).min(1.0);

            power = power * p.power_persistence + p.power_volatility * root_month * x[3];
            let power_spike_draw: f64 = power_spike_rng.random();
            let power_spike = if power_spike_draw < self.power_spike_probability[t] {
                p.power_spike_log
            } else {
                0.0
            };
            out.power_price_usd_per_mwh[t] *= (power + power_spike).exp();
            let grid_events = poisson(&mut grid_rng, p.grid_events_per_month);
            out.extra_outage_days[t] += f64::from(grid_events) * p.grid_event_outage_days;
            fees = fees * p.fees_persistence + p.fees_volatility * root_month * x[4];
            let spike_draw: f64 = spike_rng.random();
            let spike = if spike_draw < p.spike_probability {
                p.spike_log
            } else {
                0.0
            };
            out.fees_btc_per_block[t] *= (fees + spike).exp();
            sofr = sofr * p.sofr_persistence + p.sofr_volatility * root_month * x[5];
            out.sofr[t] += sofr;
        }

        self.draw_launches(key, path, out, launch_months);
        for stress in &self.stresses {
            stress.apply(out, &self.market);
        }
        thin_liquidation_markets(out, &self.market);
        self.draw_counterparty_defaults(key, path, out);
    }

    /// Path `path`'s monthly BTC lows into `out`, on its drawn prices.
    fn draw_monthly_lows(&self, key: &RandomKey, path: u64, out: &mut MarketPath) {
        let p = &self.parameters;
        let months = self.months();
        let mut bridge_rng = key.lane(path, lane::BRIDGE);
        out.btc_low_usd.clear();
        for t in 0..months {
            let u: f64 = bridge_rng.random();
            let open = out.btc_price_usd[t.saturating_sub(1)];
            let sigma = p.btc_volatility[usize::from(out.stress[t])];
            // A quantile of exactly 0 would give a low of 0.
            let quantile = u.max(f64::MIN_POSITIVE);
            out.btc_low_usd.push(brownian_bridge_low_usd(
                open,
                out.btc_price_usd[t],
                sigma,
                quantile,
            ));
        }
    }
}

impl MarketGenerator {
    /// The launch month of each GPU generation on path `path`: a generation launching after
    /// the start moves from its schedule by a rounded normal number of months with the
    /// jitter's deviation, to no earlier than the month after the start; the generations'
    /// rent factors then step down at the drawn launches. One draw per generation, in the
    /// market's order, launched or not, so a generation's luck does not depend on the start.
    pub fn launch_months(&self, key: &RandomKey, path: u64) -> Vec<YearMonth> {
        let mut months = Vec::new();
        self.fill_launch_months(key, path, &mut months);
        months
    }

    /// [`MarketGenerator::launch_months`] into `months` (replacing what it held).
    fn fill_launch_months(&self, key: &RandomKey, path: u64, months: &mut Vec<YearMonth>) {
        let start = self.base.start_month;
        let mut rng = key.lane(path, lane::LAUNCHES);
        months.clear();
        months.extend(self.market.gpu.generations.iter().map(|generation| {
            let z: f64 = StandardNormal.sample(&mut rng);
            if generation.launch_month <= start {
                return generation.launch_month;
            }
            let shift = (self.parameters.launch_jitter_months * z).round() as i32;
            generation
                .launch_month
                .plus_months(shift)
                .max(start.plus_months(1))
        }));
    }

    /// The generations' rent factors of path `path` at its drawn launch months (the
    /// schedule's, already in `out`, when there is no jitter).
    fn draw_launches(
        &self,
        key: &RandomKey,
        path: u64,
        out: &mut MarketPath,
        launches: &mut Vec<YearMonth>,
    ) {
        if self.parameters.launch_jitter_months == 0.0 {
            return;
        }
        self.fill_launch_months(key, path, launches);
        fill_generation_rent_factors(
            &self.market,
            out.start_month,
            out.months(),
            |g| launches[g],
            &mut out.generation_rent_factor,
        );
    }

    /// Each counterparty's default on path `path`: its intensity (the base case's, raised as
    /// AI demand falls below the base case by its sensitivity, by the path's tenant hazard
    /// factor, and doubled in stress) accumulates month by month until it passes an
    /// exponential threshold. The threshold is −ln(1 − U) with U uniform from the
    /// counterparty's own key; with an asset correlation ρ > 0, U = Φ(√ρ·Z + √(1 − ρ)·Φ⁻¹(u))
    /// where Z is the path's credit cycle (one standard normal shared by every counterparty)
    /// and u the counterparty's own uniform: a Gaussian copula, so that with a constant
    /// intensity the default probability to a horizon T given Z is Vasicek's
    /// Φ((Φ⁻¹(PD_T) − √ρ·Z) / √(1 − ρ)).
    fn draw_counterparty_defaults(&self, key: &RandomKey, path: u64, out: &mut MarketPath) {
        let credit_cycle: f64 = if self.counterparties.iter().any(|c| c.cycle_loading > 0.0) {
            StandardNormal.sample(&mut key.lane(path, lane::CREDIT_CYCLE))
        } else {
            0.0
        };
        let standard = Normal::standard();
        for counterparty in &self.counterparties {
            let mut rng = key.counterparty(&counterparty.name).lane(path, 0);
            let u: f64 = rng.random();
            let threshold = if counterparty.cycle_loading > 0.0 {
                let x = counterparty.cycle_loading * credit_cycle
                    + counterparty.own_loading * standard.inverse_cdf(u);
                // −ln(1 − Φ(x)) = −ln Φ(−x), exact in the tail.
                -standard.cdf(-x).ln()
            } else {
                -(1.0 - u).ln()
            };
            let mut cumulative = 0.0;
            for t in 0..out.months() {
                let demand_drop = (1.0 - out.ai_demand[t]).max(0.0);
                let stress = if out.stress[t] {
                    STRESS_HAZARD_MULTIPLE
                } else {
                    1.0
                };
                cumulative += counterparty.monthly_intensity
                    * (1.0 + counterparty.ai_demand_sensitivity * demand_drop)
                    * out.tenant_hazard_factor[t]
                    * stress;
                if cumulative >= threshold {
                    out.counterparty_defaults
                        .push((counterparty.name.clone(), t));
                    break;
                }
            }
        }
    }
}

/// A Poisson count with mean `mean` by inversion of one uniform (means here are small).
fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    let u: f64 = rng.random();
    let mut probability = (-mean).exp();
    let mut cumulative = probability;
    let mut count = 0;
    while u > cumulative && count < 1_000 {
        count += 1;
        probability *= mean / f64::from(count);
        cumulative += probability;
    }
    count
}
