//! `bitwatt backtest`: the model against history. `hashprice` recomputes daily hashprice from
//! price, difficulty and block rewards and compares it with the realised series.

use std::path::{Path, PathBuf};

use anyhow::Result;
use bitwatt_chain::UtcDay;
use bitwatt_chain::{
    DataError, read_block_rewards, read_daily_closes, read_daily_difficulty,
    read_daily_miner_economics, read_difficulty_epochs,
};
use bitwatt_engine::{
    HashpriceBacktest, NetworkBacktest, backtest_credit, backtest_hashprice, backtest_network,
    base_fees_btc_per_block,
};
use bitwatt_model::{Scenario, YearMonth};
use bitwatt_report::html::{NetworkBacktestReport, percent, usd_millions_estimate};
use bitwatt_report::{Facts, Table, thousands};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::args::BadInput;
use crate::output::{command_line, json, path_words, write_report};
use crate::scenario_cmd::scenario_of;

/// `bitwatt backtest …`.
#[derive(Subcommand)]
pub enum BacktestCommand {
    /// Daily hashprice recomputed from the BTC price, the difficulty in force and the day's
    /// block rewards, against the realised series (days with a retarget left out).
    Hashprice(HashpriceArgs),
    /// The model's endogenous hashrate and epoch-exact difficulty run from a start month on
    /// the real BTC prices, against the real difficulty month by month.
    Network(NetworkArgs),
    /// The 2022 miner-credit episode: a rig-financed miner run from January 2022 with the
    /// model fitted only on the history before it; the PD and LGD it assigned ex ante, next
    /// to what happened.
    Credit(CreditArgs),
}

/// The borrower of `backtest credit` unless `--scenario` names another.
const MINER_2022: &str = include_str!("../../../examples/backtest/miner-2022.toml");

