//! How long a trip lasts: a trip by a rule other than the count rule lasts exactly W without
//! probing (longer while the count rule holds the circuit open), and exactly the open time with
//! probing, whatever the rule.

use std::time::Duration;

use breaker::{Builder, Probing, Reason, State};

use super::{W, at, calls, rejection, window};
use crate::support::{NS, Timeline, secs};

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
