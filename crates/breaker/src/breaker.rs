//! The circuit breaker: its handle, its builder and the permits calls run under.
//!
//! # Shared state, and why it is this small
//!
//! - `word` (one atomic word) publishes the state machine's phase (`machine.rs`): zero while
//!   the circuit is closed, otherwise a forced state or an instant (nanoseconds on the clock):
//!   the end of the open period, or the start of a half-open one. Admission while closed is one
//!   load of this word that finds zero: no clock read, no write. An open circuit rejects on the
//!   word and one clock read (`now < until`), with no lock. Everything else (an open period
//!   ending, a trip, a probe, forcing) goes through the machine's one transition function.
//! - the [failure window](crate::window) of the count rule: the T + 1 latest failure stamps.
//!   Only failures write it.
//! - optional parts, behind one box that a default breaker does not have: a custom clock, the
//!   other [rules](crate::rules), the observers and, with probing, the phase and the probes in
//!   flight behind a small lock.
//!
//! Without probing, the whole phase fits in the word, and the transition runs inside a
//! compare-and-swap loop: whichever thread moves the word from closed to open is the one trip,
//! however many threads record at once. With probing, the phase and the probes sit behind the
//! lock, which is taken only while the circuit is half-open or changes state, never while user
//! code runs; the word is published under it. A successful call admitted while closed writes
//! nothing shared, unless a rule that counts successes (failure rate, consecutive failures) is
//! configured.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, MonotonicClock, nanos};
use crate::error::{CircuitOpenError, ConfigError, Error};
use crate::machine::{
    Admission, CountWindow, Event, Forget, Phase, Policy, ProbePolicy, Probes, Recovery, Step,
    Ticket, transition,
};
use crate::observe::{FailureObserver, Observe, Observer};
use crate::rules::Rules;
use crate::rules::consecutive::Consecutive;
use crate::rules::rate::FailureRate;
use crate::state::{Outcome, Reason, State, StateChange};
use crate::sync::{AtomicU64, Mutex, MutexGuard, Ordering};
use crate::window::FailureWindow;

/// A duration as nanoseconds on the clock, or why it is refused.
fn fits(what: &'static str, d: Duration) -> Result<u64, ConfigError> {
    u64::try_from(d.as_nanos()).map_err(|_| ConfigError::TooLong { what, given: d })
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

    /// The policy these settings give, for a window of `window`, or why they are refused.
    fn policy(&self, window: Duration) -> Result<ProbePolicy, ConfigError> {
        if self.probes == 0 {
            return Err(ConfigError::ZeroProbes);
        }
        if self.probes > Probing::MAX_PROBES {
            return Err(ConfigError::TooManyProbes {
                given: self.probes,
                max: Probing::MAX_PROBES,
            });
        }
        let open = self.open_time.unwrap_or(window);
        if open.is_zero() {
            return Err(ConfigError::ZeroOpenTime);
        }
        if !(self.multiplier.is_finite() && self.multiplier >= 1.0) {
            return Err(ConfigError::BadBackoffMultiplier(self.multiplier));
        }
        let cap = self.cap.unwrap_or(open);
        if cap < open {
            return Err(ConfigError::CapBelowOpenTime { cap, open });
        }
        if self.probe_timeout.is_zero() {
            return Err(ConfigError::ZeroProbeTimeout);
        }
        Ok(ProbePolicy {
            probes: self.probes,
            open_time: fits("the open time", open)?,
            multiplier: self.multiplier,
            cap: fits("the backoff cap", cap)?,
            timeout: fits("the probe timeout", self.probe_timeout)?,
        })
    }
}

