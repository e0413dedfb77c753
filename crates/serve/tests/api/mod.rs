//! The JSON API: runs, their progress and summaries, and every refusal with the command
//! line's message.

use bitwatt_engine::simulate;
use bitwatt_model::{PIVOT_MINER_TOML, Scenario, problems_in};
use bitwatt_serve::{Levers, ServeConfig};
use serde_json::{Value, json};

use crate::{Server, pivot_run};

fn small() -> ServeConfig {
    ServeConfig {
        threads: 2,
        ..ServeConfig::default()
    }
}

/// The example run through the API gives exactly what the engine gives for the same
/// scenario, paths and seed; its report has the charts.
#[test]
fn example_run_gives_the_engines_metrics_and_the_report() {
    let server = Server::start(small());
    let id = server.start_run(&pivot_run(200));
    let run = server.wait_for_end(id);
    assert_eq!(run["status"], "done", "{run}");
    assert_eq!(run["paths_done"], 200);
    assert_eq!(run["source"], "pivot-miner");

    let scenario = Scenario::from_toml(PIVOT_MINER_TOML).unwrap();
    let (simulation, result) = simulate(&scenario, &[], 200, 7).unwrap();
    let metrics = result.metrics(simulation.borrower());
    let summary = &run["summary"];
    assert_eq!(summary["metrics"], serde_json::to_value(&metrics).unwrap());
    assert_eq!(summary["fingerprint"]["seed"], 7);
    let pd = metrics.cumulative_pd_by_year.last().unwrap().value;
    assert_eq!(run["pd"], json!(pd));
    let html = summary["html"].as_str().unwrap();
    assert!(html.contains("PD to the horizon"), "{html}");
    assert!(html.contains("Loss VaR / ES 99 %"), "{html}");

    let (status, content_type, report) = server.get_text(&format!("/api/runs/{id}/report"));
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(report.contains("<svg"));
    assert!(report.contains("bitwatt simulate --example pivot-miner --paths 200 --seed 7"));

    let (status, runs) = server.get("/api/runs");
    assert_eq!(status, 200);
    assert_eq!(runs[0]["id"], json!(id));
    assert_eq!(runs[0]["status"], "done");
    assert!(runs[0].get("summary").is_none(), "the list is light");
}

/// The levers move the scenario the run uses; the report carries the moved scenario.
#[test]
fn levers_change_the_run() {
    let server = Server::start(small());
    let body = json!({
        "example": "pivot-miner", "paths": 100, "seed": 3,
        "levers": { "btc_price_shock_percent": -50, "leverage_multiplier": 1.5 }
    });
    let run = server.wait_for_end(server.start_run(&body));
    assert_eq!(run["status"], "done", "{run}");
    let levers = Levers {
        btc_price_shock_percent: -50.0,
        leverage_multiplier: 1.5,
        ..Levers::default()
    };
    let scenario = levers
        .apply(&Scenario::from_toml(PIVOT_MINER_TOML).unwrap())
        .unwrap();
    let (simulation, result) = simulate(&scenario, &[], 100, 3).unwrap();
    let metrics = result.metrics(simulation.borrower());
    assert_eq!(
        run["summary"]["metrics"],
        serde_json::to_value(&metrics).unwrap()
    );
    assert_eq!(run["levers"]["btc_price_shock_percent"], json!(-50.0));
}

/// A malformed upload is refused with every problem located in the uploaded file's name,
/// then the count, as `bitwatt validate` prints them.
#[test]
fn malformed_uploads_get_the_command_lines_message() {
    let server = Server::start(small());
    for (text, file_name, shown) in [
        (
            "schema_version = 1\nname = 3\nhorizon_months = 999\n",
            Some("mine.toml"),
            "mine.toml",
        ),
        ("schema_version = 1\nname = \"x\n", None, "upload.toml"),
        ("name = [", Some("../../etc/x y.toml"), "xy.toml"),
    ] {
        let mut body = json!({ "scenario_toml": text, "paths": 10 });
        if let Some(name) = file_name {
            body["file_name"] = json!(name);
        }
        let (status, answer) = server.post("/api/runs", &body);
        assert_eq!(status, 400, "{answer}");
        let errors = Scenario::from_toml(text).unwrap_err();
        let mut lines = errors.located(shown);
        lines.push(problems_in(shown, errors.0.len()));
        assert_eq!(answer["error"], json!(lines.join("\n")));
    }
    let (status, answer) = server.post("/api/runs", &json!({ "example": "nope", "paths": 10 }));
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"],
        r#"example "nope": expected one of "pivot-miner", "neocloud-abl", "pure-miner""#
    );
    let (status, answer) = server.post("/api/runs", &json!({ "example": "pivot-miner" }));
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .starts_with("request body: missing field `paths`"),
        "{answer}"
    );
}

