//! Races between a close by probes and a failure recorded at the same moment: the close empties
//! the window, and the failure counts once, before the close or after it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use breaker::{CircuitBreaker, Clock, ManualClock, Probing, State, StateChange};

use super::hook_clock::{HookClock, Reading};
use super::{SEC, changes, fail, leak, logger, probe};
use crate::support::secs;

/// T = 1, W = 60 s, one probe, open for 1 s.
fn one_probe(
    clock: impl Clock,
    observer: impl Fn(StateChange) + Send + Sync + 'static,
) -> CircuitBreaker {
    CircuitBreaker::builder()
        .window(secs(60))
        .error_threshold(1)
        .probing(Probing::new(1).open_time(SEC))
        .clock(clock)
        .on_state_change(observer)
        .build()
        .unwrap()
}

/// The bug: the close after P successful probes emptied the window stamp by stamp, while a
/// failure from a call admitted before the trip was being recorded into the same stamps. The
/// recording saw one stamp already cleared and the other still holding an old failure, put its
/// own in the cleared one and counted "more than T = 1 failures" with the stale one: the circuit,
/// just closed, tripped again with a single failure in the window.
///
/// The interleaving in the middle of the emptying cannot be forced with a clock hook (the close
/// empties the window with no clock read, and the failure reads the clock before it writes), so
/// the test forces both orders around the close and then races the two for real on two threads,
/// many times.
#[test]
fn a_late_failure_racing_the_close_by_probes_does_not_trip_alone() {
    // (a) The straggler reads the clock; there, the probe succeeds and closes the circuit.
    {
        let clock = HookClock::default();
        let (log, observer) = logger();
        let cb = leak(one_probe(clock.clone(), observer));
        let straggler = cb.try_acquire().unwrap(); // admitted while closed
        fail(cb);
        fail(cb); // {0, 0} trips: open until 1 s
        clock.advance(SEC);
        let p = probe(cb);
        clock.run_at_next_read(Reading::After, move || p.success());
        straggler.failure();
        assert!(clock.fired());
        assert_eq!(cb.errors_in_window(), 1, "(a) only the straggler is left");
        assert_eq!(
            cb.state(),
            State::Closed,
            "(a) one failure after the close tripped the circuit (T = 1)"
        );
        fail(cb); // the second failure in the window trips, as it should
        assert_eq!(cb.state(), State::Open);
        assert_eq!(
            changes(&log),
            [
                (State::Closed, State::Open, Duration::ZERO),
                (State::Open, State::HalfOpen, SEC),
                (State::HalfOpen, State::Closed, SEC),
                (State::Closed, State::Open, SEC),
            ]
        );
    }

    // (b) The probe reads the clock (before taking the lock); there, the straggler's failure is
    // recorded while half-open. Then the probe's success closes and clears the window.
    {
        let clock = HookClock::default();
        let cb = leak(one_probe(clock.clone(), |_| {}));
        let straggler = cb.try_acquire().unwrap();
        fail(cb);
        fail(cb);
        clock.advance(SEC);
        let p = probe(cb);
        clock.run_at_next_read(Reading::After, move || straggler.failure());
        p.success();
        assert!(clock.fired());
        assert_eq!(cb.state(), State::Closed, "(b)");
        assert_eq!(cb.errors_in_window(), 0, "(b) the close clears the window");
        fail(cb);
        assert_eq!(
            cb.state(),
            State::Closed,
            "(b) one failure does not exceed T = 1"
        );
    }

    // (c) The two for real, on two threads released together.
    for round in 0..5_000 {
        let clock = ManualClock::new();
        let cb = one_probe(clock.clone(), |_| {});
        let straggler = cb.try_acquire().unwrap();
        fail(&cb);
        fail(&cb);
        clock.advance(SEC);
        let p = probe(&cb);
        let ready = AtomicUsize::new(0);
        let ready = &ready;
        let release = move || {
            ready.fetch_add(1, Ordering::SeqCst);
            while ready.load(Ordering::SeqCst) < 2 {
                std::thread::yield_now();
            }
        };
        std::thread::scope(|s| {
            s.spawn(move || {
                release();
                straggler.failure();
            });
            release();
            p.success();
        });
        let errors = cb.errors_in_window();
        assert!(
            errors <= 1,
            "(c) round {round}: {errors} failures after the close"
        );
        assert_eq!(
            cb.state(),
            State::Closed,
            "(c) round {round}: tripped with {errors} failure(s) in the window (T = 1)"
        );
    }
}