/// Builds a [`CircuitBreaker`], refusing any configuration that could misbehave later.
///
/// Defaults: W = 5 s, the count rule with T = 3, the [`MonotonicClock`], no probing, no name,
/// no observer.
///
/// # Trip rules, and how they combine
///
/// Each configured rule is one more way to open the circuit: it opens as soon as *any* of them
/// fires, on the outcome that made it fire. Every rule sees every recorded outcome.
///
/// - **count** ([`error_threshold`](Builder::error_threshold)): more than T failures in the last
///   W. On unless another rule is named and `error_threshold` is not: so
///   `builder().failure_rate(0.5, 20)` trips on the rate alone, and
///   `builder().error_threshold(10).failure_rate(0.5, 20)` on either.
/// - **failure rate** ([`failure_rate`](Builder::failure_rate)): over the last W, once at least
///   `min_calls` calls have ended as a success or a failure, failures / calls >= ratio.
/// - **consecutive failures** ([`consecutive_failures`](Builder::consecutive_failures)): n
///   failures in a row.
/// - **slow calls** ([`slow_call`](Builder::slow_call)): no rule of its own; a success that took
///   longer than the threshold is recorded as a failure, for every rule above.
///
/// A trip by the count rule lasts until the window falls back to T or fewer failures; a trip by
/// another rule lasts W (longer only if the count rule's window is still over T then). With
/// [probing](Builder::probing), every trip lasts the open time (and its backoff), then probes
/// decide.
///
/// ```
/// use std::time::Duration;
/// use breaker::{CircuitBreaker, ManualClock, Reason, State};
///
/// let clock = ManualClock::new();
/// let cb = CircuitBreaker::builder()
///     .window(Duration::from_secs(10))
///     .failure_rate(0.5, 4) // the rate alone: no count rule
///     .clock(clock.clone())
///     .build()?;
/// assert_eq!(cb.error_threshold(), None);
/// for ok in [true, false, true] {
///     let permit = cb.try_acquire()?;
///     if ok { permit.success() } else { permit.failure() }
/// }
/// assert_eq!(cb.state(), State::Closed); // 1 of 3: too few calls
/// cb.try_acquire()?.failure(); // 2 of 4 = 0.5
/// assert_eq!(cb.state(), State::Open);
/// clock.advance(Duration::from_secs(10)); // a trip by the rate lasts W
/// assert_eq!(cb.state(), State::Closed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub struct Builder {
    window: Duration,
    threshold: Option<u32>,
    clock: Option<Box<dyn Clock>>,
    probing: Option<Probing>,
    rate: Option<(f64, u32)>,
    consecutive: Option<u32>,
    slow: Option<Duration>,
    shadow: bool,
    observe: Observe,
}

impl fmt::Debug for Builder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Builder")
            .field("window", &self.window)
            .field("threshold", &self.threshold)
            .field("probing", &self.probing)
            .field("failure_rate", &self.rate)
            .field("consecutive_failures", &self.consecutive)
            .field("slow_call", &self.slow)
            .field("shadow", &self.shadow)
            .field("observe", &self.observe)
            .finish_non_exhaustive()
    }
}

impl Default for Builder {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(5),
            threshold: None,
            clock: None,
            probing: None,
            rate: None,
            consecutive: None,
            slow: None,
            shadow: false,
            observe: Observe::default(),
        }
    }
}

/// T when the count rule is on by default.
const DEFAULT_THRESHOLD: u32 = 3;

impl Builder {
    /// The time window W: a failure counts while it is younger than W. Must be more than zero.
    pub fn window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The count rule's error threshold T: the circuit opens when the failures in the window
    /// exceed T. Zero is allowed and trips on the first failure.
    pub fn error_threshold(mut self, threshold: u32) -> Self {
        self.threshold = Some(threshold);
        self
    }

