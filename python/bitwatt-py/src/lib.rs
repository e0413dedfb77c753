//! `bitwatt._native`: the engine behind the `bitwatt` Python package. Every function takes
//! and returns text (TOML in, JSON out) so that the documents are exactly those the command
//! line prints and shard documents cross process boundaries as they are; the Python layer
//! (`python/bitwatt/__init__.py`) turns them into dictionaries and data frames. The work runs
//! with the interpreter released, on a pool of the caller's thread count.

use std::path::Path;

use bitwatt_engine::{
    Liquidation, Portfolio, PortfolioShardFile, Shard, Simulation, SimulationShardFile,
    book_borrowers, parse_stresses,
};
use bitwatt_model::{Book, Scenario, built_in_example, problems_in, unknown_example};
use bitwatt_report::json::{PortfolioJson, ProjectJson, SimulateJson, with_schema_version};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// A `ValueError` carrying `error`'s message.
fn value_error(error: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(error.to_string())
}

/// The scenario of TOML `text`; an invalid one raises a `ValueError` whose message is what the
/// command line prints for a file named `source`: each problem as `SOURCE:LINE: problem`,
/// then `N problems in SOURCE`.
fn scenario_of(text: &str, source: &str) -> PyResult<Scenario> {
    Scenario::from_toml(text).map_err(|errors| {
        let mut lines = errors.located(source);
        lines.push(problems_in(source, errors.0.len()));
        PyValueError::new_err(lines.join("\n"))
    })
}

/// A pool of `threads` workers (0: one per core).
fn pool(threads: usize) -> PyResult<rayon::ThreadPool> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(value_error)
}

/// The shard `index` of `count`, checked.
fn shard_of(index: u64, count: u64) -> PyResult<Shard> {
    if index == 0 || index > count {
        return Err(PyValueError::new_err(format!(
            "shard ({index}, {count}): expected (k, n) with 1 <= k <= n"
        )));
    }
    Ok(Shard { index, count })
}

/// JSON text of `document`.
fn to_json(document: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(document).map_err(value_error)
}

/// The TOML text of the built-in example `name`.
#[pyfunction]
fn example(name: &str) -> PyResult<String> {
    built_in_example(name)
        .map(str::to_string)
        .ok_or_else(|| PyValueError::new_err(unknown_example(name)))
}

/// TOML text of a scenario or book given as JSON text (a dictionary from Python).
#[pyfunction]
fn toml_of_json(json: &str) -> PyResult<String> {
    let value: toml::Value = serde_json::from_str(json).map_err(value_error)?;
    toml::to_string(&value).map_err(value_error)
}

/// The document `bitwatt project --json` prints for the scenario `scenario_toml`.
#[pyfunction]
fn project(
    py: Python<'_>,
    scenario_toml: &str,
    source: &str,
    stresses: Vec<String>,
) -> PyResult<String> {
    let scenario = scenario_of(scenario_toml, source)?;
    let stresses = parse_stresses(&stresses, &scenario).map_err(value_error)?;
    py.detach(|| {
        let projection = bitwatt_engine::project(&scenario, &stresses).map_err(value_error)?;
        to_json(&with_schema_version(ProjectJson::new(
            &scenario,
            &projection,
            &stresses,
        )))
    })
}

/// A shard document of `simulate`: paths `shard_index` of `shard_count` of a run of `paths`
/// paths from `seed` on `threads` threads.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn simulate_shard(
    py: Python<'_>,
    scenario_toml: &str,
    source: &str,
    paths: u64,
    seed: u64,
    shard_index: u64,
    shard_count: u64,
    stresses: Vec<String>,
    threads: usize,
) -> PyResult<String> {
    let scenario = scenario_of(scenario_toml, source)?;
    let parsed = parse_stresses(&stresses, &scenario).map_err(value_error)?;
    let shard = shard_of(shard_index, shard_count)?;
    let pool = pool(threads)?;
    py.detach(|| {
        let simulation = Simulation::new(&scenario, &parsed, paths, seed).map_err(value_error)?;
        let result = pool
            .install(|| simulation.run(shard, &mut Default::default()))
            .map_err(value_error)?;
        to_json(&SimulationShardFile::new(
            scenario.clone(),
            stresses,
            result,
        ))
    })
}

