//! `bitwatt simulate` and `bitwatt merge`: a borrower on many generated market paths —
//! probability of default by year and cause, time to default, loss given default, exposure,
//! expected loss, the loss tail, covenant breaches, fans and attribution per instrument, each
//! with its Monte Carlo standard error — run whole or in shards merged afterwards.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use bitwatt_engine::{
    Breach, Covenant, CovenantHeadroom, CreditMetrics, Estimate, Headroom, Lever, MergedSimulation,
    PORTFOLIO_SHARD_FORMAT, PathOutcome, PortfolioShardFile, RunControl, STANDARD_BUMPS,
    SensitivityRow, Shard, ShardMergeError, Simulation, SimulationResult, SimulationShardFile,
    Stress, headroom, project, sensitivity, stress_comparison,
};
use bitwatt_model::Scenario;
use bitwatt_report::html::SimulateReport;
use bitwatt_report::json::SimulateJson;
use bitwatt_report::{
    Facts, Table, WorkbookResult, borrower_workbook, cause_text, thousands, usd_millions,
};
use bitwatt_store::Metric;
use clap::Args;
use serde::Deserialize;

use crate::args::BadInput;
use crate::history_cmd::{HistoryArgs, RunRecord, repeated_option};
use crate::output::{
    RunJson, WithRun, command_line, json, path_words, repeated_words, scenario_words, write_report,
    write_workbook,
};
use crate::paths_out::PathsWriter;
use crate::portfolio_cmd;
use crate::run_control::{parse_shard, progress_bar, watch_ctrl_c, write_shard_file};
use crate::scenario_cmd::{parse_stresses, scenario_repairing, scenario_source};

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
    /// Run only shard K of N (contiguous ranges of path chunks) and write it to --out;
    /// `bitwatt merge` combines the N shard files into exactly the unsharded result.
    #[arg(long, value_name = "K/N", requires = "out")]
    shard: Option<String>,
    /// Where --shard writes its result.
    #[arg(long, value_name = "SHARD.json", requires = "shard")]
    out: Option<PathBuf>,
    /// Write every path's outcome (default month and cause, each instrument's exposure and
    /// loss) to a file: Parquet when its name ends in .parquet, CSV otherwise.
    #[arg(long, value_name = "FILE.csv|FILE.parquet")]
    paths_out: Option<PathBuf>,
    /// Also bump each main market parameter in turn (BTC drift and volatility, fees, power
    /// price, rent deflation, stress entry, correlation convergence w, liquidation depth,
    /// SOFR) with the same random numbers and rank the changes in PD and expected loss.
    #[arg(long, conflicts_with = "shard")]
    sensitivity: bool,
    /// Replace a calm correlation matrix that is not positive semi-definite by the nearest
    /// correlation matrix (with a warning) instead of refusing the file.
    #[arg(long)]
    repair_correlation: bool,
    /// Also write a self-contained HTML report (charts, the base-case monthly table, the
    /// scenario and seed to reproduce it) to FILE.html.
    #[arg(long, value_name = "FILE.html", conflicts_with = "shard")]
    report: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Write a workbook for spreadsheets to FILE.xlsx: the summary, PD by year, the
    /// instruments, the loss tail, the monthly fans' percentiles, and the base case's monthly
    /// waterfall and covenant tests.
    #[arg(long, value_name = "FILE.xlsx", conflicts_with = "shard")]
    xlsx: Option<PathBuf>,
    #[command(flatten)]
    history: HistoryArgs,
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
}

/// Where `--report` writes and what it embeds besides the result.
struct HtmlOut<'a> {
    path: &'a Path,
    scenario_toml: String,
    command: String,
}

