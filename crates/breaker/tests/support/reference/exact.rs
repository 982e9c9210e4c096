//! The exact model: every failure stamp ever recorded, the count rule applied literally, and
//! the run that checks a breaker against it after every step.

use std::time::Duration;

use breaker::{Outcome, Permit, State};

use crate::support::Timeline;

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
