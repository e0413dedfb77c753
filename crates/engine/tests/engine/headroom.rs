//! Covenant headroom: the levers move what they say, every break found is bracketed within
//! the tolerance (checked on a run read by hand), and so is the borrower's own default;
//! covenant-free borrowers give no rows, a covenant already broken on the base case says so,
//! and stresses set the base case.

use bitwatt_engine::{
    Borrower, Breach, Covenant, CovenantLevel, HEADROOM_TOLERANCE, Headroom, HeadroomSolver, Lever,
    MarketPath, PathBuffers, Stress, base_market_path, headroom, run_path, stressed_market_path,
};
use bitwatt_model::{BUILT_IN_EXAMPLES, Scenario, built_in_example};

use crate::common::scenario;

fn example(name: &str) -> Scenario {
    scenario(built_in_example(name).expect("a built-in example"))
}

/// `neocloud-abl` with DSCR and LTV covenants on its GPU loan, which rents at the market:
/// every lever but the BTC price reaches it.
fn covenanted_neocloud() -> Scenario {
    let text = built_in_example("neocloud-abl").expect("a built-in example");
    let anchor = "market_spread_bps = 600\n";
    assert!(text.contains(anchor));
    scenario(&text.replacen(
        anchor,
        &format!(
            "{anchor}[debt.covenants]\ndscr_window_months = 12\nlock_up_dscr = 1.00\n\
             default_dscr = 0.80\nmax_ltv_percent = 80\n"
        ),
        1,
    ))
}

/// Whether `covenant` breaks when `borrower` runs on `market`, read from the run's monthly
/// rows: a tested DSCR below its level or a failed LTV test, or the instrument's default
/// before either.
fn breaks_by_hand(borrower: &Borrower, market: &MarketPath, covenant: &CovenantLevel) -> bool {
    let mut buffers = PathBuffers::new(borrower);
    let summary = run_path(borrower, market, &mut buffers);
    let count = borrower.debts.len();
    let failed = buffers
        .debt_rows
        .iter()
        .skip(covenant.debt)
        .step_by(count)
        .position(|month| match covenant.kind {
            Covenant::DscrDefault | Covenant::DscrLockUp => {
                month.tested_dscr.is_some_and(|dscr| dscr < covenant.level)
            }
            Covenant::MaxLtv => month.covenant_breaches.contains(Covenant::MaxLtv),
        });
    failed.is_some() || summary.debt_outcomes()[covenant.debt].default.is_some()
}

/// The base case with one factor scaled by hand, for the levers that leave the network be.
fn scaled_by_hand(base: &MarketPath, lever: Lever, multiplier: f64) -> MarketPath {
    let mut path = base.clone();
    let scale = |values: &mut Vec<f64>| values.iter_mut().for_each(|v| *v *= multiplier);
    match lever {
        Lever::BtcPrice => unreachable!("the network runs again"),
        Lever::Hashprice => {
            scale(&mut path.subsidy_btc);
            scale(&mut path.fees_btc_per_block);
        }
        Lever::GpuRent => scale(&mut path.gpu_rent_index_usd_per_gpu_hour),
        Lever::PowerPrice => scale(&mut path.power_price_usd_per_mwh),
    }
    path
}

