//! `bitwatt network`: where the network is now.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use bitwatt_chain::{
    AdjustmentEstimate, AdjustmentInput, AdjustmentNetwork, CompactBits,
    DIFFICULTY_ADJUSTMENT_INTERVAL, NetworkSource, NetworkState, TARGET_BLOCK_SPACING_S,
    block_subsidy_btc, estimate_adjustment, fetch_network_state, halving_era, next_halving_height,
};
use bitwatt_report::{Facts, thousands, utc_datetime};
use clap::Args;
use serde::Serialize;

use crate::args::{SourceArgs, price_usd};
use crate::chain_cmd::{add_hashprice_facts, si};
use crate::output::json;

/// Arguments of `network`.
#[derive(Args)]
pub struct NetworkArgs {
    #[command(flatten)]
    source: SourceArgs,
    /// BTC price (USD) for hashprice; the snapshot carries its own, live sources none.
    #[arg(long, value_name = "USD", allow_hyphen_values = true, value_parser = price_usd)]
    price: Option<f64>,
    /// The time to estimate the next adjustment at (Unix seconds; default: the snapshot's tip
    /// time, or the clock for live sources).
    #[arg(long, value_name = "UNIX", allow_hyphen_values = true)]
    now: Option<u32>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct NetworkReport {
    source: String,
    tip_height: u32,
    tip_time_s: i64,
    bits: CompactBits,
    difficulty: f64,
    hashrate_hs: f64,
    trailing_hashrate_hs: f64,
    trailing_hashrate_blocks: u32,
    epoch: u32,
    blocks_in_epoch: u32,
    adjustment: AdjustmentEstimate,
    subsidy_btc: f64,
    halving_era: u32,
    next_halving_height: Option<u32>,
    next_halving_time_s: Option<i64>,
    mean_fees_btc_per_block: f64,
    fee_blocks: u32,
    price_usd: Option<f64>,
    hashvalue_btc_per_ph_day: f64,
    hashprice_usd_per_ph_day: Option<f64>,
}

/// Reads the network from the source the options name.
pub fn fetch(source: &SourceArgs) -> Result<(NetworkSource, NetworkState)> {
    let source = source.source()?;
    let state = fetch_network_state(&source).context("reading the network state")?;
    Ok((source, state))
}

/// Runs `network`.
pub fn run(args: NetworkArgs) -> Result<String> {
    let (source, state) = fetch(&args.source)?;
    let now_s = args.now.map(i64::from).unwrap_or_else(|| match source {
        NetworkSource::Snapshot => state.tip_time_s,
        _ => SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(state.tip_time_s, |d| d.as_secs() as i64),
    });
    let adjustment = estimate_adjustment(&AdjustmentInput::from_network_state(
        &state,
        now_s,
        AdjustmentNetwork::Mainnet,
    ));
    let price_usd = args.price.or(state.price_usd);
    let next_halving = next_halving_height(state.tip_height);
    let hashvalue = state.hashvalue_btc_per_ph_day();
    let report = NetworkReport {
        source: state.source.clone(),
        tip_height: state.tip_height,
        tip_time_s: state.tip_time_s,
        bits: state.bits,
        difficulty: state.difficulty(),
        hashrate_hs: state.implied_hashrate_hs(),
        trailing_hashrate_hs: state.trailing_hashrate_hs,
        trailing_hashrate_blocks: state.trailing_hashrate_blocks,
        epoch: state.tip_height / DIFFICULTY_ADJUSTMENT_INTERVAL,
        blocks_in_epoch: state.tip_height % DIFFICULTY_ADJUSTMENT_INTERVAL,
        adjustment,
        subsidy_btc: block_subsidy_btc(state.tip_height),
        halving_era: halving_era(state.tip_height),
        next_halving_height: next_halving,
        next_halving_time_s: next_halving.map(|h| {
            state.tip_time_s + i64::from(h - state.tip_height) * i64::from(TARGET_BLOCK_SPACING_S)
        }),
        mean_fees_btc_per_block: state.mean_fees_btc_per_block,
        fee_blocks: state.fee_blocks,
        price_usd,
        hashvalue_btc_per_ph_day: hashvalue,
        hashprice_usd_per_ph_day: price_usd.map(|p| hashvalue * p),
    };
    if args.json {
        return json(&report);
    }
    let mut facts = Facts::new();
    facts
        .add("source", &report.source)
        .add(
            "tip",
            format!(
                "height {} at {}",
                thousands(f64::from(report.tip_height), 0),
                utc_datetime(report.tip_time_s)
            ),
        )
        .add(
            "difficulty",
            format!(
                "{} ({}, bits {})",
                thousands(report.difficulty, 2),
                si(report.difficulty, ""),
                report.bits
            ),
        )
        .add(
            "implied hashrate",
            format!(
                "{} EH/s (D·2³²/600)",
                thousands(report.hashrate_hs / 1e18, 2)
            ),
        )
        .add(
            "trailing hashrate",
            format!(
                "{} EH/s over the last {} blocks",
                thousands(report.trailing_hashrate_hs / 1e18, 2),
                thousands(f64::from(report.trailing_hashrate_blocks), 0)
            ),
        )
        .add(
            "epoch",
            format!("{}, block {} of 2016", report.epoch, report.blocks_in_epoch),
        );
    add_estimate_facts(&mut facts, &report.adjustment);
    facts
        .add(
            "subsidy",
            format!(
                "{} BTC (halving era {})",
                report.subsidy_btc, report.halving_era
            ),
        )
        .add(
            "next halving",
            match (report.next_halving_height, report.next_halving_time_s) {
                (Some(h), Some(t)) => format!(
                    "height {}, about {} at 600 s per block",
                    thousands(f64::from(h), 0),
                    utc_datetime(t)
                ),
                _ => "beyond the last 32-bit height".to_string(),
            },
        )
        .add(
            "fees",
            format!(
                "{:.8} BTC per block (mean of the last {} blocks)",
                report.mean_fees_btc_per_block, report.fee_blocks
            ),
        );
    add_hashprice_facts(
        &mut facts,
        report.hashvalue_btc_per_ph_day,
        report.price_usd,
    );
    Ok(facts.render())
}

/// Adds the lines of a next-adjustment estimate to a fact list.
pub fn add_estimate_facts(facts: &mut Facts, estimate: &AdjustmentEstimate) {
    facts
        .add(
            "epoch progress",
            format!(
                "{:.2} % ({} blocks to go)",
                estimate.progress_percent,
                thousands(f64::from(estimate.remaining_blocks), 0)
            ),
        )
        .add(
            "next retarget",
            format!(
                "height {}, about {}",
                thousands(estimate.next_retarget_height as f64, 0),
                utc_datetime(estimate.estimated_retarget_date_ms.div_euclid(1000))
            ),
        )
        .add(
            "estimated change",
            format!("{:+.2} %", estimate.difficulty_change),
        )
        .add(
            "previous retarget",
            format!("{:+.2} %", estimate.previous_retarget_percent),
        )
        .add(
            "mean block time",
            format!(
                "{:.1} s this epoch; {:.1} s expected to the retarget",
                estimate.time_avg_ms as f64 / 1000.0,
                estimate.adjusted_time_avg_ms as f64 / 1000.0
            ),
        );
}
