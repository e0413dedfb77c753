//! The dashboard's levers: the main market and financing assumptions of a scenario moved
//! before a run, each checked against its range.

use bitwatt_engine::{base_fees_btc_per_block, network_origin, start_btc_price_usd};
use bitwatt_model::{FieldError, NetworkStart, Scenario};
use serde::{Deserialize, Serialize};

/// Changes to a scenario before it runs. Every field carries its unit in its name and
/// defaults to "no change".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Levers {
    /// BTC price shock (percent): the start price, and every month of an explicit price
    /// series, × (1 + x/100); in (−100, 500].
    pub btc_price_shock_percent: f64,
    /// Hashprice shock at the start (percent): the network's difficulty and hashrate at the
    /// start ÷ (1 + x/100), so the start's hashprice (revenue per unit of hashrate) moves by
    /// × (1 + x/100) at the same price and fees, and the network responds from there; in
    /// (−100, 500].
    pub hashprice_shock_percent: f64,
    /// Hashprice through its fee part (percent): fees per block in the base case, around
    /// which the Monte Carlo's fees move, × (1 + x/100); in [−100, 1000]. The subsidy and the
    /// difficulty stay consensus and the network's response.
    pub fees_change_percent: f64,
    /// GPU rent deflation (percentage points a year) added to the scenario's; the result must
    /// stay within the model's −100 to 100 % a year.
    pub rent_deflation_change_points: f64,
    /// Correlation convergence w in the stress regime, in [0, 1]; none: the scenario's.
    pub correlation_convergence: Option<f64>,
    /// Spot power price at the start (percent): × (1 + x/100), in (−100, 500]. Contracted
    /// prices (PPAs, tariffs) stay as they are.
    pub power_price_change_percent: f64,
    /// Leverage: every debt's principal and commitment (and a project-finance loan's
    /// loan-to-cost, at most 100 %) × k, k in (0, 10].
    pub leverage_multiplier: f64,
}

impl Default for Levers {
    fn default() -> Self {
        Levers {
            btc_price_shock_percent: 0.0,
            hashprice_shock_percent: 0.0,
            fees_change_percent: 0.0,
            rent_deflation_change_points: 0.0,
            correlation_convergence: None,
            power_price_change_percent: 0.0,
            leverage_multiplier: 1.0,
        }
    }
}

/// A lever out of its range, or a scenario the levers make invalid.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LeverError {
    /// One lever outside its range.
    #[error("levers.{field} = {value}: expected {expected}")]
    OutOfRange {
        /// The lever.
        field: &'static str,
        /// The value given.
        value: f64,
        /// The range it accepts, in words.
        expected: String,
    },
    /// The scenario with the levers applied fails its validation.
    #[error("{}", .0.iter().map(|p| format!("with the levers applied, {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<FieldError>),
}

/// The GPU rent deflation the model accepts (percent a year).
const RENT_DEFLATION_RANGE_PERCENT_PER_YEAR: (f64, f64) = (-100.0, 100.0);

impl Levers {
    /// Whether every lever is at "no change".
    pub fn is_neutral(&self) -> bool {
        *self == Levers::default()
    }

