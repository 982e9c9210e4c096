//! The replay against a naive reference model, on random traces.
//!
//! Traces are drawn with many ties: calls starting at the same instant, calls ending at the
//! instant another starts, calls without a duration, equal ends. The model is written from the
//! contract's words, not from the breaker's code, and simulates the events itself: it keeps
//! the calls in flight in a plain list and, before each start, ends the one with the earliest
//! (end, input order) while that end is at or before the start (so at one instant ends come
//! first, and a call without a duration ends right after its own start). Its breaker keeps
//! every failure stamp ever recorded:
//!
//! - count rule: a failure stamped `t` is in the window at `now` iff `t <= now < t + W`; the
//!   circuit opens when a recorded failure makes more than T of them, and closes at the first
//!   instant there are T or fewer again (late failures, from calls admitted before the trip,
//!   count too);
//! - consecutive failures: n in a row open it; a success breaks the row, an ignored outcome
//!   does not, and a trip or a close starts it again;
//! - slow calls: a success that took longer than the threshold is recorded as a failure;
//! - a trip by another rule than the count rule lasts W, or until the window is back to T if
//!   that is later; the close says `window_emptied` if the count rule held it open just
//!   before, `open_time_elapsed` otherwise;
//! - an open period is over as soon as its close instant is reached, before anything else
//!   happens at that instant.
//!
//! The property checks the replay's decision for every call, the report's counts, trips,
//! every change with its exact instant (the last close included, which falls after the last
//! event), and the time not closed up to the last event; and that the calls fed in batches of
//! any size give the same report as calls pushed one by one.

use std::time::Duration;

use breaker::{Outcome, Reason, State};
use breaker_replay::timeline::Decision;
use breaker_replay::{Change, Record, Replay, Settings};
use proptest::prelude::*;
use proptest::test_runner::Config;

/// One tick of a trace, in nanoseconds: traces are drawn in whole ticks, so that ties abound.
const TICK: u64 = 1_000_000;

#[derive(Debug, Clone)]
struct Trace {
    window: u64,
    threshold: Option<u32>,
    consecutive: Option<u32>,
    slow: Option<u64>,
    origin: i64,
    /// (gap after the previous start, duration, logged outcome), in ticks.
    calls: Vec<(u64, u64, Outcome)>,
}

impl Trace {
    fn settings(&self) -> Settings {
        Settings {
            window: Duration::from_nanos(self.window * TICK),
            threshold: self.threshold,
            consecutive: self.consecutive,
            slow: self.slow.map(|s| Duration::from_nanos(s * TICK)),
            ..Settings::default()
        }
    }

    fn records(&self) -> Vec<Record> {
        let mut start = self.origin;
        self.calls
            .iter()
            .enumerate()
            .map(|(i, &(gap, duration, outcome))| {
                start += (gap * TICK) as i64;
                Record {
                    line: i as u64 + 1,
                    start,
                    duration: Duration::from_nanos(duration * TICK),
                    outcome,
                }
            })
            .collect()
    }
}

/// The model's phase: closed, or open and closing no earlier than `base`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    Closed,
    Open { base: u64, since: u64 },
}

/// What the model expects.
#[derive(Debug, Default)]
struct Expected {
    decisions: Vec<Decision>,
    changes: Vec<Change>,
    trips: u64,
    open_nanos: u128,
    last_event: u64,
}

struct Model<'a> {
    trace: &'a Trace,
    w: u64,
    failures: Vec<u64>,
    streak: u32,
    phase: Phase,
    expected: Expected,
}

