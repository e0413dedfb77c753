//! The Monte Carlo market generator: reproducible from the seed, one stream per path, the
//! base case exactly when nothing is random, the correlation structure in calm and stress,
//! and the regime chain's probabilities.

use bitwatt_engine::{
    GeneratorScratch, MarketGenerator, MarketPath, RandomKey, STRESS_DIRECTION, Stress,
    correlated_shocks, stressed_market_path,
};
use bitwatt_model::{FACTOR_COUNT, PIVOT_MINER_TOML, Scenario, correlation_cholesky};
use rand::RngExt;
use rand_distr::{Distribution, StandardNormal};

fn pivot() -> Scenario {
    Scenario::from_toml(PIVOT_MINER_TOML).unwrap()
}

/// The first draws of the key of seed 42 never change: a value-changing release of `rand`,
/// `rand_distr` or ChaCha8 would change every result.
#[test]
fn first_draws_are_pinned() {
    let key = RandomKey::from_seed(42);
    let mut rng = key.lane(0, 1);
    let normals: Vec<f64> = (0..3).map(|_| StandardNormal.sample(&mut rng)).collect();
    let mut rng = key.lane(7, 0);
    let uniform: f64 = rng.random();
    let expected = [NORMAL_0, NORMAL_1, NORMAL_2];
    assert_eq!(normals, expected, "normals {normals:?}");
    assert_eq!(uniform, UNIFORM_7_0, "uniform {uniform:?}");
}

const NORMAL_0: f64 = -1.4489763986953965;
const NORMAL_1: f64 = -2.289541580735135;
const NORMAL_2: f64 = -0.9167855961544572;
const UNIFORM_7_0: f64 = 0.7906768290944886;

#[test]
fn paths_are_reproducible_and_distinct() {
    let scenario = pivot();
    let generator = MarketGenerator::new(&scenario, &[]).unwrap();
    let key = RandomKey::from_seed(1);
    let mut a = MarketPath::with_start(scenario.first_month());
    let mut b = a.clone();
    generator.generate(&key, 3, &mut a);
    generator.generate(&key, 3, &mut b);
    assert_eq!(a, b);
    generator.generate(&key, 4, &mut b);
    assert_ne!(a.btc_price_usd, b.btc_price_usd);
    generator.generate(&RandomKey::from_seed(2), 3, &mut b);
    assert_ne!(a.btc_price_usd, b.btc_price_usd);
    // Generating other paths in between changes nothing (no hidden state).
    generator.generate(&key, 3, &mut b);
    assert_eq!(a, b);
}

/// Paths generated four at a time (their networks stepped together) are exactly the paths
/// generated one by one, whatever the keys, path numbers, stresses and earlier batches.
#[test]
fn paths_generated_together_equal_paths_generated_alone() {
    let scenario = pivot();
    let stresses: Vec<Stress> = vec![
        "hashprice-collapse".parse().unwrap(),
        "correlation-convergence".parse().unwrap(),
    ];
    for stresses in [&[][..], &stresses[..]] {
        let generator = MarketGenerator::new(&scenario, stresses).unwrap();
        let (one, two) = (RandomKey::from_seed(5), RandomKey::from_seed(6));
        let new_path = || MarketPath::with_start(scenario.first_month());
        let mut together: [MarketPath; 4] = std::array::from_fn(|_| new_path());
        let mut scratches: [GeneratorScratch; 4] =
            std::array::from_fn(|_| GeneratorScratch::default());
        for (keys, paths) in [
            ([&one; 4], [0, 1, 2, 3]),
            ([&one, &two, &one, &two], [7, 7, 1_000_003, 42]),
        ] {
            generator.generate_together(keys, paths, together.each_mut(), scratches.each_mut());
            for k in 0..4 {
                let mut alone = new_path();
                generator.generate(keys[k], paths[k], &mut alone);
                // Debug prints every number exactly (−0 apart from 0): equal bits.
                assert_eq!(
                    format!("{:?}", together[k]),
                    format!("{alone:?}"),
                    "path {} of key {k}",
                    paths[k]
                );
            }
        }
    }
}