    /// `scenario` with the levers applied and validated again as a scenario file would be.
    pub fn apply(&self, scenario: &Scenario) -> Result<Scenario, LeverError> {
        if self.is_neutral() {
            return Ok(scenario.clone());
        }
        let mut moved = scenario.clone();
        let market = &mut moved.market;

        let shock = self.btc_price_shock_percent;
        check(
            "btc_price_shock_percent",
            shock,
            shock > -100.0 && shock <= 500.0,
            "a shock from more than −100 to 500 %",
        )?;
        let factor = 1.0 + shock / 100.0;
        if market.btc_price_series_usd.is_empty() {
            market.btc_price_usd = Some(start_btc_price_usd(market) * factor);
        } else {
            market
                .btc_price_series_usd
                .iter_mut()
                .for_each(|p| *p *= factor);
        }

        let hashprice = self.hashprice_shock_percent;
        check(
            "hashprice_shock_percent",
            hashprice,
            hashprice > -100.0 && hashprice <= 500.0,
            "a shock from more than −100 to 500 %",
        )?;
        if hashprice != 0.0 {
            let origin = network_origin(market);
            let factor = 1.0 + hashprice / 100.0;
            market.network = Some(NetworkStart {
                height: origin.height,
                difficulty: origin.bits.core_difficulty() / factor,
                epoch_start_time_unix_s: origin.epoch_start_time_s,
                time_unix_s: origin.time_s,
                hashrate_ehs: Some(origin.hashrate_hs / factor / 1e18),
            });
        }

        let fees = self.fees_change_percent;
        check(
            "fees_change_percent",
            fees,
            (-100.0..=1000.0).contains(&fees),
            "a change from −100 to 1000 %",
        )?;
        market.fees_btc_per_block = Some(base_fees_btc_per_block(market) * (1.0 + fees / 100.0));

        let points = self.rent_deflation_change_points;
        let base = market.gpu.rent_deflation_percent_per_year;
        let (min, max) = RENT_DEFLATION_RANGE_PERCENT_PER_YEAR;
        check(
            "rent_deflation_change_points",
            points,
            (min - base..=max - base).contains(&points),
            &format!(
                "{} to {} points (the scenario's GPU rent deflation of {base} % a year must \
                 stay within {min} to {max} % a year)",
                min - base,
                max - base
            ),
        )?;
        market.gpu.rent_deflation_percent_per_year = base + points;

        if let Some(w) = self.correlation_convergence {
            check(
                "correlation_convergence",
                w,
                (0.0..=1.0).contains(&w),
                "w from 0 (stress keeps the calm correlations) to 1 (every factor moves with \
                 the crash)",
            )?;
            market.model.correlation_convergence = w;
        }

        let power = self.power_price_change_percent;
        check(
            "power_price_change_percent",
            power,
            power > -100.0 && power <= 500.0,
            "a change from more than −100 to 500 %",
        )?;
        market.power_price_usd_per_mwh *= 1.0 + power / 100.0;

        let k = self.leverage_multiplier;
        check(
            "leverage_multiplier",
            k,
            k > 0.0 && k <= 10.0,
            "a multiplier from more than 0 to 10",
        )?;
        for debt in &mut moved.debt {
            debt.principal_usd = debt.principal_usd.map(|p| p * k);
            debt.commitment_usd = debt.commitment_usd.map(|c| c * k);
            debt.loan_to_cost_percent = debt.loan_to_cost_percent.map(|l| (l * k).min(100.0));
        }
        revalidated(&moved)
    }
}

/// `Ok` when `valid`, else the lever's range error.
fn check(field: &'static str, value: f64, valid: bool, expected: &str) -> Result<(), LeverError> {
    if valid && value.is_finite() {
        Ok(())
    } else {
        Err(LeverError::OutOfRange {
            field,
            value,
            expected: expected.to_string(),
        })
    }
}

/// `scenario` read back through the scenario file's validation, so a lever cannot produce a
/// scenario that a file could not hold.
fn revalidated(scenario: &Scenario) -> Result<Scenario, LeverError> {
    let text = toml::to_string(scenario).expect("a scenario is TOML");
    Scenario::from_toml(&text).map_err(|errors| {
        LeverError::Invalid(
            errors
                .0
                .into_iter()
                .map(|problem| FieldError {
                    line: None,
                    ..problem
                })
                .collect(),
        )
    })
}

#[cfg(test)]
mod tests {
    use bitwatt_model::{BUILT_IN_EXAMPLES, PIVOT_MINER_TOML};

    use super::*;

    fn pivot() -> Scenario {
        Scenario::from_toml(PIVOT_MINER_TOML).unwrap()
    }

    fn out_of_range(levers: Levers) -> String {
        match levers.apply(&pivot()) {
            Err(error @ LeverError::OutOfRange { .. }) => error.to_string(),
            other => panic!("expected a range error, got {other:?}"),
        }
    }

    #[test]
    fn neutral_levers_change_nothing_and_every_example_reads_back() {
        for (name, text) in BUILT_IN_EXAMPLES {
            let scenario = Scenario::from_toml(text).unwrap();
            assert_eq!(
                Levers::default().apply(&scenario).unwrap(),
                scenario,
                "{name}"
            );
            assert_eq!(revalidated(&scenario).unwrap(), scenario, "{name}");
        }
    }

    #[test]
    fn btc_price_shock_moves_the_start_price() {
        let base = pivot();
        let levers = Levers {
            btc_price_shock_percent: -40.0,
            ..Levers::default()
        };
        let moved = levers.apply(&base).unwrap();
        let expected = start_btc_price_usd(&base.market) * 0.6;
        assert_eq!(moved.market.btc_price_usd, Some(expected));
        let mut series = base.clone();
        series.market.btc_price_series_usd = vec![100_000.0, 90_000.0];
        let moved = levers.apply(&series).unwrap();
        assert_eq!(moved.market.btc_price_series_usd, vec![60_000.0, 54_000.0]);
        assert_eq!(
            out_of_range(Levers {
                btc_price_shock_percent: -100.0,
                ..Levers::default()
            }),
            "levers.btc_price_shock_percent = -100: expected a shock from more than −100 to \
             500 %"
        );
    }

