//! [`QuantileSketch`]: the quantile sketch behind the Monte Carlo's monthly percentile fans, a
//! DDSketch (Masson, Rim and Lee, VLDB 2019) whose bucket counts are integers and whose bucket
//! index is read off the bits of the `f64`.
//!
//! # Why integer counts
//!
//! A sketch is a count per logarithmic bucket. With `u64` counts, merging two sketches adds
//! integers: exact, commutative and associative. However the paths are chunked, whatever the
//! thread count and in whatever order or grouping the chunks' sketches are merged, the merged
//! sketch — and every quantile read from it — is the same, bit for bit. (Sketches with
//! floating-point weights or centroids, t-digest's among them, depend on the merge order.)
//!
//! # The mapping
//!
//! A magnitude `x = 2^e · (1 + m / 2^52)` (`e` the unbiased exponent, `m` the 52 mantissa
//! bits) falls in bucket `e·K + j`, where bucket `j` of an octave holds the mantissas
//! `T_j ≤ m < T_(j+1)`, with `T_0 = 0`, `T_K = 2^52` and `T_j` the mantissa bits of `r^j`,
//! `r = 2^(1/K)`. The bucket boundaries are thus, to within a unit in the last place, the
//! geometric sequence `2^(i/K)`: DDSketch's exact logarithmic mapping, with the same bucket
//! count (`K` = 35 per octave at 1 %, where the linearly interpolated mapping needs 50 and the
//! cubically interpolated one 35.4), found by integer comparisons alone. `r` and the
//! thresholds are computed at compile time with IEEE `×` and `÷` only (Newton's method on
//! `r^K = 2`, then repeated products), so no `ln`/`log2` and no platform library enters the
//! index: a value falls in the same bucket on every thread and every machine.
//!
//! # The guarantee
//!
//! `K` is the least integer with `γ^K ≥ 2`, `γ = (1 + α)/(1 − α)`, `α` =
//! [`QuantileSketch::RELATIVE_ACCURACY`]. A bucket spans `[lo, hi)`,
//! `lo = 2^e·(1 + T_j/2^52)`, `hi = 2^e·(1 + T_(j+1)/2^52)`, and is read as
//! `v = 2·lo·hi/(lo + hi)`. For every `x` in `[lo, hi]`,
//! `|v − x|/x ≤ max((v − lo)/lo, (hi − v)/hi) = (hi − lo)/(hi + lo)`, and
//! `(hi − lo)/(hi + lo) = (hi/lo − 1)/(hi/lo + 1) ≤ (γ − 1)/(γ + 1) = α` since `hi/lo ≈ r ≤ γ`.
//! A compile-time assertion checks `(hi − lo)/(hi + lo) ≤ α` on the actual thresholds of every
//! `j` (the octave's scale `2^e` cancels); at `K` = 35 the bound is 0.990 %, which leaves room
//! for the rounding of `v` (half a unit in the last place; its scaling by `2^e` is exact).
//!
//! The bucket index is non-decreasing in `|x|` (the bits of a non-negative `f64` order it as
//! its value does), so the order statistic of rank `k` lies in the bucket where the cumulative
//! count passes `k`, in the order negative buckets by decreasing magnitude, zero, positive
//! buckets by increasing magnitude; that bucket's `v` (negated for the negative store) is within
//! `α` of it.

use serde::{Deserialize, Serialize};

