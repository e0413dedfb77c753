//! Golden outputs of `bitwatt project --json`: the built-in `pivot-miner` example in full,
//! and the three built-in examples under each stress of the library (their summaries,
//! instrument outcomes, recoveries and main monthly lines). Every number within a relative
//! 1e-9 of the stored file, every key and string exactly.
//!
//! The files change only on purpose: after a deliberate model change, regenerate them with
//! `BITWATT_BLESS=1 cargo test -p bitwatt-cli --test cli golden` and review the diff.

use std::path::Path;

use serde_json::Value;

use super::bitwatt;

const RELATIVE_TOLERANCE: f64 = 1e-9;
const ABSOLUTE_TOLERANCE: f64 = 1e-6;

/// Compares `actual` with `expected`, collecting the paths that differ.
fn compare(path: &str, actual: &Value, expected: &Value, differences: &mut Vec<String>) {
    match (actual, expected) {
        (Value::Number(a), Value::Number(e)) => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            let tolerance = ABSOLUTE_TOLERANCE.max(RELATIVE_TOLERANCE * e.abs());
            if (a - e).abs() > tolerance {
                differences.push(format!("{path}: {a} (golden {e})"));
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            let mut keys: Vec<&String> = a.keys().chain(e.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                match (a.get(key), e.get(key)) {
                    (Some(av), Some(ev)) => compare(&format!("{path}.{key}"), av, ev, differences),
                    (Some(_), None) => differences.push(format!("{path}.{key}: not in golden")),
                    (None, _) => differences.push(format!("{path}.{key}: missing")),
                }
            }
        }
        (Value::Array(a), Value::Array(e)) => {
            if a.len() != e.len() {
                differences.push(format!("{path}: {} items (golden {})", a.len(), e.len()));
            }
            for (i, (av, ev)) in a.iter().zip(e).enumerate() {
                compare(&format!("{path}[{i}]"), av, ev, differences);
            }
        }
        _ if actual == expected => {}
        _ => differences.push(format!("{path}: {actual} (golden {expected})")),
    }
}

/// Compares `actual` with the golden file `name` (under `tests/golden/`), or writes it when
/// `BITWATT_BLESS` is set.
fn check_golden(name: &str, actual: &Value) {
    let golden_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("BITWATT_BLESS").is_some() {
        std::fs::create_dir_all(golden_path.parent().unwrap()).unwrap();
        std::fs::write(&golden_path, serde_json::to_string(actual).unwrap() + "\n").unwrap();
        return;
    }
    let text = std::fs::read_to_string(&golden_path).expect("the golden file exists");
    let expected: Value = serde_json::from_str(&text).unwrap();
    let mut differences = Vec::new();
    compare("", actual, &expected, &mut differences);
    assert!(
        differences.is_empty(),
        "{} values differ from {} (first 20):\n{}",
        differences.len(),
        golden_path.display(),
        differences[..differences.len().min(20)].join("\n")
    );
}

/// `bitwatt ARGS` as JSON.
fn project_json(args: &[&str]) -> Value {
    let out = bitwatt(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("project --json is JSON")
}

#[test]
fn pivot_miner_projection_matches_golden() {
    check_golden("pivot-miner.json", &project_json(&["project", "--json"]));
}

/// Every stress of the library.
const STRESSES: [&str; 6] = [
    "hashprice-collapse",
    "ai-capex-pullback",
    "generation-leap",
    "correlation-convergence",
    "grid-event",
    "inference-deflation",
];

/// What the stress goldens keep of a projection: the summary, every instrument's outcome,
/// the recoveries and, month by month, EBITDA, CFADS, cash and debt.
fn compact(full: &Value) -> Value {
    let debts: Vec<Value> = full["debts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|debt| serde_json::json!({"name": debt["name"], "outcome": debt["outcome"]}))
        .collect();
    let months: Vec<Value> = full["months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            serde_json::json!([
                row["ebitda_usd"],
                row["cfads_usd"],
                row["cash_usd"],
                row["debt_usd"]
            ])
        })
        .collect();
    serde_json::json!({
        "stresses": full["stresses"],
        "summary": full["summary"],
        "debts": debts,
        "recoveries": full["recoveries"],
        "ebitda_cfads_cash_debt_usd": months,
    })
}

/// The three built-in examples on their base case and under each stress.
#[test]
fn examples_under_each_stress_match_golden() {
    for example in ["pivot-miner", "neocloud-abl", "pure-miner"] {
        let mut cases = serde_json::Map::new();
        let base = project_json(&["project", "--example", example, "--json"]);
        cases.insert("base".to_string(), compact(&base));
        for stress in STRESSES {
            let stressed = project_json(&[
                "project",
                "--example",
                example,
                "--stress",
                stress,
                "--json",
            ]);
            cases.insert(stress.to_string(), compact(&stressed));
        }
        check_golden(&format!("stresses/{example}.json"), &Value::Object(cases));
    }
}

#[test]
fn the_golden_comparison_catches_a_change() {
    let golden: Value = serde_json::json!({"a": [1.0, 2.0], "b": "x"});
    let mut differences = Vec::new();
    compare(
        "",
        &serde_json::json!({"a": [1.0, 2.000001], "b": "x"}),
        &golden,
        &mut differences,
    );
    assert_eq!(differences, vec![".a[1]: 2.000001 (golden 2)"]);
    differences.clear();
    compare(
        "",
        &serde_json::json!({"a": [1.0, 2.0 + 1e-12], "b": "x"}),
        &golden,
        &mut differences,
    );
    assert!(differences.is_empty());
}
