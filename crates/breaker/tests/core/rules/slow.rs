//! The slow-call rule: a success that ends more than the threshold after its permit was taken
//! is a failure, exactly at the threshold it is not; failures and ignored outcomes stay what they
//! are, probes and calls admitted while forced closed included.

use std::time::Duration;

use breaker::{Builder, Probing, Reason, State};

use super::{W, calls, window};
use crate::support::{NS, Timeline, secs};

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
