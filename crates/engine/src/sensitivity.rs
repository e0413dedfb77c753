//! Sensitivities with common random numbers: each main market parameter bumped in turn, the
//! simulation run again from the same seed — the same random numbers path by path, the debt
//! sized as in the unbumped case — and the change in PD and expected loss measured path by
//! path, so its standard error is that of the paired differences, not of two independent
//! runs. A bump that changes nothing gives a change of exactly zero.

use std::sync::atomic::AtomicBool;

use bitwatt_model::Scenario;
use serde::Serialize;

use crate::market::{base_fees_btc_per_block, btc_drift_per_year};
use crate::simulate::{
    Estimate, Moments, Simulation, SimulationError, SimulationResult, simulate_with,
};
use crate::stress::Stress;

/// A change to a scenario's market parameters.
#[derive(Clone, Copy, Debug)]
pub struct Bump {
    /// The parameter moved.
    pub parameter: &'static str,
    /// How it moves, in words.
    pub change: &'static str,
    apply: fn(&mut Scenario),
}

impl Bump {
    /// A bump of `parameter` by `change`, made by `apply`.
    pub const fn new(
        parameter: &'static str,
        change: &'static str,
        apply: fn(&mut Scenario),
    ) -> Bump {
        Bump {
            parameter,
            change,
            apply,
        }
    }

    /// `scenario` with the bump applied.
    pub fn applied_to(&self, scenario: &Scenario) -> Scenario {
        let mut bumped = scenario.clone();
        (self.apply)(&mut bumped);
        bumped
    }
}

/// The standard bumps of `simulate --sensitivity`: each a plausible adverse move of one main
/// parameter, kept within its valid range.
pub const STANDARD_BUMPS: [Bump; 9] = [
    Bump::new("BTC drift", "−20 points a year", |s| {
        let drift = btc_drift_per_year(&s.market) * 100.0;
        s.market.btc_drift_percent_per_year = Some(drift - 20.0);
    }),
    Bump::new("BTC volatility (calm)", "+20 points a year", |s| {
        let model = &mut s.market.model;
        let calm = model
            .btc_calm_volatility_percent_per_year
            .unwrap_or(s.market.btc_volatility_percent_per_year);
        model.btc_calm_volatility_percent_per_year = Some(calm + 20.0);
    }),
    Bump::new("fees per block", "−50 %", |s| {
        s.market.fees_btc_per_block = Some(base_fees_btc_per_block(&s.market) * 0.5);
    }),
    Bump::new("power price", "+25 %", |s| {
        s.market.power_price_usd_per_mwh *= 1.25;
    }),
    Bump::new("GPU rent deflation", "+10 points a year", |s| {
        let gpu = &mut s.market.gpu;
        gpu.rent_deflation_percent_per_year =
            (gpu.rent_deflation_percent_per_year + 10.0).min(99.0);
    }),
    Bump::new("stress regime entry", "× 2", |s| {
        let model = &mut s.market.model;
        model.stress_entry_percent_per_month =
            (model.stress_entry_percent_per_month * 2.0).min(100.0);
    }),
    Bump::new("correlation convergence w", "+0.25 (at most 1)", |s| {
        let model = &mut s.market.model;
        model.correlation_convergence = (model.correlation_convergence + 0.25).min(1.0);
    }),
    Bump::new("liquidation depth", "× 0.5 (every market)", |s| {
        let markets = &mut s.market.liquidation;
        for depth in [
            &mut markets.asic,
            &mut markets.gpu,
            &mut markets.btc,
            &mut markets.site,
        ] {
            depth.monthly_volume_usd *= 0.5;
        }
    }),
    Bump::new("SOFR", "+2 points", |s| {
        s.market.sofr_percent += 2.0;
    }),
];

/// How one bump moves the credit metrics.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SensitivityRow {
    /// The parameter moved.
    pub parameter: &'static str,
    /// How it moved.
    pub change: &'static str,
    /// The borrower's PD to the horizon with the bump.
    pub pd: Estimate,
    /// Bumped PD less the base PD, with the standard error of the paired differences.
    pub delta_pd: Estimate,
    /// Bumped expected loss less the base (USD), paired likewise.
    pub delta_expected_loss_usd: Estimate,
}

/// Runs every bump of `bumps` on `scenario` under `stresses` with the paths and seed of
/// `base` (its unbumped result), on the current rayon thread pool; `progress` is told of the
/// paths each chunk completes, and once `cancel` is set the bumps left are skipped (fewer
/// rows come back). Rows ranked by the size of the PD change, then of the loss change (a
/// tornado).
pub fn sensitivity(
    scenario: &Scenario,
    stresses: &[Stress],
    base: &SimulationResult,
    bumps: &[Bump],
    progress: Option<&(dyn Fn(u64) + Sync)>,
    cancel: Option<&AtomicBool>,
) -> Result<Vec<SensitivityRow>, SimulationError> {
    let fingerprint = &base.fingerprint;
    if base.path_scalars().is_none() {
        return Err(SimulationError::NoPathScalars);
    }
    let mut rows = Vec::with_capacity(bumps.len());
    for bump in bumps {
        let bumped = bump.applied_to(scenario);
        let simulation = Simulation::sized_on(
            &bumped,
            scenario,
            stresses,
            fingerprint.paths,
            fingerprint.seed,
        )?
        .keeping_path_scalars();
        let result = simulate_with(&simulation, progress, cancel)?;
        if !result.complete {
            break;
        }
        rows.push(compare(bump, base, &result));
    }
    rows.sort_by(|a, b| {
        b.delta_pd
            .value
            .abs()
            .total_cmp(&a.delta_pd.value.abs())
            .then(
                b.delta_expected_loss_usd
                    .value
                    .abs()
                    .total_cmp(&a.delta_expected_loss_usd.value.abs()),
            )
    });
    Ok(rows)
}

/// The paired changes from `base` to `bumped` (the same paths).
fn compare(bump: &Bump, base: &SimulationResult, bumped: &SimulationResult) -> SensitivityRow {
    let base_paths = base.path_scalars().expect("checked before the bumps");
    let bumped_paths = bumped.path_scalars().expect("kept by the bumped run");
    let mut defaults = 0;
    let mut delta_pd = Moments::default();
    let mut delta_loss = Moments::default();
    let defaulted = |month: &Option<u16>| f64::from(u8::from(month.is_some()));
    for ((base_month, bumped_month), (base_loss, bumped_loss)) in base_paths
        .default_month
        .iter()
        .zip(&bumped_paths.default_month)
        .zip(base_paths.loss_usd.iter().zip(&bumped_paths.loss_usd))
    {
        defaults += u64::from(bumped_month.is_some());
        delta_pd.add(defaulted(bumped_month) - defaulted(base_month));
        delta_loss.add(bumped_loss - base_loss);
    }
    let estimate = |m: Moments| m.estimate().expect("at least one path");
    SensitivityRow {
        parameter: bump.parameter,
        change: bump.change,
        pd: Estimate::proportion(defaults, base.paths()),
        delta_pd: estimate(delta_pd),
        delta_expected_loss_usd: estimate(delta_loss),
    }
}
