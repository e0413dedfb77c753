//! BTC: daily log returns fitted by maximum likelihood to a two-regime (calm / stress)
//! Markov-switching jump-diffusion — in each regime a normal diffusion and, with a regime's
//! daily probability, a normal jump on top — with the EM algorithm (Hamilton's filter forward,
//! Kim's smoother backward), then turned into the monthly parameters of `[market.model]` with
//! standard errors from the observed information (the numerical Hessian of the
//! log-likelihood) and the delta method.

use bitwatt_chain::{DailyClose, UtcDay};
use bitwatt_model::MarketModel;
use serde::Serialize;

use crate::simulate::Estimate;

use super::{DAYS_PER_MONTH, DAYS_PER_YEAR, day_text};

/// Most EM iterations.
const MAX_ITERATIONS: usize = 2_000;

/// EM stops once an iteration improves the log-likelihood by less than this.
const LOG_LIKELIHOOD_TOLERANCE: f64 = 1e-9;

/// Fewest daily returns a fit accepts.
pub const MIN_CALIBRATION_DAYS: usize = 250;

/// A problem with the data to calibrate on.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum CalibrationError {
    /// Too few returns.
    #[error(
        "{days} daily returns between {from} and {to}: expected at least {MIN_CALIBRATION_DAYS}"
    )]
    TooFewDays {
        /// Returns found.
        days: usize,
        /// First day.
        from: String,
        /// Last day.
        to: String,
    },
}

/// The daily parameters of the two-regime jump-diffusion; regime 0 is calm (the lower
/// diffusion variance), 1 is stress.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct DailyRegimeModel {
    /// Probability of staying in each regime from one day to the next.
    pub stay_probability: [f64; 2],
    /// Mean daily log return of the diffusion in each regime.
    pub mean: [f64; 2],
    /// Variance of the daily diffusion in each regime.
    pub variance: [f64; 2],
    /// Daily probability of a jump in each regime.
    pub jump_probability: [f64; 2],
    /// Mean log size of a jump.
    pub jump_mean: f64,
    /// Variance of the log size of a jump.
    pub jump_variance: f64,
}

/// Number of free parameters of [`DailyRegimeModel`].
const PARAMETERS: usize = 10;

impl DailyRegimeModel {
    /// The parameters unconstrained: logits of probabilities, logs of variances.
    fn to_theta(self) -> [f64; PARAMETERS] {
        [
            logit(self.stay_probability[0]),
            logit(self.stay_probability[1]),
            self.mean[0],
            self.mean[1],
            self.variance[0].ln(),
            self.variance[1].ln(),
            logit(self.jump_probability[0]),
            logit(self.jump_probability[1]),
            self.jump_mean,
            self.jump_variance.ln(),
        ]
    }

    fn from_theta(theta: &[f64; PARAMETERS]) -> DailyRegimeModel {
        DailyRegimeModel {
            stay_probability: [logistic(theta[0]), logistic(theta[1])],
            mean: [theta[2], theta[3]],
            variance: [theta[4].exp(), theta[5].exp()],
            jump_probability: [logistic(theta[6]), logistic(theta[7])],
            jump_mean: theta[8],
            jump_variance: theta[9].exp(),
        }
    }

    /// The density of a return `r` in regime `s`: the diffusion alone, and with a jump.
    fn densities(&self, s: usize, r: f64) -> (f64, f64) {
        let no_jump = (1.0 - self.jump_probability[s]) * normal(r, self.mean[s], self.variance[s]);
        let jump = self.jump_probability[s]
            * normal(
                r,
                self.mean[s] + self.jump_mean,
                self.variance[s] + self.jump_variance,
            );
        (no_jump, jump)
    }

    /// Probability of being in stress in the long run.
    fn stationary_stress(&self) -> f64 {
        let [a, b] = self.stay_probability;
        (1.0 - a) / (2.0 - a - b)
    }