#[test]
fn headroom_levers_move_only_their_factor() {
    let scenario = example("pivot-miner");
    let mut solver = HeadroomSolver::new(&scenario, &[]).expect("compiles");
    let base = base_market_path(&scenario);
    assert_eq!(solver.base_path(), &base);
    for lever in Lever::ALL {
        assert_eq!(solver.moved_path(lever, 1.0), &base, "{lever:?} at 1");
    }
    for lever in [Lever::Hashprice, Lever::GpuRent, Lever::PowerPrice] {
        let moved = solver.moved_path(lever, 0.7).clone();
        assert_eq!(moved, scaled_by_hand(&base, lever, 0.7), "{lever:?}");
        assert!(
            (lever.level_at_start(&moved) - 0.7 * lever.level_at_start(&base)).abs()
                <= 1e-9 * lever.level_at_start(&base),
            "{lever:?} level"
        );
    }
    // Hashprice moves with the reward at the same BTC price and network.
    let moved = solver.moved_path(Lever::Hashprice, 0.5).clone();
    assert_eq!(moved.btc_price_usd, base.btc_price_usd);
    assert_eq!(moved.network_hashrate_hs, base.network_hashrate_hs);
    for t in 0..base.months() {
        let ratio = moved.hashprice_usd_per_ph_day(t) / base.hashprice_usd_per_ph_day(t);
        assert!(
            (ratio - 0.5).abs() < 1e-12,
            "month {t}: hashprice × {ratio}"
        );
    }
    // BTC price: prices and lows scale, and the network gives way with its lag.
    let moved = solver.moved_path(Lever::BtcPrice, 0.5).clone();
    for t in 0..base.months() {
        assert!((moved.btc_price_usd[t] / base.btc_price_usd[t] - 0.5).abs() < 1e-12);
        assert!((moved.btc_low_usd[t] / base.btc_low_usd[t] - 0.5).abs() < 1e-12);
    }
    assert_eq!(
        moved.gpu_rent_index_usd_per_gpu_hour,
        base.gpu_rent_index_usd_per_gpu_hour
    );
    let last = base.months() - 1;
    assert!(moved.network_hashrate_hs[last] < base.network_hashrate_hs[last]);
    assert!(moved.hashprice_usd_per_ph_day(last) > 0.5 * base.hashprice_usd_per_ph_day(last));
}

#[test]
fn headroom_brackets_every_break_within_the_tolerance() {
    let mut scenarios: Vec<(String, Scenario)> = BUILT_IN_EXAMPLES
        .iter()
        .map(|(name, _)| (name.to_string(), example(name)))
        .collect();
    scenarios.push(("covenanted neocloud".to_string(), covenanted_neocloud()));
    let mut breaks_found = 0;
    for (name, scenario) in &scenarios {
        let mut solver = HeadroomSolver::new(scenario, &[]).expect("compiles");
        let rows = solver.solve();
        assert_eq!(rows, headroom(scenario, &[]).expect("compiles"), "{name}");
        assert_eq!(
            rows.len(),
            solver.covenants().len() * Lever::ALL.len(),
            "{name}"
        );
        let borrower =
            Borrower::with_base_path(scenario, &base_market_path(scenario)).expect("compiles");
        for row in &rows {
            let what = format!(
                "{name}: {} {:?} {:?}",
                row.instrument, row.covenant.kind, row.lever
            );
            assert!(
                !breaks_by_hand(&borrower, solver.base_path(), &row.covenant),
                "{what}"
            );
            let Headroom::Breaks {
                multiplier,
                headroom_percent,
                level_at_start,
                ..
            } = row.headroom
            else {
                continue;
            };
            breaks_found += 1;
            assert_eq!(multiplier > 1.0, row.lever.adverse_when_rising(), "{what}");
            assert!(
                (headroom_percent - (multiplier - 1.0) * 100.0).abs() < 1e-9,
                "{what}"
            );
            assert!(
                (level_at_start - multiplier * row.base_level_at_start).abs()
                    <= 1e-9 * level_at_start,
                "{what}"
            );
            let (holds_at, breaks_at) = if row.lever.adverse_when_rising() {
                (
                    multiplier * (1.0 - HEADROOM_TOLERANCE),
                    multiplier * (1.0 + HEADROOM_TOLERANCE),
                )
            } else {
                (
                    multiplier * (1.0 + HEADROOM_TOLERANCE),
                    multiplier * (1.0 - HEADROOM_TOLERANCE),
                )
            };
            let holding = solver.moved_path(row.lever, holds_at).clone();
            assert!(
                !breaks_by_hand(&borrower, &holding, &row.covenant),
                "{what} at {holds_at}"
            );
            let breaking = solver.moved_path(row.lever, breaks_at).clone();
            assert!(
                breaks_by_hand(&borrower, &breaking, &row.covenant),
                "{what} at {breaks_at}"
            );
        }
    }
    assert!(breaks_found >= 4, "only {breaks_found} breaks found");
}

