//! The circuit breaker's handle: what a program keeps, clones and asks.
//!
//! # Why a handle
//!
//! A breaker guards one downstream for a whole program, from many tasks and threads at once, so
//! [`CircuitBreaker`] is one pointer to shared state (`inner.rs`): a clone shares the circuit,
//! and every method reads or changes that state through the same paths. A permit that must
//! outlive the caller's borrow holds a handle of its own: [`OwnedPermit`].

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::call::Call;
use crate::error::{CircuitOpenError, Error};
use crate::inner::Inner;
use crate::machine::Event;
use crate::observe::Observe;
use crate::permit::{BreakerRef, Holds, Sealed};
use crate::state::{Reason, State};

// The permit a handle gives, named beside the handle as well as in its own module, so that code
// taking permits from a handle imports both from here.
pub(crate) use crate::permit::Permit;

/// A circuit breaker: more than T failures in the last W opens it.
///
/// It is a cheap handle: clones share one state, and it is `Send + Sync`, so one breaker can
/// guard a service for a whole program. See the [crate docs](crate) for the rules it follows.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use breaker::{CircuitBreaker, ManualClock, State};
///
/// let clock = ManualClock::new();
/// let cb = CircuitBreaker::builder()
///     .window(Duration::from_secs(5))
///     .error_threshold(2)
///     .clock(clock.clone())
///     .build()?;
///
/// for _ in 0..3 {
///     cb.try_acquire()?.failure(); // the third failure exceeds T = 2
///     clock.advance(Duration::from_secs(1));
/// }
/// assert_eq!(cb.state(), State::Open);
/// // The first failure (at 0 s) leaves the window at 5 s: from then on there are 2.
/// assert_eq!(cb.try_acquire().unwrap_err().retry_after(), Duration::from_secs(2));
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(cb.state(), State::Closed);
/// assert_eq!(cb.errors_in_window(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct CircuitBreaker {
    inner: Arc<Inner>,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name())
            .field("state", &self.inner.peek().state())
            .field("window", &self.window())
            .field("error_threshold", &self.error_threshold())
            .field("errors_in_window", &self.errors_in_window())
            .finish()
    }
}

impl CircuitBreaker {
    /// The handle of a breaker built from `inner`.
    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    /// The name given with [`Builder::name`](crate::Builder::name), if any.
    pub fn name(&self) -> Option<&str> {
        self.inner.observe().and_then(Observe::name)
    }

    /// The window W.
    pub fn window(&self) -> Duration {
        self.inner.window().to_duration()
    }

    /// The count rule's error threshold T, or `None` if the breaker trips on its other rules
    /// alone.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::CircuitBreaker;
    ///
    /// assert_eq!(CircuitBreaker::new(Duration::from_secs(5), 3).error_threshold(), Some(3));
    /// let by_rate = CircuitBreaker::builder().failure_rate(0.5, 10).build()?;
    /// assert_eq!(by_rate.error_threshold(), None);
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    pub fn error_threshold(&self) -> Option<u32> {
        self.inner.threshold()
    }

    /// Whether the breaker is in shadow mode ([`Builder::shadow`](crate::Builder::shadow)): it
    /// decides, but admits every call.
    ///
    /// ```
    /// use breaker::CircuitBreaker;
    ///
    /// assert!(!CircuitBreaker::builder().build()?.is_shadow());
    /// assert!(CircuitBreaker::builder().shadow(true).build()?.is_shadow());
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    pub fn is_shadow(&self) -> bool {
        self.inner.is_shadow()
    }

    /// The state now.
    pub fn state(&self) -> State {
        self.inner.state()
    }

    /// The failures in the window now. It saturates at T + 1, the most the breaker keeps. With
    /// no count rule, the failures the rate rule counts (to its granularity), or zero.
    pub fn errors_in_window(&self) -> u32 {
        self.inner.errors_in_window()
    }