    #[test]
    fn hashprice_shock_moves_the_starting_hashprice() {
        let base = pivot();
        let moved = Levers {
            hashprice_shock_percent: -30.0,
            ..Levers::default()
        }
        .apply(&base)
        .unwrap();
        let (before, after) = (network_origin(&base.market), network_origin(&moved.market));
        assert_eq!(after.height, before.height);
        assert!((after.hashrate_hs / before.hashrate_hs - 1.0 / 0.7).abs() < 1e-12);
        // The compact bits hold the difficulty to their precision.
        let ratio = after.bits.core_difficulty() / before.bits.core_difficulty();
        assert!((ratio - 1.0 / 0.7).abs() < 1e-4, "{ratio}");
        // The first month's hashprice of the base case falls by 30 %.
        let hashprice = |s: &Scenario| {
            bitwatt_engine::project(s, &[]).unwrap().months[0].hashprice_usd_per_ph_day
        };
        let change = hashprice(&moved) / hashprice(&base);
        assert!((change - 0.7).abs() < 0.02, "{change}");
        assert!(
            out_of_range(Levers {
                hashprice_shock_percent: -100.0,
                ..Levers::default()
            })
            .starts_with("levers.hashprice_shock_percent = -100: expected")
        );
    }

    #[test]
    fn fees_change_moves_fees_per_block() {
        let base = pivot();
        let moved = Levers {
            fees_change_percent: 100.0,
            ..Levers::default()
        }
        .apply(&base)
        .unwrap();
        assert_eq!(
            moved.market.fees_btc_per_block,
            Some(base_fees_btc_per_block(&base.market) * 2.0)
        );
        assert!(
            out_of_range(Levers {
                fees_change_percent: 1500.0,
                ..Levers::default()
            })
            .starts_with("levers.fees_change_percent = 1500: expected")
        );
    }

    #[test]
    fn rent_deflation_change_adds_points_within_the_model_range() {
        let base = pivot();
        let deflation = base.market.gpu.rent_deflation_percent_per_year;
        let moved = Levers {
            rent_deflation_change_points: 10.0,
            ..Levers::default()
        }
        .apply(&base)
        .unwrap();
        assert_eq!(
            moved.market.gpu.rent_deflation_percent_per_year,
            deflation + 10.0
        );
        let message = out_of_range(Levers {
            rent_deflation_change_points: 200.0,
            ..Levers::default()
        });
        assert!(
            message.starts_with("levers.rent_deflation_change_points = 200: expected"),
            "{message}"
        );
        assert!(message.contains("within -100 to 100 % a year"), "{message}");
    }

    #[test]
    fn correlation_convergence_sets_w() {
        let moved = Levers {
            correlation_convergence: Some(0.9),
            ..Levers::default()
        }
        .apply(&pivot())
        .unwrap();
        assert_eq!(moved.market.model.correlation_convergence, 0.9);
        assert!(
            out_of_range(Levers {
                correlation_convergence: Some(1.5),
                ..Levers::default()
            })
            .starts_with("levers.correlation_convergence = 1.5: expected w from 0")
        );
    }

    #[test]
    fn power_price_change_moves_the_spot_price() {
        let base = pivot();
        let moved = Levers {
            power_price_change_percent: 50.0,
            ..Levers::default()
        }
        .apply(&base)
        .unwrap();
        assert_eq!(
            moved.market.power_price_usd_per_mwh,
            base.market.power_price_usd_per_mwh * 1.5
        );
        assert!(
            out_of_range(Levers {
                power_price_change_percent: f64::NAN,
                ..Levers::default()
            })
            .starts_with("levers.power_price_change_percent = NaN: expected")
        );
    }

    #[test]
    fn leverage_multiplier_scales_every_debt() {
        let base = pivot();
        let moved = Levers {
            leverage_multiplier: 1.5,
            ..Levers::default()
        }
        .apply(&base)
        .unwrap();
        for (before, after) in base.debt.iter().zip(&moved.debt) {
            assert_eq!(after.principal_usd, before.principal_usd.map(|p| p * 1.5));
            assert_eq!(after.commitment_usd, before.commitment_usd.map(|c| c * 1.5));
            assert_eq!(
                after.loan_to_cost_percent,
                before.loan_to_cost_percent.map(|l| (l * 1.5).min(100.0))
            );
        }
        assert!(base.debt.iter().any(|d| d.principal_usd.is_some()));
        assert_eq!(
            out_of_range(Levers {
                leverage_multiplier: 0.0,
                ..Levers::default()
            }),
            "levers.leverage_multiplier = 0: expected a multiplier from more than 0 to 10"
        );
    }

    #[test]
    fn a_scenario_made_invalid_is_refused_with_the_file_rules() {
        // Power prices above the model's range: the spot price × 6.
        let mut base = pivot();
        base.market.power_price_usd_per_mwh = 2000.0;
        let error = Levers {
            power_price_change_percent: 500.0,
            ..Levers::default()
        }
        .apply(&base)
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "with the levers applied, market.power_price_usd_per_mwh = 12000: expected a number from -1000 \
             to 10000 USD/MWh"
        );
    }
}
