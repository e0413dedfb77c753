//! Proof of work: compact bits, targets, difficulty and the retarget rule.
//!
//! The 256-bit arithmetic is rust-bitcoin's (`bitcoin::pow`); this module is the one place that
//! touches it, so a move to a newer `bitcoin` release changes one file. What rust-bitcoin does
//! not offer is written here and cites Bitcoin Core:
//!
//! * strict decoding of compact bits with Core's `SetCompact` flags (negative, overflow), so that
//!   user input such as `0x04923456` (negative) is rejected instead of silently read as zero;
//! * Core's floating-point `GetDifficulty`, which is *not* `max_target / target` computed in
//!   256-bit arithmetic but a shift loop on the 24-bit mantissa;
//! * the retarget from two block times as signed integers (rust-bitcoin 0.32's header form
//!   subtracts `u32` times and underflows when time goes backwards).

use std::fmt;

use bitcoin::Network;
use bitcoin::pow::{CompactTarget, Target as BitcoinTarget, Work};

/// Blocks between two difficulty adjustments (Core: `DifficultyAdjustmentInterval()`).
pub const DIFFICULTY_ADJUSTMENT_INTERVAL: u32 = 2016;

/// Target seconds between blocks (Core: `nPowTargetSpacing = 10 * 60`).
pub const TARGET_BLOCK_SPACING_S: u32 = 600;

/// Target seconds per adjustment period, two weeks (Core: `nPowTargetTimespan`).
pub const TARGET_TIMESPAN_S: i64 = 14 * 24 * 60 * 60;

/// Shortest timespan a retarget accepts: a quarter of the target (Core: `nPowTargetTimespan/4`).
pub const MIN_TIMESPAN_S: i64 = TARGET_TIMESPAN_S / 4;

/// Longest timespan a retarget accepts: four times the target (Core: `nPowTargetTimespan*4`).
pub const MAX_TIMESPAN_S: i64 = TARGET_TIMESPAN_S * 4;

/// The mainnet proof-of-work limit in compact form, the bits of the genesis block.
pub const POW_LIMIT_BITS: CompactBits = CompactBits(0x1d00_ffff);

/// 2³², the expected number of hashes per unit of difficulty.
pub const HASHES_PER_DIFFICULTY: f64 = 4_294_967_296.0;

/// Errors from decoding or using compact bits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PowError {
    /// The text is not a 32-bit hexadecimal number.
    #[error("'{input}' is not compact bits: expected up to 8 hex digits, e.g. 0x1d00ffff")]
    InvalidHex {
        /// The rejected text.
        input: String,
    },
    /// The sign bit (0x00800000) is set with a non-zero mantissa: Core's `fNegative`.
    #[error("bits {bits} encode a negative target (sign bit 0x00800000 set)")]
    Negative {
        /// The rejected bits.
        bits: CompactBits,
    },
    /// The exponent pushes the mantissa beyond 256 bits: Core's `fOverflow`.
    #[error("bits {bits} overflow 256 bits (exponent too large for the mantissa)")]
    Overflow {
        /// The rejected bits.
        bits: CompactBits,
    },
    /// The target is zero, so no hash can meet it and the difficulty is undefined.
    #[error("bits {bits} encode a zero target")]
    ZeroTarget {
        /// The rejected bits.
        bits: CompactBits,
    },
    /// The target is easier than the mainnet proof-of-work limit (bits 0x1d00ffff).
    #[error("bits {bits} encode a target above the mainnet proof-of-work limit 0x1d00ffff")]
    AbovePowLimit {
        /// The rejected bits.
        bits: CompactBits,
    },
}

/// The compact encoding of a target ("nBits") as carried in a block header.
///
/// Any `u32` is a `CompactBits`; whether it encodes a valid target is checked by
/// [`CompactBits::target`].
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CompactBits(u32);

impl CompactBits {
    /// Wraps the consensus `u32` value.
    pub const fn from_consensus(bits: u32) -> Self {
        Self(bits)
    }

    /// The consensus `u32` value.
    pub const fn to_consensus(self) -> u32 {
        self.0
    }

