//! `[market.model]`: the stochastic market of the Monte Carlo — regimes, the factor
//! processes and their correlations. Defaults come from the data-derived section of the
//! reference figures where there is one, and are labelled assumptions otherwise; the BTC drift
//! in the calm regime is the base case's (the risk-free rate by default), never a fit.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The factors whose monthly shocks are correlated, in the order of the correlation matrix.
pub const MODEL_FACTORS: [&str; 6] = ["btc", "gpu_rent", "ai_demand", "power", "fees", "sofr"];

/// The stochastic market model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketModel {
    /// Monthly probability of moving from the calm to the stress regime (percent).
    #[serde(default = "default_stress_entry")]
    pub stress_entry_percent_per_month: f64,
    /// Monthly probability of leaving the stress regime (percent).
    #[serde(default = "default_stress_exit")]
    pub stress_exit_percent_per_month: f64,
    /// BTC volatility in the calm regime (percent a year); default: the market's
    /// `btc_volatility_percent_per_year`.
    #[serde(default)]
    pub btc_calm_volatility_percent_per_year: Option<f64>,
    /// BTC volatility in the stress regime (percent a year).
    #[serde(default = "default_btc_stress_volatility")]
    pub btc_stress_volatility_percent_per_year: f64,
    /// BTC drift in the stress regime (percent a year, continuously compounded).
    #[serde(default = "default_btc_stress_drift")]
    pub btc_stress_drift_percent_per_year: f64,
    /// BTC price jumps a year in the calm regime (Poisson intensity); jumps are compensated in
    /// the drift, so they widen the distribution without moving its mean.
    #[serde(default = "default_calm_jumps")]
    pub btc_jumps_per_year_calm: f64,
    /// BTC price jumps a year in the stress regime.
    #[serde(default = "default_stress_jumps")]
    pub btc_jumps_per_year_stress: f64,
    /// Mean log size of a BTC jump (percent).
    #[serde(default = "default_jump_mean")]
    pub btc_jump_mean_percent: f64,
    /// Standard deviation of the log size of a BTC jump (percent).
    #[serde(default = "default_jump_volatility")]
    pub btc_jump_volatility_percent: f64,
    /// Monthly probability, in the stress regime, of a common crash that hits BTC, GPU rents
    /// and AI demand together (percent).
    #[serde(default = "default_crash_probability")]
    pub crash_percent_per_month_in_stress: f64,
    /// How far a common crash takes BTC, GPU rents and AI demand down (percent).
    #[serde(default = "default_crash_size")]
    pub crash_size_percent: f64,
    /// Volatility of the log fees per block (percent a year).
    #[serde(default = "default_fees_volatility")]
    pub fees_volatility_percent_per_year: f64,
    /// Speed at which log fees revert to the base case (per year).
    #[serde(default = "default_fees_reversion")]
    pub fees_reversion_per_year: f64,
    /// Monthly probability of a congestion spike in fees (percent).
    #[serde(default = "default_fee_spike_probability")]
    pub fee_spike_percent_per_month: f64,
    /// Fees in a congestion month, as a multiple of the month's level.
    #[serde(default = "default_fee_spike_multiple")]
    pub fee_spike_multiple: f64,
    /// Volatility of the GPU rent index around its deflating base (percent a year).
    #[serde(default = "default_rent_volatility")]
    pub gpu_rent_volatility_percent_per_year: f64,
    /// Volatility of AI demand (percent a year).
    #[serde(default = "default_demand_volatility")]
    pub ai_demand_volatility_percent_per_year: f64,
    /// Speed at which AI demand reverts to the base case (per year).
    #[serde(default = "default_demand_reversion")]
    pub ai_demand_reversion_per_year: f64,
    /// Volatility of the log spot power price (percent a year).
    #[serde(default = "default_power_volatility")]
    pub power_volatility_percent_per_year: f64,
    /// Speed at which the log power price reverts to the base case (per year).
    #[serde(default = "default_power_reversion")]
    pub power_reversion_per_year: f64,
    /// Monthly probability of a power price spike outside the peak months (percent).
    #[serde(default = "default_power_spike_probability")]
    pub power_spike_percent_per_month: f64,
    /// Monthly probability of a power price spike in a peak month (percent): heat waves and
    /// winter storms make scarcity pricing seasonal.
    #[serde(default = "default_power_spike_peak_probability")]
    pub power_spike_percent_per_peak_month: f64,
    /// The peak months of the power market, calendar months 1 (January) to 12 (December).
    #[serde(default = "default_power_peak_months")]
    pub power_spike_peak_months: Vec<u32>,
    /// The month's average power price in a spike month, as a multiple of its level.
    #[serde(default = "default_power_spike_multiple")]
    pub power_spike_multiple: f64,
    /// Grid events a year (Poisson intensity): load shedding or forced outages that take every
    /// site off the grid for `grid_event_outage_days`, beyond their expected outages.
    #[serde(default = "default_grid_events")]
    pub grid_events_per_year: f64,
    /// Days every site is off the grid in one grid event.
    #[serde(default = "default_grid_event_outage_days")]
    pub grid_event_outage_days: f64,
    /// Volatility of the world fleet's installed hashrate beyond its cost-curve response
    /// (percent a year): each month the installed capacity is multiplied by a mean-one
    /// log-normal factor with a deviation of this over √12 (hidden deployments, bans, weather),
    /// and the fleet's economics respond to it through hashprice and the difficulty.
    #[serde(default = "default_hashrate_noise")]
    pub hashrate_noise_percent_per_year: f64,
    /// Standard deviation of a future GPU generation's launch around its scheduled month
    /// (months): each path moves every launch after the start by a whole number of months,
    /// a rounded normal, to no earlier than the month after the start; 0 keeps the schedule.
    #[serde(default = "default_launch_jitter")]
    pub gpu_launch_jitter_months: f64,
    /// Volatility of SOFR (percentage points a year).
    #[serde(default = "default_sofr_volatility")]
    pub sofr_volatility_points_per_year: f64,
    /// Speed at which SOFR reverts to the base case (per year).
    #[serde(default = "default_sofr_reversion")]
    pub sofr_reversion_per_year: f64,
    /// Correlation of the monthly shocks in the calm regime, rows and columns in the order of
    /// [`MODEL_FACTORS`]: btc, gpu_rent, ai_demand, power, fees, sofr. Must be a correlation
    /// matrix (symmetric, unit diagonal, positive semi-definite).
    #[serde(default = "default_calm_correlation")]
    pub calm_correlation: Vec<Vec<f64>>,
    /// Correlation convergence in the stress regime, w in [0, 1]: C_stress = (1 − w)·C_calm +
    /// w·s·sᵀ, s the direction in which everything goes bad together (BTC, GPU rents and AI
    /// demand down, power up; fees and SOFR apart).
    #[serde(default = "default_convergence")]
    pub correlation_convergence: f64,
}

