//! `bitwatt portfolio`: a lender's book on one set of market paths — the book's loss
//! distribution, VaR and ES, each borrower's PD, LGD, expected loss and contribution to ES,
//! default correlation, and what the shared fire sale of repossessed collateral adds.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use bitwatt_engine::{
    BookMetrics, Estimate, Liquidation, MAX_CORRELATED_BORROWERS, MergedPortfolio, Portfolio,
    PortfolioMetrics, PortfolioResult, PortfolioShardFile, RunControl, Shard, StressCase,
    book_borrowers, stress_comparison,
};
use bitwatt_report::html::{BorrowerStressCases, PortfolioReport};
use bitwatt_report::json::PortfolioJson;
use bitwatt_report::{Facts, Table, portfolio_workbook, thousands, usd_millions};
use bitwatt_store::Metric;
use clap::Args;

use crate::args::BadInput;
use crate::history_cmd::{HistoryArgs, Recorder, RunRecord, repeated_option};
use crate::output::{
    RunJson, WithRun, command_line, json, path_words, repeated_words, write_report, write_workbook,
};
use crate::run_control::{parse_shard, progress_bar, watch_ctrl_c, write_shard_file};
use crate::scenario_cmd::{load_book, parse_stresses};
use crate::simulate_cmd::{MergeArgs, merge_command, percent};

/// Arguments of `portfolio`.
#[derive(Args)]
pub struct PortfolioArgs {
    /// Book file (TOML): borrowers (scenario files), holdings, the market they share.
    #[arg(value_name = "BOOK.toml")]
    file: PathBuf,
    /// Number of market paths.
    #[arg(long, default_value_t = 10_000)]
    paths: u64,
    /// Seed of the random numbers: the same seed gives the same result.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Worker threads (default: every core); the result does not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Apply a stress of the library on top of every path; repeat to compose.
    #[arg(long = "stress", value_name = "NAME[@YYYY-MM]")]
    stresses: Vec<String>,
    /// Report the book with every defaulted borrower selling into markets of its own
    /// (the shared fire sale's add-on is reported either way).
    #[arg(long)]
    independent_liquidation: bool,
    /// Run only shard K of N (contiguous ranges of path chunks) and write it to --out;
    /// `bitwatt merge` combines the N shard files into exactly the unsharded result.
    #[arg(long, value_name = "K/N", requires = "out")]
    shard: Option<String>,
    /// Where --shard writes its result.
    #[arg(long, value_name = "SHARD.json", requires = "shard")]
    out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Write a workbook for spreadsheets to FILE.xlsx: the book's summary under both
    /// liquidations, the borrowers, the default correlations and the loss histogram.
    #[arg(long, value_name = "FILE.xlsx", conflicts_with = "shard")]
    xlsx: Option<PathBuf>,
    /// Also write a self-contained HTML report to FILE.html: the book's loss distribution,
    /// VaR / ES under both liquidations, the borrowers, the pairs that default together,
    /// each borrower's base case under the library's stresses, and the book file.
    #[arg(long, value_name = "FILE.html", conflicts_with = "shard")]
    report: Option<PathBuf>,
    #[command(flatten)]
    history: HistoryArgs,
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
}

/// What a report says about the run besides its metrics.
struct RunFacts<'a> {
    book: &'a str,
    seed: u64,
    stresses: &'a [String],
    liquidation: Liquidation,
}

