//! [`BookTally`]: what a book's metrics are computed from, accumulated chunk by chunk so that
//! a run's memory is bounded by its borrowers and its tail, not by its paths.
//!
//! * Integers (defaults per borrower, joint defaults per pair, the loss sketches' counts) add
//!   up in any order.
//! * Means and variances are per-chunk [`Moments`] combined in the tree of [`ChunkFold`],
//!   which the chunk indices alone fix, so shards merged give the unsharded bits.
//! * The loss tail is exact: the worst paths by book loss (ties in path order) are kept, as
//!   many as VaR and ES at the lowest level need (5 % of the paths, plus one), and for the
//!   worst 1 % each defaulted borrower's loss too (the Euler contributions to ES 99 %). The
//!   worst paths of a union are among the worst paths of its parts, so shards merge exactly
//!   ([`WorstPaths`]).

use serde::{Deserialize, Serialize};

use super::{
    BookLossTail, BookMetrics, BookPaths, BorrowerDefault, BorrowerLoss, DefaultCorrelation,
    FireSaleAddOn, LOSS_HISTOGRAM_BINS, Liquidation, MAX_CORRELATED_BORROWERS, PortfolioMetrics,
    TailAddOn,
};
use crate::fold::{ChunkFold, Mergeable};
use crate::simulate::{
    Estimate, LOSS_TAIL_LEVELS_PER_MILLE, Moments, loss_tail_of_worst, tail_paths,
    worst_paths_for_loss_tail,
};
use crate::sketch::QuantileSketch;
use crate::tail::{WorstPaths, loss_histogram};

/// Confidence level of the Euler contributions to expected shortfall, per mille (99 %).
const CONTRIBUTION_LEVEL_PER_MILLE: u128 = 990;

/// A book's run so far (module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct BookTally {
    /// Paths counted.
    paths: u64,
    /// Paths on which each borrower defaulted.
    default_counts: Vec<u64>,
    /// Paths on which both borrowers of a pair defaulted, pairs `(i, j)`, `i < j`, in row
    /// order; empty above [`MAX_CORRELATED_BORROWERS`].
    joint_defaults: Vec<u64>,
    /// Means and variances, per chunk, in the chunks' fixed tree.
    moments: ChunkFold<BookMoments>,
    /// With shared liquidation.
    shared: LiquidationTally,
    /// With independent liquidation.
    independent: LiquidationTally,
}

/// The moments of a run of chunks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct BookMoments {
    /// Per borrower, the lender's exposure at default over the paths with one.
    exposure: Vec<Moments>,
    /// With shared liquidation.
    shared: LossMoments,
    /// With independent liquidation.
    independent: LossMoments,
    /// The book's loss, shared minus independent, over every path.
    difference: Moments,
}

/// Loss moments under one liquidation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct LossMoments {
    /// The book's loss over every path.
    book: Moments,
    /// Per borrower, loss over exposure on the paths with an exposure at default.
    lgd: Vec<Moments>,
    /// Per borrower, the lender's loss over every path.
    loss: Vec<Moments>,
}

/// The book's loss distribution under one liquidation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct LiquidationTally {
    /// Every path's book loss, to within 1 % (the histogram).
    sketch: QuantileSketch,
    /// The largest book loss (USD).
    highest_usd: f64,
    /// Paths on which the book loses nothing.
    zero_loss_paths: u64,
    /// The worst paths by book loss (VaR and ES).
    worst: WorstPaths<()>,
    /// The worst 1 % of paths, with each defaulted borrower's loss (the Euler contributions).
    contribution_tail: WorstPaths<Vec<(u32, f64)>>,
}

impl BookTally {
    /// An empty tally of a book of `borrowers` for a run of `planned_paths` paths.
    pub(crate) fn new(borrowers: usize, planned_paths: u64) -> BookTally {
        let planned = planned_paths as usize;
        let liquidation = || LiquidationTally {
            sketch: QuantileSketch::new(),
            highest_usd: 0.0,
            zero_loss_paths: 0,
            worst: WorstPaths::new(worst_paths_for_loss_tail(planned)),
            contribution_tail: WorstPaths::new(tail_paths(planned, CONTRIBUTION_LEVEL_PER_MILLE)),
        };
        let pairs = if borrowers <= MAX_CORRELATED_BORROWERS {
            borrowers * borrowers.saturating_sub(1) / 2
        } else {
            0
        };
        BookTally {
            paths: 0,
            default_counts: vec![0; borrowers],
            joint_defaults: vec![0; pairs],
            moments: ChunkFold::default(),
            shared: liquidation(),
            independent: liquidation(),
        }
    }

