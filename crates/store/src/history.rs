//! The SQLite database of runs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use thiserror::Error;

/// The schema version this build writes (`PRAGMA user_version`).
pub const HISTORY_SCHEMA_VERSION: i64 = 1;

/// How long a run waits for another process holding the database's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Version 1: the runs and their metrics (in the order the run reported them).
const SCHEMA_V1: &str = "
CREATE TABLE runs (
    id INTEGER PRIMARY KEY,
    command TEXT NOT NULL,
    name TEXT NOT NULL,
    seed TEXT,
    paths INTEGER,
    version TEXT NOT NULL,
    started_at_unix_s INTEGER NOT NULL,
    finished_at_unix_s INTEGER NOT NULL,
    complete INTEGER NOT NULL,
    input_text TEXT NOT NULL,
    inputs_json TEXT NOT NULL,
    options_json TEXT NOT NULL,
    report_path TEXT
);
CREATE TABLE run_metrics (
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (run_id, position)
);
CREATE INDEX run_metrics_by_name ON run_metrics(name, run_id);
";

/// A problem with the run history.
#[derive(Debug, Error)]
pub enum HistoryError {
    /// The database could not be opened, read or written.
    #[error("run history {path}: {source}")]
    Database {
        /// The database file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// The directory of the database could not be created.
    #[error("run history {path}: cannot create its directory: {source}")]
    Directory {
        /// The database file.
        path: PathBuf,
        /// What the file system said.
        #[source]
        source: std::io::Error,
    },
    /// The database was written by a newer version.
    #[error(
        "run history {path}: schema version {found}, newer than this build's \
         {HISTORY_SCHEMA_VERSION}; use a newer bitwatt or another --db"
    )]
    NewerSchema {
        /// The database file.
        path: PathBuf,
        /// Its `user_version`.
        found: i64,
    },
    /// A stored value cannot be read back (the file was edited by hand).
    #[error("run history {path}: run {id}: {what}")]
    Corrupt {
        /// The database file.
        path: PathBuf,
        /// The run.
        id: RunId,
        /// What is wrong.
        what: String,
    },
}

/// A run's number in the history (1, 2, …; never reused).
pub type RunId = i64;

/// One named summary metric of a run. `None` when the run has no value for it (for instance
/// an LGD without any default); non-finite values are stored as `None`.
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    /// Its name, with its unit (`pd_to_horizon`, `expected_loss_usd`, …).
    pub name: String,
    /// Its value.
    pub value: Option<f64>,
}

impl Metric {
    /// A metric; a non-finite value is kept as missing.
    pub fn new(name: impl Into<String>, value: f64) -> Metric {
        Metric {
            name: name.into(),
            value: value.is_finite().then_some(value),
        }
    }

    /// The metrics of `(name, value)` pairs, in their order.
    pub fn list(values: impl IntoIterator<Item = (String, f64)>) -> Vec<Metric> {
        values
            .into_iter()
            .map(|(name, value)| Metric::new(name, value))
            .collect()
    }
}

/// Everything a run records.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The command (`project`, `simulate`, `portfolio`, `merge`).
    pub command: String,
    /// The scenario's or book's name.
    pub name: String,
    /// The seed of the random numbers (Monte Carlo runs).
    pub seed: Option<u64>,
    /// The number of paths asked for (Monte Carlo runs).
    pub paths: Option<u64>,
    /// bitwatt's version.
    pub version: String,
    /// When the run started (Unix seconds).
    pub started_at_unix_s: i64,
    /// When it finished.
    pub finished_at_unix_s: i64,
    /// Whether it ran to the end (false: stopped early, the metrics cover the paths done).
    pub complete: bool,
    /// The input file's text as read (a scenario or a book), to reproduce the run.
    pub input_text: String,
    /// The inputs as resolved (defaults filled in), compared by [`crate::RunDiff`].
    pub inputs: serde_json::Value,
    /// The options that change the result (stresses, liquidation, shard…), as given.
    pub options: Vec<(String, String)>,
    /// The summary metrics, in the order the command reports them.
    pub metrics: Vec<Metric>,
    /// The HTML report written, if any.
    pub report_path: Option<String>,
}

