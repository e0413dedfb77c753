//! `bitwatt backtest`: against the real history in `shared/data` (skipped with a message where
//! it is absent), and its errors on bad files.

use std::path::PathBuf;

use super::{bitwatt, bitwatt_json, scratch};

/// The public data folder (`../shared/data` beside the repository, or `BITWATT_SHARED_DATA`).
pub(crate) fn shared_data() -> Option<PathBuf> {
    let dir = std::env::var_os("BITWATT_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    if dir.join("btc_daily_onchain_partial.csv").is_file() {
        Some(dir)
    } else {
        println!(
            "skipped: shared data not found at {} (set BITWATT_SHARED_DATA)",
            dir.display()
        );
        None
    }
}

/// The realised hashprice is matched within 1 % on at least 99 % of the days without a
/// retarget; the counts and range are those of the data as published (golden).
#[test]
fn hashprice_matches_the_realised_series() {
    let Some(data) = shared_data() else {
        return;
    };
    let result = bitwatt_json(&[
        "backtest",
        "hashprice",
        "--data",
        data.to_str().unwrap(),
        "--json",
    ]);
    let days = result["days"].as_array().unwrap();
    assert_eq!(days.len(), 412);
    assert_eq!(result["retarget_days"], 31);
    assert_eq!(result["incomplete_days"], 0);
    assert_eq!(days[0]["day"], "2017-12-19");
    assert_eq!(days[days.len() - 1]["day"], "2026-01-31");
    assert!(result["within_1_percent_share"].as_f64().unwrap() >= 0.99);
    // The realised series carries 6 to 8 significant digits: the recomputation agrees to them.
    assert!(result["worst_abs_relative_error"].as_f64().unwrap() < 1e-7);
    // 2021-04-30: 145 blocks, 906.25 + 143.19592537 BTC, at $57 750.18.
    let day = days.iter().find(|d| d["day"] == "2021-04-30").unwrap();
    assert_eq!(day["blocks"], 145);
    let realised = day["realised_usd_per_ph_day"].as_f64().unwrap();
    assert!((realised - 356.548786).abs() < 1e-9);
    assert!((day["model_usd_per_ph_day"].as_f64().unwrap() / realised - 1.0).abs() < 1e-7);
}

#[test]
fn bad_history_files_are_named() {
    let dir = scratch("backtest-bad");
    let prices = dir.join("prices.csv");
    std::fs::write(&prices, "Date,Close\n2024-01-01,42000\n2024-01-02,oops\n").unwrap();
    let other = dir.join("other.csv");
    std::fs::write(&other, "date\n").unwrap();
    let out = bitwatt(&[
        "backtest",
        "hashprice",
        "--prices",
        prices.to_str().unwrap(),
        "--difficulty",
        other.to_str().unwrap(),
        "--blocks",
        other.to_str().unwrap(),
        "--onchain",
        other.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr
            .contains("prices.csv: line 3, column \"Close\": \"oops\": expected a positive price"),
        "{stderr}"
    );
    let out = bitwatt(&[
        "backtest",
        "hashprice",
        "--prices",
        prices.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--difficulty: expected a file"));
}

/// The network from January 2022 on the real prices: the difficulty path within the errors
/// recorded when the model was last changed (golden, with tolerances), and the start on the
/// real network.
#[test]
fn network_from_2022_follows_the_real_difficulty() {
    let Some(data) = shared_data() else {
        return;
    };
    let report = scratch("backtest-network").join("network.html");
    let result = bitwatt_json(&[
        "backtest",
        "network",
        "--data",
        data.to_str().unwrap(),
        "--from",
        "2022-01",
        "--report",
        report.to_str().unwrap(),
        "--json",
    ]);
    let months = result["months"].as_array().unwrap();
    assert_eq!(months.len(), 49);
    assert_eq!(months[0]["month"], "2022-01");
    assert_eq!(months[48]["month"], "2026-01");
    // The first month starts from the real network: within a few percent.
    assert!(months[0]["relative_error"].as_f64().unwrap().abs() < 0.05);
    // Golden: median 5.1 %, worst 20.3 % (2022-08), each within a tolerance that lets the
    // model be refined without silently getting worse.
    let median = result["median_abs_relative_error"].as_f64().unwrap();
    let worst = result["worst_abs_relative_error"].as_f64().unwrap();
    assert!((median - 0.051).abs() < 0.02, "median {median}");
    assert!((worst - 0.203).abs() < 0.05, "worst {worst}");
    let fees = result["fees_btc_per_block"].as_f64().unwrap();
    assert!((fees - 0.0647).abs() < 1e-3, "{fees}");
    // The real difficulty of 2022-01 is about 25 T.
    let real = months[0]["real_difficulty"].as_f64().unwrap();
    assert!((real / 1e12 - 25.16).abs() < 0.01, "{real}");
    // The report: well-formed, the two difficulty lines and the error line, every month.
    let html = std::fs::read_to_string(&report).unwrap();
    super::report::check_well_formed(&html).unwrap();
    assert_eq!(html.matches("<svg").count(), 2);
    assert_eq!(html.matches("<polyline").count(), 3);
    assert_eq!(html.matches("<tr>").count(), 1 + 49);
    assert!(html.contains(&format!("{:.1} %", median * 100.0)));
}

#[test]
fn network_backtest_refuses_a_start_outside_the_data() {
    let Some(data) = shared_data() else {
        return;
    };
    let out = bitwatt(&[
        "backtest",
        "network",
        "--data",
        data.to_str().unwrap(),
        "--from",
        "2010-01",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("start 2010-01: expected a month with prices"),
        "{stderr}"
    );
}

/// The 2022 episode: the built-in rig-financed miner from January 2022, the model fitted on
/// the closes up to 2021-12-31. Golden with tolerances: what the model assigned ex ante.
#[test]
fn credit_2022_with_the_model_fitted_before_it() {
    let Some(data) = shared_data() else {
        return;
    };
    let result = bitwatt_json(&[
        "backtest",
        "credit",
        "--data",
        data.to_str().unwrap(),
        "--paths",
        "1000",
        "--json",
    ]);
    assert_eq!(result["fitted_to"], "2021-12-31");
    assert_eq!(result["start"], "2022-01");
    let pd = |year: usize| {
        result["cumulative_pd_by_year"][year]["value"]
            .as_f64()
            .unwrap()
    };
    // Recorded: 0.0 % by the end of 2022, 1.5 % by 2023, 31.5 % by 2024.
    assert!(pd(0) < 0.03, "{}", pd(0));
    assert!((pd(2) - 0.315).abs() < 0.08, "{}", pd(2));
    let btc = &result["realised_btc"];
    let change = btc["year_later_usd"].as_f64().unwrap() / btc["start_usd"].as_f64().unwrap();
    assert!((change - 0.347).abs() < 0.01, "{change}");
    assert!(
        result["what_happened"]
            .as_str()
            .unwrap()
            .contains("Chapter 11")
    );
}
