//! Correlations between the factor shocks, in calm and in stress, where history has two
//! factors side by side: BTC with fees per block (weekly, in the windows the block data
//! covers) and BTC with the GPU rent index (monthly, 2023 on).
//!
//! Each period is calm or stress by the BTC fit's smoothed probability of stress, averaged
//! over the period's days (stress above one half). BTC's shock in a period is the log change
//! of its mean close from the period before — the same averaging the fee and rent series
//! carry. The calm estimates go into the calm matrix (the other entries stay the scenario's,
//! which no public data gives); the stress estimate of the BTC–rent pair gives the
//! convergence `w` of `C_stress = (1 − w)·C_calm + w·s·sᵀ`, both factors joining the stress
//! direction `s` (fees do not join it, so their pair says nothing about `w`).

use std::collections::BTreeMap;

use bitwatt_chain::{DailyClose, UtcDay};
use bitwatt_model::{
    FACTOR_COUNT, MODEL_FACTORS, MarketModel, correlation_cholesky, nearest_correlation,
};
use serde::Serialize;

use super::{PeriodShock, RegimeDay};
use crate::generator::STRESS_DIRECTION;
use crate::simulate::Estimate;

/// Fewest periods a correlation is estimated from.
pub const MIN_CORRELATION_PERIODS: usize = 8;

/// A correlation and the periods it comes from.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CorrelationEstimate {
    /// Periods (weeks or months) paired.
    pub periods: usize,
    /// The sample correlation with its standard error, (1 − ρ²)/√(n − 3).
    pub correlation: Estimate,
}

/// The correlation of one pair of factors.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FactorCorrelation {
    /// The two factors, as [`MODEL_FACTORS`] names them.
    pub factors: [&'static str; 2],
    /// The period: `week` or `month`.
    pub period: &'static str,
    /// Over every period.
    pub all: Option<CorrelationEstimate>,
    /// Over the calm periods.
    pub calm: Option<CorrelationEstimate>,
    /// Over the stress periods.
    pub stress: Option<CorrelationEstimate>,
}

/// The correlation calibration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CorrelationCalibration {
    /// Each pair history gives.
    pub pairs: Vec<FactorCorrelation>,
    /// `calm_correlation`: the scenario's with the calm estimates in (repaired to the nearest
    /// correlation matrix where they made it not positive semi-definite).
    pub calm_correlation: Vec<Vec<f64>>,
    /// Whether the matrix had to be repaired.
    pub repaired: bool,
    /// `correlation_convergence` from the BTC–rent pair in stress, where both regimes have
    /// enough months (unbounded: a value outside [0, 1] says the data disagrees with the form).
    pub correlation_convergence: Option<Estimate>,
}

/// The correlations of BTC with the shocks of `fees` and `gpu_rents` (either may be empty),
/// the periods split by `regime_days`, the calm matrix built on `template`'s.
pub fn calibrate_correlations(
    closes: &[DailyClose],
    regime_days: &[RegimeDay],
    fees: &[PeriodShock],
    gpu_rents: &[PeriodShock],
    template: &MarketModel,
) -> CorrelationCalibration {
    let price: BTreeMap<UtcDay, f64> = closes.iter().map(|c| (c.day, c.close_usd)).collect();
    let stress: BTreeMap<UtcDay, f64> = regime_days
        .iter()
        .map(|d| (d.day, d.stress_probability))
        .collect();
    let mut pairs = Vec::new();
    for (factor, period, shocks) in [("fees", "week", fees), ("gpu_rent", "month", gpu_rents)] {
        if shocks.is_empty() {
            continue;
        }
        // (BTC shock, the factor's shock, in stress) for each period with every day known.
        let paired: Vec<(f64, f64, bool)> = shocks
            .iter()
            .filter_map(|s| {
                let before = mean_over(&price, s.previous_from, s.from.previous())?;
                let during = mean_over(&price, s.from, s.to)?;
                let stress_share = mean_over(&stress, s.from, s.to)?;
                Some(((during / before).ln(), s.shock, stress_share > 0.5))
            })
            .collect();
        let estimate = |keep: &dyn Fn(bool) -> bool| {
            let chosen: Vec<(f64, f64)> = paired
                .iter()
                .filter(|p| keep(p.2))
                .map(|p| (p.0, p.1))
                .collect();
            correlation(&chosen)
        };
        pairs.push(FactorCorrelation {
            factors: ["btc", factor],
            period,
            all: estimate(&|_| true),
            calm: estimate(&|in_stress| !in_stress),
            stress: estimate(&|in_stress| in_stress),
        });
    }
    let mut matrix = template.calm_correlation_matrix();
    let index = |name: &str| {
        MODEL_FACTORS
            .iter()
            .position(|f| *f == name)
            .expect("a factor")
    };
    for pair in &pairs {
        if let Some(calm) = pair.calm {
            let (i, j) = (index(pair.factors[0]), index(pair.factors[1]));
            matrix[i][j] = calm.correlation.value;
            matrix[j][i] = calm.correlation.value;
        }
    }
    let repaired = correlation_cholesky(&matrix).is_err();
    if repaired {
        matrix = nearest_correlation(&matrix);
    }
    let correlation_convergence = pairs
        .iter()
        .find(|p| p.factors[1] == "gpu_rent")
        .and_then(|p| convergence(p, index));
    CorrelationCalibration {
        pairs,
        calm_correlation: matrix.iter().map(|row| row.to_vec()).collect(),
        repaired,
        correlation_convergence,
    }
}

