//! [`BreakerClient`]: an [`HttpClient`] behind a breaker, with a request timeout, and
//! [`BreakerClientBuilder`], where its settings are checked.
//!
//! The client is a translation onto the shared path of every integration (`guard.rs`): the
//! request becomes a call with a timeout, the call's result an [`Attempt`] for the classifier
//! and for the `Retry-After` hold. Settings that can be wrong (a zero timeout, a zero cap) are
//! refused once, by [`BreakerClientBuilder::build`], so that no chain of setters fails halfway.

use std::fmt;
use std::time::Duration;

use super::hold::{check_retry_after_cap, honour};
use super::{Attempt, Classifier, HttpClient, default_classifier};
use crate::breaker::{CircuitBreaker, Permit};
use crate::error::{ConfigError, Error};
use crate::guard;
use crate::state::Outcome;

/// The request timeout of a [`BreakerClient`] not told otherwise.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

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

/// What one request through a [`BreakerClient`] over `C` gives before the breaker sees it.
type Sent<C> = Result<<C as HttpClient>::Response, RequestError<<C as HttpClient>::Error>>;

/// The [`Attempt`] a request's result is to a classifier and to the `Retry-After` hold.
#[inline]
fn attempt<C>(sent: &Sent<C>) -> Attempt<'_>
where
    C: HttpClient,
    C::Error: std::error::Error + 'static,
{
    match sent {
        Ok(response) => Attempt::Response {
            status: C::status(response),
            headers: C::headers(response),
        },
        Err(RequestError::Timeout(_)) => Attempt::Timeout,
        Err(RequestError::Client(e)) => Attempt::Transport(e),
    }
}

/// An [`HttpClient`] behind a [`CircuitBreaker`], with a request timeout.
///
/// Each request is admitted by the breaker (or rejected with [`Error::Open`] without touching
/// the client), sent with a timeout (default 10 s; it needs a Tokio runtime with time enabled),
/// classified, and recorded. Responses come back whatever their status: a 500 is recorded as a
/// failure *and* returned, so that the caller can read it.
///
/// [`BreakerClient::new`] takes the defaults; [`BreakerClient::builder`] sets the timeout, the
/// classifier and the `Retry-After` hold, and checks them all at once in
/// [`build`](BreakerClientBuilder::build).
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
/// let client = BreakerClient::builder(Unavailable, CircuitBreaker::new(Duration::from_secs(5), 0))
///     .timeout(Duration::from_secs(2))
///     .build()?;
/// // The 503 comes back to the caller, and counts as a failure: with T = 0 the circuit opens.
/// assert_eq!(client.send(()).await.unwrap(), StatusCode::SERVICE_UNAVAILABLE);
/// match client.send(()).await {
///     Err(Error::Open(open)) => assert!(open.retry_after() <= Duration::from_secs(5)),
///     other => panic!("expected a rejection, got {other:?}"),
/// }
/// # Ok::<(), breaker::ConfigError>(())
/// # }).unwrap();
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
    /// Wraps `client` in `breaker`, with the default classifier ([`default_classifier`]), a
    /// 10 s timeout and `Retry-After` not honoured.
    ///
    /// ```
    /// # struct Mock;
    /// # impl breaker::http::HttpClient for Mock {
    /// #     type Request = ();
    /// #     type Response = ();
    /// #     type Error = std::io::Error;
    /// #     fn send(&self, _: ()) -> impl std::future::Future<Output = std::io::Result<()>> + Send {
    /// #         std::future::ready(Ok(()))
    /// #     }
    /// #     fn status(_: &()) -> breaker::http::StatusCode { breaker::http::StatusCode::OK }
    /// # }
    /// use std::time::Duration;
    /// use breaker::CircuitBreaker;
    /// use breaker::http::BreakerClient;
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    /// let client = BreakerClient::new(Mock, cb);
    /// assert_eq!(client.breaker().error_threshold(), Some(3));
    /// ```
    pub fn new(client: C, breaker: CircuitBreaker) -> Self {
        Self {
            client,
            breaker,
            timeout: DEFAULT_TIMEOUT,
            classifier: default_classifier,
            retry_after_cap: None,
        }
    }

    /// A builder of a client over `client` and `breaker`, starting from the defaults of
    /// [`new`](Self::new).
    ///
    /// ```
    /// # struct Mock;
    /// # impl breaker::http::HttpClient for Mock {
    /// #     type Request = ();
    /// #     type Response = ();
    /// #     type Error = std::io::Error;
    /// #     fn send(&self, _: ()) -> impl std::future::Future<Output = std::io::Result<()>> + Send {
    /// #         std::future::ready(Ok(()))
    /// #     }
    /// #     fn status(_: &()) -> breaker::http::StatusCode { breaker::http::StatusCode::OK }
    /// # }
    /// use std::time::Duration;
    /// use breaker::CircuitBreaker;
    /// use breaker::http::BreakerClient;
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    /// let client = BreakerClient::builder(Mock, cb)
    ///     .timeout(Duration::from_secs(2))
    ///     .honour_retry_after(Duration::from_secs(60))
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    pub fn builder(client: C, breaker: CircuitBreaker) -> BreakerClientBuilder<C> {
        BreakerClientBuilder {
            client: Self::new(client, breaker),
        }
    }
}

