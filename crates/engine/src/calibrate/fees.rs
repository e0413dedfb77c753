//! Fees per block: the log of each whole week's fees per block as an Ornstein–Uhlenbeck
//! process (an AR(1) on consecutive weeks, by least squares) with congestion spikes — the
//! weeks whose shock is more than [`SPIKE_THRESHOLD_SD`] standard deviations up — fitted
//! without the spikes. Weeks, not days: the model's fees are monthly, and a day's fees are
//! mostly noise that a month averages away.

use bitwatt_chain::{DailyMinerEconomics, UtcDay};
use serde::Serialize;

use super::{
    DAYS_PER_MONTH, DAYS_PER_YEAR, PeriodShock, day_text, least_squares, standard_deviation,
};
use crate::simulate::Estimate;

/// A day's shock beyond this many standard deviations up is a congestion spike.
pub const SPIKE_THRESHOLD_SD: f64 = 3.0;

/// Fewest pairs of consecutive whole weeks the fit accepts.
const MIN_PAIRS: usize = 20;

/// Days in the fit's step.
const DAYS_PER_WEEK: f64 = 7.0;

/// The fees calibration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FeesCalibration {
    /// First day of the first whole week.
    #[serde(serialize_with = "day_text")]
    pub from: UtcDay,
    /// Last day of the last whole week.
    #[serde(serialize_with = "day_text")]
    pub to: UtcDay,
    /// Pairs of consecutive whole weeks fitted (spike weeks left out).
    pub pairs: usize,
    /// `fees_reversion_per_year`: the speed at which log fees revert.
    pub fees_reversion_per_year: Estimate,
    /// `fees_volatility_percent_per_year`: the volatility of log fees.
    pub fees_volatility_percent_per_year: Estimate,
    /// `fee_spike_percent_per_month`: the chance of a spike in a month, from the weekly
    /// chance over the weeks of a month.
    pub fee_spike_percent_per_month: Estimate,
    /// `fee_spike_multiple`: a spike week's fees over what the process expected, on average.
    pub fee_spike_multiple: f64,
    /// Spike weeks found.
    pub spike_weeks: usize,
    /// Mean fees per block over the whole weeks (BTC), for information.
    pub mean_fees_btc_per_block: f64,
    /// Each fitted week's shock (spike weeks left out), for the correlations.
    #[serde(skip)]
    pub weekly_shocks: Vec<PeriodShock>,
}

/// A whole week: its first day and its fees per block (BTC).
fn whole_weeks(days: &[DailyMinerEconomics]) -> Vec<(i64, UtcDay, f64)> {
    let mut weeks: Vec<(i64, UtcDay, u32, f64, u32)> = Vec::new(); // (week, first, days, fees, blocks)
    for day in days.iter().filter(|d| d.blocks > 0) {
        let week = day.day.days_since_epoch().div_euclid(7);
        match weeks.last_mut() {
            Some(last) if last.0 == week => {
                last.2 += 1;
                last.3 += day.fees_btc;
                last.4 += day.blocks;
            }
            _ => weeks.push((week, day.day, 1, day.fees_btc, day.blocks)),
        }
    }
    weeks
        .into_iter()
        .filter(|w| w.2 == 7 && w.3 > 0.0)
        .map(|(week, first, _, fees, blocks)| (week, first, fees / f64::from(blocks)))
        .collect()
}

