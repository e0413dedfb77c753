//! `bitwatt calibrate`: the market model fitted to history, written as a `[market.model]`
//! block with standard errors and the quality of the fit.

use std::path::PathBuf;

use anyhow::Result;
use bitwatt_chain::{
    DailyClose, UtcDay, daily_from_blocks, read_block_rewards, read_daily_closes,
    read_daily_difficulty, read_gpu_rate_cards,
};
use bitwatt_engine::{
    BtcCalibration, CorrelationCalibration, CorrelationEstimate, Estimate, FeesCalibration,
    GpuRentCalibration, HashrateResponseCalibration, MAX_LAG_MONTHS, MIN_HASHRATE_MONTHS,
    MIN_LAG_MONTHS, base_fees_btc_per_block, calibrate_btc, calibrate_correlations, calibrate_fees,
    calibrate_gpu_rents, calibrate_hashrate_response, monthly_network_history,
};
use bitwatt_report::Table;
use clap::Args;
use serde::Serialize;

use crate::args::BadInput;
use crate::backtest_cmd::read_history;
use crate::output::json;
use crate::scenario_cmd::scenario_of;

/// Arguments of `calibrate`.
#[derive(Args)]
pub struct CalibrateArgs {
    /// Daily BTC prices (columns Date, Close; a Yahoo Finance export).
    #[arg(long, value_name = "CSV")]
    prices: PathBuf,
    /// Difficulty at the end of each day (columns date, epoch, difficulty): fits the world
    /// fleet's hashrate response to the frontier's lagged margin over the prices' window.
    #[arg(long, value_name = "CSV")]
    difficulty: Option<PathBuf>,
    /// Per-block statistics (columns height, time, totalfee, subsidy): fits the fee process
    /// and its spikes over the days of the prices' window.
    #[arg(long, value_name = "CSV")]
    blocks: Option<PathBuf>,
    /// Monthly GPU rental rate cards (columns period, index_code, value): fits each
    /// generation's rent deflation and noise.
    #[arg(long, value_name = "CSV")]
    gpu_rents: Option<PathBuf>,
    /// First day to fit (YYYY-MM-DD; default: the file's first).
    #[arg(long, value_name = "YYYY-MM-DD")]
    from: Option<UtcDay>,
    /// Last day to fit (default: the file's last).
    #[arg(long, value_name = "YYYY-MM-DD")]
    to: Option<UtcDay>,
    /// The scenario whose world fleet (its frontier machine, power price and efficiency
    /// gains, a labelled assumption) sets the margin the hashrate responds to (default: the
    /// built-in example pure-miner).
    #[arg(long, value_name = "SCENARIO.toml")]
    scenario: Option<PathBuf>,
    /// Print the full result as JSON (with every day's probability of stress).
    #[arg(long)]
    json: bool,
}

/// Runs `calibrate`.
pub fn run(args: CalibrateArgs) -> Result<String> {
    let closes = read_history(&args.prices, read_daily_closes)?;
    if let (Some(from), Some(to)) = (args.from, args.to)
        && from > to
    {
        return Err(BadInput(format!("--from {from} is after --to {to}")).into());
    }
    let window: Vec<DailyClose> = closes
        .into_iter()
        .filter(|c| {
            args.from.is_none_or(|from| c.day >= from) && args.to.is_none_or(|to| c.day <= to)
        })
        .collect();
    let template = scenario_of(args.scenario.as_deref(), Some("pure-miner"))?;
    let fit = calibrate_btc(&window).map_err(|e| BadInput(e.to_string()))?;
    // The other series are fitted over the prices' window.
    let in_window = |day: UtcDay| day >= fit.from.previous() && day <= fit.to;
    let fees = match &args.blocks {
        Some(path) => {
            let days: Vec<_> = daily_from_blocks(&read_history(path, read_block_rewards)?)
                .into_iter()
                .filter(|d| in_window(d.day))
                .collect();
            Some(calibrate_fees(&days).ok_or_else(|| {
                BadInput(format!(
                    "{}: too few consecutive whole weeks with fees to fit the fee process",
                    path.display()
                ))
            })?)
        }
        None => None,
    };
    let gpu = match &args.gpu_rents {
        Some(path) => Some(
            calibrate_gpu_rents(&read_history(path, read_gpu_rate_cards)?).ok_or_else(|| {
                BadInput(format!(
                    "{}: no GPU has the 6 published months a fit needs",
                    path.display()
                ))
            })?,
        ),
        None => None,
    };
    let hashrate = match &args.difficulty {
        Some(path) => {
            let difficulty: Vec<_> = read_history(path, read_daily_difficulty)?
                .into_iter()
                .filter(|d| in_window(d.day))
                .collect();
            // The fees of the window where the blocks give them, else the scenario's.
            let fees_btc_per_block = fees.as_ref().map_or_else(
                || base_fees_btc_per_block(&template.market),
                |f| f.mean_fees_btc_per_block,
            );
            let history = monthly_network_history(&window, &difficulty, fees_btc_per_block);
            let response = calibrate_hashrate_response(
                &history,
                &template.market.world_fleet,
                template.first_month(),
            )
            .ok_or_else(|| {
                BadInput(format!(
                    "{}: too few consecutive whole months with prices and difficulty to fit \
                     the hashrate response: expected at least {MIN_HASHRATE_MONTHS}",
                    path.display(),
                ))
            })?;
            Some(HashrateFit {
                fees_btc_per_block,
                response,
            })
        }
        None => None,
    };
    let correlations = (fees.is_some() || gpu.is_some()).then(|| {
        calibrate_correlations(
            &window,
            &fit.regime_days,
            fees.as_ref().map_or(&[], |f| &f.weekly_shocks),
            gpu.as_ref().map_or(&[], |g| &g.monthly_shocks),
            &template.market.model,
        )
    });
    let result = Calibration {
        btc: fit,
        fees,
        gpu_rents: gpu,
        hashrate,
        correlations,
    };
    if args.json {
        #[derive(Serialize)]
        struct CalibrateJson<'a> {
            prices: String,
            #[serde(flatten)]
            result: &'a Calibration,
        }
        return json(&CalibrateJson {
            prices: args.prices.display().to_string(),
            result: &result,
        });
    }
    Ok(render(&result, &args))
}

