//! The one path every integration takes through the breaker: take a permit (or reject), run the
//! call, classify its result, record the outcome, then hold the circuit open if the integration
//! asks to (the HTTP adapters' `Retry-After`).
//!
//! # Why one path
//!
//! `BreakerClient`, the reqwest middleware and the tower layer wrap a call the same way; written
//! once, the rules hold for all three alike:
//!
//! - a rejected call is never built, so the inner client or service is never touched;
//! - a call dropped before it ends records nothing (its permit is dropped untold);
//! - the outcome is recorded before the hold, so a hold lengthens the open period that the
//!   outcome may have started, and is not undone by it;
//! - the result is returned whatever the classifier made of it.
//!
//! Each integration keeps only its translation: its request and response types, its error
//! type, its `poll_ready`.
//!
//! The path has two halves, [`admit`] (the permit or the rejection, before the call is built)
//! and [`settle`] (classify, record, hold, once the call has ended), joined around the call in
//! one of two ways:
//!
//! - For the tower layer, [`Guarded`]: the call built after [`admit`], as a future written out
//!   as a type (no `async` block, no box) that settles the call when it ends. The layer's
//!   `ResponseFuture` names it, and is `Send + 'static` whenever the call's future and the
//!   classifier are: it holds an [`OwnedPermit`].
//! - In the HTTP adapters' `async fn`s: [`admit`], the call built and awaited in place, then
//!   [`settle`], with a borrowed [`Permit`]. Awaiting a [`Guarded`] there would nest a second
//!   state machine in theirs and keep the classifier and the hold beside the references the
//!   `async fn` already keeps; handing [`admit`] a closure that builds the call would copy the
//!   request into the closure. Measured on the reqwest middleware, either costs some 80 to 130
//!   more instructions per request (2 to 3 % of a request through a stubbed chain) and the
//!   first a larger boxed future; the two halves cost what the same code written out costs.
//!
//! Either way, a rejection comes back before the call exists, so that each integration turns it
//! into its own error where it takes the permit, and the call's output comes back as it is.
//!
//! It is compiled only with an integration that uses it (`http`, `tower`).

#![cfg(any(feature = "http", feature = "tower"))]

#[cfg(feature = "tower")]
use std::future::Future;
#[cfg(feature = "tower")]
use std::pin::Pin;
#[cfg(feature = "tower")]
use std::task::{Context, Poll, ready};

use crate::breaker::{CircuitBreaker, OwnedPermit};
use crate::classify::Classify;
use crate::error::CircuitOpenError;
use crate::permit::{Holds, Permit};

/// How [`admit`] takes a permit from a breaker it borrows for `'a`: borrowed ([`Permit`]) or
/// owning a handle ([`OwnedPermit`]).
pub(crate) trait Admit<'a>: Sized {
    /// A permit of `breaker`, or the rejection.
    fn admit(breaker: &'a CircuitBreaker) -> Result<Self, CircuitOpenError>;
}

impl<'a> Admit<'a> for Permit<'a> {
    #[inline]
    fn admit(breaker: &'a CircuitBreaker) -> Result<Self, CircuitOpenError> {
        breaker.try_acquire()
    }
}

impl Admit<'_> for OwnedPermit {
    #[inline]
    fn admit(breaker: &CircuitBreaker) -> Result<Self, CircuitOpenError> {
        breaker.try_acquire_owned()
    }
}

/// What an integration does with a call's result once its outcome is recorded: nothing (`()`),
/// or, for the HTTP adapters, hold the circuit open for a `Retry-After`.
pub(crate) trait Hold<T: ?Sized> {
    /// Acts on `result`, whose outcome is recorded.
    fn hold(&self, result: &T);
}

impl<T: ?Sized> Hold<T> for () {
    #[inline]
    fn hold(&self, _: &T) {}
}

impl<T: ?Sized, F: Fn(&T)> Hold<T> for F {
    #[inline]
    fn hold(&self, result: &T) {
        self(result);
    }
}

/// Takes a permit of `breaker` for one call, or the rejection. The caller builds the call only
/// once it has the permit, so that a rejected call never reaches the inner client or service.
///
/// # Errors
///
/// The breaker's rejection.
#[inline]
pub(crate) fn admit<'a, P: Admit<'a>>(breaker: &'a CircuitBreaker) -> Result<P, CircuitOpenError> {
    P::admit(breaker)
}

/// Ends a call whose output is `output`: records on `permit` the outcome `classifier` gives
/// it, then hands it to `hold`.
#[inline]
pub(crate) fn settle<P, T, K, H>(permit: Permit<'_, P>, output: &T, classifier: &K, hold: &H)
where
    P: Holds,
    T: ?Sized,
    K: Classify<T> + ?Sized,
    H: Hold<T> + ?Sized,
{
    permit.record(classifier.classify(output));
    hold.hold(output);
}

#[cfg(feature = "tower")]
pin_project_lite::pin_project! {
    /// An [`admit`]ted call as a future that can be named: the call, then [`settle`] when it
    /// ends; the output is returned as it is. Dropped before the call ends, it records nothing.
    pub(crate) struct Guarded<'a, P: Holds, F, K, H> {
        #[pin]
        call: F,
        // Taken when the call ends, so that it is told once.
        permit: Option<Permit<'a, P>>,
        classifier: K,
        hold: H,
    }
}

