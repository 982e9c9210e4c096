//! Circuit breaking for HTTP clients: a small client trait, the classification of responses,
//! and [`BreakerClient`], which puts the two together with a request timeout.
//!
//! Any client can be wrapped by implementing [`HttpClient`] (a mock in tests, say);
//! `reqwest::Client` implements it with the `reqwest` feature.
//!
//! Classification is policy, kept apart from the mechanism: a [`Classifier`] turns each
//! [`Attempt`] into an [`Outcome`]. A response is seen by its head, the status and the
//! headers, so a classifier can read either. The default, [`default_classifier`], is built
//! from public functions ([`classify_status`]) that a custom classifier can call for every case
//! it does not change itself, and any `Fn(&Attempt<'_>) -> Outcome` closure is a classifier.
//!
//! # Retry-After
//!
//! A server that answers 429 (too many requests) or 503 (service unavailable) may say how long
//! to stay away with `Retry-After`, in seconds or as an HTTP date. [`BreakerClient`] and the
//! reqwest middleware honour it when told to, with
//! [`honour_retry_after(cap)`](BreakerClient::honour_retry_after): after the response's outcome
//! is recorded, the circuit is held open for that long, at most `cap`
//! ([`CircuitBreaker::open_for`]), so the next call's rejection says so in
//! [`retry_after`](crate::CircuitOpenError::retry_after). Off by default. The choices made:
//!
//! - Only a 429 or a 503 is heeded, whatever the classifier made of it: the 503 is still a
//!   failure and the 429 still ignored by default. Other statuses' `Retry-After` is not read.
//! - The header is read by [`retry_after`]: the first `Retry-After` field counts; a value that is
//!   neither delta-seconds nor an HTTP date is ignored; a date is compared with the system's
//!   wall clock (the only wall-clock reading of this module: a date is a wall-clock time) and
//!   turned at once into a duration on the breaker's own clock. A date in the past, or `0`,
//!   holds nothing open.
//! - The hold only ever lengthens an open period and leaves a forced state alone (see
//!   [`CircuitBreaker::open_for`]).

use std::fmt;
use std::future::Future;
use std::sync::LazyLock;
use std::time::{Duration, SystemTime};

use crate::breaker::CircuitBreaker;
use crate::error::{ConfigError, Error};
use crate::state::Outcome;

/// An HTTP client the breaker can wrap.
///
/// [`status`](HttpClient::status) is required; [`headers`](HttpClient::headers) has a default
/// (no headers at all) for a client whose responses have none worth reading, such as a mock.
///
/// # Example
///
/// A mock that answers every request with a fixed status (and, by default, no headers):
///
/// ```
/// use std::future::Future;
/// use breaker::http::{HttpClient, StatusCode};
///
/// struct Fixed(StatusCode);
///
/// impl HttpClient for Fixed {
///     type Request = &'static str;
///     type Response = StatusCode;
///     type Error = std::io::Error;
///
///     fn send(&self, _: &'static str) -> impl Future<Output = Result<StatusCode, std::io::Error>> + Send {
///         std::future::ready(Ok(self.0))
///     }
///
///     fn status(response: &StatusCode) -> StatusCode {
///         *response
///     }
/// }
/// ```
pub trait HttpClient {
    /// What one request is.
    type Request;
    /// What a response is.
    type Response;
    /// What a failure to get a response is (a connection error, say).
    type Error;

    /// Sends one request.
    fn send(
        &self,
        request: Self::Request,
    ) -> impl Future<Output = Result<Self::Response, Self::Error>> + Send;

    /// The status code of a response.
    fn status(response: &Self::Response) -> StatusCode;

    /// The headers of a response, for classifiers and for `Retry-After`. By default an empty
    /// map: a client that has headers should say so.
    fn headers(response: &Self::Response) -> &HeaderMap {
        let _ = response;
        &NO_HEADERS
    }
}

/// What [`HttpClient::headers`] gives by default.
static NO_HEADERS: LazyLock<HeaderMap> = LazyLock::new(HeaderMap::new);

/// Re-exported from the `http` crate, for [`HttpClient`] and classifiers.
#[doc(no_inline)]
pub use http::{HeaderMap, StatusCode};

