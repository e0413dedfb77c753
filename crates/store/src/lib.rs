//! The run history: every `project`, `simulate` and `portfolio` run recorded with what is
//! needed to understand and reproduce it — the input file's text and its resolved values, the
//! options, seed and paths, the version, start and end times, the summary metrics and the
//! report written — in an embedded SQLite database.
//!
//! * [`RunHistory`]: the database (WAL journal, one transaction per run, schema migrations
//!   by `PRAGMA user_version`); [`default_history_path`] is where it lives unless told;
//! * [`Run`], [`Metric`]: what a run records; [`RunSummary`]: a line of the list;
//! * [`RunDiff`]: how the metrics moved between two runs and which inputs changed.
#![deny(missing_docs)]

mod diff;
mod history;

pub use diff::{InputChange, MetricChange, RunDiff};
pub use history::{
    HISTORY_SCHEMA_VERSION, HistoryError, Metric, Run, RunHistory, RunId, RunSummary,
    default_history_path,
};