    /// The failure-rate rule: over the last W, once at least `min_calls` calls have ended as a
    /// success or a failure (ignored ones do not count), the circuit opens when
    /// failures / calls >= `ratio`. `ratio` must be in (0, 1] and `min_calls` at least 1.
    ///
    /// Calls are counted in 16 time buckets of W / 16: a call stops counting once it is W old,
    /// and may stop up to one bucket earlier, never later. The counts are striped across
    /// cache lines, so that successes on many threads do not contend.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, State};
    ///
    /// let cb = CircuitBreaker::builder().failure_rate(0.5, 2).build()?;
    /// cb.try_acquire()?.failure();
    /// assert_eq!(cb.state(), State::Closed); // one call is not enough
    /// cb.try_acquire()?.success(); // 1 of 2 = 0.5: a success brought the calls up
    /// assert_eq!(cb.state(), State::Open);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn failure_rate(mut self, ratio: f64, min_calls: u32) -> Self {
        self.rate = Some((ratio, min_calls));
        self
    }

    /// The consecutive-failures rule: `n` failures in a row open the circuit (n >= 1). A
    /// success breaks the row, an ignored outcome does not. A trip ends the row: after the
    /// circuit closes, `n` new failures in a row are needed to open it again.
    ///
    /// ```
    /// use breaker::{CircuitBreaker, State};
    ///
    /// let cb = CircuitBreaker::builder().consecutive_failures(2).build()?;
    /// cb.try_acquire()?.failure();
    /// cb.try_acquire()?.success(); // breaks the row
    /// cb.try_acquire()?.failure();
    /// assert_eq!(cb.state(), State::Closed);
    /// cb.try_acquire()?.failure();
    /// assert_eq!(cb.state(), State::Open);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn consecutive_failures(mut self, n: u32) -> Self {
        self.consecutive = Some(n);
        self
    }

    /// The slow-call rule: a call that ends as a success more than `threshold` after its
    /// permit was taken (on the breaker's clock) is recorded as a failure. It makes admission
    /// read the clock once per call. `threshold` must be more than zero.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, ManualClock, State};
    ///
    /// let clock = ManualClock::new();
    /// let cb = CircuitBreaker::builder()
    ///     .error_threshold(0)
    ///     .slow_call(Duration::from_secs(1))
    ///     .clock(clock.clone())
    ///     .build()?;
    /// let permit = cb.try_acquire()?;
    /// clock.advance(Duration::from_secs(1));
    /// permit.success(); // exactly 1 s: not slow
    /// let permit = cb.try_acquire()?;
    /// clock.advance(Duration::from_millis(1001));
    /// permit.success(); // slower than 1 s: a failure, and T = 0
    /// assert_eq!(cb.state(), State::Open);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn slow_call(mut self, threshold: Duration) -> Self {
        self.slow = Some(threshold);
        self
    }

    /// Shadow mode: the breaker decides as usual (every rule, every state change, observers,
    /// events and metrics) but admits every call. A call it would have rejected is admitted
    /// with a permit that records nothing, since an enforcing breaker would never have seen its
    /// outcome: so the states a shadow breaker goes through are exactly those it would go
    /// through enforcing, given the same answers from the downstream. Such a call is counted
    /// with the outcome label `shadow_rejected` of `breaker_calls_total` (feature `metrics`) in
    /// place of `rejected`, and is a debug event (feature `tracing`);
    /// [`Permit::is_shadow_rejected`] tells it apart.
    ///
    /// For rolling out a breaker, or new settings, without rejecting anyone: watch what it
    /// would have done, then turn shadow mode off.
    ///
    /// ```
    /// use breaker::{CircuitBreaker, State};
    ///
    /// let cb = CircuitBreaker::builder().error_threshold(0).shadow(true).build()?;
    /// assert!(cb.is_shadow());
    /// cb.try_acquire()?.failure(); // trips, as it would enforcing
    /// assert_eq!(cb.state(), State::Open);
    /// let permit = cb.try_acquire()?; // admitted all the same
    /// assert!(permit.is_shadow_rejected());
    /// permit.failure(); // records nothing: enforcing, this call would not have been made
    /// assert_eq!(cb.errors_in_window(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shadow(mut self, shadow: bool) -> Self {
        self.shadow = shadow;
        self
    }

    /// The clock to read time from. Defaults to the [`MonotonicClock`].
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
    /// use breaker::{CircuitBreaker, ManualClock, Reason, State};
    ///
    /// let seen = Arc::new(Mutex::new(Vec::new()));
    /// let log = seen.clone();
    /// let clock = ManualClock::new();
    /// let cb = CircuitBreaker::builder()
    ///     .window(Duration::from_secs(1))
    ///     .error_threshold(0)
    ///     .clock(clock.clone())
    ///     .on_state_change(move |c| log.lock().unwrap().push((c.from, c.to, c.at, c.reason)))
    ///     .build()?;
    /// cb.try_acquire()?.failure();
    /// clock.advance(Duration::from_secs(3));
    /// assert_eq!(cb.state(), State::Closed);
    /// assert_eq!(*seen.lock().unwrap(), [
    ///     (State::Closed, State::Open, Duration::ZERO, Reason::FailureCount),
    ///     // when it happened, and why
    ///     (State::Open, State::Closed, Duration::from_secs(1), Reason::WindowEmptied),
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

    /// Calls `observer` once for each failure the breaker records (a slow success counted as a
    /// failure, and a failed probe, included), after it has been counted and any trip it caused
    /// has taken effect, on the recording thread, outside any lock of the breaker. Rejections
    /// and ignored outcomes are not failures. Called again, it adds another observer.
    ///
    /// It is the seam fleet mode (crate `breaker-redis`) publishes failures through: keep it
    /// quick and never block in it (hand the failure to a channel, say). A success still
    /// writes nothing shared: only failures reach it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU32, Ordering};
    /// use breaker::CircuitBreaker;
    ///
    /// let failures = Arc::new(AtomicU32::new(0));
    /// let seen = failures.clone();
    /// let cb = CircuitBreaker::builder()
    ///     .on_failure(move || { seen.fetch_add(1, Ordering::Relaxed); })
    ///     .build()?;
    /// cb.try_acquire()?.success();
    /// cb.try_acquire()?.ignore();
    /// cb.try_acquire()?.failure();
    /// assert_eq!(failures.load(Ordering::Relaxed), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_failure<F>(mut self, observer: F) -> Self
    where
        F: Fn() + Send + Sync + 'static,
    {
        self.observe
            .add_failure(Box::new(observer) as Box<FailureObserver>);
        self
    }

    /// Checks the configuration and builds the breaker.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for a zero window or one over 584 years; with probing, for zero or too
    /// many probes, a zero open time or probe timeout, a multiplier below 1 or not finite, a cap
    /// below the open time, or a duration over 584 years; a failure rate outside (0, 1] or a
    /// minimum of zero calls; zero consecutive failures; a zero or too long slow-call threshold.
    pub fn build(self) -> Result<CircuitBreaker, ConfigError> {
        if self.window.is_zero() {
            return Err(ConfigError::ZeroWindow);
        }
        if self.window > Duration::from_nanos(u64::MAX) {
            return Err(ConfigError::WindowTooLong(self.window));
        }
        let window = nanos(self.window);
        let recovery = match &self.probing {
            None => Recovery::Window,
            Some(p) => Recovery::Probing(p.policy(self.window)?),
        };
        let slow = match self.slow {
            None => None,
            Some(d) if d.is_zero() => return Err(ConfigError::ZeroSlowCall),
            Some(d) => Some(fits("the slow-call threshold", d)?),
        };
        let mut rules = Rules::default();
        if let Some((ratio, min_calls)) = self.rate {
            if !(ratio > 0.0 && ratio <= 1.0) {
                return Err(ConfigError::BadFailureRate(ratio));
            }
            if min_calls == 0 {
                return Err(ConfigError::ZeroMinCalls);
            }
            rules.rate = Some(FailureRate::new(ratio, min_calls, window));
        }
        if let Some(n) = self.consecutive {
            if n == 0 {
                return Err(ConfigError::ZeroConsecutiveFailures);
            }
            rules.consecutive = Some(Consecutive::new(n));
        }
        let failures = match self.threshold {
            Some(t) => Some(FailureWindow::new(window, t)),
            None if rules.any() => None,
            None => Some(FailureWindow::new(window, DEFAULT_THRESHOLD)),
        };
        let policy = Policy { recovery, slow };
        let mut observe = self.observe;
        observe.start(self.shadow);
        let locked = match &policy.recovery {
            Recovery::Probing(p) => Some(Mutex::new(Locked {
                phase: Phase::Closed,
                probes: Probes::new(p.probes),
            })),
            Recovery::Window => None,
        };
        // The defaults (monotonic clock, window recovery, the count rule alone, no name, no
        // observer, no metrics) take no room at all.
        let plain = self.clock.is_none()
            && policy == Policy::DEFAULT
            && !rules.any()
            && !self.shadow
            && observe.is_silent();
        let tell = if policy.slow.is_some() {
            Tell::Timed
        } else if rules.any() || observe.counts_outcomes() {
            Tell::Outcomes
        } else {
            Tell::Failures
        };
        let extras = (!plain).then(|| {
            Box::new(Extras {
                window,
                clock: self.clock,
                policy,
                tell,
                locked,
                rules,
                observe,
                shadow: self.shadow,
            })
        });
        Ok(CircuitBreaker {
            inner: Arc::new(Inner {
                word: AtomicU64::new(publish(Phase::Closed, tell)),
                failures,
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
    /// The phase as published for admission: see [`publish`].
    word: AtomicU64,
    /// The count rule's window; none for a breaker that trips on its other rules alone.
    failures: Option<FailureWindow>,
    /// Everything a default breaker leaves out.
    extras: Option<Box<Extras>>,
}

/// The parts of a breaker that the defaults leave out.
struct Extras {
    /// W, which the count rule's window also keeps: here for a breaker without one.
    window: u64,
    clock: Option<Box<dyn Clock>>,
    policy: Policy,
    tell: Tell,
    /// With probing: the phase and the probes, behind the lock the word is published under.
    locked: Option<Mutex<Locked>>,
    rules: Rules,
    observe: Observe,
    /// Shadow mode: a call that would be rejected is admitted with a permit that records nothing.
    shadow: bool,
}

/// The state behind the lock, with probing.
struct Locked {
    phase: Phase,
    probes: Probes,
}

/// What a call admitted while closed must tell the breaker when it ends, fixed at build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tell {
    /// Failures only: a success or an ignored call writes nothing (the default).
    Failures,
    /// Every outcome: a rule counts successes, or metrics count every call.
    Outcomes,
    /// Every outcome, and when the permit was taken: the slow-call rule.
    Timed,
}

// The published word: closed (its value says what a permit must tell, so that a permit taken
// on the fast path needs no other load), forced, or an instant.
const CLOSED: u64 = 0;
const CLOSED_TOLD: u64 = 1;
const CLOSED_TIMED: u64 = 2;
const FORCED_CLOSED: u64 = 3;
const FORCED_OPEN: u64 = u64::MAX;
/// Instants are stored plus this, below [`FORCED_OPEN`].
const INSTANT_BASE: u64 = 4;

/// The published word, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Closed,
    ForcedClosed,
    ForcedOpen,
    /// Open until this instant, or (with probing) half-open since it.
    At(u64),
}

/// The word that publishes `phase`. An instant past `u64::MAX - 5` nanoseconds (584 years on
/// the clock) is published as that.
fn publish(phase: Phase, tell: Tell) -> u64 {
    let at = |t: u64| t.saturating_add(INSTANT_BASE).min(FORCED_OPEN - 1);
    match phase {
        Phase::Closed => match tell {
            Tell::Failures => CLOSED,
            Tell::Outcomes => CLOSED_TOLD,
            Tell::Timed => CLOSED_TIMED,
        },
        Phase::ForcedClosed => FORCED_CLOSED,
        Phase::ForcedOpen => FORCED_OPEN,
        Phase::Open { until, .. } => at(until),
        Phase::HalfOpen { since, .. } => at(since),
    }
}

#[inline]
fn read(word: u64) -> Word {
    match word {
        CLOSED | CLOSED_TOLD | CLOSED_TIMED => Word::Closed,
        FORCED_CLOSED => Word::ForcedClosed,
        FORCED_OPEN => Word::ForcedOpen,
        w => Word::At(w - INSTANT_BASE),
    }
}

/// Without probing the word is the whole phase: an instant is an open period (its reason is
/// not kept; window recovery does not depend on it).
fn phase_of(word: u64) -> Phase {
    match read(word) {
        Word::Closed => Phase::Closed,
        Word::ForcedClosed => Phase::ForcedClosed,
        Word::ForcedOpen => Phase::ForcedOpen,
        Word::At(until) => Phase::Open {
            until,
            level: 0,
            reason: Reason::FailureCount,
        },
    }
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
    /// A breaker with window `window` (W) and error threshold `error_threshold` (T), on the
    /// monotonic clock.
    ///
    /// # Panics
    ///
    /// If `window` is zero or over 584 years. [`CircuitBreaker::builder`] returns an error
    /// instead.
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
        Duration::from_nanos(self.inner.window())
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
        self.inner.failures.as_ref().map(FailureWindow::threshold)
    }

    /// Whether the breaker is in shadow mode ([`Builder::shadow`]): it decides, but admits
    /// every call.
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
        match read(self.inner.word.load(Ordering::Acquire)) {
            Word::Closed => State::Closed,
            Word::ForcedClosed => State::ForcedClosed,
            Word::ForcedOpen => State::ForcedOpen,
            Word::At(_) => {
                let now = self.inner.now();
                self.inner.apply(Event::Look, now).phase.state()
            }
        }
    }

    /// The failures in the window now. It saturates at T + 1, the most the breaker keeps. With
    /// no count rule, the failures the rate rule counts (to its granularity), or zero.
    pub fn errors_in_window(&self) -> u32 {
        let now = self.inner.now();
        if let Some(failures) = &self.inner.failures {
            return failures.count(now);
        }
        let rate = self.inner.rules().and_then(|r| r.failures(now));
        rate.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
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
        self.inner.apply(Event::ForceOpen, self.inner.now());
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
        self.inner.apply(Event::ForceClosed, self.inner.now());
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
        self.inner.apply(Event::Reset, self.inner.now());
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
        self.hold_open(duration, Reason::RetryAfter);
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
        self.hold_open(duration, Reason::Remote);
    }

    /// Open for at least `duration` from now, for `reason`.
    fn hold_open(&self, duration: Duration, reason: Reason) {
        let now = self.inner.now();
        let until = now.saturating_add(nanos(duration));
        self.inner.apply(Event::HoldOpen { until, reason }, now);
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
            let probes = e.locked.as_ref().map_or(0, |l| lock(l).probes.heap_bytes());
            std::mem::size_of::<Extras>() + probes + e.rules.heap_bytes()
        });
        std::mem::size_of::<Self>()
            + 2 * std::mem::size_of::<usize>() // the Arc's counts
            + std::mem::size_of::<Inner>()
            + self.inner.failures.as_ref().map_or(0, FailureWindow::heap_bytes)
            + extras
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
        self.inner.try_acquire()
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
    #[inline]
    pub fn call<T, E, F>(&self, call: F) -> impl Future<Output = Result<T, Error<E>>>
    where
        F: Future<Output = Result<T, E>>,
    {
        // A future written by hand, not an `async fn`: see `call.rs` for why.
        crate::call::Call::new(self, call)
    }
}

