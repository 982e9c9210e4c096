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
//! - with probing only, one word of probe counters and one slot per probe (see [`Probing`]).
//!
//! A successful call admitted while closed writes nothing shared at all. A failure writes the
//! window, and, if it makes the failures exceed T, raises `open_until` with one `fetch_max`
//! (default recovery) or one compare-and-swap (probing): whichever thread moves the word from
//! "not open" to "open" is the one trip, however many threads record at once.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, MonotonicClock, nanos};
use crate::error::{CircuitOpenError, ConfigError, Error};
use crate::sync::{AtomicU32, AtomicU64, Ordering};
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

/// A change of state, given to the observer set with [`Builder::on_state_change`].
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
    pub const MAX_PROBES: u32 = (1 << COUNT_BITS) - 1;

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
}

/// Builds a [`CircuitBreaker`], refusing any configuration that could misbehave later.
///
/// Defaults: W = 5 s, T = 3, the [`MonotonicClock`], no probing, no observer.
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
    clock: Option<Arc<dyn Clock>>,
    probing: Option<Probing>,
    observer: Option<Box<Observer>>,
}

type Observer = dyn Fn(StateChange) + Send + Sync;

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("window", &self.window)
            .field("threshold", &self.threshold)
            .field("probing", &self.probing)
            .field("observer", &self.observer.is_some())
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
            observer: None,
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
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Turns on half-open recovery; see [`Probing`].
    pub fn probing(mut self, probing: Probing) -> Self {
        self.probing = Some(probing);
        self
    }

    /// Calls `observer` once for each change of state, after it has taken effect, on the thread
    /// that made or noticed it. Keep it quick: it runs inside a call.
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
        self.observer = Some(Box::new(observer));
        self
    }

    /// Checks the configuration and builds the breaker.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a zero window, and, with probing, for zero or too many probes, a zero
    /// open time or probe timeout, a multiplier below 1 or not finite, or a cap below the open
    /// time.
    pub fn build(self) -> Result<CircuitBreaker, ConfigError> {
        if self.window.is_zero() {
            return Err(ConfigError::ZeroWindow);
        }
        let window = nanos(self.window);
        let probing = match self.probing {
            None => None,
            Some(p) => Some(ProbeState::new(p, self.window)?),
        };
        let clock = self
            .clock
            .unwrap_or_else(|| Arc::new(MonotonicClock::new()));
        Ok(CircuitBreaker {
            inner: Arc::new(Inner {
                open_until: AtomicU64::new(CLOSED),
                failures: FailureWindow::new(window, self.threshold),
                window,
                threshold: self.threshold,
                clock,
                probing,
                observer: self.observer,
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

/// `open_until` while the circuit is closed.
const CLOSED: u64 = 0;

struct Inner {
    /// [`CLOSED`], or the end of the open period on the clock, in nanoseconds.
    open_until: AtomicU64,
    failures: FailureWindow,
    window: u64,
    threshold: u32,
    clock: Arc<dyn Clock>,
    probing: Option<ProbeState>,
    observer: Option<Box<Observer>>,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("window", &self.window())
            .field("error_threshold", &self.error_threshold())
            .field("state", &self.state())
            .field("errors_in_window", &self.errors_in_window())
            .field("probing", &self.inner.probing.is_some())
            .finish()
    }
}

impl CircuitBreaker {
    /// A breaker with window `window` (W) and error threshold `error_threshold` (T), on the
    /// monotonic clock, recovering by the window rule.
    ///
    /// # Panics
    ///
    /// If `window` is zero. Use [`CircuitBreaker::builder`] to get an error instead.
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

    /// The window W.
    pub fn window(&self) -> Duration {
        Duration::from_nanos(self.inner.window)
    }

    /// The error threshold T.
    pub fn error_threshold(&self) -> u32 {
        self.inner.threshold
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

    /// The bytes this breaker holds: its shared state and the heap behind it (the clock and
    /// observer excepted). Fixed at build time.
    pub fn memory_footprint(&self) -> usize {
        let probing = self
            .inner
            .probing
            .as_ref()
            .map_or(0, |p| p.slots.len() * std::mem::size_of::<AtomicU64>());
        std::mem::size_of::<Self>()
            + std::mem::size_of::<Inner>()
            + self.inner.failures.heap_bytes()
            + probing
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

/// The right to make one call, taken with [`CircuitBreaker::try_acquire`].
///
/// Tell it how the call ended with [`success`](Permit::success), [`failure`](Permit::failure),
/// [`ignore`](Permit::ignore) or [`record`](Permit::record). Dropping it untold records nothing,
/// which is what a cancelled call should do; a probe's place is given back either way.
#[must_use = "a permit records nothing unless told how the call ended"]
pub struct Permit<'a> {
    inner: &'a Inner,
    kind: PermitKind,
}

#[derive(Debug, Clone, Copy)]
enum PermitKind {
    /// Admitted while closed.
    Closed,
    /// A probe of the half-open period that began at `period`.
    Probe {
        period: u64,
        start: u64,
        slot: Option<u32>,
    },
    /// Already told.
    Done,
}

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
            kind: PermitKind::Closed,
        }
    }

    /// Whether this call is a half-open probe.
    pub fn is_probe(&self) -> bool {
        matches!(self.kind, PermitKind::Probe { .. })
    }

    /// The call succeeded.
    #[inline]
    pub fn success(self) {
        self.record(Outcome::Success);
    }

    /// The call failed.
    pub fn failure(self) {
        self.record(Outcome::Failure);
    }

    /// The call's outcome says nothing about the service.
    pub fn ignore(self) {
        self.record(Outcome::Ignored);
    }

    /// Records how the call ended.
    #[inline]
    pub fn record(mut self, outcome: Outcome) {
        let kind = std::mem::replace(&mut self.kind, PermitKind::Done);
        match (kind, outcome) {
            (PermitKind::Closed, Outcome::Failure) => self.inner.record_failure(),
            (PermitKind::Closed, _) | (PermitKind::Done, _) => {}
            (
                PermitKind::Probe {
                    period,
                    start,
                    slot,
                },
                outcome,
            ) => self.inner.end_probe(period, start, slot, Some(outcome)),
        }
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if let PermitKind::Probe {
            period,
            start,
            slot,
        } = self.kind
        {
            self.inner.end_probe(period, start, slot, None);
        }
    }
}

impl Inner {
    fn now(&self) -> u64 {
        nanos(self.clock.now())
    }

    fn notify(&self, from: State, to: State, at: u64) {
        if let Some(observer) = &self.observer {
            observer(StateChange {
                from,
                to,
                at: Duration::from_nanos(at),
            });
        }
    }

    /// The state at `now`, with `open_until` read as `until` (not [`CLOSED`]). Carries out the
    /// changes that the passing of time has made.
    fn state_at(&self, until: u64, now: u64) -> State {
        match &self.probing {
            None if now < until => State::Open,
            None => {
                self.close_expired(until);
                State::Closed
            }
            Some(p) => match p.resolve(self, until, now) {
                Resolved::Closed => State::Closed,
                Resolved::Open(_) => State::Open,
                Resolved::HalfOpen(_) => State::HalfOpen,
            },
        }
    }

    /// Window recovery: the open period ending at `until` is over. Puts the word back to
    /// [`CLOSED`] so that admission is a single load again; the one thread that does reports it.
    fn close_expired(&self, until: u64) {
        if self
            .open_until
            .compare_exchange(until, CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.notify(State::Open, State::Closed, until);
        }
    }

    #[cold]
    fn acquire_slow(&self, until: u64) -> Result<Permit<'_>, CircuitOpenError> {
        let now = self.now();
        match &self.probing {
            None if now < until => Err(CircuitOpenError::new(Duration::from_nanos(until - now))),
            None => {
                self.close_expired(until);
                Ok(Permit::closed(self))
            }
            Some(p) => p.admit(self, until, now),
        }
    }

    #[cold]
    fn record_failure(&self) {
        let now = self.now();
        let Some(until) = self.failures.record(now) else {
            return;
        };
        match &self.probing {
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
            Some(p) => p.trip(self, now),
        }
    }

    fn end_probe(&self, period: u64, start: u64, slot: Option<u32>, outcome: Option<Outcome>) {
        if let Some(p) = &self.probing {
            p.end(self, period, start, slot, outcome);
        }
    }
}

/// Bits for each of the two probe counters in the counters word.
const COUNT_BITS: u32 = 12;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;
const TAG_SHIFT: u32 = 2 * COUNT_BITS;

/// The probe counters of one half-open period, packed in one word:
/// `period tag (40 bits) | probes in flight (12) | probe successes (12)`.
///
/// The tag is the period's start instant, truncated: counters whose tag is not the current
/// period's are stale and read as zero, so a new period needs no reset. Two periods that began
/// exactly a multiple of 2⁴⁰ ns (about 18 minutes) apart, with no probe between, would share a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counters {
    in_flight: u64,
    successes: u64,
}

impl Counters {
    fn tag(period: u64) -> u64 {
        period << TAG_SHIFT >> TAG_SHIFT << TAG_SHIFT
    }

    /// The counters word before any period: never a packed value, since a period's in-flight
    /// and successful probes add up to at most P < 2 × [`COUNT_MASK`].
    const NO_PERIOD: u64 = u64::MAX;

    fn unpack(word: u64, period: u64) -> Option<Self> {
        let tag_matches = word & !(COUNT_MASK << COUNT_BITS | COUNT_MASK) == Self::tag(period);
        (tag_matches && word != Self::NO_PERIOD).then_some(Self {
            in_flight: (word >> COUNT_BITS) & COUNT_MASK,
            successes: word & COUNT_MASK,
        })
    }

    fn pack(self, period: u64) -> u64 {
        Self::tag(period) | self.in_flight << COUNT_BITS | self.successes
    }
}

/// What the open-until word and the clock say, once timed-out probes are dealt with.
enum Resolved {
    Closed,
    /// Open until this instant.
    Open(u64),
    /// Half-open, in the period that began at this instant.
    HalfOpen(u64),
}

/// The shared state and settings of half-open recovery.
struct ProbeState {
    probes: u64,
    open_time: u64,
    multiplier: f64,
    cap: u64,
    timeout: u64,
    /// The backoff step of the current open period. Written by the thread that opened it.
    level: AtomicU32,
    /// [`Counters`] of the current half-open period.
    counters: AtomicU64,
    /// One word per probe place: the probe's start plus one, or zero when free. They let any
    /// caller notice a probe that has run past its timeout without a timer.
    slots: Box<[AtomicU64]>,
}

impl ProbeState {
    fn new(p: Probing, window: Duration) -> Result<Self, ConfigError> {
        if p.probes == 0 {
            return Err(ConfigError::ZeroProbes);
        }
        if p.probes > Probing::MAX_PROBES {
            return Err(ConfigError::TooManyProbes {
                given: p.probes,
                max: Probing::MAX_PROBES,
            });
        }
        let open = p.open_time.unwrap_or(window);
        if open.is_zero() {
            return Err(ConfigError::ZeroOpenTime);
        }
        if !(p.multiplier.is_finite() && p.multiplier >= 1.0) {
            return Err(ConfigError::BadBackoffMultiplier(p.multiplier));
        }
        let cap = p.cap.unwrap_or(open);
        if cap < open {
            return Err(ConfigError::CapBelowOpenTime { cap, open });
        }
        if p.probe_timeout.is_zero() {
            return Err(ConfigError::ZeroProbeTimeout);
        }
        Ok(Self {
            probes: u64::from(p.probes),
            open_time: nanos(open),
            multiplier: p.multiplier,
            cap: nanos(cap),
            timeout: nanos(p.probe_timeout),
            level: AtomicU32::new(0),
            counters: AtomicU64::new(Counters::NO_PERIOD),
            slots: (0..p.probes).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    /// The length of backoff step `level`.
    fn step(&self, level: u32) -> u64 {
        let exponent = i32::try_from(level).unwrap_or(i32::MAX);
        let step = self.open_time as f64 * self.multiplier.powi(exponent);
        // `as` saturates; the cap bounds the rest (and an infinite product).
        (step as u64).clamp(self.open_time, self.cap)
    }

    /// Closed to open, after a failure that made the failures exceed T at `now`.
    fn trip(&self, inner: &Inner, now: u64) {
        let until = now.saturating_add(self.step(0));
        if inner
            .open_until
            .compare_exchange(CLOSED, until, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.level.store(0, Ordering::Release);
            inner.notify(State::Closed, State::Open, now);
        }
    }

    /// Half-open to open: the period that began at `period` failed at `at`.
    fn reopen(&self, inner: &Inner, period: u64, at: u64) {
        let level = self.level.load(Ordering::Acquire).saturating_add(1);
        let until = at.saturating_add(self.step(level));
        if inner
            .open_until
            .compare_exchange(period, until, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            self.level.store(level, Ordering::Release);
            inner.notify(State::HalfOpen, State::Open, at);
        }
    }

    /// Half-open to closed: P probes of the period that began at `period` succeeded.
    fn close(&self, inner: &Inner, period: u64, now: u64) {
        // Clear first: a failure recorded after the close must survive it.
        inner.failures.clear();
        if inner
            .open_until
            .compare_exchange(period, CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            inner.notify(State::HalfOpen, State::Closed, now);
        }
    }

    /// The state at `now`, starting from `open_until` read as `until`: enters a half-open
    /// period whose time has come, and fails one whose probe has timed out.
    fn resolve(&self, inner: &Inner, mut until: u64, now: u64) -> Resolved {
        loop {
            if until == CLOSED {
                return Resolved::Closed;
            }
            if now < until {
                return Resolved::Open(until);
            }
            self.enter(inner, until);
            match self.timed_out(until, now) {
                None => return Resolved::HalfOpen(until),
                Some(deadline) => {
                    self.reopen(inner, until, deadline);
                    until = inner.open_until.load(Ordering::Acquire);
                }
            }
        }
    }

    /// Marks the half-open period that began at `period` as entered; the one thread that does
    /// reports it.
    fn enter(&self, inner: &Inner, period: u64) {
        let word = self.counters.load(Ordering::Acquire);
        if Counters::unpack(word, period).is_none() {
            let fresh = Counters {
                in_flight: 0,
                successes: 0,
            }
            .pack(period);
            if self
                .counters
                .compare_exchange(word, fresh, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                inner.notify(State::Open, State::HalfOpen, period);
            }
        }
    }

    /// The earliest deadline passed by a probe of `period`, freeing the places of probes of
    /// earlier periods on the way.
    fn timed_out(&self, period: u64, now: u64) -> Option<u64> {
        let mut earliest: Option<u64> = None;
        for slot in self.slots.iter() {
            let v = slot.load(Ordering::Acquire);
            if v == 0 {
                continue;
            }
            let start = v - 1;
            if start < period {
                // A probe of an earlier period: its place is free for this one.
                let _ = slot.compare_exchange(v, 0, Ordering::AcqRel, Ordering::Relaxed);
                continue;
            }
            let deadline = start.saturating_add(self.timeout);
            if deadline <= now {
                earliest = Some(earliest.map_or(deadline, |e| e.min(deadline)));
            }
        }
        earliest
    }

    /// The soonest a probe of `period` in flight at `now` must end (its timeout).
    fn next_free(&self, period: u64, now: u64) -> u64 {
        self.slots
            .iter()
            .map(|s| s.load(Ordering::Acquire))
            .filter(|&v| v > period)
            .map(|v| (v - 1).saturating_add(self.timeout))
            .min()
            .map_or(self.timeout, |deadline| deadline.saturating_sub(now))
    }

    fn admit<'a>(
        &self,
        inner: &'a Inner,
        until: u64,
        now: u64,
    ) -> Result<Permit<'a>, CircuitOpenError> {
        let period = match self.resolve(inner, until, now) {
            Resolved::Closed => return Ok(Permit::closed(inner)),
            Resolved::Open(until) => {
                return Err(CircuitOpenError::new(Duration::from_nanos(until - now)));
            }
            Resolved::HalfOpen(period) => period,
        };
        let mut word = self.counters.load(Ordering::Acquire);
        loop {
            let c = Counters::unpack(word, period).unwrap_or(Counters {
                in_flight: 0,
                successes: 0,
            });
            if c.in_flight + c.successes >= self.probes {
                let wait = self.next_free(period, now);
                return Err(CircuitOpenError::new(Duration::from_nanos(wait)));
            }
            let next = Counters {
                in_flight: c.in_flight + 1,
                ..c
            }
            .pack(period);
            match self.counters.compare_exchange_weak(
                word,
                next,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => break,
                Err(seen) => word = seen,
            }
        }
        let stored = now.saturating_add(1);
        let slot = self.slots.iter().position(|s| {
            s.compare_exchange(0, stored, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        });
        Ok(Permit {
            inner,
            kind: PermitKind::Probe {
                period,
                start: now,
                slot: slot.map(|i| i as u32),
            },
        })
    }

    /// A probe of `period` started at `start` ended with `outcome` (`None`: cancelled).
    fn end(
        &self,
        inner: &Inner,
        period: u64,
        start: u64,
        slot: Option<u32>,
        outcome: Option<Outcome>,
    ) {
        if let Some(i) = slot {
            let _ = self.slots[i as usize].compare_exchange(
                start.saturating_add(1),
                0,
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
        let now = inner.now();
        let deadline = start.saturating_add(self.timeout);
        let outcome = match outcome {
            // A probe that ran past its timeout failed at its deadline, whatever it returned
            // and even if it is cancelled afterwards: the failure had already happened.
            _ if now >= deadline => Some((Outcome::Failure, deadline)),
            Some(o) => Some((o, now)),
            None => None,
        };
        if inner.open_until.load(Ordering::Acquire) != period {
            return; // the period is over; this probe no longer counts
        }
        match outcome {
            Some((Outcome::Failure, at)) => self.reopen(inner, period, at),
            Some((Outcome::Success, _)) => {
                if self.update(period, |c| Counters {
                    in_flight: c.in_flight - 1,
                    successes: c.successes + 1,
                }) == Some(self.probes)
                {
                    self.close(inner, period, now);
                }
            }
            Some((Outcome::Ignored, _)) | None => {
                self.update(period, |c| Counters {
                    in_flight: c.in_flight - 1,
                    ..c
                });
            }
        }
    }

    /// Applies `f` to the counters of `period`, if they are still that period's (and count this
    /// probe). Returns the successes after the change.
    fn update(&self, period: u64, f: impl Fn(Counters) -> Counters) -> Option<u64> {
        let mut word = self.counters.load(Ordering::Acquire);
        loop {
            let c = Counters::unpack(word, period)?;
            if c.in_flight == 0 {
                return None;
            }
            let next = f(c);
            match self.counters.compare_exchange_weak(
                word,
                next.pack(period),
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Some(next.successes),
                Err(seen) => word = seen,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_round_trip_and_reject_other_periods() {
        let period = 123_456_789_012;
        let c = Counters {
            in_flight: 7,
            successes: 4095,
        };
        let word = c.pack(period);
        assert_eq!(Counters::unpack(word, period), Some(c));
        assert_eq!(Counters::unpack(word, period + 1), None);
        assert_eq!(Counters::unpack(Counters::NO_PERIOD, period), None);
    }

    #[test]
    fn no_period_matches_no_period_even_at_tag_edges() {
        // Regression: the first half-open period starting at a multiple of 2^40 ns was taken
        // for an already entered one, and its Open -> HalfOpen change was never reported.
        for period in [0, 1 << 40, (1 << 40) - 1, u64::MAX] {
            assert_eq!(Counters::unpack(Counters::NO_PERIOD, period), None, "{period}");
        }
    }

    #[test]
    fn backoff_steps_grow_to_the_cap() {
        let p = ProbeState::new(
            Probing::new(1)
                .open_time(Duration::from_secs(1))
                .backoff(2.0, Duration::from_secs(5)),
            Duration::from_secs(9),
        )
        .unwrap();
        let secs: Vec<u64> = (0..5).map(|k| p.step(k) / 1_000_000_000).collect();
        assert_eq!(secs, [1, 2, 4, 5, 5]);
        assert_eq!(p.step(u32::MAX), 5_000_000_000);
    }

    #[test]
    fn open_time_defaults_to_the_window() {
        let p = ProbeState::new(Probing::new(1), Duration::from_secs(9)).unwrap();
        assert_eq!(p.step(0), 9_000_000_000);
        assert_eq!(p.step(3), 9_000_000_000);
    }

    #[test]
    fn permit_is_small() {
        assert!(std::mem::size_of::<Permit<'_>>() <= 40);
    }
}