#[test]
fn nothing_random_gives_the_base_case() {
    let text = PIVOT_MINER_TOML
        .replace(
            "default_probability_percent_per_year = 4.0",
            "default_probability_percent_per_year = 0",
        )
        .replace(
            "default_probability_percent_per_year = 0.05",
            "default_probability_percent_per_year = 0",
        )
        .replace(
            "sofr_percent = 3.9",
            "sofr_percent = 3.9\n\n[market.model]\nbtc_calm_volatility_percent_per_year = 0\n\
         stress_entry_percent_per_month = 0\nbtc_jumps_per_year_calm = 0\n\
         fees_volatility_percent_per_year = 0\nfee_spike_percent_per_month = 0\n\
         gpu_rent_volatility_percent_per_year = 0\nai_demand_volatility_percent_per_year = 0\n\
         power_volatility_percent_per_year = 0\nsofr_volatility_points_per_year = 0\n\
         power_spike_percent_per_month = 0\npower_spike_percent_per_peak_month = 0\n\
         grid_events_per_year = 0\nhashrate_noise_percent_per_year = 0\n\
         gpu_launch_jitter_months = 0",
        );
    let scenario = Scenario::from_toml(&text).unwrap();
    let base = stressed_market_path(&scenario, &[]);
    let generator = MarketGenerator::new(&scenario, &[]).unwrap();
    let mut path = MarketPath::with_start(scenario.first_month());
    generator.generate(&RandomKey::from_seed(9), 0, &mut path);
    // Without volatility the month's low is the lower of its neighbouring prices.
    for t in 0..path.months() {
        let open = path.btc_price_usd[t.saturating_sub(1)];
        let lower = open.min(path.btc_price_usd[t]);
        assert!(
            (path.btc_low_usd[t] / lower - 1.0).abs() < 1e-12,
            "month {t}"
        );
    }
    path.btc_low_usd = base.btc_low_usd.clone();
    assert_eq!(path, base);
    // And a simulation of it is the projection, path after path.
    let projection = bitwatt_engine::project(&scenario, &[]).unwrap();
    let (_, result) = bitwatt_engine::simulate(&scenario, &[], 3, 4).unwrap();
    for (default_month, loss_usd) in result
        .path_scalars()
        .expect("per-path scalars kept")
        .default_month
        .iter()
        .zip(
            &result
                .path_scalars()
                .expect("per-path scalars kept")
                .loss_usd,
        )
    {
        assert_eq!(
            default_month.map(usize::from),
            projection.summary.default.map(|e| e.month_index)
        );
        assert_eq!(*loss_usd, 0.0);
    }
    let borrower = &projection.borrower;
    let mut buffers = bitwatt_engine::PathBuffers::new(borrower);
    let summary = bitwatt_engine::run_path(borrower, &path, &mut buffers);
    assert_eq!(summary, projection.summary);
}

/// The covariance of the shocks: (1 − w)·C + w·s·sᵀ among the factors that join the crash,
/// √(1 − w)·C between them and the others, C among the others.
fn expected_covariance(
    c: &[[f64; FACTOR_COUNT]; FACTOR_COUNT],
    w: f64,
) -> [[f64; FACTOR_COUNT]; FACTOR_COUNT] {
    let scale = |i: usize| {
        if STRESS_DIRECTION[i] == 0.0 {
            1.0
        } else {
            (1.0 - w).sqrt()
        }
    };
    let mut out = [[0.0; FACTOR_COUNT]; FACTOR_COUNT];
    for i in 0..FACTOR_COUNT {
        for j in 0..FACTOR_COUNT {
            out[i][j] =
                scale(i) * scale(j) * c[i][j] + w * STRESS_DIRECTION[i] * STRESS_DIRECTION[j];
        }
    }
    out
}

