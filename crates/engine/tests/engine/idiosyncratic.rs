//! The borrower's own random risks (`[idiosyncratic]`): site outages and late conversions.
//! At rate 0 nothing changes; the outages average rate × days / 12 a site-month; a late
//! conversion moves the first rent of the lease it feeds by its delay and raises the PD; the
//! draws depend only on the seed, the borrower's name and the path; a run with the risks on is
//! the same on any thread count.

use bitwatt_engine::{
    Borrower, IdiosyncraticDraws, MarketPath, PathBuffers, RandomKey, SimulationResult,
    draw_idiosyncratic, run_path, simulate,
};
use bitwatt_model::{DAYS_PER_MONTH, PIVOT_MINER_TOML, Scenario, built_in_example};

use crate::common::{flat_path_for, on_threads, scenario};

/// The pivot example with `table` appended as its `[idiosyncratic]` table.
fn pivot_with(table: &str) -> Scenario {
    scenario(&format!("{PIVOT_MINER_TOML}\n[idiosyncratic]\n{table}\n"))
}

/// The first month of positive lease revenue of the last path run.
fn first_rent_month(buffers: &PathBuffers) -> Option<usize> {
    buffers
        .rows
        .iter()
        .position(|row| row.lease_revenue_usd > 0.0)
}

/// The cumulative PD at the horizon.
fn horizon_pd(result: &SimulationResult, borrower: &Borrower) -> f64 {
    let metrics = result.metrics(borrower);
    metrics.cumulative_pd_by_year.last().expect("a year").value
}

#[test]
fn risks_at_zero_change_nothing() {
    let plain = scenario(PIVOT_MINER_TOML);
    // Rates at 0: the other parameters do not matter.
    let zero = pivot_with(
        "site_outage_events_per_year = 0\nsite_outage_event_days = 20\n\
         conversion_delay_probability_percent = 0\nconversion_delay_mean_months = 30",
    );
    let (simulation, expected) = simulate(&plain, &[], 600, 11).expect("simulates");
    let (_, actual) = simulate(&zero, &[], 600, 11).expect("simulates");
    assert_eq!(
        actual
            .path_scalars()
            .expect("per-path scalars kept")
            .loss_usd,
        expected
            .path_scalars()
            .expect("per-path scalars kept")
            .loss_usd
    );
    assert_eq!(
        actual
            .path_scalars()
            .expect("per-path scalars kept")
            .default_month,
        expected
            .path_scalars()
            .expect("per-path scalars kept")
            .default_month
    );
    let borrower = simulation.borrower();
    assert_eq!(actual.metrics(borrower), expected.metrics(borrower));

    // Drawing nothing leaves the buffers empty, and empty draws leave run_path as it was.
    let zero_borrower = Borrower::new(&zero).expect("compiles");
    assert!(!zero_borrower.idiosyncratic.is_active());
    let market = flat_path_for(&plain);
    let mut buffers = PathBuffers::new(borrower);
    let summary = run_path(borrower, &market, &mut buffers);
    let rows: Vec<f64> = buffers.rows.iter().map(|r| r.ebitda_usd).collect();
    let mut drawn = PathBuffers::new(&zero_borrower);
    draw_idiosyncratic(&zero_borrower, &RandomKey::from_seed(1), "x", 3, &mut drawn);
    assert!(drawn.idiosyncratic.is_empty());
    let again = run_path(&zero_borrower, &market, &mut drawn);
    assert_eq!(
        again.final_cash_usd.to_bits(),
        summary.final_cash_usd.to_bits()
    );
    let again_rows: Vec<f64> = drawn.rows.iter().map(|r| r.ebitda_usd).collect();
    assert_eq!(again_rows, rows);
}

#[test]
fn outages_average_rate_times_days_a_twelfth_a_site_month() {
    let (rate, days) = (3.0, 5.0);
    let risky = pivot_with(&format!(
        "site_outage_events_per_year = {rate}\nsite_outage_event_days = {days}"
    ));
    let borrower = Borrower::new(&risky).expect("compiles");
    let months = borrower.horizon_months;
    let sites = borrower.sites.len();
    let key = RandomKey::from_seed(5).borrower(&risky.name);
    let mut draws = IdiosyncraticDraws::new(&borrower);
    let (mut n, mut sum, mut sum_sq) = (0.0, 0.0, 0.0);
    for path in 0..2_000 {
        draws.draw(&borrower, &key, path);
        for s in 0..sites {
            for t in 0..months {
                let dark = draws.site_dark_days(s, t);
                // Whole events, capped at the month's days.
                assert!(
                    dark == DAYS_PER_MONTH || (dark / days).fract() == 0.0,
                    "{dark} days"
                );
                n += 1.0;
                sum += dark;
                sum_sq += dark * dark;
            }
        }
        assert_eq!(draws.conversion_delay_months(0), 0, "no delay drawn");
    }
    let mean = sum / n;
    let se = ((sum_sq / n - mean * mean) / n).sqrt();
    let expected = rate * days / 12.0;
    assert!(
        (mean - expected).abs() < 4.0 * se,
        "mean dark days a site-month {mean}, expected {expected} (standard error {se})"
    );
}

