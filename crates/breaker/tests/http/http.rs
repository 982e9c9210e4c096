//! Integration tests of the HTTP layer: [`BreakerClient`] over `reqwest` against a wiremock
//! server on 127.0.0.1, and over a mock [`HttpClient`].
//!
//! The breaker's time only moves with a [`ManualClock`]; the only real waiting is one request
//! timeout of 100 ms. `Retry-After` holds are read back from rejections, on that clock, so
//! their values are exact (an HTTP date is the one thing measured against the wall clock).

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use breaker::http::{
    Attempt, BreakerClient, HttpClient, RequestError, StatusCode, default_classifier,
};
use breaker::{CircuitBreaker, ConfigError, Error, ManualClock, Outcome, Reason, State};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::support::{ms, secs};

/// A breaker with window `window` and threshold `threshold` on a fresh [`ManualClock`].
fn manual_breaker(window: Duration, threshold: u32) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::new();
    let cb = CircuitBreaker::builder()
        .window(window)
        .error_threshold(threshold)
        .clock(clock.clone())
        .build()
        .expect("valid configuration");
    (cb, clock)
}

/// A `POST` of the form body the sum service's clients send, to `route` on `server`.
fn post(server: &MockServer, route: &str) -> reqwest::Request {
    let url: reqwest::Url = format!("{}{route}", server.uri()).parse().unwrap();
    let mut request = reqwest::Request::new(reqwest::Method::POST, url);
    *request.body_mut() = Some("value1=4&value2=x".into());
    request
}

/// A `GET` of `route` on `server`.
fn get(server: &MockServer, route: &str) -> reqwest::Request {
    let url: reqwest::Url = format!("{}{route}", server.uri()).parse().unwrap();
    reqwest::Request::new(reqwest::Method::GET, url)
}

/// The status of a response that must have come back.
fn status<E: std::fmt::Debug>(result: Result<reqwest::Response, E>) -> u16 {
    result.expect("a response").status().as_u16()
}