#[test]
fn shocks_have_the_calm_and_stress_correlations() {
    let c = pivot().market.model.calm_correlation_matrix();
    let l = correlation_cholesky(&c).unwrap();
    let key = RandomKey::from_seed(5);
    let n = 40_000;
    for w in [0.0, 0.5, 0.9] {
        let mut rng = key.lane(0, 1);
        let mut sums = [[0.0; FACTOR_COUNT]; FACTOR_COUNT];
        for _ in 0..n {
            let mut z = [0.0; FACTOR_COUNT];
            for z in &mut z {
                *z = StandardNormal.sample(&mut rng);
            }
            let epsilon: f64 = StandardNormal.sample(&mut rng);
            let x = correlated_shocks(&l, w, &z, epsilon);
            for i in 0..FACTOR_COUNT {
                for j in 0..FACTOR_COUNT {
                    sums[i][j] += x[i] * x[j];
                }
            }
        }
        let expected = expected_covariance(&c, w);
        for i in 0..FACTOR_COUNT {
            for j in 0..FACTOR_COUNT {
                let sample = sums[i][j] / f64::from(n);
                // The standard error of a sample covariance of unit-variance normals is
                // √((1 + ρ²)/n).
                let se = ((1.0 + expected[i][j].powi(2)) / f64::from(n)).sqrt();
                assert!(
                    (sample - expected[i][j]).abs() < 3.0 * se,
                    "w {w}: cov[{i}][{j}] {sample} vs {} (se {se})",
                    expected[i][j]
                );
            }
        }
    }
    // w = 1: BTC, rents and demand move exactly together, power exactly against them.
    let mut rng = key.lane(1, 1);
    for _ in 0..100 {
        let mut z = [0.0; FACTOR_COUNT];
        for z in &mut z {
            *z = StandardNormal.sample(&mut rng);
        }
        let epsilon: f64 = StandardNormal.sample(&mut rng);
        let x = correlated_shocks(&l, 1.0, &z, epsilon);
        assert_eq!(x[0], -epsilon);
        assert_eq!(x[1], x[0]);
        assert_eq!(x[2], x[0]);
        assert_eq!(x[3], -x[0]);
    }
}

#[test]
fn regimes_follow_their_markov_chain() {
    // From calm, P(stress in month t) = π·(1 − (1 − a − b)^(t + 1)) with a = 2 %, b = 10 %,
    // π = a / (a + b) = 1/6.
    let scenario = pivot();
    let generator = MarketGenerator::new(&scenario, &[]).unwrap();
    let key = RandomKey::from_seed(11);
    let n = 20_000;
    let mut stressed = vec![0_u32; 160];
    let mut flags = vec![false; 160];
    for path in 0..n {
        generator.regimes(&key, path, &mut flags);
        for (count, &flag) in stressed.iter_mut().zip(&flags) {
            *count += u32::from(flag);
        }
    }
    let (a, b): (f64, f64) = (0.02, 0.10);
    let pi = a / (a + b);
    for t in [0, 5, 30, 159] {
        let p = pi * (1.0 - (1.0 - a - b).powi(t as i32 + 1));
        let share = f64::from(stressed[t]) / n as f64;
        let se = (p * (1.0 - p) / n as f64).sqrt();
        assert!((share - p).abs() < 3.0 * se, "t {t}: {share} vs {p}");
    }
}

/// A 12-month miner with a 1 MW lease to `tenant` at `pd` % a year; nothing else random.
fn leased(tenant: &str, pd: f64, site_mw: f64) -> Scenario {
    let text = format!(
        r#"
schema_version = 1
name = "Leased"
start_month = "2026-01"
horizon_months = 12

[market.model]
stress_entry_percent_per_month = 0
ai_demand_volatility_percent_per_year = 0

[[site]]
name = "S"
grid_capacity_mw = {site_mw}

[[colocation_lease]]
name = "Lease"
site = "S"
critical_it_mw = 1
rent_usd_per_kw_month = 100
start_month = "2025-01"
tenor_months = 120
[colocation_lease.tenant]
name = "{tenant}"
default_probability_percent_per_year = {pd}
"#
    );
    Scenario::from_toml(&text).unwrap()
}

/// Defaults of each path's counterparty named `name`.
fn defaults_of(
    generator: &MarketGenerator,
    key: &RandomKey,
    paths: u64,
    name: &str,
) -> Vec<Option<usize>> {
    let mut path = MarketPath::with_start(bitwatt_model::YearMonth::new(2026, 1).unwrap());
    (0..paths)
        .map(|i| {
            generator.generate(key, i, &mut path);
            path.counterparty_default_month(name)
        })
        .collect()
}