impl<C: HttpClient, K: Classifier> BreakerClient<C, K> {
    /// The same client with another classifier: any `Fn(&Attempt<'_>) -> Outcome` (a closure
    /// whose parameter is written out as `&Attempt<'_>`, or a fn item), or a type that
    /// implements [`Classify`](crate::Classify)`<Attempt<'a>>` for every `'a`.
    ///
    /// ```
    /// # struct Mock;
    /// # impl breaker::http::HttpClient for Mock {
    /// #     type Request = ();
    /// #     type Response = ();
    /// #     type Error = std::io::Error;
    /// #     fn send(&self, _: ()) -> impl std::future::Future<Output = std::io::Result<()>> + Send {
    /// #         std::future::ready(Ok(()))
    /// #     }
    /// #     fn status(_: &()) -> breaker::http::StatusCode { breaker::http::StatusCode::OK }
    /// # }
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Outcome};
    /// use breaker::http::{Attempt, BreakerClient, StatusCode, default_classifier};
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    /// let client = BreakerClient::new(Mock, cb).with_classifier(
    ///     |a: &Attempt<'_>| match a {
    ///         Attempt::Response { status: StatusCode::TOO_MANY_REQUESTS, .. } => Outcome::Failure,
    ///         other => default_classifier(other),
    ///     },
    /// );
    /// # let _ = client;
    /// ```
    pub fn with_classifier<K2: Classifier>(self, classifier: K2) -> BreakerClient<C, K2> {
        BreakerClient {
            client: self.client,
            breaker: self.breaker,
            timeout: self.timeout,
            classifier,
            retry_after_cap: self.retry_after_cap,
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
    /// classified and recorded (and, [if told to](BreakerClientBuilder::honour_retry_after),
    /// `Retry-After` heeded). Reading the body afterwards is the caller's business: to bound it
    /// too, give the client its own timeout (`reqwest::ClientBuilder::timeout`).
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
        let timeout = self.timeout;
        let permit: Permit<'_> = guard::admit(&self.breaker).map_err(Error::Open)?;
        let sent: Sent<C> = match tokio::time::timeout(timeout, self.client.send(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(e)) => Err(RequestError::Client(e)),
            Err(_) => Err(RequestError::Timeout(timeout)),
        };
        let classify = |sent: &Sent<C>| self.classifier.classify(&attempt::<C>(sent));
        let hold = |sent: &Sent<C>| {
            honour(self.retry_after_cap, &attempt::<C>(sent), |wait| {
                self.breaker.open_for(wait);
            });
        };
        guard::settle(permit, &sent, &classify, &hold);
        sent.map_err(Error::Inner)
    }
}

/// Sets up a [`BreakerClient`]: made by [`BreakerClient::builder`], checked by
/// [`build`](Self::build).
///
/// Every setter takes any value and cannot fail; [`build`](Self::build) refuses the values that
/// make no sense, all in one place, so that a chain of setters never stops halfway.
pub struct BreakerClientBuilder<C, K = fn(&Attempt<'_>) -> Outcome> {
    /// The client as it is to be built, its settings not yet checked.
    client: BreakerClient<C, K>,
}

impl<C, K> fmt::Debug for BreakerClientBuilder<C, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerClientBuilder")
            .field("breaker", &self.client.breaker)
            .field("timeout", &self.client.timeout)
            .field("retry_after_cap", &self.client.retry_after_cap)
            .finish_non_exhaustive()
    }
}