/// Arguments of `backtest credit`.
#[derive(Args)]
pub struct CreditArgs {
    /// First month of the run; the model is fitted on the prices before it.
    #[arg(long, value_name = "YYYY-MM", default_value = "2022-01")]
    from: YearMonth,
    /// The borrower (default: examples/backtest/miner-2022.toml, built in).
    #[arg(long, value_name = "SCENARIO.toml")]
    scenario: Option<PathBuf>,
    /// A directory holding the files under their usual names (btc_usd_daily_yahoo.csv,
    /// btc_difficulty_epochs.csv, btc_daily_onchain_partial.csv).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Daily BTC prices (columns Date, Close).
    #[arg(long, value_name = "CSV")]
    prices: Option<PathBuf>,
    /// Difficulty epochs (columns epoch, start_height, difficulty, first_block_time).
    #[arg(long, value_name = "CSV")]
    epochs: Option<PathBuf>,
    /// Daily miner economics (for the fees of the year before the start).
    #[arg(long, value_name = "CSV")]
    onchain: Option<PathBuf>,
    /// Monte Carlo paths.
    #[arg(long, default_value_t = 2_000)]
    paths: u64,
    /// Seed of the random numbers.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `backtest network`.
#[derive(Args)]
pub struct NetworkArgs {
    /// First month of the backtest.
    #[arg(long, value_name = "YYYY-MM")]
    from: YearMonth,
    /// A directory holding the files under their usual names (btc_usd_daily_yahoo.csv,
    /// btc_difficulty_epochs.csv, btc_daily_difficulty.csv, btc_daily_onchain_partial.csv).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Daily BTC prices (columns Date, Close).
    #[arg(long, value_name = "CSV")]
    prices: Option<PathBuf>,
    /// Difficulty epochs (columns epoch, start_height, difficulty, first_block_time).
    #[arg(long, value_name = "CSV")]
    epochs: Option<PathBuf>,
    /// Difficulty at the end of each day (columns date, epoch, difficulty).
    #[arg(long, value_name = "CSV")]
    difficulty: Option<PathBuf>,
    /// Fees per block fed to the model (BTC); default: the mean of the realised days of the
    /// backtest's months in the daily series (--onchain), else the scenario's.
    #[arg(long, value_name = "BTC")]
    fees_btc_per_block: Option<f64>,
    /// Daily miner economics (columns date, blocks, subsidy_btc, fees_btc, …) for the fees.
    #[arg(long, value_name = "CSV")]
    onchain: Option<PathBuf>,
    /// The scenario whose world fleet, efficiency path and response run (default: the
    /// built-in example pure-miner).
    #[arg(long, value_name = "SCENARIO.toml")]
    scenario: Option<PathBuf>,
    /// Also write a self-contained HTML report (the difficulty paths as charts, the months
    /// as a table) to FILE.html.
    #[arg(long, value_name = "FILE.html")]
    report: Option<PathBuf>,
    /// Print the full result as JSON.
    #[arg(long)]
    json: bool,
}

/// The history files: each named, or found by its usual name in `--data DIR`.
#[derive(Args)]
pub struct HashpriceArgs {
    /// A directory holding the files under their usual names (btc_usd_daily_yahoo.csv,
    /// btc_daily_difficulty.csv, btc_block_stats_partial.csv, btc_daily_onchain_partial.csv).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Daily BTC prices (columns Date, Close).
    #[arg(long, value_name = "CSV")]
    prices: Option<PathBuf>,
    /// Difficulty at the end of each day (columns date, epoch, difficulty).
    #[arg(long, value_name = "CSV")]
    difficulty: Option<PathBuf>,
    /// Per-block statistics (columns height, time, totalfee, subsidy).
    #[arg(long, value_name = "CSV")]
    blocks: Option<PathBuf>,
    /// The realised daily series (columns date, blocks, subsidy_btc, fees_btc,
    /// hashprice_usd_per_phs_day).
    #[arg(long, value_name = "CSV")]
    onchain: Option<PathBuf>,
    /// How many of the worst days to list.
    #[arg(long, default_value_t = 5)]
    worst: usize,
    /// Print the full result as JSON (every day compared).
    #[arg(long)]
    json: bool,
}

/// Runs `bitwatt backtest …`.
pub fn run(command: BacktestCommand) -> Result<String> {
    match command {
        BacktestCommand::Hashprice(args) => hashprice(&args),
        BacktestCommand::Network(args) => network(&args),
        BacktestCommand::Credit(args) => credit(&args),
    }
}

/// `--prices` and its file's usual name in `--data DIR`.
const PRICES: (&str, &str) = ("--prices", "btc_usd_daily_yahoo.csv");
/// `--difficulty` and its file's usual name in `--data DIR`.
const DIFFICULTY: (&str, &str) = ("--difficulty", "btc_daily_difficulty.csv");
/// `--blocks` and its file's usual name in `--data DIR`.
const BLOCKS: (&str, &str) = ("--blocks", "btc_block_stats_partial.csv");
/// `--onchain` and its file's usual name in `--data DIR`.
const ONCHAIN: (&str, &str) = ("--onchain", "btc_daily_onchain_partial.csv");
/// `--epochs` and its file's usual name in `--data DIR`.
const EPOCHS: (&str, &str) = ("--epochs", "btc_difficulty_epochs.csv");

/// The file given by `option`, else `name` in `--data`.
fn input(
    given: &Option<PathBuf>,
    data: &Option<PathBuf>,
    (option, name): (&str, &str),
) -> Result<PathBuf> {
    match (given, data) {
        (Some(path), _) => Ok(path.clone()),
        (None, Some(dir)) => Ok(dir.join(name)),
        (None, None) => Err(BadInput(format!(
            "{option}: expected a file (or --data DIR holding {name})"
        ))
        .into()),
    }
}

/// Reads the history file `path` with `read`, naming the file in any error.
pub(crate) fn read_history<T>(
    path: &Path,
    read: impl Fn(&str) -> Result<T, DataError>,
) -> Result<T> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("cannot read {}: {e}", path.display())))?;
    read(&text).map_err(|e| BadInput(format!("{}: {e}", path.display())).into())
}

