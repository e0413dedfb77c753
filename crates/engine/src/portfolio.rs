//! `portfolio`: a lender's book of borrowers on one market, and what the shared fire sale of
//! their collateral adds to the book's tail.
//!
//! Every borrower of the book runs on the same generated market path; the generator draws the
//! defaults of every borrower's tenants, guarantors and offtakers, each keyed by its name, so
//! a counterparty several borrowers depend on fails on the same paths for all of them. Each
//! borrower's own risks (`[idiosyncratic]`: site outages, conversion delays) are drawn from
//! the key of its name in the book, so its luck does not depend on the other borrowers (a
//! borrower named as its scenario has `simulate`'s luck). On
//! each path the defaulted borrowers' estates are recovered twice, on the same random
//! numbers:
//! * **shared** liquidation: every defaulted estate enters one [`SalesLedger`], the
//!   liquidation markets clear the aggregate volume month by month (overhang carried over),
//!   and every seller recovers at the average impacted price of the book's sales;
//! * **independent** liquidation: each estate is sold into markets of its own, as
//!   `simulate` does.
//!
//! The lender's loss on a borrower is Σ share × loss over its defaulted instruments. Paths
//! run in chunks of [`CHUNK_PATHS`] in parallel; each chunk's [`BookPaths`] (per path the
//! book's loss under both liquidations, and one [`DefaultRecord`] per defaulted borrower) is
//! counted serially, in chunk order, into a tally that grows with the paths only by its exact
//! tail: integer counts, moments combined in a tree fixed by the chunk indices, loss sketches
//! for the histogram, and the worst 5 % of paths (the worst 1 % with each defaulted borrower's
//! loss) for VaR, ES and the Euler contributions (see `tally`). A run gives the same result bit for bit for any number of threads and any split
//! into shards ([`Portfolio::run`] on a [`Shard`], [`PortfolioResult::merge`]); the per-path
//! values go to [`RunControl::book_paths_out`] when asked for.

mod tally;

use tally::BookTally;

use std::sync::atomic::Ordering;

use bitwatt_model::{Book, Holding, Scenario, YearMonth};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::borrower::{Borrower, CompileError};
use crate::generator::{GeneratorError, GeneratorScratch, MarketGenerator, RandomKey};
use crate::market::{MarketPath, base_market_path};
use crate::recovery::{LiquidationPrices, SalesLedger};
use crate::simulate::{
    CHUNK_PATHS, Estimate, Fingerprint, RunControl, Shard, SimulationError,
    WINDOW_CHUNKS_PER_THREAD, any_debt_defaulted, check_shards, defaulted_claims,
};
use crate::stress::Stress;
use crate::waterfall::{PathBuffers, PathSummary, recover, run_path};

/// Bins of the book's loss histogram.
pub const LOSS_HISTOGRAM_BINS: usize = 50;

/// Books of more borrowers than this report no pairwise default correlations (there would
/// be more than 19 900 pairs); the per-borrower metrics and the book's tail are unaffected.
pub const MAX_CORRELATED_BORROWERS: usize = 200;

/// One borrower of a book: its scenario and the lender's holding in each of its instruments.
#[derive(Clone, Debug)]
pub struct PortfolioBorrower<'a> {
    /// The borrower's name in the book (unique).
    pub name: &'a str,
    /// Its scenario (its `[market]` is replaced by the book's).
    pub scenario: &'a Scenario,
    /// The lender's share of each debt (a fraction), in the scenario's debt order.
    pub shares: Vec<f64>,
}

