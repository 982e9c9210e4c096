//! The reason of every state change: which rule tripped, a probe failed, timed out or every probe
//! succeeded, the window emptied, the open time elapsed, `Retry-After`, forced, reset.

use std::time::Duration;

use breaker::{Builder, Probing, Reason, State};

use super::{W, calls, window};
use crate::support::{Timeline, secs};

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
