//! Golden output of `bitwatt project --json` on the built-in `pivot-miner` example: every
//! number within a relative 1e-9 of the stored file, every key and string exactly.
//!
//! The file changes only on purpose: after a deliberate model change, regenerate it with
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

#[test]
fn pivot_miner_projection_matches_golden() {
    let golden_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/pivot-miner.json");
    let out = bitwatt(&["project", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let actual: Value = serde_json::from_slice(&out.stdout).expect("project --json is JSON");
    if std::env::var_os("BITWATT_BLESS").is_some() {
        std::fs::write(&golden_path, serde_json::to_string(&actual).unwrap() + "\n").unwrap();
        return;
    }
    let text = std::fs::read_to_string(&golden_path).expect("the golden file exists");
    let expected: Value = serde_json::from_str(&text).unwrap();
    let mut differences = Vec::new();
    compare("", &actual, &expected, &mut differences);
    assert!(
        differences.is_empty(),
        "{} values differ from {} (first 20):\n{}",
        differences.len(),
        golden_path.display(),
        differences[..differences.len().min(20)].join("\n")
    );
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