/// A run as listed: when, what, and its first metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    /// Its number.
    pub id: RunId,
    /// The command.
    pub command: String,
    /// The scenario's or book's name.
    pub name: String,
    /// Seed (Monte Carlo runs).
    pub seed: Option<u64>,
    /// Paths asked for (Monte Carlo runs).
    pub paths: Option<u64>,
    /// When it started (Unix seconds).
    pub started_at_unix_s: i64,
    /// How long it took (seconds).
    pub duration_s: i64,
    /// Whether it ran to the end.
    pub complete: bool,
    /// Its first two metrics.
    pub headline: Vec<Metric>,
}

/// The run history database.
pub struct RunHistory {
    connection: Connection,
    path: PathBuf,
}

/// Where the run history lives by default: `bitwatt/history.sqlite3` in the platform's data
/// directory (`$XDG_DATA_HOME`, else `~/.local/share`, on Linux); `None` where the platform
/// has none.
pub fn default_history_path() -> Option<PathBuf> {
    dirs::data_dir().map(|dir| dir.join("bitwatt").join("history.sqlite3"))
}

impl RunHistory {
    /// Opens the database at `path`, creating it (and its directory) if needed and bringing
    /// its schema up to date.
    pub fn open(path: &Path) -> Result<RunHistory, HistoryError> {
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| HistoryError::Directory {
                path: path.to_path_buf(),
                source,
            })?;
        }
        let database = |source| HistoryError::Database {
            path: path.to_path_buf(),
            source,
        };
        let connection = Connection::open(path).map_err(database)?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(database)?;
        // WAL: a process killed mid-write leaves the last committed state; NORMAL sync is
        // durable against a crashed process (only a power loss may drop the last run).
        connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
            .map_err(database)?;
        connection
            .execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .map_err(database)?;
        let mut history = RunHistory {
            connection,
            path: path.to_path_buf(),
        };
        history.migrate()?;
        Ok(history)
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&self, source: rusqlite::Error) -> HistoryError {
        HistoryError::Database {
            path: self.path.clone(),
            source,
        }
    }

    /// Brings the schema to [`HISTORY_SCHEMA_VERSION`], each step in its own transaction.
    fn migrate(&mut self) -> Result<(), HistoryError> {
        let version: i64 = self
            .connection
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(|e| self.error(e))?;
        if version > HISTORY_SCHEMA_VERSION {
            return Err(HistoryError::NewerSchema {
                path: self.path.clone(),
                found: version,
            });
        }
        if version < 1 {
            let path = self.path.clone();
            let database = |source| HistoryError::Database {
                path: path.clone(),
                source,
            };
            let transaction = self.connection.transaction().map_err(database)?;
            transaction.execute_batch(SCHEMA_V1).map_err(database)?;
            transaction
                .pragma_update(None, "user_version", 1)
                .map_err(database)?;
            transaction.commit().map_err(database)?;
        }
        Ok(())
    }

    /// Records `run` in one transaction and returns its number.
    pub fn record(&mut self, run: &Run) -> Result<RunId, HistoryError> {
        let path = self.path.clone();
        let database = |source| HistoryError::Database {
            path: path.clone(),
            source,
        };
        let options = serde_json::Value::Array(
            run.options
                .iter()
                .map(|(name, value)| serde_json::json!([name, value]))
                .collect(),
        );
        let paths = run
            .paths
            .map(|paths| i64::try_from(paths).unwrap_or(i64::MAX));
        let transaction = self.connection.transaction().map_err(database)?;
        transaction
            .execute(
                "INSERT INTO runs (command, name, seed, paths, version, started_at_unix_s,
                    finished_at_unix_s, complete, input_text, inputs_json, options_json,
                    report_path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    run.command,
                    run.name,
                    run.seed.map(|seed| seed.to_string()),
                    paths,
                    run.version,
                    run.started_at_unix_s,
                    run.finished_at_unix_s,
                    run.complete,
                    run.input_text,
                    run.inputs.to_string(),
                    options.to_string(),
                    run.report_path,
                ],
            )
            .map_err(database)?;
        let id = transaction.last_insert_rowid();
        {
            let mut insert = transaction
                .prepare(
                    "INSERT INTO run_metrics (run_id, position, name, value)
                     VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(database)?;
            for (position, metric) in run.metrics.iter().enumerate() {
                insert
                    .execute(params![id, position as i64, metric.name, metric.value])
                    .map_err(database)?;
            }
        }
        transaction.commit().map_err(database)?;
        Ok(id)
    }

    /// The last `limit` runs, newest first.
    pub fn list(&self, limit: usize) -> Result<Vec<RunSummary>, HistoryError> {
        let mut statement = self
            .connection
            .prepare(
                "SELECT id, command, name, seed, paths, started_at_unix_s, finished_at_unix_s,
                        complete
                 FROM runs ORDER BY id DESC LIMIT ?1",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([i64::try_from(limit).unwrap_or(i64::MAX)], |row| {
                Ok((
                    row.get::<_, RunId>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                    row.get::<_, Option<i64>>(4)?,
                    row.get::<_, i64>(5)?,
                    row.get::<_, i64>(6)?,
                    row.get::<_, bool>(7)?,
                ))
            })
            .map_err(|e| self.error(e))?;
        let mut summaries = Vec::new();
        for row in rows {
            let (id, command, name, seed, paths, started, finished, complete) =
                row.map_err(|e| self.error(e))?;
            let mut headline = self.metrics(id)?;
            headline.truncate(2);
            summaries.push(RunSummary {
                id,
                command,
                name,
                seed: self.seed(id, seed)?,
                paths: paths.map(|paths| paths.max(0) as u64),
                started_at_unix_s: started,
                duration_s: finished - started,
                complete,
                headline,
            });
        }
        Ok(summaries)
    }

    /// Run `id`, or `None` when there is no such run.
    pub fn get(&self, id: RunId) -> Result<Option<Run>, HistoryError> {
        let row = self
            .connection
            .query_row(
                "SELECT command, name, seed, paths, version, started_at_unix_s,
                        finished_at_unix_s, complete, input_text, inputs_json, options_json,
                        report_path
                 FROM runs WHERE id = ?1",
                [id],
                |row| {
                    Ok((
                        (
                            row.get::<_, String>(0)?,
                            row.get::<_, String>(1)?,
                            row.get::<_, Option<String>>(2)?,
                            row.get::<_, Option<i64>>(3)?,
                            row.get::<_, String>(4)?,
                        ),
                        (
                            row.get::<_, i64>(5)?,
                            row.get::<_, i64>(6)?,
                            row.get::<_, bool>(7)?,
                        ),
                        (
                            row.get::<_, String>(8)?,
                            row.get::<_, String>(9)?,
                            row.get::<_, String>(10)?,
                            row.get::<_, Option<String>>(11)?,
                        ),
                    ))
                },
            )
            .optional()
            .map_err(|e| self.error(e))?;
        let Some((
            (command, name, seed, paths, version),
            (started_at_unix_s, finished_at_unix_s, complete),
            (input_text, inputs_json, options_json, report_path),
        )) = row
        else {
            return Ok(None);
        };
        let corrupt = |what: String| HistoryError::Corrupt {
            path: self.path.clone(),
            id,
            what,
        };
        let inputs = serde_json::from_str(&inputs_json)
            .map_err(|e| corrupt(format!("inputs are not JSON: {e}")))?;
        let options: Vec<(String, String)> = serde_json::from_str(&options_json)
            .map_err(|e| corrupt(format!("options are not a list of pairs: {e}")))?;
        Ok(Some(Run {
            command,
            name,
            seed: self.seed(id, seed)?,
            paths: paths.map(|paths| paths.max(0) as u64),
            version,
            started_at_unix_s,
            finished_at_unix_s,
            complete,
            input_text,
            inputs,
            options,
            metrics: self.metrics(id)?,
            report_path,
        }))
    }

    fn seed(&self, id: RunId, seed: Option<String>) -> Result<Option<u64>, HistoryError> {
        seed.map(|text| {
            text.parse().map_err(|_| HistoryError::Corrupt {
                path: self.path.clone(),
                id,
                what: format!("seed {text:?} is not an unsigned integer"),
            })
        })
        .transpose()
    }

    fn metrics(&self, id: RunId) -> Result<Vec<Metric>, HistoryError> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT name, value FROM run_metrics WHERE run_id = ?1 ORDER BY position",
            )
            .map_err(|e| self.error(e))?;
        let rows = statement
            .query_map([id], |row| {
                Ok(Metric {
                    name: row.get(0)?,
                    value: row.get(1)?,
                })
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.error(e))
    }

    /// SQLite's own check of the file: `Ok` when it reports no problem.
    pub fn integrity_check(&self) -> Result<(), HistoryError> {
        let verdict: String = self
            .connection
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .map_err(|e| self.error(e))?;
        if verdict == "ok" {
            Ok(())
        } else {
            Err(HistoryError::Corrupt {
                path: self.path.clone(),
                id: 0,
                what: format!("integrity check: {verdict}"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("bitwatt-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir.join("nested").join("history.sqlite3")
    }

    pub(crate) fn run(name: &str, pd: f64) -> Run {
        Run {
            command: "simulate".to_string(),
            name: name.to_string(),
            seed: Some(u64::MAX),
            paths: Some(10_000),
            version: "0.1.0".to_string(),
            started_at_unix_s: 1_795_000_000,
            finished_at_unix_s: 1_795_000_042,
            complete: true,
            input_text: "name = \"x\"\n".to_string(),
            inputs: serde_json::json!({"market": {"btc_price_usd": 90_000.0}}),
            options: vec![("stress".to_string(), "hashprice-collapse".to_string())],
            metrics: vec![
                Metric::new("pd_to_horizon", pd),
                Metric::new("expected_loss_usd", 1.5e6),
                Metric::new("lgd", f64::NAN),
            ],
            report_path: Some("report.html".to_string()),
        }
    }

    #[test]
    fn a_run_reads_back_as_recorded() {
        let path = scratch("round-trip");
        let mut history = RunHistory::open(&path).unwrap();
        let first = history.record(&run("a", 0.1)).unwrap();
        let second = history.record(&run("b", 0.2)).unwrap();
        assert_eq!((first, second), (1, 2));
        assert_eq!(history.get(2).unwrap().unwrap(), run("b", 0.2));
        assert_eq!(history.get(3).unwrap(), None);
        let listed = history.list(10).unwrap();
        assert_eq!(
            listed.iter().map(|run| run.id).collect::<Vec<_>>(),
            vec![2, 1]
        );
        assert_eq!(listed[1].duration_s, 42);
        assert_eq!(listed[1].seed, Some(u64::MAX));
        assert_eq!(listed[1].headline, run("a", 0.1).metrics[..2]);
        assert_eq!(history.list(1).unwrap().len(), 1);
        history.integrity_check().unwrap();
    }

    #[test]
    fn reopening_keeps_runs_and_uses_wal() {
        let path = scratch("reopen");
        RunHistory::open(&path)
            .unwrap()
            .record(&run("a", 0.1))
            .unwrap();
        let history = RunHistory::open(&path).unwrap();
        assert_eq!(history.list(10).unwrap().len(), 1);
        let mode: String = history
            .connection
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let path = scratch("newer");
        let history = RunHistory::open(&path).unwrap();
        history
            .connection
            .pragma_update(None, "user_version", HISTORY_SCHEMA_VERSION + 1)
            .unwrap();
        drop(history);
        let error = RunHistory::open(&path).err().unwrap().to_string();
        assert!(error.contains("schema version 2, newer"), "{error}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error() {
        let path = scratch("not-a-database");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(
            &path,
            "this is not SQLite, just text long enough to be a header",
        )
        .unwrap();
        let error = RunHistory::open(&path).err().unwrap().to_string();
        assert!(error.starts_with("run history "), "{error}");
    }
}
