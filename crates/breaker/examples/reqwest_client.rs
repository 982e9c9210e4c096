//! Sends a few `GET` requests to a URL through a [`BreakerClient`] and prints what became of
//! each: the status that came back, the error, or the rejection by the open circuit.
//!
//! It starts no server. Point it at one, the sum service say:
//!
//! ```text
//! cargo run -p breaker --example reqwest_client -- http://127.0.0.1:8080/ [requests]
//! ```

use std::time::Duration;

use breaker::http::BreakerClient;
use breaker::{CircuitBreaker, Error};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let Some(url) = args.next() else {
        eprintln!("usage: reqwest_client URL [REQUESTS]");
        std::process::exit(2);
    };
    let url: reqwest::Url = url.parse()?;
    let requests: u32 = match args.next() {
        Some(n) => n.parse()?,
        None => 8,
    };

    let client = BreakerClient::builder(
        reqwest::Client::new(),
        CircuitBreaker::new(Duration::from_secs(5), 3),
    )
    .timeout(Duration::from_secs(2))
    .build()?;

    for n in 1..=requests {
        let request = reqwest::Request::new(reqwest::Method::GET, url.clone());
        let outcome = match client.send(request).await {
            Ok(response) => format!("{}", response.status()),
            Err(Error::Open(open)) => format!("rejected: {open}"),
            Err(Error::Inner(e)) => format!("failed: {e}"),
        };
        println!(
            "{n:>3}: {outcome} (circuit {}, {} failure(s) in the window)",
            client.breaker().state(),
            client.breaker().errors_in_window(),
        );
    }
    Ok(())
}