    /// Paths counted.
    pub(crate) fn paths(&self) -> u64 {
        self.paths
    }

    /// Counts chunk `chunk`'s paths, the chunk after the last one counted.
    pub(crate) fn add_chunk(&mut self, chunk: u64, paths: &BookPaths) {
        let k = self.default_counts.len();
        let count = paths.paths();
        self.paths += count;
        let mut moments = BookMoments {
            exposure: vec![Moments::default(); k],
            shared: LossMoments::of_chunk(paths, Liquidation::Shared, k),
            independent: LossMoments::of_chunk(paths, Liquidation::Independent, k),
            difference: Moments::default(),
        };
        let mut defaulted = Vec::with_capacity(k);
        for records in paths.defaults.chunk_by(|a, b| a.path == b.path) {
            defaulted.clear();
            for record in records {
                let b = record.borrower as usize;
                if record.default_month.is_some() {
                    self.default_counts[b] += 1;
                    defaulted.push(b);
                }
                if record.exposure_usd > 0.0 {
                    moments.exposure[b].add(record.exposure_usd);
                }
            }
            if !self.joint_defaults.is_empty() {
                for (i, &first) in defaulted.iter().enumerate() {
                    for &second in &defaulted[i + 1..] {
                        self.joint_defaults[pair_index(first, second, k)] += 1;
                    }
                }
            }
        }
        let shared = paths.book_loss_usd(Liquidation::Shared);
        let independent = paths.book_loss_usd(Liquidation::Independent);
        for (s, i) in shared.iter().zip(independent) {
            moments.difference.add(s - i);
        }
        self.shared.add_chunk(paths, Liquidation::Shared);
        self.independent.add_chunk(paths, Liquidation::Independent);
        self.moments.push(chunk, moments);
    }

    /// Adds the tally of the chunks after these.
    pub(crate) fn merge(&mut self, next: BookTally) {
        self.paths += next.paths;
        for (count, added) in self.default_counts.iter_mut().zip(&next.default_counts) {
            *count += added;
        }
        for (count, added) in self.joint_defaults.iter_mut().zip(&next.joint_defaults) {
            *count += added;
        }
        self.moments.append(next.moments);
        self.shared.merge(next.shared);
        self.independent.merge(next.independent);
    }

    /// The book's metrics; `names` are the borrowers'.
    pub(crate) fn metrics(&self, names: &[String]) -> PortfolioMetrics {
        let n = self.paths;
        let moments = self.moments.total().expect("at least one chunk");
        let borrowers = names
            .iter()
            .zip(&self.default_counts)
            .zip(&moments.exposure)
            .map(|((name, &count), exposure)| BorrowerDefault {
                name: name.clone(),
                pd: Estimate::proportion(count, n),
                exposure_at_default_usd: exposure.estimate(),
            })
            .collect::<Vec<_>>();
        let default_correlation = self.default_correlation(names, &borrowers);
        let highest = self.shared.highest_usd.max(self.independent.highest_usd);
        let shared = self
            .shared
            .metrics(Liquidation::Shared, &moments.shared, names, n, highest);
        let independent = self.independent.metrics(
            Liquidation::Independent,
            &moments.independent,
            names,
            n,
            highest,
        );
        let fire_sale_add_on = FireSaleAddOn {
            expected_loss_usd: moments.difference.estimate().expect("at least one path"),
            es_usd: shared
                .loss_tail
                .iter()
                .zip(&independent.loss_tail)
                .map(|(s, i)| TailAddOn {
                    level: s.level,
                    difference_usd: Estimate {
                        value: s.es_usd.value - i.es_usd.value,
                        standard_error: s.es_usd.standard_error.hypot(i.es_usd.standard_error),
                    },
                })
                .collect(),
        };
        PortfolioMetrics {
            paths: n,
            borrowers,
            default_correlation,
            shared,
            independent,
            fire_sale_add_on,
        }
    }

