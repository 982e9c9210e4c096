//! The builder: every setting of a breaker, checked once, before any call is made.
//!
//! # Why a builder that validates
//!
//! A circuit breaker is configured once and consulted on every call, so every refusal happens
//! here, in [`Builder::build`], as a [`ConfigError`]: a zero window, a ratio outside (0, 1], a
//! duration too long for the clock's nanoseconds. A breaker that was built never panics, and
//! never meets a setting it cannot honour, at call time. [`CircuitBreaker::new`] is the builder
//! with two settings, and [`Probing`] the settings of half-open recovery, checked with the rest.

use std::fmt;
use std::time::Duration;

use crate::breaker::CircuitBreaker;
use crate::clock::Clock;
use crate::error::ConfigError;
use crate::inner::{Inner, Parts};
use crate::machine::{Policy, ProbePolicy, Recovery};
use crate::nanos::Nanos;
use crate::observe::{FailureObserver, Observe, Observer};
use crate::rules::Rules;
use crate::rules::consecutive::Consecutive;
use crate::rules::rate::FailureRate;
use crate::state::StateChange;
use crate::window::FailureWindow;

/// A duration as nanoseconds on the clock, or why it is refused.
fn fits(what: &'static str, d: Duration) -> Result<Nanos, ConfigError> {
    Nanos::checked_from(d).ok_or(ConfigError::TooLong { what, given: d })
}

/// Opt-in half-open recovery: after an open period, let a few trial calls decide.
///
/// Without probing, the circuit closes by itself the instant the failures in the window fall
/// back to T or fewer. With probing, the circuit stays open for an *open time*, then turns
/// half-open: at most P calls (the probes) are forwarded at once, the rest are rejected.
/// P successful probes close the circuit and clear the window. A failed probe, or one that runs
/// longer than the probe timeout, opens the circuit again, for the next step of the backoff:
/// step k lasts `min(open_time × multiplier^k, cap)`. A probe whose future is dropped, or that
/// ends [`Outcome::Ignored`](crate::Outcome::Ignored), gives its place back and counts as nothing.
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
/// Defaults: W = 5 s, the count rule with T = 3, the [`MonotonicClock`](crate::MonotonicClock), no probing, no name,
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
    /// [`Permit::is_shadow_rejected`](crate::Permit::is_shadow_rejected) tells it apart.
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

    /// The clock to read time from. Defaults to the [`MonotonicClock`](crate::MonotonicClock).
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
        let window =
            Nanos::checked_from(self.window).ok_or(ConfigError::WindowTooLong(self.window))?;
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
        Ok(CircuitBreaker::from_inner(Inner::new(Parts {
            window,
            failures,
            clock: self.clock,
            policy,
            rules,
            observe,
            shadow: self.shadow,
        })))
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
}