    /// The probabilities of entering and of leaving stress over `days` days: the two-state
    /// chain's transition matrix raised to `days` (any real power, by its eigenvalues).
    fn switch_probabilities(&self, days: f64) -> (f64, f64) {
        let [a, b] = self.stay_probability;
        let decay = (a + b - 1.0).powf(days);
        let total = 2.0 - a - b;
        (
            (1.0 - a) / total * (1.0 - decay),
            (1.0 - b) / total * (1.0 - decay),
        )
    }
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn normal(x: f64, mean: f64, variance: f64) -> f64 {
    let z = x - mean;
    (-0.5 * z * z / variance).exp() / (2.0 * std::f64::consts::PI * variance).sqrt()
}

/// The forward filter and backward smoother of a model on `returns`.
struct Filtered {
    log_likelihood: f64,
    /// Smoothed P(regime s on day t).
    smoothed: Vec<[f64; 2]>,
    /// Expected transitions i → j, summed over days.
    transitions: [[f64; 2]; 2],
}

/// The log-likelihood alone (Hamilton's filter).
fn log_likelihood(model: &DailyRegimeModel, returns: &[f64]) -> f64 {
    let mut belief = [1.0 - model.stationary_stress(), model.stationary_stress()];
    let mut total = 0.0;
    for &r in returns {
        let predicted = predict(model, belief);
        let joint: [f64; 2] = std::array::from_fn(|s| {
            let (a, b) = model.densities(s, r);
            predicted[s] * (a + b)
        });
        let density = joint[0] + joint[1];
        if density.is_nan() || density <= 0.0 {
            return f64::NEG_INFINITY;
        }
        total += density.ln();
        belief = [joint[0] / density, joint[1] / density];
    }
    total
}

fn predict(model: &DailyRegimeModel, belief: [f64; 2]) -> [f64; 2] {
    let [a, b] = model.stay_probability;
    [
        belief[0] * a + belief[1] * (1.0 - b),
        belief[0] * (1.0 - a) + belief[1] * b,
    ]
}

/// Hamilton's filter forward and Kim's smoother backward.
fn filter_and_smooth(model: &DailyRegimeModel, returns: &[f64]) -> Filtered {
    let n = returns.len();
    let mut filtered = Vec::with_capacity(n);
    let mut predicted_all = Vec::with_capacity(n);
    let mut belief = [1.0 - model.stationary_stress(), model.stationary_stress()];
    let mut log_likelihood = 0.0;
    for &r in returns {
        let predicted = predict(model, belief);
        let joint: [f64; 2] = std::array::from_fn(|s| {
            let (a, b) = model.densities(s, r);
            predicted[s] * (a + b)
        });
        let density = (joint[0] + joint[1]).max(f64::MIN_POSITIVE);
        log_likelihood += density.ln();
        belief = [joint[0] / density, joint[1] / density];
        predicted_all.push(predicted);
        filtered.push(belief);
    }
    let [a, b] = model.stay_probability;
    let transition = [[a, 1.0 - a], [1.0 - b, b]];
    let mut smoothed = vec![[0.0; 2]; n];
    let mut transitions = [[0.0; 2]; 2];
    smoothed[n - 1] = filtered[n - 1];
    for t in (0..n - 1).rev() {
        for i in 0..2 {
            let mut sum = 0.0;
            for j in 0..2 {
                let next = predicted_all[t + 1][j].max(f64::MIN_POSITIVE);
                let joint = filtered[t][i] * transition[i][j] * smoothed[t + 1][j] / next;
                transitions[i][j] += joint;
                sum += joint;
            }
            smoothed[t][i] = sum;
        }
    }
    Filtered {
        log_likelihood,
        smoothed,
        transitions,
    }
}

/// One EM step: the expected complete-data statistics under `model`, and the parameters
/// that maximise them (the diffusion from each regime's no-jump days, the jump from the
/// jump days net of the diffusion — an expectation–conditional-maximisation step).
fn em_step(model: &DailyRegimeModel, returns: &[f64]) -> (DailyRegimeModel, f64) {
    let filtered = filter_and_smooth(model, returns);
    let mut next = *model;
    for s in 0..2 {
        let leaving = filtered.transitions[s][0] + filtered.transitions[s][1];
        if leaving > 0.0 {
            next.stay_probability[s] =
                (filtered.transitions[s][s] / leaving).clamp(1e-6, 1.0 - 1e-6);
        }
    }
    // Per day and regime: the weight of the regime, and the share of it that is a jump.
    let mut diffusion = [(0.0, 0.0, 0.0); 2]; // (weight, Σ w r, Σ w r²)
    let mut jump_weight = [0.0; 2];
    let mut regime_weight = [0.0; 2];
    let responsibility: Vec<[f64; 2]> = returns
        .iter()
        .zip(&filtered.smoothed)
        .map(|(&r, gamma)| {
            std::array::from_fn(|s| {
                let (no_jump, jump) = model.densities(s, r);
                let total = no_jump + jump;
                let rho = if total > 0.0 { jump / total } else { 0.0 };
                gamma[s] * rho
            })
        })
        .collect();
    for ((&r, gamma), jumps) in returns.iter().zip(&filtered.smoothed).zip(&responsibility) {
        for s in 0..2 {
            let w = gamma[s] - jumps[s];
            diffusion[s].0 += w;
            diffusion[s].1 += w * r;
            diffusion[s].2 += w * r * r;
            jump_weight[s] += jumps[s];
            regime_weight[s] += gamma[s];
        }
    }
    for s in 0..2 {
        let (w, sum, squares) = diffusion[s];
        if w > 1.0 {
            next.mean[s] = sum / w;
            next.variance[s] = (squares / w - next.mean[s] * next.mean[s]).max(1e-10);
        }
        if regime_weight[s] > 0.0 {
            next.jump_probability[s] = (jump_weight[s] / regime_weight[s]).clamp(1e-6, 0.5);
        }
    }
    let total_jumps = jump_weight[0] + jump_weight[1];
    if total_jumps > 1.0 {
        let mut sum = 0.0;
        for (&r, jumps) in returns.iter().zip(&responsibility) {
            for (jump, mean) in jumps.iter().zip(next.mean) {
                sum += jump * (r - mean);
            }
        }
        next.jump_mean = sum / total_jumps;
        let mut squares = 0.0;
        let mut diffusion_variance = 0.0;
        for (&r, jumps) in returns.iter().zip(&responsibility) {
            for ((jump, mean), variance) in jumps.iter().zip(next.mean).zip(next.variance) {
                let z = r - mean - next.jump_mean;
                squares += jump * z * z;
                diffusion_variance += jump * variance;
            }
        }
        next.jump_variance =
            ((squares - diffusion_variance) / total_jumps).max(next.variance[0].max(1e-8));
    }
    (next, filtered.log_likelihood)
}

/// The calm regime first (the lower diffusion variance).
fn ordered(model: DailyRegimeModel) -> DailyRegimeModel {
    if model.variance[0] <= model.variance[1] {
        return model;
    }
    DailyRegimeModel {
        stay_probability: [model.stay_probability[1], model.stay_probability[0]],
        mean: [model.mean[1], model.mean[0]],
        variance: [model.variance[1], model.variance[0]],
        jump_probability: [model.jump_probability[1], model.jump_probability[0]],
        ..model
    }
}

/// A starting point from the returns' spread: a calm regime at the variance of the middle
/// returns, a stress regime at four times it, rare wide jumps.
fn initial_model(returns: &[f64]) -> DailyRegimeModel {
    let mut sorted: Vec<f64> = returns.iter().map(|r| r.abs()).collect();
    sorted.sort_by(f64::total_cmp);
    // The median absolute return of a normal is 0.6745 σ.
    let sigma = (sorted[sorted.len() / 2] / 0.6745).max(1e-4);
    let mean = returns.iter().sum::<f64>() / returns.len() as f64;
    DailyRegimeModel {
        stay_probability: [0.98, 0.95],
        mean: [mean, mean],
        variance: [sigma * sigma * 0.7, sigma * sigma * 3.0],
        jump_probability: [0.01, 0.02],
        jump_mean: 0.0,
        jump_variance: 25.0 * sigma * sigma,
    }
}

/// Fits the two-regime jump-diffusion to daily log `returns` by EM from `initial_model`.
/// Returns the model, its log-likelihood, the iterations and whether EM converged.
pub fn fit_daily_regime_model(returns: &[f64]) -> (DailyRegimeModel, f64, usize, bool) {
    let mut model = initial_model(returns);
    let mut previous = f64::NEG_INFINITY;
    for iteration in 1..=MAX_ITERATIONS {
        let (next, log_likelihood) = em_step(&model, returns);
        model = next;
        if (log_likelihood - previous).abs() < LOG_LIKELIHOOD_TOLERANCE {
            let model = ordered(model);
            return (model, log_likelihood_of(&model, returns), iteration, true);
        }
        previous = log_likelihood;
    }
    let model = ordered(model);
    (
        model,
        log_likelihood_of(&model, returns),
        MAX_ITERATIONS,
        false,
    )
}

fn log_likelihood_of(model: &DailyRegimeModel, returns: &[f64]) -> f64 {
    log_likelihood(model, returns)
}

/// The BTC block of `[market.model]` as fitted, with standard errors.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BtcModelFit {
    /// `stress_entry_percent_per_month`.
    pub stress_entry_percent_per_month: Estimate,
    /// `stress_exit_percent_per_month`.
    pub stress_exit_percent_per_month: Estimate,
    /// `btc_calm_volatility_percent_per_year`.
    pub btc_calm_volatility_percent_per_year: Estimate,
    /// `btc_stress_volatility_percent_per_year`.
    pub btc_stress_volatility_percent_per_year: Estimate,
    /// `btc_jumps_per_year_calm`.
    pub btc_jumps_per_year_calm: Estimate,
    /// `btc_jumps_per_year_stress`.
    pub btc_jumps_per_year_stress: Estimate,
    /// `btc_jump_mean_percent`.
    pub btc_jump_mean_percent: Estimate,
    /// `btc_jump_volatility_percent`.
    pub btc_jump_volatility_percent: Estimate,
}

