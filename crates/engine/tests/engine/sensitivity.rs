//! Sensitivities use common random numbers: a bump that changes nothing changes nothing, to
//! the last bit, and a real bump's paired standard error is below that of two independent
//! runs.

use bitwatt_engine::{Bump, STANDARD_BUMPS, sensitivity, simulate};
use bitwatt_model::{PIVOT_MINER_TOML, Scenario, built_in_example};

fn pure_miner() -> Scenario {
    Scenario::from_toml(built_in_example("pure-miner").unwrap()).unwrap()
}

#[test]
fn a_bump_that_changes_nothing_gives_exactly_zero() {
    let scenario = pure_miner();
    let (_, base) = simulate(&scenario, &[], 1_500, 11).unwrap();
    let nothing = Bump::new("nothing", "unchanged", |_| {});
    let rows = sensitivity(&scenario, &[], &base, &[nothing], None, None).unwrap();
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(row.delta_pd.value, 0.0);
    assert_eq!(row.delta_pd.standard_error, 0.0);
    assert_eq!(row.delta_expected_loss_usd.value, 0.0);
    assert_eq!(row.delta_expected_loss_usd.standard_error, 0.0);
}

#[test]
fn a_lower_btc_drift_raises_the_pd_with_a_small_paired_error() {
    let scenario = Scenario::from_toml(PIVOT_MINER_TOML).unwrap();
    let paths = 1_000;
    let (_, base) = simulate(&scenario, &[], paths, 11).unwrap();
    let drift = STANDARD_BUMPS
        .iter()
        .find(|b| b.parameter == "BTC drift")
        .unwrap();
    let rows = sensitivity(&scenario, &[], &base, &[*drift], None, None).unwrap();
    let row = &rows[0];
    assert!(
        row.delta_pd.value > 3.0 * row.delta_pd.standard_error,
        "{row:?}"
    );
    // Two independent runs would give an error of √((p₀(1 − p₀) + p₁(1 − p₁))/n).
    let base_pd = base
        .path_scalars()
        .expect("per-path scalars kept")
        .default_month
        .iter()
        .filter(|m| m.is_some())
        .count() as f64
        / paths as f64;
    let p = row.pd.value;
    let independent = ((base_pd * (1.0 - base_pd) + p * (1.0 - p)) / paths as f64).sqrt();
    assert!(
        row.delta_pd.standard_error < independent,
        "{} vs {independent}",
        row.delta_pd.standard_error
    );
    // The change is the bumped PD less the base PD.
    let base_pd = base
        .path_scalars()
        .expect("per-path scalars kept")
        .default_month
        .iter()
        .filter(|m| m.is_some())
        .count() as f64
        / paths as f64;
    assert!((row.pd.value - base_pd - row.delta_pd.value).abs() < 1e-12);
}
