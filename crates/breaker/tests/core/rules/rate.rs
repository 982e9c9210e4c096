//! The failure-rate rule: it trips exactly at its ratio, once its minimum of calls is reached
//! (which a success can bring up), and a call stops counting at a bucket edge before it is W
//! old, never after.

use std::time::Duration;

use breaker::{Reason, State};

use super::{W, at, calls, window};
use crate::support::{NS, Timeline, ms, ns, secs};

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
