//! The run history: `project`, `simulate`, `portfolio` and `merge` record each run (inputs,
//! options, summary metrics) in an embedded SQLite database; `bitwatt runs list | show ID |
//! diff A B` read it back.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Result;
use bitwatt_report::{Facts, Table, thousands, utc_datetime};
use bitwatt_store::{Metric, Run, RunDiff, RunHistory, RunId, default_history_path};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::args::BadInput;
use crate::output::json;

/// Where a run is recorded: the options every recorded command takes.
#[derive(Args, Clone, Debug, Default)]
pub struct HistoryArgs {
    /// Run history database (default: bitwatt/history.sqlite3 in the user's data directory,
    /// e.g. ~/.local/share on Linux).
    #[arg(long, value_name = "FILE.sqlite3", conflicts_with = "no_history")]
    db: Option<PathBuf>,
    /// Do not record this run in the run history.
    #[arg(long)]
    no_history: bool,
}

/// The history opened at the start of a run, to record it at its end.
pub struct Recorder {
    history: RunHistory,
    started_at_unix_s: i64,
}

/// What a command tells the history about its run; the recorder adds the version and times.
pub struct RunRecord {
    /// The command.
    pub command: &'static str,
    /// The scenario's or book's name.
    pub name: String,
    /// Seed (Monte Carlo runs).
    pub seed: Option<u64>,
    /// Paths asked for (Monte Carlo runs).
    pub paths: Option<u64>,
    /// Whether it ran to the end.
    pub complete: bool,
    /// The input file's text as read.
    pub input_text: String,
    /// The resolved inputs.
    pub inputs: serde_json::Value,
    /// The options that change the result.
    pub options: Vec<(String, String)>,
    /// The summary metrics.
    pub metrics: Vec<Metric>,
    /// The HTML report written, if any.
    pub report_path: Option<PathBuf>,
}

fn now_unix_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

impl HistoryArgs {
    /// The database to use: `--db`, else the default location (`None` with `--no-history`
    /// or where the platform has no data directory).
    fn path(&self) -> Option<PathBuf> {
        if self.no_history {
            return None;
        }
        self.db.clone().or_else(default_history_path)
    }

    /// Opens the history at the start of a run. A database named by `--db` that cannot be
    /// opened is an error before anything runs; the default one only warns (the run goes on
    /// unrecorded).
    pub fn open(&self) -> Result<Option<Recorder>> {
        let Some(path) = self.path() else {
            return Ok(None);
        };
        match RunHistory::open(&path) {
            Ok(history) => Ok(Some(Recorder {
                history,
                started_at_unix_s: now_unix_s(),
            })),
            Err(error) if self.db.is_some() => Err(BadInput(error.to_string()).into()),
            Err(error) => {
                eprintln!("warning: {error}; this run is not recorded (--no-history to skip)");
                Ok(None)
            }
        }
    }

    /// The database a long-running server records in, checked as [`HistoryArgs::open`]
    /// checks it (`None`: not recorded).
    #[cfg(feature = "dashboard")]
    pub fn checked_path(&self) -> Result<Option<PathBuf>> {
        Ok(self
            .open()?
            .map(|recorder| recorder.history.path().to_path_buf()))
    }

    /// Opens the history for reading (`bitwatt runs`).
    fn open_for_reading(&self) -> Result<RunHistory> {
        let path = self.path().ok_or_else(|| {
            BadInput("no data directory on this platform: give --db FILE.sqlite3".to_string())
        })?;
        RunHistory::open(&path).map_err(|error| BadInput(error.to_string()).into())
    }
}

impl Recorder {
    /// Records the finished run in one transaction; a failure is a warning (the result is
    /// printed all the same).
    pub fn record(mut self, run: RunRecord) {
        let run = Run {
            command: run.command.to_string(),
            name: run.name,
            seed: run.seed,
            paths: run.paths,
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at_unix_s: self.started_at_unix_s,
            finished_at_unix_s: now_unix_s(),
            complete: run.complete,
            input_text: run.input_text,
            inputs: run.inputs,
            options: run.options,
            metrics: run.metrics,
            report_path: run
                .report_path
                .map(|path| absolute(&path).display().to_string()),
        };
        if let Err(error) = self.history.record(&run) {
            eprintln!("warning: {error}; this run is not recorded");
        }
    }
}

/// `path` made absolute (against the current directory), so the history finds it later.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// `(name, value)` pairs of an option given several times.
pub fn repeated_option(name: &str, values: &[String]) -> Vec<(String, String)> {
    values
        .iter()
        .map(|value| (name.to_string(), value.clone()))
        .collect()
}

