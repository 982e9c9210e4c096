//! `breaker`'s integrations, per call, in one run:
//!
//! - `vs_tower_closed`, `vs_tower_open`: `breaker::tower::CircuitBreakerLayer` against
//!   tower-resilience-circuitbreaker 0.14's layer, both around the same always-ready
//!   `tower::service_fn`, and that `service_fn` alone as the baseline. Each call is `poll_ready`
//!   then `call`, as `ServiceExt::oneshot` would, in one future polled once with a no-op waker
//!   ([`run_ready`]): the same for every service, so a difference is the layer's;
//! - `vs_registry_get`, `vs_registry_get_two_threads`: `Registry<String>::get` on a key already
//!   kept, the breaker returned and dropped, on one thread and on two sharing one registry (the
//!   same key on both, and a key of its own on each);
//! - `e2e_middleware`: one `GET /health` to sum-service in this process on 127.0.0.1, through a
//!   `reqwest_middleware::ClientWithMiddleware` with `CircuitBreakerMiddleware`, through one with
//!   no middleware, and through bare reqwest; the middleware's added time is the difference of
//!   the first two;
//! - `vs_middleware_no_network`: the same two middleware chains ended by a stub that answers at
//!   once without the network, so that the middleware's own time is not lost in the noise of a
//!   loopback request.
//!
//! `scripts/bench-tables.py` turns the results into the tables of `BENCHMARKS.md`.

mod common;
mod loopback;

use std::future::{Ready, poll_fn, ready};
use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use breaker::CircuitBreaker;
use breaker::Registry;
use breaker::middleware::CircuitBreakerMiddleware;
use breaker_bench::{on_two_threads, run_ready};
use criterion::Criterion;
use http::Extensions;
use reqwest::{Method, Request, Response, Url};
use reqwest_middleware::{ClientWithMiddleware, Middleware, Next};
use tokio::runtime::Runtime;
use tower::{Layer, Service, service_fn};
use tower_resilience_circuitbreaker::DefaultClassifier;

use common::{OPEN_FOR, Outcome, THRESHOLD, WINDOW};

/// A success, hidden from the optimiser at each call.
fn ok() -> Outcome {
    Ok(black_box(7))
}

// ---- tower -------------------------------------------------------------------------------------

/// The inner service of every tower row: always ready, it answers each request with itself.
fn inner()
-> impl Service<Outcome, Response = u64, Error = u64, Future = Ready<Outcome>> + Clone + Send + 'static
{
    service_fn(|request: Outcome| ready(request))
}

/// One call as a tower client makes it: `poll_ready`, then `call`, then the response future.
/// Returns whether the call reached the inner service and succeeded.
async fn oneshot<S: Service<Outcome>>(svc: &mut S, request: Outcome) -> bool {
    if poll_fn(|cx| svc.poll_ready(cx)).await.is_err() {
        return false;
    }
    svc.call(request).await.is_ok()
}

/// Ours around `inner`, on `breaker`.
fn ours_tower<S>(inner: S, breaker: CircuitBreaker) -> breaker::tower::CircuitBreakerService<S> {
    breaker::tower::CircuitBreakerLayer::new(breaker).layer(inner)
}

/// tower-resilience around `inner`: `failures` consecutive failures open it for `open_for`
/// (the configuration of the side-by-side comparison).
fn their_tower<S>(
    inner: S,
    failures: usize,
    open_for: Duration,
) -> tower_resilience_circuitbreaker::CircuitBreaker<S, DefaultClassifier> {
    tower_resilience_circuitbreaker::CircuitBreakerLayer::builder()
        .consecutive_failures(failures)
        .sliding_window_size(100)
        .wait_duration_in_open(open_for)
        .build()
        .expect("a valid tower-resilience configuration")
        .layer(inner)
}

fn tower_closed(c: &mut Criterion) {
    let mut ours = ours_tower(inner(), CircuitBreaker::new(WINDOW, THRESHOLD));
    let mut theirs = their_tower(inner(), THRESHOLD as usize + 1, WINDOW);
    let mut bare = inner();
    let mut g = c.benchmark_group("vs_tower_closed");
    g.bench_function("ours", |b| {
        b.iter(|| assert!(run_ready(oneshot(&mut ours, ok()))))
    });
    g.bench_function("tower_resilience", |b| {
        b.iter(|| assert!(run_ready(oneshot(&mut theirs, ok()))))
    });
    g.bench_function("service_fn", |b| {
        b.iter(|| assert!(run_ready(oneshot(&mut bare, ok()))))
    });
    g.finish();
}

fn tower_open(c: &mut Criterion) {
    // Ours: T = 0 and one failure, open for an hour.
    let breaker = CircuitBreaker::new(OPEN_FOR, 0);
    breaker.try_acquire().expect("closed at first").failure();
    let mut ours = ours_tower(inner(), breaker);
    // Theirs: one failure opens it for an hour.
    let mut theirs = their_tower(inner(), 1, OPEN_FOR);
    assert!(!run_ready(oneshot(&mut theirs, Err(0))));
    let mut bare = inner();
    assert!(!run_ready(oneshot(&mut ours, ok())), "ours is open");
    assert!(!run_ready(oneshot(&mut theirs, ok())), "theirs is open");

    let mut g = c.benchmark_group("vs_tower_open");
    g.bench_function("ours", |b| {
        b.iter(|| assert!(!run_ready(oneshot(&mut ours, ok()))))
    });
    g.bench_function("tower_resilience", |b| {
        b.iter(|| assert!(!run_ready(oneshot(&mut theirs, ok()))))
    });
    // The baseline: the inner service alone (nothing rejects it).
    g.bench_function("service_fn", |b| {
        b.iter(|| assert!(run_ready(oneshot(&mut bare, ok()))))
    });
    g.finish();
}

