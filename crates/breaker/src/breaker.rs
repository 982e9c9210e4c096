//! The circuit breaker: its handle, its builder, its states and the permits calls run under.
//!
//! # Shared state, and why it is this small
//!
//! - `open_until` (one atomic word): zero while the circuit is closed, otherwise the instant
//!   (nanoseconds on the clock) at which the open period ends. Admission while closed is one
//!   load of this word that finds zero: no clock read, no write. States are derived from it
//!   and the clock when asked for: there is no timer to close a circuit, the first caller after
//!   the instant sees it closed (or half-open).
//! - the [failure window](crate::window): the T + 1 latest failure stamps. Only failures write it.
//! - with probing only, the bookkeeping of probes and backoff, behind a small lock that is
//!   taken only while the circuit is half-open or changes state (see `probe.rs` for why).
//!
//! A successful call admitted while closed writes nothing shared at all. A rejection while open
//! is the same load plus a clock read. A failure writes the window, and, if it makes the
//! failures exceed T, raises `open_until`: with one `fetch_max` by default, so that whichever
//! thread moves the word from "not open" to "open" is the one trip however many threads record
//! at once; under the probe lock with probing.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, MonotonicClock, nanos};
use crate::error::{CircuitOpenError, ConfigError, Error};
use crate::observe::{Observe, Observer};
use crate::probe::{Admission, CLOSED, Changes, ProbeState, Ticket};
use crate::sync::{AtomicU64, Ordering};
use crate::window::FailureWindow;

/// The state of a circuit at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Calls are forwarded.
    Closed,
    /// Calls are rejected with [`CircuitOpenError`].
    Open,
    /// With probing: a limited number of trial calls are forwarded.
    HalfOpen,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
        })
    }
}

/// How a call ended, as far as the breaker is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The service did its job.
    Success,
    /// The service failed: it counts towards the threshold.
    Failure,
    /// Neither: the call says nothing about the service's health (a 4xx, say). It changes
    /// nothing, and a probe that ends ignored frees its place for another probe.
    Ignored,
}

/// A change of state, given to the observers set with [`Builder::on_state_change`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StateChange {
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
    /// The instant of the change on the breaker's clock. Changes that happen by the passing of
    /// time (an open period ending) carry the exact instant they happened, even though they are
    /// noticed, and reported, by the first caller after it.
    pub at: Duration,
}

/// Opt-in half-open recovery: after an open period, let a few trial calls decide.
///
/// Without probing, the circuit closes by itself the instant the failures in the window fall
/// back to T or fewer. With probing, the circuit stays open for an *open time*, then turns
/// half-open: at most P calls (the probes) are forwarded at once, the rest are rejected.
/// P successful probes close the circuit and clear the window. A failed probe, or one that runs
/// longer than the probe timeout, opens the circuit again, for the next step of the backoff:
/// step k lasts `min(open_time × multiplier^k, cap)`. A probe whose future is dropped, or that
/// ends [`Outcome::Ignored`], gives its place back and counts as nothing.
///
/// Defaults: the open time is the window W; no backoff (multiplier 1); a probe timeout of 10 s.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use breaker::{CircuitBreaker, ManualClock, Probing, State};
///
/// let clock = ManualClock::new();
/// let cb = CircuitBreaker::builder()
///     .window(Duration::from_secs(10))
///     .error_threshold(0)
///     .probing(
///         Probing::new(1)
///             .open_time(Duration::from_secs(1))
///             .backoff(2.0, Duration::from_secs(30)),
///     )
///     .clock(clock.clone())
///     .build()?;
///
/// cb.try_acquire()?.failure();
/// assert_eq!(cb.state(), State::Open);
/// clock.advance(Duration::from_secs(1));
/// assert_eq!(cb.state(), State::HalfOpen);
///
/// let probe = cb.try_acquire()?;
/// assert!(cb.try_acquire().is_err()); // only one probe at a time
/// probe.failure(); // back to open, now for 2 s
/// assert_eq!(cb.try_acquire().unwrap_err().retry_after(), Duration::from_secs(2));
///
/// clock.advance(Duration::from_secs(2));
/// cb.try_acquire()?.success(); // one good probe closes the circuit
/// assert_eq!(cb.state(), State::Closed);
/// assert_eq!(cb.errors_in_window(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Probing {
    probes: u32,
    open_time: Option<Duration>,
    multiplier: f64,
    cap: Option<Duration>,
    probe_timeout: Duration,
}

