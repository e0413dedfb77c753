//! A lender's book: a book of one borrower is `simulate`; with infinitely deep liquidation
//! markets the shared fire sale costs nothing, with thin ones it costs more on every path and
//! strictly more on some; a run is the same on one thread or two; the Euler contributions add
//! up to the book's expected shortfall.

use std::sync::OnceLock;

use bitwatt_engine::{
    Portfolio, PortfolioBorrower, PortfolioError, PortfolioMetrics, PortfolioResult, Stress,
    simulate,
};
use bitwatt_model::{Scenario, built_in_example};

use crate::common::scenario;

/// A built-in example.
fn example(name: &str) -> Scenario {
    scenario(built_in_example(name).expect("a built-in example"))
}

/// The lender holds all of every instrument of `scenario`, named `name` in the book.
fn whole<'a>(name: &'a str, scenario: &'a Scenario) -> PortfolioBorrower<'a> {
    PortfolioBorrower {
        name,
        scenario,
        shares: vec![1.0; scenario.debt.len()],
    }
}

/// `market` with every liquidation market clearing `volume_usd` a month.
fn with_depth(market: &Scenario, volume_usd: f64) -> Scenario {
    let mut market = market.clone();
    let liquidation = &mut market.market.liquidation;
    for depth in [
        &mut liquidation.asic,
        &mut liquidation.gpu,
        &mut liquidation.btc,
        &mut liquidation.site,
    ] {
        depth.monthly_volume_usd = volume_usd;
    }
    market
}

/// Three borrowers that default often — two copies of `pivot-miner` and one of `pure-miner`
/// — on `pivot-miner`'s market with every liquidation market `volume_usd` deep, 1 500 paths
/// (two chunks, the second short) under a hashprice collapse.
fn pivot_book(volume_usd: f64) -> PortfolioResult {
    let pivot = example("pivot-miner");
    let mut pure = example("pure-miner");
    pure.start_month = pivot.start_month;
    pure.horizon_months = pivot.horizon_months;
    let market = with_depth(&pivot, volume_usd);
    let stresses: Vec<Stress> = vec!["hashprice-collapse".parse().expect("a stress")];
    let book = [
        whole("pivot A", &pivot),
        whole("pivot B", &pivot),
        whole("pure", &pure),
    ];
    Portfolio::new(&market, &book, &stresses, 1_500, 11)
        .expect("a book")
        .run()
}

/// The thin-market book, run once for the tests that use it.
fn thin_book() -> &'static (PortfolioResult, PortfolioMetrics) {
    static THIN: OnceLock<(PortfolioResult, PortfolioMetrics)> = OnceLock::new();
    THIN.get_or_init(|| {
        let result = pivot_book(20e6);
        let metrics = result.metrics();
        (result, metrics)
    })
}

fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

/// A book of `pure-miner` alone, holding all its debt, gives `simulate`'s default month and
/// loss on every path, under a stress that makes it default.
#[test]
fn a_book_of_one_borrower_is_simulate() {
    let pure = example("pure-miner");
    let stresses: Vec<Stress> = vec!["hashprice-collapse".parse().expect("a stress")];
    let (paths, seed) = (1_500, 7);
    let (_, single) = simulate(&pure, &stresses, paths, seed).expect("simulates");
    let book = Portfolio::new(&pure, &[whole("pure", &pure)], &stresses, paths, seed)
        .expect("a book")
        .run();
    assert!(single.path_default_month.iter().any(Option::is_some));
    assert_eq!(book.default_month, single.path_default_month);
    assert_eq!(book.loss_shared_usd, single.path_loss_usd);
    assert_eq!(book.loss_independent_usd, single.path_loss_usd);
    let metrics = book.metrics();
    assert_eq!(metrics.fire_sale_add_on.expected_loss_usd.value, 0.0);
}

/// With liquidation markets of 10³⁰ USD a month, selling together moves no price: the shared
/// and independent losses agree on every path to 1e-9 relative.
#[test]
fn infinitely_deep_markets_make_sharing_free() {
    let result = pivot_book(1e30);
    let k = result.borrower_count();
    let joint = result
        .default_month
        .chunks(k)
        .filter(|row| row.iter().filter(|d| d.is_some()).count() > 1)
        .count();
    assert!(joint > 0, "no path with two defaults");
    for (shared, independent) in result
        .loss_shared_usd
        .iter()
        .zip(&result.loss_independent_usd)
    {
        assert!(
            (shared - independent).abs() <= 1e-9 * shared.abs().max(independent.abs()),
            "{shared} against {independent}"
        );
    }
}

