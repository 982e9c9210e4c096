//! One breaker per downstream host: a failing host's circuit opens while a healthy host is
//! still served, and the registry stays bounded.
//!
//! `cargo run -p breaker --example per_host --features reqwest-middleware`

use std::time::Duration;

use breaker::middleware::CircuitBreakerMiddleware;
use breaker::{CircuitBreaker, Registry};
use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let failing = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(503))
        .mount(&failing)
        .await;
    let healthy = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&healthy)
        .await;

    let hosts = Registry::new(|origin: &String| {
        CircuitBreaker::builder()
            .name(origin.clone())
            .window(Duration::from_secs(5))
            .error_threshold(1)
            .build()
            .expect("a valid configuration")
    })
    .max_keys(256);
    let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(CircuitBreakerMiddleware::per_host(hosts.clone()))
        .build();

    for _ in 0..3 {
        for server in [&failing, &healthy] {
            let answer = match client.get(server.uri()).send().await {
                Ok(response) => response.status().to_string(),
                Err(e) => format!("not sent: {e}"),
            };
            println!("{}: {answer}", server.uri());
        }
    }
    for server in [&failing, &healthy] {
        println!("{} is {}", server.uri(), hosts.get(&server.uri()).state());
    }
}
