//! Covenant headroom: for each covenant of each instrument, how far the BTC price, hashprice,
//! GPU rent or power price can move over the whole base case before the covenant first
//! breaks.
//!
//! A lever multiplies one factor of the (stressed) base case by `k` in every month; the
//! borrower, with its debt sized on the unstressed base case as at close, runs on that path
//! (as [`crate::project`] does). A covenant breaks at `k` when it fails a test in some month —
//! a trailing DSCR below its default or lock-up level, an LTV above its maximum — whether or
//! not an equity cure or a prepayment would save it. An instrument that defaults before its
//! covenant fails (on payment, at maturity, on a margin call, by cross-default) breaks it
//! too, since the covenant is never tested again; the result says which happened. The
//! borrower's own default ends the path, as everywhere in the engine, so a ring-fenced
//! project loan's covenants are not tested after it either: a covenant that holds says from
//! which multiplier the borrower defaults, and so how far "holds" was actually tested.
//!
//! The levers:
//!
//! * **BTC price**: the month's average price and its intramonth low × `k`, and the network
//!   runs again on the new prices, as it does under every stress: hashrate and difficulty give
//!   way with their lag along the world fleet's cost curve, so hashprice falls by less than
//!   `k` once the network has responded. BTC collateral (treasury, pledges) and hedges move
//!   with the price.
//! * **Hashprice**: the BTC the network earns (every block's subsidy and fees) × `k` at the
//!   same BTC price and network hashrate: every hash earns `k` times as much, so revenue per
//!   hash, the fleets' value and the BTC mined move, and nothing else does.
//! * **GPU rent**: the GPU rent reference index × `k` (every generation's market rent moves
//!   with it; contracted rates and colocation rents do not).
//! * **Power price**: the spot power price × `k` (PPAs and fixed tariffs do not move; a site
//!   pays spot on its market-exposed share).
//!
//! The search: a break is searched on the adverse side only — BTC price, hashprice and GPU
//! rent downwards from 1 to 1/[`HEADROOM_SEARCH_RANGE`], power upwards from 1 to
//! [`HEADROOM_SEARCH_RANGE`] — on a grid of [`HEADROOM_GRID_STEPS`] equal steps in log `k`;
//! the first grid step that breaks brackets the answer, which bisection in log `k` narrows
//! until its ends are within a ratio of 1 + [`HEADROOM_TOLERANCE`]. The multiplier reported is
//! the bracket's breaking end. Breaks are assumed monotone in `k` (a lower price never mends a
//! covenant); the whole grid is run anyway, and a covenant that holds again further out than
//! its first break is flagged `monotone: false` (its reported break is still the first one
//! from 1). A break that appears only between grid steps and mends before the next is not
//! seen. Where a covenant holds, the borrower's own default, if the grid finds one, is
//! bisected the same way.
//!
//! Cost: one run of the borrower per grid step and per bisection step (about 13 each), every
//! covenant read from each run; the BTC price lever also runs the network again each time.

use bitwatt_model::{Market, Scenario, YearMonth};
use serde::Serialize;

use crate::borrower::{Borrower, CompileError};
use crate::market::{MarketPath, base_market_path, respond_to_prices, stressed_exogenous_path};
use crate::stress::Stress;
use crate::waterfall::{Covenant, DefaultCause, DefaultEvent, PathBuffers, PathSummary, run_path};

/// The search reaches multipliers of 1 / this (falling levers) or this (power).
pub const HEADROOM_SEARCH_RANGE: f64 = 100.0;

/// Equal steps in log `k` from 1 to the end of the search range.
pub const HEADROOM_GRID_STEPS: usize = 32;

/// Bisection stops when the bracket's ends are within a ratio of 1 + this: the covenant
/// holds at the reported multiplier moved this much towards 1 and breaks at it moved this
/// much away.
pub const HEADROOM_TOLERANCE: f64 = 1e-4;

/// A market factor moved over the whole path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Lever {
    /// BTC price (and its intramonth lows); the network responds.
    BtcPrice,
    /// Revenue per hash: the network's subsidy and fees in BTC, at the same BTC price.
    Hashprice,
    /// The GPU rent reference index.
    GpuRent,
    /// The spot power price.
    PowerPrice,
}

impl Lever {
    /// Every lever, in the order of the results.
    pub const ALL: [Lever; 4] = [
        Lever::BtcPrice,
        Lever::Hashprice,
        Lever::GpuRent,
        Lever::PowerPrice,
    ];

