//! The one path every integration takes through the breaker: take a permit (or reject), run the
//! call, classify its result, record the outcome, then hold the circuit open if the integration
//! asks to (the HTTP adapters' `Retry-After`).
//!
//! # Why one future for all
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
//! [`Guarded`] is a future written out as a type (no `async` block, no box), so that the tower
//! layer can name it inside its `ResponseFuture`, which is then `Send + 'static` whenever the
//! call's future and the classifier are; the HTTP adapters await it in their `async fn`s. It is
//! generic over the permit: a borrowed [`Permit`] where the call borrows a breaker anyway (the
//! HTTP adapters), an [`OwnedPermit`] where the future must be `'static` (tower). It is compiled
//! only with an integration that uses it (`http`, `tower`).

#![cfg(any(feature = "http", feature = "tower"))]

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use crate::breaker::{CircuitBreaker, OwnedPermit, Permit};
use crate::classify::Classify;
use crate::error::{CircuitOpenError, Error};
use crate::state::Outcome;

/// A permit that a [`Guarded`] call holds while it runs: [`Permit`] or [`OwnedPermit`].
pub(crate) trait Record {
    /// Records how the call ended.
    fn record(self, outcome: Outcome);
}

/// How a [`Guarded`] call takes its permit from a breaker it borrows for `'a`.
pub(crate) trait Admit<'a>: Record + Sized {
    /// A permit of `breaker`, or the rejection.
    fn admit(breaker: &'a CircuitBreaker) -> Result<Self, CircuitOpenError>;
}

impl Record for Permit<'_> {
    #[inline]
    fn record(self, outcome: Outcome) {
        Permit::record(self, outcome);
    }
}

impl<'a> Admit<'a> for Permit<'a> {
    #[inline]
    fn admit(breaker: &'a CircuitBreaker) -> Result<Self, CircuitOpenError> {
        breaker.try_acquire()
    }
}

impl Record for OwnedPermit {
    #[inline]
    fn record(self, outcome: Outcome) {
        OwnedPermit::record(self, outcome);
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

pin_project_lite::pin_project! {
    /// A call behind a breaker: ready at once with [`Error::Open`] if the breaker rejected it,
    /// else the call, whose result is classified with `K`, recorded on the permit `P`, handed
    /// to the hold `H`, and returned. Dropped before the call ends, it records nothing.
    pub(crate) struct Guarded<P, F, K, H> {
        #[pin]
        stage: Stage<P, F>,
        classifier: K,
        hold: H,
    }
}

pin_project_lite::pin_project! {
    #[project = StageProj]
    enum Stage<P, F> {
        // The permit is taken when the call ends, so that it is recorded once.
        Admitted { #[pin] call: F, permit: Option<P> },
        Rejected { open: CircuitOpenError },
    }
}

impl<P, F, K, H> Guarded<P, F, K, H> {
    /// Asks `breaker` for a permit now; if it is given, builds the call with `call`.
    #[inline]
    pub(crate) fn new<'a>(
        breaker: &'a CircuitBreaker,
        call: impl FnOnce() -> F,
        classifier: K,
        hold: H,
    ) -> Self
    where
        P: Admit<'a>,
    {
        let stage = match P::admit(breaker) {
            Ok(permit) => Stage::Admitted {
                call: call(),
                permit: Some(permit),
            },
            Err(open) => Stage::Rejected { open },
        };
        Self {
            stage,
            classifier,
            hold,
        }
    }

    /// Whether the breaker rejected the call (for the tower future's `Debug`).
    #[cfg_attr(not(feature = "tower"), allow(dead_code))]
    pub(crate) fn is_rejected(&self) -> bool {
        matches!(self.stage, Stage::Rejected { .. })
    }
}

impl<P, F, K, H, T, E> Future for Guarded<P, F, K, H>
where
    P: Record,
    F: Future<Output = Result<T, E>>,
    K: Classify<Result<T, E>>,
    H: Hold<Result<T, E>>,
{
    type Output = Result<T, Error<E>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.stage.project() {
            StageProj::Rejected { open } => Poll::Ready(Err(Error::Open(*open))),
            StageProj::Admitted { call, permit } => {
                let result = ready!(call.poll(cx));
                if let Some(permit) = permit.take() {
                    permit.record(this.classifier.classify(&result));
                    this.hold.hold(&result);
                }
                Poll::Ready(result.map_err(Error::Inner))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::future::{poll_fn, ready};
    use std::pin::pin;
    use std::task::Waker;
    use std::time::Duration;

    use super::*;
    use crate::state::State;

    fn poll_once<F: Future>(f: Pin<&mut F>) -> Poll<F::Output> {
        f.poll(&mut Context::from_waker(Waker::noop()))
    }

    fn ok_is_success(result: &Result<u8, u8>) -> Outcome {
        if result.is_ok() {
            Outcome::Success
        } else {
            Outcome::Failure
        }
    }

    #[test]
    fn a_rejected_call_is_never_built_and_holds_nothing() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        cb.try_acquire().unwrap().failure();
        let built = Cell::new(false);
        let held = Cell::new(false);
        let guarded = Guarded::<Permit<'_>, _, _, _>::new(
            &cb,
            || {
                built.set(true);
                ready(Ok::<u8, u8>(1))
            },
            ok_is_success,
            |_: &Result<u8, u8>| held.set(true),
        );
        assert!(guarded.is_rejected());
        assert!(matches!(
            poll_once(pin!(guarded)),
            Poll::Ready(Err(Error::Open(_)))
        ));
        assert!(!built.get());
        assert!(!held.get());
    }

    #[test]
    fn the_outcome_is_recorded_before_the_hold_and_the_result_returned() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        let seen = Cell::new(None);
        let guarded = Guarded::<OwnedPermit, _, _, _>::new(
            &cb,
            || ready(Err::<u8, u8>(2)),
            ok_is_success,
            |result: &Result<u8, u8>| seen.set(Some((*result, cb.state()))),
        );
        assert!(matches!(
            poll_once(pin!(guarded)),
            Poll::Ready(Err(Error::Inner(2)))
        ));
        assert_eq!(seen.get(), Some((Err(2), State::Open)));
    }

    #[test]
    fn the_result_is_returned_whatever_the_classifier_says() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        let guarded = Guarded::<Permit<'_>, _, _, _>::new(
            &cb,
            || ready(Ok::<u8, u8>(3)),
            |_: &Result<u8, u8>| Outcome::Failure,
            (),
        );
        assert!(matches!(poll_once(pin!(guarded)), Poll::Ready(Ok(3))));
        assert_eq!(cb.state(), State::Open);
    }

    #[test]
    fn a_call_dropped_before_it_ends_records_nothing() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        let mut guarded = Box::pin(Guarded::<OwnedPermit, _, _, _>::new(
            &cb,
            || poll_fn(|_| Poll::<Result<u8, u8>>::Pending),
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
        let guarded =
            Guarded::<OwnedPermit, _, _, _>::new(&cb, || ready(Ok::<u8, u8>(1)), ok_is_success, ());
        send_static(&guarded);
    }
}
