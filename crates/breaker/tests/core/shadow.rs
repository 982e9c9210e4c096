//! Shadow mode: a breaker that decides as usual but admits every call.
//!
//! The property that matters: fed the same answers, a shadow breaker goes through exactly the
//! states of an enforcing twin, and it marks as shadow-rejected exactly the calls the twin
//! rejects.

use std::future::ready;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use breaker::{Builder, CircuitBreaker, Error, Outcome, Probing, State};
use proptest::prelude::*;

use crate::support::{Timeline, ms, secs};

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        3 => Just(Outcome::Failure),
        2 => Just(Outcome::Success),
        1 => Just(Outcome::Ignored),
    ]
}

/// The settings the twins share: each rule alone and some together, with and without probing.
fn settings(which: u8) -> Builder {
    let b = CircuitBreaker::builder().window(secs(5));
    match which % 6 {
        0 => b.error_threshold(2),
        1 => b.error_threshold(0),
        2 => b.failure_rate(0.5, 4),
        3 => b.consecutive_failures(3).error_threshold(5),
        4 => b
            .error_threshold(1)
            .probing(Probing::new(2).open_time(secs(2))),
        _ => b.slow_call(ms(300)).error_threshold(1),
    }
}

proptest! {
    #[test]
    fn a_shadow_breaker_goes_through_the_states_of_an_enforcing_twin(
        which in 0u8..6,
        steps in prop::collection::vec((0u64..3_000, outcome(), 0u64..600), 1..120),
    ) {
        let enforcing = Timeline::with(settings(which));
        let shadow = Timeline::with(settings(which).shadow(true));
        prop_assert!(shadow.cb.is_shadow() && !enforcing.cb.is_shadow());
        for (gap, told, took) in steps {
            enforcing.advance(ms(gap));
            shadow.advance(ms(gap));
            let admitted = enforcing.cb.try_acquire_owned();
            let seen = shadow.cb.try_acquire_owned().expect("shadow mode admits every call");
            prop_assert_eq!(seen.is_shadow_rejected(), admitted.is_err());
            if let Ok(permit) = &admitted {
                prop_assert_eq!(seen.is_probe(), permit.is_probe());
            }
            enforcing.advance(ms(took));
            shadow.advance(ms(took));
            if let Ok(permit) = admitted {
                permit.record(told);
            }
            seen.record(told);
            prop_assert_eq!(shadow.state(), enforcing.state());
            prop_assert_eq!(shadow.cb.errors_in_window(), enforcing.cb.errors_in_window());
        }
        prop_assert_eq!(shadow.log(), enforcing.log());
    }
}

#[test]
fn a_call_it_would_reject_is_forwarded_and_its_outcome_not_counted() {
    let t = Timeline::with(
        CircuitBreaker::builder()
            .window(secs(5))
            .error_threshold(0)
            .shadow(true),
    );
    t.fail();
    assert_eq!(t.state(), State::Open);
    let polled = std::cell::Cell::new(false);
    let call = t.cb.call(std::future::poll_fn(|_| {
        polled.set(true);
        Poll::Ready(Err::<u8, u8>(7))
    }));
    let mut call = std::pin::pin!(call);
    let result = call.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    assert!(polled.get(), "forwarded");
    assert!(matches!(result, Poll::Ready(Err(Error::Inner(7)))));
    assert_eq!(
        t.cb.errors_in_window(),
        1,
        "the shadow call's failure is not counted"
    );
    t.advance(secs(5));
    assert_eq!(
        t.state(),
        State::Closed,
        "closes when the enforcing twin would"
    );
}

#[test]
fn forced_open_admits_in_shadow_mode_and_says_so() {
    let cb = CircuitBreaker::builder().shadow(true).build().unwrap();
    cb.force_open();
    assert_eq!(cb.state(), State::ForcedOpen);
    let permit = cb.try_acquire().expect("admitted");
    assert!(permit.is_shadow_rejected());
    permit.failure();
    let owned = cb.try_acquire_owned().expect("admitted");
    assert!(owned.is_shadow_rejected());
    drop(owned); // untold: nothing to give back
    cb.reset();
    let permit = cb.try_acquire().expect("admitted");
    assert!(!permit.is_shadow_rejected());
    permit.success();
    let future = cb.call(ready(Ok::<u8, u8>(1)));
    assert!(matches!(
        std::pin::pin!(future).poll(&mut Context::from_waker(Waker::noop())),
        Poll::Ready(Ok(1))
    ));
}

#[test]
fn shadow_mode_is_off_by_default_and_costs_a_default_breaker_nothing() {
    let plain = CircuitBreaker::new(Duration::from_secs(5), 3);
    assert!(!plain.is_shadow());
    let off = CircuitBreaker::builder().shadow(false).build().unwrap();
    assert!(!off.is_shadow());
    assert_eq!(off.memory_footprint(), plain.memory_footprint());
}
