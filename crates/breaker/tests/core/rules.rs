//! The trip rules and manual control on a `ManualClock`, on both sides of every boundary: the
//! failure rate at its ratio and its minimum of calls, the rate rule's buckets, the
//! consecutive-failures streak, the slow-call threshold, how long a trip by each rule lasts,
//! forcing, resetting, `open_for`, and the reason of every change. Time moves only through
//! `ManualClock::advance`; nothing sleeps and no duration is measured.
//!
//! Most tests are tables: one row per case, each run on a fresh breaker.

use std::time::Duration;

use crate::support::{Timeline, ms, ns, secs};
use breaker::{Builder, CircuitBreaker, CircuitOpenError, Clock, Probing, Reason, State};

const NS: Duration = Duration::from_nanos(1);

/// W for most tests: the rate rule's 16 buckets are then 1 s wide.
const W: Duration = Duration::from_secs(16);

fn window(w: Duration) -> Builder {
    CircuitBreaker::builder().window(w)
}

/// Records one outcome per letter, all at the current instant: `S` success, `F` failure, `I`
/// ignored, `D` a permit dropped untold. Panics if a call is rejected.
fn calls(tl: &Timeline, script: &str) {
    for c in script.chars() {
        let permit = tl
            .cb
            .try_acquire()
            .unwrap_or_else(|e| panic!("{script:?}: the call {c:?} was rejected ({e})"));
        match c {
            'S' => permit.success(),
            'F' => permit.failure(),
            'I' => permit.ignore(),
            'D' => drop(permit),
            _ => panic!("{script:?}: no outcome {c:?}"),
        }
    }
}

/// The rejection a call gets now; panics if it is admitted.
fn rejection(tl: &Timeline) -> CircuitOpenError {
    match tl.cb.try_acquire() {
        Ok(p) => panic!(
            "expected a rejection, got a permit (probe: {})",
            p.is_probe()
        ),
        Err(e) => e,
    }
}

/// Moves the clock to `t` (from the start of the timeline).
fn at(tl: &Timeline, t: Duration) {
    let now = tl.clock.now();
    assert!(t >= now, "the timeline goes forward: {t:?} < {now:?}");
    tl.advance(t - now);
}

// ---------------------------------------------------------------------------------------------
// Failure rate: the ratio and the minimum of calls
// ---------------------------------------------------------------------------------------------

#[test]
fn the_rate_trips_exactly_at_the_ratio_and_not_just_under_it() {
    // (ratio, min_calls, outcomes at one instant, state after them)
    let cases = [
        (0.5, 4, "SSFF", State::Open),    // 2 of 4 = 0.5
        (0.5, 4, "SSSFF", State::Closed), // 2 of 5 = 0.4
        (0.6, 5, "SSFFF", State::Open),   // 3 of 5 = 0.6
        (0.61, 5, "SSFFF", State::Closed),
        (1.0 / 3.0, 3, "SSF", State::Open), // 1 of 3
        (0.34, 3, "SSF", State::Closed),
        (0.75, 4, "SFFF", State::Open),    // 3 of 4
        (0.75, 4, "SSFFF", State::Closed), // 3 of 5 = 0.6
        (1.0, 3, "FFF", State::Open),
        (1.0, 2, "SFF", State::Closed), // 2 of 3
    ];
    for (ratio, min_calls, script, state) in cases {
        let tl = Timeline::with(window(W).failure_rate(ratio, min_calls));
        tl.advance(secs(1));
        calls(&tl, script);
        let case = format!("ratio {ratio}, min_calls {min_calls}, {script}");
        assert_eq!(tl.state(), state, "{case}");
        let expected = match state {
            State::Open => vec![(State::Closed, State::Open, secs(1), Reason::FailureRate)],
            _ => vec![],
        };
        assert_eq!(tl.log(), expected, "{case}");
    }
}

#[test]
fn the_rate_waits_for_min_calls_which_a_success_can_bring_up() {
    // ratio 0.5: (min_calls, outcomes, state after them)
    let cases = [
        (3, "FF", State::Closed),   // 2 of 2, but min_calls - 1 calls
        (3, "FFF", State::Open),    // min_calls calls
        (3, "FFS", State::Open),    // the success is the third call: 2 of 3
        (3, "FFI", State::Closed),  // an ignored call does not count
        (3, "FFD", State::Closed),  // nor does a dropped one
        (3, "FFIDF", State::Open),  // 3 of 3
        (1, "F", State::Open),      // one call is enough
        (1, "S", State::Closed),    // 0 of 1
        (4, "FFFS", State::Open),   // 3 of 4, on the success
        (4, "FSSS", State::Closed), // 1 of 4 = 0.25
        (5, "FFFS", State::Closed), // min_calls - 1
    ];
    for (min_calls, script, state) in cases {
        let tl = Timeline::with(window(W).failure_rate(0.5, min_calls));
        calls(&tl, script);
        assert_eq!(tl.state(), state, "min_calls {min_calls}, {script}");
    }
}

