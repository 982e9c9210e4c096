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
//! # Exact mode: the T + 1 latest stamps, in a ring
//!
//! A fixed ring of T + 1 atomic slots, each holding a failure stamp (nanoseconds on the
//! breaker's clock, stored plus one so that zero means "empty"), and a cursor: the slot of the
//! oldest stamp.
//!
//! - **Invariant:** the slots hold the T + 1 latest failure stamps recorded (or fewer, with the
//!   rest empty), in order round the ring from the cursor: the cursor's slot holds the oldest,
//!   the slot before it the newest. Their minimum, the (T + 1)-th latest failure, is therefore
//!   always in the slot after the one a new failure replaces.
//! - **Record a failure:** replace the cursor's slot with the new stamp (one compare-and-swap),
//!   then move the cursor on (another): O(1), whatever T. The oldest of the T + 1 latest is then
//!   the next slot, read once; if it has expired (the common case: the circuit stays closed),
//!   that is the answer. Only a failure that opens the circuit (or lands while it is open) reads
//!   every slot, for the exact end of the period, `oldest + W`.
//! - **Order under concurrency:** a thread that finds the cursor's slot already rewritten (newer
//!   than the newest) moves the cursor on for the thread that wrote it, and tries the next, so
//!   no failure is lost and the cursor never waits on a stalled thread. A new stamp is never
//!   older than the newest already in the ring: a thread whose clock reading was overtaken by
//!   another thread's record is stamped as of that newer stamp, a time between its own reading
//!   and the moment its failure is written, so the ring stays in order. (On one thread, with
//!   time never going back, that never happens: every failure keeps its own reading.) When every
//!   slot holds the same stamp, the cursor alone tells which slot is the oldest, and a thread
//!   writes only if the cursor has not moved since it read it; otherwise the oldest slot is the
//!   one step down in the ring (a slot older than the one before it), wherever the cursor is,
//!   so a thread that read the cursor long ago still replaces the oldest stamp.
//! - **Count the failures in the window:** one pass, counting stamps `t` with `t <= now < t + W`.
//! - **Cost:** two loads, two compare-and-swaps and one more load per failure, no allocation, no
//!   lock; memory is `8 × (T + 1)` bytes and a 4-byte cursor, whatever the request rate or W. A
//!   success never touches the slots. Up to T = [`INLINE_MAX_THRESHOLD`] the slots sit inside
//!   the breaker's own state, with no allocation of their own.
//! - **The same ring at every T**, four slots or 10 001. Up to T = [`INLINE_MAX_THRESHOLD`] the
//!   slots were once kept in no order, a failure finding the oldest in one pass over the four:
//!   fewer instructions than the ring, but measured slower (18.7 ns a failure at T = 3 against
//!   12.5 ns for the ring at T = 100, in one run of the comparison), so the ring took its place.
//! - The cursor counts its turns round the ring modulo 2¹⁹, so that a thread stalled between
//!   writing its slot and moving the cursor on cannot move it on a second time, unless it stalls
//!   for 2¹⁹ whole turns of failures.
//! - **A failure racing a clear** (a `reset`, or probes closing the circuit, forget every
//!   failure) either lands before the clear reaches its slot, and is forgotten with the rest, or
//!   after, and is kept; it is never half-written. A kept one may sit out of order round the
//!   ring until the cursor has gone once past it: every slot still holds a real stamp and every
//!   answer is still computed from them exactly, but during that turn a new failure may replace
//!   a stamp other than the oldest, so the window may hold one failure of the last T + 1 fewer
//!   than it would have. Only such a race leaves the ring out of order; whether its failure came
//!   before or after the reset has no answer anyway.
//!
//! An earlier shape found the oldest slot by a pass over all T + 1 on every failure (and kept
//! them in no order): exact as well, but O(T), about 75 ns a failure at T = 100.
//!
//! Exact mode is used up to T = [`EXACT_MAX_THRESHOLD`] (32 KiB of stamps).
//!
//! # Bucketed mode, for a very large T
//!
//! Keeping every one of a very large T stamps would cost memory in proportion to T, so beyond
//! [`EXACT_MAX_THRESHOLD`] the window is a ring of [`BUCKETS`] time buckets, each one
//! `W / 64` wide (rounded down to the nanosecond), holding the number of failures stamped in it
//! and the index of the bucket it counts for, packed in one atomic word.
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