/// Bits of the `f64` mantissa.
const MANTISSA_BITS: u32 = 52;
/// Mask of the `f64` mantissa bits.
const MANTISSA_MASK: u64 = (1 << MANTISSA_BITS) - 1;
/// Bias of the `f64` exponent field.
const EXPONENT_BIAS: i32 = 1023;
/// `K`: buckets per octave (factor 2 of magnitude).
const BUCKETS_PER_OCTAVE: usize = buckets_per_octave(QuantileSketch::RELATIVE_ACCURACY);
/// `T_0 … T_K`: the mantissa bits where the buckets of an octave start (`T_K = 2^52`, the next
/// octave).
const MANTISSA_THRESHOLDS: [u64; BUCKETS_PER_OCTAVE + 1] = mantissa_thresholds();
/// Top mantissa bits that pick a slot of [`SLOT_FIRST_BUCKET`].
const SLOT_BITS: u32 = 8;
/// For each of the `2^SLOT_BITS` equal slots of an octave's mantissas, the bucket its first
/// mantissa falls in. A slot (2^44 mantissa units) is narrower than any bucket (more than
/// 2^46), so it holds at most one threshold: the bucket is this or the next.
const SLOT_FIRST_BUCKET: [u8; 1 << SLOT_BITS] = slot_first_buckets();
/// `v_j = 2·lo·hi/(lo + hi)` of bucket `j` of the octave `[1, 2)`.
const REPRESENTATIVES: [f64; BUCKETS_PER_OCTAVE] = representatives();

const _: () = assert!(
    max_bucket_relative_half_width() <= QuantileSketch::RELATIVE_ACCURACY,
    "a bucket is wider than the relative accuracy allows"
);

/// A quantile sketch with relative accuracy [`RELATIVE_ACCURACY`](Self::RELATIVE_ACCURACY):
/// every quantile is within 1 % of the exact order statistic of the finite values added.
///
/// Finite values of magnitude at least
/// [`MIN_INDEXED_MAGNITUDE`](Self::MIN_INDEXED_MAGNITUDE) are counted in logarithmic buckets,
/// positive and negative values apart (by magnitude); smaller ones (±0 included) in a zero
/// bucket read as 0; NaN and ±∞ in a count of their own, outside every quantile. Counts are
/// integers, so [`merge`](Self::merge) in any order or grouping gives the same sketch
/// (`PartialEq`) and the same quantiles, bit for bit. The buckets are kept densely from the
/// smallest to the largest used: 35 per factor 2 the values span (about 250 for 1 000 BTC
/// prices a year out at 60 % volatility).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct QuantileSketch {
    /// Finite values of magnitude below [`Self::MIN_INDEXED_MAGNITUDE`].
    zero_count: u64,
    /// NaN and ±∞ values.
    non_finite_count: u64,
    /// Positive values, by bucket.
    positive: BucketCounts,
    /// Negative values, by the bucket of their magnitude.
    negative: BucketCounts,
}

impl QuantileSketch {
    /// Bound on the relative error of every quantile against the exact order statistic.
    pub const RELATIVE_ACCURACY: f64 = 0.01;

    /// The smallest magnitude counted in a bucket (`2^-40`, about `9.09e-13`): finite values
    /// below it are counted as 0 (an absolute error below it).
    pub const MIN_INDEXED_MAGNITUDE: f64 = 1.0 / (1_u64 << 40) as f64;

    /// An empty sketch.
    pub fn new() -> QuantileSketch {
        QuantileSketch::default()
    }