impl BtcModelFit {
    /// Writes the fitted values into `model` (the drifts stay as they are: an assumption).
    pub fn apply_to(&self, model: &mut MarketModel) {
        model.stress_entry_percent_per_month = self.stress_entry_percent_per_month.value;
        model.stress_exit_percent_per_month = self.stress_exit_percent_per_month.value;
        model.btc_calm_volatility_percent_per_year =
            Some(self.btc_calm_volatility_percent_per_year.value);
        model.btc_stress_volatility_percent_per_year =
            self.btc_stress_volatility_percent_per_year.value;
        model.btc_jumps_per_year_calm = self.btc_jumps_per_year_calm.value;
        model.btc_jumps_per_year_stress = self.btc_jumps_per_year_stress.value;
        model.btc_jump_mean_percent = self.btc_jump_mean_percent.value;
        model.btc_jump_volatility_percent = self.btc_jump_volatility_percent.value;
    }
}

/// What the historical returns drifted at: reported, never written into the model (the
/// drift is an assumption).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HistoricalDrift {
    /// Mean log return of the whole sample (percent a year).
    pub all_percent_per_year: f64,
    /// Of the calm regime's diffusion (percent a year).
    pub calm_percent_per_year: Estimate,
    /// Of the stress regime's diffusion (percent a year).
    pub stress_percent_per_year: Estimate,
}