impl<C: HttpClient, K: Classifier> BreakerClientBuilder<C, K> {
    /// Sets the request timeout (default 10 s): from sending the request until the response's
    /// head arrives. A zero timeout is refused by [`build`](Self::build).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.client.timeout = timeout;
        self
    }

    /// Sets the classifier (default [`default_classifier`]), as
    /// [`BreakerClient::with_classifier`] does.
    ///
    /// ```
    /// # struct Mock;
    /// # impl breaker::http::HttpClient for Mock {
    /// #     type Request = ();
    /// #     type Response = ();
    /// #     type Error = std::io::Error;
    /// #     fn send(&self, _: ()) -> impl std::future::Future<Output = std::io::Result<()>> + Send {
    /// #         std::future::ready(Ok(()))
    /// #     }
    /// #     fn status(_: &()) -> breaker::http::StatusCode { breaker::http::StatusCode::OK }
    /// # }
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Outcome};
    /// use breaker::http::{Attempt, BreakerClient, default_classifier};
    ///
    /// // A 200 that says the service is overloaded counts as a failure.
    /// let overloaded = |a: &Attempt<'_>| match a {
    ///     Attempt::Response { headers, .. }
    ///         if headers.get("x-overloaded").is_some_and(|v| v == "1") => Outcome::Failure,
    ///     other => default_classifier(other),
    /// };
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    /// let client = BreakerClient::builder(Mock, cb)
    ///     .classifier(overloaded)
    ///     .build()?;
    /// # let _ = client;
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    pub fn classifier<K2: Classifier>(self, classifier: K2) -> BreakerClientBuilder<C, K2> {
        BreakerClientBuilder {
            client: self.client.with_classifier(classifier),
        }
    }

    /// Honours `Retry-After` on a 429 or a 503: once the response's outcome is recorded, the
    /// circuit is held open for as long as the header asks ([`retry_after`](super::retry_after)),
    /// at most `cap` ([`CircuitBreaker::open_for`]), so the next call is rejected with that
    /// [`retry_after`](crate::CircuitOpenError::retry_after). The response itself is returned
    /// as usual, and classified as usual. See the [module docs](super#retry-after).
    ///
    /// A zero `cap` is refused by [`build`](Self::build): the cap is the longest time the
    /// circuit is held open. A cap beyond the clock's range (584 years) works as no cap at all.
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
    /// let client = BreakerClient::builder(Busy, cb)
    ///     .honour_retry_after(Duration::from_secs(60))
    ///     .build()?;
    /// client.send(()).await.unwrap(); // one 503: not enough to trip T = 3, but it asks for 30 s
    /// match client.send(()).await {
    ///     Err(Error::Open(open)) => assert_eq!(open.retry_after(), Duration::from_secs(30)),
    ///     other => panic!("expected a rejection, got {other:?}"),
    /// }
    /// # Ok::<(), breaker::ConfigError>(())
    /// # }).unwrap();
    /// ```
    pub fn honour_retry_after(mut self, cap: Duration) -> Self {
        self.client.retry_after_cap = Some(cap);
        self
    }

    /// The client, once its settings are checked.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroRequestTimeout`] for a zero timeout, then
    /// [`ConfigError::ZeroRetryAfterCap`] for a zero `Retry-After` cap.
    ///
    /// ```
    /// # struct Mock;
    /// # impl breaker::http::HttpClient for Mock {
    /// #     type Request = ();
    /// #     type Response = ();
    /// #     type Error = std::io::Error;
    /// #     fn send(&self, _: ()) -> impl std::future::Future<Output = std::io::Result<()>> + Send {
    /// #         std::future::ready(Ok(()))
    /// #     }
    /// #     fn status(_: &()) -> breaker::http::StatusCode { breaker::http::StatusCode::OK }
    /// # }
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, ConfigError};
    /// use breaker::http::BreakerClient;
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    /// let built = BreakerClient::builder(Mock, cb)
    ///     .timeout(Duration::ZERO)
    ///     .build();
    /// assert_eq!(built.unwrap_err(), ConfigError::ZeroRequestTimeout);
    /// ```
    pub fn build(self) -> Result<BreakerClient<C, K>, ConfigError> {
        if self.client.timeout.is_zero() {
            return Err(ConfigError::ZeroRequestTimeout);
        }
        if let Some(cap) = self.client.retry_after_cap {
            check_retry_after_cap(cap)?;
        }
        Ok(self.client)
    }
}