#[test]
fn counterparties_default_at_their_rate_with_the_same_luck_everywhere() {
    // A 10 % annual probability with AI demand steady and no stress: 10 % of paths see the
    // tenant fail within the year.
    let scenario = leased("Lab", 10.0, 5.0);
    let generator = MarketGenerator::new(&scenario, &[]).unwrap();
    let key = RandomKey::from_seed(3);
    let n = 4_000;
    let defaults = defaults_of(&generator, &key, n, "Lab");
    let share = defaults.iter().filter(|d| d.is_some()).count() as f64 / n as f64;
    let se = (0.1 * 0.9 / n as f64).sqrt();
    assert!((share - 0.1).abs() < 3.0 * se, "share {share}");
    // The same tenant in another scenario (another site) fails on the same paths, in the
    // same months; another tenant's luck is its own.
    let other = MarketGenerator::new(&leased("Lab", 10.0, 8.0), &[]).unwrap();
    assert_eq!(defaults_of(&other, &key, 300, "Lab"), defaults[..300]);
    let stranger = MarketGenerator::new(&leased("Other lab", 10.0, 5.0), &[]).unwrap();
    assert_ne!(
        defaults_of(&stranger, &key, 300, "Other lab"),
        defaults[..300]
    );
}

/// A two-year market from January 2026 with nothing random but the `[market.model]` fields
/// in `random`.
fn quiet_market(random: &[(&str, f64)]) -> Scenario {
    let quiet = [
        "btc_calm_volatility_percent_per_year",
        "stress_entry_percent_per_month",
        "btc_jumps_per_year_calm",
        "fees_volatility_percent_per_year",
        "fee_spike_percent_per_month",
        "gpu_rent_volatility_percent_per_year",
        "ai_demand_volatility_percent_per_year",
        "power_volatility_percent_per_year",
        "sofr_volatility_points_per_year",
        "power_spike_percent_per_month",
        "power_spike_percent_per_peak_month",
        "grid_events_per_year",
        "hashrate_noise_percent_per_year",
        "gpu_launch_jitter_months",
    ];
    let mut model: Vec<(&str, f64)> = quiet.iter().map(|&field| (field, 0.0)).collect();
    for &(field, value) in random {
        match model.iter_mut().find(|(known, _)| *known == field) {
            Some(entry) => entry.1 = value,
            None => model.push((field, value)),
        }
    }
    let model: String = model
        .iter()
        .map(|(field, value)| format!("{field} = {value:?}\n"))
        .collect();
    let text = format!(
        r#"
schema_version = 1
name = "Quiet"
start_month = "2026-01"
horizon_months = 24

[market.model]
{model}
[[site]]
name = "S"
grid_capacity_mw = 5

[[colocation_lease]]
name = "Lease"
site = "S"
critical_it_mw = 1
rent_usd_per_kw_month = 100
start_month = "2025-01"
tenor_months = 120
tenant = {{ name = "Lab", default_probability_percent_per_year = 0 }}
"#
    );
    Scenario::from_toml(&text).unwrap()
}

/// Sample mean and standard deviation.
fn mean_and_deviation(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    (mean, variance.sqrt())
}