    /// Forces the circuit open: every call is rejected, with a [`CircuitOpenError`] that
    /// [says so](CircuitOpenError::is_forced), until [`reset`](CircuitBreaker::reset).
    /// Observers, events and metrics see the change (reason [`Reason::Forced`]).
    ///
    /// ```
    /// use breaker::{CircuitBreaker, State};
    ///
    /// let cb = CircuitBreaker::builder().build()?;
    /// cb.force_open();
    /// assert_eq!(cb.state(), State::ForcedOpen);
    /// assert!(cb.try_acquire().unwrap_err().is_forced());
    /// cb.reset();
    /// assert!(cb.try_acquire().is_ok());
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    pub fn force_open(&self) {
        self.inner.change(Event::ForceOpen);
    }

    /// Forces the circuit closed: every call is admitted and nothing trips until
    /// [`reset`](CircuitBreaker::reset). Outcomes are still recorded (the window, the metrics),
    /// but no rule opens the circuit.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, State};
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
    /// cb.force_closed();
    /// cb.try_acquire()?.failure();
    /// assert_eq!(cb.state(), State::ForcedClosed);
    /// # Ok::<(), breaker::CircuitOpenError>(())
    /// ```
    pub fn force_closed(&self) {
        self.inner.change(Event::ForceClosed);
    }

    /// Back to closed and automatic, from any state, with an empty window: every failure and
    /// every call counted so far is forgotten, and a streak of failures ends.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, State};
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
    /// cb.try_acquire()?.failure();
    /// assert_eq!(cb.state(), State::Open);
    /// cb.reset();
    /// assert_eq!((cb.state(), cb.errors_in_window()), (State::Closed, 0));
    /// # Ok::<(), breaker::CircuitOpenError>(())
    /// ```
    pub fn reset(&self) {
        self.inner.change(Event::Reset);
    }

    /// Opens the circuit for at least `duration` from now (a server asked for it with
    /// `Retry-After`, say): an open period that already ends later is left as it is, a shorter
    /// one is lengthened, a closed or half-open circuit opens (reason [`Reason::RetryAfter`]).
    /// A forced state is left alone. The HTTP wrapper and the middleware call it when told to
    /// honour `Retry-After`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// let cb = CircuitBreaker::builder().clock(clock.clone()).build()?;
    /// cb.open_for(Duration::from_secs(30));
    /// assert_eq!(cb.try_acquire().unwrap_err().retry_after(), Duration::from_secs(30));
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    pub fn open_for(&self, duration: Duration) {
        self.inner.hold_open(duration, Reason::RetryAfter);
    }

    /// Opens the circuit for at least `duration` from now because the circuit opened elsewhere:
    /// like [`open_for`](CircuitBreaker::open_for), with the reason [`Reason::Remote`], so that
    /// observers, events and metrics tell a trip by another process from a local one. The
    /// duration is a remaining time, applied on this breaker's own clock. A forced state is
    /// left alone; a longer open period is left as it is.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, ManualClock, Reason, State};
    ///
    /// let clock = ManualClock::new();
    /// let reasons = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    /// let log = reasons.clone();
    /// let cb = CircuitBreaker::builder()
    ///     .clock(clock.clone())
    ///     .on_state_change(move |c| log.lock().unwrap().push(c.reason))
    ///     .build()?;
    /// cb.open_remote(Duration::from_secs(2));
    /// assert_eq!(cb.state(), State::Open);
    /// clock.advance(Duration::from_secs(2));
    /// assert_eq!(cb.state(), State::Closed);
    /// assert_eq!(*reasons.lock().unwrap(), [Reason::Remote, Reason::OpenTimeElapsed]);
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    pub fn open_remote(&self, duration: Duration) {
        self.inner.hold_open(duration, Reason::Remote);
    }

    /// The bytes this breaker holds: the handle, the shared state (with the two reference
    /// counts of its allocation) and the heap behind it, a custom clock's and an observer's own
    /// data excepted. Fixed at build time.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::CircuitBreaker;
    ///
    /// // Up to T = 3, the stamps sit inside the breaker's state: one allocation, under 100 bytes
    /// // (the `metrics` feature adds its handles to every breaker).
    /// # #[cfg(not(feature = "metrics"))]
    /// assert!(CircuitBreaker::new(Duration::from_secs(5), 3).memory_footprint() <= 96);
    /// ```
    pub fn memory_footprint(&self) -> usize {
        std::mem::size_of::<Self>()
            + 2 * std::mem::size_of::<usize>() // the Arc's counts
            + self.inner.footprint()
    }