/// Why a book cannot run.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum PortfolioError {
    /// A book without borrowers.
    #[error("the book has no borrower")]
    NoBorrowers,
    /// No paths asked for.
    #[error("--paths 0: expected at least one path")]
    NoPaths,
    /// Two borrowers with one name.
    #[error("borrower {0:?} appears more than once")]
    DuplicateName(String),
    /// A borrower starting in another month than the market.
    #[error("borrower {borrower:?}: starts in {found}, expected the market's start {expected}")]
    StartMonth {
        /// The borrower.
        borrower: String,
        /// The market's first month.
        expected: YearMonth,
        /// The borrower's first month.
        found: YearMonth,
    },
    /// A borrower with another horizon than the market.
    #[error("borrower {borrower:?}: horizon of {found} months, expected the market's {expected}")]
    Horizon {
        /// The borrower.
        borrower: String,
        /// The market's horizon (months).
        expected: u32,
        /// The borrower's horizon (months).
        found: u32,
    },
    /// Shares not one per debt instrument.
    #[error("borrower {borrower:?}: {found} shares given for {expected} debt instruments")]
    ShareCount {
        /// The borrower.
        borrower: String,
        /// Its debt instruments.
        expected: usize,
        /// Shares given.
        found: usize,
    },
    /// A share outside [0, 1].
    #[error("borrower {borrower:?}: share {share} of {debt:?} is outside [0, 1]")]
    Share {
        /// The borrower.
        borrower: String,
        /// The instrument.
        debt: String,
        /// The share given.
        share: f64,
    },
    /// A borrower that does not compile on the book's market.
    #[error("borrower {borrower:?}: {source}")]
    Compile {
        /// The borrower.
        borrower: String,
        /// Why.
        source: CompileError,
    },
    /// The market model is unusable.
    #[error(transparent)]
    Generator(#[from] GeneratorError),
}

/// A book ready to run: every borrower compiled on the book's market and the generator built
/// once with every borrower's counterparties.
pub struct Portfolio {
    names: Vec<String>,
    borrowers: Vec<Borrower>,
    /// Per borrower, the lender's share of each instrument.
    shares: Vec<Vec<f64>>,
    generator: MarketGenerator,
    first_month: YearMonth,
    fingerprint: Fingerprint,
}

/// What a book's fingerprint hashes: the market and every borrower with its holdings.
#[derive(Serialize)]
struct BookInputs<'a> {
    market: &'a Scenario,
    borrowers: Vec<BookBorrowerInputs<'a>>,
}

/// One borrower of [`BookInputs`].
#[derive(Serialize)]
struct BookBorrowerInputs<'a> {
    name: &'a str,
    scenario: &'a Scenario,
    shares: &'a [f64],
}

/// A worker's memory, kept between its paths.
struct Worker {
    market: MarketPath,
    scratch: GeneratorScratch,
    /// One per borrower.
    buffers: Vec<PathBuffers>,
    /// The borrowers' outcomes on the current path.
    summaries: Vec<PathSummary>,
}

/// One borrower that defaulted on one path (the borrower, or one of its instruments), and
/// the lender's loss on it.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DefaultRecord {
    /// The path.
    pub path: u64,
    /// The borrower's index in the book.
    pub borrower: u32,
    /// The borrower's default month (index), if the borrower itself defaulted (an instrument
    /// of a ring-fenced project company can default alone).
    pub default_month: Option<u16>,
    /// The lender's loss with shared liquidation (USD).
    pub loss_shared_usd: f64,
    /// The lender's loss with independent liquidation (USD).
    pub loss_independent_usd: f64,
    /// The lender's exposure at default: Σ share × EAD over the defaulted instruments (USD).
    pub exposure_usd: f64,
}

/// The per-path values of consecutive paths of a book, in path order: what
/// [`RunControl::book_paths_out`] receives chunk by chunk.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BookPaths {
    /// The first path.
    first_path: u64,
    /// The book's loss on each path with shared liquidation (USD).
    book_loss_shared_usd: Vec<f64>,
    /// The book's loss on each path with independent liquidation (USD).
    book_loss_independent_usd: Vec<f64>,
    /// The defaulted borrowers, by path, then in the book's order.
    defaults: Vec<DefaultRecord>,
}

/// Receives each chunk's [`BookPaths`] in path order; returns false to stop.
pub type BookPathsOut<'a> = dyn FnMut(&BookPaths) -> bool + Send + 'a;

impl BookPaths {
    /// Appends `next`, the paths after these.
    pub fn extend(&mut self, next: &BookPaths) {
        assert_eq!(
            next.first_path,
            self.first_path + self.paths(),
            "paths appended out of order"
        );
        self.book_loss_shared_usd
            .extend_from_slice(&next.book_loss_shared_usd);
        self.book_loss_independent_usd
            .extend_from_slice(&next.book_loss_independent_usd);
        self.defaults.extend_from_slice(&next.defaults);
    }

    /// Paths held.
    pub fn paths(&self) -> u64 {
        self.book_loss_shared_usd.len() as u64
    }