/// What happened to one request, as a classifier sees it.
///
/// A response is its head: the status and the headers (the body has not been read when the
/// outcome is decided).
///
/// ```
/// use breaker::Outcome;
/// use breaker::http::{Attempt, HeaderMap, StatusCode, default_classifier};
///
/// let headers = HeaderMap::new();
/// let attempt = Attempt::Response { status: StatusCode::BAD_GATEWAY, headers: &headers };
/// assert_eq!(attempt.status(), Some(StatusCode::BAD_GATEWAY));
/// assert_eq!(default_classifier(&attempt), Outcome::Failure);
/// ```
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Attempt<'a> {
    /// A response arrived: its status and headers.
    Response {
        /// The status code.
        status: StatusCode,
        /// The response's headers.
        headers: &'a HeaderMap,
    },
    /// No response within the request timeout.
    Timeout,
    /// The client failed to get a response (connection refused, reset, …).
    Transport(&'a (dyn std::error::Error + 'static)),
}

impl Attempt<'_> {
    /// The response's status, if a response arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Attempt::Response { status, .. } => Some(*status),
            Attempt::Timeout | Attempt::Transport(_) => None,
        }
    }

    /// The response's headers, if a response arrived.
    pub fn headers(&self) -> Option<&HeaderMap> {
        match self {
            Attempt::Response { headers, .. } => Some(headers),
            Attempt::Timeout | Attempt::Transport(_) => None,
        }
    }
}

