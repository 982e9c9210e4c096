//! A counter word tagged with the time bucket it counts for: the cell of every bucketed window
//! (the count rule's for a very large threshold, the failure-rate rule's always).
//!
//! One atomic word holds `(bucket index mod 2^32) << 32 | count`, so a ring of such words
//! expires by arithmetic: a word whose tag is not the bucket asked for counts nothing, and the
//! first write for a new bucket replaces it whole. No scan, no clearing pass, no lock.
//!
//! The index is kept modulo 2³², so a word left untouched for a multiple of 2³² bucket widths,
//! give or take one turn of the ring, could be taken for a current one.

use crate::sync::{AtomicU64, Ordering};

/// How far ahead (in buckets) a word may be for a count to be taken for a straggler's: one turn
/// of a ring of `ring` words. A thread delayed longer than that holds an outcome older than the
/// window, which cannot count anyway; anything further ahead is an index that has wrapped
/// around, and is overwritten.
fn straggler(held: u32, tag: u32, ring: u32) -> bool {
    (1..=ring).contains(&held.wrapping_sub(tag))
}

/// Adds one to `word` for bucket `index`, in a ring of `ring` words. A word that already counts
/// a slightly later bucket (another thread read a later clock first) is left alone: this
/// outcome is a whole window old and cannot count.
///
/// Returns how much the word's count changed: 1, or `1 - n` when the word counted `n` for an
/// older bucket and now counts this one, or 0 when it was left alone (or is saturated).
pub(crate) fn bump(word: &AtomicU64, index: u64, ring: u32) -> i64 {
    let tag = index as u32;
    let mut seen = word.load(Ordering::Acquire);
    loop {
        let held = (seen >> 32) as u32;
        let (next, change) = if held == tag && seen != 0 {
            let count = seen & u64::from(u32::MAX);
            if count == u64::from(u32::MAX) {
                return 0;
            }
            (seen + 1, 1)
        } else if seen != 0 && straggler(held, tag, ring) {
            return 0;
        } else {
            (u64::from(tag) << 32 | 1, 1 - count(seen))
        };
        match word.compare_exchange_weak(seen, next, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return change,
            Err(now) => seen = now,
        }
    }
}

/// The count a word holds, whatever its bucket.
pub(crate) fn count(word: u64) -> i64 {
    i64::from(word as u32)
}

/// The count `word` holds for bucket `index`: zero if it holds another bucket.
pub(crate) fn read(word: &AtomicU64, index: u64) -> u64 {
    let seen = word.load(Ordering::Acquire);
    if seen != 0 && (seen >> 32) as u32 == index as u32 {
        seen & u64::from(u32::MAX)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_counts_its_own_bucket_only() {
        let w = AtomicU64::new(0);
        assert_eq!(read(&w, 0), 0);
        bump(&w, 0, 16);
        bump(&w, 0, 16);
        assert_eq!(read(&w, 0), 2);
        assert_eq!(read(&w, 16), 0);
        // The next turn of the ring replaces it whole.
        bump(&w, 16, 16);
        assert_eq!((read(&w, 0), read(&w, 16)), (0, 1));
        // A straggler of the earlier turn is dropped.
        bump(&w, 0, 16);
        assert_eq!(read(&w, 16), 1);
    }
}
