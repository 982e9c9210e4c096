//! Opt-in half-open recovery (`Probing`) on a `ManualClock`: when the circuit turns half-open, how
//! many probes it lets through, what their outcomes do, and how timed-out, cancelled and ignored
//! probes are treated. Time moves only through `ManualClock::advance`; nothing sleeps.

use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Waker};
use std::time::Duration;

use breaker::{CircuitBreaker, Error, Outcome, Probing, State};

use crate::support::{NS, Timeline, ms, secs};

/// A breaker with a long window (60 s), so that only the probing rules decide when it recovers.
/// One probe, open 5 s then doubling up to 60 s, a probe timeout of 10 s.
fn one_probe_with_backoff() -> Probing {
    Probing::new(1)
        .open_time(secs(5))
        .backoff(2.0, secs(60))
        .probe_timeout(secs(10))
}

fn probing(threshold: u32, probing: Probing) -> Timeline {
    Timeline::with(
        CircuitBreaker::builder()
            .window(secs(60))
            .error_threshold(threshold)
            .probing(probing),
    )
}

/// Polls `fut` once with a waker that does nothing, and reports whether it is still pending.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> bool {
    let mut cx = Context::from_waker(Waker::noop());
    fut.poll(&mut cx).is_pending()
}

// ---------------------------------------------------------------------------------------------
// Open to half-open
// ---------------------------------------------------------------------------------------------

#[test]
fn open_becomes_half_open_exactly_when_the_open_time_has_passed() {
    let tl = probing(0, Probing::new(1).open_time(secs(5)));
    tl.advance(secs(2));
    tl.fail(); // trips at 2 s: open until 7 s
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(5));

    tl.advance(secs(3));
    assert_eq!(tl.retry_after(), secs(2));
    tl.advance(secs(2) - NS); // 7 s - 1 ns
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), NS);

    tl.advance(NS); // 7 s
    assert_eq!(tl.state(), State::HalfOpen);
    // The failure is still in the window: the open time, not the window, decides.
    assert_eq!(tl.cb.errors_in_window(), 1);
    let probe = tl.cb.try_acquire().expect("a probe is admitted");
    assert!(probe.is_probe());
    drop(probe);
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, secs(2)),
            (State::Open, State::HalfOpen, secs(7)),
        ]
    );
}

#[test]
fn half_open_noticed_late_is_reported_at_the_instant_the_open_time_ended() {
    let tl = probing(0, Probing::new(1).open_time(secs(5)));
    tl.fail();
    tl.advance(secs(8)); // nobody looked at 5 s
    assert!(tl.cb.try_acquire().unwrap().is_probe());
    assert_eq!(tl.state(), State::HalfOpen);
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, Duration::ZERO),
            (State::Open, State::HalfOpen, secs(5)),
        ]
    );
}

#[test]
fn the_open_time_defaults_to_the_window() {
    let tl = probing(0, Probing::new(1));
    tl.fail();
    assert_eq!(tl.retry_after(), secs(60));
    tl.advance(secs(60) - NS);
    assert_eq!(tl.state(), State::Open);
    tl.advance(NS);
    assert_eq!(tl.state(), State::HalfOpen);
}

// ---------------------------------------------------------------------------------------------
// At most P probes at once
// ---------------------------------------------------------------------------------------------

#[test]
fn at_most_p_probes_run_at_once_and_the_rest_wait_for_the_earliest_probe_timeout() {
    let tl = probing(
        0,
        Probing::new(3).open_time(secs(5)).probe_timeout(secs(10)),
    );
    tl.fail(); // open until 5 s
    tl.advance(secs(5));
    let a = tl.cb.try_acquire().expect("probe 1"); // 5 s, times out at 15 s
    tl.advance(secs(1));
    let b = tl.cb.try_acquire().expect("probe 2"); // 6 s, times out at 16 s
    tl.advance(secs(1));
    let c = tl.cb.try_acquire().expect("probe 3"); // 7 s, times out at 17 s
    assert!(a.is_probe() && b.is_probe() && c.is_probe());

    tl.advance(secs(1)); // 8 s
    for _ in 0..100 {
        let err = tl.cb.try_acquire().expect_err("a 4th probe");
        assert_eq!(err.retry_after(), secs(7)); // until a's timeout at 15 s
    }
    assert_eq!(tl.state(), State::HalfOpen);

    // A success keeps its place until the circuit closes (P successes are needed): still full,
    // and now the earliest probe in flight is b.
    a.success();
    assert_eq!(tl.state(), State::HalfOpen);
    assert_eq!(tl.retry_after(), secs(8));

    b.success();
    assert_eq!(tl.state(), State::HalfOpen);
    assert_eq!(tl.retry_after(), secs(9));

    c.success();
    assert_eq!(tl.state(), State::Closed);
    assert!(tl.cb.try_acquire().is_ok());
}