/// A day's smoothed probability of the stress regime.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct RegimeDay {
    /// The day of the return's close.
    #[serde(serialize_with = "day_text")]
    pub day: UtcDay,
    /// P(stress | all the data).
    pub stress_probability: f64,
}

/// The calibration of BTC to daily closes.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct BtcCalibration {
    /// First day of the returns.
    #[serde(serialize_with = "day_text")]
    pub from: UtcDay,
    /// Last day.
    #[serde(serialize_with = "day_text")]
    pub to: UtcDay,
    /// Daily returns fitted (days whose previous day has a close).
    pub returns: usize,
    /// The daily model fitted.
    pub daily: DailyRegimeModel,
    /// Its `[market.model]` parameters.
    pub model: BtcModelFit,
    /// The annualised volatility of each regime, diffusion and jumps together (calm,
    /// stress; percent a year).
    pub total_volatility_percent_per_year: [Estimate; 2],
    /// The drift of history, for information.
    pub historical_drift: HistoricalDrift,
    /// Log-likelihood of the fit.
    pub log_likelihood: f64,
    /// Log-likelihood of one normal for every day (no regimes, no jumps).
    pub single_normal_log_likelihood: f64,
    /// Akaike's criterion of the fit less the single normal's (negative: the regimes and
    /// jumps are worth their parameters).
    pub aic_improvement: f64,
    /// EM iterations.
    pub iterations: usize,
    /// Whether EM converged.
    pub converged: bool,
    /// Long-run share of days in stress.
    pub stationary_stress_share: f64,
    /// Each day's smoothed probability of stress.
    pub regime_days: Vec<RegimeDay>,
}

/// The daily log returns of `closes` (consecutive days only) with the day each ends on.
pub fn daily_log_returns(closes: &[DailyClose]) -> Vec<(UtcDay, f64)> {
    closes
        .windows(2)
        .filter(|pair| pair[1].day == pair[0].day.next())
        .map(|pair| (pair[1].day, (pair[1].close_usd / pair[0].close_usd).ln()))
        .collect()
}

