//! Circuit breaking for HTTP clients: a small client trait, the classification of responses,
//! and [`BreakerClient`], which puts the two together with a request timeout.
//!
//! Any client can be wrapped by implementing [`HttpClient`] (a mock in tests, say);
//! `reqwest::Client` implements it with the `reqwest` feature, on by default.
//!
//! Classification is policy, kept apart from the mechanism: a [`Classifier`] turns each
//! [`Attempt`] into an [`Outcome`]. The default, [`default_classifier`], is built from public
//! functions ([`classify_status`]) that a custom classifier can call for every case it does not
//! change itself, and any `Fn(&Attempt<'_>) -> Outcome` closure is a classifier.

use std::fmt;
use std::future::Future;
use std::time::Duration;

use crate::breaker::CircuitBreaker;
use crate::error::{ConfigError, Error};
use crate::state::Outcome;

/// An HTTP client the breaker can wrap.
///
/// # Example
///
/// A mock that answers every request with a fixed status:
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
}

/// Re-exported from the `http` crate, for [`HttpClient::status`] and classifiers.
#[doc(no_inline)]
pub use http::StatusCode;

/// What happened to one request, as a classifier sees it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Attempt<'a> {
    /// A response arrived with this status.
    Response(StatusCode),
    /// No response within the request timeout.
    Timeout,
    /// The client failed to get a response (connection refused, reset, …).
    Transport(&'a (dyn std::error::Error + 'static)),
}

/// Decides what an [`Attempt`] means for the service's health.
///
/// Closures are classifiers. Opting in to count 429 (too many requests) as a failure, and
/// leaving every other case to the default (the closure's parameter needs its type written out,
/// `&Attempt<'_>`, for the compiler to see it as a classifier):
///
/// ```
/// use breaker::Outcome;
/// use breaker::http::{Attempt, Classifier, StatusCode, default_classifier};
///
/// let classify = |a: &Attempt<'_>| match a {
///     Attempt::Response(StatusCode::TOO_MANY_REQUESTS) => Outcome::Failure,
///     other => default_classifier(other),
/// };
/// assert_eq!(classify.classify(&Attempt::Response(StatusCode::TOO_MANY_REQUESTS)), Outcome::Failure);
/// assert_eq!(classify.classify(&Attempt::Response(StatusCode::NOT_FOUND)), Outcome::Ignored);
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

/// The default classification: [`classify_status`] for responses; timeouts and transport
/// errors are failures.
///
/// ```
/// use breaker::Outcome;
/// use breaker::http::{Attempt, default_classifier};
///
/// assert_eq!(default_classifier(&Attempt::Timeout), Outcome::Failure);
/// ```
pub fn default_classifier(attempt: &Attempt<'_>) -> Outcome {
    match attempt {
        Attempt::Response(status) => classify_status(*status),
        Attempt::Timeout | Attempt::Transport(_) => Outcome::Failure,
    }
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
}

impl<C, K> fmt::Debug for BreakerClient<C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerClient")
            .field("breaker", &self.breaker)
            .field("timeout", &self.timeout)
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
        }
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
    /// classified and recorded. Reading the body afterwards is the caller's business: to bound
    /// it too, give the client its own timeout (`reqwest::ClientBuilder::timeout`).
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
            Ok(response) => self
                .classifier
                .classify(&Attempt::Response(C::status(response))),
            Err(RequestError::Timeout(_)) => self.classifier.classify(&Attempt::Timeout),
            Err(RequestError::Client(e)) => self.classifier.classify(&Attempt::Transport(e)),
        };
        permit.record(outcome);
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
}
