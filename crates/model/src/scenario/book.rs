//! The book file: a lender's holdings in the debt of several borrowers, each a scenario, all
//! run on one market.
//!
//! ```toml
//! schema_version = 1
//! name = "Compute credit"
//! market = "miners/core-miner.toml"   # optional; default: the first borrower's scenario
//!
//! [[borrower]]
//! scenario = "miners/core-miner.toml" # relative to the book file's directory
//! share_percent = 25                  # of every instrument; default 100
//! [borrower.idiosyncratic]            # optional; replaces the scenario's [idiosyncratic]
//! site_outage_events_per_year = 0.5
//! site_outage_event_days = 5
//!
//! [[borrower]]
//! name = "GPU cloud"                  # optional; default: the scenario's name
//! [borrower.inline]                   # a whole scenario in the book, instead of a file
//! schema_version = 1
//! name = "GPU Cloud Inc."
//! # ...
//! [[borrower.holding]]                # per instrument; those not listed are not held
//! debt = "GPU DDTL"
//! notional_usd = 50_000_000
//! ```
//!
//! [`Book::from_toml`] reads and checks a book, reporting every problem at once
//! ([`BookErrors`]).

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

use super::{FieldError, Scenario};

/// The book file-format version this build reads.
pub const BOOK_SCHEMA_VERSION: u32 = 1;

/// A lender's book.
#[derive(Clone, Debug, PartialEq)]
pub struct Book {
    /// Book name shown in reports.
    pub name: String,
    /// The scenario whose market (start month, horizon, `[market]` incl. `[market.model]`)
    /// every borrower is run on.
    pub market: Scenario,
    /// The borrowers, in the file's order.
    pub borrowers: Vec<BookBorrower>,
}

/// One borrower of a [`Book`].
#[derive(Clone, Debug, PartialEq)]
pub struct BookBorrower {
    /// Unique within the book (default: the scenario's name).
    pub name: String,
    /// The borrower's own scenario: its debt is sized on its own base case. Its
    /// `idiosyncratic` table is the book's `[borrower.idiosyncratic]` where the book gives one.
    pub scenario: Scenario,
    /// The lender's holding in each of the scenario's debts, in the scenario's debt order (0
    /// for none).
    pub holdings: Vec<Holding>,
}

/// The lender's holding in one debt instrument.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Holding {
    /// Share of the instrument (fraction 0..=1).
    Share(f64),
    /// Notional held (USD), at most the instrument's commitment or principal.
    NotionalUsd(f64),
}

/// One problem in a book: in the book file itself, or in a scenario file it names.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BookError {
    /// The book key naming the scenario file the problem is in (`borrower[2].scenario`,
    /// `market`); empty for a problem in the book file itself.
    pub within: String,
    /// The scenario file the problem is in (the book's directory joined to the path the book
    /// gives); `None` for a problem in the book file itself.
    pub file: Option<PathBuf>,
    /// The problem; its line is in `file` where there is one, else in the book.
    pub problem: FieldError,
}

impl BookError {
    /// The problem as `BOOK:LINE: problem` for the book file at `book_file`, or as
    /// `borrower[2].scenario: FILE:LINE: problem` for a scenario file it names.
    pub fn located(&self, book_file: &str) -> String {
        match &self.file {
            None => self.problem.located(book_file),
            Some(file) => format!(
                "{}: {}",
                self.within,
                self.problem.located(&file.display().to_string())
            ),
        }
    }
}

impl fmt::Display for BookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.file {
            None => write!(f, "{}", self.problem),
            Some(_) => write!(f, "{}", self.located("")),
        }
    }
}

/// Every problem found in a book and the scenario files it names, in the order of the book's
/// lines; displayed one a line, as [`ScenarioErrors`](super::ScenarioErrors).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub struct BookErrors(pub Vec<BookError>);