/// Fits BTC's regimes and jumps to `closes`.
pub fn calibrate_btc(closes: &[DailyClose]) -> Result<BtcCalibration, CalibrationError> {
    let dated = daily_log_returns(closes);
    let returns: Vec<f64> = dated.iter().map(|(_, r)| *r).collect();
    let day_of = |i: Option<&DailyClose>| i.map_or("-".to_string(), |c| c.day.to_string());
    if returns.len() < MIN_CALIBRATION_DAYS {
        return Err(CalibrationError::TooFewDays {
            days: returns.len(),
            from: day_of(closes.first()),
            to: day_of(closes.last()),
        });
    }
    let (daily, log_likelihood, iterations, converged) = fit_daily_regime_model(&returns);
    let covariance = covariance(&daily, &returns);
    let estimate = |f: &dyn Fn(&DailyRegimeModel) -> f64| delta_method(&daily, &covariance, f);
    let annual_vol =
        |s: usize| move |m: &DailyRegimeModel| (m.variance[s] * DAYS_PER_YEAR).sqrt() * 100.0;
    let model = BtcModelFit {
        stress_entry_percent_per_month: estimate(&|m| {
            m.switch_probabilities(DAYS_PER_MONTH).0 * 100.0
        }),
        stress_exit_percent_per_month: estimate(&|m| {
            m.switch_probabilities(DAYS_PER_MONTH).1 * 100.0
        }),
        btc_calm_volatility_percent_per_year: estimate(&annual_vol(0)),
        btc_stress_volatility_percent_per_year: estimate(&annual_vol(1)),
        btc_jumps_per_year_calm: estimate(&|m| m.jump_probability[0] * DAYS_PER_YEAR),
        btc_jumps_per_year_stress: estimate(&|m| m.jump_probability[1] * DAYS_PER_YEAR),
        btc_jump_mean_percent: estimate(&|m| m.jump_mean * 100.0),
        btc_jump_volatility_percent: estimate(&|m| m.jump_variance.sqrt() * 100.0),
    };
    let total_vol = |s: usize| {
        move |m: &DailyRegimeModel| {
            let jump = m.jump_probability[s];
            let jump_variance =
                jump * (m.jump_variance + m.jump_mean * m.jump_mean) - (jump * m.jump_mean).powi(2);
            ((m.variance[s] + jump_variance) * DAYS_PER_YEAR).sqrt() * 100.0
        }
    };
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let variance = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / n;
    let single_normal_log_likelihood = returns
        .iter()
        .map(|&r| normal(r, mean, variance).ln())
        .sum::<f64>();
    let drift = |s: usize| {
        move |m: &DailyRegimeModel| (m.mean[s] + 0.5 * m.variance[s]) * DAYS_PER_YEAR * 100.0
    };
    let smoothed = filter_and_smooth(&daily, &returns).smoothed;
    Ok(BtcCalibration {
        from: dated[0].0,
        to: dated[dated.len() - 1].0,
        returns: returns.len(),
        total_volatility_percent_per_year: [estimate(&total_vol(0)), estimate(&total_vol(1))],
        model,
        historical_drift: HistoricalDrift {
            all_percent_per_year: (mean + 0.5 * variance) * DAYS_PER_YEAR * 100.0,
            calm_percent_per_year: estimate(&drift(0)),
            stress_percent_per_year: estimate(&drift(1)),
        },
        log_likelihood,
        single_normal_log_likelihood,
        aic_improvement: 2.0 * (PARAMETERS as f64 - 2.0)
            - 2.0 * (log_likelihood - single_normal_log_likelihood),
        iterations,
        converged,
        stationary_stress_share: daily.stationary_stress(),
        regime_days: dated
            .iter()
            .zip(&smoothed)
            .map(|((day, _), p)| RegimeDay {
                day: *day,
                stress_probability: p[1],
            })
            .collect(),
        daily,
    })
}

