//! `simulate`: a borrower on many generated market paths, and the credit metrics a lender
//! prices with — probability of default by year and cause, time to default, loss given
//! default, exposure, expected loss, the loss distribution's tail, covenant breaches, monthly
//! fans and what the factors looked like on defaulting paths — each probability and mean with
//! its Monte Carlo standard error.
//!
//! Paths run in fixed-size chunks ([`CHUNK_PATHS`]); a window of chunks runs in parallel and
//! each chunk's summary (moments accumulated path by path) joins, in chunk order, a
//! [`ChunkFold`]: a tree of merges that the chunk indices alone fix. A shard is a contiguous
//! range of chunks; merging shards completes the same tree, so a run gives the same result bit
//! for bit for any number of threads and any split into shards, and the summaries held stay
//! logarithmic in the chunks. Every path's scalars (total loss, default month, each
//! instrument's LGD) are computed exactly and counted without being kept: default counts by
//! month, cause and instrument; the worst paths by total loss exactly (VaR and ES, see
//! [`WorstPaths`]); integer-count sketches for the loss histogram, the LGD quantiles and the
//! monthly fans, whose merge is exact. A run keeps every path's loss and default month only
//! when asked ([`Simulation::keeping_path_scalars`]: sensitivity pairs paths with them), and
//! hands every path's outcome to [`RunControl::paths_out`] (`--paths-out`). Memory thus does
//! not grow with the paths but for the tail.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use bitwatt_model::{MAX_DEBT_INSTRUMENTS, Scenario};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::borrower::{Borrower, CompileError, DebtPlan};
use crate::fold::{ChunkFold, Mergeable};
use crate::generator::{GeneratorError, GeneratorScratch, MarketGenerator, RandomKey};
use crate::market::{MarketPath, base_market_path};
use crate::portfolio::BookPathsOut;
use crate::portfolio::LossHistogram;
use crate::rating::{RatingGrade, rating_grade};
use crate::recovery::{ClaimRecovery, LiquidationPrices, Recoveries};
use crate::sketch::QuantileSketch;
use crate::stress::Stress;
use crate::tail::{WorstPaths, loss_histogram};
use crate::waterfall::{Covenant, DefaultCause, PathBuffers, PathSummary, recover, run_path};

/// Paths in a chunk: a constant, never derived from the thread count.
pub const CHUNK_PATHS: u64 = 1_024;

/// Chunks per thread run in parallel between two checks for cancellation (the window's size
/// never changes the result: summaries are folded in chunk order).
pub(crate) const WINDOW_CHUNKS_PER_THREAD: u64 = 4;

/// Why a simulation cannot run, or its shards cannot merge.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum SimulationError {
    /// The borrower does not compile.
    #[error(transparent)]
    Compile(#[from] CompileError),
    /// The market model is unusable.
    #[error(transparent)]
    Generator(#[from] GeneratorError),
    /// No paths asked for.
    #[error("--paths 0: expected at least one path")]
    NoPaths,
    /// A shard outside 1..=count.
    #[error("--shard {index}/{count}: expected k/n with 1 <= k <= n")]
    BadShard {
        /// The shard asked for (1-based).
        index: u64,
        /// Shards in the run.
        count: u64,
    },
    /// Shards of different runs, builds or scenarios.
    #[error("shard {index} has another fingerprint ({field}: {theirs:?}, expected {ours:?})")]
    FingerprintMismatch {
        /// The shard (1-based).
        index: u64,
        /// The fingerprint field that differs.
        field: &'static str,
        /// Its value in the first shard.
        ours: String,
        /// Its value in this shard.
        theirs: String,
    },
    /// Shards missing, repeated or cut short.
    #[error("cannot merge: {0}")]
    Incomplete(String),
    /// Sensitivity pairs each bumped path with the base run's: that run must keep them.
    #[error("the base run kept no per-path results to pair the bumped paths with")]
    NoPathScalars,
}

/// Which part of a run a shard covers: shard `index` of `count` (1-based), a contiguous range
/// of chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// This shard (1..=count).
    pub index: u64,
    /// Shards in the run.
    pub count: u64,
}

impl Shard {
    /// The whole run as one shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// This shard, if it is one of its run's (1 ≤ index ≤ count).
    pub fn check(self) -> Result<Shard, SimulationError> {
        if self.index == 0 || self.index > self.count {
            return Err(SimulationError::BadShard {
                index: self.index,
                count: self.count,
            });
        }
        Ok(self)
    }

    /// The chunks of a run of `paths` paths this shard covers.
    pub(crate) fn chunks(self, paths: u64) -> std::ops::Range<u64> {
        let chunks = u128::from(paths.div_ceil(CHUNK_PATHS));
        let bound = |k: u64| (chunks * u128::from(k) / u128::from(self.count)) as u64;
        bound(self.index - 1)..bound(self.index)
    }
}

/// What a result was computed from and by: shards merge only when every field agrees.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// bitwatt's version.
    pub version: String,
    /// Git commit of the build.
    pub commit: String,
    /// Target triple of the build.
    pub target: String,
    /// SHA-256 of the Cargo.lock the build used.
    pub cargo_lock_sha256: String,
    /// SHA-256 of the inputs: the scenario, or the book (market, borrowers, holdings), in
    /// their canonical JSON form.
    pub scenario_sha256: String,
    /// Seed of the random numbers.
    pub seed: u64,
    /// Paths of the whole run.
    pub paths: u64,
    /// Stresses applied on every path, in order.
    pub stresses: Vec<String>,
}

impl Fingerprint {
    /// The fingerprint of a run of `scenario` under `stresses` with `paths` paths from `seed`.
    pub fn of_run(scenario: &Scenario, stresses: &[Stress], paths: u64, seed: u64) -> Fingerprint {
        Fingerprint::of_inputs(scenario, stresses, paths, seed)
    }

    /// The fingerprint of a run of `inputs` (a scenario, a book) under `stresses` with
    /// `paths` paths from `seed`.
    pub(crate) fn of_inputs(
        inputs: &impl Serialize,
        stresses: &[Stress],
        paths: u64,
        seed: u64,
    ) -> Fingerprint {
        let scenario_json = serde_json::to_vec(inputs).expect("the inputs serialise");
        Fingerprint {
            version: env!("CARGO_PKG_VERSION").to_string(),
            commit: env!("BITWATT_GIT_COMMIT").to_string(),
            target: env!("BITWATT_TARGET").to_string(),
            cargo_lock_sha256: hex_sha256(include_bytes!("../../../Cargo.lock")),
            scenario_sha256: hex_sha256(&scenario_json),
            seed,
            paths,
            stresses: stresses.iter().map(Stress::to_string).collect(),
        }
    }