/// The command that runs `args` again (without the options that do not change the result).
fn reproducing_command(args: &SimulateArgs) -> String {
    let mut words = vec!["bitwatt".to_string(), "simulate".to_string()];
    words.extend(scenario_words(
        args.file.as_deref(),
        args.example.as_deref(),
    ));
    words.extend([
        "--paths".to_string(),
        args.paths.to_string(),
        "--seed".to_string(),
        args.seed.to_string(),
    ]);
    words.extend(repeated_words("--stress", &args.stresses));
    if args.repair_correlation {
        words.push("--repair-correlation".to_string());
    }
    if args.sensitivity {
        words.push("--sensitivity".to_string());
    }
    words.extend(path_words("--report", args.report.as_deref()));
    command_line(&words)
}

/// The command that merges the same shard files again.
pub(crate) fn merge_command(args: &MergeArgs) -> String {
    let mut words = vec!["bitwatt".to_string(), "merge".to_string()];
    words.extend(args.shards.iter().map(|path| path.display().to_string()));
    words.extend(path_words("--report", args.report.as_deref()));
    command_line(&words)
}

/// Arguments of `merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// Shard files written by `simulate --shard K/N --out FILE` (or all by `portfolio
    /// --shard`), in any order.
    #[arg(value_name = "SHARD.json", required = true)]
    pub(crate) shards: Vec<PathBuf>,
    /// Write the merged result's workbook to FILE.xlsx (as `simulate --xlsx`, `portfolio
    /// --xlsx`).
    #[arg(long, value_name = "FILE.xlsx")]
    pub(crate) xlsx: Option<PathBuf>,
    /// Write the merged result's HTML report to FILE.html (as `simulate --report`,
    /// `portfolio --report`).
    #[arg(long, value_name = "FILE.html")]
    pub(crate) report: Option<PathBuf>,
    #[command(flatten)]
    pub(crate) history: HistoryArgs,
    /// Print the full result as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

