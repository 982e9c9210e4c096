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

use http::Extensions;
use reqwest::{Request, Response};
use reqwest_middleware::{Middleware, Next};

use crate::breaker::CircuitBreaker;
use crate::error::CircuitOpenError;
use crate::http::{Attempt, Classifier, default_classifier};
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
}

impl CircuitBreakerMiddleware {
    /// One breaker for every request, with the default classification.
    pub fn new(breaker: CircuitBreaker) -> Self {
        Self {
            breakers: Breakers::One(breaker),
            classifier: default_classifier,
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
        }
    }

    /// The breaker that a request to `url` goes through.
    pub fn breaker_for(&self, url: &reqwest::Url) -> CircuitBreaker {
        match &self.breakers {
            Breakers::One(cb) => cb.clone(),
            Breakers::PerHost(registry) => registry.get(&url.origin().ascii_serialization()),
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
        d.finish_non_exhaustive()
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
        let permit = self
            .breaker_for(request.url())
            .try_acquire_owned()
            .map_err(reqwest_middleware::Error::middleware::<CircuitOpenError>)?;
        let result = next.run(request, extensions).await;
        let outcome = match &result {
            Ok(response) => self
                .classifier
                .classify(&Attempt::Response(response.status())),
            Err(reqwest_middleware::Error::Reqwest(e)) if e.is_timeout() => {
                self.classifier.classify(&Attempt::Timeout)
            }
            Err(e) => self.classifier.classify(&Attempt::Transport(e)),
        };
        permit.record(outcome);
        result
    }
}