    /// Counts a value: NaN and ±∞ apart from the quantiles, magnitudes below
    /// [`Self::MIN_INDEXED_MAGNITUDE`] as 0.
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            self.non_finite_count += 1;
        } else if value.abs() < Self::MIN_INDEXED_MAGNITUDE {
            self.zero_count += 1;
        } else if value > 0.0 {
            self.positive.add(bucket_index(value));
        } else {
            self.negative.add(bucket_index(-value));
        }
    }

    /// Adds the counts of `other`: the sketch of both sets of values, the same whatever the
    /// order and grouping of merges.
    pub fn merge(&mut self, other: &QuantileSketch) {
        self.zero_count += other.zero_count;
        self.non_finite_count += other.non_finite_count;
        self.positive.merge(&other.positive);
        self.negative.merge(&other.negative);
    }

    /// Finite values added (zeros included).
    pub fn count(&self) -> u64 {
        self.negative.total() + self.zero_count + self.positive.total()
    }

    /// NaN and ±∞ values added.
    pub fn non_finite_count(&self) -> u64 {
        self.non_finite_count
    }

    /// The finite values by bucket, in increasing order: each non-empty bucket's
    /// representative value (0 for the zero bucket), within [`Self::RELATIVE_ACCURACY`] of
    /// every value in it, and how many values it holds.
    pub fn buckets(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let negative = self
            .negative
            .indexed()
            .rev()
            .map(|(index, count)| (-representative(index), count));
        let zero = std::iter::once((0.0, self.zero_count));
        let positive = self
            .positive
            .indexed()
            .map(|(index, count)| (representative(index), count));
        negative
            .chain(zero)
            .chain(positive)
            .filter(|&(_, count)| count > 0)
    }

    /// The `q`-quantile of the finite values: the order statistic of rank `⌊q·(n − 1)⌋`
    /// (from 0, `q·(n − 1)` in `f64`; DDSketch's lower rank), read as its bucket's
    /// representative value, within [`Self::RELATIVE_ACCURACY`] of the exact order statistic
    /// (0 when it is in the zero bucket). `None` when no finite value was added, or when `q` is
    /// not in `[0, 1]` (NaN included): a quantile out of range is not clamped.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if !(0.0..=1.0).contains(&q) {
            return None;
        }
        let last_rank = self.count().checked_sub(1)?;
        let rank = ((q * last_rank as f64).floor() as u64).min(last_rank);
        let negative_count = self.negative.total();
        if rank < negative_count {
            return Some(-representative(
                self.negative.index_at_rank_descending(rank)?,
            ));
        }
        let rank = rank - negative_count;
        if rank < self.zero_count {
            return Some(0.0);
        }
        Some(representative(
            self.positive
                .index_at_rank_ascending(rank - self.zero_count)?,
        ))
    }
}

/// Counts by bucket index, dense from the first index used to the last.
///
/// Empty, or `counts` runs from the smallest index counted to the largest (both non-zero):
/// the same values give the same `BucketCounts`, however they were added or merged.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct BucketCounts {
    /// Bucket index of `counts[0]`.
    first_index: i32,
    /// Values per bucket, from `first_index` up.
    counts: Vec<u64>,
}

impl BucketCounts {
    /// Counts one value in bucket `index`.
    fn add(&mut self, index: i32) {
        // Mostly a bucket already covered (an index below the first wraps past the end).
        let position = index.wrapping_sub(self.first_index) as u32 as usize;
        if let Some(count) = self.counts.get_mut(position) {
            *count += 1;
            return;
        }
        self.cover(index, index);
        self.counts[(index - self.first_index) as usize] += 1;
    }

    /// Adds the counts of `other`, bucket by bucket.
    fn merge(&mut self, other: &BucketCounts) {
        if other.counts.is_empty() {
            return;
        }
        let other_last = other.first_index + (other.counts.len() - 1) as i32;
        self.cover(other.first_index, other_last);
        let start = (other.first_index - self.first_index) as usize;
        for (count, added) in self.counts[start..].iter_mut().zip(&other.counts) {
            *count += added;
        }
    }

    /// Extends `counts` (with zeros) to run over bucket indices `low ..= high` at least.
    fn cover(&mut self, low: i32, high: i32) {
        if self.counts.is_empty() {
            self.first_index = low;
            self.counts.resize((high - low) as usize + 1, 0);
            return;
        }
        if low < self.first_index {
            let prepended = (self.first_index - low) as usize;
            self.counts.splice(0..0, std::iter::repeat_n(0, prepended));
            self.first_index = low;
        }
        let len = (high - self.first_index) as usize + 1;
        if len > self.counts.len() {
            self.counts.resize(len, 0);
        }
    }

    /// Each bucket's index and count, in increasing index order.
    fn indexed(&self) -> impl DoubleEndedIterator<Item = (i32, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .map(|(position, &count)| (self.first_index + position as i32, count))
    }

    /// Values counted.
    fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// The bucket of the value of rank `rank` (from 0) in increasing index order; `None` when
    /// `rank` is not below the total.
    fn index_at_rank_ascending(&self, rank: u64) -> Option<i32> {
        let position = position_at_rank(self.counts.iter(), rank)?;
        Some(self.first_index + position as i32)
    }

