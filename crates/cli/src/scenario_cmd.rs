//! `bitwatt schema` and `bitwatt validate`: the scenario file's JSON Schema, and every problem
//! in a scenario or book file; reading the scenario (a file or a built-in example) and the stresses
//! every command that runs one takes.

use std::path::{Path, PathBuf};

use anyhow::Result;
use bitwatt_engine::Stress;
use bitwatt_model::{
    Book, Scenario, built_in_example, problems_in, scenario_json_schema, unknown_example,
};
use clap::Args;
use serde::Serialize;

use crate::args::BadInput;
use crate::output::json;

/// Arguments of `validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// Scenario or book file (TOML); a book has `[[borrower]]` entries.
    #[arg(value_name = "FILE.toml")]
    file: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct ValidationReport<'a, P> {
    valid: bool,
    problems: &'a [P],
}

/// Runs `schema`: the JSON Schema of the scenario file.
pub fn run_schema() -> Result<String> {
    Ok(serde_json::to_string_pretty(&scenario_json_schema())? + "\n")
}

/// Runs `validate`. An invalid file prints its problems (one per line on stderr, or the JSON
/// report on stdout) and returns a [`BadInput`] counting them.
pub fn run_validate(args: ValidateArgs) -> Result<String> {
    let text = read_scenario_text(&args.file)?;
    if Book::is_book(&text) {
        return validate_book(&args, &text);
    }
    if !args.json {
        let scenario = load_scenario(&args.file)?;
        return Ok(format!(
            "{}: valid scenario {:?} ({} months from {})\n",
            args.file.display(),
            scenario.name,
            scenario.horizon_months,
            scenario.first_month()
        ));
    }
    let problems = match Scenario::from_toml(&text) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0,
    };
    json_report(&args.file, &problems)
}

/// `validate` on a book: its scenario paths are relative to its directory.
fn validate_book(args: &ValidateArgs, text: &str) -> Result<String> {
    let base_dir = args.file.parent().unwrap_or(Path::new(""));
    let problems = match Book::from_toml(text, base_dir) {
        Ok(book) if !args.json => {
            let noun = if book.borrowers.len() == 1 {
                "borrower"
            } else {
                "borrowers"
            };
            return Ok(format!(
                "{}: book {:?}: {} {noun}, market from {:?} ({} months from {}), valid\n",
                args.file.display(),
                book.name,
                book.borrowers.len(),
                book.market.name,
                book.market.horizon_months,
                book.market.first_month()
            ));
        }
        Ok(_) => Vec::new(),
        Err(errors) => errors.0,
    };
    if args.json {
        return json_report(&args.file, &problems);
    }
    let file = args.file.display().to_string();
    for problem in &problems {
        eprintln!("{}", problem.located(&file));
    }
    Err(problems_error(&args.file, problems.len()))
}

/// Reads and validates a book file (its scenario paths relative to its directory). An
/// invalid book prints every problem on stderr, one per line, and returns a [`BadInput`]
/// counting them.
pub(crate) fn load_book(path: &Path) -> Result<Book> {
    let text = read_scenario_text(path)?;
    let base_dir = path.parent().unwrap_or(Path::new(""));
    Book::from_toml(&text, base_dir).map_err(|errors| {
        let file = path.display().to_string();
        for problem in &errors.0 {
            eprintln!("{}", problem.located(&file));
        }
        problems_error(path, errors.0.len())
    })
}

/// The JSON report of `validate` on stdout; an error counting the problems, if any.
fn json_report<P: Serialize>(file: &Path, problems: &[P]) -> Result<String> {
    let report = json(&ValidationReport {
        valid: problems.is_empty(),
        problems,
    })?;
    if problems.is_empty() {
        return Ok(report);
    }
    print!("{report}");
    Err(problems_error(file, problems.len()))
}

/// Reads and validates a scenario file. An invalid file prints every problem on stderr, one
/// per line as `FILE:LINE: problem`, and returns a [`BadInput`] counting them.
pub fn load_scenario(path: &Path) -> Result<Scenario> {
    load_scenario_repairing(path, false)
}

/// As [`load_scenario`]; with `repair_correlation`, a calm correlation matrix that is not
/// positive semi-definite is replaced by the nearest correlation matrix, with a warning.
fn load_scenario_repairing(path: &Path, repair_correlation: bool) -> Result<Scenario> {
    let text = read_scenario_text(path)?;
    let parsed = if repair_correlation {
        Scenario::from_toml_repairing_correlation(&text)
    } else {
        Scenario::from_toml(&text).map(|scenario| (scenario, Vec::new()))
    };
    let (scenario, warnings) = parsed.map_err(|errors| {
        for line in errors.located(&path.display().to_string()) {
            eprintln!("{line}");
        }
        problems_error(path, errors.0.len())
    })?;
    for warning in &warnings {
        eprintln!("warning: {}", warning.located(&path.display().to_string()));
    }
    Ok(scenario)
}

fn read_scenario_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("cannot read scenario file {}: {e}", path.display())).into())
}

fn problems_error(path: &Path, count: usize) -> anyhow::Error {
    BadInput(problems_in(&path.display().to_string(), count)).into()
}

/// The scenario of `file`, or else of the built-in example `example` (default:
/// `pivot-miner`).
pub(crate) fn scenario_of(
    file: Option<&std::path::Path>,
    example: Option<&str>,
) -> Result<Scenario> {
    scenario_repairing(file, example, false)
}

/// As [`scenario_of`], repairing a calm correlation matrix that is not positive
/// semi-definite when `repair_correlation` is set (with a warning).
pub(crate) fn scenario_repairing(
    file: Option<&std::path::Path>,
    example: Option<&str>,
    repair_correlation: bool,
) -> Result<Scenario> {
    match file {
        Some(path) => load_scenario_repairing(path, repair_correlation),
        None => built_in_scenario(example.unwrap_or("pivot-miner")),
    }
}

/// The scenario's text as read: the file, or the built-in example (default: `pivot-miner`);
/// what reports embed and the run history keeps to reproduce a run.
pub(crate) fn scenario_source(
    file: Option<&std::path::Path>,
    example: Option<&str>,
) -> Result<String> {
    match file {
        Some(path) => read_scenario_text(path),
        None => Ok(built_in_example(example.unwrap_or("pivot-miner"))
            .unwrap_or_default()
            .to_string()),
    }
}

/// The built-in example `name`.
pub(crate) fn built_in_scenario(name: &str) -> Result<Scenario> {
    let text = built_in_example(name)
        .ok_or_else(|| BadInput(format!("--example {}", unknown_example(name))))?;
    Ok(Scenario::from_toml(text).expect("the built-in examples are valid (tested)"))
}

/// Reads the `--stress` arguments and checks their windows open within the projection.
pub(crate) fn parse_stresses(names: &[String], scenario: &Scenario) -> Result<Vec<Stress>> {
    bitwatt_engine::parse_stresses(names, scenario).map_err(|e| BadInput(e.to_string()).into())
}
