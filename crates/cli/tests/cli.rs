//! End-to-end tests of the `bitwatt` binary: the README's examples and the handling of bad
//! input.

use std::path::Path;
use std::process::{Command, Output};

mod backtest;
mod calibrate;
mod golden;
mod history;
mod portfolio;
mod report;
#[cfg(feature = "dashboard")]
mod serve;
mod simulate;
mod validate;
mod workbook;

/// The binary, run from the repository root with its run history in this test process's
/// scratch data directory (never the user's).
fn bitwatt_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bitwatt"));
    command
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
        .env("XDG_DATA_HOME", test_data_home());
    command
}

/// Runs the binary with `args`.
fn bitwatt(args: &[&str]) -> Output {
    bitwatt_command()
        .args(args)
        .output()
        .expect("the binary runs")
}

/// The JSON the binary prints with `args` (which ask for it), the run having succeeded.
fn bitwatt_json(args: &[&str]) -> serde_json::Value {
    let out = bitwatt(args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on standard output")
}

/// The data directory the tests' runs are recorded in.
fn test_data_home() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("bitwatt-test-data-{}", std::process::id()))
}

/// A fresh scratch directory for one test.
pub(crate) fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("bitwatt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every `console` block of the README runs and prints exactly what the README shows.
#[test]
fn readme_examples() {
    // The README's commands run from the repository root, as a reader runs them. Every other
    // test here uses absolute paths, so changing this process's directory is safe.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::env::set_current_dir(&root).unwrap();
    trycmd::TestCases::new()
        .env("XDG_DATA_HOME", test_data_home().display().to_string())
        .register_bin("bitwatt", Path::new(env!("CARGO_BIN_EXE_bitwatt")))
        .case("README.md");
}

mod bad_input {
    use super::*;

    /// Runs a command that must fail on its input: exit 2, one line on stderr naming `needle`.
    fn rejects(args: &[&str], needle: &str) {
        let out = bitwatt(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }

    #[test]
    fn malformed_bits() {
        rejects(&["chain", "difficulty", "0xzz"], "<BITS>");
        rejects(&["chain", "difficulty", "0x1d00ffff00"], "<BITS>");
    }

    #[test]
    fn negative_mantissa() {
        rejects(&["chain", "difficulty", "0x04923456"], "negative");
    }

    #[test]
    fn zero_target_and_overflow() {
        rejects(&["chain", "difficulty", "0x1d000000"], "zero target");
        rejects(&["chain", "difficulty", "0xff123456"], "overflow");
    }

    #[test]
    fn retarget_above_pow_limit() {
        rejects(
            &[
                "chain",
                "retarget",
                "--bits",
                "0x1e00ffff",
                "--first-time",
                "0",
                "--last-time",
                "1",
            ],
            "proof-of-work limit",
        );
    }

    #[test]
    fn retarget_times_out_of_range() {
        let args = |first: &'static str, last: &'static str| {
            vec![
                "chain",
                "retarget",
                "--bits",
                "0x1d00ffff",
                "--first-time",
                first,
                "--last-time",
                last,
            ]
        };
        rejects(
            &args("-9223372036854775808", "9223372036854775807"),
            "--first-time",
        );
        rejects(&args("0", "4294967296"), "--last-time");
    }

    #[test]
    fn retarget_to_a_zero_target() {
        rejects(
            &[
                "chain",
                "retarget",
                "--bits",
                "0x01010000",
                "--first-time",
                "0",
                "--last-time",
                "100",
            ],
            "zero",
        );
    }

    #[test]
    fn market_overrides_out_of_range() {
        rejects(&["mine", "--power-price", "1.7e308"], "--power-price");
        rejects(&["mine", "--hashprice", "1e308"], "--hashprice");
        rejects(
            &[
                "chain",
                "hashprice",
                "--difficulty",
                "1e-320",
                "--price",
                "1",
                "--fees",
                "1",
            ],
            "--difficulty",
        );
        rejects(
            &[
                "chain",
                "estimate-adjustment",
                "--height",
                "1",
                "--epoch-start-time",
                "0",
                "--now",
                "1",
                "--previous-retarget",
                "1e308",
            ],
            "--previous-retarget",
        );
        rejects(
            &[
                "chain",
                "estimate-adjustment",
                "--height",
                "1",
                "--epoch-start-time",
                "0",
                "--now",
                "1",
                "--network",
                "signet",
            ],
            "possible values",
        );
    }

    #[test]
    fn height_overflow() {
        rejects(&["chain", "subsidy", "4294967296"], "<HEIGHT>");
        rejects(&["chain", "subsidy", "-1"], "HEIGHT");
    }

    #[test]
    fn non_numeric_and_non_finite_price() {
        let base = [
            "chain",
            "hashprice",
            "--difficulty",
            "149.3e12",
            "--fees",
            "0.02",
            "--price",
        ];
        for bad in ["abc", "nan", "inf", "-5", "0"] {
            let mut args = base.to_vec();
            args.push(bad);
            rejects(&args, "--price");
        }
    }

    #[test]
    fn bad_source() {
        rejects(&["network", "--source", "bitcoind"], "needs a URL");
        rejects(&["network", "--source", "electrum", "x"], "--source");
    }

    #[test]
    fn bad_fleet_file_names_the_field() {
        let dir = scratch("bad-fleet");
        let path = dir.join("fleet.toml");
        std::fs::write(
            &path,
            "schema_version = 1\nname = \"x\"\npower_price_usd_per_mwh = 40\n\
             [[machines]]\nmodel = \"Antminer S21\"\ncount = 0\n",
        )
        .unwrap();
        let out = bitwatt(&["mine", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("machines[0].count = 0"), "{stderr}");
        let out = bitwatt(&["mine", dir.join("missing.toml").to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn unreachable_source_fails_cleanly() {
        // Port 9 (discard) on loopback is closed on test machines: connection refused.
        let out = bitwatt(&["network", "--source", "esplora", "http://127.0.0.1:9"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("127.0.0.1:9"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

mod json {
    use super::*;

    fn json_of(args: &[&str]) -> serde_json::Value {
        let out = bitwatt(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    #[test]
    fn difficulty_keys() {
        let v = json_of(&["chain", "difficulty", "0x1d00ffff", "--json"]);
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["bits"], "0x1d00ffff");
        assert_eq!(
            v["target"],
            "00000000ffff0000000000000000000000000000000000000000000000000000"
        );
        assert_eq!(v["difficulty"], 1.0);
        assert_eq!(v["hashrate_hs"], 4_294_967_296.0 / 600.0);
    }

    #[test]
    fn retarget_keys() {
        let v = json_of(&[
            "chain",
            "retarget",
            "--bits",
            "0x1d00ffff",
            "--first-time",
            "1261130161",
            "--last-time",
            "1262152739",
            "--json",
        ]);
        assert_eq!(v["next_bits"], "0x1d00d86a");
        let change = v["change_percent"].as_f64().unwrap();
        let expected = (v["difficulty"].as_f64().unwrap() - 1.0) * 100.0;
        assert!((change - expected).abs() < 1e-9);
    }

    #[test]
    fn subsidy_keys() {
        let v = json_of(&["chain", "subsidy", "840000", "--json"]);
        assert_eq!(v["subsidy_sat"], 312_500_000);
        assert_eq!(v["era"], 4);
        assert_eq!(v["next_halving_height"], 1_050_000);
    }

    #[test]
    fn hashprice_seed_check() {
        let v = json_of(&[
            "chain",
            "hashprice",
            "--difficulty",
            "149.30e12",
            "--price",
            "80707",
            "--fees",
            "0.02",
            "--json",
        ]);
        let hashprice = v["hashprice_usd_per_ph_day"].as_f64().unwrap();
        assert!((hashprice - 34.20).abs() < 0.01, "{hashprice}");
        let ehs = v["hashrate_ehs"].as_f64().unwrap();
        assert!((ehs - 1069.0).abs() < 0.5, "{ehs}");
        assert!(v["hashvalue_btc_per_ph_day"].as_f64().unwrap() > 0.0);
    }

    /// mempool.space's own test cases (backend/src/__tests__/api/difficulty-adjustment.test.ts)
    /// through the command line: the testnet case with its time offset and the lock-in case.
    #[test]
    fn estimate_adjustment_mempool_cases() {
        let v = json_of(&[
            "chain",
            "estimate-adjustment",
            "--height",
            "750134",
            "--epoch-start-time",
            "1660820820",
            "--quarter-epoch-time",
            "1660619814",
            "--now",
            "1660917833",
            "--previous-retarget",
            "0.6280047707459726",
            "--network",
            "testnet",
            "--latest-block-time",
            "1660917166",
            "--json",
        ]);
        assert_eq!(v["progress_percent"], 9.027777777777777);
        assert_eq!(v["difficulty_change"], 1.0420538959004633);
        assert_eq!(v["estimated_retarget_date_ms"], 1_662_009_048_328_i64);
        assert_eq!(v["remaining_blocks"], 1834);
        assert_eq!(v["next_retarget_height"], 751_968);
        assert_eq!(v["time_avg_ms"], 533_038);
        assert_eq!(v["adjusted_time_avg_ms"], 594_992);
        assert_eq!(v["time_offset_ms"], -667_000);

        let v = json_of(&[
            "chain",
            "estimate-adjustment",
            "--height",
            "788255",
            "--epoch-start-time",
            "1681984653",
            "--quarter-epoch-time",
            "1660619814",
            "--now",
            "1683212049",
            "--previous-retarget",
            "1.7220298879531821",
            "--latest-block-time",
            "1683212066",
            "--json",
        ]);
        assert_eq!(v["progress_percent"], 99.95039682539682);
        assert_eq!(v["difficulty_change"], -1.4512637555574193);
        assert_eq!(v["estimated_retarget_date_ms"], 1_683_212_658_129_i64);
        assert_eq!(v["remaining_blocks"], 1);
        assert_eq!(v["time_avg_ms"], 609_129);
    }

    /// The fleet's revenue and power cost follow from the market and the fleet's physical
    /// totals in the same JSON document.
    #[test]
    fn mine_revenue_and_power_follow_from_the_market() {
        let v = json_of(&["mine", "--json", "--power-price", "50", "--hashprice", "40"]);
        assert_eq!(v["schema_version"], 1);
        let f = |x: &serde_json::Value| x.as_f64().unwrap();
        let fleet = &v["fleet"];
        let net_share = 1.0 - f(&v["pool_fee_percent"]) / 100.0;
        let revenue = 40.0 * f(&fleet["hashrate_phs"]) * net_share;
        assert!((f(&fleet["revenue_usd_per_day"]) / revenue - 1.0).abs() < 1e-12);
        let power = 50.0 * f(&fleet["energy_mwh_per_day"]);
        assert!((f(&fleet["power_cost_usd_per_day"]) / power - 1.0).abs() < 1e-12);
        let price = f(&v["market"]["btc_price_usd"]);
        assert!((f(&fleet["revenue_btc_per_day"]) * price / revenue - 1.0).abs() < 1e-12);
        // The snapshot's next halving is 124 656 blocks away: 865.67 days at 600 s a block.
        let days = f(&v["market"]["halving"]["days_until"]);
        assert!((days - 124_656.0 * 600.0 / 86_400.0).abs() < 1e-9);
    }
}