    /// The bucket of the value of rank `rank` (from 0) in decreasing index order; `None` when
    /// `rank` is not below the total.
    fn index_at_rank_descending(&self, rank: u64) -> Option<i32> {
        let position = position_at_rank(self.counts.iter().rev(), rank)?;
        Some(self.first_index + (self.counts.len() - 1 - position) as i32)
    }
}

/// Where in `counts` the cumulative count first exceeds `rank`.
fn position_at_rank<'a>(counts: impl Iterator<Item = &'a u64>, rank: u64) -> Option<usize> {
    let mut below = rank;
    for (position, &count) in counts.enumerate() {
        if below < count {
            return Some(position);
        }
        below -= count;
    }
    None
}

/// The bucket of a finite magnitude of at least [`QuantileSketch::MIN_INDEXED_MAGNITUDE`]:
/// `e·K + j` (module documentation).
fn bucket_index(magnitude: f64) -> i32 {
    let bits = magnitude.to_bits();
    let exponent = (bits >> MANTISSA_BITS) as i32 - EXPONENT_BIAS;
    let mantissa = bits & MANTISSA_MASK;
    exponent * BUCKETS_PER_OCTAVE as i32 + bucket_in_octave(mantissa) as i32
}

/// The bucket of the octave whose thresholds `mantissa` has passed: `j` with
/// `T_j ≤ mantissa < T_{j+1}`, from the slot's first bucket and at most one comparison.
fn bucket_in_octave(mantissa: u64) -> usize {
    let first = SLOT_FIRST_BUCKET[(mantissa >> (MANTISSA_BITS - SLOT_BITS)) as usize] as usize;
    first + usize::from(MANTISSA_THRESHOLDS[first + 1] <= mantissa)
}

/// [`SLOT_FIRST_BUCKET`], at compile time.
const fn slot_first_buckets() -> [u8; 1 << SLOT_BITS] {
    let mut table = [0u8; 1 << SLOT_BITS];
    let mut slot = 0;
    while slot < table.len() {
        let start = (slot as u64) << (MANTISSA_BITS - SLOT_BITS);
        let mut j = 0;
        while MANTISSA_THRESHOLDS[j + 1] <= start {
            j += 1;
        }
        table[slot] = j as u8;
        // The slot's last mantissa is at most one bucket further.
        let last = start + (1 << (MANTISSA_BITS - SLOT_BITS)) - 1;
        assert!(j + 2 > BUCKETS_PER_OCTAVE || MANTISSA_THRESHOLDS[j + 2] > last);
        slot += 1;
    }
    table
}

/// The value a bucket is read as: `v_j · 2^e`, exact scaling by a power of two.
fn representative(index: i32) -> f64 {
    let octave = index.div_euclid(BUCKETS_PER_OCTAVE as i32);
    let in_octave = index.rem_euclid(BUCKETS_PER_OCTAVE as i32) as usize;
    let scale = f64::from_bits(((octave + EXPONENT_BIAS) as u64) << MANTISSA_BITS);
    REPRESENTATIVES[in_octave] * scale
}

/// `base^n` by repeated products.
const fn power(base: f64, n: usize) -> f64 {
    let mut product = 1.0;
    let mut k = 0;
    while k < n {
        product *= base;
        k += 1;
    }
    product
}

/// `K`: the least number of buckets per octave with `γ^K ≥ 2`, `γ = (1 + α)/(1 − α)`.
const fn buckets_per_octave(relative_accuracy: f64) -> usize {
    let gamma = (1.0 + relative_accuracy) / (1.0 - relative_accuracy);
    let mut buckets = 1;
    while power(gamma, buckets) < 2.0 {
        buckets += 1;
    }
    buckets
}