    /// The first field in which `other` differs, with both values.
    fn difference(&self, other: &Fingerprint) -> Option<(&'static str, String, String)> {
        let fields: [(&'static str, String, String); 8] = [
            ("version", self.version.clone(), other.version.clone()),
            ("commit", self.commit.clone(), other.commit.clone()),
            ("target", self.target.clone(), other.target.clone()),
            (
                "cargo_lock_sha256",
                self.cargo_lock_sha256.clone(),
                other.cargo_lock_sha256.clone(),
            ),
            (
                "scenario_sha256",
                self.scenario_sha256.clone(),
                other.scenario_sha256.clone(),
            ),
            ("seed", self.seed.to_string(), other.seed.to_string()),
            ("paths", self.paths.to_string(), other.paths.to_string()),
            (
                "stresses",
                self.stresses.join(","),
                other.stresses.join(","),
            ),
        ];
        fields.into_iter().find(|(_, ours, theirs)| ours != theirs)
    }
}

/// Checks that shards, sorted by index, are one complete split of one run: the same
/// fingerprint, shards 1 to n once each, none stopped early (a single shard may be).
/// Each shard is (fingerprint, shard, complete, paths run).
pub(crate) fn check_shards<'a>(
    shards: impl IntoIterator<Item = (&'a Fingerprint, Shard, bool, u64)>,
) -> Result<(), SimulationError> {
    let shards: Vec<_> = shards.into_iter().collect();
    let (first, first_shard, ..) = *shards
        .first()
        .ok_or_else(|| SimulationError::Incomplete("no shard given".to_string()))?;
    let count = first_shard.count;
    for (i, &(fingerprint, shard, ..)) in shards.iter().enumerate() {
        if let Some((field, ours, theirs)) = first.difference(fingerprint) {
            return Err(SimulationError::FingerprintMismatch {
                index: shard.index,
                field,
                ours,
                theirs,
            });
        }
        if shard.count != count {
            return Err(SimulationError::Incomplete(format!(
                "shard {}/{} belongs to a split into {} shards, not {count}",
                shard.index, shard.count, shard.count
            )));
        }
        if shard.index != i as u64 + 1 {
            return Err(SimulationError::Incomplete(format!(
                "expected shards 1 to {count} once each, found {}",
                shards
                    .iter()
                    .map(|(_, s, ..)| format!("{}/{}", s.index, s.count))
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    if shards.len() as u64 != count {
        return Err(SimulationError::Incomplete(format!(
            "{} of {count} shards given",
            shards.len()
        )));
    }
    if count > 1
        && let Some((_, cut, _, paths_run)) = shards.iter().find(|(_, _, complete, _)| !complete)
    {
        return Err(SimulationError::Incomplete(format!(
            "shard {}/{count} was stopped after {paths_run} paths",
            cut.index
        )));
    }
    Ok(())
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What one path left: the borrower's default, and each instrument's default, exposure and
/// loss (present value at default of what the lenders do not recover).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PathOutcome {
    /// Path index in the run.
    pub path: u64,
    /// Month and cause of the borrower's (parent's) default.
    pub default: Option<(usize, DefaultCause)>,
    /// Month each instrument defaulted, if it did.
    pub debt_default_month: [Option<usize>; MAX_DEBT_INSTRUMENTS],
    /// Exposure at default per instrument (USD; 0 without default).
    pub exposure_usd: [f64; MAX_DEBT_INSTRUMENTS],
    /// Loss per instrument (USD; 0 without default).
    pub loss_usd: [f64; MAX_DEBT_INSTRUMENTS],
    /// Loss per instrument discounted to the start at the risk-free rate (USD).
    pub discounted_loss_usd: [f64; MAX_DEBT_INSTRUMENTS],
    /// Principal outstanding per instrument while it has not defaulted, month by month,
    /// discounted to the start at the risk-free rate, in USD-years.
    pub discounted_exposure_usd_years: [f64; MAX_DEBT_INSTRUMENTS],
}

impl PathOutcome {
    /// The loss of every instrument together (USD).
    pub fn total_loss_usd(&self) -> f64 {
        self.loss_usd.iter().sum()
    }
}

/// Receives every path's outcome in path order, window by window; returns false to stop.
pub type PathsOut<'a> = dyn FnMut(&[PathOutcome]) -> bool + Send + 'a;

/// How a run is watched and stopped; the default does neither.
#[derive(Default)]
pub struct RunControl<'a> {
    /// Set (e.g. on Ctrl-C) to stop after the window of chunks under way.
    pub cancel: Option<&'a AtomicBool>,
    /// Called with the number of paths each chunk completes, from the worker threads.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Called with every path's outcome in path order, window by window; returns false to
    /// stop the run.
    pub paths_out: Option<&'a mut PathsOut<'a>>,
    /// A book's run only: called with each chunk's per-path values in path order, window by
    /// window; returns false to stop the run.
    pub book_paths_out: Option<&'a mut BookPathsOut<'a>>,
}

/// Monthly series with percentile fans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FanSeries {
    /// The borrower's DSCR (CFADS over scheduled debt service), months with debt service.
    Dscr,
    /// Secured debt over collateral value, months with secured debt.
    Ltv,
    /// The borrower's cash (USD), months before its default.
    CashUsd,
    /// Hashprice (USD per PH/s per day).
    HashpriceUsdPerPhDay,
    /// BTC price (USD).
    BtcPriceUsd,
    /// GPU rent reference index (USD per GPU-hour).
    GpuRentUsdPerGpuHour,
    /// Network hashrate (EH/s).
    NetworkHashrateEhs,
}

impl FanSeries {
    /// Every series, in the order reported.
    pub const ALL: [FanSeries; 7] = [
        FanSeries::Dscr,
        FanSeries::Ltv,
        FanSeries::CashUsd,
        FanSeries::HashpriceUsdPerPhDay,
        FanSeries::BtcPriceUsd,
        FanSeries::GpuRentUsdPerGpuHour,
        FanSeries::NetworkHashrateEhs,
    ];
}

/// Market factors averaged for the attribution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    /// BTC price (USD).
    BtcPriceUsd,
    /// Hashprice (USD per PH/s per day).
    HashpriceUsdPerPhDay,
    /// Network hashrate (EH/s).
    NetworkHashrateEhs,
    /// Fees per block (BTC).
    FeesBtcPerBlock,
    /// GPU rent reference index (USD per GPU-hour).
    GpuRentUsdPerGpuHour,
    /// AI demand relative to the base case.
    AiDemand,
    /// Spot power price (USD/MWh).
    PowerPriceUsdPerMwh,
    /// SOFR (percent a year).
    SofrPercent,
    /// Share of paths in the stress regime.
    StressShare,
}

impl Factor {
    /// Every factor, in the order reported.
    pub const ALL: [Factor; 9] = [
        Factor::BtcPriceUsd,
        Factor::HashpriceUsdPerPhDay,
        Factor::NetworkHashrateEhs,
        Factor::FeesBtcPerBlock,
        Factor::GpuRentUsdPerGpuHour,
        Factor::AiDemand,
        Factor::PowerPriceUsdPerMwh,
        Factor::SofrPercent,
        Factor::StressShare,
    ];

    /// Adds the factor's value in each month of `market` to that month's sum in `sums`.
    fn add_to(self, market: &MarketPath, sums: &mut [f64]) {
        fn add(sums: &mut [f64], values: impl Iterator<Item = f64>) {
            for (sum, value) in sums.iter_mut().zip(values) {
                *sum += value;
            }
        }
        match self {
            Factor::BtcPriceUsd => add(sums, market.btc_price_usd.iter().copied()),
            Factor::HashpriceUsdPerPhDay => add(
                sums,
                (0..market.months()).map(|t| market.hashprice_usd_per_ph_day(t)),
            ),
            Factor::NetworkHashrateEhs => {
                add(sums, market.network_hashrate_hs.iter().map(|&hs| hs / 1e18))
            }
            Factor::FeesBtcPerBlock => add(sums, market.fees_btc_per_block.iter().copied()),
            Factor::GpuRentUsdPerGpuHour => {
                add(sums, market.gpu_rent_index_usd_per_gpu_hour.iter().copied())
            }
            Factor::AiDemand => add(sums, market.ai_demand.iter().copied()),
            Factor::PowerPriceUsdPerMwh => {
                add(sums, market.power_price_usd_per_mwh.iter().copied())
            }
            Factor::SofrPercent => add(sums, market.sofr.iter().map(|&sofr| sofr * 100.0)),
            Factor::StressShare => add(
                sums,
                market
                    .stress
                    .iter()
                    .map(|&stress| f64::from(u8::from(stress))),
            ),
        }
    }
}

/// Count, mean and sum of squared deviations, accumulated value by value (Welford) and merged
/// (Chan et al.) in a fixed order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Moments {
    n: u64,
    mean: f64,
    m2: f64,
}

impl Moments {
    pub(crate) fn add(&mut self, x: f64) {
        self.n += 1;
        let delta = x - self.mean;
        self.mean += delta / self.n as f64;
        self.m2 += delta * (x - self.mean);
    }

    /// `count` zeros.
    pub(crate) fn zeros(count: u64) -> Moments {
        Moments {
            n: count,
            mean: 0.0,
            m2: 0.0,
        }
    }

    pub(crate) fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (a, b) = (self.n as f64, other.n as f64);
        let n = a + b;
        let delta = other.mean - self.mean;
        self.mean += delta * b / n;
        self.m2 += other.m2 + delta * delta * a * b / n;
        self.n += other.n;
    }

    pub(crate) fn estimate(&self) -> Option<Estimate> {
        (self.n > 0).then(|| {
            let variance = if self.n > 1 {
                self.m2 / (self.n - 1) as f64
            } else {
                0.0
            };
            Estimate {
                value: self.mean,
                standard_error: (variance / self.n as f64).sqrt(),
            }
        })
    }
}

/// Joint moments of two variables (for a ratio of means and its standard error).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
struct CoMoments {
    n: u64,
    mean_x: f64,
    mean_y: f64,
    m2_x: f64,
    m2_y: f64,
    c_xy: f64,
}

impl CoMoments {
    fn add(&mut self, x: f64, y: f64) {
        self.n += 1;
        let n = self.n as f64;
        let dx = x - self.mean_x;
        let dy = y - self.mean_y;
        self.mean_x += dx / n;
        self.mean_y += dy / n;
        self.m2_x += dx * (x - self.mean_x);
        self.m2_y += dy * (y - self.mean_y);
        self.c_xy += dx * (y - self.mean_y);
    }

