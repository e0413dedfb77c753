//! The dashboard's HTTP API driven in-process over a real socket, and the page in a headless
//! browser.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use bitwatt_serve::{ServeConfig, serve_blocking};
use serde_json::{Value, json};
use ureq::Agent;

mod api;
mod browser;

/// A dashboard serving `config` on a free port of 127.0.0.1 for the rest of the test process.
struct Server {
    base: String,
    agent: Agent,
}

impl Server {
    fn start(config: ServeConfig) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let base = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || serve_blocking(listener, config).expect("the server runs"));
        Server {
            base,
            agent: client(),
        }
    }

    /// The URL of `path` on the server.
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `GET path`: the status and the body as JSON.
    fn get(&self, path: &str) -> (u16, Value) {
        let mut response = self.agent.get(&self.url(path)).call().expect("an answer");
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_json().expect("a JSON body"),
        )
    }

    /// `GET path`: the status, the content type and the body as text.
    fn get_text(&self, path: &str) -> (u16, String, String) {
        let mut response = self.agent.get(&self.url(path)).call().expect("an answer");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .map_or(String::new(), |v| v.to_str().unwrap().to_string());
        let body = response
            .body_mut()
            .with_config()
            .limit(64 * 1024 * 1024)
            .read_to_string()
            .expect("a text body");
        (status, content_type, body)
    }

    /// `POST path` with a JSON body: the status and the body as JSON.
    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        let mut response = self
            .agent
            .post(&self.url(path))
            .send_json(body)
            .expect("an answer");
        let status = response.status().as_u16();
        (
            status,
            response.body_mut().read_json().expect("a JSON body"),
        )
    }

    /// Starts a run of `body`; its id.
    fn start_run(&self, body: &Value) -> u64 {
        let (status, answer) = self.post("/api/runs", body);
        assert_eq!(status, 202, "{answer}");
        answer["id"].as_u64().expect("an id")
    }

    /// Polls run `id` until its status is no longer queued or running; the last answer.
    fn wait_for_end(&self, id: u64) -> Value {
        let began = Instant::now();
        loop {
            let (status, run) = self.get(&format!("/api/runs/{id}"));
            assert_eq!(status, 200, "{run}");
            if !matches!(run["status"].as_str(), Some("queued" | "running")) {
                return run;
            }
            assert!(
                began.elapsed() < Duration::from_secs(300),
                "run {id} still under way: {run}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// An HTTP client that returns 4xx and 5xx answers instead of errors.
fn client() -> Agent {
    Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// A run of the example `pivot-miner` with `paths` paths from seed 7.
fn pivot_run(paths: u64) -> Value {
    json!({ "example": "pivot-miner", "paths": paths, "seed": 7 })
}
