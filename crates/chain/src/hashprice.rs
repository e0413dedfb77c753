//! Hashvalue and hashprice, as Luxor's Hashrate Index defines them.
//!
//! Hashvalue is what one PH/s earns per day in BTC at the current difficulty, subsidy and fees
//! (an FPPS pool's expected payout before its fee); hashprice is hashvalue in USD:
//!
//! `hashvalue = 86 400 · 10¹⁵ / (D · 2³²) · (subsidy + fees per block)`,
//! `hashprice = hashvalue · price`.

use crate::pow::HASHES_PER_DIFFICULTY;

/// Seconds per day.
pub const SECONDS_PER_DAY: f64 = 86_400.0;

/// Hashes per second in one PH/s.
pub const HS_PER_PHS: f64 = 1e15;

/// Expected blocks per day that one PH/s finds at difficulty `difficulty`.
pub fn blocks_per_ph_day(difficulty: f64) -> f64 {
    SECONDS_PER_DAY * HS_PER_PHS / (difficulty * HASHES_PER_DIFFICULTY)
}

/// BTC earned per PH/s per day for a block reward (subsidy + fees) of `reward_btc_per_block`.
pub fn hashvalue_btc_per_ph_day(difficulty: f64, reward_btc_per_block: f64) -> f64 {
    blocks_per_ph_day(difficulty) * reward_btc_per_block
}

/// USD earned per PH/s per day at a BTC price of `price_usd`.
pub fn hashprice_usd_per_ph_day(difficulty: f64, reward_btc_per_block: f64, price_usd: f64) -> f64 {
    hashvalue_btc_per_ph_day(difficulty, reward_btc_per_block) * price_usd
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pow::implied_hashrate_hs;

    // DESIGN §5 check and the seed check: D = 149.30 T, fees 0.02 BTC, $80 707.
    #[test]
    fn seed_hashprice_near_34_20() {
        let d = 149.30e12;
        let hashprice = hashprice_usd_per_ph_day(d, 3.125 + 0.02, 80_707.0);
        assert!((hashprice - 34.20).abs() < 0.01, "{hashprice}");
        let zh = implied_hashrate_hs(d) / 1e21;
        assert!((zh - 1.069).abs() < 0.0005, "{zh}");
    }

    #[test]
    fn hashvalue_at_difficulty_one_is_a_block_reward_per_7_15_microseconds() {
        // At difficulty 1 a PH/s finds 86 400 · 10¹⁵ / 2³² blocks a day.
        let blocks = blocks_per_ph_day(1.0);
        assert!(
            (blocks - 2.011_656_761_169_433_6e10).abs() < 1.0,
            "{blocks}"
        );
        assert_eq!(hashvalue_btc_per_ph_day(1.0, 0.0), 0.0);
    }
}