    /// Every pair of borrowers' joint default (none above [`MAX_CORRELATED_BORROWERS`]).
    fn default_correlation(
        &self,
        names: &[String],
        borrowers: &[BorrowerDefault],
    ) -> Vec<DefaultCorrelation> {
        let k = names.len();
        let n = self.paths;
        if self.joint_defaults.is_empty() {
            return Vec::new();
        }
        let mut pairs = Vec::with_capacity(self.joint_defaults.len());
        for first in 0..k {
            for second in first + 1..k {
                let joint_pd =
                    Estimate::proportion(self.joint_defaults[pair_index(first, second, k)], n);
                let (p1, p2) = (borrowers[first].pd.value, borrowers[second].pd.value);
                let variance = p1 * (1.0 - p1) * p2 * (1.0 - p2);
                let correlation = (variance > 0.0).then(|| {
                    let rho = (joint_pd.value - p1 * p2) / variance.sqrt();
                    Estimate {
                        value: rho,
                        standard_error: (1.0 - rho * rho) / ((n.max(2) - 1) as f64).sqrt(),
                    }
                });
                pairs.push(DefaultCorrelation {
                    first: names[first].clone(),
                    second: names[second].clone(),
                    joint_pd,
                    correlation,
                });
            }
        }
        pairs
    }
}

impl Mergeable for BookMoments {
    fn merge(&mut self, right: &Self) {
        merge_each(&mut self.exposure, &right.exposure);
        self.shared.merge(&right.shared);
        self.independent.merge(&right.independent);
        self.difference.merge(&right.difference);
    }
}

impl LossMoments {
    /// The moments of one chunk's paths under `liquidation`, for `k` borrowers.
    fn of_chunk(paths: &BookPaths, liquidation: Liquidation, k: usize) -> LossMoments {
        let mut book = Moments::default();
        paths
            .book_loss_usd(liquidation)
            .iter()
            .for_each(|&loss| book.add(loss));
        let mut lgd = vec![Moments::default(); k];
        // Per borrower, (position in the chunk, loss); the paths between are zeros.
        let mut losses: Vec<Vec<(u64, f64)>> = vec![Vec::new(); k];
        for record in &paths.defaults {
            let b = record.borrower as usize;
            let loss = record.loss_usd(liquidation);
            if record.exposure_usd > 0.0 {
                lgd[b].add(loss / record.exposure_usd);
            }
            losses[b].push((record.path - paths.first_path, loss));
        }
        LossMoments {
            book,
            lgd,
            loss: losses
                .iter()
                .map(|values| sparse_moments(values, paths.paths()))
                .collect(),
        }
    }

    fn merge(&mut self, right: &LossMoments) {
        self.book.merge(&right.book);
        merge_each(&mut self.lgd, &right.lgd);
        merge_each(&mut self.loss, &right.loss);
    }
}

impl LiquidationTally {
    /// Counts one chunk's book losses under `liquidation`.
    fn add_chunk(&mut self, paths: &BookPaths, liquidation: Liquidation) {
        let defaults = &paths.defaults;
        let mut next_record = 0;
        for (path, &loss) in (paths.first_path..).zip(paths.book_loss_usd(liquidation)) {
            let first_record = next_record;
            while defaults.get(next_record).is_some_and(|r| r.path == path) {
                next_record += 1;
            }
            let records = &defaults[first_record..next_record];
            self.sketch.add(loss);
            self.highest_usd = self.highest_usd.max(loss);
            self.zero_loss_paths += u64::from(loss <= 0.0);
            self.worst.offer(loss, path, || ());
            self.contribution_tail.offer(loss, path, || {
                records
                    .iter()
                    .map(|r| (r.borrower, r.loss_usd(liquidation)))
                    .collect()
            });
        }
    }

    fn merge(&mut self, next: LiquidationTally) {
        self.sketch.merge(&next.sketch);
        self.highest_usd = self.highest_usd.max(next.highest_usd);
        self.zero_loss_paths += next.zero_loss_paths;
        self.worst.merge(next.worst);
        self.contribution_tail.merge(next.contribution_tail);
    }

