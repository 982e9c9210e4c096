//! `breaker`'s integrations, per call, in one run:
//!
//! - `vs_tower_closed`, `vs_tower_open`: `breaker::tower::CircuitBreakerLayer` against
//!   tower-resilience-circuitbreaker 0.14's layer, both around the same always-ready
//!   `tower::service_fn`, and that `service_fn` alone as the baseline. Each call is `poll_ready`
//!   then `call`, as `ServiceExt::oneshot` would, in one future polled once with a no-op waker
//!   ([`run_ready`]): the same for every service, so a difference is the layer's;
//! - `vs_registry_get`, `vs_registry_get_two_threads`: `Registry<String>::get` on a key already
//!   kept, the breaker returned and dropped, on one thread and on two sharing one registry (the
//!   same key on both, and a key of its own on each), and two of its parts for reference
//!   (hashing the key; cloning and dropping a breaker handle);
//! - `e2e_middleware`: one `GET /health` to sum-service in this process on 127.0.0.1, through a
//!   `reqwest_middleware::ClientWithMiddleware` with `CircuitBreakerMiddleware`, through one with
//!   no middleware, and through bare reqwest;
//! - `vs_middleware_no_network`: the same two middleware chains ended by a stub that answers at
//!   once without the network, so that the middleware's own time is not lost in the noise of a
//!   loopback request, and a chain with a middleware that only passes the request on: what
//!   reqwest-middleware charges any middleware;
//! - then both again, interleaved, one request by each client or chain per round, for the
//!   middleware's added time: the median of the differences within a round (`middleware.json`,
//!   beside `alloc.json`).
//!
//! `scripts/bench-tables.py` turns the results into the tables of `BENCHMARKS.md`.

mod common;
mod loopback;

use std::future::{Ready, poll_fn, ready};
use std::hash::BuildHasher;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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

/// `iters` lookups on each of two threads, each thread with a key of its own (origins 0 and
/// 1), the result dropped: the time of the slower thread.
fn with_a_key_each<T>(iters: u64, lookup: impl Fn(&String) -> T + Sync) -> Duration {
    let which = AtomicUsize::new(0);
    on_two_threads(iters, || {
        let key = origin(which.fetch_add(1, Ordering::Relaxed) % 2);
        let lookup = &lookup;
        move || drop(black_box(lookup(black_box(&key))))
    })
}