fn hashprice(args: &HashpriceArgs) -> Result<String> {
    // Every file named before any is read.
    let prices = input(&args.prices, &args.data, PRICES)?;
    let difficulty = input(&args.difficulty, &args.data, DIFFICULTY)?;
    let blocks = input(&args.blocks, &args.data, BLOCKS)?;
    let onchain = input(&args.onchain, &args.data, ONCHAIN)?;
    let closes = read_history(&prices, read_daily_closes)?;
    let difficulty = read_history(&difficulty, read_daily_difficulty)?;
    let blocks = read_history(&blocks, read_block_rewards)?;
    let realised = read_history(&onchain, read_daily_miner_economics)?;
    let result = backtest_hashprice(&closes, &difficulty, &blocks, &realised);
    if result.days.is_empty() {
        return Err(BadInput("no day has every input: nothing to compare".to_string()).into());
    }
    if args.json {
        #[derive(Serialize)]
        struct HashpriceJson<'a> {
            backtest: &'static str,
            #[serde(flatten)]
            result: &'a HashpriceBacktest,
        }
        return json(&HashpriceJson {
            backtest: "hashprice",
            result: &result,
        });
    }
    Ok(render(&result, args.worst))
}

fn network(args: &NetworkArgs) -> Result<String> {
    let prices = input(&args.prices, &args.data, PRICES)?;
    let epochs = input(&args.epochs, &args.data, EPOCHS)?;
    let difficulty = input(&args.difficulty, &args.data, DIFFICULTY)?;
    let onchain = args.onchain.clone().or_else(|| {
        args.data
            .as_ref()
            .map(|dir| dir.join("btc_daily_onchain_partial.csv"))
    });
    let template = scenario_of(args.scenario.as_deref(), Some("pure-miner"))?;
    let closes = read_history(&prices, read_daily_closes)?;
    let epochs = read_history(&epochs, read_difficulty_epochs)?;
    let difficulty = read_history(&difficulty, read_daily_difficulty)?;
    let fees = match (args.fees_btc_per_block, &onchain) {
        (Some(fees), _) if fees.is_finite() && fees >= 0.0 => fees,
        (Some(fees), _) => {
            return Err(BadInput(format!(
                "--fees-btc-per-block {fees}: expected BTC, at least 0"
            ))
            .into());
        }
        (None, Some(path)) if path.is_file() => {
            let days = read_history(path, read_daily_miner_economics)?;
            let from = args.from.start_unix_s();
            let observed: Vec<f64> = days
                .iter()
                .filter(|d| d.day.start_unix_s() >= from && d.blocks > 0)
                .map(|d| d.fees_btc / f64::from(d.blocks))
                .collect();
            if observed.is_empty() {
                base_fees_btc_per_block(&template.market)
            } else {
                observed.iter().sum::<f64>() / observed.len() as f64
            }
        }
        _ => base_fees_btc_per_block(&template.market),
    };
    let result = backtest_network(&template, args.from, &closes, &epochs, &difficulty, fees)
        .map_err(|e| BadInput(e.to_string()))?;
    if let Some(path) = &args.report {
        let mut words = vec![
            "bitwatt".to_string(),
            "backtest".to_string(),
            "network".to_string(),
            "--from".to_string(),
            args.from.to_string(),
            "--fees-btc-per-block".to_string(),
            result.fees_btc_per_block.to_string(),
        ];
        words.extend(path_words("--scenario", args.scenario.as_deref()));
        words.extend(path_words("--report", Some(path)));
        let page = NetworkBacktestReport {
            result: &result,
            scenario: &template.name,
            command: &command_line(&words),
        }
        .render();
        write_report(path, &page)?;
    }
    if args.json {
        #[derive(Serialize)]
        struct NetworkJson<'a> {
            backtest: &'static str,
            scenario: &'a str,
            #[serde(flatten)]
            result: &'a NetworkBacktest,
        }
        return json(&NetworkJson {
            backtest: "network",
            scenario: &template.name,
            result: &result,
        });
    }
    let first = &result.months[0];
    let last = &result.months[result.months.len() - 1];
    let mut out = format!(
        "Network backtest — {} months from {} to {} on the real BTC prices\n\n",
        result.months.len(),
        first.month,
        last.month
    );
    let mut facts = Facts::new();
    facts.add("World fleet and response of", template.name.clone());
    facts.add(
        "Fees per block fed",
        format!("{:.4} BTC", result.fees_btc_per_block),
    );
    facts.add(
        "Difficulty error: median",
        format!("{:.1} %", result.median_abs_relative_error * 100.0),
    );
    facts.add(
        "Difficulty error: worst",
        format!(
            "{:.1} % in {}",
            result.worst_abs_relative_error * 100.0,
            result.worst_month
        ),
    );
    out.push_str(&facts.render());
    let mut table = Table::new([
        "month",
        "BTC (USD)",
        "model difficulty (T)",
        "real difficulty (T)",
        "error",
        "model hashrate (EH/s)",
    ]);
    for month in &result.months {
        table.row([
            month.month.to_string(),
            thousands(month.btc_price_usd, 0),
            thousands(month.model_difficulty / 1e12, 2),
            thousands(month.real_difficulty / 1e12, 2),
            format!("{:+.1} %", month.relative_error * 100.0),
            thousands(month.model_hashrate_ehs, 1),
        ]);
    }
    out.push('\n');
    out.push_str(&table.render());
    Ok(out)
}