use crate::sync::{AtomicU32, AtomicU64, Ordering};
use crate::tagged;

/// The largest threshold kept exactly, one stamp per failure; above it the window is bucketed.
pub const EXACT_MAX_THRESHOLD: u32 = 4096;

/// The number of buckets in bucketed mode.
pub const BUCKETS: usize = 64;

/// Thresholds up to this one keep their T + 1 stamps inside the breaker itself, with no
/// allocation of their own.
pub const INLINE_MAX_THRESHOLD: u32 = 3;

const INLINE_STAMPS: usize = INLINE_MAX_THRESHOLD as usize + 1;

/// The failures of the last W, as either exact stamps or time buckets.
#[derive(Debug)]
pub(crate) struct FailureWindow {
    /// W, in nanoseconds.
    window: u64,
    threshold: u32,
    /// Exact mode's cursor: the slot of the oldest of the T + 1 latest stamps in the low bits
    /// ([`CURSOR_INDEX`]), and above them a count of its turns round the slots.
    next: AtomicU32,
    stamps: Stamps,
}

/// The cursor's bits that hold the slot index (up to [`EXACT_MAX_THRESHOLD`] + 1 slots).
const CURSOR_INDEX: u32 = (1 << 13) - 1;

const _: () = assert!(EXACT_MAX_THRESHOLD < CURSOR_INDEX);

/// The cursor one slot on, in a ring of `n` slots: back to slot 0 after the last, one more
/// turn counted (modulo 2¹⁹).
fn advance(cursor: u32, n: u32) -> u32 {
    if (cursor & CURSOR_INDEX) + 1 == n {
        (cursor & !CURSOR_INDEX).wrapping_add(CURSOR_INDEX + 1)
    } else {
        cursor + 1
    }
}

/// Where the failures are kept.
#[derive(Debug)]
enum Stamps {
    /// The T + 1 latest stamps, for T <= [`INLINE_MAX_THRESHOLD`] (the first T + 1 are used).
    Inline([AtomicU64; INLINE_STAMPS]),
    /// The T + 1 latest stamps.
    Heap(Box<[AtomicU64]>),
    /// Time buckets, above [`EXACT_MAX_THRESHOLD`].
    Bucketed(Box<Buckets>),
    /// No count rule: the breaker trips on its other rules alone.
    Off,
}

impl FailureWindow {
    /// A window of `window` nanoseconds (more than zero) for error threshold `threshold`.
    pub(crate) fn new(window: u64, threshold: u32) -> Self {
        let stamps = if threshold <= INLINE_MAX_THRESHOLD {
            Stamps::Inline(Default::default())
        } else if threshold <= EXACT_MAX_THRESHOLD {
            Stamps::Heap((0..=threshold).map(|_| AtomicU64::new(0)).collect())
        } else {
            Stamps::Bucketed(Box::new(Buckets::new(window, threshold)))
        };
        Self {
            window,
            threshold,
            next: AtomicU32::new(0),
            stamps,
        }
    }

    /// No count rule, for a breaker that trips on its other rules alone: it records nothing
    /// and never exceeds anything.
    pub(crate) fn off(window: u64) -> Self {
        Self {
            window,
            threshold: u32::MAX,
            next: AtomicU32::new(0),
            stamps: Stamps::Off,
        }
    }

    /// Whether the count rule is on.
    pub(crate) fn is_on(&self) -> bool {
        !matches!(self.stamps, Stamps::Off)
    }

    /// W, in nanoseconds.
    pub(crate) fn window(&self) -> u64 {
        self.window
    }

    /// T.
    pub(crate) fn threshold(&self) -> u32 {
        self.threshold
    }

    /// The exact mode's T + 1 slots, each a stamp plus one (zero is empty).
    fn slots(&self) -> Option<&[AtomicU64]> {
        match &self.stamps {
            Stamps::Inline(s) => Some(&s[..=self.threshold as usize]),
            Stamps::Heap(s) => Some(s),
            Stamps::Bucketed(_) | Stamps::Off => None,
        }
    }