/// `T_j`: the mantissa bits of `r^j`, `r = 2^(1/K)` by Newton's method on `r^K = 2` from
/// `γ ≥ r` (convex, so the iterates decrease to `r`), and `T_K = 2^52`.
const fn mantissa_thresholds() -> [u64; BUCKETS_PER_OCTAVE + 1] {
    let k = BUCKETS_PER_OCTAVE;
    let alpha = QuantileSketch::RELATIVE_ACCURACY;
    let mut ratio = (1.0 + alpha) / (1.0 - alpha);
    let mut iteration = 0;
    while iteration < 32 {
        ratio -= (power(ratio, k) - 2.0) / (k as f64 * power(ratio, k - 1));
        iteration += 1;
    }
    let mut thresholds = [0; BUCKETS_PER_OCTAVE + 1];
    let mut start = 1.0;
    let mut j = 1;
    while j < k {
        start *= ratio;
        thresholds[j] = start.to_bits() & MANTISSA_MASK;
        j += 1;
    }
    thresholds[k] = 1 << MANTISSA_BITS;
    thresholds
}

/// `1 + T/2^52`: the start in `[1, 2]` of the bucket starting at mantissa `T`.
const fn octave_value(mantissa: u64) -> f64 {
    1.0 + mantissa as f64 / (1_u64 << MANTISSA_BITS) as f64
}

/// `v_j = 2·lo·hi/(lo + hi)` of each bucket of the octave `[1, 2)`.
const fn representatives() -> [f64; BUCKETS_PER_OCTAVE] {
    let mut values = [0.0; BUCKETS_PER_OCTAVE];
    let mut j = 0;
    while j < BUCKETS_PER_OCTAVE {
        let low = octave_value(MANTISSA_THRESHOLDS[j]);
        let high = octave_value(MANTISSA_THRESHOLDS[j + 1]);
        values[j] = 2.0 * low * high / (low + high);
        j += 1;
    }
    values
}

