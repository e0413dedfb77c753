//! GPU rents: each generation's rent deflation (the slope of its log rent against time, by
//! least squares) and noise (the volatility of its monthly log changes around that trend)
//! from monthly rate cards, and the same pooled over the generations (one slope, an intercept
//! each).

use std::collections::BTreeMap;

use bitwatt_chain::{GpuRateCard, UtcDay};
use serde::Serialize;

use super::{PeriodShock, least_squares, standard_deviation};
use crate::simulate::Estimate;

/// Fewest published months a generation needs to be fitted.
const MIN_MONTHS: usize = 6;

/// One generation's fit.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GpuRentFit {
    /// The rate card's index code.
    pub index_code: String,
    /// Published months fitted.
    pub months: usize,
    /// First and last month.
    pub first: String,
    /// Last month.
    pub last: String,
    /// Rent deflation (percent a year): 1 − e^(slope of log rent a year).
    pub deflation_percent_per_year: Estimate,
    /// Volatility of the monthly log changes net of the trend (percent a year).
    pub volatility_percent_per_year: Estimate,
}

/// The GPU rent calibration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GpuRentCalibration {
    /// Each generation with enough published months, in code order.
    pub generations: Vec<GpuRentFit>,
    /// `rent_deflation_percent_per_year`, pooled.
    pub rent_deflation_percent_per_year: Estimate,
    /// `gpu_rent_volatility_percent_per_year`, pooled.
    pub gpu_rent_volatility_percent_per_year: Estimate,
    /// Each month's shock to the rent index: the mean over the generations of their log
    /// change net of the pooled trend, for the correlations.
    #[serde(skip)]
    pub monthly_shocks: Vec<PeriodShock>,
}

/// Deflation from a slope of log rent a year and its standard error (delta method).
fn deflation(slope: f64, standard_error: f64) -> Estimate {
    Estimate {
        value: (1.0 - slope.exp()) * 100.0,
        standard_error: slope.exp() * standard_error * 100.0,
    }
}

/// The monthly log changes net of `slope` (a month), on consecutive published months, each
/// with the month it ends in.
fn detrended_changes(series: &[(i32, f64)], slope_per_month: f64) -> Vec<(i32, f64)> {
    series
        .windows(2)
        .filter(|w| w[1].0 == w[0].0 + 1)
        .map(|w| (w[1].0, w[1].1 - w[0].1 - slope_per_month))
        .collect()
}

/// The first day of the month `month_index` (year × 12 + month − 1).
fn first_day(month_index: i32) -> UtcDay {
    UtcDay::from_ymd(
        month_index.div_euclid(12),
        month_index.rem_euclid(12) as u32 + 1,
        1,
    )
    .expect("the first of a month is a day")
}

fn volatility(changes: &[f64]) -> Estimate {
    let annual = standard_deviation(changes) * 12f64.sqrt() * 100.0;
    Estimate {
        value: annual,
        standard_error: annual / (2.0 * changes.len() as f64).sqrt(),
    }
}

/// Fits each generation of `cards` and the pool; `None` when no generation has
/// [`MIN_MONTHS`] published months.
pub fn calibrate_gpu_rents(cards: &[GpuRateCard]) -> Option<GpuRentCalibration> {
    let mut series: BTreeMap<&str, Vec<(i32, f64, &str)>> = BTreeMap::new();
    for card in cards {
        if let Some(price) = card.usd_per_gpu_hour {
            series.entry(&card.index_code).or_default().push((
                card.month_index,
                price.ln(),
                &card.period,
            ));
        }
    }
    series.retain(|_, months| months.len() >= MIN_MONTHS);
    if series.is_empty() {
        return None;
    }
    let mut generations = Vec::new();
    // Pooled: each series demeaned in time and log rent, then one slope.
    let mut pooled = Vec::new();
    for (code, months) in &series {
        let points: Vec<(f64, f64)> = months
            .iter()
            .map(|m| (f64::from(m.0) / 12.0, m.1))
            .collect();
        let line = least_squares(&points)?;
        let mean_t = points.iter().map(|p| p.0).sum::<f64>() / points.len() as f64;
        let mean_y = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
        pooled.extend(points.iter().map(|p| (p.0 - mean_t, p.1 - mean_y)));
        let monthly: Vec<(i32, f64)> = months.iter().map(|m| (m.0, m.1)).collect();
        let changes: Vec<f64> = detrended_changes(&monthly, line.slope / 12.0)
            .into_iter()
            .map(|c| c.1)
            .collect();
        generations.push(GpuRentFit {
            index_code: code.to_string(),
            months: months.len(),
            first: months[0].2.to_string(),
            last: months[months.len() - 1].2.to_string(),
            deflation_percent_per_year: deflation(line.slope, line.slope_standard_error),
            volatility_percent_per_year: volatility(&changes),
        });
    }
    let line = least_squares(&pooled)?;
    let dated: Vec<(i32, f64)> = series
        .values()
        .flat_map(|months| {
            let monthly: Vec<(i32, f64)> = months.iter().map(|m| (m.0, m.1)).collect();
            detrended_changes(&monthly, line.slope / 12.0)
        })
        .collect();
    let changes: Vec<f64> = dated.iter().map(|c| c.1).collect();
    let mut by_month: BTreeMap<i32, (f64, u32)> = BTreeMap::new();
    for (month, change) in dated {
        let entry = by_month.entry(month).or_default();
        entry.0 += change;
        entry.1 += 1;
    }
    let monthly_shocks = by_month
        .into_iter()
        .map(|(month, (sum, count))| PeriodShock {
            previous_from: first_day(month - 1),
            from: first_day(month),
            to: first_day(month + 1).previous(),
            shock: sum / f64::from(count),
        })
        .collect();
    Some(GpuRentCalibration {
        generations,
        rent_deflation_percent_per_year: deflation(line.slope, line.slope_standard_error),
        gpu_rent_volatility_percent_per_year: volatility(&changes),
        monthly_shocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(code: &str, month_index: i32, price: Option<f64>) -> GpuRateCard {
        GpuRateCard {
            period: format!("{}-{:02}", month_index / 12, month_index % 12 + 1),
            month_index,
            index_code: code.to_string(),
            usd_per_gpu_hour: price,
        }
    }

    #[test]
    fn a_steady_deflation_is_recovered_exactly() {
        // 20 % a year, monthly: × 0.8^(1/12).
        let step = 0.8f64.powf(1.0 / 12.0);
        let mut cards = Vec::new();
        for m in 0..24 {
            cards.push(card("GIX-H100", 24_300 + m, Some(4.0 * step.powi(m))));
            cards.push(card(
                "GIX-A100",
                24_300 + m,
                (m % 5 != 0).then(|| 2.0 * step.powi(m)),
            ));
            cards.push(card("GIX-B200", 24_300 + m, (m < 3).then_some(6.0)));
        }
        let fit = calibrate_gpu_rents(&cards).unwrap();
        let codes: Vec<&str> = fit
            .generations
            .iter()
            .map(|g| g.index_code.as_str())
            .collect();
        assert_eq!(
            codes,
            vec!["GIX-A100", "GIX-H100"],
            "B200 has too few months"
        );
        for generation in &fit.generations {
            assert!((generation.deflation_percent_per_year.value - 20.0).abs() < 1e-9);
            assert!(generation.volatility_percent_per_year.value < 1e-6);
        }
        assert!((fit.rent_deflation_percent_per_year.value - 20.0).abs() < 1e-9);
        assert!(calibrate_gpu_rents(&cards[..6]).is_none());
    }
}
