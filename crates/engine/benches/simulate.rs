//! Where a simulated path's time goes on the built-in `pivot-miner` scenario, single thread:
//! the generator (exogenous factors, then the network epoch by epoch), `run_path` on a
//! generated path, and a whole run of 1 024 paths (generator, `run_path`, recovery and the
//! aggregation: moments, fans, attribution, covenant tallies). Throughput is path-months.
//!
//! `cargo bench -p bitwatt-engine --bench simulate`

use std::hint::black_box;

use bitwatt_engine::{
    MarketGenerator, MarketPath, PathBuffers, RandomKey, RunControl, Shard, Simulation, run_path,
};
use bitwatt_model::{PIVOT_MINER_TOML, Scenario};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn simulate_bench(c: &mut Criterion) {
    let scenario = Scenario::from_toml(PIVOT_MINER_TOML).expect("the example is valid");
    let months = scenario.horizon_months as u64;
    let generator = MarketGenerator::new(&scenario, &[]).expect("the model is valid");
    let key = RandomKey::from_seed(1);
    let mut market = MarketPath::with_start(scenario.first_month());
    let paths = 1_024;
    let simulation = Simulation::new(&scenario, &[], paths, 1).expect("the example compiles");
    let borrower = simulation.borrower();
    let mut buffers = PathBuffers::new(borrower);

    let mut group = c.benchmark_group("pivot-miner path");
    group.throughput(Throughput::Elements(months));
    let mut path = 0;
    group.bench_function(format!("generate ({months} months)"), |bench| {
        bench.iter(|| {
            path += 1;
            generator.generate(&key, path, &mut market);
            black_box(&market);
        })
    });
    // run_path over a fixed set of generated paths.
    let markets: Vec<MarketPath> = (0..64)
        .map(|path| {
            let mut market = MarketPath::with_start(scenario.first_month());
            generator.generate(&key, path, &mut market);
            market
        })
        .collect();
    let mut next = 0;
    group.bench_function(
        format!("run_path on generated paths ({months} months)"),
        |bench| {
            bench.iter(|| {
                next = (next + 1) % markets.len();
                black_box(run_path(borrower, &markets[next], &mut buffers))
            })
        },
    );
    group.finish();

    let mut group = c.benchmark_group("pivot-miner run");
    group.sample_size(10);
    group.throughput(Throughput::Elements(months * paths));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a thread pool");
    group.bench_function(format!("{paths} paths, 1 thread"), |bench| {
        bench.iter(|| {
            pool.install(|| {
                black_box(
                    simulation
                        .run(Shard::WHOLE, &mut RunControl::default())
                        .expect("runs"),
                )
            })
        })
    });
    group.finish();
}

criterion_group!(benches, simulate_bench);
criterion_main!(benches);
