//! Window timelines on a `ManualClock`: when failures count, when the circuit trips, and the exact
//! instant it closes again under the default (window) recovery rule. Time moves only through
//! `ManualClock::advance`; nothing sleeps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use breaker::{EXACT_MAX_THRESHOLD, Error, Outcome, State};

use crate::support::{NS, Timeline, ms, secs};

// ---------------------------------------------------------------------------------------------
// The edge of the window
// ---------------------------------------------------------------------------------------------

#[test]
fn a_failure_counts_until_one_nanosecond_before_it_is_w_old() {
    let tl = Timeline::new(secs(10), 5);
    tl.advance(secs(3));
    tl.fail(); // t = 3 s
    assert_eq!(tl.cb.errors_in_window(), 1);

    tl.advance(secs(10) - NS); // t + W - 1 ns
    assert_eq!(tl.cb.errors_in_window(), 1);

    tl.advance(NS); // t + W: exactly W old, expired
    assert_eq!(tl.cb.errors_in_window(), 0);
}

#[test]
fn a_tripping_failure_keeps_the_circuit_open_until_one_nanosecond_before_it_is_w_old() {
    let tl = Timeline::new(secs(10), 0);
    tl.advance(secs(3));
    tl.fail(); // t = 3 s trips (T = 0)
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(10));

    tl.advance(secs(10) - NS); // t + W - 1 ns
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.cb.errors_in_window(), 1);
    assert_eq!(tl.retry_after(), NS);

    tl.advance(NS); // t + W
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(tl.cb.errors_in_window(), 0);
    assert!(tl.cb.try_acquire().is_ok());
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, secs(3)),
            (State::Open, State::Closed, secs(13)),
        ]
    );
}

#[test]
fn the_edge_holds_for_each_of_several_failures_in_the_window() {
    let tl = Timeline::new(ms(1_000), 10);
    for _ in 0..4 {
        tl.fail();
        tl.advance(ms(100));
    }
    // Failures at 0, 100, 200, 300 ms; now = 400 ms.
    assert_eq!(tl.cb.errors_in_window(), 4);
    tl.advance(ms(600) - NS); // 1 s - 1 ns: the first still counts
    assert_eq!(tl.cb.errors_in_window(), 4);
    tl.advance(NS); // 1 s: the first is gone
    assert_eq!(tl.cb.errors_in_window(), 3);
    tl.advance(ms(100) - NS);
    assert_eq!(tl.cb.errors_in_window(), 3);
    tl.advance(NS);
    assert_eq!(tl.cb.errors_in_window(), 2);
    tl.advance(ms(200));
    assert_eq!(tl.cb.errors_in_window(), 0);
    assert_eq!(tl.state(), State::Closed);
}

// ---------------------------------------------------------------------------------------------
// Tripping at T + 1
// ---------------------------------------------------------------------------------------------

#[test]
fn threshold_zero_trips_on_the_first_failure() {
    let tl = Timeline::new(secs(5), 0);
    assert_eq!(tl.state(), State::Closed);
    tl.fail();
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(5));
    assert_eq!(tl.changes(), [(State::Closed, State::Open, Duration::ZERO)]);
}

#[test]
fn a_large_exact_threshold_trips_on_failure_t_plus_one_and_not_before() {
    const T: u32 = 1_000;
    let tl = Timeline::new(secs(10), T);
    for i in 0..T {
        tl.fail();
        assert_eq!(tl.state(), State::Closed, "after failure {}", i + 1);
        tl.advance(ms(1));
    }
    // T failures at 0, 1, ..., 999 ms; now = 1 000 ms.
    assert_eq!(tl.cb.errors_in_window(), T);
    assert!(tl.changes().is_empty());

    tl.fail(); // failure T + 1, at 1 000 ms
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.cb.errors_in_window(), T + 1);
    // The oldest of the T + 1 latest is the one at 0 ms: open until 10 s.
    assert_eq!(tl.retry_after(), secs(9));
    assert_eq!(tl.changes(), [(State::Closed, State::Open, ms(1_000))]);

    tl.advance(secs(9) - NS);
    assert_eq!(tl.state(), State::Open);
    tl.advance(NS);
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(tl.cb.errors_in_window(), T);
}

