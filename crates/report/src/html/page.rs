//! What every report page shares: the stylesheet, the document shell, facts, figures and
//! table rows, the month axis, the base case month by month, the stress comparison and the
//! block that says how to reproduce the page.

use std::fmt::Write;

use bitwatt_engine::{Fingerprint, LossHistogram, Projection, StressCase};
use bitwatt_model::YearMonth;

use super::escape::escape;
use super::svg;
use crate::monthly::MONTHLY_COLUMNS;
use crate::{cause_text, thousands, usd_millions};

/// The stylesheet of every page: screen and A4 print.
const STYLE: &str = r#"
body{font-family:system-ui,"Segoe UI",Helvetica,Arial,sans-serif;color:#1a1a1a;max-width:62rem;margin:1.5rem auto;padding:0 1rem;line-height:1.4}
h1{font-size:1.5rem;margin:0 0 .3rem}h2{font-size:1.2rem;margin:1.6rem 0 .4rem;border-bottom:1px solid #ccc}
h3{font-size:1rem;margin:.8rem 0 .2rem}
.card{border:1px solid #bbb;border-radius:6px;padding:.6rem 1rem}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1.2rem;margin:.3rem 0}
dt{font-weight:600}dd{margin:0}
table{border-collapse:collapse;font-size:.8rem;font-variant-numeric:tabular-nums;margin:.4rem 0}
th,td{padding:.12rem .45rem;border-bottom:1px solid #ddd;text-align:right;vertical-align:top}
th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}
.scroll{overflow-x:auto}
figure.chart{margin:.8rem 0 1.2rem;break-inside:avoid;page-break-inside:avoid}
figcaption{font-size:.85rem;color:#444}
svg.chart{display:block;width:17cm;max-width:100%;height:auto}
svg text{font-size:12px;fill:#1a1a1a}svg .title{font-size:13px}svg .note{fill:#777}
svg .marker{font-size:11px;fill:#b30000}svg .value{font-size:11px}
.grid{stroke:#e4e4e4}.axis{stroke:#333}
.band90{fill:#9ecae1;fill-opacity:.55}.band50{fill:#4292c6;fill-opacity:.55}
.median{fill:none;stroke:#08306b;stroke-width:2}.dot{fill:#08306b}.dashed{stroke:#b30000;stroke-dasharray:6 4}
.bar{fill:#6baed6}.whisker{stroke:#08306b;stroke-width:1.5}
.var{stroke:#b30000;stroke-width:1.5}.es{stroke:#b30000;stroke-width:1.5;stroke-dasharray:5 3}
pre{white-space:pre-wrap;font-size:.75rem;background:#f6f6f6;padding:.5rem}
code{font-size:.85rem}
@page{size:A4;margin:1.4cm}
@media print{body{max-width:none;margin:0;font-size:10pt}.scroll{overflow:visible}
table{font-size:6.5pt}thead{display:table-header-group}tr{break-inside:avoid}h2,h3{break-after:avoid}
details::details-content{content-visibility:visible;display:block}}
"#;

/// A table row: the first cell a header of the row.
pub(super) fn row(out: &mut String, cells: &[String]) {
    out.push_str("<tr>");
    for cell in cells {
        let _ = write!(out, "<td>{}</td>", escape(cell));
    }
    out.push_str("</tr>");
}

/// A chart under its title, with its caption.
pub(super) fn figure(out: &mut String, title: &str, svg: &str, caption: &str) {
    let _ = write!(
        out,
        "<figure class=\"chart\"><h3>{}</h3>{svg}<figcaption>{}</figcaption></figure>",
        escape(title),
        escape(caption)
    );
}

/// The VaR (solid) and ES (dashed) markers of a loss histogram in USD millions, one pair a
/// confidence level: `(level, VaR USD, ES USD)`.
pub(super) fn tail_markers(tails: impl IntoIterator<Item = (f64, f64, f64)>) -> Vec<svg::Marker> {
    tails
        .into_iter()
        .flat_map(|(level, var_usd, es_usd)| {
            let level = level_text(level);
            [
                svg::Marker {
                    x: var_usd / 1e6,
                    label: format!("VaR {level} {}", usd_millions(var_usd)),
                    dashed: false,
                },
                svg::Marker {
                    x: es_usd / 1e6,
                    label: format!("ES {level} {}", usd_millions(es_usd)),
                    dashed: true,
                },
            ]
        })
        .collect()
}

/// The loss histogram figure: the paths with a loss in `histogram`'s bins (bin 0 without the
/// paths that lose nothing), with VaR and ES marked; `what` names the loss in the caption.
pub(super) fn loss_histogram_figure(
    out: &mut String,
    histogram: &LossHistogram,
    markers: &[svg::Marker],
    (label, x_title, what): (&str, &str, &str),
) {
    let mut counts = histogram.counts.clone();
    if let Some(first) = counts.first_mut() {
        *first -= histogram.zero_loss_paths.min(*first);
    }
    let with_loss: u64 = counts.iter().sum();
    let chart = svg::binned_histogram(
        label,
        histogram.bin_width_usd / 1e6,
        &counts,
        markers,
        x_title,
        "paths (count)",
    );
    let none = histogram.zero_loss_paths;
    let paths = (with_loss + none).max(1);
    let caption = format!(
        "{what} on the {} paths with a loss, in {} equal bins up to the largest (each path \
         placed by its loss to within 1 %); {} of {} paths ({:.1} %) lose nothing and are not \
         drawn. VaR solid, ES dashed, both over all paths.",
        thousands(with_loss as f64, 0),
        counts.len(),
        thousands(none as f64, 0),
        thousands(paths as f64, 0),
        none as f64 / paths as f64 * 100.0
    );
    figure(out, "Loss distribution", &chart, &caption);
}

/// A tail level as a percentage: `99 %`, `99.9 %`.
pub(super) fn level_text(level: f64) -> String {
    let percent = level * 100.0;
    if (percent - percent.round()).abs() < 1e-9 {
        format!("{percent:.0} %")
    } else {
        format!("{percent:.1} %")
    }
}

/// The monthly table's groups: a title and the index of its first column.
fn monthly_groups() -> Vec<(&'static str, usize)> {
    [
        ("Market and operations", "btc_price_usd"),
        ("Sources", "btc_sales_usd"),
        ("Uses", "power_cost_usd"),
        ("Results", "interest_capitalised_usd"),
    ]
    .into_iter()
    .map(|(title, first)| {
        let index = MONTHLY_COLUMNS
            .iter()
            .position(|(name, _)| *name == first)
            .expect("a monthly column");
        (title, index)
    })
    .collect()
}

fn column_header(name: &str) -> String {
    match name {
        "btc_price_usd" => "BTC price (USD)".to_string(),
        "difficulty" => "difficulty (T)".to_string(),
        "ltv" => "LTV (%)".to_string(),
        "dscr" => "DSCR (×)".to_string(),
        "net_leverage" => "net leverage (×)".to_string(),
        _ => match name.strip_suffix("_usd") {
            Some(stem) => format!("{} (USD M)", stem.replace('_', " ")),
            None => name.replace('_', " "),
        },
    }
}

fn column_value(name: &str, value: f64) -> String {
    match name {
        "btc_price_usd" => thousands(value, 0),
        "difficulty" => thousands(value / 1e12, 2),
        "ltv" => thousands(value * 100.0, 1),
        _ if name.ends_with("_usd") => thousands(value / 1e6, 2),
        _ => thousands(value, 2),
    }
}

/// Opens a report page titled `title`.
pub(super) fn document_start(title: &str) -> String {
    let mut out = String::with_capacity(256 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
         <title>{}</title><style>{STYLE}</style></head><body>",
        escape(title)
    );
    out
}

/// Closes a report page.
pub(super) fn document_end(out: &mut String) {
    out.push_str("</body></html>\n");
}

/// A term and its value in a `<dl class="facts">`, the value with an `id` when given.
pub(super) fn fact(out: &mut String, label: &str, id: Option<&str>, value: impl AsRef<str>) {
    let id = id.map_or(String::new(), |id| format!(" id=\"{id}\""));
    let _ = write!(
        out,
        "<dt>{}</dt><dd{id}>{}</dd>",
        escape(label),
        escape(value.as_ref())
    );
}

/// The x ticks of a monthly chart from `first`: each January (at most ten), or every
/// third month of a horizon shorter than two years.
pub(super) fn month_ticks(first: YearMonth, months: usize) -> Vec<(usize, String)> {
    let years: Vec<(usize, String)> = (0..months)
        .filter(|&t| first.plus_months(t as i32).month() == 1)
        .map(|t| (t, first.plus_months(t as i32).year().to_string()))
        .collect();
    if years.len() >= 2 {
        let every = years.len().div_ceil(10);
        return years.into_iter().step_by(every).collect();
    }
    (0..months)
        .step_by(3)
        .map(|t| (t, first.plus_months(t as i32).to_string()))
        .collect()
}

/// The stresses in order (`A then B`), or `none`.
pub(super) fn stress_list(stresses: &[String]) -> String {
    if stresses.is_empty() {
        "none".to_string()
    } else {
        stresses.join(" then ")
    }
}

/// ` under A then B`, or nothing without stresses.
pub(super) fn under(stresses: &[String]) -> String {
    if stresses.is_empty() {
        String::new()
    } else {
        format!(" under {}", stresses.join(" then "))
    }
}

/// The base case month by month, in four tables (market and operations, sources, uses,
/// results).
pub(super) fn monthly_tables(out: &mut String, projection: &Projection, stresses: &[String]) {
    let first = projection.borrower.start_month;
    let _ = write!(
        out,
        "<h2>Base case, month by month</h2><p>The deterministic projection{}: {} months \
         from {first}; amounts in USD M.</p>",
        escape(&under(stresses)),
        projection.months.len(),
    );
    let groups = monthly_groups();
    for (g, (title, start)) in groups.iter().enumerate() {
        let end = groups
            .get(g + 1)
            .map_or(MONTHLY_COLUMNS.len(), |next| next.1);
        let _ = write!(
            out,
            "<h3>{title}</h3><div class=\"scroll\"><table><thead><tr><th>month</th>"
        );
        for (name, _) in &MONTHLY_COLUMNS[*start..end] {
            let _ = write!(out, "<th>{}</th>", escape(&column_header(name)));
        }
        out.push_str("</tr></thead><tbody>");
        for (t, month) in projection.months.iter().enumerate() {
            let mut cells = vec![first.plus_months(t as i32).to_string()];
            for (name, read) in &MONTHLY_COLUMNS[*start..end] {
                cells.push(read(month).map_or(String::new(), |v| column_value(name, v)));
            }
            row(out, &cells);
        }
        out.push_str("</tbody></table></div>");
    }
}

/// How a base case ends, in words: `defaults in 2028-03 (DSCR covenant)` or `no default`.
pub(super) fn default_text(projection: &Projection) -> String {
    match &projection.summary.default {
        Some(event) => format!(
            "defaults in {} ({})",
            projection
                .borrower
                .start_month
                .plus_months(event.month_index as i32),
            cause_text(event.cause)
        ),
        None => "no default".to_string(),
    }
}

/// The lenders' loss of a base case: exposure at default less recoveries (0 without one).
pub(super) fn lenders_loss_usd(projection: &Projection) -> f64 {
    projection.recoveries.as_ref().map_or(0.0, |recoveries| {
        recoveries.total_ead_usd - recoveries.total_recovered_usd
    })
}

/// The stress comparison: the base case and each stress's deterministic case side by side.
pub(super) fn stress_table(out: &mut String, cases: &[StressCase]) {
    out.push_str(
        "<h2 id=\"stress-comparison\">Stress comparison</h2><p>The deterministic base case \
         under each stress of the library alone (its window opening in the first month) and \
         under the run's own stresses: how it ends, its tightest covenant ratios and cash, and \
         what the lenders lose.</p><div class=\"scroll\"><table><thead><tr><th>case</th>\
         <th>outcome</th><th>worst DSCR (×)</th><th>worst LTV (%)</th>\
         <th>lowest cash (USD M)</th><th>cash at the end (USD M)</th>\
         <th>lenders' loss (USD M)</th><th>equity IRR (%)</th></tr></thead><tbody>",
    );
    for case in cases {
        let p = &case.projection;
        let summary = &p.summary;
        let lowest_cash = p
            .months
            .iter()
            .map(|month| month.cash_usd)
            .fold(f64::INFINITY, f64::min);
        row(
            out,
            &[
                case.label.clone(),
                default_text(p),
                summary
                    .min_dscr
                    .map_or("n/a".to_string(), |(dscr, _)| format!("{dscr:.2}")),
                summary
                    .max_ltv
                    .map_or("n/a".to_string(), |(ltv, _)| format!("{:.1}", ltv * 100.0)),
                if lowest_cash.is_finite() {
                    thousands(lowest_cash / 1e6, 1)
                } else {
                    "n/a".to_string()
                },
                thousands(summary.final_cash_usd / 1e6, 1),
                thousands(lenders_loss_usd(p) / 1e6, 1),
                p.equity_irr
                    .map_or("n/a".to_string(), |irr| format!("{:.1}", irr * 100.0)),
            ],
        );
    }
    out.push_str("</tbody></table></div>");
}

/// The facts that reproduce a Monte Carlo run: the command, then its fingerprint (seed,
/// paths, stresses, the build, and the hash of its input under `input_hash_label`).
pub(super) fn fingerprint_facts(
    command: &str,
    fp: &Fingerprint,
    input_hash_label: &'static str,
) -> Vec<(&'static str, String)> {
    vec![
        ("Command", command.to_string()),
        ("Seed", fp.seed.to_string()),
        ("Paths", fp.paths.to_string()),
        ("Stresses", stress_list(&fp.stresses)),
        ("bitwatt version", fp.version.clone()),
        ("Commit", fp.commit.clone()),
        ("Target", fp.target.clone()),
        ("Cargo.lock SHA-256", fp.cargo_lock_sha256.clone()),
        (input_hash_label, fp.scenario_sha256.clone()),
    ]
}

/// How to reproduce the page: `facts` (the command, seed, version…), then the input file
/// itself under `input_title`.
pub(super) fn reproduce(
    out: &mut String,
    facts: &[(&str, String)],
    input_title: &str,
    input_text: &str,
) {
    out.push_str("<h2>Reproduce this report</h2><dl class=\"facts\">");
    for (label, value) in facts {
        let _ = write!(
            out,
            "<dt>{}</dt><dd><code>{}</code></dd>",
            escape(label),
            escape(value)
        );
    }
    let _ = write!(
        out,
        "</dl><details><summary>{}</summary><pre>{}</pre></details>",
        escape(input_title),
        escape(input_text)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monthly_groups_follow_the_columns() {
        let groups = monthly_groups();
        assert_eq!(groups[0].1, 0);
        assert!(groups.windows(2).all(|w| w[0].1 < w[1].1));
        assert_eq!(column_header("opex_usd"), "opex (USD M)");
        assert_eq!(column_value("opex_usd", 1_234_567.0), "1.23");
        assert_eq!(column_value("ltv", 0.5), "50.0");
        assert_eq!(level_text(0.999), "99.9 %");
        assert_eq!(level_text(0.95), "95 %");
    }
}