    /// Asks to make a call. On success the [`Permit`] must be told how the call ended; a permit
    /// dropped untold records nothing (a cancelled call).
    ///
    /// # Errors
    ///
    /// [`CircuitOpenError`] when the circuit is open (or forced open), or half-open with every
    /// probe place taken.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::CircuitBreaker;
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    /// match cb.try_acquire() {
    ///     Ok(permit) => {
    ///         let worked = true; // make the call here
    ///         if worked { permit.success() } else { permit.failure() }
    ///     }
    ///     Err(open) => println!("not now; try again in {:?}", open.retry_after()),
    /// }
    /// ```
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, CircuitOpenError> {
        let word = self.inner.try_acquire()?;
        Ok(Permit::new(BreakerRef::new(&self.inner), word))
    }

    /// Like [`try_acquire`](CircuitBreaker::try_acquire), with a permit that owns a handle to
    /// the breaker: it is `Send + 'static`, so it can move into a spawned task or a `'static`
    /// future (a tower service's, say). It costs one reference count more than a [`Permit`].
    ///
    /// # Errors
    ///
    /// As for [`try_acquire`](CircuitBreaker::try_acquire).
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, State};
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
    /// let permit = cb.try_acquire_owned()?;
    /// std::thread::spawn(move || permit.failure()).join().unwrap();
    /// assert_eq!(cb.state(), State::Open);
    /// # Ok::<(), breaker::CircuitOpenError>(())
    /// ```
    #[inline]
    pub fn try_acquire_owned(&self) -> Result<OwnedPermit, CircuitOpenError> {
        let word = self.inner.try_acquire()?;
        Ok(Permit::new(self.clone(), word))
    }

    /// Runs `call` if the circuit admits it, and records its result: `Ok` is a success, `Err` a
    /// failure. A future dropped before it ends records nothing.
    ///
    /// # Errors
    ///
    /// [`Error::Open`] if the call was rejected (the future is then never polled), or
    /// [`Error::Inner`] with the call's own error.
    ///
    /// # Example
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Error};
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 1);
    /// for _ in 0..2 {
    ///     let r = cb.call(async { Err::<u32, _>("service down") }).await;
    ///     assert!(matches!(r, Err(Error::Inner("service down"))));
    /// }
    /// let r = cb.call(async { Ok::<u32, &str>(42) }).await;
    /// assert!(matches!(r, Err(Error::Open(_))));
    /// # });
    /// ```
    #[inline]
    pub fn call<T, E, F>(&self, call: F) -> impl Future<Output = Result<T, Error<E>>>
    where
        F: Future<Output = Result<T, E>>,
    {
        // A future written by hand, not an `async fn`: see `call.rs` for why.
        Call::new(&self.inner, call)
    }
}

/// A [`Permit`] that owns a handle to its breaker, taken with
/// [`CircuitBreaker::try_acquire_owned`]: `Send + 'static`, with the same methods and the same
/// rule (dropped untold, it records nothing).
pub type OwnedPermit = Permit<'static, CircuitBreaker>;

impl Sealed for CircuitBreaker {
    const PERMIT: &'static str = "OwnedPermit";

    #[inline]
    fn inner(&self) -> &Inner {
        &self.inner
    }
}

impl Holds for CircuitBreaker {}

impl OwnedPermit {
    /// The breaker this permit belongs to.
    pub fn breaker(&self) -> &CircuitBreaker {
        self.holder()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permit_is_two_words() {
        assert_eq!(std::mem::size_of::<Permit<'_>>(), 16);
    }

    #[test]
    fn owned_permit_is_two_words_and_static() {
        fn send_static<T: Send + 'static>() {}
        send_static::<OwnedPermit>();
        assert_eq!(std::mem::size_of::<OwnedPermit>(), 16);
    }

    #[test]
    #[cfg(not(feature = "metrics"))]
    fn a_default_breaker_is_one_small_allocation() {
        let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
        assert!(!cb.inner.has_extras());
        assert!(cb.memory_footprint() <= 96, "{}", cb.memory_footprint());
    }
}