    fn merge(&mut self, other: &CoMoments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        let (a, b) = (self.n as f64, other.n as f64);
        let n = a + b;
        let dx = other.mean_x - self.mean_x;
        let dy = other.mean_y - self.mean_y;
        self.mean_x += dx * b / n;
        self.mean_y += dy * b / n;
        self.m2_x += other.m2_x + dx * dx * a * b / n;
        self.m2_y += other.m2_y + dy * dy * a * b / n;
        self.c_xy += other.c_xy + dx * dy * a * b / n;
        self.n += other.n;
    }

    /// mean(x) / mean(y) with its delta-method standard error; none when mean(y) is not
    /// positive.
    fn ratio(&self) -> Option<Estimate> {
        (self.n > 0 && self.mean_y > 0.0).then(|| {
            let r = self.mean_x / self.mean_y;
            let variance = if self.n > 1 {
                ((self.m2_x - 2.0 * r * self.c_xy + r * r * self.m2_y) / (self.n - 1) as f64)
                    .max(0.0)
            } else {
                0.0
            };
            Estimate {
                value: r,
                standard_error: (variance / self.n as f64).sqrt() / self.mean_y,
            }
        })
    }
}

/// One instrument's moments over a chunk's paths.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct InstrumentChunk {
    /// LGD over defaulting paths with exposure.
    lgd: Moments,
    /// EAD over defaulting paths (USD).
    ead: Moments,
    /// Loss over all paths (USD).
    loss: Moments,
    /// Discounted loss (x) and discounted exposure (y) over all paths.
    spread: CoMoments,
}

/// The floating-point summary of one chunk of paths, accumulated in path order (or of a block
/// of chunks, merged in a [`ChunkFold`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ChunkSummary {
    /// Total loss over all paths (USD).
    total_loss: Moments,
    /// Per instrument.
    instruments: Vec<InstrumentChunk>,
    /// Factor sums over all paths, `[factor · months + month]`.
    factor_sums_all: Vec<f64>,
    /// Factor sums over the paths on which the borrower defaults.
    factor_sums_defaulted: Vec<f64>,
}

impl ChunkSummary {
    fn new(debts: usize, months: usize) -> ChunkSummary {
        ChunkSummary {
            total_loss: Moments::default(),
            instruments: vec![InstrumentChunk::default(); debts],
            factor_sums_all: vec![0.0; Factor::ALL.len() * months],
            factor_sums_defaulted: vec![0.0; Factor::ALL.len() * months],
        }
    }
}

impl Mergeable for ChunkSummary {
    fn merge(&mut self, other: &ChunkSummary) {
        self.total_loss.merge(&other.total_loss);
        for (ours, theirs) in self.instruments.iter_mut().zip(&other.instruments) {
            ours.lgd.merge(&theirs.lgd);
            ours.ead.merge(&theirs.ead);
            ours.loss.merge(&theirs.loss);
            ours.spread.merge(&theirs.spread);
        }
        for (ours, theirs) in self.factor_sums_all.iter_mut().zip(&other.factor_sums_all) {
            *ours += theirs;
        }
        for (ours, theirs) in self
            .factor_sums_defaulted
            .iter_mut()
            .zip(&other.factor_sums_defaulted)
        {
            *ours += theirs;
        }
    }
}

/// Integer counts: their sum does not depend on the order of addition.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Tally {
    /// Borrower defaults by month index.
    defaults_by_month: Vec<u64>,
    /// Borrower defaults by cause, in the order of [`CAUSES`].
    defaults_by_cause: Vec<u64>,
    /// Defaults per instrument.
    instrument_defaults: Vec<u64>,
    /// Paths on which instrument `d` broke covenant `c` in year `y`:
    /// `[(d · covenants + c) · years + y]`.
    covenant_breach_paths: Vec<u64>,
    /// Paths on which instrument `d` broke covenant `c` at any time: `[d · covenants + c]`.
    covenant_breach_paths_any: Vec<u64>,
}

impl Tally {
    fn new(debts: usize, months: usize) -> Tally {
        let years = months.div_ceil(12);
        Tally {
            defaults_by_month: vec![0; months],
            defaults_by_cause: vec![0; CAUSES.len()],
            instrument_defaults: vec![0; debts],
            covenant_breach_paths: vec![0; debts * Covenant::ALL.len() * years],
            covenant_breach_paths_any: vec![0; debts * Covenant::ALL.len()],
        }
    }

    fn merge(&mut self, other: &Tally) {
        let add = |ours: &mut Vec<u64>, theirs: &Vec<u64>| {
            for (a, b) in ours.iter_mut().zip(theirs) {
                *a += b;
            }
        };
        add(&mut self.defaults_by_month, &other.defaults_by_month);
        add(&mut self.defaults_by_cause, &other.defaults_by_cause);
        add(&mut self.instrument_defaults, &other.instrument_defaults);
        add(
            &mut self.covenant_breach_paths,
            &other.covenant_breach_paths,
        );
        add(
            &mut self.covenant_breach_paths_any,
            &other.covenant_breach_paths_any,
        );
    }
}

/// Monthly sketches of every fan series: `[series · months + month]`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Fans {
    months: usize,
    sketches: Vec<QuantileSketch>,
}

impl Fans {
    fn new(months: usize) -> Fans {
        Fans {
            months,
            sketches: vec![QuantileSketch::new(); FanSeries::ALL.len() * months],
        }
    }

    fn merge(&mut self, other: &Fans) {
        for (ours, theirs) in self.sketches.iter_mut().zip(&other.sketches) {
            ours.merge(theirs);
        }
    }
}

/// Paths a worker generates at once ([`MarketGenerator::generate_together`]).
const PATHS_TOGETHER: usize = 4;

/// Values a sketch of [`BatchedFans`] holds back before adding them together.
const FAN_BATCH: usize = 256;

/// A worker's fans, each sketch's values held back until [`FAN_BATCH`] of them have come and
/// then added together, so that the sketch's buckets are in cache for the whole run of values
/// (a path touches every sketch once; their buckets together do not fit in cache). A sketch
/// counts its values whatever their order, so the fans are the same as adding each at once.
struct BatchedFans {
    fans: Fans,
    /// `[sketch · FAN_BATCH + slot]`.
    pending: Vec<f64>,
    pending_len: Vec<usize>,
}

impl BatchedFans {
    fn new(months: usize) -> BatchedFans {
        let sketches = FanSeries::ALL.len() * months;
        BatchedFans {
            fans: Fans::new(months),
            pending: vec![0.0; sketches * FAN_BATCH],
            pending_len: vec![0; sketches],
        }
    }

    fn add(&mut self, series: FanSeries, t: usize, value: f64) {
        let sketch = series as usize * self.fans.months + t;
        let held = self.pending_len[sketch];
        self.pending[sketch * FAN_BATCH + held] = value;
        if held + 1 == FAN_BATCH {
            self.flush(sketch, FAN_BATCH);
        } else {
            self.pending_len[sketch] = held + 1;
        }
    }

    /// Adds the `held` values sketch `sketch` holds back.
    fn flush(&mut self, sketch: usize, held: usize) {
        let start = sketch * FAN_BATCH;
        for &value in &self.pending[start..start + held] {
            self.fans.sketches[sketch].add(value);
        }
        self.pending_len[sketch] = 0;
    }

    /// The fans with every value held back added.
    fn into_fans(mut self) -> Fans {
        for sketch in 0..self.pending_len.len() {
            self.flush(sketch, self.pending_len[sketch]);
        }
        self.fans
    }
}

/// One chunk's results before they join the shard.
struct ChunkResult {
    /// Chunk index in the run.
    index: u64,
    summary: ChunkSummary,
    tally: Tally,
    path_loss_usd: Vec<f64>,
    path_default_month: Vec<Option<u16>>,
    instrument_lgds: Vec<Vec<f64>>,
    outcomes: Vec<PathOutcome>,
}

/// The result of one shard of a run (the whole run is shard 1/1): everything needed to merge
/// it with the other shards into exactly the unsharded result. Serialisable, so shards can
/// run on other machines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardResult {
    /// What it was computed from and by.
    pub fingerprint: Fingerprint,
    /// Which shard.
    pub shard: Shard,
    /// Paths run (fewer than the shard's share when the run was stopped).
    pub paths_run: u64,
    /// Whether the shard ran all its paths.
    pub complete: bool,
    /// Horizon (months).
    months: usize,
    /// Instruments' names.
    instrument_names: Vec<String>,
    /// Chunk summaries, in their fixed tree.
    chunks: ChunkFold<ChunkSummary>,
    tally: Tally,
    losses: LossTally,
    /// Each path's scalars in path order, when the run keeps them.
    path_scalars: Option<PathScalars>,
    fans: Fans,
}