/// With $20 M a month of depth, the book's sellers push each other's prices down: the shared
/// loss is never below the independent one (1e-9 relative) and above it on some paths, and
/// the fire-sale add-on to ES 99 % is positive.
#[test]
fn thin_markets_make_sharing_cost_more() {
    let (result, metrics) = thin_book();
    let mut more = 0;
    for (shared, independent) in result
        .loss_shared_usd
        .iter()
        .zip(&result.loss_independent_usd)
    {
        assert!(
            *shared >= independent - 1e-9 * independent.abs(),
            "{shared} below {independent}"
        );
        if *shared > independent * (1.0 + 1e-9) {
            more += 1;
        }
    }
    assert!(more > 0, "sharing never costs more");
    let add_on = &metrics.fire_sale_add_on;
    assert!(add_on.expected_loss_usd.value > 0.0);
    let es_99 = add_on
        .es_usd
        .iter()
        .find(|t| t.level == 0.99)
        .expect("99 %");
    assert!(es_99.difference_usd.value > 0.0);
    // Copies of one borrower on one market default together.
    let pair = &metrics.default_correlation[0];
    assert_eq!(
        (pair.first.as_str(), pair.second.as_str()),
        ("pivot A", "pivot B")
    );
    let correlation = pair.correlation.expect("both default sometimes").value;
    assert!((correlation - 1.0).abs() < 1e-12, "{correlation}");
    println!(
        "thin book: EL shared {:.0} independent {:.0} USD; ES 99 % add-on {:.0} ± {:.0} USD, \
         ES 99.9 % add-on {:.0} USD; {more} of {} borrower-paths lose more",
        metrics.shared.expected_loss_usd.value,
        metrics.independent.expected_loss_usd.value,
        es_99.difference_usd.value,
        es_99.difference_usd.standard_error,
        add_on.es_usd[2].difference_usd.value,
        result.loss_shared_usd.len()
    );
}

/// The Euler contributions to ES 99 % add up to the book's ES 99 % (1e-9 relative), under
/// both liquidations.
#[test]
fn euler_contributions_sum_to_the_expected_shortfall() {
    let (_, metrics) = thin_book();
    for book in [&metrics.shared, &metrics.independent] {
        let es = book
            .loss_tail
            .iter()
            .find(|t| t.level == 0.99)
            .expect("99 %")
            .es_usd
            .value;
        assert!(es > 0.0);
        let sum: f64 = book
            .borrowers
            .iter()
            .map(|b| b.es_99_contribution_usd.value)
            .sum();
        assert!((sum - es).abs() <= 1e-9 * es, "{sum} against {es}");
        let paths: u64 = book.histogram.counts.iter().sum();
        assert_eq!(paths, metrics.paths);
    }
}

/// A book runs the same to the last bit on one thread and on two.
#[test]
fn books_are_the_same_on_any_threads() {
    let one = on_threads(1, || pivot_book(20e6));
    let two = on_threads(2, || pivot_book(20e6));
    assert_eq!(one, two);
    assert_eq!(one.metrics(), two.metrics());
    assert_eq!(&one, &thin_book().0);
}

/// Borrowers must start and end with the market, and hold a share of each instrument.
#[test]
fn books_that_do_not_fit_are_refused() {
    let pure = example("pure-miner");
    let mut short = pure.clone();
    short.horizon_months -= 12;
    let refused = Portfolio::new(&pure, &[whole("short", &short)], &[], 10, 1).err();
    assert!(matches!(refused, Some(PortfolioError::Horizon { .. })));
    let mut half = whole("half", &pure);
    half.shares.push(0.5);
    let refused = Portfolio::new(&pure, &[half], &[], 10, 1).err();
    assert!(matches!(refused, Some(PortfolioError::ShareCount { .. })));
    let refused = Portfolio::new(&pure, &[whole("a", &pure), whole("a", &pure)], &[], 10, 1).err();
    assert!(matches!(refused, Some(PortfolioError::DuplicateName(_))));
}