impl Probing {
    /// The largest number of probes supported.
    pub const MAX_PROBES: u32 = 4095;

    /// Probing with `probes` trial calls (P): at most P at once, and P successes to close.
    pub fn new(probes: u32) -> Self {
        Self {
            probes,
            open_time: None,
            multiplier: 1.0,
            cap: None,
            probe_timeout: Duration::from_secs(10),
        }
    }

    /// How long the circuit stays open after a trip before it turns half-open: the first step
    /// of the backoff. Defaults to the window W.
    pub fn open_time(mut self, open_time: Duration) -> Self {
        self.open_time = Some(open_time);
        self
    }

    /// Lengthens each open period after a failed probe: step k lasts
    /// `min(open_time × multiplier^k, cap)`. A trip from closed starts again at step 0.
    pub fn backoff(mut self, multiplier: f64, cap: Duration) -> Self {
        self.multiplier = multiplier;
        self.cap = Some(cap);
        self
    }

    /// How long a probe may run before it counts as failed. Defaults to 10 s.
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// Probes, open time, multiplier, cap, probe timeout: for validation at build.
    pub(crate) fn parts(&self) -> (u32, Option<Duration>, f64, Option<Duration>, Duration) {
        (
            self.probes,
            self.open_time,
            self.multiplier,
            self.cap,
            self.probe_timeout,
        )
    }
}

/// Builds a [`CircuitBreaker`], refusing any configuration that could misbehave later.
///
/// Defaults: W = 5 s, T = 3, the [`MonotonicClock`], no probing, no name, no observer.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use breaker::CircuitBreaker;
///
/// let cb = CircuitBreaker::builder()
///     .window(Duration::from_secs(30))
///     .error_threshold(10)
///     .build()?;
/// assert_eq!(cb.window(), Duration::from_secs(30));
/// # Ok::<(), breaker::ConfigError>(())
/// ```
#[must_use]
pub struct Builder {
    window: Duration,
    threshold: u32,
    clock: Option<Box<dyn Clock>>,
    probing: Option<Probing>,
    observe: Observe,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("window", &self.window)
            .field("threshold", &self.threshold)
            .field("probing", &self.probing)
            .field("observe", &self.observe)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(5),
            threshold: 3,
            clock: None,
            probing: None,
            observe: Observe::default(),
        }
    }
}

impl Builder {
    /// The time window W: a failure counts while it is younger than W. Must be more than zero.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The error threshold T: the circuit opens when the failures in the window exceed T.
    /// Zero is allowed and trips on the first failure.
    pub fn error_threshold(mut self, threshold: u32) -> Self {
        self.threshold = threshold;
        self
    }

    /// The clock to read time from. Defaults to a [`MonotonicClock`] made at `build()`.
    pub fn clock<C: Clock>(mut self, clock: C) -> Self {
        self.clock = Some(Box::new(clock));
        self
    }

    /// Turns on half-open recovery; see [`Probing`].
    pub fn probing(mut self, probing: Probing) -> Self {
        self.probing = Some(probing);
        self
    }