/// Every fit of a run.
#[derive(Serialize)]
struct Calibration {
    btc: BtcCalibration,
    #[serde(skip_serializing_if = "Option::is_none")]
    fees: Option<FeesCalibration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    gpu_rents: Option<GpuRentCalibration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    hashrate: Option<HashrateFit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    correlations: Option<CorrelationCalibration>,
}

/// The hashrate response and the fees per block its hashprice assumed.
#[derive(Serialize)]
struct HashrateFit {
    fees_btc_per_block: f64,
    #[serde(flatten)]
    response: HashrateResponseCalibration,
}

/// `name = value  # ± se`, the value rounded to what its error supports.
fn line(name: &str, estimate: &Estimate) -> String {
    format!(
        "{name} = {:.3}  # ± {:.3}\n",
        estimate.value, estimate.standard_error
    )
}

fn render(result: &Calibration, args: &CalibrateArgs) -> String {
    let fit = &result.btc;
    let m = &fit.model;
    let mut out = format!(
        "# bitwatt calibrate --prices {}: BTC daily log returns {} to {} ({} days)\n\
         # Two regimes (calm, stress) with normal jumps, fitted by maximum likelihood (EM);\n\
         # each value with one standard error (observed information, delta method).\n\
         [market.model]\n",
        args.prices.display(),
        fit.from,
        fit.to,
        fit.returns
    );
    for (name, estimate) in [
        (
            "stress_entry_percent_per_month",
            &m.stress_entry_percent_per_month,
        ),
        (
            "stress_exit_percent_per_month",
            &m.stress_exit_percent_per_month,
        ),
        (
            "btc_calm_volatility_percent_per_year",
            &m.btc_calm_volatility_percent_per_year,
        ),
        (
            "btc_stress_volatility_percent_per_year",
            &m.btc_stress_volatility_percent_per_year,
        ),
        ("btc_jumps_per_year_calm", &m.btc_jumps_per_year_calm),
        ("btc_jumps_per_year_stress", &m.btc_jumps_per_year_stress),
        ("btc_jump_mean_percent", &m.btc_jump_mean_percent),
        (
            "btc_jump_volatility_percent",
            &m.btc_jump_volatility_percent,
        ),
    ] {
        out.push_str(&line(name, estimate));
    }
    if let Some(fees) = &result.fees {
        out.push_str(&line(
            "fees_reversion_per_year",
            &fees.fees_reversion_per_year,
        ));
        out.push_str(&line(
            "fees_volatility_percent_per_year",
            &fees.fees_volatility_percent_per_year,
        ));
        out.push_str(&line(
            "fee_spike_percent_per_month",
            &fees.fee_spike_percent_per_month,
        ));
        out.push_str(&format!(
            "fee_spike_multiple = {:.3}  # the mean of {} spike weeks\n",
            fees.fee_spike_multiple, fees.spike_weeks
        ));
    }
    if let Some(gpu) = &result.gpu_rents {
        out.push_str(&line(
            "gpu_rent_volatility_percent_per_year",
            &gpu.gpu_rent_volatility_percent_per_year,
        ));
    }
    if let Some(hashrate) = &result.hashrate {
        out.push_str(&line(
            "hashrate_noise_percent_per_year",
            &hashrate.response.hashrate_noise_percent_per_year,
        ));
    }
    if let Some(correlations) = &result.correlations {
        out.push_str(&correlation_keys(correlations));
    }
    if let Some(hashrate) = &result.hashrate {
        out.push_str(&hashrate_block(hashrate));
    }
    if let Some(fees) = &result.fees {
        out.push_str(&format!(
            "\n# Fees: {} pairs of consecutive whole weeks from {} to {} (spike weeks left out),\n\
             # a mean of {:.4} BTC a block; spikes are shocks over 3 standard deviations up.\n",
            fees.pairs, fees.from, fees.to, fees.mean_fees_btc_per_block
        ));
    }
    if let Some(gpu) = &result.gpu_rents {
        let d = &gpu.rent_deflation_percent_per_year;
        out.push_str(&format!(
            "\n# GPU rents (list prices, not transactions), pooled over the generations; for\n\
             # [market.gpu]: rent_deflation_percent_per_year = {:.3}  # ± {:.3}\n",
            d.value, d.standard_error
        ));
        let mut table = Table::new([
            "GPU",
            "months",
            "from",
            "to",
            "deflation (% a year)",
            "noise (% a year)",
        ]);
        for g in &gpu.generations {
            table.row([
                g.index_code.clone(),
                g.months.to_string(),
                g.first.clone(),
                g.last.clone(),
                format!(
                    "{:.1} ± {:.1}",
                    g.deflation_percent_per_year.value, g.deflation_percent_per_year.standard_error
                ),
                format!(
                    "{:.1} ± {:.1}",
                    g.volatility_percent_per_year.value,
                    g.volatility_percent_per_year.standard_error
                ),
            ]);
        }
        out.extend(table.render().lines().map(|l| format!("# {l}\n")));
    }
    let drift = &fit.historical_drift;
    out.push_str(&format!(
        "\n# Fit: log-likelihood {:.1} against {:.1} for one normal; AIC {:+.1}\n\
         # ({}); EM {} after {} iterations.\n\
         # Long-run share of days in stress (the high-volatility regime): {:.1} %; annualised\n\
         # volatility with jumps: calm {:.1} ± {:.1} %, stress {:.1} ± {:.1} %.\n\
         # Historical drift (not written: the drift is an assumption): {:.1} % a year overall,\n\
         # calm {:.1} ± {:.1}, stress {:.1} ± {:.1}.\n",
        fit.log_likelihood,
        fit.single_normal_log_likelihood,
        fit.aic_improvement,
        if fit.aic_improvement < 0.0 {
            "the regimes and jumps are worth their parameters"
        } else {
            "one normal would do"
        },
        if fit.converged {
            "converged"
        } else {
            "stopped"
        },
        fit.iterations,
        fit.stationary_stress_share * 100.0,
        fit.total_volatility_percent_per_year[0].value,
        fit.total_volatility_percent_per_year[0].standard_error,
        fit.total_volatility_percent_per_year[1].value,
        fit.total_volatility_percent_per_year[1].standard_error,
        drift.all_percent_per_year,
        drift.calm_percent_per_year.value,
        drift.calm_percent_per_year.standard_error,
        drift.stress_percent_per_year.value,
        drift.stress_percent_per_year.standard_error,
    ));
    out.push_str("\n# Probability of the stress regime, mean of each month's days (%)\n");
    out.push_str(&regime_table(fit));
    out
}

