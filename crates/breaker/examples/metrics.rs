//! A named breaker's metrics through the `metrics` facade, read back from a recorder: calls by
//! outcome, the state gauge and the state changes. Any recorder works (Prometheus's exporter,
//! say); this one prints what it holds.
//!
//! `cargo run -p breaker --example metrics --features metrics`

use std::time::Duration;

use breaker::CircuitBreaker;
use metrics_util::debugging::DebuggingRecorder;

fn main() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // Install the recorder first: a breaker binds its metrics when it is built.
    recorder.install().expect("no other recorder installed");

    let cb = CircuitBreaker::builder()
        .name("payments")
        .window(Duration::from_secs(5))
        .error_threshold(1)
        .build()
        .expect("a valid configuration");
    if let Ok(p) = cb.try_acquire() {
        p.success();
    }
    for _ in 0..3 {
        if let Ok(p) = cb.try_acquire() {
            p.failure();
        }
    }

    let mut lines: Vec<String> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let labels: Vec<String> = key
                .key()
                .labels()
                .map(|l| format!("{}=\"{}\"", l.key(), l.value()))
                .collect();
            format!("{}{{{}}} {value:?}", key.key().name(), labels.join(","))
        })
        .collect();
    lines.sort();
    for line in lines {
        println!("{line}");
    }
}