    /// Parses hexadecimal bits, with or without a `0x` prefix (`0x1d00ffff`, `1d00ffff`).
    pub fn parse(text: &str) -> Result<Self, PowError> {
        let trimmed = text.trim();
        let digits = trimmed
            .strip_prefix("0x")
            .or_else(|| trimmed.strip_prefix("0X"))
            .unwrap_or(trimmed);
        let invalid = || PowError::InvalidHex {
            input: text.to_string(),
        };
        if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid());
        }
        u32::from_str_radix(digits, 16)
            .map(Self)
            .map_err(|_| invalid())
    }

    /// The exponent byte: the length of the target in bytes.
    pub const fn exponent(self) -> u32 {
        self.0 >> 24
    }

    /// The 23-bit mantissa, without the sign bit.
    pub const fn mantissa(self) -> u32 {
        self.0 & 0x007f_ffff
    }

    /// Decodes the target as Core's `arith_uint256::SetCompact` does, rejecting the encodings
    /// Core flags as negative or overflowing and the zero target.
    pub fn target(self) -> Result<Target, PowError> {
        let size = self.exponent();
        let word = self.0 & 0x007f_ffff;
        // Core shifts the mantissa right for sizes ≤ 3 before testing it against zero.
        let shifted_word = if size <= 3 {
            word >> (8 * (3 - size))
        } else {
            word
        };
        if shifted_word != 0 && self.0 & 0x0080_0000 != 0 {
            return Err(PowError::Negative { bits: self });
        }
        let overflow = shifted_word != 0
            && (size > 34
                || (shifted_word > 0xff && size > 33)
                || (shifted_word > 0xffff && size > 32));
        if overflow {
            return Err(PowError::Overflow { bits: self });
        }
        if shifted_word == 0 {
            return Err(PowError::ZeroTarget { bits: self });
        }
        Ok(Target(BitcoinTarget::from_compact(
            CompactTarget::from_consensus(self.0),
        )))
    }

    /// Difficulty exactly as Bitcoin Core's `GetDifficulty` computes it: `0xffff / mantissa`
    /// scaled by 256 per byte of exponent away from 29, in `f64`.
    ///
    /// This is what `getblockchaininfo` and `getdifficulty` report. It reads the 24-bit field
    /// as unsigned and never fails; validate with [`CompactBits::target`] first where a
    /// negative or zero target must be rejected.
    pub fn core_difficulty(self) -> f64 {
        let mut shift = (self.0 >> 24) & 0xff;
        let mut difficulty = f64::from(0x0000_ffff_u32) / f64::from(self.0 & 0x00ff_ffff);
        if shift < 29 {
            // Core multiplies by 256 once per byte; one multiplication by the same power of
            // two gives the same bits (each product is exact until it overflows to ∞, which
            // both reach alike).
            difficulty *= f64::from_bits(u64::from(1023 + 8 * (29 - shift)) << 52);
            shift = 29;
        }
        while shift > 29 {
            difficulty /= 256.0;
            shift -= 1;
        }
        difficulty
    }

    /// The compact bits whose target is the largest compact target at most `0xffff · 2²⁰⁸ / d`
    /// (the target truncated to a 23-bit mantissa, as Core's `GetCompact` truncates), so that
    /// [`CompactBits::core_difficulty`] gives back `d` to within the compact precision
    /// (relative 2⁻¹⁵). For a difficulty read from a user; `d` below 1 gives the limit.
    pub fn from_difficulty(difficulty: f64) -> CompactBits {
        if difficulty.is_nan() || difficulty <= 1.0 {
            return POW_LIMIT_BITS;
        }
        let mut size: u32 = 29;
        let mut mantissa = f64::from(0x0000_ffff_u32) / difficulty;
        while mantissa < f64::from(0x8000_u32) && size > 3 {
            mantissa *= 256.0;
            size -= 1;
        }
        while mantissa >= f64::from(0x0080_0000_u32) {
            mantissa /= 256.0;
            size += 1;
        }
        // Round, then step down where rounding went above the target: the division above
        // can land a hair below an exact mantissa.
        let rounded =
            CompactBits((size << 24) | mantissa.round().min(f64::from(0x007f_ffff_u32)) as u32);
        if rounded.core_difficulty() >= difficulty {
            rounded
        } else {
            CompactBits(rounded.0 - 1)
        }
    }
}