/// Decides what an [`Attempt`] means for the service's health.
///
/// Closures are classifiers. Opting in to count 429 (too many requests) as a failure, and
/// leaving every other case to the default (the closure's parameter needs its type written out,
/// `&Attempt<'_>`, for the compiler to see it as a classifier):
///
/// ```
/// use breaker::Outcome;
/// use breaker::http::{Attempt, Classifier, HeaderMap, StatusCode, default_classifier};
///
/// let classify = |a: &Attempt<'_>| match a {
///     Attempt::Response { status: StatusCode::TOO_MANY_REQUESTS, .. } => Outcome::Failure,
///     other => default_classifier(other),
/// };
/// let headers = HeaderMap::new();
/// let response = |status| Attempt::Response { status, headers: &headers };
/// assert_eq!(classify.classify(&response(StatusCode::TOO_MANY_REQUESTS)), Outcome::Failure);
/// assert_eq!(classify.classify(&response(StatusCode::NOT_FOUND)), Outcome::Ignored);
/// ```
///
/// A classifier can read the headers too: here a service that flags overload on a 200 with
/// `x-overloaded: 1` is failing.
///
/// ```
/// use breaker::Outcome;
/// use breaker::http::{Attempt, Classifier, HeaderMap, StatusCode, default_classifier};
///
/// let classify = |a: &Attempt<'_>| match a {
///     Attempt::Response { headers, .. }
///         if headers.get("x-overloaded").is_some_and(|v| v == "1") => Outcome::Failure,
///     other => default_classifier(other),
/// };
/// let mut headers = HeaderMap::new();
/// headers.insert("x-overloaded", "1".parse().unwrap());
/// let attempt = Attempt::Response { status: StatusCode::OK, headers: &headers };
/// assert_eq!(classify.classify(&attempt), Outcome::Failure);
/// ```
pub trait Classifier {
    /// The outcome of `attempt`.
    fn classify(&self, attempt: &Attempt<'_>) -> Outcome;
}

impl<F> Classifier for F
where
    F: Fn(&Attempt<'_>) -> Outcome,
{
    fn classify(&self, attempt: &Attempt<'_>) -> Outcome {
        self(attempt)
    }
}

/// The default classification of a status: 5xx is a failure, 4xx is ignored (the client's
/// fault, not the service's), anything else (1xx, 2xx, 3xx) is a success.
///
/// ```
/// use breaker::Outcome;
/// use breaker::http::{StatusCode, classify_status};
///
/// assert_eq!(classify_status(StatusCode::INTERNAL_SERVER_ERROR), Outcome::Failure);
/// assert_eq!(classify_status(StatusCode::BAD_REQUEST), Outcome::Ignored);
/// assert_eq!(classify_status(StatusCode::MOVED_PERMANENTLY), Outcome::Success);
/// ```
pub fn classify_status(status: StatusCode) -> Outcome {
    if status.is_server_error() {
        Outcome::Failure
    } else if status.is_client_error() {
        Outcome::Ignored
    } else {
        Outcome::Success
    }
}

/// The default classification: [`classify_status`] for responses (the headers are not
/// read); timeouts and transport errors are failures.
///
/// ```
/// use breaker::Outcome;
/// use breaker::http::{Attempt, default_classifier};
///
/// assert_eq!(default_classifier(&Attempt::Timeout), Outcome::Failure);
/// ```
pub fn default_classifier(attempt: &Attempt<'_>) -> Outcome {
    match attempt {
        Attempt::Response { status, .. } => classify_status(*status),
        Attempt::Timeout | Attempt::Transport(_) => Outcome::Failure,
    }
}

/// How long a response's `Retry-After` asks the client to wait, as of `now` (the system's wall
/// clock, for a date): `None` when there is no such header or its value is neither form.
///
/// The first `Retry-After` field is read, with surrounding whitespace ignored:
/// - delta-seconds (`1*DIGIT`): that many seconds; a number too large for a `u64` saturates
///   at `u64::MAX` seconds. A sign, a fraction or a unit makes it garbage.
/// - an HTTP date, in the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`) or one of the
///   two obsolete forms HTTP recipients must accept (RFC 850 and asctime): the time from `now`
///   to that date, [`Duration::ZERO`] if it is not after `now`.
///
/// It never panics.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use breaker::http::{HeaderMap, retry_after};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // 06 Nov 1994 08:49:37
/// let mut headers = HeaderMap::new();
/// assert_eq!(retry_after(&headers, now), None);
/// headers.insert("retry-after", "120".parse().unwrap());
/// assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(120)));
/// headers.insert("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT".parse().unwrap());
/// assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));
/// headers.insert("retry-after", "Sun, 06 Nov 1994 08:49:07 GMT".parse().unwrap());
/// assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));
/// headers.insert("retry-after", "soon".parse().unwrap());
/// assert_eq!(retry_after(&headers, now), None);
/// ```
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.bytes().fold(0u64, |n, digit| {
            n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
        });
        return Some(Duration::from_secs(secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How long to hold the circuit open after a response, with `Retry-After` honoured up to
/// `cap`: only for a 429 or a 503 whose `Retry-After` asks for more than zero.
pub(crate) fn hold_for(status: StatusCode, headers: &HeaderMap, cap: Duration) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let wait = retry_after(headers, SystemTime::now())?;
    (!wait.is_zero()).then(|| wait.min(cap))
}

/// The check of a `Retry-After` cap, shared by [`BreakerClient`] and the middleware.
pub(crate) fn check_retry_after_cap(cap: Duration) -> Result<Duration, ConfigError> {
    if cap.is_zero() {
        return Err(ConfigError::ZeroRetryAfterCap);
    }
    Ok(cap)
}

/// Why [`BreakerClient::send`] got no response.
#[derive(Debug, thiserror::Error)]
pub enum RequestError<E> {
    /// No response within the request timeout.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The client failed.
    #[error(transparent)]
    Client(E),
}

/// An [`HttpClient`] behind a [`CircuitBreaker`], with a request timeout.
///
/// Each request is admitted by the breaker (or rejected with [`Error::Open`] without touching
/// the client), sent with a timeout (default 10 s; it needs a Tokio runtime with time enabled),
/// classified, and recorded. Responses come back whatever their status: a 500 is recorded as a
/// failure *and* returned, so that the caller can read it.
///
/// # Example
///
/// Any [`HttpClient`] can be wrapped; here a stand-in service that always answers 503 (the
/// crate docs show the same with `reqwest::Client`):
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::future::{Future, ready};
/// use std::time::Duration;
/// use breaker::{CircuitBreaker, Error};
/// use breaker::http::{BreakerClient, HttpClient, StatusCode};
///
/// struct Unavailable;
///
/// impl HttpClient for Unavailable {
///     type Request = ();
///     type Response = StatusCode;
///     type Error = std::io::Error;
///
///     fn send(&self, _: ()) -> impl Future<Output = Result<StatusCode, std::io::Error>> + Send {
///         ready(Ok(StatusCode::SERVICE_UNAVAILABLE))
///     }
///
///     fn status(response: &StatusCode) -> StatusCode {
///         *response
///     }
/// }
///
/// let client = BreakerClient::new(Unavailable, CircuitBreaker::new(Duration::from_secs(5), 0))
///     .with_timeout(Duration::from_secs(2))
///     .unwrap();
/// // The 503 comes back to the caller, and counts as a failure: with T = 0 the circuit opens.
/// assert_eq!(client.send(()).await.unwrap(), StatusCode::SERVICE_UNAVAILABLE);
/// match client.send(()).await {
///     Err(Error::Open(open)) => assert!(open.retry_after() <= Duration::from_secs(5)),
///     other => panic!("expected a rejection, got {other:?}"),
/// }
/// # });
/// ```
pub struct BreakerClient<C, K = fn(&Attempt<'_>) -> Outcome> {
    client: C,
    breaker: CircuitBreaker,
    timeout: Duration,
    classifier: K,
    /// The cap on a `Retry-After` hold, when it is honoured.
    retry_after_cap: Option<Duration>,
}

impl<C, K> fmt::Debug for BreakerClient<C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerClient")
            .field("breaker", &self.breaker)
            .field("timeout", &self.timeout)
            .field("retry_after_cap", &self.retry_after_cap)
            .finish_non_exhaustive()
    }
}

impl<C: HttpClient> BreakerClient<C> {
    /// Wraps `client` in `breaker`, with the default classifier and a 10 s timeout.
    pub fn new(client: C, breaker: CircuitBreaker) -> Self {
        Self {
            client,
            breaker,
            timeout: Duration::from_secs(10),
            classifier: default_classifier,
            retry_after_cap: None,
        }
    }
}

impl<C: HttpClient, K: Classifier> BreakerClient<C, K> {
    /// Sets the request timeout.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroRequestTimeout`] for a zero timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Result<Self, ConfigError> {
        if timeout.is_zero() {
            return Err(ConfigError::ZeroRequestTimeout);
        }
        self.timeout = timeout;
        Ok(self)
    }

