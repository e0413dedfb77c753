//! Calibration of the market model to history, each fit with standard errors:
//!
//! * [`calibrate_btc`]: BTC's two regimes, volatilities and jumps from daily closes;
//! * [`calibrate_fees`]: the mean-reverting log fees per block and their spikes;
//! * [`calibrate_gpu_rents`]: each GPU generation's rent deflation and noise from monthly
//!   rate cards;
//! * [`calibrate_correlations`]: the correlations of the factor shocks in calm and in stress,
//!   where history has two factors side by side;
//! * [`calibrate_hashrate_response`]: the world fleet's capacity growth against the
//!   frontier's margin some months before, from the difficulty and price history.

mod btc;
mod correlation;
mod fees;
mod gpu;
mod hashrate;

use bitwatt_chain::UtcDay;

pub use btc::{
    BtcCalibration, BtcModelFit, CalibrationError, DailyRegimeModel, HistoricalDrift,
    MIN_CALIBRATION_DAYS, RegimeDay, calibrate_btc, daily_log_returns, fit_daily_regime_model,
};
pub use correlation::{
    CorrelationCalibration, CorrelationEstimate, FactorCorrelation, MIN_CORRELATION_PERIODS,
    calibrate_correlations,
};
pub use fees::{FeesCalibration, calibrate_fees};
pub use gpu::{GpuRentCalibration, GpuRentFit, calibrate_gpu_rents};
pub use hashrate::{
    HashrateMonth, HashrateResponseCalibration, LagFit, MAX_LAG_MONTHS, MIN_HASHRATE_MONTHS,
    MIN_LAG_MONTHS, MarginMonth, calibrate_hashrate_response, monthly_network_history,
};

/// Days in a year of BTC trading and of blocks (every calendar day).
const DAYS_PER_YEAR: f64 = 365.25;

/// Days in the model's month.
const DAYS_PER_MONTH: f64 = DAYS_PER_YEAR / 12.0;

/// A factor's shock in one period (a week, a month): the change of its log from the period
/// before, net of what its process expected. The correlations between factors are those of
/// these shocks.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PeriodShock {
    /// First day of the period before.
    pub previous_from: UtcDay,
    /// First day of the period.
    pub from: UtcDay,
    /// Last day of the period.
    pub to: UtcDay,
    /// The shock (log).
    pub shock: f64,
}

fn day_text<S: serde::Serializer>(day: &UtcDay, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(day)
}

/// An ordinary least-squares line `y = a + b·x`: the intercept and slope, their standard
/// errors and the residuals.
struct Line {
    intercept: f64,
    intercept_standard_error: f64,
    slope: f64,
    slope_standard_error: f64,
    residuals: Vec<f64>,
}

/// The least-squares line through `(x, y)` (at least three points, `x` not all equal).
fn least_squares(points: &[(f64, f64)]) -> Option<Line> {
    let n = points.len() as f64;
    if points.len() < 3 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let residuals: Vec<f64> = points
        .iter()
        .map(|p| p.1 - intercept - slope * p.0)
        .collect();
    let residual_variance = residuals.iter().map(|r| r * r).sum::<f64>() / (n - 2.0);
    Some(Line {
        intercept,
        intercept_standard_error: (residual_variance * (1.0 / n + mean_x * mean_x / sxx)).sqrt(),
        slope,
        slope_standard_error: (residual_variance / sxx).sqrt(),
        residuals,
    })
}

/// The sample standard deviation (n − 1).
fn standard_deviation(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn least_squares_of_a_line_and_its_error() {
        let exact: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 2.0 + 0.5 * i as f64)).collect();
        let line = least_squares(&exact).unwrap();
        assert!((line.slope - 0.5).abs() < 1e-12);
        assert!(line.residuals.iter().all(|r| r.abs() < 1e-12));
        assert!(line.slope_standard_error < 1e-12);
        assert!(least_squares(&exact[..2]).is_none());
        assert!(least_squares(&[(1.0, 1.0), (1.0, 2.0), (1.0, 3.0)]).is_none());
        assert!(
            (standard_deviation(&[1.0, 2.0, 3.0, 4.0]) - 1.290_994_448_735_805_6).abs() < 1e-15
        );
    }
}