#[test]
fn launches_move_by_their_jitter_and_rents_step_down_then() {
    // Rubin Ultra (2027-10) and Feynman (2028-10) launch far enough after the start that the
    // floor at the month after the start never binds: the shift is a normal of deviation 3
    // rounded to whole months, whose deviation is √(3² + 1/12).
    let scenario = quiet_market(&[("gpu_launch_jitter_months", 3.0)]);
    let generations = &scenario.market.gpu.generations;
    let generator = MarketGenerator::new(&scenario, &[]).unwrap();
    let key = RandomKey::from_seed(21);
    let n = 20_000;
    let launches: Vec<Vec<bitwatt_model::YearMonth>> =
        (0..n).map(|i| generator.launch_months(&key, i)).collect();
    let expected = (9.0_f64 + 1.0 / 12.0).sqrt();
    for g in [6, 7] {
        let shifts: Vec<f64> = launches
            .iter()
            .map(|l| f64::from(l[g].months_since(generations[g].launch_month)))
            .collect();
        assert!(shifts.iter().all(|s| s.fract() == 0.0));
        let (mean, deviation) = mean_and_deviation(&shifts);
        // Standard errors of a normal sample's mean and deviation: σ/√n and σ/√(2n).
        let (se_mean, se_deviation) = (
            expected / (n as f64).sqrt(),
            expected / (2.0 * n as f64).sqrt(),
        );
        println!(
            "{}: mean shift {mean:.3} (se {se_mean:.3}), deviation {deviation:.3} vs {expected:.3} (se {se_deviation:.3})",
            generations[g].name
        );
        assert!(mean.abs() < 3.0 * se_mean, "mean {mean}");
        assert!(
            (deviation - expected).abs() < 3.0 * se_deviation,
            "deviation {deviation}"
        );
    }
    // Launches before the start stay where they were; later ones come after the start.
    let start = scenario.first_month();
    for path in &launches {
        for (launch, generation) in path.iter().zip(generations) {
            if generation.launch_month <= start {
                assert_eq!(*launch, generation.launch_month);
            } else {
                assert!(*launch > start);
            }
        }
    }
    // H100's rent steps down in exactly the months of the drawn launches within the horizon,
    // by each launch's step-down factor; without jitter, at the scheduled ones.
    let months = generator.months();
    let mut path = MarketPath::with_start(start);
    let h100 = 1;
    let base = stressed_market_path(&scenario, &[]);
    for i in 0..50 {
        generator.generate(&key, i, &mut path);
        let factor =
            |market: &MarketPath, t: usize| market.generation_rent_factor[h100 * months + t];
        for t in 1..months {
            let month = start.plus_months(t as i32);
            let step: f64 = (2..generations.len())
                .filter(|&g| {
                    generations[g].launch_month > start && launches[i as usize][g] == month
                })
                .map(|g| generations[g].step_down_factor)
                .product();
            assert!(
                (factor(&path, t) / factor(&path, t - 1) - step).abs() < 1e-12,
                "path {i}, month {t}"
            );
        }
    }
    let on_schedule = MarketGenerator::new(&quiet_market(&[]), &[]).unwrap();
    on_schedule.generate(&key, 0, &mut path);
    assert_eq!(path.generation_rent_factor, base.generation_rent_factor);
}

#[test]
fn grid_events_take_rate_times_days_a_year() {
    // 4 events a year of 2.5 days: over two years 20 days on average; the days of a path are
    // a compound Poisson sum, variance λT·d² = 8·6.25.
    let scenario = quiet_market(&[
        ("grid_events_per_year", 4.0),
        ("grid_event_outage_days", 2.5),
    ]);
    let generator = MarketGenerator::new(&scenario, &[]).unwrap();
    let key = RandomKey::from_seed(8);
    let n = 2_000;
    let mut path = MarketPath::with_start(scenario.first_month());
    let days: Vec<f64> = (0..n)
        .map(|i| {
            generator.generate(&key, i, &mut path);
            assert!(
                path.extra_outage_days
                    .iter()
                    .all(|d| (d / 2.5).fract() == 0.0)
            );
            path.extra_outage_days.iter().sum()
        })
        .collect();
    let (mean, _) = mean_and_deviation(&days);
    let (expected, se) = (20.0, (8.0_f64 * 6.25 / n as f64).sqrt());
    println!("grid-event days over two years: mean {mean:.3} vs {expected} (se {se:.3})");
    assert!((mean - expected).abs() < 3.0 * se, "mean {mean}");
}

