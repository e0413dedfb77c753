//! `bitwatt portfolio`: a lender's book on one set of market paths — the book's loss
//! distribution, VaR and ES, each borrower's PD, LGD, expected loss and contribution to ES,
//! default correlation, and what the shared fire sale of repossessed collateral adds.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use bitwatt_engine::{
    BookMetrics, Borrower, Estimate, Liquidation, Portfolio, PortfolioBorrower, PortfolioMetrics,
    base_market_path,
};
use bitwatt_model::{Book, Holding};
use bitwatt_report::{Facts, Table, thousands, usd_millions};
use clap::Args;
use serde::Serialize;

use crate::args::BadInput;
use crate::output::{RunJson, json};
use crate::scenario_cmd::{load_book, parse_stresses};
use crate::simulate_cmd::percent;

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
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `portfolio`.
pub fn run(args: PortfolioArgs) -> Result<String> {
    let book = load_book(&args.file)?;
    let stresses = parse_stresses(&args.stresses, &book.market)?;
    if args.paths == 0 {
        return Err(BadInput("--paths 0: expected at least one path".to_string()).into());
    }
    let shares = book
        .borrowers
        .iter()
        .map(|borrower| {
            // A notional is a share of the debt as sized on the borrower's own base case.
            let sized =
                Borrower::with_base_path(&borrower.scenario, &base_market_path(&borrower.scenario))
                    .map_err(|e| BadInput(format!("borrower {:?}: {e}", borrower.name)))?;
            Ok(borrower
                .holdings
                .iter()
                .zip(&sized.debts)
                .map(|(holding, debt)| match *holding {
                    Holding::Share(share) => share,
                    Holding::NotionalUsd(notional) if debt.commitment_usd > 0.0 => {
                        (notional / debt.commitment_usd).min(1.0)
                    }
                    Holding::NotionalUsd(_) => 0.0,
                })
                .collect::<Vec<f64>>())
        })
        .collect::<Result<Vec<_>>>()?;
    let borrowers: Vec<PortfolioBorrower<'_>> = book
        .borrowers
        .iter()
        .zip(shares)
        .map(|(borrower, shares)| PortfolioBorrower {
            name: &borrower.name,
            scenario: &borrower.scenario,
            shares,
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads.unwrap_or(0))
        .build()
        .context("cannot start the worker threads")?;
    let began = Instant::now();
    let portfolio = Portfolio::new(&book.market, &borrowers, &stresses, args.paths, args.seed)
        .map_err(|e| BadInput(e.to_string()))?;
    let metrics = pool.install(|| portfolio.run()).metrics();
    let run = RunJson {
        threads: pool.current_num_threads(),
        seconds: began.elapsed().as_secs_f64(),
    };
    let liquidation = if args.independent_liquidation {
        Liquidation::Independent
    } else {
        Liquidation::Shared
    };
    if args.json {
        json(&PortfolioJson {
            book: &book.name,
            seed: args.seed,
            stresses: args.stresses.clone(),
            liquidation,
            metrics: &metrics,
            run: &run,
        })
    } else {
        Ok(render(&book, &metrics, liquidation, &args, &run))
    }
}

/// The full result of `portfolio --json`; what depends on the machine sits under `run`.
#[derive(Serialize)]
struct PortfolioJson<'a> {
    book: &'a str,
    seed: u64,
    stresses: Vec<String>,
    /// The liquidation the summary reports (both are in the metrics).
    liquidation: Liquidation,
    #[serde(flatten)]
    metrics: &'a PortfolioMetrics,
    run: &'a RunJson,
}

/// An amount and its standard error, in USD millions.
fn money(estimate: &Estimate) -> String {
    format!(
        "{} ± {}",
        usd_millions(estimate.value),
        usd_millions(estimate.standard_error)
    )
}

fn render(
    book: &Book,
    metrics: &PortfolioMetrics,
    liquidation: Liquidation,
    args: &PortfolioArgs,
    run: &RunJson,
) -> String {
    let reported: &BookMetrics = match liquidation {
        Liquidation::Shared => &metrics.shared,
        Liquidation::Independent => &metrics.independent,
    };
    let mut out = format!(
        "{} — {} borrowers, {} paths, seed {}, {} liquidation{}\n\n",
        book.name,
        book.borrowers.len(),
        thousands(metrics.paths as f64, 0),
        args.seed,
        match liquidation {
            Liquidation::Shared => "shared",
            Liquidation::Independent => "independent",
        },
        if args.stresses.is_empty() {
            String::new()
        } else {
            format!(", under {}", args.stresses.join(" then "))
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
                format!("{:.2} ± {:.2}", c.value, c.standard_error)
            }),
        ]);
    }
    out.push('\n');
    out.push_str(&correlations.render());
    out.push_str(&format!(
        "\nnote: ± is one Monte Carlo standard error; the add-on is shared less independent \
         liquidation on the same paths; {} threads, {:.1} s\n",
        run.threads, run.seconds
    ));
    out
}
