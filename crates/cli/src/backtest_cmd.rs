//! `bitwatt backtest`: the model against history. `hashprice` recomputes daily hashprice from
//! price, difficulty and block rewards and compares it with the realised series.

use std::path::{Path, PathBuf};

use anyhow::Result;
use bitwatt_chain::{
    DataError, read_block_rewards, read_daily_closes, read_daily_difficulty,
    read_daily_miner_economics,
};
use bitwatt_engine::{HashpriceBacktest, backtest_hashprice};
use bitwatt_report::{Facts, Table, thousands};
use clap::{Args, Subcommand};
use serde::Serialize;

use crate::args::BadInput;
use crate::output::json;

/// `bitwatt backtest …`.
#[derive(Subcommand)]
pub enum BacktestCommand {
    /// Daily hashprice recomputed from the BTC price, the difficulty in force and the day's
    /// block rewards, against the realised series (days with a retarget left out).
    Hashprice(HashpriceArgs),
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
    }
}

/// The file given by `option`, else `name` in `--data`.
fn input(
    given: &Option<PathBuf>,
    data: &Option<PathBuf>,
    option: &str,
    name: &str,
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
    let prices = input(
        &args.prices,
        &args.data,
        "--prices",
        "btc_usd_daily_yahoo.csv",
    )?;
    let difficulty = input(
        &args.difficulty,
        &args.data,
        "--difficulty",
        "btc_daily_difficulty.csv",
    )?;
    let blocks = input(
        &args.blocks,
        &args.data,
        "--blocks",
        "btc_block_stats_partial.csv",
    )?;
    let onchain = input(
        &args.onchain,
        &args.data,
        "--onchain",
        "btc_daily_onchain_partial.csv",
    )?;
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