    /// Records a failure stamped `now`. Returns the instant until which the failures in the
    /// window exceed T, if they exceed it at `now`.
    pub(crate) fn record(&self, now: u64) -> Option<u64> {
        match (&self.stamps, self.slots()) {
            (Stamps::Bucketed(b), _) => b.record(now),
            (_, Some(slots)) => self.record_exact(slots, now),
            (_, None) => None,
        }
    }

    /// Exact mode: the ordered ring.
    fn record_exact(&self, slots: &[AtomicU64], now: u64) -> Option<u64> {
        // At most EXACT_MAX_THRESHOLD + 1 slots: the index fits the cursor's low bits.
        let n = slots.len() as u32;
        let stored = now.saturating_add(1);
        loop {
            let cursor = self.next.load(Ordering::Acquire);
            let i = cursor & CURSOR_INDEX;
            let slot = &slots[i as usize];
            let held = slot.load(Ordering::Acquire);
            let prev = if i == 0 { n - 1 } else { i - 1 };
            let next = if i + 1 == n { 0 } else { i + 1 };
            let newest = if prev == i {
                held // one slot: it is also the newest
            } else {
                slots[prev as usize].load(Ordering::Acquire)
            };
            // The slots hold stamps in order from the cursor: the cursor's slot is the oldest,
            // the one before it the newest. A slot older than the one before it is the oldest,
            // wherever the cursor is (the ring has one such step down). A cursor's slot newer
            // than the newest was written by another thread, which has yet to move the cursor
            // on: help it, and try again. One as new as the newest was too, unless every slot
            // holds that stamp (the next one does too), when replacing the cursor's is right.
            let taken = prev != i
                && held != 0
                && (held > newest
                    || (held == newest
                        && (slots[next as usize].load(Ordering::Acquire) != held
                            // Every slot alike: only the cursor tells the oldest, so it must
                            // still be the one read (a thread that read it long ago would
                            // otherwise write out of order, once the stamps differ again).
                            || self.next.load(Ordering::Acquire) != cursor)));
            if taken {
                let _ = self.next.compare_exchange(
                    cursor,
                    advance(cursor, n),
                    Ordering::AcqRel,
                    Ordering::Acquire,
                );
                continue;
            }
            // Never older than the newest stamp: the slots stay in order from the cursor.
            let stamp = stored.max(newest);
            if stamp != held
                && slot
                    .compare_exchange(held, stamp, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
            {
                continue;
            }
            let _ = self.next.compare_exchange(
                cursor,
                advance(cursor, n),
                Ordering::AcqRel,
                Ordering::Acquire,
            );
            // The oldest of the T + 1 latest is the next slot: the one the cursor now points at.
            let oldest = slots[next as usize].load(Ordering::Acquire);
            // A slot only grows (until cleared), so `oldest` is at least the oldest stamp as it
            // stood when this failure was written: if even it has expired, the window does
            // not exceed T.
            self.until(oldest, now)?;
            // Open: the exact end of the period, from every slot (rare: once per trip, or a
            // failure of a call admitted before it).
            return self.open_until(now);
        }
    }

    /// With `oldest` the smallest stored value, the end of the open period, if it is after `now`.
    fn until(&self, oldest: u64, now: u64) -> Option<u64> {
        if oldest == 0 {
            return None; // fewer than T + 1 failures ever recorded
        }
        let until = (oldest - 1).saturating_add(self.window);
        (until > now).then_some(until)
    }

    /// The instant until which the failures in the window exceed T, if they exceed it at `now`,
    /// without recording anything.
    pub(crate) fn open_until(&self, now: u64) -> Option<u64> {
        match (&self.stamps, self.slots()) {
            (Stamps::Bucketed(b), _) => b.until(now),
            (_, Some(slots)) => {
                let oldest = slots.iter().map(|v| v.load(Ordering::Acquire)).min();
                self.until(oldest.unwrap_or(0), now)
            }
            (_, None) => None,
        }
    }

    /// The failures in the window at `now`, saturating at T + 1.
    pub(crate) fn count(&self, now: u64) -> u32 {
        match (&self.stamps, self.slots()) {
            (Stamps::Bucketed(b), _) => b.count(now),
            (_, Some(slots)) => {
                let n = slots
                    .iter()
                    .map(|s| s.load(Ordering::Acquire))
                    .filter(|&v| v != 0 && in_window(v - 1, now, self.window))
                    .count();
                // At most T + 1 <= EXACT_MAX_THRESHOLD + 1 slots.
                n as u32
            }
            (_, None) => 0,
        }
    }

    /// Forgets every failure.
    pub(crate) fn clear(&self) {
        match (&self.stamps, self.slots()) {
            (Stamps::Bucketed(b), _) => b.clear(),
            (_, Some(slots)) => {
                for w in slots {
                    w.store(0, Ordering::Release);
                }
            }
            (_, None) => {}
        }
    }

    /// The bytes of heap this window holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        let word = std::mem::size_of::<AtomicU64>();
        match &self.stamps {
            Stamps::Inline(_) | Stamps::Off => 0,
            Stamps::Heap(s) => s.len() * word,
            Stamps::Bucketed(b) => std::mem::size_of::<Buckets>() + b.buckets.len() * word,
        }
    }
}

