//! Retarget cost: rust-bitcoin's 256-bit rule against the u128 fast path the simulation uses.
//!
//! `cargo bench -p bitwatt-chain --bench retarget`

use std::hint::black_box;

use bitwatt_chain::{CompactBits, RetargetInput, retarget_bits_fast};
use criterion::{Criterion, criterion_group, criterion_main};

/// Real mainnet bits (late 2025) and a spread of timespans inside the clamp range.
const BITS: [u32; 4] = [0x1701_e2a0, 0x1701_d936, 0x1701_cdfb, 0x1d00_ffff];
const TIMESPANS_S: [u32; 4] = [302_400, 1_187_000, 1_209_600, 4_838_400];

fn retarget(c: &mut Criterion) {
    let cases: Vec<(CompactBits, u32)> = BITS
        .iter()
        .flat_map(|&b| {
            TIMESPANS_S
                .iter()
                .map(move |&t| (CompactBits::from_consensus(b), t))
        })
        .collect();
    let mut group = c.benchmark_group("retarget (16 cases)");
    group.bench_function("rust-bitcoin U256", |bench| {
        bench.iter(|| {
            for &(bits, timespan) in &cases {
                let input = RetargetInput {
                    bits,
                    first_block_time: 0,
                    last_block_time: i64::from(timespan),
                };
                black_box(input.next_bits().unwrap());
            }
        })
    });
    group.bench_function("u128 fast path", |bench| {
        bench.iter(|| {
            for &(bits, timespan) in &cases {
                black_box(retarget_bits_fast(black_box(bits), black_box(timespan)));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, retarget);
criterion_main!(benches);