    /// The book's loss on each path under `liquidation` (USD), in path order.
    pub fn book_loss_usd(&self, liquidation: Liquidation) -> &[f64] {
        match liquidation {
            Liquidation::Shared => &self.book_loss_shared_usd,
            Liquidation::Independent => &self.book_loss_independent_usd,
        }
    }

    /// Every defaulted borrower of every path, by path, then in the book's order.
    pub fn defaults(&self) -> &[DefaultRecord] {
        &self.defaults
    }

    /// Borrower `borrower`'s default month (index) on each path, in path order.
    pub fn default_months(&self, borrower: usize) -> Vec<Option<u16>> {
        let mut months = vec![None; self.paths() as usize];
        for record in self.borrower_records(borrower) {
            months[(record.path - self.first_path) as usize] = record.default_month;
        }
        months
    }

    /// The lender's loss on borrower `borrower` on each path under `liquidation` (USD), in
    /// path order.
    pub fn losses_usd(&self, borrower: usize, liquidation: Liquidation) -> Vec<f64> {
        let mut losses = vec![0.0; self.paths() as usize];
        for record in self.borrower_records(borrower) {
            losses[(record.path - self.first_path) as usize] = record.loss_usd(liquidation);
        }
        losses
    }

    fn borrower_records(&self, borrower: usize) -> impl Iterator<Item = &DefaultRecord> {
        self.defaults
            .iter()
            .filter(move |r| r.borrower as usize == borrower)
    }
}

/// The result of one shard of a book's run (the whole run is shard 1/1): merged with the
/// other shards by [`PortfolioResult::merge`] into exactly the unsharded result.
/// Serialisable, so shards can run on other machines.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortfolioShard {
    /// What it was computed from and by.
    pub fingerprint: Fingerprint,
    /// Which shard.
    pub shard: Shard,
    /// Paths run (fewer than the shard's share when the run was stopped).
    pub paths_run: u64,
    /// Whether the shard ran all its paths.
    pub complete: bool,
    /// The borrowers' names, in the book's order.
    names: Vec<String>,
    tally: BookTally,
}

/// Each borrower of `book` with the lender's share of each of its debts: a share as the book
/// gives it, a notional as a share of the debt's commitment as sized on the borrower's own
/// base case (at most all of it).
pub fn book_borrowers(book: &Book) -> Result<Vec<PortfolioBorrower<'_>>, PortfolioError> {
    book.borrowers
        .iter()
        .map(|borrower| {
            let sized =
                Borrower::with_base_path(&borrower.scenario, &base_market_path(&borrower.scenario))
                    .map_err(|source| PortfolioError::Compile {
                        borrower: borrower.name.clone(),
                        source,
                    })?;
            let shares = borrower
                .holdings
                .iter()
                .zip(&sized.debts)
                .map(|(holding, debt)| match *holding {
                    Holding::Share(share) => share,
                    Holding::NotionalUsd(notional) if debt.commitment_usd > 0.0 => {
                        (notional / debt.commitment_usd).min(1.0)
                    }
                    Holding::NotionalUsd(_) => 0.0,
                })
                .collect();
            Ok(PortfolioBorrower {
                name: &borrower.name,
                scenario: &borrower.scenario,
                shares,
            })
        })
        .collect()
}

