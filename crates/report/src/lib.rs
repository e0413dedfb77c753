//! Presentation of bitwatt's results for people: aligned text tables and numbers with
//! thousands separators.
//!
//! * [`Table`]: a column table, first column left-aligned, the others right-aligned;
//! * [`Facts`]: a two-column list of labelled values;
//! * [`thousands`]: a number rounded to fixed decimals with `,` between thousands;
//! * [`MonthlyTable`], [`monthly_csv`]: a projection's monthly table (every source and use,
//!   per instrument);
//! * [`borrower_workbook`], [`portfolio_workbook`]: workbooks for spreadsheets (`--xlsx`);
//! * [`utc_datetime`], [`utc_date`]: Unix seconds as calendar dates;
//! * [`cause_text`], [`rate_text`], [`liquidation_kind_text`], [`assumption_notes`]: how
//!   default causes, rates, liquidated collateral and the base case's assumptions read;
//! * [`json::ProjectJson`], [`json::SimulateJson`], [`json::PortfolioJson`]: the JSON
//!   documents of a base case, a simulation and a book;
//! * [`html::ProjectReport`], [`html::SimulateReport`], [`html::PortfolioReport`]: the
//!   self-contained HTML reports of a base case, a simulation and a book.
#![deny(missing_docs)]

pub mod html;
pub mod json;
mod monthly;
mod number;
mod table;
mod time;
mod words;
mod workbook;

pub use monthly::{MONTHLY_COLUMNS, MonthlyTable, monthly_csv};
pub use number::{thousands, thousands_or, usd_millions};
pub use table::{Facts, Table};
pub use time::{utc_date, utc_datetime};
pub use words::{assumption_notes, cause_text, liquidation_kind_text, rate_text};
pub use workbook::{WorkbookResult, borrower_workbook, portfolio_workbook};
