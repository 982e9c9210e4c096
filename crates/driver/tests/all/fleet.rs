//! `driver --redis`: two driver processes share one circuit through a real `redis-server`
//! (started by the test on a free loopback port, killed when it ends), in front of the sum
//! service in process.

use std::process::{Command, Output};

#[path = "../../../breaker-redis/tests/support/redis_server.rs"]
mod redis_server;
use redis_server::Redis;

use crate::support::{BOUND, Service};

fn driver(args: Vec<String>) -> tokio::task::JoinHandle<Output> {
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_driver"))
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run the driver")
    })
}

#[actix_web::test]
async fn a_driver_sending_only_good_sums_is_opened_by_anothers_failures() {
    let Some(redis) = Redis::start_or_skip() else {
        return;
    };
    let service = Service::spawn();
    let port = service.port.to_string();

    let url = redis.url();
    let args = |requests: &str, error_rate: &str, interval: &str| -> Vec<String> {
        [
            port.as_str(),
            "--redis",
            &url,
            "--scenario",
            "random",
            "--window",
            "30",
            "--threshold",
            "2",
            "--requests",
            requests,
            "--error-rate",
            error_rate,
            "--interval",
            interval,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    // The good one keeps asking long enough to hear of the trip; the bad one sends 3 bad sums.
    let good = driver(args("40", "0", "0.1"));
    let bad = driver(args("3", "1", "0.1"));
    let bad = tokio::time::timeout(BOUND, bad)
        .await
        .expect("bad ends")
        .unwrap();
    let good = tokio::time::timeout(BOUND, good)
        .await
        .expect("good ends")
        .unwrap();
    service.stop().await;

    let bad = String::from_utf8(bad.stdout).unwrap();
    let good = String::from_utf8(good.stdout).unwrap();
    assert!(bad.contains("closed -> open  (failure_count)"), "{bad}");
    assert!(good.contains("closed -> open  (remote)"), "{good}");
    assert!(good.contains("0 failed"), "{good}");
    assert!(good.contains("CIRCUIT OPEN: Please wait"), "{good}");
    assert!(
        good.contains("Fleet mode: circuit `sum-service` shared through"),
        "{good}"
    );
}
