//! `bitwatt simulate`: a borrower on many generated market paths — probability of default by
//! year and cause, loss given default, exposure, expected loss and the loss tail per
//! instrument, each with its Monte Carlo standard error.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use bitwatt_engine::{CreditMetrics, Estimate, credit_metrics, simulate_paths};
use bitwatt_model::Scenario;
use bitwatt_report::{Facts, Table, thousands, usd_millions};
use clap::Args;
use serde::Serialize;

use crate::args::BadInput;
use crate::output::json;
use crate::project_cmd::cause_text;
use crate::scenario_cmd::{parse_stresses, scenario_of};

/// Arguments of `simulate`.
#[derive(Args)]
pub struct SimulateArgs {
    /// Scenario file (TOML); default: the built-in example `pivot-miner`.
    #[arg(value_name = "SCENARIO.toml")]
    file: Option<PathBuf>,
    /// Run a built-in example instead of a file: pivot-miner, neocloud-abl or pure-miner.
    #[arg(long, value_name = "NAME", conflicts_with = "file")]
    example: Option<String>,
    /// Number of market paths.
    #[arg(long, default_value_t = 100_000)]
    paths: u64,
    /// Seed of the random numbers: the same seed gives the same result.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (default: every core); the result does not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Apply a stress of the library on top of every path (see `project --help`); repeat to
    /// compose.
    #[arg(long = "stress", value_name = "NAME[@YYYY-MM]")]
    stresses: Vec<String>,
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `simulate`.
pub fn run(args: SimulateArgs) -> Result<String> {
    let scenario = scenario_of(args.file.as_deref(), args.example.as_deref())?;
    let stresses = parse_stresses(&args.stresses, &scenario)?;
    if args.paths == 0 {
        return Err(BadInput("--paths 0: expected at least one path".to_string()).into());
    }
    let threads = args.threads.unwrap_or(0);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .context("cannot start the worker threads")?;
    let began = Instant::now();
    let (borrower, outcomes) = pool
        .install(|| simulate_paths(&scenario, &stresses, args.paths, args.seed))
        .map_err(|e| BadInput(e.to_string()))?;
    let metrics = credit_metrics(&borrower, &outcomes);
    let run = RunJson {
        seed: args.seed,
        threads: pool.current_num_threads(),
        seconds: began.elapsed().as_secs_f64(),
    };
    if args.json {
        json(&SimulateJson {
            scenario: &scenario.name,
            seed: args.seed,
            stresses: args.stresses.clone(),
            metrics: &metrics,
            run,
        })
    } else {
        Ok(render(&scenario, &metrics, &args, &run))
    }
}

/// The full result of `simulate --json`; what depends on the machine sits under `run`.
#[derive(Serialize)]
struct SimulateJson<'a> {
    scenario: &'a str,
    seed: u64,
    stresses: Vec<String>,
    #[serde(flatten)]
    metrics: &'a CreditMetrics,
    run: RunJson,
}

/// How the run went: not part of the result.
#[derive(Serialize)]
struct RunJson {
    seed: u64,
    threads: usize,
    seconds: f64,
}

fn percent(estimate: &Estimate) -> String {
    format!(
        "{:.2} % ± {:.2}",
        estimate.value * 100.0,
        estimate.standard_error * 100.0
    )
}

fn render(
    scenario: &Scenario,
    metrics: &CreditMetrics,
    args: &SimulateArgs,
    run: &RunJson,
) -> String {
    let mut out = format!(
        "{} — {} paths, seed {}{}\n\n",
        scenario.name,
        thousands(metrics.paths as f64, 0),
        args.seed,
        if args.stresses.is_empty() {
            String::new()
        } else {
            format!(", under {}", args.stresses.join(" then "))
        }
    );
    let mut facts = Facts::new();
    if let Some(last) = metrics.cumulative_pd_by_year.last() {
        facts.add("PD to the horizon", percent(last));
    }
    facts.add(
        "Expected loss",
        format!(
            "{} ± {}",
            usd_millions(metrics.expected_loss_usd.value),
            usd_millions(metrics.expected_loss_usd.standard_error)
        ),
    );
    for tail in &metrics.loss_tail {
        facts.add(
            format!("Loss VaR / ES {:.1} %", tail.level * 100.0),
            format!(
                "{} / {}",
                usd_millions(tail.var_usd),
                usd_millions(tail.es_usd)
            ),
        );
    }
    out.push_str(&facts.render());

    let mut years = Table::new(["year", "cumulative PD"]);
    for (year, pd) in metrics.cumulative_pd_by_year.iter().enumerate() {
        years.row([(year + 1).to_string(), percent(pd)]);
    }
    out.push('\n');
    out.push_str(&years.render());

    let mut causes = Table::new(["default cause", "PD"]);
    for cause in &metrics.pd_by_cause {
        causes.row([cause_text(cause.cause).to_string(), percent(&cause.pd)]);
    }
    out.push('\n');
    out.push_str(&causes.render());

    let mut instruments = Table::new([
        "debt",
        "PD",
        "LGD",
        "EAD",
        "expected loss",
        "break-even spread",
        "market spread + fee",
        "excess",
    ]);
    for instrument in &metrics.instruments {
        let spread = &instrument.spread;
        instruments.row([
            instrument.name.clone(),
            percent(&instrument.pd),
            instrument.lgd.as_ref().map_or("n/a".to_string(), percent),
            instrument
                .exposure_at_default_usd
                .map_or("n/a".to_string(), |e| usd_millions(e.value)),
            format!(
                "{} ± {}",
                usd_millions(instrument.expected_loss_usd.value),
                usd_millions(instrument.expected_loss_usd.standard_error)
            ),
            spread.break_even_spread_bps.map_or("n/a".to_string(), |s| {
                format!("{:.1} bp ± {:.1}", s.value, s.standard_error)
            }),
            spread
                .market_spread_bps
                .map_or("n/a".to_string(), |market| {
                    format!(
                        "{:.0} + {:.0} bp",
                        market,
                        spread.upfront_fee_bps_per_year.unwrap_or(0.0)
                    )
                }),
            spread
                .excess_spread_bps
                .map_or("n/a".to_string(), |excess| format!("{excess:.0} bp")),
        ]);
    }
    out.push('\n');
    out.push_str(&instruments.render());
    out.push_str(&format!(
        "\nnote: ± is one Monte Carlo standard error; spreads a year, the fee spread over the \
         expected life; {} threads, {:.1} s\n",
        run.threads, run.seconds
    ));
    out
}
