//! `bitwatt project`: a borrower's deterministic base case, month by month.

use std::path::PathBuf;

use anyhow::{Context, Result};
use bitwatt_engine::{
    DebtOutcome, LiquidationKind, MonthRow, Projection, Recoveries, Stress, btc_drift_per_year,
    project, stress_comparison,
};
use bitwatt_model::{DebtKind, Scenario};
use bitwatt_report::html::ProjectReport;
use bitwatt_report::json::{ProjectJson, stress_start};
use bitwatt_report::{
    Facts, Table, WorkbookResult, assumption_notes, borrower_workbook, cause_text,
    liquidation_kind_text, monthly_csv, rate_text, thousands, usd_millions,
};
use bitwatt_store::Metric;
use clap::Args;

use crate::args::BadInput;
use crate::history_cmd::{HistoryArgs, RunRecord, repeated_option};
use crate::output::{
    command_line, json, path_words, repeated_words, scenario_words, write_report, write_workbook,
};
use crate::scenario_cmd::{parse_stresses, scenario_of, scenario_source};

/// Arguments of `project`.
#[derive(Args)]
pub struct ProjectArgs {
    /// Scenario file (TOML); default: the built-in example `pivot-miner`.
    #[arg(value_name = "SCENARIO.toml")]
    file: Option<PathBuf>,
    /// Run a built-in example instead of a file: pivot-miner, neocloud-abl or pure-miner.
    #[arg(long, value_name = "NAME", conflicts_with = "file")]
    example: Option<String>,
    /// Write the monthly table (every source and use, per instrument) as CSV to FILE.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Write a workbook for spreadsheets to FILE.xlsx: the summary, the monthly waterfall
    /// and the covenant tests, with number formats and frozen headers.
    #[arg(long, value_name = "FILE.xlsx")]
    xlsx: Option<PathBuf>,
    /// Also write a self-contained HTML report to FILE.html: the summary, the debts, the
    /// market and ratios month by month as charts, the stress comparison, the monthly tables
    /// and the scenario file.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
    /// Apply a stress of the library on top of the base case: hashprice-collapse,
    /// ai-capex-pullback, generation-leap, correlation-convergence, grid-event or
    /// inference-deflation, optionally with @YYYY-MM for the first month of its window
    /// (default: the first projected month). Repeat to compose them in order.
    #[arg(long = "stress", value_name = "NAME[@YYYY-MM]")]
    stresses: Vec<String>,
    #[command(flatten)]
    history: HistoryArgs,
}

/// Runs `project`.
pub fn run(args: ProjectArgs) -> Result<String> {
    let scenario = scenario_of(args.file.as_deref(), args.example.as_deref())?;
    let stresses = parse_stresses(&args.stresses, &scenario)?;
    let recorder = args.history.open()?;
    let projection = project(&scenario, &stresses).map_err(|e| BadInput(e.to_string()))?;
    if let Some(path) = &args.csv {
        let table = monthly_csv(&projection)?;
        std::fs::write(path, table)
            .with_context(|| format!("cannot write the monthly table to {}", path.display()))?;
    }
    if let Some(path) = &args.xlsx {
        write_workbook(path, || {
            borrower_workbook(&scenario.name, &projection, &WorkbookResult::Projection)
        })?;
    }
    if let Some(path) = &args.report {
        let scenario_toml = scenario_source(args.file.as_deref(), args.example.as_deref())?;
        let stress_cases =
            stress_comparison(&scenario, &stresses).map_err(|e| BadInput(e.to_string()))?;
        let mut words = vec!["bitwatt".to_string(), "project".to_string()];
        words.extend(scenario_words(
            args.file.as_deref(),
            args.example.as_deref(),
        ));
        words.extend(repeated_words("--stress", &args.stresses));
        words.extend(path_words("--report", Some(path)));
        let page = ProjectReport {
            scenario: &scenario,
            scenario_toml: &scenario_toml,
            projection: &projection,
            stresses: &args.stresses,
            stress_cases: &stress_cases,
            command: &command_line(&words),
        }
        .render();
        write_report(path, &page)?;
    }
    let text = if args.json {
        json(&ProjectJson::new(&scenario, &projection, &stresses))?
    } else {
        render(&scenario, &projection, &stresses)
    };
    if let Some(recorder) = recorder {
        recorder.record(RunRecord {
            command: "project",
            name: scenario.name.clone(),
            seed: None,
            paths: None,
            complete: true,
            input_text: scenario_source(args.file.as_deref(), args.example.as_deref())?,
            inputs: serde_json::to_value(&scenario)?,
            options: repeated_option("stress", &args.stresses),
            metrics: Metric::list(projection.headline_values()),
            report_path: args.report.clone(),
        });
    }
    Ok(text)
}

