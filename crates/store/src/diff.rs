//! What changed between two runs: the metrics, and the inputs that moved them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::history::Run;

/// How one metric moved between two runs.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricChange {
    /// The metric.
    pub name: String,
    /// Its value in the first run (`None`: absent or without a value).
    pub before: Option<f64>,
    /// Its value in the second run.
    pub after: Option<f64>,
}

impl MetricChange {
    /// After less before, when both have a value.
    pub fn change(&self) -> Option<f64> {
        Some(self.after? - self.before?)
    }
}

/// One input that differs between two runs: a value of the resolved input (a dotted path
/// such as `market.btc_price_usd` or `debt[0].margin_bps`), an option, the seed, the paths,
/// the command or the version.
#[derive(Clone, Debug, PartialEq)]
pub struct InputChange {
    /// Where the value sits.
    pub path: String,
    /// The first run's value (JSON text), `None` when the first run has none.
    pub before: Option<String>,
    /// The second run's value.
    pub after: Option<String>,
}

/// How two runs differ.
#[derive(Clone, Debug, PartialEq)]
pub struct RunDiff {
    /// Every metric of either run, in the first run's order then the second's new ones.
    pub metrics: Vec<MetricChange>,
    /// The inputs that differ, in path order (options, seed and paths first).
    pub inputs: Vec<InputChange>,
}

impl RunDiff {
    /// How `after` differs from `before`.
    pub fn between(before: &Run, after: &Run) -> RunDiff {
        let mut metrics: Vec<MetricChange> = before
            .metrics
            .iter()
            .map(|metric| MetricChange {
                name: metric.name.clone(),
                before: metric.value,
                after: None,
            })
            .collect();
        for metric in &after.metrics {
            match metrics.iter_mut().find(|change| change.name == metric.name) {
                Some(change) => change.after = metric.value,
                None => metrics.push(MetricChange {
                    name: metric.name.clone(),
                    before: None,
                    after: metric.value,
                }),
            }
        }
        let mut inputs = changes(&run_facts(before), &run_facts(after));
        inputs.extend(changes(&flatten(&before.inputs), &flatten(&after.inputs)));
        RunDiff { metrics, inputs }
    }
}

/// The command, version, seed, paths and options of a run as flat values.
fn run_facts(run: &Run) -> BTreeMap<String, String> {
    let mut facts = BTreeMap::new();
    facts.insert("command".to_string(), run.command.clone());
    facts.insert("version".to_string(), run.version.clone());
    if let Some(seed) = run.seed {
        facts.insert("seed".to_string(), seed.to_string());
    }
    if let Some(paths) = run.paths {
        facts.insert("paths".to_string(), paths.to_string());
    }
    // An option given several times (`--stress`) compares as its list in order.
    let mut options: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, value) in &run.options {
        options.entry(name).or_default().push(value);
    }
    for (name, values) in options {
        facts.insert(format!("--{name}"), values.join(", "));
    }
    facts
}

/// The values that differ between two flat maps, in key order.
fn changes(
    before: &BTreeMap<String, String>,
    after: &BTreeMap<String, String>,
) -> Vec<InputChange> {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|key| before.get(*key) != after.get(*key))
        .map(|key| InputChange {
            path: key.clone(),
            before: before.get(key).cloned(),
            after: after.get(key).cloned(),
        })
        .collect()
}

/// Every scalar of a JSON value by its path: `a.b`, `a[0].c`.
fn flatten(value: &Value) -> BTreeMap<String, String> {
    fn walk(value: &Value, path: String, out: &mut BTreeMap<String, String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    let path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    walk(value, path, out);
                }
            }
            Value::Array(items) => {
                for (index, value) in items.iter().enumerate() {
                    walk(value, format!("{path}[{index}]"), out);
                }
                if items.is_empty() {
                    out.insert(path, "[]".to_string());
                }
            }
            scalar => {
                out.insert(path, scalar.to_string());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(value, String::new(), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Metric;
    use serde_json::json;

    fn run(inputs: Value, options: &[(&str, &str)], metrics: &[(&str, f64)]) -> Run {
        Run {
            command: "simulate".to_string(),
            name: "pivot".to_string(),
            seed: Some(1),
            paths: Some(1_000),
            version: "0.1.0".to_string(),
            started_at_unix_s: 0,
            finished_at_unix_s: 1,
            complete: true,
            input_text: String::new(),
            inputs,
            options: options
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
            metrics: metrics
                .iter()
                .map(|(name, value)| Metric::new(*name, *value))
                .collect(),
            report_path: None,
        }
    }

    #[test]
    fn identical_runs_differ_in_nothing_but_show_every_metric() {
        let a = run(json!({"market": {"btc": 1}}), &[], &[("pd", 0.1)]);
        let diff = RunDiff::between(&a, &a);
        assert!(diff.inputs.is_empty());
        assert_eq!(diff.metrics.len(), 1);
        assert_eq!(diff.metrics[0].change(), Some(0.0));
    }

    #[test]
    fn changed_added_and_removed_inputs_and_metrics() {
        let a = run(
            json!({"market": {"btc_price_usd": 90_000.0, "sofr": 4.0},
                   "debt": [{"margin_bps": 500}], "name": "pivot"}),
            &[("stress", "hashprice-collapse")],
            &[("pd", 0.1), ("el_usd", 5.0)],
        );
        let mut b = run(
            json!({"market": {"btc_price_usd": 60_000.0, "sofr": 4.0},
                   "debt": [{"margin_bps": 500}, {"margin_bps": 700}], "name": "pivot"}),
            &[("stress", "hashprice-collapse"), ("stress", "grid-event")],
            &[("pd", 0.25), ("var_99_usd", 7.0)],
        );
        b.seed = Some(2);
        let diff = RunDiff::between(&a, &b);
        let paths: Vec<&str> = diff.inputs.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "--stress",
                "seed",
                "debt[1].margin_bps",
                "market.btc_price_usd"
            ]
        );
        assert_eq!(
            diff.inputs[0].after.as_deref(),
            Some("hashprice-collapse, grid-event")
        );
        assert_eq!(diff.inputs[2].before, None);
        assert_eq!(diff.inputs[3].before.as_deref(), Some("90000.0"));
        let names: Vec<&str> = diff.metrics.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, vec!["pd", "el_usd", "var_99_usd"]);
        assert!((diff.metrics[0].change().unwrap() - 0.15).abs() < 1e-15);
        assert_eq!(diff.metrics[1].after, None);
        assert_eq!(diff.metrics[2].change(), None);
    }
}