#[tokio::test]
async fn a_rejected_probe_call_is_never_polled() {
    let tl = probing(0, Probing::new(1).open_time(secs(1)));
    tl.fail();
    tl.advance(secs(1));
    let probe = tl.cb.try_acquire().unwrap();
    let polled = AtomicBool::new(false);
    let r = tl
        .cb
        .call(async {
            polled.store(true, Ordering::SeqCst);
            Ok::<(), &str>(())
        })
        .await;
    assert!(matches!(r, Err(Error::Open(_))));
    assert!(!polled.load(Ordering::SeqCst));
    drop(probe);
}

// ---------------------------------------------------------------------------------------------
// P successes close
// ---------------------------------------------------------------------------------------------

#[test]
fn p_successful_probes_close_the_circuit_and_clear_the_window() {
    let tl = probing(2, Probing::new(3).open_time(secs(5)));
    for _ in 0..3 {
        tl.fail(); // 0, 1, 2 s: trips at 2 s, open until 7 s
        tl.advance(secs(1));
    }
    tl.advance(secs(4)); // 7 s
    assert_eq!(tl.state(), State::HalfOpen);
    assert_eq!(tl.cb.errors_in_window(), 3);

    tl.succeed();
    assert_eq!(tl.state(), State::HalfOpen);
    tl.succeed();
    assert_eq!(tl.state(), State::HalfOpen);
    tl.succeed(); // the third of P = 3
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(tl.cb.errors_in_window(), 0);

    // T + 1 new failures are needed to trip again: the old ones no longer count.
    tl.advance(secs(1)); // 8 s
    tl.fail();
    tl.fail();
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(tl.cb.errors_in_window(), 2);
    tl.fail();
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(5));
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, secs(2)),
            (State::Open, State::HalfOpen, secs(7)),
            (State::HalfOpen, State::Closed, secs(7)),
            (State::Closed, State::Open, secs(8)),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Failed probes and backoff
// ---------------------------------------------------------------------------------------------

#[test]
fn a_failed_probe_reopens_for_the_next_backoff_step() {
    let tl = probing(0, Probing::new(1).open_time(secs(1)).backoff(2.0, secs(5)));
    tl.fail(); // trip from closed: step 0, 1 s
    assert_eq!(tl.retry_after(), secs(1));
    let mut open = secs(1);
    let mut now = Duration::ZERO;
    let mut expected_log = vec![(State::Closed, State::Open, Duration::ZERO)];
    for next in [2, 4, 5, 5] {
        tl.advance(open - NS);
        assert_eq!(tl.state(), State::Open);
        tl.advance(NS);
        now += open;
        assert_eq!(tl.state(), State::HalfOpen);
        expected_log.push((State::Open, State::HalfOpen, now));
        tl.fail(); // the probe fails
        expected_log.push((State::HalfOpen, State::Open, now));
        assert_eq!(tl.state(), State::Open);
        assert_eq!(tl.retry_after(), secs(next), "step after {open:?}");
        open = secs(next);
    }
    assert_eq!(tl.changes(), expected_log);
}