// ---- the registry ------------------------------------------------------------------------------

/// Keys as `CircuitBreakerMiddleware::per_host` makes them: origins.
fn origin(i: usize) -> String {
    format!("http://service-{i}.internal:8080")
}

/// How many keys the registry holds while one is looked up.
const KEYS: usize = 64;

/// An unbounded registry holding [`KEYS`] keys.
fn registry() -> Registry<String> {
    let registry = Registry::new(|_: &String| CircuitBreaker::new(WINDOW, THRESHOLD));
    for i in 0..KEYS {
        drop(registry.get(&origin(i)));
    }
    assert_eq!(registry.len(), KEYS);
    registry
}

fn registry_get(c: &mut Criterion) {
    let registry = registry();
    let key = origin(7);
    let mut g = c.benchmark_group("vs_registry_get");
    g.bench_function("ours", |b| {
        b.iter(|| drop(black_box(registry.get(black_box(&key)))))
    });
    g.finish();

    let mut g = c.benchmark_group("vs_registry_get_two_threads");
    // Both threads ask for the same key: one breaker, its handle cloned and dropped on both.
    g.bench_function("same_key", |b| {
        b.iter_custom(|n| on_two_threads(n, || || drop(black_box(registry.get(black_box(&key))))))
    });
    // Each thread asks for a key of its own.
    let which = AtomicUsize::new(0);
    g.bench_function("own_key", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, || {
                let key = origin(which.fetch_add(1, Ordering::Relaxed) % 2);
                let registry = &registry;
                move || drop(black_box(registry.get(black_box(&key))))
            })
        })
    });
    g.finish();
}

// ---- reqwest-middleware ------------------------------------------------------------------------

/// Ends a middleware chain with a `200 OK` at once, without the network.
struct Answer;

#[async_trait::async_trait]
impl Middleware for Answer {
    async fn handle(
        &self,
        _: Request,
        _: &mut Extensions,
        _: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        Ok(Response::from(http::Response::new("ok")))
    }
}

/// A client whose chain is `middleware`, in order.
fn chain(middleware: Vec<Arc<dyn Middleware>>) -> ClientWithMiddleware {
    ClientWithMiddleware::new(reqwest::Client::new(), middleware)
}

fn the_middleware() -> Arc<dyn Middleware> {
    Arc::new(CircuitBreakerMiddleware::new(CircuitBreaker::new(
        WINDOW, THRESHOLD,
    )))
}

fn health(url: &Url) -> Request {
    Request::new(Method::GET, url.clone())
}

/// A request through `client`: sent, and its body read.
async fn through(client: &ClientWithMiddleware, url: &Url) {
    let response = client.execute(health(url)).await.expect("a response");
    assert!(response.status().is_success());
    response.bytes().await.expect("the body");
}

/// The same through bare reqwest.
async fn bare(client: &reqwest::Client, url: &Url) {
    let response = client.execute(health(url)).await.expect("a response");
    assert!(response.status().is_success());
    response.bytes().await.expect("the body");
}

fn middleware_loopback(c: &mut Criterion, runtime: &Runtime, url: &Url) {
    let with = chain(vec![the_middleware()]);
    let without = chain(Vec::new());
    let bare_client = reqwest::Client::new();
    let mut g = c.benchmark_group("e2e_middleware");
    // The end-to-end settings of the `e2e` bench.
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    g.bench_function("breaker_middleware", |b| {
        b.iter(|| runtime.block_on(through(&with, url)))
    });
    g.bench_function("no_middleware", |b| {
        b.iter(|| runtime.block_on(through(&without, url)))
    });
    g.bench_function("bare_reqwest", |b| {
        b.iter(|| runtime.block_on(bare(&bare_client, url)))
    });
    g.finish();
}

fn middleware_no_network(c: &mut Criterion, url: &Url) {
    let with = chain(vec![the_middleware(), Arc::new(Answer)]);
    let without = chain(vec![Arc::new(Answer)]);
    let call = |client: &ClientWithMiddleware| {
        let response = run_ready(client.execute(health(url))).expect("a response");
        assert!(response.status().is_success());
    };
    let mut g = c.benchmark_group("vs_middleware_no_network");
    g.bench_function("breaker_middleware", |b| b.iter(|| call(&with)));
    g.bench_function("no_middleware", |b| b.iter(|| call(&without)));
    g.finish();
}

/// The settings of the `compare` bench.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(400))
        .measurement_time(Duration::from_millis(1_200))
        .sample_size(30)
}

fn main() {
    let mut c = config().configure_from_args();
    tower_closed(&mut c);
    tower_open(&mut c);
    registry_get(&mut c);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let service = loopback::Service::start();
    let url = service.url("/health");
    middleware_no_network(&mut c, &url);
    middleware_loopback(&mut c, &runtime, &url);
    c.final_summary();
    service.stop(&runtime);
}