#[test]
fn headroom_of_covenant_free_borrowers_is_empty() {
    for name in ["pure-miner", "neocloud-abl"] {
        let scenario = example(name);
        let solver = HeadroomSolver::new(&scenario, &[]).expect("compiles");
        assert!(solver.covenants().is_empty(), "{name}");
        assert!(
            headroom(&scenario, &[]).expect("compiles").is_empty(),
            "{name}"
        );
    }
}

#[test]
fn headroom_reports_a_covenant_broken_in_the_base_case() {
    let text = built_in_example("pivot-miner").expect("a built-in example");
    let scenario = scenario(&text.replacen("max_ltv_percent = 75", "max_ltv_percent = 5", 1));
    let rows = headroom(&scenario, &[]).expect("compiles");
    let ltv_rows: Vec<_> = rows
        .iter()
        .filter(|row| row.covenant.kind == Covenant::MaxLtv)
        .collect();
    assert_eq!(ltv_rows.len(), Lever::ALL.len());
    for row in ltv_rows {
        match row.headroom {
            Headroom::BreaksInBaseCase { breach, .. } => assert_eq!(breach, Breach::Covenant),
            other => panic!("{:?}: {other:?}", row.lever),
        }
    }
}

#[test]
fn headroom_serialises_each_outcome_by_name() {
    let rows = headroom(&covenanted_neocloud(), &[]).expect("compiles");
    let json = serde_json::to_value(&rows).expect("serialises");
    let statuses: Vec<&str> = json
        .as_array()
        .expect("an array")
        .iter()
        .map(|row| row["headroom"]["status"].as_str().expect("a status"))
        .collect();
    assert!(statuses.contains(&"breaks"), "{statuses:?}");
    assert!(statuses.contains(&"holds_within_range"), "{statuses:?}");
}

#[test]
fn headroom_says_from_where_the_borrower_defaults() {
    let scenario = example("pivot-miner");
    let mut solver = HeadroomSolver::new(&scenario, &[]).expect("compiles");
    let rows = solver.solve();
    let mut checked = 0;
    for row in &rows {
        let Headroom::HoldsWithinRange {
            borrower_default_multiplier: Some(multiplier),
            ..
        } = row.headroom
        else {
            continue;
        };
        let (survives_at, defaults_at) = if row.lever.adverse_when_rising() {
            (1.0 - HEADROOM_TOLERANCE, 1.0 + HEADROOM_TOLERANCE)
        } else {
            (1.0 + HEADROOM_TOLERANCE, 1.0 - HEADROOM_TOLERANCE)
        };
        let mut breaches = vec![None; solver.covenants().len()];
        let what = format!("{} {:?}", row.instrument, row.lever);
        let survives = solver.first_breaches(row.lever, multiplier * survives_at, &mut breaches);
        assert_eq!(survives, None, "{what}");
        let defaults = solver.first_breaches(row.lever, multiplier * defaults_at, &mut breaches);
        assert!(defaults.is_some(), "{what}");
        checked += 1;
    }
    assert!(checked > 0);
}

#[test]
fn headroom_runs_on_the_stressed_base_case() {
    let scenario = example("pivot-miner");
    let stresses: Vec<Stress> = vec!["hashprice-collapse".parse().expect("a stress")];
    let mut solver = HeadroomSolver::new(&scenario, &stresses).expect("compiles");
    assert_eq!(
        solver.base_path(),
        &stressed_market_path(&scenario, &stresses)
    );
    assert_eq!(
        solver.moved_path(Lever::BtcPrice, 1.0),
        &stressed_market_path(&scenario, &stresses)
    );
    let rows = solver.solve();
    assert_eq!(rows.len(), solver.covenants().len() * Lever::ALL.len());
}
