//! `simulate --report`: one self-contained, well-formed HTML file whose summary agrees with
//! `--json` for the same seed.

use serde_json::Value;

use super::bitwatt;
use super::scratch;

/// Checks that `text` is well-formed XML after its `<!DOCTYPE html>`: every tag closes in
/// order, attributes are quoted, `&` starts a known entity and `<` starts markup.
fn check_well_formed(text: &str) -> Result<(), String> {
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