/// Runs `simulate`.
pub fn run(args: SimulateArgs) -> Result<String> {
    let scenario = scenario_repairing(
        args.file.as_deref(),
        args.example.as_deref(),
        args.repair_correlation,
    )?;
    let stresses = parse_stresses(&args.stresses, &scenario)?;
    if args.paths == 0 {
        return Err(BadInput("--paths 0: expected at least one path".to_string()).into());
    }
    let shard = match &args.shard {
        Some(text) => parse_shard(text)?,
        None => Shard::WHOLE,
    };
    let recorder = args.history.open()?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("cannot start the worker threads")?;
    let began = Instant::now();
    let simulation = Simulation::new(&scenario, &stresses, args.paths, args.seed)
        .map_err(|e| BadInput(e.to_string()))?;
    // Sensitivity pairs every bumped path with this run's.
    let simulation = if args.sensitivity {
        simulation.keeping_path_scalars()
    } else {
        simulation
    };

    let cancel = watch_ctrl_c()?;
    let progress = progress_bar(args.paths, shard, args.quiet);
    let tick = |paths: u64| progress.inc(paths);
    let mut paths_writer = args
        .paths_out
        .as_deref()
        .map(|path| PathsWriter::create(path, &scenario, simulation.borrower()))
        .transpose()?;
    let mut write_paths = |outcomes: &[PathOutcome]| {
        paths_writer
            .as_mut()
            .is_some_and(|writer| writer.write(outcomes))
    };
    let mut control = RunControl {
        cancel: Some(&cancel),
        progress: Some(&tick),
        ..RunControl::default()
    };
    if args.paths_out.is_some() {
        control.paths_out = Some(&mut write_paths);
    }
    let shard_result = pool
        .install(|| simulation.run(shard, &mut control))
        .map_err(|e| BadInput(e.to_string()))?;
    progress.finish_and_clear();
    if let (Some(writer), Some(path)) = (paths_writer, &args.paths_out) {
        // The result is kept; only the file is lost.
        if let Err(error) = writer.finish() {
            let _ = std::fs::remove_file(path);
            eprintln!("warning: {error:#}; {} removed", path.display());
        }
    }
    if !shard_result.complete {
        eprintln!(
            "warning: stopped after {} paths; the result covers those paths only",
            thousands(shard_result.paths_run as f64, 0)
        );
    }
    let run = RunJson {
        threads: pool.current_num_threads(),
        seconds: began.elapsed().as_secs_f64(),
    };

    let record = |metrics: Vec<Metric>, complete: bool| -> Result<RunRecord> {
        let mut options = repeated_option("stress", &args.stresses);
        if args.repair_correlation {
            options.push(("repair-correlation".to_string(), "yes".to_string()));
        }
        if let Some(shard) = &args.shard {
            options.push(("shard".to_string(), shard.clone()));
        }
        Ok(RunRecord {
            command: "simulate",
            name: scenario.name.clone(),
            seed: Some(args.seed),
            paths: Some(args.paths),
            complete,
            input_text: scenario_source(args.file.as_deref(), args.example.as_deref())?,
            inputs: serde_json::to_value(&scenario)?,
            options,
            metrics,
            report_path: args.report.clone(),
        })
    };
    if let Some(out) = &args.out {
        let (paths_run, complete) = (shard_result.paths_run, shard_result.complete);
        if let Some(recorder) = recorder {
            let paths_done = vec![Metric::new("paths_done_count", paths_run as f64)];
            recorder.record(record(paths_done, complete)?);
        }
        let file = SimulationShardFile::new(scenario.clone(), args.stresses.clone(), shard_result);
        return write_shard_file(out, &file, shard, (paths_run, complete), run.seconds);
    }
    if shard_result.paths_run == 0 {
        return Err(BadInput("stopped before any path completed".to_string()).into());
    }
    let result =
        SimulationResult::merge(vec![shard_result]).map_err(|e| BadInput(e.to_string()))?;
    let sensitivities = if args.sensitivity && result.complete {
        let progress = progress_bar(
            args.paths * STANDARD_BUMPS.len() as u64,
            Shard::WHOLE,
            args.quiet,
        );
        let tick = |paths: u64| progress.inc(paths);
        let rows = pool
            .install(|| {
                sensitivity(
                    &scenario,
                    &stresses,
                    &result,
                    &STANDARD_BUMPS,
                    Some(&tick),
                    Some(&cancel),
                )
            })
            .map_err(|e| BadInput(e.to_string()))?;
        progress.finish_and_clear();
        if rows.len() < STANDARD_BUMPS.len() {
            eprintln!(
                "warning: sensitivity stopped after {} of {} bumps",
                rows.len(),
                STANDARD_BUMPS.len()
            );
        }
        Some(rows)
    } else {
        if args.sensitivity {
            eprintln!("warning: sensitivity skipped: the run was stopped");
        }
        None
    };
    let run = RunJson {
        seconds: began.elapsed().as_secs_f64(),
        ..run
    };
    let html = match &args.report {
        Some(path) => Some(HtmlOut {
            path,
            scenario_toml: scenario_source(args.file.as_deref(), args.example.as_deref())?,
            command: reproducing_command(&args),
        }),
        None => None,
    };
    let metrics = result.metrics(simulation.borrower());
    let text = report(
        &scenario,
        &metrics,
        &result,
        (&args.stresses, &stresses),
        sensitivities.as_deref(),
        (args.json, html.as_ref(), args.xlsx.as_deref()),
        &run,
    )?;
    if let Some(recorder) = recorder {
        recorder.record(record(
            Metric::list(metrics.headline_values()),
            result.complete,
        )?);
    }
    Ok(text)
}

/// The `format` field of a shard file, if it has one.
fn shard_format(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Format {
        format: String,
    }
    serde_json::from_str::<Format>(text).ok().map(|f| f.format)
}