/// The total loss and the instruments' LGDs of a run's paths, in a size that does not grow
/// with the paths but for the exact tail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct LossTally {
    /// Every path's total loss, to within 1 % (the loss histogram).
    sketch: QuantileSketch,
    /// The largest total loss (USD).
    highest_usd: f64,
    /// Paths that lose nothing.
    zero_loss_paths: u64,
    /// The worst paths by total loss, exactly (VaR and ES).
    worst: WorstPaths<()>,
    /// Per instrument, the LGD on each path on which it defaulted with exposure, to within
    /// 1 % (the LGD quantiles).
    lgd_sketches: Vec<QuantileSketch>,
    /// Per instrument, the lowest and highest of those LGDs, exactly (a quantile read from
    /// the sketch is kept within them: an LGD of exactly 1 reads as 1, not its bucket's 1.0099).
    lgd_ranges: Vec<Option<(f64, f64)>>,
}

impl LossTally {
    fn new(debts: usize, planned_paths: u64) -> LossTally {
        LossTally {
            sketch: QuantileSketch::new(),
            highest_usd: 0.0,
            zero_loss_paths: 0,
            worst: WorstPaths::new(worst_paths_for_loss_tail(planned_paths as usize)),
            lgd_sketches: vec![QuantileSketch::new(); debts],
            lgd_ranges: vec![None; debts],
        }
    }

    /// Counts a chunk's paths, from path `first_path`.
    fn add_chunk(&mut self, first_path: u64, chunk: &ChunkResult) {
        for (path, &loss) in (first_path..).zip(&chunk.path_loss_usd) {
            self.sketch.add(loss);
            self.highest_usd = self.highest_usd.max(loss);
            self.zero_loss_paths += u64::from(loss <= 0.0);
            self.worst.offer(loss, path, || ());
        }
        for ((sketch, range), lgds) in self
            .lgd_sketches
            .iter_mut()
            .zip(&mut self.lgd_ranges)
            .zip(&chunk.instrument_lgds)
        {
            for &lgd in lgds {
                sketch.add(lgd);
                *range = Some(widened(*range, (lgd, lgd)));
            }
        }
    }

    fn merge(&mut self, next: LossTally) {
        self.sketch.merge(&next.sketch);
        self.highest_usd = self.highest_usd.max(next.highest_usd);
        self.zero_loss_paths += next.zero_loss_paths;
        self.worst.merge(next.worst);
        for (sketch, added) in self.lgd_sketches.iter_mut().zip(&next.lgd_sketches) {
            sketch.merge(added);
        }
        for (range, added) in self.lgd_ranges.iter_mut().zip(next.lgd_ranges) {
            if let Some(added) = added {
                *range = Some(widened(*range, added));
            }
        }
    }
}

/// `range` (none: empty) widened to cover `added`.
fn widened(range: Option<(f64, f64)>, added: (f64, f64)) -> (f64, f64) {
    range.map_or(added, |(low, high)| (low.min(added.0), high.max(added.1)))
}

/// Every path's total loss and default month, in path order: kept only when asked for
/// ([`Simulation::keeping_path_scalars`]), as sensitivity's pairing needs them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PathScalars {
    /// Each path's total loss (USD).
    pub loss_usd: Vec<f64>,
    /// Each path's default month (index).
    pub default_month: Vec<Option<u16>>,
}

/// A scenario ready to simulate: the borrower compiled and the generator built once.
pub struct Simulation {
    borrower: Borrower,
    /// The scenario's name: the key of the borrower's own draws is the run's key and it.
    name: String,
    generator: MarketGenerator,
    fingerprint: Fingerprint,
    risk_free_per_year: f64,
    /// Discount factor of each month at the risk-free rate, monthly compounding (month 0: 1),
    /// filled once for every path's discounted exposure.
    discount_factors: Vec<f64>,
    first_month: bitwatt_model::YearMonth,
    /// Whether runs keep every path's scalars.
    keep_path_scalars: bool,
}

impl Simulation {
    /// `scenario` under `stresses`, `paths` paths from `seed`.
    pub fn new(
        scenario: &Scenario,
        stresses: &[Stress],
        paths: u64,
        seed: u64,
    ) -> Result<Simulation, SimulationError> {
        Simulation::sized_on(scenario, scenario, stresses, paths, seed)
    }

    /// As [`Simulation::new`], with the debt sized (and opening values fixed) on the base
    /// case of `sizing`: a market view changed after close leaves the contracted debt as it
    /// was.
    pub fn sized_on(
        scenario: &Scenario,
        sizing: &Scenario,
        stresses: &[Stress],
        paths: u64,
        seed: u64,
    ) -> Result<Simulation, SimulationError> {
        if paths == 0 {
            return Err(SimulationError::NoPaths);
        }
        let base = base_market_path(sizing);
        let risk_free_per_year = scenario.market.sofr_percent / 100.0;
        let monthly = 1.0 + risk_free_per_year / 12.0;
        let discount_factors = std::iter::successors(Some(1.0), |factor| Some(factor / monthly))
            .take(scenario.horizon_months as usize)
            .collect();
        Ok(Simulation {
            borrower: Borrower::with_base_path(scenario, &base)?,
            name: scenario.name.clone(),
            generator: MarketGenerator::new(scenario, stresses)?,
            fingerprint: Fingerprint::of_run(scenario, stresses, paths, seed),
            risk_free_per_year,
            discount_factors,
            first_month: scenario.first_month(),
            keep_path_scalars: false,
        })
    }

    /// The same simulation, its runs keeping every path's total loss and default month
    /// ([`SimulationResult::path_scalars`]; memory then grows with the paths).
    pub fn keeping_path_scalars(mut self) -> Simulation {
        self.keep_path_scalars = true;
        self
    }

    /// The compiled borrower.
    pub fn borrower(&self) -> &Borrower {
        &self.borrower
    }