impl serde::Serialize for CompactBits {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl fmt::Display for CompactBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:08x}", self.0)
    }
}

/// A proof-of-work target: a block hash must be at most this 256-bit number.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Target(BitcoinTarget);

impl Target {
    /// The mainnet proof-of-work limit, `0xffff · 2²⁰⁸`.
    pub const POW_LIMIT: Target = Target(BitcoinTarget::MAX_ATTAINABLE_MAINNET);

    /// The target as 64 lower-case hex digits, big-endian, as block explorers print it.
    pub fn to_hex(self) -> String {
        self.0
            .to_be_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// Re-encodes the target in compact form, losing the bits the 23-bit mantissa cannot hold
    /// (Core's `GetCompact`).
    pub fn to_compact_lossy(self) -> CompactBits {
        CompactBits(self.0.to_compact_lossy().to_consensus())
    }

    /// `pow_limit / target` in `f64`, from the full 256-bit target.
    pub fn difficulty_float(self) -> f64 {
        self.0.difficulty_float()
    }

    /// The expected number of hashes to find a block at this target, `2²⁵⁶ / (target + 1)`,
    /// as Core's `GetBlockProof` (the increment of `chainwork`) for every target above 1.
    pub fn work(self) -> BlockWork {
        BlockWork(self.0.to_work())
    }
}

/// Accumulated proof of work (a number of hashes), exact in 256 bits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BlockWork(Work);

impl BlockWork {
    /// No work.
    pub fn zero() -> BlockWork {
        BlockWork(Work::from_be_bytes([0; 32]))
    }

    /// Parses `chainwork` as Core and Esplora print it: up to 64 hex digits, big-endian.
    pub fn from_hex(text: &str) -> Option<BlockWork> {
        let digits = text.trim().trim_start_matches("0x");
        if digits.is_empty() || digits.len() > 64 || !digits.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        let padded = format!("{digits:0>64}");
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&padded[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(BlockWork(Work::from_be_bytes(bytes)))
    }

    /// The work minus an earlier, smaller amount of work (`None` if it would be negative).
    pub fn checked_sub(self, earlier: BlockWork) -> Option<BlockWork> {
        (self >= earlier).then(|| BlockWork(self.0 - earlier.0))
    }

    /// The number of hashes as `f64`, rounded to nearest like Core's `arith_uint256::getdouble`
    /// to within one unit in the last place.
    pub fn to_f64(self) -> f64 {
        self.0
            .to_be_bytes()
            .iter()
            .fold(0.0_f64, |acc, &byte| acc * 256.0 + f64::from(byte))
    }
}

impl std::ops::Add for BlockWork {
    type Output = BlockWork;

    /// The work of two blocks or ranges of blocks together.
    fn add(self, other: BlockWork) -> BlockWork {
        BlockWork(self.0 + other.0)
    }
}

/// Which of Bitcoin Core's retarget inputs a caller gives: the bits in force during the
/// finished epoch and the times of its first and last blocks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RetargetInput {
    /// Bits of the last block of the finished epoch.
    pub bits: CompactBits,
    /// Time of the first block of the finished epoch (Unix seconds).
    pub first_block_time: i64,
    /// Time of the last block of the finished epoch (Unix seconds).
    pub last_block_time: i64,
}

impl RetargetInput {
    /// The epoch's timespan as Core measures it (2015 intervals, not 2016: Bitcoin's
    /// off-by-one), before clamping.
    pub fn actual_timespan_s(&self) -> i64 {
        self.last_block_time.saturating_sub(self.first_block_time)
    }

    /// The timespan clamped to [`MIN_TIMESPAN_S`, `MAX_TIMESPAN_S`].
    pub fn clamped_timespan_s(&self) -> i64 {
        self.actual_timespan_s()
            .clamp(MIN_TIMESPAN_S, MAX_TIMESPAN_S)
    }

