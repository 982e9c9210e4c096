//! Losing Redis is said once: one `warn` event and the gauge `breaker_fleet_connected` at 0,
//! however many reconnections fail; dropped failures are counted; rejoining is said once too.
//! A binary of its own: the metrics recorder and the tracing subscriber are process-wide.

#[path = "support/redis_server.rs"]
mod redis_server;
#[path = "fleet/support.rs"]
#[allow(dead_code)]
mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use breaker::CircuitBreaker;
use breaker_redis::{Fleet, Link};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::{CompositeKey, MetricKind};
use support::{GUARD, Redis, fail, wait_link, wait_until};

/// Counts the events at target `breaker_redis`, by level.
#[derive(Default)]
struct Events {
    warn: AtomicU32,
    info: AtomicU32,
}

struct Counting(Arc<Events>);

impl tracing::Subscriber for Counting {
    fn enabled(&self, meta: &tracing::Metadata<'_>) -> bool {
        meta.target() == "breaker_redis"
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        match *event.metadata().level() {
            tracing::Level::WARN => self.0.warn.fetch_add(1, Ordering::SeqCst),
            tracing::Level::INFO => self.0.info.fetch_add(1, Ordering::SeqCst),
            _ => 0,
        };
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

/// The value of metric `name` of `kind` labelled `breaker="obs"`, in a fresh snapshot.
fn value(snapshotter: &Snapshotter, kind: MetricKind, name: &str) -> Option<DebugValue> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .find(|(key, _, _, _): &(CompositeKey, _, _, _)| {
            key.kind() == kind
                && key.key().name() == name
                && key
                    .key()
                    .labels()
                    .any(|l| l.key() == "breaker" && l.value() == "obs")
        })
        .map(|(_, _, _, v)| v)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn losing_redis_is_said_once_and_rejoining_too() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this binary");
    let events = Arc::new(Events::default());
    tracing::subscriber::set_global_default(Counting(events.clone()))
        .expect("the only subscriber of this binary");
    let connected = |s: &Snapshotter| value(s, MetricKind::Gauge, "breaker_fleet_connected");

    let Some(mut redis) = Redis::start_or_skip() else {
        return;
    };
    let fleet = Fleet::builder(redis.url())
        .backlog(2)
        .command_timeout(Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(200))
        .heartbeat(Duration::from_millis(50))
        .backoff(Duration::from_millis(10), Duration::from_millis(20))
        .build(
            CircuitBreaker::builder()
                .name("obs")
                .window(Duration::from_secs(30))
                .error_threshold(100),
        )
        .unwrap();
    wait_link(&fleet, Link::Joined).await;
    // (No snapshot here: taking one resets the debugging recorder's gauges to 0, and the 0
    // checked below must be the task's own.)

    redis.kill();
    // Every failed attempt tells the link again: wait for several.
    let mut link = fleet.link();
    let mut failed_attempts = 0;
    tokio::time::timeout(GUARD, async {
        while failed_attempts < 5 {
            link.changed().await.expect("the task runs");
            if *link.borrow_and_update() == Link::LocalOnly {
                failed_attempts += 1;
            }
        }
    })
    .await
    .expect("five failed attempts");
    assert_eq!(events.warn.load(Ordering::SeqCst), 1, "said once");
    assert_eq!(connected(&snapshotter), Some(DebugValue::Gauge(0.0.into())));

    // A backlog of 2: of 5 failures, the 3 oldest are dropped and counted.
    fail(fleet.breaker(), 5);
    wait_until("3 dropped", || fleet.stats().dropped == 3).await;
    assert_eq!(
        value(
            &snapshotter,
            MetricKind::Counter,
            "breaker_fleet_failures_dropped_total"
        ),
        Some(DebugValue::Counter(3))
    );

    redis.restart();
    wait_link(&fleet, Link::Joined).await;
    wait_until("the 2 kept are published", || fleet.stats().published == 2).await;
    assert_eq!(events.info.load(Ordering::SeqCst), 1, "rejoining said once");
    assert_eq!(events.warn.load(Ordering::SeqCst), 1);
    assert_eq!(connected(&snapshotter), Some(DebugValue::Gauge(1.0.into())));
}