#[test]
fn a_trip_from_closed_after_a_close_starts_the_backoff_again_at_step_zero() {
    let tl = probing(0, Probing::new(1).open_time(secs(1)).backoff(2.0, secs(5)));
    tl.fail(); // 1 s
    tl.advance(secs(1));
    tl.fail(); // probe fails: 2 s
    tl.advance(secs(2));
    tl.fail(); // probe fails: 4 s
    tl.advance(secs(4));
    tl.succeed(); // probe succeeds: closed
    assert_eq!(tl.state(), State::Closed);

    tl.advance(secs(1));
    tl.fail(); // a new trip from closed
    assert_eq!(tl.retry_after(), secs(1));
    tl.advance(secs(1));
    tl.fail(); // and its first failed probe is step 1 again
    assert_eq!(tl.retry_after(), secs(2));
}

#[test]
fn a_failed_probe_counts_even_with_other_probes_in_flight() {
    let tl = probing(0, Probing::new(3).open_time(secs(1)));
    tl.fail();
    tl.advance(secs(1));
    let a = tl.cb.try_acquire().unwrap();
    let b = tl.cb.try_acquire().unwrap();
    tl.succeed();
    b.failure(); // one failure among the probes reopens
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(1));
    a.success(); // a probe of a period that is over changes nothing
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(1));
}

// ---------------------------------------------------------------------------------------------
// Probe timeout
// ---------------------------------------------------------------------------------------------

#[test]
fn a_probe_reported_after_its_timeout_fails_at_its_deadline() {
    let tl = probing(0, one_probe_with_backoff());
    tl.fail(); // open until 5 s
    tl.advance(secs(5));
    let probe = tl.cb.try_acquire().unwrap(); // 5 s: deadline 15 s
    tl.advance(secs(12)); // 17 s; nobody looks in between
    probe.success(); // too late: a failure at 15 s, reopened for step 1 (10 s) until 25 s
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(8));
    tl.advance(secs(8) - NS);
    assert_eq!(tl.state(), State::Open);
    tl.advance(NS);
    assert_eq!(tl.state(), State::HalfOpen);
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, Duration::ZERO),
            (State::Open, State::HalfOpen, secs(5)),
            (State::HalfOpen, State::Open, secs(15)),
            (State::Open, State::HalfOpen, secs(25)),
        ]
    );
}

#[test]
fn a_probe_reported_one_nanosecond_before_its_deadline_counts_and_at_it_does_not() {
    let config = || Probing::new(1).open_time(secs(5)).probe_timeout(secs(10));

    let before = probing(0, config());
    before.fail();
    before.advance(secs(5));
    let probe = before.cb.try_acquire().unwrap();
    before.advance(secs(10) - NS);
    probe.success();
    assert_eq!(before.state(), State::Closed);

    let at = probing(0, config());
    at.fail();
    at.advance(secs(5));
    let probe = at.cb.try_acquire().unwrap();
    at.advance(secs(10));
    probe.success();
    assert_eq!(at.state(), State::Open);
    assert_eq!(at.retry_after(), secs(5));
}

#[test]
fn a_hung_probe_is_noticed_by_state_once_its_timeout_has_passed() {
    let tl = probing(0, one_probe_with_backoff());
    tl.fail(); // open until 5 s
    tl.advance(secs(5));
    let hung = tl.cb.try_acquire().unwrap(); // 5 s: deadline 15 s, never reported in time

    tl.advance(secs(10) - NS); // 15 s - 1 ns: still running, still within its time
    assert_eq!(tl.state(), State::HalfOpen);
    assert_eq!(tl.retry_after(), NS); // the place frees at its timeout

    tl.advance(NS); // 15 s
    assert_eq!(tl.state(), State::Open); // noticed lazily, reopened from the deadline
    assert_eq!(tl.retry_after(), secs(10)); // step 1: 2 × 5 s, from 15 s

    tl.advance(secs(3)); // 18 s
    hung.success(); // the late report changes nothing
    assert_eq!(tl.state(), State::Open);
    assert_eq!(tl.retry_after(), secs(7));
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, Duration::ZERO),
            (State::Open, State::HalfOpen, secs(5)),
            (State::HalfOpen, State::Open, secs(15)),
        ]
    );
}