impl Portfolio {
    /// Every borrower runs on the market of `market` (its start month, horizon, `[market]`
    /// and `[market.model]`); each borrower's debt is sized on its own scenario's base case
    /// (as [`Simulation::sized_on`](crate::Simulation::sized_on): the borrower compiled from
    /// its scenario with the market replaced by `market.market`, sized on the base path of
    /// its own scenario). Borrowers' start month and horizon must equal the market's. The
    /// generator draws the defaults of every borrower's counterparties (a name given by
    /// several borrowers is drawn once, with the terms it is first given).
    pub fn new(
        market: &Scenario,
        borrowers: &[PortfolioBorrower<'_>],
        stresses: &[Stress],
        paths: u64,
        seed: u64,
    ) -> Result<Portfolio, PortfolioError> {
        if borrowers.is_empty() {
            return Err(PortfolioError::NoBorrowers);
        }
        if paths == 0 {
            return Err(PortfolioError::NoPaths);
        }
        let mut names: Vec<String> = Vec::with_capacity(borrowers.len());
        let mut compiled = Vec::with_capacity(borrowers.len());
        for entry in borrowers {
            let borrower = entry.name.to_string();
            if names.contains(&borrower) {
                return Err(PortfolioError::DuplicateName(borrower));
            }
            let scenario = entry.scenario;
            if scenario.first_month() != market.first_month() {
                return Err(PortfolioError::StartMonth {
                    borrower,
                    expected: market.first_month(),
                    found: scenario.first_month(),
                });
            }
            if scenario.horizon_months != market.horizon_months {
                return Err(PortfolioError::Horizon {
                    borrower,
                    expected: market.horizon_months,
                    found: scenario.horizon_months,
                });
            }
            if entry.shares.len() != scenario.debt.len() {
                return Err(PortfolioError::ShareCount {
                    borrower,
                    expected: scenario.debt.len(),
                    found: entry.shares.len(),
                });
            }
            if let Some((debt, &share)) = scenario
                .debt
                .iter()
                .zip(&entry.shares)
                .find(|(_, share)| !(0.0..=1.0).contains(*share))
            {
                return Err(PortfolioError::Share {
                    borrower,
                    debt: debt.name.clone(),
                    share,
                });
            }
            let mut on_market = scenario.clone();
            on_market.market = market.market.clone();
            let compiled_borrower =
                Borrower::with_base_path(&on_market, &base_market_path(scenario)).map_err(
                    |source| PortfolioError::Compile {
                        borrower: borrower.clone(),
                        source,
                    },
                )?;
            compiled.push(compiled_borrower);
            names.push(borrower);
        }
        let counterparties = borrowers.iter().flat_map(|b| b.scenario.counterparties());
        let inputs = BookInputs {
            market,
            borrowers: borrowers
                .iter()
                .map(|b| BookBorrowerInputs {
                    name: b.name,
                    scenario: b.scenario,
                    shares: &b.shares,
                })
                .collect(),
        };
        Ok(Portfolio {
            generator: MarketGenerator::with_counterparties(market, counterparties, stresses)?,
            names,
            borrowers: compiled,
            shares: borrowers.iter().map(|b| b.shares.clone()).collect(),
            first_month: market.first_month(),
            fingerprint: Fingerprint::of_inputs(&inputs, stresses, paths, seed),
        })
    }

    /// The compiled borrowers, in the book's order.
    pub fn borrowers(&self) -> &[Borrower] {
        &self.borrowers
    }

    /// The run's fingerprint: shards merge only when theirs agree.
    pub fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// Runs shard `shard` on the current rayon pool, window by window of chunks, checking
    /// `control.cancel` between windows and calling `control.progress` per chunk (each chunk's
    /// per-path values go to `control.book_paths_out`; `control.paths_out` is not called). Chunks are
    /// kept in order: the result does not depend on the thread count.
    pub fn run(
        &self,
        shard: Shard,
        control: &mut RunControl<'_>,
    ) -> Result<PortfolioShard, SimulationError> {
        shard.check()?;
        let key = RandomKey::from_seed(self.fingerprint.seed);
        // Each borrower's own risks are drawn from the key of its name in the book.
        let borrower_keys: Vec<Option<RandomKey>> = self
            .borrowers
            .iter()
            .zip(&self.names)
            .map(|(borrower, name)| {
                borrower
                    .idiosyncratic
                    .is_active()
                    .then(|| key.borrower(name))
            })
            .collect();
        let threads = rayon::current_num_threads().max(1) as u64;
        let mut result = PortfolioShard {
            fingerprint: self.fingerprint.clone(),
            shard,
            paths_run: 0,
            complete: true,
            names: self.names.clone(),
            tally: BookTally::new(self.borrowers.len(), self.fingerprint.paths),
        };
        let chunks = shard.chunks(self.fingerprint.paths);
        let progress = control.progress;
        let mut window_start = chunks.start;
        while window_start < chunks.end {
            if control.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                result.complete = false;
                break;
            }
            let window_end = (window_start + WINDOW_CHUNKS_PER_THREAD * threads).min(chunks.end);
            let window: Vec<BookPaths> = (window_start..window_end)
                .into_par_iter()
                .map_init(
                    || Worker {
                        market: MarketPath::with_start(self.first_month),
                        scratch: GeneratorScratch::default(),
                        buffers: self.borrowers.iter().map(PathBuffers::new).collect(),
                        summaries: Vec::with_capacity(self.borrowers.len()),
                    },
                    |worker, chunk| {
                        let values = self.run_chunk((&key, &borrower_keys), chunk, worker);
                        if let Some(progress) = progress {
                            progress(values.paths());
                        }
                        values
                    },
                )
                .collect();
            for (chunk, values) in (window_start..).zip(window) {
                // Once the per-path receiver declines, the run stops at the chunk it declined.
                if !result.complete {
                    break;
                }
                result.paths_run += values.paths();
                result.tally.add_chunk(chunk, &values);
                if let Some(book_paths_out) = control.book_paths_out.as_mut()
                    && !book_paths_out(&values)
                {
                    result.complete = false;
                }
            }
            if !result.complete {
                break;
            }
            window_start = window_end;
        }
        Ok(result)
    }

