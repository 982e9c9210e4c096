//! A tower [`Layer`] and [`Service`] that put a [`CircuitBreaker`] in front of any service
//! (feature `tower`).
//!
//! The circuit is consulted in [`Service::call`]: a rejected request never reaches the inner
//! service, and its future is ready at once with [`Error::Open`]. An admitted request carries an
//! [`OwnedPermit`](crate::OwnedPermit) in its future, so the future is `Send + 'static` whenever the inner one is,
//! and a future dropped before it ends records nothing (a cancelled call). `poll_ready` is the
//! inner service's own: the breaker does not make a service unready, since being rejected at
//! once is the point of an open circuit.
//!
//! The result is classified by a [`Classify`]`<Result<Response, Error>>`, the crate's one
//! classification trait (the HTTP adapters take the same trait over their `Attempt`): by
//! default [`OkIsSuccess`], `Ok` a success and `Err` a failure;
//! [`CircuitBreakerLayer::with_classifier`] takes any `Fn(&Result<Response, Error>) -> Outcome`
//! (a 5xx response from an HTTP client service is an `Ok`, say, that should be a failure), or a
//! type of one's own that implements `Classify`. The response is returned to the caller
//! whatever the classifier says.
//!
//! The layer takes the same path through the breaker as every integration, with no
//! `Retry-After` hold (a tower service's response is not known to be HTTP); it keeps only the
//! tower plumbing: `poll_ready`, taking the permit in `call`, a nameable future.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! use std::time::Duration;
//! use breaker::tower::CircuitBreakerLayer;
//! use breaker::{CircuitBreaker, Error};
//! use tower::{Service, ServiceBuilder, ServiceExt, service_fn};
//!
//! let cb = CircuitBreaker::new(Duration::from_secs(5), 0);
//! let mut svc = ServiceBuilder::new()
//!     .layer(CircuitBreakerLayer::new(cb.clone()))
//!     .service(service_fn(|n: u32| async move {
//!         if n == 0 { Err("zero") } else { Ok(n * 2) }
//!     }));
//!
//! assert_eq!(svc.ready().await.unwrap().call(21).await.unwrap(), 42);
//! assert!(matches!(svc.ready().await.unwrap().call(0).await, Err(Error::Inner("zero"))));
//! // One failure exceeds T = 0: the next request is rejected without reaching the service.
//! assert!(matches!(svc.ready().await.unwrap().call(21).await, Err(Error::Open(_))));
//! # });
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use ::tower::{Layer, Service};

use crate::breaker::CircuitBreaker;
use crate::classify::Classify;
use crate::error::{CircuitOpenError, Error};
use crate::guard::{self, Guarded};
use crate::state::Outcome;

/// The default classification: `Ok` is a success, `Err` a failure.
///
/// ```
/// use breaker::{Classify, Outcome};
/// use breaker::tower::OkIsSuccess;
///
/// assert_eq!(OkIsSuccess.classify(&Ok::<u16, ()>(503)), Outcome::Success);
/// assert_eq!(OkIsSuccess.classify(&Err::<u16, ()>(())), Outcome::Failure);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct OkIsSuccess;

impl<R, E> Classify<Result<R, E>> for OkIsSuccess {
    #[inline]
    fn classify(&self, result: &Result<R, E>) -> Outcome {
        if result.is_ok() {
            Outcome::Success
        } else {
            Outcome::Failure
        }
    }
}

/// Wraps services in a [`CircuitBreakerService`] sharing one breaker.
///
/// ```
/// use std::time::Duration;
/// use breaker::tower::CircuitBreakerLayer;
/// use breaker::{CircuitBreaker, Outcome};
///
/// // Count an `Ok(status)` of 500 or more as a failure.
/// let layer = CircuitBreakerLayer::new(CircuitBreaker::new(Duration::from_secs(5), 3))
///     .with_classifier(|r: &Result<u16, std::io::Error>| match r {
///         Ok(status) if *status >= 500 => Outcome::Failure,
///         Ok(_) => Outcome::Success,
///         Err(_) => Outcome::Failure,
///     });
/// # let _ = layer;
/// ```
#[derive(Clone)]
pub struct CircuitBreakerLayer<C = OkIsSuccess> {
    breaker: CircuitBreaker,
    classifier: C,
}

impl CircuitBreakerLayer {
    /// A layer whose services consult `breaker`, with `Ok` a success and `Err` a failure.
    pub fn new(breaker: CircuitBreaker) -> Self {
        Self {
            breaker,
            classifier: OkIsSuccess,
        }
    }
}