/// The methods [`Permit`] and [`OwnedPermit`] share, on top of their own `record`.
macro_rules! permit_methods {
    () => {
        /// Whether this call is a half-open probe.
        pub fn is_probe(&self) -> bool {
            ticket(self.state).is_some()
        }

        /// Whether the call was admitted only because the breaker is in shadow mode
        /// ([`Builder::shadow`](crate::Builder::shadow)): enforcing, it would have been
        /// rejected. Such a permit records nothing, whatever it is told.
        pub fn is_shadow_rejected(&self) -> bool {
            self.state == PERMIT_SHADOW
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
    /// [`PERMIT_CLOSED`], [`PERMIT_TOLD`], [`PERMIT_DONE`], [`PERMIT_UNASKED`] (in a `call`
    /// future before its first poll), a probe's [`Ticket`] plus one, or
    /// [`PERMIT_TIMED`] with the instant the permit was taken: one word, so that a permit is two words and
    /// stays in registers.
    state: u64,
}

/// A permit admitted while closed.
const PERMIT_CLOSED: u64 = 0;
/// A permit already told how its call ended.
const PERMIT_DONE: u64 = u64::MAX;
/// A permit admitted while closed, that tells every outcome.
const PERMIT_TOLD: u64 = u64::MAX - 1;
/// A permit not yet asked for: what a [`call`](CircuitBreaker::call) future holds until its
/// first poll. No admitted permit has this word, and dropping it does nothing.
const PERMIT_UNASKED: u64 = PERMIT_TOLD - 1;
/// Admitted in shadow mode where an enforcing breaker would have rejected the call: it records
/// nothing.
const PERMIT_SHADOW: u64 = PERMIT_UNASKED - 1;
/// A permit admitted while closed, for the slow-call rule: this bit, and below it the instant
/// the permit was taken (at most 2⁶³ − 4 nanoseconds; later instants are kept as that).
const PERMIT_TIMED: u64 = 1 << 63;

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

    fn told(inner: &'a Inner) -> Self {
        Self {
            inner,
            state: PERMIT_TOLD,
        }
    }

    fn timed(inner: &'a Inner, start: u64) -> Self {
        Self {
            inner,
            state: PERMIT_TIMED | start.min(PERMIT_SHADOW - PERMIT_TIMED - 1),
        }
    }

    fn shadow(inner: &'a Inner) -> Self {
        Self {
            inner,
            state: PERMIT_SHADOW,
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

    /// A permit of `breaker` not yet asked for, to be asked for with [`ask`](Permit::ask):
    /// the one word a `call` future keeps besides the breaker and the call.
    #[inline]
    pub(crate) fn unasked(breaker: &'a CircuitBreaker) -> Self {
        Self {
            inner: &breaker.inner,
            state: PERMIT_UNASKED,
        }
    }

    /// Asks the breaker for this permit if it was not asked for yet. `Ok` once admitted (on this
    /// call and every later one); a rejection leaves the permit told, so that it records nothing.
    #[inline]
    pub(crate) fn ask(&mut self) -> Result<(), CircuitOpenError> {
        if self.state == PERMIT_UNASKED {
            match self.inner.try_acquire() {
                Ok(permit) => self.state = permit.into_state(),
                Err(open) => {
                    self.state = PERMIT_DONE;
                    return Err(open);
                }
            }
        }
        Ok(())
    }

    /// The permit, leaving this one told: what ends a call once its result is in.
    #[inline]
    pub(crate) fn take(&mut self) -> Self {
        Self {
            inner: self.inner,
            state: std::mem::replace(&mut self.state, PERMIT_DONE),
        }
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
        PERMIT_CLOSED | PERMIT_TOLD | PERMIT_DONE | PERMIT_UNASKED | PERMIT_SHADOW => None,
        bits if bits & PERMIT_TIMED != 0 => None,
        bits => Some(Ticket::from_bits(bits - 1)),
    }
}

/// The lock of the probing state. Nothing panics while it is held; should it ever, the data is
/// still consistent (the phase and the probes are written together, after the transition), so
/// a poisoned lock is used as it is.
fn lock(locked: &Mutex<Locked>) -> MutexGuard<'_, Locked> {
    locked.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    /// [`CircuitBreaker::try_acquire`]: one load while closed.
    #[inline]
    fn try_acquire(&self) -> Result<Permit<'_>, CircuitOpenError> {
        let word = self.word.load(Ordering::Acquire);
        if word == CLOSED {
            return Ok(Permit::closed(self));
        }
        self.acquire_slow(word)
    }

    fn policy(&self) -> &Policy {
        self.extras
            .as_deref()
            .map_or(&Policy::DEFAULT, |e| &e.policy)
    }

    fn locked(&self) -> Option<&Mutex<Locked>> {
        self.extras.as_deref().and_then(|e| e.locked.as_ref())
    }

    fn rules(&self) -> Option<&Rules> {
        self.extras.as_deref().map(|e| &e.rules)
    }

    fn tell(&self) -> Tell {
        self.extras.as_deref().map_or(Tell::Failures, |e| e.tell)
    }

    /// A permit for a call admitted while closed (or forced closed) at `now`.
    fn closed_permit(&self, now: impl FnOnce() -> u64) -> Permit<'_> {
        match self.tell() {
            Tell::Failures => Permit::closed(self),
            Tell::Outcomes => Permit::told(self),
            Tell::Timed => Permit::timed(self, now()),
        }
    }

    fn now(&self) -> u64 {
        match self.extras.as_deref().and_then(|e| e.clock.as_deref()) {
            Some(clock) => nanos(clock.now()),
            None => MonotonicClock::new().nanos(),
        }
    }

    fn observe(&self) -> Option<&Observe> {
        self.extras.as_deref().map(|e| &e.observe)
    }

    /// W: the count rule's window keeps it, and without one the extras do.
    fn window(&self) -> u64 {
        match &self.failures {
            Some(failures) => failures.window(),
            // Without the count rule a breaker has another rule, and so its extras.
            None => self.extras.as_deref().map_or(0, |e| e.window),
        }
    }

    /// Runs the state machine on `event` at `now`, commits its step, carries out its effects,
    /// and reports its changes once nothing is held.
    #[inline(never)]
    fn apply(&self, event: Event, now: u64) -> Step {
        let policy = self.policy();
        let tell = self.tell();
        let step = match self.locked() {
            Some(locked) => {
                let mut state = lock(locked);
                let step = transition(policy, state.phase, &state.probes, event, now, self);
                state.probes.apply(step.probes);
                state.phase = step.phase;
                // Forgotten before the word says closed, so that no failure recorded after the
                // change is forgotten with the older ones.
                self.forget(step.forget);
                self.word
                    .store(publish(step.phase, tell), Ordering::Release);
                step
            }
            None => {
                let mut word = self.word.load(Ordering::Acquire);
                let step = loop {
                    let step = transition(policy, phase_of(word), &Probes::NONE, event, now, self);
                    let next = publish(step.phase, tell);
                    if next == word {
                        break step;
                    }
                    match self.word.compare_exchange(
                        word,
                        next,
                        Ordering::AcqRel,
                        Ordering::Acquire,
                    ) {
                        Ok(_) => break step,
                        Err(seen) => word = seen,
                    }
                };
                self.forget(step.forget);
                step
            }
        };
        if let Some(observe) = self.observe() {
            for change in step.changes.iter() {
                observe.state_change(change);
            }
        }
        step
    }

    fn forget(&self, forget: Forget) {
        if forget.outcomes {
            if let Some(failures) = &self.failures {
                failures.clear();
            }
            if let Some(rules) = self.rules() {
                rules.forget_outcomes();
            }
        }
        if let Some(rules) = self.rules().filter(|_| forget.streak) {
            rules.end_streak();
        }
    }

    /// The phase now, worked out by the same transition as every other caller, without
    /// carrying out any change (nor reporting it): for `Debug`.
    fn peek(&self) -> Phase {
        let now = self.now();
        let policy = self.policy();
        match self.locked() {
            Some(locked) => {
                let state = lock(locked);
                transition(policy, state.phase, &state.probes, Event::Look, now, self).phase
            }
            None => {
                let word = self.word.load(Ordering::Acquire);
                transition(
                    policy,
                    phase_of(word),
                    &Probes::NONE,
                    Event::Look,
                    now,
                    self,
                )
                .phase
            }
        }
    }

    /// Records the outcome of the call a permit with word `state` let through.
    #[inline]
    fn finish(&self, state: u64, outcome: Outcome) {
        match (state, outcome) {
            // The hot path: a success or an ignored call, admitted while closed, on a breaker
            // that needs to be told of failures only. Nothing is read, nothing shared written.
            (PERMIT_CLOSED, Outcome::Success | Outcome::Ignored) | (PERMIT_DONE, _) => {}
            (PERMIT_CLOSED, Outcome::Failure) => self.closed_failure(),
            _ => self.finish_slow(state, outcome),
        }
    }

    /// A failure of a call admitted while closed, on a breaker told of failures only.
    fn closed_failure(&self) {
        self.count(Outcome::Failure);
        self.record_failure(self.now());
    }

    #[cold]
    fn finish_slow(&self, state: u64, outcome: Outcome) {
        if let Some(ticket) = ticket(state) {
            return self.end_probe(ticket, Some(outcome));
        }
        if state == PERMIT_SHADOW {
            // An enforcing breaker would not have made this call: it has no outcome to count.
            return;
        }
        let mut now = None;
        let mut now = || *now.get_or_insert_with(|| self.now());
        let outcome = match (state, outcome) {
            (PERMIT_CLOSED | PERMIT_TOLD, outcome) => outcome,
            (timed, Outcome::Success) => {
                let start = timed & !PERMIT_TIMED;
                let slow = self.policy().slow.unwrap_or(u64::MAX);
                if now().saturating_sub(start) > slow {
                    Outcome::Failure
                } else {
                    Outcome::Success
                }
            }
            (_, outcome) => outcome,
        };
        self.count(outcome);
        match outcome {
            Outcome::Failure => self.record_failure(now()),
            Outcome::Success => {
                if let Some(reason) = self.rules().and_then(|r| r.success(&mut now)) {
                    self.trip(reason, None, now());
                }
            }
            Outcome::Ignored => {}
        }
    }

    /// An outcome, told to metrics.
    #[inline]
    fn count(&self, outcome: Outcome) {
        #[cfg(feature = "metrics")]
        if let Some(observe) = self.observe() {
            observe.outcome(outcome);
        }
        let _ = outcome;
    }

    /// A permit with word `state` dropped untold: a probe gives its place back.
    #[inline]
    fn abandon(&self, state: u64) {
        if let Some(ticket) = ticket(state) {
            self.end_probe(ticket, None);
        }
    }

    /// A rejection, told to tracing and metrics.
    fn is_shadow(&self) -> bool {
        self.extras.as_deref().is_some_and(|e| e.shadow)
    }

    /// A call the circuit does not admit: rejected, or in shadow mode admitted with a permit
    /// that records nothing.
    fn reject(&self, open: CircuitOpenError) -> Result<Permit<'_>, CircuitOpenError> {
        let shadow = self.is_shadow();
        if let Some(observe) = self.observe() {
            observe.rejected(open.retry_after(), shadow);
        }
        if shadow {
            Ok(Permit::shadow(self))
        } else {
            Err(open)
        }
    }

    #[cold]
    fn acquire_slow(&self, word: u64) -> Result<Permit<'_>, CircuitOpenError> {
        let admitted = match read(word) {
            Word::Closed | Word::ForcedClosed => Ok(self.closed_permit(|| self.now())),
            Word::ForcedOpen => Err(CircuitOpenError::forced()),
            Word::At(until) => {
                let now = self.now();
                if now < until {
                    // Open: the word alone says so, with no lock.
                    Err(CircuitOpenError::new(Duration::from_nanos(until - now)))
                } else {
                    self.admit(now)
                }
            }
        };
        admitted.or_else(|open| self.reject(open))
    }

    /// Admission by the state machine, once an open period has ended.
    fn admit(&self, now: u64) -> Result<Permit<'_>, CircuitOpenError> {
        match self.apply(Event::Admit, now).admission {
            Admission::Call | Admission::NotAsked => Ok(self.closed_permit(|| now)),
            Admission::Probe(ticket) => Ok(Permit::probe(self, ticket)),
            Admission::Reject { wait } => Err(CircuitOpenError::new(Duration::from_nanos(wait))),
            Admission::RejectForced => Err(CircuitOpenError::forced()),
        }
    }

    /// A failure at `now` from a call admitted while closed: to every rule, and a trip if one
    /// fires.
    fn record_failure(&self, now: u64) {
        // An open period that has ended unnoticed ends first, at its own instant and before this
        // failure: its reason is read from the window as it stood, and the streak it ends is
        // the one before this failure.
        if matches!(read(self.word.load(Ordering::Acquire)), Word::At(until) if until <= now) {
            self.apply(Event::Look, now);
        }
        let count = self.failures.as_ref().and_then(|f| f.record(now));
        let other = self.rules().and_then(|r| r.failure(now));
        match (count, other) {
            (Some(until), _) => self.trip(Reason::FailureCount, Some(until), now),
            (None, Some(reason)) => self.trip(reason, None, now),
            (None, None) => {}
        }
        if let Some(observe) = self.observe() {
            observe.failure();
        }
    }

    fn trip(&self, reason: Reason, until: Option<u64>, now: u64) {
        if self.locked().is_some() && read(self.word.load(Ordering::Acquire)) != Word::Closed {
            // With probing a trip can only change a closed circuit: skip the lock.
            return;
        }
        self.apply(Event::Trip { reason, until }, now);
    }

    #[cold]
    fn end_probe(&self, ticket: Ticket, outcome: Option<Outcome>) {
        let step = self.apply(Event::ProbeEnd { ticket, outcome }, self.now());
        if let Some(recorded) = step.recorded {
            self.count(recorded);
            if recorded == Outcome::Failure
                && let Some(observe) = self.observe()
            {
                observe.failure();
            }
        }
    }
}