    /// Runs the whole book (shard 1/1, no progress, no cancelling) and returns its result.
    pub fn run_all(&self) -> PortfolioResult {
        let shard = self
            .run(Shard::WHOLE, &mut RunControl::default())
            .expect("shard 1/1 is valid");
        PortfolioResult::merge(vec![shard]).expect("a complete run of at least one path")
    }

    /// Runs the whole book as [`run_all`](Self::run_all) and keeps every path's values too
    /// (their memory grows with the paths).
    pub fn run_all_with_paths(&self) -> (PortfolioResult, BookPaths) {
        let mut paths = BookPaths::default();
        let mut keep = |chunk: &BookPaths| {
            paths.extend(chunk);
            true
        };
        let shard = self
            .run(
                Shard::WHOLE,
                &mut RunControl {
                    book_paths_out: Some(&mut keep),
                    ..RunControl::default()
                },
            )
            .expect("shard 1/1 is valid");
        let result =
            PortfolioResult::merge(vec![shard]).expect("a complete run of at least one path");
        (result, paths)
    }

    /// Runs the paths of chunk `chunk`.
    fn run_chunk(
        &self,
        keys: (&RandomKey, &[Option<RandomKey>]),
        chunk: u64,
        worker: &mut Worker,
    ) -> BookPaths {
        let first = chunk * CHUNK_PATHS;
        let last = (first + CHUNK_PATHS).min(self.fingerprint.paths);
        let paths = (last - first) as usize;
        let mut out = BookPaths {
            first_path: first,
            book_loss_shared_usd: Vec::with_capacity(paths),
            book_loss_independent_usd: Vec::with_capacity(paths),
            defaults: Vec::new(),
        };
        for path in first..last {
            self.run_one(keys, path, worker, &mut out);
        }
        out
    }

