//! `bitwatt calibrate`: plausible on the real BTC history (skipped with a message where the
//! shared data is absent), a block the scenario file accepts, and clear errors.

use super::backtest::shared_data;
use super::{bitwatt, bitwatt_json, scratch};

#[test]
fn btc_history_gives_plausible_regimes() {
    let Some(data) = shared_data() else {
        return;
    };
    let prices = data.join("btc_usd_daily_yahoo.csv");
    let result = bitwatt_json(&["calibrate", "--prices", prices.to_str().unwrap(), "--json"]);
    let btc = &result["btc"];
    assert_eq!(btc["converged"], true);
    assert_eq!(btc["returns"], 4279);
    assert!(btc["aic_improvement"].as_f64().unwrap() < 0.0);
    let vol = |s: usize| {
        btc["total_volatility_percent_per_year"][s]["value"]
            .as_f64()
            .unwrap()
    };
    for s in 0..2 {
        assert!((40.0..=120.0).contains(&vol(s)), "regime {s}: {} %", vol(s));
    }
    assert!(vol(1) > vol(0));
    // Both regimes persist for weeks: a day's chance of staying above 90 %.
    for s in 0..2 {
        assert!(btc["daily"]["stay_probability"][s].as_f64().unwrap() > 0.9);
    }
    // The 2022 crash and 2021 bull market sit in the high-volatility regime more than the
    // quiet summer of 2023 does.
    let mean_stress = |prefix: &str| {
        let days: Vec<f64> = btc["regime_days"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| d["day"].as_str().unwrap().starts_with(prefix))
            .map(|d| d["stress_probability"].as_f64().unwrap())
            .collect();
        days.iter().sum::<f64>() / days.len() as f64
    };
    assert!(mean_stress("2021-05") > 0.8, "{}", mean_stress("2021-05"));
    assert!(mean_stress("2023-07") < 0.2, "{}", mean_stress("2023-07"));

    // The text output is a block a scenario file takes as it is.
    let blocks = data.join("btc_block_stats_partial.csv");
    let rents = data.join("gpu_rental_ratecards_monthly_2023_2026.csv");
    let out = bitwatt(&[
        "calibrate",
        "--prices",
        prices.to_str().unwrap(),
        "--to",
        "2021-12-31",
        "--blocks",
        blocks.to_str().unwrap(),
        "--gpu-rents",
        rents.to_str().unwrap(),
        "--difficulty",
        data.join("btc_daily_difficulty.csv").to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let block = String::from_utf8(out.stdout).unwrap();
    assert!(block.contains("BTC daily log returns 2014-09-18 to 2021-12-31"));
    assert!(block.contains("\nfees_reversion_per_year = "), "{block}");
    assert!(
        block.contains("\ngpu_rent_volatility_percent_per_year = "),
        "{block}"
    );
    assert!(block.contains("\n[market.world_fleet]\n"), "{block}");
    assert!(block.contains("\ndeployment_lag_months = "), "{block}");
    assert_example_takes(&block, "calibrated");
}

/// Fees and GPU rents on the real history: a mean-reverting fee process inside the prices'
/// window, a fit for each of the four GPUs of the rate cards, and their correlations with BTC.
#[test]
fn fees_and_gpu_rents_from_history() {
    let Some(data) = shared_data() else {
        return;
    };
    let path = |name: &str| data.join(name).to_str().unwrap().to_string();
    let result = bitwatt_json(&[
        "calibrate",
        "--prices",
        &path("btc_usd_daily_yahoo.csv"),
        "--blocks",
        &path("btc_block_stats_partial.csv"),
        "--gpu-rents",
        &path("gpu_rental_ratecards_monthly_2023_2026.csv"),
        "--json",
    ]);
    let fees = &result["fees"];
    assert!(fees["from"].as_str().unwrap() >= "2014-09-17", "{fees}");
    let reversion = &fees["fees_reversion_per_year"];
    assert!(
        reversion["value"].as_f64().unwrap() > 2.0 * reversion["standard_error"].as_f64().unwrap()
    );
    let mean = fees["mean_fees_btc_per_block"].as_f64().unwrap();
    assert!((0.01..2.0).contains(&mean), "{mean}");
    let generations = result["gpu_rents"]["generations"].as_array().unwrap();
    let codes: Vec<&str> = generations
        .iter()
        .map(|g| g["index_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec!["GIX-A100", "GIX-B200", "GIX-H100", "GIX-H200"]);
    for g in generations {
        let deflation = g["deflation_percent_per_year"]["value"].as_f64().unwrap();
        let noise = g["volatility_percent_per_year"]["value"].as_f64().unwrap();
        assert!(
            (-60.0..60.0).contains(&deflation) && (0.0..100.0).contains(&noise),
            "{g}"
        );
    }
    // The correlations of BTC with fees (the fitted weeks) and with the rent index (the
    // months of 2023–26 with a change), each split into calm and stress periods.
    let correlations = &result["correlations"];
    let pairs = correlations["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 2);
    for (pair, factor, periods) in [(&pairs[0], "fees", 57), (&pairs[1], "gpu_rent", 32)] {
        assert_eq!(pair["factors"][1], factor);
        let n = |part: &str| pair[part]["periods"].as_u64().unwrap();
        assert_eq!(n("all"), periods, "{pair}");
        assert_eq!(n("calm") + n("stress"), periods, "{pair}");
        for part in ["all", "calm", "stress"] {
            let rho = pair[part]["correlation"]["value"].as_f64().unwrap();
            assert!((-1.0..=1.0).contains(&rho), "{pair}");
        }
    }
    let calm = correlations["calm_correlation"].as_array().unwrap();
    assert_eq!(calm[0][4], pairs[0]["calm"]["correlation"]["value"]);
    assert_eq!(calm[1][0], pairs[1]["calm"]["correlation"]["value"]);
    assert!(
        correlations["correlation_convergence"]["standard_error"]
            .as_f64()
            .unwrap()
            > 0.0
    );

    // The text output, the correlation keys in, is a block the scenario takes.
    let out = bitwatt(&[
        "calibrate",
        "--prices",
        &path("btc_usd_daily_yahoo.csv"),
        "--blocks",
        &path("btc_block_stats_partial.csv"),
        "--gpu-rents",
        &path("gpu_rental_ratecards_monthly_2023_2026.csv"),
    ]);
    let block = String::from_utf8(out.stdout).unwrap();
    assert!(block.contains("\ncalm_correlation = [\n"), "{block}");
    assert!(block.contains("\ncorrelation_convergence = "), "{block}");
    assert_example_takes(&block, "calibrated-correlations");
}

/// The example pure-miner with `block` appended is a valid scenario.
fn assert_example_takes(block: &str, scratch_name: &str) {
    let scenario = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/pure-miner.toml"),
    )
    .unwrap();
    assert!(
        !scenario.contains("[market.model]"),
        "the example has its own block"
    );
    let file = scratch(scratch_name).join("calibrated.toml");
    std::fs::write(&file, format!("{scenario}\n{block}")).unwrap();
    let out = bitwatt(&["validate", file.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The hashrate response on the real history: over 2014–2026 the network's growth rises with
/// the frontier's margin some months before, clearly (the slope over twice its error), at a
/// lag inside the range fitted, with noise of the order the months show.
#[test]
fn hashrate_response_from_history() {
    let Some(data) = shared_data() else {
        return;
    };
    let path = |name: &str| data.join(name).to_str().unwrap().to_string();
    let result = bitwatt_json(&[
        "calibrate",
        "--prices",
        &path("btc_usd_daily_yahoo.csv"),
        "--difficulty",
        &path("btc_daily_difficulty.csv"),
        "--json",
    ]);
    let hashrate = &result["hashrate"];
    // Every whole month from October 2014 (the prices start in mid-September) to January
    // 2026 (the difficulty's end); growth fitted from the twelfth month on.
    let months = hashrate["months"].as_array().unwrap();
    assert_eq!(months.len(), 136);
    assert_eq!(months[0]["month"], "2014-10");
    assert_eq!(hashrate["changes"], 123);
    assert_eq!(hashrate["lags"].as_array().unwrap().len(), 10);
    let best = &hashrate["best"];
    let lag = best["lag_months"].as_u64().unwrap();
    assert!((3..=12).contains(&lag));
    let growth = &best["growth_percent_per_year_at_full_margin"];
    assert!(
        growth["value"].as_f64().unwrap() > 2.0 * growth["standard_error"].as_f64().unwrap(),
        "{best}"
    );
    assert!(best["r_squared"].as_f64().unwrap() > 0.05, "{best}");
    let noise = hashrate["hashrate_noise_percent_per_year"]["value"]
        .as_f64()
        .unwrap();
    assert!((10.0..60.0).contains(&noise), "{noise}");
    // The frontier's margin is a share of hashprice, and the frontier grows more efficient.
    for pair in months.windows(2) {
        let margin = pair[0]["frontier_margin"].as_f64().unwrap();
        assert!((0.0..1.0).contains(&margin), "{}", pair[0]);
        assert!(
            pair[1]["frontier_efficiency_j_per_th"].as_f64().unwrap()
                < pair[0]["frontier_efficiency_j_per_th"].as_f64().unwrap()
        );
    }
    // Two years of history are too few for lags up to a year.
    let out = bitwatt(&[
        "calibrate",
        "--prices",
        &path("btc_usd_daily_yahoo.csv"),
        "--difficulty",
        &path("btc_daily_difficulty.csv"),
        "--from",
        "2024-01-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("too few consecutive whole months with prices and difficulty to fit the hashrate response: expected at least 37"),
        "{stderr}"
    );
}

#[test]
fn calibrate_errors_are_clear() {
    let dir = scratch("calibrate-errors");
    let prices = dir.join("prices.csv");
    std::fs::write(&prices, "Date,Close\n2024-01-01,42000\n2024-01-02,43000\n").unwrap();
    let prices = prices.to_str().unwrap();
    let out = bitwatt(&["calibrate", "--prices", prices]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("1 daily returns between 2024-01-01 and 2024-01-02: expected at least 250"),
        "{stderr}"
    );
    let out = bitwatt(&[
        "calibrate",
        "--prices",
        prices,
        "--from",
        "2024-02-01",
        "--to",
        "2024-01-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--from 2024-02-01 is after --to 2024-01-01")
    );
    let out = bitwatt(&["calibrate", "--prices", prices, "--from", "2024-02-30"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected a date as YYYY-MM-DD"));
}