#[tokio::test]
async fn server_errors_trip_the_circuit_and_then_nothing_reaches_the_server() {
    let server = MockServer::start().await;
    let (cb, _clock) = manual_breaker(secs(5), 2);
    let client = BreakerClient::new(reqwest::Client::new(), cb);

    {
        let _failing = Mock::given(method("POST"))
            .and(path("/sum"))
            .respond_with(ResponseTemplate::new(500).set_body_string("boom"))
            .expect(3)
            .mount_as_scoped(&server)
            .await;

        for n in 1..=3u32 {
            // Each 500 is handed back to the caller, and recorded as a failure.
            let response = client
                .send(post(&server, "/sum"))
                .await
                .expect("a response");
            assert_eq!(response.status(), 500);
            assert_eq!(response.text().await.unwrap(), "boom");
            assert_eq!(client.breaker().errors_in_window(), n);
            let expected = if n <= 2 { State::Closed } else { State::Open };
            assert_eq!(client.breaker().state(), expected, "after failure {n}");
        }
    } // three requests reached the 500 mock, no more

    let _untouched = Mock::given(method("POST"))
        .and(path("/sum"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .named("reached while the circuit is open")
        .mount_as_scoped(&server)
        .await;
    for _ in 0..5 {
        match client.send(post(&server, "/sum")).await {
            Err(Error::Open(open)) => assert_eq!(open.retry_after(), secs(5)),
            other => panic!("expected a rejection, got {other:?}"),
        }
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
    // Rejections are not failures.
    assert_eq!(client.breaker().errors_in_window(), 3);
}

#[tokio::test]
async fn client_errors_never_trip_the_circuit() {
    let server = MockServer::start().await;
    for code in [400, 404, 429] {
        Mock::given(path(format!("/{code}")))
            .respond_with(ResponseTemplate::new(code))
            .expect(20)
            .mount(&server)
            .await;
    }
    // T = 0: a single failure would trip it.
    let (cb, _clock) = manual_breaker(secs(5), 0);
    let client = BreakerClient::new(reqwest::Client::new(), cb);

    for _ in 0..20 {
        for code in [400, 404, 429] {
            let got = status(client.send(get(&server, &format!("/{code}"))).await);
            assert_eq!(got, code);
        }
    }
    assert_eq!(client.breaker().state(), State::Closed);
    assert_eq!(client.breaker().errors_in_window(), 0);
}

#[tokio::test]
async fn a_classifier_that_counts_429_trips_on_429() {
    let server = MockServer::start().await;
    Mock::given(path("/limited"))
        .respond_with(ResponseTemplate::new(429))
        .expect(3)
        .mount(&server)
        .await;
    Mock::given(path("/missing"))
        .respond_with(ResponseTemplate::new(404))
        .expect(5)
        .mount(&server)
        .await;
    let (cb, _clock) = manual_breaker(secs(5), 2);
    let client =
        BreakerClient::new(reqwest::Client::new(), cb).with_classifier(|attempt: &Attempt<'_>| {
            match attempt {
                Attempt::Response {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    ..
                } => Outcome::Failure,
                other => default_classifier(other),
            }
        });

    // Other 4xx keep the default: still ignored.
    for _ in 0..5 {
        assert_eq!(status(client.send(get(&server, "/missing")).await), 404);
    }
    assert_eq!(client.breaker().errors_in_window(), 0);

    for n in 1..=3 {
        assert_eq!(status(client.send(get(&server, "/limited")).await), 429);
        assert_eq!(client.breaker().errors_in_window(), n);
    }
    assert_eq!(client.breaker().state(), State::Open);
    assert!(matches!(
        client.send(get(&server, "/limited")).await,
        Err(Error::Open(_))
    ));
}

#[tokio::test]
async fn a_response_slower_than_the_request_timeout_is_a_failure() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sum"))
        .respond_with(ResponseTemplate::new(200).set_delay(secs(2)))
        .expect(1)
        .mount(&server)
        .await;
    let (cb, _clock) = manual_breaker(secs(5), 0);
    let client = BreakerClient::builder(reqwest::Client::new(), cb)
        .timeout(ms(100))
        .build()
        .unwrap();

    let result = client.send(post(&server, "/sum")).await;
    match result {
        Err(Error::Inner(RequestError::Timeout(t))) => assert_eq!(t, ms(100)),
        other => panic!("expected a timeout, got {other:?}"),
    }

    // Counted: with T = 0 it tripped, and the next request does not reach the server.
    assert_eq!(client.breaker().errors_in_window(), 1);
    assert_eq!(client.breaker().state(), State::Open);
    assert!(matches!(
        client.send(post(&server, "/sum")).await,
        Err(Error::Open(_))
    ));
}

#[tokio::test]
async fn connection_refused_is_a_failure() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }; // dropped: nothing listens there now
    let url: reqwest::Url = format!("http://127.0.0.1:{port}/sum").parse().unwrap();
    let (cb, _clock) = manual_breaker(secs(5), 0);
    let client = BreakerClient::builder(reqwest::Client::new(), cb)
        .timeout(secs(5))
        .build()
        .unwrap();

    let result = client
        .send(reqwest::Request::new(reqwest::Method::GET, url.clone()))
        .await;
    match result {
        Err(Error::Inner(RequestError::Client(e))) => assert!(e.is_connect(), "{e:?}"),
        other => panic!("expected a connection error, got {other:?}"),
    }
    assert_eq!(client.breaker().errors_in_window(), 1);
    assert_eq!(client.breaker().state(), State::Open);
    assert!(matches!(
        client
            .send(reqwest::Request::new(reqwest::Method::GET, url))
            .await,
        Err(Error::Open(_))
    ));
}

