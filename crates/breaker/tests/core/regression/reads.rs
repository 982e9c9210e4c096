//! Looking at a breaker changes nothing: formatting it reports no change and runs no observer;
//! the first real call carries out what the passing of time has done.

use std::time::Duration;

use breaker::{CircuitBreaker, ManualClock, Probing, State};

use super::{SEC, changes, fail, logger, probe};
use crate::support::secs;

/// The bug: `Debug` for [`CircuitBreaker`] brought the state up to date, as `state()` does,
/// carrying out and reporting the changes the passing of time had made: formatting a breaker
/// (a log line, a `dbg!`) closed an expired open period, or entered half-open, or failed a
/// timed-out probe, and called the observer from inside `fmt`.
#[test]
fn formatting_a_breaker_neither_changes_its_state_nor_calls_the_observer() {
    // Window recovery: an open period that has ended, unnoticed.
    let clock = ManualClock::new();
    let (log, observer) = logger();
    let cb = CircuitBreaker::builder()
        .window(SEC)
        .error_threshold(0)
        .clock(clock.clone())
        .on_state_change(observer)
        .build()
        .unwrap();
    fail(&cb); // open until 1 s
    clock.advance(secs(3));
    let shown = format!("{cb:?}");
    assert!(shown.starts_with("CircuitBreaker"), "{shown}");
    assert!(format!("{cb:#?}").contains("errors_in_window"));
    assert_eq!(
        changes(&log),
        [(State::Closed, State::Open, Duration::ZERO)],
        "formatting reported a change: {shown}"
    );
    // The first real call notices the end of the period, and reports it.
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(
        changes(&log),
        [
            (State::Closed, State::Open, Duration::ZERO),
            (State::Open, State::Closed, SEC),
        ]
    );

    // Probing: half-open with a probe that has run past its timeout.
    let clock = ManualClock::new();
    let (log, observer) = logger();
    let cb = CircuitBreaker::builder()
        .window(secs(60))
        .error_threshold(0)
        .probing(Probing::new(1).open_time(SEC).probe_timeout(secs(10)))
        .clock(clock.clone())
        .on_state_change(observer)
        .build()
        .unwrap();
    fail(&cb); // open until 1 s
    clock.advance(SEC);
    let stuck = probe(&cb); // times out at 11 s
    clock.advance(secs(20)); // 21 s: failed at 11 s, open until 12 s, half-open since 12 s
    let before = changes(&log);
    assert_eq!(
        before,
        [
            (State::Closed, State::Open, Duration::ZERO),
            (State::Open, State::HalfOpen, SEC),
        ]
    );
    let shown = format!("{cb:?} {cb:#?}");
    assert_eq!(
        changes(&log),
        before,
        "formatting reported a change: {shown}"
    );
    assert_eq!(cb.state(), State::HalfOpen);
    assert_eq!(
        changes(&log),
        [
            (State::Closed, State::Open, Duration::ZERO),
            (State::Open, State::HalfOpen, SEC),
            (State::HalfOpen, State::Open, secs(11)),
            (State::Open, State::HalfOpen, secs(12)),
        ]
    );
    drop(stuck); // a probe of a period that is over: nothing
    probe(&cb).success();
    assert_eq!(cb.state(), State::Closed);
}
