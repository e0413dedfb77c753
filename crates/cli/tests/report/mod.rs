//! `simulate --report`: one self-contained, well-formed HTML file whose summary agrees with
//! `--json` for the same seed.

use serde_json::Value;

use super::bitwatt;
use super::scratch;

/// Checks that `text` is well-formed XML after its `<!DOCTYPE html>`: every tag closes in
/// order, attributes are quoted, `&` starts a known entity and `<` starts markup.
pub(crate) fn check_well_formed(text: &str) -> Result<(), String> {
    let body = text.strip_prefix("<!DOCTYPE html>").ok_or("no doctype")?;
    let mut open: Vec<&str> = Vec::new();
    let mut rest = body;
    let mut roots = 0;
    while let Some(i) = rest.find(['<', '&']) {
        let at = &rest[i..];
        if at.starts_with('&') {
            let end = at.find(';').ok_or("an unterminated entity")?;
            let name = &at[1..end];
            let known = ["amp", "lt", "gt", "quot", "apos"].contains(&name)
                || (name.starts_with('#') && name[1..].chars().all(|c| c.is_ascii_digit()));
            if !known {
                return Err(format!("unknown entity &{name};"));
            }
            rest = &at[end + 1..];
            continue;
        }
        let end = at.find('>').ok_or("an unterminated tag")?;
        let tag = &at[1..end];
        rest = &at[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            match open.pop() {
                Some(top) if top == name => {}
                top => return Err(format!("</{name}> closes {top:?}")),
            }
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let (name, mut attributes) = tag.split_once(' ').unwrap_or((tag, ""));
        if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(format!("bad tag <{tag}>"));
        }
        // name="value" pairs, values without `<`.
        loop {
            attributes = attributes.trim_start();
            if attributes.is_empty() {
                break;
            }
            let eq = attributes
                .find("=\"")
                .ok_or(format!("unquoted attribute in <{tag}>"))?;
            let value = &attributes[eq + 2..];
            let close = value
                .find('"')
                .ok_or(format!("unterminated value in <{tag}>"))?;
            if value[..close].contains('<') {
                return Err(format!("< in an attribute of <{tag}>"));
            }
            attributes = &value[close + 1..];
        }
        if open.is_empty() {
            roots += 1;
        }
        if !self_closing {
            open.push(name);
        }
    }
    if !open.is_empty() {
        return Err(format!("unclosed: {open:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(())
}

#[test]
fn the_checker_finds_what_is_not_well_formed() {
    assert!(
        check_well_formed("<!DOCTYPE html>\n<html><br/><p a=\"1\">x &amp; y</p></html>").is_ok()
    );
    for bad in [
        "<html><p></html>",
        "<html><br></html>",
        "<html><p a=1></p></html>",
        "<html>a & b</html>",
        "<html></html><html></html>",
    ] {
        let text = format!("<!DOCTYPE html>{bad}");
        assert!(check_well_formed(&text).is_err(), "{bad}");
    }
}

/// The text of the element with `id`.
fn by_id<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!(" id=\"{id}\">")).expect("the id") + id.len() + 7;
    let end = html[start..].find('<').unwrap() + start;
    &html[start..end]
}

fn run_report(name: &str, extra: &[&str]) -> (String, Value) {
    let dir = scratch(name);
    let file = dir.join("out.html");
    let file = file.to_str().unwrap();
    let mut args = vec![
        "simulate",
        "--example",
        "pivot-miner",
        "--paths",
        "600",
        "--seed",
        "3",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let with_report: Vec<&str> = args.iter().copied().chain(["--report", file]).collect();
    let out = bitwatt(&with_report);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The text output does not change with --report (but for the timing note).
    let plain = bitwatt(&args);
    let without_timing = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .filter(|l| !l.starts_with("note: ±"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(without_timing(&out.stdout), without_timing(&plain.stdout));
    let html = std::fs::read_to_string(file).expect("the report");
    let json: Vec<&str> = args.iter().copied().chain(["--json"]).collect();
    let out = bitwatt(&json);
    assert!(out.status.success());
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    println!("{name}: {} bytes", html.len());
    (html, value)
}

fn percent(estimate: &Value) -> String {
    format!(
        "{:.2} % ± {:.2}",
        estimate["value"].as_f64().unwrap() * 100.0,
        estimate["standard_error"].as_f64().unwrap() * 100.0
    )
}

fn check_report(html: &str, json: &Value, sensitivity: bool) {
    check_well_formed(html).unwrap();
    // Some paths lose money: the loss histogram has bars, not its empty note.
    assert!(!html.contains("no path lost money"));
    let fans = json["fans"].as_array().unwrap().len();
    assert_eq!(fans, 7);
    // PD term structure, loss histogram, the fans, the tornado.
    let charts = 2 + fans + usize::from(sensitivity);
    assert_eq!(html.matches("<svg").count(), charts);
    assert_eq!(html.matches("<figure").count(), charts);
    let pd = json["cumulative_pd_by_year"]
        .as_array()
        .unwrap()
        .last()
        .unwrap();
    assert_eq!(by_id(html, "pd"), percent(pd));
    let el = &json["expected_loss_usd"];
    let expected_loss = format!(
        "{} ± {}",
        bitwatt_report::usd_millions(el["value"].as_f64().unwrap()),
        bitwatt_report::usd_millions(el["standard_error"].as_f64().unwrap())
    );
    assert_eq!(by_id(html, "expected-loss"), expected_loss);
    // No resource from the network: the only URL is the SVG namespace.
    let urls = html.matches("http://").count() + html.matches("https://").count();
    assert_eq!(
        urls,
        html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
    );
    assert!(!html.contains("<script"));
    // The scenario is embedded, escaped, with the seed and the command.
    assert!(html.contains("<details><summary>Scenario file (TOML)</summary><pre>"));
    assert!(html.contains("name = &quot;Pivot Miner Inc.&quot;"));
    assert!(html.contains("<code>bitwatt simulate --example pivot-miner --paths 600 --seed 3"));
    assert!(html.contains("@media print"));
}

#[test]
fn simulate_writes_a_self_contained_report() {
    let (html, json) = run_report("report", &[]);
    check_report(&html, &json, false);
    assert!(!html.contains("Sensitivity tornado"));
}

#[test]
fn the_report_shows_the_tornado_with_sensitivity() {
    let (html, json) = run_report("report-sensitivity", &["--sensitivity"]);
    check_report(&html, &json, true);
    let first = &json["sensitivity"][0];
    let label = format!(
        "{} {}",
        first["parameter"].as_str().unwrap(),
        first["change"].as_str().unwrap()
    );
    assert!(html.contains(&format!("<td>{label}</td>")), "{label}");
}

#[test]
fn report_is_refused_with_shard_and_an_unwritable_path_is_named() {
    let out = bitwatt(&[
        "simulate",
        "--shard",
        "1/2",
        "--out",
        "/tmp/x.json",
        "--report",
        "r.html",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be used with"));
    let out = bitwatt(&[
        "simulate",
        "--example",
        "pure-miner",
        "--paths",
        "50",
        "--quiet",
        "--report",
        "/nonexistent-dir/r.html",
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/nonexistent-dir/r.html"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// Runs `args` (which must succeed and write `file`) and returns the page written.
fn page_of(args: &[&str], file: &std::path::Path) -> String {
    let out = bitwatt(args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(file).expect("the report");
    check_well_formed(&html).unwrap();
    assert!(!html.contains("<script"));
    html
}

/// The rows of the table after the element with `id`.
fn table_rows_after(html: &str, id: &str) -> usize {
    let start = html.find(&format!(" id=\"{id}\"")).expect("the id");
    let end = html[start..].find("</tbody>").unwrap() + start;
    html[start..end].matches("<tr>").count() - 1
}

#[test]
fn project_writes_a_report_with_the_stress_comparison() {
    let dir = scratch("report-project");
    let file = dir.join("project.html");
    let args = [
        "project",
        "--example",
        "neocloud-abl",
        "--stress",
        "hashprice-collapse@2027-01",
        "--json",
    ];
    let json: Value = serde_json::from_slice(&bitwatt(&args).stdout).unwrap();
    let with_report: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--report", file.to_str().unwrap()])
        .collect();
    let html = page_of(&with_report, &file);
    // Seven monthly charts: BTC price, hashprice, hashrate, CFADS, DSCR, LTV, cash.
    assert_eq!(html.matches("<svg").count(), 7);
    let summary = &json["summary"];
    let outcome = by_id(&html, "outcome");
    match summary["default"].as_object() {
        Some(default) => assert!(
            outcome.starts_with(&format!(
                "defaults in {}",
                default["month"].as_str().unwrap()
            )),
            "{outcome}"
        ),
        None => assert_eq!(outcome, "no default"),
    }
    // The base case, the six stresses of the library, and the run's own stress.
    assert_eq!(table_rows_after(&html, "stress-comparison"), 8);
    assert!(html.contains("<td>hashprice-collapse@2027-01</td>"));
    assert!(html.contains("<code>bitwatt project --example neocloud-abl --stress"));
    assert!(html.contains("<details><summary>Scenario file (TOML)</summary>"));
}

#[test]
fn portfolio_and_merged_reports() {
    let dir = scratch("report-portfolio");
    let book = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/book/compute-credit.toml");
    let file = dir.join("book.html");
    let common = ["--paths", "300", "--seed", "5", "--quiet"];
    let mut args = vec!["portfolio", book.to_str().unwrap()];
    args.extend(common);
    let json: Value = serde_json::from_slice(
        &bitwatt(&args.iter().copied().chain(["--json"]).collect::<Vec<_>>()).stdout,
    )
    .unwrap();
    let html = page_of(
        &args
            .iter()
            .copied()
            .chain(["--report", file.to_str().unwrap()])
            .collect::<Vec<_>>(),
        &file,
    );
    let el = &json["shared"]["expected_loss_usd"];
    assert_eq!(
        by_id(&html, "expected-loss"),
        format!(
            "{} ± {}",
            bitwatt_report::usd_millions(el["value"].as_f64().unwrap()),
            bitwatt_report::usd_millions(el["standard_error"].as_f64().unwrap())
        )
    );
    let borrowers = json["borrowers"].as_array().unwrap().len();
    assert_eq!(table_rows_after(&html, "stress-comparison"), borrowers);
    assert!(html.contains("<details><summary>Book file (TOML)</summary>"));
    assert_eq!(html.matches("<svg").count(), 1);

    // Book shards merged: the same summary, without the book file.
    let mut shards = Vec::new();
    for k in 1..=2 {
        let out = dir.join(format!("shard-{k}.json"));
        let shard = format!("{k}/2");
        let mut shard_args = args.clone();
        shard_args.extend(["--shard", &shard, "--out", out.to_str().unwrap()]);
        assert!(bitwatt(&shard_args).status.success());
        shards.push(out.to_str().unwrap().to_string());
    }
    let merged_file = dir.join("merged.html");
    let mut merge_args = vec!["merge"];
    merge_args.extend(shards.iter().map(String::as_str));
    merge_args.extend(["--report", merged_file.to_str().unwrap()]);
    let merged = page_of(&merge_args, &merged_file);
    assert_eq!(
        by_id(&merged, "expected-loss"),
        by_id(&html, "expected-loss")
    );
    assert!(merged.contains("merged from shard files"));
}

#[test]
fn simulate_shards_merge_into_the_same_report_summary() {
    let dir = scratch("report-merge");
    let common = [
        "simulate",
        "--example",
        "pure-miner",
        "--paths",
        "1100",
        "--quiet",
    ];
    let whole_file = dir.join("whole.html");
    let mut whole = common.to_vec();
    whole.extend(["--report", whole_file.to_str().unwrap()]);
    let whole = page_of(&whole, &whole_file);
    let mut shards = Vec::new();
    for k in 1..=2 {
        let out = dir.join(format!("shard-{k}.json"));
        let shard = format!("{k}/2");
        let mut args = common.to_vec();
        args.extend(["--shard", &shard, "--out", out.to_str().unwrap()]);
        assert!(bitwatt(&args).status.success());
        shards.push(out.to_str().unwrap().to_string());
    }
    let merged_file = dir.join("merged.html");
    let mut args = vec!["merge"];
    args.extend(shards.iter().map(String::as_str));
    args.extend(["--report", merged_file.to_str().unwrap()]);
    let merged = page_of(&args, &merged_file);
    for id in ["pd", "expected-loss", "worst-dscr"] {
        assert_eq!(by_id(&merged, id), by_id(&whole, id), "{id}");
    }
    assert!(merged.contains("<code>bitwatt merge "));
    assert_eq!(table_rows_after(&merged, "stress-comparison"), 7);
}

/// Headless Chromium, where it is installed: `None` (with a note) where it is not, unless
/// `BITWATT_REQUIRE_BROWSER=1` makes its absence a failure.
fn chromium() -> Option<std::path::PathBuf> {
    let path = std::path::PathBuf::from("/usr/bin/chromium");
    if path.exists() {
        return Some(path);
    }
    assert!(
        std::env::var("BITWATT_REQUIRE_BROWSER").as_deref() != Ok("1"),
        "BITWATT_REQUIRE_BROWSER=1 but {} is not installed",
        path.display()
    );
    println!("skipped: {} is not installed", path.display());
    None
}

/// Runs headless Chromium on `page` with `args` (a fresh profile each time) and returns its
/// standard output.
fn run_chromium(chromium: &std::path::Path, profile: &std::path::Path, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The share of a PNG's pixels that are not white.
fn inked_share(png_file: &std::path::Path) -> f64 {
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(png_file).expect("the screenshot"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buffer = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut buffer).expect("a frame");
    let channels = info.color_type.samples();
    let pixels = &buffer[..info.buffer_size()];
    let inked = pixels
        .chunks(channels)
        .filter(|pixel| pixel.iter().take(3).any(|&value| value < 200))
        .count();
    inked as f64 / (pixels.len() / channels) as f64
}

/// The three reports render in a real browser: a screenshot that is not blank, and a DOM
/// that holds every chart of the file.
#[test]
fn reports_render_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = scratch("report-chromium");
    let book = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples/book/compute-credit.toml");
    let runs: [(&str, Vec<&str>); 3] = [
        ("project", vec!["project"]),
        (
            "simulate",
            vec![
                "simulate",
                "--example",
                "pivot-miner",
                "--paths",
                "400",
                "--quiet",
            ],
        ),
        (
            "portfolio",
            vec![
                "portfolio",
                book.to_str().unwrap(),
                "--paths",
                "200",
                "--quiet",
            ],
        ),
    ];
    for (name, args) in runs {
        let file = dir.join(format!("{name}.html"));
        let mut args = args.clone();
        args.extend(["--no-history", "--report", file.to_str().unwrap()]);
        let html = page_of(&args, &file);
        let url = format!("file://{}", file.display());
        let screenshot = dir.join(format!("{name}.png"));
        run_chromium(
            &chromium,
            &dir.join(format!("profile-{name}-png")),
            &[
                "--window-size=1000,1400",
                &format!("--screenshot={}", screenshot.display()),
                &url,
            ],
        );
        let inked = inked_share(&screenshot);
        println!("{name}: {:.1} % of the screenshot inked", inked * 100.0);
        assert!(inked > 0.01, "{name}: the screenshot is blank ({inked})");
        let dom = run_chromium(
            &chromium,
            &dir.join(format!("profile-{name}-dom")),
            &["--dump-dom", &url],
        );
        let dom = String::from_utf8_lossy(&dom);
        let charts = html.matches("<svg").count();
        assert!(charts > 0);
        assert_eq!(dom.matches("<svg").count(), charts, "{name}");
        assert_eq!(
            dom.matches("<polyline").count(),
            html.matches("<polyline").count()
        );
        assert!(dom.contains("Reproduce this report"), "{name}");
    }
}