impl Model<'_> {
    fn count_at(&self, u: u64) -> usize {
        self.failures
            .iter()
            .filter(|&&s| s <= u && u < s + self.w)
            .count()
    }

    fn over(&self, u: u64) -> bool {
        self.trace
            .threshold
            .is_some_and(|t| self.count_at(u) > t as usize)
    }

    /// The first instant at or after `base` with T or fewer failures in the window.
    fn close_instant(&self, base: u64) -> u64 {
        let mut candidates: Vec<u64> = self
            .failures
            .iter()
            .map(|s| s + self.w)
            .filter(|&u| u >= base)
            .collect();
        candidates.push(base);
        candidates.sort_unstable();
        candidates
            .into_iter()
            .find(|&u| !self.over(u))
            .expect("every failure leaves the window")
    }

    fn change(&mut self, at: u64, from: State, to: State, reason: Reason) {
        self.expected.changes.push(Change {
            at: Duration::from_nanos(at),
            from,
            to,
            reason,
        });
    }

    /// Closes an open period whose close instant is at or before `now`.
    fn catch_up(&mut self, now: u64) {
        if let Phase::Open { base, since } = self.phase {
            let close = self.close_instant(base);
            if close <= now {
                let reason = if self.over(close - 1) {
                    Reason::WindowEmptied
                } else {
                    Reason::OpenTimeElapsed
                };
                self.change(close, State::Open, State::Closed, reason);
                let last = self.expected.last_event;
                self.expected.open_nanos += u128::from(close.min(last) - since.min(last));
                self.phase = Phase::Closed;
                self.streak = 0;
            }
        }
    }

    fn trip(&mut self, now: u64, reason: Reason, base: u64) {
        self.change(now, State::Closed, State::Open, reason);
        self.expected.trips += 1;
        self.phase = Phase::Open { base, since: now };
        self.streak = 0;
    }

    fn end(&mut self, now: u64, duration: u64, logged: Outcome) {
        self.expected.last_event = now;
        self.catch_up(now);
        let slow = self.trace.slow.is_some_and(|s| duration > s * TICK);
        let outcome = match logged {
            Outcome::Success if slow => Outcome::Failure,
            other => other,
        };
        match outcome {
            Outcome::Success => self.streak = 0,
            Outcome::Ignored => {}
            Outcome::Failure => {
                self.failures.push(now);
                self.streak += 1;
                if self.phase == Phase::Closed {
                    if self.over(now) {
                        self.trip(now, Reason::FailureCount, now);
                    } else if self.trace.consecutive.is_some_and(|n| self.streak >= n) {
                        self.trip(now, Reason::ConsecutiveFailures, now + self.w);
                    }
                }
            }
        }
    }

    fn run(trace: &Trace) -> Expected {
        let mut model = Model {
            trace,
            w: trace.window * TICK,
            failures: Vec::new(),
            streak: 0,
            phase: Phase::Closed,
            expected: Expected::default(),
        };
        // In flight: (end, input order, duration, outcome).
        let mut in_flight: Vec<(u64, usize, u64, Outcome)> = Vec::new();
        let mut start = 0u64;
        for (i, &(gap, duration, outcome)) in trace.calls.iter().enumerate() {
            if i > 0 {
                start += gap * TICK;
            }
            model.end_calls(&mut in_flight, start);
            model.expected.last_event = start;
            model.catch_up(start);
            if model.phase == Phase::Closed {
                in_flight.push((start + duration * TICK, i, duration * TICK, outcome));
                model.expected.decisions.push(Decision::Admitted);
            } else {
                model.expected.decisions.push(Decision::Rejected);
            }
        }
        model.end_calls(&mut in_flight, u64::MAX);
        // Time alone closes the last open period, after the last event.
        model.catch_up(u64::MAX);
        model.expected
    }

    /// Ends, in order of (end, input order), every call in flight that ends at or before
    /// `until`.
    fn end_calls(&mut self, in_flight: &mut Vec<(u64, usize, u64, Outcome)>, until: u64) {
        while let Some(next) = in_flight
            .iter()
            .enumerate()
            .filter(|(_, c)| c.0 <= until)
            .min_by_key(|(_, c)| (c.0, c.1))
            .map(|(at, _)| at)
        {
            let (end, _, duration, outcome) = in_flight.remove(next);
            self.end(end, duration, outcome);
        }
    }
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        2 => Just(Outcome::Success),
        3 => Just(Outcome::Failure),
        1 => Just(Outcome::Ignored),
    ]
}

fn trace() -> impl Strategy<Value = Trace> {
    let call = (
        prop_oneof![3 => Just(0u64), 3 => 1u64..=3, 1 => 4u64..=20],
        prop_oneof![3 => Just(0u64), 3 => 1u64..=8],
        outcome(),
    );
    (
        1u64..=8,
        proptest::option::of(0u32..=3),
        proptest::option::of(1u32..=3),
        proptest::option::weighted(0.3, 1u64..=4),
        any::<i64>().prop_map(|o| o / 4),
        proptest::collection::vec(call, 1..80),
    )
        .prop_map(
            |(window, threshold, consecutive, slow, origin, calls)| Trace {
                window,
                // With neither the count rule nor another rule nothing would open it.
                threshold: if threshold.is_none() && consecutive.is_none() {
                    Some(1)
                } else {
                    threshold
                },
                consecutive,
                slow,
                origin,
                calls,
            },
        )
}

proptest! {
    #![proptest_config(Config { cases: 2_000, failure_persistence: None, ..Config::default() })]

    /// The replay decides every call as the model does, and reports the same changes at the
    /// same instants.
    #[test]
    fn the_replay_matches_the_model(trace in trace(), batch in 1usize..12) {
        let expected = Model::run(&trace);
        let mut replay = Replay::new(&trace.settings()).unwrap();
        let decisions: Vec<Decision> = trace
            .records()
            .iter()
            .map(|r| replay.push(r).expect("in start order"))
            .collect();
        let (report, _) = replay.finish();

        // Fed in batches (calls that start and end in one batch take another path), the
        // report is the same.
        let mut batched = Replay::new(&trace.settings()).unwrap();
        for records in trace.records().chunks(batch) {
            batched.feed(records);
        }
        prop_assert_eq!(&batched.finish().0, &report);

        prop_assert_eq!(&decisions, &expected.decisions);
        prop_assert_eq!(&report.changes, &expected.changes);
        prop_assert_eq!(report.trips, expected.trips);
        let admitted = expected.decisions.iter().filter(|d| **d == Decision::Admitted).count();
        prop_assert_eq!(report.admitted, admitted as u64);
        prop_assert_eq!(report.rejected, (expected.decisions.len() - admitted) as u64);
        prop_assert_eq!(report.calls, trace.calls.len() as u64);
        prop_assert_eq!(report.span, Duration::from_nanos(expected.last_event));
        prop_assert_eq!(report.open_seconds, expected.open_nanos as f64 / 1e9);
        let rejected: Vec<Outcome> = trace
            .calls
            .iter()
            .zip(&decisions)
            .filter(|(_, d)| **d == Decision::Rejected)
            .map(|(c, _)| c.2)
            .collect();
        let count = |o: Outcome| rejected.iter().filter(|&&r| r == o).count() as u64;
        prop_assert_eq!(report.rejected_by_outcome.success, count(Outcome::Success));
        prop_assert_eq!(report.rejected_by_outcome.failure, count(Outcome::Failure));
        prop_assert_eq!(report.rejected_by_outcome.ignored, count(Outcome::Ignored));
    }
}
