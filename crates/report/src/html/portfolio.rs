//! The report of `portfolio`: the book's loss distribution with VaR and ES under both
//! liquidations, the shared fire sale's add-on, each borrower's PD, LGD, expected loss and
//! contribution to ES, the pairs that default together, and each borrower's base case under
//! the stresses of the library.

use std::fmt::Write;

use bitwatt_engine::{BookMetrics, Liquidation, PortfolioMetrics, PortfolioResult, StressCase};

use super::escape::escape;
use super::page::{
    default_text, document_end, document_start, fact, fingerprint_facts, level_text,
    loss_histogram_figure, reproduce, row, tail_markers, under,
};
use super::{percent, usd_millions_estimate};
use crate::{thousands, usd_millions};

/// The most borrower pairs the default-correlation table lists (those with the highest
/// joint PD).
const MAX_PAIRS_LISTED: usize = 20;

/// One borrower's base case under each stress of the library (its own scenario's market).
pub struct BorrowerStressCases<'a> {
    /// The borrower's name in the book.
    pub name: &'a str,
    /// Its cases, in the order of `stress_comparison`.
    pub cases: &'a [StressCase],
}

/// What the report of `portfolio` is made from.
pub struct PortfolioReport<'a> {
    /// The book's name.
    pub book: &'a str,
    /// The book file's text, embedded verbatim (absent when the run was merged from shards,
    /// which carry no book file).
    pub book_toml: Option<&'a str>,
    /// The run's metrics.
    pub metrics: &'a PortfolioMetrics,
    /// The run's result (fingerprint).
    pub result: &'a PortfolioResult,
    /// The liquidation the summary leads with.
    pub liquidation: Liquidation,
    /// The stresses as given on the command line.
    pub stresses: &'a [String],
    /// Each borrower's stress comparison (empty when the book's scenarios are not at hand).
    pub borrower_cases: &'a [BorrowerStressCases<'a>],
    /// The command that reproduces the run.
    pub command: &'a str,
}

