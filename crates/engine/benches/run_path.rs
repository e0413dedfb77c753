//! Cost of `run_path` per borrower-month on the built-in `pivot-miner` scenario, single thread,
//! buffers reused between paths (as the Monte Carlo runs it); and of generating the base-case
//! market path (network epoch by epoch), for comparison.
//!
//! `cargo bench -p bitwatt-engine --bench run_path`

use std::hint::black_box;

use bitwatt_engine::{Borrower, PathBuffers, base_market_path, run_path};
use bitwatt_model::{PIVOT_MINER_TOML, Scenario};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn run_path_bench(c: &mut Criterion) {
    let scenario = Scenario::from_toml(PIVOT_MINER_TOML).expect("the example is valid");
    let market = base_market_path(&scenario);
    let borrower = Borrower::with_base_path(&scenario, &market).expect("the example compiles");
    let mut buffers = PathBuffers::new(&borrower);
    let months = run_path(&borrower, &market, &mut buffers).months_run;

    let mut group = c.benchmark_group("pivot-miner");
    // Elements are borrower-months: criterion reports months per second.
    group.throughput(Throughput::Elements(months as u64));
    group.bench_function(format!("run_path ({months} months)"), |bench| {
        bench.iter(|| black_box(run_path(&borrower, black_box(&market), &mut buffers)))
    });
    group.bench_function(format!("base_market_path ({months} months)"), |bench| {
        bench.iter(|| black_box(base_market_path(black_box(&scenario))))
    });
    group.finish();
}

criterion_group!(benches, run_path_bench);
criterion_main!(benches);