/// The mean of `values` over the days `from..=to`; `None` unless every day has one.
fn mean_over(values: &BTreeMap<UtcDay, f64>, from: UtcDay, to: UtcDay) -> Option<f64> {
    let days = to.days_since_epoch() - from.days_since_epoch() + 1;
    let inside: Vec<f64> = values.range(from..=to).map(|(_, v)| *v).collect();
    (days > 0 && inside.len() as i64 == days).then(|| inside.iter().sum::<f64>() / days as f64)
}

/// The sample correlation of `points`; `None` with fewer than [`MIN_CORRELATION_PERIODS`] or
/// a constant series.
fn correlation(points: &[(f64, f64)]) -> Option<CorrelationEstimate> {
    let n = points.len();
    if n < MIN_CORRELATION_PERIODS {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n as f64;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n as f64;
    let (mut sxx, mut syy, mut sxy) = (0.0, 0.0, 0.0);
    for (x, y) in points {
        sxx += (x - mean_x).powi(2);
        syy += (y - mean_y).powi(2);
        sxy += (x - mean_x) * (y - mean_y);
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    let rho = sxy / (sxx * syy).sqrt();
    Some(CorrelationEstimate {
        periods: n,
        correlation: Estimate {
            value: rho,
            standard_error: (1.0 - rho * rho) / (n as f64 - 3.0).sqrt(),
        },
    })
}

/// `w` from a pair whose factors both join the stress direction: in stress the model's
/// correlation is `(1 − w)·ρ_calm + w·sᵢsⱼ`, so `w = (ρ_stress − ρ_calm)/(sᵢsⱼ − ρ_calm)`,
/// its error by the delta method from the two (independent) estimates'.
fn convergence(pair: &FactorCorrelation, index: impl Fn(&str) -> usize) -> Option<Estimate> {
    let (calm, stress) = (pair.calm?.correlation, pair.stress?.correlation);
    let direction: [f64; FACTOR_COUNT] = STRESS_DIRECTION;
    let k = direction[index(pair.factors[0])] * direction[index(pair.factors[1])];
    let gap = k - calm.value;
    if k == 0.0 || gap.abs() < 1e-9 {
        return None;
    }
    let w = (stress.value - calm.value) / gap;
    let standard_error = ((stress.standard_error / gap).powi(2)
        + (calm.standard_error * (stress.value - k) / (gap * gap)).powi(2))
    .sqrt();
    Some(Estimate {
        value: w,
        standard_error,
    })
}

#[cfg(test)]
mod tests {
    use rand::{SeedableRng, rngs::ChaCha8Rng};
    use rand_distr::{Distribution, StandardNormal};

    use super::*;
    use crate::generator::correlated_shocks;

    /// `months` months of the model's own shocks, stress every third year: BTC's as the log
    /// change of a price held for the month, the rent index's and the fees' as given, each
    /// month's days wholly calm or wholly in stress.
    fn synthetic(
        model: &MarketModel,
        months: i32,
    ) -> (
        Vec<DailyClose>,
        Vec<RegimeDay>,
        Vec<PeriodShock>,
        Vec<PeriodShock>,
    ) {
        let cholesky = correlation_cholesky(&model.calm_correlation_matrix()).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (mut closes, mut regime, mut rents, mut fees) = (vec![], vec![], vec![], vec![]);
        let first = |m: i32| UtcDay::from_ymd(1990 + m / 12, (m % 12) as u32 + 1, 1).unwrap();
        let mut log_price = 10.0;
        for m in 0..months {
            let in_stress = (m / 12) % 3 == 2;
            let w = if in_stress {
                model.correlation_convergence
            } else {
                0.0
            };
            let z: [f64; FACTOR_COUNT] = std::array::from_fn(|_| StandardNormal.sample(&mut rng));
            let x = correlated_shocks(&cholesky, w, &z, StandardNormal.sample(&mut rng));
            log_price += 0.1 * x[0];
            let (from, to) = (first(m), first(m + 1).previous());
            let mut day = from;
            while day <= to {
                closes.push(DailyClose {
                    day,
                    close_usd: f64::exp(log_price),
                });
                regime.push(RegimeDay {
                    day,
                    stress_probability: if in_stress { 0.9 } else { 0.1 },
                });
                day = day.next();
            }
            if m > 0 {
                let shock = |value: f64| PeriodShock {
                    previous_from: first(m - 1),
                    from,
                    to,
                    shock: value,
                };
                rents.push(shock(0.05 * x[1]));
                fees.push(shock(0.3 * x[4]));
            }
        }
        (closes, regime, fees, rents)
    }

    #[test]
    fn the_models_own_correlations_are_recovered_within_three_standard_errors() {
        let model: MarketModel = toml::from_str(
            "calm_correlation = [[1.0, 0.3, 0.2, 0.0, 0.4, 0.0], [0.3, 1.0, 0.5, 0.0, 0.0, 0.0], \
             [0.2, 0.5, 1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0, 0.0, 0.0], \
             [0.4, 0.0, 0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 1.0]]\n\
             correlation_convergence = 0.6",
        )
        .unwrap();
        let (closes, regime, fees, rents) = synthetic(&model, 1200);
        let fit = calibrate_correlations(&closes, &regime, &fees, &rents, &MarketModel::default());
        let within = |estimate: Estimate, truth: f64| {
            assert!(
                (estimate.value - truth).abs() < 3.0 * estimate.standard_error,
                "{estimate:?} against {truth}"
            );
        };
        let [fees, rents] = &fit.pairs[..] else {
            panic!("{:?}", fit.pairs)
        };
        assert_eq!(fees.factors, ["btc", "fees"]);
        assert_eq!(
            rents.calm.unwrap().periods + rents.stress.unwrap().periods,
            1199
        );
        within(rents.calm.unwrap().correlation, 0.3);
        // In stress: (1 − w)·0.3 + w for the pair that joins the crash, √(1 − w)·0.4 for BTC
        // and fees, which do not.
        within(rents.stress.unwrap().correlation, 0.4 * 0.3 + 0.6);
        within(fees.calm.unwrap().correlation, 0.4);
        within(fees.stress.unwrap().correlation, 0.4f64.sqrt() * 0.4);
        within(fit.correlation_convergence.unwrap(), 0.6);
        // The calm matrix takes the two estimates and keeps the template's other entries.
        let calm = &fit.calm_correlation;
        assert_eq!(calm[0][1], rents.calm.unwrap().correlation.value);
        assert_eq!(calm[4][0], fees.calm.unwrap().correlation.value);
        assert_eq!(calm[1][2], 0.5);
        assert!(!fit.repaired);
    }

    #[test]
    fn thin_or_missing_series_give_no_estimate() {
        let (closes, regime, fees, rents) = synthetic(&MarketModel::default(), 40);
        let fit =
            calibrate_correlations(&closes, &regime, &fees[..5], &[], &MarketModel::default());
        assert_eq!(fit.pairs.len(), 1);
        assert!(fit.pairs[0].all.is_none());
        assert!(fit.correlation_convergence.is_none());
        assert_eq!(
            fit.calm_correlation,
            MarketModel::default().calm_correlation
        );
        // Months without prices are left out.
        let fit =
            calibrate_correlations(&closes[40..], &regime, &[], &rents, &MarketModel::default());
        assert_eq!(fit.pairs[0].all.unwrap().periods, rents.len() - 2);
    }
}
