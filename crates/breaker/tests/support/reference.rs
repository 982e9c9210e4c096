//! The reference models of the breaker, and the runs that check a real breaker against them at
//! every step: shared by the property tests (`tests/core/model.rs`) and the fuzz target
//! `breaker_model`, which include this file with `#[path]`.
//!
//! Two models, both deliberately naive. The exact one keeps every failure stamp ever recorded and
//! applies the count rule literally: at time `now`, a stamp `t` is in the window iff
//! `t <= now < t + W`; the circuit is open iff more than T stamps are; while open, it admits a
//! call again at `s + W`, `s` being the (T + 1)-th most recent stamp. The second covers every
//! trip rule, probing and manual control (see the comment above [`ProbeConfig`]).
//!
//! A run reports the first disagreement as `Err(message)`; the includer turns it into its own
//! kind of failure (a proptest case, a fuzzer crash). The includer's crate root must have the
//! `support` module of this directory, for [`Timeline`].
#![allow(dead_code)]

use std::time::Duration;

use breaker::{Builder, CircuitBreaker, Outcome, Permit, Probing, Reason, State};

use crate::support::Timeline;

/// Returns `Err` with the message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(format!($($message)+));
        }
    };
}

/// Returns `Err` with the message and both values unless they are equal.
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($message:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err(format!("{}: {:?} != {:?}", format_args!($($message)+), left, right));
        }
    }};
}

/// A clock move, resolved against the window W when applied.
#[derive(Debug, Clone, Copy)]
pub enum Step {
    Zero,
    One,
    WindowMinusOne,
    Window,
    WindowPlusOne,
    /// `raw % (2W + 1)`: anywhere up to two windows.
    Raw(u64),
}

impl Step {
    pub fn nanos(self, w: u64) -> u64 {
        match self {
            Step::Zero => 0,
            Step::One => 1,
            Step::WindowMinusOne => w - 1,
            Step::Window => w,
            Step::WindowPlusOne => w + 1,
            Step::Raw(raw) => raw % (2 * w + 1),
        }
    }
}

/// One step of a timeline.
#[derive(Debug, Clone)]
pub enum Op {
    /// Moves the clock.
    Advance(Step),
    /// Moves the clock to `delta` ns around the instant one of the T + 1 latest failures turns
    /// W old (`pick` chooses which); does nothing if that instant is past.
    ToExpiry { pick: usize, delta: i8 },
    /// A call that ends at once with this outcome (or is rejected).
    Call(Outcome),
    /// A call that is admitted (or rejected) now and stays in flight.
    Start,
    /// After `after`, one of the calls in flight (`pick` chooses which) ends with `outcome`, or,
    /// with `None`, is cancelled (its permit dropped).
    Finish {
        pick: usize,
        after: Step,
        outcome: Option<Outcome>,
    },
}

/// The reference model of the exact mode.
#[derive(Debug)]
pub struct Model {
    w: u64,
    t: u32,
    now: u64,
    /// Every failure ever recorded, in the order recorded (so never decreasing).
    stamps: Vec<u64>,
    /// The state changes the breaker must have reported, as (from, to, at).
    changes: Vec<(State, State, Duration)>,
}

