//! The reqwest-middleware integration against wiremock servers: call counts prove what an open
//! circuit sends (nothing), per-host breakers keep one failing host from cutting off another,
//! and `Retry-After`, when honoured, holds the right breaker open for exactly as long as asked
//! (read on a [`ManualClock`]).

use std::time::Duration;

use breaker::http::{Attempt, default_classifier};
use breaker::middleware::CircuitBreakerMiddleware;
use breaker::{
    CircuitBreaker, CircuitOpenError, ConfigError, ManualClock, Outcome, Registry, State,
};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::secs;

async fn server_answering(status: u16, expected_calls: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(status))
        .expect(expected_calls)
        .mount(&server)
        .await;
    server
}

fn client<K>(middleware: CircuitBreakerMiddleware<K>) -> ClientWithMiddleware
where
    CircuitBreakerMiddleware<K>: reqwest_middleware::Middleware,
{
    ClientBuilder::new(reqwest::Client::new())
        .with(middleware)
        .build()
}

/// The rejection inside a middleware error, if it is one.
fn rejection(error: &reqwest_middleware::Error) -> Option<&CircuitOpenError> {
    match error {
        reqwest_middleware::Error::Middleware(e) => e.downcast_ref::<CircuitOpenError>(),
        reqwest_middleware::Error::Reqwest(_) => None,
    }
}

#[tokio::test]
async fn an_open_circuit_sends_nothing_and_says_when_to_retry() {
    let server = server_answering(500, 2).await; // T = 1: two failures, then nothing
    let clock = ManualClock::new();
    let cb = CircuitBreaker::builder()
        .window(Duration::from_secs(30))
        .error_threshold(1)
        .clock(clock.clone())
        .build()
        .unwrap();
    let client = client(CircuitBreakerMiddleware::new(cb.clone()));

    for _ in 0..2 {
        let response = client.get(server.uri()).send().await.unwrap();
        assert_eq!(response.status(), 500, "the 500 comes back, and counts");
    }
    assert_eq!(cb.state(), State::Open);
    clock.advance(Duration::from_secs(10));
    for _ in 0..3 {
        let error = client.get(server.uri()).send().await.unwrap_err();
        let open = rejection(&error).expect("a rejection");
        assert_eq!(open.retry_after(), Duration::from_secs(20));
    }
    server.verify().await;
}

#[tokio::test]
async fn client_errors_are_ignored_and_transport_errors_are_failures() {
    let server = server_answering(404, 3).await;
    let cb = CircuitBreaker::new(Duration::from_secs(30), 0);
    let client = client(CircuitBreakerMiddleware::new(cb.clone()));
    for _ in 0..3 {
        assert_eq!(client.get(server.uri()).send().await.unwrap().status(), 404);
    }
    assert_eq!(cb.state(), State::Closed);
    server.verify().await;

    // A port nobody listens on: connection refused is a failure.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = client
        .get(format!("http://127.0.0.1:{port}/"))
        .send()
        .await
        .unwrap_err();
    assert!(rejection(&error).is_none());
    assert_eq!(cb.state(), State::Open);
}

#[tokio::test]
async fn per_host_one_failing_host_does_not_cut_off_another() {
    let failing = server_answering(503, 2).await;
    let healthy = server_answering(200, 5).await;
    let hosts = Registry::new(|_origin: &String| CircuitBreaker::new(Duration::from_secs(30), 1));
    let client = client(CircuitBreakerMiddleware::per_host(hosts.clone()));

    for _ in 0..4 {
        let _ = client.get(failing.uri()).send().await;
    }
    for _ in 0..5 {
        assert_eq!(
            client.get(healthy.uri()).send().await.unwrap().status(),
            200
        );
    }
    let error = client.get(failing.uri()).send().await.unwrap_err();
    assert!(rejection(&error).is_some());

    assert_eq!(hosts.len(), 2);
    assert_eq!(hosts.get(&failing.uri()).state(), State::Open);
    assert_eq!(hosts.get(&healthy.uri()).state(), State::Closed);
    failing.verify().await;
    healthy.verify().await;
}

/// A breaker with window 5 s and threshold `threshold` on `clock`.
fn manual_breaker(clock: &ManualClock, threshold: u32) -> CircuitBreaker {
    CircuitBreaker::builder()
        .window(secs(5))
        .error_threshold(threshold)
        .clock(clock.clone())
        .build()
        .unwrap()
}

/// A server answering every `GET` with `status` and `Retry-After: retry_after`.
async fn server_asking_to_wait(status: u16, retry_after: &str, expected_calls: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(status).insert_header("Retry-After", retry_after))
        .expect(expected_calls)
        .mount(&server)
        .await;
    server
}

/// The `retry_after` of the rejection that a `GET` of `url` must get.
async fn rejected_for(client: &ClientWithMiddleware, url: &str) -> Duration {
    let error = client.get(url).send().await.unwrap_err();
    rejection(&error).expect("a rejection").retry_after()
}

