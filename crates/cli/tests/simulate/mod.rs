//! `bitwatt simulate`: the same seed gives the same result for any number of threads; a
//! different seed gives another; bad arguments are refused with a clear message.

use serde_json::Value;

use super::bitwatt;

/// `simulate --json` without its `run` key (timings and threads).
fn result(args: &[&str]) -> Value {
    let out = bitwatt(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut value: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let run = value
        .as_object_mut()
        .unwrap()
        .remove("run")
        .expect("a run key");
    assert!(run["seconds"].as_f64().unwrap() >= 0.0);
    value
}

#[test]
fn same_seed_same_result_for_any_thread_count() {
    let args = |threads: &'static str, seed: &'static str| {
        [
            "simulate",
            "--example",
            "pure-miner",
            "--paths",
            "1500",
            "--seed",
            seed,
            "--threads",
            threads,
            "--json",
        ]
    };
    let one = result(&args("1", "7"));
    let two = result(&args("2", "7"));
    assert_eq!(one, two);
    let other = result(&args("2", "8"));
    assert_ne!(one, other);
    // 1 500 paths span two chunks of 1 024: the split between threads is real.
    assert_eq!(one["paths"], 1500);
    let years = one["cumulative_pd_by_year"].as_array().unwrap();
    assert_eq!(years.len(), 5);
    let pds: Vec<f64> = years.iter().map(|y| y["value"].as_f64().unwrap()).collect();
    assert!(
        pds.windows(2).all(|w| w[0] <= w[1]),
        "cumulative PD never falls: {pds:?}"
    );
}

#[test]
fn zero_paths_is_refused() {
    let out = bitwatt(&["simulate", "--paths", "0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--paths 0: expected at least one path"));
}