/// The covariance of the unconstrained parameters: the inverse of the observed information
/// (minus the Hessian of the log-likelihood, by central differences); `None` where it is not
/// positive definite (a parameter the data does not pin down).
fn covariance(
    model: &DailyRegimeModel,
    returns: &[f64],
) -> Option<[[f64; PARAMETERS]; PARAMETERS]> {
    let theta = model.to_theta();
    let f = |t: &[f64; PARAMETERS]| log_likelihood(&DailyRegimeModel::from_theta(t), returns);
    let step: [f64; PARAMETERS] = std::array::from_fn(|i| 1e-4 * theta[i].abs().max(1.0));
    let mut information = [[0.0; PARAMETERS]; PARAMETERS];
    let centre = f(&theta);
    for i in 0..PARAMETERS {
        for j in 0..=i {
            let at = |di: f64, dj: f64| {
                let mut t = theta;
                t[i] += di * step[i];
                t[j] += dj * step[j];
                f(&t)
            };
            let second = if i == j {
                (at(1.0, 0.0) - 2.0 * centre + at(-1.0, 0.0)) / (step[i] * step[i])
            } else {
                (at(1.0, 1.0) - at(1.0, -1.0) - at(-1.0, 1.0) + at(-1.0, -1.0))
                    / (4.0 * step[i] * step[j])
            };
            information[i][j] = -second;
            information[j][i] = -second;
        }
    }
    invert_positive_definite(information)
}

/// The inverse of a symmetric positive definite matrix (Cholesky), `None` if it is not.
fn invert_positive_definite(
    matrix: [[f64; PARAMETERS]; PARAMETERS],
) -> Option<[[f64; PARAMETERS]; PARAMETERS]> {
    let mut l = [[0.0; PARAMETERS]; PARAMETERS];
    for i in 0..PARAMETERS {
        for j in 0..=i {
            let dot: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            let value = matrix[i][j] - dot;
            if i == j {
                if value.is_nan() || value <= 0.0 {
                    return None;
                }
                l[i][i] = value.sqrt();
            } else {
                l[i][j] = value / l[j][j];
            }
        }
    }
    // Solve L·Lᵀ·X = I column by column.
    let mut inverse = [[0.0; PARAMETERS]; PARAMETERS];
    for column in 0..PARAMETERS {
        let mut y = [0.0; PARAMETERS];
        for i in 0..PARAMETERS {
            let e = if i == column { 1.0 } else { 0.0 };
            let dot: f64 = (0..i).map(|k| l[i][k] * y[k]).sum();
            y[i] = (e - dot) / l[i][i];
        }
        let mut x = [0.0; PARAMETERS];
        for i in (0..PARAMETERS).rev() {
            let dot: f64 = (i + 1..PARAMETERS).map(|k| l[k][i] * x[k]).sum();
            x[i] = (y[i] - dot) / l[i][i];
        }
        for (row, value) in inverse.iter_mut().zip(x) {
            row[column] = value;
        }
    }
    Some(inverse)
}