#[test]
fn dark_days_cut_the_sites_mining_that_month() {
    let miner = scenario(built_in_example("pure-miner").expect("an example"));
    let borrower = Borrower::new(&miner).expect("compiles");
    let market = flat_path_for(&miner);
    let mut buffers = PathBuffers::new(&borrower);
    run_path(&borrower, &market, &mut buffers);
    let before: Vec<f64> = buffers.rows.iter().map(|r| r.btc_mined).collect();
    buffers.idiosyncratic.set_site_dark_days(0, 3, 10.0);
    run_path(&borrower, &market, &mut buffers);
    let after: Vec<f64> = buffers.rows.iter().map(|r| r.btc_mined).collect();
    assert!(before[3] > 0.0);
    let expected = before[3] * (1.0 - 10.0 / DAYS_PER_MONTH);
    assert!(
        (after[3] - expected).abs() <= 1e-9 * expected,
        "{} vs {expected}",
        after[3]
    );
    assert_eq!(after[..3], before[..3]);
    // Cleared, the next path runs without them.
    buffers.idiosyncratic.clear();
    run_path(&borrower, &market, &mut buffers);
    let cleared: Vec<f64> = buffers.rows.iter().map(|r| r.btc_mined).collect();
    assert_eq!(cleared, before);
}

#[test]
fn a_late_conversion_moves_the_first_rent_by_its_delay() {
    let late =
        pivot_with("conversion_delay_probability_percent = 100\nconversion_delay_mean_months = 6");
    let borrower = Borrower::new(&late).expect("compiles");
    let market = flat_path_for(&late);
    let mut buffers = PathBuffers::new(&borrower);
    let on_time = {
        run_path(&borrower, &market, &mut buffers);
        first_rent_month(&buffers).expect("the lease pays")
    };
    // Scheduled: 2026-03 + 16 months = 2027-07, 20 months after 2025-11.
    assert_eq!(on_time, 20);
    let key = RandomKey::from_seed(9);
    let mut delays = Vec::new();
    let mut paid = 0;
    for path in 0..40 {
        draw_idiosyncratic(&borrower, &key, &late.name, path, &mut buffers);
        let delay = buffers.idiosyncratic.conversion_delay_months(0);
        assert!((1..=36).contains(&delay), "delay {delay}");
        delays.push(delay);
        let summary = run_path(&borrower, &market, &mut buffers);
        let ready = on_time + delay as usize;
        // Debt service runs as contracted: a long delay can sink the project company first.
        let first_default = summary
            .debt_outcomes()
            .iter()
            .filter_map(|d| d.default.map(|e| e.month_index))
            .chain(summary.default.map(|e| e.month_index))
            .min();
        let expected = match first_default {
            Some(month) if month < ready => None,
            _ => Some(ready),
        };
        paid += usize::from(expected.is_some());
        assert_eq!(
            first_rent_month(&buffers),
            expected,
            "path {path}, delay {delay}, first default {first_default:?}"
        );
    }
    assert!(paid >= 10, "{paid} paths of 40 reach their rent");
    let mean = delays.iter().map(|&d| f64::from(d)).sum::<f64>() / delays.len() as f64;
    assert!((3.0..10.0).contains(&mean), "mean delay {mean}");
    // A delay set by hand does the same.
    buffers.idiosyncratic.clear();
    buffers.idiosyncratic.set_conversion_delay_months(0, 3);
    run_path(&borrower, &market, &mut buffers);
    assert_eq!(first_rent_month(&buffers), Some(on_time + 3));
}

