//! The page in a real browser: headless Chromium driven through chromedriver's WebDriver HTTP
//! API loads the dashboard, starts a run and sees its summary appear, then uploads a malformed
//! file and sees its problems.
//!
//! Without `/usr/bin/chromium` and `/usr/bin/chromedriver` the test says it is skipped and
//! passes, unless `BITWATT_REQUIRE_BROWSER=1` (as in CI, which installs them).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bitwatt_model::{Scenario, problems_in};
use bitwatt_serve::ServeConfig;
use serde_json::{Value, json};

use crate::{Server, client};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// The W3C WebDriver key of an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and its profile directory, stopped and removed when dropped.
struct Driver {
    child: Child,
    base: String,
    profile: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

impl Driver {
    /// Starts chromedriver on a free port and waits until it is ready.
    fn start() -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let profile =
            std::env::temp_dir().join(format!("bitwatt-browser-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&profile).expect("a profile directory");
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            profile,
        };
        let began = Instant::now();
        loop {
            let ready = client()
                .get(&format!("{}/status", driver.base))
                .call()
                .ok()
                .and_then(|mut r| r.body_mut().read_json::<Value>().ok())
                .is_some_and(|status| status["value"]["ready"] == json!(true));
            if ready {
                return driver;
            }
            assert!(
                began.elapsed() < Duration::from_secs(30),
                "chromedriver not ready"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A WebDriver command (POST with a body, else GET): its `value`, failing the test on an
    /// error.
    fn command(&self, path: &str, body: Option<Value>) -> Value {
        let method = if body.is_some() { "POST" } else { "GET" };
        let url = format!("{}{path}", self.base);
        let agent = client();
        let mut response = match body {
            Some(body) => agent.post(&url).send_json(&body),
            None => agent.get(&url).call(),
        }
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let answer: Value = response.body_mut().read_json().expect("a JSON answer");
        assert_eq!(status, 200, "{method} {path}: {answer}");
        answer["value"].clone()
    }

    /// A new headless browser session; its id.
    fn session(&self) -> String {
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ];
        let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        args.push(format!("--user-data-dir={}", self.profile.display()));
        let capabilities = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args }
        }}});
        let value = self.command("/session", Some(capabilities));
        value["sessionId"]
            .as_str()
            .expect("a session id")
            .to_string()
    }
}

/// A browser session on the page, closed (with its browser) when dropped, even when the test
/// fails.
struct Page<'a> {
    driver: &'a Driver,
    session: String,
}

impl Drop for Page<'_> {
    fn drop(&mut self) {
        let url = format!("{}/session/{}", self.driver.base, self.session);
        let _ = client().delete(&url).call();
    }
}

impl Page<'_> {
    fn post(&self, path: &str, body: Value) -> Value {
        self.driver
            .command(&format!("/session/{}{path}", self.session), Some(body))
    }

    fn get(&self, path: &str) -> Value {
        self.driver
            .command(&format!("/session/{}{path}", self.session), None)
    }

    /// The element `css` selects.
    fn element(&self, css: &str) -> String {
        let value = self.post("/element", json!({ "using": "css selector", "value": css }));
        value[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {value}"))
            .to_string()
    }

    fn click(&self, css: &str) {
        let element = self.element(css);
        self.post(&format!("/element/{element}/click"), json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.post(&format!("/element/{element}/clear"), json!({}));
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        );
    }

    /// Chooses `path` in the file input `css`.
    fn type_into_file(&self, css: &str, path: &Path) {
        let element = self.element(css);
        let text = path.display().to_string();
        self.post(
            &format!("/element/{element}/value"),
            json!({ "text": text }),
        );
    }

    fn text(&self, css: &str) -> String {
        let element = self.element(css);
        self.get(&format!("/element/{element}/text"))
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// Waits until `css`'s text satisfies `done`; its text.
    fn wait_for_text(&self, css: &str, done: impl Fn(&str) -> bool) -> String {
        let began = Instant::now();
        loop {
            let text = self.text(css);
            if done(&text) {
                return text;
            }
            assert!(
                began.elapsed() < Duration::from_secs(120),
                "{css} still shows {text:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// Whether the browser and its driver are installed; when not, says why the test is skipped,
/// or fails when `BITWATT_REQUIRE_BROWSER=1`.
fn browser_installed() -> bool {
    let missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if missing.is_empty() {
        return true;
    }
    let required = std::env::var("BITWATT_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "BITWATT_REQUIRE_BROWSER=1 but {} missing",
        missing.join(" and ")
    );
    eprintln!(
        "browser test skipped: {} missing (install chromium and chromium-driver to run it)",
        missing.join(" and ")
    );
    false
}

#[test]
fn the_page_runs_an_example_shows_its_summary_and_refuses_a_broken_upload() {
    if !browser_installed() {
        return;
    }
    let server = Server::start(ServeConfig {
        threads: 2,
        ..ServeConfig::default()
    });
    let driver = Driver::start();
    let page = Page {
        driver: &driver,
        session: driver.session(),
    };
    page.post("/url", json!({ "url": server.url("/") }));
    // The examples arrive from the API once the page has loaded.
    page.wait_for_text("#source", |text| text.contains("pure-miner"));
    page.click("#source option[value=\"pure-miner\"]");
    page.type_into("#paths", "300");
    page.type_into("#btc_price_shock_percent", "-20");
    page.click("#start");

    let summary = page.wait_for_text("#summary", |text| text.contains("PD to the horizon"));
    assert!(summary.contains("Pure Miner LLC"), "{summary}");
    assert!(summary.contains("Expected loss"), "{summary}");
    let shown_pd = page.text("#summary #pd");
    let (status, run) = server.get("/api/runs/1");
    assert_eq!(status, 200);
    assert_eq!(run["paths"], 300);
    assert_eq!(run["levers"]["btc_price_shock_percent"], json!(-20.0));
    let html = run["summary"]["html"].as_str().unwrap();
    assert!(
        html.contains(&format!("<dd id=\"pd\">{shown_pd}</dd>")),
        "{shown_pd}: {html}"
    );
    let status = page.wait_for_text("#status", |text| text.contains("done"));
    assert_eq!(status, "run 1: done, 300 of 300 paths");
    let runs = page.wait_for_text("#runs", |text| text.contains("done"));
    assert!(runs.contains("btc_price_shock_percent -20"), "{runs}");
    let report = page.element("#report");
    let src = page.get(&format!("/element/{report}/attribute/src"));
    assert_eq!(src, json!("/api/runs/1/report"));

    // An uploaded file read by the page: a malformed one shows the command line's problems.
    let file = driver.profile.join("broken.toml");
    let text = "schema_version = 1\nname = 3\n";
    std::fs::write(&file, text).unwrap();
    page.click("#upload-option");
    page.type_into_file("#file", &file);
    page.click("#start");
    let errors = Scenario::from_toml(text).unwrap_err();
    let mut lines = errors.located("broken.toml");
    lines.push(problems_in("broken.toml", errors.0.len()));
    let shown = page.wait_for_text("#error", |text| text.contains("problems in"));
    assert_eq!(shown, lines.join("\n"));
}
