//! A [`reqwest_middleware::Middleware`] that puts a circuit breaker in front of a
//! `ClientWithMiddleware` (feature `reqwest-middleware`).
//!
//! Each request is admitted by the breaker or rejected without going further down the chain;
//! a rejection is `reqwest_middleware::Error::Middleware(e)`, where
//! `e.downcast_ref::<CircuitOpenError>()` gives the
//! [`CircuitOpenError`](crate::CircuitOpenError) and its `retry_after`.
//! An admitted request's result is classified as [`BreakerClient`](crate::http::BreakerClient)
//! does it, by the same kind of [`Classifier`] ([`default_classifier`] unless
//! [`with_classifier`](CircuitBreakerMiddleware::with_classifier) says otherwise): 5xx,
//! timeouts and transport errors are failures, 4xx ignored, the rest successes. The response
//! is returned whatever its class. A request whose future is dropped records nothing.
//! A classifier sees the response's status and headers ([`Attempt::Response`]).
//!
//! Told to with [`honour_retry_after(cap)`](MiddlewareBuilder::honour_retry_after), the
//! middleware heeds a 429 or 503 that carries `Retry-After` as
//! [`BreakerClient`](crate::http::BreakerClient) does (see [its rules](crate::http#retry-after)):
//! the request's own breaker, the host's with [`per_host`](CircuitBreakerMiddleware::per_host),
//! is held open for that long, at most `cap`. That setting can be wrong (a zero cap), so it
//! goes through a [`MiddlewareBuilder`] ([`CircuitBreakerMiddleware::builder`],
//! [`CircuitBreakerMiddleware::per_host_builder`]), whose [`build`](MiddlewareBuilder::build)
//! refuses it: a chain of setters never fails halfway. [`new`](CircuitBreakerMiddleware::new),
//! [`per_host`](CircuitBreakerMiddleware::per_host) and
//! [`with_classifier`](CircuitBreakerMiddleware::with_classifier) cannot fail.
//!
//! The middleware takes the same path through the breaker as every integration: it only
//! translates the request's result into an [`Attempt`] and a rejection into
//! `reqwest_middleware::Error::Middleware`.
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

use crate::breaker::{CircuitBreaker, Permit};
use crate::error::ConfigError;
use crate::guard;
use crate::http::hold::{check_retry_after_cap, honour};
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

    /// A builder of a middleware with one breaker for every request, starting from the
    /// defaults of [`new`](Self::new).
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::CircuitBreaker;
    /// use breaker::middleware::CircuitBreakerMiddleware;
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    /// let middleware = CircuitBreakerMiddleware::builder(cb)
    ///     .honour_retry_after(Duration::from_secs(60))
    ///     .build()?;
    /// let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
    ///     .with(middleware)
    ///     .build();
    /// # let _ = client;
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    pub fn builder(breaker: CircuitBreaker) -> MiddlewareBuilder {
        MiddlewareBuilder {
            middleware: Self::new(breaker),
        }
    }

    /// A builder of a middleware with one breaker per origin, starting from the defaults of
    /// [`per_host`](Self::per_host).
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Registry};
    /// use breaker::middleware::CircuitBreakerMiddleware;
    ///
    /// let hosts = Registry::new(|_: &String| CircuitBreaker::new(Duration::from_secs(5), 3));
    /// let middleware = CircuitBreakerMiddleware::per_host_builder(hosts)
    ///     .honour_retry_after(Duration::from_secs(60))
    ///     .build()?;
    /// # let _ = middleware;
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    pub fn per_host_builder(registry: Registry<String>) -> MiddlewareBuilder {
        MiddlewareBuilder {
            middleware: Self::per_host(registry),
        }
    }
}

