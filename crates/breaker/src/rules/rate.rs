//! The failure-rate rule: over the last W, once at least `min_calls` calls have ended as a
//! success or a failure, the circuit opens when failures / calls >= ratio.
//!
//! # Why this shape
//!
//! Unlike the count rule, this one counts successes, so a success must write shared memory.
//! Written to one place, every success of every thread would bounce one cache line between
//! cores. So the counts are *striped*: [`STRIPES`] copies of the window, each on cache lines of
//! its own, and each thread writes the stripe it was given the first time it recorded anything
//! (round robin). Reading sums the stripes. Memory is fixed: [`STRIPES`] × [`BUCKETS`] × 2
//! words (2 KiB), whatever the request rate or W.
//!
//! # Granularity
//!
//! Each stripe is a ring of [`BUCKETS`] time buckets `W / 16` wide (rounded down to the
//! nanosecond), one [tagged](crate::tagged) word for the successes and one for the failures of
//! each. A call stamped in bucket `k` counts until bucket `k + 16` begins: it never counts once
//! W old, and stops counting at most one bucket width (plus 16 ns of rounding) before that.
//! Counts saturate at 2³² − 1 per bucket and stripe.
//!
//! # Cost
//!
//! A success: one clock read and one compare-and-swap on the thread's own stripe, then one load
//! of the latest failure's stamp. A success cannot raise the failure ratio, only bring the
//! calls up to `min_calls`; with no failure in the last W the ratio is zero, so the sum over the
//! stripes is skipped. A failure, or a success while failures are in the window: that sum,
//! `STRIPES × BUCKETS × 2` loads.

use std::cell::Cell;

use crate::nanos::Nanos;
use crate::sync::{AtomicU64, AtomicUsize, Ordering};
use crate::tagged;

/// The number of stripes: copies of the window that threads write apart.
pub(crate) const STRIPES: usize = 8;

/// The number of time buckets in each stripe.
pub(crate) const BUCKETS: usize = 16;

/// The rule and its counts.
#[derive(Debug)]
pub(crate) struct FailureRate {
    ratio: f64,
    min_calls: u64,
    /// W.
    window: Nanos,
    /// The width of a bucket, at least a nanosecond.
    width: Nanos,
    /// Buckets per stripe: [`BUCKETS`], or fewer for a window under 16 ns.
    len: u64,
    stripes: Box<[Stripe]>,
    /// The latest failure's stamp plus one; zero if none.
    last_failure: AtomicU64,
}

/// One copy of the window, on cache lines of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Stripe {
    successes: [AtomicU64; BUCKETS],
    failures: [AtomicU64; BUCKETS],
}

// The stripe assignment goes through `crate::sync` like every shared word, so that the loom
// models run it on loom's statics too; which stripe a thread writes changes contention, never a
// count.
crate::sync::thread_local! {
    /// The stripe this thread writes, given on its first write. (Not a `const` initialiser:
    /// loom's `thread_local!` takes none.)
    #[allow(clippy::missing_const_for_thread_local)]
    static STRIPE: Cell<usize> = Cell::new(usize::MAX);
}

// The next stripe to give a thread.
crate::sync::process_static!(NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0));

fn my_stripe() -> usize {
    STRIPE.with(|s| {
        let mine = s.get();
        if mine != usize::MAX {
            return mine;
        }
        let given = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % STRIPES;
        s.set(given);
        given
    })
}

impl FailureRate {
    /// The rule for `ratio` in (0, 1] and `min_calls` >= 1 (checked by the builder), over a
    /// window of `window` (more than zero).
    pub(crate) fn new(ratio: f64, min_calls: u32, window: Nanos) -> Self {
        // A window under BUCKETS nanoseconds gets one bucket a nanosecond.
        let len = (BUCKETS as u64).min(window.as_u64()).max(1);
        Self {
            ratio,
            min_calls: u64::from(min_calls),
            window,
            width: (window / len).max(Nanos::new(1)),
            len,
            stripes: (0..STRIPES).map(|_| Stripe::default()).collect(),
            last_failure: AtomicU64::new(0),
        }
    }

    /// The bytes of heap the stripes take.
    pub(crate) fn heap_bytes(&self) -> usize {
        std::mem::size_of_val(&*self.stripes)
    }

    /// The place of bucket `index` in a stripe: a mask in the usual case of [`BUCKETS`]
    /// buckets, a division only for a window under 16 ns.
    #[inline]
    fn place(&self, index: u64) -> usize {
        if self.len == BUCKETS as u64 {
            (index % BUCKETS as u64) as usize
        } else {
            (index % self.len) as usize
        }
    }

