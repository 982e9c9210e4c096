//! Circuit breaking for HTTP clients: a small client trait, the classification of responses,
//! and [`BreakerClient`], which puts the two together with a request timeout.
//!
//! Any client can be wrapped by implementing [`HttpClient`] (a mock in tests, say);
//! `reqwest::Client` implements it with the `reqwest` feature.
//!
//! # Classification
//!
//! Classification is policy, kept apart from the mechanism: a classifier turns each
//! [`Attempt`] into an [`Outcome`]. A response is seen by its head, the status and the
//! headers, so a classifier can read either. The default, [`default_classifier`], is built
//! from public functions ([`classify_status`]) that a custom classifier can call for every case
//! it does not change itself.
//!
//! The trait is the crate's one classification trait, [`Classify`], the same
//! that the tower layer takes: an HTTP classifier is a `Classify<Attempt<'a>>` for every `'a`,
//! which [`Classifier`] names. Any `Fn(&Attempt<'_>) -> Outcome` is one (a closure with its
//! parameter's type written out, or a fn item such as [`default_classifier`]), so a classifier
//! for [`BreakerClient`] serves the reqwest middleware as it is, and the other way round.
//!
//! # Settings
//!
//! [`BreakerClient::new`] cannot fail. Settings that can be wrong (a zero request timeout, a
//! zero `Retry-After` cap) go through [`BreakerClient::builder`], whose setters take any value
//! and whose [`build`](BreakerClientBuilder::build) refuses the wrong ones with a
//! [`ConfigError`](crate::ConfigError), all in one place: a chain of setters never fails
//! halfway, and a client that exists is a valid one.
//!
//! # Retry-After
//!
//! A server that answers 429 (too many requests) or 503 (service unavailable) may say how long
//! to stay away with `Retry-After`, in seconds or as an HTTP date. [`BreakerClient`] and the
//! reqwest middleware honour it when told to, with
//! [`honour_retry_after(cap)`](BreakerClientBuilder::honour_retry_after): after the response's
//! outcome is recorded, the circuit is held open for that long, at most `cap`
//! ([`CircuitBreaker::open_for`](crate::CircuitBreaker::open_for)), so the next call's
//! rejection says so in [`retry_after`](crate::CircuitOpenError::retry_after). Off by default.
//! The choices made:
//!
//! - Only a 429 or a 503 is heeded, whatever the classifier made of it: the 503 is still a
//!   failure and the 429 still ignored by default. Other statuses' `Retry-After` is not read.
//! - The header is read by [`retry_after`]: the first `Retry-After` field counts; a value that is
//!   neither delta-seconds nor an HTTP date is ignored; a date is compared with the system's
//!   wall clock (the only wall-clock reading of this module: a date is a wall-clock time) and
//!   turned at once into a duration on the breaker's own clock. A date in the past, or `0`,
//!   holds nothing open.
//! - The hold only ever lengthens an open period and leaves a forced state alone (see
//!   [`CircuitBreaker::open_for`](crate::CircuitBreaker::open_for)).

mod client;
pub(crate) mod hold;

use std::future::Future;
use std::sync::LazyLock;

pub use self::client::{BreakerClient, BreakerClientBuilder, RequestError};
pub use self::hold::retry_after;
use crate::classify::Classify;
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

/// A classifier of every [`Attempt`]: the name of [`Classify`]`<Attempt<'a>>` for every `'a`,
/// the bound of [`BreakerClient`] and of the reqwest middleware.
///
/// It has no method of its own and is implemented for every such classifier: implement
/// [`Classify`] to write one, and call [`Classify::classify`] to use one. Closures are
/// classifiers. Opting in to count 429 (too many requests) as a failure, and leaving every
/// other case to the default (the closure's parameter needs its type written out,
/// `&Attempt<'_>`, for the compiler to see it as a classifier of every attempt):
///
/// ```
/// use breaker::{Classify, Outcome};
/// use breaker::http::{Attempt, HeaderMap, StatusCode, default_classifier};
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
/// use breaker::{Classify, Outcome};
/// use breaker::http::{Attempt, HeaderMap, StatusCode, default_classifier};
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
///
/// A type of one's own, generic over the attempt's lifetime:
///
/// ```
/// use breaker::{Classify, Outcome};
/// use breaker::http::{Attempt, Classifier, StatusCode, default_classifier};
///
/// /// The default, with one more status counted as a failure.
/// struct AlsoFailing(StatusCode);
///
/// impl Classify<Attempt<'_>> for AlsoFailing {
///     fn classify(&self, attempt: &Attempt<'_>) -> Outcome {
///         match attempt.status() {
///             Some(status) if status == self.0 => Outcome::Failure,
///             _ => default_classifier(attempt),
///         }
///     }
/// }
///
/// fn is_classifier(_: &impl Classifier) {}
/// let classify = AlsoFailing(StatusCode::REQUEST_TIMEOUT);
/// is_classifier(&classify);
/// assert_eq!(classify.classify(&Attempt::Timeout), Outcome::Failure);
/// ```
pub trait Classifier: for<'a> Classify<Attempt<'a>> {}

impl<K> Classifier for K where K: for<'a> Classify<Attempt<'a>> + ?Sized {}

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

#[cfg(feature = "reqwest")]
#[cfg_attr(docsrs, doc(cfg(feature = "reqwest")))]
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

    fn with_retry_after(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, value.parse().unwrap());
        headers
    }

    #[test]
    fn the_default_classifier_ignores_headers() {
        let headers = with_retry_after("30");
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
