//! The headline values of a result: named numbers, each with its unit at the end of its name
//! (`_usd`, `_percent`, `_bp`, `_months`, `_count`, or a plain ratio), in the order a reader
//! looks for them — what the run history keeps and compares.

use crate::portfolio::PortfolioMetrics;
use crate::project::Projection;
use crate::simulate::CreditMetrics;

/// A named value of a result.
pub type HeadlineValue = (String, f64);

/// A tail level as a name reads it: 0.99 → `99`, 0.999 → `99_9`.
fn tail_level_name(level: f64) -> String {
    format!("{:.1}", level * 100.0)
        .trim_end_matches(".0")
        .replace('.', "_")
}

impl Projection {
    /// The base case's headline: the worst DSCR, the months to default (NaN: none), the
    /// worst LTV, cash and equity at the end, the equity IRR, covenant breaches, and the
    /// lenders' loss if it defaults.
    pub fn headline_values(&self) -> Vec<HeadlineValue> {
        let summary = &self.summary;
        let loss_usd = self.recoveries.as_ref().map_or(0.0, |recoveries| {
            recoveries.total_ead_usd - recoveries.total_recovered_usd
        });
        vec![
            (
                "worst_dscr".to_string(),
                summary.min_dscr.map_or(f64::NAN, |(dscr, _)| dscr),
            ),
            (
                "months_to_default_months".to_string(),
                summary
                    .default
                    .map_or(f64::NAN, |event| event.month_index as f64),
            ),
            (
                "max_ltv_percent".to_string(),
                summary.max_ltv.map_or(f64::NAN, |(ltv, _)| ltv * 100.0),
            ),
            ("final_cash_usd".to_string(), summary.final_cash_usd),
            ("market_equity_usd".to_string(), summary.market_equity_usd),
            (
                "equity_irr_percent".to_string(),
                self.equity_irr.map_or(f64::NAN, |irr| irr * 100.0),
            ),
            (
                "covenant_breaches_count".to_string(),
                f64::from(summary.covenant_breaches),
            ),
            ("loss_given_default_usd".to_string(), loss_usd),
        ]
    }
}

impl CreditMetrics {
    /// A simulation's headline: PD to the horizon, expected loss and the loss tail of the
    /// borrower, the paths done, then each instrument's PD, LGD, expected loss and
    /// break-even spread (NaN where there is none).
    pub fn headline_values(&self) -> Vec<HeadlineValue> {
        let mut out = Vec::new();
        if let Some(pd) = self.cumulative_pd_by_year.last() {
            out.push(("pd_to_horizon_percent".to_string(), pd.value * 100.0));
        }
        out.push((
            "expected_loss_usd".to_string(),
            self.expected_loss_usd.value,
        ));
        for tail in &self.loss_tail {
            let level = tail_level_name(tail.level);
            out.push((format!("var_{level}_usd"), tail.var_usd));
            out.push((format!("es_{level}_usd"), tail.es_usd));
        }
        out.push(("paths_done_count".to_string(), self.paths as f64));
        for instrument in &self.instruments {
            let name = &instrument.name;
            out.push((format!("{name}.pd_percent"), instrument.pd.value * 100.0));
            out.push((
                format!("{name}.lgd_percent"),
                instrument.lgd.map_or(f64::NAN, |lgd| lgd.value * 100.0),
            ));
            out.push((
                format!("{name}.expected_loss_usd"),
                instrument.expected_loss_usd.value,
            ));
            out.push((
                format!("{name}.break_even_spread_bp"),
                instrument
                    .spread
                    .break_even_spread_bps
                    .map_or(f64::NAN, |spread| spread.value),
            ));
        }
        out
    }
}

impl PortfolioMetrics {
    /// A book's headline: expected loss and tail under the shared liquidation, the fire
    /// sale's add-on, the paths done, then each borrower's PD, expected loss and contribution
    /// to ES 99 %.
    pub fn headline_values(&self) -> Vec<HeadlineValue> {
        let book = &self.shared;
        let mut out = vec![(
            "expected_loss_usd".to_string(),
            book.expected_loss_usd.value,
        )];
        for tail in &book.loss_tail {
            let level = tail_level_name(tail.level);
            out.push((format!("var_{level}_usd"), tail.var_usd));
            out.push((format!("es_{level}_usd"), tail.es_usd.value));
        }
        out.push((
            "fire_sale_add_on_expected_loss_usd".to_string(),
            self.fire_sale_add_on.expected_loss_usd.value,
        ));
        for tail in &self.fire_sale_add_on.es_usd {
            out.push((
                format!("fire_sale_add_on_es_{}_usd", tail_level_name(tail.level)),
                tail.difference_usd.value,
            ));
        }
        out.push(("paths_done_count".to_string(), self.paths as f64));
        for (default, loss) in self.borrowers.iter().zip(&book.borrowers) {
            let name = &default.name;
            out.push((format!("{name}.pd_percent"), default.pd.value * 100.0));
            out.push((
                format!("{name}.expected_loss_usd"),
                loss.expected_loss_usd.value,
            ));
            out.push((
                format!("{name}.es_99_contribution_usd"),
                loss.es_99_contribution_usd.value,
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_levels_read_as_names() {
        assert_eq!(tail_level_name(0.99), "99");
        assert_eq!(tail_level_name(0.999), "99_9");
        assert_eq!(tail_level_name(0.95), "95");
    }
}