/// Fits the fee process to the whole weeks of `days` (in order); `None` with fewer than
/// [`MIN_PAIRS`] pairs of consecutive whole weeks.
pub fn calibrate_fees(days: &[DailyMinerEconomics]) -> Option<FeesCalibration> {
    let weeks = whole_weeks(days);
    let consecutive: Vec<[(i64, UtcDay, f64); 2]> = weeks
        .windows(2)
        .filter(|w| w[1].0 == w[0].0 + 1)
        .map(|w| [w[0], w[1]])
        .collect();
    let pairs: Vec<(f64, f64)> = consecutive
        .iter()
        .map(|w| (w[0].2.ln(), w[1].2.ln()))
        .collect();
    if pairs.len() < MIN_PAIRS {
        return None;
    }
    // First fit on every pair; spikes are the shocks far up; then fit without them.
    let first = least_squares(&pairs)?;
    let sd = standard_deviation(&first.residuals);
    let spike: Vec<bool> = first
        .residuals
        .iter()
        .map(|r| *r > SPIKE_THRESHOLD_SD * sd)
        .collect();
    let calm: Vec<(f64, f64)> = pairs
        .iter()
        .zip(&spike)
        .filter(|(_, s)| !**s)
        .map(|(p, _)| *p)
        .collect();
    let line = least_squares(&calm)?;
    let weekly_shocks = consecutive
        .iter()
        .zip(&spike)
        .filter(|(_, s)| !**s)
        .zip(&line.residuals)
        .map(|((w, _), &shock)| PeriodShock {
            previous_from: w[0].1,
            from: w[1].1,
            to: UtcDay::from_days_since_epoch(w[1].1.days_since_epoch() + 6),
            shock,
        })
        .collect();
    let b = line.slope.clamp(1e-6, 1.0 - 1e-9);
    let kappa_week = -b.ln();
    let shock_sd = standard_deviation(&line.residuals);
    // OU: x(t+1) = μ + (x(t) − μ)·b + ε, Var ε = σ²(1 − b²)/(2κ).
    let sigma_week = shock_sd * (2.0 * kappa_week / (1.0 - b * b)).sqrt();
    let steps_per_year = DAYS_PER_YEAR / DAYS_PER_WEEK;
    let n = calm.len() as f64;
    let spike_weeks = spike.iter().filter(|s| **s).count();
    let spike_multiple = if spike_weeks == 0 {
        1.0
    } else {
        first
            .residuals
            .iter()
            .zip(&spike)
            .filter(|(_, s)| **s)
            .map(|(r, _)| r.exp())
            .sum::<f64>()
            / spike_weeks as f64
    };
    let weekly = spike_weeks as f64 / pairs.len() as f64;
    let weekly_se = (weekly * (1.0 - weekly) / pairs.len() as f64).sqrt();
    let weeks_per_month = DAYS_PER_MONTH / DAYS_PER_WEEK;
    let monthly = 1.0 - (1.0 - weekly).powf(weeks_per_month);
    let sigma = sigma_week * steps_per_year.sqrt() * 100.0;
    Some(FeesCalibration {
        from: weeks[0].1,
        to: UtcDay::from_days_since_epoch(weeks[weeks.len() - 1].1.days_since_epoch() + 6),
        pairs: calm.len(),
        fees_reversion_per_year: Estimate {
            value: kappa_week * steps_per_year,
            standard_error: line.slope_standard_error / b * steps_per_year,
        },
        fees_volatility_percent_per_year: Estimate {
            value: sigma,
            // The standard deviation's own error, σ/√(2n); the reversion's is left out.
            standard_error: sigma / (2.0 * n).sqrt(),
        },
        fee_spike_percent_per_month: Estimate {
            value: monthly * 100.0,
            standard_error: weeks_per_month
                * (1.0 - weekly).powf(weeks_per_month - 1.0)
                * weekly_se
                * 100.0,
        },
        fee_spike_multiple: spike_multiple,
        spike_weeks,
        mean_fees_btc_per_block: weeks.iter().map(|w| w.2).sum::<f64>() / weeks.len() as f64,
        weekly_shocks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::ChaCha8Rng};
    use rand_distr::{Distribution, StandardNormal};

    /// Known reversion and volatility come back within three standard errors.
    #[test]
    fn recovers_a_known_process() {
        let (kappa, sigma) = (8.0_f64, 1.2_f64); // per year
        let dt = DAYS_PER_WEEK / DAYS_PER_YEAR;
        let b = (-kappa * dt).exp();
        let shock = sigma * ((1.0 - b * b) / (2.0 * kappa)).sqrt();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mean = (0.05_f64).ln();
        let mut x = mean;
        let mut days = Vec::new();
        // Weeks of the fit start on Thursdays (1970-01-01 was one), as these do.
        for week in 0..800_i64 {
            let z: f64 = StandardNormal.sample(&mut rng);
            x = mean + (x - mean) * b + shock * z;
            for d in 0..7 {
                days.push(DailyMinerEconomics {
                    day: UtcDay::from_days_since_epoch(2_800 * 7 + week * 7 + d),
                    blocks: 144,
                    subsidy_btc: 450.0,
                    fees_btc: 144.0 * x.exp(),
                    hashprice_usd_per_ph_day: None,
                });
            }
        }
        let fit = calibrate_fees(&days).unwrap();
        let z = (fit.fees_reversion_per_year.value - kappa)
            / fit.fees_reversion_per_year.standard_error;
        assert!(z.abs() < 3.0, "{:?}", fit.fees_reversion_per_year);
        let z = (fit.fees_volatility_percent_per_year.value - sigma * 100.0)
            / fit.fees_volatility_percent_per_year.standard_error;
        assert!(z.abs() < 3.0, "{:?}", fit.fees_volatility_percent_per_year);
        // Normal shocks beyond 3 sd up: about one week in 740.
        assert!(fit.spike_weeks < 10, "{}", fit.spike_weeks);
        // A week without a day is not whole; too few pairs is no fit.
        assert!(calibrate_fees(&days[..7 * 15]).is_none());
        let mut gap = days.clone();
        gap.remove(10);
        assert_eq!(whole_weeks(&gap).len(), whole_weeks(&days).len() - 1);
    }
}