impl CountWindow for Inner {
    fn width(&self) -> u64 {
        self.window()
    }

    fn open_until(&self, now: u64) -> Option<u64> {
        self.failures.as_ref()?.open_until(now)
    }

    fn exceeded_at(&self, t: u64) -> bool {
        self.failures.as_ref().is_some_and(|f| f.exceeded_at(t))
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

    #[test]
    fn the_word_reads_back_every_phase_it_publishes() {
        for (phase, tell) in [
            (Phase::Closed, Tell::Failures),
            (Phase::Closed, Tell::Outcomes),
            (Phase::Closed, Tell::Timed),
            (Phase::ForcedClosed, Tell::Failures),
            (Phase::ForcedOpen, Tell::Failures),
        ] {
            assert_eq!(phase_of(publish(phase, tell)), phase);
        }
        for until in [0, 1, 2, 3, 4, 1 << 40, u64::MAX - 5] {
            let open = Phase::Open {
                until,
                level: 0,
                reason: Reason::FailureCount,
            };
            assert_eq!(phase_of(publish(open, Tell::Failures)), open, "{until}");
        }
        let at_the_end = Phase::Open {
            until: u64::MAX,
            level: 0,
            reason: Reason::FailureRate,
        };
        assert_eq!(
            read(publish(at_the_end, Tell::Failures)),
            Word::At(u64::MAX - 5)
        );
    }
}