    /// The book's metrics under `liquidation` over `n` paths, its histogram in equal bins up
    /// to `highest_usd`.
    fn metrics(
        &self,
        liquidation: Liquidation,
        moments: &LossMoments,
        names: &[String],
        n: u64,
        highest_usd: f64,
    ) -> BookMetrics {
        let count = n as usize;
        let worst = self.worst.sorted();
        let sorted: Vec<f64> = worst[worst.len() - worst_paths_for_loss_tail(count)..]
            .iter()
            .map(|entry| entry.loss_usd)
            .collect();
        let loss_tail = loss_tail_of_worst(&sorted, count)
            .into_iter()
            .zip(LOSS_TAIL_LEVELS_PER_MILLE)
            .map(|(tail, per_mille)| {
                let worst = &sorted[sorted.len() - tail_paths(count, per_mille)..];
                let mut moments = Moments::default();
                worst.iter().for_each(|&loss| moments.add(loss));
                let spread = moments.estimate().expect("a tail path");
                let conditional_variance = spread.standard_error.powi(2) * worst.len() as f64;
                let excess = tail.es_usd - tail.var_usd;
                BookLossTail {
                    level: tail.level,
                    var_usd: tail.var_usd,
                    es_usd: Estimate {
                        value: tail.es_usd,
                        standard_error: ((conditional_variance + tail.level * excess * excess)
                            / worst.len() as f64)
                            .sqrt(),
                    },
                }
            })
            .collect();
        // The tail's paths in path order, and each borrower's losses at their positions.
        let contribution_tail = self.contribution_tail.sorted();
        let mut tail = contribution_tail
            [contribution_tail.len() - tail_paths(count, CONTRIBUTION_LEVEL_PER_MILLE)..]
            .to_vec();
        tail.sort_unstable_by_key(|entry| entry.path);
        let mut tail_losses: Vec<Vec<(u64, f64)>> = vec![Vec::new(); names.len()];
        for (position, entry) in tail.iter().enumerate() {
            for &(b, loss) in &entry.detail {
                tail_losses[b as usize].push((position as u64, loss));
            }
        }
        let borrowers = names
            .iter()
            .enumerate()
            .map(|(b, name)| BorrowerLoss {
                name: name.clone(),
                lgd: moments.lgd[b].estimate(),
                expected_loss_usd: moments.loss[b].estimate().expect("at least one path"),
                es_99_contribution_usd: sparse_moments(&tail_losses[b], tail.len() as u64)
                    .estimate()
                    .expect("a tail path"),
            })
            .collect();
        BookMetrics {
            liquidation,
            expected_loss_usd: moments.book.estimate().expect("at least one path"),
            loss_tail,
            histogram: loss_histogram(
                &self.sketch,
                highest_usd,
                self.zero_loss_paths,
                LOSS_HISTOGRAM_BINS,
            ),
            borrowers,
        }
    }
}

/// Where pair `(first, second)`, `first < second`, of `k` borrowers is in row order.
fn pair_index(first: usize, second: usize, k: usize) -> usize {
    first * (2 * k - first - 1) / 2 + (second - first - 1)
}

fn merge_each(moments: &mut [Moments], right: &[Moments]) {
    for (left, right) in moments.iter_mut().zip(right) {
        left.merge(right);
    }
}

/// The moments of `count` values that are 0 except at the given (position, value) pairs, in
/// increasing position: the zeros between are merged as blocks, in order.
fn sparse_moments(values: &[(u64, f64)], count: u64) -> Moments {
    let mut moments = Moments::default();
    let mut next = 0;
    for &(position, value) in values {
        moments.merge(&Moments::zeros(position - next));
        moments.add(value);
        next = position + 1;
    }
    moments.merge(&Moments::zeros(count - next));
    moments
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_are_numbered_in_row_order() {
        let k = 5;
        let mut next = 0;
        for first in 0..k {
            for second in first + 1..k {
                assert_eq!(pair_index(first, second, k), next);
                next += 1;
            }
        }
    }
}