#[test]
fn power_spikes_come_in_the_peak_months() {
    // 20 % a month in January, July and August, 2 % otherwise; a spike doubles the month's
    // price and nothing else moves it.
    let scenario = quiet_market(&[
        ("power_spike_percent_per_month", 2.0),
        ("power_spike_percent_per_peak_month", 20.0),
        ("power_spike_multiple", 2.0),
    ]);
    let base = stressed_market_path(&scenario, &[]);
    let generator = MarketGenerator::new(&scenario, &[]).unwrap();
    let key = RandomKey::from_seed(13);
    let n = 2_000;
    let mut path = MarketPath::with_start(scenario.first_month());
    let (mut peak, mut peak_trials, mut off, mut off_trials) = (0_u32, 0_u32, 0_u32, 0_u32);
    for i in 0..n {
        generator.generate(&key, i, &mut path);
        for t in 0..path.months() {
            let ratio = path.power_price_usd_per_mwh[t] / base.power_price_usd_per_mwh[t];
            let spiked = (ratio - 2.0).abs() < 1e-12;
            assert!(spiked || (ratio - 1.0).abs() < 1e-12, "ratio {ratio}");
            if [1, 7, 8].contains(&path.start_month.plus_months(t as i32).month()) {
                peak += u32::from(spiked);
                peak_trials += 1;
            } else {
                off += u32::from(spiked);
                off_trials += 1;
            }
        }
    }
    for (count, trials, p) in [(peak, peak_trials, 0.2), (off, off_trials, 0.02)] {
        let share = f64::from(count) / f64::from(trials);
        let se = (p * (1.0 - p) / f64::from(trials)).sqrt();
        println!("spike share {share:.4} vs {p} (se {se:.4}) in {trials} months");
        assert!((share - p).abs() < 3.0 * se, "share {share} vs {p}");
    }
}

#[test]
fn hashrate_noise_spreads_the_network_and_difficulty_follows() {
    let scenario = quiet_market(&[("hashrate_noise_percent_per_year", 15.0)]);
    let base = stressed_market_path(&scenario, &[]);
    let generator = MarketGenerator::new(&scenario, &[]).unwrap();
    let key = RandomKey::from_seed(17);
    let n = 400;
    let mut path = MarketPath::with_start(scenario.first_month());
    let mut first = Vec::new();
    let mut last = Vec::new();
    let mut last_difficulty = Vec::new();
    for i in 0..n {
        generator.generate(&key, i, &mut path);
        // Blocks follow the hashrate at the difficulty in force, retarget by retarget:
        // blocks × mean difficulty × 2³² = hashes of the month.
        for t in 0..path.months() {
            let hashes = path.network_hashrate_hs[t] * bitwatt_model::SECONDS_PER_MONTH;
            let work = path.blocks[t] * path.difficulty[t] * bitwatt_chain::HASHES_PER_DIFFICULTY;
            assert!((work / hashes - 1.0).abs() < 1e-9, "path {i}, month {t}");
        }
        let months = path.months();
        first.push((path.network_hashrate_hs[0] / base.network_hashrate_hs[0]).ln());
        last.push(
            (path.network_hashrate_hs[months - 1] / base.network_hashrate_hs[months - 1]).ln(),
        );
        last_difficulty.push((path.difficulty[months - 1] / base.difficulty[months - 1]).ln());
    }
    let (_, first_deviation) = mean_and_deviation(&first);
    let (last_mean, last_deviation) = mean_and_deviation(&last);
    let (_, difficulty_deviation) = mean_and_deviation(&last_difficulty);
    println!(
        "log hashrate vs base: month 0 sd {first_deviation:.4}, month 23 mean {last_mean:.4} sd \
         {last_deviation:.4}; log difficulty month 23 sd {difficulty_deviation:.4}"
    );
    // A month's shock has a deviation of 15 %/√12 ≈ 4.3 %; 24 of them would give 21 % if
    // nothing answered them, and the fleet's economics pull the hashrate back.
    let monthly = 0.15 / 12f64.sqrt();
    assert!(
        (first_deviation / monthly - 1.0).abs() < 0.25,
        "{first_deviation}"
    );
    assert!(last_deviation > 2.0 * monthly && last_deviation < monthly * 24f64.sqrt());
    assert!(difficulty_deviation > 2.0 * monthly);
    // No noise, no spread: every path is the base case's network.
    let quiet = MarketGenerator::new(&quiet_market(&[]), &[]).unwrap();
    for i in 0..5 {
        quiet.generate(&key, i, &mut path);
        assert_eq!(path.network_hashrate_hs, base.network_hashrate_hs);
        assert_eq!(path.difficulty, base.difficulty);
    }
}