impl Model {
    fn new(w: u64, t: u32) -> Self {
        Self {
            w,
            t,
            now: 0,
            stamps: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// The failures in the window now: `t <= now < t + W`.
    fn count(&self) -> usize {
        self.stamps
            .iter()
            .filter(|&&s| s <= self.now && self.now < s + self.w)
            .count()
    }

    fn is_open(&self) -> bool {
        self.count() > self.t as usize
    }

    fn state(&self) -> State {
        if self.is_open() {
            State::Open
        } else {
            State::Closed
        }
    }

    /// The (T + 1)-th most recent stamp, if there are that many.
    fn oldest_of_latest(&self) -> Option<u64> {
        let mut newest_first = self.stamps.clone();
        newest_first.sort_unstable_by(|a, b| b.cmp(a));
        newest_first.get(self.t as usize).copied()
    }

    /// While open: the instant it admits a call again.
    fn open_until(&self) -> u64 {
        self.oldest_of_latest().expect("open means T + 1 failures") + self.w
    }

    fn advance(&mut self, by: u64) {
        let was_open = self.is_open();
        let until = if was_open { self.open_until() } else { 0 };
        self.now += by;
        if was_open && !self.is_open() {
            self.changes
                .push((State::Open, State::Closed, Duration::from_nanos(until)));
        }
    }

    fn record_failure(&mut self) {
        let was_open = self.is_open();
        self.stamps.push(self.now);
        if !was_open && self.is_open() {
            self.changes
                .push((State::Closed, State::Open, Duration::from_nanos(self.now)));
        }
    }

    fn record(&mut self, outcome: Outcome) {
        if outcome == Outcome::Failure {
            self.record_failure();
        }
    }
}

/// The most calls held in flight at once.
pub const MAX_IN_FLIGHT: usize = 4;

/// Runs `ops` against a breaker and the model, checking them after every step.
pub fn run_exact(w: u64, t: u32, ops: &[Op]) -> Result<(), String> {
    let tl = Timeline::new(Duration::from_nanos(w), t);
    let mut model = Model::new(w, t);
    let mut in_flight: Vec<Permit<'_>> = Vec::new();

    for (i, op) in ops.iter().enumerate() {
        match *op {
            Op::Advance(s) => {
                let d = s.nanos(w);
                tl.advance(Duration::from_nanos(d));
                model.advance(d);
            }
            Op::ToExpiry { pick, delta } => {
                let latest = model.stamps.len().min(t as usize + 1);
                if latest > 0 {
                    let stamp = model.stamps[model.stamps.len() - 1 - pick % latest];
                    let target = (stamp + w).saturating_add_signed(i64::from(delta));
                    if target > model.now {
                        let d = target - model.now;
                        tl.advance(Duration::from_nanos(d));
                        model.advance(d);
                    }
                }
            }
            Op::Call(outcome) => match tl.cb.try_acquire() {
                Ok(permit) => {
                    ensure!(
                        !model.is_open(),
                        "step {i}: admitted, but the model is open"
                    );
                    permit.record(outcome);
                    model.record(outcome);
                }
                Err(_) => ensure!(model.is_open(), "step {i}: rejected, model closed"),
            },
            Op::Start => match tl.cb.try_acquire() {
                Ok(permit) => {
                    ensure!(
                        !model.is_open(),
                        "step {i}: admitted, but the model is open"
                    );
                    if in_flight.len() < MAX_IN_FLIGHT {
                        in_flight.push(permit);
                    }
                }
                Err(_) => ensure!(model.is_open(), "step {i}: rejected, model closed"),
            },
            Op::Finish {
                pick,
                after,
                outcome,
            } => {
                let d = after.nanos(w);
                tl.advance(Duration::from_nanos(d));
                model.advance(d);
                if !in_flight.is_empty() {
                    // Admitted before, ending now: recorded as usual, open or not.
                    let permit = in_flight.swap_remove(pick % in_flight.len());
                    match outcome {
                        Some(o) => {
                            permit.record(o);
                            model.record(o);
                        }
                        None => drop(permit),
                    }
                }
            }
        }

        // The checks. `state()` comes first: it is what notices an open period that has ended.
        let expected = model.state();
        ensure_eq!(tl.state(), expected, "state after step {} ({:?})", i, op);
        let count = model.count().min(t as usize + 1);
        ensure_eq!(
            tl.cb.errors_in_window() as usize,
            count,
            "errors_in_window after step {} ({:?})",
            i,
            op
        );
        match tl.cb.try_acquire() {
            Ok(probe) => {
                ensure_eq!(expected, State::Closed, "admitted after step {}", i);
                drop(probe); // records nothing
            }
            Err(e) => {
                ensure_eq!(expected, State::Open, "rejected after step {}", i);
                ensure_eq!(
                    e.retry_after(),
                    Duration::from_nanos(model.open_until() - model.now),
                    "retry_after after step {} ({:?})",
                    i,
                    op
                );
            }
        }
        ensure_eq!(
            tl.changes(),
            model.changes.clone(),
            "state changes after step {} ({:?})",
            i,
            op
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Every rule, probing and manual control.
//
// A second reference model, as naive as the first: every failure stamp and every counted call
// in a `Vec`, the phase as a plain enum, and each sentence of the contract applied literally,
// eagerly, at the instant it speaks of. The breaker does the same work lazily (an open period
// ends when somebody next looks), so agreeing on every step, changes and their instants
// included, is what shows that the laziness cannot be seen.
//
// - count rule: more than T failures stamped in `(now - W, now]`; a trip lasts until they fall
//   back to T (the (T + 1)-th latest stamp plus W), and failures recorded while open lengthen
//   it the same way.
// - failure rate: the rule counts in 16 buckets of `floor(W / 16)` ns (for W under 16 ns, W
//   buckets of 1 ns), as `Builder::failure_rate` documents. The model applies that bucket rule
//   exactly: a call stamped `t` counts at `now` while `floor(now / width) < floor(t / width) +
//   buckets`. It fires, on a success as on a failure, when at least `min_calls` calls count and
//   `failures / calls >= ratio`.
// - consecutive failures: a counter; a failure adds one, a success sets it to zero, an ignored
//   outcome leaves it, and it starts again from zero at every trip and every close.
// - slow calls: a success ending more than the threshold after its permit was taken (whatever
//   the state it was taken in) is a failure, for every rule and for a probe.
// - window recovery: a trip by the count rule lasts until the window falls back to T; any
//   other trip lasts W (or longer, if the count rule keeps it open); it closes with
//   `WindowEmptied` if the count rule held it open just before, else `OpenTimeElapsed`.
// - probing: open for backoff step k (`min(open_time * multiplier^k, cap)`, step 0 for a trip
//   from closed), then half-open: at most P probes in flight plus successes; P successes close
//   and forget every outcome; a failed probe, or one still running at its start plus the probe
//   timeout, reopens for the next step at that instant; a dropped or ignored probe frees its
//   place; a probe of a half-open period that is over changes nothing. Probe outcomes are not
//   counted by the rules.
// - manual control: `force_open` and `force_closed` hold until `reset`; `reset` closes and
//   forgets every outcome; `open_for(d)` opens until at least `now + d`, never shortening.
//
// Each call's outcome reaches the rules in every state (late outcomes are never lost); only a
// closed circuit trips.
// ---------------------------------------------------------------------------------------------

/// Probing, as drawn: the backoff multiplier is `multiplier / 2` (1, 1.5, 2 or 3), so that the
/// model can work it out in whole numbers.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub probes: u32,
    pub open_time: u64,
    pub multiplier_halves: u32,
    pub cap: u64,
    pub timeout: u64,
}

impl ProbeConfig {
    /// Backoff step `level`: `min(floor(open_time × multiplier^level), cap)`.
    fn step(&self, level: u32) -> u64 {
        let (num_step, den_step) = match self.multiplier_halves {
            2 => return self.open_time.min(self.cap),
            3 => (3u128, 2u128),
            4 => (2, 1),
            6 => (3, 1),
            other => unreachable!("multiplier {other} / 2"),
        };
        let (mut num, mut den) = (u128::from(self.open_time), 1u128);
        for _ in 0..level {
            num *= num_step;
            den *= den_step;
            if num / den >= u128::from(self.cap) {
                return self.cap;
            }
        }
        (num / den) as u64
    }
}

/// A breaker's configuration, as drawn.
#[derive(Debug, Clone)]
pub struct Setup {
    pub w: u64,
    pub count: Option<u32>,
    pub rate: Option<(f64, u32)>,
    pub consecutive: Option<u32>,
    pub slow: Option<u64>,
    pub probing: Option<ProbeConfig>,
}

impl Setup {
    pub fn builder(&self) -> Builder {
        let mut b = CircuitBreaker::builder().window(Duration::from_nanos(self.w));
        if let Some(t) = self.count {
            b = b.error_threshold(t);
        }
        if let Some((ratio, min_calls)) = self.rate {
            b = b.failure_rate(ratio, min_calls);
        }
        if let Some(n) = self.consecutive {
            b = b.consecutive_failures(n);
        }
        if let Some(slow) = self.slow {
            b = b.slow_call(Duration::from_nanos(slow));
        }
        if let Some(p) = &self.probing {
            b = b.probing(
                Probing::new(p.probes)
                    .open_time(Duration::from_nanos(p.open_time))
                    .backoff(
                        f64::from(p.multiplier_halves) / 2.0,
                        Duration::from_nanos(p.cap),
                    )
                    .probe_timeout(Duration::from_nanos(p.timeout)),
            );
        }
        b
    }

    /// The rate rule's buckets: how many, and how wide.
    fn buckets(&self) -> (u64, u64) {
        let len = self.w.min(16);
        (len, (self.w / len).max(1))
    }
}

/// What the model's phase carries.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    Closed,
    /// Rejecting until `until`; `level` is the backoff step with probing.
    Open {
        until: u64,
        level: u32,
    },
    /// The probes in flight are (id, start).
    HalfOpen {
        level: u32,
        successes: u32,
        probes: Vec<(u64, u64)>,
    },
    ForcedOpen,
    ForcedClosed,
}

impl Phase {
    fn state(&self) -> State {
        match self {
            Phase::Closed => State::Closed,
            Phase::Open { .. } => State::Open,
            Phase::HalfOpen { .. } => State::HalfOpen,
            Phase::ForcedOpen => State::ForcedOpen,
            Phase::ForcedClosed => State::ForcedClosed,
        }
    }
}

/// The answer to a request for a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admitted {
    Call,
    Probe,
    Rejected { retry_after: Duration, forced: bool },
}

/// What the model remembers of a permit.
#[derive(Debug, Clone, Copy)]
pub enum Ticket {
    /// `timed`: whether the slow-call rule applies to it.
    Call {
        start: u64,
        timed: bool,
    },
    Probe {
        id: u64,
        start: u64,
    },
}

pub type Change = (State, State, Duration, Reason);

/// The reference model of every rule.
#[derive(Debug)]
pub struct RulesModel {
    cfg: Setup,
    now: u64,
    phase: Phase,
    /// The failures the count rule has seen since it last forgot, oldest first.
    failures: Vec<u64>,
    /// The calls the rate rule has seen since it last forgot: (stamp, failed).
    calls: Vec<(u64, bool)>,
    streak: u32,
    next_probe: u64,
    changes: Vec<Change>,
}

impl RulesModel {
    fn new(cfg: Setup) -> Self {
        Self {
            cfg,
            now: 0,
            phase: Phase::Closed,
            failures: Vec::new(),
            calls: Vec::new(),
            streak: 0,
            next_probe: 0,
            changes: Vec::new(),
        }
    }

    fn probing(&self) -> Option<&ProbeConfig> {
        self.cfg.probing.as_ref()
    }

    // --- the rules ---------------------------------------------------------------------------

    /// Failures stamped in `(at - W, at]`.
    fn count_at(&self, at: u64) -> usize {
        self.failures
            .iter()
            .filter(|&&s| s <= at && at < s + self.cfg.w)
            .count()
    }

    fn count_over_at(&self, at: u64) -> bool {
        self.cfg
            .count
            .is_some_and(|t| self.count_at(at) > t as usize)
    }

    /// With more than T failures in the window now: when they fall back to T.
    fn count_end(&self) -> u64 {
        let t = self.cfg.count.expect("the count rule") as usize;
        self.failures[self.failures.len() - 1 - t] + self.cfg.w
    }

    /// The rate rule's (successes, failures) now, by its bucket rule.
    fn rate_counts(&self) -> (u64, u64) {
        let (len, width) = self.cfg.buckets();
        let now = self.now;
        let counts = |s: u64| s <= now && now / width < s / width + len;
        let (mut ok, mut failed) = (0, 0);
        for &(_, failed_call) in self.calls.iter().filter(|&&(s, _)| counts(s)) {
            if failed_call {
                failed += 1;
            } else {
                ok += 1;
            }
        }
        (ok, failed)
    }

    fn rate_fires(&self) -> bool {
        let Some((ratio, min_calls)) = self.cfg.rate else {
            return false;
        };
        let (ok, failed) = self.rate_counts();
        let calls = ok + failed;
        calls >= u64::from(min_calls) && failed as f64 / calls as f64 >= ratio
    }

    fn forget_outcomes(&mut self) {
        self.failures.clear();
        self.calls.clear();
        self.streak = 0;
    }

    // --- moving the phase --------------------------------------------------------------------

    fn go(&mut self, to: Phase, at: u64, reason: Reason) {
        self.changes.push((
            self.phase.state(),
            to.state(),
            Duration::from_nanos(at),
            reason,
        ));
        if to == Phase::Closed {
            self.streak = 0;
        }
        self.phase = to;
    }

    /// Half-open to open at `at`, for the step after `level`.
    fn reopen(&mut self, level: u32, at: u64, reason: Reason) {
        let step = self.probing().expect("probing").step(level + 1);
        let open = Phase::Open {
            until: at + step,
            level: level + 1,
        };
        self.go(open, at, reason);
    }

    /// Whatever the passing of time has done by now, each at its own instant.
    fn catch_up(&mut self) {
        loop {
            match self.phase {
                Phase::Open { until, level } if until <= self.now => {
                    if self.probing().is_some() {
                        let half = Phase::HalfOpen {
                            level,
                            successes: 0,
                            probes: Vec::new(),
                        };
                        self.go(half, until, Reason::OpenTimeElapsed);
                    } else {
                        assert!(
                            !self.count_over_at(until),
                            "model: an open period ends with the window over T"
                        );
                        let why = if self.count_over_at(until - 1) {
                            Reason::WindowEmptied
                        } else {
                            Reason::OpenTimeElapsed
                        };
                        self.go(Phase::Closed, until, why);
                        return;
                    }
                }
                Phase::HalfOpen {
                    level, ref probes, ..
                } => {
                    let timeout = self.probing().expect("probing").timeout;
                    match probes.iter().map(|&(_, s)| s + timeout).min() {
                        Some(deadline) if deadline <= self.now => {
                            self.reopen(level, deadline, Reason::ProbeTimedOut);
                        }
                        _ => return,
                    }
                }
                _ => return,
            }
        }
    }

    fn trip(&mut self, reason: Reason) {
        let until = match (self.probing(), reason) {
            (Some(p), _) => self.now + p.step(0),
            (None, Reason::FailureCount) => self.count_end(),
            (None, _) => self.now + self.cfg.w,
        };
        self.go(Phase::Open { until, level: 0 }, self.now, reason);
        self.streak = 0;
    }

    // --- the public operations ---------------------------------------------------------------

    fn advance(&mut self, by: u64) {
        self.now += by;
    }

    fn state(&mut self) -> State {
        self.catch_up();
        self.phase.state()
    }

    fn errors_in_window(&self) -> u32 {
        let n = match (self.cfg.count, self.cfg.rate) {
            (Some(t), _) => self.count_at(self.now).min(t as usize + 1) as u64,
            (None, Some(_)) => self.rate_counts().1,
            (None, None) => 0,
        };
        n as u32
    }

    fn acquire(&mut self) -> (Admitted, Option<Ticket>) {
        self.catch_up();
        let now = self.now;
        let p = self.cfg.probing.clone();
        match &mut self.phase {
            Phase::Closed => (
                Admitted::Call,
                Some(Ticket::Call {
                    start: now,
                    timed: true,
                }),
            ),
            Phase::ForcedClosed => (
                Admitted::Call,
                Some(Ticket::Call {
                    start: now,
                    timed: true,
                }),
            ),
            Phase::Open { until, .. } => (
                Admitted::Rejected {
                    retry_after: Duration::from_nanos(*until - now),
                    forced: false,
                },
                None,
            ),
            Phase::ForcedOpen => (
                Admitted::Rejected {
                    retry_after: Duration::MAX,
                    forced: true,
                },
                None,
            ),
            Phase::HalfOpen {
                successes, probes, ..
            } => {
                let p = p.expect("probing");
                if probes.len() as u32 + *successes >= p.probes {
                    let deadline = probes.iter().map(|&(_, s)| s + p.timeout).min();
                    let deadline = deadline.expect("a place is taken by a probe in flight");
                    let retry_after = Duration::from_nanos(deadline - now);
                    (
                        Admitted::Rejected {
                            retry_after,
                            forced: false,
                        },
                        None,
                    )
                } else {
                    let id = self.next_probe;
                    self.next_probe += 1;
                    probes.push((id, now));
                    (Admitted::Probe, Some(Ticket::Probe { id, start: now }))
                }
            }
        }
    }

    fn slow(&self, start: u64) -> bool {
        self.cfg.slow.is_some_and(|s| self.now - start > s)
    }

    /// A permit ends with `outcome`, or is dropped untold (`None`).
    fn finish(&mut self, ticket: Ticket, outcome: Option<Outcome>) {
        self.catch_up();
        let now = self.now;
        match ticket {
            Ticket::Probe { id, start } => {
                let slow = self.slow(start);
                let probes_needed = self.probing().map_or(0, |p| p.probes);
                let Phase::HalfOpen {
                    level,
                    successes,
                    probes,
                } = &mut self.phase
                else {
                    return; // its half-open period is over
                };
                let Some(i) = probes.iter().position(|&(p, _)| p == id) else {
                    return; // likewise
                };
                probes.remove(i);
                let level = *level;
                match outcome {
                    Some(Outcome::Success) if !slow => {
                        *successes += 1;
                        if *successes >= probes_needed {
                            self.go(Phase::Closed, now, Reason::ProbesSucceeded);
                            self.forget_outcomes();
                        }
                    }
                    Some(Outcome::Success | Outcome::Failure) => {
                        self.reopen(level, now, Reason::ProbeFailed);
                    }
                    Some(Outcome::Ignored) | None => {}
                }
            }
            Ticket::Call { start, timed } => {
                let outcome = match outcome {
                    Some(Outcome::Success) if timed && self.slow(start) => Outcome::Failure,
                    Some(o) => o,
                    None => Outcome::Ignored, // a dropped permit records nothing
                };
                match outcome {
                    Outcome::Ignored => {}
                    Outcome::Success => {
                        self.calls.push((now, false));
                        self.streak = 0;
                        if self.phase == Phase::Closed && self.rate_fires() {
                            self.trip(Reason::FailureRate);
                        }
                    }
                    Outcome::Failure => {
                        self.failures.push(now);
                        self.calls.push((now, true));
                        self.streak += 1;
                        let reason = if self.count_over_at(now) {
                            Some(Reason::FailureCount)
                        } else if self.rate_fires() {
                            Some(Reason::FailureRate)
                        } else if self.cfg.consecutive.is_some_and(|n| self.streak >= n) {
                            Some(Reason::ConsecutiveFailures)
                        } else {
                            None
                        };
                        match (&mut self.phase, reason) {
                            (Phase::Closed, Some(reason)) => self.trip(reason),
                            (Phase::Open { .. }, Some(Reason::FailureCount))
                                if self.cfg.probing.is_none() =>
                            {
                                let end = self.count_end();
                                if let Phase::Open { until, .. } = &mut self.phase {
                                    *until = (*until).max(end);
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    fn open_for(&mut self, d: u64) {
        self.catch_up();
        let until = self.now + d;
        if d == 0 {
            return;
        }
        match self.phase {
            Phase::Closed => {
                self.go(
                    Phase::Open { until, level: 0 },
                    self.now,
                    Reason::RetryAfter,
                );
            }
            Phase::Open {
                until: ref mut current,
                ..
            } => *current = (*current).max(until),
            Phase::HalfOpen { level, .. } => {
                self.go(Phase::Open { until, level }, self.now, Reason::RetryAfter);
            }
            Phase::ForcedOpen | Phase::ForcedClosed => {}
        }
    }

    fn force(&mut self, to: Phase) {
        self.catch_up();
        if self.phase != to {
            self.go(to, self.now, Reason::Forced);
        }
    }

    fn reset(&mut self) {
        self.catch_up();
        if self.phase != Phase::Closed {
            self.go(Phase::Closed, self.now, Reason::Reset);
        }
        self.forget_outcomes();
    }

    /// The instants at which something may happen: an open period's end, a probe's deadline,
    /// a failure turning W old, a call leaving the rate rule's buckets, a call in flight
    /// turning slow.
    fn edges(&self, in_flight: &[Ticket]) -> Vec<u64> {
        let (len, width) = self.cfg.buckets();
        let mut edges: Vec<u64> = Vec::new();
        match &self.phase {
            Phase::Open { until, .. } => edges.push(*until),
            Phase::HalfOpen { probes, .. } => {
                let timeout = self.probing().map_or(0, |p| p.timeout);
                edges.extend(probes.iter().map(|&(_, s)| s + timeout));
            }
            _ => {}
        }
        edges.extend(self.failures.iter().map(|&s| s + self.cfg.w));
        edges.extend(self.calls.iter().map(|&(s, _)| (s / width + len) * width));
        if let Some(slow) = self.cfg.slow {
            edges.extend(in_flight.iter().map(|t| match *t {
                Ticket::Call { start, .. } | Ticket::Probe { start, .. } => start + slow,
            }));
        }
        edges.retain(|&e| e > self.now);
        edges.sort_unstable();
        edges.dedup();
        edges
    }
}

/// A clock move, resolved against the model when applied.
#[derive(Debug, Clone, Copy)]
pub enum Move {
    Zero,
    One,
    /// A rate bucket's width, plus this.
    Bucket(i8),
    /// W, plus this.
    Window(i8),
    /// `raw % (2W + 1)`.
    Raw(u64),
    /// To one of the model's [edges](RulesModel::edges) (`pick` chooses which), plus `delta`.
    ToEdge {
        pick: usize,
        delta: i8,
    },
}

impl Move {
    fn nanos(self, m: &RulesModel, in_flight: &[Ticket]) -> u64 {
        let plus = |base: u64, d: i8| base.saturating_add_signed(i64::from(d));
        match self {
            Move::Zero => 0,
            Move::One => 1,
            Move::Bucket(d) => plus(m.cfg.buckets().1, d),
            Move::Window(d) => plus(m.cfg.w, d),
            Move::Raw(raw) => raw % (2 * m.cfg.w + 1),
            Move::ToEdge { pick, delta } => {
                let edges = m.edges(in_flight);
                if edges.is_empty() {
                    return 0;
                }
                plus(edges[pick % edges.len()], delta).saturating_sub(m.now)
            }
        }
    }
}

/// One step of a timeline with every rule.
#[derive(Debug, Clone)]
pub enum RuleOp {
    Advance(Move),
    /// A call that ends at once (`None`: its permit is dropped), or is rejected.
    Call(Option<Outcome>),
    /// A call admitted (or rejected) now, held in flight.
    Start,
    /// After `after`, one of the calls in flight ends with `outcome`, or is dropped (`None`).
    Finish {
        pick: usize,
        after: Move,
        outcome: Option<Outcome>,
    },
    ForceOpen,
    ForceClosed,
    Reset,
    OpenFor(Move),
}

/// What a request for a permit got from the breaker.
pub fn admitted(r: &Result<Permit<'_>, breaker::CircuitOpenError>) -> Admitted {
    match r {
        Ok(p) if p.is_probe() => Admitted::Probe,
        Ok(_) => Admitted::Call,
        Err(e) => Admitted::Rejected {
            retry_after: e.retry_after(),
            forced: e.is_forced(),
        },
    }
}

pub fn end(permit: Permit<'_>, outcome: Option<Outcome>) {
    match outcome {
        Some(o) => permit.record(o),
        None => drop(permit),
    }
}

/// Runs `ops` against a breaker built from `cfg` and against the model, checking them after
/// every step.
pub fn run_rules(cfg: &Setup, ops: &[RuleOp]) -> Result<(), String> {
    let tl = Timeline::with(cfg.builder());
    let mut m = RulesModel::new(cfg.clone());
    let mut in_flight: Vec<(Permit<'_>, Ticket)> = Vec::new();
    let mut seen = 0;

    let advance = |m: &mut RulesModel, d: u64| {
        tl.advance(Duration::from_nanos(d));
        m.advance(d);
    };

    for (i, op) in ops.iter().enumerate() {
        let tickets: Vec<Ticket> = in_flight.iter().map(|(_, t)| *t).collect();
        match *op {
            RuleOp::Advance(mv) => {
                let d = mv.nanos(&m, &tickets);
                advance(&mut m, d);
            }
            RuleOp::Call(outcome) => {
                let got = tl.cb.try_acquire();
                let (expected, ticket) = m.acquire();
                ensure_eq!(admitted(&got), expected, "step {} ({:?}): admission", i, op);
                if let (Ok(permit), Some(ticket)) = (got, ticket) {
                    end(permit, outcome);
                    m.finish(ticket, outcome);
                }
            }
            RuleOp::Start => {
                let got = tl.cb.try_acquire();
                let (expected, ticket) = m.acquire();
                ensure_eq!(admitted(&got), expected, "step {} ({:?}): admission", i, op);
                if let (Ok(permit), Some(ticket)) = (got, ticket) {
                    if in_flight.len() < MAX_IN_FLIGHT {
                        in_flight.push((permit, ticket));
                    } else {
                        drop(permit);
                        m.finish(ticket, None);
                    }
                }
            }
            RuleOp::Finish {
                pick,
                after,
                outcome,
            } => {
                let d = after.nanos(&m, &tickets);
                advance(&mut m, d);
                if !in_flight.is_empty() {
                    let (permit, ticket) = in_flight.swap_remove(pick % in_flight.len());
                    end(permit, outcome);
                    m.finish(ticket, outcome);
                }
            }
            RuleOp::ForceOpen => {
                tl.cb.force_open();
                m.force(Phase::ForcedOpen);
            }
            RuleOp::ForceClosed => {
                tl.cb.force_closed();
                m.force(Phase::ForcedClosed);
            }
            RuleOp::Reset => {
                tl.cb.reset();
                m.reset();
            }
            RuleOp::OpenFor(mv) => {
                let d = mv.nanos(&m, &tickets);
                tl.cb.open_for(Duration::from_nanos(d));
                m.open_for(d);
            }
        }

        // The checks, each of which may be what notices the passing of time.
        ensure_eq!(tl.state(), m.state(), "step {} ({:?}): state", i, op);
        ensure_eq!(
            tl.cb.errors_in_window(),
            m.errors_in_window(),
            "step {} ({:?}): errors_in_window at {} ns",
            i,
            op,
            m.now
        );
        let got = tl.cb.try_acquire();
        let (expected, ticket) = m.acquire();
        ensure_eq!(
            admitted(&got),
            expected,
            "step {} ({:?}): admission at {} ns",
            i,
            op,
            m.now
        );
        drop(got); // records nothing, and frees a probe's place
        if let Some(ticket) = ticket {
            m.finish(ticket, None);
        }
        // The changes made by this step (the earlier ones were checked before).
        let log = tl.log();
        ensure_eq!(
            log.len(),
            m.changes.len(),
            "step {} ({:?}): state changes at {} ns: {:?}, expected {:?}",
            i,
            op,
            m.now,
            log,
            m.changes
        );
        for (got, expected) in log.iter().zip(&m.changes).skip(seen) {
            ensure!(
                got == expected,
                "step {} ({:?}): state changes at {} ns: {:?}, expected {:?}",
                i,
                op,
                m.now,
                log,
                m.changes
            );
        }
        seen = log.len();
    }
    Ok(())
}
