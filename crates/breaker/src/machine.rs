//! The state machine: every state a circuit can be in, with the data it carries, and the one
//! pure function that moves it.
//!
//! # Why a pure function
//!
//! [`transition`] takes a [`Phase`], the probes in flight, an [`Event`], the time and a
//! read-only view of the count rule's window, and returns the next phase, the changes to
//! report and the effects to carry out. It touches no shared memory, takes no lock and reads
//! no clock, so it is tested as a table of timelines without threads, and every caller
//! (admission, a recorded outcome, `state()`, `Debug`, forcing, resetting) goes through it: they
//! cannot disagree about the state.
//!
//! The breaker only *publishes* its result (`inner.rs`): without probing, the phase fits in
//! one atomic word and the function runs inside a compare-and-swap loop (a decision may be
//! computed twice, it is committed once); with probing, the phase and the probes sit behind a
//! small lock, and the word is published under it. Either way admission while closed is one
//! load of that word, and the changes are reported after the commit, outside any lock.
//!
//! # Time
//!
//! Nothing here has a timer. Every event first brings the phase up to `now`: an open period
//! whose end has passed ends at its exact instant (closed again, or half-open with probing), and
//! a probe that ran past its timeout fails at its deadline. The changes carry those instants,
//! whoever notices them.

use crate::nanos::Nanos;
use crate::state::{Outcome, Reason, State, StateChange};

/// The state, with what each state needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Calls flow; the rules watch the outcomes.
    Closed,
    /// Calls are rejected until `until`, the period of backoff step `level` (0 without
    /// probing), opened for `reason`.
    Open {
        until: Nanos,
        level: u32,
        reason: Reason,
    },
    /// With probing: half-open since `since`, after an open period of step `level`; `successes`
    /// probes have succeeded so far (the probes in flight are in [`Probes`]).
    HalfOpen {
        since: Nanos,
        level: u32,
        successes: u32,
    },
    /// Forced open: every call is rejected until a reset.
    ForcedOpen,
    /// Forced closed: every call is admitted, nothing trips until a reset.
    ForcedClosed,
}

impl Phase {
    /// The public name of the phase.
    pub(crate) fn state(self) -> State {
        match self {
            Phase::Closed => State::Closed,
            Phase::Open { .. } => State::Open,
            Phase::HalfOpen { .. } => State::HalfOpen,
            Phase::ForcedOpen => State::ForcedOpen,
            Phase::ForcedClosed => State::ForcedClosed,
        }
    }
}

/// How an open circuit recovers.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Recovery {
    /// The seed's rule: closed the instant the count rule's window falls back to T or fewer
    /// failures; a trip by another rule lasts the window W.
    Window,
    /// Half-open probing.
    Probing(ProbePolicy),
}

/// Half-open probing, validated.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ProbePolicy {
    /// P: probes at once, and successes to close.
    pub(crate) probes: u32,
    /// Step 0 of the backoff.
    pub(crate) open_time: Nanos,
    pub(crate) multiplier: f64,
    pub(crate) cap: Nanos,
    /// How long a probe may run.
    pub(crate) timeout: Nanos,
}

impl ProbePolicy {
    /// The length of backoff step `level`: `min(open_time × multiplier^level, cap)`.
    pub(crate) fn step(&self, level: u32) -> Nanos {
        let exponent = i32::try_from(level).unwrap_or(i32::MAX);
        let step = self
            .open_time
            .saturating_mul_f64(self.multiplier.powi(exponent));
        // The product saturates; the cap bounds the rest (and an infinite product).
        step.clamp(self.open_time, self.cap)
    }
}

/// What the transition needs to know besides the phase: fixed when the breaker is built.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Policy {
    pub(crate) recovery: Recovery,
    /// The slow-call threshold: a probe that succeeds later than this after it started is a
    /// failure.
    pub(crate) slow: Option<Nanos>,
}

impl Policy {
    /// The default: window recovery, no slow-call rule.
    pub(crate) const DEFAULT: Policy = Policy {
        recovery: Recovery::Window,
        slow: None,
    };
}

/// The count rule's window, read-only, as the transition asks it.
pub(crate) trait CountWindow {
    /// W.
    fn width(&self) -> Nanos;
    /// The instant until which the failures in the window exceed T, if they do at `now`.
    fn open_until(&self, now: Nanos) -> Option<Nanos>;
    /// Whether the failures stamped at or before `t` and in the window at `t` exceed T.
    fn exceeded_at(&self, t: Nanos) -> bool;
}