    /// Runs every borrower on path `path` and appends their values to `out`.
    fn run_one(
        &self,
        (key, borrower_keys): (&RandomKey, &[Option<RandomKey>]),
        path: u64,
        worker: &mut Worker,
        out: &mut BookPaths,
    ) {
        let market = &mut worker.market;
        self.generator
            .generate_with(key, path, market, &mut worker.scratch);
        worker.summaries.clear();
        for ((borrower, buffers), borrower_key) in self
            .borrowers
            .iter()
            .zip(&mut worker.buffers)
            .zip(borrower_keys)
        {
            if let Some(borrower_key) = borrower_key {
                buffers.idiosyncratic.draw(borrower, borrower_key, path);
            }
            worker.summaries.push(run_path(borrower, market, buffers));
        }
        // Every defaulted estate sells into the book's markets (the market's, whichever
        // borrower holds them: all were compiled on the same `[market]`).
        let mut ledger = SalesLedger::new();
        let mut defaulted = 0;
        for summary in worker.summaries.iter().filter(|s| any_debt_defaulted(s)) {
            ledger.add_estate(&summary.estate);
            defaulted += 1;
        }
        let markets = &self.borrowers[0].liquidation_markets;
        let depth = &market.liquidation_depth_factor;
        let shared_prices =
            (defaulted > 0).then(|| LiquidationPrices::from_sales(markets, depth, &ledger));
        let (mut book_shared, mut book_independent) = (0.0, 0.0);
        for (b, ((borrower, summary), shares)) in self
            .borrowers
            .iter()
            .zip(&worker.summaries)
            .zip(&self.shares)
            .enumerate()
        {
            let default_month = summary.default.map(|event| event.month_index as u16);
            if default_month.is_none() && !any_debt_defaulted(summary) {
                continue;
            }
            let (mut shared, mut independent, mut exposure) = (0.0, 0.0, 0.0);
            if let Some(shared_prices) = shared_prices
                .as_ref()
                .filter(|_| any_debt_defaulted(summary))
            {
                let recoveries = recover(summary, shared_prices);
                for (d, _, claim) in defaulted_claims(summary, &recoveries) {
                    shared += shares[d] * claim.loss_usd;
                    exposure += shares[d] * claim.ead_usd;
                }
                // A lone seller's ledger is its own: the independent prices are the same.
                independent = if defaulted == 1 {
                    shared
                } else {
                    let prices = LiquidationPrices::for_estate(
                        &summary.estate,
                        &borrower.liquidation_markets,
                        depth,
                    );
                    let recoveries = recover(summary, &prices);
                    defaulted_claims(summary, &recoveries)
                        .map(|(d, _, claim)| shares[d] * claim.loss_usd)
                        .sum::<f64>()
                };
            }
            book_shared += shared;
            book_independent += independent;
            out.defaults.push(DefaultRecord {
                path,
                borrower: b as u32,
                default_month,
                loss_shared_usd: shared,
                loss_independent_usd: independent,
                exposure_usd: exposure,
            });
        }
        out.book_loss_shared_usd.push(book_shared);
        out.book_loss_independent_usd.push(book_independent);
    }
}

/// How the defaulted borrowers' collateral is sold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Liquidation {
    /// Every seller of a path in the same markets, at the average impacted price of the
    /// aggregate volume.
    Shared,
    /// Each borrower in markets of its own.
    Independent,
}

impl Liquidation {
    /// Independent where `independent`, else shared.
    pub fn of(independent: bool) -> Liquidation {
        if independent {
            Liquidation::Independent
        } else {
            Liquidation::Shared
        }
    }
}

/// A book's run, its shards merged: what its metrics are computed from.
#[derive(Clone, Debug, PartialEq)]
pub struct PortfolioResult {
    /// What it was computed from and by.
    pub fingerprint: Fingerprint,
    /// Whether every path ran.
    pub complete: bool,
    /// The borrowers' names, in the book's order.
    pub names: Vec<String>,
    tally: BookTally,
}

/// The book's loss distribution and each borrower's part in it, under one liquidation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BookMetrics {
    /// The liquidation.
    pub liquidation: Liquidation,
    /// Expected loss of the book (USD).
    pub expected_loss_usd: Estimate,
    /// VaR and ES of the book's loss at 95, 99 and 99.9 %.
    pub loss_tail: Vec<BookLossTail>,
    /// Histogram of the book's loss.
    pub histogram: LossHistogram,
    /// Each borrower's loss, in the book's order.
    pub borrowers: Vec<BorrowerLoss>,
}

/// A tail measure of the book's loss at one confidence level.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct BookLossTail {
    /// Confidence level (e.g. 0.99).
    pub level: f64,
    /// Value at risk: the ⌈level · n⌉-th smallest of n paths' book losses (USD).
    pub var_usd: f64,
    /// Expected shortfall: the mean of the worst ⌈(1 − level) · n⌉ book losses (USD), with
    /// the asymptotic standard error √((Var[L | tail] + level·(ES − VaR)²) / tail paths).
    pub es_usd: Estimate,
}

/// Counts of paths by book loss in equal bins from 0 to the largest loss (the same bins for
/// both liquidations).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LossHistogram {
    /// Width of a bin (USD); bin `i` holds losses in [i·width, (i + 1)·width), the last bin
    /// also its upper edge. 0 when no path loses anything (every path in bin 0). A path is
    /// placed by its loss as the run's loss sketch reads it, within 1 %, so a path within 1 %
    /// of a bin's edge may be counted in the next bin.
    pub bin_width_usd: f64,
    /// Paths in each bin.
    pub counts: Vec<u64>,
    /// Paths that lose nothing (in bin 0).
    pub zero_loss_paths: u64,
}

