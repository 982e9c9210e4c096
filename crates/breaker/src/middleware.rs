//! A [`reqwest_middleware::Middleware`] that puts a circuit breaker in front of a
//! `ClientWithMiddleware` (feature `reqwest-middleware`).
//!
//! Each request is admitted by the breaker or rejected without going further down the chain;
//! a rejection is `reqwest_middleware::Error::Middleware(e)`, where
//! `e.downcast_ref::<CircuitOpenError>()` gives the [`CircuitOpenError`] and its `retry_after`.
//! An admitted request's result is classified as [`BreakerClient`](crate::http::BreakerClient)
//! does it, by the same [`Classifier`] ([`default_classifier`] unless
//! [`with_classifier`](CircuitBreakerMiddleware::with_classifier) says otherwise): 5xx,
//! timeouts and transport errors are failures, 4xx ignored, the rest successes. The response
//! is returned whatever its class. A request whose future is dropped records nothing.
//! A classifier sees the response's status and headers ([`Attempt::Response`]).
//!
//! Told to with [`honour_retry_after(cap)`](CircuitBreakerMiddleware::honour_retry_after), the
//! middleware heeds a 429 or 503 that carries `Retry-After` as
//! [`BreakerClient`](crate::http::BreakerClient) does (see [its rules](crate::http#retry-after)):
//! the request's own breaker, the host's with [`per_host`](CircuitBreakerMiddleware::per_host),
//! is held open for that long, at most `cap`.
//!
//! One breaker for every request ([`CircuitBreakerMiddleware::new`]), or one per origin (scheme,
//! host and port) from a [`Registry`] ([`CircuitBreakerMiddleware::per_host`]), so that one
//! failing downstream does not cut off the others.
//!
//! The middleware puts no timeout of its own on a request: give the client one
//! (`reqwest::ClientBuilder::timeout`), so that a hung service is a timeout, and a failure.
//!
//! ```
//! use std::time::Duration;
//! use breaker::CircuitBreaker;
//! use breaker::middleware::CircuitBreakerMiddleware;
//!
//! let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(CircuitBreakerMiddleware::new(cb))
//!     .build();
//! # let _ = client;
//! ```

use std::fmt;
use std::time::Duration;

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::breaker::CircuitBreaker;
use crate::error::{CircuitOpenError, ConfigError};
use crate::http::{Attempt, Classifier, check_retry_after_cap, default_classifier, hold_for};
use crate::registry::Registry;
use crate::state::Outcome;

/// Where the middleware finds the breaker for a request.
#[derive(Clone)]
enum Breakers {
    One(CircuitBreaker),
    PerHost(Registry<String>),
}

/// A circuit breaker as reqwest middleware: see the [module docs](self).
#[derive(Clone)]
pub struct CircuitBreakerMiddleware<K = fn(&Attempt<'_>) -> Outcome> {
    breakers: Breakers,
    classifier: K,
    /// The cap on a `Retry-After` hold, when it is honoured.
    retry_after_cap: Option<Duration>,
}

impl CircuitBreakerMiddleware {
    /// One breaker for every request, with the default classification.
    pub fn new(breaker: CircuitBreaker) -> Self {
        Self {
            breakers: Breakers::One(breaker),
            classifier: default_classifier,
            retry_after_cap: None,
        }
    }

    /// One breaker per origin (`scheme://host:port`, the port left out when it is the scheme's
    /// default), taken from `registry`, whose keys are those origins.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Registry};
    /// use breaker::middleware::CircuitBreakerMiddleware;
    ///
    /// let hosts = Registry::new(|origin: &String| {
    ///     CircuitBreaker::builder()
    ///         .name(origin.clone())
    ///         .window(Duration::from_secs(10))
    ///         .error_threshold(5)
    ///         .build()
    ///         .expect("a valid configuration")
    /// })
    /// .max_keys(1_000);
    /// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(CircuitBreakerMiddleware::per_host(hosts.clone()))
    ///     .build();
    /// # let _ = client;
    /// ```
    pub fn per_host(registry: Registry<String>) -> Self {
        Self {
            breakers: Breakers::PerHost(registry),
            classifier: default_classifier,
            retry_after_cap: None,
        }
    }
}

