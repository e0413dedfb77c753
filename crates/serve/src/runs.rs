//! The runs of one server: what each ran, how far it has come and what it gave, kept in a
//! store bounded in the runs it keeps and in the runs under way at once.

use std::collections::VecDeque;
use std::panic::{self, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use bitwatt_engine::{
    CreditMetrics, Fingerprint, RunControl, Shard, Simulation, SimulationResult, project,
    stress_comparison,
};
use bitwatt_model::Scenario;
use bitwatt_report::html::SimulateReport;
use bitwatt_store::{Metric, Run as StoredRun, RunHistory, RunId};
use serde::Serialize;

use crate::levers::Levers;

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Accepted, not started.
    Queued,
    /// Paths under way.
    Running,
    /// Every path ran; the summary and report are ready.
    Done,
    /// Stopped on request before every path ran.
    Cancelled,
    /// Stopped by an error.
    Failed,
}

/// What a finished run gave.
pub(crate) struct Finished {
    /// The credit metrics, as `simulate --json` gives them.
    pub metrics: CreditMetrics,
    /// What the run was computed from and by.
    pub fingerprint: Fingerprint,
    /// The report's summary card.
    pub summary_html: String,
    /// The whole HTML report, as `simulate --report` writes it.
    pub report_html: String,
    /// Its number in the run history, or why it could not be recorded (none: no history).
    pub history: Option<Result<RunId, String>>,
}

/// Where a run stands, with what it gave.
enum State {
    Queued,
    Running,
    Done(Arc<Finished>),
    Cancelled,
    Failed(String),
}

/// One run of a scenario: what was asked and where it stands.
pub(crate) struct Run {
    /// Its number on this server, from 1.
    pub id: u64,
    /// The built-in example's name or the uploaded file's.
    pub source: String,
    /// The borrower's name in the scenario.
    pub scenario_name: String,
    /// The levers applied.
    pub levers: Levers,
    /// Paths asked for.
    pub paths: u64,
    /// Seed of the random numbers.
    pub seed: u64,
    /// Paths completed so far.
    paths_done: AtomicU64,
    /// Set to stop the run.
    cancel: AtomicBool,
    state: Mutex<State>,
}

/// A run's state as the API shows it.
#[derive(Serialize)]
pub(crate) struct RunInfo<'a> {
    id: u64,
    source: &'a str,
    scenario: &'a str,
    levers: &'a Levers,
    paths: u64,
    seed: u64,
    status: RunStatus,
    paths_done: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// PD to the horizon, when done.
    #[serde(skip_serializing_if = "Option::is_none")]
    pd: Option<f64>,
    /// Expected loss (USD), when done.
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_loss_usd: Option<f64>,
}

/// What a done run gave, as the API shows it.
#[derive(Serialize)]
pub(crate) struct RunSummary<'a> {
    metrics: &'a CreditMetrics,
    fingerprint: &'a Fingerprint,
    html: &'a str,
    /// The run's number in the run history (`bitwatt runs show N`).
    #[serde(skip_serializing_if = "Option::is_none")]
    history_run: Option<RunId>,
    /// Why the run could not be recorded in the run history.
    #[serde(skip_serializing_if = "Option::is_none")]
    history_error: Option<&'a str>,
}

/// A run with its summary when done.
#[derive(Serialize)]
pub(crate) struct RunDetail<'a> {
    #[serde(flatten)]
    info: RunInfo<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<RunSummary<'a>>,
}

/// What a run computes, prepared and checked before it is accepted.
pub(crate) struct Job {
    /// The scenario with the levers applied.
    pub scenario: Scenario,
    /// The scenario's text for the report.
    pub scenario_toml: String,
    /// The command that reproduces the run.
    pub command: String,
    /// The compiled simulation.
    pub simulation: Simulation,
    /// The scenario's name and where it came from (an example or an uploaded file).
    pub source: String,
    /// The levers, as JSON.
    pub levers_json: String,
    /// The run history to record the run in.
    pub history: Option<PathBuf>,
}

impl Run {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn set(&self, state: State) {
        *self.state() = state;
    }

    /// Where the run stands.
    pub fn status(&self) -> RunStatus {
        match &*self.state() {
            State::Queued => RunStatus::Queued,
            State::Running => RunStatus::Running,
            State::Done(_) => RunStatus::Done,
            State::Cancelled => RunStatus::Cancelled,
            State::Failed(_) => RunStatus::Failed,
        }
    }

