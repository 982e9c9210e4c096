//! End to end, against sum-service running in this process on 127.0.0.1 (an ephemeral port):
//!
//! - `e2e_latency`: one `GET /health` through `BreakerClient` when the circuit is closed
//!   (forwarded, body read) and when it is open (rejected, nothing sent), and through a bare
//!   reqwest client, and the bare cost of entering the runtime, for reference;
//! - `e2e_throughput`: requests in flight 4 at a time, through the breaker-wrapped client and
//!   through the bare one; the time per request is the inverse of the throughput.
//!
//! Loopback only, and bounded: criterion stops each measurement after its measurement time, and
//! the service is stopped when the run ends. The client runs on a current-thread Tokio runtime on
//! the bench thread; the service has one worker, so each side has a core of the two.

mod loopback;

use std::time::{Duration, Instant};

use breaker::CircuitBreaker;
use breaker::http::BreakerClient;
use criterion::Criterion;
use reqwest::{Method, Request, Url};
use tokio::runtime::Runtime;

/// Requests in flight at once in the throughput runs (the lanes of [`four_lanes`]).
const IN_FLIGHT: u64 = 4;

fn health(url: &Url) -> Request {
    Request::new(Method::GET, url.clone())
}

/// A bare request: sent, and its body read.
async fn bare(client: &reqwest::Client, url: &Url) {
    let response = client.execute(health(url)).await.expect("a response");
    assert!(response.status().is_success());
    response.bytes().await.expect("the body");
}

/// The same through the breaker; returns whether it was forwarded.
async fn wrapped(client: &BreakerClient<reqwest::Client>, url: &Url) -> bool {
    match client.send(health(url)).await {
        Ok(response) => {
            assert!(response.status().is_success());
            response.bytes().await.expect("the body");
            true
        }
        Err(breaker::Error::Open(_)) => false,
        Err(breaker::Error::Inner(e)) => panic!("request failed: {e}"),
    }
}

fn breaker_client(breaker: CircuitBreaker) -> BreakerClient<reqwest::Client> {
    BreakerClient::builder(reqwest::Client::new(), breaker)
        .timeout(Duration::from_secs(5))
        .build()
        .expect("a non-zero timeout")
}

fn latency(c: &mut Criterion, runtime: &Runtime, url: &Url) {
    let closed = breaker_client(CircuitBreaker::new(Duration::from_secs(5), 3));
    let open = breaker_client(CircuitBreaker::new(Duration::from_secs(3600), 0));
    open.breaker()
        .try_acquire()
        .expect("closed at first")
        .failure();
    let bare_client = reqwest::Client::new();

    let mut g = c.benchmark_group("e2e_latency");
    g.bench_function("forwarded", |b| {
        b.iter(|| assert!(runtime.block_on(wrapped(&closed, url))))
    });
    g.bench_function("rejected", |b| {
        b.iter(|| assert!(!runtime.block_on(wrapped(&open, url))))
    });
    g.bench_function("bare_reqwest", |b| {
        b.iter(|| runtime.block_on(bare(&bare_client, url)))
    });
    // What every row above pays to enter the runtime, for reference.
    g.bench_function("runtime_block_on", |b| {
        b.iter(|| runtime.block_on(async {}))
    });
    g.finish();
}

/// Makes `n` requests with `request`, four lanes of them in flight at once, and times them.
fn four_lanes<F, Fut>(runtime: &Runtime, n: u64, request: F) -> Duration
where
    F: Fn() -> Fut,
    Fut: Future<Output = ()>,
{
    let lane = |i: u64| {
        let share = n / IN_FLIGHT + u64::from(i < n % IN_FLIGHT);
        let request = &request;
        async move {
            for _ in 0..share {
                request().await;
            }
        }
    };
    runtime.block_on(async {
        let start = Instant::now();
        tokio::join!(lane(0), lane(1), lane(2), lane(3));
        start.elapsed()
    })
}

fn throughput(c: &mut Criterion, runtime: &Runtime, url: &Url) {
    let bare_client = reqwest::Client::new();
    let wrapped_client = breaker_client(CircuitBreaker::new(Duration::from_secs(5), 3));
    let mut g = c.benchmark_group("e2e_throughput");
    g.bench_function("bare_reqwest", |b| {
        b.iter_custom(|n| four_lanes(runtime, n, || bare(&bare_client, url)))
    });
    g.bench_function("breaker_client", |b| {
        b.iter_custom(|n| {
            four_lanes(runtime, n, || async {
                assert!(wrapped(&wrapped_client, url).await);
            })
        })
    });
    g.finish();
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let service = loopback::Service::start();
    let url = service.url("/health");

    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .configure_from_args();
    latency(&mut c, &runtime, &url);
    throughput(&mut c, &runtime, &url);
    c.final_summary();

    service.stop(&runtime);
}
