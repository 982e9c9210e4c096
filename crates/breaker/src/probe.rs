//! Half-open recovery: the bookkeeping of open periods, probes and backoff.
//!
//! # Why a lock here, and only here
//!
//! A half-open period ties several facts together: when it began, which probes are out and
//! since when, how many have succeeded, which backoff step comes next. Kept in separate atomic
//! words they can be seen half-updated (a caller holding a stale instant could reset a newer
//! period's counters, or be admitted as a probe while the circuit is open). So they live
//! together in one small mutex, taken only while the circuit is half-open, or to change
//! state. It is never held while user code runs (the observer is called after it is released),
//! and never taken on the paths that matter for cost:
//!
//! - closed: admission is one load of `open_until` (zero), a success writes nothing;
//! - open: a rejection is that load plus a clock read (`now < open_until`), no lock;
//! - a failure while closed takes it only if it makes the failures exceed T (the trip).
//!
//! `open_until` is written only with the lock held, so a reader without it sees either the
//! value before a change or after it, and every decision that depends on more than that one
//! word is taken again under the lock.

use std::time::Duration;

use crate::breaker::{Outcome, Probing, State};
use crate::clock::nanos;
use crate::error::{CircuitOpenError, ConfigError};
use crate::sync::{AtomicU64, Mutex, MutexGuard, Ordering};
use crate::window::FailureWindow;

/// `open_until` while the circuit is closed.
pub(crate) const CLOSED: u64 = 0;

/// The settings and the shared state of half-open recovery.
#[derive(Debug)]
pub(crate) struct ProbeState {
    probes: u32,
    open_time: u64,
    multiplier: f64,
    cap: u64,
    timeout: u64,
    cycle: Mutex<Cycle>,
}

/// Everything about the current open period and the half-open period after it.
#[derive(Debug)]
struct Cycle {
    /// Counts open periods; a probe of an earlier one no longer counts.
    epoch: u64,
    /// The backoff step of the current open period.
    level: u32,
    /// Whether the change to half-open has been reported for this period.
    entered: bool,
    successes: u32,
    /// The start of each probe in flight, one place per probe.
    starts: Box<[Option<u64>]>,
}

impl Cycle {
    fn in_flight(&self) -> u32 {
        self.starts.iter().flatten().count() as u32
    }

    /// The earliest deadline of a probe in flight.
    fn earliest_deadline(&self, timeout: u64) -> Option<u64> {
        self.starts
            .iter()
            .flatten()
            .map(|start| start.saturating_add(timeout))
            .min()
    }

    /// Starts a new open period: earlier probes no longer count.
    fn next_epoch(&mut self) {
        self.epoch = self.epoch.wrapping_add(1);
        self.entered = false;
        self.successes = 0;
        self.starts.iter_mut().for_each(|s| *s = None);
    }
}

/// What a probe permit remembers: the open period it belongs to (its epoch, modulo 2⁵⁰) and its
/// place, packed in one word below 2⁶².
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ticket(u64);

const SLOT_BITS: u32 = 12;
const EPOCH_MASK: u64 = (1 << 50) - 1;

impl Ticket {
    fn new(epoch: u64, slot: usize) -> Self {
        Self((epoch & EPOCH_MASK) << SLOT_BITS | slot as u64)
    }

    fn epoch(self) -> u64 {
        self.0 >> SLOT_BITS
    }

    fn slot(self) -> usize {
        (self.0 & ((1 << SLOT_BITS) - 1)) as usize
    }

    pub(crate) fn to_bits(self) -> u64 {
        self.0
    }

    pub(crate) fn from_bits(bits: u64) -> Self {
        Self(bits)
    }
}

/// What admission decided.
pub(crate) enum Admission {
    /// The circuit is closed: an ordinary call.
    Closed,
    /// A probe of the half-open period.
    Probe(Ticket),
}

/// The state changes made under the lock, to report once it is released. A call makes at most
/// three (open to half-open, a timed-out probe reopening it, half-open again).
#[derive(Debug, Default)]
pub(crate) struct Changes {
    list: [Option<(State, State, u64)>; 4],
}

impl Changes {
    fn push(&mut self, from: State, to: State, at: u64) {
        if let Some(free) = self.list.iter_mut().find(|c| c.is_none()) {
            *free = Some((from, to, at));
        }
    }

    /// The changes, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (State, State, u64)> + '_ {
        self.list.iter().flatten().copied()
    }
}

/// The phase of the cycle at a given instant.
enum Phase {
    Closed,
    Open(u64),
    HalfOpen,
}

