//! `bitwatt chain …`: the consensus calculators.

use anyhow::Result;
use bitwatt_chain::{
    AdjustmentInput, AdjustmentNetwork, CompactBits, RetargetInput, TARGET_BLOCK_SPACING_S,
    block_subsidy_btc, block_subsidy_sat, estimate_adjustment, halving_era,
    hashprice_usd_per_ph_day, hashvalue_btc_per_ph_day, implied_hashrate_hs, next_halving_height,
    snapshot,
};
use bitwatt_report::{Facts, thousands, utc_datetime};
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;

use crate::args::{
    BadInput, difficulty as difficulty_value, fees_btc, price_usd, retarget_percent, valid_bits,
};
use crate::output::json;

/// The calculators.
#[derive(Subcommand)]
pub enum ChainCommand {
    /// Target, difficulty (as Bitcoin Core's GetDifficulty) and implied hashrate of compact bits.
    Difficulty(DifficultyArgs),
    /// The next compact bits by Core's CalculateNextWorkRequired.
    Retarget(RetargetArgs),
    /// Block subsidy, halving era and the next halving.
    Subsidy(SubsidyArgs),
    /// Hashvalue and hashprice as Luxor's Hashrate Index defines them.
    Hashprice(HashpriceArgs),
    /// The next difficulty adjustment, estimated as mempool.space does.
    EstimateAdjustment(EstimateArgs),
}

/// Runs a calculator and renders its result.
pub fn run(command: ChainCommand) -> Result<String> {
    match command {
        ChainCommand::Difficulty(args) => difficulty(&args),
        ChainCommand::Retarget(args) => retarget(&args),
        ChainCommand::Subsidy(args) => subsidy(&args),
        ChainCommand::Hashprice(args) => hashprice(&args),
        ChainCommand::EstimateAdjustment(args) => estimate(&args),
    }
}