fn credit(args: &CreditArgs) -> Result<String> {
    let prices = input(&args.prices, &args.data, PRICES)?;
    let epochs = input(&args.epochs, &args.data, EPOCHS)?;
    let onchain = input(&args.onchain, &args.data, ONCHAIN)?;
    if args.paths == 0 {
        return Err(BadInput("--paths 0: expected at least one path".to_string()).into());
    }
    let template = match &args.scenario {
        Some(path) => scenario_of(Some(path), None)?,
        None => Scenario::from_toml(MINER_2022).expect("the built-in 2022 miner is valid (tested)"),
    };
    let closes = read_history(&prices, read_daily_closes)?;
    let epochs = read_history(&epochs, read_difficulty_epochs)?;
    let realised = read_history(&onchain, read_daily_miner_economics)?;
    let result = backtest_credit(
        &template,
        args.from,
        &closes,
        &epochs,
        &realised,
        (args.paths, args.seed),
    )
    .map_err(|e| BadInput(e.to_string()))?;
    // What happened: BTC over the year from the start, from the same price file.
    let start_day = UtcDay::from_unix_s(args.from.start_unix_s());
    let year_later = UtcDay::from_days_since_epoch(start_day.days_since_epoch() + 365);
    let window: Vec<_> = closes
        .iter()
        .filter(|c| c.day >= start_day && c.day < year_later)
        .collect();
    let realised_btc = match (window.first(), window.last()) {
        (Some(first), Some(last)) => Some(RealisedBtc {
            start_usd: first.close_usd,
            year_later_usd: last.close_usd,
            low_usd: window
                .iter()
                .map(|c| c.close_usd)
                .fold(f64::INFINITY, f64::min),
        }),
        _ => None,
    };
    if args.json {
        #[derive(Serialize)]
        struct CreditJson<'a> {
            backtest: &'static str,
            scenario: &'a str,
            start: YearMonth,
            fitted_from: String,
            fitted_to: String,
            fees_btc_per_block: f64,
            model: &'a bitwatt_engine::BtcModelFit,
            #[serde(flatten)]
            metrics: &'a bitwatt_engine::CreditMetrics,
            realised_btc: Option<RealisedBtc>,
            what_happened: &'static str,
        }
        return json(&CreditJson {
            backtest: "credit",
            scenario: &result.scenario.name,
            start: args.from,
            fitted_from: result.fit.from.to_string(),
            fitted_to: result.fit.to.to_string(),
            fees_btc_per_block: result.fees_btc_per_block,
            model: &result.fit.model,
            metrics: &result.metrics,
            realised_btc,
            what_happened: WHAT_HAPPENED,
        });
    }
    let m = &result.metrics;
    let mut out = format!(
        "Credit backtest — {} from {}, {} paths, seed {}\n\n",
        result.scenario.name,
        args.from,
        thousands(m.paths as f64, 0),
        args.seed
    );
    let mut facts = Facts::new();
    facts.add(
        "Model fitted on",
        format!(
            "BTC daily closes {} to {} ({} returns)",
            result.fit.from, result.fit.to, result.fit.returns
        ),
    );
    let fit = &result.fit.model;
    facts.add(
        "BTC volatility (calm / stress)",
        format!(
            "{:.0} % / {:.0} % a year, jumps {:.0} / {:.0} a year",
            fit.btc_calm_volatility_percent_per_year.value,
            fit.btc_stress_volatility_percent_per_year.value,
            fit.btc_jumps_per_year_calm.value,
            fit.btc_jumps_per_year_stress.value
        ),
    );
    facts.add(
        "Start",
        format!(
            "BTC ${}, fees {:.3} BTC a block, the real network of {}",
            thousands(result.scenario.market.btc_price_usd.unwrap_or(f64::NAN), 0),
            result.fees_btc_per_block,
            args.from
        ),
    );
    for (year, pd) in m.cumulative_pd_by_year.iter().enumerate() {
        facts.add(
            format!("PD by the end of {}", args.from.year() + year as i32),
            percent(pd),
        );
    }
    facts.add("Expected loss", usd_millions_estimate(&m.expected_loss_usd));
    out.push_str(&facts.render());
    let mut table = Table::new(["debt", "PD", "LGD", "expected loss"]);
    for instrument in &m.instruments {
        table.row([
            instrument.name.clone(),
            percent(&instrument.pd),
            instrument.lgd.as_ref().map_or("n/a".to_string(), percent),
            usd_millions_estimate(&instrument.expected_loss_usd),
        ]);
    }
    out.push_str(&format!("\nEx ante, per debt\n{}", table.render()));
    out.push_str("\nWhat happened\n");
    if let Some(btc) = &realised_btc {
        out.push_str(&format!(
            "BTC: ${} at the start, ${} a year later ({:+.0} %), low ${}.\n",
            thousands(btc.start_usd, 0),
            thousands(btc.year_later_usd, 0),
            (btc.year_later_usd / btc.start_usd - 1.0) * 100.0,
            thousands(btc.low_usd, 0)
        ));
    }
    out.push_str(WHAT_HAPPENED);
    out.push('\n');
    Ok(out)
}

