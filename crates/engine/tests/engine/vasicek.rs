//! A large homogeneous pool: 1 000 identical lessors, each defaulting when its own tenant
//! does, the tenants' defaults tied by the credit cycle (asset correlation ρ), and nothing
//! else moving them (no AI-demand sensitivity, no stress regime). The book's default rate then
//! follows Vasicek's large-pool distribution, P(L ≤ x) = Φ((√(1 − ρ)·Φ⁻¹(x) − Φ⁻¹(PD)) / √ρ),
//! up to Monte Carlo error and the pool's granularity.

use bitwatt_engine::{Portfolio, PortfolioBorrower};
use bitwatt_model::Scenario;
use statrs::distribution::{ContinuousCDF, Normal};

use crate::common::scenario;

/// Borrowers in the pool.
const BORROWERS: usize = 1_000;
/// Paths of the run.
const PATHS: u64 = 2_000;
/// Each tenant's default probability over the 12-month horizon.
const PD: f64 = 0.05;
/// The tenants' asset correlation.
const RHO: f64 = 0.2;

/// A lessor whose only income is a lease to tenant `tenant`, paying every spare dollar out
/// (so the month its tenant stops paying, it cannot pay its loan's interest).
fn lessor(tenant: usize) -> Scenario {
    scenario(&format!(
        r#"
schema_version = 1
name = "Lessor"
horizon_months = 12
opening_cash_usd = 0

[market]
power_price_usd_per_mwh = 40.0
sofr_percent = 4.0
[market.model]
stress_entry_percent_per_month = 0

[[site]]
name = "Hall"
grid_capacity_mw = 15
pue = 1.05
ai_pue = 1.2
market_exposure_percent = 100
powered_site_value_usd_per_mw = 0

[[colocation_lease]]
name = "Lease"
site = "Hall"
critical_it_mw = 10
rent_usd_per_kw_month = 120
escalator_percent_per_year = 0
start_month = "2025-01"
tenor_months = 120
opex_usd_per_kw_month = 10
[colocation_lease.tenant]
name = "Tenant {tenant}"
default_probability_percent_per_year = {pd}
ai_demand_sensitivity = 0
asset_correlation = {RHO}

[distributions]
excess_cash_percent = 100

[[debt]]
name = "Loan"
kind = "term_loan"
principal_usd = 50_000_000
draw_month = "2025-11"
fixed_rate_percent = 8
schedule = "bullet"
maturity_month = "2030-11"
"#,
        pd = PD * 100.0
    ))
}

/// Vasicek's large-pool default-rate quantile at level `q`.
fn vasicek_quantile(q: f64) -> f64 {
    let normal = Normal::standard();
    normal.cdf((normal.inverse_cdf(PD) + RHO.sqrt() * normal.inverse_cdf(q)) / (1.0 - RHO).sqrt())
}

/// The density of Vasicek's large-pool default rate at `x`.
fn vasicek_density(x: f64) -> f64 {
    let normal = Normal::standard();
    let y = normal.inverse_cdf(x);
    let a = (1.0 - RHO).sqrt() * y - normal.inverse_cdf(PD);
    ((1.0 - RHO) / RHO).sqrt() * (0.5 * y * y - a * a / (2.0 * RHO)).exp()
}

/// The pool's default-rate quantiles at 95 and 99 % match Vasicek's within
/// 3 · SE + granularity, where SE = √(q(1 − q)/N) / f(x_q) is the standard error of an
/// empirical quantile of N paths (f the large-pool density) and the granularity allowance is
/// one binomial standard deviation √(x_q(1 − x_q)/n) of a pool of n borrowers: given the
/// cycle, a finite pool's default rate scatters binomially around the large-pool rate, which
/// moves its quantile by Gordy's granularity adjustment, O(1/n) and well inside one standard
/// deviation. The mean default rate matches PD within 4 standard errors. A copula that
/// ignored ρ would put the 99 % quantile near 7 %, ρ = 0.1 near 17 %: both far outside.
#[test]
fn a_large_pool_matches_the_vasicek_quantiles() {
    let scenarios: Vec<Scenario> = (0..BORROWERS).map(lessor).collect();
    let names: Vec<String> = (0..BORROWERS).map(|i| format!("Lessor {i}")).collect();
    let borrowers: Vec<PortfolioBorrower<'_>> = scenarios
        .iter()
        .zip(&names)
        .map(|(scenario, name)| PortfolioBorrower {
            name,
            scenario,
            shares: vec![1.0],
        })
        .collect();
    let (_, result) = Portfolio::new(&scenarios[0], &borrowers, &[], PATHS, 2024)
        .expect("a book")
        .run_all_with_paths();
    let mut defaults = vec![0_u32; PATHS as usize];
    for record in result.defaults() {
        if record.default_month.is_some() {
            defaults[record.path as usize] += 1;
        }
    }
    let mut rates: Vec<f64> = defaults
        .iter()
        .map(|&d| f64::from(d) / BORROWERS as f64)
        .collect();
    let mean = rates.iter().sum::<f64>() / PATHS as f64;
    let variance = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (PATHS - 1) as f64;
    let mean_se = (variance / PATHS as f64).sqrt();
    assert!(
        (mean - PD).abs() <= 4.0 * mean_se,
        "mean default rate {mean:.4} ± {mean_se:.4} against PD {PD}"
    );
    rates.sort_by(f64::total_cmp);
    for q in [0.95, 0.99] {
        let rank = (q * PATHS as f64).ceil() as usize;
        let empirical = rates[rank - 1];
        let expected = vasicek_quantile(q);
        let standard_error = (q * (1.0 - q) / PATHS as f64).sqrt() / vasicek_density(expected);
        let granularity = (expected * (1.0 - expected) / BORROWERS as f64).sqrt();
        let tolerance = 3.0 * standard_error + granularity;
        println!(
            "{:.0} %: pool {empirical:.4}, Vasicek {expected:.4}, tolerance {tolerance:.4} \
             (SE {standard_error:.4}, granularity {granularity:.4})",
            q * 100.0
        );
        assert!(
            (empirical - expected).abs() <= tolerance,
            "{q}: pool {empirical} against Vasicek {expected} ± {tolerance}"
        );
    }
}
