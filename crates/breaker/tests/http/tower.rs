//! The tower layer: around `service_fn` and around a hyper-util client against a wiremock server.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use breaker::tower::{CircuitBreakerLayer, CircuitBreakerService};
use breaker::{CircuitBreaker, Error, Outcome, State};
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Layer, Service, ServiceBuilder, ServiceExt, service_fn};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::support::{Timeline, secs};

/// A service that counts its calls and fails every request that is `false`.
fn counting(
    calls: Arc<AtomicUsize>,
) -> impl Service<bool, Response = u32, Error = &'static str> + Clone {
    service_fn(move |ok: bool| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move { if ok { Ok(7) } else { Err("failed") } }
    })
}

#[tokio::test]
async fn an_open_circuit_never_reaches_the_inner_service() {
    let t = Timeline::new(secs(5), 1);
    let calls = Arc::new(AtomicUsize::new(0));
    let mut svc = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(t.cb.clone()))
        .service(counting(calls.clone()));

    for _ in 0..2 {
        let r = svc.ready().await.unwrap().call(false).await;
        assert!(matches!(r, Err(Error::Inner("failed"))));
    }
    assert_eq!(t.cb.state(), State::Open);
    for _ in 0..5 {
        match svc.ready().await.unwrap().call(true).await {
            Err(Error::Open(open)) => assert_eq!(open.retry_after(), secs(5)),
            other => panic!("not rejected: {other:?}"),
        }
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the rejected requests were not sent"
    );

    t.advance(secs(5));
    assert_eq!(svc.ready().await.unwrap().call(true).await.unwrap(), 7);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn the_classifier_decides_and_the_response_is_returned_anyway() {
    let t = Timeline::new(secs(5), 0);
    let calls = Arc::new(AtomicUsize::new(0));
    // Every `Ok` below 10 is a failure; errors are ignored.
    let layer =
        CircuitBreakerLayer::new(t.cb.clone()).with_classifier(|r: &Result<u32, &'static str>| {
            match r {
                Ok(n) if *n < 10 => Outcome::Failure,
                Ok(_) => Outcome::Success,
                Err(_) => Outcome::Ignored,
            }
        });
    let mut svc = layer.layer(counting(calls.clone()));
    for _ in 0..3 {
        assert!(matches!(
            svc.ready().await.unwrap().call(false).await,
            Err(Error::Inner(_))
        ));
    }
    assert_eq!(t.cb.state(), State::Closed, "ignored errors do not count");
    assert_eq!(
        svc.ready().await.unwrap().call(true).await.unwrap(),
        7,
        "returned, and a failure"
    );
    assert_eq!(t.cb.state(), State::Open);
}

#[tokio::test]
async fn clones_share_the_breaker_and_a_dropped_future_records_nothing() {
    let t = Timeline::new(secs(5), 0);
    let calls = Arc::new(AtomicUsize::new(0));
    let svc = CircuitBreakerService::new(counting(calls.clone()), t.cb.clone());
    let mut clone = svc.clone();

    // Made, then dropped unpolled: the call was cancelled.
    let future = clone.ready().await.unwrap().call(false);
    drop(future);
    assert_eq!(t.cb.errors_in_window(), 0);

    let mut other = svc.clone();
    assert!(other.ready().await.unwrap().call(false).await.is_err());
    let mut first = svc;
    assert!(matches!(
        first.ready().await.unwrap().call(true).await,
        Err(Error::Open(_))
    ));
    assert_eq!(
        first
            .get_ref()
            .clone()
            .ready()
            .await
            .unwrap()
            .call(true)
            .await,
        Ok(7)
    );
}

fn assert_send_static<T: Send + 'static>(_: &T) {}

#[tokio::test]
async fn a_tower_wrapped_hyper_client_sends_nothing_while_open() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(2) // T = 1: the second failure opens the circuit, then nothing is sent
        .mount(&server)
        .await;

    let cb = CircuitBreaker::new(Duration::from_secs(60), 1);
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>();
    let mut svc = ServiceBuilder::new()
        .layer(CircuitBreakerLayer::new(cb.clone()).with_classifier(
            |r: &Result<
                http::Response<hyper::body::Incoming>,
                hyper_util::client::legacy::Error,
            >| {
                match r {
                    Ok(response) if response.status().is_server_error() => Outcome::Failure,
                    Ok(_) => Outcome::Success,
                    Err(_) => Outcome::Failure,
                }
            },
        ))
        .service(client);

    let uri: http::Uri = server.uri().parse().unwrap();
    for i in 0..6 {
        let request = http::Request::get(uri.clone()).body(Empty::new()).unwrap();
        let future = svc.ready().await.unwrap().call(request);
        assert_send_static(&future);
        match (i, future.await) {
            // The 503 is returned to the caller as a response.
            (0 | 1, Ok(response)) => assert_eq!(response.status(), 503),
            (2.., Err(Error::Open(_))) => {}
            (i, other) => panic!("request {i}: {other:?}"),
        }
    }
    assert_eq!(cb.state(), State::Open);
    server.verify().await;
}
