//! Integration tests of the engine: sources equal uses on random scenarios, hand-computed
//! finance cases (DSCR, LTV, schedules, sculpting, reserves, lock-up, covenants, defaults,
//! and every other instrument: borrowing bases, margin calls, refinancing, hedges, equity)
//! the epoch-exact network (halvings, block counts, retargets), the stress library, covenant
//! headroom, rating grades, sensitivities with common random numbers, and the Monte Carlo
//! against a closed form and across threads and shards.
//!
//! One test binary; the topics live in `tests/engine/`.

#[path = "engine/common.rs"]
mod common;
#[path = "engine/finance.rs"]
mod finance;
#[path = "engine/generator.rs"]
mod generator;
#[path = "engine/headroom.rs"]
mod headroom;
#[path = "engine/instruments.rs"]
mod instruments;
#[path = "engine/network.rs"]
mod network;
#[path = "engine/rating.rs"]
mod rating;
#[path = "engine/sensitivity.rs"]
mod sensitivity;
#[path = "engine/simulate.rs"]
mod simulate;
#[path = "engine/sources_uses.rs"]
mod sources_uses;
#[path = "engine/stress.rs"]
mod stress;
