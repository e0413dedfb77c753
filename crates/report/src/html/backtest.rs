//! The report of `backtest network`: the model's difficulty against the real one, month by
//! month, as charts and a table.

use bitwatt_engine::NetworkBacktest;

use super::page::{document_end, document_start, fact, figure, month_ticks, reproduce, row};
use super::svg;
use crate::thousands;

/// What the report of `backtest network` is made from.
pub struct NetworkBacktestReport<'a> {
    /// The backtest.
    pub result: &'a NetworkBacktest,
    /// The scenario whose world fleet ran.
    pub scenario: &'a str,
    /// The command that reproduces it.
    pub command: &'a str,
}

impl NetworkBacktestReport<'_> {
    /// The report as one HTML document.
    pub fn render(&self) -> String {
        let r = self.result;
        let mut out = document_start("Network backtest — bitwatt");
        let (first, last) = (r.months[0].month, r.months[r.months.len() - 1].month);
        out.push_str(&format!(
            "<h1>Network backtest</h1><p>The model's endogenous hashrate and epoch-exact \
             difficulty, started on the real network of {first} and fed the real monthly BTC \
             prices, against the real difficulty to {last}.</p>\
             <section class=\"card\"><h2>Summary</h2><dl class=\"facts\">"
        ));
        fact(&mut out, "World fleet and response of", None, self.scenario);
        fact(&mut out, "Months", None, r.months.len().to_string());
        fact(
            &mut out,
            "Fees per block fed",
            None,
            format!("{:.4} BTC", r.fees_btc_per_block),
        );
        fact(
            &mut out,
            "Difficulty error: median",
            Some("median-error"),
            format!("{:.1} %", r.median_abs_relative_error * 100.0),
        );
        fact(
            &mut out,
            "Difficulty error: worst",
            Some("worst-error"),
            format!(
                "{:.1} % in {}",
                r.worst_abs_relative_error * 100.0,
                r.worst_month
            ),
        );
        out.push_str("</dl></section>");
        let ticks = month_ticks(first, r.months.len());
        let model: Vec<Option<f64>> = r
            .months
            .iter()
            .map(|m| Some(m.model_difficulty / 1e12))
            .collect();
        let real: Vec<Option<f64>> = r
            .months
            .iter()
            .map(|m| Some(m.real_difficulty / 1e12))
            .collect();
        let chart = svg::line_chart(&svg::LineInput {
            label: "Difficulty, model and real",
            series: &[
                svg::LineSeries {
                    name: "real",
                    values: &real,
                    dashed: false,
                },
                svg::LineSeries {
                    name: "model",
                    values: &model,
                    dashed: true,
                },
            ],
            month_ticks: ticks.clone(),
            x_title: "month",
            y_title: "difficulty (T)",
        });
        figure(
            &mut out,
            "Difficulty",
            &chart,
            "The real difficulty (the mean of each month's days, solid) and the model's \
             (weighted by the month's blocks, dashed).",
        );
        let error: Vec<Option<f64>> = r
            .months
            .iter()
            .map(|m| Some(m.relative_error * 100.0))
            .collect();
        let chart = svg::line_chart(&svg::LineInput {
            label: "Difficulty error",
            series: &[svg::LineSeries {
                name: "error",
                values: &error,
                dashed: false,
            }],
            month_ticks: ticks,
            x_title: "month",
            y_title: "model over real, less one (%)",
        });
        figure(
            &mut out,
            "Error",
            &chart,
            "The model's difficulty error, month by month.",
        );
        out.push_str(
            "<h2>Month by month</h2><div class=\"scroll\"><table><thead><tr><th>month</th>\
             <th>BTC (USD)</th><th>model difficulty (T)</th><th>real difficulty (T)</th>\
             <th>error (%)</th><th>model hashrate (EH/s)</th></tr></thead><tbody>",
        );
        for m in &r.months {
            row(
                &mut out,
                &[
                    m.month.to_string(),
                    thousands(m.btc_price_usd, 0),
                    thousands(m.model_difficulty / 1e12, 2),
                    thousands(m.real_difficulty / 1e12, 2),
                    format!("{:+.1}", m.relative_error * 100.0),
                    thousands(m.model_hashrate_ehs, 1),
                ],
            );
        }
        out.push_str("</tbody></table></div>");
        reproduce(
            &mut out,
            &[
                ("Command", self.command.to_string()),
                ("bitwatt version", env!("CARGO_PKG_VERSION").to_string()),
            ],
            "Scenario whose world fleet ran",
            self.scenario,
        );
        document_end(&mut out);
        out
    }
}