    /// What the run gave, once done.
    pub fn finished(&self) -> Option<Arc<Finished>> {
        match &*self.state() {
            State::Done(finished) => Some(Arc::clone(finished)),
            _ => None,
        }
    }

    /// Asks a queued or running run to stop; false when it has already ended.
    pub fn cancel(&self) -> bool {
        let under_way = matches!(*self.state(), State::Queued | State::Running);
        if under_way {
            self.cancel.store(true, Ordering::Relaxed);
        }
        under_way
    }

    /// The run's state for the API, with `finished` (what it gave, if done).
    pub fn info<'a>(&'a self, finished: Option<&Finished>) -> RunInfo<'a> {
        let error = match &*self.state() {
            State::Failed(message) => Some(message.clone()),
            _ => None,
        };
        RunInfo {
            id: self.id,
            source: &self.source,
            scenario: &self.scenario_name,
            levers: &self.levers,
            paths: self.paths,
            seed: self.seed,
            status: self.status(),
            paths_done: self.paths_done.load(Ordering::Relaxed),
            error,
            pd: finished.and_then(|f| f.metrics.cumulative_pd_by_year.last().map(|pd| pd.value)),
            expected_loss_usd: finished.map(|f| f.metrics.expected_loss_usd.value),
        }
    }

    /// The run's state with its summary when done.
    pub fn detail<'a>(&'a self, finished: Option<&'a Finished>) -> RunDetail<'a> {
        RunDetail {
            info: self.info(finished),
            summary: finished.map(|f| RunSummary {
                metrics: &f.metrics,
                fingerprint: &f.fingerprint,
                html: &f.summary_html,
                history_run: f.history.as_ref().and_then(|h| h.as_ref().ok().copied()),
                history_error: f
                    .history
                    .as_ref()
                    .and_then(|h| h.as_ref().err().map(String::as_str)),
            }),
        }
    }

    /// Runs `job` on `pool` to the end (or until cancelled) and keeps what it gives; `slot`
    /// is given back before the run shows as ended, so a client that sees it end may start
    /// another.
    pub fn execute(&self, job: Job, pool: &rayon::ThreadPool, slot: Slot) {
        if self.cancel.load(Ordering::Relaxed) {
            drop(slot);
            self.set(State::Cancelled);
            return;
        }
        self.set(State::Running);
        let started_at_unix_s = now_unix_s();
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            self.simulate(&job, pool)
                .map(|finished| finished.map(|f| f.recorded(&job, started_at_unix_s)))
        }));
        let state = match outcome {
            Ok(Ok(Some(finished))) => State::Done(Arc::new(finished)),
            Ok(Ok(None)) => State::Cancelled,
            Ok(Err(message)) => State::Failed(message),
            Err(_) => State::Failed("internal error: the run stopped unexpectedly".to_string()),
        };
        drop(slot);
        self.set(state);
    }

    /// The run's result as `bitwatt simulate` computes it; none when cancelled.
    fn simulate(&self, job: &Job, pool: &rayon::ThreadPool) -> Result<Option<Finished>, String> {
        let tick = |paths: u64| {
            self.paths_done.fetch_add(paths, Ordering::Relaxed);
        };
        let mut control = RunControl {
            cancel: Some(&self.cancel),
            progress: Some(&tick),
            ..RunControl::default()
        };
        let simulation = &job.simulation;
        let shard = pool
            .install(|| simulation.run(Shard::WHOLE, &mut control))
            .map_err(|e| e.to_string())?;
        if !shard.complete {
            return Ok(None);
        }
        let result = SimulationResult::merge(vec![shard]).map_err(|e| e.to_string())?;
        let metrics = result.metrics(simulation.borrower());
        let projection = project(&job.scenario, &[]).map_err(|e| e.to_string())?;
        let stress_cases = stress_comparison(&job.scenario, &[]).map_err(|e| e.to_string())?;
        let report = SimulateReport {
            scenario: &job.scenario,
            scenario_toml: &job.scenario_toml,
            metrics: &metrics,
            result: &result,
            projection: &projection,
            stresses: &[],
            sensitivity: None,
            stress_cases: &stress_cases,
            command: &job.command,
        };
        let (summary_html, report_html) = (report.summary_html(), report.render());
        Ok(Some(Finished {
            fingerprint: result.fingerprint.clone(),
            metrics,
            summary_html,
            report_html,
            history: None,
        }))
    }
}