fn month_label(projection: &Projection, month_index: usize) -> String {
    projection
        .borrower
        .start_month
        .plus_months(month_index as i32)
        .to_string()
}

fn kind_text(kind: DebtKind) -> &'static str {
    match kind {
        DebtKind::TermLoan => "term loan",
        DebtKind::ProjectFinance => "project finance",
        DebtKind::Abl => "asset-backed loan",
        DebtKind::Convertible => "convertible notes",
        DebtKind::HighYield => "high-yield bond",
        DebtKind::BtcBacked => "BTC-backed loan",
        DebtKind::Revolver => "revolver",
    }
}

fn render(scenario: &Scenario, projection: &Projection, stresses: &[Stress]) -> String {
    let summary = &projection.summary;
    let market = &projection.market;
    let months = projection.months.len();
    let last = months.saturating_sub(1);
    let case = if stresses.is_empty() {
        "base case".to_string()
    } else {
        let names: Vec<String> = stresses.iter().map(Stress::to_string).collect();
        format!("base case under {}", names.join(" then "))
    };
    let mut out = format!(
        "{} — {case}, {} months from {}\n\n",
        scenario.name, projection.borrower.horizon_months, projection.borrower.start_month
    );
    let mut facts = Facts::new();
    if months > 0 {
        facts.add(
            "BTC price",
            format!(
                "${} → ${} (drift {:.2} % a year)",
                thousands(market.btc_price_usd[0], 0),
                thousands(market.btc_price_usd[last], 0),
                btc_drift_per_year(&scenario.market) * 100.0
            ),
        );
        facts.add(
            "Hashprice",
            format!(
                "${:.2} → ${:.2} per PH/s per day",
                projection.months[0].hashprice_usd_per_ph_day,
                projection.months[last].hashprice_usd_per_ph_day
            ),
        );
        facts.add(
            "Network hashrate",
            format!(
                "{} → {} EH/s",
                thousands(projection.months[0].network_hashrate_ehs, 0),
                thousands(projection.months[last].network_hashrate_ehs, 0)
            ),
        );
    }
    facts.add(
        "Minimum DSCR (tested)",
        summary.min_dscr.map_or("n/a".to_string(), |(dscr, t)| {
            format!("{dscr:.2}× in {}", month_label(projection, t))
        }),
    );
    facts.add(
        "Maximum LTV",
        summary.max_ltv.map_or("n/a".to_string(), |(ltv, t)| {
            format!("{:.1} % in {}", ltv * 100.0, month_label(projection, t))
        }),
    );
    facts.add(
        "Covenant breaches",
        format!(
            "{} (equity cures {}, months locked up {})",
            summary.covenant_breaches, summary.cures_used, summary.lock_up_months
        ),
    );
    facts.add(
        "Default",
        summary.default.map_or("none".to_string(), |event| {
            format!(
                "{}: {}",
                month_label(projection, event.month_index),
                cause_text(event.cause)
            )
        }),
    );
    facts.add(
        "Equity IRR",
        projection.equity_irr.map_or("n/a".to_string(), |irr| {
            format!("{:.1} % a year", irr * 100.0)
        }),
    );
    facts.add("Cash at the end", usd_millions(summary.final_cash_usd));
    out.push_str(&facts.render());

    let mut debts = Table::new([
        "debt",
        "kind",
        "committed",
        "rate",
        "min DSCR",
        "peak balance",
        "final balance",
        "events",
        "default",
    ]);
    for (plan, outcome) in projection
        .borrower
        .debts
        .iter()
        .zip(summary.debt_outcomes())
    {
        debts.row([
            plan.name.clone(),
            kind_text(plan.kind).to_string(),
            usd_millions(plan.commitment_usd),
            rate_text(plan.rate),
            outcome
                .min_tested_dscr
                .map_or("n/a".to_string(), |d| format!("{d:.2}×")),
            usd_millions(outcome.peak_balance_usd),
            usd_millions(outcome.final_balance_usd),
            events_text(projection, outcome),
            outcome.default.map_or("none".to_string(), |event| {
                format!(
                    "{} {}",
                    month_label(projection, event.month_index),
                    cause_text(event.cause)
                )
            }),
        ]);
    }
    out.push('\n');
    out.push_str(&debts.render());
    if let Some(recoveries) = &projection.recoveries {
        out.push('\n');
        out.push_str(&render_recoveries(projection, recoveries));
    }

    let mut years = Table::new([
        "year from",
        "EBITDA",
        "CFADS",
        "debt service",
        "DSCR",
        "cash",
        "debt",
        "LTV",
    ]);
    for chunk_start in (0..months).step_by(12) {
        let rows = &projection.months[chunk_start..(chunk_start + 12).min(months)];
        let sum = |read: fn(&MonthRow) -> f64| rows.iter().map(read).sum::<f64>();
        let (cfads, service) = (sum(|r| r.cfads_usd), sum(|r| r.debt_service_usd));
        let end = rows.last().expect("chunks are not empty");
        years.row([
            month_label(projection, chunk_start),
            usd_millions(sum(|r| r.ebitda_usd)),
            usd_millions(cfads),
            usd_millions(service),
            if service > 0.0 {
                format!("{:.2}×", cfads / service)
            } else {
                "n/a".to_string()
            },
            usd_millions(end.cash_usd),
            usd_millions(end.debt_usd),
            end.ltv
                .map_or("n/a".to_string(), |ltv| format!("{:.1} %", ltv * 100.0)),
        ]);
    }
    out.push('\n');
    out.push_str(&years.render());
    out.push('\n');
    for note in assumption_notes(scenario) {
        out.push_str(&format!("note: {note}\n"));
    }
    for stress in stresses {
        out.push_str(&format!(
            "stress: {} from {}: {}\n",
            stress.kind,
            stress_start(stress, projection),
            stress.kind.description()
        ));
    }
    out
}