    /// The unit of the lever's level.
    pub fn unit(self) -> &'static str {
        match self {
            Lever::BtcPrice => "USD per BTC",
            Lever::Hashprice => "USD per PH/s per day",
            Lever::GpuRent => "USD per GPU-hour (reference index)",
            Lever::PowerPrice => "USD per MWh (spot)",
        }
    }

    /// Whether the lever hurts as it rises (power) rather than as it falls.
    pub fn adverse_when_rising(self) -> bool {
        self == Lever::PowerPrice
    }

    /// The lever's level in the first month of `path`, in [`Lever::unit`].
    pub fn level_at_start(self, path: &MarketPath) -> f64 {
        match self {
            Lever::BtcPrice => path.btc_price_usd[0],
            Lever::Hashprice => path.hashprice_usd_per_ph_day(0),
            Lever::GpuRent => path.gpu_rent_index_usd_per_gpu_hour[0],
            Lever::PowerPrice => path.power_price_usd_per_mwh[0],
        }
    }
}

/// One covenant of one instrument.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CovenantLevel {
    /// The instrument's index in the scenario's debts.
    pub debt: usize,
    /// Which covenant.
    pub kind: Covenant,
    /// Its level: a DSCR (times) or an LTV (fraction).
    pub level: f64,
}

impl CovenantLevel {
    /// The covenants of `borrower`'s instruments, instrument by instrument: lock-up DSCR,
    /// default DSCR, maximum LTV.
    pub fn of(borrower: &Borrower) -> Vec<CovenantLevel> {
        let mut covenants = Vec::new();
        for (debt, plan) in borrower.debts.iter().enumerate() {
            // In the order of `Covenant::ALL`, as the breach probabilities are reported.
            let levels = [
                (Covenant::DscrLockUp, plan.lock_up_dscr),
                (Covenant::DscrDefault, plan.default_dscr),
                (Covenant::MaxLtv, plan.max_ltv),
            ];
            for (kind, level) in levels {
                if let Some(level) = level {
                    covenants.push(CovenantLevel { debt, kind, level });
                }
            }
        }
        covenants
    }

    /// The first month in which this covenant broke on the path just run into `buffers`
    /// (see the module's documentation), and how.
    pub fn first_breach(
        &self,
        buffers: &PathBuffers,
        summary: &PathSummary,
    ) -> Option<FirstBreach> {
        let instruments = summary.debt_count;
        let failed_t = buffers
            .debt_rows
            .iter()
            .skip(self.debt)
            .step_by(instruments.max(1))
            .position(|month| month.covenant_breaches.contains(self.kind));
        // The earlier event; on the same month the failed test.
        let events = [
            failed_t.map(|t| (t, Breach::Covenant)),
            summary.debts[self.debt]
                .default
                .map(|event| (event.month_index, Breach::Default(event.cause))),
        ];
        events
            .into_iter()
            .flatten()
            .min_by_key(|&(t, _)| t)
            .map(|(month_index, breach)| FirstBreach {
                month_index,
                breach,
            })
    }
}

/// How a covenant broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Breach {
    /// It failed a test.
    Covenant,
    /// The instrument defaulted, for this cause, before the covenant failed a test.
    Default(DefaultCause),
}

/// The first month a covenant broke on a path, and how.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FirstBreach {
    /// Month index.
    pub month_index: usize,
    /// How it broke.
    pub breach: Breach,
}

/// Where a covenant breaks as one lever moves.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum Headroom {
    /// It breaks on the base case itself (`k` = 1).
    BreaksInBaseCase {
        /// First month it breaks.
        month: YearMonth,
        /// How.
        breach: Breach,
    },
    /// It first breaks at `multiplier`.
    Breaks {
        /// The multiplier `k` of the lever at which it first breaks (the breaking end of the
        /// final bracket).
        multiplier: f64,
        /// `k` − 1 in percent: negative for a fall, positive for a rise.
        headroom_percent: f64,
        /// The lever's level at the start month at `k`, in the lever's unit.
        level_at_start: f64,
        /// First month it breaks at `k`.
        month: YearMonth,
        /// How.
        breach: Breach,
        /// False when the grid found it holding again further from 1 than its first break.
        monotone: bool,
    },
    /// It does not break anywhere on the searched grid.
    HoldsWithinRange {
        /// The multiplier at the far end of the search.
        searched_to_multiplier: f64,
        /// The multiplier from which the borrower defaults, if it does within the search: the
        /// path ends at its default, so beyond it the covenant holds only in the months
        /// before.
        borrower_default_multiplier: Option<f64>,
    },
}