/// Runs `portfolio`.
pub fn run(args: PortfolioArgs) -> Result<String> {
    let book = load_book(&args.file)?;
    let stresses = parse_stresses(&args.stresses, &book.market)?;
    if args.paths == 0 {
        return Err(BadInput("--paths 0: expected at least one path".to_string()).into());
    }
    let borrowers = book_borrowers(&book).map_err(|e| BadInput(e.to_string()))?;
    let shard = match &args.shard {
        Some(text) => parse_shard(text)?,
        None => Shard::WHOLE,
    };
    let recorder = args.history.open()?;
    let record = |metrics: Vec<Metric>, complete: bool| -> Result<RunRecord> {
        let mut options = repeated_option("stress", &args.stresses);
        if args.independent_liquidation {
            options.push(("independent-liquidation".to_string(), "yes".to_string()));
        }
        if let Some(shard) = &args.shard {
            options.push(("shard".to_string(), shard.clone()));
        }
        let borrowers = book
            .borrowers
            .iter()
            .map(|borrower| {
                Ok(serde_json::json!({
                    "name": borrower.name,
                    "holdings": format!("{:?}", borrower.holdings),
                    "scenario": serde_json::to_value(&borrower.scenario)?,
                }))
            })
            .collect::<Result<Vec<_>, serde_json::Error>>()?;
        Ok(RunRecord {
            command: "portfolio",
            name: book.name.clone(),
            seed: Some(args.seed),
            paths: Some(args.paths),
            complete,
            input_text: std::fs::read_to_string(&args.file)
                .with_context(|| format!("cannot read {}", args.file.display()))?,
            inputs: serde_json::json!({
                "market": serde_json::to_value(&book.market)?,
                "borrowers": borrowers,
            }),
            options,
            metrics,
            report_path: args.report.clone(),
        })
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("cannot start the worker threads")?;
    let began = Instant::now();
    let portfolio = Portfolio::new(&book.market, &borrowers, &stresses, args.paths, args.seed)
        .map_err(|e| BadInput(e.to_string()))?;
    let cancel = watch_ctrl_c()?;
    let progress = progress_bar(args.paths, shard, args.quiet);
    let tick = |paths: u64| progress.inc(paths);
    let mut control = RunControl {
        cancel: Some(&cancel),
        progress: Some(&tick),
        ..RunControl::default()
    };
    let shard_result = pool
        .install(|| portfolio.run(shard, &mut control))
        .map_err(|e| BadInput(e.to_string()))?;
    progress.finish_and_clear();
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
    if let Some(out) = &args.out {
        let (paths_run, complete) = (shard_result.paths_run, shard_result.complete);
        if let Some(recorder) = recorder {
            let paths_done = vec![Metric::new("paths_done_count", paths_run as f64)];
            recorder.record(record(paths_done, complete)?);
        }
        let file = PortfolioShardFile::new(
            book.name.clone(),
            args.stresses.clone(),
            args.independent_liquidation,
            shard_result,
        );
        return write_shard_file(out, &file, shard, (paths_run, complete), run.seconds);
    }
    if shard_result.paths_run == 0 {
        return Err(BadInput("stopped before any path completed".to_string()).into());
    }
    let result = PortfolioResult::merge(vec![shard_result]).map_err(|e| BadInput(e.to_string()))?;
    let metrics = result.metrics();
    let run = RunJson {
        seconds: began.elapsed().as_secs_f64(),
        ..run
    };
    let facts = RunFacts {
        book: &book.name,
        seed: args.seed,
        stresses: &args.stresses,
        liquidation: Liquidation::of(args.independent_liquidation),
    };
    let html = match &args.report {
        Some(path) => Some(HtmlOut {
            path,
            book_toml: Some(
                std::fs::read_to_string(&args.file)
                    .with_context(|| format!("cannot read {}", args.file.display()))?,
            ),
            borrower_cases: book
                .borrowers
                .iter()
                .map(|borrower| {
                    let cases = stress_comparison(&borrower.scenario, &stresses)
                        .map_err(|e| BadInput(format!("borrower {:?}: {e}", borrower.name)))?;
                    Ok((borrower.name.clone(), cases))
                })
                .collect::<Result<_>>()?,
            command: reproducing_command(&args),
        }),
        None => None,
    };
    let text = report(
        &facts,
        (&metrics, &result),
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

/// Where `--report` writes and what it embeds besides the result.
struct HtmlOut<'a> {
    path: &'a Path,
    /// The book file (not at hand when merged from shards).
    book_toml: Option<String>,
    /// Each borrower's base case under the library's stresses (none when merged).
    borrower_cases: Vec<(String, Vec<StressCase>)>,
    command: String,
}

/// The command that runs `args` again (without the options that do not change the result).
fn reproducing_command(args: &PortfolioArgs) -> String {
    let mut words = vec![
        "bitwatt".to_string(),
        "portfolio".to_string(),
        args.file.display().to_string(),
        "--paths".to_string(),
        args.paths.to_string(),
        "--seed".to_string(),
        args.seed.to_string(),
    ];
    words.extend(repeated_words("--stress", &args.stresses));
    if args.independent_liquidation {
        words.push("--independent-liquidation".to_string());
    }
    words.extend(path_words("--report", args.report.as_deref()));
    command_line(&words)
}

/// Merges portfolio shard files (already read, their format checked) and reports the book.
pub(crate) fn merge(
    files: Vec<PortfolioShardFile>,
    args: &MergeArgs,
    recorder: Option<Recorder>,
) -> Result<String> {
    let began = Instant::now();
    let MergedPortfolio {
        book,
        stress_names: stresses,
        independent_liquidation: independent,
        result,
    } = PortfolioShardFile::merge(files).map_err(|e| BadInput(e.to_string()))?;
    let seed = result.fingerprint.seed;
    let metrics = result.metrics();
    let run = RunJson {
        threads: 1,
        seconds: began.elapsed().as_secs_f64(),
    };
    let facts = RunFacts {
        book: &book,
        seed,
        stresses: &stresses,
        liquidation: Liquidation::of(independent),
    };
    let html = args.report.as_deref().map(|path| HtmlOut {
        path,
        book_toml: None,
        borrower_cases: Vec::new(),
        command: merge_command(args),
    });
    let text = report(
        &facts,
        (&metrics, &result),
        (args.json, html.as_ref(), args.xlsx.as_deref()),
        &run,
    )?;
    if let Some(recorder) = recorder {
        let mut options = repeated_option("stress", &stresses);
        if independent {
            options.push(("independent-liquidation".to_string(), "yes".to_string()));
        }
        recorder.record(RunRecord {
            command: "merge",
            name: book.clone(),
            seed: Some(seed),
            paths: Some(metrics.paths),
            complete: result.complete,
            // A book shard carries its result, not the book file.
            input_text: String::new(),
            inputs: serde_json::json!({ "book": book }),
            options,
            metrics: Metric::list(metrics.headline_values()),
            report_path: args.report.clone(),
        });
    }
    Ok(text)
}

/// The result as text or JSON.
fn report(
    facts: &RunFacts<'_>,
    (metrics, result): (&PortfolioMetrics, &PortfolioResult),
    (as_json, html, xlsx): (bool, Option<&HtmlOut>, Option<&Path>),
    run: &RunJson,
) -> Result<String> {
    if let Some(path) = xlsx {
        write_workbook(path, || portfolio_workbook(facts.book, facts.seed, metrics))?;
    }
    if let Some(html) = html {
        let borrower_cases: Vec<BorrowerStressCases<'_>> = html
            .borrower_cases
            .iter()
            .map(|(name, cases)| BorrowerStressCases { name, cases })
            .collect();
        let page = PortfolioReport {
            book: facts.book,
            book_toml: html.book_toml.as_deref(),
            metrics,
            result,
            liquidation: facts.liquidation,
            stresses: facts.stresses,
            borrower_cases: &borrower_cases,
            command: &html.command,
        }
        .render();
        write_report(html.path, &page)?;
    }
    if as_json {
        json(&WithRun {
            document: PortfolioJson {
                book: facts.book,
                seed: facts.seed,
                stresses: facts.stresses.to_vec(),
                liquidation: facts.liquidation,
                metrics,
            },
            run,
        })
    } else {
        Ok(render(facts, metrics, run))
    }
}

/// An amount and its standard error, in USD millions.
fn money(estimate: &Estimate) -> String {
    format!(
        "{} ± {}",
        usd_millions(estimate.value),
        usd_millions(estimate.standard_error)
    )
}

fn render(facts: &RunFacts<'_>, metrics: &PortfolioMetrics, run: &RunJson) -> String {
    let reported: &BookMetrics = match facts.liquidation {
        Liquidation::Shared => &metrics.shared,
        Liquidation::Independent => &metrics.independent,
    };
    let mut out = format!(
        "{} — {} borrowers, {} paths, seed {}, {} liquidation{}\n\n",
        facts.book,
        metrics.borrowers.len(),
        thousands(metrics.paths as f64, 0),
        facts.seed,
        match facts.liquidation {
            Liquidation::Shared => "shared",
            Liquidation::Independent => "independent",
        },
        if facts.stresses.is_empty() {
            String::new()
        } else {
            format!(", under {}", facts.stresses.join(" then "))
        }
    );
    let mut facts = Facts::new();
    facts.add("Expected loss", money(&reported.expected_loss_usd));
    for tail in &reported.loss_tail {
        facts.add(
            format!("Loss VaR / ES {:.1} %", tail.level * 100.0),
            format!("{} / {}", usd_millions(tail.var_usd), money(&tail.es_usd)),
        );
    }
    let add_on = &metrics.fire_sale_add_on;
    facts.add(
        "Fire-sale add-on: expected loss",
        money(&add_on.expected_loss_usd),
    );
    for tail in &add_on.es_usd {
        facts.add(
            format!("Fire-sale add-on: ES {:.1} %", tail.level * 100.0),
            money(&tail.difference_usd),
        );
    }
    out.push_str(&facts.render());

    let mut borrowers = Table::new([
        "borrower",
        "PD",
        "lender LGD",
        "lender expected loss",
        "contribution to ES 99 %",
    ]);
    for (default, loss) in metrics.borrowers.iter().zip(&reported.borrowers) {
        borrowers.row([
            default.name.clone(),
            percent(&default.pd),
            loss.lgd.as_ref().map_or("n/a".to_string(), percent),
            money(&loss.expected_loss_usd),
            money(&loss.es_99_contribution_usd),
        ]);
    }
    out.push('\n');
    out.push_str(&borrowers.render());

    let mut correlations = Table::new(["default correlation", "with", "joint PD", "correlation"]);
    for pair in &metrics.default_correlation {
        correlations.row([
            pair.first.clone(),
            pair.second.clone(),
            percent(&pair.joint_pd),
            pair.correlation.map_or("n/a".to_string(), |c| {
                // Rounded first, so a correlation of -0.001 reads 0.00, not -0.00.
                let value = (c.value * 100.0).round() / 100.0 + 0.0;
                format!("{value:.2} ± {:.2}", c.standard_error)
            }),
        ]);
    }
    if !metrics.default_correlation.is_empty() {
        out.push('\n');
        out.push_str(&correlations.render());
    } else if metrics.borrowers.len() > MAX_CORRELATED_BORROWERS {
        out.push_str(&format!(
            "\nnote: pairwise default correlations are reported for books of at most {} \
             borrowers\n",
            MAX_CORRELATED_BORROWERS
        ));
    }
    out.push_str(&format!(
        "\nnote: ± is one Monte Carlo standard error; the add-on is shared less independent \
         liquidation on the same paths; {} threads, {:.1} s\n",
        run.threads, run.seconds
    ));
    out
}
