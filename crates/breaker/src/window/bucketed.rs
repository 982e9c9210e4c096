//! The failure window's bucketed mode, for a threshold too large to keep a stamp per failure.
//!
//! # Why buckets
//!
//! Keeping every one of a very large T stamps would cost memory in proportion to T, so the
//! window is a ring of [`BUCKETS`] time buckets, each one `W / 64` wide (rounded down to the
//! nanosecond), holding the number of failures stamped in it and the index of the bucket it
//! counts for, packed in one atomic [tagged](crate::tagged) word. Memory is fixed whatever T,
//! at the price of a granularity of one bucket.
//!
//! - **Granularity:** a failure stamped in bucket `k` counts until bucket `k + 64` begins. So it
//!   never counts once W old, and it stops counting at most one bucket width (plus 64 ns of
//!   rounding) before that. Open periods end on bucket boundaries.
//! - **Cost:** one compare-and-swap and one atomic add to record; the add keeps the sum of every
//!   word's count, in or out of the window, which bounds the window's count from above, so a
//!   failure that leaves that sum at T or less answers without reading the buckets. Only above
//!   it does a pass over the 64 words find the window's exact count and the end of the open
//!   period. 520 bytes of memory.
//! - The bucket index is kept modulo 2³², so a bucket left untouched for a multiple of 2³²
//!   bucket widths (at W = 1 s, about 2 years), give or take one turn of the ring, could be
//!   mistaken for a current one: its old count read as current, or a new failure in it dropped.

use crate::nanos::Nanos;
use crate::sync::{AtomicU64, Ordering};
use crate::tagged;

/// The number of time buckets the count rule counts failures in for a threshold above
/// [`EXACT_MAX_THRESHOLD`](crate::EXACT_MAX_THRESHOLD): each one W / 64 wide (rounded down to
/// the nanosecond), so that a failure stops counting up to one bucket before it is W old, never
/// after, and open periods end on bucket boundaries.
pub const BUCKETS: usize = 64;

/// [`BUCKETS`] tagged words, each `(bucket index mod 2^32) << 32 | failures`, and the sum of
/// their counts.
#[derive(Debug)]
pub(crate) struct Buckets {
    buckets: Box<[AtomicU64]>,
    /// The counts of every word, whatever bucket it holds, summed: each change to a word's count
    /// is added here by the thread that made it, right after it. A two's-complement `i64`:
    /// between a word's change and its addition here, it may be briefly low.
    total: AtomicU64,
    /// W.
    window: Nanos,
    /// The width of one bucket, at least a nanosecond.
    width: Nanos,
    threshold: u32,
}

impl Buckets {
    /// The buckets for error threshold `threshold` over a window of `window` (more than zero).
    pub(crate) fn new(window: Nanos, threshold: u32) -> Self {
        // A window shorter than BUCKETS nanoseconds gets one bucket a nanosecond, so that no
        // failure ever counts for longer than W.
        let n = BUCKETS.min(usize::try_from(window.as_u64()).unwrap_or(BUCKETS));
        Self {
            buckets: (0..n).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            window,
            width: window / n as u64,
            threshold,
        }
    }

    /// W.
    pub(crate) fn window(&self) -> Nanos {
        self.window
    }

    /// T.
    pub(crate) fn threshold(&self) -> u32 {
        self.threshold
    }

    fn len(&self) -> u64 {
        self.buckets.len() as u64
    }

    fn slot(&self, index: u64) -> &AtomicU64 {
        &self.buckets[(index % self.len()) as usize]
    }

    /// The buckets that count at `now`, oldest first: each index with its word.
    fn counting(&self, now: Nanos) -> impl Iterator<Item = (u64, &AtomicU64)> {
        let current = now / self.width;
        let first = current.saturating_sub(self.len() - 1);
        // One division for the first word; the rest follow round the ring.
        let start = (first % self.len()) as usize;
        let words = self.buckets[start..].iter().chain(&self.buckets[..start]);
        (first..=current).zip(words)
    }

    /// Records a failure stamped `now`. Returns the instant until which the failures in the
    /// window exceed T, if they exceed it at `now`.
    pub(crate) fn record(&self, now: Nanos) -> Option<Nanos> {
        let index = now / self.width;
        let change = tagged::bump(self.slot(index), index, self.len() as u32);
        let total = self
            .total
            .fetch_add(change as u64, Ordering::AcqRel)
            .wrapping_add(change as u64) as i64;
        // Every word counted, in or out of the window: if even that is T or fewer, so is the
        // window. The last thread to add here sees every word's count, so a window over T is
        // always seen by one.
        if total <= i64::from(self.threshold) {
            return None;
        }
        self.open_until(now)
    }