/// Runs `merge`: shards of `simulate` or of `portfolio`.
pub fn run_merge(args: MergeArgs) -> Result<String> {
    let began = Instant::now();
    let recorder = args.history.open()?;
    let mut files = Vec::with_capacity(args.shards.len());
    let mut books = Vec::new();
    for path in &args.shards {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        if shard_format(&text).as_deref() == Some(PORTFOLIO_SHARD_FORMAT) {
            let file: PortfolioShardFile = serde_json::from_str(&text).map_err(|e| {
                BadInput(format!(
                    "{}: not a shard file written by `bitwatt portfolio --shard` ({e})",
                    path.display()
                ))
            })?;
            books.push(file);
            continue;
        }
        let file: SimulationShardFile = serde_json::from_str(&text).map_err(|e| {
            BadInput(format!(
                "{}: not a shard file written by `bitwatt simulate --shard` ({e})",
                path.display()
            ))
        })?;
        files.push(file);
    }
    match (files.is_empty(), books.is_empty()) {
        (true, false) => {
            return portfolio_cmd::merge(books, &args, recorder);
        }
        (false, false) => {
            return Err(BadInput(
                "cannot merge shards of `simulate` with shards of `portfolio`".to_string(),
            )
            .into());
        }
        _ => {}
    }
    let merged = SimulationShardFile::merge(files).map_err(|e| match e {
        ShardMergeError::Format { position, .. }
        | ShardMergeError::ScenarioMismatch { position } => {
            BadInput(format!("{}: {e}", args.shards[position - 1].display()))
        }
        e => BadInput(e.to_string()),
    })?;
    let MergedSimulation {
        scenario,
        stress_names,
        stresses,
        result,
        metrics,
    } = merged;
    let (seed, paths) = (result.fingerprint.seed, result.fingerprint.paths);
    let run = RunJson {
        threads: 1,
        seconds: began.elapsed().as_secs_f64(),
    };
    let html = match &args.report {
        Some(path) => Some(HtmlOut {
            path,
            scenario_toml: toml::to_string(&scenario)?,
            command: merge_command(&args),
        }),
        None => None,
    };
    let text = report(
        &scenario,
        &metrics,
        &result,
        (&stress_names, &stresses),
        None,
        (args.json, html.as_ref(), args.xlsx.as_deref()),
        &run,
    )?;
    if let Some(recorder) = recorder {
        recorder.record(RunRecord {
            command: "merge",
            name: scenario.name.clone(),
            seed: Some(seed),
            paths: Some(paths),
            complete: result.complete,
            input_text: toml::to_string(&scenario)?,
            inputs: serde_json::to_value(&scenario)?,
            options: repeated_option("stress", &stress_names),
            metrics: Metric::list(metrics.headline_values()),
            report_path: args.report.clone(),
        });
    }
    Ok(text)
}

/// The result as text or JSON.
fn report(
    scenario: &Scenario,
    metrics: &CreditMetrics,
    result: &SimulationResult,
    (stress_names, stresses): (&[String], &[Stress]),
    sensitivities: Option<&[SensitivityRow]>,
    (as_json, html, xlsx): (bool, Option<&HtmlOut>, Option<&Path>),
    run: &RunJson,
) -> Result<String> {
    let headroom = headroom(scenario, stresses).map_err(|e| BadInput(e.to_string()))?;
    let projection = if html.is_some() || xlsx.is_some() {
        Some(project(scenario, stresses).map_err(|e| BadInput(e.to_string()))?)
    } else {
        None
    };
    if let (Some(path), Some(projection)) = (xlsx, &projection) {
        let seed = result.fingerprint.seed;
        write_workbook(path, || {
            borrower_workbook(
                &scenario.name,
                projection,
                &WorkbookResult::Simulation { metrics, seed },
            )
        })?;
    }
    if let (Some(html), Some(projection)) = (html, &projection) {
        let page = SimulateReport {
            scenario,
            scenario_toml: &html.scenario_toml,
            metrics,
            result,
            projection,
            stresses: stress_names,
            sensitivity: sensitivities,
            stress_cases: &stress_comparison(scenario, stresses)
                .map_err(|e| BadInput(e.to_string()))?,
            command: &html.command,
        }
        .render();
        write_report(html.path, &page)?;
    }
    if as_json {
        json(&WithRun {
            document: SimulateJson {
                scenario: &scenario.name,
                stresses: stress_names.to_vec(),
                fingerprint: &result.fingerprint,
                complete: result.complete,
                metrics,
                headroom: &headroom,
                sensitivity: sensitivities,
            },
            run,
        })
    } else {
        let mut text = render(scenario, metrics, &headroom, result, stress_names, run);
        if let Some(rows) = sensitivities {
            text.push_str(&render_sensitivity(rows));
        }
        Ok(text)
    }
}