    /// Replaces the classifier.
    pub fn with_classifier<K2: Classifier>(self, classifier: K2) -> BreakerClient<C, K2> {
        BreakerClient {
            client: self.client,
            breaker: self.breaker,
            timeout: self.timeout,
            classifier,
            retry_after_cap: self.retry_after_cap,
        }
    }

    /// Honours `Retry-After` on a 429 or a 503: once the response's outcome is recorded, the
    /// circuit is held open for as long as the header asks ([`retry_after`]), at most `cap`
    /// ([`CircuitBreaker::open_for`]), so the next call is rejected with that
    /// [`retry_after`](crate::CircuitOpenError::retry_after). The response itself is returned
    /// as usual, and classified as usual. See the [module docs](self#retry-after).
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// use std::future::{Future, ready};
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Error, ManualClock};
    /// use breaker::http::{BreakerClient, HeaderMap, HttpClient, StatusCode};
    ///
    /// /// Always 503, with `Retry-After: 30`.
    /// struct Busy;
    ///
    /// impl HttpClient for Busy {
    ///     type Request = ();
    ///     type Response = ();
    ///     type Error = std::io::Error;
    ///
    ///     fn send(&self, _: ()) -> impl Future<Output = Result<(), std::io::Error>> + Send {
    ///         ready(Ok(()))
    ///     }
    ///     fn status(_: &()) -> StatusCode {
    ///         StatusCode::SERVICE_UNAVAILABLE
    ///     }
    ///     fn headers(_: &()) -> &HeaderMap {
    ///         static HEADERS: std::sync::LazyLock<HeaderMap> = std::sync::LazyLock::new(|| {
    ///             let mut h = HeaderMap::new();
    ///             h.insert("retry-after", "30".parse().unwrap());
    ///             h
    ///         });
    ///         &HEADERS
    ///     }
    /// }
    ///
    /// let clock = ManualClock::new();
    /// let cb = CircuitBreaker::builder().clock(clock.clone()).build()?;
    /// let client = BreakerClient::new(Busy, cb)
    ///     .honour_retry_after(Duration::from_secs(60))?;
    /// client.send(()).await.unwrap(); // one 503: not enough to trip T = 3, but it asks for 30 s
    /// match client.send(()).await {
    ///     Err(Error::Open(open)) => assert_eq!(open.retry_after(), Duration::from_secs(30)),
    ///     other => panic!("expected a rejection, got {other:?}"),
    /// }
    /// # Ok::<(), breaker::ConfigError>(())
    /// # }).unwrap();
    /// ```
    ///
    /// # Errors
    ///
    /// A zero `cap` is refused with [`ConfigError::ZeroRetryAfterCap`]: the cap is the longest
    /// time the circuit is held open. A cap beyond the clock's range (584 years) works as no
    /// cap at all.
    pub fn honour_retry_after(mut self, cap: Duration) -> Result<Self, ConfigError> {
        self.retry_after_cap = Some(check_retry_after_cap(cap)?);
        Ok(self)
    }

    /// The breaker, to read its state.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// The wrapped client.
    pub fn client(&self) -> &C {
        &self.client
    }

    /// Sends `request` if the circuit admits it.
    ///
    /// The timeout runs until the response's head arrives, which is when the outcome is
    /// classified and recorded (and, [if told to](Self::honour_retry_after), `Retry-After`
    /// heeded). Reading the body afterwards is the caller's business: to bound it too, give the
    /// client its own timeout (`reqwest::ClientBuilder::timeout`).
    ///
    /// # Errors
    ///
    /// [`Error::Open`] if the circuit rejected it (the client is not touched), or
    /// [`Error::Inner`] with a timeout or the client's error.
    pub async fn send(
        &self,
        request: C::Request,
    ) -> Result<C::Response, Error<RequestError<C::Error>>>
    where
        C::Error: std::error::Error + 'static,
    {
        let permit = self.breaker.try_acquire().map_err(Error::Open)?;
        let result = match tokio::time::timeout(self.timeout, self.client.send(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(RequestError::Client(e)),
            Err(_) => Err(RequestError::Timeout(self.timeout)),
        };
        let outcome = match &result {
            Ok(response) => self.classifier.classify(&Attempt::Response {
                status: C::status(response),
                headers: C::headers(response),
            }),
            Err(RequestError::Timeout(_)) => self.classifier.classify(&Attempt::Timeout),
            Err(RequestError::Client(e)) => self.classifier.classify(&Attempt::Transport(e)),
        };
        permit.record(outcome);
        if let (Some(cap), Ok(response)) = (self.retry_after_cap, &result)
            && let Some(hold) = hold_for(C::status(response), C::headers(response), cap)
        {
            self.breaker.open_for(hold);
        }
        result.map_err(Error::Inner)
    }
}

