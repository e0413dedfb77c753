//! The Monte Carlo against a closed form: a borrower whose only risk is the BTC price and whose
//! only debt is a bullet repaid by selling its treasury has an analytic PD, expected loss and
//! LGD. And a run is the same bit for bit on one thread or two and in any split into shards.

use bitwatt_engine::{
    DefaultCause, Estimate, RunControl, Shard, Simulation, SimulationResult, Stress, simulate,
};
use bitwatt_model::{Scenario, built_in_example};

use crate::common::{on_threads, scenario};

/// BTC at the start (USD).
const PRICE_USD: f64 = 100_000.0;
/// BTC drift (a year, continuously compounded) and volatility (a year).
const DRIFT: f64 = 0.10;
const VOLATILITY: f64 = 0.50;
/// Treasury BTC and the bullet due at maturity (USD).
const BTC_HELD: f64 = 100.0;
const BULLET_USD: f64 = 6_000_000.0;
/// Month index of maturity (December 2027 from January 2026), the last of the horizon.
const MATURITY_T: usize = 23;

/// A borrower with 100 BTC in treasury and nothing else — no fleets or GPUs, no overhead, no
/// tax, no cash; the site and lease a scenario needs are worth nothing and earn nothing (the
/// lease ended in 2015) — owing a $6 M bullet at 0 % drawn before the start and due at month
/// 23; no covenants. The market's only risk is the BTC price: a log-normal walk at 50 %
/// with a 10 % drift, never in stress, without jumps, and every other factor still.
fn treasury_only() -> Scenario {
    scenario(&format!(
        r#"
schema_version = 1
name = "Treasury only"
start_month = "2026-01"
horizon_months = {horizon}

[market]
btc_price_usd = {PRICE_USD:?}
btc_drift_percent_per_year = {drift:?}

[market.model]
btc_calm_volatility_percent_per_year = {volatility:?}
stress_entry_percent_per_month = 0
btc_jumps_per_year_calm = 0
btc_jumps_per_year_stress = 0
crash_percent_per_month_in_stress = 0
fees_volatility_percent_per_year = 0
fee_spike_percent_per_month = 0
gpu_rent_volatility_percent_per_year = 0
ai_demand_volatility_percent_per_year = 0
power_volatility_percent_per_year = 0
sofr_volatility_points_per_year = 0
power_spike_percent_per_month = 0
power_spike_percent_per_peak_month = 0
grid_events_per_year = 0
hashrate_noise_percent_per_year = 0
gpu_launch_jitter_months = 0

[[site]]
name = "S"
grid_capacity_mw = 1
powered_site_value_usd_per_mw = 0

[[colocation_lease]]
name = "Expired"
site = "S"
critical_it_mw = 1
rent_usd_per_kw_month = 100
opex_usd_per_kw_month = 0
start_month = "2015-01"
tenor_months = 12
tenant = {{ name = "Former tenant", default_probability_percent_per_year = 0 }}

[treasury]
btc_held = {BTC_HELD:?}

[[debt]]
name = "Bullet"
kind = "term_loan"
principal_usd = {BULLET_USD:?}
fixed_rate_percent = 0
schedule = "bullet"
draw_month = "2025-12"
maturity_month = "2027-12"
"#,
        horizon = MATURITY_T + 1,
        drift = DRIFT * 100.0,
        volatility = VOLATILITY * 100.0,
    ))
}

/// The standard normal distribution function, by the complementary error function of
/// Numerical Recipes (`erfcc`, fractional error below 1.2e-7 everywhere).
fn normal_cdf(x: f64) -> f64 {
    let z = -x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z.abs());
    let poly = -1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * (-z * z + poly).exp();
    let erfc = if z >= 0.0 { erfc } else { 2.0 - erfc };
    0.5 * erfc
}

/// Asserts a Monte Carlo estimate is within three of its standard errors of `expected`.
#[track_caller]
fn assert_within_3_se(estimate: Estimate, expected: f64, what: &str) {
    let gap = estimate.value - expected;
    println!(
        "{what}: simulated {:.6} ± {:.6}, analytic {expected:.6} ({:+.2} SE)",
        estimate.value,
        estimate.standard_error,
        gap / estimate.standard_error
    );
    assert!(
        gap.abs() <= 3.0 * estimate.standard_error,
        "{what}: simulated {} ± {}, analytic {expected}",
        estimate.value,
        estimate.standard_error
    );
}