impl<C> CircuitBreakerLayer<C> {
    /// The same layer, classifying results with `classifier`. The classifier must be
    /// `Clone + Send + Sync + 'static` for the services' futures to be `Send + 'static`.
    pub fn with_classifier<F>(self, classifier: F) -> CircuitBreakerLayer<F> {
        CircuitBreakerLayer {
            breaker: self.breaker,
            classifier,
        }
    }

    /// The breaker the layer's services consult.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }
}

impl<C> fmt::Debug for CircuitBreakerLayer<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerLayer")
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl<S, C: Clone> Layer<S> for CircuitBreakerLayer<C> {
    type Service = CircuitBreakerService<S, C>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreakerService {
            inner,
            breaker: self.breaker.clone(),
            classifier: self.classifier.clone(),
        }
    }
}

/// A service behind a circuit breaker; made by [`CircuitBreakerLayer`] or
/// [`CircuitBreakerService::new`]. Clones share the breaker.
#[derive(Clone)]
pub struct CircuitBreakerService<S, C = OkIsSuccess> {
    inner: S,
    breaker: CircuitBreaker,
    classifier: C,
}

impl<S> CircuitBreakerService<S> {
    /// `inner` behind `breaker`, with `Ok` a success and `Err` a failure.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::CircuitBreaker;
    /// use breaker::tower::CircuitBreakerService;
    ///
    /// let svc = tower::service_fn(|()| async { Ok::<_, std::io::Error>("pong") });
    /// let svc = CircuitBreakerService::new(svc, CircuitBreaker::new(Duration::from_secs(5), 3));
    /// assert_eq!(svc.breaker().error_threshold(), Some(3));
    /// ```
    pub fn new(inner: S, breaker: CircuitBreaker) -> Self {
        CircuitBreakerLayer::new(breaker).layer(inner)
    }
}

impl<S, C> CircuitBreakerService<S, C> {
    /// The same service, classifying results with `classifier`.
    pub fn with_classifier<F>(self, classifier: F) -> CircuitBreakerService<S, F> {
        CircuitBreakerService {
            inner: self.inner,
            breaker: self.breaker,
            classifier,
        }
    }

    /// The breaker consulted.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// The inner service, unwrapped.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: fmt::Debug, C> fmt::Debug for CircuitBreakerService<S, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerService")
            .field("inner", &self.inner)
            .field("breaker", &self.breaker)
            .finish_non_exhaustive()
    }
}

impl<S, C, Req> Service<Req> for CircuitBreakerService<S, C>
where
    S: Service<Req>,
    C: Classify<Result<S::Response, S::Error>> + Clone,
{
    type Response = S::Response;
    type Error = Error<S::Error>;
    type Future = ResponseFuture<S::Future, C>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Error::Inner)
    }

    #[inline]
    fn call(&mut self, request: Req) -> Self::Future {
        let kind = match guard::admit(&self.breaker) {
            Ok(permit) => Kind::Admitted {
                guarded: Guarded::new(
                    permit,
                    self.inner.call(request),
                    self.classifier.clone(),
                    (),
                ),
            },
            Err(open) => Kind::Rejected { open },
        };
        ResponseFuture { kind }
    }
}

pin_project_lite::pin_project! {
    /// The future of a [`CircuitBreakerService`]'s call: ready at once with [`Error::Open`] if
    /// the circuit rejected the request, else the inner future, whose result is recorded when
    /// it ends. Dropped before it ends, it records nothing.
    pub struct ResponseFuture<F, C> {
        #[pin]
        kind: Kind<F, C>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F, C> {
        // The permit is owned, so that the future is `'static` whenever `F` and `C` are.
        Admitted { #[pin] guarded: Guarded<'static, CircuitBreaker, F, C, ()> },
        Rejected { open: CircuitOpenError },
    }
}

impl<F, C> fmt::Debug for ResponseFuture<F, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFuture")
            .field("rejected", &matches!(self.kind, Kind::Rejected { .. }))
            .finish_non_exhaustive()
    }
}

impl<F, C, R, E> Future for ResponseFuture<F, C>
where
    F: Future<Output = Result<R, E>>,
    C: Classify<Result<R, E>>,
{
    type Output = Result<R, Error<E>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Admitted { guarded } => guarded.poll(cx).map_err(Error::Inner),
            KindProj::Rejected { open } => Poll::Ready(Err(Error::Open(*open))),
        }
    }
}