#[cfg(feature = "tower")]
impl<'a, P: Holds, F, K, H> Guarded<'a, P, F, K, H> {
    /// The call `call`, [`admit`]ted with `permit`, to be settled with `classifier` and `hold`.
    #[inline]
    pub(crate) fn new(permit: Permit<'a, P>, call: F, classifier: K, hold: H) -> Self {
        Self {
            call,
            permit: Some(permit),
            classifier,
            hold,
        }
    }
}

#[cfg(feature = "tower")]
impl<P, F, K, H> Future for Guarded<'_, P, F, K, H>
where
    P: Holds,
    F: Future,
    K: Classify<F::Output>,
    H: Hold<F::Output>,
{
    type Output = F::Output;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let output = ready!(this.call.poll(cx));
        if let Some(permit) = this.permit.take() {
            settle(permit, &output, this.classifier, this.hold);
        }
        Poll::Ready(output)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::time::Duration;

    use super::*;
    use crate::state::{Outcome, State};

    fn ok_is_success(result: &Result<u8, u8>) -> Outcome {
        if result.is_ok() {
            Outcome::Success
        } else {
            Outcome::Failure
        }
    }

    #[test]
    fn an_open_circuit_admits_nothing_and_counts_no_failure() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        cb.try_acquire().unwrap().failure();
        assert!(admit::<Permit<'_>>(&cb).is_err());
        assert!(admit::<OwnedPermit>(&cb).is_err());
        assert_eq!(cb.errors_in_window(), 1);
    }

    #[test]
    fn the_outcome_is_recorded_before_the_hold() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        let permit = admit::<OwnedPermit>(&cb).unwrap();
        let output = Err::<u8, u8>(2);
        let seen = Cell::new(None);
        let hold = |result: &Result<u8, u8>| seen.set(Some((*result, cb.state())));
        settle(permit, &output, &ok_is_success, &hold);
        assert_eq!(seen.get(), Some((Err(2), State::Open)));
    }

    #[test]
    fn the_classifier_decides_the_outcome_whatever_the_output() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        let permit = admit::<Permit<'_>>(&cb).unwrap();
        let output = Ok::<u8, u8>(3);
        settle(permit, &output, &|_: &Result<u8, u8>| Outcome::Failure, &());
        assert_eq!(cb.state(), State::Open);
    }

    #[test]
    fn a_permit_dropped_before_it_is_settled_records_nothing() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        drop(admit::<Permit<'_>>(&cb).unwrap());
        assert_eq!(cb.errors_in_window(), 0);
        assert_eq!(cb.state(), State::Closed);
    }

    #[cfg(feature = "tower")]
    mod guarded {
        use std::future::{poll_fn, ready};
        use std::pin::pin;
        use std::task::Waker;

        use super::*;

        fn poll_once<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
            f.poll(&mut Context::from_waker(Waker::noop()))
        }

        #[test]
        fn a_call_that_ends_is_settled_once_and_returned_as_it_is() {
            let cb = CircuitBreaker::new(Duration::from_secs(5), 1);
            let mut polls = 0;
            let call = poll_fn(move |_| {
                polls += 1;
                Poll::Ready(Err::<u8, u8>(polls))
            });
            let held = Cell::new(0);
            let hold = |_: &Result<u8, u8>| held.set(held.get() + 1);
            let permit = admit::<Permit<'_>>(&cb).unwrap();
            let mut guarded = pin!(Guarded::new(permit, call, ok_is_success, hold));
            assert_eq!(poll_once(guarded.as_mut()), Poll::Ready(Err(1)));
            assert_eq!(poll_once(guarded.as_mut()), Poll::Ready(Err(2)));
            assert_eq!(cb.errors_in_window(), 1);
            assert_eq!(held.get(), 1);
        }

        #[test]
        fn a_call_dropped_before_it_ends_records_nothing() {
            let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
            let mut guarded = Box::pin(Guarded::new(
                admit::<OwnedPermit>(&cb).unwrap(),
                poll_fn(|_| Poll::<Result<u8, u8>>::Pending),
                |_: &Result<u8, u8>| Outcome::Failure,
                (),
            ));
            assert!(poll_once(guarded.as_mut()).is_pending());
            drop(guarded);
            assert_eq!(cb.errors_in_window(), 0);
            assert_eq!(cb.state(), State::Closed);
        }

        #[test]
        fn with_an_owned_permit_the_future_is_send_and_static() {
            fn send_static<T: Send + 'static>(_: &T) {}
            let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
            let guarded = Guarded::new(
                admit::<OwnedPermit>(&cb).unwrap(),
                ready(Ok::<u8, u8>(1)),
                ok_is_success,
                (),
            );
            send_static(&guarded);
        }
    }
}
