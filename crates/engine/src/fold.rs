//! [`ChunkFold`]: the summaries of a run's chunks combined in a tree that the chunk indices
//! alone fix, so that floating-point sums come out the same bit for bit however the chunks
//! were split into shards, while memory stays logarithmic in the chunks.
//!
//! A summary merge in floating point is not associative: folding chunks 0‥3 one after the
//! other, `((s₀ + s₁) + s₂) + s₃`, and merging two shards' folds, `(s₀ + s₁) + (s₂ + s₃)`,
//! round differently. Here every summary is of an *aligned block* of chunks — `2ʲ` chunks
//! starting at a multiple of `2ʲ` — and the summary of a block of `2ʲ⁺¹` chunks is always its
//! left half merged with its right half. A run of consecutive chunks is held as its maximal
//! aligned blocks in order (at most two per power of two); two adjacent blocks of the same
//! size whose union is aligned are merged at once. The blocks of chunks `0‥C`, however they
//! were pushed, are the binary decomposition of `C`, each with the same summary, and
//! [`ChunkFold::total`] merges them left to right.

use serde::{Deserialize, Serialize};

/// A summary of chunks that two adjacent summaries merge into.
pub(crate) trait Mergeable: Clone {
    /// Makes `self` the summary of its chunks followed by `right`'s.
    fn merge(&mut self, right: &Self);
}

/// The summaries of a run of consecutive chunks, as aligned blocks (module documentation).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub(crate) struct ChunkFold<T> {
    /// Aligned blocks, consecutive, in chunk order.
    blocks: Vec<Block<T>>,
}

/// The summary of `chunks` chunks from `first_chunk` (`chunks` a power of two that divides
/// `first_chunk`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Block<T> {
    first_chunk: u64,
    chunks: u64,
    summary: T,
}

impl<T> Default for ChunkFold<T> {
    fn default() -> Self {
        ChunkFold { blocks: Vec::new() }
    }
}

impl<T: Mergeable> ChunkFold<T> {
    /// Adds the summary of chunk `chunk`, the one after the last chunk held.
    pub(crate) fn push(&mut self, chunk: u64, summary: T) {
        self.push_block(Block {
            first_chunk: chunk,
            chunks: 1,
            summary,
        });
    }

    /// Adds the chunks of `next`, which start where these end.
    pub(crate) fn append(&mut self, next: ChunkFold<T>) {
        for block in next.blocks {
            self.push_block(block);
        }
    }

    /// The summary of every chunk held: the blocks merged left to right; none when empty.
    pub(crate) fn total(&self) -> Option<T> {
        let (first, rest) = self.blocks.split_first()?;
        let mut total = first.summary.clone();
        for block in rest {
            total.merge(&block.summary);
        }
        Some(total)
    }

    fn push_block(&mut self, block: Block<T>) {
        debug_assert!(
            block.chunks.is_power_of_two() && block.first_chunk.is_multiple_of(block.chunks)
        );
        debug_assert!(
            self.blocks
                .last()
                .is_none_or(|last| last.first_chunk + last.chunks == block.first_chunk),
            "chunks pushed out of order"
        );
        self.blocks.push(block);
        while let [.., left, right] = self.blocks.as_slice()
            && left.chunks == right.chunks
            && left.first_chunk.is_multiple_of(2 * left.chunks)
        {
            let right = self.blocks.pop().expect("two blocks");
            let left = self.blocks.last_mut().expect("two blocks");
            left.summary.merge(&right.summary);
            left.chunks *= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A summary that records the shape of its merges.
    #[derive(Clone, Debug, PartialEq)]
    struct Shape(String);

    impl Mergeable for Shape {
        fn merge(&mut self, right: &Self) {
            self.0 = format!("({} {})", self.0, right.0);
        }
    }

    fn fold(chunks: std::ops::Range<u64>) -> ChunkFold<Shape> {
        let mut fold = ChunkFold::default();
        for chunk in chunks {
            fold.push(chunk, Shape(chunk.to_string()));
        }
        fold
    }

    #[test]
    fn the_tree_is_fixed_by_the_chunks_alone() {
        assert_eq!(
            fold(0..6).total(),
            Some(Shape("(((0 1) (2 3)) (4 5))".to_string()))
        );
        for count in 1..40 {
            let whole = fold(0..count).total();
            // Every split into up to three shards, merged in order, gives the same tree.
            for a in 0..=count {
                for b in a..=count {
                    let mut merged = fold(0..a);
                    merged.append(fold(a..b));
                    merged.append(fold(b..count));
                    assert_eq!(merged.total(), whole, "{count} chunks split at {a}, {b}");
                }
            }
        }
        assert_eq!(ChunkFold::<Shape>::default().total(), None);
    }

    #[test]
    fn memory_is_logarithmic_in_the_chunks() {
        let fold = fold(0..1_000_003);
        assert!(fold.blocks.len() <= 20);
    }
}
