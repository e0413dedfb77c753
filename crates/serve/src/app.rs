//! The page and its JSON API: requests checked as the command line checks its arguments,
//! runs started off the event loop.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use bitwatt_engine::Simulation;
use bitwatt_model::{BUILT_IN_EXAMPLES, Scenario, built_in_example, problems_in, unknown_example};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::levers::Levers;
use crate::runs::{Job, NewRun, Run, Runs};
use crate::{ServeConfig, ServeError};

/// The page: HTML, CSS and script in one file, no build step and nothing fetched elsewhere.
const PAGE: &str = include_str!("page.html");

/// The file name shown in the problems of an upload that came without one.
const DEFAULT_UPLOAD_NAME: &str = "upload.toml";

/// The body of `POST /api/runs`: a built-in example or a scenario file's text, the paths, the
/// seed and the levers.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// A built-in example's name (default, when no file is given: `pivot-miner`).
    #[serde(default)]
    pub example: Option<String>,
    /// An uploaded scenario file's text (TOML).
    #[serde(default)]
    pub scenario_toml: Option<String>,
    /// The uploaded file's name, for the problems found in it (default `upload.toml`).
    #[serde(default)]
    pub file_name: Option<String>,
    /// Market paths.
    pub paths: u64,
    /// Seed of the random numbers.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Changes to the scenario before it runs.
    #[serde(default)]
    pub levers: Levers,
}

fn default_seed() -> u64 {
    1
}

/// What the server shares between requests.
struct App {
    config: ServeConfig,
    runs: Arc<Runs>,
    pool: rayon::ThreadPool,
}

/// A refusal: its status and the message the command line would print.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn not_found(message: impl Into<String>) -> ApiError {
        ApiError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

/// The dashboard's page and API with `config`'s bounds, its worker threads started.
pub fn router(config: ServeConfig) -> Result<Router, ServeError> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads)
        .build()?;
    let app = Arc::new(App {
        runs: Arc::new(Runs::new(config.max_concurrent_runs, config.max_kept_runs)),
        pool,
        config,
    });
    Ok(Router::new()
        .route("/", get(|| async { Html(PAGE) }))
        .route("/api/examples", get(examples))
        .route("/api/limits", get(limits))
        .route("/api/runs", get(list_runs).post(start_run))
        .route("/api/runs/{id}", get(run_detail))
        .route("/api/runs/{id}/cancel", post(cancel_run))
        .route("/api/runs/{id}/report", get(run_report))
        .fallback(|uri: Uri| async move { ApiError::not_found(format!("no page {uri} here")) })
        .layer(DefaultBodyLimit::max(app.config.max_body_bytes))
        .with_state(app))
}

/// A built-in example as the page lists it.
#[derive(Serialize)]
struct Example {
    name: &'static str,
    borrower: String,
    horizon_months: u32,
}

async fn examples() -> Json<Vec<Example>> {
    Json(
        BUILT_IN_EXAMPLES
            .iter()
            .map(|(name, text)| {
                let scenario =
                    Scenario::from_toml(text).expect("the built-in examples are valid (tested)");
                Example {
                    name,
                    borrower: scenario.name,
                    horizon_months: scenario.horizon_months,
                }
            })
            .collect(),
    )
}

async fn limits(State(app): State<Arc<App>>) -> Json<ServeConfig> {
    Json(app.config.clone())
}

async fn list_runs(State(app): State<Arc<App>>) -> Response {
    let runs = app.runs.list();
    let finished: Vec<_> = runs.iter().map(|run| run.finished()).collect();
    let infos: Vec<_> = runs
        .iter()
        .zip(&finished)
        .map(|(run, finished)| run.info(finished.as_deref()))
        .collect();
    Json(infos).into_response()
}

async fn run_detail(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match find(&app, &id) {
        Ok(run) => {
            let finished = run.finished();
            Json(run.detail(finished.as_deref())).into_response()
        }
        Err(error) => error.into_response(),
    }
}

async fn cancel_run(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match find(&app, &id) {
        Ok(run) if run.cancel() => {
            Json(json!({ "id": run.id, "cancelling": true })).into_response()
        }
        Ok(run) => ApiError {
            status: StatusCode::CONFLICT,
            message: format!("run {} has ended: nothing to cancel", run.id),
        }
        .into_response(),
        Err(error) => error.into_response(),
    }
}

async fn run_report(State(app): State<Arc<App>>, Path(id): Path<String>) -> Response {
    match find(&app, &id) {
        Ok(run) => match run.finished() {
            Some(finished) => Html(finished.report_html.clone()).into_response(),
            None => ApiError::not_found(format!(
                "run {} has no report: only a run that is done has one",
                run.id
            ))
            .into_response(),
        },
        Err(error) => error.into_response(),
    }
}