#[tokio::test]
async fn requests_flow_again_after_the_window() {
    let server = MockServer::start().await;
    let window = secs(5);
    let (cb, clock) = manual_breaker(window, 2);
    let client = BreakerClient::new(reqwest::Client::new(), cb);

    {
        let _failing = Mock::given(method("POST"))
            .and(path("/sum"))
            .respond_with(ResponseTemplate::new(500))
            .expect(3)
            .mount_as_scoped(&server)
            .await;
        for _ in 0..3 {
            assert_eq!(status(client.send(post(&server, "/sum")).await), 500);
        }
    }
    assert_eq!(client.breaker().state(), State::Open);

    clock.advance(window - Duration::from_nanos(1));
    match client.send(post(&server, "/sum")).await {
        Err(Error::Open(open)) => assert_eq!(open.retry_after(), Duration::from_nanos(1)),
        other => panic!("expected a rejection one nanosecond before W, got {other:?}"),
    }

    clock.advance(Duration::from_nanos(1));
    assert_eq!(client.breaker().state(), State::Closed);
    assert_eq!(client.breaker().errors_in_window(), 0);

    let _healthy = Mock::given(method("POST"))
        .and(path("/sum"))
        .respond_with(ResponseTemplate::new(200).set_body_string("The value is: 57"))
        .expect(1)
        .mount_as_scoped(&server)
        .await;
    let response = client
        .send(post(&server, "/sum"))
        .await
        .expect("a response");
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "The value is: 57");
    assert_eq!(client.breaker().state(), State::Closed);
}

/// Answers 500 to the first `failures` requests, then 200.
struct FailThenRecover {
    failures: usize,
    seen: AtomicUsize,
}

impl Respond for FailThenRecover {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        if self.seen.fetch_add(1, Ordering::SeqCst) < self.failures {
            ResponseTemplate::new(500)
        } else {
            ResponseTemplate::new(200)
        }
    }
}

#[tokio::test]
async fn a_service_that_fails_three_times_then_recovers_is_classified_call_by_call() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sum"))
        .respond_with(FailThenRecover {
            failures: 3,
            seen: AtomicUsize::new(0),
        })
        .expect(6)
        .mount(&server)
        .await;
    // T = 3: three failures do not exceed it.
    let (cb, _clock) = manual_breaker(secs(5), 3);
    let client = BreakerClient::new(reqwest::Client::new(), cb);

    let mut seen = Vec::new();
    for _ in 0..6 {
        let code = status(client.send(post(&server, "/sum")).await);
        seen.push((code, client.breaker().errors_in_window()));
    }
    // Successes do not remove failures from the window; only time does.
    assert_eq!(
        seen,
        [(500, 1), (500, 2), (500, 3), (200, 3), (200, 3), (200, 3)]
    );
    assert_eq!(client.breaker().state(), State::Closed);
}

/// A client that answers every request with `status`, counting the times it is used.
struct Counting {
    status: StatusCode,
    calls: AtomicUsize,
}