#[test]
fn the_largest_exact_threshold_trips_on_failure_t_plus_one() {
    let t = EXACT_MAX_THRESHOLD;
    let tl = Timeline::new(secs(10), t);
    for _ in 0..t {
        tl.fail();
    }
    assert_eq!(tl.state(), State::Closed);
    tl.advance(ms(1));
    tl.fail();
    assert_eq!(tl.state(), State::Open);
    // All but the last at 0: the T + 1 latest start at 0, so it closes at exactly W.
    assert_eq!(tl.retry_after(), secs(10) - ms(1));
}

#[test]
fn a_bucketed_threshold_trips_on_failure_t_plus_one_and_recovers_within_one_bucket() {
    // Above EXACT_MAX_THRESHOLD the window is 64 buckets of W / 64: here 1 s each.
    const W: Duration = Duration::from_secs(64);
    const T: u32 = EXACT_MAX_THRESHOLD + 904; // 5 000
    let bucket = W / 64;
    let tl = Timeline::new(W, T);

    tl.advance(ms(1_500));
    for _ in 0..T {
        tl.fail(); // T failures at 1.5 s
    }
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(tl.cb.errors_in_window(), T);

    tl.advance(secs(1));
    tl.fail(); // failure T + 1, at 2.5 s
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.cb.errors_in_window(), T + 1);
    assert_eq!(tl.changes(), [(State::Closed, State::Open, ms(2_500))]);

    // Exactly, it would close when the oldest of the T + 1 latest (1.5 s) is W old: 65.5 s.
    // Bucketed, it may close up to one bucket (plus 64 ns of rounding) earlier, never later.
    let now = ms(2_500);
    let exact_close = ms(1_500) + W;
    let retry = tl.retry_after();
    let close = now + retry;
    assert!(
        close <= exact_close,
        "closes at {close:?}, after {exact_close:?}"
    );
    assert!(
        close + bucket + Duration::from_nanos(64) >= exact_close,
        "closes at {close:?}, more than a bucket before {exact_close:?}"
    );

    // And it really closes at the instant retry_after announced.
    tl.advance(retry - NS);
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), NS);
    tl.advance(NS);
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(tl.cb.errors_in_window(), 1); // only the failure at 2.5 s is left
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, ms(2_500)),
            (State::Open, State::Closed, close),
        ]
    );
}

#[test]
fn a_bucketed_failure_never_counts_once_w_old() {
    const W: Duration = Duration::from_secs(64);
    let tl = Timeline::new(W, EXACT_MAX_THRESHOLD + 1);
    tl.advance(ms(1_500));
    tl.fail();
    assert_eq!(tl.cb.errors_in_window(), 1);
    tl.advance(W - secs(1) - NS); // a bucket before W, minus 1 ns: still counts
    assert_eq!(tl.cb.errors_in_window(), 1);
    tl.advance(secs(1) + NS); // W old
    assert_eq!(tl.cb.errors_in_window(), 0);
}

// ---------------------------------------------------------------------------------------------
// The exact close instant
// ---------------------------------------------------------------------------------------------

#[test]
fn retry_after_is_exactly_the_time_left_until_the_oldest_of_the_latest_t_plus_one_expires() {
    let tl = Timeline::new(secs(10), 2);
    tl.fail(); // 0 s
    tl.advance(secs(3));
    tl.fail(); // 3 s
    tl.advance(secs(4));
    tl.fail(); // 7 s: trips; the oldest of the 3 latest is at 0 s, so it closes at 10 s
    assert_eq!(tl.state(), State::Open);

    assert_eq!(tl.retry_after(), secs(3)); // at 7 s
    tl.advance(ms(1_500));
    assert_eq!(tl.retry_after(), ms(1_500)); // at 8.5 s
    tl.advance(ms(1_499));
    assert_eq!(tl.retry_after(), ms(1)); // at 9.999 s
    tl.advance(ms(1) - NS);
    assert_eq!(tl.retry_after(), NS); // at 10 s - 1 ns
    assert_eq!(tl.state(), State::Open);
    tl.advance(NS);
    assert_eq!(tl.state(), State::Closed); // at 10 s
    assert_eq!(tl.cb.errors_in_window(), 2);
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, secs(7)),
            (State::Open, State::Closed, secs(10)),
        ]
    );
}

