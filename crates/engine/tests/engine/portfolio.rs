//! A lender's book: a book of one borrower is `simulate`; with infinitely deep liquidation
//! markets the shared fire sale costs nothing, with thin ones it costs more on every path and
//! strictly more on some; a run is the same on one thread or two; the Euler contributions add
//! up to the book's expected shortfall.

use std::sync::OnceLock;
use std::sync::atomic::AtomicBool;

use bitwatt_engine::{
    BookPaths, Borrower, Liquidation, LiquidationClass, LiquidationMarket, Portfolio,
    PortfolioBorrower, PortfolioError, PortfolioMetrics, PortfolioResult, PortfolioShard,
    RunControl, Shard, SimulationError, Stress, base_market_path, simulate,
};
use bitwatt_model::{
    AsicBandDepth, GenerationDepth, IdiosyncraticRisk, Scenario, asic_band, built_in_example,
};

use crate::common::{assert_close, on_threads, scenario};

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

/// The thin-market book of [`pivot_book`], compiled.
fn pivot_portfolio(volume_usd: f64, paths: u64) -> Portfolio {
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
    Portfolio::new(&market, &book, &stresses, paths, 11).expect("a book")
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
fn pivot_book(volume_usd: f64) -> (PortfolioResult, BookPaths) {
    pivot_portfolio(volume_usd, 1_500).run_all_with_paths()
}

/// The thin-market book, run once for the tests that use it.
fn thin_book() -> &'static (BookPaths, PortfolioMetrics) {
    static THIN: OnceLock<(BookPaths, PortfolioMetrics)> = OnceLock::new();
    THIN.get_or_init(|| {
        let (result, paths) = pivot_book(20e6);
        (paths, result.metrics())
    })
}

/// A book of `pure-miner` alone, holding all its debt, gives `simulate`'s default month and
/// loss on every path, under a stress that makes it default.
#[test]
fn a_book_of_one_borrower_is_simulate() {
    let pure = example("pure-miner");
    let stresses: Vec<Stress> = vec!["hashprice-collapse".parse().expect("a stress")];
    let (paths, seed) = (1_500, 7);
    let (_, single) = simulate(&pure, &stresses, paths, seed).expect("simulates");
    let (book, book_paths) = Portfolio::new(&pure, &[whole("pure", &pure)], &stresses, paths, seed)
        .expect("a book")
        .run_all_with_paths();
    assert!(
        single
            .path_scalars()
            .expect("per-path scalars kept")
            .default_month
            .iter()
            .any(Option::is_some)
    );
    assert_eq!(
        book_paths.default_months(0),
        single
            .path_scalars()
            .expect("per-path scalars kept")
            .default_month
    );
    for liquidation in [Liquidation::Shared, Liquidation::Independent] {
        assert_eq!(
            book_paths.losses_usd(0, liquidation),
            single
                .path_scalars()
                .expect("per-path scalars kept")
                .loss_usd
        );
        assert_eq!(
            book_paths.book_loss_usd(liquidation),
            single
                .path_scalars()
                .expect("per-path scalars kept")
                .loss_usd
        );
    }
    let metrics = book.metrics();
    assert_eq!(metrics.fire_sale_add_on.expected_loss_usd.value, 0.0);
}