/// The probes in flight with probing: the start of each one, one place per probe, and the
/// count of half-open periods, so that a probe of an earlier one no longer counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probes {
    epoch: u64,
    starts: Vec<Option<Nanos>>,
}

impl Probes {
    /// No places: what the transition is given without probing.
    pub(crate) const NONE: Probes = Probes {
        epoch: 0,
        starts: Vec::new(),
    };

    /// `places` empty places.
    pub(crate) fn new(places: u32) -> Self {
        Self {
            epoch: 0,
            starts: vec![None; places as usize],
        }
    }

    /// The bytes of heap the places take.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.starts.capacity() * std::mem::size_of::<Option<Nanos>>()
    }

    /// Carries out the step's effect on the probes.
    pub(crate) fn apply(&mut self, op: ProbeOp) {
        if op.clear {
            self.epoch = self.epoch.wrapping_add(1);
            self.starts.iter_mut().for_each(|s| *s = None);
        }
        match op.slot {
            Some(SlotOp::Take(slot, start)) => self.starts[slot] = Some(start),
            Some(SlotOp::Free(slot)) => self.starts[slot] = None,
            None => {}
        }
    }
}

/// The probes as the transition sees them, with a clear decided in this same step applied.
#[derive(Clone, Copy)]
struct ProbesView<'a> {
    probes: &'a Probes,
    cleared: bool,
}

impl ProbesView<'_> {
    fn starts(&self) -> impl Iterator<Item = Nanos> + '_ {
        let live = if self.cleared {
            &[][..]
        } else {
            &self.probes.starts[..]
        };
        live.iter().flatten().copied()
    }

    fn in_flight(&self) -> u32 {
        u32::try_from(self.starts().count()).unwrap_or(u32::MAX)
    }

    fn earliest_deadline(&self, timeout: Nanos) -> Option<Nanos> {
        self.starts().map(|s| s.saturating_add(timeout)).min()
    }

    fn epoch(&self) -> u64 {
        self.probes.epoch.wrapping_add(u64::from(self.cleared))
    }

    fn free_slot(&self) -> usize {
        if self.cleared {
            0
        } else {
            self.probes
                .starts
                .iter()
                .position(Option::is_none)
                .unwrap_or(0)
        }
    }

    fn start(&self, slot: usize) -> Option<Nanos> {
        if self.cleared {
            None
        } else {
            self.probes.starts.get(slot).copied().flatten()
        }
    }
}

/// What a probe permit remembers: the half-open period it belongs to (its epoch, modulo 2⁵⁰)
/// and its place, packed in one word below 2⁶².
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ticket(u64);

const SLOT_BITS: u32 = 12;
const EPOCH_MASK: u64 = (1 << 50) - 1;

impl Ticket {
    /// The bits of the largest ticket: the last epoch's last place, below 2⁶².
    pub(crate) const MAX_BITS: u64 = EPOCH_MASK << SLOT_BITS | ((1 << SLOT_BITS) - 1);

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

/// What happened, that may move the state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Event {
    /// Someone looks at the state (`state()`, `Debug`): time alone may have moved it.
    Look,
    /// A call asks to be admitted.
    Admit,
    /// A rule fired on an outcome recorded now. `until`: with the count rule, the instant its
    /// window falls back to T.
    Trip {
        reason: Reason,
        until: Option<Nanos>,
    },
    /// A probe ended (`None`: its permit was dropped untold).
    ProbeEnd {
        ticket: Ticket,
        outcome: Option<Outcome>,
    },
    /// Open until at least `until`, for `reason` (a `Retry-After`, or a trip elsewhere in a
    /// fleet).
    HoldOpen { until: Nanos, reason: Reason },
    /// `force_open()`.
    ForceOpen,
    /// `force_closed()`.
    ForceClosed,
    /// `reset()`.
    Reset,
}

/// The answer to [`Event::Admit`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// No admission was asked for.
    NotAsked,
    /// An ordinary call.
    Call,
    /// A probe of the half-open period.
    Probe(Ticket),
    /// Rejected: the circuit admits a call again after `wait`.
    Reject { wait: Nanos },
    /// Rejected while forced open.
    RejectForced,
}

/// What to do to a probe place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SlotOp {
    Take(usize, Nanos),
    Free(usize),
}

/// The step's effect on the probes: forget them all first (a new period), then one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct ProbeOp {
    pub(crate) clear: bool,
    pub(crate) slot: Option<SlotOp>,
}

/// The step's effect on the rules' data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Forget {
    /// Forget every failure and every call counted (the count window, the rate buckets).
    pub(crate) outcomes: bool,
    /// End the consecutive-failures streak.
    pub(crate) streak: bool,
}