#[tokio::test]
async fn a_503_with_retry_after_holds_the_circuit_open_for_that_long_up_to_the_cap() {
    let server = server_asking_to_wait(503, "30", 2).await;
    let clock = ManualClock::new();

    // Cap 60 s: 30 s, exactly, and the 503 is still a failure (T = 3: it alone would not trip).
    let cb = manual_breaker(&clock, 3);
    let capped_at_60 = client(
        CircuitBreakerMiddleware::builder(cb.clone())
            .honour_retry_after(secs(60))
            .build()
            .unwrap(),
    );
    assert_eq!(
        capped_at_60
            .get(server.uri())
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    assert_eq!(cb.errors_in_window(), 1);
    assert_eq!(rejected_for(&capped_at_60, &server.uri()).await, secs(30));

    // Cap 10 s: 10 s.
    let cb = manual_breaker(&clock, 3);
    let capped_at_10 = client(
        CircuitBreakerMiddleware::builder(cb.clone())
            .honour_retry_after(secs(10))
            .build()
            .unwrap(),
    );
    assert_eq!(
        capped_at_10
            .get(server.uri())
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    assert_eq!(rejected_for(&capped_at_10, &server.uri()).await, secs(10));
    server.verify().await;
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_capped() {
    let in_an_hour = httpdate::fmt_http_date(std::time::SystemTime::now() + secs(3600));
    let server = server_asking_to_wait(503, &in_an_hour, 1).await;
    let clock = ManualClock::new();
    let cb = manual_breaker(&clock, 3);
    let client = client(
        CircuitBreakerMiddleware::builder(cb)
            .honour_retry_after(secs(60))
            .build()
            .unwrap(),
    );
    assert_eq!(client.get(server.uri()).send().await.unwrap().status(), 503);
    assert_eq!(rejected_for(&client, &server.uri()).await, secs(60));
    server.verify().await;
}

#[tokio::test]
async fn a_429_with_retry_after_opens_the_circuit_only_when_told_to() {
    let server = server_asking_to_wait(429, "30", 3).await;
    let clock = ManualClock::new();

    let cb = manual_breaker(&clock, 0);
    let plain = client(CircuitBreakerMiddleware::new(cb.clone()));
    for _ in 0..2 {
        assert_eq!(plain.get(server.uri()).send().await.unwrap().status(), 429);
    }
    assert_eq!(cb.state(), State::Closed);

    let cb = manual_breaker(&clock, 0);
    let heeding = client(
        CircuitBreakerMiddleware::builder(cb.clone())
            .honour_retry_after(secs(60))
            .build()
            .unwrap(),
    );
    assert_eq!(
        heeding.get(server.uri()).send().await.unwrap().status(),
        429
    );
    assert_eq!(cb.errors_in_window(), 0, "a 429 is still ignored");
    assert_eq!(rejected_for(&heeding, &server.uri()).await, secs(30));
    server.verify().await;
}

#[tokio::test]
async fn without_the_opt_in_or_with_garbage_a_503_is_an_ordinary_failure() {
    let clock = ManualClock::new();

    let server = server_asking_to_wait(503, "30", 1).await;
    let cb = manual_breaker(&clock, 0);
    let plain = client(CircuitBreakerMiddleware::new(cb));
    assert_eq!(plain.get(server.uri()).send().await.unwrap().status(), 503);
    assert_eq!(
        rejected_for(&plain, &server.uri()).await,
        secs(5),
        "W, not 30 s"
    );
    server.verify().await;

    let garbage = server_asking_to_wait(503, "in a while", 2).await;
    let cb = manual_breaker(&clock, 3);
    let heeding = client(
        CircuitBreakerMiddleware::builder(cb.clone())
            .honour_retry_after(secs(60))
            .build()
            .unwrap(),
    );
    for _ in 0..2 {
        assert_eq!(
            heeding.get(garbage.uri()).send().await.unwrap().status(),
            503
        );
    }
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(cb.errors_in_window(), 2);
    garbage.verify().await;
}

#[tokio::test]
async fn per_host_the_hosts_own_breaker_is_held_open() {
    let busy = server_asking_to_wait(503, "30", 1).await;
    let healthy = server_answering(200, 3).await;
    let clock = ManualClock::new();
    let factory_clock = clock.clone();
    let hosts = Registry::new(move |_origin: &String| manual_breaker(&factory_clock, 3));
    let client = client(
        CircuitBreakerMiddleware::per_host_builder(hosts.clone())
            .honour_retry_after(secs(60))
            .build()
            .unwrap(),
    );

    assert_eq!(client.get(busy.uri()).send().await.unwrap().status(), 503);
    assert_eq!(rejected_for(&client, &busy.uri()).await, secs(30));
    for _ in 0..3 {
        assert_eq!(
            client.get(healthy.uri()).send().await.unwrap().status(),
            200
        );
    }
    assert_eq!(hosts.get(&busy.uri()).state(), State::Open);
    assert_eq!(hosts.get(&healthy.uri()).state(), State::Closed);

    clock.advance(secs(30));
    assert_eq!(hosts.get(&busy.uri()).state(), State::Closed);
    busy.verify().await;
    healthy.verify().await;
}

#[tokio::test]
async fn a_classifier_can_read_the_headers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).insert_header("x-overloaded", "1"))
        .expect(1)
        .mount(&server)
        .await;
    let cb = CircuitBreaker::new(secs(30), 0);
    let client = client(CircuitBreakerMiddleware::new(cb.clone()).with_classifier(
        |attempt: &Attempt<'_>| match attempt {
            Attempt::Response { headers, .. }
                if headers.get("x-overloaded").is_some_and(|v| v == "1") =>
            {
                Outcome::Failure
            }
            other => default_classifier(other),
        },
    ));
    assert_eq!(client.get(server.uri()).send().await.unwrap().status(), 200);
    assert_eq!(cb.state(), State::Open);
    assert!(rejection(&client.get(server.uri()).send().await.unwrap_err()).is_some());
    server.verify().await;
}

#[test]
fn a_zero_retry_after_cap_is_refused() {
    let middleware = CircuitBreakerMiddleware::builder(CircuitBreaker::new(secs(5), 3));
    assert_eq!(
        middleware
            .honour_retry_after(Duration::ZERO)
            .build()
            .unwrap_err(),
        ConfigError::ZeroRetryAfterCap
    );
}
