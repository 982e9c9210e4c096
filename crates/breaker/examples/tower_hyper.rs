//! A hyper-util client behind the tower layer, against a stand-in downstream on loopback that
//! answers 503: two failures exceed T = 1, and the rest are rejected without being sent.
//!
//! `cargo run -p breaker --example tower_hyper --features tower`

use std::time::Duration;

use breaker::tower::CircuitBreakerLayer;
use breaker::{CircuitBreaker, Error, Outcome};
use bytes::Bytes;
use http_body_util::Empty;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tower::{Service, ServiceBuilder, ServiceExt};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

type Reply = Result<http::Response<hyper::body::Incoming>, hyper_util::client::legacy::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let downstream = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .mount(&downstream)
        .await;

    let cb = CircuitBreaker::new(Duration::from_secs(5), 1);
    let mut client = ServiceBuilder::new()
        // A 5xx response is a failure, though hyper returns it as `Ok`.
        .layer(
            CircuitBreakerLayer::new(cb).with_classifier(|r: &Reply| match r {
                Ok(response) if response.status().is_server_error() => Outcome::Failure,
                Ok(_) => Outcome::Success,
                Err(_) => Outcome::Failure,
            }),
        )
        .service(Client::builder(TokioExecutor::new()).build_http::<Empty<Bytes>>());

    let uri: http::Uri = downstream.uri().parse().expect("a mock server's URI");
    for i in 1..=4 {
        let request = http::Request::get(uri.clone())
            .body(Empty::new())
            .expect("a GET");
        match client.ready().await.expect("ready").call(request).await {
            Ok(response) => println!("request {i}: {}", response.status()),
            Err(Error::Open(open)) => {
                println!("request {i}: rejected, retry in {:?}", open.retry_after())
            }
            Err(Error::Inner(e)) => println!("request {i}: failed: {e}"),
        }
    }
}