impl ProbeState {
    pub(crate) fn new(p: Probing, window: Duration) -> Result<Self, ConfigError> {
        let (probes, open, multiplier, cap, probe_timeout) = p.parts();
        if probes == 0 {
            return Err(ConfigError::ZeroProbes);
        }
        if probes > Probing::MAX_PROBES {
            return Err(ConfigError::TooManyProbes {
                given: probes,
                max: Probing::MAX_PROBES,
            });
        }
        let open = open.unwrap_or(window);
        if open.is_zero() {
            return Err(ConfigError::ZeroOpenTime);
        }
        if !(multiplier.is_finite() && multiplier >= 1.0) {
            return Err(ConfigError::BadBackoffMultiplier(multiplier));
        }
        let cap = cap.unwrap_or(open);
        if cap < open {
            return Err(ConfigError::CapBelowOpenTime { cap, open });
        }
        if probe_timeout.is_zero() {
            return Err(ConfigError::ZeroProbeTimeout);
        }
        Ok(Self {
            probes,
            open_time: nanos(open),
            multiplier,
            cap: nanos(cap),
            timeout: nanos(probe_timeout),
            cycle: Mutex::new(Cycle {
                epoch: 0,
                level: 0,
                entered: false,
                successes: 0,
                starts: vec![None; probes as usize].into_boxed_slice(),
            }),
        })
    }

    /// The bytes of heap the probe places take.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.probes as usize * std::mem::size_of::<Option<u64>>()
    }

    fn lock(&self) -> MutexGuard<'_, Cycle> {
        // Nothing panics while the lock is held; should it ever, the data is still consistent
        // (every update is a single assignment), so a poisoned lock is used as it is.
        self.cycle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The length of backoff step `level`.
    pub(crate) fn step(&self, level: u32) -> u64 {
        let exponent = i32::try_from(level).unwrap_or(i32::MAX);
        let step = self.open_time as f64 * self.multiplier.powi(exponent);
        // `as` saturates; the cap bounds the rest (and an infinite product).
        (step as u64).clamp(self.open_time, self.cap)
    }

    /// Brings the cycle up to `now`: enters a half-open period whose time has come, and fails
    /// one whose probe has run past its timeout, at its deadline.
    fn resolve(
        &self,
        c: &mut Cycle,
        open_until: &AtomicU64,
        now: u64,
        changes: &mut Changes,
    ) -> Phase {
        loop {
            let until = open_until.load(Ordering::Acquire);
            if until == CLOSED {
                return Phase::Closed;
            }
            if now < until {
                return Phase::Open(until);
            }
            if !c.entered {
                c.entered = true;
                changes.push(State::Open, State::HalfOpen, until);
            }
            match c.earliest_deadline(self.timeout) {
                Some(deadline) if deadline <= now => {
                    self.reopen(c, open_until, deadline, changes);
                }
                _ => return Phase::HalfOpen,
            }
        }
    }

    /// Half-open to open, at `at`, for the next backoff step.
    fn reopen(&self, c: &mut Cycle, open_until: &AtomicU64, at: u64, changes: &mut Changes) {
        c.level = c.level.saturating_add(1);
        open_until.store(at.saturating_add(self.step(c.level)), Ordering::Release);
        c.next_epoch();
        changes.push(State::HalfOpen, State::Open, at);
    }

    /// The state at `now`.
    pub(crate) fn state(&self, open_until: &AtomicU64, now: u64) -> (State, Changes) {
        let mut changes = Changes::default();
        let mut c = self.lock();
        let state = match self.resolve(&mut c, open_until, now, &mut changes) {
            Phase::Closed => State::Closed,
            Phase::Open(_) => State::Open,
            Phase::HalfOpen => State::HalfOpen,
        };
        (state, changes)
    }

    /// Admits a call at `now` if the cycle allows it.
    pub(crate) fn admit(
        &self,
        open_until: &AtomicU64,
        now: u64,
    ) -> (Result<Admission, CircuitOpenError>, Changes) {
        let mut changes = Changes::default();
        let mut c = self.lock();
        let admission = match self.resolve(&mut c, open_until, now, &mut changes) {
            Phase::Closed => Ok(Admission::Closed),
            Phase::Open(until) => Err(rejection(until - now)),
            Phase::HalfOpen if c.in_flight() + c.successes >= self.probes => {
                // Every place is taken: the soonest one can free up is at a probe's deadline.
                let deadline = c.earliest_deadline(self.timeout).unwrap_or(now);
                Err(rejection(deadline.saturating_sub(now)))
            }
            Phase::HalfOpen => {
                // A place is free: in flight + successes < P, and there are P places.
                let slot = c.starts.iter().position(Option::is_none).unwrap_or(0);
                c.starts[slot] = Some(now);
                Ok(Admission::Probe(Ticket::new(c.epoch, slot)))
            }
        };
        (admission, changes)
    }

    /// Closed to open: a failure at `now` made the failures exceed T. Checked again under the
    /// lock, against a close that may have cleared the window meanwhile.
    pub(crate) fn trip(
        &self,
        open_until: &AtomicU64,
        failures: &FailureWindow,
        now: u64,
    ) -> Changes {
        let mut changes = Changes::default();
        let mut c = self.lock();
        if open_until.load(Ordering::Acquire) == CLOSED && failures.open_until(now).is_some() {
            c.level = 0;
            open_until.store(now.saturating_add(self.step(0)), Ordering::Release);
            c.next_epoch();
            changes.push(State::Closed, State::Open, now);
        }
        changes
    }

    /// A probe ended at `now` with `outcome` (`None`: cancelled).
    pub(crate) fn end(
        &self,
        open_until: &AtomicU64,
        failures: &FailureWindow,
        ticket: Ticket,
        outcome: Option<Outcome>,
        now: u64,
    ) -> Changes {
        let mut changes = Changes::default();
        let mut c = self.lock();
        // Timeouts first, this probe's included: one that ran past its deadline has failed
        // there, whatever it returned and even if it is cancelled now.
        let phase = self.resolve(&mut c, open_until, now, &mut changes);
        if c.epoch & EPOCH_MASK != ticket.epoch() || !matches!(phase, Phase::HalfOpen) {
            return changes; // a probe of a period that is over
        }
        c.starts[ticket.slot()] = None;
        match outcome {
            Some(Outcome::Success) => {
                c.successes += 1;
                if c.successes >= self.probes {
                    failures.clear();
                    c.level = 0;
                    open_until.store(CLOSED, Ordering::Release);
                    c.next_epoch();
                    changes.push(State::HalfOpen, State::Closed, now);
                }
            }
            Some(Outcome::Failure) => self.reopen(&mut c, open_until, now, &mut changes),
            Some(Outcome::Ignored) | None => {}
        }
        changes
    }
}