impl Default for MarketModel {
    fn default() -> Self {
        toml::from_str("").expect("every model field has a default")
    }
}

fn default_stress_entry() -> f64 {
    // Assumption: a stress spell begins about once every four years.
    2.0
}
fn default_stress_exit() -> f64 {
    // Assumption: stress spells last about ten months (2018, 2022).
    10.0
}
fn default_btc_stress_volatility() -> f64 {
    // The EM fit of a two-state model to monthly BTC returns finds ≈ 50 % and ≈ 80 %
    // annualised volatility (REFERENCE, data-derived).
    80.0
}
fn default_btc_stress_drift() -> f64 {
    // Assumption: with its crashes, a year of stress takes BTC down by about half.
    -40.0
}
fn default_calm_jumps() -> f64 {
    1.0
}
fn default_stress_jumps() -> f64 {
    3.0
}
fn default_jump_mean() -> f64 {
    // Daily returns are fat-tailed (REFERENCE); jumps are mostly down.
    -10.0
}
fn default_jump_volatility() -> f64 {
    10.0
}
fn default_crash_probability() -> f64 {
    // Assumption: about one common crash in a ten-month stress spell (FTX, 2022).
    2.0
}
fn default_crash_size() -> f64 {
    25.0
}
fn default_fees_volatility() -> f64 {
    80.0
}
fn default_fees_reversion() -> f64 {
    4.0
}
fn default_fee_spike_probability() -> f64 {
    5.0
}
fn default_fee_spike_multiple() -> f64 {
    3.0
}
fn default_rent_volatility() -> f64 {
    // H100 list rents moved 20–40 % a year around their trend in 2024–26 (rate cards).
    25.0
}
fn default_demand_volatility() -> f64 {
    15.0
}
fn default_demand_reversion() -> f64 {
    1.0
}
fn default_power_volatility() -> f64 {
    40.0
}
fn default_power_reversion() -> f64 {
    6.0
}
fn default_power_spike_probability() -> f64 {
    // Assumption: scarcity pricing outside the peak months is rare, about one month in four
    // years.
    2.0
}
fn default_power_spike_peak_probability() -> f64 {
    // Assumption: about one peak month in seven spikes (Texas scarcity pricing in the summers
    // of 2023 and 2024; winter storms Uri, February 2021, and Elliott, December 2022).
    15.0
}
fn default_power_peak_months() -> Vec<u32> {
    // Assumption: January (winter storms), July and August (heat waves).
    vec![1, 7, 8]
}
fn default_power_spike_multiple() -> f64 {
    // Assumption: a spike month averages twice its usual price.
    2.0
}
fn default_grid_events() -> f64 {
    // Assumption: a grid event every two years.
    0.5
}
fn default_grid_event_outage_days() -> f64 {
    // Assumption: load shedding in winter storm Uri (February 2021) lasted about four days;
    // most events are shorter.
    3.0
}
fn default_hashrate_noise() -> f64 {
    // Monthly log growth of difficulty had a deviation of ≈ 5.4 % in 2022–26 (≈ 19 % a
    // year; shared/data/btc_daily_difficulty.csv), part of it the fleet's response to price,
    // which the cost curve gives; assumption: 15 % a year is noise beyond it.
    15.0
}
fn default_launch_jitter() -> f64 {
    // Assumption: launches slip, or come early, by about a quarter (press reports in 2024 had
    // Blackwell slipping by about a quarter; unverified).
    3.0
}
fn default_sofr_volatility() -> f64 {
    0.8
}
fn default_sofr_reversion() -> f64 {
    0.5
}
fn default_calm_correlation() -> Vec<Vec<f64>> {
    // Assumption: BTC, GPU rents and AI demand move loosely together in calm markets; power,
    // fees and rates mostly apart.
    vec![
        vec![1.0, 0.2, 0.2, 0.0, 0.1, 0.0],
        vec![0.2, 1.0, 0.5, 0.0, 0.0, 0.0],
        vec![0.2, 0.5, 1.0, 0.0, 0.0, 0.0],
        vec![0.0, 0.0, 0.0, 1.0, 0.0, 0.0],
        vec![0.1, 0.0, 0.0, 0.0, 1.0, 0.0],
        vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
    ]
}
fn default_convergence() -> f64 {
    0.5
}

