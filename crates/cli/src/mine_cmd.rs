//! `bitwatt mine`: unit economics of a mining fleet at the current (or a given) hashprice.

use std::path::PathBuf;

use anyhow::Result;
use bitwatt_chain::{SECONDS_PER_DAY, TARGET_BLOCK_SPACING_S};
use bitwatt_engine::{FleetEconomics, HalvingStep, MiningMarket, UnitEconomics, fleet_economics};
use bitwatt_model::{Fleet, asic_catalog, sample_fleet};
use bitwatt_report::{Facts, Table, thousands, thousands_or};
use clap::Args;
use serde::Serialize;

use crate::args::{
    BadInput, SourceArgs, hashprice_usd_per_ph_day, power_price_usd_per_mwh, price_usd,
};
use crate::network_cmd::fetch;
use crate::output::json;

/// Arguments of `mine`.
#[derive(Args)]
pub struct MineArgs {
    /// Fleet file (TOML); default: the sample fleet (examples/fleet.toml).
    #[arg(value_name = "FLEET.toml")]
    fleet: Option<PathBuf>,
    #[command(flatten)]
    source: SourceArgs,
    /// Power price (USD/MWh), overriding the fleet file's.
    #[arg(long, value_name = "USD_PER_MWH", allow_hyphen_values = true, value_parser = power_price_usd_per_mwh)]
    power_price: Option<f64>,
    /// BTC price (USD), overriding the source's (required for live sources).
    #[arg(long, value_name = "USD", allow_hyphen_values = true, value_parser = price_usd)]
    price: Option<f64>,
    /// Gross hashprice (USD per PH/s per day), overriding the one computed from the network.
    #[arg(
        long,
        value_name = "USD_PER_PH_DAY",
        allow_hyphen_values = true,
        value_parser = hashprice_usd_per_ph_day
    )]
    hashprice: Option<f64>,
    /// List the built-in ASIC catalog instead of valuing a fleet.
    #[arg(long)]
    list_models: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct CatalogEntry {
    name: String,
    hashrate_ths: f64,
    power_w: f64,
    efficiency_j_per_th: f64,
    release_year: u16,
    price_usd_per_th: Option<f64>,
    price_is_assumption: bool,
    power_is_estimate: bool,
}

#[derive(Serialize)]
struct CatalogReport {
    models: Vec<CatalogEntry>,
}

fn list_models(as_json: bool) -> Result<String> {
    let models: Vec<CatalogEntry> = asic_catalog()
        .into_iter()
        .map(|m| CatalogEntry {
            efficiency_j_per_th: m.efficiency_j_per_th(),
            name: m.name,
            hashrate_ths: m.hashrate_ths,
            power_w: m.power_w,
            release_year: m.release_year,
            price_usd_per_th: m.price_usd_per_th,
            price_is_assumption: m.price_is_assumption,
            power_is_estimate: m.power_is_estimate,
        })
        .collect();
    if as_json {
        return json(&CatalogReport { models });
    }
    let mut table = Table::new(["model", "TH/s", "W", "J/TH", "year", "USD/TH"]);
    for m in &models {
        let marker = if m.price_is_assumption { "*" } else { "" };
        table.row([
            m.name.clone(),
            thousands(m.hashrate_ths, 0),
            format!(
                "{}{}",
                thousands(m.power_w, 0),
                if m.power_is_estimate { "~" } else { "" }
            ),
            thousands(m.efficiency_j_per_th, 1),
            m.release_year.to_string(),
            format!("{}{marker}", thousands_or(m.price_usd_per_th, 2, "n/a")),
        ]);
    }
    Ok(table.render()
        + ASSUMED_PRICE_NOTE
        + "~ power is an estimate (TH/s × a reported J/TH), not a nameplate figure\n")
}

/// The footnote for prices marked `*`.
const ASSUMED_PRICE_NOTE: &str =
    "\n* price is an assumption, not a quote (see the ASIC catalog's sources)\n";

#[derive(Serialize)]
struct MineReport<'a> {
    fleet_name: &'a str,
    network_source: String,
    network_height: u32,
    #[serde(flatten)]
    economics: &'a FleetEconomics,
}

fn load_fleet(path: Option<&PathBuf>) -> Result<Fleet> {
    let Some(path) = path else {
        return Ok(sample_fleet());
    };
    let text = std::fs::read_to_string(path)
        .map_err(|e| BadInput(format!("cannot read fleet file {}: {e}", path.display())))?;
    Fleet::from_toml(&text)
        .map_err(|e| BadInput(format!("fleet file {}: {e}", path.display())).into())
}