#[test]
fn late_conversions_raise_the_pivot_miners_pd() {
    let plain = scenario(PIVOT_MINER_TOML);
    let late =
        pivot_with("conversion_delay_probability_percent = 100\nconversion_delay_mean_months = 6");
    let (simulation, on_time) = simulate(&plain, &[], 2_000, 21).expect("simulates");
    let (_, delayed) = simulate(&late, &[], 2_000, 21).expect("simulates");
    let borrower = simulation.borrower();
    let (pd_on_time, pd_delayed) = (
        horizon_pd(&on_time, borrower),
        horizon_pd(&delayed, borrower),
    );
    println!("pivot-miner PD at the horizon: on time {pd_on_time}, 100 % late {pd_delayed}");
    assert!(
        pd_delayed > pd_on_time,
        "PD on time {pd_on_time}, late {pd_delayed}"
    );
    // Common random numbers: no path defaults only because its conversion was on time.
    let more_losses = on_time
        .path_scalars()
        .expect("per-path scalars kept")
        .loss_usd
        .iter()
        .zip(
            &delayed
                .path_scalars()
                .expect("per-path scalars kept")
                .loss_usd,
        )
        .filter(|(a, b)| b > a)
        .count();
    assert!(more_losses > 0);
}

#[test]
fn draws_depend_only_on_the_seed_the_name_and_the_path() {
    let risks = "site_outage_events_per_year = 4\nsite_outage_event_days = 3";
    let a = pivot_with(risks);
    // Another business with the same name and as many sites.
    let b = scenario(
        &format!(
            "{PIVOT_MINER_TOML}\n[idiosyncratic]\n{risks}\n\
             conversion_delay_probability_percent = 50\n"
        )
        .replace(
            "opening_cash_usd = 650_000_000",
            "opening_cash_usd = 500_000_000",
        )
        .replace("grid_capacity_mw = 60", "grid_capacity_mw = 80"),
    );
    let renamed = {
        let mut renamed = a.clone();
        renamed.name = "Another Miner".into();
        renamed
    };
    let (borrower_a, borrower_b, borrower_renamed) = (
        Borrower::new(&a).expect("compiles"),
        Borrower::new(&b).expect("compiles"),
        Borrower::new(&renamed).expect("compiles"),
    );
    assert_ne!(borrower_a.opening_cash_usd, borrower_b.opening_cash_usd);
    assert!(borrower_b.idiosyncratic.draws_delays());
    let key = RandomKey::from_seed(17);
    let dark = |borrower: &Borrower, name: &str, path: u64| -> Vec<f64> {
        let mut buffers = PathBuffers::new(borrower);
        draw_idiosyncratic(borrower, &key, name, path, &mut buffers);
        (0..borrower.sites.len())
            .flat_map(|s| (0..borrower.horizon_months).map(move |t| (s, t)))
            .map(|(s, t)| buffers.idiosyncratic.site_dark_days(s, t))
            .collect()
    };
    let mut any = 0.0;
    for path in [0, 1, 4_095, 4_096, 99_999] {
        let draws = dark(&borrower_a, &a.name, path);
        any += draws.iter().sum::<f64>();
        assert_eq!(draws, dark(&borrower_b, &b.name, path), "path {path}");
        assert_ne!(
            draws,
            dark(&borrower_renamed, &renamed.name, path),
            "path {path}"
        );
        assert_ne!(draws, dark(&borrower_a, &a.name, path + 1), "path {path}");
    }
    assert!(any > 0.0);
}

#[test]
fn runs_with_the_risks_on_are_the_same_on_any_threads() {
    let risky = pivot_with(
        "site_outage_events_per_year = 2\nsite_outage_event_days = 7\n\
         conversion_delay_probability_percent = 30\nconversion_delay_mean_months = 4",
    );
    let paths = 2_500;
    let (simulation, one) = on_threads(1, || simulate(&risky, &[], paths, 3)).expect("simulates");
    let (_, two) = on_threads(2, || simulate(&risky, &[], paths, 3)).expect("simulates");
    assert!(one == two, "the results differ between one and two threads");
    let (_, plain) = simulate(&scenario(PIVOT_MINER_TOML), &[], paths, 3).expect("simulates");
    assert_ne!(
        one.path_scalars().expect("per-path scalars kept").loss_usd,
        plain
            .path_scalars()
            .expect("per-path scalars kept")
            .loss_usd,
        "the risks change nothing"
    );
    let borrower = simulation.borrower();
    assert!(horizon_pd(&one, borrower) >= horizon_pd(&plain, borrower) - 0.01);
}

