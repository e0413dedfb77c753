//! `bitwatt schema` and `bitwatt validate`: every problem of a malformed scenario file is
//! reported with its path, its value and its line, and the command exits with status 2.

use super::bitwatt;

/// Test data, relative to the repository root (where `bitwatt` runs).
fn data(file: &str) -> String {
    format!("crates/cli/tests/data/{file}")
}

/// One expected problem: path, value as printed (empty when missing), text on its line of the
/// file (outside comments), and a part of what is expected.
type Problem<'a> = (&'a str, &'a str, &'a str, &'a str);

/// Runs `validate` on a malformed file: exit 2, exactly `problems` on stderr, each as
/// `FILE:LINE: PATH = VALUE: expected ...`, then the count.
fn rejects(file: &str, problems: &[Problem<'_>]) {
    let path = data(file);
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(file),
    )
    .unwrap();
    let out = bitwatt(&["validate", &path]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
    assert!(out.stdout.is_empty(), "{file}");
    assert!(!stderr.contains("panicked"), "{file}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), problems.len() + 1, "{file}: {stderr}");
    let noun = if problems.len() == 1 {
        "problem"
    } else {
        "problems"
    };
    assert_eq!(
        lines.last().copied(),
        Some(format!("error: {} {noun} in {path}", problems.len()).as_str())
    );
    for &(field, value, on_line, expected) in problems {
        let line = 1 + text
            .lines()
            .position(|l| !l.starts_with('#') && l.contains(on_line))
            .unwrap_or_else(|| panic!("{file} has no line with {on_line}"));
        let start = match (field, value) {
            ("", _) => format!("{path}:{line}: expected "),
            (_, "") => format!("{path}:{line}: {field}: expected "),
            _ => format!("{path}:{line}: {field} = {value}: expected "),
        };
        let reported = lines.iter().find(|l| l.starts_with(&start));
        let reported = reported.unwrap_or_else(|| panic!("{file}: no `{start}` in\n{stderr}"));
        assert!(reported.contains(expected), "{file}: {reported}");
    }
}

#[test]
fn syntax_error() {
    rejects(
        "bad_scenario_syntax.toml",
        &[("", "", "= = 60", "valid TOML (column 18")],
    );
}

#[test]
fn unknown_key() {
    rejects(
        "bad_scenario_unknown_key.toml",
        &[
            (
                "debt[0].fixed_rate_pct",
                "12",
                "fixed_rate_pct",
                "did you mean fixed_rate_percent?",
            ),
            ("debt[0]", "", "[[debt]]", "neither is given"),
        ],
    );
}

#[test]
fn wrong_type() {
    rejects(
        "bad_scenario_wrong_type.toml",
        &[("site[0].grid_capacity_mw", "\"50 MW\"", "50 MW", "a number")],
    );
}

#[test]
fn missing_field() {
    rejects(
        "bad_scenario_missing_field.toml",
        &[(
            "debt[0].maturity_month",
            "",
            "[[debt]]",
            "a month \"YYYY-MM\" from 2009-01 to 2200-12 (required)",
        )],
    );
}

#[test]
fn out_of_range() {
    rejects(
        "bad_scenario_out_of_range.toml",
        &[(
            "debt[0].margin_bps",
            "-5000.5",
            "margin_bps",
            "a number from -500 to 5000 bp",
        )],
    );
}

#[test]
fn not_a_number() {
    rejects(
        "bad_scenario_nan.toml",
        &[("site[0].pue", "NaN", "pue = nan", "a number from 1 to 3")],
    );
}

#[test]
fn horizon_too_long() {
    rejects(
        "bad_scenario_horizon.toml",
        &[(
            "horizon_months",
            "500",
            "horizon_months",
            "a whole number from 1 to 240 months",
        )],
    );
}

#[test]
fn unknown_site() {
    rejects(
        "bad_scenario_unknown_site.toml",
        &[(
            "mining_fleet[0].site",
            "\"Texsa\"",
            "Texsa",
            "the name of a [[site]]: \"Texas\"",
        )],
    );
}

#[test]
fn unknown_catalog_model() {
    rejects(
        "bad_scenario_unknown_model.toml",
        &[(
            "mining_fleet[0].model",
            "\"Antminer S9\"",
            "Antminer S9",
            "\"Antminer S21 XP\"",
        )],
    );
}

#[test]
fn conversion_feeds_a_missing_lease() {
    rejects(
        "bad_scenario_missing_lease.toml",
        &[(
            "conversion[0].feeds",
            "\"Hyperscaler lease\"",
            "feeds",
            "[[colocation_lease]] or [[gpu_cloud]]",
        )],
    );
}

#[test]
fn both_fixed_rate_and_margin() {
    rejects(
        "bad_scenario_both_rates.toml",
        &[(
            "debt[0]",
            "",
            "[[debt]]",
            "exactly one of fixed_rate_percent and margin_bps",
        )],
    );
}

#[test]
fn custom_schedule_over_100_percent() {
    rejects(
        "bad_scenario_custom_schedule.toml",
        &[(
            "debt[0].custom_repayment_percent",
            "[40, 40, 30]",
            "custom_repayment_percent",
            "they sum to 110 %",
        )],
    );
}

#[test]
fn several_problems_at_once() {
    rejects(
        "bad_scenario_many.toml",
        &[
            ("schema_version", "2", "schema_version", "1 (the version"),
            ("horizon_months", "500", "horizon_months", "1 to 240 months"),
            ("site[0].pue", "0.9", "pue", "from 1 to 3"),
            ("site[0].colour", "\"red\"", "colour", "a known key"),
            (
                "mining_fleet[0].count",
                "\"lots\"",
                "lots",
                "a whole number",
            ),
            ("debt[0]", "", "[[debt]]", "not both"),
            ("mining_fleet[1].site", "\"Ohio\"", "Ohio", "\"Texas\""),
            ("mining_fleet[1].model", "\"Antminer S9\"", "S9", "catalog"),
            (
                "mining_fleet[1].uptime_percent",
                "120",
                "uptime_percent",
                "0.1 to 100 %",
            ),
        ],
    );
}

#[test]
fn json_report_lists_every_problem() {
    let out = bitwatt(&["validate", "--json", &data("bad_scenario_many.toml")]);
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["valid"], false);
    let problems = v["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 9);
    assert_eq!(problems[1]["path"], "horizon_months");
    assert_eq!(problems[1]["value"], "500");
    assert_eq!(problems[1]["line"], 5);
    assert!(problems[1]["expected"].as_str().unwrap().contains("240"));

    let out = bitwatt(&["validate", "--json", &data("minimal_scenario.toml")]);
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["problems"], serde_json::json!([]));
}

#[test]
fn valid_file() {
    let path = data("minimal_scenario.toml");
    let out = bitwatt(&["validate", &path]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{path}: valid scenario \"Minimal miner\" (60 months from 2026-01)\n")
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn unreadable_file() {
    let out = bitwatt(&["validate", &data("no_such_scenario.toml")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot read scenario file"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn schema_is_json_with_every_section() {
    let out = bitwatt(&["schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let properties = schema["properties"].as_object().unwrap();
    for section in ["market", "site", "mining_fleet", "conversion", "debt"] {
        assert!(properties.contains_key(section), "{section}");
    }
    assert_eq!(schema["properties"]["debt"]["type"], "array");
    assert!(schema["$defs"]["Debt"]["properties"]["margin_bps"].is_object());
}

#[test]
fn margin_call_levels_and_pledge() {
    rejects(
        "bad_scenario_margin_call.toml",
        &[
            (
                "debt[0].btc_pledged",
                "600",
                "btc_pledged",
                "at most the treasury's btc_held (500)",
            ),
            (
                "debt[0].liquidation_ltv_percent",
                "70",
                "liquidation_ltv_percent",
                "an LTV above margin_call_ltv_percent (75)",
            ),
        ],
    );
}

#[test]
fn instruments_and_hedges() {
    rejects(
        "bad_scenario_instruments.toml",
        &[
            (
                "debt[0].commitment_usd",
                "",
                "[[debt]]",
                "a commitment above 0 USD (required for an asset-backed loan)",
            ),
            (
                "debt[1].covenants.max_ltv_percent",
                "60",
                "covenants = ",
                "no maintenance covenant for a high-yield bond",
            ),
            (
                "hedge[0].debt",
                "\"Notes\"",
                "debt = \"Notes\"",
                "a floating-rate debt (one with margin_bps)",
            ),
        ],
    );
}

#[test]
fn example_book_is_valid() {
    let out = bitwatt(&["validate", "examples/book/compute-credit.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "examples/book/compute-credit.toml: book \"Compute credit\": 9 borrowers, market from \
         \"CoreWeave Host Co.\" (120 months from 2025-11), valid\n"
    );
}

#[test]
fn example_book_scenarios_are_valid() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/book");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let out = bitwatt(&["validate", path.to_str().unwrap()]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{}: {stderr}", path.display());
    }
}

/// A bad book: its own problems as `BOOK:LINE: problem`, those of a scenario file it names as
/// `borrower[i].scenario: FILE:LINE: problem`, in the order of the book's lines; exit 2.
#[test]
fn bad_book() {
    let book = data("bad_book.toml");
    let out = bitwatt(&["validate", &book]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(out.stdout.is_empty());
    let lines: Vec<&str> = stderr.lines().collect();
    let scenario = data("bad_scenario_nan.toml");
    let expected = [
        format!("{book}:7: borrower[0].share_pct = 50: expected a known key"),
        format!(
            "borrower[1].scenario: {scenario}:10: site[0].pue = NaN: expected a number from 1 to 3"
        ),
        format!(
            "{book}:13: borrower[2].scenario = \"no_such_scenario.toml\": expected a readable \
             scenario file ({}:",
            data("no_such_scenario.toml")
        ),
        format!(
            "{book}:15: borrower[3].name = \"Minimal miner\": expected a name no other borrower \
             has (borrower[0] has it too)"
        ),
        format!(
            "{book}:18: borrower[3].holding[0].debt = \"Bridge loan\": expected the name of a \
             debt of the borrower's scenario: \"Term loan\""
        ),
        format!("{book}:19: borrower[3].holding[0].share_percent = 0: expected a number above 0"),
        format!("error: 6 problems in {book}"),
    ];
    assert_eq!(lines.len(), expected.len(), "{stderr}");
    for (line, expected) in lines.iter().zip(&expected) {
        assert!(
            line.starts_with(expected.as_str()),
            "{line}\nexpected {expected}"
        );
    }
}

/// `--json` on a book: the problems with the scenario file each is in.
#[test]
fn bad_book_json() {
    let out = bitwatt(&["validate", "--json", &data("bad_book.toml")]);
    assert_eq!(out.status.code(), Some(2));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["valid"], false);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 6);
    assert_eq!(problems[1]["within"], "borrower[1].scenario");
    assert_eq!(problems[1]["file"], data("bad_scenario_nan.toml"));
    assert_eq!(problems[1]["problem"]["path"], "site[0].pue");
    assert_eq!(problems[4]["problem"]["line"], 18);
}