/// A probability and its standard error, in percent (as the HTML report prints it).
pub(crate) fn percent(estimate: &Estimate) -> String {
    bitwatt_report::html::percent(estimate)
}

fn render(
    scenario: &Scenario,
    metrics: &CreditMetrics,
    headroom: &[CovenantHeadroom],
    result: &SimulationResult,
    stresses: &[String],
    run: &RunJson,
) -> String {
    let mut out = format!(
        "{} — {} paths, seed {}{}\n\n",
        scenario.name,
        thousands(metrics.paths as f64, 0),
        result.fingerprint.seed,
        if stresses.is_empty() {
            String::new()
        } else {
            format!(", under {}", stresses.join(" then "))
        }
    );
    let mut facts = Facts::new();
    if let Some(last) = metrics.cumulative_pd_by_year.last() {
        facts.add("PD to the horizon", percent(last));
        facts.add(
            "Rating grade (S&P 1981–2024)",
            format!(
                "{} (its {:.1}-year default rate {:.2} %)",
                metrics.rating.grade.label(),
                metrics.rating.horizon_years,
                metrics.rating.grade_cumulative_default_rate * 100.0
            ),
        );
    }
    if let Some(ttd) = &metrics.time_to_default {
        let first = scenario.first_month();
        facts.add(
            "Default month (5 / 50 / 95 %)",
            format!(
                "{} / {} / {}",
                first.plus_months(ttd.month_quantiles[0] as i32),
                first.plus_months(ttd.month_quantiles[2] as i32),
                first.plus_months(ttd.month_quantiles[4] as i32)
            ),
        );
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

    let mut years = Table::new(["year", "cumulative PD", "PD in the year"]);
    for (year, pd) in metrics.cumulative_pd_by_year.iter().enumerate() {
        let in_year = metrics
            .time_to_default
            .as_ref()
            .map_or("0.00 %".to_string(), |ttd| percent(&ttd.pd_by_year[year]));
        years.row([(year + 1).to_string(), percent(pd), in_year]);
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
        "grade",
        "LGD",
        "LGD 5–95 %",
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
            instrument.rating.grade.label().to_string(),
            instrument.lgd.as_ref().map_or("n/a".to_string(), percent),
            instrument.lgd_quantiles.map_or("n/a".to_string(), |q| {
                format!("{:.0}–{:.0} %", q[0] * 100.0, q[4] * 100.0)
            }),
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

    let mut breaches = Table::new(["debt", "covenant", "breach within horizon", "in year 1"]);
    let mut any_covenant = false;
    for instrument in &metrics.instruments {
        for breach in &instrument.covenant_breaches {
            any_covenant = true;
            breaches.row([
                instrument.name.clone(),
                covenant_text(breach.covenant).to_string(),
                percent(&breach.probability),
                breach
                    .probability_by_year
                    .first()
                    .map_or("n/a".to_string(), percent),
            ]);
        }
    }
    if any_covenant {
        out.push('\n');
        out.push_str(&breaches.render());
    }

    out.push_str(&render_fans(metrics));
    out.push_str(&render_headroom(headroom));
    out.push_str(&render_attribution(metrics));
    out.push_str(&format!(
        "\nnote: ± is one Monte Carlo standard error; spreads a year, the fee spread over the \
         expected life; {} threads, {:.1} s\n",
        run.threads, run.seconds
    ));
    out
}

/// The tornado: bumps ranked by their change in PD.
fn render_sensitivity(rows: &[SensitivityRow]) -> String {
    let mut table = Table::new([
        "sensitivity (same random numbers)",
        "bump",
        "PD",
        "ΔPD",
        "Δ expected loss",
    ]);
    for row in rows {
        table.row([
            row.parameter.to_string(),
            row.change.to_string(),
            percent(&row.pd),
            format!(
                "{:+.2} pts ± {:.2}",
                row.delta_pd.value * 100.0,
                row.delta_pd.standard_error * 100.0
            ),
            format!(
                "{} ± {}",
                usd_millions(row.delta_expected_loss_usd.value),
                usd_millions(row.delta_expected_loss_usd.standard_error)
            ),
        ]);
    }
    format!("\n{}", table.render())
}

fn covenant_text(covenant: Covenant) -> &'static str {
    match covenant {
        Covenant::DscrLockUp => "DSCR lock-up",
        Covenant::DscrDefault => "DSCR default level",
        Covenant::MaxLtv => "maximum LTV",
    }
}

/// Where each covenant first breaks in the base case, one column per lever.
fn render_headroom(headroom: &[CovenantHeadroom]) -> String {
    if headroom.is_empty() {
        return String::new();
    }
    let mut header = vec!["headroom (base case)".to_string()];
    header.extend(Lever::ALL.iter().map(|&lever| {
        let base = headroom
            .iter()
            .find(|h| h.lever == lever)
            .map_or(0.0, |h| h.base_level_at_start);
        format!("{} (now {})", lever_text(lever), lever_level(lever, base))
    }));
    let mut table = Table::new(header);
    for row in headroom.chunks(Lever::ALL.len()) {
        let covenant = &row[0].covenant;
        let level = match covenant.kind {
            Covenant::MaxLtv => format!("{:.0} %", covenant.level * 100.0),
            Covenant::DscrLockUp | Covenant::DscrDefault => format!("{:.2}×", covenant.level),
        };
        let mut cells = vec![format!(
            "{} {} {level}",
            row[0].instrument,
            covenant_text(covenant.kind)
        )];
        for cell in row {
            cells.push(match cell.headroom {
                Headroom::BreaksInBaseCase { month, breach } => {
                    format!("breaks now ({month}{})", breach_text(breach))
                }
                Headroom::Breaks {
                    headroom_percent,
                    level_at_start,
                    month,
                    breach,
                    ..
                } => format!(
                    "{} ({headroom_percent:+.1} %, {month}{})",
                    lever_level(cell.lever, level_at_start),
                    breach_text(breach)
                ),
                Headroom::HoldsWithinRange {
                    searched_to_multiplier,
                    borrower_default_multiplier,
                } => match borrower_default_multiplier {
                    Some(k) => format!(
                        "holds; borrower defaults at {}",
                        lever_level(cell.lever, cell.base_level_at_start * k)
                    ),
                    None => format!("holds to {searched_to_multiplier:.2}×"),
                },
            });
        }
        table.row(cells);
    }
    format!(
        "\n{}note: the level at the start month at which the covenant first fails a test (before \
         any cure) with the lever moved over the whole base case, and the month it fails\n",
        table.render()
    )
}

fn lever_text(lever: Lever) -> &'static str {
    match lever {
        Lever::BtcPrice => "BTC price",
        Lever::Hashprice => "hashprice",
        Lever::GpuRent => "GPU rent",
        Lever::PowerPrice => "power price",
    }
}