/// Number of correlated factors.
pub const FACTOR_COUNT: usize = MODEL_FACTORS.len();

/// Lower-triangular factor L of a correlation matrix C = L·Lᵀ, for a positive
/// semi-definite matrix (a zero pivot gives a zero column); `Err(row)` names the first row at
/// which C is found not to be positive semi-definite.
pub fn correlation_cholesky(
    correlation: &[[f64; FACTOR_COUNT]; FACTOR_COUNT],
) -> Result<[[f64; FACTOR_COUNT]; FACTOR_COUNT], usize> {
    const TOLERANCE: f64 = 1e-10;
    let mut l = [[0.0; FACTOR_COUNT]; FACTOR_COUNT];
    for i in 0..FACTOR_COUNT {
        for j in 0..=i {
            let dot: f64 = l[i][..j].iter().zip(&l[j][..j]).map(|(a, b)| a * b).sum();
            let sum = correlation[i][j] - dot;
            if i == j {
                if sum < -TOLERANCE {
                    return Err(i);
                }
                l[i][i] = sum.max(0.0).sqrt();
            } else if l[j][j] > TOLERANCE {
                l[i][j] = sum / l[j][j];
            } else if sum.abs() > TOLERANCE {
                // A zero pivot with a non-zero remainder: not semi-definite.
                return Err(i);
            }
        }
    }
    Ok(l)
}

