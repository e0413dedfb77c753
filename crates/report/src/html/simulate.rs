//! The report of `simulate`: a summary card, the PD term structure, the loss histogram,
//! fans, attribution, the sensitivity tornado, the stress comparison and the base case.

use std::fmt::Write;

use bitwatt_engine::{
    CreditMetrics, Factor, Fan, FanSeries, LOSS_HISTOGRAM_BINS, Projection, SensitivityRow,
    SimulationResult, StressCase,
};
use bitwatt_model::{Scenario, YearMonth};

use super::escape::escape;
use super::page::{
    document_end, document_start, fact, figure, fingerprint_facts, level_text,
    loss_histogram_figure, month_ticks, monthly_tables, reproduce, row, stress_table, tail_markers,
    under,
};
use super::svg;
use super::{percent, usd_millions_estimate};
use crate::{thousands, usd_millions};

/// What the report of `simulate` is made from.
pub struct SimulateReport<'a> {
    /// The scenario run.
    pub scenario: &'a Scenario,
    /// The scenario file's text, embedded verbatim.
    pub scenario_toml: &'a str,
    /// The run's metrics.
    pub metrics: &'a CreditMetrics,
    /// The run's result (fingerprint, loss histogram).
    pub result: &'a SimulationResult,
    /// The deterministic base case under the same stresses.
    pub projection: &'a Projection,
    /// The stresses as given on the command line.
    pub stresses: &'a [String],
    /// The sensitivity rows, when they ran.
    pub sensitivity: Option<&'a [SensitivityRow]>,
    /// The base case under each stress of the library (see `stress_comparison`).
    pub stress_cases: &'a [StressCase],
    /// The command that reproduces the run.
    pub command: &'a str,
}

impl SimulateReport<'_> {
    /// The report as one HTML document.
    pub fn render(&self) -> String {
        let mut out = document_start(&format!("{} — bitwatt simulate", self.scenario.name));
        out.push_str(&self.summary_html());
        self.term_structure(&mut out);
        self.loss_histogram(&mut out);
        self.fans(&mut out);
        self.attribution(&mut out);
        self.tornado(&mut out);
        stress_table(&mut out, self.stress_cases);
        monthly_tables(&mut out, self.projection, self.stresses);
        self.reproducibility(&mut out);
        document_end(&mut out);
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
            escape(&under(self.stresses).replacen(" under", ", under", 1)),
            self.first_month(),
            if self.result.complete {
                ""
            } else {
                " The run was stopped early: the results cover the paths run."
            }
        );
        out.push_str("<section class=\"card\"><h2>Summary</h2><dl class=\"facts\">");
        fact(out, "Borrower", None, self.scenario.name.clone());
        fact(
            out,
            "Paths, seed",
            None,
            format!("{}, {}", thousands(m.paths as f64, 0), fp.seed),
        );
        if let Some(last) = m.cumulative_pd_by_year.last() {
            fact(
                out,
                &format!("PD to the horizon ({:.1} years)", m.rating.horizon_years),
                Some("pd"),
                percent(last),
            );
            fact(
                out,
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
            out,
            "Expected loss",
            Some("expected-loss"),
            usd_millions_estimate(&m.expected_loss_usd),
        );
        for tail in &m.loss_tail {
            fact(
                out,
                &format!("Loss VaR / ES {}", level_text(tail.level)),
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
            out,
            "Worst base-case DSCR (tested)",
            Some("worst-dscr"),
            summary.min_dscr.map_or("n/a".to_string(), |(dscr, t)| {
                format!("{dscr:.2}× in {}", self.first_month().plus_months(t as i32))
            }),
        );
        if let Some(default) = &summary.default {
            fact(
                out,
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
             <th>LGD</th><th>expected loss</th><th>break-even spread</th>\
             <th>market spread + fee</th><th>excess</th></tr></thead><tbody>",
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
        let markers = tail_markers(
            self.metrics
                .loss_tail
                .iter()
                .map(|tail| (tail.level, tail.var_usd, tail.es_usd)),
        );
        loss_histogram_figure(
            out,
            &self.result.loss_histogram(LOSS_HISTOGRAM_BINS),
            &markers,
            (
                "Loss distribution of the paths with a loss",
                "total loss of all instruments (USD M)",
                "Total loss",
            ),
        );
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
                month_ticks: month_ticks(self.first_month(), quantiles.len()),
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

    fn reproducibility(&self, out: &mut String) {
        reproduce(
            out,
            &fingerprint_facts(self.command, &self.result.fingerprint, "Scenario SHA-256"),
            "Scenario file (TOML)",
            self.scenario_toml,
        );
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
