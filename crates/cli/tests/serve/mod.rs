//! `bitwatt serve`: the dashboard starts on the address it prints and refuses a malformed
//! scenario with exactly the lines `bitwatt simulate` prints for the same file.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};

use serde_json::{Value, json};

use super::{bitwatt, scratch};

/// A `bitwatt serve` process, stopped when dropped.
struct Dashboard {
    child: Child,
    base: String,
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Dashboard {
    /// Starts `bitwatt serve --port 0 ARGS` and reads its address from standard error.
    fn start(args: &[&str]) -> Dashboard {
        let mut child = super::bitwatt_command()
            .args(["serve", "--port", "0"])
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary runs");
        let mut line = String::new();
        BufReader::new(child.stderr.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line
            .strip_prefix("bitwatt dashboard on ")
            .and_then(|rest| rest.split('/').nth(2))
            .map(|host| format!("http://{host}"))
            .unwrap_or_else(|| panic!("no address in {line:?}"));
        assert!(base.starts_with("http://127.0.0.1:"), "{line}");
        Dashboard { child, base }
    }

    fn request(&self, path: &str, body: Option<&Value>) -> (u16, Value) {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let url = format!("{}{path}", self.base);
        let mut response = match body {
            Some(body) => agent.post(&url).send_json(body),
            None => agent.get(&url).call(),
        }
        .expect("an answer");
        let status = response.status().as_u16();
        (status, response.body_mut().read_json().expect("JSON"))
    }
}

#[test]
fn serve_listens_on_loopback_with_the_bounds_given() {
    let dashboard = Dashboard::start(&["--max-paths", "300", "--max-runs", "1"]);
    let (status, limits) = dashboard.request("/api/limits", None);
    assert_eq!(status, 200);
    assert_eq!(limits["max_paths"], 300);
    assert_eq!(limits["max_concurrent_runs"], 1);
}

#[test]
fn an_upload_is_refused_with_the_lines_of_simulate() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let dashboard = Dashboard::start(&[]);
    for file in ["bad_scenario_many.toml", "bad_scenario_syntax.toml"] {
        let out = super::bitwatt_command()
            .args(["simulate", file, "--paths", "10"])
            .current_dir(&data)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        // The problems, then the count after `error: `.
        let mut lines: Vec<&str> = stderr.lines().collect();
        let count = lines.pop().and_then(|l| l.strip_prefix("error: ")).unwrap();
        lines.push(count);
        let expected = lines.join("\n");
        let text = std::fs::read_to_string(data.join(file)).unwrap();
        let body = json!({ "scenario_toml": text, "file_name": file, "paths": 10 });
        let (status, answer) = dashboard.request("/api/runs", Some(&body));
        assert_eq!(status, 400, "{answer}");
        assert_eq!(answer["error"], json!(expected), "{file}");
    }
}

#[test]
fn serve_refuses_bad_bounds() {
    for args in [["serve", "--max-runs", "0"], ["serve", "--max-paths", "0"]] {
        let out = bitwatt(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(args[1]), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
    }
}

/// A run of the dashboard is recorded in the run history like a run of `simulate`.
#[test]
fn dashboard_runs_are_recorded_in_the_run_history() {
    let dir = scratch("serve-history");
    let db = dir.join("runs.sqlite3");
    let db = db.to_str().unwrap();
    let dashboard = Dashboard::start(&["--db", db]);
    let body = json!({ "example": "pure-miner", "paths": 200, "seed": 4 });
    let (status, started) = dashboard.request("/api/runs", Some(&body));
    assert_eq!(status, 202, "{started}");
    let path = format!("/api/runs/{}", started["id"]);
    let run = (0..600)
        .find_map(|_| {
            let (_, run) = dashboard.request(&path, None);
            if run["status"] == "done" {
                return Some(run);
            }
            assert!(
                run["status"] == "queued" || run["status"] == "running",
                "{run}"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
            None
        })
        .expect("the run ends");
    let id = run["summary"]["history_run"].as_i64().expect("recorded");
    let out = bitwatt(&["runs", "show", &id.to_string(), "--db", db, "--json"]);
    assert!(out.status.success());
    let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(shown["command"], "serve");
    assert_eq!(shown["paths"], 200);
    assert_eq!(shown["seed"], 4);
    let pd = run["summary"]["metrics"]["cumulative_pd_by_year"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    let recorded = shown["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "pd_to_horizon_percent")
        .unwrap()["value"]
        .as_f64()
        .unwrap();
    assert_eq!(recorded, pd * 100.0);
}
