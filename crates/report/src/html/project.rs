//! The report of `project`: a borrower's deterministic base case — how it ends, its debts,
//! the market and its ratios month by month as charts, the stress comparison and the monthly
//! tables.

use bitwatt_engine::{MonthRow, Projection, StressCase};
use bitwatt_model::Scenario;

use super::escape::escape;
use super::page::{
    default_text, document_end, document_start, fact, figure, lenders_loss_usd, month_ticks,
    monthly_tables, reproduce, row, stress_list, stress_table, under,
};
use super::svg;
use crate::usd_millions;

/// What the report of `project` is made from.
pub struct ProjectReport<'a> {
    /// The scenario run.
    pub scenario: &'a Scenario,
    /// The scenario file's text, embedded verbatim.
    pub scenario_toml: &'a str,
    /// The base case under the run's stresses.
    pub projection: &'a Projection,
    /// The stresses as given on the command line.
    pub stresses: &'a [String],
    /// The base case under each stress of the library (see `stress_comparison`).
    pub stress_cases: &'a [StressCase],
    /// The command that reproduces the run.
    pub command: &'a str,
}

/// A monthly chart of the base case: title, axis title with its unit, how to read a month.
type MonthlyChart = (&'static str, &'static str, fn(&MonthRow) -> Option<f64>);

/// The charts of the base case, in the report's order.
const CHARTS: [MonthlyChart; 7] = [
    ("BTC price", "BTC price (USD k)", |m| {
        Some(m.btc_price_usd / 1e3)
    }),
    ("Hashprice", "hashprice (USD per PH/s per day)", |m| {
        Some(m.hashprice_usd_per_ph_day)
    }),
    ("Network hashrate", "network hashrate (EH/s)", |m| {
        Some(m.network_hashrate_ehs)
    }),
    (
        "CFADS",
        "cash flow available for debt service (USD M)",
        |m| Some(m.cfads_usd / 1e6),
    ),
    ("DSCR", "DSCR (×)", |m| m.dscr),
    ("LTV", "LTV (%)", |m| m.ltv.map(|ltv| ltv * 100.0)),
    ("Cash", "cash (USD M)", |m| Some(m.cash_usd / 1e6)),
];

impl ProjectReport<'_> {
    /// The report as one HTML document.
    pub fn render(&self) -> String {
        let mut out = document_start(&format!("{} — bitwatt project", self.scenario.name));
        self.summary(&mut out);
        self.charts(&mut out);
        stress_table(&mut out, self.stress_cases);
        monthly_tables(&mut out, self.projection, self.stresses);
        reproduce(
            &mut out,
            &[
                ("Command", self.command.to_string()),
                ("Stresses", stress_list(self.stresses)),
                ("bitwatt version", env!("CARGO_PKG_VERSION").to_string()),
            ],
            "Scenario file (TOML)",
            self.scenario_toml,
        );
        document_end(&mut out);
        out
    }

    fn summary(&self, out: &mut String) {
        let p = self.projection;
        let summary = &p.summary;
        let first = p.borrower.start_month;
        out.push_str(&format!(
            "<h1>{}</h1><p>Deterministic base case{}: {} months from {first}.</p>",
            escape(&self.scenario.name),
            escape(&under(self.stresses)),
            p.months.len(),
        ));
        out.push_str("<section class=\"card\"><h2>Summary</h2><dl class=\"facts\">");
        fact(out, "Outcome", Some("outcome"), default_text(p));
        fact(
            out,
            "Worst DSCR (tested)",
            Some("worst-dscr"),
            summary.min_dscr.map_or("n/a".to_string(), |(dscr, t)| {
                format!("{dscr:.2}× in {}", first.plus_months(t as i32))
            }),
        );
        fact(
            out,
            "Worst LTV",
            Some("worst-ltv"),
            summary.max_ltv.map_or("n/a".to_string(), |(ltv, t)| {
                format!("{:.1} % in {}", ltv * 100.0, first.plus_months(t as i32))
            }),
        );
        fact(
            out,
            "Covenant breaches, cures, lock-up months",
            None,
            format!(
                "{}, {}, {}",
                summary.covenant_breaches, summary.cures_used, summary.lock_up_months
            ),
        );
        fact(
            out,
            "Cash at the end",
            Some("final-cash"),
            usd_millions(summary.final_cash_usd),
        );
        fact(
            out,
            "Equity IRR",
            None,
            p.equity_irr
                .map_or("n/a".to_string(), |irr| format!("{:.1} %", irr * 100.0)),
        );
        if p.recoveries.is_some() {
            fact(
                out,
                "Lenders' loss",
                Some("lenders-loss"),
                usd_millions(lenders_loss_usd(p)),
            );
        }
        out.push_str("</dl>");
        out.push_str(
            "<div class=\"scroll\"><table><thead><tr><th>debt</th><th>peak balance</th>\
             <th>interest paid</th><th>principal paid</th><th>balance at the end</th>\
             <th>worst DSCR</th><th>default</th></tr></thead><tbody>",
        );
        for (debt, outcome) in p.borrower.debts.iter().zip(summary.debt_outcomes()) {
            row(
                out,
                &[
                    debt.name.clone(),
                    usd_millions(outcome.peak_balance_usd),
                    usd_millions(outcome.interest_paid_usd),
                    usd_millions(outcome.principal_paid_usd),
                    usd_millions(outcome.final_balance_usd),
                    outcome
                        .min_tested_dscr
                        .map_or("n/a".to_string(), |dscr| format!("{dscr:.2}×")),
                    outcome.default.map_or("none".to_string(), |event| {
                        first.plus_months(event.month_index as i32).to_string()
                    }),
                ],
            );
        }
        out.push_str("</tbody></table></div></section>");
    }

    fn charts(&self, out: &mut String) {
        let p = self.projection;
        out.push_str("<h2>Month by month</h2>");
        for (title, y_title, read) in CHARTS {
            let values: Vec<Option<f64>> = p.months.iter().map(read).collect();
            let chart = svg::line_chart(&svg::LineInput {
                label: title,
                series: &[svg::LineSeries {
                    name: title,
                    values: &values,
                    dashed: false,
                }],
                month_ticks: month_ticks(p.borrower.start_month, values.len()),
                x_title: "month",
                y_title,
            });
            let caption = format!(
                "{title} of the base case{}, month by month{}.",
                under(self.stresses),
                match title {
                    "DSCR" => " (months with debt service)",
                    "LTV" => " (months with secured debt)",
                    _ => "",
                }
            );
            figure(out, title, &chart, &caption);
        }
    }
}