    /// Runs shard `shard` on the current rayon thread pool.
    pub fn run(
        &self,
        shard: Shard,
        control: &mut RunControl<'_>,
    ) -> Result<ShardResult, SimulationError> {
        shard.check()?;
        let paths = self.fingerprint.paths;
        let months = self.borrower.horizon_months;
        let debts = self.borrower.debts.len();
        let key = RandomKey::from_seed(self.fingerprint.seed);
        // The borrower's own risks (outages, conversion delays), if it has any.
        let borrower_key = self
            .borrower
            .idiosyncratic
            .is_active()
            .then(|| key.borrower(&self.name));
        let threads = rayon::current_num_threads().max(1);
        let thread_fans: Vec<Mutex<BatchedFans>> = (0..threads)
            .map(|_| Mutex::new(BatchedFans::new(months)))
            .collect();
        let mut result = ShardResult {
            fingerprint: self.fingerprint.clone(),
            shard,
            paths_run: 0,
            complete: true,
            months,
            instrument_names: self.borrower.debts.iter().map(|d| d.name.clone()).collect(),
            chunks: ChunkFold::default(),
            tally: Tally::new(debts, months),
            losses: LossTally::new(debts, paths),
            path_scalars: self.keep_path_scalars.then(PathScalars::default),
            fans: Fans::new(months),
        };
        let chunks = shard.chunks(paths);
        let keep_outcomes = control.paths_out.is_some();
        let mut window_start = chunks.start;
        while window_start < chunks.end {
            if control.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                result.complete = false;
                break;
            }
            let window_end =
                (window_start + WINDOW_CHUNKS_PER_THREAD * threads as u64).min(chunks.end);
            let window: Vec<ChunkResult> = (window_start..window_end)
                .into_par_iter()
                .map_init(
                    || {
                        (
                            std::array::from_fn(|_| MarketPath::with_start(self.first_month)),
                            PathBuffers::new(&self.borrower),
                            std::array::from_fn(|_| GeneratorScratch::default()),
                        )
                    },
                    |(markets, buffers, scratches), chunk| {
                        let slot = rayon::current_thread_index().unwrap_or(0) % threads;
                        let mut fans = thread_fans[slot].lock().expect("fans lock");
                        let result = self.run_chunk(
                            (&key, borrower_key.as_ref()),
                            chunk,
                            (markets, buffers, scratches),
                            &mut fans,
                            keep_outcomes,
                        );
                        if let Some(progress) = control.progress {
                            progress(result.path_loss_usd.len() as u64);
                        }
                        result
                    },
                )
                .collect();
            for chunk in window {
                // Once the paths file fails, the run stops at the chunk it failed on.
                if !result.complete {
                    break;
                }
                result.losses.add_chunk(chunk.index * CHUNK_PATHS, &chunk);
                result.paths_run += chunk.path_loss_usd.len() as u64;
                result.tally.merge(&chunk.tally);
                if let Some(scalars) = &mut result.path_scalars {
                    scalars.loss_usd.extend_from_slice(&chunk.path_loss_usd);
                    scalars
                        .default_month
                        .extend_from_slice(&chunk.path_default_month);
                }
                result.chunks.push(chunk.index, chunk.summary);
                if let Some(paths_out) = control.paths_out.as_mut()
                    && !paths_out(&chunk.outcomes)
                {
                    result.complete = false;
                }
            }
            if !result.complete {
                break;
            }
            window_start = window_end;
        }
        for fans in thread_fans {
            result
                .fans
                .merge(&fans.into_inner().expect("fans lock").into_fans());
        }
        Ok(result)
    }

    /// Runs chunk `chunk` on the run's key and the borrower's (where it has risks of its
    /// own), adding its monthly values to `fans`.
    fn run_chunk(
        &self,
        (key, borrower_key): (&RandomKey, Option<&RandomKey>),
        chunk: u64,
        (markets, buffers, scratches): (
            &mut [MarketPath; PATHS_TOGETHER],
            &mut PathBuffers,
            &mut [GeneratorScratch; PATHS_TOGETHER],
        ),
        fans: &mut BatchedFans,
        keep_outcomes: bool,
    ) -> ChunkResult {
        let months = self.borrower.horizon_months;
        let debts = self.borrower.debts.len();
        let paths = self.fingerprint.paths;
        let first = chunk * CHUNK_PATHS;
        let last = (first + CHUNK_PATHS).min(paths);
        let mut result = ChunkResult {
            index: chunk,
            summary: ChunkSummary::new(debts, months),
            tally: Tally::new(debts, months),
            path_loss_usd: Vec::with_capacity((last - first) as usize),
            path_default_month: Vec::with_capacity((last - first) as usize),
            instrument_lgds: vec![Vec::new(); debts],
            outcomes: Vec::new(),
        };
        // Paths are generated PATHS_TOGETHER at a time (their networks interleaved), then
        // run and counted one by one in order.
        let mut batch_first = first;
        while batch_first < last {
            let batch = (last - batch_first).min(PATHS_TOGETHER as u64) as usize;
            if batch == PATHS_TOGETHER {
                self.generator.generate_together(
                    [key; PATHS_TOGETHER],
                    std::array::from_fn(|k| batch_first + k as u64),
                    markets.each_mut(),
                    scratches.each_mut(),
                );
            } else {
                for k in 0..batch {
                    self.generator.generate_with(
                        key,
                        batch_first + k as u64,
                        &mut markets[k],
                        &mut scratches[k],
                    );
                }
            }
            for (k, market) in markets[..batch].iter().enumerate() {
                let path = batch_first + k as u64;
                self.run_and_count(
                    path,
                    market,
                    borrower_key,
                    buffers,
                    (&mut result, fans),
                    keep_outcomes,
                );
            }
            batch_first += batch as u64;
        }
        result
    }

    /// Runs path `path` on its market and counts it into the chunk's result and the fans.
    fn run_and_count(
        &self,
        path: u64,
        market: &MarketPath,
        borrower_key: Option<&RandomKey>,
        buffers: &mut PathBuffers,
        (result, fans): (&mut ChunkResult, &mut BatchedFans),
        keep_outcomes: bool,
    ) {
        let borrower = &self.borrower;
        let months = borrower.horizon_months;
        let debts = borrower.debts.len();
        let years = months.div_ceil(12);
        if let Some(borrower_key) = borrower_key {
            buffers.idiosyncratic.draw(borrower, borrower_key, path);
        }
        let (outcome, months_run) = self.run_one(path, market, buffers);
        let summary = &mut result.summary;
        let tally = &mut result.tally;
        // Borrower default.
        let total_loss = outcome.total_loss_usd();
        debug_assert!(total_loss.is_finite(), "path {path}: loss {total_loss}");
        summary.total_loss.add(total_loss);
        result.path_loss_usd.push(total_loss);
        result
            .path_default_month
            .push(outcome.default.map(|(t, _)| t as u16));
        if let Some((t, cause)) = outcome.default {
            tally.defaults_by_month[t] += 1;
            let c = CAUSES.iter().position(|&k| k == cause).expect("a cause");
            tally.defaults_by_cause[c] += 1;
        }
        // Instruments.
        for d in 0..debts {
            let instrument = &mut summary.instruments[d];
            instrument.loss.add(outcome.loss_usd[d]);
            instrument.spread.add(
                outcome.discounted_loss_usd[d],
                outcome.discounted_exposure_usd_years[d],
            );
            if outcome.debt_default_month[d].is_some() {
                tally.instrument_defaults[d] += 1;
                instrument.ead.add(outcome.exposure_usd[d]);
                if outcome.exposure_usd[d] > 0.0 {
                    let lgd = outcome.loss_usd[d] / outcome.exposure_usd[d];
                    instrument.lgd.add(lgd);
                    result.instrument_lgds[d].push(lgd);
                }
            }
        }
        // Covenant breaches by year.
        for (d, plan) in borrower.debts.iter().enumerate() {
            for (c, covenant) in Covenant::ALL.iter().enumerate() {
                if !covenant.applies_to(plan) {
                    continue;
                }
                let base = (d * Covenant::ALL.len() + c) * years;
                let mut last_year = None;
                for t in 0..months_run {
                    if buffers.debt_rows[t * debts + d]
                        .covenant_breaches
                        .contains(*covenant)
                        && last_year != Some(t / 12)
                    {
                        if last_year.is_none() {
                            tally.covenant_breach_paths_any[d * Covenant::ALL.len() + c] += 1;
                        }
                        last_year = Some(t / 12);
                        tally.covenant_breach_paths[base + t / 12] += 1;
                    }
                }
            }
        }
        // Fans and attribution.
        for t in 0..months {
            if t < months_run {
                let row = &buffers.rows[t];
                if let Some(dscr) = row.dscr {
                    fans.add(FanSeries::Dscr, t, dscr);
                }
                if let Some(ltv) = row.ltv {
                    fans.add(FanSeries::Ltv, t, ltv);
                }
                fans.add(FanSeries::CashUsd, t, row.cash_usd);
            }
            fans.add(
                FanSeries::HashpriceUsdPerPhDay,
                t,
                market.hashprice_usd_per_ph_day(t),
            );
            fans.add(FanSeries::BtcPriceUsd, t, market.btc_price_usd[t]);
            fans.add(
                FanSeries::GpuRentUsdPerGpuHour,
                t,
                market.gpu_rent_index_usd_per_gpu_hour[t],
            );
            fans.add(
                FanSeries::NetworkHashrateEhs,
                t,
                market.network_hashrate_hs[t] / 1e18,
            );
        }
        for (f, factor) in Factor::ALL.iter().enumerate() {
            factor.add_to(
                market,
                &mut summary.factor_sums_all[f * months..(f + 1) * months],
            );
            if outcome.default.is_some() {
                factor.add_to(
                    market,
                    &mut summary.factor_sums_defaulted[f * months..(f + 1) * months],
                );
            }
        }
        if keep_outcomes {
            result.outcomes.push(outcome);
        }
    }

    /// One path's outcome and the months it ran.
    fn run_one(
        &self,
        path: u64,
        market: &MarketPath,
        buffers: &mut PathBuffers,
    ) -> (PathOutcome, usize) {
        let borrower = &self.borrower;
        let summary = run_path(borrower, market, buffers);
        let mut outcome = PathOutcome {
            path,
            default: summary
                .default
                .map(|event| (event.month_index, event.cause)),
            debt_default_month: [None; MAX_DEBT_INSTRUMENTS],
            exposure_usd: [0.0; MAX_DEBT_INSTRUMENTS],
            loss_usd: [0.0; MAX_DEBT_INSTRUMENTS],
            discounted_loss_usd: [0.0; MAX_DEBT_INSTRUMENTS],
            discounted_exposure_usd_years: [0.0; MAX_DEBT_INSTRUMENTS],
        };
        let debts = borrower.debts.len();
        let monthly = 1.0 + self.risk_free_per_year / 12.0;
        for (d, debt) in summary.debt_outcomes().iter().enumerate() {
            // Exposure until the default month, included.
            let end = debt
                .default
                .map_or(summary.months_run, |e| e.month_index + 1);
            let mut exposure = 0.0;
            for (t, &factor) in self.discount_factors[..end].iter().enumerate() {
                exposure += buffers.debt_rows[t * debts + d].opening_balance_usd * factor / 12.0;
            }
            outcome.discounted_exposure_usd_years[d] = exposure;
        }
        if !any_debt_defaulted(&summary) {
            return (outcome, summary.months_run);
        }
        let prices = LiquidationPrices::for_estate(
            &summary.estate,
            &borrower.liquidation_markets,
            &market.liquidation_depth_factor,
        );
        let recoveries = recover(&summary, &prices);
        for (d, month, claim) in defaulted_claims(&summary, &recoveries) {
            outcome.debt_default_month[d] = Some(month);
            outcome.exposure_usd[d] = claim.ead_usd;
            outcome.loss_usd[d] = claim.loss_usd;
            outcome.discounted_loss_usd[d] = claim.loss_usd * monthly.powi(-(month as i32));
        }
        (outcome, summary.months_run)
    }
}

