//! The consecutive-failures rule: n failures in a row trip; a success breaks the row, an ignored
//! outcome does not; a trip ends the row, and the row after a close starts at the close's
//! instant, whether or not anybody looked at the breaker then.

use breaker::{Probing, Reason, State};

use super::{W, at, calls, window};
use crate::support::{Timeline, ms, secs};

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
