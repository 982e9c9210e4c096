//! The model of every trip rule, of probing and of manual control, and the run that checks a
//! breaker against it after every step.
//!
//! A second reference model, as naive as the first: every failure stamp and every counted call
//! in a `Vec`, the phase as a plain enum, and each sentence of the contract applied literally,
//! eagerly, at the instant it speaks of. The breaker does the same work lazily (an open period
//! ends when somebody next looks), so agreeing on every step, changes and their instants
//! included, is what shows that the laziness cannot be seen.
//!
//! - count rule: more than T failures stamped in `(now - W, now]`; a trip lasts until they fall
//!   back to T (the (T + 1)-th latest stamp plus W), and failures recorded while open lengthen
//!   it the same way.
//! - failure rate: the rule counts in 16 buckets of `floor(W / 16)` ns (for W under 16 ns, W
//!   buckets of 1 ns), as `Builder::failure_rate` documents. The model applies that bucket rule
//!   exactly: a call stamped `t` counts at `now` while `floor(now / width) < floor(t / width) +
//!   buckets`. It fires, on a success as on a failure, when at least `min_calls` calls count and
//!   `failures / calls >= ratio`.
//! - consecutive failures: a counter; a failure adds one, a success sets it to zero, an ignored
//!   outcome leaves it, and it starts again from zero at every trip and every close.
//! - slow calls: a success ending more than the threshold after its permit was taken (whatever
//!   the state it was taken in) is a failure, for every rule and for a probe.
//! - window recovery: a trip by the count rule lasts until the window falls back to T; any
//!   other trip lasts W (or longer, if the count rule keeps it open); it closes with
//!   `WindowEmptied` if the count rule held it open just before, else `OpenTimeElapsed`.
//! - probing: open for backoff step k (`min(open_time * multiplier^k, cap)`, step 0 for a trip
//!   from closed), then half-open: at most P probes in flight plus successes; P successes close
//!   and forget every outcome; a failed probe, or one still running at its start plus the probe
//!   timeout, reopens for the next step at that instant; a dropped or ignored probe frees its
//!   place; a probe of a half-open period that is over changes nothing. Probe outcomes are not
//!   counted by the rules.
//! - manual control: `force_open` and `force_closed` hold until `reset`; `reset` closes and
//!   forgets every outcome; `open_for(d)` opens until at least `now + d`, never shortening.
//!
//! Each call's outcome reaches the rules in every state (late outcomes are never lost); only a
//! closed circuit trips.

use std::time::Duration;

use breaker::{Outcome, Permit, Reason, State};

use super::exact::MAX_IN_FLIGHT;
use super::setup::{ProbeConfig, Setup};
use crate::support::Timeline;

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