/// Whether any instrument of the path defaulted (and its estate goes to recovery).
pub(crate) fn any_debt_defaulted(summary: &PathSummary) -> bool {
    summary.debt_outcomes().iter().any(|d| d.default.is_some())
}

/// Each defaulted instrument of a path, in the scenario's order: its index, its default's
/// month index and its recovery.
pub(crate) fn defaulted_claims<'a>(
    summary: &'a PathSummary,
    recoveries: &'a Recoveries,
) -> impl Iterator<Item = (usize, usize, &'a ClaimRecovery)> + 'a {
    summary
        .debt_outcomes()
        .iter()
        .zip(recoveries.claims())
        .enumerate()
        .filter_map(|(d, (debt, claim))| debt.default.map(|event| (d, event.month_index, claim)))
}

/// An estimate and its Monte Carlo standard error.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Its standard error.
    pub standard_error: f64,
}

impl Estimate {
    /// The share of `n` paths with a property `count` had.
    pub(crate) fn proportion(count: u64, n: u64) -> Estimate {
        let p = count as f64 / n as f64;
        Estimate {
            value: p,
            standard_error: (p * (1.0 - p) / n as f64).sqrt(),
        }
    }
}

/// Confidence levels of the loss tail, per mille (95, 99 and 99.9 %).
pub(crate) const LOSS_TAIL_LEVELS_PER_MILLE: [u128; 3] = [950, 990, 999];

/// Quantiles reported for distributions (LGD, time to default) and fans.
pub const QUANTILE_LEVELS: [f64; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// Credit metrics of one instrument.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InstrumentMetrics {
    /// Instrument name.
    pub name: String,
    /// Probability it defaults within the horizon.
    pub pd: Estimate,
    /// That PD's rating grade over the horizon.
    pub rating: RatingGrade,
    /// Loss given default: mean over defaulting paths of loss over exposure.
    pub lgd: Option<Estimate>,
    /// LGD at the 5, 25, 50, 75 and 95 % quantiles of defaulting paths (lower rank, read
    /// from a sketch within 1 % of the exact order statistic, and within the lowest and
    /// highest LGD).
    pub lgd_quantiles: Option<[f64; 5]>,
    /// Mean exposure at default over defaulting paths (USD).
    pub exposure_at_default_usd: Option<Estimate>,
    /// Expected loss over all paths (USD).
    pub expected_loss_usd: Estimate,
    /// The break-even spread and the market's.
    pub spread: SpreadMetrics,
    /// Probability that each covenant breaks, by year (before any cure).
    pub covenant_breaches: Vec<CovenantBreachMetrics>,
}

/// How likely one covenant of an instrument is to break.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CovenantBreachMetrics {
    /// The covenant.
    pub covenant: Covenant,
    /// Probability it breaks at least once within the horizon.
    pub probability: Estimate,
    /// Probability it breaks at least once in each year of the horizon.
    pub probability_by_year: Vec<Estimate>,
}

/// The spread an instrument needs to cover its expected loss, against the market's.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct SpreadMetrics {
    /// Break-even spread: discounted expected loss over discounted expected exposure (basis
    /// points a year); none without exposure.
    pub break_even_spread_bps: Option<Estimate>,
    /// The market's spread for the debt (basis points), if the scenario gives it.
    pub market_spread_bps: Option<f64>,
    /// The upfront fee spread over the expected discounted life of the exposure (basis points
    /// a year).
    pub upfront_fee_bps_per_year: Option<f64>,
    /// Market spread plus the amortised fee, less the break-even spread: what the market pays
    /// beyond expected loss, or (negative) the shortfall (basis points a year).
    pub excess_spread_bps: Option<f64>,
}

/// The probability of the borrower's default by one cause.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CausePd {
    /// The cause.
    pub cause: DefaultCause,
    /// Probability of a default by it within the horizon.
    pub pd: Estimate,
}

/// A tail measure of the loss distribution at one confidence level.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct LossTail {
    /// Confidence level (e.g. 0.99).
    pub level: f64,
    /// Value at risk: the level's quantile of the loss, inf{x : F(x) ≥ level} — the
    /// ⌈level · n⌉-th smallest of n paths' losses (USD).
    pub var_usd: f64,
    /// Expected shortfall: the mean of the worst ⌈(1 − level) · n⌉ losses (USD).
    pub es_usd: f64,
}

/// When defaulting paths default.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TimeToDefault {
    /// Month index of default at the 5, 25, 50, 75 and 95 % quantiles of defaulting paths.
    pub month_quantiles: [usize; 5],
    /// Mean months from the start to the end of the month of default, over defaulting
    /// paths.
    pub mean_months: Estimate,
    /// Probability of default in each year of the horizon (not cumulative).
    pub pd_by_year: Vec<Estimate>,
}

/// One monthly percentile fan.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fan {
    /// The series.
    pub series: FanSeries,
    /// Per month: the 5, 25, 50, 75 and 95 % quantiles (none in months without values).
    pub quantiles_by_month: Vec<Option<[f64; 5]>>,
    /// Per month: the number of paths with a value.
    pub paths_by_month: Vec<u64>,
}

/// A factor's mean path on defaulting paths against all paths.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FactorAttribution {
    /// The factor.
    pub factor: Factor,
    /// Mean by month over all paths.
    pub mean_all_by_month: Vec<f64>,
    /// Mean by month over the paths on which the borrower defaults (none without default).
    pub mean_defaulted_by_month: Option<Vec<f64>>,
}

/// The credit metrics of a simulation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CreditMetrics {
    /// Paths run.
    pub paths: u64,
    /// Probability the borrower has defaulted by the end of each year of the horizon.
    pub cumulative_pd_by_year: Vec<Estimate>,
    /// The borrower's PD to the horizon mapped to a rating grade.
    pub rating: RatingGrade,
    /// Probability of the borrower's default within the horizon, by cause.
    pub pd_by_cause: Vec<CausePd>,
    /// When defaulting paths default; none without default.
    pub time_to_default: Option<TimeToDefault>,
    /// Each instrument's metrics.
    pub instruments: Vec<InstrumentMetrics>,
    /// Expected loss of all instruments together (USD).
    pub expected_loss_usd: Estimate,
    /// VaR and ES of the total loss at 95, 99 and 99.9 %.
    pub loss_tail: Vec<LossTail>,
    /// Monthly fans.
    pub fans: Vec<Fan>,
    /// The factors on defaulting paths against all paths.
    pub attribution: Vec<FactorAttribution>,
}

/// Every default cause, in the order reported.
const CAUSES: [DefaultCause; 6] = [
    DefaultCause::Payment,
    DefaultCause::DscrCovenant,
    DefaultCause::LtvCovenant,
    DefaultCause::Maturity,
    DefaultCause::MarginCall,
    DefaultCause::CrossDefault,
];

/// A run's shards merged: the chunk summaries merged in their fixed tree, the counts, the
/// loss tally and the fans (and every path's scalars when the run kept them).
#[derive(Clone, Debug, PartialEq)]
pub struct SimulationResult {
    /// What it was computed from and by.
    pub fingerprint: Fingerprint,
    /// Whether every path ran.
    pub complete: bool,
    paths: u64,
    months: usize,
    instrument_names: Vec<String>,
    summary: Option<ChunkSummary>,
    tally: Tally,
    losses: LossTally,
    path_scalars: Option<PathScalars>,
    fans: Fans,
}

impl SimulationResult {
    /// Merges the shards of one run (in any order) into exactly the unsharded result; a
    /// single shard stopped early gives the result of the paths it ran.
    pub fn merge(mut shards: Vec<ShardResult>) -> Result<SimulationResult, SimulationError> {
        shards.sort_by_key(|s| s.shard.index);
        check_shards(
            shards
                .iter()
                .map(|s| (&s.fingerprint, s.shard, s.complete, s.paths_run)),
        )?;
        let mut shards = shards.into_iter();
        let first = shards.next().expect("one shard");
        let mut result = SimulationResult {
            fingerprint: first.fingerprint,
            complete: first.complete,
            months: first.months,
            paths: first.paths_run,
            instrument_names: first.instrument_names,
            summary: None,
            tally: first.tally,
            losses: first.losses,
            path_scalars: first.path_scalars,
            fans: first.fans,
        };
        let mut chunks = first.chunks;
        for shard in shards {
            result.complete &= shard.complete;
            result.paths += shard.paths_run;
            result.tally.merge(&shard.tally);
            result.losses.merge(shard.losses);
            // Every path's scalars only when every shard kept them.
            result.path_scalars = match (result.path_scalars, shard.path_scalars) {
                (Some(mut scalars), Some(next)) => {
                    scalars.loss_usd.extend(next.loss_usd);
                    scalars.default_month.extend(next.default_month);
                    Some(scalars)
                }
                _ => None,
            };
            result.fans.merge(&shard.fans);
            chunks.append(shard.chunks);
        }
        // The chunks' summaries merged in their fixed tree: the same bits however the run
        // was split into shards.
        result.summary = chunks.total();
        if result.summary.is_none() {
            return Err(SimulationError::Incomplete(
                "no path was run (the run was stopped before its first chunks completed)"
                    .to_string(),
            ));
        }
        Ok(result)
    }

