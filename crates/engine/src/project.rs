//! The deterministic projection: a scenario's borrower on its base-case market path.

use bitwatt_model::Scenario;

use crate::borrower::{Borrower, CompileError};
use crate::market::{MarketPath, base_market_path, stressed_market_path};
use crate::recovery::{LiquidationPrices, Recoveries};
use crate::stress::{Stress, StressKind};
use crate::waterfall::{DebtMonth, MonthRow, PathBuffers, PathSummary, recover, run_path};

/// A borrower run on the base case (or a stressed base case), with every month kept.
#[derive(Clone, Debug)]
pub struct Projection {
    /// The compiled borrower (debt as sized at close).
    pub borrower: Borrower,
    /// The market path it ran on.
    pub market: MarketPath,
    /// Consolidated months (up to the horizon or the default).
    pub months: Vec<MonthRow>,
    /// Each instrument's months, `[month · instruments + instrument]`.
    pub debt_months: Vec<DebtMonth>,
    /// The path's summary.
    pub summary: PathSummary,
    /// Annualised equity IRR (see [`PathBuffers::equity_irr`]).
    pub equity_irr: Option<f64>,
    /// What the lenders recover when the path defaults: the defaulted entities' assets sold
    /// into the scenario's liquidation markets, thinned as the path's regime says.
    pub recoveries: Option<Recoveries>,
}

impl Projection {
    /// The months of instrument `debt`.
    pub fn debt_months_of(&self, debt: usize) -> impl Iterator<Item = &DebtMonth> {
        let count = self.borrower.debts.len();
        self.debt_months.iter().skip(debt).step_by(count.max(1))
    }
}

/// Runs a validated scenario's borrower on its base case with `stresses` applied in order
/// (none: the base case itself). Debt is sized on the unstressed base case, as at close.
pub fn project(scenario: &Scenario, stresses: &[Stress]) -> Result<Projection, CompileError> {
    let base = base_market_path(scenario);
    let borrower = Borrower::with_base_path(scenario, &base)?;
    let market = if stresses.is_empty() {
        base
    } else {
        stressed_market_path(scenario, stresses)
    };
    let mut buffers = PathBuffers::new(&borrower);
    let summary = run_path(&borrower, &market, &mut buffers);
    let equity_irr = buffers.equity_irr();
    let recoveries = summary
        .debt_outcomes()
        .iter()
        .any(|outcome| outcome.default.is_some())
        .then(|| {
            let prices = LiquidationPrices::for_estate(
                &summary.estate,
                &borrower.liquidation_markets,
                &market.liquidation_depth_factor,
            );
            recover(&summary, &prices)
        });
    Ok(Projection {
        borrower,
        market,
        months: buffers.rows,
        debt_months: buffers.debt_rows,
        summary,
        equity_irr,
        recoveries,
    })
}
/// One case of a stress comparison: the base case under some stresses.
#[derive(Clone, Debug)]
pub struct StressCase {
    /// What was applied, in words: `base case`, a stress's name, or the run's stresses.
    pub label: String,
    /// The stresses applied, in order.
    pub stresses: Vec<Stress>,
    /// The base case under them.
    pub projection: Projection,
}

/// The stress comparison of a scenario: its base case, then the base case under each stress
/// of the library alone (its window opening in the first projected month), then under
/// `run_stresses` when they are not one of those alone.
pub fn stress_comparison(
    scenario: &Scenario,
    run_stresses: &[Stress],
) -> Result<Vec<StressCase>, CompileError> {
    let mut cases: Vec<(String, Vec<Stress>)> = vec![("base case".to_string(), Vec::new())];
    for kind in StressKind::ALL {
        let stress = Stress {
            kind,
            start_month: None,
        };
        cases.push((kind.name().to_string(), vec![stress]));
    }
    if !run_stresses.is_empty() && !cases.iter().any(|(_, stresses)| stresses == run_stresses) {
        let names: Vec<String> = run_stresses.iter().map(Stress::to_string).collect();
        cases.push((names.join(" then "), run_stresses.to_vec()));
    }
    cases
        .into_iter()
        .map(|(label, stresses)| {
            Ok(StressCase {
                projection: project(scenario, &stresses)?,
                label,
                stresses,
            })
        })
        .collect()
}