/// A body over the bound is refused with 413 and a message, and the server goes on.
#[test]
fn oversized_requests_are_refused() {
    let server = Server::start(ServeConfig {
        max_body_bytes: 4096,
        ..small()
    });
    let body = json!({ "scenario_toml": "#".repeat(10_000), "paths": 10 });
    let (status, answer) = server.post("/api/runs", &body);
    assert_eq!(status, 413, "{answer}");
    assert_eq!(
        answer["error"],
        "request body over 4096 bytes: scenario files up to 4 KiB are accepted"
    );
    let (status, _) = server.get("/api/runs");
    assert_eq!(status, 200);
}

/// Paths beyond the bound, or none, and horizons beyond the bound are refused with a message.
#[test]
fn paths_and_horizons_beyond_the_bounds_are_refused() {
    let server = Server::start(ServeConfig {
        max_paths: 500,
        max_horizon_months: 120,
        ..small()
    });
    for paths in [0, 501] {
        let body = json!({ "example": "pure-miner", "paths": paths });
        let (status, answer) = server.post("/api/runs", &body);
        assert_eq!(status, 400, "{answer}");
        assert_eq!(
            answer["error"],
            json!(format!(
                "paths {paths}: expected from 1 to 500 paths (the most this server runs; \
                 `bitwatt simulate` runs more)"
            ))
        );
    }
    let (status, answer) = server.post("/api/runs", &pivot_run(10));
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"],
        "horizon_months = 160: this server runs horizons of at most 120 months"
    );
    let (status, limits) = server.get("/api/limits");
    assert_eq!(status, 200);
    assert_eq!(limits["max_paths"], 500);
}

/// A lever out of its range is refused with the lever, its value and its range.
#[test]
fn levers_out_of_range_are_refused() {
    let server = Server::start(small());
    let body = json!({ "example": "pivot-miner", "paths": 10,
                       "levers": { "correlation_convergence": 2 } });
    let (status, answer) = server.post("/api/runs", &body);
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"],
        "levers.correlation_convergence = 2: expected w from 0 (stress keeps the calm \
         correlations) to 1 (every factor moves with the crash)"
    );
    let body = json!({ "example": "pivot-miner", "paths": 10, "levers": { "leverage": 2 } });
    let (status, answer) = server.post("/api/runs", &body);
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("unknown field `leverage`"),
        "{answer}"
    );
}

/// Runs beyond the bound under way are refused with 429; a cancelled run ends as cancelled,
/// frees its place, and the server goes on answering.
#[test]
fn runs_beyond_the_bound_are_refused_and_a_run_can_be_cancelled() {
    let server = Server::start(ServeConfig {
        max_concurrent_runs: 1,
        threads: 1,
        ..ServeConfig::default()
    });
    let long = server.start_run(&pivot_run(20_000));
    let (status, answer) = server.post("/api/runs", &pivot_run(10));
    assert_eq!(status, 429, "{answer}");
    assert_eq!(
        answer["error"],
        "too many runs: this server runs at most 1 at a time; wait for one to end or cancel it"
    );
    let (status, answer) = server.post(&format!("/api/runs/{long}/cancel"), &Value::Null);
    assert_eq!(status, 200, "{answer}");
    let run = server.wait_for_end(long);
    assert_eq!(run["status"], "cancelled", "{run}");
    assert!(run["paths_done"].as_u64().unwrap() < 20_000, "{run}");
    assert!(run.get("summary").is_none());
    let (status, answer) = server.get(&format!("/api/runs/{long}/report"));
    assert_eq!(status, 404, "{answer}");
    let (status, answer) = server.post(&format!("/api/runs/{long}/cancel"), &Value::Null);
    assert_eq!(status, 409, "{answer}");
    assert_eq!(
        answer["error"],
        json!(format!("run {long} has ended: nothing to cancel"))
    );

    let next = server.start_run(&pivot_run(10));
    assert_eq!(server.wait_for_end(next)["status"], "done");
}

/// An unknown run, an id that is not a number and an unknown page are 404 with a message.
#[test]
fn unknown_runs_are_not_found() {
    let server = Server::start(small());
    for path in ["/api/runs/99", "/api/runs/abc", "/api/runs/99/report"] {
        let (status, answer) = server.get(path);
        assert_eq!(status, 404, "{path}");
        assert!(
            answer["error"].as_str().unwrap().starts_with("no run"),
            "{answer}"
        );
    }
    let (status, answer) = server.post("/api/runs/7/cancel", &Value::Null);
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("no run 7 on this server"))
    );
    let (status, answer) = server.get("/nowhere");
    assert_eq!(status, 404);
    assert_eq!(answer["error"], "no page /nowhere here");
}

/// The page is one self-contained file with the elements the browser test uses.
#[test]
fn the_page_is_served_whole() {
    let server = Server::start(small());
    let (status, content_type, page) = server.get_text("/");
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"));
    for id in [
        "source", "file", "paths", "seed", "start", "cancel", "progress", "summary", "runs",
        "report",
    ] {
        assert!(page.contains(&format!("id=\"{id}\"")), "{id}");
    }
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "nothing fetched elsewhere"
    );
    let (status, examples) = server.get("/api/examples");
    assert_eq!(status, 200);
    assert_eq!(examples[0]["name"], "pivot-miner");
}