fn now_unix_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs() as i64)
}

impl Finished {
    /// The run recorded in `job`'s run history (as `simulate` records its runs, with the
    /// command `serve` and the levers as an option).
    fn recorded(mut self, job: &Job, started_at_unix_s: i64) -> Finished {
        let Some(path) = &job.history else {
            return self;
        };
        let run = StoredRun {
            command: "serve".to_string(),
            name: job.scenario.name.clone(),
            seed: Some(self.fingerprint.seed),
            paths: Some(self.fingerprint.paths),
            version: env!("CARGO_PKG_VERSION").to_string(),
            started_at_unix_s,
            finished_at_unix_s: now_unix_s(),
            complete: true,
            input_text: job.scenario_toml.clone(),
            inputs: serde_json::to_value(&job.scenario).unwrap_or_default(),
            options: vec![
                ("source".to_string(), job.source.clone()),
                ("levers".to_string(), job.levers_json.clone()),
            ],
            metrics: Metric::list(self.metrics.headline_values()),
            report_path: None,
        };
        self.history = Some(
            RunHistory::open(path)
                .and_then(|mut history| history.record(&run))
                .map_err(|error| error.to_string()),
        );
        self
    }
}

/// The runs of one server, newest last.
pub(crate) struct Runs {
    inner: Mutex<Inner>,
    /// Most runs under way at once.
    max_under_way: usize,
    /// Most runs kept; the oldest ended ones go first.
    max_kept: usize,
}

struct Inner {
    next_id: u64,
    runs: VecDeque<Arc<Run>>,
    under_way: usize,
}

/// A place among the runs under way, given back when dropped.
pub(crate) struct Slot {
    runs: Arc<Runs>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.runs.lock().under_way -= 1;
    }
}

/// What a new run is: its source, levers, paths and seed.
pub(crate) struct NewRun {
    /// The built-in example's name or the uploaded file's.
    pub source: String,
    /// The levers applied.
    pub levers: Levers,
    /// Paths asked for.
    pub paths: u64,
    /// Seed of the random numbers.
    pub seed: u64,
}

impl Runs {
    /// An empty store: at most `max_under_way` runs at once, `max_kept` kept (at least one
    /// more than may be under way, so a new run always finds room).
    pub fn new(max_under_way: usize, max_kept: usize) -> Runs {
        Runs {
            inner: Mutex::new(Inner {
                next_id: 1,
                runs: VecDeque::new(),
                under_way: 0,
            }),
            max_under_way,
            max_kept: max_kept.max(max_under_way + 1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A place for one more run under way; none when `max_under_way` are.
    pub fn reserve(self: &Arc<Self>) -> Option<Slot> {
        let mut inner = self.lock();
        if inner.under_way >= self.max_under_way {
            return None;
        }
        inner.under_way += 1;
        Some(Slot {
            runs: Arc::clone(self),
        })
    }

    /// Most runs under way at once.
    pub fn max_under_way(&self) -> usize {
        self.max_under_way
    }

    /// Adds a queued run of `scenario_name`, dropping the oldest ended runs beyond the bound.
    pub fn add(&self, new: NewRun, scenario_name: String) -> Arc<Run> {
        let mut inner = self.lock();
        while inner.runs.len() >= self.max_kept {
            let Some(oldest) = inner
                .runs
                .iter()
                .position(|run| !matches!(run.status(), RunStatus::Queued | RunStatus::Running))
            else {
                break;
            };
            inner.runs.remove(oldest);
        }
        let run = Arc::new(Run {
            id: inner.next_id,
            source: new.source,
            scenario_name,
            levers: new.levers,
            paths: new.paths,
            seed: new.seed,
            paths_done: AtomicU64::new(0),
            cancel: AtomicBool::new(false),
            state: Mutex::new(State::Queued),
        });
        inner.next_id += 1;
        inner.runs.push_back(Arc::clone(&run));
        run
    }

    /// The run numbered `id`, if kept.
    pub fn get(&self, id: u64) -> Option<Arc<Run>> {
        self.lock().runs.iter().find(|run| run.id == id).cloned()
    }

    /// Every run kept, newest first.
    pub fn list(&self) -> Vec<Arc<Run>> {
        self.lock().runs.iter().rev().cloned().collect()
    }
}