#[test]
fn a_hung_probe_is_noticed_by_try_acquire_and_the_open_period_runs_from_its_deadline() {
    let tl = probing(0, one_probe_with_backoff());
    tl.fail();
    tl.advance(secs(5));
    let hung = tl.cb.try_acquire().unwrap(); // deadline 15 s
    tl.advance(secs(12)); // 17 s: first look since the probe started
    let err = tl.cb.try_acquire().expect_err("reopened");
    assert_eq!(err.retry_after(), secs(8)); // 15 s + 10 s - 17 s
    assert_eq!(
        tl.changes().last(),
        Some(&(State::HalfOpen, State::Open, secs(15)))
    );
    hung.failure(); // late, and a failure: still nothing more
    assert_eq!(tl.retry_after(), secs(8));
    assert_eq!(tl.changes().len(), 3);
}

#[test]
fn a_hung_probe_noticed_after_the_next_open_period_gives_a_half_open_circuit() {
    let tl = probing(
        0,
        Probing::new(1).open_time(secs(5)).probe_timeout(secs(10)),
    );
    tl.fail();
    tl.advance(secs(5));
    let hung = tl.cb.try_acquire().unwrap(); // deadline 15 s, reopened until 20 s
    tl.advance(secs(30)); // 35 s
    assert_eq!(tl.state(), State::HalfOpen);
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, Duration::ZERO),
            (State::Open, State::HalfOpen, secs(5)),
            (State::HalfOpen, State::Open, secs(15)),
            (State::Open, State::HalfOpen, secs(20)),
        ]
    );
    // The hung probe's place is free for the new period.
    let fresh = tl.cb.try_acquire().expect("a new probe");
    // The old probe's report, even a failure, belongs to a period that is over.
    hung.failure();
    assert_eq!(tl.state(), State::HalfOpen);
    fresh.success();
    assert_eq!(tl.state(), State::Closed);
}

#[test]
fn a_late_report_from_an_earlier_period_does_not_count_in_the_next_one() {
    let tl = probing(0, Probing::new(2).open_time(secs(1)));
    tl.fail();
    tl.advance(secs(1));
    let early = tl.cb.try_acquire().unwrap(); // probe of the period at 1 s
    tl.fail(); // the other probe fails: reopened until 2 s
    tl.advance(secs(1));
    assert_eq!(tl.state(), State::HalfOpen); // a new period at 2 s
    early.success(); // must not count as one of this period's two successes
    assert_eq!(tl.state(), State::HalfOpen);
    tl.succeed();
    assert_eq!(tl.state(), State::HalfOpen);
    tl.succeed();
    assert_eq!(tl.state(), State::Closed);
}

// ---------------------------------------------------------------------------------------------
// Cancelled and ignored probes
// ---------------------------------------------------------------------------------------------

#[test]
fn a_dropped_probe_permit_frees_its_place_and_counts_nothing() {
    let tl = probing(0, Probing::new(1).open_time(secs(1)));
    tl.fail();
    tl.advance(secs(1));
    let probe = tl.cb.try_acquire().unwrap();
    assert!(tl.cb.try_acquire().is_err());
    tl.advance(ms(500));
    drop(probe);
    assert_eq!(tl.state(), State::HalfOpen); // not a failure
    let next = tl.cb.try_acquire().expect("the place is free again");
    assert!(next.is_probe());
    next.success(); // P = 1: one success closes; the dropped one was not a success either
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, Duration::ZERO),
            (State::Open, State::HalfOpen, secs(1)),
            (State::HalfOpen, State::Closed, ms(1_500)),
        ]
    );
}

#[test]
fn a_dropped_probe_call_future_frees_its_place() {
    let tl = probing(0, Probing::new(1).open_time(secs(1)));
    tl.fail();
    tl.advance(secs(1));

    let started = AtomicBool::new(false);
    {
        let fut = tl.cb.call(async {
            started.store(true, Ordering::SeqCst);
            std::future::pending::<Result<(), &str>>().await
        });
        let mut fut = std::pin::pin!(fut);
        assert!(poll_once(fut.as_mut()));
        assert!(started.load(Ordering::SeqCst), "the probe is running");
        assert!(tl.cb.try_acquire().is_err(), "its place is taken");
    } // the future is dropped mid-flight

    assert_eq!(tl.state(), State::HalfOpen);
    let next = tl.cb.try_acquire().expect("the place is free again");
    next.success();
    assert_eq!(tl.state(), State::Closed);
}