impl Counting {
    fn new(status: StatusCode) -> Self {
        Self {
            status,
            calls: AtomicUsize::new(0),
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl HttpClient for Counting {
    type Request = ();
    type Response = StatusCode;
    type Error = std::io::Error;

    fn send(&self, (): ()) -> impl Future<Output = Result<StatusCode, std::io::Error>> + Send {
        // Counted when `send` is called, not when its future runs: "touched" means called.
        self.calls.fetch_add(1, Ordering::SeqCst);
        std::future::ready(Ok(self.status))
    }

    fn status(response: &StatusCode) -> StatusCode {
        *response
    }
}

#[tokio::test]
async fn the_client_is_never_touched_while_open() {
    let (cb, clock) = manual_breaker(secs(5), 1);
    let client = BreakerClient::new(Counting::new(StatusCode::SERVICE_UNAVAILABLE), cb);

    for _ in 0..2 {
        assert_eq!(client.send(()).await.unwrap(), 503);
    }
    assert_eq!(client.breaker().state(), State::Open);
    assert_eq!(client.client().calls(), 2);

    for _ in 0..10 {
        assert!(matches!(client.send(()).await, Err(Error::Open(_))));
    }
    assert_eq!(client.client().calls(), 2);

    clock.advance(secs(5));
    assert_eq!(client.send(()).await.unwrap(), 503);
    assert_eq!(client.client().calls(), 3);
}

#[test]
fn a_zero_request_timeout_is_refused() {
    let client = BreakerClient::builder(
        Counting::new(StatusCode::OK),
        CircuitBreaker::new(secs(5), 3),
    );
    assert_eq!(
        client.timeout(Duration::ZERO).build().unwrap_err(),
        ConfigError::ZeroRequestTimeout
    );

    let client = BreakerClient::builder(reqwest::Client::new(), CircuitBreaker::new(secs(5), 3));
    assert_eq!(
        client.timeout(Duration::ZERO).build().unwrap_err(),
        ConfigError::ZeroRequestTimeout
    );
}

/// The `retry_after` of the rejection that a request to `route` must get.
async fn rejected_for<K: breaker::http::Classifier>(
    client: &BreakerClient<reqwest::Client, K>,
    server: &MockServer,
    route: &str,
) -> Duration {
    match client.send(get(server, route)).await {
        Err(Error::Open(open)) => open.retry_after(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// Mounts, on `server`, `status` with `Retry-After: retry_after` at `route`, expected `times`.
async fn answer_with_retry_after(
    server: &MockServer,
    route: &str,
    status: u16,
    retry_after: &str,
    times: u64,
) {
    Mock::given(path(route))
        .respond_with(ResponseTemplate::new(status).insert_header("Retry-After", retry_after))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_503_with_retry_after_holds_the_circuit_open_for_exactly_that_long() {
    let server = MockServer::start().await;
    answer_with_retry_after(&server, "/busy", 503, "30", 2).await;
    // T = 3: one 503 would not trip it.
    let (cb, clock) = manual_breaker(secs(5), 3);
    let client = BreakerClient::builder(reqwest::Client::new(), cb)
        .honour_retry_after(secs(60))
        .build()
        .unwrap();

    // The 503 comes back to the caller, and is still a failure.
    assert_eq!(status(client.send(get(&server, "/busy")).await), 503);
    assert_eq!(client.breaker().errors_in_window(), 1);
    assert_eq!(client.breaker().state(), State::Open);
    assert_eq!(rejected_for(&client, &server, "/busy").await, secs(30));

    clock.advance(secs(30) - Duration::from_nanos(1));
    assert_eq!(
        rejected_for(&client, &server, "/busy").await,
        Duration::from_nanos(1)
    );
    clock.advance(Duration::from_nanos(1));
    assert_eq!(client.breaker().state(), State::Closed);
    // The second request reaches the server, and holds it open again.
    assert_eq!(status(client.send(get(&server, "/busy")).await), 503);
    assert_eq!(rejected_for(&client, &server, "/busy").await, secs(30));
    server.verify().await;
}

#[tokio::test]
async fn retry_after_lengthens_the_open_period_of_a_503_that_trips_the_circuit() {
    let server = MockServer::start().await;
    answer_with_retry_after(&server, "/busy", 503, "30", 1).await;
    // T = 0: the 503 trips it for W = 5 s; Retry-After makes that 30 s.
    let (cb, _clock) = manual_breaker(secs(5), 0);
    let client = BreakerClient::builder(reqwest::Client::new(), cb)
        .honour_retry_after(secs(60))
        .build()
        .unwrap();
    assert_eq!(status(client.send(get(&server, "/busy")).await), 503);
    assert_eq!(rejected_for(&client, &server, "/busy").await, secs(30));
}

#[tokio::test]
async fn a_retry_after_beyond_the_cap_holds_it_open_for_the_cap() {
    let server = MockServer::start().await;
    answer_with_retry_after(&server, "/busy", 503, "30", 1).await;
    answer_with_retry_after(&server, "/forever", 503, &"9".repeat(40), 1).await;
    let (cb, clock) = manual_breaker(secs(5), 3);
    let client = BreakerClient::builder(reqwest::Client::new(), cb)
        .honour_retry_after(secs(10))
        .build()
        .unwrap();

    assert_eq!(status(client.send(get(&server, "/busy")).await), 503);
    assert_eq!(rejected_for(&client, &server, "/busy").await, secs(10));

    // A number of seconds no integer holds is capped too.
    clock.advance(secs(10));
    assert_eq!(status(client.send(get(&server, "/forever")).await), 503);
    assert_eq!(rejected_for(&client, &server, "/forever").await, secs(10));
    server.verify().await;
}

#[tokio::test]
async fn retry_after_as_an_http_date() {
    let server = MockServer::start().await;
    let now = SystemTime::now();
    let in_an_hour = httpdate::fmt_http_date(now + secs(3600));
    let in_half_a_minute = httpdate::fmt_http_date(now + secs(30));
    let a_minute_ago = httpdate::fmt_http_date(now - secs(60));
    answer_with_retry_after(&server, "/hour", 503, &in_an_hour, 1).await;
    answer_with_retry_after(&server, "/half-minute", 503, &in_half_a_minute, 1).await;
    answer_with_retry_after(&server, "/past", 503, &a_minute_ago, 1).await;

    // Capped at 60 s, an hour from now is exactly 60 s on the breaker's clock.
    let (cb, _clock) = manual_breaker(secs(5), 3);
    let client = BreakerClient::builder(reqwest::Client::new(), cb)
        .honour_retry_after(secs(60))
        .build()
        .unwrap();
    assert_eq!(status(client.send(get(&server, "/hour")).await), 503);
    assert_eq!(rejected_for(&client, &server, "/hour").await, secs(60));

    // Under the cap, the date itself: no more than 30 s from when the date was written.
    let (cb, _clock) = manual_breaker(secs(5), 3);
    let client = BreakerClient::builder(reqwest::Client::new(), cb)
        .honour_retry_after(secs(60))
        .build()
        .unwrap();
    assert_eq!(status(client.send(get(&server, "/half-minute")).await), 503);
    let held = rejected_for(&client, &server, "/half-minute").await;
    assert!(held > Duration::ZERO && held <= secs(30), "{held:?}");

    // A date in the past holds nothing open: one failure under T = 3 leaves it closed.
    let (cb, _clock) = manual_breaker(secs(5), 3);
    let client = BreakerClient::builder(reqwest::Client::new(), cb)
        .honour_retry_after(secs(60))
        .build()
        .unwrap();
    assert_eq!(status(client.send(get(&server, "/past")).await), 503);
    assert_eq!(client.breaker().state(), State::Closed);
    server.verify().await;
}

#[tokio::test]
async fn a_429_with_retry_after_opens_the_circuit_only_when_told_to() {
    let server = MockServer::start().await;
    answer_with_retry_after(&server, "/limited", 429, "30", 3).await;

    // Not told to: the 429 is ignored, and the header with it.
    let (cb, _clock) = manual_breaker(secs(5), 0);
    let client = BreakerClient::new(reqwest::Client::new(), cb);
    for _ in 0..2 {
        assert_eq!(status(client.send(get(&server, "/limited")).await), 429);
    }
    assert_eq!(client.breaker().state(), State::Closed);

    // Told to: the 429 is still ignored (no failure counted), but the circuit is held open.
    let clock = ManualClock::new();
    let changes = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = changes.clone();
    let cb = CircuitBreaker::builder()
        .window(secs(5))
        .error_threshold(0)
        .clock(clock.clone())
        .on_state_change(move |c| log.lock().unwrap().push(c))
        .build()
        .unwrap();
    let client = BreakerClient::builder(reqwest::Client::new(), cb)
        .honour_retry_after(secs(60))
        .build()
        .unwrap();
    assert_eq!(status(client.send(get(&server, "/limited")).await), 429);
    assert_eq!(client.breaker().errors_in_window(), 0);
    assert_eq!(rejected_for(&client, &server, "/limited").await, secs(30));
    let changes = changes.lock().unwrap().clone();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (changes[0].from, changes[0].to, changes[0].reason),
        (State::Closed, State::Open, Reason::RetryAfter)
    );
    server.verify().await;
}

#[tokio::test]
async fn without_the_opt_in_a_503_with_retry_after_is_an_ordinary_failure() {
    let server = MockServer::start().await;
    answer_with_retry_after(&server, "/busy", 503, "30", 4).await;

    // T = 0: open for W = 5 s, as any failure would make it, not for 30 s.
    let (cb, _clock) = manual_breaker(secs(5), 0);
    let client = BreakerClient::new(reqwest::Client::new(), cb);
    assert_eq!(status(client.send(get(&server, "/busy")).await), 503);
    assert_eq!(rejected_for(&client, &server, "/busy").await, secs(5));

    // T = 3: three failures leave it closed.
    let (cb, _clock) = manual_breaker(secs(5), 3);
    let client = BreakerClient::new(reqwest::Client::new(), cb);
    for _ in 0..3 {
        assert_eq!(status(client.send(get(&server, "/busy")).await), 503);
    }
    assert_eq!(client.breaker().errors_in_window(), 3);
    assert_eq!(client.breaker().state(), State::Closed);
    server.verify().await;
}

#[tokio::test]
async fn a_retry_after_that_is_garbage_or_on_another_status_is_not_heeded() {
    let server = MockServer::start().await;
    answer_with_retry_after(&server, "/garbage", 503, "soon", 1).await;
    answer_with_retry_after(&server, "/fraction", 503, "1.5", 1).await;
    answer_with_retry_after(&server, "/error", 500, "30", 1).await;
    answer_with_retry_after(&server, "/ok", 200, "30", 1).await;
    answer_with_retry_after(&server, "/zero", 503, "0", 1).await;
    let (cb, _clock) = manual_breaker(secs(5), 10);
    let client = BreakerClient::builder(reqwest::Client::new(), cb)
        .honour_retry_after(secs(60))
        .build()
        .unwrap();

    for route in ["/garbage", "/fraction", "/error", "/ok", "/zero"] {
        client.send(get(&server, route)).await.expect("a response");
        assert_eq!(client.breaker().state(), State::Closed, "after {route}");
    }
    // Each 5xx still counted as a failure.
    assert_eq!(client.breaker().errors_in_window(), 4);
    server.verify().await;
}

#[tokio::test]
async fn a_classifier_can_read_the_headers() {
    let server = MockServer::start().await;
    Mock::given(path("/overloaded"))
        .respond_with(ResponseTemplate::new(200).insert_header("x-overloaded", "1"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/fine"))
        .respond_with(ResponseTemplate::new(200).insert_header("x-overloaded", "0"))
        .expect(3)
        .mount(&server)
        .await;
    let overloaded = |attempt: &Attempt<'_>| match attempt {
        Attempt::Response { headers, .. }
            if headers.get("x-overloaded").is_some_and(|v| v == "1") =>
        {
            Outcome::Failure
        }
        other => default_classifier(other),
    };
    let (cb, _clock) = manual_breaker(secs(5), 1);
    // The cap set before the classifier is kept by it.
    let client = BreakerClient::builder(reqwest::Client::new(), cb)
        .honour_retry_after(secs(60))
        .build()
        .unwrap()
        .with_classifier(overloaded);

    for _ in 0..3 {
        assert_eq!(status(client.send(get(&server, "/fine")).await), 200);
    }
    assert_eq!(client.breaker().errors_in_window(), 0);
    for _ in 0..2 {
        assert_eq!(status(client.send(get(&server, "/overloaded")).await), 200);
    }
    assert_eq!(client.breaker().errors_in_window(), 2);
    assert_eq!(client.breaker().state(), State::Open);
    assert_eq!(rejected_for(&client, &server, "/fine").await, secs(5));
    server.verify().await;
}

#[tokio::test]
async fn a_client_without_headers_has_no_retry_after_to_honour() {
    let (cb, _clock) = manual_breaker(secs(5), 3);
    let client = BreakerClient::builder(Counting::new(StatusCode::SERVICE_UNAVAILABLE), cb)
        .honour_retry_after(secs(60))
        .build()
        .unwrap();
    assert_eq!(client.send(()).await.unwrap(), 503);
    assert_eq!(client.breaker().state(), State::Closed);
    assert_eq!(client.breaker().errors_in_window(), 1);
}

#[test]
fn a_zero_retry_after_cap_is_refused() {
    let client = BreakerClient::builder(reqwest::Client::new(), CircuitBreaker::new(secs(5), 3));
    assert_eq!(
        client
            .honour_retry_after(Duration::ZERO)
            .build()
            .unwrap_err(),
        ConfigError::ZeroRetryAfterCap
    );
}