/// What happened to an instrument on the way: margin calls, refinancings, a call, breaches.
fn events_text(projection: &Projection, outcome: &DebtOutcome) -> String {
    let mut events = Vec::new();
    let count = |n: u32, one: &str, many: &str| match n {
        0 => None,
        1 => Some(format!("1 {one}")),
        n => Some(format!("{n} {many}")),
    };
    events.extend(count(outcome.margin_calls, "margin call", "margin calls"));
    events.extend(count(outcome.refinancings, "refinancing", "refinancings"));
    events.extend(count(
        outcome.covenant_breaches,
        "covenant breach",
        "covenant breaches",
    ));
    if let Some(t) = outcome.called_month {
        events.push(format!("called {}", month_label(projection, t)));
    }
    if events.is_empty() {
        "none".to_string()
    } else {
        events.join(", ")
    }
}

/// The lenders' recoveries after the path's defaults, and the fire sale behind them.
fn render_recoveries(projection: &Projection, recoveries: &Recoveries) -> String {
    let mut table = Table::new([
        "defaulted debt",
        "exposure",
        "from security",
        "unsecured",
        "recovered (PV)",
        "loss",
        "LGD",
    ]);
    for (plan, claim) in projection.borrower.debts.iter().zip(recoveries.claims()) {
        let Some(lgd) = claim.lgd else { continue };
        table.row([
            plan.name.clone(),
            usd_millions(claim.ead_usd),
            usd_millions(claim.secured_recovery_usd),
            usd_millions(claim.unsecured_recovery_usd),
            usd_millions(claim.recovered_usd),
            usd_millions(claim.loss_usd),
            format!("{:.1} %", lgd * 100.0),
        ]);
    }
    let mut out = table.render();
    for (kind, sold) in LiquidationKind::ALL.iter().zip(&recoveries.liquidation) {
        if sold.undisturbed_value_usd > 0.0 {
            out.push_str(&format!(
                "fire sale of {}: {} at market value fetched {} ({:.1} % below), {} left unsold\n",
                liquidation_kind_text(*kind),
                usd_millions(sold.undisturbed_value_usd),
                usd_millions(sold.impacted_value_usd),
                (1.0 - sold.impacted_value_usd / sold.undisturbed_value_usd) * 100.0,
                usd_millions(sold.unsold_value_usd),
            ));
        }
    }
    out
}