/// The generator's BTC price in month t is the base case's, P₀·e^{μt/12}, times the
/// exponential of t + 1 monthly steps of −σ²/24 + σ/√12·x, x a standard normal (the shock of
/// month 0 moves month 0 already): ln S_t ~ N(ln P₀ + μt/12 − (t + 1)σ²/24, (t + 1)σ²/12), so
/// E[S_t] = P₀·e^{μt/12}. With no income, no costs and no interest the borrower's cash at
/// maturity is H·S_M from selling the whole treasury, and it defaults — at maturity, by
/// Maturity — when that falls short of the bullet B: PD = Φ(d), d = (ln(B/H) − m)/s. The
/// lender then takes all the cash and nothing is left in the estate: the exposure is
/// B − H·S_M, the LGD exactly 1, and the expected loss E[(B − H·S_M)⁺] =
/// B·Φ(d) − H·E[S_M]·Φ(d − s).
#[test]
fn treasury_bullet_defaults_with_its_closed_form_probability() {
    assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
    assert!((normal_cdf(1.959_963_984_540_054) - 0.975).abs() < 1e-7);
    assert!((normal_cdf(-1.0) - 0.158_655_253_931_457).abs() < 1e-7);

    let steps = (MATURITY_T + 1) as f64;
    let m =
        PRICE_USD.ln() + DRIFT * MATURITY_T as f64 / 12.0 - steps * VOLATILITY * VOLATILITY / 24.0;
    let s = VOLATILITY * (steps / 12.0).sqrt();
    let d = ((BULLET_USD / BTC_HELD).ln() - m) / s;
    let pd = normal_cdf(d);
    let mean_price = PRICE_USD * (DRIFT * MATURITY_T as f64 / 12.0).exp();
    let expected_loss = BULLET_USD * pd - BTC_HELD * mean_price * normal_cdf(d - s);

    let scenario = treasury_only();
    let (simulation, result) = simulate(&scenario, &[], 20_000, 2_026).expect("simulates");
    let metrics = result.metrics(simulation.borrower());

    // Nothing can go wrong before maturity, and at maturity only the bullet.
    assert!(
        result
            .path_scalars()
            .expect("per-path scalars kept")
            .default_month
            .iter()
            .all(|month| month.is_none_or(|t| usize::from(t) == MATURITY_T))
    );
    assert_eq!(metrics.cumulative_pd_by_year.len(), 2);
    assert_eq!(metrics.cumulative_pd_by_year[0].value, 0.0);
    let borrower_pd = metrics.cumulative_pd_by_year[1];
    assert_within_3_se(borrower_pd, pd, "PD");
    for cause in &metrics.pd_by_cause {
        if cause.cause == DefaultCause::Maturity {
            assert_eq!(cause.pd, borrower_pd);
        } else {
            assert_eq!(cause.pd.value, 0.0, "{:?}", cause.cause);
        }
    }
    let [bullet] = &metrics.instruments[..] else {
        panic!("one instrument");
    };
    assert_eq!(bullet.pd, borrower_pd);
    let lgd = bullet.lgd.expect("defaults");
    assert!(
        (lgd.value - 1.0).abs() < 1e-12 && lgd.standard_error < 1e-12,
        "LGD {lgd:?}"
    );
    assert_within_3_se(
        bullet.expected_loss_usd,
        expected_loss,
        "expected loss (USD)",
    );
    assert_eq!(metrics.expected_loss_usd, bullet.expected_loss_usd);
}

/// A run does not depend on the thread count nor on the split into shards: `pure-miner` under
/// a stress, 2 500 paths (three chunks, the last one short), on one thread and on two, and
/// merged from 1, 2 and 3 shards, gives the same metrics and per-path results to the last bit.
#[test]
fn runs_are_the_same_on_any_threads_and_shards() {
    let scenario = scenario(built_in_example("pure-miner").expect("a built-in example"));
    let paths = 2_500;
    for (stress, seed) in [
        ("hashprice-collapse", 7),
        ("correlation-convergence@2026-06", 8),
    ] {
        let stresses: Vec<Stress> = vec![stress.parse().expect("a stress")];
        let (simulation, whole) =
            on_threads(1, || simulate(&scenario, &stresses, paths, seed)).expect("simulates");
        let borrower = simulation.borrower();
        let metrics = whole.metrics(borrower);
        assert!(metrics.cumulative_pd_by_year.last().unwrap().value > 0.0);
        let check = |other: &SimulationResult, what: &str| {
            assert_eq!(other.metrics(borrower), metrics, "{stress}, {what}");
            assert!(other.path_scalars().is_some());
            assert_eq!(
                other.path_scalars(),
                whole.path_scalars(),
                "{stress}, {what}"
            );
            assert!(*other == whole, "{stress}, {what}: the results differ");
        };

        let (_, two_threads) =
            on_threads(2, || simulate(&scenario, &stresses, paths, seed)).expect("simulates");
        check(&two_threads, "two threads");

        let simulation = Simulation::new(&scenario, &stresses, paths, seed)
            .expect("compiles")
            .keeping_path_scalars();
        for count in 1..=3 {
            let shards = (1..=count)
                .map(|index| {
                    simulation
                        .run(Shard { index, count }, &mut RunControl::default())
                        .expect("runs")
                })
                .collect();
            let merged = SimulationResult::merge(shards).expect("merges");
            check(&merged, &format!("{count} shards"));
        }
    }
}

