//! The failure window: the data structure that decides "more than T failures in the last W".
//!
//! # Why this shape
//!
//! The question the breaker asks is never "how many failures were there?" but "are there more
//! than T in the window, and until when?". Both answers depend on one stamp only: the
//! (T + 1)-th most recent failure. If it is younger than W, the last T + 1 failures all lie in
//! the window, so the circuit is open, and it stays open exactly until that stamp turns W old.
//! Nothing older can matter, so nothing older is kept.
//!
//! Up to T = [`EXACT_MAX_THRESHOLD`] (32 KiB of stamps), the window keeps exactly those T + 1
//! latest stamps, in an [ordered ring](exact): exact to the nanosecond, O(1) a failure. Beyond
//! it, keeping a stamp per failure would cost memory in proportion to T, so the window counts
//! failures in [`BUCKETS`] [time buckets](bucketed) of W / 64, with fixed memory and a
//! granularity of one bucket. Only failures write either; a success never touches the window.
//!
//! A breaker without the count rule (one that trips on its other rules alone) has no window at
//! all, rather than a window that counts nothing.

mod bucketed;
mod exact;

pub use self::bucketed::BUCKETS;
pub use self::exact::EXACT_MAX_THRESHOLD;

use self::bucketed::Buckets;
use self::exact::ExactRing;
use crate::nanos::Nanos;

/// The failures of the last W: exact stamps, or time buckets for a very large T.
#[derive(Debug)]
pub(crate) enum FailureWindow {
    /// T <= [`EXACT_MAX_THRESHOLD`]: the T + 1 latest stamps.
    Exact(ExactRing),
    /// Above [`EXACT_MAX_THRESHOLD`]: [`BUCKETS`] time buckets.
    Bucketed(Box<Buckets>),
}

impl FailureWindow {
    /// A window of `window` (more than zero) for error threshold `threshold`.
    pub(crate) fn new(window: Nanos, threshold: u32) -> Self {
        if threshold <= EXACT_MAX_THRESHOLD {
            FailureWindow::Exact(ExactRing::new(window, threshold))
        } else {
            FailureWindow::Bucketed(Box::new(Buckets::new(window, threshold)))
        }
    }

    /// W.
    pub(crate) fn window(&self) -> Nanos {
        match self {
            FailureWindow::Exact(ring) => ring.window(),
            FailureWindow::Bucketed(buckets) => buckets.window(),
        }
    }

    /// T.
    pub(crate) fn threshold(&self) -> u32 {
        match self {
            FailureWindow::Exact(ring) => ring.threshold(),
            FailureWindow::Bucketed(buckets) => buckets.threshold(),
        }
    }

    /// Records a failure stamped `now`. Returns the instant until which the failures in the
    /// window exceed T, if they exceed it at `now`.
    #[inline]
    pub(crate) fn record(&self, now: Nanos) -> Option<Nanos> {
        match self {
            FailureWindow::Exact(ring) => ring.record(now),
            FailureWindow::Bucketed(buckets) => buckets.record(now),
        }
    }

    /// The instant until which the failures in the window exceed T, if they exceed it at `now`,
    /// without recording anything.
    pub(crate) fn open_until(&self, now: Nanos) -> Option<Nanos> {
        match self {
            FailureWindow::Exact(ring) => ring.open_until(now),
            FailureWindow::Bucketed(buckets) => buckets.open_until(now),
        }
    }

    /// The failures in the window at `now`, saturating at T + 1.
    pub(crate) fn count(&self, now: Nanos) -> u32 {
        match self {
            FailureWindow::Exact(ring) => ring.count(now),
            FailureWindow::Bucketed(buckets) => buckets.count(now),
        }
    }

    /// Whether the failures in the window at `t` exceed T.
    pub(crate) fn exceeded_at(&self, t: Nanos) -> bool {
        self.count(t) > self.threshold()
    }

    /// Forgets every failure.
    pub(crate) fn clear(&self) {
        match self {
            FailureWindow::Exact(ring) => ring.clear(),
            FailureWindow::Bucketed(buckets) => buckets.clear(),
        }
    }

    /// The bytes of heap this window holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            FailureWindow::Exact(ring) => ring.heap_bytes(),
            FailureWindow::Bucketed(buckets) => buckets.heap_bytes(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Nanos = Nanos::new(1_000);

    fn ns(n: u64) -> Nanos {
        Nanos::new(n)
    }

    #[test]
    fn memory_is_t_plus_one_stamps_or_64_buckets() {
        assert_eq!(FailureWindow::new(W, 3).heap_bytes(), 0); // inline
        assert_eq!(FailureWindow::new(W, 4).heap_bytes(), 5 * 8);
        let exact = FailureWindow::new(ns(64_000), EXACT_MAX_THRESHOLD);
        assert!(matches!(exact, FailureWindow::Exact(_)));
        let big = FailureWindow::new(ns(64_000), EXACT_MAX_THRESHOLD + 1);
        assert!(matches!(big, FailureWindow::Bucketed(_)));
        assert!(big.heap_bytes() >= BUCKETS * 8);
    }

    #[test]
    fn both_modes_answer_alike_where_a_bucket_is_one_nanosecond() {
        // W = 64 ns: 64 buckets of 1 ns, as exact as the stamps.
        let exact = FailureWindow::new(ns(64), 2);
        let bucketed = FailureWindow::Bucketed(Box::new(Buckets::new(ns(64), 2)));
        for now in [3, 10, 20, 70, 80, 200].map(ns) {
            assert_eq!(exact.record(now), bucketed.record(now), "{now:?}");
            assert_eq!(exact.count(now), bucketed.count(now), "{now:?}");
            assert_eq!(exact.exceeded_at(now), bucketed.exceeded_at(now), "{now:?}");
        }
        assert_eq!((exact.window(), bucketed.window()), (ns(64), ns(64)));
        assert_eq!((exact.threshold(), bucketed.threshold()), (2, 2));
    }
}