/// The changes of one step, in order. A step makes at most four: bringing the phase up to now
/// makes up to three (open to half-open, a probe timing out, half-open again), the event one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    list: [Option<StateChange>; 4],
}

impl Changes {
    fn push(&mut self, from: State, to: State, at: Nanos, reason: Reason) {
        if let Some(free) = self.list.iter_mut().find(|c| c.is_none()) {
            *free = Some(StateChange {
                from,
                to,
                at: at.to_duration(),
                reason,
            });
        }
    }

    /// The changes, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = StateChange> + '_ {
        self.list.iter().flatten().copied()
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.list[0].is_none()
    }
}

/// The result of [`transition`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Step {
    pub(crate) phase: Phase,
    pub(crate) changes: Changes,
    pub(crate) admission: Admission,
    pub(crate) probes: ProbeOp,
    pub(crate) forget: Forget,
    /// For [`Event::ProbeEnd`]: the outcome as recorded, a slow success being a failure.
    pub(crate) recorded: Option<Outcome>,
}

impl Step {
    fn change(&mut self, to: Phase, at: Nanos, reason: Reason) {
        self.changes
            .push(self.phase.state(), to.state(), at, reason);
        self.phase = to;
    }
}

/// The one transition: `phase` at `now`, with `probes` in flight and `window` as the count
/// rule's window, after `event`.
pub(crate) fn transition(
    policy: &Policy,
    phase: Phase,
    probes: &Probes,
    event: Event,
    now: Nanos,
    window: &dyn CountWindow,
) -> Step {
    let mut step = Step {
        phase,
        changes: Changes::default(),
        admission: Admission::NotAsked,
        probes: ProbeOp::default(),
        forget: Forget::default(),
        recorded: None,
    };
    // A failure that trips the count rule is in the window already: the period it finds ended
    // did end, at its instant, before this failure (every earlier failure that kept the
    // window over T has lengthened it), and the failure opens a new one.
    let counted = matches!(event, Event::Trip { until: Some(_), .. });
    catch_up(policy, &mut step, probes, now, window, counted);
    let view = ProbesView {
        probes,
        cleared: step.probes.clear,
    };
    match event {
        Event::Look => {}
        Event::Admit => step.admission = admit(policy, &mut step, view, now),
        Event::Trip { reason, until } => trip(policy, &mut step, reason, until, now, window),
        Event::ProbeEnd { ticket, outcome } => {
            probe_end(policy, &mut step, view, ticket, outcome, now);
        }
        Event::HoldOpen { until, reason } => hold_open(&mut step, until, reason, now),
        Event::ForceOpen => force(&mut step, Phase::ForcedOpen, now),
        Event::ForceClosed => force(&mut step, Phase::ForcedClosed, now),
        Event::Reset => {
            if step.phase != Phase::Closed {
                step.change(Phase::Closed, now, Reason::Reset);
            }
            step.probes.clear = true;
            step.forget = Forget {
                outcomes: true,
                streak: true,
            };
        }
    }
    step
}

/// Brings the phase up to `now`: ends an open period whose time has come, and fails a probe
/// that has run past its timeout, each at its own instant.
fn catch_up(
    policy: &Policy,
    step: &mut Step,
    probes: &Probes,
    now: Nanos,
    window: &dyn CountWindow,
    counted: bool,
) {
    loop {
        let view = ProbesView {
            probes,
            cleared: step.probes.clear,
        };
        match (step.phase, &policy.recovery) {
            (Phase::Open { until, .. }, Recovery::Window) if until <= now => {
                let later = if counted {
                    None
                } else {
                    window.open_until(now)
                };
                if let Some(later) = later {
                    // Failures recorded meanwhile keep it open: the same period, longer.
                    step.phase = Phase::Open {
                        until: later,
                        level: 0,
                        reason: Reason::FailureCount,
                    };
                } else {
                    let why = if window.exceeded_at(until.saturating_sub(Nanos::new(1))) {
                        Reason::WindowEmptied
                    } else {
                        Reason::OpenTimeElapsed
                    };
                    step.change(Phase::Closed, until, why);
                    step.forget.streak = true;
                }
                return;
            }
            (Phase::Open { until, level, .. }, Recovery::Probing(_)) if until <= now => {
                let half = Phase::HalfOpen {
                    since: until,
                    level,
                    successes: 0,
                };
                step.change(half, until, Reason::OpenTimeElapsed);
            }
            (Phase::HalfOpen { level, .. }, Recovery::Probing(p)) => {
                match view.earliest_deadline(p.timeout) {
                    Some(deadline) if deadline <= now => {
                        reopen(p, step, level, deadline, Reason::ProbeTimedOut);
                    }
                    _ => return,
                }
            }
            _ => return,
        }
    }
}