impl crate::machine::CountWindow for FailureWindow {
    fn width(&self) -> u64 {
        self.window
    }

    fn open_until(&self, now: u64) -> Option<u64> {
        FailureWindow::open_until(self, now)
    }

    fn exceeded_at(&self, t: u64) -> bool {
        self.is_on() && self.count(t) > self.threshold
    }
}

/// `t <= now < t + window`.
fn in_window(t: u64, now: u64, window: u64) -> bool {
    t <= now && now - t < window
}

/// Bucketed mode: [`BUCKETS`] [tagged](crate::tagged) words, each `(bucket index mod 2^32) << 32 | failures`,
/// and the sum of their counts.
#[derive(Debug)]
pub(crate) struct Buckets {
    buckets: Box<[AtomicU64]>,
    /// The counts of every word, whatever bucket it holds, summed: each change to a word's count
    /// is added here by the thread that made it, right after it. A two's-complement `i64`:
    /// between a word's change and its addition here, it may be briefly low.
    total: AtomicU64,
    /// The width of one bucket in nanoseconds, at least 1.
    width: u64,
    threshold: u32,
}

impl Buckets {
    fn new(window: u64, threshold: u32) -> Self {
        // A window shorter than BUCKETS nanoseconds gets one bucket a nanosecond, so that no
        // failure ever counts for longer than W.
        let n = BUCKETS.min(usize::try_from(window).unwrap_or(BUCKETS));
        Self {
            buckets: (0..n).map(|_| AtomicU64::new(0)).collect(),
            total: AtomicU64::new(0),
            width: window / n as u64,
            threshold,
        }
    }

    fn len(&self) -> u64 {
        self.buckets.len() as u64
    }

    fn slot(&self, index: u64) -> &AtomicU64 {
        &self.buckets[(index % self.len()) as usize]
    }

    /// The buckets that count at `now`, oldest first: each index with its word.
    fn counting(&self, now: u64) -> impl Iterator<Item = (u64, &AtomicU64)> {
        let current = now / self.width;
        let first = current.saturating_sub(self.len() - 1);
        // One division for the first word; the rest follow round the ring.
        let start = (first % self.len()) as usize;
        let words = self.buckets[start..].iter().chain(&self.buckets[..start]);
        (first..=current).zip(words)
    }

    fn record(&self, now: u64) -> Option<u64> {
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
        self.until(now)
    }

    /// If more than T failures count at `now`, the start of the first bucket at which T or
    /// fewer will: drop the oldest buckets one by one until the rest are few enough.
    fn until(&self, now: u64) -> Option<u64> {
        let mut total: u64 = self.counting(now).map(|(k, w)| tagged::read(w, k)).sum();
        let threshold = u64::from(self.threshold);
        if total <= threshold {
            return None;
        }
        for (k, w) in self.counting(now) {
            total -= tagged::read(w, k).min(total);
            if total <= threshold {
                return Some(k.saturating_add(self.len()).saturating_mul(self.width));
            }
        }
        // Racing writers added failures to the current bucket while we read: it ends last.
        Some(
            (now / self.width)
                .saturating_add(self.len())
                .saturating_mul(self.width),
        )
    }

