//! The run history: runs recorded with their inputs and metrics, `runs list | show | diff`,
//! `--db` and `--no-history`, and a database that survives a process killed mid-run.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use bitwatt_store::RunHistory;
use serde_json::Value;

use super::{bitwatt, bitwatt_command, scratch};

/// Runs `args` (which must succeed) and returns its standard output.
fn stdout_of(args: &[&str]) -> String {
    let out = bitwatt(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json_of(args: &[&str]) -> Value {
    serde_json::from_str(&stdout_of(args)).expect("JSON")
}

fn metric(run: &Value, name: &str) -> Value {
    run["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|metric| metric["name"] == name)
        .unwrap_or_else(|| panic!("no metric {name} in {run}"))["value"]
        .clone()
}

#[test]
fn runs_are_recorded_listed_shown_and_compared() {
    let dir = scratch("history-runs");
    let db = dir.join("runs.sqlite3");
    let db = db.to_str().unwrap();
    let project = json_of(&["project", "--example", "pure-miner", "--db", db, "--json"]);
    let base = json_of(&[
        "simulate",
        "--example",
        "pure-miner",
        "--paths",
        "300",
        "--db",
        db,
        "--json",
    ]);
    let report = dir.join("stressed.html");
    let stressed = json_of(&[
        "simulate",
        "--example",
        "pure-miner",
        "--paths",
        "300",
        "--stress",
        "hashprice-collapse",
        "--report",
        report.to_str().unwrap(),
        "--db",
        db,
        "--json",
    ]);
    // Not recorded (anywhere).
    stdout_of(&["project", "--no-history"]);

    let list = json_of(&["runs", "list", "--db", db, "--json"]);
    let runs = list["runs"].as_array().unwrap();
    let ids: Vec<u64> = runs.iter().map(|run| run["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, vec![3, 2, 1]);
    assert_eq!(runs[2]["command"], "project");
    assert_eq!(runs[1]["paths"], 300);
    assert_eq!(runs[1]["seed"], 1);

    // The metrics kept are the run's own, exactly.
    let shown = json_of(&["runs", "show", "2", "--db", db, "--json"]);
    let pd = base["cumulative_pd_by_year"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert_eq!(metric(&shown, "pd_to_horizon_percent"), pd * 100.0);
    assert_eq!(
        metric(&shown, "expected_loss_usd"),
        base["expected_loss_usd"]["value"]
    );
    assert_eq!(shown["version"], env!("CARGO_PKG_VERSION"));
    assert!(shown["finished_at_unix_s"].as_i64() >= shown["started_at_unix_s"].as_i64());
    assert_eq!(shown["inputs"]["name"], base["scenario"]);
    let first = json_of(&["runs", "show", "1", "--db", db, "--json"]);
    assert_eq!(
        metric(&first, "final_cash_usd").as_f64().unwrap(),
        project["summary"]["final_cash_usd"].as_f64().unwrap()
    );
    // The input file as recorded runs again to the same result.
    let input = stdout_of(&["runs", "show", "2", "--db", db, "--input"]);
    let input_file = dir.join("input.toml");
    std::fs::write(&input_file, input).unwrap();
    let again = json_of(&[
        "simulate",
        input_file.to_str().unwrap(),
        "--paths",
        "300",
        "--no-history",
        "--json",
    ]);
    assert_eq!(again["expected_loss_usd"], base["expected_loss_usd"]);
    let third = json_of(&["runs", "show", "3", "--db", db, "--json"]);
    assert_eq!(
        third["report_path"].as_str().map(Path::new),
        Some(std::path::absolute(&report).unwrap().as_path())
    );
    assert_eq!(
        third["options"],
        serde_json::json!([["stress", "hashprice-collapse"]])
    );

    // diff: the metrics moved by the stress, and the stress as the only input changed.
    let diff = json_of(&["runs", "diff", "2", "3", "--db", db, "--json"]);
    let pd_change = diff["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|change| change["name"] == "pd_to_horizon_percent")
        .unwrap();
    let stressed_pd = stressed["cumulative_pd_by_year"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert_eq!(pd_change["b"], stressed_pd * 100.0);
    assert_eq!(
        pd_change["change"].as_f64().unwrap(),
        stressed_pd * 100.0 - pd * 100.0
    );
    assert_eq!(
        diff["inputs"],
        serde_json::json!([{"path": "--stress", "a": null, "b": "hashprice-collapse"}])
    );
    let text = stdout_of(&["runs", "diff", "2", "3", "--db", db]);
    assert!(text.contains("1 inputs changed"), "{text}");
    assert!(text.contains("pd_to_horizon_percent"), "{text}");

    // A run of another scenario differs in its inputs, path by path.
    stdout_of(&["project", "--example", "neocloud-abl", "--db", db]);
    let diff = json_of(&["runs", "diff", "1", "4", "--db", db, "--json"]);
    assert!(
        diff["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|change| change["path"] == "name"),
        "{diff}"
    );
}

#[test]
fn history_errors_are_clear() {
    let dir = scratch("history-errors");
    let not_a_database = dir.join("notes.txt");
    std::fs::write(
        &not_a_database,
        "these are notes, not a database, long enough",
    )
    .unwrap();
    let out = bitwatt(&["project", "--db", not_a_database.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("run history") && stderr.contains("notes.txt"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    let db = dir.join("runs.sqlite3");
    let db = db.to_str().unwrap();
    let out = bitwatt(&["runs", "show", "7", "--db", db]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("run 7: no such run"));
    assert!(stdout_of(&["runs", "list", "--db", db]).starts_with("no runs recorded"));
    let out = bitwatt(&["project", "--db", db, "--no-history"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "--db conflicts with --no-history"
    );
}

/// A process killed with SIGKILL in the middle of a run, or at any moment of a short one,
/// leaves the runs recorded before it intact and the database consistent.
#[test]
#[cfg(unix)]
fn history_survives_sigkill() {
    let dir = scratch("history-sigkill");
    let db = dir.join("runs.sqlite3");
    let db = db.to_str().unwrap();
    stdout_of(&["project", "--db", db]);
    let before = json_of(&["runs", "show", "1", "--db", db, "--json"]);

    let kill = |delay: Duration, args: &[&str]| {
        let mut child = bitwatt_command()
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
    };
    // In the middle of a long run, its history open.
    kill(
        Duration::from_millis(1500),
        &[
            "simulate",
            "--example",
            "pure-miner",
            "--paths",
            "10000000",
            "--quiet",
            "--db",
            db,
        ],
    );
    // Short runs killed at moments spread over their life, some while they record.
    for step in 0..12 {
        kill(
            Duration::from_millis(20 * step),
            &["project", "--example", "pure-miner", "--db", db],
        );
    }

    let history = RunHistory::open(Path::new(db)).unwrap();
    history.integrity_check().unwrap();
    let runs = history.list(100).unwrap();
    assert!(runs.iter().all(|run| run.command == "project"), "{runs:?}");
    assert_eq!(
        json_of(&["runs", "show", "1", "--db", db, "--json"]),
        before
    );
    // The database still takes new runs.
    let count = runs.len();
    stdout_of(&["project", "--db", db]);
    assert_eq!(history.list(100).unwrap().len(), count + 1);
}