#[cfg(feature = "reqwest")]
impl HttpClient for reqwest::Client {
    type Request = reqwest::Request;
    type Response = reqwest::Response;
    type Error = reqwest::Error;

    fn send(
        &self,
        request: reqwest::Request,
    ) -> impl Future<Output = Result<reqwest::Response, reqwest::Error>> + Send {
        self.execute(request)
    }

    fn status(response: &reqwest::Response) -> StatusCode {
        response.status()
    }

    fn headers(response: &reqwest::Response) -> &HeaderMap {
        response.headers()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 06 Nov 1994 08:49:37 GMT, the RFC's example date, as the wall clock's `now`.
    const NOW: u64 = 784_111_777;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn with(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(http::header::RETRY_AFTER, v.parse().unwrap());
        }
        headers
    }

    fn parse(value: &str) -> Option<Duration> {
        retry_after(&with(&[value]), at(NOW))
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(parse("0"), Some(Duration::ZERO));
        assert_eq!(parse("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse("007"), Some(Duration::from_secs(7)));
        assert_eq!(parse(" 30\t"), Some(Duration::from_secs(30)));
    }

    #[test]
    fn huge_delta_seconds_saturate() {
        let max = Duration::from_secs(u64::MAX);
        assert_eq!(
            parse("18446744073709551614"),
            Some(max - Duration::from_secs(1))
        );
        assert_eq!(parse("18446744073709551615"), Some(max));
        assert_eq!(parse("18446744073709551616"), Some(max));
        assert_eq!(parse(&"9".repeat(200)), Some(max));
    }

    #[test]
    fn http_dates_on_both_sides_of_now() {
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:38 GMT"),
            Some(Duration::from_secs(1))
        );
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:36 GMT"), Some(Duration::ZERO));
        assert_eq!(parse("Thu, 01 Jan 1970 00:00:00 GMT"), Some(Duration::ZERO));
        // The two obsolete forms a recipient must accept.
        assert_eq!(
            parse("Sunday, 06-Nov-94 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse("Sun Nov  6 08:50:07 1994"),
            Some(Duration::from_secs(30))
        );
        // The last date the format can write.
        assert!(parse("Fri, 31 Dec 9999 23:59:59 GMT").is_some());
    }

    #[test]
    fn a_date_is_measured_from_now_to_the_nanosecond() {
        let now = at(NOW) + Duration::from_millis(250);
        let headers = with(&["Sun, 06 Nov 1994 08:49:38 GMT"]);
        assert_eq!(retry_after(&headers, now), Some(Duration::from_millis(750)));
        let later = at(NOW + 1) + Duration::from_nanos(1);
        assert_eq!(retry_after(&headers, later), Some(Duration::ZERO));
    }

    #[test]
    fn garbage_is_none() {
        for value in [
            "",
            " ",
            "soon",
            "-1",
            "+30",
            "1.5",
            "30s",
            "3 0",
            "0x1e",
            "Mon, 06 Nov 1994 08:50:07 GMT", // the wrong day of the week
            "Sun, 06 Nov 1994 08:50:07 UTC",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 31 Feb 1994 08:50:07 GMT",
            "Wed, 31 Dec 1969 23:59:59 GMT",
            "1994-11-06T08:50:07Z",
        ] {
            assert_eq!(parse(value), None, "{value:?}");
        }
        // Not visible ASCII.
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_bytes(b"3\xff0").unwrap(),
        );
        assert_eq!(retry_after(&headers, at(NOW)), None);
        // No header at all.
        assert_eq!(retry_after(&HeaderMap::new(), at(NOW)), None);
    }

    #[test]
    fn the_first_field_counts() {
        let headers = with(&["30", "60"]);
        assert_eq!(
            retry_after(&headers, at(NOW)),
            Some(Duration::from_secs(30))
        );
        let headers = with(&["soon", "60"]);
        assert_eq!(retry_after(&headers, at(NOW)), None);
    }

    #[test]
    fn a_hold_is_asked_only_by_a_429_or_a_503_and_is_capped() {
        let cap = Duration::from_secs(60);
        let thirty = with(&["30"]);
        for status in [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            assert_eq!(
                hold_for(status, &thirty, cap),
                Some(Duration::from_secs(30))
            );
            assert_eq!(hold_for(status, &with(&["60"]), cap), Some(cap));
            assert_eq!(hold_for(status, &with(&["61"]), cap), Some(cap));
            assert_eq!(hold_for(status, &with(&["0"]), cap), None);
            assert_eq!(hold_for(status, &with(&["later"]), cap), None);
            assert_eq!(hold_for(status, &HeaderMap::new(), cap), None);
            let past = "Thu, 01 Jan 1970 00:00:01 GMT";
            assert_eq!(hold_for(status, &with(&[past]), cap), None);
        }
        for status in [
            StatusCode::OK,
            StatusCode::MOVED_PERMANENTLY,
            StatusCode::BAD_REQUEST,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
        ] {
            assert_eq!(hold_for(status, &thirty, cap), None, "{status}");
        }
    }

    #[test]
    fn a_zero_cap_is_refused() {
        assert_eq!(
            check_retry_after_cap(Duration::ZERO),
            Err(ConfigError::ZeroRetryAfterCap)
        );
        assert_eq!(
            check_retry_after_cap(Duration::from_nanos(1)),
            Ok(Duration::from_nanos(1))
        );
    }

    #[test]
    fn the_default_classifier_ignores_headers() {
        let headers = with(&["30"]);
        let response = |status| Attempt::Response {
            status,
            headers: &headers,
        };
        assert_eq!(
            default_classifier(&response(StatusCode::OK)),
            Outcome::Success
        );
        assert_eq!(
            default_classifier(&response(StatusCode::CONTINUE)),
            Outcome::Success
        );
        assert_eq!(
            default_classifier(&response(StatusCode::FOUND)),
            Outcome::Success
        );
        assert_eq!(
            default_classifier(&response(StatusCode::TOO_MANY_REQUESTS)),
            Outcome::Ignored
        );
        assert_eq!(
            default_classifier(&response(StatusCode::SERVICE_UNAVAILABLE)),
            Outcome::Failure
        );
        assert_eq!(default_classifier(&Attempt::Timeout), Outcome::Failure);
        assert_eq!(response(StatusCode::OK).headers(), Some(&headers));
        assert_eq!(Attempt::Timeout.status(), None);
    }
}
