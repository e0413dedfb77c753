//! Integration tests of the engine: sources equal uses on random scenarios, hand-computed
//! finance cases (DSCR, LTV, schedules, sculpting, reserves, lock-up, covenants, defaults,
//! and every other instrument: borrowing bases, margin calls, refinancing, hedges, equity)
//! the epoch-exact network (halvings, block counts, retargets), the stress library, covenant
//! headroom, rating grades, sensitivities with common random numbers, the Monte Carlo
//! against a closed form and across threads and shards, a lender's book with shared and
//! independent liquidation, and a large pool against Vasicek's quantiles.
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
#[path = "engine/idiosyncratic.rs"]
mod idiosyncratic;
#[path = "engine/instruments.rs"]
mod instruments;
#[path = "engine/network.rs"]
mod network;
#[path = "engine/portfolio.rs"]
mod portfolio;
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
#[path = "engine/vasicek.rs"]
mod vasicek;

/// Counts the allocations of the current thread, so a test can prove a loop allocates nothing.
mod allocations {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    struct Counting;

    thread_local! {
        static COUNT: Cell<u64> = const { Cell::new(0) };
    }

    // SAFETY: every call is passed to the system allocator unchanged; only a thread-local
    // counter is added.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            COUNT.with(|c| c.set(c.get() + 1));
            // SAFETY: as the caller's contract.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: as the caller's contract.
            unsafe { System.dealloc(ptr, layout) }
        }

        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            COUNT.with(|c| c.set(c.get() + 1));
            // SAFETY: as the caller's contract.
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: Counting = Counting;

    /// Allocations (and reallocations) made by this thread so far.
    pub fn count() -> u64 {
        COUNT.with(Cell::get)
    }
}