/// `g` of the fitted model with its standard error by the delta method (NaN without a
/// covariance).
fn delta_method(
    model: &DailyRegimeModel,
    covariance: &Option<[[f64; PARAMETERS]; PARAMETERS]>,
    g: &dyn Fn(&DailyRegimeModel) -> f64,
) -> Estimate {
    let value = g(model);
    let Some(covariance) = covariance else {
        return Estimate {
            value,
            standard_error: f64::NAN,
        };
    };
    let theta = model.to_theta();
    let gradient: [f64; PARAMETERS] = std::array::from_fn(|i| {
        let h = 1e-6 * theta[i].abs().max(1.0);
        let (mut up, mut down) = (theta, theta);
        up[i] += h;
        down[i] -= h;
        (g(&DailyRegimeModel::from_theta(&up)) - g(&DailyRegimeModel::from_theta(&down)))
            / (2.0 * h)
    });
    let mut variance = 0.0;
    for i in 0..PARAMETERS {
        for j in 0..PARAMETERS {
            variance += gradient[i] * covariance[i][j] * gradient[j];
        }
    }
    Estimate {
        value,
        standard_error: variance.max(0.0).sqrt(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngExt, SeedableRng};
    use rand_distr::{Distribution, StandardNormal};

    /// Daily returns drawn from `model`, starting calm.
    fn synthetic(model: &DailyRegimeModel, days: usize, seed: u64) -> Vec<f64> {
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(seed);
        let mut regime = 0;
        (0..days)
            .map(|_| {
                if rng.random::<f64>() > model.stay_probability[regime] {
                    regime = 1 - regime;
                }
                let z: f64 = StandardNormal.sample(&mut rng);
                let mut r = model.mean[regime] + model.variance[regime].sqrt() * z;
                if rng.random::<f64>() < model.jump_probability[regime] {
                    let j: f64 = StandardNormal.sample(&mut rng);
                    r += model.jump_mean + model.jump_variance.sqrt() * j;
                }
                r
            })
            .collect()
    }

    #[test]
    fn switching_over_a_month_follows_the_chain() {
        let model = DailyRegimeModel {
            stay_probability: [0.99, 0.95],
            mean: [0.0; 2],
            variance: [1e-4; 2],
            jump_probability: [0.01; 2],
            jump_mean: 0.0,
            jump_variance: 1e-2,
        };
        // One day: the daily probabilities; a long time: the stationary shares.
        let (entry, exit) = model.switch_probabilities(1.0);
        assert!((entry - 0.01).abs() < 1e-12 && (exit - 0.05).abs() < 1e-12);
        let (entry, exit) = model.switch_probabilities(1e6);
        assert!((entry - model.stationary_stress()).abs() < 1e-12);
        assert!((exit - (1.0 - model.stationary_stress())).abs() < 1e-12);
        // Two days: the matrix squared.
        let (entry, _) = model.switch_probabilities(2.0);
        assert!((entry - (0.99 * 0.01 + 0.01 * 0.95)).abs() < 1e-12);
    }

    #[test]
    fn the_inverse_of_a_positive_definite_matrix() {
        let mut m: [[f64; PARAMETERS]; PARAMETERS] = std::array::from_fn(|i| {
            std::array::from_fn(|j| {
                if i == j {
                    4.0 + i as f64
                } else {
                    1.0 / (1.0 + (i + j) as f64)
                }
            })
        });
        let inverse = invert_positive_definite(m).unwrap();
        for (i, row) in m.iter().enumerate() {
            for j in 0..PARAMETERS {
                let product: f64 = row.iter().zip(&inverse).map(|(a, b)| a * b[j]).sum();
                assert!((product - f64::from(u8::from(i == j))).abs() < 1e-12);
            }
        }
        m[0][0] = -1.0;
        assert!(invert_positive_definite(m).is_none());
    }

    /// On returns drawn from known parameters, every `[market.model]` parameter is recovered
    /// within three standard errors.
    #[test]
    fn recovers_known_parameters_within_three_standard_errors() {
        let truth = DailyRegimeModel {
            stay_probability: [0.995, 0.98],
            mean: [0.001, -0.002],
            variance: [0.025f64.powi(2), 0.055f64.powi(2)],
            jump_probability: [8.0 / DAYS_PER_YEAR, 20.0 / DAYS_PER_YEAR],
            jump_mean: -0.05,
            jump_variance: 0.12f64.powi(2),
        };
        let returns = synthetic(&truth, 12_000, 11);
        let start = UtcDay::from_days_since_epoch(10_000);
        let mut price = 100.0;
        let mut closes = vec![DailyClose {
            day: start,
            close_usd: price,
        }];
        for (i, r) in returns.iter().enumerate() {
            price *= r.exp();
            closes.push(DailyClose {
                day: UtcDay::from_days_since_epoch(10_001 + i as i64),
                close_usd: price,
            });
        }
        let fit = calibrate_btc(&closes).unwrap();
        assert!(fit.converged);
        assert!(fit.aic_improvement < 0.0);
        let m = &fit.model;
        let (entry, exit) = truth.switch_probabilities(DAYS_PER_MONTH);
        let checks = [
            ("entry", &m.stress_entry_percent_per_month, entry * 100.0),
            ("exit", &m.stress_exit_percent_per_month, exit * 100.0),
            (
                "calm vol",
                &m.btc_calm_volatility_percent_per_year,
                0.025 * DAYS_PER_YEAR.sqrt() * 100.0,
            ),
            (
                "stress vol",
                &m.btc_stress_volatility_percent_per_year,
                0.055 * DAYS_PER_YEAR.sqrt() * 100.0,
            ),
            ("calm jumps", &m.btc_jumps_per_year_calm, 8.0),
            ("stress jumps", &m.btc_jumps_per_year_stress, 20.0),
            ("jump mean", &m.btc_jump_mean_percent, -5.0),
            ("jump vol", &m.btc_jump_volatility_percent, 12.0),
        ];
        for (name, estimate, truth) in checks {
            assert!(estimate.standard_error > 0.0, "{name}: {estimate:?}");
            let z = (estimate.value - truth) / estimate.standard_error;
            assert!(
                z.abs() <= 3.0,
                "{name}: {estimate:?} against {truth} (z = {z:.2})"
            );
        }
    }
}
