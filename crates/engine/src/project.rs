//! The deterministic projection: a scenario's borrower on its base-case market path.

use bitwatt_model::Scenario;

use crate::borrower::{Borrower, CompileError};
use crate::market::{MarketPath, base_market_path};
use crate::waterfall::{DebtMonth, MonthRow, PathBuffers, PathSummary, run_path};

/// A borrower run on the base case, with every month kept.
#[derive(Clone, Debug)]
pub struct Projection {
    /// The compiled borrower (debt as sized at close).
    pub borrower: Borrower,
    /// The base-case market path.
    pub market: MarketPath,
    /// Consolidated months (up to the horizon or the default).
    pub months: Vec<MonthRow>,
    /// Each instrument's months, `[month · instruments + instrument]`.
    pub debt_months: Vec<DebtMonth>,
    /// The path's summary.
    pub summary: PathSummary,
    /// Annualised equity IRR (see [`PathBuffers::equity_irr`]).
    pub equity_irr: Option<f64>,
}

impl Projection {
    /// The months of instrument `debt`.
    pub fn debt_months_of(&self, debt: usize) -> impl Iterator<Item = &DebtMonth> {
        let count = self.borrower.debts.len();
        self.debt_months.iter().skip(debt).step_by(count.max(1))
    }
}

/// Runs a validated scenario's borrower on its base case.
pub fn project(scenario: &Scenario) -> Result<Projection, CompileError> {
    let market = base_market_path(scenario);
    let borrower = Borrower::with_base_path(scenario, &market)?;
    let mut buffers = PathBuffers::new(&borrower);
    let summary = run_path(&borrower, &market, &mut buffers);
    let equity_irr = buffers.equity_irr();
    Ok(Projection {
        borrower,
        market,
        months: buffers.rows,
        debt_months: buffers.debt_rows,
        summary,
        equity_irr,
    })
}