#[test]
fn spread_failures_open_and_close_as_the_oldest_of_the_latest_t_plus_one_moves() {
    let tl = Timeline::new(secs(10), 2);
    // 0 s, 4 s, 9 s: three in 10 s, trips at 9 s until 10 s (when the one at 0 s expires).
    tl.fail();
    tl.advance(secs(4));
    tl.fail();
    tl.advance(secs(5));
    tl.fail();
    assert_eq!(tl.retry_after(), secs(1));
    tl.advance(secs(1));
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(tl.cb.errors_in_window(), 2);

    // 12 s: with 4 s and 9 s still in the window, three again; open until 4 s + W = 14 s.
    tl.advance(secs(2));
    tl.fail();
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(2));
    tl.advance(secs(2) - NS);
    assert_eq!(tl.state(), State::Open);
    tl.advance(NS);
    assert_eq!(tl.state(), State::Closed);

    // 30 s: all expired; one failure alone is not enough.
    tl.advance(secs(16));
    assert_eq!(tl.cb.errors_in_window(), 0);
    tl.fail();
    assert_eq!(tl.state(), State::Closed);

    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, secs(9)),
            (State::Open, State::Closed, secs(10)),
            (State::Closed, State::Open, secs(12)),
            (State::Open, State::Closed, secs(14)),
        ]
    );
}

#[test]
fn more_than_t_plus_one_failures_close_when_the_t_plus_one_latest_thin_out() {
    // Four calls admitted while closed fail at 0, 1, 2 and 3 s; T = 1. The two latest are at
    // 2 s and 3 s, so the circuit closes at 2 s + W = 12 s, not at 0 s + W or 1 s + W.
    let tl = Timeline::new(secs(10), 1);
    let permits: Vec<_> = (0..4).map(|_| tl.cb.try_acquire().unwrap()).collect();
    for (i, p) in permits.into_iter().enumerate() {
        if i > 0 {
            tl.advance(secs(1));
        }
        p.failure();
    }
    assert_eq!(tl.retry_after(), secs(9)); // at 3 s
    tl.advance(secs(8)); // 11 s: 0 s and 1 s are gone, but 2 s and 3 s still exceed T
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(1));
    tl.advance(secs(1) - NS);
    assert_eq!(tl.state(), State::Open);
    tl.advance(NS);
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(tl.cb.errors_in_window(), 1);
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, secs(1)),
            (State::Open, State::Closed, secs(12)),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// While open
// ---------------------------------------------------------------------------------------------

#[test]
fn rejections_do_not_lengthen_the_open_period() {
    let tl = Timeline::new(secs(10), 1);
    tl.fail(); // 0 s
    tl.advance(secs(1));
    tl.fail(); // 1 s: open until 10 s
    let mut elapsed = secs(1);
    while elapsed < secs(10) {
        for _ in 0..1_000 {
            let err = tl.cb.try_acquire().unwrap_err();
            assert_eq!(err.retry_after(), secs(10) - elapsed);
        }
        assert_eq!(tl.state(), State::Open);
        assert_eq!(tl.cb.errors_in_window(), 2);
        tl.advance(ms(250));
        elapsed += ms(250);
    }
    // 10 s: closed at the instant set by the failures, however many rejections came before.
    assert_eq!(elapsed, secs(10));
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(tl.cb.errors_in_window(), 1);
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, secs(1)),
            (State::Open, State::Closed, secs(10)),
        ]
    );
}

#[tokio::test]
async fn rejected_calls_do_not_lengthen_the_open_period_either() {
    let tl = Timeline::new(secs(4), 0);
    tl.fail();
    for _ in 0..3 {
        tl.advance(secs(1));
        for _ in 0..100 {
            let r = tl.cb.call(async { Err::<(), _>("x") }).await;
            assert!(matches!(r, Err(Error::Open(_))));
        }
    }
    assert_eq!(tl.retry_after(), secs(1));
    tl.advance(secs(1));
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(tl.cb.errors_in_window(), 0);
}