/// The largest `(hi − lo)/(hi + lo)` of the buckets: the mapping's relative accuracy.
const fn max_bucket_relative_half_width() -> f64 {
    let mut max = 0.0;
    let mut j = 0;
    while j < BUCKETS_PER_OCTAVE {
        let low = octave_value(MANTISSA_THRESHOLDS[j]);
        let high = octave_value(MANTISSA_THRESHOLDS[j + 1]);
        let half_width = (high - low) / (high + low);
        if half_width > max {
            max = half_width;
        }
        j += 1;
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::{RngExt, SeedableRng, rngs::ChaCha8Rng};
    use rand_distr::{Distribution, StandardNormal};

    const ALPHA: f64 = QuantileSketch::RELATIVE_ACCURACY;
    const QUANTILES: [f64; 7] = [0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0];

    fn sketch_of(values: &[f64]) -> QuantileSketch {
        let mut sketch = QuantileSketch::new();
        for &value in values {
            sketch.add(value);
        }
        sketch
    }

    /// The order statistic of rank `⌊q·(n − 1)⌋` of the finite values.
    fn exact_quantile(values: &[f64], q: f64) -> Option<f64> {
        let mut finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
        finite.sort_by(f64::total_cmp);
        let last_rank = finite.len().checked_sub(1)?;
        Some(finite[(q * last_rank as f64).floor() as usize])
    }

    fn relative_error(estimate: f64, exact: f64) -> f64 {
        if exact == 0.0 {
            estimate.abs()
        } else {
            ((estimate - exact) / exact).abs()
        }
    }

    fn bucket_count(sketch: &QuantileSketch) -> usize {
        sketch.positive.counts.len() + sketch.negative.counts.len()
    }

    /// `2^exponent`.
    fn scale(exponent: i32) -> f64 {
        f64::from_bits(((exponent + EXPONENT_BIAS) as u64) << MANTISSA_BITS)
    }

    #[test]
    fn buckets_read_every_finite_value_in_increasing_order() {
        let values = [-3.0, 0.0, 1e-15, 2.0, 2.001, 1e6, f64::NAN, f64::INFINITY];
        let mut sketch = QuantileSketch::new();
        values.iter().for_each(|&v| sketch.add(v));
        let buckets: Vec<(f64, u64)> = sketch.buckets().collect();
        assert_eq!(buckets.iter().map(|b| b.1).sum::<u64>(), 6);
        assert!(buckets.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(buckets[1], (0.0, 2));
        assert_eq!(buckets[2].1, 2, "2 and 2.001 share a bucket");
        for (value, (read, _)) in [-3.0, 0.0, 2.0, 1e6].iter().zip(&buckets) {
            assert!(
                (read - value).abs() <= ALPHA * value.abs(),
                "{read} for {value}"
            );
        }
    }

    #[test]
    fn thirty_five_buckets_per_octave_on_powers_of_the_35th_root_of_two() {
        assert_eq!(BUCKETS_PER_OCTAVE, 35);
        // 34 would not do: 2^(1/34) > γ.
        let gamma = (1.0 + ALPHA) / (1.0 - ALPHA);
        assert!(2.0_f64.powf(1.0 / 34.0) > gamma);
        for (j, &threshold) in MANTISSA_THRESHOLDS.iter().enumerate() {
            let geometric = 2.0_f64.powf(j as f64 / 35.0);
            assert!(
                (octave_value(threshold) / geometric - 1.0).abs() < 1e-14,
                "T_{j}"
            );
        }
        assert!(MANTISSA_THRESHOLDS.windows(2).all(|pair| pair[0] < pair[1]));
    }

    /// Every bucket's representative is within α of the bucket's smallest and largest values
    /// (the worst cases), in the lowest octave, around 1 and in the highest.
    #[test]
    fn every_bucket_is_read_within_the_relative_accuracy() {
        let mut worst: f64 = 0.0;
        for exponent in [-40, -1, 0, 1, 16, 73, 1023] {
            for j in 0..BUCKETS_PER_OCTAVE {
                let smallest = octave_value(MANTISSA_THRESHOLDS[j]) * scale(exponent);
                let largest = octave_value(MANTISSA_THRESHOLDS[j + 1] - 1) * scale(exponent);
                let index = exponent * BUCKETS_PER_OCTAVE as i32 + j as i32;
                assert_eq!(bucket_index(smallest), index);
                assert_eq!(bucket_index(largest), index);
                let next = f64::from_bits(largest.to_bits() + 1);
                if next.is_finite() {
                    assert_eq!(bucket_index(next), index + 1);
                }
                let value = representative(index);
                for bound in [smallest, largest] {
                    worst = worst.max(relative_error(value, bound));
                }
            }
        }
        assert!(worst <= ALPHA, "worst relative error {worst}");
        assert!(worst > 0.0099, "worst relative error {worst}");
    }

    #[test]
    fn log_uniform_values_are_read_within_the_relative_accuracy() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for _ in 0..100_000 {
            let value = 10.0_f64.powf(rng.random_range(-12.0..300.0));
            let read = representative(bucket_index(value));
            assert!(relative_error(read, value) <= ALPHA, "{value} read {read}");
        }
    }

    #[test]
    fn extreme_magnitudes() {
        let values = [
            f64::MAX,
            -f64::MAX,
            QuantileSketch::MIN_INDEXED_MAGNITUDE,
            -QuantileSketch::MIN_INDEXED_MAGNITUDE,
        ];
        let sketch = sketch_of(&values);
        assert_eq!(sketch.count(), 4);
        assert_eq!(sketch.zero_count, 0);
        for q in [0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0] {
            let read = sketch.quantile(q).unwrap();
            assert!(read.is_finite());
            let exact = exact_quantile(&values, q).unwrap();
            assert!(
                relative_error(read, exact) <= ALPHA,
                "q {q}: {read} vs {exact}"
            );
        }
    }

    #[test]
    fn zeros_tiny_values_and_non_finite_values_are_counted_apart() {
        let tiny = QuantileSketch::MIN_INDEXED_MAGNITUDE / 2.0;
        let values = [
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.0,
            -0.0,
            tiny,
            -tiny,
            f64::MIN_POSITIVE / 4.0,
            -3.0,
            5.0,
        ];
        let sketch = sketch_of(&values);
        assert_eq!(sketch.count(), 7);
        assert_eq!(sketch.non_finite_count(), 3);
        assert_eq!(sketch.zero_count, 5);
        assert!(relative_error(sketch.quantile(0.0).unwrap(), -3.0) <= ALPHA);
        assert_eq!(sketch.quantile(0.5), Some(0.0));
        assert!(relative_error(sketch.quantile(1.0).unwrap(), 5.0) <= ALPHA);
    }

    #[test]
    fn no_quantile_without_a_finite_value_or_with_q_out_of_range() {
        assert_eq!(QuantileSketch::new().quantile(0.5), None);
        let non_finite = sketch_of(&[f64::NAN, f64::INFINITY]);
        assert_eq!(non_finite.count(), 0);
        assert_eq!(non_finite.quantile(0.0), None);
        let sketch = sketch_of(&[1.0, 2.0]);
        for q in [-0.01, 1.01, f64::NAN, f64::INFINITY] {
            assert_eq!(sketch.quantile(q), None, "q {q}");
        }
    }

    /// The lower rank ⌊q·(n − 1)⌋: the median of 1, 2, 3, 4 is 2.
    #[test]
    fn quantiles_take_the_lower_rank() {
        let sketch = sketch_of(&[4.0, -1.0, 3.0, 2.0, 1.0]);
        let read = |q| sketch.quantile(q).unwrap();
        assert!(relative_error(read(0.0), -1.0) <= ALPHA);
        assert!(relative_error(read(0.3), 1.0) <= ALPHA);
        assert!(relative_error(read(0.5), 2.0) <= ALPHA);
        assert!(relative_error(read(0.74), 2.0) <= ALPHA);
        assert!(relative_error(read(0.75), 3.0) <= ALPHA);
        assert!(relative_error(read(1.0), 4.0) <= ALPHA);
    }

    /// 1 000 BTC prices a year out (lognormal, 60 % volatility around 60 000 USD) need about
    /// 250 buckets; values from 1e-6 to 1e22 about 3 300.
    #[test]
    fn slot_lookup_is_the_binary_search() {
        let reference = |mantissa: u64| {
            MANTISSA_THRESHOLDS[1..BUCKETS_PER_OCTAVE].partition_point(|&start| start <= mantissa)
        };
        // Every threshold and its neighbours, every slot's ends, and a spread of mantissas.
        let mut mantissas = vec![0, MANTISSA_MASK];
        for &t in &MANTISSA_THRESHOLDS[..BUCKETS_PER_OCTAVE] {
            mantissas.extend([t.saturating_sub(1), t, t + 1]);
        }
        for slot in 0..(1u64 << SLOT_BITS) {
            let start = slot << (MANTISSA_BITS - SLOT_BITS);
            mantissas.extend([start, start + (1 << (MANTISSA_BITS - SLOT_BITS)) - 1]);
        }
        mantissas
            .extend((0..100_000u64).map(|i| i.wrapping_mul(0x9E37_79B9_7F4A_7C15) & MANTISSA_MASK));
        for mantissa in mantissas {
            assert_eq!(
                bucket_in_octave(mantissa),
                reference(mantissa),
                "{mantissa:#x}"
            );
        }
    }

    #[test]
    fn bucket_counts_stay_modest() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let prices: Vec<f64> = (0..1000)
            .map(|_| {
                let shock: f64 = StandardNormal.sample(&mut rng);
                60_000.0 * (0.6 * shock - 0.18).exp()
            })
            .collect();
        let sketch = sketch_of(&prices);
        let buckets = bucket_count(&sketch);
        let octaves =
            (exact_quantile(&prices, 1.0).unwrap() / exact_quantile(&prices, 0.0).unwrap()).log2();
        assert!(
            buckets <= (octaves * 35.0).ceil() as usize + 1,
            "{buckets} buckets"
        );
        assert!(buckets < 300, "{buckets} buckets");
        for q in QUANTILES {
            let exact = exact_quantile(&prices, q).unwrap();
            assert!(relative_error(sketch.quantile(q).unwrap(), exact) <= ALPHA);
        }

        let wide = sketch_of(&[1e-6, 1e22, 3.0]);
        assert!(
            bucket_count(&wide) < 3_300,
            "{} buckets",
            bucket_count(&wide)
        );
        assert!(relative_error(wide.quantile(0.0).unwrap(), 1e-6) <= ALPHA);
        assert!(relative_error(wide.quantile(0.5).unwrap(), 3.0) <= ALPHA);
        assert!(relative_error(wide.quantile(1.0).unwrap(), 1e22) <= ALPHA);
    }

    #[test]
    fn serde_round_trip() {
        let sketch = sketch_of(&[-2.5e9, -0.3, 0.0, 1e-7, 42.0, 6.5e4, 7.0e4, 1e20, f64::NAN]);
        let text = toml::to_string(&sketch).unwrap();
        let back: QuantileSketch = toml::from_str(&text).unwrap();
        assert_eq!(back, sketch);
        let empty: QuantileSketch =
            toml::from_str(&toml::to_string(&QuantileSketch::new()).unwrap()).unwrap();
        assert_eq!(empty, QuantileSketch::new());
    }

    /// Mixed signs over many decades, a cluster around BTC prices, zeros and non-finite values.
    fn value_strategy() -> impl Strategy<Value = f64> {
        let signed = |(negative, magnitude): (bool, f64)| {
            if negative { -magnitude } else { magnitude }
        };
        prop_oneof![
            8 => (any::<bool>(), -6.0..22.0_f64)
                .prop_map(|(negative, decades)| (negative, 10.0_f64.powf(decades)))
                .prop_map(signed),
            3 => (any::<bool>(), 55_000.0..65_000.0_f64).prop_map(signed),
            1 => Just(0.0),
            1 => prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(f64::NEG_INFINITY)],
        ]
    }

    proptest! {
        #[test]
        fn quantiles_are_within_the_relative_accuracy(
            values in prop::collection::vec(value_strategy(), 1..400),
        ) {
            let sketch = sketch_of(&values);
            let finite = values.iter().filter(|v| v.is_finite()).count() as u64;
            prop_assert_eq!(sketch.count(), finite);
            prop_assert_eq!(sketch.non_finite_count(), values.len() as u64 - finite);
            for q in QUANTILES {
                let read = sketch.quantile(q);
                match exact_quantile(&values, q) {
                    None => prop_assert_eq!(read, None),
                    Some(exact) => {
                        let read = read.unwrap();
                        prop_assert!(
                            relative_error(read, exact) <= ALPHA,
                            "q {}: read {} exact {}", q, read, exact
                        );
                    }
                }
            }
        }

        #[test]
        fn merges_in_any_order_and_grouping_give_the_same_sketch(
            values in prop::collection::vec(value_strategy(), 0..300),
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
            rotation in any::<prop::sample::Index>(),
        ) {
            let mut bounds: Vec<usize> = cuts.iter().map(|cut| cut.index(values.len() + 1)).collect();
            bounds.extend([0, values.len()]);
            bounds.sort_unstable();
            let parts: Vec<QuantileSketch> =
                bounds.windows(2).map(|pair| sketch_of(&values[pair[0]..pair[1]])).collect();
            let whole = sketch_of(&values);

            let fold = |order: &mut dyn Iterator<Item = &QuantileSketch>| {
                let mut merged = QuantileSketch::new();
                for part in order {
                    merged.merge(part);
                }
                merged
            };
            let in_order = fold(&mut parts.iter());
            let reversed = fold(&mut parts.iter().rev());
            let start = rotation.index(parts.len());
            let rotated = fold(&mut parts[start..].iter().chain(&parts[..start]));
            let mut tree = parts.clone();
            while tree.len() > 1 {
                tree = tree
                    .chunks(2)
                    .map(|pair| {
                        let mut merged = pair[0].clone();
                        if let Some(right) = pair.get(1) {
                            merged.merge(right);
                        }
                        merged
                    })
                    .collect();
            }
            let tree = tree.pop().unwrap();

            for merged in [&in_order, &reversed, &rotated, &tree] {
                prop_assert_eq!(merged, &whole);
                for q in QUANTILES {
                    prop_assert_eq!(
                        merged.quantile(q).map(f64::to_bits),
                        whole.quantile(q).map(f64::to_bits)
                    );
                }
            }
        }
    }
}