/// With liquidation markets of 10³⁰ USD a month, selling together moves no price: the shared
/// and independent losses agree on every path to 1e-9 relative.
#[test]
fn infinitely_deep_markets_make_sharing_free() {
    let (_, result) = pivot_book(1e30);
    let joint = result
        .defaults()
        .chunk_by(|a, b| a.path == b.path)
        .filter(|path| path.iter().filter(|r| r.default_month.is_some()).count() > 1)
        .count();
    assert!(joint > 0, "no path with two defaults");
    for (shared, independent) in result
        .defaults()
        .iter()
        .map(|r| (r.loss_shared_usd, r.loss_independent_usd))
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
        .defaults()
        .iter()
        .map(|r| (r.loss_shared_usd, r.loss_independent_usd))
    {
        assert!(
            shared >= independent - 1e-9 * independent.abs(),
            "{shared} below {independent}"
        );
        if shared > independent * (1.0 + 1e-9) {
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
        result.defaults().len()
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

/// The metrics kept without the per-path values are those of the per-path values: VaR, ES
/// and the Euler contributions exact, means to 1e-9 (summed in another order), joint
/// defaults exact, and the histogram's counts off only by paths within 1 % of a bin's edge.
#[test]
fn metrics_without_the_paths_are_those_of_the_paths() {
    let (paths, metrics) = thin_book();
    let n = paths.paths() as usize;
    assert_eq!(metrics.paths, n as u64);
    for book in [&metrics.shared, &metrics.independent] {
        let losses = paths.book_loss_usd(book.liquidation);
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| losses[a].total_cmp(&losses[b]).then(a.cmp(&b)));
        let sorted: Vec<f64> = order.iter().map(|&p| losses[p]).collect();
        for tail in &book.loss_tail {
            let per_mille = (tail.level * 1_000.0).round() as usize;
            let rank = (n * per_mille).div_ceil(1_000);
            let worst = (n * (1_000 - per_mille)).div_ceil(1_000);
            assert_eq!(tail.var_usd, sorted[rank - 1], "VaR {}", tail.level);
            let es = sorted[n - worst..].iter().sum::<f64>() / worst as f64;
            assert_eq!(tail.es_usd.value, es, "ES {}", tail.level);
        }
        let mean = losses.iter().sum::<f64>() / n as f64;
        assert_close(book.expected_loss_usd.value, mean, "book EL");
        // The Euler contributions: each borrower's mean loss on the worst 1 %.
        let tail: Vec<usize> = order[n - n.div_ceil(100)..].to_vec();
        for (b, borrower) in book.borrowers.iter().enumerate() {
            let losses = paths.losses_usd(b, book.liquidation);
            let contribution = tail.iter().map(|&p| losses[p]).sum::<f64>() / tail.len() as f64;
            assert_close(
                borrower.es_99_contribution_usd.value,
                contribution,
                "contribution",
            );
            let el = losses.iter().sum::<f64>() / n as f64;
            assert_close(borrower.expected_loss_usd.value, el, "borrower EL");
        }
        // The histogram against exact bins.
        let width = book.histogram.bin_width_usd;
        let bins = book.histogram.counts.len();
        let bin = |loss: f64| ((loss / width) as usize).min(bins - 1);
        let mut exact = vec![0_u64; bins];
        let mut near_an_edge = 0;
        for &loss in losses {
            exact[bin(loss)] += 1;
            near_an_edge += u64::from(bin(loss * 0.99) != bin(loss * 1.01));
        }
        let off: u64 = exact
            .iter()
            .zip(&book.histogram.counts)
            .map(|(a, b)| a.abs_diff(*b))
            .sum();
        assert!(
            off <= 2 * near_an_edge,
            "{off} off, {near_an_edge} near an edge"
        );
        let zeros = losses.iter().filter(|&&l| l <= 0.0).count() as u64;
        assert_eq!(book.histogram.zero_loss_paths, zeros);
    }
    let months: Vec<Vec<Option<u16>>> = (0..3).map(|b| paths.default_months(b)).collect();
    for pair in &metrics.default_correlation {
        let index = |name: &str| {
            ["pivot A", "pivot B", "pure"]
                .iter()
                .position(|&n| n == name)
        };
        let (i, j) = (index(&pair.first).unwrap(), index(&pair.second).unwrap());
        let joint = (0..n)
            .filter(|&p| months[i][p].is_some() && months[j][p].is_some())
            .count();
        assert_eq!(pair.joint_pd.value, joint as f64 / n as f64);
    }
}

/// A book runs the same to the last bit on one thread and on two.
#[test]
fn books_are_the_same_on_any_threads() {
    let one = on_threads(1, || pivot_book(20e6));
    let two = on_threads(2, || pivot_book(20e6));
    assert_eq!(one, two);
    assert_eq!(one.0.metrics(), two.0.metrics());
    assert_eq!(&one.1, &thin_book().0);
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

/// Shards 1/1, 1..2/2 and 1..3/3 of a 2 500-path book (three chunks, the last short) merge,
/// in any order, into exactly the whole run; shards of another run, repeated, missing or
/// stopped early are refused.
#[test]
fn book_shards_merge_into_the_whole_run() {
    let portfolio = pivot_portfolio(20e6, 2_500);
    let whole = portfolio.run_all();
    let run = |index, count| {
        portfolio
            .run(Shard { index, count }, &mut RunControl::default())
            .expect("a shard")
    };
    for count in [1, 2, 3] {
        let mut shards: Vec<PortfolioShard> = (1..=count).map(|k| run(k, count)).collect();
        shards.reverse();
        let merged = PortfolioResult::merge(shards).expect("merges");
        assert_eq!(merged, whole, "{count} shards");
    }
    let other = pivot_portfolio(20e6, 2_000);
    let foreign = other
        .run(Shard { index: 2, count: 2 }, &mut RunControl::default())
        .expect("a shard");
    let refused = PortfolioResult::merge(vec![run(1, 2), foreign]).unwrap_err();
    assert!(
        matches!(
            refused,
            SimulationError::FingerprintMismatch { field: "paths", .. }
        ),
        "{refused}"
    );
    let refused = PortfolioResult::merge(vec![run(1, 2), run(1, 2)]).unwrap_err();
    assert!(refused.to_string().contains("once each"), "{refused}");
    let refused = PortfolioResult::merge(vec![run(1, 3), run(2, 3)]).unwrap_err();
    assert!(refused.to_string().contains("2 of 3 shards"), "{refused}");
    let cancel = AtomicBool::new(true);
    let stopped = portfolio
        .run(
            Shard { index: 2, count: 2 },
            &mut RunControl {
                cancel: Some(&cancel),
                ..RunControl::default()
            },
        )
        .expect("a shard");
    assert!(!stopped.complete);
    let refused = PortfolioResult::merge(vec![run(1, 2), stopped]).unwrap_err();
    assert!(refused.to_string().contains("stopped"), "{refused}");
}

/// A receiver of the per-path values that declines stops the run at that chunk.
#[test]
fn declining_the_paths_stops_the_run() {
    let portfolio = pivot_portfolio(20e6, 2_500);
    let mut calls = 0;
    let mut decline = |_: &BookPaths| {
        calls += 1;
        false
    };
    let stopped = portfolio
        .run(
            Shard::WHOLE,
            &mut RunControl {
                book_paths_out: Some(&mut decline),
                ..RunControl::default()
            },
        )
        .expect("a shard");
    assert!(!stopped.complete);
    assert_eq!(stopped.paths_run, bitwatt_engine::CHUNK_PATHS);
    assert_eq!(calls, 1);
}

/// A shard survives JSON: written and read back, it merges to the same result.
#[test]
fn book_shards_round_trip_through_json() {
    let portfolio = pivot_portfolio(20e6, 1_100);
    let shards: Vec<PortfolioShard> = (1..=2)
        .map(|index| {
            let shard = portfolio
                .run(Shard { index, count: 2 }, &mut RunControl::default())
                .expect("a shard");
            serde_json::from_str(&serde_json::to_string(&shard).expect("serialises"))
                .expect("deserialises")
        })
        .collect();
    assert_eq!(
        PortfolioResult::merge(shards).expect("merges"),
        portfolio.run_all()
    );
}

/// A GPU generation or an ASIC efficiency band given a market of its own gets it; the other
/// classes keep their kind's. On the same paths a thin H100 market makes a neocloud holding
/// H100s lose at least as much on every path and more on some.
#[test]
fn generation_and_band_markets_override_their_kind() {
    let scenario = example("neocloud-abl");
    let mut thin = scenario.clone();
    thin.market.liquidation.gpu_generation = vec![GenerationDepth {
        generation: "H100".to_string(),
        monthly_volume_usd: 2e6,
        impact_percent: 40.0,
    }];
    thin.market.liquidation.asic_band = vec![AsicBandDepth {
        efficiency_j_per_th: 16.0,
        monthly_volume_usd: 3e6,
        impact_percent: 20.0,
    }];
    let borrower = Borrower::with_base_path(&thin, &base_market_path(&thin)).expect("compiles");
    let markets = &borrower.liquidation_markets;
    let h100 = thin
        .market
        .gpu
        .generations
        .iter()
        .position(|g| g.name == "H100")
        .expect("an H100 generation") as u8;
    let depth = |d: &bitwatt_model::LiquidationDepth| {
        LiquidationMarket::from_impact(d.monthly_volume_usd, d.impact_percent / 100.0)
    };
    let kind_gpu = depth(&thin.market.liquidation.gpu);
    let kind_asic = depth(&thin.market.liquidation.asic);
    assert_eq!(
        markets.get(LiquidationClass::Gpu { generation: h100 }),
        LiquidationMarket::from_impact(2e6, 0.4)
    );
    assert_eq!(
        markets.get(LiquidationClass::Gpu {
            generation: h100 + 1
        }),
        kind_gpu
    );
    let band = asic_band(16.0);
    assert_eq!(band, 1);
    assert_eq!(
        markets.get(LiquidationClass::Asic { band }),
        LiquidationMarket::from_impact(3e6, 0.2)
    );
    assert_eq!(markets.get(LiquidationClass::Asic { band: 0 }), kind_asic);

    let stresses: Vec<Stress> = vec!["ai-capex-pullback".parse().expect("a stress")];
    let (_, deep) = simulate(&scenario, &stresses, 1_000, 5).expect("simulates");
    let (_, shallow) = simulate(&thin, &stresses, 1_000, 5).expect("simulates");
    assert_eq!(
        deep.path_scalars()
            .expect("per-path scalars kept")
            .default_month,
        shallow
            .path_scalars()
            .expect("per-path scalars kept")
            .default_month
    );
    let mut more = 0;
    for (deep, shallow) in deep
        .path_scalars()
        .expect("per-path scalars kept")
        .loss_usd
        .iter()
        .zip(
            &shallow
                .path_scalars()
                .expect("per-path scalars kept")
                .loss_usd,
        )
    {
        assert!(
            *shallow >= deep - 1e-9 * deep.abs(),
            "{shallow} below {deep}"
        );
        if *shallow > deep * (1.0 + 1e-9) {
            more += 1;
        }
    }
    assert!(more > 0, "the thin H100 market never costs more");
}

/// A borrower's own risks (site outages, conversion delays) are keyed by its name in the
/// book: named as its scenario, a book of one is `simulate` path by path; renamed, it draws
/// other luck.
#[test]
fn idiosyncratic_risks_are_keyed_by_the_borrowers_name() {
    let mut pivot = example("pivot-miner");
    pivot.idiosyncratic = IdiosyncraticRisk {
        site_outage_events_per_year: 2.0,
        site_outage_event_days: 10.0,
        conversion_delay_probability_percent: 60.0,
        conversion_delay_mean_months: 6.0,
    };
    let (paths, seed) = (1_200, 17);
    let (_, single) = simulate(&pivot, &[], paths, seed).expect("simulates");
    let (_, named) = Portfolio::new(&pivot, &[whole(&pivot.name, &pivot)], &[], paths, seed)
        .expect("a book")
        .run_all_with_paths();
    assert_eq!(
        named.default_months(0),
        single
            .path_scalars()
            .expect("per-path scalars kept")
            .default_month
    );
    assert_eq!(
        named.losses_usd(0, Liquidation::Independent),
        single
            .path_scalars()
            .expect("per-path scalars kept")
            .loss_usd
    );
    let (_, renamed) = Portfolio::new(&pivot, &[whole("Another name", &pivot)], &[], paths, seed)
        .expect("a book")
        .run_all_with_paths();
    assert_ne!(
        renamed.default_months(0),
        single
            .path_scalars()
            .expect("per-path scalars kept")
            .default_month
    );
}