    /// The breaker's name: it labels its tracing events and metrics (feature `tracing`,
    /// `metrics`), and [`CircuitBreaker::name`] gives it back.
    ///
    /// ```
    /// use breaker::CircuitBreaker;
    ///
    /// let cb = CircuitBreaker::builder().name("payments").build()?;
    /// assert_eq!(cb.name(), Some("payments"));
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.observe.set_name(name.into());
        self
    }

    /// Calls `observer` once for each change of state, after it has taken effect, on the thread
    /// that made or noticed it, outside any lock of the breaker. Keep it quick: it runs inside a
    /// call. Called again, it adds another observer: every one runs, in the order added.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, ManualClock, State};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let clock = ManualClock::new();
    /// let cb = CircuitBreaker::builder()
    ///     .window(Duration::from_secs(1))
    ///     .error_threshold(0)
    ///     .clock(clock.clone())
    ///     .on_state_change(move |c| log.lock().unwrap().push((c.from, c.to, c.at)))
    ///     .build()?;
    /// cb.try_acquire()?.failure();
    /// clock.advance(Duration::from_secs(3));
    /// assert_eq!(cb.state(), State::Closed);
    /// assert_eq!(*seen.lock().unwrap(), [
    ///     (State::Closed, State::Open, Duration::ZERO),
    ///     (State::Open, State::Closed, Duration::from_secs(1)), // when it happened
    /// ]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_state_change<F>(mut self, observer: F) -> Self
    where
        F: Fn(StateChange) + Send + Sync + 'static,
    {
        self.observe.add(Box::new(observer) as Box<Observer>);
        self
    }

    /// Checks the configuration and builds the breaker.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a zero window or one over 584 years, and, with probing, for zero or too many probes, a zero
    /// open time or probe timeout, a multiplier below 1 or not finite, or a cap below the open
    /// time.
    pub fn build(self) -> Result<CircuitBreaker, ConfigError> {
        if self.window.is_zero() {
            return Err(ConfigError::ZeroWindow);
        }
        if self.window > Duration::from_nanos(u64::MAX) {
            return Err(ConfigError::WindowTooLong(self.window));
        }
        let window = nanos(self.window);
        let probing = match self.probing {
            None => None,
            Some(p) => Some(ProbeState::new(p, self.window)?),
        };
        let mut observe = self.observe;
        observe.start();
        // The defaults (monotonic clock, no probing, no name, no observer, no metrics) take no
        // room at all.
        let extras =
            (self.clock.is_some() || probing.is_some() || !observe.is_silent()).then(|| {
                Box::new(Extras {
                    clock: self.clock,
                    probing,
                    observe,
                })
            });
        Ok(CircuitBreaker {
            inner: Arc::new(Inner {
                open_until: AtomicU64::new(CLOSED),
                failures: FailureWindow::new(window, self.threshold),
                extras,
            }),
        })
    }
}

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

struct Inner {
    /// [`CLOSED`], or the end of the open period on the clock, in nanoseconds.
    open_until: AtomicU64,
    /// The failures, W and T.
    failures: FailureWindow,
    /// What the defaults leave out: kept apart so that a default breaker stays small.
    extras: Option<Box<Extras>>,
}

/// The optional parts of a breaker.
struct Extras {
    /// A clock other than the default [`MonotonicClock`].
    clock: Option<Box<dyn Clock>>,
    probing: Option<ProbeState>,
    observe: Observe,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("window", &self.window())
            .field("error_threshold", &self.error_threshold())
            .field("state", &self.inner.peek_state())
            .field("errors_in_window", &self.errors_in_window())
            .field("probing", &self.inner.probing().is_some())
            .finish()
    }
}

impl CircuitBreaker {
    /// A breaker with window `window` (W) and error threshold `error_threshold` (T), on the
    /// monotonic clock, recovering by the window rule.
    ///
    /// # Panics
    ///
    /// If `window` is zero or longer than 584 years (`u64::MAX` nanoseconds). Use
    /// [`CircuitBreaker::builder`] to get an error instead.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, State};
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    /// assert_eq!(cb.state(), State::Closed);
    /// ```
    pub fn new(window: Duration, error_threshold: u32) -> CircuitBreaker {
        match Self::builder()
            .window(window)
            .error_threshold(error_threshold)
            .build()
        {
            Ok(cb) => cb,
            Err(e) => panic!("invalid circuit breaker configuration: {e}"),
        }
    }

