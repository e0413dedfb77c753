//! Helpers shared by the topic modules: scenarios from TOML, hand-made market paths, runs and
//! tolerant comparisons.

use bitwatt_engine::{Borrower, MarketPath, PathBuffers, PathSummary, run_path};
use bitwatt_model::{Scenario, YearMonth};

/// Parses and validates a scenario, panicking with every problem found.
pub fn scenario(text: &str) -> Scenario {
    Scenario::from_toml(text).unwrap_or_else(|errors| panic!("invalid scenario:\n{errors}"))
}

/// A month written `YYYY-MM`.
pub fn month(text: &str) -> YearMonth {
    text.parse().expect("a valid month")
}

/// A flat market path that makes hand computation easy: BTC at $50 000, no fees, 4 320 blocks
/// a month at 3.125 BTC, 1 000 EH/s, power at $0/MWh, SOFR 4 %, the GPU rent index at
/// $1/GPU-hour with every generation's factor 1 and full utilisation, calm, no intramonth dip.
pub fn flat_path(start: YearMonth, months: usize, generations: usize) -> MarketPath {
    let mut path = MarketPath::with_start(start);
    path.btc_price_usd = vec![50_000.0; months];
    path.fees_btc_per_block = vec![0.0; months];
    path.network_hashrate_hs = vec![1e21; months];
    path.difficulty = vec![1.4e14; months];
    path.blocks = vec![4_320.0; months];
    path.subsidy_btc = vec![4_320.0 * 3.125; months];
    path.end_height = (0..months)
        .map(|t| 1_000_000 + 4_320 * (t as u32 + 1))
        .collect();
    path.frontier_efficiency_j_per_th = vec![12.0; months];
    path.gpu_rent_index_usd_per_gpu_hour = vec![1.0; months];
    path.generation_rent_factor = vec![1.0; generations * months];
    path.ai_utilisation = vec![1.0; months];
    path.ai_demand = vec![1.0; months];
    path.power_price_usd_per_mwh = vec![0.0; months];
    path.sofr = vec![0.04; months];
    path.stress = vec![false; months];
    path.btc_low_usd = vec![50_000.0; months];
    path.liquidation_depth_factor = vec![1.0; months];
    path.gpu_resale_factor = vec![1.0; months];
    path.tenant_hazard_factor = vec![1.0; months];
    path.extra_outage_days = vec![0.0; months];
    path
}

/// The flat path for a scenario's start, horizon and GPU generations.
pub fn flat_path_for(scenario: &Scenario) -> MarketPath {
    flat_path(
        scenario.first_month(),
        scenario.horizon_months as usize,
        scenario.market.gpu.generations.len(),
    )
}

/// A compiled borrower run on `market` (which also sizes any sculpted debt).
pub struct Run {
    pub borrower: Borrower,
    pub buffers: PathBuffers,
    pub summary: PathSummary,
}

impl Run {
    /// The borrower of `scenario` compiled on `market` and run on it.
    pub fn new(scenario: &Scenario, market: &MarketPath) -> Run {
        let borrower = Borrower::with_base_path(scenario, market).expect("compiles");
        let mut buffers = PathBuffers::new(&borrower);
        let summary = run_path(&borrower, market, &mut buffers);
        Run {
            borrower,
            buffers,
            summary,
        }
    }

    /// Instrument `debt`'s row in month `t`.
    pub fn debt(&self, t: usize, debt: usize) -> &bitwatt_engine::DebtMonth {
        &self.buffers.debt_rows[t * self.borrower.debts.len() + debt]
    }

    /// Consolidated row of month `t`.
    pub fn row(&self, t: usize) -> &bitwatt_engine::MonthRow {
        &self.buffers.rows[t]
    }
}

/// Asserts `actual` equals `expected` to 1e-9 relative (absolute below 1).
#[track_caller]
pub fn assert_close(actual: f64, expected: f64, what: &str) {
    let tolerance = 1e-9 * expected.abs().max(1.0);
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: got {actual}, expected {expected} (difference {})",
        actual - expected
    );
}

/// Asserts an optional ratio is present and equals `expected` to 1e-9 relative.
#[track_caller]
pub fn assert_some_close(actual: Option<f64>, expected: f64, what: &str) {
    match actual {
        Some(value) => assert_close(value, expected, what),
        None => panic!("{what}: got None, expected {expected}"),
    }
}

/// Runs `f` on a rayon pool of `threads` threads.
pub fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}
