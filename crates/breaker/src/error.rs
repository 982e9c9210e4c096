//! The errors a breaker gives: a rejection, a wrapped call error, and a refused configuration.
//!
//! A rejection says when to come back ([`CircuitOpenError::retry_after`]), because a caller that
//! knows that can schedule a retry instead of spinning. Only this crate builds one (its field is
//! private), so a `CircuitOpenError` always means the breaker really refused the call. A wrapped
//! error is shown once: [`Error::Inner`] is transparent, so `Display` and `source()` are the
//! inner error's own and the message is never printed twice.

use std::time::Duration;

/// The circuit is open: the call was not forwarded.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use breaker::{CircuitBreaker, ManualClock};
///
/// let clock = ManualClock::new();
/// let cb = CircuitBreaker::builder()
///     .window(Duration::from_secs(5))
///     .error_threshold(0)
///     .clock(clock.clone())
///     .build()?;
/// cb.try_acquire()?.failure();
/// clock.advance(Duration::from_secs(2));
/// let err = cb.try_acquire().unwrap_err();
/// assert_eq!(err.retry_after(), Duration::from_secs(3));
/// assert_eq!(err.to_string(), "circuit open; retry after 3s");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", if self.is_forced() { "circuit forced open".to_owned() } else { format!("circuit open; retry after {:?}", .retry_after) })]
pub struct CircuitOpenError {
    /// The wait; [`Duration::MAX`] (longer than any wait the clock can measure) when forced.
    retry_after: Duration,
}

impl CircuitOpenError {
    pub(crate) fn new(retry_after: Duration) -> Self {
        Self { retry_after }
    }

    pub(crate) fn forced() -> Self {
        Self {
            retry_after: Duration::MAX,
        }
    }

    /// The exact time from the rejection until the circuit next admits a call: until it closes,
    /// or, with probing, until it turns half-open or a probe slot is expected to free up.
    /// [`Duration::MAX`] when the circuit is [forced open](CircuitOpenError::is_forced), since
    /// no time will end that.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }

    /// Whether the circuit was forced open
    /// ([`CircuitBreaker::force_open`](crate::CircuitBreaker::force_open)): it stays open until
    /// someone resets it.
    ///
    /// ```
    /// use breaker::CircuitBreaker;
    ///
    /// let cb = CircuitBreaker::builder().build()?;
    /// cb.force_open();
    /// let err = cb.try_acquire().unwrap_err();
    /// assert!(err.is_forced());
    /// assert_eq!(err.to_string(), "circuit forced open");
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    pub fn is_forced(&self) -> bool {
        self.retry_after == Duration::MAX
    }
}

/// What [`CircuitBreaker::call`](crate::CircuitBreaker::call) returns when it does not return
/// the call's value.
///
/// # Example
///
/// ```
/// # tokio_test_block(async {
/// use std::time::Duration;
/// use breaker::{CircuitBreaker, Error};
///
/// let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
/// let first = cb.call(async { Err::<(), _>("boom") }).await;
/// assert!(matches!(first, Err(Error::Inner("boom"))));
/// let second = cb.call(async { Ok::<_, &str>(()) }).await;
/// assert!(matches!(second, Err(Error::Open(_))));
/// # });
/// # fn tokio_test_block(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error<E> {
    /// The circuit was open and the call was not forwarded.
    #[error(transparent)]
    Open(CircuitOpenError),
    /// The call ran and returned this error; it was recorded as a failure.
    #[error(transparent)]
    Inner(E),
}

impl<E> Error<E> {
    /// The rejection, if the call was rejected.
    pub fn open(&self) -> Option<&CircuitOpenError> {
        match self {
            Error::Open(e) => Some(e),
            Error::Inner(_) => None,
        }
    }

    /// The call's own error, if the call ran.
    pub fn into_inner(self) -> Option<E> {
        match self {
            Error::Open(_) => None,
            Error::Inner(e) => Some(e),
        }
    }
}

/// A configuration the builder refused. Nothing is refused later, at call time.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use breaker::{CircuitBreaker, ConfigError};
///
/// let err = CircuitBreaker::builder().window(Duration::ZERO).build().unwrap_err();
/// assert_eq!(err, ConfigError::ZeroWindow);
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The window W must be longer than zero.
    #[error("the window must be longer than zero")]
    ZeroWindow,
    /// The window W must fit the breaker's clock: at most `u64::MAX` nanoseconds (584 years).
    #[error("the window must be at most 584 years ({0:?} was asked for)")]
    WindowTooLong(Duration),
    /// The number of probes P must be at least 1.
    #[error("half-open probing needs at least one probe")]
    ZeroProbes,
    /// The number of probes P is larger than the breaker can track.
    #[error("at most {max} probes are supported, {given} were asked for")]
    TooManyProbes {
        /// The number asked for.
        given: u32,
        /// The largest number supported.
        max: u32,
    },
    /// The open time before probing must be longer than zero.
    #[error("the open time before probing must be longer than zero")]
    ZeroOpenTime,
    /// The backoff multiplier must be a finite number of at least 1.
    #[error("the backoff multiplier must be a finite number >= 1, not {0}")]
    BadBackoffMultiplier(f64),
    /// The backoff cap must not be shorter than the open time it caps.
    #[error("the backoff cap ({cap:?}) is shorter than the open time ({open:?})")]
    CapBelowOpenTime {
        /// The cap asked for.
        cap: Duration,
        /// The open time asked for.
        open: Duration,
    },
    /// The probe timeout must be longer than zero.
    #[error("the probe timeout must be longer than zero")]
    ZeroProbeTimeout,
    /// The HTTP request timeout must be longer than zero.
    #[error("the request timeout must be longer than zero")]
    ZeroRequestTimeout,
    /// A duration must fit the breaker's clock: at most `u64::MAX` nanoseconds (584 years).
    #[error("{what} must be at most 584 years ({given:?} was asked for)")]
    TooLong {
        /// Which setting.
        what: &'static str,
        /// The duration asked for.
        given: Duration,
    },
    /// The failure rate must be in (0, 1].
    #[error("the failure rate must be more than 0 and at most 1, not {0}")]
    BadFailureRate(f64),
    /// The failure-rate rule needs at least one call.
    #[error("the failure-rate rule needs a minimum of at least one call")]
    ZeroMinCalls,
    /// The consecutive-failures rule needs at least one failure.
    #[error("the consecutive-failures rule needs at least one failure")]
    ZeroConsecutiveFailures,
    /// The slow-call threshold must be longer than zero.
    #[error("the slow-call threshold must be longer than zero")]
    ZeroSlowCall,
    /// The cap on a `Retry-After` hold must be longer than zero.
    #[error("the cap on a Retry-After hold must be longer than zero")]
    ZeroRetryAfterCap,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn inner_error_is_shown_once() {
        let inner = Outer(std::io::Error::other("root cause"));
        let e: Error<Outer> = Error::Inner(inner);
        assert_eq!(e.to_string(), "outer");
        // Transparent: source() is the inner error's source, not the inner error itself.
        assert_eq!(e.source().unwrap().to_string(), "root cause");
    }

    #[test]
    fn rejection_has_no_source() {
        let e: Error<Outer> = Error::Open(CircuitOpenError::new(Duration::from_millis(250)));
        assert!(e.source().is_none());
        assert_eq!(e.to_string(), "circuit open; retry after 250ms");
    }
}