#[test]
fn an_ignored_probe_frees_its_place_and_counts_nothing() {
    let tl = probing(0, Probing::new(2).open_time(secs(1)));
    tl.fail();
    tl.advance(secs(1));
    let a = tl.cb.try_acquire().unwrap();
    let b = tl.cb.try_acquire().unwrap();
    assert!(tl.cb.try_acquire().is_err());
    a.ignore();
    assert_eq!(tl.state(), State::HalfOpen); // not a failure
    let c = tl
        .cb
        .try_acquire()
        .expect("the ignored probe's place is free");
    assert!(tl.cb.try_acquire().is_err());
    b.success();
    assert_eq!(tl.state(), State::HalfOpen); // the ignored one was not a success
    c.record(Outcome::Ignored);
    assert_eq!(tl.state(), State::HalfOpen);
    tl.succeed(); // the second success of P = 2
    assert_eq!(tl.state(), State::Closed);
}

// ---------------------------------------------------------------------------------------------
// The whole cycle, as the observer sees it
// ---------------------------------------------------------------------------------------------

#[test]
fn the_observer_sees_every_transition_at_its_exact_instant() {
    let tl = probing(1, Probing::new(1).open_time(secs(2)).backoff(3.0, secs(10)));
    tl.fail(); // 0 s
    tl.advance(secs(1));
    tl.fail(); // 1 s: trips, open until 3 s
    tl.advance(secs(5)); // 6 s: noticed late
    assert_eq!(tl.state(), State::HalfOpen);
    let probe = tl.cb.try_acquire().unwrap();
    tl.advance(ms(500));
    probe.failure(); // 6.5 s: reopened for step 1, 6 s, until 12.5 s
    assert_eq!(tl.retry_after(), secs(6));
    tl.advance(secs(6)); // 12.5 s
    assert_eq!(tl.state(), State::HalfOpen);
    let probe = tl.cb.try_acquire().unwrap();
    tl.advance(ms(500));
    probe.success(); // 13 s: closed
    assert_eq!(tl.state(), State::Closed);
    assert_eq!(
        tl.changes(),
        [
            (State::Closed, State::Open, secs(1)),
            (State::Open, State::HalfOpen, secs(3)),
            (State::HalfOpen, State::Open, ms(6_500)),
            (State::Open, State::HalfOpen, ms(12_500)),
            (State::HalfOpen, State::Closed, secs(13)),
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// A probe cancelled after its timeout had already passed
// ---------------------------------------------------------------------------------------------

/// A probe that ran past its timeout has failed at its deadline, whether or not anybody looked at
/// the breaker in between. Dropping it afterwards must not undo that.
#[test]
fn a_probe_dropped_after_its_timeout_has_still_failed_at_its_deadline() {
    let config = || Probing::new(1).open_time(secs(5)).probe_timeout(secs(10));

    // Someone looks after the deadline, then the probe is dropped: reopened at 15 s.
    let looked = probing(0, config());
    looked.fail();
    looked.advance(secs(5));
    let probe = looked.cb.try_acquire().unwrap(); // deadline 15 s
    looked.advance(secs(11)); // 16 s
    assert_eq!(looked.state(), State::Open);
    drop(probe);
    assert_eq!(looked.state(), State::Open);
    assert_eq!(looked.retry_after(), secs(4));

    // Nobody looks: the same timeline must give the same answer.
    let unseen = probing(0, config());
    unseen.fail();
    unseen.advance(secs(5));
    let probe = unseen.cb.try_acquire().unwrap(); // deadline 15 s
    unseen.advance(secs(11)); // 16 s
    drop(probe);
    assert_eq!(unseen.state(), State::Open);
    assert_eq!(unseen.retry_after(), secs(4));
    assert_eq!(unseen.changes(), looked.changes());
}