/// Half-open (or closed) to open at `at`, for backoff step `level + 1`.
fn reopen(p: &ProbePolicy, step: &mut Step, level: u32, at: Nanos, reason: Reason) {
    let level = level.saturating_add(1);
    let open = Phase::Open {
        until: at.saturating_add(p.step(level)),
        level,
        reason,
    };
    step.change(open, at, reason);
    step.probes.clear = true;
}

fn admit(policy: &Policy, step: &mut Step, view: ProbesView<'_>, now: Nanos) -> Admission {
    match step.phase {
        Phase::Closed | Phase::ForcedClosed => Admission::Call,
        // An open period still open at `now` (else it has ended): it ends after `now`.
        Phase::Open { until, .. } => Admission::Reject {
            wait: until.saturating_sub(now),
        },
        // A caller whose clock reading is older than the half-open period: at its `now` the
        // circuit was still open, until the period began.
        Phase::HalfOpen { since, .. } if now < since => Admission::Reject {
            wait: since.saturating_sub(now),
        },
        Phase::ForcedOpen => Admission::RejectForced,
        Phase::HalfOpen { successes, .. } => {
            let Recovery::Probing(p) = &policy.recovery else {
                return Admission::Call; // unreachable: no half-open without probing
            };
            if view.in_flight().saturating_add(successes) >= p.probes {
                // Every place is taken: the soonest one can free up is at a probe's deadline.
                let deadline = view.earliest_deadline(p.timeout).unwrap_or(now);
                Admission::Reject {
                    wait: deadline.saturating_sub(now),
                }
            } else {
                let slot = view.free_slot();
                step.probes.slot = Some(SlotOp::Take(slot, now));
                Admission::Probe(Ticket::new(view.epoch(), slot))
            }
        }
    }
}

fn trip(
    policy: &Policy,
    step: &mut Step,
    reason: Reason,
    until: Option<Nanos>,
    now: Nanos,
    window: &dyn CountWindow,
) {
    // The count rule is asked again: a close that cleared the window may have come between
    // the failure and this step, and then the failure is forgotten with the rest.
    let until = match until {
        Some(_) => match window.open_until(now) {
            Some(until) => Some(until),
            None if step.phase == Phase::Closed => return,
            None => None,
        },
        None => None,
    };
    match (step.phase, &policy.recovery) {
        (Phase::Closed, Recovery::Window) => {
            let until = until.unwrap_or_else(|| now.saturating_add(window.width()));
            let open = Phase::Open {
                until,
                level: 0,
                reason,
            };
            step.change(open, now, reason);
            step.forget.streak = true;
        }
        (Phase::Closed, Recovery::Probing(p)) => {
            let open = Phase::Open {
                until: now.saturating_add(p.step(0)),
                level: 0,
                reason,
            };
            step.change(open, now, reason);
            step.probes.clear = true;
            step.forget.streak = true;
        }
        // A late failure while open lengthens a period the window decides.
        (Phase::Open { until: current, .. }, Recovery::Window) => {
            if let Some(later) = until.filter(|&u| u > current) {
                step.phase = Phase::Open {
                    until: later,
                    level: 0,
                    reason: Reason::FailureCount,
                };
            }
        }
        // Otherwise a late failure changes nothing but the rules' data.
        _ => {}
    }
}

fn probe_end(
    policy: &Policy,
    step: &mut Step,
    view: ProbesView<'_>,
    ticket: Ticket,
    outcome: Option<Outcome>,
    now: Nanos,
) {
    step.recorded = outcome;
    let (
        Phase::HalfOpen {
            level,
            successes,
            since,
        },
        Recovery::Probing(p),
    ) = (step.phase, &policy.recovery)
    else {
        return; // a probe of a period that is over
    };
    if view.epoch() & EPOCH_MASK != ticket.epoch() {
        return;
    }
    let slot = ticket.slot();
    let slow = |start: Nanos| policy.slow.is_some_and(|s| now.saturating_sub(start) > s);
    let outcome = match (outcome, view.start(slot)) {
        (Some(Outcome::Success), Some(start)) if slow(start) => Some(Outcome::Failure),
        (outcome, _) => outcome,
    };
    step.recorded = outcome;
    step.probes.slot = Some(SlotOp::Free(slot));
    match outcome {
        Some(Outcome::Success) => {
            let successes = successes.saturating_add(1);
            if successes >= p.probes {
                step.change(Phase::Closed, now, Reason::ProbesSucceeded);
                step.probes.clear = true;
                step.forget = Forget {
                    outcomes: true,
                    streak: true,
                };
            } else {
                step.phase = Phase::HalfOpen {
                    since,
                    level,
                    successes,
                };
            }
        }
        Some(Outcome::Failure) => reopen(p, step, level, now, Reason::ProbeFailed),
        Some(Outcome::Ignored) | None => {}
    }
}