    /// A [`Builder`] with the defaults.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The name given with [`Builder::name`], if any.
    pub fn name(&self) -> Option<&str> {
        self.inner.observe().and_then(Observe::name)
    }

    /// The window W.
    pub fn window(&self) -> Duration {
        Duration::from_nanos(self.inner.failures.window())
    }

    /// The error threshold T.
    pub fn error_threshold(&self) -> u32 {
        self.inner.failures.threshold()
    }

    /// The state now.
    pub fn state(&self) -> State {
        let until = self.inner.open_until.load(Ordering::Acquire);
        if until == CLOSED {
            return State::Closed;
        }
        self.inner.state_at(until, self.inner.now())
    }

    /// The failures in the window now. It saturates at T + 1, the most the breaker keeps.
    pub fn errors_in_window(&self) -> u32 {
        self.inner.failures.count(self.inner.now())
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
        let extras = self.inner.extras.as_ref().map_or(0, |e| {
            std::mem::size_of::<Extras>() + e.probing.as_ref().map_or(0, ProbeState::heap_bytes)
        });
        std::mem::size_of::<Self>()
            + 2 * std::mem::size_of::<usize>() // the Arc's counts
            + std::mem::size_of::<Inner>()
            + self.inner.failures.heap_bytes()
            + extras
    }

    /// Asks to make a call. On success the [`Permit`] must be told how the call ended; a permit
    /// dropped untold records nothing (a cancelled call).
    ///
    /// # Errors
    ///
    /// [`CircuitOpenError`] when the circuit is open, or half-open with every probe place taken.
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
        let until = self.inner.open_until.load(Ordering::Acquire);
        if until == CLOSED {
            return Ok(Permit::closed(&self.inner));
        }
        self.inner.acquire_slow(until)
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
        let state = self.try_acquire()?.into_state();
        Ok(OwnedPermit {
            breaker: self.clone(),
            state,
        })
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
    pub async fn call<T, E, F>(&self, call: F) -> Result<T, Error<E>>
    where
        F: Future<Output = Result<T, E>>,
    {
        let permit = self.try_acquire().map_err(Error::Open)?;
        let result = call.await;
        permit.record(if result.is_ok() {
            Outcome::Success
        } else {
            Outcome::Failure
        });
        result.map_err(Error::Inner)
    }
}

/// The methods [`Permit`] and [`OwnedPermit`] share, on top of their own `record`.
macro_rules! permit_methods {
    () => {
        /// Whether this call is a half-open probe.
        pub fn is_probe(&self) -> bool {
            ticket(self.state).is_some()
        }

        /// The call succeeded.
        #[inline]
        pub fn success(self) {
            self.record(Outcome::Success);
        }

        /// The call failed.
        #[inline]
        pub fn failure(self) {
            self.record(Outcome::Failure);
        }

        /// The call's outcome says nothing about the service.
        #[inline]
        pub fn ignore(self) {
            self.record(Outcome::Ignored);
        }
    };
}

/// The right to make one call, taken with [`CircuitBreaker::try_acquire`].
///
/// Tell it how the call ended with [`success`](Permit::success), [`failure`](Permit::failure),
/// [`ignore`](Permit::ignore) or [`record`](Permit::record). Dropping it untold records nothing,
/// which is what a cancelled call should do; a probe's place is given back either way.
#[must_use = "a permit records nothing unless told how the call ended"]
pub struct Permit<'a> {
    inner: &'a Inner,
    /// [`PERMIT_CLOSED`], [`PERMIT_DONE`], or a probe's [`Ticket`] plus one: one word, so that
    /// a permit is two words and stays in registers.
    state: u64,
}

/// A permit admitted while closed.
const PERMIT_CLOSED: u64 = 0;
/// A permit already told how its call ended.
const PERMIT_DONE: u64 = u64::MAX;

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("probe", &self.is_probe())
            .finish()
    }
}