fn rejection(wait: u64) -> CircuitOpenError {
    CircuitOpenError::new(Duration::from_nanos(wait))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(p: Probing) -> ProbeState {
        ProbeState::new(p, Duration::from_secs(9)).unwrap()
    }

    #[test]
    fn backoff_steps_grow_to_the_cap() {
        let p = state(
            Probing::new(1)
                .open_time(Duration::from_secs(1))
                .backoff(2.0, Duration::from_secs(5)),
        );
        let secs: Vec<u64> = (0..5).map(|k| p.step(k) / 1_000_000_000).collect();
        assert_eq!(secs, [1, 2, 4, 5, 5]);
        assert_eq!(p.step(u32::MAX), 5_000_000_000);
    }

    #[test]
    fn open_time_defaults_to_the_window() {
        let p = state(Probing::new(1));
        assert_eq!(p.step(0), 9_000_000_000);
        assert_eq!(p.step(3), 9_000_000_000);
    }

    #[test]
    fn a_probe_of_an_earlier_period_changes_nothing() {
        let p = state(Probing::new(1).open_time(Duration::from_secs(1)));
        let window = FailureWindow::new(1_000, 0);
        let open_until = AtomicU64::new(1_000_000_000);
        let Ok(Admission::Probe(old)) = p.admit(&open_until, 1_000_000_000).0 else {
            panic!("expected a probe");
        };
        // The probe fails: open again until 2 s + 1 s... then half-open again at 3 s.
        p.end(
            &open_until,
            &window,
            old,
            Some(Outcome::Failure),
            2_000_000_000,
        );
        assert_eq!(open_until.load(Ordering::Acquire), 3_000_000_000);
        let Ok(Admission::Probe(_new)) = p.admit(&open_until, 3_000_000_000).0 else {
            panic!("expected a probe");
        };
        // A late report of the old probe neither closes the circuit nor frees the new place.
        p.end(
            &open_until,
            &window,
            old,
            Some(Outcome::Success),
            3_000_000_000,
        );
        assert_eq!(open_until.load(Ordering::Acquire), 3_000_000_000);
        assert!(p.admit(&open_until, 3_000_000_000).0.is_err());
    }

    #[test]
    fn at_most_three_changes_per_call_fit() {
        let mut changes = Changes::default();
        changes.push(State::Open, State::HalfOpen, 1);
        changes.push(State::HalfOpen, State::Open, 2);
        changes.push(State::Open, State::HalfOpen, 3);
        assert_eq!(changes.iter().count(), 3);
    }
}