    /// Paths run.
    pub fn paths(&self) -> u64 {
        self.paths
    }

    /// Every path's total loss and default month in path order, when the run kept them
    /// ([`Simulation::keeping_path_scalars`]).
    pub fn path_scalars(&self) -> Option<&PathScalars> {
        self.path_scalars.as_ref()
    }

    /// Counts of paths by total loss in `bins` equal bins from 0 to the largest loss, each
    /// path placed by its loss to within 1 %.
    pub fn loss_histogram(&self, bins: usize) -> LossHistogram {
        loss_histogram(
            &self.losses.sketch,
            self.losses.highest_usd,
            self.losses.zero_loss_paths,
            bins.max(1),
        )
    }

    /// The credit metrics, for `borrower`'s instruments (their names, covenants and spreads).
    pub fn metrics(&self, borrower: &Borrower) -> CreditMetrics {
        let n = self.paths();
        let months = self.months;
        let years = months.div_ceil(12);
        let horizon_years = months as f64 / 12.0;
        let tally = &self.tally;
        let summary = self.summary.as_ref().expect("at least one chunk");
        let mut defaulted = 0;
        let mut cumulative_pd_by_year = Vec::with_capacity(years);
        let mut pd_by_year = Vec::with_capacity(years);
        for year in 0..years {
            let in_year: u64 = tally.defaults_by_month[year * 12..((year + 1) * 12).min(months)]
                .iter()
                .sum();
            defaulted += in_year;
            cumulative_pd_by_year.push(Estimate::proportion(defaulted, n));
            pd_by_year.push(Estimate::proportion(in_year, n));
        }
        let pd_by_cause = CAUSES
            .iter()
            .zip(&tally.defaults_by_cause)
            .map(|(&cause, &count)| CausePd {
                cause,
                pd: Estimate::proportion(count, n),
            })
            .collect();
        let time_to_default = (defaulted > 0).then(|| {
            // A default in month index t comes t + 1 months after the start.
            let mut months_moments = Moments::default();
            for (t, &count) in tally.defaults_by_month.iter().enumerate() {
                for _ in 0..count {
                    months_moments.add((t + 1) as f64);
                }
            }
            TimeToDefault {
                month_quantiles: QUANTILE_LEVELS
                    .map(|q| histogram_quantile(&tally.defaults_by_month, q)),
                mean_months: months_moments.estimate().expect("defaults"),
                pd_by_year,
            }
        });
        let instruments = borrower
            .debts
            .iter()
            .enumerate()
            .map(|(d, plan)| {
                let moments = &summary.instruments[d];
                let pd = Estimate::proportion(tally.instrument_defaults[d], n);
                InstrumentMetrics {
                    name: plan.name.clone(),
                    pd,
                    rating: rating_grade(pd.value, horizon_years),
                    lgd: moments.lgd.estimate(),
                    lgd_quantiles: (self.losses.lgd_sketches[d].count() > 0).then(|| {
                        let (lowest, highest) =
                            self.losses.lgd_ranges[d].expect("an LGD in the range");
                        QUANTILE_LEVELS.map(|q| {
                            self.losses.lgd_sketches[d]
                                .quantile(q)
                                .expect("an LGD in the sketch")
                                .clamp(lowest, highest)
                        })
                    }),
                    exposure_at_default_usd: moments.ead.estimate(),
                    expected_loss_usd: moments.loss.estimate().expect("at least one path"),
                    spread: spread_metrics(plan, &moments.spread),
                    covenant_breaches: Covenant::ALL
                        .iter()
                        .enumerate()
                        .filter(|(_, covenant)| covenant.applies_to(plan))
                        .map(|(c, &covenant)| {
                            let slot = d * Covenant::ALL.len() + c;
                            CovenantBreachMetrics {
                                covenant,
                                probability: Estimate::proportion(
                                    tally.covenant_breach_paths_any[slot],
                                    n,
                                ),
                                probability_by_year: tally.covenant_breach_paths
                                    [slot * years..(slot + 1) * years]
                                    .iter()
                                    .map(|&count| Estimate::proportion(count, n))
                                    .collect(),
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        let worst: Vec<f64> = self
            .losses
            .worst
            .sorted()
            .iter()
            .map(|entry| entry.loss_usd)
            .collect();
        let needed = worst_paths_for_loss_tail(n as usize);
        let loss_tail = loss_tail_of_worst(&worst[worst.len() - needed..], n as usize);
        let fans = FanSeries::ALL
            .iter()
            .map(|&series| {
                let sketches =
                    &self.fans.sketches[series as usize * months..(series as usize + 1) * months];
                Fan {
                    series,
                    quantiles_by_month: sketches
                        .iter()
                        .map(|sketch| {
                            (sketch.count() > 0).then(|| {
                                QUANTILE_LEVELS
                                    .map(|q| sketch.quantile(q).expect("a value in the sketch"))
                            })
                        })
                        .collect(),
                    paths_by_month: sketches.iter().map(QuantileSketch::count).collect(),
                }
            })
            .collect();
        let attribution = Factor::ALL
            .iter()
            .enumerate()
            .map(|(f, &factor)| {
                let all = &summary.factor_sums_all[f * months..(f + 1) * months];
                let bad = &summary.factor_sums_defaulted[f * months..(f + 1) * months];
                FactorAttribution {
                    factor,
                    mean_all_by_month: all.iter().map(|s| s / n as f64).collect(),
                    mean_defaulted_by_month: (defaulted > 0)
                        .then(|| bad.iter().map(|s| s / defaulted as f64).collect()),
                }
            })
            .collect();
        CreditMetrics {
            paths: n,
            rating: rating_grade(defaulted as f64 / n as f64, horizon_years),
            cumulative_pd_by_year,
            pd_by_cause,
            time_to_default,
            instruments,
            expected_loss_usd: summary.total_loss.estimate().expect("at least one path"),
            loss_tail,
            fans,
            attribution,
        }
    }
}

/// VaR and ES of `count` losses at each level of [`LOSS_TAIL_LEVELS_PER_MILLE`], from the
/// worst of them alone, sorted ascending (at least [`worst_paths_for_loss_tail`]`(count)` of
/// them), in integers so that 1 − 0.99 rounds nowhere: VaR is the α-quantile
/// inf{x : F(x) ≥ α}, the ⌈α·n⌉-th smallest loss; ES the mean of the worst ⌈(1 − α)·n⌉
/// losses.
pub(crate) fn loss_tail_of_worst(sorted_worst: &[f64], count: usize) -> Vec<LossTail> {
    assert!(
        sorted_worst.len() >= worst_paths_for_loss_tail(count) && sorted_worst.len() <= count,
        "{} worst losses of {count}",
        sorted_worst.len()
    );
    // The loss of rank r (from 1) among all `count` is the worst ones' entry r − 1 − skipped.
    let skipped = count - sorted_worst.len();
    let n = count as u128;
    LOSS_TAIL_LEVELS_PER_MILLE
        .iter()
        .map(|&per_mille| {
            let rank = ((n * per_mille).div_ceil(1_000) as usize).max(1);
            let tail_count = tail_paths(count, per_mille);
            let tail = &sorted_worst[sorted_worst.len() - tail_count..];
            LossTail {
                level: per_mille as f64 / 1_000.0,
                var_usd: sorted_worst[rank - 1 - skipped],
                es_usd: tail.iter().sum::<f64>() / tail_count as f64,
            }
        })
        .collect()
}

/// How many of `count` losses, the worst, [`loss_tail_of_worst`] needs: the VaR of the lowest
/// level and every loss above it.
pub(crate) fn worst_paths_for_loss_tail(count: usize) -> usize {
    let lowest = LOSS_TAIL_LEVELS_PER_MILLE[0];
    let rank = ((count as u128 * lowest).div_ceil(1_000) as usize).max(1);
    (count + 1).saturating_sub(rank).min(count)
}

/// The number of worst paths of `count` (at least one) whose mean is the expected shortfall
/// at `per_mille`: ⌈(1 − level)·n⌉.
pub(crate) fn tail_paths(count: usize, per_mille: u128) -> usize {
    ((count as u128 * (1_000 - per_mille)).div_ceil(1_000) as usize).clamp(1, count)
}

/// The month at quantile `q` of the defaults counted by month (lower rank, as the sketches).
fn histogram_quantile(by_month: &[u64], q: f64) -> usize {
    let total: u64 = by_month.iter().sum();
    let rank = (q * (total - 1) as f64).floor() as u64;
    let mut seen = 0;
    for (t, &count) in by_month.iter().enumerate() {
        seen += count;
        if seen > rank {
            return t;
        }
    }
    by_month.len() - 1
}

/// The break-even spread of `plan` from its discounted loss and exposure moments, and how the
/// market's spread compares.
fn spread_metrics(plan: &DebtPlan, spread: &CoMoments) -> SpreadMetrics {
    let break_even_spread_bps = spread.ratio().map(|ratio| Estimate {
        value: ratio.value * 10_000.0,
        standard_error: ratio.standard_error * 10_000.0,
    });
    let market_spread_bps = plan.market_spread.map(|spread| spread * 10_000.0);
    // The fee is paid once on the commitment; spread over the expected life in years.
    let life_years = if plan.commitment_usd > 0.0 {
        spread.mean_y / plan.commitment_usd
    } else {
        0.0
    };
    let upfront_fee_bps_per_year = (life_years > 0.0 && plan.upfront_fee_fraction > 0.0)
        .then(|| plan.upfront_fee_fraction * 10_000.0 / life_years);
    let excess_spread_bps = match (market_spread_bps, break_even_spread_bps) {
        (Some(market), Some(break_even)) => {
            Some(market + upfront_fee_bps_per_year.unwrap_or(0.0) - break_even.value)
        }
        _ => None,
    };
    SpreadMetrics {
        break_even_spread_bps,
        market_spread_bps,
        upfront_fee_bps_per_year,
        excess_spread_bps,
    }
}

/// Runs the whole of `scenario` under `stresses` (`paths` paths from `seed`) on the current
/// rayon thread pool, keeping every path's scalars, and merges it: the convenience form of
/// [`Simulation`].
pub fn simulate(
    scenario: &Scenario,
    stresses: &[Stress],
    paths: u64,
    seed: u64,
) -> Result<(Simulation, SimulationResult), SimulationError> {
    let simulation = Simulation::new(scenario, stresses, paths, seed)?.keeping_path_scalars();
    let result = simulate_with(&simulation, None, None)?;
    Ok((simulation, result))
}

/// Runs the whole of `simulation`, telling `progress` of the paths each chunk completes and
/// stopping early when `cancel` is set.
pub(crate) fn simulate_with(
    simulation: &Simulation,
    progress: Option<&(dyn Fn(u64) + Sync)>,
    cancel: Option<&AtomicBool>,
) -> Result<SimulationResult, SimulationError> {
    let mut control = RunControl {
        progress,
        cancel,
        ..RunControl::default()
    };
    let shard = simulation.run(Shard::WHOLE, &mut control)?;
    SimulationResult::merge(vec![shard])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batched_fans_equal_adding_each_value_at_once() {
        // More values than a batch in some sketches, fewer in others, none in the rest.
        let months = 3;
        let mut direct = Fans::new(months);
        let mut batched = BatchedFans::new(months);
        for i in 0..(2 * FAN_BATCH + 7) {
            let value = ((i * 7919) % 1009) as f64 * 3.7 - 900.0;
            for (series, t) in [(FanSeries::CashUsd, 0), (FanSeries::BtcPriceUsd, 2)] {
                direct.sketches[series as usize * months + t].add(value);
                batched.add(series, t, value);
            }
            if i < 5 {
                direct.sketches[FanSeries::Dscr as usize * months + 1].add(value);
                batched.add(FanSeries::Dscr, 1, value);
            }
        }
        assert_eq!(batched.into_fans(), direct);
    }

    #[test]
    fn moments_merge_like_one_pass() {
        let values: Vec<f64> = (0..100)
            .map(|i| ((i * 37) % 101) as f64 * 1.5 - 20.0)
            .collect();
        let mut whole = Moments::default();
        values.iter().for_each(|&x| whole.add(x));
        let (mut left, mut right) = (Moments::default(), Moments::default());
        values[..37].iter().for_each(|&x| left.add(x));
        values[37..].iter().for_each(|&x| right.add(x));
        left.merge(&right);
        assert_eq!(left.n, whole.n);
        assert!((left.mean - whole.mean).abs() < 1e-12);
        assert!((left.m2 / whole.m2 - 1.0).abs() < 1e-12);
        let mean = values.iter().sum::<f64>() / 100.0;
        let variance = values.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 99.0;
        let estimate = whole.estimate().unwrap();
        assert!((estimate.value - mean).abs() < 1e-12);
        assert!((estimate.standard_error - (variance / 100.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn co_moments_give_the_ratio_and_its_delta_method_error() {
        let pairs: Vec<(f64, f64)> = (0..50)
            .map(|i| (((i * 13) % 7) as f64, 10.0 + ((i * 29) % 11) as f64))
            .collect();
        let mut whole = CoMoments::default();
        pairs.iter().for_each(|&(x, y)| whole.add(x, y));
        let (mut left, mut right) = (CoMoments::default(), CoMoments::default());
        pairs[..20].iter().for_each(|&(x, y)| left.add(x, y));
        pairs[20..].iter().for_each(|&(x, y)| right.add(x, y));
        left.merge(&right);
        let n = pairs.len() as f64;
        let (mx, my) = (
            pairs.iter().map(|p| p.0).sum::<f64>() / n,
            pairs.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let r = mx / my;
        let residual = pairs.iter().map(|&(x, y)| (x - r * y).powi(2)).sum::<f64>() / (n - 1.0);
        for moments in [whole, left] {
            let ratio = moments.ratio().unwrap();
            assert!((ratio.value - r).abs() < 1e-12);
            assert!((ratio.standard_error - (residual / n).sqrt() / my).abs() < 1e-12);
        }
    }

    #[test]
    fn shards_cover_every_chunk_once() {
        for paths in [1, CHUNK_PATHS, 3 * CHUNK_PATHS + 1, 10 * CHUNK_PATHS] {
            for count in 1..=5 {
                let mut next = 0;
                for index in 1..=count {
                    let chunks = Shard { index, count }.chunks(paths);
                    assert_eq!(chunks.start, next);
                    next = chunks.end;
                }
                assert_eq!(next, paths.div_ceil(CHUNK_PATHS));
            }
        }
    }

    #[test]
    fn loss_tail_takes_exact_ranks() {
        let losses: Vec<f64> = (1..=1_000).map(f64::from).collect();
        let loss_tail = |sorted: &[f64]| loss_tail_of_worst(sorted, sorted.len());
        let tail = loss_tail(&losses);
        // 95 %: the 950th smallest, and the mean of the worst 50 (951 … 1 000).
        assert_eq!((tail[0].var_usd, tail[0].es_usd), (950.0, 975.5));
        assert_eq!((tail[1].var_usd, tail[1].es_usd), (990.0, 995.5));
        assert_eq!((tail[2].var_usd, tail[2].es_usd), (999.0, 1_000.0));
        // A run of 1 path, and one too short for the 99.9 % tail.
        let one = loss_tail(&[7.0]);
        assert!(one.iter().all(|t| t.var_usd == 7.0 && t.es_usd == 7.0));
        let short: Vec<f64> = (1..=10).map(f64::from).collect();
        let tail = loss_tail(&short);
        assert_eq!((tail[1].var_usd, tail[1].es_usd), (10.0, 10.0));
        assert_eq!((tail[0].var_usd, tail[0].es_usd), (10.0, 10.0));
        // From the worst losses alone, the same numbers.
        for count in [1, 10, 999, 1_000, 1_001, 20_001] {
            let losses: Vec<f64> = (0..count).map(|i| f64::from(i % 97) * 1.5).collect();
            let mut sorted = losses.clone();
            sorted.sort_by(f64::total_cmp);
            let worst = &sorted[count as usize - worst_paths_for_loss_tail(count as usize)..];
            assert_eq!(
                loss_tail_of_worst(worst, count as usize),
                loss_tail(&sorted)
            );
        }
    }

    #[test]
    fn quantiles_of_a_histogram_and_of_values() {
        assert_eq!(histogram_quantile(&[0, 2, 0, 1], 0.0), 1);
        assert_eq!(histogram_quantile(&[0, 2, 0, 1], 0.5), 1);
        assert_eq!(histogram_quantile(&[0, 2, 0, 1], 1.0), 3);
    }
}