impl PortfolioReport<'_> {
    /// The report as one HTML document.
    pub fn render(&self) -> String {
        let mut out = document_start(&format!("{} — bitwatt portfolio", self.book));
        self.summary(&mut out);
        self.loss_histogram(&mut out);
        self.borrowers(&mut out);
        self.correlations(&mut out);
        self.stress_matrix(&mut out);
        reproduce(
            &mut out,
            &fingerprint_facts(self.command, &self.result.fingerprint, "Book SHA-256"),
            "Book file (TOML)",
            self.book_toml
                .unwrap_or("(merged from shard files, which do not carry the book file)"),
        );
        document_end(&mut out);
        out
    }

    fn reported(&self) -> &BookMetrics {
        match self.liquidation {
            Liquidation::Shared => &self.metrics.shared,
            Liquidation::Independent => &self.metrics.independent,
        }
    }

    fn summary(&self, out: &mut String) {
        let m = self.metrics;
        let fp = &self.result.fingerprint;
        let _ = write!(
            out,
            "<h1>{}</h1><p>A lender's book on shared market paths: {} borrowers, {} paths, \
             seed {}{}.{}</p>",
            escape(self.book),
            m.borrowers.len(),
            thousands(m.paths as f64, 0),
            fp.seed,
            escape(&under(self.stresses).replacen(" under", ", under", 1)),
            if self.result.complete {
                ""
            } else {
                " The run was stopped early: the results cover the paths run."
            }
        );
        out.push_str("<section class=\"card\"><h2>Summary</h2><dl class=\"facts\">");
        let reported = self.reported();
        fact(
            out,
            &format!(
                "Expected loss ({} liquidation)",
                liquidation_word(self.liquidation)
            ),
            Some("expected-loss"),
            usd_millions_estimate(&reported.expected_loss_usd),
        );
        fact(
            out,
            "Fire-sale add-on to expected loss",
            Some("fire-sale-el"),
            usd_millions_estimate(&m.fire_sale_add_on.expected_loss_usd),
        );
        out.push_str("</dl>");
        out.push_str(
            "<div class=\"scroll\"><table><thead><tr><th>level</th><th>VaR shared</th>\
             <th>ES shared</th><th>VaR independent</th><th>ES independent</th>\
             <th>fire-sale add-on to ES</th></tr></thead><tbody>",
        );
        for ((shared, independent), add_on) in m
            .shared
            .loss_tail
            .iter()
            .zip(&m.independent.loss_tail)
            .zip(&m.fire_sale_add_on.es_usd)
        {
            row(
                out,
                &[
                    level_text(shared.level),
                    usd_millions(shared.var_usd),
                    usd_millions_estimate(&shared.es_usd),
                    usd_millions(independent.var_usd),
                    usd_millions_estimate(&independent.es_usd),
                    usd_millions_estimate(&add_on.difference_usd),
                ],
            );
        }
        out.push_str(
            "</tbody></table></div><p><small>Shared: every borrower that defaults in a month \
             sells into the same markets and gets the average impacted price; independent: \
             each sells into markets of its own. ± is one Monte Carlo standard error.</small>\
             </p></section>",
        );
    }

    fn loss_histogram(&self, out: &mut String) {
        let markers = tail_markers(
            self.reported()
                .loss_tail
                .iter()
                .map(|tail| (tail.level, tail.var_usd, tail.es_usd.value)),
        );
        let what = format!(
            "The lender's loss ({} liquidation)",
            liquidation_word(self.liquidation)
        );
        loss_histogram_figure(
            out,
            &self.reported().histogram,
            &markers,
            (
                "Book loss distribution of the paths with a loss",
                "book loss (USD M)",
                &what,
            ),
        );
    }

    fn borrowers(&self, out: &mut String) {
        let m = self.metrics;
        out.push_str(
            "<h2>Borrowers</h2><div class=\"scroll\"><table><thead><tr><th>borrower</th>\
             <th>PD</th><th>exposure at default</th><th>LGD</th><th>expected loss</th>\
             <th>contribution to ES 99 %</th></tr></thead><tbody>",
        );
        for (default, loss) in m.borrowers.iter().zip(&self.reported().borrowers) {
            row(
                out,
                &[
                    default.name.clone(),
                    percent(&default.pd),
                    default
                        .exposure_at_default_usd
                        .as_ref()
                        .map_or("n/a".to_string(), usd_millions_estimate),
                    loss.lgd.as_ref().map_or("n/a".to_string(), percent),
                    usd_millions_estimate(&loss.expected_loss_usd),
                    usd_millions_estimate(&loss.es_99_contribution_usd),
                ],
            );
        }
        out.push_str(
            "</tbody></table></div><p><small>PD to the horizon; LGD and exposure over the \
             paths where the borrower defaults; the contributions (Euler allocation) add up \
             to the book's ES 99 %.</small></p>",
        );
    }

    fn correlations(&self, out: &mut String) {
        let mut pairs: Vec<_> = self.metrics.default_correlation.iter().collect();
        if pairs.is_empty() {
            return;
        }
        pairs.sort_by(|a, b| b.joint_pd.value.total_cmp(&a.joint_pd.value));
        let _ = write!(
            out,
            "<h2>Defaults together</h2><p>The {} pairs of borrowers most likely to default on \
             the same path.</p><div class=\"scroll\"><table><thead><tr><th>pair</th>\
             <th>joint PD</th><th>default correlation</th></tr></thead><tbody>",
            pairs.len().min(MAX_PAIRS_LISTED)
        );
        for pair in pairs.into_iter().take(MAX_PAIRS_LISTED) {
            row(
                out,
                &[
                    format!("{} & {}", pair.first, pair.second),
                    percent(&pair.joint_pd),
                    pair.correlation.as_ref().map_or("n/a".to_string(), |c| {
                        format!("{:.3} ± {:.3}", c.value, c.standard_error)
                    }),
                ],
            );
        }
        out.push_str("</tbody></table></div>");
    }

    fn stress_matrix(&self, out: &mut String) {
        let Some(first) = self.borrower_cases.first() else {
            return;
        };
        out.push_str(
            "<h2 id=\"stress-comparison\">Stress comparison</h2><p>Each borrower's \
             deterministic base case (on its own scenario's market) under each stress of the \
             library alone: how it ends.</p><div class=\"scroll\"><table><thead><tr>\
             <th>borrower</th>",
        );
        for case in first.cases {
            let _ = write!(out, "<th>{}</th>", escape(&case.label));
        }
        out.push_str("</tr></thead><tbody>");
        for borrower in self.borrower_cases {
            let mut cells = vec![borrower.name.to_string()];
            cells.extend(
                borrower
                    .cases
                    .iter()
                    .map(|case| default_text(&case.projection)),
            );
            row(out, &cells);
        }
        out.push_str("</tbody></table></div>");
    }
}

fn liquidation_word(liquidation: Liquidation) -> &'static str {
    match liquidation {
        Liquidation::Shared => "shared",
        Liquidation::Independent => "independent",
    }
}
