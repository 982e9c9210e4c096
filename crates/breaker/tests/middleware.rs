//! The reqwest-middleware integration against wiremock servers: call counts prove what an open
//! circuit sends (nothing), and per-host breakers keep one failing host from cutting off another.

use std::time::Duration;

use breaker::middleware::CircuitBreakerMiddleware;
use breaker::{CircuitBreaker, CircuitOpenError, ManualClock, Registry, State};
use reqwest_middleware::{ClientBuilder, ClientWithMiddleware};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server_answering(status: u16, expected_calls: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(status))
        .expect(expected_calls)
        .mount(&server)
        .await;
    server
}

fn client(middleware: CircuitBreakerMiddleware) -> ClientWithMiddleware {
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