/// The nearest correlation matrix to `matrix` (symmetric, unit diagonal) in the Frobenius
/// norm: Higham's alternating projections with Dykstra's correction ("Computing the nearest
/// correlation matrix — a problem from finance", IMA J. Numer. Anal. 22, 2002), the
/// eigenvalues of the result floored at a small positive value so it factorises. A positive
/// semi-definite correlation matrix comes back as it was, up to rounding.
pub fn nearest_correlation(
    matrix: &[[f64; FACTOR_COUNT]; FACTOR_COUNT],
) -> [[f64; FACTOR_COUNT]; FACTOR_COUNT] {
    const MAX_ITERATIONS: usize = 1_000;
    const TOLERANCE: f64 = 1e-12;
    const EIGENVALUE_FLOOR: f64 = 1e-10;
    let mut y = *matrix;
    let mut correction = [[0.0; FACTOR_COUNT]; FACTOR_COUNT];
    for _ in 0..MAX_ITERATIONS {
        let mut r = y;
        for (row, correction_row) in r.iter_mut().zip(&correction) {
            for (cell, c) in row.iter_mut().zip(correction_row) {
                *cell -= c;
            }
        }
        let x = psd_projection(&r, 0.0);
        for i in 0..FACTOR_COUNT {
            for j in 0..FACTOR_COUNT {
                correction[i][j] = x[i][j] - r[i][j];
            }
        }
        let previous = y;
        y = x;
        for (i, row) in y.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        let change: f64 = (0..FACTOR_COUNT)
            .flat_map(|i| (0..FACTOR_COUNT).map(move |j| (i, j)))
            .map(|(i, j)| (y[i][j] - previous[i][j]).powi(2))
            .sum();
        if change.sqrt() < TOLERANCE {
            break;
        }
    }
    // Strictly positive eigenvalues, then the unit diagonal back by a congruence (which keeps
    // them positive).
    let x = psd_projection(&y, EIGENVALUE_FLOOR);
    let scale: [f64; FACTOR_COUNT] = std::array::from_fn(|i| 1.0 / x[i][i].sqrt());
    std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            if i == j {
                1.0
            } else {
                x[i][j] * scale[i] * scale[j]
            }
        })
    })
}

/// `matrix` (symmetric) with its eigenvalues floored at `floor`: the nearest matrix whose
/// eigenvalues are at least `floor`.
fn psd_projection(
    matrix: &[[f64; FACTOR_COUNT]; FACTOR_COUNT],
    floor: f64,
) -> [[f64; FACTOR_COUNT]; FACTOR_COUNT] {
    let (values, vectors) = symmetric_eigen(matrix);
    // The upper triangle, mirrored: exactly symmetric.
    std::array::from_fn(|i| {
        std::array::from_fn(|j| {
            let (i, j) = (i.min(j), i.max(j));
            (0..FACTOR_COUNT)
                .map(|k| vectors[i][k] * values[k].max(floor) * vectors[j][k])
                .sum()
        })
    })
}

/// Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations:
/// exact to rounding for a matrix this small, and a few lines instead of a linear-algebra
/// dependency.
fn symmetric_eigen(
    matrix: &[[f64; FACTOR_COUNT]; FACTOR_COUNT],
) -> ([f64; FACTOR_COUNT], [[f64; FACTOR_COUNT]; FACTOR_COUNT]) {
    let mut a = *matrix;
    let mut v: [[f64; FACTOR_COUNT]; FACTOR_COUNT] =
        std::array::from_fn(|i| std::array::from_fn(|j| f64::from(u8::from(i == j))));
    for _ in 0..100 {
        let off: f64 = (0..FACTOR_COUNT)
            .flat_map(|i| (0..FACTOR_COUNT).map(move |j| (i, j)))
            .filter(|(i, j)| i != j)
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off < 1e-30 {
            break;
        }
        for p in 0..FACTOR_COUNT {
            for q in p + 1..FACTOR_COUNT {
                if a[p][q] == 0.0 {
                    continue;
                }
                // The rotation that zeroes a[p][q].
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for row in &mut a {
                    let (akp, akq) = (row[p], row[q]);
                    row[p] = c * akp - s * akq;
                    row[q] = s * akp + c * akq;
                }
                let (row_p, row_q) = (a[p], a[q]);
                for (k, (apk, aqk)) in row_p.into_iter().zip(row_q).enumerate() {
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in &mut v {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    (std::array::from_fn(|i| a[i][i]), v)
}

impl MarketModel {
    /// The calm correlation as a fixed-size matrix (the file's rows, validated to be 6 × 6).
    pub fn calm_correlation_matrix(&self) -> [[f64; FACTOR_COUNT]; FACTOR_COUNT] {
        let mut matrix = [[0.0; FACTOR_COUNT]; FACTOR_COUNT];
        for (row, values) in matrix.iter_mut().zip(&self.calm_correlation) {
            for (cell, &value) in row.iter_mut().zip(values) {
                *cell = value;
            }
        }
        matrix
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_reproduces_the_matrix_and_rejects_an_indefinite_one() {
        let model = MarketModel::default();
        let c = model.calm_correlation_matrix();
        let l = correlation_cholesky(&c).unwrap();
        for i in 0..FACTOR_COUNT {
            for j in 0..FACTOR_COUNT {
                let product: f64 = (0..FACTOR_COUNT).map(|k| l[i][k] * l[j][k]).sum();
                assert!((product - c[i][j]).abs() < 1e-12, "{i},{j}");
            }
        }
        // All ones: semi-definite, rank one.
        let ones = [[1.0; FACTOR_COUNT]; FACTOR_COUNT];
        let l = correlation_cholesky(&ones).unwrap();
        assert!(l.iter().all(|row| row[0] == 1.0));
        // ρ(0,1) = ρ(1,2) = 0.9 but ρ(0,2) = −0.9: not a correlation matrix.
        let mut bad = [[0.0; FACTOR_COUNT]; FACTOR_COUNT];
        for (i, row) in bad.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        bad[0][1] = 0.9;
        bad[1][0] = 0.9;
        bad[1][2] = 0.9;
        bad[2][1] = 0.9;
        bad[0][2] = -0.9;
        bad[2][0] = -0.9;
        assert_eq!(correlation_cholesky(&bad), Err(2));
        // Repaired to the nearest correlation matrix, which factorises.
        let repaired = nearest_correlation(&bad);
        assert!(correlation_cholesky(&repaired).is_ok());
    }

    /// Higham's example (2002, §4): the nearest correlation matrix to
    /// [[1, 1, 0], [1, 1, 1], [0, 1, 1]] has 0.7607 and 0.1573 off the diagonal; embedded in
    /// the identity, the other factors stay uncorrelated.
    #[test]
    fn nearest_correlation_matches_highams_example() {
        let mut a = [[0.0; FACTOR_COUNT]; FACTOR_COUNT];
        for (i, row) in a.iter_mut().enumerate() {
            row[i] = 1.0;
        }
        a[0][1] = 1.0;
        a[1][0] = 1.0;
        a[1][2] = 1.0;
        a[2][1] = 1.0;
        let x = nearest_correlation(&a);
        assert!((x[0][1] - 0.7607).abs() < 1e-4, "{}", x[0][1]);
        assert!((x[1][2] - 0.7607).abs() < 1e-4, "{}", x[1][2]);
        assert!((x[0][2] - 0.1573).abs() < 1e-4, "{}", x[0][2]);
        for (i, row) in x.iter().enumerate() {
            assert_eq!(row[i], 1.0);
            for (j, &value) in row.iter().enumerate() {
                assert_eq!(value, x[j][i]);
                if i >= 3 && i != j {
                    assert!(value.abs() < 1e-9);
                }
            }
        }
        assert!(correlation_cholesky(&x).is_ok());
    }

    #[test]
    fn nearest_correlation_leaves_a_correlation_matrix_alone() {
        let c = MarketModel::default().calm_correlation_matrix();
        let x = nearest_correlation(&c);
        for i in 0..FACTOR_COUNT {
            for j in 0..FACTOR_COUNT {
                assert!((x[i][j] - c[i][j]).abs() < 1e-8, "{i} {j}");
            }
        }
    }
}
