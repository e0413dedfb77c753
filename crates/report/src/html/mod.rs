//! The self-contained HTML reports of `project`, `simulate` and `portfolio`: a summary card,
//! charts as inline SVG, tables, the stress comparison and what is needed to reproduce the
//! run. No script, no network: each file is well-formed XHTML and prints with a print
//! stylesheet.
//!
//! * [`ProjectReport`]: a borrower's base case;
//! * [`SimulateReport`]: a borrower on many market paths;
//! * [`PortfolioReport`]: a lender's book;
//! * [`NetworkBacktestReport`]: the model's network against the real one.

mod backtest;
mod escape;
mod page;
mod portfolio;
mod project;
mod simulate;
mod svg;

use bitwatt_engine::Estimate;

pub use backtest::NetworkBacktestReport;
pub use escape::escape;
pub use portfolio::{BorrowerStressCases, PortfolioReport};
pub use project::ProjectReport;
pub use simulate::SimulateReport;
pub use svg::{Scale, Ticks, nice_ticks};

use crate::usd_millions;

/// A probability and its standard error in percent, as the text output prints it:
/// `4.25 % ± 0.30`.
pub fn percent(estimate: &Estimate) -> String {
    format!(
        "{:.2} % ± {:.2}",
        estimate.value * 100.0,
        estimate.standard_error * 100.0
    )
}

/// An amount and its standard error in millions of USD: `$1.2 M ± $0.1 M`.
pub fn usd_millions_estimate(estimate: &Estimate) -> String {
    format!(
        "{} ± {}",
        usd_millions(estimate.value),
        usd_millions(estimate.standard_error)
    )
}