/// A run that keeps no per-path scalars (the default) gives the same metrics as one that
/// does; its VaR and ES are the exact order statistics of the paths' losses, its histogram
/// counts every path, and sensitivity refuses it as a base (nothing to pair with).
#[test]
fn metrics_without_the_paths_are_those_of_the_paths() {
    let scenario = treasury_only();
    let stresses: Vec<Stress> = Vec::new();
    let (simulation, kept) = simulate(&scenario, &stresses, 2_500, 3).expect("simulates");
    let plain = Simulation::new(&scenario, &stresses, 2_500, 3).expect("compiles");
    let shard = plain
        .run(Shard::WHOLE, &mut RunControl::default())
        .expect("runs");
    let lean = SimulationResult::merge(vec![shard]).expect("merges");
    assert!(lean.path_scalars().is_none());
    let metrics = kept.metrics(simulation.borrower());
    assert_eq!(lean.metrics(plain.borrower()), metrics);
    let mut losses = kept.path_scalars().expect("kept").loss_usd.clone();
    losses.sort_by(f64::total_cmp);
    let n = losses.len();
    assert!(losses[n - 1] > 0.0, "no loss");
    for tail in &metrics.loss_tail {
        let per_mille = (tail.level * 1_000.0).round() as usize;
        let worst = (n * (1_000 - per_mille)).div_ceil(1_000);
        assert_eq!(tail.var_usd, losses[(n * per_mille).div_ceil(1_000) - 1]);
        assert_eq!(
            tail.es_usd,
            losses[n - worst..].iter().sum::<f64>() / worst as f64
        );
    }
    // Every LGD is exactly 1 (nothing recovered): so are its quantiles, not the sketch's
    // bucket value 1.0099.
    assert_eq!(metrics.instruments[0].lgd_quantiles, Some([1.0; 5]));
    let histogram = lean.loss_histogram(40);
    assert_eq!(histogram.counts.iter().sum::<u64>(), n as u64);
    let zeros = losses.iter().filter(|&&l| l <= 0.0).count() as u64;
    assert_eq!(histogram.zero_loss_paths, zeros);
    assert_eq!(histogram.bin_width_usd, losses[n - 1] / 40.0);
    let refused = bitwatt_engine::sensitivity(
        &scenario,
        &stresses,
        &lean,
        &bitwatt_engine::STANDARD_BUMPS[..1],
        None,
        None,
    );
    assert!(matches!(
        refused,
        Err(bitwatt_engine::SimulationError::NoPathScalars)
    ));
}

/// The hot loop allocates nothing: once a worker's market path and buffers have grown, the
/// generator and `run_path` reuse them path after path.
#[test]
fn generating_and_running_a_path_allocates_nothing() {
    use bitwatt_engine::{
        GeneratorScratch, MarketGenerator, MarketPath, PathBuffers, RandomKey, run_path,
    };
    let scenario = Scenario::from_toml(bitwatt_model::PIVOT_MINER_TOML).unwrap();
    let simulation = Simulation::new(&scenario, &[], 1, 1).unwrap();
    let borrower = simulation.borrower();
    let generator = MarketGenerator::new(&scenario, &[]).unwrap();
    let key = RandomKey::from_seed(3);
    let mut market = MarketPath::with_start(scenario.first_month());
    let mut buffers = PathBuffers::new(borrower);
    let mut scratch = GeneratorScratch::default();
    // Warm up: the first paths size the buffers.
    for path in 0..20 {
        generator.generate_with(&key, path, &mut market, &mut scratch);
        run_path(borrower, &market, &mut buffers);
    }
    let (mut generating, mut running) = (0, 0);
    for path in 20..220 {
        let before = crate::allocations::count();
        generator.generate_with(&key, path, &mut market, &mut scratch);
        let between = crate::allocations::count();
        run_path(borrower, &market, &mut buffers);
        generating += between - before;
        running += crate::allocations::count() - between;
    }
    assert_eq!(
        (generating, running),
        (0, 0),
        "allocations: (generator, run_path)"
    );
}