    /// Records a failure (or a success) at `now`: whether the rule fires.
    pub(crate) fn record(&self, failed: bool, now: Nanos) -> bool {
        let index = now / self.width;
        let stripe = &self.stripes[my_stripe()];
        let slot = self.place(index);
        let ring = self.len as u32;
        if failed {
            tagged::bump(&stripe.failures[slot], index, ring);
            self.last_failure
                .fetch_max(now.as_u64().saturating_add(1), Ordering::AcqRel);
        } else {
            tagged::bump(&stripe.successes[slot], index, ring);
            let last = self.last_failure.load(Ordering::Acquire).checked_sub(1);
            if last.is_none_or(|last| now.saturating_sub(Nanos::new(last)) >= self.window) {
                return false; // no failure in the last W: the ratio is zero
            }
        }
        self.fires(now)
    }

    /// Whether the calls in the window at `now` are enough, and failing enough.
    pub(crate) fn fires(&self, now: Nanos) -> bool {
        let (successes, failures) = self.totals(now);
        let calls = successes.saturating_add(failures);
        calls >= self.min_calls && failures as f64 / calls as f64 >= self.ratio
    }

    /// The successes and the failures in the window at `now`.
    pub(crate) fn totals(&self, now: Nanos) -> (u64, u64) {
        let current = now / self.width;
        let first = current.saturating_sub(self.len - 1);
        let (mut successes, mut failures) = (0u64, 0u64);
        for stripe in &self.stripes[..] {
            for k in first..=current {
                let slot = self.place(k);
                successes = successes.saturating_add(tagged::read(&stripe.successes[slot], k));
                failures = failures.saturating_add(tagged::read(&stripe.failures[slot], k));
            }
        }
        (successes, failures)
    }

    /// Forgets every call.
    pub(crate) fn clear(&self) {
        for stripe in &self.stripes[..] {
            for word in stripe.successes.iter().chain(&stripe.failures) {
                word.store(0, Ordering::Release);
            }
        }
        self.last_failure.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u64 = 16_000; // buckets of 1 000 ns

    fn ns(n: u64) -> Nanos {
        Nanos::new(n)
    }

    #[test]
    fn fires_at_the_ratio_once_there_are_enough_calls() {
        let r = FailureRate::new(0.5, 4, ns(W));
        assert!(!r.record(true, ns(0))); // 1 of 1, but fewer than 4 calls
        assert!(!r.record(false, ns(1)));
        assert!(!r.record(false, ns(2))); // 1 of 3
        assert!(r.record(true, ns(3))); // 2 of 4 = 0.5
    }

    #[test]
    fn a_success_can_bring_the_calls_up_to_the_minimum() {
        let r = FailureRate::new(0.5, 3, ns(W));
        assert!(!r.record(true, ns(0)));
        assert!(!r.record(true, ns(1)));
        assert!(r.record(false, ns(2))); // 2 of 3 >= 0.5, and 3 calls now
    }

    #[test]
    fn a_call_stops_counting_before_it_is_w_old_never_after() {
        let r = FailureRate::new(1.0, 1, ns(W));
        r.record(true, ns(1_500)); // bucket 1: counts until bucket 17 begins, at 17 000
        assert_eq!(r.totals(ns(1_500 + W - 1)), (0, 0)); // 17 499: stopped, less than W after
        assert_eq!(r.totals(ns(16_999)), (0, 1));
        assert_eq!(r.totals(ns(17_000)), (0, 0));
    }

    #[test]
    fn successes_with_no_failure_in_the_window_skip_the_sum() {
        let r = FailureRate::new(0.1, 1, ns(W));
        r.record(true, ns(0));
        // W later the failure is gone; the success is not evaluated, and would not fire anyway.
        assert!(!r.record(false, ns(W)));
        assert_eq!(r.totals(ns(W)), (1, 0));
    }

    #[test]
    fn clear_forgets_every_call() {
        let r = FailureRate::new(0.5, 1, ns(W));
        r.record(true, ns(0));
        r.clear();
        assert_eq!(r.totals(ns(0)), (0, 0));
        assert!(!r.record(false, ns(1)));
    }

    #[test]
    fn a_window_under_16_ns_still_never_counts_a_call_past_w() {
        let r = FailureRate::new(1.0, 1, ns(10)); // ten buckets of 1 ns
        r.record(true, ns(5));
        assert_eq!(r.totals(ns(14)), (0, 1));
        assert_eq!(r.totals(ns(15)), (0, 0));
    }

    #[test]
    fn memory_is_fixed() {
        let r = FailureRate::new(0.5, 1, ns(u64::MAX));
        assert_eq!(r.heap_bytes(), STRIPES * std::mem::size_of::<Stripe>());
        assert_eq!(std::mem::size_of::<Stripe>(), 2 * BUCKETS * 8);
    }
}