impl<K> CircuitBreakerMiddleware<K> {
    /// The same middleware with another classifier: a closure over [`Attempt`] that can leave
    /// every case it does not change to [`default_classifier`].
    pub fn with_classifier<K2>(self, classifier: K2) -> CircuitBreakerMiddleware<K2>
    where
        K2: Classifier + Send + Sync + 'static,
    {
        CircuitBreakerMiddleware {
            breakers: self.breakers,
            classifier,
            retry_after_cap: self.retry_after_cap,
        }
    }

    /// Honours `Retry-After` on a 429 or a 503: once the response's outcome is recorded, the
    /// request's breaker is held open for as long as the header asks
    /// ([`retry_after`](crate::http::retry_after)), at most `cap`
    /// ([`CircuitBreaker::open_for`]). The response is returned, and classified, as usual.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::CircuitBreaker;
    /// use breaker::middleware::CircuitBreakerMiddleware;
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    /// let middleware = CircuitBreakerMiddleware::new(cb)
    ///     .honour_retry_after(Duration::from_secs(60))?;
    /// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(middleware)
    ///     .build();
    /// # let _ = client;
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A zero `cap` is refused with [`ConfigError::ZeroRetryAfterCap`]: the cap is the longest
    /// time the circuit is held open.
    pub fn honour_retry_after(mut self, cap: Duration) -> Result<Self, ConfigError> {
        self.retry_after_cap = Some(check_retry_after_cap(cap)?);
        Ok(self)
    }

    /// The breaker that a request to `url` goes through.
    pub fn breaker_for(&self, url: &reqwest::Url) -> CircuitBreaker {
        self.breaker(&self.key(url))
    }

    /// The registry's key for `url` with one breaker per host; with one breaker, an empty
    /// string (which does not allocate) that nothing reads.
    fn key(&self, url: &reqwest::Url) -> String {
        match &self.breakers {
            Breakers::One(_) => String::new(),
            Breakers::PerHost(_) => url.origin().ascii_serialization(),
        }
    }

    /// The breaker for `key`, from [`key`](Self::key).
    fn breaker(&self, key: &String) -> CircuitBreaker {
        match &self.breakers {
            Breakers::One(cb) => cb.clone(),
            Breakers::PerHost(registry) => registry.get(key),
        }
    }
}

impl<K> fmt::Debug for CircuitBreakerMiddleware<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("CircuitBreakerMiddleware");
        match &self.breakers {
            Breakers::One(cb) => d.field("breaker", cb),
            Breakers::PerHost(registry) => d.field("per_host", registry),
        };
        d.field("retry_after_cap", &self.retry_after_cap)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl<K> Middleware for CircuitBreakerMiddleware<K>
where
    K: Classifier + Send + Sync + 'static,
{
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        let key = self.key(request.url());
        let permit = self
            .breaker(&key)
            .try_acquire_owned()
            .map_err(reqwest_middleware::Error::middleware::<CircuitOpenError>)?;
        let result = next.run(request, extensions).await;
        let outcome = match &result {
            Ok(response) => self.classifier.classify(&Attempt::Response {
                status: response.status(),
                headers: response.headers(),
            }),
            Err(reqwest_middleware::Error::Reqwest(e)) if e.is_timeout() => {
                self.classifier.classify(&Attempt::Timeout)
            }
            Err(e) => self.classifier.classify(&Attempt::Transport(e)),
        };
        permit.record(outcome);
        if let (Some(cap), Ok(response)) = (self.retry_after_cap, &result)
            && let Some(hold) = hold_for(response.status(), response.headers(), cap)
        {
            // Looked up again, by the request's own key (not the response's URL, which may be
            // a redirect's): the host's breaker as the registry holds it now.
            self.breaker(&key).open_for(hold);
        }
        result
    }
}