/// Years down, months across: the mean smoothed probability of stress of each month (%).
fn regime_table(fit: &BtcCalibration) -> String {
    let mut months: std::collections::BTreeMap<(i32, u32), (f64, u32)> = Default::default();
    for day in &fit.regime_days {
        let (year, month, _) = day.day.ymd();
        let entry = months.entry((year, month)).or_default();
        entry.0 += day.stress_probability;
        entry.1 += 1;
    }
    let mut header = vec!["year".to_string()];
    header.extend(
        [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ]
        .map(String::from),
    );
    let mut table = Table::new(header);
    let years: std::collections::BTreeSet<i32> = months.keys().map(|(year, _)| *year).collect();
    for year in years {
        let mut row = vec![year.to_string()];
        row.extend((1..=12).map(|month| {
            months
                .get(&(year, month))
                .map_or(String::new(), |(sum, count)| {
                    format!("{:.0}", sum / f64::from(*count) * 100.0)
                })
        }));
        table.row(row);
    }
    table
        .render()
        .lines()
        .map(|line| format!("# {line}\n"))
        .collect()
}

/// The `[market.world_fleet]` keys of the hashrate response, each lag's fit as comments.
fn hashrate_block(hashrate: &HashrateFit) -> String {
    let fit = &hashrate.response;
    let best = &fit.best;
    // The model takes neither shrinking capacity at a full margin nor capacity that grows
    // with no margin, and bounds both rates: a fit outside is written at the bound, said so.
    let bounded = |name: &str, estimate: &Estimate, high: f64| {
        if (0.0..=high).contains(&estimate.value) {
            line(name, estimate)
        } else {
            format!(
                "{name} = {:.1}  # the fit gives {:.3} ± {:.3}, outside the model's 0–{high}\n",
                estimate.value.clamp(0.0, high),
                estimate.value,
                estimate.standard_error
            )
        }
    };
    let mut out = format!(
        "\n[market.world_fleet]\n\
         # Hashrate response: the month-on-month growth of the hashrate the difficulty implies,\n\
         # {} to {} ({} changes), against the frontier's margin some months before (hashprice\n\
         # with {:.4} BTC of fees a block; the frontier from the scenario's world fleet, a\n\
         # labelled assumption, run back at its rate of improvement).\n",
        fit.from, fit.to, fit.changes, hashrate.fees_btc_per_block
    );
    out.push_str(&bounded(
        "growth_percent_per_year_at_full_margin",
        &best.growth_percent_per_year_at_full_margin,
        1000.0,
    ));
    out.push_str(&format!(
        "deployment_lag_months = {}  # R² {:.3}, the best of lags {MIN_LAG_MONTHS}–{MAX_LAG_MONTHS}\n",
        best.lag_months, best.r_squared
    ));
    out.push_str(&bounded(
        "retirement_percent_per_year",
        &best.retirement_percent_per_year,
        100.0,
    ));
    let mut table = Table::new([
        "lag (months)",
        "growth at full margin (% a year)",
        "retirement (% a year)",
        "R²",
    ]);
    for lag in &fit.lags {
        let estimate = |e: &Estimate| format!("{:.1} ± {:.1}", e.value, e.standard_error);
        table.row([
            lag.lag_months.to_string(),
            estimate(&lag.growth_percent_per_year_at_full_margin),
            estimate(&lag.retirement_percent_per_year),
            format!("{:.3}", lag.r_squared),
        ]);
    }
    out.extend(table.render().lines().map(|l| format!("# {l}\n")));
    out
}