/// The 2022 episode as the public record tells it (shared/REFERENCE.md).
const WHAT_HAPPENED: &str = "2022: rig prices fell 85–90 % (ASIC price index −87–91 % from \
     May 2021 to December 2022), about $4 bn of rig-backed loans were impaired and lenders took \
     the rigs ($1.4–2.6 k a rig in settlements), and Core Scientific filed for Chapter 11 in \
     December 2022.";

/// BTC over the year from the start.
#[derive(Serialize)]
struct RealisedBtc {
    start_usd: f64,
    year_later_usd: f64,
    low_usd: f64,
}

fn render(result: &HashpriceBacktest, worst: usize) -> String {
    let first = result
        .days
        .first()
        .map(|d| d.day.to_string())
        .unwrap_or_default();
    let last = result
        .days
        .last()
        .map(|d| d.day.to_string())
        .unwrap_or_default();
    let mut out = format!(
        "Hashprice backtest — {} days from {first} to {last}\n\n",
        result.days.len()
    );
    let mut facts = Facts::new();
    facts.add("Days compared", thousands(result.days.len() as f64, 0));
    facts.add(
        "Left out: retarget that day",
        result.retarget_days.to_string(),
    );
    facts.add(
        "Left out: an input missing",
        result.incomplete_days.to_string(),
    );
    facts.add(
        "Within 1 % of the realised value",
        format!("{:.2} % of the days", result.within_1_percent_share * 100.0),
    );
    facts.add(
        "Median / worst error",
        format!(
            "{:.2e} / {:.2e} (relative)",
            result.median_abs_relative_error, result.worst_abs_relative_error
        ),
    );
    out.push_str(&facts.render());
    let mut days: Vec<_> = result.days.iter().collect();
    days.sort_by(|a, b| b.relative_error.abs().total_cmp(&a.relative_error.abs()));
    let mut table = Table::new([
        "day",
        "blocks",
        "reward (BTC/block)",
        "difficulty (T)",
        "price (USD)",
        "model (USD/PH/day)",
        "realised",
        "error",
    ]);
    for day in days.into_iter().take(worst) {
        table.row([
            day.day.to_string(),
            day.blocks.to_string(),
            format!("{:.4}", day.reward_btc_per_block),
            thousands(day.difficulty / 1e12, 2),
            thousands(day.price_usd, 2),
            format!("{:.4}", day.model_usd_per_ph_day),
            format!("{:.4}", day.realised_usd_per_ph_day),
            format!("{:+.2e}", day.relative_error),
        ]);
    }
    out.push_str(&format!(
        "\nThe {} worst days\n{}",
        worst.min(result.days.len()),
        table.render()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_2022_miner_is_valid() {
        let scenario = Scenario::from_toml(MINER_2022).unwrap();
        assert_eq!(scenario.first_month().to_string(), "2022-01");
    }
}