fn lever_level(lever: Lever, level: f64) -> String {
    match lever {
        Lever::BtcPrice => format!("${}", thousands(level, 0)),
        Lever::Hashprice => format!("${level:.2}/PH/day"),
        Lever::GpuRent => format!("${level:.2}/GPU-h"),
        Lever::PowerPrice => format!("${level:.1}/MWh"),
    }
}

fn breach_text(breach: Breach) -> String {
    match breach {
        Breach::Covenant => String::new(),
        Breach::Default(cause) => format!(", first a default: {}", cause_text(cause)),
    }
}

/// The fans at a few year ends: 5 / 50 / 95 % (the JSON has every month and quartile).
fn render_fans(metrics: &CreditMetrics) -> String {
    use bitwatt_engine::FanSeries;
    let months = metrics
        .fans
        .first()
        .map_or(0, |fan| fan.quantiles_by_month.len());
    let year_ends: Vec<usize> = [12, 24, 36, 60, 120]
        .into_iter()
        .filter(|&m| m <= months)
        .collect();
    let mut header = vec!["fan: 5 / 50 / 95 %".to_string()];
    header.extend(year_ends.iter().map(|m| format!("year {}", m / 12)));
    let mut table = Table::new(header);
    for fan in &metrics.fans {
        let (label, format): (&str, fn(f64) -> String) = match fan.series {
            FanSeries::Dscr => ("DSCR", |v| format!("{v:.2}")),
            FanSeries::Ltv => ("LTV (%)", |v| format!("{:.0}", v * 100.0)),
            FanSeries::CashUsd => ("cash (USD M)", |v| format!("{:.0}", v / 1e6)),
            FanSeries::HashpriceUsdPerPhDay => ("hashprice (USD/PH/day)", |v| format!("{v:.1}")),
            FanSeries::BtcPriceUsd => ("BTC price (USD k)", |v| format!("{:.0}", v / 1e3)),
            FanSeries::GpuRentUsdPerGpuHour => ("GPU rent (USD/GPU-h)", |v| format!("{v:.2}")),
            FanSeries::NetworkHashrateEhs => ("network hashrate (EH/s)", |v| format!("{v:.0}")),
        };
        let mut row = vec![label.to_string()];
        for &m in &year_ends {
            row.push(
                fan.quantiles_by_month[m - 1].map_or("n/a".to_string(), |q| {
                    format!("{} / {} / {}", format(q[0]), format(q[2]), format(q[4]))
                }),
            );
        }
        table.row(row);
    }
    format!("\n{}", table.render())
}