#[test]
fn drawing_and_running_a_path_allocates_nothing() {
    use bitwatt_engine::{GeneratorScratch, MarketGenerator};
    let risky =
        pivot_with("site_outage_events_per_year = 6\nconversion_delay_probability_percent = 50");
    let borrower = Borrower::new(&risky).expect("compiles");
    let generator = MarketGenerator::new(&risky, &[]).expect("builds");
    let key = RandomKey::from_seed(3);
    let borrower_key = key.borrower(&risky.name);
    let mut market = MarketPath::with_start(risky.first_month());
    let mut buffers = PathBuffers::new(&borrower);
    let mut scratch = GeneratorScratch::default();
    for path in 0..20 {
        generator.generate_with(&key, path, &mut market, &mut scratch);
        buffers.idiosyncratic.draw(&borrower, &borrower_key, path);
        run_path(&borrower, &market, &mut buffers);
    }
    let mut allocations = 0;
    for path in 20..220 {
        generator.generate_with(&key, path, &mut market, &mut scratch);
        let before = crate::allocations::count();
        buffers.idiosyncratic.draw(&borrower, &borrower_key, path);
        run_path(&borrower, &market, &mut buffers);
        allocations += crate::allocations::count() - before;
    }
    assert_eq!(allocations, 0, "allocations drawing and running");
}

/// A miner converting 20 MW of its site into a GPU cloud, without debt.
const GPU_PIVOT: &str = r#"schema_version = 1
name = "GPU pivot"
start_month = "2026-01"
horizon_months = 48
opening_cash_usd = 2e9

[[site]]
name = "Texas"
grid_capacity_mw = 60

[[mining_fleet]]
name = "S21 XP"
site = "Texas"
model = "Antminer S21 XP"
count = 5000

[[gpu_cloud]]
name = "Cloud"
site = "Texas"
generation = "H100"
gpu_count = 10_000
capex_usd_per_gpu = 50_000
power_kw_per_gpu = 1.275
start_month = "2026-07"

[[conversion]]
name = "Hall"
site = "Texas"
critical_it_mw = 20
start_month = "2026-01"
duration_months = 6
capex_usd_per_mw = 1e6
feeds = "Cloud"

[idiosyncratic]
site_outage_events_per_year = 0
conversion_delay_probability_percent = 100
"#;

#[test]
fn a_late_conversion_holds_back_the_gpu_cloud_it_feeds_and_outages_dim_it() {
    let pivot = scenario(GPU_PIVOT);
    let borrower = Borrower::new(&pivot).expect("compiles");
    let market = flat_path_for(&pivot);
    let mut buffers = PathBuffers::new(&borrower);
    let first_revenue = |buffers: &PathBuffers| {
        buffers
            .rows
            .iter()
            .position(|row| row.gpu_revenue_usd > 0.0)
    };
    run_path(&borrower, &market, &mut buffers);
    assert_eq!(first_revenue(&buffers), Some(6));
    let on_time: Vec<f64> = buffers.rows.iter().map(|r| r.gpu_revenue_usd).collect();
    let mining: Vec<f64> = buffers.rows.iter().map(|r| r.hashrate_phs).collect();
    let mined_on_time: Vec<f64> = buffers.rows.iter().map(|r| r.btc_mined).collect();
    buffers.idiosyncratic.set_conversion_delay_months(0, 5);
    run_path(&borrower, &market, &mut buffers);
    assert_eq!(first_revenue(&buffers), Some(11));
    let late: Vec<f64> = buffers.rows.iter().map(|r| r.gpu_revenue_usd).collect();
    // The same revenue once it runs (the GPUs age from their purchase), and the same mining:
    // the MW left mining as scheduled.
    assert_eq!(late[11..], on_time[11..]);
    let late_mining: Vec<f64> = buffers.rows.iter().map(|r| r.hashrate_phs).collect();
    assert_eq!(late_mining, mining);
    // Five dark days at the site in month 20 cut the cloud's revenue by 5 / 30.4375.
    buffers.idiosyncratic.clear();
    buffers.idiosyncratic.set_site_dark_days(0, 20, 5.0);
    run_path(&borrower, &market, &mut buffers);
    let expected = on_time[20] * (1.0 - 5.0 / DAYS_PER_MONTH);
    let dimmed = buffers.rows[20].gpu_revenue_usd;
    assert!(
        (dimmed - expected).abs() <= 1e-9 * expected,
        "{dimmed} vs {expected}"
    );
    assert!(buffers.rows[20].btc_mined < mined_on_time[20]);
}
