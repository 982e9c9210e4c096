//! The failure window's exact mode: the T + 1 latest failure stamps, in an ordered ring.
//!
//! # Why a ring
//!
//! The window's answer depends on the (T + 1)-th latest failure alone (see the parent module),
//! so the ring keeps exactly the T + 1 latest stamps, in order from a cursor, and a new failure
//! replaces the oldest: the slot under the cursor. Finding the oldest is then O(1), not a pass
//! over the slots, whatever T; one shape serves every T, from four slots to 4 097.
//!
//! # The ring
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

use crate::nanos::Nanos;
use crate::sync::{AtomicU32, AtomicU64, Ordering};

/// The largest error threshold T the count rule keeps exactly.
///
/// Up to it, the breaker keeps the T + 1 latest failure stamps (8 bytes each, inside the
/// breaker's own state up to T = 3), and a failure counts until exactly W old. Above it,
/// failures are counted in [`WINDOW_BUCKETS`](crate::WINDOW_BUCKETS) time buckets of W / 64:
/// memory stays fixed whatever T, and a failure stops counting up to one bucket before it is W
/// old, never after.
pub const EXACT_MAX_THRESHOLD: u32 = 4096;

/// Thresholds up to this one keep their T + 1 stamps inside the breaker itself, with no
/// allocation of their own.
const INLINE_MAX_THRESHOLD: u32 = 3;

const INLINE_STAMPS: usize = INLINE_MAX_THRESHOLD as usize + 1;

/// The cursor's bits that hold the slot index (up to [`EXACT_MAX_THRESHOLD`] + 1 slots).
const CURSOR_INDEX: u32 = (1 << 13) - 1;

const _: () = assert!(EXACT_MAX_THRESHOLD < CURSOR_INDEX);

/// A slot that holds no stamp.
const EMPTY: u64 = 0;

/// A failure stamped `t`, as a slot holds it: plus one, so that no stamp is [`EMPTY`]. The
/// clock's last instant is held as the one before it.
fn stored(t: Nanos) -> u64 {
    t.as_u64().saturating_add(1)
}

/// The stamp a slot holds, if it holds one.
fn stamp(slot: u64) -> Option<Nanos> {
    slot.checked_sub(1).map(Nanos::new)
}

/// The T + 1 latest failure stamps of a window of W, in order round a ring from its cursor.
#[derive(Debug)]
pub(crate) struct ExactRing {
    /// W.
    window: Nanos,
    threshold: u32,
    /// The slot of the oldest of the T + 1 latest stamps in the low bits ([`CURSOR_INDEX`]),
    /// and above them a count of its turns round the slots.
    cursor: AtomicU32,
    slots: Slots,
}

/// Where the slots are kept, each a stamp plus one ([`EMPTY`] is none).
#[derive(Debug)]
enum Slots {
    /// For T <= [`INLINE_MAX_THRESHOLD`]: the first T + 1 are used.
    Inline([AtomicU64; INLINE_STAMPS]),
    /// T + 1 slots.
    Heap(Box<[AtomicU64]>),
}

/// The cursor one slot on, in a ring of `n` slots: back to slot 0 after the last, one more
/// turn counted (modulo 2¹⁹).
fn advance(cursor: u32, n: u32) -> u32 {
    if (cursor & CURSOR_INDEX) + 1 == n {
        (cursor & !CURSOR_INDEX).wrapping_add(CURSOR_INDEX + 1)
    } else {
        cursor + 1
    }
}

/// `t <= now < t + window`.
fn in_window(t: Nanos, now: Nanos, window: Nanos) -> bool {
    t <= now && now.saturating_sub(t) < window
}

/// The ring as one thread read it around the cursor, to decide where its failure goes.
struct Reading {
    /// The cursor as loaded.
    cursor: u32,
    /// The cursor's slot, and the slots before and after it round the ring.
    at: usize,
    prev: usize,
    next: usize,
    /// What the cursor's slot held.
    held: u64,
    /// What the slot before it held: the newest stamp, if the ring is in order.
    newest: u64,
}

impl Reading {
    /// A ring of one slot (T = 0): that slot is both the oldest and the newest.
    fn is_single_slot(&self) -> bool {
        self.prev == self.at
    }
}

