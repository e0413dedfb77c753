//! The self-contained HTML report of a simulation: a summary card, charts as inline SVG, the
//! base-case monthly table and what is needed to reproduce the run. No script, no network:
//! the file is well-formed XHTML and prints with a print stylesheet.

mod escape;
mod svg;

use std::fmt::Write;

use bitwatt_engine::{
    CreditMetrics, Estimate, Factor, Fan, FanSeries, Projection, SensitivityRow, SimulationResult,
};
use bitwatt_model::{Scenario, YearMonth};

pub use escape::escape;
pub use svg::{Scale, Ticks, nice_ticks};

use crate::monthly::MONTHLY_COLUMNS;
use crate::{thousands, usd_millions};

/// A probability and its standard error in percent, as the text output prints it:
/// `4.25 % ± 0.30`.
pub fn percent(estimate: &Estimate) -> String {
    format!(
        "{:.2} % ± {:.2}",
        estimate.value * 100.0,
        estimate.standard_error * 100.0
    )
}

/// An amount and its standard error in millions of USD: `$1.2 M ± $0.1 M`.
pub fn usd_millions_estimate(estimate: &Estimate) -> String {
    format!(
        "{} ± {}",
        usd_millions(estimate.value),
        usd_millions(estimate.standard_error)
    )
}

