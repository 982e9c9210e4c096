//! The two seams fleet mode is built on: `Builder::on_failure` hears every recorded failure,
//! and `open_remote` applies a trip made elsewhere. Time moves only on a `ManualClock`.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::{CircuitBreaker, ManualClock, Probing, Reason, State};

fn counter() -> (Arc<AtomicU32>, impl Fn() + Send + Sync + 'static) {
    let n = Arc::new(AtomicU32::new(0));
    let seen = n.clone();
    (n, move || {
        seen.fetch_add(1, Ordering::Relaxed);
    })
}

#[test]
fn every_recorded_failure_is_heard_and_nothing_else() {
    let clock = ManualClock::new();
    let (failures, observer) = counter();
    let cb = CircuitBreaker::builder()
        .window(Duration::from_secs(10))
        .error_threshold(1)
        .slow_call(Duration::from_secs(1))
        .clock(clock.clone())
        .on_failure(observer)
        .build()
        .unwrap();
    cb.try_acquire().unwrap().success();
    cb.try_acquire().unwrap().ignore();
    assert_eq!(failures.load(Ordering::Relaxed), 0);
    let slow = cb.try_acquire().unwrap();
    clock.advance(Duration::from_secs(2));
    slow.success(); // slow: a failure
    assert_eq!(failures.load(Ordering::Relaxed), 1);
    cb.try_acquire().unwrap().failure(); // trips (T = 1)
    assert_eq!(failures.load(Ordering::Relaxed), 2);
    assert!(cb.try_acquire().is_err()); // a rejection is no failure
    let dropped = {
        clock.advance(Duration::from_secs(10));
        cb.try_acquire().unwrap()
    };
    drop(dropped); // untold: nothing
    assert_eq!(failures.load(Ordering::Relaxed), 2);
}

#[test]
fn a_failed_probe_is_heard_too() {
    let clock = ManualClock::new();
    let (failures, observer) = counter();
    let cb = CircuitBreaker::builder()
        .error_threshold(0)
        .probing(Probing::new(1).open_time(Duration::from_secs(1)))
        .clock(clock.clone())
        .on_failure(observer)
        .build()
        .unwrap();
    cb.try_acquire().unwrap().failure();
    clock.advance(Duration::from_secs(1));
    let probe = cb.try_acquire().unwrap();
    assert!(probe.is_probe());
    probe.failure();
    assert_eq!(failures.load(Ordering::Relaxed), 2);
}

#[test]
fn the_observer_sees_the_trip_its_failure_caused() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let cell: Arc<Mutex<Option<CircuitBreaker>>> = Arc::default();
    let (log, me) = (seen.clone(), cell.clone());
    let cb = CircuitBreaker::builder()
        .error_threshold(0)
        .on_failure(move || {
            if let Some(cb) = me.lock().unwrap().as_ref() {
                log.lock().unwrap().push(cb.state());
            }
        })
        .build()
        .unwrap();
    *cell.lock().unwrap() = Some(cb.clone());
    cb.try_acquire().unwrap().failure();
    assert_eq!(*seen.lock().unwrap(), [State::Open]);
    cell.lock().unwrap().take(); // break the cycle
}

#[test]
fn a_remote_trip_opens_for_the_time_given_on_the_local_clock_and_never_shortens() {
    let clock = ManualClock::new();
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let log = reasons.clone();
    let cb = CircuitBreaker::builder()
        .window(Duration::from_secs(10))
        .error_threshold(0)
        .clock(clock.clone())
        .on_state_change(move |c| log.lock().unwrap().push((c.to, c.reason)))
        .build()
        .unwrap();
    cb.open_remote(Duration::from_secs(3));
    assert_eq!(
        cb.try_acquire().unwrap_err().retry_after(),
        Duration::from_secs(3)
    );
    cb.open_remote(Duration::from_secs(1)); // shorter: left as it is
    clock.advance(Duration::from_secs(1));
    assert_eq!(
        cb.try_acquire().unwrap_err().retry_after(),
        Duration::from_secs(2)
    );
    cb.open_remote(Duration::from_secs(5)); // longer: lengthened, no new change
    clock.advance(Duration::from_secs(5));
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(
        *reasons.lock().unwrap(),
        [
            (State::Open, Reason::Remote),
            (State::Closed, Reason::OpenTimeElapsed)
        ]
    );
    assert_eq!(Reason::Remote.as_str(), "remote");
    // A forced state is left alone.
    cb.force_closed();
    cb.open_remote(Duration::from_secs(5));
    assert_eq!(cb.state(), State::ForcedClosed);
}