#[test]
fn successes_do_not_remove_failures() {
    let tl = Timeline::new(secs(10), 2);
    for _ in 0..2 {
        tl.fail();
        for _ in 0..1_000 {
            tl.succeed();
        }
        tl.advance(secs(1));
    }
    assert_eq!(tl.cb.errors_in_window(), 2);
    assert_eq!(tl.state(), State::Closed);
    for _ in 0..1_000 {
        tl.succeed();
    }
    tl.fail(); // 2 s: the third failure in the window trips, despite 3 000 successes
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(8));
}

#[tokio::test]
async fn the_tripping_call_returns_its_own_error_and_later_calls_are_never_polled() {
    let tl = Timeline::new(secs(5), 1);
    let first = tl.cb.call(async { Err::<(), _>("x") }).await;
    assert!(matches!(first, Err(Error::Inner("x"))));
    assert_eq!(tl.state(), State::Closed);

    tl.advance(secs(1));
    let tripping = tl.cb.call(async { Err::<(), _>("x") }).await;
    assert!(matches!(tripping, Err(Error::Inner("x"))));
    assert_eq!(tl.state(), State::Open);

    let polled = AtomicBool::new(false);
    let rejected = tl
        .cb
        .call(async {
            polled.store(true, Ordering::SeqCst);
            Ok::<u32, &str>(1)
        })
        .await;
    match rejected {
        Err(Error::Open(open)) => assert_eq!(open.retry_after(), secs(4)),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert!(!polled.load(Ordering::SeqCst), "a rejected call was polled");
    assert_eq!(tl.cb.errors_in_window(), 2);

    // Once closed, the same kind of call runs.
    tl.advance(secs(4));
    let ok = tl
        .cb
        .call(async {
            polled.store(true, Ordering::SeqCst);
            Ok::<u32, &str>(7)
        })
        .await;
    assert_eq!(ok, Ok(7));
    assert!(polled.load(Ordering::SeqCst));
}

#[test]
fn a_call_admitted_before_the_trip_that_fails_after_it_extends_the_open_period() {
    let tl = Timeline::new(secs(10), 1);
    let straggler = tl.cb.try_acquire().unwrap(); // admitted at 0 s, while closed
    tl.fail(); // 0 s
    tl.advance(secs(1));
    tl.fail(); // 1 s: trips, open until 10 s
    assert_eq!(tl.retry_after(), secs(9));

    tl.advance(secs(1));
    straggler.failure(); // 2 s: the latest two are now 1 s and 2 s, so open until 11 s
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(9));
    assert_eq!(tl.cb.errors_in_window(), 2);

    tl.advance(secs(8)); // 10 s: the old close instant has passed, the new one has not
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(1));
    tl.advance(secs(1) - NS);
    assert_eq!(tl.state(), State::Open);
    tl.advance(NS);
    assert_eq!(tl.state(), State::Closed);
    // One trip, one close: the extension is not a second trip.
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, secs(1)),
            (State::Open, State::Closed, secs(11)),
        ]
    );
}

#[test]
fn a_call_admitted_before_the_trip_that_succeeds_after_it_changes_nothing() {
    let tl = Timeline::new(secs(10), 0);
    let straggler = tl.cb.try_acquire().unwrap();
    tl.fail(); // trips until 10 s
    tl.advance(secs(2));
    straggler.success();
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(8));
    assert_eq!(tl.cb.errors_in_window(), 1);
}

// ---------------------------------------------------------------------------------------------
// After closing
// ---------------------------------------------------------------------------------------------

#[test]
fn after_closing_t_plus_one_new_failures_within_w_trip_again() {
    let tl = Timeline::new(secs(10), 1);
    tl.fail(); // 0 s
    tl.advance(secs(1));
    tl.fail(); // 1 s: trips until 10 s
    tl.advance(secs(9));
    assert_eq!(tl.state(), State::Closed); // 10 s

    // Traffic flows freely.
    for _ in 0..100 {
        tl.succeed();
    }
    // 15 s: the failure at 1 s has expired; one new failure is T, not more.
    tl.advance(secs(5));
    tl.fail();
    assert_eq!(tl.state(), State::Closed);
    tl.advance(secs(9)); // 24 s: second new failure, 9 s after the first: within W
    tl.fail();
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(1)); // until 15 s + W = 25 s
    tl.advance(secs(1));
    assert_eq!(tl.state(), State::Closed);

    // Two failures further apart than W never trip.
    tl.advance(secs(20)); // 45 s
    tl.fail();
    tl.advance(secs(10));
    tl.fail(); // 55 s: the one at 45 s has just expired
    assert_eq!(tl.state(), State::Closed);

    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, secs(1)),
            (State::Open, State::Closed, secs(10)),
            (State::Closed, State::Open, secs(24)),
            (State::Open, State::Closed, secs(25)),
        ]
    );
}