/// The `calm_correlation` and `correlation_convergence` keys where history gives them, each
/// pair's estimates as comments.
fn correlation_keys(correlations: &CorrelationCalibration) -> String {
    let mut out = String::new();
    if correlations.pairs.iter().any(|p| p.calm.is_some()) {
        out.push_str(&format!(
            "# Calm correlations of the factor shocks, in the order btc, gpu_rent, ai_demand,\n\
             # power, fees, sofr: the pairs below as history gives them{}, the others the\n\
             # scenario's.\n\
             calm_correlation = [\n",
            if correlations.repaired {
                " (repaired to the nearest correlation matrix)"
            } else {
                ""
            }
        ));
        for row in &correlations.calm_correlation {
            let cells: Vec<String> = row.iter().map(|c| format!("{c:.3}")).collect();
            out.push_str(&format!("    [{}],\n", cells.join(", ")));
        }
        out.push_str("]\n");
    }
    if let Some(w) = &correlations.correlation_convergence {
        if (0.0..=1.0).contains(&w.value) {
            out.push_str(&line("correlation_convergence", w));
        } else {
            out.push_str(&format!(
                "correlation_convergence = {:.3}  # the fit gives {:.3} ± {:.3}, outside 0–1\n",
                w.value.clamp(0.0, 1.0),
                w.value,
                w.standard_error
            ));
        }
    }
    let mut table = Table::new(["factors", "period", "all", "calm", "stress"]);
    let cell = |e: &Option<CorrelationEstimate>| {
        e.map_or("too few".to_string(), |e| {
            format!(
                "{:+.2} ± {:.2} (n {})",
                e.correlation.value, e.correlation.standard_error, e.periods
            )
        })
    };
    for pair in &correlations.pairs {
        table.row([
            pair.factors.join("–"),
            pair.period.to_string(),
            cell(&pair.all),
            cell(&pair.calm),
            cell(&pair.stress),
        ]);
    }
    out.push_str(
        "# Correlations of the shocks (a period is stress when BTC's mean probability of stress\n\
         # is over one half; w from the BTC–rent pair, which joins the stress direction):\n",
    );
    out.extend(table.render().lines().map(|l| format!("# {l}\n")));
    out
}