/// `bitwatt runs`: the run history.
#[derive(Subcommand)]
pub enum RunsCommand {
    /// The latest runs, newest first.
    List {
        /// How many runs to show.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        #[command(flatten)]
        history: HistoryArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// One run: when, what, its options, metrics and report; `--input` prints only the input
    /// file as recorded, to run it again.
    Show {
        /// The run's number (`runs list`).
        id: RunId,
        /// Print only the input file's text.
        #[arg(long, conflicts_with = "json")]
        input: bool,
        #[command(flatten)]
        history: HistoryArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// How the metrics moved from run A to run B, and which inputs changed.
    Diff {
        /// The first run.
        a: RunId,
        /// The second run.
        b: RunId,
        #[command(flatten)]
        history: HistoryArgs,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Runs `bitwatt runs …`.
pub fn run(command: RunsCommand) -> Result<String> {
    match command {
        RunsCommand::List {
            limit,
            history,
            json: as_json,
        } => list(&history.open_for_reading()?, limit, as_json),
        RunsCommand::Show {
            id,
            input,
            history,
            json: as_json,
        } => {
            let history = history.open_for_reading()?;
            let run = get(&history, id)?;
            if input {
                Ok(run.input_text)
            } else if as_json {
                json(&RunJson::of(id, &run))
            } else {
                Ok(render_run(id, &run))
            }
        }
        RunsCommand::Diff {
            a,
            b,
            history,
            json: as_json,
        } => {
            let history = history.open_for_reading()?;
            let (first, second) = (get(&history, a)?, get(&history, b)?);
            let diff = RunDiff::between(&first, &second);
            if as_json {
                json(&DiffJson::of(a, b, &diff))
            } else {
                Ok(render_diff(a, b, &diff))
            }
        }
    }
}

fn get(history: &RunHistory, id: RunId) -> Result<Run> {
    history.get(id)?.ok_or_else(|| {
        BadInput(format!(
            "run {id}: no such run in {}",
            history.path().display()
        ))
        .into()
    })
}

/// A metric's value as its unit (the end of its name) reads.
fn metric_text(name: &str, value: Option<f64>) -> String {
    let Some(value) = value else {
        return "—".to_string();
    };
    if name.ends_with("_usd") {
        format!("${}", thousands(value, 0))
    } else if name.ends_with("_percent") {
        format!("{value:.2} %")
    } else if name.ends_with("_bp") {
        format!("{value:.1} bp")
    } else if name.ends_with("_months") || name.ends_with("_count") {
        thousands(value, 0)
    } else {
        format!("{value:.3}")
    }
}

/// A change of a metric: signed, in the metric's unit (points for percentages).
fn change_text(name: &str, change: Option<f64>) -> String {
    match change {
        None => "—".to_string(),
        Some(change) if name.ends_with("_percent") => format!("{change:+.2} pt"),
        Some(change) => {
            let text = metric_text(name, Some(change.abs()));
            let sign = if change < 0.0 { "-" } else { "+" };
            format!("{sign}{text}")
        }
    }
}

fn list(history: &RunHistory, limit: usize, as_json: bool) -> Result<String> {
    let runs = history.list(limit)?;
    if as_json {
        #[derive(Serialize)]
        struct ListJson {
            database: String,
            runs: Vec<RunLineJson>,
        }
        #[derive(Serialize)]
        struct RunLineJson {
            id: RunId,
            command: String,
            name: String,
            seed: Option<u64>,
            paths: Option<u64>,
            started_at_unix_s: i64,
            duration_s: i64,
            complete: bool,
            headline: Vec<MetricJson>,
        }
        return json(&ListJson {
            database: history.path().display().to_string(),
            runs: runs
                .into_iter()
                .map(|run| RunLineJson {
                    id: run.id,
                    command: run.command,
                    name: run.name,
                    seed: run.seed,
                    paths: run.paths,
                    started_at_unix_s: run.started_at_unix_s,
                    duration_s: run.duration_s,
                    complete: run.complete,
                    headline: run.headline.iter().map(MetricJson::of).collect(),
                })
                .collect(),
        });
    }
    if runs.is_empty() {
        return Ok(format!(
            "no runs recorded in {}\n",
            history.path().display()
        ));
    }
    let mut table = Table::new([
        "run", "started", "command", "name", "paths", "seed", "seconds", "headline",
    ]);
    for run in &runs {
        let headline: Vec<String> = run
            .headline
            .iter()
            .map(|metric| {
                format!(
                    "{} {}",
                    metric.name,
                    metric_text(&metric.name, metric.value)
                )
            })
            .collect();
        let mut headline = headline.join(", ");
        if !run.complete {
            headline.push_str(" (stopped early)");
        }
        table.row(vec![
            run.id.to_string(),
            utc_datetime(run.started_at_unix_s),
            run.command.clone(),
            run.name.clone(),
            run.paths
                .map_or(String::new(), |paths| thousands(paths as f64, 0)),
            run.seed.map_or(String::new(), |seed| seed.to_string()),
            run.duration_s.to_string(),
            headline,
        ]);
    }
    Ok(format!("{}\n{}", history.path().display(), table.render()))
}

fn render_run(id: RunId, run: &Run) -> String {
    let mut facts = Facts::new();
    facts.add("Command", run.command.clone());
    facts.add("Name", run.name.clone());
    facts.add(
        "Started",
        format!(
            "{} ({} s)",
            utc_datetime(run.started_at_unix_s),
            run.finished_at_unix_s - run.started_at_unix_s
        ),
    );
    facts.add("Version", run.version.clone());
    if let Some(paths) = run.paths {
        facts.add("Paths", thousands(paths as f64, 0));
    }
    if let Some(seed) = run.seed {
        facts.add("Seed", seed.to_string());
    }
    for (name, value) in &run.options {
        facts.add(format!("--{name}"), value.clone());
    }
    if !run.complete {
        facts.add(
            "Complete",
            "no: stopped early; the metrics cover the paths done",
        );
    }
    if let Some(path) = &run.report_path {
        facts.add("Report", path.clone());
    }
    let mut table = Table::new(["metric", "value"]);
    for metric in &run.metrics {
        table.row(vec![
            metric.name.clone(),
            metric_text(&metric.name, metric.value),
        ]);
    }
    format!(
        "run {id}\n\n{}\n{}\nThe input file: bitwatt runs show {id} --input\n",
        facts.render(),
        table.render()
    )
}

fn render_diff(a: RunId, b: RunId, diff: &RunDiff) -> String {
    let mut out = format!("run {a} → run {b}\n\n");
    let (head_a, head_b) = (format!("run {a}"), format!("run {b}"));
    let mut metrics = Table::new(["metric", head_a.as_str(), head_b.as_str(), "change"]);
    for change in &diff.metrics {
        metrics.row(vec![
            change.name.clone(),
            metric_text(&change.name, change.before),
            metric_text(&change.name, change.after),
            change_text(&change.name, change.change()),
        ]);
    }
    out.push_str(&metrics.render());
    if diff.inputs.is_empty() {
        out.push_str("\nThe inputs are the same.\n");
    } else {
        let mut inputs = Table::new(["input", head_a.as_str(), head_b.as_str()]);
        for change in &diff.inputs {
            inputs.row(vec![
                change.path.clone(),
                change.before.clone().unwrap_or_else(|| "—".to_string()),
                change.after.clone().unwrap_or_else(|| "—".to_string()),
            ]);
        }
        out.push_str(&format!(
            "\n{} inputs changed\n{}",
            diff.inputs.len(),
            inputs.render()
        ));
    }
    out
}

#[derive(Serialize)]
struct MetricJson {
    name: String,
    value: Option<f64>,
}

impl MetricJson {
    fn of(metric: &Metric) -> MetricJson {
        MetricJson {
            name: metric.name.clone(),
            value: metric.value,
        }
    }
}

/// `runs show --json`.
#[derive(Serialize)]
struct RunJson<'a> {
    id: RunId,
    command: &'a str,
    name: &'a str,
    seed: Option<u64>,
    paths: Option<u64>,
    version: &'a str,
    started_at_unix_s: i64,
    finished_at_unix_s: i64,
    complete: bool,
    options: &'a [(String, String)],
    metrics: Vec<MetricJson>,
    report_path: Option<&'a str>,
    inputs: &'a serde_json::Value,
    input_text: &'a str,
}

impl<'a> RunJson<'a> {
    fn of(id: RunId, run: &'a Run) -> RunJson<'a> {
        RunJson {
            id,
            command: &run.command,
            name: &run.name,
            seed: run.seed,
            paths: run.paths,
            version: &run.version,
            started_at_unix_s: run.started_at_unix_s,
            finished_at_unix_s: run.finished_at_unix_s,
            complete: run.complete,
            options: &run.options,
            metrics: run.metrics.iter().map(MetricJson::of).collect(),
            report_path: run.report_path.as_deref(),
            inputs: &run.inputs,
            input_text: &run.input_text,
        }
    }
}

/// `runs diff --json`.
#[derive(Serialize)]
struct DiffJson {
    a: RunId,
    b: RunId,
    metrics: Vec<MetricChangeJson>,
    inputs: Vec<InputChangeJson>,
}

#[derive(Serialize)]
struct MetricChangeJson {
    name: String,
    a: Option<f64>,
    b: Option<f64>,
    change: Option<f64>,
}

#[derive(Serialize)]
struct InputChangeJson {
    path: String,
    a: Option<String>,
    b: Option<String>,
}

impl DiffJson {
    fn of(a: RunId, b: RunId, diff: &RunDiff) -> DiffJson {
        DiffJson {
            a,
            b,
            metrics: diff
                .metrics
                .iter()
                .map(|change| MetricChangeJson {
                    name: change.name.clone(),
                    a: change.before,
                    b: change.after,
                    change: change.change(),
                })
                .collect(),
            inputs: diff
                .inputs
                .iter()
                .map(|change| InputChangeJson {
                    path: change.path.clone(),
                    a: change.before.clone(),
                    b: change.after.clone(),
                })
                .collect(),
        }
    }
}