/// The factors at each year end on defaulting paths against all paths.
fn render_attribution(metrics: &CreditMetrics) -> String {
    use bitwatt_engine::Factor;
    let months = metrics
        .attribution
        .first()
        .map_or(0, |a| a.mean_all_by_month.len());
    let shown = [
        (Factor::BtcPriceUsd, "BTC price (USD)", 0),
        (Factor::HashpriceUsdPerPhDay, "hashprice (USD/PH/day)", 2),
        (Factor::GpuRentUsdPerGpuHour, "GPU rent (USD/GPU-h)", 2),
        (Factor::PowerPriceUsdPerMwh, "power (USD/MWh)", 1),
        (Factor::StressShare, "stress regime (%)", 1),
    ];
    let year_ends: Vec<usize> = [12, 24, 36, 60]
        .into_iter()
        .filter(|&m| m <= months)
        .collect();
    let mut header = vec!["mean on defaulting / all paths".to_string()];
    header.extend(year_ends.iter().map(|m| format!("year {}", m / 12)));
    let mut table = Table::new(header);
    let mut any = false;
    for (factor, label, decimals) in shown {
        let Some(attribution) = metrics.attribution.iter().find(|a| a.factor == factor) else {
            continue;
        };
        let Some(defaulted) = &attribution.mean_defaulted_by_month else {
            continue;
        };
        any = true;
        let scale = if factor == Factor::StressShare {
            100.0
        } else {
            1.0
        };
        let mut row = vec![label.to_string()];
        for &m in &year_ends {
            row.push(format!(
                "{} / {}",
                thousands(defaulted[m - 1] * scale, decimals),
                thousands(attribution.mean_all_by_month[m - 1] * scale, decimals)
            ));
        }
        table.row(row);
    }
    if any {
        format!("\n{}", table.render())
    } else {
        String::new()
    }
}
