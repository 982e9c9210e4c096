//! A reqwest-middleware client behind one circuit breaker, against a stand-in downstream on
//! loopback that answers 500: the rejection downcasts to `CircuitOpenError`.
//!
//! `cargo run -p breaker --example middleware --features reqwest-middleware`

use std::time::Duration;

use breaker::middleware::CircuitBreakerMiddleware;
use breaker::{CircuitBreaker, CircuitOpenError};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let downstream = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(500))
        .mount(&downstream)
        .await;

    let cb = CircuitBreaker::new(Duration::from_secs(5), 1);
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(CircuitBreakerMiddleware::new(cb))
        .build();

    for i in 1..=4 {
        match client.get(downstream.uri()).send().await {
            Ok(response) => println!("request {i}: {}", response.status()),
            Err(reqwest_middleware::Error::Middleware(e)) if e.is::<CircuitOpenError>() => {
                let open = e.downcast_ref::<CircuitOpenError>().expect("checked");
                println!("request {i}: rejected, retry in {:?}", open.retry_after());
            }
            Err(e) => println!("request {i}: failed: {e}"),
        }
    }
}
