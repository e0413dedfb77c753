//! `bitwatt serve`: the dashboard starts on the address it prints and refuses a malformed
//! scenario with exactly the lines `bitwatt simulate` prints for the same file.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use super::bitwatt;

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
        let mut child = Command::new(env!("CARGO_BIN_EXE_bitwatt"))
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
        let out = Command::new(env!("CARGO_BIN_EXE_bitwatt"))
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