impl<'a> Permit<'a> {
    #[inline]
    fn closed(inner: &'a Inner) -> Self {
        Self {
            inner,
            state: PERMIT_CLOSED,
        }
    }

    fn probe(inner: &'a Inner, ticket: Ticket) -> Self {
        Self {
            inner,
            state: ticket.to_bits() + 1,
        }
    }

    /// The permit's word, leaving the permit told (so that dropping it does nothing).
    #[inline]
    fn into_state(mut self) -> u64 {
        std::mem::replace(&mut self.state, PERMIT_DONE)
    }

    permit_methods!();

    /// Records how the call ended.
    #[inline]
    pub fn record(self, outcome: Outcome) {
        let inner = self.inner;
        inner.finish(self.into_state(), outcome);
    }
}

impl Drop for Permit<'_> {
    #[inline]
    fn drop(&mut self) {
        self.inner.abandon(self.state);
    }
}

/// A [`Permit`] that owns a handle to its breaker, taken with
/// [`CircuitBreaker::try_acquire_owned`]: `Send + 'static`, with the same methods and the same
/// rule (dropped untold, it records nothing).
#[must_use = "a permit records nothing unless told how the call ended"]
pub struct OwnedPermit {
    breaker: CircuitBreaker,
    /// As [`Permit`]'s.
    state: u64,
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("probe", &self.is_probe())
            .finish()
    }
}

impl OwnedPermit {
    /// The breaker this permit belongs to.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    permit_methods!();

    /// Records how the call ended.
    #[inline]
    pub fn record(mut self, outcome: Outcome) {
        let state = std::mem::replace(&mut self.state, PERMIT_DONE);
        self.breaker.inner.finish(state, outcome);
    }
}

impl Drop for OwnedPermit {
    #[inline]
    fn drop(&mut self) {
        self.breaker.inner.abandon(self.state);
    }
}

/// The probe's ticket in a permit's word, if it is a probe's permit not yet told.
#[inline]
fn ticket(state: u64) -> Option<Ticket> {
    match state {
        PERMIT_CLOSED | PERMIT_DONE => None,
        bits => Some(Ticket::from_bits(bits - 1)),
    }
}

impl Inner {
    fn probing(&self) -> Option<&ProbeState> {
        self.extras.as_deref().and_then(|e| e.probing.as_ref())
    }

    fn now(&self) -> u64 {
        match self.extras.as_deref().and_then(|e| e.clock.as_deref()) {
            Some(clock) => nanos(clock.now()),
            None => nanos(MonotonicClock::new().now()),
        }
    }

    fn observe(&self) -> Option<&Observe> {
        self.extras.as_deref().map(|e| &e.observe)
    }

    fn notify(&self, from: State, to: State, at: u64) {
        if let Some(observe) = self.observe() {
            observe.state_change(from, to, Duration::from_nanos(at));
        }
    }

    /// Records the outcome of the call a permit with word `state` let through.
    #[inline]
    fn finish(&self, state: u64, outcome: Outcome) {
        #[cfg(feature = "metrics")]
        if let Some(observe) = self.observe() {
            observe.outcome(outcome);
        }
        match (state, outcome) {
            (PERMIT_CLOSED, Outcome::Failure) => self.record_failure(),
            (PERMIT_CLOSED | PERMIT_DONE, _) => {}
            (bits, outcome) => self.end_probe(Ticket::from_bits(bits - 1), Some(outcome)),
        }
    }

    /// A permit with word `state` dropped untold: a probe gives its place back.
    #[inline]
    fn abandon(&self, state: u64) {
        if let Some(ticket) = ticket(state) {
            self.end_probe(ticket, None);
        }
    }

    /// A rejection, told to tracing and metrics.
    fn reject(&self, open: CircuitOpenError) -> CircuitOpenError {
        if let Some(observe) = self.observe() {
            observe.rejected(open.retry_after());
        }
        open
    }