/// One covenant against one lever.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CovenantHeadroom {
    /// The instrument's name.
    pub instrument: String,
    /// The covenant.
    pub covenant: CovenantLevel,
    /// The lever moved.
    pub lever: Lever,
    /// The unit of the levels.
    pub unit: &'static str,
    /// The lever's level at the start month on the base case.
    pub base_level_at_start: f64,
    /// Where the covenant breaks.
    pub headroom: Headroom,
}

/// The headroom of every covenant of a validated scenario's borrower against every lever, on
/// its base case with `stresses` applied (none: the base case itself); see the module's
/// documentation. Instrument by instrument, covenant by covenant, lever by lever; empty when
/// no instrument has a covenant.
pub fn headroom(
    scenario: &Scenario,
    stresses: &[Stress],
) -> Result<Vec<CovenantHeadroom>, CompileError> {
    Ok(HeadroomSolver::new(scenario, stresses)?.solve())
}

/// The borrower and its base case, ready to be run with a lever moved.
#[derive(Debug)]
pub struct HeadroomSolver<'s> {
    market: &'s Market,
    borrower: Borrower,
    covenants: Vec<CovenantLevel>,
    /// The stressed base case before the network runs (for the BTC price lever).
    exogenous: MarketPath,
    /// The stressed base case.
    base: MarketPath,
    /// The path with a lever moved.
    moved: MarketPath,
    buffers: PathBuffers,
}

impl<'s> HeadroomSolver<'s> {
    /// The borrower of `scenario`, with its debt sized on the base case, and the base case
    /// with `stresses` applied.
    pub fn new(scenario: &'s Scenario, stresses: &[Stress]) -> Result<Self, CompileError> {
        let borrower = Borrower::with_base_path(scenario, &base_market_path(scenario))?;
        let exogenous = stressed_exogenous_path(scenario, stresses);
        let mut base = exogenous.clone();
        respond_to_prices(&mut base, &scenario.market);
        Ok(HeadroomSolver {
            market: &scenario.market,
            covenants: CovenantLevel::of(&borrower),
            buffers: PathBuffers::new(&borrower),
            moved: base.clone(),
            borrower,
            exogenous,
            base,
        })
    }

    /// The compiled borrower.
    pub fn borrower(&self) -> &Borrower {
        &self.borrower
    }

    /// The covenants searched, in the order of the results.
    pub fn covenants(&self) -> &[CovenantLevel] {
        &self.covenants
    }

    /// The stressed base case.
    pub fn base_path(&self) -> &MarketPath {
        &self.base
    }

    /// The stressed base case with `lever` × `multiplier` over the whole path.
    pub fn moved_path(&mut self, lever: Lever, multiplier: f64) -> &MarketPath {
        let scale = |values: &mut [f64]| values.iter_mut().for_each(|v| *v *= multiplier);
        let moved = &mut self.moved;
        match lever {
            Lever::BtcPrice => {
                moved.clone_from(&self.exogenous);
                scale(&mut moved.btc_price_usd);
                respond_to_prices(moved, self.market);
            }
            Lever::Hashprice => {
                moved.clone_from(&self.base);
                scale(&mut moved.subsidy_btc);
                scale(&mut moved.fees_btc_per_block);
            }
            Lever::GpuRent => {
                moved.clone_from(&self.base);
                scale(&mut moved.gpu_rent_index_usd_per_gpu_hour);
            }
            Lever::PowerPrice => {
                moved.clone_from(&self.base);
                scale(&mut moved.power_price_usd_per_mwh);
            }
        }
        moved
    }

    /// Runs the borrower with `lever` × `multiplier`, writes each covenant's first breach
    /// into `breaches` (in the order of [`HeadroomSolver::covenants`]) and returns the
    /// borrower's default, if any.
    pub fn first_breaches(
        &mut self,
        lever: Lever,
        multiplier: f64,
        breaches: &mut [Option<FirstBreach>],
    ) -> Option<DefaultEvent> {
        self.moved_path(lever, multiplier);
        let summary = run_path(&self.borrower, &self.moved, &mut self.buffers);
        for (breach, covenant) in breaches.iter_mut().zip(&self.covenants) {
            *breach = covenant.first_breach(&self.buffers, &summary);
        }
        summary.default
    }