/// The run numbered `id`.
fn find(app: &App, id: &str) -> Result<Arc<Run>, ApiError> {
    id.parse()
        .ok()
        .and_then(|id| app.runs.get(id))
        .ok_or_else(|| ApiError::not_found(format!("no run {id} on this server")))
}

async fn start_run(
    State(app): State<Arc<App>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let body = body.map_err(|rejection| match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            message: format!(
                "request body over {} bytes: scenario files up to {} KiB are accepted",
                app.config.max_body_bytes,
                app.config.max_body_bytes / 1024
            ),
        },
        status => ApiError {
            status,
            message: rejection.body_text(),
        },
    })?;
    let request: RunRequest = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("request body: {e}")))?;
    let slot = app.runs.reserve().ok_or_else(|| ApiError {
        status: StatusCode::TOO_MANY_REQUESTS,
        message: format!(
            "too many runs: this server runs at most {} at a time; wait for one to end or \
             cancel it",
            app.runs.max_under_way()
        ),
    })?;
    let config = app.config.clone();
    let (new, job) = tokio::task::spawn_blocking(move || prepare(request, &config))
        .await
        .map_err(|e| ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: format!("the run could not be prepared: {e}"),
        })??;
    let run = app.runs.add(new, job.scenario.name.clone());
    let id = run.id;
    let worker = Arc::clone(&app);
    tokio::task::spawn_blocking(move || run.execute(job, &worker.pool, slot));
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id }))))
}

/// Checks `request` as `bitwatt simulate` checks its arguments and compiles the run.
fn prepare(request: RunRequest, config: &ServeConfig) -> Result<(NewRun, Job), ApiError> {
    let uploaded = request.scenario_toml.is_some();
    let (source, text) = match (&request.example, request.scenario_toml) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give a built-in example or a scenario file, not both",
            ));
        }
        (_, Some(text)) => (upload_name(request.file_name.as_deref()), text),
        (example, None) => {
            let name = example.as_deref().unwrap_or("pivot-miner");
            let text = built_in_example(name).ok_or_else(|| {
                ApiError::bad_request(format!("example {}", unknown_example(name)))
            })?;
            (name.to_string(), text.to_string())
        }
    };
    let scenario = Scenario::from_toml(&text).map_err(|errors| {
        let mut lines = errors.located(&source);
        lines.push(problems_in(&source, errors.0.len()));
        ApiError::bad_request(lines.join("\n"))
    })?;
    let scenario = request
        .levers
        .apply(&scenario)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    if scenario.horizon_months > config.max_horizon_months {
        return Err(ApiError::bad_request(format!(
            "horizon_months = {}: this server runs horizons of at most {} months",
            scenario.horizon_months, config.max_horizon_months
        )));
    }
    if request.paths == 0 || request.paths > config.max_paths {
        return Err(ApiError::bad_request(format!(
            "paths {}: expected from 1 to {} paths (the most this server runs; `bitwatt \
             simulate` runs more)",
            request.paths, config.max_paths
        )));
    }
    let simulation = Simulation::new(&scenario, &[], request.paths, request.seed)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (scenario_toml, file) = if request.levers.is_neutral() {
        (text, uploaded.then(|| source.clone()))
    } else {
        let header = format!(
            "# {source} with the dashboard's levers: {}\n",
            serde_json::to_string(&request.levers).expect("levers are JSON")
        );
        let moved = toml::to_string(&scenario).expect("a scenario is TOML");
        (header + &moved, Some("scenario.toml".to_string()))
    };
    let command = match file {
        Some(file) => format!(
            "bitwatt simulate {file} --paths {} --seed {}",
            request.paths, request.seed
        ),
        None => format!(
            "bitwatt simulate --example {source} --paths {} --seed {}",
            request.paths, request.seed
        ),
    };
    let new = NewRun {
        source,
        levers: request.levers.clone(),
        paths: request.paths,
        seed: request.seed,
    };
    let job = Job {
        levers_json: serde_json::to_string(&request.levers).expect("levers are JSON"),
        source: new.source.clone(),
        history: config.history.clone(),
        scenario,
        scenario_toml,
        command,
        simulation,
    };
    Ok((new, job))
}

/// An uploaded file's name as problems and commands show it: its last path component, of
/// letters, digits and `._-` only; `upload.toml` when nothing is left.
fn upload_name(name: Option<&str>) -> String {
    let base = name
        .and_then(|n| n.rsplit(['/', '\\']).next())
        .unwrap_or("");
    let clean: String = base
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._-".contains(*c))
        .take(100)
        .collect();
    if clean.is_empty() || clean.chars().all(|c| c == '.') {
        DEFAULT_UPLOAD_NAME.to_string()
    } else {
        clean
    }
}