// ---------------------------------------------------------------------------------------------
// Failure rate: the buckets
// ---------------------------------------------------------------------------------------------

/// A call stamped `stamp` stops counting at `stops`: the start of the bucket 16 buckets after
/// its own. That is never later than W after it, and at most one bucket (plus rounding) earlier.
#[test]
fn a_call_stops_counting_at_a_bucket_edge_before_it_is_w_old_never_after() {
    // (W, the call's stamp, the first instant it no longer counts)
    let cases = [
        (W, secs(3), secs(19)),                 // at a bucket's start: exactly W old
        (W, ms(3_500), secs(19)),               // mid-bucket: half a bucket early
        (W, secs(4) - NS, secs(19)),            // a bucket's last nanosecond: a bucket - 1 ns early
        (W + ns(15), Duration::ZERO, secs(16)), // W / 16 rounded down to 1 s
        (W + ns(15), secs(5), secs(21)),
        (ns(10), ns(3), ns(13)), // under 16 ns: 1 ns buckets, exact
        (ns(1), ns(3), ns(4)),
    ];
    for (w, stamp, stops) in cases {
        let case = format!("W = {w:?}, stamp {stamp:?}");
        let width = (w / 16).max(NS);
        assert!(stops <= stamp + w, "{case}: the table is wrong");
        assert!(
            stops + width + ns(16) > stamp + w,
            "{case}: the table is wrong"
        );

        // The rate alone (no count rule): errors_in_window is the rate rule's failures.
        let tl = Timeline::with(window(w).failure_rate(1.0, 2));
        at(&tl, stamp);
        calls(&tl, "F");
        at(&tl, stops - NS);
        assert_eq!(tl.cb.errors_in_window(), 1, "{case}: 1 ns before {stops:?}");
        tl.advance(NS);
        assert_eq!(tl.cb.errors_in_window(), 0, "{case}: at {stops:?}");

        // And for the rule: 2 of 2 calls trip it, 1 of 1 is under min_calls.
        for (when, state) in [(stops - NS, State::Open), (stops, State::Closed)] {
            let tl = Timeline::with(window(w).failure_rate(1.0, 2));
            at(&tl, stamp);
            calls(&tl, "F");
            at(&tl, when);
            calls(&tl, "F");
            assert_eq!(tl.state(), state, "{case}: second failure at {when:?}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Consecutive failures
// ---------------------------------------------------------------------------------------------

#[test]
fn n_failures_in_a_row_trip_a_success_breaks_the_row_an_ignored_outcome_does_not() {
    // (n, outcomes, state after them)
    let cases = [
        (3, "FF", State::Closed), // n - 1
        (3, "FFF", State::Open),  // n
        (3, "FFSF", State::Closed),
        (3, "FFSFF", State::Closed),
        (3, "FFSFFF", State::Open),
        (3, "FFIF", State::Open), // an ignored outcome does not break the row
        (3, "FFDF", State::Open), // nor does a dropped permit
        (3, "IFIFIF", State::Open),
        (1, "F", State::Open),
        (1, "SIS", State::Closed),
        (2, "FSFSF", State::Closed),
    ];
    for (n, script, state) in cases {
        let tl = Timeline::with(window(W).consecutive_failures(n));
        tl.advance(secs(1));
        calls(&tl, script);
        assert_eq!(tl.state(), state, "n = {n}, {script}");
        if state == State::Open {
            assert_eq!(
                tl.log(),
                [(
                    State::Closed,
                    State::Open,
                    secs(1),
                    Reason::ConsecutiveFailures
                )],
                "n = {n}, {script}"
            );
        }
    }
}

/// How a tripped circuit is brought back to closed, for the streak tests.
#[derive(Debug, Clone, Copy)]
enum Close {
    /// Window recovery: the trip lasts W.
    Window,
    /// Probing: one probe succeeds.
    Probe,
    /// `reset()`.
    Reset,
}

#[test]
fn a_trip_ends_the_streak_and_n_new_failures_are_needed_after_the_close() {
    for close in [Close::Window, Close::Probe, Close::Reset] {
        let mut b = window(W).consecutive_failures(2);
        if let Close::Probe = close {
            b = b.probing(Probing::new(1).open_time(secs(1)));
        }
        let tl = Timeline::with(b);
        let late = tl.cb.try_acquire().unwrap(); // admitted before the trip
        calls(&tl, "FF");
        assert_eq!(tl.state(), State::Open, "{close:?}");
        tl.advance(ms(500));
        late.failure(); // while open: no part of the next streak
        match close {
            Close::Window => tl.advance(W - ms(500)),
            Close::Probe => {
                tl.advance(ms(500));
                calls(&tl, "S");
            }
            Close::Reset => tl.cb.reset(),
        }
        assert_eq!(tl.state(), State::Closed, "{close:?}");
        calls(&tl, "F");
        assert_eq!(
            tl.state(),
            State::Closed,
            "{close:?}: 1 of 2 after the close"
        );
        calls(&tl, "F");
        assert_eq!(tl.state(), State::Open, "{close:?}: 2 of 2 after the close");
    }
}

// ---------------------------------------------------------------------------------------------
// Slow calls
// ---------------------------------------------------------------------------------------------

/// A breaker whose `rule` trips on one failure, with a slow-call threshold of 1 s.
fn one_failure_trips(rule: Reason) -> Builder {
    let b = window(W).slow_call(secs(1));
    match rule {
        Reason::FailureCount => b.error_threshold(0),
        Reason::FailureRate => b.failure_rate(1.0, 1),
        Reason::ConsecutiveFailures => b.consecutive_failures(1),
        other => unreachable!("{other:?}"),
    }
}

#[test]
fn a_success_exactly_at_the_slow_threshold_is_a_success_and_one_nanosecond_over_a_failure() {
    let rules = [
        Reason::FailureCount,
        Reason::FailureRate,
        Reason::ConsecutiveFailures,
    ];
    // (time from the permit to the success, state after it)
    let cases = [
        (Duration::ZERO, State::Closed),
        (secs(1) - NS, State::Closed),
        (secs(1), State::Closed),
        (secs(1) + NS, State::Open),
        (secs(5), State::Open),
    ];
    for rule in rules {
        for (took, state) in cases {
            let tl = Timeline::with(one_failure_trips(rule));
            let permit = tl.cb.try_acquire().unwrap();
            tl.advance(took);
            permit.success();
            assert_eq!(tl.state(), state, "{rule:?}, took {took:?}");
            let expected = match state {
                State::Open => vec![(State::Closed, State::Open, took, rule)],
                _ => vec![],
            };
            assert_eq!(tl.log(), expected, "{rule:?}, took {took:?}");
        }
    }
}

#[test]
fn slow_failures_and_ignored_outcomes_stay_what_they_are() {
    // Only a success can be slow: a slow ignored call is still ignored.
    let tl = Timeline::with(one_failure_trips(Reason::FailureCount));
    let permit = tl.cb.try_acquire().unwrap();
    tl.advance(secs(2));
    permit.ignore();
    assert_eq!((tl.state(), tl.cb.errors_in_window()), (State::Closed, 0));
    // A fast failure is a failure.
    calls(&tl, "F");
    assert_eq!(tl.state(), State::Open);
}

#[test]
fn a_slow_probe_fails_and_one_exactly_at_the_threshold_succeeds() {
    // (time from the probe's permit to its success, the change it makes)
    let cases = [
        (
            secs(1),
            (State::HalfOpen, State::Closed, Reason::ProbesSucceeded),
        ),
        (
            secs(1) + NS,
            (State::HalfOpen, State::Open, Reason::ProbeFailed),
        ),
    ];
    for (took, (from, to, reason)) in cases {
        let tl = Timeline::with(
            window(W)
                .error_threshold(0)
                .slow_call(secs(1))
                .probing(Probing::new(1).open_time(secs(2)).probe_timeout(secs(5))),
        );
        calls(&tl, "F"); // open until 2 s
        tl.advance(secs(2));
        let probe = tl.cb.try_acquire().unwrap();
        assert!(probe.is_probe());
        tl.advance(took);
        probe.success();
        assert_eq!(tl.state(), to, "took {took:?}");
        assert_eq!(
            tl.log().last(),
            Some(&(from, to, secs(2) + took, reason)),
            "took {took:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// How long a trip lasts
// ---------------------------------------------------------------------------------------------

/// How a trip is made, for the duration tests: the rule, and a builder with it (and other
/// rules that do not fire).
fn tripping(rule: Reason) -> (Builder, &'static str) {
    match rule {
        Reason::FailureCount => (window(W).error_threshold(1), "FF"),
        // The count rule is on, with fewer failures than T: it does not hold the circuit open.
        Reason::FailureRate => (window(W).error_threshold(5).failure_rate(0.5, 2), "FS"),
        Reason::ConsecutiveFailures => (window(W).error_threshold(5).consecutive_failures(2), "FF"),
        other => unreachable!("{other:?}"),
    }
}

#[test]
fn a_trip_by_another_rule_lasts_exactly_w_without_probing() {
    // (rule, how it ends)
    let cases = [
        (Reason::FailureRate, Reason::OpenTimeElapsed),
        (Reason::ConsecutiveFailures, Reason::OpenTimeElapsed),
        // The count rule: until the window falls back to T, here W after both failures.
        (Reason::FailureCount, Reason::WindowEmptied),
    ];
    for (rule, ends) in cases {
        let (b, script) = tripping(rule);
        let tl = Timeline::with(b);
        tl.advance(secs(1));
        calls(&tl, script); // trips at 1 s
        assert_eq!(rejection(&tl).retry_after(), W, "{rule:?}");
        tl.advance(W - NS);
        assert_eq!(tl.state(), State::Open, "{rule:?}: at W - 1 ns");
        assert_eq!(rejection(&tl).retry_after(), NS, "{rule:?}");
        tl.advance(NS);
        assert_eq!(tl.state(), State::Closed, "{rule:?}: at W");
        assert_eq!(
            tl.log(),
            [
                (State::Closed, State::Open, secs(1), rule),
                (State::Open, State::Closed, secs(1) + W, ends),
            ],
            "{rule:?}"
        );
    }
}

#[test]
fn a_trip_by_any_rule_lasts_exactly_the_open_time_with_probing() {
    let open = secs(3);
    for rule in [
        Reason::FailureCount,
        Reason::FailureRate,
        Reason::ConsecutiveFailures,
    ] {
        let (b, script) = tripping(rule);
        let tl = Timeline::with(b.probing(Probing::new(1).open_time(open)));
        tl.advance(secs(1));
        calls(&tl, script);
        assert_eq!(rejection(&tl).retry_after(), open, "{rule:?}");
        tl.advance(open - NS);
        assert_eq!(tl.state(), State::Open, "{rule:?}: at the open time - 1 ns");
        tl.advance(NS);
        assert_eq!(tl.state(), State::HalfOpen, "{rule:?}: at the open time");
        assert_eq!(
            tl.log(),
            [
                (State::Closed, State::Open, secs(1), rule),
                (
                    State::Open,
                    State::HalfOpen,
                    secs(1) + open,
                    Reason::OpenTimeElapsed
                ),
            ],
            "{rule:?}"
        );
    }
}

#[test]
fn a_trip_by_another_rule_stays_open_while_the_count_rule_holds_it() {
    // T = 1 and two rules: the streak trips at 0; late failures at 10 s and 12 s put the
    // count window over T until 10 s + W = 26 s, past the streak's W (16 s).
    let tl = Timeline::with(window(W).error_threshold(1).consecutive_failures(1));
    let (a, b) = (tl.cb.try_acquire().unwrap(), tl.cb.try_acquire().unwrap());
    calls(&tl, "F");
    tl.advance(secs(10));
    a.failure();
    tl.advance(secs(2));
    b.failure();
    assert_eq!(rejection(&tl).retry_after(), secs(14));
    at(&tl, secs(26) - NS);
    assert_eq!(tl.state(), State::Open);
    tl.advance(NS);
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(
        tl.log(),
        [
            (
                State::Closed,
                State::Open,
                Duration::ZERO,
                Reason::ConsecutiveFailures
            ),
            (State::Open, State::Closed, secs(26), Reason::WindowEmptied),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Forcing
// ---------------------------------------------------------------------------------------------

/// A breaker with every rule and probing, brought to `state`.
fn in_state(state: State) -> Timeline {
    let tl = Timeline::with(
        window(W)
            .error_threshold(0)
            .failure_rate(0.5, 2)
            .consecutive_failures(2)
            .probing(Probing::new(1).open_time(secs(1))),
    );
    match state {
        State::Closed => {}
        State::Open => calls(&tl, "F"),
        State::HalfOpen => {
            calls(&tl, "F");
            tl.advance(secs(1));
        }
        State::ForcedOpen => tl.cb.force_open(),
        State::ForcedClosed => tl.cb.force_closed(),
        other => unreachable!("{other:?}"),
    }
    assert_eq!(tl.state(), state);
    tl
}

const STATES: [State; 5] = [
    State::Closed,
    State::Open,
    State::HalfOpen,
    State::ForcedOpen,
    State::ForcedClosed,
];

#[test]
fn forced_open_rejects_every_call_as_forced_until_reset() {
    for from in STATES {
        let tl = in_state(from);
        let before = tl.log();
        let t = tl.clock.now();
        tl.cb.force_open();
        tl.cb.force_open(); // again: no second change
        for wait in [Duration::ZERO, NS, secs(1), W, W * 1_000] {
            tl.advance(wait);
            assert_eq!(tl.state(), State::ForcedOpen, "from {from:?}");
            let e = rejection(&tl);
            assert!(e.is_forced(), "from {from:?}");
            assert_eq!(e.retry_after(), Duration::MAX, "from {from:?}");
        }
        tl.cb.open_for(secs(1)); // leaves a forced state alone
        assert_eq!(tl.state(), State::ForcedOpen);
        let reset_at = tl.clock.now();
        tl.cb.reset();
        assert_eq!(tl.state(), State::Closed, "from {from:?}");
        assert!(tl.cb.try_acquire().is_ok(), "from {from:?}");
        let mut expected = before;
        if from != State::ForcedOpen {
            expected.push((from, State::ForcedOpen, t, Reason::Forced));
        }
        expected.push((State::ForcedOpen, State::Closed, reset_at, Reason::Reset));
        assert_eq!(tl.log(), expected, "from {from:?}");
    }
}

#[test]
fn forced_closed_admits_every_call_and_nothing_trips_until_reset() {
    for from in STATES {
        let tl = in_state(from);
        let before = tl.log();
        let t = tl.clock.now();
        tl.cb.force_closed();
        // Every rule would fire many times over.
        for _ in 0..10 {
            calls(&tl, "FFSF");
            tl.advance(ms(100));
        }
        tl.cb.open_for(secs(30));
        assert_eq!(tl.state(), State::ForcedClosed, "from {from:?}");
        // The outcomes are still counted (T = 0: it saturates at 1).
        assert_eq!(tl.cb.errors_in_window(), 1, "from {from:?}");
        let reset_at = tl.clock.now();
        tl.cb.reset();
        assert_eq!((tl.state(), tl.cb.errors_in_window()), (State::Closed, 0));
        let mut expected = before;
        if from != State::ForcedClosed {
            expected.push((from, State::ForcedClosed, t, Reason::Forced));
        }
        expected.push((State::ForcedClosed, State::Closed, reset_at, Reason::Reset));
        assert_eq!(tl.log(), expected, "from {from:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Reset
// ---------------------------------------------------------------------------------------------

#[test]
fn reset_empties_the_window_of_every_rule() {
    // (breaker, outcomes one short of a trip): after a reset the next failure is the first.
    type Case = (&'static str, fn() -> Builder, &'static str);
    let cases: [Case; 4] = [
        ("count", || window(W).error_threshold(2), "FF"),
        ("rate", || window(W).failure_rate(1.0, 3), "FF"),
        ("consecutive", || window(W).consecutive_failures(3), "FF"),
        (
            "all",
            || {
                window(W)
                    .error_threshold(4)
                    .failure_rate(0.5, 6)
                    .consecutive_failures(5)
            },
            "FFFF",
        ),
    ];
    for (name, builder, script) in cases {
        for reset in [false, true] {
            let tl = Timeline::with(builder());
            calls(&tl, script);
            assert_eq!(tl.state(), State::Closed, "{name}");
            if reset {
                tl.cb.reset();
                assert_eq!(tl.cb.errors_in_window(), 0, "{name}");
                assert!(
                    tl.log().is_empty(),
                    "{name}: a reset while closed is no change"
                );
            }
            calls(&tl, "F");
            let state = if reset { State::Closed } else { State::Open };
            assert_eq!(tl.state(), state, "{name}, reset: {reset}");
        }
    }
}

#[test]
fn reset_closes_from_every_state_and_forgets_the_probes_in_flight() {
    for from in STATES {
        let tl = in_state(from);
        let probe = (from == State::HalfOpen).then(|| tl.cb.try_acquire().unwrap());
        tl.cb.reset();
        assert_eq!((tl.state(), tl.cb.errors_in_window()), (State::Closed, 0));
        if from != State::Closed {
            assert_eq!(
                tl.log().last(),
                Some(&(from, State::Closed, tl.clock.now(), Reason::Reset))
            );
        }
        if let Some(probe) = probe {
            probe.failure(); // of a half-open period that is over: nothing
            assert_eq!((tl.state(), tl.cb.errors_in_window()), (State::Closed, 0));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// open_for
// ---------------------------------------------------------------------------------------------

#[test]
fn open_for_opens_a_closed_circuit_for_exactly_that_long() {
    let tl = Timeline::new(W, 3);
    tl.advance(secs(1));
    tl.cb.open_for(secs(5));
    assert_eq!(rejection(&tl).retry_after(), secs(5));
    tl.advance(secs(5) - NS);
    assert_eq!(tl.state(), State::Open);
    tl.advance(NS);
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(
        tl.log(),
        [
            (State::Closed, State::Open, secs(1), Reason::RetryAfter),
            (State::Open, State::Closed, secs(6), Reason::OpenTimeElapsed),
        ]
    );
    tl.cb.open_for(Duration::ZERO); // no time at all: nothing
    assert_eq!((tl.state(), tl.log().len()), (State::Closed, 2));
}

#[test]
fn open_for_lengthens_an_open_period_but_never_shortens_it() {
    // A count trip at 0 is open until W (16 s); at 4 s, open_for(d): (d, retry_after then)
    let cases = [
        (Duration::ZERO, secs(12)),
        (secs(1), secs(12)),
        (secs(12) - NS, secs(12)),
        (secs(12), secs(12)),
        (secs(12) + NS, secs(12) + NS),
        (secs(30), secs(30)),
    ];
    for probing in [false, true] {
        for (d, retry) in cases {
            let mut b = window(W).error_threshold(0);
            if probing {
                b = b.probing(Probing::new(1).open_time(W));
            }
            let tl = Timeline::with(b);
            calls(&tl, "F");
            tl.advance(secs(4));
            tl.cb.open_for(d);
            assert_eq!(
                rejection(&tl).retry_after(),
                retry,
                "probing {probing}, {d:?}"
            );
            tl.advance(retry - NS);
            assert_eq!(tl.state(), State::Open, "probing {probing}, {d:?}");
            tl.advance(NS);
            let after = if probing {
                State::HalfOpen
            } else {
                State::Closed
            };
            assert_eq!(tl.state(), after, "probing {probing}, {d:?}");
            assert_eq!(
                tl.log().len(),
                2,
                "lengthening is no change: {:?}",
                tl.log()
            );
        }
    }
}

#[test]
fn open_for_while_half_open_reopens_and_keeps_the_backoff_step() {
    let tl = Timeline::with(
        window(W)
            .error_threshold(0)
            .probing(Probing::new(1).open_time(secs(1)).backoff(2.0, secs(60))),
    );
    calls(&tl, "F"); // step 0: open until 1 s
    tl.advance(secs(1));
    calls(&tl, "F"); // the probe fails: step 1, open until 3 s
    tl.advance(secs(2));
    let probe = tl.cb.try_acquire().unwrap(); // half-open at 3 s
    tl.cb.open_for(secs(5)); // open until 8 s
    assert_eq!(rejection(&tl).retry_after(), secs(5));
    probe.success(); // of a half-open period that is over
    tl.advance(secs(5));
    assert_eq!(tl.state(), State::HalfOpen);
    calls(&tl, "F"); // the next failed probe: step 2 (4 s), as after step 1
    assert_eq!(rejection(&tl).retry_after(), secs(4));
    assert_eq!(
        tl.reasons(),
        [
            Reason::FailureCount,
            Reason::OpenTimeElapsed,
            Reason::ProbeFailed,
            Reason::OpenTimeElapsed,
            Reason::RetryAfter,
            Reason::OpenTimeElapsed,
            Reason::ProbeFailed,
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// The reason of every change
// ---------------------------------------------------------------------------------------------

type Log = Vec<(State, State, Duration, Reason)>;

/// One timeline per reason (each starting with 1 s on the clock) and the changes it makes.
fn reason_timelines() -> Vec<(Reason, Timeline, Log)> {
    use State::{Closed, ForcedClosed, ForcedOpen, HalfOpen, Open};
    let probing = || {
        window(W)
            .error_threshold(0)
            .probing(Probing::new(1).open_time(secs(2)).probe_timeout(secs(5)))
    };
    let start = |b: Builder| {
        let tl = Timeline::with(b);
        tl.advance(secs(1));
        tl
    };
    let mut out = Vec::new();

    let tl = start(window(W).error_threshold(0));
    calls(&tl, "F");
    out.push((
        Reason::FailureCount,
        tl,
        vec![(Closed, Open, secs(1), Reason::FailureCount)],
    ));

    let tl = start(window(W).failure_rate(0.5, 2));
    calls(&tl, "FS");
    out.push((
        Reason::FailureRate,
        tl,
        vec![(Closed, Open, secs(1), Reason::FailureRate)],
    ));

    let tl = start(window(W).consecutive_failures(2));
    calls(&tl, "FF");
    let log = vec![(Closed, Open, secs(1), Reason::ConsecutiveFailures)];
    out.push((Reason::ConsecutiveFailures, tl, log));

    let tl = start(window(W));
    tl.cb.open_for(secs(3));
    out.push((
        Reason::RetryAfter,
        tl,
        vec![(Closed, Open, secs(1), Reason::RetryAfter)],
    ));

    let half_open = || {
        let tl = start(probing());
        calls(&tl, "F");
        tl.advance(secs(2));
        tl
    };
    let opened = vec![
        (Closed, Open, secs(1), Reason::FailureCount),
        (Open, HalfOpen, secs(3), Reason::OpenTimeElapsed),
    ];
    let then = |last| {
        let mut log = opened.clone();
        log.push(last);
        log
    };

    let tl = half_open();
    calls(&tl, "F");
    let log = then((HalfOpen, Open, secs(3), Reason::ProbeFailed));
    out.push((Reason::ProbeFailed, tl, log));

    let tl = half_open();
    let hung = tl.cb.try_acquire().unwrap();
    tl.advance(secs(6));
    assert_eq!(tl.state(), State::Open);
    drop(hung);
    let log = then((HalfOpen, Open, secs(8), Reason::ProbeTimedOut));
    out.push((Reason::ProbeTimedOut, tl, log));

    let tl = half_open();
    calls(&tl, "S");
    let log = then((HalfOpen, Closed, secs(3), Reason::ProbesSucceeded));
    out.push((Reason::ProbesSucceeded, tl, log));

    let tl = start(window(W).error_threshold(0));
    calls(&tl, "F");
    tl.advance(W);
    assert_eq!(tl.state(), State::Closed);
    let log = vec![
        (Closed, Open, secs(1), Reason::FailureCount),
        (Open, Closed, secs(17), Reason::WindowEmptied),
    ];
    out.push((Reason::WindowEmptied, tl, log));

    let tl = start(window(W).consecutive_failures(1));
    calls(&tl, "F");
    tl.advance(W);
    assert_eq!(tl.state(), State::Closed);
    let log = vec![
        (Closed, Open, secs(1), Reason::ConsecutiveFailures),
        (Open, Closed, secs(17), Reason::OpenTimeElapsed),
    ];
    out.push((Reason::OpenTimeElapsed, tl, log));

    let tl = half_open();
    assert_eq!(tl.state(), State::HalfOpen);
    out.push((Reason::OpenTimeElapsed, tl, opened.clone()));

    let tl = start(window(W));
    tl.cb.force_open();
    tl.advance(secs(1));
    tl.cb.force_closed();
    let log = vec![
        (Closed, ForcedOpen, secs(1), Reason::Forced),
        (ForcedOpen, ForcedClosed, secs(2), Reason::Forced),
    ];
    out.push((Reason::Forced, tl, log));

    let tl = start(window(W).error_threshold(0));
    calls(&tl, "F");
    tl.advance(secs(1));
    tl.cb.reset();
    let log = vec![
        (Closed, Open, secs(1), Reason::FailureCount),
        (Open, Closed, secs(2), Reason::Reset),
    ];
    out.push((Reason::Reset, tl, log));

    out
}

#[test]
fn every_change_says_why_it_happened() {
    let mut seen = Vec::new();
    for (reason, tl, expected) in reason_timelines() {
        assert_eq!(tl.log(), expected, "{reason:?}");
        assert_eq!(expected.last().map(|c| c.3), Some(reason));
        seen.push(reason);
    }
    // Every reason has its timeline.
    for reason in [
        Reason::FailureCount,
        Reason::FailureRate,
        Reason::ConsecutiveFailures,
        Reason::RetryAfter,
        Reason::ProbeFailed,
        Reason::ProbeTimedOut,
        Reason::ProbesSucceeded,
        Reason::WindowEmptied,
        Reason::OpenTimeElapsed,
        Reason::Forced,
        Reason::Reset,
    ] {
        assert!(seen.contains(&reason), "no timeline for {reason:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Regressions: bugs the model found, each fixed
// ---------------------------------------------------------------------------------------------

/// A call admitted while forced closed is still a call: when it succeeds more than the
/// slow-call threshold after its permit was taken, it is a failure, in the window while forced
/// closed and for every rule once the circuit is back to automatic.
#[test]
fn a_slow_success_of_a_call_admitted_while_forced_closed_is_a_failure() {
    // Counted in the window while forced closed.
    let tl = Timeline::with(window(W).error_threshold(3).slow_call(secs(1)));
    tl.cb.force_closed();
    let permit = tl.cb.try_acquire().unwrap();
    tl.advance(secs(2));
    permit.success();
    assert_eq!(
        tl.cb.errors_in_window(),
        1,
        "a slow success while forced closed"
    );

    // A trip, when it ends after a reset.
    let tl = Timeline::with(window(W).error_threshold(0).slow_call(secs(1)));
    tl.cb.force_closed();
    let permit = tl.cb.try_acquire().unwrap();
    tl.cb.reset();
    tl.advance(secs(2));
    permit.success();
    assert_eq!(
        tl.state(),
        State::Open,
        "a slow success after the reset (T = 0)"
    );
}

/// The window was never over T: the period opened by another rule (or `open_for`) ran its time
/// out, and a failure stamped after its end must not make the close look like the window's.
#[test]
fn a_close_is_window_emptied_only_if_the_window_was_over_t_just_before_it() {
    // (a): T = 2, consecutive 2: the streak trips at 0 with 2 failures (not over T); a late
    // failure at 20 s, recorded before anybody looked, is the third of the T + 1 latest.
    let tl = Timeline::with(window(W).error_threshold(2).consecutive_failures(2));
    let late = tl.cb.try_acquire().unwrap();
    calls(&tl, "FF");
    tl.advance(secs(20));
    late.failure();
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(
        tl.log(),
        [
            (
                State::Closed,
                State::Open,
                Duration::ZERO,
                Reason::ConsecutiveFailures
            ),
            (State::Open, State::Closed, W, Reason::OpenTimeElapsed),
        ]
    );

    // (b): T = 0: open_for(5 s) at 0, and a late failure at 5 s trips the count rule.
    let tl = Timeline::with(window(W).error_threshold(0));
    let late = tl.cb.try_acquire().unwrap();
    tl.cb.open_for(secs(5));
    tl.advance(secs(5));
    late.failure();
    assert_eq!(
        tl.log(),
        [
            (
                State::Closed,
                State::Open,
                Duration::ZERO,
                Reason::RetryAfter
            ),
            (State::Open, State::Closed, secs(5), Reason::OpenTimeElapsed),
            (State::Closed, State::Open, secs(5), Reason::FailureCount),
        ]
    );
}

/// The streak ends when the circuit closes, at the instant it closes, whether or not anybody
/// has looked at the breaker since: a failure after the close is the first of the new streak.
#[test]
fn a_failure_after_an_unnoticed_close_is_the_first_of_the_new_streak() {
    // n = 2: the trip at 0 lasts until W. Two failures after W: the first from a call admitted
    // before the trip, recorded before anybody looked.
    for look_first in [true, false] {
        let tl = Timeline::with(window(W).consecutive_failures(2));
        let late = tl.cb.try_acquire().unwrap();
        calls(&tl, "FF");
        tl.advance(W + secs(1));
        if look_first {
            assert_eq!(tl.state(), State::Closed);
        }
        late.failure();
        assert_eq!(tl.state(), State::Closed, "look first: {look_first}");
        calls(&tl, "F");
        assert_eq!(
            tl.state(),
            State::Open,
            "look first: {look_first}: 2 after the close"
        );
    }
}

/// The other side of the same bug: failures recorded while open are no part of the streak after
/// the close, whether or not anybody has looked.
#[test]
fn failures_before_an_unnoticed_close_are_no_part_of_the_new_streak() {
    // n = 2: the trip at 0 lasts until W; a late failure at 5 s (while open), another at W
    // (after the close, before anybody looked): one failure after the close.
    for look_first in [true, false] {
        let tl = Timeline::with(window(W).consecutive_failures(2));
        let (a, b) = (tl.cb.try_acquire().unwrap(), tl.cb.try_acquire().unwrap());
        calls(&tl, "FF");
        tl.advance(secs(5));
        a.failure();
        at(&tl, W);
        if look_first {
            assert_eq!(tl.state(), State::Closed);
        }
        b.failure();
        assert_eq!(
            tl.state(),
            State::Closed,
            "look first: {look_first}: 1 after the close"
        );
    }
}
