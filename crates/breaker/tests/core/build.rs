//! The builder: the configurations it refuses (each a [`ConfigError`] from `build`, never a panic
//! at call time) and the observers it keeps, every one, in the order added.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::{CircuitBreaker, ConfigError, ManualClock, Probing, State};

use crate::support::secs;

#[test]
fn a_zero_window_is_refused_at_build() {
    let err = CircuitBreaker::builder()
        .window(Duration::ZERO)
        .error_threshold(3)
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::ZeroWindow);
}

#[test]
#[should_panic]
fn new_with_a_zero_window_panics() {
    let _ = CircuitBreaker::new(Duration::ZERO, 1);
}

fn build_probing(p: Probing) -> Result<CircuitBreaker, ConfigError> {
    CircuitBreaker::builder()
        .window(secs(10))
        .error_threshold(1)
        .probing(p)
        .build()
}

#[test]
fn probing_with_zero_probes_is_refused_at_build() {
    assert_eq!(
        build_probing(Probing::new(0)).unwrap_err(),
        ConfigError::ZeroProbes
    );
}

#[test]
fn probing_with_too_many_probes_is_refused_at_build() {
    let too_many = Probing::MAX_PROBES + 1;
    assert_eq!(
        build_probing(Probing::new(too_many)).unwrap_err(),
        ConfigError::TooManyProbes {
            given: too_many,
            max: Probing::MAX_PROBES
        }
    );
    assert!(build_probing(Probing::new(Probing::MAX_PROBES)).is_ok());
}

#[test]
fn probing_with_a_zero_open_time_is_refused_at_build() {
    assert_eq!(
        build_probing(Probing::new(1).open_time(Duration::ZERO)).unwrap_err(),
        ConfigError::ZeroOpenTime
    );
}

#[test]
fn probing_with_a_backoff_multiplier_below_one_is_refused_at_build() {
    assert_eq!(
        build_probing(Probing::new(1).open_time(secs(1)).backoff(0.5, secs(5))).unwrap_err(),
        ConfigError::BadBackoffMultiplier(0.5)
    );
    assert_eq!(
        build_probing(Probing::new(1).open_time(secs(1)).backoff(-2.0, secs(5))).unwrap_err(),
        ConfigError::BadBackoffMultiplier(-2.0)
    );
    // Exactly 1 (no growth) is fine.
    assert!(build_probing(Probing::new(1).open_time(secs(1)).backoff(1.0, secs(5))).is_ok());
}

#[test]
fn probing_with_a_nan_or_infinite_backoff_multiplier_is_refused_at_build() {
    let nan = build_probing(
        Probing::new(1)
            .open_time(secs(1))
            .backoff(f64::NAN, secs(5)),
    );
    assert!(
        matches!(nan, Err(ConfigError::BadBackoffMultiplier(m)) if m.is_nan()),
        "{nan:?}"
    );
    let inf = build_probing(
        Probing::new(1)
            .open_time(secs(1))
            .backoff(f64::INFINITY, secs(5)),
    );
    assert!(
        matches!(inf, Err(ConfigError::BadBackoffMultiplier(m)) if m == f64::INFINITY),
        "{inf:?}"
    );
}

#[test]
fn probing_with_a_cap_below_the_open_time_is_refused_at_build() {
    assert_eq!(
        build_probing(Probing::new(1).open_time(secs(2)).backoff(2.0, secs(1))).unwrap_err(),
        ConfigError::CapBelowOpenTime {
            cap: secs(1),
            open: secs(2)
        }
    );
    // The open time defaults to W (10 s here): a cap below W is refused too.
    assert_eq!(
        build_probing(Probing::new(1).backoff(2.0, secs(9))).unwrap_err(),
        ConfigError::CapBelowOpenTime {
            cap: secs(9),
            open: secs(10)
        }
    );
    // A cap equal to the open time is fine.
    assert!(build_probing(Probing::new(1).open_time(secs(2)).backoff(2.0, secs(2))).is_ok());
}

#[test]
fn probing_with_a_zero_probe_timeout_is_refused_at_build() {
    assert_eq!(
        build_probing(Probing::new(1).probe_timeout(Duration::ZERO)).unwrap_err(),
        ConfigError::ZeroProbeTimeout
    );
}

#[test]
fn a_window_longer_than_the_clock_can_count_is_refused_at_build() {
    let err = CircuitBreaker::builder()
        .window(Duration::MAX)
        .build()
        .unwrap_err();
    assert_eq!(err, ConfigError::WindowTooLong(Duration::MAX));
    // The longest window that fits is accepted.
    assert!(
        CircuitBreaker::builder()
            .window(Duration::from_nanos(u64::MAX))
            .build()
            .is_ok()
    );
}

#[test]
fn every_observer_runs_in_the_order_added() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (a, b, c) = (seen.clone(), seen.clone(), seen.clone());
    let clock = ManualClock::new();
    let cb = CircuitBreaker::builder()
        .window(secs(1))
        .error_threshold(0)
        .clock(clock.clone())
        .on_state_change(move |ch| a.lock().unwrap().push(("a", ch.from, ch.to)))
        .on_state_change(move |ch| b.lock().unwrap().push(("b", ch.from, ch.to)))
        .on_state_change(move |ch| c.lock().unwrap().push(("c", ch.from, ch.to)))
        .build()
        .unwrap();
    cb.try_acquire().unwrap().failure();
    clock.advance(secs(1));
    assert_eq!(cb.state(), State::Closed);
    use State::{Closed, Open};
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("a", Closed, Open),
            ("b", Closed, Open),
            ("c", Closed, Open),
            ("a", Open, Closed),
            ("b", Open, Closed),
            ("c", Open, Closed),
        ]
    );
}