/// Runs `mine`.
pub fn run(args: MineArgs) -> Result<String> {
    if args.list_models {
        return list_models(args.json);
    }
    let fleet = load_fleet(args.fleet.as_ref())?;
    let (_, state) = fetch(&args.source)?;
    let btc_price_usd = args.price.or(state.price_usd).ok_or_else(|| {
        BadInput(format!(
            "{} gives no BTC price: pass --price USD",
            state.source
        ))
    })?;
    let market = MiningMarket {
        hashprice_usd_per_ph_day: args
            .hashprice
            .unwrap_or_else(|| state.hashvalue_btc_per_ph_day() * btc_price_usd),
        btc_price_usd,
        power_price_usd_per_mwh: args.power_price.unwrap_or(fleet.power_price_usd_per_mwh),
        halving: state
            .block_reward_after_next_halving_btc()
            .map(|(height, reward_after)| HalvingStep {
                days_until: f64::from(height - state.tip_height)
                    * f64::from(TARGET_BLOCK_SPACING_S)
                    / SECONDS_PER_DAY,
                revenue_factor: reward_after / state.block_reward_btc(),
            }),
    };
    let economics = fleet_economics(&fleet, &market);
    if args.json {
        return json(&MineReport {
            fleet_name: &fleet.name,
            network_source: state.source.clone(),
            network_height: state.tip_height,
            economics: &economics,
        });
    }
    let mut out = Facts::new()
        .add("fleet", &fleet.name)
        .add(
            "network",
            format!(
                "{}, height {}",
                state.source,
                thousands(f64::from(state.tip_height), 0)
            ),
        )
        .add(
            "hashprice",
            format!(
                "{} USD per PH/s per day{} at {} USD/BTC",
                thousands(market.hashprice_usd_per_ph_day, 2),
                if args.hashprice.is_some() {
                    " (given)"
                } else {
                    ""
                },
                thousands(btc_price_usd, 2)
            ),
        )
        .add(
            "power price",
            format!("{} USD/MWh", thousands(market.power_price_usd_per_mwh, 2)),
        )
        .add(
            "pool fee, PUE",
            format!("{} %, {}", economics.pool_fee_percent, economics.pue),
        )
        .add(
            "next halving",
            match market.halving {
                Some(h) => format!(
                    "in {} days: revenue × {:.4} at today's difficulty, price and fees",
                    thousands(h.days_until, 0),
                    h.revenue_factor
                ),
                None => "none ahead".to_string(),
            },
        )
        .render();
    out.push('\n');
    out.push_str(&production_table(&economics).render());
    out.push('\n');
    out.push_str(&economics_table(&economics).render());
    out.push_str(
        "\nmargin: revenue after the pool fee less power, before any other cost.\n\
         payback: machine price over the margin, cut at the halving; difficulty, BTC price and\n\
         power price stay at today's values: a simple payback, not a forecast.\n",
    );
    if economics.fleet_curtailed.is_some() {
        out.push_str(
            "curtailed: the fleet with the groups that do not earn their power switched off\n\
             (again after the halving), carrying every machine's price.\n",
        );
    }
    if economics
        .groups
        .iter()
        .any(|g| g.machine_price_is_assumption)
    {
        out.push_str(ASSUMED_PRICE_NOTE);
    }
    Ok(out)
}

fn lines(economics: &FleetEconomics) -> impl Iterator<Item = &UnitEconomics> {
    economics
        .groups
        .iter()
        .chain(std::iter::once(&economics.fleet))
        .chain(economics.fleet_curtailed.as_ref())
}

fn production_table(economics: &FleetEconomics) -> Table {
    let mut table = Table::new([
        "model",
        "machines",
        "PH/s",
        "J/TH",
        "MW",
        "BTC/day",
        "revenue $/day",
        "power $/day",
        "margin $/day",
        "margin %",
    ]);
    for line in lines(economics) {
        table.row([
            line.name.clone(),
            thousands(line.machines as f64, 0),
            thousands(line.hashrate_phs, 1),
            thousands(line.efficiency_j_per_th, 1),
            thousands(line.load_mw, 2),
            format!("{:.4}", line.revenue_btc_per_day),
            thousands(line.revenue_usd_per_day, 0),
            thousands(line.power_cost_usd_per_day, 0),
            thousands(line.margin_usd_per_day, 0),
            thousands_or(line.margin_percent, 1, "n/a"),
        ]);
    }
    table
}

fn economics_table(economics: &FleetEconomics) -> Table {
    let mut table = Table::new([
        "model",
        "hashcost $/PH/day",
        "breakeven $/MWh",
        "shutdown $/PH/day",
        "power $/BTC",
        "machines $",
        "margin after halving $/day",
        "payback days",
    ]);
    for line in lines(economics) {
        let marker = if line.machine_price_is_assumption {
            "*"
        } else {
            ""
        };
        table.row([
            line.name.clone(),
            thousands(line.hashcost_usd_per_ph_day, 2),
            thousands(line.breakeven_power_price_usd_per_mwh, 2),
            thousands(line.shutdown_hashprice_usd_per_ph_day, 2),
            thousands_or(line.energy_cost_usd_per_btc, 0, "n/a"),
            line.machine_price_usd.map_or_else(
                || "n/a".to_string(),
                |p| format!("{}{marker}", thousands(p, 0)),
            ),
            thousands_or(line.margin_after_halving_usd_per_day, 0, "n/a"),
            thousands_or(line.payback_days, 0, "never"),
        ]);
    }
    table
}
