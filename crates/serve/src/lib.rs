//! The local dashboard of bitwatt (`bitwatt serve`): a web page to explore a scenario — pick
//! a built-in example or upload a scenario file, move the main levers, run a bounded number of
//! Monte Carlo paths, watch the progress, cancel, and read the summary and the charts of the
//! HTML report; the server's earlier runs are listed.
//!
//! * [`ServeConfig`]: the bounds of the server (paths, horizon, body size, runs at once, runs
//!   kept) and its worker threads;
//! * [`router`]: the page and its JSON API as an axum [`Router`]; [`serve_blocking`] serves
//!   them on a listener until the process ends;
//! * [`Levers`] ([`LeverError`]): the changes to a scenario the page offers, each checked
//!   against its range;
//! * [`RunRequest`]: what `POST /api/runs` takes; [`RunStatus`]: where a run stands.
//!
//! The API: `GET /` (the page), `GET /api/examples`, `GET /api/limits`, `POST /api/runs`
//! (202 with the run's `id`), `GET /api/runs`, `GET /api/runs/{id}`,
//! `POST /api/runs/{id}/cancel`, `GET /api/runs/{id}/report` (the HTML report). Every refusal
//! is a 4xx whose JSON body `{"error": "..."}` says what the command line would.
#![deny(missing_docs)]

mod app;
mod levers;
mod runs;

use std::net::TcpListener;

use axum::Router;
use serde::Serialize;

pub use app::{RunRequest, router};
pub use levers::{LeverError, Levers};
pub use runs::RunStatus;

/// The bounds of a dashboard server and its worker threads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ServeConfig {
    /// Most paths one run may ask for.
    pub max_paths: u64,
    /// Longest scenario horizon accepted (months).
    pub max_horizon_months: u32,
    /// Largest request body (bytes): an uploaded scenario file travels in it.
    pub max_body_bytes: usize,
    /// Most runs under way at once; further runs are refused with 429.
    pub max_concurrent_runs: usize,
    /// Most runs kept in memory; the oldest ended runs are dropped first.
    pub max_kept_runs: usize,
    /// Worker threads shared by the runs (0: one per core).
    pub threads: usize,
    /// The run history each finished run is recorded in (none: not recorded).
    #[serde(skip)]
    pub history: Option<std::path::PathBuf>,
}

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            max_paths: 20_000,
            max_horizon_months: bitwatt_model::MAX_HORIZON_MONTHS,
            max_body_bytes: 256 * 1024,
            max_concurrent_runs: 2,
            max_kept_runs: 50,
            threads: 0,
            history: None,
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The worker threads could not be started.
    #[error("cannot start the worker threads: {0}")]
    Threads(#[from] rayon::ThreadPoolBuildError),
    /// The listener or the event loop failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Serves the dashboard on `listener` with `config` until the process ends.
pub fn serve_blocking(listener: TcpListener, config: ServeConfig) -> Result<(), ServeError> {
    let app: Router = router(config)?;
    listener.set_nonblocking(true)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_io()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        axum::serve(listener, app).await
    })?;
    Ok(())
}