    /// If more than T failures count at `now`, the start of the first bucket at which T or
    /// fewer will: drop the oldest buckets one by one until the rest are few enough.
    pub(crate) fn open_until(&self, now: Nanos) -> Option<Nanos> {
        let mut total: u64 = self.counting(now).map(|(k, w)| tagged::read(w, k)).sum();
        let threshold = u64::from(self.threshold);
        if total <= threshold {
            return None;
        }
        for (k, w) in self.counting(now) {
            total -= tagged::read(w, k).min(total);
            if total <= threshold {
                return Some(self.start_of(k.saturating_add(self.len())));
            }
        }
        // Racing writers added failures to the current bucket while we read: it ends last.
        Some(self.start_of((now / self.width).saturating_add(self.len())))
    }

    /// The instant bucket `index` begins.
    fn start_of(&self, index: u64) -> Nanos {
        self.width.saturating_mul(index)
    }

    /// The failures in the window at `now`, saturating at T + 1.
    pub(crate) fn count(&self, now: Nanos) -> u32 {
        let total: u64 = self.counting(now).map(|(k, w)| tagged::read(w, k)).sum();
        let cap = u64::from(self.threshold) + 1;
        u32::try_from(total.min(cap)).unwrap_or(u32::MAX)
    }

    /// Forgets every failure, taking each word's count off the total.
    pub(crate) fn clear(&self) {
        for w in self.buckets.iter() {
            let count = tagged::count(w.swap(0, Ordering::AcqRel));
            self.total.fetch_sub(count as u64, Ordering::AcqRel);
        }
    }

    /// The bytes of heap these buckets hold, themselves included.
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of::<Buckets>() + std::mem::size_of_val(&*self.buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A threshold too large for a stamp per failure.
    const T: u32 = 5_000;

    /// The buckets, with time as plain nanoseconds: the tests are tables of timelines.
    struct Ring(Buckets);

    impl Ring {
        fn new(window: u64, threshold: u32) -> Self {
            Ring(Buckets::new(Nanos::new(window), threshold))
        }
        fn record(&self, now: u64) -> Option<u64> {
            self.0.record(Nanos::new(now)).map(Nanos::as_u64)
        }
        fn count(&self, now: u64) -> u32 {
            self.0.count(Nanos::new(now))
        }
        fn clear(&self) {
            self.0.clear()
        }
    }

    #[test]
    fn buckets_trip_above_t_and_reopen_on_a_bucket_boundary() {
        // W = 64 000 ns: 64 buckets of 1 000 ns.
        let w = Ring::new(64_000, T);
        for _ in 0..T {
            assert_eq!(w.record(1_500), None);
        }
        assert_eq!(w.count(1_500), T);
        // The (T + 1)-th failure trips; bucket 1 (1 000..2 000) stops counting at 65 000.
        assert_eq!(w.record(2_500), Some(65_000));
        assert_eq!(w.count(64_999), T + 1);
        assert_eq!(w.count(65_000), 1);
    }

    #[test]
    fn buckets_keep_failures_apart_in_time() {
        let w = Ring::new(64_000, T);
        for _ in 0..T {
            w.record(0);
        }
        // Bucket 0 has T failures... plus one in bucket 10 exceeds T until bucket 0 expires.
        assert_eq!(w.record(10_000), Some(64_000));
        // After bucket 0 expires, only the one in bucket 10 remains.
        assert_eq!(w.count(64_000), 1);
        // Bucket 64 reuses bucket 0's word: its old failures must not count again.
        assert_eq!(w.record(64_500), None);
        assert_eq!(w.count(64_500), 2);
    }

    #[test]
    fn buckets_cleared_count_from_zero_again() {
        let w = Ring::new(64_000, T);
        for _ in 0..T {
            assert_eq!(w.record(500), None);
        }
        w.clear();
        for _ in 0..T {
            assert_eq!(w.record(600), None);
        }
        assert_eq!(w.record(600), Some(64_000));
    }

    #[test]
    fn bucket_never_counts_past_w() {
        // W not a multiple of 64: buckets are 1 ns narrower, so failures expire early, not late.
        let window = 64_063;
        let w = Ring::new(window, T);
        for start in [0, 999, 1_000, 5_432] {
            w.clear();
            w.record(start);
            assert_eq!(w.count(start + window), 0, "stamp {start}");
            assert_eq!(w.count(start), 1, "stamp {start}");
        }
    }

    #[test]
    fn buckets_keep_counting_after_the_index_wraps_half_way() {
        // Regression: a bucket untouched for over 2^31 widths was taken for a later one, and
        // every failure landing in it was dropped.
        let w = Ring::new(64_000, T); // 1 000 ns buckets
        for k in 0..64 {
            w.record(k * 1_000);
        }
        let later = 3 * (1u64 << 30) * 1_000;
        for _ in 0..T {
            w.record(later);
        }
        assert_eq!(w.count(later), T);
        assert!(w.record(later).is_some());
    }

    #[test]
    fn tiny_window_with_huge_threshold_is_still_bounded_by_w() {
        let w = Ring::new(10, T);
        w.record(5);
        assert_eq!(w.count(14), 1);
        assert_eq!(w.count(15), 0);
    }
}