/// The document `bitwatt simulate --json` prints (without `run`) for the shard documents
/// `shards` of one run, merged.
#[pyfunction]
fn merge_simulation(py: Python<'_>, shards: Vec<String>) -> PyResult<String> {
    py.detach(|| {
        let files = shards
            .iter()
            .map(|text| serde_json::from_str(text).map_err(value_error))
            .collect::<PyResult<Vec<SimulationShardFile>>>()?;
        let merged = SimulationShardFile::merge(files).map_err(value_error)?;
        let headroom =
            bitwatt_engine::headroom(&merged.scenario, &merged.stresses).map_err(value_error)?;
        to_json(&with_schema_version(SimulateJson {
            scenario: &merged.scenario.name,
            stresses: merged.stress_names.clone(),
            fingerprint: &merged.result.fingerprint,
            complete: merged.result.complete,
            metrics: &merged.metrics,
            headroom: &headroom,
            sensitivity: None,
        }))
    })
}

/// A shard document of `portfolio` for the book `book_toml` (its scenario files relative to
/// `base_dir`).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn portfolio_shard(
    py: Python<'_>,
    book_toml: &str,
    source: &str,
    base_dir: &str,
    paths: u64,
    seed: u64,
    shard_index: u64,
    shard_count: u64,
    stresses: Vec<String>,
    independent_liquidation: bool,
    threads: usize,
) -> PyResult<String> {
    let book = Book::from_toml(book_toml, Path::new(base_dir)).map_err(|errors| {
        let mut lines: Vec<String> = errors.0.iter().map(|e| e.located(source)).collect();
        lines.push(problems_in(source, errors.0.len()));
        PyValueError::new_err(lines.join("\n"))
    })?;
    let parsed = parse_stresses(&stresses, &book.market).map_err(value_error)?;
    let shard = shard_of(shard_index, shard_count)?;
    let pool = pool(threads)?;
    py.detach(|| {
        let borrowers = book_borrowers(&book).map_err(value_error)?;
        let portfolio =
            Portfolio::new(&book.market, &borrowers, &parsed, paths, seed).map_err(value_error)?;
        let result = pool
            .install(|| portfolio.run(shard, &mut Default::default()))
            .map_err(value_error)?;
        to_json(&PortfolioShardFile::new(
            book.name.clone(),
            stresses,
            independent_liquidation,
            result,
        ))
    })
}

/// The document `bitwatt portfolio --json` prints (without `run`) for the shard documents
/// `shards` of one run, merged.
#[pyfunction]
fn merge_portfolio(py: Python<'_>, shards: Vec<String>) -> PyResult<String> {
    py.detach(|| {
        let files = shards
            .iter()
            .map(|text| serde_json::from_str(text).map_err(value_error))
            .collect::<PyResult<Vec<PortfolioShardFile>>>()?;
        let merged = PortfolioShardFile::merge(files).map_err(value_error)?;
        let metrics = merged.result.metrics();
        to_json(&with_schema_version(PortfolioJson {
            book: &merged.book,
            seed: merged.result.fingerprint.seed,
            stresses: merged.stress_names.clone(),
            liquidation: Liquidation::of(merged.independent_liquidation),
            metrics: &metrics,
        }))
    })
}

/// The module `bitwatt._native`.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    module.add_function(wrap_pyfunction!(example, module)?)?;
    module.add_function(wrap_pyfunction!(toml_of_json, module)?)?;
    module.add_function(wrap_pyfunction!(project, module)?)?;
    module.add_function(wrap_pyfunction!(simulate_shard, module)?)?;
    module.add_function(wrap_pyfunction!(merge_simulation, module)?)?;
    module.add_function(wrap_pyfunction!(portfolio_shard, module)?)?;
    module.add_function(wrap_pyfunction!(merge_portfolio, module)?)?;
    Ok(())
}
