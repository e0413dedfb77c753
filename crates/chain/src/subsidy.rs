//! Block subsidy and halvings, as Bitcoin Core's `GetBlockSubsidy`.

/// Blocks between halvings (Core: `nSubsidyHalvingInterval`).
pub const HALVING_INTERVAL: u32 = 210_000;

/// The subsidy of the first era, 50 BTC, in satoshi.
pub const INITIAL_SUBSIDY_SAT: u64 = 50 * SAT_PER_BTC;

/// Satoshi per bitcoin.
pub const SAT_PER_BTC: u64 = 100_000_000;

/// Halving era of a height: 0 for the first 210 000 blocks, 1 for the next, …
pub const fn halving_era(height: u32) -> u32 {
    height / HALVING_INTERVAL
}

/// The block subsidy in satoshi: 50 BTC shifted right once per halving, zero from the 64th
/// halving on (Core returns zero there because a shift of 64 or more is undefined in C++).
pub const fn block_subsidy_sat(height: u32) -> u64 {
    let halvings = halving_era(height);
    if halvings >= 64 {
        0
    } else {
        INITIAL_SUBSIDY_SAT >> halvings
    }
}

/// The block subsidy in BTC.
pub fn block_subsidy_btc(height: u32) -> f64 {
    sat_to_btc(block_subsidy_sat(height))
}

/// Converts satoshi to BTC.
pub fn sat_to_btc(sat: u64) -> f64 {
    sat as f64 / SAT_PER_BTC as f64
}

/// The first height of the next halving era (the next multiple of 210 000 above `height`),
/// or `None` where that height does not fit a `u32`. From height 6 930 000 on, the subsidy is
/// already zero (50 BTC >> 33 rounds to nothing) and halvings change nothing.
pub fn next_halving_height(height: u32) -> Option<u32> {
    (halving_era(height) + 1).checked_mul(HALVING_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsidy_at_every_halving_boundary() {
        for era in 0..70u32 {
            let Some(first) = era.checked_mul(HALVING_INTERVAL) else {
                break;
            };
            let expected = if era >= 64 {
                0
            } else {
                INITIAL_SUBSIDY_SAT >> era
            };
            assert_eq!(block_subsidy_sat(first), expected, "era {era}");
            if first > 0 {
                let before = if era > 64 {
                    0
                } else {
                    INITIAL_SUBSIDY_SAT >> (era - 1)
                };
                assert_eq!(
                    block_subsidy_sat(first - 1),
                    before,
                    "end of era {}",
                    era - 1
                );
            }
        }
        assert_eq!(block_subsidy_sat(839_999), 625_000_000);
        assert_eq!(block_subsidy_sat(840_000), 312_500_000);
        assert_eq!(block_subsidy_sat(1_050_000), 156_250_000);
        assert_eq!(block_subsidy_sat(64 * HALVING_INTERVAL), 0);
        assert_eq!(block_subsidy_sat(u32::MAX), 0);
    }

    // Core's subsidy_limit_test: the sum over heights 0 … 14 000 000 in steps of 1 000.
    #[test]
    fn core_subsidy_limit_sum() {
        let total: u64 = (0..14_000_000u32)
            .step_by(1000)
            .map(|h| block_subsidy_sat(h) * 1000)
            .sum();
        assert_eq!(total, 2_099_999_997_690_000);
    }

    #[test]
    fn next_halving() {
        assert_eq!(next_halving_height(925_344), Some(1_050_000));
        assert_eq!(next_halving_height(0), Some(210_000));
        assert_eq!(next_halving_height(209_999), Some(210_000));
        assert_eq!(next_halving_height(210_000), Some(420_000));
        assert_eq!(next_halving_height(6_929_999), Some(6_930_000));
        assert_eq!(next_halving_height(6_930_000), Some(7_140_000));
        assert_eq!(next_halving_height(u32::MAX), None);
        assert_eq!(block_subsidy_sat(6_929_999), 1);
    }
}