    fn count(&self, now: u64) -> u32 {
        let total: u64 = self.counting(now).map(|(k, w)| tagged::read(w, k)).sum();
        let cap = u64::from(self.threshold) + 1;
        u32::try_from(total.min(cap)).unwrap_or(u32::MAX)
    }

    /// Forgets every failure, taking each word's count off the total.
    fn clear(&self) {
        for w in self.buckets.iter() {
            let count = tagged::count(w.swap(0, Ordering::AcqRel));
            self.total.fetch_sub(count as u64, Ordering::AcqRel);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u64 = 1_000;

    #[test]
    fn a_failure_counts_until_exactly_w_old() {
        let w = FailureWindow::new(W, 3);
        w.record(100);
        assert_eq!(w.count(100), 1);
        assert_eq!(w.count(100 + W - 1), 1);
        assert_eq!(w.count(100 + W), 0);
    }

    #[test]
    fn exceeding_t_opens_until_the_oldest_of_the_latest_t_plus_one_expires() {
        let w = FailureWindow::new(W, 2);
        assert_eq!(w.record(10), None);
        assert_eq!(w.record(20), None);
        assert_eq!(w.record(30), Some(10 + W));
        // The next failure pushes the oldest out: the period is now measured from 20.
        assert_eq!(w.record(40), Some(20 + W));
    }

    #[test]
    fn threshold_zero_trips_on_the_first_failure() {
        let w = FailureWindow::new(W, 0);
        assert_eq!(w.record(0), Some(W));
        assert_eq!(w.count(W - 1), 1);
        assert_eq!(w.count(W), 0);
    }

    #[test]
    fn spread_out_failures_never_exceed_t() {
        let w = FailureWindow::new(W, 1);
        for i in 0..10 {
            assert_eq!(w.record(i * W), None, "failure {i}");
        }
    }

    #[test]
    fn a_late_stamp_is_recorded_no_earlier_than_the_newest() {
        // The ring: a thread that read the clock before another recorded a later failure has
        // its failure stamped as of the newest (a time within its own record), so the slots
        // stay in order.
        let w = FailureWindow::new(W, 4);
        for t in [100, 200, 300, 400] {
            assert_eq!(w.record(t), None);
        }
        assert_eq!(w.record(500), Some(100 + W));
        assert_eq!(w.record(50), Some(200 + W));
        assert_eq!(w.count(500), 5);
        assert_eq!(w.count(500 + W), 0);
    }

    #[test]
    fn a_late_stamp_in_a_ring_of_two_is_recorded_as_of_the_newest() {
        // The same ring at T = 1: a straggler older than every kept stamp is not dropped but
        // stamped as of the newest, and it replaces the oldest.
        let w = FailureWindow::new(W, 1);
        w.record(500);
        assert_eq!(w.record(600), Some(500 + W));
        assert_eq!(w.record(400), Some(600 + W));
        assert_eq!(w.count(600), 2);
        assert_eq!(w.count(600 + W), 0);
    }

    #[test]
    fn many_slots_keep_the_t_plus_one_latest_in_one_turn_after_another() {
        // Against a plain list of every stamp: the (T + 1)-th latest decides, turn after turn
        // of the ring, with failures close enough to trip and far enough apart not to.
        for t in [1u32, 2, 3, 4, 7, 100] {
            let w = FailureWindow::new(W, t);
            let mut all = Vec::new();
            let mut now = 0;
            for i in 0..(5 * (t as u64 + 1) + 3) {
                now += if i % 7 < 3 {
                    W / (u64::from(t) + 1)
                } else {
                    1 + i % 5
                };
                all.push(now);
                let latest = all.len().checked_sub(t as usize + 1).map(|k| all[k]);
                let expected = latest.map(|s| s + W).filter(|&u| u > now);
                assert_eq!(w.record(now), expected, "t {t}, failure {i}");
                assert_eq!(w.open_until(now), expected, "t {t}, failure {i}");
                let counted = all.iter().filter(|&&s| in_window(s, now, W)).count();
                assert_eq!(w.count(now) as usize, counted.min(t as usize + 1));
            }
        }
    }

    #[test]
    fn failures_at_one_instant_fill_every_slot() {
        let w = FailureWindow::new(W, 4);
        for _ in 0..4 {
            assert_eq!(w.record(7), None);
        }
        assert_eq!(w.record(7), Some(7 + W));
        assert_eq!(w.record(7), Some(7 + W));
        assert_eq!(w.count(7), 5);
        assert_eq!(w.record(8), Some(7 + W));
    }

    #[test]
    fn clear_forgets_everything() {
        let w = FailureWindow::new(W, 1);
        w.record(1);
        w.record(2);
        w.clear();
        assert_eq!(w.count(3), 0);
        assert_eq!(w.record(3), None);
    }

    #[test]
    fn memory_is_t_plus_one_stamps_or_64_buckets() {
        assert_eq!(FailureWindow::new(W, 3).heap_bytes(), 0); // inline
        assert_eq!(FailureWindow::new(W, 4).heap_bytes(), 5 * 8);
        let big = FailureWindow::new(64_000, EXACT_MAX_THRESHOLD + 1);
        assert!(matches!(big.stamps, Stamps::Bucketed(_)));
        assert!(big.heap_bytes() >= BUCKETS * 8);
    }

    #[test]
    fn inline_slots_beyond_t_plus_one_are_never_used() {
        let w = FailureWindow::new(W, 1);
        assert_eq!(w.record(1), None);
        assert_eq!(w.record(2), Some(1 + W));
        assert_eq!(w.record(3), Some(2 + W)); // two slots only: the oldest was replaced
        assert_eq!(w.count(3), 2);
    }

    #[test]
    fn buckets_trip_above_t_and_reopen_on_a_bucket_boundary() {
        // W = 64 000 ns: 64 buckets of 1 000 ns.
        let t = EXACT_MAX_THRESHOLD + 10;
        let w = FailureWindow::new(64_000, t);
        for _ in 0..t {
            assert_eq!(w.record(1_500), None);
        }
        assert_eq!(w.count(1_500), t);
        // The (T + 1)-th failure trips; bucket 1 (1 000..2 000) stops counting at 65 000.
        assert_eq!(w.record(2_500), Some(65_000));
        assert_eq!(w.count(64_999), t + 1);
        assert_eq!(w.count(65_000), 1);
    }

    #[test]
    fn buckets_keep_failures_apart_in_time() {
        let t = EXACT_MAX_THRESHOLD + 1;
        let w = FailureWindow::new(64_000, t);
        for _ in 0..t {
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
        let t = EXACT_MAX_THRESHOLD + 1;
        let w = FailureWindow::new(64_000, t);
        for _ in 0..t {
            assert_eq!(w.record(500), None);
        }
        w.clear();
        for _ in 0..t {
            assert_eq!(w.record(600), None);
        }
        assert_eq!(w.record(600), Some(64_000));
    }

    #[test]
    fn bucket_never_counts_past_w() {
        // W not a multiple of 64: buckets are 1 ns narrower, so failures expire early, not late.
        let window = 64_063;
        let w = FailureWindow::new(window, EXACT_MAX_THRESHOLD + 1);
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
        let t = EXACT_MAX_THRESHOLD + 1;
        let w = FailureWindow::new(64_000, t); // 1 000 ns buckets
        for k in 0..64 {
            w.record(k * 1_000);
        }
        let later = 3 * (1u64 << 30) * 1_000;
        for _ in 0..t {
            w.record(later);
        }
        assert_eq!(w.count(later), t);
        assert!(w.record(later).is_some());
    }

    #[test]
    fn open_until_answers_without_recording() {
        let w = FailureWindow::new(W, 1);
        assert_eq!(w.open_until(0), None);
        w.record(10);
        assert_eq!(w.open_until(10), None);
        w.record(20);
        assert_eq!(w.open_until(20), Some(10 + W));
        assert_eq!(w.open_until(10 + W), None);
        assert_eq!(w.count(20), 2);
    }

    #[test]
    fn tiny_window_with_huge_threshold_is_still_bounded_by_w() {
        let w = FailureWindow::new(10, EXACT_MAX_THRESHOLD + 1);
        w.record(5);
        assert_eq!(w.count(14), 1);
        assert_eq!(w.count(15), 0);
    }
}
