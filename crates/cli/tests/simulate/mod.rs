//! `bitwatt simulate`: the same seed gives the same result for any number of threads; a
//! different seed gives another; bad arguments are refused with a clear message.

use serde_json::Value;

use super::{bitwatt, scratch};

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

/// Runs shard `k` of `n` of pure-miner into `dir` and returns the file.
fn shard(dir: &std::path::Path, seed: &str, k: u64, n: u64) -> String {
    let file = dir.join(format!("shard-{seed}-{k}-of-{n}.json"));
    let file = file.to_str().unwrap().to_string();
    let spec = format!("{k}/{n}");
    let out = bitwatt(&[
        "simulate",
        "--example",
        "pure-miner",
        "--paths",
        "2500",
        "--seed",
        seed,
        "--shard",
        &spec,
        "--out",
        &file,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    file
}

#[test]
fn shards_merge_into_exactly_the_unsharded_result() {
    let dir = scratch("shards");
    let whole = result(&[
        "simulate",
        "--example",
        "pure-miner",
        "--paths",
        "2500",
        "--seed",
        "5",
        "--json",
    ]);
    // 2 500 paths are three chunks: three shards get one each, five leave two shards empty.
    for n in [1, 2, 3, 5] {
        let files: Vec<String> = (1..=n).rev().map(|k| shard(&dir, "5", k, n)).collect();
        let mut args = vec!["merge"];
        args.extend(files.iter().map(String::as_str));
        args.push("--json");
        assert_eq!(result(&args), whole, "{n} shards");
    }
    assert_eq!(whole["paths"], 2500);
    assert!(whole["fans"].as_array().unwrap().len() == 7);
}

#[test]
fn merge_refuses_shards_of_another_run_or_an_incomplete_set() {
    let dir = scratch("refuse");
    let one = shard(&dir, "5", 1, 2);
    let other_seed = shard(&dir, "6", 2, 2);
    let out = bitwatt(&["merge", &one, &other_seed]);
    assert_eq!(out.status.code(), Some(2));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("another fingerprint (seed: \"6\", expected \"5\")"),
        "{message}"
    );
    let out = bitwatt(&["merge", &one]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 2 shards given"));
    let out = bitwatt(&["merge", &one, &one]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("once each"));
    let not_a_shard = dir.join("not-a-shard.json");
    std::fs::write(&not_a_shard, "{}").unwrap();
    let out = bitwatt(&["merge", not_a_shard.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a shard file"));
    let out = bitwatt(&["simulate", "--shard", "3/2", "--out", "x.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--shard 3/2: expected K/N"));
}

#[test]
fn paths_out_writes_every_path_and_agrees_with_the_summary() {
    let dir = scratch("paths-out");
    let csv = dir.join("paths.csv");
    let summary = result(&[
        "simulate",
        "--example",
        "pure-miner",
        "--paths",
        "1100",
        "--seed",
        "3",
        "--json",
        "--paths-out",
        csv.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("path,default_month,default_cause,loss_usd"),
        "{header}"
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 1100);
    assert!(rows.iter().enumerate().all(|(i, r)| r[0] == i.to_string()));
    let defaults = rows.iter().filter(|r| !r[1].is_empty()).count() as f64;
    let pd = summary["cumulative_pd_by_year"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert_eq!(defaults / 1100.0, pd);
    let loss: f64 = rows
        .iter()
        .map(|r| r[3].parse::<f64>().unwrap())
        .sum::<f64>()
        / 1100.0;
    let expected = summary["expected_loss_usd"]["value"].as_f64().unwrap();
    assert!(
        (loss - expected).abs() <= 0.01 + 1e-9 * expected,
        "{loss} vs {expected}"
    );
}

#[test]
#[cfg(unix)]
fn ctrl_c_stops_cleanly_with_the_paths_done() {
    use std::process::{Command, Stdio};
    let child = super::bitwatt_command()
        .args([
            "simulate",
            "--example",
            "pure-miner",
            "--paths",
            "1000000",
            "--threads",
            "2",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("warning: stopped after"));
    let value: Value = serde_json::from_slice(&out.stdout).expect("JSON of the paths done");
    assert_eq!(value["complete"], false);
    let paths = value["paths"].as_u64().unwrap();
    // Whole windows of chunks, fewer than asked.
    assert!(
        paths > 0 && paths < 1_000_000 && paths.is_multiple_of(1024),
        "{paths}"
    );
}

#[test]
fn a_correlation_that_cannot_hold_is_refused_or_repaired_with_a_warning() {
    let file = "crates/cli/tests/data/correlation-not-psd.toml";
    let out = bitwatt(&["simulate", file, "--paths", "10"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("market.model.calm_correlation")
            && stderr.contains("positive semi-definite")
            && stderr.contains("--repair-correlation"),
        "{stderr}"
    );
    let out = bitwatt(&[
        "simulate",
        file,
        "--paths",
        "10",
        "--repair-correlation",
        "--json",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.starts_with("warning: ") && stderr.contains("replaced by the nearest one"),
        "{stderr}"
    );
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["paths"], 10);
}

#[test]
fn paths_out_as_parquet_holds_the_same_rows_as_csv() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    let dir = scratch("parquet");
    let csv = dir.join("paths.csv");
    let parquet = dir.join("paths.parquet");
    for file in [&csv, &parquet] {
        let out = bitwatt(&[
            "simulate",
            "--example",
            "pivot-miner",
            "--paths",
            "300",
            "--seed",
            "4",
            "--paths-out",
            file.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = std::fs::read_to_string(&csv).unwrap();
    let csv_rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let reader = SerializedFileReader::new(std::fs::File::open(&parquet).unwrap()).unwrap();
    let metadata = reader.metadata().file_metadata();
    let names: Vec<String> = metadata
        .key_value_metadata()
        .unwrap()
        .iter()
        .map(|kv| kv.value.clone().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Campus project loan",
            "Corporate term loan",
            "Convertible notes"
        ]
    );
    let rows: Vec<parquet::record::Row> = reader
        .get_row_iter(None)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), csv_rows.len());
    assert_eq!(rows.len(), 300);
    for (row, csv_row) in rows.iter().zip(&csv_rows) {
        let cells: Vec<String> = row
            .get_column_iter()
            .map(|(_, field)| match field {
                Field::Null => String::new(),
                Field::Long(v) => v.to_string(),
                Field::Str(v) => v.clone(),
                Field::Double(v) => format!("{v:.2}"),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(&cells, csv_row);
    }
}