    /// Every covenant against every lever (see [`headroom`]).
    pub fn solve(&mut self) -> Vec<CovenantHeadroom> {
        let count = self.covenants.len();
        if count == 0 {
            return Vec::new();
        }
        let mut at_base = vec![None; count];
        let summary = run_path(&self.borrower, &self.base, &mut self.buffers);
        for (breach, covenant) in at_base.iter_mut().zip(&self.covenants) {
            *breach = covenant.first_breach(&self.buffers, &summary);
        }
        let by_lever: Vec<Vec<Headroom>> = Lever::ALL
            .iter()
            .map(|&lever| self.search(lever, &at_base))
            .collect();
        let mut rows = Vec::with_capacity(count * Lever::ALL.len());
        for (c, covenant) in self.covenants.iter().enumerate() {
            for (&lever, found) in Lever::ALL.iter().zip(&by_lever) {
                rows.push(CovenantHeadroom {
                    instrument: self.borrower.debts[covenant.debt].name.clone(),
                    covenant: *covenant,
                    lever,
                    unit: lever.unit(),
                    base_level_at_start: lever.level_at_start(&self.base),
                    headroom: found[c],
                });
            }
        }
        rows
    }

    /// Every covenant's headroom against `lever`, given their breaches on the base case.
    fn search(&mut self, lever: Lever, at_base: &[Option<FirstBreach>]) -> Vec<Headroom> {
        let start = self.base.start_month;
        let month = |t: usize| start.plus_months(t as i32);
        let direction = if lever.adverse_when_rising() {
            1.0
        } else {
            -1.0
        };
        let step = direction * HEADROOM_SEARCH_RANGE.ln() / HEADROOM_GRID_STEPS as f64;
        let grid = |i: usize| (step * i as f64).exp();
        let count = self.covenants.len();
        // Per covenant: the first grid step that breaks it and its breach there, and whether a
        // later step does not break it; the first step at which the borrower defaults.
        let mut first_broken: Vec<Option<(usize, FirstBreach)>> = vec![None; count];
        let mut monotone = vec![true; count];
        let mut borrower_default_step = None;
        let mut breaches = vec![None; count];
        for i in 1..=HEADROOM_GRID_STEPS {
            let borrower_default = self.first_breaches(lever, grid(i), &mut breaches);
            if borrower_default.is_some() && borrower_default_step.is_none() {
                borrower_default_step = Some(i);
            }
            for c in 0..count {
                match (first_broken[c], breaches[c]) {
                    (None, Some(breach)) => first_broken[c] = Some((i, breach)),
                    (Some(_), None) => monotone[c] = false,
                    _ => {}
                }
            }
        }
        let base_level = lever.level_at_start(&self.base);
        let mut borrower_default_multiplier = None;
        (0..count)
            .map(|c| {
                if let Some(first) = at_base[c] {
                    return Headroom::BreaksInBaseCase {
                        month: month(first.month_index),
                        breach: first.breach,
                    };
                }
                let Some((i, first)) = first_broken[c] else {
                    if let (Some(i), None) = (borrower_default_step, borrower_default_multiplier) {
                        let (multiplier, _) = self.bisect(step, i, |solver, k| {
                            solver.first_breaches(lever, k, &mut breaches)
                        });
                        borrower_default_multiplier = Some(multiplier);
                    }
                    return Headroom::HoldsWithinRange {
                        searched_to_multiplier: grid(HEADROOM_GRID_STEPS),
                        borrower_default_multiplier,
                    };
                };
                let (multiplier, found) = self.bisect(step, i, |solver, k| {
                    solver.first_breaches(lever, k, &mut breaches);
                    breaches[c]
                });
                let first = found.unwrap_or(first);
                Headroom::Breaks {
                    multiplier,
                    headroom_percent: (multiplier - 1.0) * 100.0,
                    level_at_start: multiplier * base_level,
                    month: month(first.month_index),
                    breach: first.breach,
                    monotone: monotone[c],
                }
            })
            .collect()
    }

    /// Bisects in log `k` between grid steps `i` − 1 (`breaks_at` finds nothing) and `i` (it
    /// finds something) until the ends are within the tolerance; the breaking end and what
    /// was found there (none if that end is still the grid step).
    fn bisect<T>(
        &mut self,
        step: f64,
        i: usize,
        mut breaks_at: impl FnMut(&mut Self, f64) -> Option<T>,
    ) -> (f64, Option<T>) {
        let (mut holds, mut breaks) = (step * (i - 1) as f64, step * i as f64);
        let mut found = None;
        while (breaks - holds).abs() > HEADROOM_TOLERANCE.ln_1p() {
            let middle = 0.5 * (holds + breaks);
            match breaks_at(self, middle.exp()) {
                Some(at_middle) => {
                    breaks = middle;
                    found = Some(at_middle);
                }
                None => holds = middle,
            }
        }
        (breaks.exp(), found)
    }
}