/// Arguments of `chain difficulty`.
#[derive(Args)]
pub struct DifficultyArgs {
    /// Compact bits in hex, e.g. 0x1701e2a0.
    #[arg(value_parser = valid_bits)]
    bits: CompactBits,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct DifficultyReport {
    bits: CompactBits,
    target: String,
    difficulty: f64,
    hashrate_hs: f64,
}

fn difficulty(args: &DifficultyArgs) -> Result<String> {
    let target = args.bits.target()?;
    let difficulty = args.bits.core_difficulty();
    let report = DifficultyReport {
        bits: args.bits,
        target: target.to_hex(),
        difficulty,
        hashrate_hs: implied_hashrate_hs(difficulty),
    };
    if args.json {
        return json(&report);
    }
    Ok(Facts::new()
        .add("bits", report.bits.to_string())
        .add("target", report.target)
        .add(
            "difficulty",
            format!("{} ({})", thousands(difficulty, 2), si(difficulty, "")),
        )
        .add(
            "implied hashrate",
            format!("{} (D·2³²/600)", si(report.hashrate_hs, "H/s")),
        )
        .render())
}

/// Arguments of `chain retarget`.
#[derive(Args)]
pub struct RetargetArgs {
    /// Bits of the last block of the finished epoch.
    #[arg(long, value_parser = valid_bits)]
    bits: CompactBits,
    /// Time of the epoch's first block (Unix seconds).
    #[arg(long, value_name = "UNIX", allow_hyphen_values = true)]
    first_time: u32,
    /// Time of the epoch's last block (Unix seconds).
    #[arg(long, value_name = "UNIX", allow_hyphen_values = true)]
    last_time: u32,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct RetargetReport {
    bits: CompactBits,
    next_bits: CompactBits,
    actual_timespan_s: i64,
    clamped_timespan_s: i64,
    previous_difficulty: f64,
    difficulty: f64,
    change_percent: f64,
}

fn retarget(args: &RetargetArgs) -> Result<String> {
    let input = RetargetInput {
        bits: args.bits,
        first_block_time: i64::from(args.first_time),
        last_block_time: i64::from(args.last_time),
    };
    let next_bits = input
        .next_bits()
        .map_err(|e| BadInput(format!("--bits: {e}")))?;
    if next_bits.target().is_err() {
        return Err(BadInput(format!(
            "--bits {}: the retarget rounds the target down to zero (bits {next_bits}), \
             which no block can meet and which has no difficulty",
            args.bits
        ))
        .into());
    }
    let previous_difficulty = args.bits.core_difficulty();
    let difficulty = next_bits.core_difficulty();
    let report = RetargetReport {
        bits: args.bits,
        next_bits,
        actual_timespan_s: input.actual_timespan_s(),
        clamped_timespan_s: input.clamped_timespan_s(),
        previous_difficulty,
        difficulty,
        change_percent: (difficulty / previous_difficulty - 1.0) * 100.0,
    };
    if args.json {
        return json(&report);
    }
    Ok(Facts::new()
        .add("bits", report.bits.to_string())
        .add(
            "timespan",
            format!(
                "{} s (clamped {} s; target 1,209,600 s)",
                thousands(report.actual_timespan_s as f64, 0),
                thousands(report.clamped_timespan_s as f64, 0)
            ),
        )
        .add("next bits", report.next_bits.to_string())
        .add(
            "difficulty",
            format!(
                "{} → {}",
                thousands(previous_difficulty, 2),
                thousands(difficulty, 2)
            ),
        )
        .add("change", format!("{:+.4} %", report.change_percent))
        .render())
}

/// Arguments of `chain subsidy`.
#[derive(Args)]
pub struct SubsidyArgs {
    /// Block height.
    #[arg(allow_negative_numbers = true)]
    height: u32,
    /// Time of block HEIGHT (Unix seconds), to date the next halving at 600 s per block.
    #[arg(long, value_name = "UNIX", allow_hyphen_values = true)]
    time: Option<u32>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct SubsidyReport {
    height: u32,
    subsidy_sat: u64,
    subsidy_btc: f64,
    era: u32,
    next_halving_height: Option<u32>,
    blocks_to_next_halving: Option<u32>,
    next_halving_subsidy_sat: Option<u64>,
    next_halving_time_s: Option<i64>,
}

fn subsidy(args: &SubsidyArgs) -> Result<String> {
    let next = next_halving_height(args.height);
    let blocks = next.map(|h| h - args.height);
    let report = SubsidyReport {
        height: args.height,
        subsidy_sat: block_subsidy_sat(args.height),
        subsidy_btc: block_subsidy_btc(args.height),
        era: halving_era(args.height),
        next_halving_height: next,
        blocks_to_next_halving: blocks,
        next_halving_subsidy_sat: next.map(block_subsidy_sat),
        next_halving_time_s: args
            .time
            .zip(blocks)
            .map(|(t, b)| i64::from(t) + i64::from(b) * i64::from(TARGET_BLOCK_SPACING_S)),
    };
    if args.json {
        return json(&report);
    }
    let mut facts = Facts::new();
    facts
        .add("height", thousands(f64::from(report.height), 0))
        .add(
            "subsidy",
            format!(
                "{} sat ({} BTC)",
                thousands(report.subsidy_sat as f64, 0),
                report.subsidy_btc
            ),
        )
        .add("halving era", report.era.to_string());
    match (report.next_halving_height, report.blocks_to_next_halving) {
        (Some(height), Some(blocks)) => {
            facts.add(
                "next halving",
                format!(
                    "height {} in {} blocks",
                    thousands(f64::from(height), 0),
                    thousands(f64::from(blocks), 0)
                ),
            );
            let date = report.next_halving_time_s.map_or_else(
                || "give --time (the time of block HEIGHT) to date it".to_string(),
                |t| format!("{} (at 600 s per block)", utc_datetime(t)),
            );
            facts.add("expected", date);
        }
        _ => {
            facts.add("next halving", "beyond the last 32-bit height");
        }
    }
    Ok(facts.render())
}

/// Arguments of `chain hashprice`.
#[derive(Args)]
pub struct HashpriceArgs {
    /// Network difficulty.
    #[arg(
        long,
        allow_hyphen_values = true,
        value_parser = difficulty_value,
        required_unless_present = "bits",
        conflicts_with = "bits"
    )]
    difficulty: Option<f64>,
    /// Compact bits instead of the difficulty.
    #[arg(long, value_parser = valid_bits)]
    bits: Option<CompactBits>,
    /// BTC price (USD).
    #[arg(long, value_name = "USD", allow_hyphen_values = true, value_parser = price_usd)]
    price: f64,
    /// Mean fees per block (BTC); Luxor uses a 144-block trailing mean.
    #[arg(long, value_name = "BTC_PER_BLOCK", allow_hyphen_values = true, value_parser = fees_btc)]
    fees: f64,
    /// Height whose subsidy applies (default: the snapshot's tip, 925 344).
    #[arg(long, allow_negative_numbers = true)]
    height: Option<u32>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct HashpriceReport {
    difficulty: f64,
    height: u32,
    subsidy_btc: f64,
    fees_btc_per_block: f64,
    price_usd: f64,
    hashrate_ehs: f64,
    hashvalue_btc_per_ph_day: f64,
    hashprice_usd_per_ph_day: f64,
}

fn hashprice(args: &HashpriceArgs) -> Result<String> {
    let difficulty = match (args.difficulty, args.bits) {
        (Some(d), _) => d,
        (None, Some(bits)) => bits.core_difficulty(),
        (None, None) => return Err(BadInput("give --difficulty D or --bits B".into()).into()),
    };
    let height = args.height.unwrap_or(snapshot().tip_height);
    let subsidy_btc = block_subsidy_btc(height);
    let reward = subsidy_btc + args.fees;
    let report = HashpriceReport {
        difficulty,
        height,
        subsidy_btc,
        fees_btc_per_block: args.fees,
        price_usd: args.price,
        hashrate_ehs: implied_hashrate_hs(difficulty) / 1e18,
        hashvalue_btc_per_ph_day: hashvalue_btc_per_ph_day(difficulty, reward),
        hashprice_usd_per_ph_day: hashprice_usd_per_ph_day(difficulty, reward, args.price),
    };
    if args.json {
        return json(&report);
    }
    let mut facts = Facts::new();
    facts
        .add(
            "difficulty",
            format!("{} ({})", thousands(difficulty, 2), si(difficulty, "")),
        )
        .add(
            "implied hashrate",
            format!("{} EH/s", thousands(report.hashrate_ehs, 2)),
        )
        .add(
            "block reward",
            format!(
                "{} BTC subsidy (height {}) + {} BTC fees",
                subsidy_btc,
                thousands(f64::from(height), 0),
                args.fees
            ),
        );
    add_hashprice_facts(
        &mut facts,
        report.hashvalue_btc_per_ph_day,
        Some(args.price),
    );
    Ok(facts.render())
}

/// Adds the hashvalue line, and the hashprice line at `price_usd` (or a hint to give one).
pub fn add_hashprice_facts(
    facts: &mut Facts,
    hashvalue_btc_per_ph_day: f64,
    price_usd: Option<f64>,
) {
    facts
        .add(
            "hashvalue",
            format!("{hashvalue_btc_per_ph_day:.8} BTC per PH/s per day"),
        )
        .add(
            "hashprice",
            match price_usd {
                Some(price) => format!(
                    "{} USD per PH/s per day at {} USD/BTC",
                    thousands(hashvalue_btc_per_ph_day * price, 2),
                    thousands(price, 2)
                ),
                None => "n/a: the source gives no BTC price; pass --price USD".to_string(),
            },
        );
}

/// Networks whose rules the estimate applies.
#[derive(Copy, Clone, ValueEnum)]
enum NetworkName {
    Mainnet,
    Testnet,
}

/// Arguments of `chain estimate-adjustment`.
#[derive(Args)]
pub struct EstimateArgs {
    /// Height of the tip block.
    #[arg(long, allow_negative_numbers = true)]
    height: u32,
    /// Time of the first block of the current epoch (Unix seconds).
    #[arg(long, value_name = "UNIX", allow_hyphen_values = true)]
    epoch_start_time: u32,
    /// The current time (Unix seconds).
    #[arg(long, value_name = "UNIX", allow_hyphen_values = true)]
    now: u32,
    /// Time of the block 503 below the tip (Unix seconds): steadies the estimate early in an epoch.
    #[arg(long, value_name = "UNIX", allow_hyphen_values = true)]
    quarter_epoch_time: Option<u32>,
    /// Difficulty change of the previous retarget (%).
    #[arg(long, value_name = "PERCENT", default_value_t = 0.0, allow_hyphen_values = true, value_parser = retarget_percent)]
    previous_retarget: f64,
    /// Time of the tip block (Unix seconds; default: --now).
    #[arg(long, value_name = "UNIX", allow_hyphen_values = true)]
    latest_block_time: Option<u32>,
    /// Network rules (testnet caps the mean block time at 20 minutes).
    #[arg(long, value_enum, default_value = "mainnet")]
    network: NetworkName,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn estimate(args: &EstimateArgs) -> Result<String> {
    let input = AdjustmentInput {
        height: args.height,
        epoch_start_time_s: i64::from(args.epoch_start_time),
        now_s: i64::from(args.now),
        latest_block_time_s: i64::from(args.latest_block_time.unwrap_or(args.now)),
        quarter_epoch_time_s: args.quarter_epoch_time.map(i64::from),
        previous_retarget_percent: args.previous_retarget,
        network: match args.network {
            NetworkName::Mainnet => AdjustmentNetwork::Mainnet,
            NetworkName::Testnet => AdjustmentNetwork::Testnet,
        },
    };
    let estimate = estimate_adjustment(&input);
    if args.json {
        return json(&estimate);
    }
    let mut facts = Facts::new();
    crate::network_cmd::add_estimate_facts(&mut facts, &estimate);
    Ok(facts.render())
}

/// `value` with an SI prefix (k, M, G, T, P, E, Z) and two decimals, e.g. `149.30 T`.
pub fn si(value: f64, unit: &str) -> String {
    const PREFIXES: [&str; 8] = ["", "k", "M", "G", "T", "P", "E", "Z"];
    let mut scaled = value;
    let mut index = 0;
    while scaled.abs() >= 1000.0 && index + 1 < PREFIXES.len() {
        scaled /= 1000.0;
        index += 1;
    }
    format!("{scaled:.2} {}{unit}", PREFIXES[index])
        .trim_end()
        .to_string()
}