    /// The bits of the next epoch by Core's `CalculateNextWorkRequired` on mainnet:
    /// `new = old · clamp(timespan) / 1 209 600`, capped at the proof-of-work limit and
    /// re-encoded lossily.
    pub fn next_bits(&self) -> Result<CompactBits, PowError> {
        let target = self.bits.target()?;
        if target > Target::POW_LIMIT {
            return Err(PowError::AbovePowLimit { bits: self.bits });
        }
        let timespan = u64::try_from(self.clamped_timespan_s()).expect("clamped to positive");
        let next = CompactTarget::from_next_work_required(
            CompactTarget::from_consensus(self.bits.0),
            timespan,
            Network::Bitcoin,
        );
        Ok(CompactBits(next.to_consensus()))
    }
}

/// The retarget of [`RetargetInput::next_bits`] for a timespan already clamped to
/// [`MIN_TIMESPAN_S`, `MAX_TIMESPAN_S`], in `u128` arithmetic on the compact mantissa: the
/// simulation's hot path (a 256-bit retarget costs about a microsecond; this a few
/// nanoseconds). Bit for bit equal to Core's rule (property-tested against rust-bitcoin).
///
/// `bits` must decode to a target at most the proof-of-work limit, which
/// [`RetargetInput::next_bits`] checks and this function assumes; the timespan is clamped again
/// here, so any value gives a valid result.
///
/// Why it is exact: the target is `m · 256^k` with a 23-bit mantissa `m`, so the new target is
/// `⌊m · t · 256^k / 1 209 600⌋`. `m · t` has at most 46 bits; shifted by up to 80 bits it
/// still fits in `u128` and the division is exact. For larger `k` the remaining factor
/// `256^(k − 10)` only appends whole bytes below the quotient's (at least 8) bytes, and the
/// compact form keeps the top three bytes, so it never changes the encoding. Only the
/// comparison with the proof-of-work limit needs to know whether those appended bytes are
/// zero, which the remainder of the division tells.
pub fn retarget_bits_fast(bits: CompactBits, clamped_timespan_s: u32) -> CompactBits {
    const MAX_SHIFT_BITS: u32 = 80;
    const POW_LIMIT_MANTISSA: u128 = 0xffff;
    const POW_LIMIT_SHIFT_BITS: u32 = 208;
    let timespan =
        u128::from(clamped_timespan_s.clamp(MIN_TIMESPAN_S as u32, MAX_TIMESPAN_S as u32));
    let divisor = TARGET_TIMESPAN_S as u128;
    let size = bits.exponent();
    let (mantissa, shift_bits) = if size <= 3 {
        (u128::from(bits.mantissa() >> (8 * (3 - size))), 0)
    } else {
        (u128::from(bits.mantissa()), 8 * (size - 3))
    };
    let product = mantissa * timespan;
    if shift_bits <= MAX_SHIFT_BITS {
        // The whole new target fits in u128 and is far below the limit (2²²⁴).
        return compact_from_parts((product << shift_bits) / divisor, 0);
    }
    let (quotient, remainder) = divide_shifted_by_target_timespan(product as u64);
    let extra_bits = shift_bits - MAX_SHIFT_BITS;
    // The new target is quotient · 2^extra + r with 0 ≤ r < 2^extra, and r > 0 exactly when
    // remainder · 2^extra ≥ divisor.
    let fraction_nonzero =
        remainder != 0 && (extra_bits >= 21 || (remainder << extra_bits) >= divisor);
    // new > 0xffff · 2²⁰⁸ ⇔ quotient > 0xffff · 2^(208 − extra), or equal with r > 0.
    let over_limit = match POW_LIMIT_SHIFT_BITS.checked_sub(extra_bits) {
        None => true,
        // The limit's quotient would need more than 128 bits: above any u128 quotient.
        Some(limit_shift) if limit_shift > 111 => false,
        Some(limit_shift) => {
            let limit_quotient = POW_LIMIT_MANTISSA << limit_shift;
            quotient > limit_quotient || (quotient == limit_quotient && fraction_nonzero)
        }
    };
    if over_limit {
        return POW_LIMIT_BITS;
    }
    compact_from_parts(quotient, extra_bits / 8)
}

/// `⌊n · 2⁸⁰ / 1 209 600⌋` and the remainder, for `n` below 2⁴⁷, by long division in three
/// limbs that each fit in `u64` (a division by a constant the compiler turns into a
/// multiplication; a `u128` division is a library call): n · 2¹⁶ = q₁·d + r₁, then r₁ · 2³² =
/// q₂·d + r₂ and r₂ · 2³² = q₃·d + r₃ with q₂, q₃ < 2³² as every r < d < 2²¹, so
/// n · 2⁸⁰ = (q₁·2⁶⁴ + q₂·2³² + q₃)·d + r₃.
fn divide_shifted_by_target_timespan(n: u64) -> (u128, u128) {
    const D: u64 = TARGET_TIMESPAN_S as u64;
    debug_assert!(n < 1 << 47);
    let shifted = n << 16;
    let (q1, r1) = (shifted / D, shifted % D);
    let (q2, r2) = ((r1 << 32) / D, (r1 << 32) % D);
    let (q3, r3) = ((r2 << 32) / D, (r2 << 32) % D);
    (
        (u128::from(q1) << 64) + (u128::from(q2) << 32) + u128::from(q3),
        u128::from(r3),
    )
}

/// Core's `GetCompact` of the number `value · 256^extra_bytes + r` for any `r` below
/// `256^extra_bytes`, provided `value` has at least three bytes when `extra_bytes` > 0 (the
/// quotients of [`retarget_bits_fast`] have at least ten), so that `r` never reaches the
/// three bytes the compact form keeps.
fn compact_from_parts(value: u128, extra_bytes: u32) -> CompactBits {
    let value_bytes = (128 - value.leading_zeros()).div_ceil(8);
    let mut size = value_bytes + extra_bytes;
    let mut compact = if value_bytes <= 3 {
        (value << (8 * (3 - value_bytes))) as u32
    } else {
        (value >> (8 * (value_bytes - 3))) as u32
    };
    if compact & 0x0080_0000 != 0 {
        compact >>= 8;
        size += 1;
    }
    CompactBits(compact | (size << 24))
}

/// Hashrate (H/s) that finds one block per 600 s at this difficulty: `D · 2³² / 600`.
pub fn implied_hashrate_hs(difficulty: f64) -> f64 {
    difficulty * HASHES_PER_DIFFICULTY / f64::from(TARGET_BLOCK_SPACING_S)
}

/// Expected seconds per block when the network hashes at `hashrate_hs`: `D · 2³² / H`.
pub fn expected_block_interval_s(difficulty: f64, hashrate_hs: f64) -> f64 {
    difficulty * HASHES_PER_DIFFICULTY / hashrate_hs
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bits_from_difficulty_round_trip() {
        // The snapshot's bits and difficulty (height 925 344), and height 840 000's.
        for bits in [0x1701_e2a0_u32, 0x1703_4219, 0x1d00_ffff, 0x1b04_864c] {
            let bits = CompactBits(bits);
            assert_eq!(CompactBits::from_difficulty(bits.core_difficulty()), bits);
        }
        let bits = CompactBits::from_difficulty(149.30e12);
        let relative = (bits.core_difficulty() - 149.30e12).abs() / 149.30e12;
        assert!(relative < 1.0 / 32768.0, "{bits} {relative}");
        assert_eq!(CompactBits::from_difficulty(0.5), POW_LIMIT_BITS);
        assert_eq!(CompactBits::from_difficulty(f64::NAN), POW_LIMIT_BITS);
    }

    fn bits(value: u32) -> CompactBits {
        CompactBits::from_consensus(value)
    }

    fn retarget(first: i64, last: i64, old: u32) -> u32 {
        RetargetInput {
            bits: bits(old),
            first_block_time: first,
            last_block_time: last,
        }
        .next_bits()
        .unwrap()
        .to_consensus()
    }

    // Bitcoin Core src/test/pow_tests.cpp: get_next_work, get_next_work_pow_limit,
    // get_next_work_lower_limit_actual, get_next_work_upper_limit_actual.
    #[test]
    fn core_pow_tests_vectors() {
        assert_eq!(retarget(1261130161, 1262152739, 0x1d00ffff), 0x1d00d86a);
        assert_eq!(retarget(1231006505, 1233061996, 0x1d00ffff), 0x1d00ffff);
        assert_eq!(retarget(1279008237, 1279297671, 0x1c05a3f4), 0x1c0168fd);
        assert_eq!(retarget(1263163443, 1269211443, 0x1c387f6f), 0x1d00e1fd);
    }

    #[test]
    fn time_going_backwards_clamps_to_quarter_timespan() {
        let backwards = retarget(1_700_000_000, 1_699_000_000, 0x1701e2a0);
        let quarter = retarget(0, MIN_TIMESPAN_S, 0x1701e2a0);
        assert_eq!(backwards, quarter);
    }

    // Bitcoin Core src/test/blockchain_tests.cpp: get_difficulty_for_very_low_target and
    // friends (RejectDifficultyMismatch within 1e-5 relative).
    #[test]
    fn core_get_difficulty_vectors() {
        let cases: [(u32, f64); 5] = [
            (0x1f111111, 0.000001),
            (0x1ef88f6f, 0.000016),
            (0x1df88f6f, 0.004023),
            (0x1cf88f6f, 1.029916),
            (0x12345678, 5_913_134_931_067_755_359_633_408.0),
        ];
        for (value, expected) in cases {
            let got = bits(value).core_difficulty();
            let scale = expected.abs().max(1e-6);
            assert!(
                ((got - expected) / scale).abs() < 1e-5 || (got - expected).abs() < 1e-6 * 0.5,
                "{value:#x}: {got} vs {expected}"
            );
        }
        assert_eq!(
            bits(0x12345678).core_difficulty(),
            5_913_134_931_067_755_359_633_408.0
        );
    }

    #[test]
    fn difficulty_equals_cores_byte_by_byte_loop_for_every_exponent() {
        // Core's GetDifficulty as written: one multiplication or division by 256 per byte.
        let core_loop = |compact: u32| {
            let mut shift = (compact >> 24) & 0xff;
            let mut difficulty = f64::from(0x0000_ffff_u32) / f64::from(compact & 0x00ff_ffff);
            while shift < 29 {
                difficulty *= 256.0;
                shift += 1;
            }
            while shift > 29 {
                difficulty /= 256.0;
                shift -= 1;
            }
            difficulty
        };
        for size in 0..=255_u32 {
            for mantissa in [
                0, 1, 0x7f, 0xffff, 0x03_4219, 0x7f_ffff, 0x80_0000, 0xff_ffff,
            ] {
                let compact = size << 24 | mantissa;
                assert_eq!(
                    bits(compact).core_difficulty().to_bits(),
                    core_loop(compact).to_bits(),
                    "{compact:#010x}"
                );
            }
        }
    }

    #[test]
    fn genesis_and_halving_vectors() {
        let genesis = bits(0x1d00ffff).target().unwrap();
        assert_eq!(
            genesis.to_hex(),
            "00000000ffff0000000000000000000000000000000000000000000000000000"
        );
        assert_eq!(genesis, Target::POW_LIMIT);
        assert_eq!(bits(0x1d00ffff).core_difficulty(), 1.0);
        // Height 840 000 (fourth halving): bits 0x17034219, difficulty 86 388 558 925 171.02.
        let d = bits(0x17034219).core_difficulty();
        assert!((d - 86_388_558_925_171.02).abs() < 0.01, "{d}");
    }

    // Core's arith_uint256 tests (SetCompact): sign and overflow flags.
    #[test]
    fn core_set_compact_flags() {
        assert_eq!(
            bits(0x04923456).target(),
            Err(PowError::Negative {
                bits: bits(0x04923456)
            })
        );
        assert_eq!(
            bits(0x01fedcba).target(),
            Err(PowError::Negative {
                bits: bits(0x01fedcba)
            })
        );
        assert_eq!(
            bits(0xff123456).target(),
            Err(PowError::Overflow {
                bits: bits(0xff123456)
            })
        );
        assert_eq!(
            bits(0x00123456).target(),
            Err(PowError::ZeroTarget {
                bits: bits(0x00123456)
            })
        );
        assert_eq!(
            bits(0x01003456).target(),
            Err(PowError::ZeroTarget {
                bits: bits(0x01003456)
            })
        );
        assert_eq!(
            bits(0x20000000).target(),
            Err(PowError::ZeroTarget {
                bits: bits(0x20000000)
            })
        );
        // 0x01123456 decodes to 0x12 and re-encodes as 0x01120000.
        let t = bits(0x01123456).target().unwrap();
        assert_eq!(t.to_compact_lossy(), bits(0x01120000));
        assert_eq!(
            bits(0x05009234).target().unwrap().to_compact_lossy(),
            bits(0x05009234)
        );
        assert_eq!(
            bits(0x20123456).target().unwrap().to_compact_lossy(),
            bits(0x20123456)
        );
        assert!(bits(0x22123456).target().is_err());
        assert!(bits(0x21001234).target().is_ok());
    }

    #[test]
    fn parse_accepts_hex_and_rejects_junk() {
        assert_eq!(CompactBits::parse("0x1d00ffff"), Ok(bits(0x1d00ffff)));
        assert_eq!(CompactBits::parse("1701e2a0"), Ok(bits(0x1701e2a0)));
        for junk in ["", "0x", "zz", "0x1d00ffff0", "-1", "1.5"] {
            assert!(CompactBits::parse(junk).is_err(), "{junk}");
        }
    }

    #[test]
    fn retarget_rejects_targets_above_the_limit() {
        let input = RetargetInput {
            bits: bits(0x1e00ffff),
            first_block_time: 0,
            last_block_time: TARGET_TIMESPAN_S,
        };
        assert_eq!(
            input.next_bits(),
            Err(PowError::AbovePowLimit {
                bits: bits(0x1e00ffff)
            })
        );
    }

    #[test]
    fn block_work_matches_core_get_block_proof() {
        // GetBlockProof of the genesis target is 0x100010001 (4 295 032 833 hashes).
        let work = bits(0x1d00ffff).target().unwrap().work();
        assert_eq!(work.to_f64(), 4_295_032_833.0);
        assert_eq!(
            BlockWork::from_hex("0000000000000000000000000000000000000000000000000000000100010001"),
            Some(work)
        );
        assert_eq!((work + work).checked_sub(work), Some(work));
        assert_eq!(BlockWork::zero().checked_sub(work), None);
    }

    /// Bits whose target is valid and at most the proof-of-work limit.
    fn valid_bits() -> impl Strategy<Value = CompactBits> {
        (4u32..=0x1d, 0x8000u32..=0x7f_ffff).prop_filter_map("valid target", |(exp, mant)| {
            let candidate = bits((exp << 24) | mant);
            match candidate.target() {
                Ok(t) if t <= Target::POW_LIMIT => Some(candidate),
                _ => None,
            }
        })
    }

    fn reference_retarget(bits: CompactBits, timespan: u32) -> CompactBits {
        RetargetInput {
            bits,
            first_block_time: 0,
            last_block_time: i64::from(timespan),
        }
        .next_bits()
        .unwrap()
    }

    /// Bits with any exponent and mantissa (normalised or not) whose target is valid and at
    /// most the proof-of-work limit.
    fn any_valid_bits() -> impl Strategy<Value = CompactBits> {
        (1u32..=0x1f, 1u32..=0x7f_ffff).prop_filter_map("valid target", |(exp, mant)| {
            let candidate = bits((exp << 24) | mant);
            match candidate.target() {
                Ok(t) if t <= Target::POW_LIMIT => Some(candidate),
                _ => None,
            }
        })
    }

    #[test]
    fn fast_retarget_on_core_vectors_and_edges() {
        for (first, last, old, new) in [
            (1261130161, 1262152739, 0x1d00ffff, 0x1d00d86a),
            (1231006505, 1233061996, 0x1d00ffff, 0x1d00ffff),
            (1279008237, 1279297671, 0x1c05a3f4, 0x1c0168fd),
            (1263163443, 1269211443, 0x1c387f6f, 0x1d00e1fd),
        ] {
            let span = (last - first).clamp(MIN_TIMESPAN_S, MAX_TIMESPAN_S) as u32;
            assert_eq!(retarget_bits_fast(bits(old), span), bits(new), "{old:#x}");
        }
        // Just below, at and above the limit after a ×4, and the smallest targets.
        let edges = [
            0x1d00ffff, 0x1c3fffc0, 0x1c3fffc1, 0x1c3fffbf, 0x1c400000, 0x1b3fffc0, 0x1d003fff,
            0x1d004000, 0x1e00ff00, 0x1e0000ff, 0x01010000, 0x02008000, 0x03000001, 0x0d7fffff,
            0x0e000001, 0x0d000001, 0x1701e2a0, 0x17034219,
        ];
        for value in edges {
            for span in [
                302_400, 302_401, 1_209_599, 1_209_600, 1_209_601, 4_838_399, 4_838_400,
            ] {
                let b = bits(value);
                if b.target().is_ok_and(|t| t <= Target::POW_LIMIT) {
                    assert_eq!(
                        retarget_bits_fast(b, span),
                        reference_retarget(b, span),
                        "{value:#x} over {span} s"
                    );
                }
            }
        }
        // Timespans outside the clamp range are clamped.
        assert_eq!(
            retarget_bits_fast(bits(0x1701e2a0), 0),
            reference_retarget(bits(0x1701e2a0), 302_400)
        );
        assert_eq!(
            retarget_bits_fast(bits(0x1701e2a0), u32::MAX),
            reference_retarget(bits(0x1701e2a0), 4_838_400)
        );
    }

    proptest! {
        // The long division in u64 limbs equals the u128 division.
        #[test]
        fn limb_division_equals_u128(n in 0u64..1 << 47) {
            let shifted = u128::from(n) << 80;
            let d = TARGET_TIMESPAN_S as u128;
            prop_assert_eq!(divide_shifted_by_target_timespan(n), (shifted / d, shifted % d));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        // The u128 fast path equals rust-bitcoin's 256-bit retarget bit for bit.
        #[test]
        fn fast_retarget_equals_rust_bitcoin(b in any_valid_bits(), span in 302_400u32..=4_838_400) {
            prop_assert_eq!(retarget_bits_fast(b, span), reference_retarget(b, span));
        }
    }

    proptest! {
        // Any valid bits re-encode to bits of the same target (lossless for targets that came
        // from a compact encoding), and canonical bits re-encode to themselves.
        #[test]
        fn canonical_bits_round_trip(b in any_valid_bits()) {
            let target = b.target().unwrap();
            let again = target.to_compact_lossy();
            prop_assert_eq!(again.target().unwrap(), target);
            if b.exponent() >= 3 && b.mantissa() >= 0x8000 {
                prop_assert_eq!(again, b);
            }
        }

        // A retarget moves difficulty by at most ×4 / ÷4, beyond compact precision (2⁻¹⁵).
        #[test]
        fn retarget_bounded_by_factor_four(
            b in valid_bits(),
            first in 1_231_006_505i64..2_000_000_000,
            span in -10_000_000i64..20_000_000,
        ) {
            let next = RetargetInput { bits: b, first_block_time: first, last_block_time: first + span }
                .next_bits()
                .unwrap();
            let old = b.target().unwrap().difficulty_float();
            let new = next.target().unwrap().difficulty_float();
            let ratio = new / old;
            let slack = 2f64.powi(-15);
            prop_assert!(ratio <= 4.0 * (1.0 + slack), "ratio {ratio}");
            // Only the pow limit may stop a fall short of ÷4.
            let capped = next == POW_LIMIT_BITS;
            prop_assert!(ratio >= 0.25 * (1.0 - slack) || capped, "ratio {ratio}");
        }
    }
}