fn registry_get(c: &mut Criterion) {
    let registry = registry();
    let key = origin(7);
    let mut g = c.benchmark_group("vs_registry_get");
    g.bench_function("ours", |b| {
        b.iter(|| drop(black_box(registry.get(black_box(&key)))))
    });
    // The parts of a lookup, for reference: hashing the key (the registry's hasher, foldhash),
    // the map's read guard alone (papaya's epoch guard: what lets a reader skip every lock),
    // cloning and dropping the breaker handle it returns (a reference count up and down), and
    // the same map, hasher and keys without the registry: guard, hash, probe, key comparison and
    // the handle's clone, the floor of any lookup through this map.
    let hasher = foldhash::fast::RandomState::default();
    g.bench_function("hash_key", |b| b.iter(|| hasher.hash_one(black_box(&key))));
    let map = papaya::HashMap::with_hasher(foldhash::fast::RandomState::default());
    for i in 0..KEYS {
        map.pin()
            .insert(origin(i), CircuitBreaker::new(WINDOW, THRESHOLD));
    }
    g.bench_function("map_guard", |b| {
        b.iter(|| drop(black_box(black_box(&map).pin())))
    });
    g.bench_function("map_get", |b| {
        b.iter(|| {
            drop(black_box(
                black_box(&map).pin().get(black_box(&key)).cloned(),
            ))
        })
    });
    let handle = registry.get(&key);
    g.bench_function("clone_handle", |b| {
        b.iter(|| drop(black_box(black_box(&handle).clone())))
    });
    g.finish();

    let mut g = c.benchmark_group("vs_registry_get_two_threads");
    // Both threads ask for the same key: one breaker, its handle cloned and dropped on both.
    g.bench_function("same_key", |b| {
        b.iter_custom(|n| on_two_threads(n, || || drop(black_box(registry.get(black_box(&key))))))
    });
    // Each thread asks for a key of its own.
    g.bench_function("own_key", |b| {
        b.iter_custom(|n| with_a_key_each(n, |key| registry.get(key)))
    });
    // For reference: the handle alone, cloned and dropped on both threads (one reference count).
    g.bench_function("clone_handle", |b| {
        b.iter_custom(|n| on_two_threads(n, || || drop(black_box(black_box(&handle).clone()))))
    });
    // For reference: the bare map with a key each, as on one thread (the floor of `own_key`).
    g.bench_function("map_get_own_key", |b| {
        b.iter_custom(|n| with_a_key_each(n, |key| black_box(&map).pin().get(key).cloned()))
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

/// A middleware that does nothing but pass the request on: what any middleware costs in the
/// chain (reqwest-middleware boxes each one's future and moves the request into it).
struct PassOn;

#[async_trait::async_trait]
impl Middleware for PassOn {
    async fn handle(
        &self,
        request: Request,
        extensions: &mut Extensions,
        next: Next<'_>,
    ) -> reqwest_middleware::Result<Response> {
        next.run(request, extensions).await
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

/// The clients of the loopback rows.
struct Clients {
    with: ClientWithMiddleware,
    without: ClientWithMiddleware,
    bare: reqwest::Client,
    /// A second client without middleware, for the interleaved rounds only: its difference to
    /// the first is what the method reads when there is nothing to find.
    without_again: ClientWithMiddleware,
    /// A client with a middleware that only passes the request on, for the interleaved rounds
    /// only: what any middleware adds to a request.
    pass_on: ClientWithMiddleware,
}

impl Clients {
    fn new() -> Self {
        Self {
            with: chain(vec![the_middleware()]),
            without: chain(Vec::new()),
            bare: reqwest::Client::new(),
            without_again: chain(Vec::new()),
            pass_on: chain(vec![Arc::new(PassOn)]),
        }
    }
}

fn middleware_loopback(c: &mut Criterion, runtime: &Runtime, url: &Url, clients: &Clients) {
    let Clients {
        with,
        without,
        bare: bare_client,
        ..
    } = clients;
    let mut g = c.benchmark_group("e2e_middleware");
    // The end-to-end settings of the `e2e` bench.
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20);
    g.bench_function("breaker_middleware", |b| {
        b.iter(|| runtime.block_on(through(with, url)))
    });
    g.bench_function("no_middleware", |b| {
        b.iter(|| runtime.block_on(through(without, url)))
    });
    g.bench_function("bare_reqwest", |b| {
        b.iter(|| runtime.block_on(bare(bare_client, url)))
    });
    g.finish();
}

/// The chains of the no-network rows.
struct Stubbed {
    with: ClientWithMiddleware,
    pass_on: ClientWithMiddleware,
    without: ClientWithMiddleware,
    /// A second chain of the stub alone, for the interleaved rounds only (see [`Clients`]).
    without_again: ClientWithMiddleware,
}

impl Stubbed {
    fn new() -> Self {
        Self {
            with: chain(vec![the_middleware(), Arc::new(Answer)]),
            pass_on: chain(vec![Arc::new(PassOn), Arc::new(Answer)]),
            without: chain(vec![Arc::new(Answer)]),
            without_again: chain(vec![Arc::new(Answer)]),
        }
    }
}

/// One request through a stubbed chain: the future is ready at once.
fn stubbed_call(client: &ClientWithMiddleware, url: &Url) {
    let response = run_ready(client.execute(health(url))).expect("a response");
    assert!(response.status().is_success());
}

fn middleware_no_network(c: &mut Criterion, url: &Url, chains: &Stubbed) {
    let mut g = c.benchmark_group("vs_middleware_no_network");
    g.bench_function("breaker_middleware", |b| {
        b.iter(|| stubbed_call(&chains.with, url))
    });
    g.bench_function("pass_on_middleware", |b| {
        b.iter(|| stubbed_call(&chains.pass_on, url))
    });
    g.bench_function("no_middleware", |b| {
        b.iter(|| stubbed_call(&chains.without, url))
    });
    g.finish();
}

/// The bounds of one interleaved measurement.
struct Bounds {
    warm_up: Duration,
    measure: Duration,
    max_rounds: usize,
}

/// The result of one interleaved measurement.
struct Interleaved {
    rounds: usize,
    /// Each call's median time, ns.
    medians: Vec<f64>,
    /// The median of each call's difference to the reference call within a round, ns.
    differences: Vec<f64>,
}

/// Rounds of one call each of `calls`, in an order that rotates from round to round, after a
/// warm-up, until `bounds.measure` has passed or `bounds.max_rounds` were made.
///
/// Criterion measures each row over a second or two of its own, and on two cores shared with
/// anything else a drift of load between those seconds moves a row by far more than a
/// middleware costs; here every call meets the same load, and what one call adds to another is
/// the median of their differences within a round.
fn interleave(calls: &[&dyn Fn()], reference: usize, bounds: &Bounds) -> Interleaved {
    let start = Instant::now();
    while start.elapsed() < bounds.warm_up {
        calls.iter().for_each(|call| call());
    }
    let n = calls.len();
    let mut times = vec![Vec::new(); n];
    let mut differences = vec![Vec::new(); n];
    let start = Instant::now();
    for round in 0..bounds.max_rounds {
        if start.elapsed() >= bounds.measure {
            break;
        }
        let mut took = vec![0.0; n];
        for i in 0..n {
            let which = (round + i) % n;
            let call_start = Instant::now();
            calls[which]();
            took[which] = call_start.elapsed().as_nanos() as f64;
        }
        for which in 0..n {
            times[which].push(took[which]);
            differences[which].push(took[which] - took[reference]);
        }
    }
    Interleaved {
        rounds: times[0].len(),
        medians: times.iter_mut().map(|t| median(t)).collect(),
        differences: differences.iter_mut().map(|d| median(d)).collect(),
    }
}

/// The median of `values` (reordered).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => values[n / 2],
        _ => (values[n / 2 - 1] + values[n / 2]) / 2.0,
    }
}

/// `result` as a JSON object, its calls named by `names`, and printed.
fn report(part: &str, names: &[&str], reference: &str, result: &Interleaved) -> String {
    println!("{part}, interleaved: {} rounds", result.rounds);
    let mut medians = Vec::new();
    let mut differences = Vec::new();
    for ((name, m), d) in names.iter().zip(&result.medians).zip(&result.differences) {
        println!("  {name:<20} median {m:>10.1} ns, minus {reference} {d:>8.1} ns");
        medians.push(format!("\"{name}\": {m:.1}"));
        differences.push(format!("\"{name}\": {d:.1}"));
    }
    format!(
        "\"{part}\": {{\"rounds\": {}, \"reference\": \"{reference}\",\n    \"median_ns\": {{{}}},\n    \"difference_ns\": {{{}}}}}",
        result.rounds,
        medians.join(", "),
        differences.join(", ")
    )
}

/// The middleware rows again, interleaved (see [`interleave`]): through sum-service on loopback
/// (`e2e_middleware`, bounded like criterion's end-to-end rows) and through the stubbed chains
/// (`vs_middleware_no_network`), each with a second client or chain without middleware, whose
/// difference to the first is the method's own error, and one with a middleware that only passes
/// the request on. Writes the medians and the differences to
/// `breaker-bench/middleware.json` in the target directory, for `scripts/bench-tables.py`. In
/// criterion's `--test` mode, three rounds each and no file.
fn middleware_interleaved(runtime: &Runtime, url: &Url, clients: &Clients, chains: &Stubbed) {
    let test_mode = std::env::args().any(|a| a == "--test");
    let bounds = |warm_up, measure, max_rounds| {
        if test_mode {
            Bounds {
                warm_up: Duration::ZERO,
                measure: Duration::MAX,
                max_rounds: 3,
            }
        } else {
            Bounds {
                warm_up,
                measure,
                max_rounds,
            }
        }
    };
    let mut parts = Vec::new();

    if selects("e2e_middleware") {
        let names = [
            "breaker_middleware",
            "no_middleware",
            "bare_reqwest",
            "no_middleware_again",
            "pass_on_middleware",
        ];
        let calls: [&dyn Fn(); 5] = [
            &|| runtime.block_on(through(&clients.with, url)),
            &|| runtime.block_on(through(&clients.without, url)),
            &|| runtime.block_on(bare(&clients.bare, url)),
            &|| runtime.block_on(through(&clients.without_again, url)),
            &|| runtime.block_on(through(&clients.pass_on, url)),
        ];
        let bounds = bounds(Duration::from_millis(500), Duration::from_secs(3), 100_000);
        let result = interleave(&calls, 1, &bounds);
        parts.push(report("e2e_middleware", &names, names[1], &result));
    }

    if selects("vs_middleware_no_network") {
        let names = [
            "breaker_middleware",
            "pass_on_middleware",
            "no_middleware",
            "no_middleware_again",
        ];
        let calls: [&dyn Fn(); 4] = [
            &|| stubbed_call(&chains.with, url),
            &|| stubbed_call(&chains.pass_on, url),
            &|| stubbed_call(&chains.without, url),
            &|| stubbed_call(&chains.without_again, url),
        ];
        let bounds = bounds(
            Duration::from_millis(400),
            Duration::from_millis(1_200),
            1_000_000,
        );
        let result = interleave(&calls, 2, &bounds);
        parts.push(report(
            "vs_middleware_no_network",
            &names,
            names[2],
            &result,
        ));
    }

    if test_mode || parts.is_empty() {
        return;
    }
    let json = format!("{{\n  {}\n}}\n", parts.join(",\n  "));
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("breaker-bench");
    let path = dir.join("middleware.json");
    match std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, json)) {
        Ok(()) => println!("written to {}", path.display()),
        Err(e) => eprintln!("could not write {}: {e}", path.display()),
    }
}

/// Whether criterion's command line selects the group `group`: no filter, or a filter that is
/// part of its name (criterion's own filters are regular expressions; a plain word is what this
/// checks).
fn selects(group: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| group.contains(f.as_str()))
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
    let clients = Clients::new();
    let chains = Stubbed::new();
    middleware_no_network(&mut c, &url, &chains);
    middleware_loopback(&mut c, &runtime, &url, &clients);
    middleware_interleaved(&runtime, &url, &clients, &chains);
    c.final_summary();
    service.stop(&runtime);
}