#[test]
fn a_close_nobody_looked_at_is_still_reported_at_its_instant_before_the_next_trip() {
    // Permits taken while closed; nobody asks for the state between the trips, so the close at
    // 10 s is only noticed when the failure at 21 s trips the circuit again.
    let tl = Timeline::new(secs(10), 1);
    let permits: Vec<_> = (0..4).map(|_| tl.cb.try_acquire().unwrap()).collect();
    let mut permits = permits.into_iter();
    permits.next().unwrap().failure(); // 0 s
    tl.advance(secs(1));
    permits.next().unwrap().failure(); // 1 s: trips until 10 s
    tl.advance(secs(19));
    permits.next().unwrap().failure(); // 20 s
    tl.advance(secs(1));
    permits.next().unwrap().failure(); // 21 s: trips until 30 s
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, secs(1)),
            (State::Open, State::Closed, secs(10)),
            (State::Closed, State::Open, secs(21)),
        ]
    );
    assert_eq!(tl.retry_after(), secs(9));
}

#[test]
fn each_change_is_reported_once_however_often_the_state_is_read() {
    let tl = Timeline::new(secs(2), 0);
    tl.fail();
    for _ in 0..10 {
        assert_eq!(tl.state(), State::Open);
        let _ = tl.cb.try_acquire();
    }
    tl.advance(secs(5)); // noticed 3 s late; reported at the instant it happened
    for _ in 0..10 {
        assert_eq!(tl.state(), State::Closed);
        tl.succeed();
    }
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, Duration::ZERO),
            (State::Open, State::Closed, secs(2)),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Outcomes that record nothing
// ---------------------------------------------------------------------------------------------

#[test]
fn a_dropped_permit_records_nothing() {
    let tl = Timeline::new(secs(10), 0);
    for _ in 0..100 {
        let permit = tl.cb.try_acquire().unwrap();
        drop(permit);
    }
    assert_eq!(tl.cb.errors_in_window(), 0);
    assert_eq!(tl.state(), State::Closed);
    assert!(tl.changes().is_empty());
    tl.fail(); // the first real failure still trips T = 0
    assert_eq!(tl.state(), State::Open);
}

#[test]
fn an_ignored_outcome_changes_nothing() {
    let tl = Timeline::new(secs(10), 0);
    for _ in 0..50 {
        tl.cb.try_acquire().unwrap().ignore();
        tl.cb.try_acquire().unwrap().record(Outcome::Ignored);
    }
    assert_eq!(tl.cb.errors_in_window(), 0);
    assert_eq!(tl.state(), State::Closed);

    // Nor does it while open: no extension, no close.
    let straggler = tl.cb.try_acquire().unwrap();
    tl.fail();
    tl.advance(secs(3));
    straggler.ignore();
    assert_eq!(tl.retry_after(), secs(7));
    assert_eq!(tl.cb.errors_in_window(), 1);
    assert_eq!(tl.changes(), [(State::Closed, State::Open, Duration::ZERO)]);
}

#[test]
fn a_dropped_call_future_records_nothing() {
    let tl = Timeline::new(secs(10), 0);
    let polled = AtomicBool::new(false);
    {
        let fut = tl.cb.call(async {
            polled.store(true, Ordering::SeqCst);
            std::future::pending::<Result<(), &str>>().await
        });
        let mut fut = std::pin::pin!(fut);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    } // dropped mid-flight
    assert!(polled.load(Ordering::SeqCst));
    assert_eq!(tl.cb.errors_in_window(), 0);
    assert_eq!(tl.state(), State::Closed);
}
