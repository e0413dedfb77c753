//! [`WorstPaths`]: the worst paths of a run by loss, kept exactly in a size set by the tail
//! alone, so that VaR and expected shortfall stay exact while a run's memory does not grow
//! with its paths beyond the tail; and the loss histogram read from a loss sketch.

use serde::{Deserialize, Serialize};

use crate::portfolio::LossHistogram;
use crate::sketch::QuantileSketch;

/// The `capacity` worst paths seen by book loss, ties broken by the later path: a set that does
/// not depend on the order the paths are offered in (equal when the sets are).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub(crate) struct WorstPaths<T> {
    capacity: usize,
    /// At most `capacity` plus a quarter, trimmed to the worst `capacity` when full.
    entries: Vec<WorstPath<T>>,
    /// The best entry kept by the last trim: nothing better can be among the worst.
    #[serde(skip)]
    floor: Option<(f64, u64)>,
}

/// One path of [`WorstPaths`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct WorstPath<T> {
    pub(crate) loss_usd: f64,
    pub(crate) path: u64,
    pub(crate) detail: T,
}

impl<T> WorstPaths<T> {
    pub(crate) fn new(capacity: usize) -> WorstPaths<T> {
        WorstPaths {
            capacity,
            entries: Vec::new(),
            floor: None,
        }
    }

    /// Offers path `path` with book loss `loss_usd`; `detail` is called only if it is kept.
    pub(crate) fn offer(&mut self, loss_usd: f64, path: u64, detail: impl FnOnce() -> T) {
        if self
            .floor
            .is_some_and(|floor| order((loss_usd, path), floor).is_lt())
        {
            return;
        }
        self.entries.push(WorstPath {
            loss_usd,
            path,
            detail: detail(),
        });
        if self.entries.len() > self.capacity + self.capacity.div_ceil(4) {
            self.trim();
        }
    }

    /// Adds the paths of `other` (other paths of the same run).
    pub(crate) fn merge(&mut self, other: WorstPaths<T>) {
        self.entries.extend(other.entries);
        self.trim();
    }

    /// The worst `capacity` (or fewer) entries, from the least bad.
    pub(crate) fn sorted(&self) -> Vec<&WorstPath<T>> {
        let mut sorted: Vec<&WorstPath<T>> = self.entries.iter().collect();
        sorted.sort_unstable_by(|a, b| order(a.key(), b.key()));
        let kept = sorted.len().min(self.capacity);
        sorted.split_off(sorted.len() - kept)
    }

    /// Keeps the worst `capacity` entries.
    fn trim(&mut self) {
        if self.entries.len() <= self.capacity {
            return;
        }
        let cut = self.entries.len() - self.capacity;
        self.entries
            .select_nth_unstable_by(cut, |a, b| order(a.key(), b.key()));
        self.entries.drain(..cut);
        self.floor = self
            .entries
            .iter()
            .map(WorstPath::key)
            .min_by(|&a, &b| order(a, b));
    }
}

impl<T: PartialEq> PartialEq for WorstPaths<T> {
    fn eq(&self, other: &Self) -> bool {
        self.capacity == other.capacity && self.sorted() == other.sorted()
    }
}

impl<T> WorstPath<T> {
    fn key(&self) -> (f64, u64) {
        (self.loss_usd, self.path)
    }
}

/// Book loss, then path: the order of "worse".
fn order(a: (f64, u64), b: (f64, u64)) -> std::cmp::Ordering {
    a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
}

/// Counts of a sketch's values in `bins` equal bins from 0 to `highest_usd` (each value placed
/// by its bucket's representative, within 1 %), with the count of zeros apart.
pub(crate) fn loss_histogram(
    sketch: &QuantileSketch,
    highest_usd: f64,
    zero_loss_paths: u64,
    bins: usize,
) -> LossHistogram {
    let bin_width_usd = highest_usd.max(0.0) / bins as f64;
    let mut counts = vec![0; bins];
    for (loss, paths) in sketch.buckets() {
        let bin = if bin_width_usd > 0.0 {
            ((loss / bin_width_usd).max(0.0) as usize).min(bins - 1)
        } else {
            0
        };
        counts[bin] += paths;
    }
    LossHistogram {
        bin_width_usd,
        counts,
        zero_loss_paths,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_paths_do_not_depend_on_the_order_offered() {
        let losses: Vec<f64> = (0..1_000_u64).map(|i| ((i * 7_919) % 113) as f64).collect();
        let mut forward = WorstPaths::new(37);
        for (path, &loss) in losses.iter().enumerate() {
            forward.offer(loss, path as u64, || path);
        }
        let mut halves = WorstPaths::new(37);
        let mut second = WorstPaths::new(37);
        for (path, &loss) in losses.iter().enumerate().rev() {
            let half = if path < 500 { &mut halves } else { &mut second };
            half.offer(loss, path as u64, || path);
        }
        halves.merge(second);
        let keys = |w: &WorstPaths<usize>| {
            w.sorted()
                .iter()
                .map(|e| (e.key(), e.detail))
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&forward), keys(&halves));
        let mut all: Vec<(f64, u64)> = losses.iter().zip(0..).map(|(&l, p)| (l, p)).collect();
        all.sort_by(|&a, &b| order(a, b));
        let expected: Vec<((f64, u64), usize)> = all[all.len() - 37..]
            .iter()
            .map(|&k| (k, k.1 as usize))
            .collect();
        assert_eq!(keys(&forward), expected);
    }
}