impl<K> CircuitBreakerMiddleware<K> {
    /// The same middleware with another classifier: any `Fn(&Attempt<'_>) -> Outcome` (a
    /// closure whose parameter is written out as `&Attempt<'_>`, or a fn item) that can leave
    /// every case it does not change to [`default_classifier`], or a type that implements
    /// [`Classify`](crate::Classify)`<Attempt<'a>>` for every `'a`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Outcome};
    /// use breaker::http::{Attempt, StatusCode, default_classifier};
    /// use breaker::middleware::CircuitBreakerMiddleware;
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    /// let middleware = CircuitBreakerMiddleware::new(cb).with_classifier(|a: &Attempt<'_>| {
    ///     match a {
    ///         Attempt::Response { status: StatusCode::TOO_MANY_REQUESTS, .. } => Outcome::Failure,
    ///         other => default_classifier(other),
    ///     }
    /// });
    /// # let _ = middleware;
    /// ```
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

/// What one request gives before the breaker sees it.
type Sent = reqwest_middleware::Result<Response>;

/// The [`Attempt`] a request's result is to a classifier and to the `Retry-After` hold.
#[inline]
fn attempt(sent: &Sent) -> Attempt<'_> {
    match sent {
        Ok(response) => Attempt::Response {
            status: response.status(),
            headers: response.headers(),
        },
        Err(reqwest_middleware::Error::Reqwest(e)) if e.is_timeout() => Attempt::Timeout,
        Err(e) => Attempt::Transport(e),
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
        let breaker = self.breaker(&key);
        let permit: Permit<'_> =
            guard::admit(&breaker).map_err(reqwest_middleware::Error::middleware)?;
        let sent = next.run(request, extensions).await;
        let classify = |sent: &Sent| self.classifier.classify(&attempt(sent));
        let hold = |sent: &Sent| {
            honour(self.retry_after_cap, &attempt(sent), |wait| {
                // Looked up again, by the request's own key (not the response's URL, which may
                // be a redirect's): the host's breaker as the registry holds it now.
                self.breaker(&key).open_for(wait);
            });
        };
        guard::settle(permit, &sent, &classify, &hold);
        sent
    }
}

/// Sets up a [`CircuitBreakerMiddleware`]: made by [`CircuitBreakerMiddleware::builder`] or
/// [`CircuitBreakerMiddleware::per_host_builder`], checked by [`build`](Self::build).
///
/// Every setter takes any value and cannot fail; [`build`](Self::build) refuses the values that
/// make no sense, so that a chain of setters never stops halfway.
pub struct MiddlewareBuilder<K = fn(&Attempt<'_>) -> Outcome> {
    /// The middleware as it is to be built, its settings not yet checked.
    middleware: CircuitBreakerMiddleware<K>,
}

impl<K> fmt::Debug for MiddlewareBuilder<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MiddlewareBuilder")
            .field("middleware", &self.middleware)
            .finish()
    }
}

impl<K> MiddlewareBuilder<K> {
    /// Sets the classifier (default [`default_classifier`]), as
    /// [`CircuitBreakerMiddleware::with_classifier`] does.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::CircuitBreaker;
    /// use breaker::http::{Attempt, StatusCode, classify_status};
    /// use breaker::middleware::CircuitBreakerMiddleware;
    /// use breaker::Outcome;
    ///
    /// // Timeouts are the caller's own deadline here, not the service's fault: ignored.
    /// fn timeouts_ignored(a: &Attempt<'_>) -> Outcome {
    ///     match a {
    ///         Attempt::Response { status, .. } => classify_status(*status),
    ///         Attempt::Timeout => Outcome::Ignored,
    ///         _ => Outcome::Failure,
    ///     }
    /// }
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    /// let middleware = CircuitBreakerMiddleware::builder(cb)
    ///     .classifier(timeouts_ignored)
    ///     .honour_retry_after(Duration::from_secs(60))
    ///     .build()?;
    /// # let _ = middleware;
    /// # Ok::<(), breaker::ConfigError>(())
    /// ```
    pub fn classifier<K2>(self, classifier: K2) -> MiddlewareBuilder<K2>
    where
        K2: Classifier + Send + Sync + 'static,
    {
        MiddlewareBuilder {
            middleware: self.middleware.with_classifier(classifier),
        }
    }

    /// Honours `Retry-After` on a 429 or a 503: once the response's outcome is recorded, the
    /// request's breaker is held open for as long as the header asks
    /// ([`retry_after`](crate::http::retry_after)), at most `cap`
    /// ([`CircuitBreaker::open_for`]). The response is returned, and classified, as usual.
    /// A zero `cap` is refused by [`build`](Self::build): the cap is the longest time the
    /// circuit is held open. See [`CircuitBreakerMiddleware::builder`] for an example.
    pub fn honour_retry_after(mut self, cap: Duration) -> Self {
        self.middleware.retry_after_cap = Some(cap);
        self
    }

    /// The middleware, once its settings are checked.
    ///
    /// # Errors
    ///
    /// [`ConfigError::ZeroRetryAfterCap`] for a zero `Retry-After` cap.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, ConfigError};
    /// use breaker::middleware::CircuitBreakerMiddleware;
    ///
    /// let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    /// let built = CircuitBreakerMiddleware::builder(cb)
    ///     .honour_retry_after(Duration::ZERO)
    ///     .build();
    /// assert_eq!(built.unwrap_err(), ConfigError::ZeroRetryAfterCap);
    /// ```
    pub fn build(self) -> Result<CircuitBreakerMiddleware<K>, ConfigError> {
        if let Some(cap) = self.middleware.retry_after_cap {
            check_retry_after_cap(cap)?;
        }
        Ok(self.middleware)
    }
}
