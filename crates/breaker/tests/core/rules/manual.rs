//! Manual control: forcing open and closed, resetting from every state, and `open_for`, which
//! lengthens an open period and never shortens it.

use std::time::Duration;

use breaker::{Builder, Clock, Probing, Reason, State};

use super::{W, calls, rejection, window};
use crate::support::{NS, Timeline, ms, secs};

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