    /// The state, for display: worked out without carrying out any change (nor reporting it).
    fn peek_state(&self) -> State {
        let until = self.open_until.load(Ordering::Acquire);
        let now = self.now();
        if until == CLOSED {
            State::Closed
        } else if now < until {
            State::Open
        } else if self.probing().is_some() {
            State::HalfOpen
        } else if self.failures.open_until(now).is_some() {
            State::Open
        } else {
            State::Closed
        }
    }

    fn report(&self, changes: &Changes) {
        for (from, to, at) in changes.iter() {
            self.notify(from, to, at);
        }
    }

    /// The state at `now`, with `open_until` read as `until` (not [`CLOSED`]). Carries out the
    /// changes that the passing of time has made.
    fn state_at(&self, until: u64, now: u64) -> State {
        match self.probing() {
            None if now < until => State::Open,
            None => match self.close_expired(until, now) {
                Some(_) => State::Open,
                None => State::Closed,
            },
            Some(_) if now < until => State::Open,
            Some(p) => {
                let (state, changes) = p.state(&self.open_until, now);
                self.report(&changes);
                state
            }
        }
    }

    /// Window recovery: the open period that was to end at `until` is over at `now`, unless a
    /// failure recorded meanwhile has not raised `open_until` yet. The window is asked once: if
    /// it still holds more than T failures, the period goes on (returned); otherwise the word is
    /// put back to [`CLOSED`], so that admission is a single load again, and the one thread
    /// that does it reports the change.
    fn close_expired(&self, until: u64, now: u64) -> Option<u64> {
        if let Some(later) = self.failures.open_until(now) {
            let before = self.open_until.fetch_max(later, Ordering::AcqRel);
            return Some(before.max(later));
        }
        if self
            .open_until
            .compare_exchange(until, CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.notify(State::Open, State::Closed, until);
        }
        None
    }

    #[cold]
    fn acquire_slow(&self, until: u64) -> Result<Permit<'_>, CircuitOpenError> {
        self.admit_slow(until).map_err(|open| self.reject(open))
    }

    fn admit_slow(&self, until: u64) -> Result<Permit<'_>, CircuitOpenError> {
        let now = self.now();
        if now < until {
            return Err(CircuitOpenError::new(Duration::from_nanos(until - now)));
        }
        match self.probing() {
            None => match self.close_expired(until, now) {
                Some(later) => Err(CircuitOpenError::new(Duration::from_nanos(later - now))),
                None => Ok(Permit::closed(self)),
            },
            Some(p) => {
                let (admission, changes) = p.admit(&self.open_until, now);
                self.report(&changes);
                admission.map(|a| match a {
                    Admission::Closed => Permit::closed(self),
                    Admission::Probe(ticket) => Permit::probe(self, ticket),
                })
            }
        }
    }

    #[cold]
    fn record_failure(&self) {
        let now = self.now();
        let Some(until) = self.failures.record(now) else {
            return;
        };
        match self.probing() {
            None => {
                let before = self.open_until.fetch_max(until, Ordering::AcqRel);
                if before <= now {
                    if before != CLOSED {
                        // The previous open period had ended unnoticed: report its end first.
                        self.notify(State::Open, State::Closed, before);
                    }
                    self.notify(State::Closed, State::Open, now);
                }
            }
            // Already open or half-open: a late failure changes nothing but the window.
            Some(_) if self.open_until.load(Ordering::Acquire) != CLOSED => {}
            Some(p) => {
                let changes = p.trip(&self.open_until, &self.failures, now);
                self.report(&changes);
            }
        }
    }

    fn end_probe(&self, ticket: Ticket, outcome: Option<Outcome>) {
        if let Some(p) = self.probing() {
            let now = self.now();
            let changes = p.end(&self.open_until, &self.failures, ticket, outcome, now);
            self.report(&changes);
        }
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
        assert!(cb.inner.extras.is_none());
        assert!(cb.memory_footprint() <= 96, "{}", cb.memory_footprint());
    }
}