/// One borrower's loss under one liquidation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BorrowerLoss {
    /// The borrower.
    pub name: String,
    /// Loss given default: the mean, over the paths with a lender exposure at default, of the
    /// lender's loss over that exposure.
    pub lgd: Option<Estimate>,
    /// The lender's expected loss on the borrower (USD).
    pub expected_loss_usd: Estimate,
    /// Euler contribution to the book's ES at 99 %: the borrower's mean loss on the paths of
    /// the book's tail (USD; the contributions sum to the ES). The standard error treats the
    /// tail's paths as given.
    pub es_99_contribution_usd: Estimate,
}

/// One borrower's default.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BorrowerDefault {
    /// The borrower.
    pub name: String,
    /// Probability it defaults within the horizon.
    pub pd: Estimate,
    /// The lender's mean exposure at default over the paths with one (USD).
    pub exposure_at_default_usd: Option<Estimate>,
}

/// How two borrowers default together.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DefaultCorrelation {
    /// The first borrower.
    pub first: String,
    /// The second borrower.
    pub second: String,
    /// Probability both default within the horizon.
    pub joint_pd: Estimate,
    /// Pearson correlation of the two default indicators, with the normal-theory standard
    /// error (1 − ρ²)/√(n − 1); none when either never or always defaults.
    pub correlation: Option<Estimate>,
}

/// What the shared fire sale adds: shared minus independent liquidation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FireSaleAddOn {
    /// Expected loss difference (USD), its standard error from the paired per-path
    /// differences (the same random numbers).
    pub expected_loss_usd: Estimate,
    /// ES difference at each level of the loss tail.
    pub es_usd: Vec<TailAddOn>,
}

/// The ES difference at one level.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct TailAddOn {
    /// Confidence level (e.g. 0.99).
    pub level: f64,
    /// ES(shared) − ES(independent) (USD), with √(se₁² + se₂²) as standard error, an upper
    /// bound as the two tails share their random numbers.
    pub difference_usd: Estimate,
}

/// The metrics of a book.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PortfolioMetrics {
    /// Paths run.
    pub paths: u64,
    /// Each borrower's default, in the book's order.
    pub borrowers: Vec<BorrowerDefault>,
    /// Every pair of borrowers, in the book's order.
    pub default_correlation: Vec<DefaultCorrelation>,
    /// With shared liquidation.
    pub shared: BookMetrics,
    /// With independent liquidation.
    pub independent: BookMetrics,
    /// Shared minus independent.
    pub fire_sale_add_on: FireSaleAddOn,
}

impl PortfolioResult {
    /// Merges the shards of one run (in any order) into exactly the unsharded result; a
    /// single shard stopped early gives the result of the paths it ran.
    pub fn merge(mut shards: Vec<PortfolioShard>) -> Result<PortfolioResult, SimulationError> {
        shards.sort_by_key(|s| s.shard.index);
        check_shards(
            shards
                .iter()
                .map(|s| (&s.fingerprint, s.shard, s.complete, s.paths_run)),
        )?;
        let mut shards = shards.into_iter();
        let first = shards.next().expect("one shard");
        let mut result = PortfolioResult {
            fingerprint: first.fingerprint,
            complete: first.complete,
            names: first.names,
            tally: first.tally,
        };
        for shard in shards {
            result.complete &= shard.complete;
            result.tally.merge(shard.tally);
        }
        if result.paths() == 0 {
            return Err(SimulationError::Incomplete(
                "no path was run (the run was stopped before its first chunks completed)"
                    .to_string(),
            ));
        }
        Ok(result)
    }

    /// Borrowers in the book.
    pub fn borrower_count(&self) -> usize {
        self.names.len()
    }

    /// Paths run.
    pub fn paths(&self) -> u64 {
        self.tally.paths()
    }

    /// The book's metrics.
    pub fn metrics(&self) -> PortfolioMetrics {
        self.tally.metrics(&self.names)
    }
}

impl DefaultRecord {
    /// The lender's loss under `liquidation` (USD).
    pub fn loss_usd(&self, liquidation: Liquidation) -> f64 {
        match liquidation {
            Liquidation::Shared => self.loss_shared_usd,
            Liquidation::Independent => self.loss_independent_usd,
        }
    }
}
