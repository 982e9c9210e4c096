//! The future of [`CircuitBreaker::call`](crate::CircuitBreaker::call), written by hand rather
//! than as an `async fn`.
//!
//! # Why by hand
//!
//! An `async fn`'s future is a state machine: a state byte read through a jump table on every
//! poll, and fields written one by one, of whatever width each has. Polled where it was built
//! (an executor inlined into the caller), the optimiser sees through it. Moved into a function
//! that is not inlined first (`futures::FutureExt::now_or_never`, and many executors' `spawn`
//! or `block_on`, which take the future by value), it is not: the move copies it with wide
//! loads that straddle the narrow stores that built it (a store-to-load forwarding stall), and
//! the poll dispatches on a state it cannot know. Measured here, that made a closed `call`
//! through `now_or_never` several times the cost of the same `call` polled in place.
//!
//! This future has no state byte and no flag: it is the permit, two words, and the wrapped
//! future. Before the first poll the permit's word says "not asked for yet"; the first poll asks
//! (one load while closed, the breaker's state read straight from the permit's reference, with
//! no pointer to the handle in between); the end tells the permit and leaves it told, and
//! dropping a told or unasked permit does nothing (a probe's permit dropped untold gives its
//! place back). Each field is read back as it was written.
//!
//! Polled by a poller inlined where the future is built, a closed success costs what the permit
//! costs. Polled by one compiled apart, the future is handed over in memory and the poller saves
//! registers around the slow paths it may take; BENCHMARKS.md measures both, beside a bare
//! async block through the same pollers.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use crate::error::Error;
use crate::inner::Inner;
use crate::permit::Permit;

pin_project_lite::pin_project! {
    /// The future [`CircuitBreaker::call`](crate::CircuitBreaker::call) returns: asks for a
    /// permit when first polled, then runs the call and records its result.
    pub(crate) struct Call<'a, F> {
        // Not asked for until the first poll; then the call's permit, told when the call ends.
        // Dropped with this future while the call runs, it records nothing.
        permit: Permit<'a>,
        #[pin]
        call: F,
    }
}

impl<'a, F> Call<'a, F> {
    #[inline]
    pub(crate) fn new(breaker: &'a Inner, call: F) -> Self {
        Self {
            permit: Permit::unasked(breaker),
            call,
        }
    }
}

impl<T, E, F> Future for Call<'_, F>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, Error<E>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Err(open) = this.permit.ask() {
            return Poll::Ready(Err(Error::Open(open)));
        }
        let result = ready!(this.call.poll(cx));
        let permit = this.permit.take();
        if result.is_ok() {
            permit.success();
        } else {
            permit.failure();
        }
        Poll::Ready(result.map_err(Error::Inner))
    }
}

#[cfg(test)]
mod tests {
    use std::future::ready;
    use std::pin::pin;
    use std::task::Waker;
    use std::time::Duration;

    use super::*;
    use crate::CircuitBreaker;

    fn poll_once<F: Future>(f: F) -> Poll<F::Output> {
        pin!(f).poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn the_permit_is_asked_for_on_the_first_poll_not_when_built() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        let call = cb.call(ready(Ok::<u8, u8>(1)));
        cb.try_acquire().unwrap().failure(); // trips before the call is polled
        assert!(matches!(poll_once(call), Poll::Ready(Err(Error::Open(_)))));
    }

    #[test]
    fn a_pending_call_holds_its_permit_and_records_when_it_ends() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        let mut first = true;
        let inner = std::future::poll_fn(move |_| {
            if std::mem::take(&mut first) {
                Poll::Pending
            } else {
                Poll::Ready(Err::<u8, u8>(2))
            }
        });
        let mut call = pin!(cb.call(inner));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(call.as_mut().poll(&mut cx).is_pending());
        assert_eq!(cb.errors_in_window(), 0);
        assert!(matches!(
            call.as_mut().poll(&mut cx),
            Poll::Ready(Err(Error::Inner(2)))
        ));
        assert_eq!(cb.errors_in_window(), 1);
    }

    #[test]
    fn the_call_future_adds_two_words_to_its_call() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        let inner = ready(Ok::<u64, u64>(1));
        let size = std::mem::size_of_val(&inner);
        assert_eq!(std::mem::size_of_val(&cb.call(inner)), size + 16);
    }

    #[test]
    fn a_rejected_call_is_never_polled_and_a_closed_one_once() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        let polls = std::cell::Cell::new(0);
        let counted = || {
            std::future::poll_fn(|_| {
                polls.set(polls.get() + 1);
                Poll::Ready(Err::<u8, u8>(3))
            })
        };
        assert!(matches!(
            poll_once(cb.call(counted())),
            Poll::Ready(Err(Error::Inner(3)))
        ));
        assert!(matches!(
            poll_once(cb.call(counted())),
            Poll::Ready(Err(Error::Open(_)))
        ));
        assert_eq!(polls.get(), 1);
        assert_eq!(cb.errors_in_window(), 1);
    }

    #[test]
    fn the_call_future_is_send_when_its_call_is() {
        fn send<T: Send>(_: &T) {}
        let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
        send(&cb.call(ready(Ok::<u8, u8>(1))));
    }
}