impl ExactRing {
    /// A ring for error threshold `threshold` (at most [`EXACT_MAX_THRESHOLD`]) over a window of
    /// `window`.
    pub(crate) fn new(window: Nanos, threshold: u32) -> Self {
        debug_assert!(threshold <= EXACT_MAX_THRESHOLD);
        let slots = if threshold <= INLINE_MAX_THRESHOLD {
            Slots::Inline(Default::default())
        } else {
            Slots::Heap((0..=threshold).map(|_| AtomicU64::new(EMPTY)).collect())
        };
        Self {
            window,
            threshold,
            cursor: AtomicU32::new(0),
            slots,
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

    /// The T + 1 slots.
    fn slots(&self) -> &[AtomicU64] {
        match &self.slots {
            Slots::Inline(s) => &s[..=self.threshold as usize],
            Slots::Heap(s) => s,
        }
    }

    /// Records a failure stamped `now`. Returns the instant until which the failures in the
    /// window exceed T, if they exceed it at `now`.
    pub(crate) fn record(&self, now: Nanos) -> Option<Nanos> {
        let slots = self.slots();
        // At most EXACT_MAX_THRESHOLD + 1 slots: the index fits the cursor's low bits.
        let n = slots.len() as u32;
        let stored = stored(now);
        loop {
            let r = self.read(slots);
            if self.written_ahead(slots, &r) {
                // Another thread's failure, whose cursor move is still to come: make it, and
                // read again.
                self.move_on(r.cursor, n);
                continue;
            }
            // Never older than the newest stamp: the slots stay in order from the cursor.
            let write = stored.max(r.newest);
            if write != r.held
                && slots[r.at]
                    .compare_exchange(r.held, write, Ordering::AcqRel, Ordering::Acquire)
                    .is_err()
            {
                continue;
            }
            self.move_on(r.cursor, n);
            // The oldest of the T + 1 latest is the next slot: the one the cursor now points at.
            let oldest = slots[r.next].load(Ordering::Acquire);
            // A slot only grows (until cleared), so `oldest` is at least the oldest stamp as it
            // stood when this failure was written: if even it has expired, the window does
            // not exceed T.
            self.until(oldest, now)?;
            // Open: the exact end of the period, from every slot (rare: once per trip, or a
            // failure of a call admitted before it).
            return self.open_until(now);
        }
    }

    /// The cursor, its slot and the two around it, as they stand.
    fn read(&self, slots: &[AtomicU64]) -> Reading {
        let n = slots.len();
        let cursor = self.cursor.load(Ordering::Acquire);
        let at = (cursor & CURSOR_INDEX) as usize;
        let held = slots[at].load(Ordering::Acquire);
        let prev = if at == 0 { n - 1 } else { at - 1 };
        let next = if at + 1 == n { 0 } else { at + 1 };
        let newest = if prev == at {
            held
        } else {
            slots[prev].load(Ordering::Acquire)
        };
        Reading {
            cursor,
            at,
            prev,
            next,
            held,
            newest,
        }
    }

    /// Whether the cursor's slot holds a stamp that another thread wrote there and has yet to
    /// move the cursor past, so that it is not the oldest.
    ///
    /// The slots hold stamps in order from the cursor: the cursor's slot is the oldest, the one
    /// before it the newest. A cursor's slot newer than the newest was written by another
    /// thread. One as new as the newest was too, unless every slot holds that stamp and the
    /// cursor has not moved: see [`all_alike_at_cursor`](Self::all_alike_at_cursor).
    fn written_ahead(&self, slots: &[AtomicU64], r: &Reading) -> bool {
        if r.is_single_slot() || r.held == EMPTY {
            return false;
        }
        r.held > r.newest || (r.held == r.newest && !self.all_alike_at_cursor(slots, r))
    }

    /// With the cursor's slot as new as the newest: whether every slot holds that one stamp (the
    /// next slot does too, so the ring has no step down) and the cursor is still the one read.
    /// Then the cursor alone tells the oldest slot, and replacing its slot is right; a thread
    /// that read the cursor long ago would otherwise write out of order, once the stamps differ
    /// again.
    fn all_alike_at_cursor(&self, slots: &[AtomicU64], r: &Reading) -> bool {
        slots[r.next].load(Ordering::Acquire) == r.held
            && self.cursor.load(Ordering::Acquire) == r.cursor
    }

    /// Moves the cursor one slot on from `cursor`, unless another thread already has.
    fn move_on(&self, cursor: u32, n: u32) {
        let _ = self.cursor.compare_exchange(
            cursor,
            advance(cursor, n),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// With `oldest` the smallest slot, the end of the open period, if it is after `now`.
    fn until(&self, oldest: u64, now: Nanos) -> Option<Nanos> {
        // Empty: fewer than T + 1 failures ever recorded.
        let until = stamp(oldest)?.saturating_add(self.window);
        (until > now).then_some(until)
    }

    /// The instant until which the failures in the window exceed T, if they exceed it at `now`,
    /// without recording anything.
    pub(crate) fn open_until(&self, now: Nanos) -> Option<Nanos> {
        let oldest = self.slots().iter().map(|v| v.load(Ordering::Acquire)).min();
        self.until(oldest.unwrap_or(EMPTY), now)
    }

    /// The failures in the window at `now`: at most T + 1.
    pub(crate) fn count(&self, now: Nanos) -> u32 {
        let n = self
            .slots()
            .iter()
            .filter_map(|s| stamp(s.load(Ordering::Acquire)))
            .filter(|&t| in_window(t, now, self.window))
            .count();
        // At most T + 1 <= EXACT_MAX_THRESHOLD + 1 slots.
        n as u32
    }

    /// Forgets every failure.
    pub(crate) fn clear(&self) {
        for w in self.slots() {
            w.store(EMPTY, Ordering::Release);
        }
    }

    /// The bytes of heap this ring holds.
    pub(crate) fn heap_bytes(&self) -> usize {
        match &self.slots {
            Slots::Inline(_) => 0,
            Slots::Heap(s) => std::mem::size_of_val(&**s),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u64 = 1_000;

    /// The ring, with time as plain nanoseconds: the tests are tables of timelines.
    struct Ring(ExactRing);

    impl Ring {
        fn new(window: u64, threshold: u32) -> Self {
            Ring(ExactRing::new(Nanos::new(window), threshold))
        }
        fn record(&self, now: u64) -> Option<u64> {
            self.0.record(Nanos::new(now)).map(Nanos::as_u64)
        }
        fn open_until(&self, now: u64) -> Option<u64> {
            self.0.open_until(Nanos::new(now)).map(Nanos::as_u64)
        }
        fn count(&self, now: u64) -> u32 {
            self.0.count(Nanos::new(now))
        }
        fn clear(&self) {
            self.0.clear()
        }
    }

    #[test]
    fn a_failure_counts_until_exactly_w_old() {
        let w = Ring::new(W, 3);
        w.record(100);
        assert_eq!(w.count(100), 1);
        assert_eq!(w.count(100 + W - 1), 1);
        assert_eq!(w.count(100 + W), 0);
    }

    #[test]
    fn exceeding_t_opens_until_the_oldest_of_the_latest_t_plus_one_expires() {
        let w = Ring::new(W, 2);
        assert_eq!(w.record(10), None);
        assert_eq!(w.record(20), None);
        assert_eq!(w.record(30), Some(10 + W));
        // The next failure pushes the oldest out: the period is now measured from 20.
        assert_eq!(w.record(40), Some(20 + W));
    }

    #[test]
    fn threshold_zero_trips_on_the_first_failure() {
        let w = Ring::new(W, 0);
        assert_eq!(w.record(0), Some(W));
        assert_eq!(w.count(W - 1), 1);
        assert_eq!(w.count(W), 0);
    }

    #[test]
    fn spread_out_failures_never_exceed_t() {
        let w = Ring::new(W, 1);
        for i in 0..10 {
            assert_eq!(w.record(i * W), None, "failure {i}");
        }
    }

    #[test]
    fn a_late_stamp_is_recorded_no_earlier_than_the_newest() {
        // A thread that read the clock before another recorded a later failure has its failure
        // stamped as of the newest (a time within its own record), so the slots stay in order.
        let w = Ring::new(W, 4);
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
        let w = Ring::new(W, 1);
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
            let w = Ring::new(W, t);
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
                let counted = all.iter().filter(|&&s| s <= now && now - s < W).count();
                assert_eq!(w.count(now) as usize, counted.min(t as usize + 1));
            }
        }
    }

    #[test]
    fn failures_at_one_instant_fill_every_slot() {
        let w = Ring::new(W, 4);
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
        let w = Ring::new(W, 1);
        w.record(1);
        w.record(2);
        w.clear();
        assert_eq!(w.count(3), 0);
        assert_eq!(w.record(3), None);
    }

    #[test]
    fn inline_slots_beyond_t_plus_one_are_never_used() {
        let w = Ring::new(W, 1);
        assert_eq!(w.record(1), None);
        assert_eq!(w.record(2), Some(1 + W));
        assert_eq!(w.record(3), Some(2 + W)); // two slots only: the oldest was replaced
        assert_eq!(w.count(3), 2);
    }

    #[test]
    fn open_until_answers_without_recording() {
        let w = Ring::new(W, 1);
        assert_eq!(w.open_until(0), None);
        w.record(10);
        assert_eq!(w.open_until(10), None);
        w.record(20);
        assert_eq!(w.open_until(20), Some(10 + W));
        assert_eq!(w.open_until(10 + W), None);
        assert_eq!(w.count(20), 2);
    }

    #[test]
    fn up_to_the_inline_threshold_the_slots_take_no_heap() {
        let w = Nanos::new(W);
        assert_eq!(ExactRing::new(w, INLINE_MAX_THRESHOLD).heap_bytes(), 0);
        let heap = ExactRing::new(w, INLINE_MAX_THRESHOLD + 1);
        assert_eq!(heap.heap_bytes(), (INLINE_STAMPS + 1) * 8);
    }
}