fn hold_open(step: &mut Step, until: Nanos, reason: Reason, now: Nanos) {
    if until <= now {
        return;
    }
    match step.phase {
        Phase::Closed => {
            let open = Phase::Open {
                until,
                level: 0,
                reason,
            };
            step.change(open, now, reason);
        }
        Phase::Open {
            until: current,
            level,
            ..
        } if until > current => {
            step.phase = Phase::Open {
                until,
                level,
                reason,
            };
        }
        Phase::HalfOpen { level, .. } => {
            let open = Phase::Open {
                until,
                level,
                reason,
            };
            step.change(open, now, reason);
            step.probes.clear = true;
        }
        _ => {}
    }
}

fn force(step: &mut Step, to: Phase, now: Nanos) {
    if step.phase != to {
        step.change(to, now, Reason::Forced);
        step.probes.clear = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    /// `n` nanoseconds: the tables below write time as plain numbers.
    fn ns(n: u64) -> Nanos {
        Nanos::new(n)
    }

    /// A count window that answers from a fixed list of "over T until" periods.
    struct Window {
        width: u64,
        /// (from, until): over T from `from` until `until`.
        over: Vec<(u64, u64)>,
    }

    impl CountWindow for Window {
        fn width(&self) -> Nanos {
            ns(self.width)
        }
        fn open_until(&self, now: Nanos) -> Option<Nanos> {
            let now = now.as_u64();
            self.over
                .iter()
                .find(|&&(from, until)| from <= now && now < until)
                .map(|&(_, until)| ns(until))
        }
        fn exceeded_at(&self, t: Nanos) -> bool {
            self.open_until(t).is_some()
        }
    }

    fn quiet() -> Window {
        over(&[])
    }

    /// A window over T in each of `periods`.
    fn over(periods: &[(u64, u64)]) -> Window {
        Window {
            width: 5 * SEC,
            over: periods.to_vec(),
        }
    }

    fn probing(probes: u32) -> Policy {
        Policy {
            recovery: Recovery::Probing(ProbePolicy {
                probes,
                open_time: ns(SEC),
                multiplier: 2.0,
                cap: ns(8 * SEC),
                timeout: ns(3 * SEC),
            }),
            slow: None,
        }
    }

    fn open(until: u64, level: u32, reason: Reason) -> Phase {
        Phase::Open {
            until: ns(until),
            level,
            reason,
        }
    }

    fn changes(step: &Step) -> Vec<(State, State, u64, Reason)> {
        step.changes
            .iter()
            .map(|c| (c.from, c.to, c.at.as_nanos() as u64, c.reason))
            .collect()
    }

    fn run(policy: &Policy, phase: Phase, event: Event, now: u64, w: &Window) -> Step {
        transition(policy, phase, &Probes::new(0), event, ns(now), w)
    }

    #[test]
    fn closed_admits_and_a_count_trip_opens_until_the_window_says() {
        let p = Policy::DEFAULT;
        let s = run(&p, Phase::Closed, Event::Admit, 0, &quiet());
        assert_eq!((s.phase, s.admission), (Phase::Closed, Admission::Call));
        let trip = Event::Trip {
            reason: Reason::FailureCount,
            until: Some(ns(7 * SEC)),
        };
        let s = run(
            &p,
            Phase::Closed,
            trip,
            2 * SEC,
            &over(&[(2 * SEC, 7 * SEC)]),
        );
        assert_eq!(s.phase, open(7 * SEC, 0, Reason::FailureCount));
        assert_eq!(
            changes(&s),
            [(State::Closed, State::Open, 2 * SEC, Reason::FailureCount)]
        );
        assert!(s.forget.streak);
    }

    #[test]
    fn a_count_trip_after_the_window_was_cleared_is_forgotten() {
        let trip = Event::Trip {
            reason: Reason::FailureCount,
            until: Some(ns(7 * SEC)),
        };
        let s = run(&probing(1), Phase::Closed, trip, 2 * SEC, &quiet());
        assert_eq!(s.phase, Phase::Closed);
    }

    #[test]
    fn a_caller_with_a_reading_older_than_the_half_open_period_is_told_to_wait_for_it() {
        let half = Phase::HalfOpen {
            since: ns(2 * SEC),
            level: 0,
            successes: 0,
        };
        let s = transition(
            &probing(1),
            half,
            &Probes::new(1),
            Event::Admit,
            ns(SEC),
            &quiet(),
        );
        assert_eq!(s.admission, Admission::Reject { wait: ns(SEC) });
    }

    #[test]
    fn another_rule_opens_for_w_without_probing_and_for_the_open_time_with() {
        let trip = Event::Trip {
            reason: Reason::FailureRate,
            until: None,
        };
        let s = run(&Policy::DEFAULT, Phase::Closed, trip, SEC, &quiet());
        assert_eq!(s.phase, open(6 * SEC, 0, Reason::FailureRate));
        let s = run(&probing(1), Phase::Closed, trip, SEC, &quiet());
        assert_eq!(s.phase, open(2 * SEC, 0, Reason::FailureRate));
        assert!(s.probes.clear);
    }

    #[test]
    fn open_rejects_with_the_exact_wait_on_both_sides_of_its_end() {
        let p = Policy::DEFAULT;
        let phase = open(5 * SEC, 0, Reason::FailureCount);
        let s = run(&p, phase, Event::Admit, 5 * SEC - 1, &quiet());
        assert_eq!(s.admission, Admission::Reject { wait: ns(1) });
        assert!(s.changes.is_empty());
        // At the instant itself: closed, reported at that instant.
        let w = Window {
            width: 5 * SEC,
            over: vec![(0, 5 * SEC)],
        };
        let s = run(&p, phase, Event::Admit, 5 * SEC, &w);
        assert_eq!((s.phase, s.admission), (Phase::Closed, Admission::Call));
        assert_eq!(
            changes(&s),
            [(State::Open, State::Closed, 5 * SEC, Reason::WindowEmptied)]
        );
    }

    #[test]
    fn window_recovery_stays_open_while_the_window_is_still_over_t() {
        let w = Window {
            width: 5 * SEC,
            over: vec![(0, 9 * SEC)],
        };
        let s = run(
            &Policy::DEFAULT,
            open(5 * SEC, 0, Reason::FailureRate),
            Event::Look,
            6 * SEC,
            &w,
        );
        assert_eq!(s.phase, open(9 * SEC, 0, Reason::FailureCount));
        assert!(s.changes.is_empty());
    }

    #[test]
    fn another_rules_period_ends_when_its_time_runs_out() {
        let s = run(
            &Policy::DEFAULT,
            open(5 * SEC, 0, Reason::ConsecutiveFailures),
            Event::Look,
            8 * SEC,
            &quiet(),
        );
        assert_eq!(s.phase, Phase::Closed);
        assert_eq!(
            changes(&s),
            [(State::Open, State::Closed, 5 * SEC, Reason::OpenTimeElapsed)]
        );
    }

    #[test]
    fn a_late_failure_lengthens_a_window_period_but_never_shortens_it() {
        let p = Policy::DEFAULT;
        let phase = open(5 * SEC, 0, Reason::FailureCount);
        let later = Event::Trip {
            reason: Reason::FailureCount,
            until: Some(ns(6 * SEC)),
        };
        assert_eq!(
            run(&p, phase, later, SEC, &over(&[(SEC, 6 * SEC)])).phase,
            open(6 * SEC, 0, Reason::FailureCount)
        );
        let earlier = Event::Trip {
            reason: Reason::FailureCount,
            until: Some(ns(4 * SEC)),
        };
        let s = run(&p, phase, earlier, SEC, &over(&[(SEC, 4 * SEC)]));
        assert_eq!(s.phase, phase);
        assert!(s.changes.is_empty());
    }

    #[test]
    fn a_trip_after_an_unnoticed_end_reports_the_end_first() {
        let trip = Event::Trip {
            reason: Reason::FailureCount,
            until: Some(ns(9 * SEC)),
        };
        let s = run(
            &Policy::DEFAULT,
            open(5 * SEC, 0, Reason::FailureCount),
            trip,
            6 * SEC,
            &over(&[(6 * SEC, 9 * SEC)]),
        );
        assert_eq!(
            changes(&s),
            [
                (State::Open, State::Closed, 5 * SEC, Reason::OpenTimeElapsed),
                (State::Closed, State::Open, 6 * SEC, Reason::FailureCount),
            ]
        );
    }

    #[test]
    fn probing_turns_half_open_at_the_end_of_the_open_time_and_admits_p() {
        let p = probing(2);
        let mut probes = Probes::new(2);
        let phase = open(SEC, 0, Reason::FailureCount);
        let s = transition(&p, phase, &probes, Event::Admit, ns(SEC), &quiet());
        assert_eq!(
            changes(&s),
            [(State::Open, State::HalfOpen, SEC, Reason::OpenTimeElapsed)]
        );
        assert!(matches!(s.admission, Admission::Probe(_)));
        probes.apply(s.probes);
        let s = transition(&p, s.phase, &probes, Event::Admit, ns(SEC), &quiet());
        assert!(matches!(s.admission, Admission::Probe(_)));
        probes.apply(s.probes);
        let s = transition(&p, s.phase, &probes, Event::Admit, ns(SEC), &quiet());
        // Both places taken: the soonest one frees is at the first probe's deadline.
        assert_eq!(s.admission, Admission::Reject { wait: ns(3 * SEC) });
    }

    /// Half-open at backoff step `level` since 0, with one probe taken at 0: the phase, the
    /// probes and the probe's ticket.
    fn one_probe(p: &Policy, level: u32) -> (Phase, Probes, Ticket) {
        let mut probes = Probes::new(1);
        let half = Phase::HalfOpen {
            since: ns(0),
            level,
            successes: 0,
        };
        let s = transition(p, half, &probes, Event::Admit, ns(0), &quiet());
        let Admission::Probe(ticket) = s.admission else {
            panic!("expected a probe")
        };
        probes.apply(s.probes);
        (s.phase, probes, ticket)
    }

    #[test]
    fn p_successes_close_and_forget_everything() {
        let p = probing(1);
        let (phase, probes, ticket) = one_probe(&p, 2);
        let end = Event::ProbeEnd {
            ticket,
            outcome: Some(Outcome::Success),
        };
        let s = transition(&p, phase, &probes, end, ns(1), &quiet());
        assert_eq!(s.phase, Phase::Closed);
        assert_eq!(
            changes(&s),
            [(State::HalfOpen, State::Closed, 1, Reason::ProbesSucceeded)]
        );
        assert_eq!(
            s.forget,
            Forget {
                outcomes: true,
                streak: true
            }
        );
    }

    #[test]
    fn a_failed_probe_reopens_for_the_next_backoff_step() {
        let p = probing(1);
        let (phase, probes, ticket) = one_probe(&p, 1);
        let end = Event::ProbeEnd {
            ticket,
            outcome: Some(Outcome::Failure),
        };
        let s = transition(&p, phase, &probes, end, ns(SEC), &quiet());
        // Step 2 of 1 s × 2^k: 4 s.
        assert_eq!(s.phase, open(5 * SEC, 2, Reason::ProbeFailed));
        assert!(s.probes.clear);
    }

    #[test]
    fn a_probe_past_its_timeout_fails_at_its_deadline_whoever_notices() {
        let p = probing(1);
        let mut probes = Probes::new(1);
        let half = Phase::HalfOpen {
            since: ns(0),
            level: 0,
            successes: 0,
        };
        let s = transition(&p, half, &probes, Event::Admit, ns(0), &quiet());
        probes.apply(s.probes);
        // One nanosecond before the deadline: still half-open.
        let s2 = transition(&p, s.phase, &probes, Event::Look, ns(3 * SEC - 1), &quiet());
        assert_eq!(s2.phase, s.phase);
        // Long after: failed at 3 s, open for 2 s, half-open again at 5 s.
        let s2 = transition(&p, s.phase, &probes, Event::Look, ns(6 * SEC), &quiet());
        assert_eq!(
            changes(&s2),
            [
                (State::HalfOpen, State::Open, 3 * SEC, Reason::ProbeTimedOut),
                (
                    State::Open,
                    State::HalfOpen,
                    5 * SEC,
                    Reason::OpenTimeElapsed
                ),
            ]
        );
        assert!(s2.probes.clear);
    }

    #[test]
    fn a_probe_of_an_earlier_period_changes_nothing() {
        let p = probing(1);
        let (phase, mut probes, old) = one_probe(&p, 0);
        let fail = Event::ProbeEnd {
            ticket: old,
            outcome: Some(Outcome::Failure),
        };
        let s = transition(&p, phase, &probes, fail, ns(0), &quiet());
        probes.apply(s.probes);
        let s = transition(&p, s.phase, &probes, Event::Admit, ns(2 * SEC), &quiet());
        probes.apply(s.probes);
        let late = Event::ProbeEnd {
            ticket: old,
            outcome: Some(Outcome::Success),
        };
        let s2 = transition(&p, s.phase, &probes, late, ns(2 * SEC), &quiet());
        assert_eq!(s2.phase, s.phase);
        assert_eq!(s2.probes, ProbeOp::default());
    }

    #[test]
    fn a_slow_probe_success_is_a_failure() {
        let mut p = probing(1);
        p.slow = Some(ns(SEC));
        for (ends, closed) in [(SEC, true), (SEC + 1, false)] {
            let (phase, probes, ticket) = one_probe(&p, 0);
            let end = Event::ProbeEnd {
                ticket,
                outcome: Some(Outcome::Success),
            };
            let s = transition(&p, phase, &probes, end, ns(ends), &quiet());
            assert_eq!(s.phase == Phase::Closed, closed, "ended at {ends}");
        }
    }

    #[test]
    fn forcing_holds_until_reset_and_reset_forgets_everything() {
        let p = Policy::DEFAULT;
        let s = run(
            &p,
            open(SEC, 0, Reason::FailureCount),
            Event::ForceClosed,
            0,
            &quiet(),
        );
        assert_eq!(
            changes(&s),
            [(State::Open, State::ForcedClosed, 0, Reason::Forced)]
        );
        let trip = Event::Trip {
            reason: Reason::FailureCount,
            until: Some(ns(SEC)),
        };
        assert_eq!(
            run(&p, Phase::ForcedClosed, trip, 0, &quiet()).phase,
            Phase::ForcedClosed
        );
        let s = run(&p, Phase::ForcedOpen, Event::Admit, 100 * SEC, &quiet());
        assert_eq!(
            (s.phase, s.admission),
            (Phase::ForcedOpen, Admission::RejectForced)
        );
        let s = run(&p, Phase::ForcedOpen, Event::Reset, 0, &quiet());
        assert_eq!(
            changes(&s),
            [(State::ForcedOpen, State::Closed, 0, Reason::Reset)]
        );
        assert!(s.forget.outcomes && s.forget.streak);
        // A reset while closed changes no state, and still forgets.
        let s = run(&p, Phase::Closed, Event::Reset, 0, &quiet());
        assert!(s.changes.is_empty() && s.forget.outcomes);
    }

    #[test]
    fn hold_open_lasts_at_least_as_asked() {
        let p = Policy::DEFAULT;
        let s = run(
            &p,
            Phase::Closed,
            Event::HoldOpen {
                until: ns(30 * SEC),
                reason: Reason::RetryAfter,
            },
            SEC,
            &quiet(),
        );
        assert_eq!(s.phase, open(30 * SEC, 0, Reason::RetryAfter));
        // A shorter hold never shortens a period; a longer one lengthens it.
        let phase = open(10 * SEC, 0, Reason::FailureCount);
        assert_eq!(
            run(
                &p,
                phase,
                Event::HoldOpen {
                    until: ns(5 * SEC),
                    reason: Reason::RetryAfter,
                },
                SEC,
                &quiet()
            )
            .phase,
            phase
        );
        assert_eq!(
            run(
                &p,
                phase,
                Event::HoldOpen {
                    until: ns(20 * SEC),
                    reason: Reason::RetryAfter,
                },
                SEC,
                &quiet()
            )
            .phase,
            open(20 * SEC, 0, Reason::RetryAfter)
        );
        assert_eq!(
            run(
                &p,
                Phase::ForcedClosed,
                Event::HoldOpen {
                    until: ns(20 * SEC),
                    reason: Reason::RetryAfter,
                },
                SEC,
                &quiet()
            )
            .phase,
            Phase::ForcedClosed
        );
    }

    #[test]
    fn a_remote_hold_opens_for_its_own_reason() {
        let p = Policy::DEFAULT;
        let s = run(
            &p,
            Phase::Closed,
            Event::HoldOpen {
                until: ns(3 * SEC),
                reason: Reason::Remote,
            },
            SEC,
            &quiet(),
        );
        assert_eq!(s.phase, open(3 * SEC, 0, Reason::Remote));
        let change = s.changes.iter().next().map(|c| (c.to, c.reason));
        assert_eq!(change, Some((State::Open, Reason::Remote)));
    }

    #[test]
    fn backoff_steps_grow_to_the_cap() {
        let Recovery::Probing(p) = probing(1).recovery else {
            unreachable!()
        };
        let secs: Vec<u64> = (0..6).map(|k| p.step(k).as_u64() / SEC).collect();
        assert_eq!(secs, [1, 2, 4, 8, 8, 8]);
        assert_eq!(p.step(u32::MAX), ns(8 * SEC));
    }
}