/// What the report of `simulate` is made from.
pub struct SimulateReport<'a> {
    /// The scenario run.
    pub scenario: &'a Scenario,
    /// The scenario file's text, embedded verbatim.
    pub scenario_toml: &'a str,
    /// The run's metrics.
    pub metrics: &'a CreditMetrics,
    /// The run's result (fingerprint, per-path losses).
    pub result: &'a SimulationResult,
    /// The deterministic base case under the same stresses.
    pub projection: &'a Projection,
    /// The stresses as given on the command line.
    pub stresses: &'a [String],
    /// The sensitivity rows, when they ran.
    pub sensitivity: Option<&'a [SensitivityRow]>,
    /// The command that reproduces the run.
    pub command: &'a str,
}

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
.median{fill:none;stroke:#08306b;stroke-width:2}.dot{fill:#08306b}
.bar{fill:#6baed6}.whisker{stroke:#08306b;stroke-width:1.5}
.var{stroke:#b30000;stroke-width:1.5}.es{stroke:#b30000;stroke-width:1.5;stroke-dasharray:5 3}
pre{white-space:pre-wrap;font-size:.75rem;background:#f6f6f6;padding:.5rem}
code{font-size:.85rem}
@page{size:A4;margin:1.4cm}
@media print{body{max-width:none;margin:0;font-size:10pt}.scroll{overflow:visible}
table{font-size:6.5pt}thead{display:table-header-group}tr{break-inside:avoid}h2,h3{break-after:avoid}
details::details-content{content-visibility:visible;display:block}}
"#;

impl SimulateReport<'_> {
    /// The report as one HTML document.
    pub fn render(&self) -> String {
        let title = format!("{} — bitwatt simulate", self.scenario.name);
        let mut out = String::with_capacity(256 * 1024);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\
             <title>{}</title><style>{STYLE}</style></head><body>",
            escape(&title)
        );
        out.push_str(&self.summary_html());
        self.term_structure(&mut out);
        self.loss_histogram(&mut out);
        self.fans(&mut out);
        self.attribution(&mut out);
        self.tornado(&mut out);
        self.monthly(&mut out);
        self.reproducibility(&mut out);
        out.push_str("</body></html>\n");
        out
    }

    fn first_month(&self) -> YearMonth {
        self.scenario.first_month()
    }

    /// The head of the report alone: the title line and the summary card (PD to the horizon,
    /// rating grade, expected loss, loss VaR / ES, the worst base-case DSCR, and each
    /// instrument's PD, LGD, expected loss and spreads), as the dashboard shows it.
    pub fn summary_html(&self) -> String {
        let mut out = String::with_capacity(4096);
        self.summary(&mut out);
        out
    }

    fn summary(&self, out: &mut String) {
        let m = self.metrics;
        let fp = &self.result.fingerprint;
        let _ = write!(
            out,
            "<h1>{}</h1><p>Monte Carlo credit risk: {} market paths, seed {}{}, from {}.{}</p>",
            escape(&self.scenario.name),
            thousands(m.paths as f64, 0),
            fp.seed,
            if self.stresses.is_empty() {
                String::new()
            } else {
                format!(", under {}", escape(&self.stresses.join(" then ")))
            },
            self.first_month(),
            if self.result.complete {
                ""
            } else {
                " The run was stopped early: the results cover the paths run."
            }
        );
        out.push_str("<section class=\"card\"><h2>Summary</h2><dl class=\"facts\">");
        let mut fact = |label: &str, id: Option<&str>, value: String| {
            let id = id.map_or(String::new(), |id| format!(" id=\"{id}\""));
            let _ = write!(
                out,
                "<dt>{}</dt><dd{id}>{}</dd>",
                escape(label),
                escape(&value)
            );
        };
        fact("Borrower", None, self.scenario.name.clone());
        fact(
            "Paths, seed",
            None,
            format!("{}, {}", thousands(m.paths as f64, 0), fp.seed),
        );
        if let Some(last) = m.cumulative_pd_by_year.last() {
            fact(
                &format!("PD to the horizon ({:.1} years)", m.rating.horizon_years),
                Some("pd"),
                percent(last),
            );
            fact(
                "Rating grade (S&P 1981–2024)",
                Some("grade"),
                format!(
                    "{} (its {:.1}-year default rate {:.2} %)",
                    m.rating.grade.label(),
                    m.rating.horizon_years,
                    m.rating.grade_cumulative_default_rate * 100.0
                ),
            );
        }
        fact(
            "Expected loss",
            Some("expected-loss"),
            usd_millions_estimate(&m.expected_loss_usd),
        );
        for tail in &m.loss_tail {
            fact(
                &format!("Loss VaR / ES {:.1} %", tail.level * 100.0),
                None,
                format!(
                    "{} / {}",
                    usd_millions(tail.var_usd),
                    usd_millions(tail.es_usd)
                ),
            );
        }
        let summary = &self.projection.summary;
        fact(
            "Worst base-case DSCR (tested)",
            Some("worst-dscr"),
            summary.min_dscr.map_or("n/a".to_string(), |(dscr, t)| {
                format!("{dscr:.2}× in {}", self.first_month().plus_months(t as i32))
            }),
        );
        if let Some(default) = &summary.default {
            fact(
                "Base case",
                None,
                format!(
                    "defaults in {}",
                    self.first_month().plus_months(default.month_index as i32)
                ),
            );
        }
        out.push_str("</dl>");
        out.push_str(
            "<div class=\"scroll\"><table><thead><tr><th>debt</th><th>PD</th><th>grade</th>\
             <th>LGD</th><th>expected loss</th><th>break-even spread</th><th>market spread + fee</th>\
             <th>excess</th></tr></thead><tbody>",
        );
        for i in &m.instruments {
            let s = &i.spread;
            let cells = [
                i.name.clone(),
                percent(&i.pd),
                i.rating.grade.label().to_string(),
                i.lgd.as_ref().map_or("n/a".to_string(), percent),
                usd_millions_estimate(&i.expected_loss_usd),
                s.break_even_spread_bps.map_or("n/a".to_string(), |b| {
                    format!("{:.1} bp ± {:.1}", b.value, b.standard_error)
                }),
                s.market_spread_bps.map_or("n/a".to_string(), |market| {
                    format!(
                        "{market:.0} + {:.0} bp",
                        s.upfront_fee_bps_per_year.unwrap_or(0.0)
                    )
                }),
                s.excess_spread_bps
                    .map_or("n/a".to_string(), |e| format!("{e:.0} bp")),
            ];
            row(out, &cells);
        }
        out.push_str(
            "</tbody></table></div><p><small>± is one Monte Carlo standard error; spreads a \
             year, the fee spread over the expected life.</small></p></section>",
        );
    }

    fn term_structure(&self, out: &mut String) {
        let m = self.metrics;
        let bars: Vec<svg::Bar> = m
            .cumulative_pd_by_year
            .iter()
            .enumerate()
            .map(|(year, pd)| svg::Bar {
                label: (year + 1).to_string(),
                value: pd.value * 100.0,
                low: ((pd.value - 2.0 * pd.standard_error) * 100.0).max(0.0),
                high: (pd.value + 2.0 * pd.standard_error) * 100.0,
                annotation: format!("{:.2} %", pd.value * 100.0),
            })
            .collect();
        let chart = svg::bar_chart(
            "Cumulative PD by year",
            &bars,
            &format!("year of the horizon (from {})", self.first_month()),
            "cumulative PD (%)",
        );
        figure(
            out,
            "PD term structure",
            &chart,
            "Probability the borrower has defaulted by the end of each year; whiskers ± 2 \
             Monte Carlo standard errors.",
        );
    }

    fn loss_histogram(&self, out: &mut String) {
        let losses: Vec<f64> = self
            .result
            .path_loss_usd
            .iter()
            .filter(|&&l| l > 0.0)
            .map(|l| l / 1e6)
            .collect();
        let paths = self.result.path_loss_usd.len().max(1);
        let markers: Vec<svg::Marker> = self
            .metrics
            .loss_tail
            .iter()
            .flat_map(|tail| {
                let level = level_text(tail.level);
                [
                    svg::Marker {
                        x: tail.var_usd / 1e6,
                        label: format!("VaR {level} {}", usd_millions(tail.var_usd)),
                        dashed: false,
                    },
                    svg::Marker {
                        x: tail.es_usd / 1e6,
                        label: format!("ES {level} {}", usd_millions(tail.es_usd)),
                        dashed: true,
                    },
                ]
            })
            .collect();
        let bins = ((losses.len() as f64).sqrt().ceil() as usize).clamp(5, 40);
        let chart = svg::histogram(
            "Loss distribution of the paths with a loss",
            &losses,
            bins,
            &markers,
            "total loss of all instruments (USD M)",
            "paths (count)",
        );
        let none = paths - losses.len().min(paths);
        let caption = format!(
            "Total loss on the {} paths with a loss; {} of {} paths ({:.1} %) lose nothing \
             and are not drawn. VaR solid, ES dashed, both over all paths.",
            thousands(losses.len() as f64, 0),
            thousands(none as f64, 0),
            thousands(paths as f64, 0),
            none as f64 / paths as f64 * 100.0
        );
        figure(out, "Loss distribution", &chart, &caption);
    }

    fn month_ticks(&self, months: usize) -> Vec<(usize, String)> {
        let first = self.first_month();
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

    fn fans(&self, out: &mut String) {
        out.push_str("<h2>Fans</h2>");
        for fan in &self.metrics.fans {
            let (title, unit, scale) = fan_text(fan.series);
            let quantiles: Vec<Option<[f64; 5]>> = fan
                .quantiles_by_month
                .iter()
                .map(|q| q.map(|q| q.map(|v| v * scale)))
                .collect();
            let chart = svg::fan_chart(&svg::FanInput {
                label: title,
                quantiles: &quantiles,
                month_ticks: self.month_ticks(quantiles.len()),
                x_title: "month",
                y_title: unit,
            });
            figure(out, title, &chart, &fan_caption(fan));
        }
    }

    fn attribution(&self, out: &mut String) {
        out.push_str("<h2>Attribution</h2>");
        let months = self
            .metrics
            .attribution
            .first()
            .map_or(0, |a| a.mean_all_by_month.len());
        let year_ends: Vec<usize> = (1..=months / 12).map(|y| y * 12).collect();
        if !self
            .metrics
            .attribution
            .iter()
            .any(|a| a.mean_defaulted_by_month.is_some())
        {
            out.push_str("<p>No path defaulted: nothing to attribute.</p>");
            return;
        }
        out.push_str(
            "<p>The market factors' mean at each year end on the paths that default against \
             all paths: what the defaulting paths have in common.</p><div class=\"scroll\">\
             <table><thead><tr><th>factor: defaulting / all paths</th>",
        );
        for m in &year_ends {
            let _ = write!(out, "<th>year {}</th>", m / 12);
        }
        out.push_str("</tr></thead><tbody>");
        for a in &self.metrics.attribution {
            let Some(defaulted) = &a.mean_defaulted_by_month else {
                continue;
            };
            let (label, scale, decimals) = factor_text(a.factor);
            let mut cells = vec![label.to_string()];
            for &m in &year_ends {
                cells.push(format!(
                    "{} / {}",
                    thousands(defaulted[m - 1] * scale, decimals),
                    thousands(a.mean_all_by_month[m - 1] * scale, decimals)
                ));
            }
            row(out, &cells);
        }
        out.push_str("</tbody></table></div>");
    }

    fn tornado(&self, out: &mut String) {
        let Some(rows) = self.sensitivity else {
            return;
        };
        let bars: Vec<svg::TornadoRow> = rows
            .iter()
            .map(|r| svg::TornadoRow {
                label: format!("{} {}", r.parameter, r.change),
                value: r.delta_pd.value * 100.0,
                low: (r.delta_pd.value - 2.0 * r.delta_pd.standard_error) * 100.0,
                high: (r.delta_pd.value + 2.0 * r.delta_pd.standard_error) * 100.0,
            })
            .collect();
        let chart = svg::tornado(
            "Change in PD per bump",
            &bars,
            "change in PD to the horizon (percentage points)",
        );
        out.push_str("<h2>Sensitivity</h2>");
        figure(
            out,
            "Sensitivity tornado",
            &chart,
            "Each main market parameter bumped in turn with the same random numbers, ranked by \
             the change in PD; whiskers ± 2 standard errors of the change.",
        );
        out.push_str(
            "<div class=\"scroll\"><table><thead><tr><th>bump</th><th>PD</th><th>ΔPD</th>\
             <th>Δ expected loss</th></tr></thead><tbody>",
        );
        for r in rows {
            row(
                out,
                &[
                    format!("{} {}", r.parameter, r.change),
                    percent(&r.pd),
                    format!(
                        "{:+.2} pts ± {:.2}",
                        r.delta_pd.value * 100.0,
                        r.delta_pd.standard_error * 100.0
                    ),
                    usd_millions_estimate(&r.delta_expected_loss_usd),
                ],
            );
        }
        out.push_str("</tbody></table></div>");
    }

    fn monthly(&self, out: &mut String) {
        let p = self.projection;
        let _ = write!(
            out,
            "<h2>Base case, month by month</h2><p>The deterministic projection{}: {} months \
             from {}; amounts in USD M.</p>",
            if self.stresses.is_empty() {
                String::new()
            } else {
                format!(" under {}", escape(&self.stresses.join(" then ")))
            },
            p.months.len(),
            self.first_month()
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
            for (t, month) in p.months.iter().enumerate() {
                let mut cells = vec![self.first_month().plus_months(t as i32).to_string()];
                for (name, read) in &MONTHLY_COLUMNS[*start..end] {
                    cells.push(read(month).map_or(String::new(), |v| column_value(name, v)));
                }
                row(out, &cells);
            }
            out.push_str("</tbody></table></div>");
        }
    }

    fn reproducibility(&self, out: &mut String) {
        let fp = &self.result.fingerprint;
        out.push_str("<h2>Reproduce this report</h2><dl class=\"facts\">");
        let stresses = if fp.stresses.is_empty() {
            "none".to_string()
        } else {
            fp.stresses.join(" then ")
        };
        for (label, value) in [
            ("Command", self.command.to_string()),
            ("Seed", fp.seed.to_string()),
            ("Paths", fp.paths.to_string()),
            ("Stresses", stresses),
            ("bitwatt version", fp.version.clone()),
            ("Commit", fp.commit.clone()),
            ("Target", fp.target.clone()),
            ("Cargo.lock SHA-256", fp.cargo_lock_sha256.clone()),
            ("Scenario SHA-256", fp.scenario_sha256.clone()),
        ] {
            let _ = write!(
                out,
                "<dt>{}</dt><dd><code>{}</code></dd>",
                escape(label),
                escape(&value)
            );
        }
        let _ = write!(
            out,
            "</dl><details><summary>Scenario file (TOML)</summary><pre>{}</pre></details>",
            escape(self.scenario_toml)
        );
    }
}

/// A table row: the first cell a header of the row.
fn row(out: &mut String, cells: &[String]) {
    out.push_str("<tr>");
    for cell in cells {
        let _ = write!(out, "<td>{}</td>", escape(cell));
    }
    out.push_str("</tr>");
}

fn figure(out: &mut String, title: &str, svg: &str, caption: &str) {
    let _ = write!(
        out,
        "<figure class=\"chart\"><h3>{}</h3>{svg}<figcaption>{}</figcaption></figure>",
        escape(title),
        escape(caption)
    );
}

fn level_text(level: f64) -> String {
    let percent = level * 100.0;
    if (percent - percent.round()).abs() < 1e-9 {
        format!("{percent:.0} %")
    } else {
        format!("{percent:.1} %")
    }
}

/// A fan's title, its axis title with the unit, and the factor from its values to the unit.
fn fan_text(series: FanSeries) -> (&'static str, &'static str, f64) {
    match series {
        FanSeries::Dscr => ("DSCR", "DSCR (×)", 1.0),
        FanSeries::Ltv => ("LTV", "LTV (%)", 100.0),
        FanSeries::CashUsd => ("Cash", "cash (USD M)", 1e-6),
        FanSeries::HashpriceUsdPerPhDay => ("Hashprice", "hashprice (USD per PH/s per day)", 1.0),
        FanSeries::BtcPriceUsd => ("BTC price", "BTC price (USD k)", 1e-3),
        FanSeries::GpuRentUsdPerGpuHour => ("GPU rent", "GPU rent (USD per GPU-hour)", 1.0),
        FanSeries::NetworkHashrateEhs => ("Network hashrate", "network hashrate (EH/s)", 1.0),
    }
}

fn fan_caption(fan: &Fan) -> String {
    let what = match fan.series {
        FanSeries::Dscr => {
            "the borrower's DSCR (CFADS over scheduled debt service), months with debt service"
        }
        FanSeries::Ltv => "secured debt over collateral value, months with secured debt",
        FanSeries::CashUsd => "the borrower's cash, months before its default",
        FanSeries::HashpriceUsdPerPhDay => "hashprice",
        FanSeries::BtcPriceUsd => "BTC price",
        FanSeries::GpuRentUsdPerGpuHour => "the GPU rent reference index",
        FanSeries::NetworkHashrateEhs => "the network hashrate",
    };
    format!("Monthly quantiles of {what}: 5–95 % band (light), 25–75 % band (dark) and the median.")
}

/// A factor's label, the factor from its values to the label's unit, and decimals.
fn factor_text(factor: Factor) -> (&'static str, f64, usize) {
    match factor {
        Factor::BtcPriceUsd => ("BTC price (USD)", 1.0, 0),
        Factor::HashpriceUsdPerPhDay => ("hashprice (USD/PH/day)", 1.0, 2),
        Factor::NetworkHashrateEhs => ("network hashrate (EH/s)", 1.0, 0),
        Factor::FeesBtcPerBlock => ("fees (BTC/block)", 1.0, 3),
        Factor::GpuRentUsdPerGpuHour => ("GPU rent (USD/GPU-h)", 1.0, 2),
        Factor::AiDemand => ("AI demand (× base case)", 1.0, 2),
        Factor::PowerPriceUsdPerMwh => ("power (USD/MWh)", 1.0, 1),
        Factor::SofrPercent => ("SOFR (% a year)", 1.0, 2),
        Factor::StressShare => ("stress regime (% of paths)", 100.0, 1),
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
