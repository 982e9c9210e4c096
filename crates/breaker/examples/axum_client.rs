//! The tower layer in an axum service, both ways round, on loopback:
//!
//! - *client side*: a handler of an axum router calls its downstream through a hyper-util client
//!   behind the breaker, and answers 503 with `Retry-After` while the downstream's circuit is open,
//!   without sending it anything;
//! - *router as the inner service*: the same layer around an axum `Router` itself, called in
//!   process with `oneshot`, so a route that keeps failing is shed by its own breaker.
//!
//! `cargo run -p breaker --example axum_client --features tower`

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Request, Response, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use breaker::tower::{CircuitBreakerLayer, CircuitBreakerService};
use breaker::{CircuitBreaker, Error, Outcome};
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::{Client, connect::HttpConnector};
use hyper_util::rt::TokioExecutor;
use tower::{Layer, ServiceExt};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

type Reply = Result<Response<hyper::body::Incoming>, hyper_util::client::legacy::Error>;
type Classifier = fn(&Reply) -> Outcome;
type Downstream = CircuitBreakerService<Client<HttpConnector, Empty<Bytes>>, Classifier>;

/// A 5xx is a failure, though hyper returns it as `Ok`.
fn server_errors_fail(reply: &Reply) -> Outcome {
    match reply {
        Ok(response) if response.status().is_server_error() => Outcome::Failure,
        Ok(_) => Outcome::Success,
        Err(_) => Outcome::Failure,
    }
}

#[derive(Clone)]
struct App {
    downstream: Downstream,
    uri: axum::http::Uri,
}

/// The handler: forwards to the downstream through the breaker.
async fn quote(State(app): State<App>) -> axum::response::Response {
    let request = Request::get(app.uri.clone())
        .body(Empty::new())
        .expect("a GET");
    match app.downstream.oneshot(request).await {
        Ok(reply) if reply.status().is_success() => (StatusCode::OK, "a quote").into_response(),
        Ok(_) | Err(Error::Inner(_)) => StatusCode::BAD_GATEWAY.into_response(),
        Err(Error::Open(open)) => {
            let secs = open.retry_after().as_secs_f64().ceil().to_string();
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::RETRY_AFTER, secs)],
            )
                .into_response()
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // Client side: a downstream that answers 500, behind a breaker with T = 1.
    let downstream = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&downstream)
        .await;
    let cb = CircuitBreaker::new(Duration::from_secs(5), 1);
    let client = Client::builder(TokioExecutor::new()).build_http();
    let layer = CircuitBreakerLayer::new(cb).with_classifier(server_errors_fail as Classifier);
    let app = App {
        downstream: layer.layer(client),
        uri: downstream.uri().parse().expect("a mock server's URI"),
    };
    let router = Router::new().route("/quote", get(quote)).with_state(app);
    for i in 1..=4 {
        let response = router
            .clone()
            .oneshot(Request::get("/quote").body(Body::empty()).expect("a GET"))
            .await
            .expect("a router never fails");
        let retry = response.headers().get(header::RETRY_AFTER).cloned();
        println!(
            "GET /quote {i}: {} (Retry-After {retry:?})",
            response.status()
        );
    }
    let sent = downstream.received_requests().await.map_or(0, |r| r.len());
    println!("the downstream saw {sent} requests");

    // The router as the inner service: a route that fails sheds itself once T = 1 is exceeded.
    let route = Router::new().route(
        "/flaky",
        get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
    );
    let shed = CircuitBreakerLayer::new(CircuitBreaker::new(Duration::from_secs(5), 1))
        .with_classifier(|r: &Result<axum::response::Response, Infallible>| match r {
            Ok(response) if response.status().is_server_error() => Outcome::Failure,
            _ => Outcome::Success,
        })
        .layer(route);
    for i in 1..=3 {
        let request = Request::get("/flaky").body(Body::empty()).expect("a GET");
        match shed.clone().oneshot(request).await {
            Ok(response) => println!("GET /flaky {i}: {}", response.status()),
            Err(Error::Open(open)) => {
                println!("GET /flaky {i}: shed, retry in {:?}", open.retry_after())
            }
            Err(Error::Inner(never)) => match never {},
        }
    }
}
