//! A local admission in fleet mode against plain mode: a success while closed, side by side in
//! one run. The fleet breaker is joined to a real `redis-server` that the bench starts on a free
//! loopback port (and kills at the end); without `redis-server`, the bench says so and times
//! plain mode alone.

use std::hint::black_box;
use std::time::Duration;

use breaker::CircuitBreaker;
use breaker_redis::Fleet;
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../../breaker-redis/tests/support/redis_server.rs"]
mod redis_server;
use redis_server::Redis;

fn admission(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let plain = CircuitBreaker::builder()
        .name("bench")
        .window(Duration::from_secs(5))
        .error_threshold(3)
        .build()
        .unwrap();
    let server = Redis::try_start().ok();
    let fleet = server.as_ref().map(|redis| {
        let _enter = runtime.enter();
        let fleet = Fleet::builder(redis.url().as_str())
            .build(
                CircuitBreaker::builder()
                    .name("bench")
                    .window(Duration::from_secs(5))
                    .error_threshold(3),
            )
            .expect("a fleet breaker");
        let mut link = fleet.link();
        runtime.block_on(async {
            tokio::time::timeout(
                Duration::from_secs(10),
                link.wait_for(|l| *l == breaker_redis::Link::Joined),
            )
            .await
            .expect("joined within 10 s")
            .expect("the fleet task runs");
        });
        fleet
    });
    if fleet.is_none() {
        eprintln!("fleet: no redis-server could be started; timing plain mode alone");
    }
    let mut g = c.benchmark_group("fleet_admission");
    g.bench_function("plain", |b| {
        b.iter(|| black_box(&plain).try_acquire().map(|p| p.success()))
    });
    if let Some(fleet) = &fleet {
        let cb = fleet.breaker();
        g.bench_function("fleet", |b| {
            b.iter(|| black_box(cb).try_acquire().map(|p| p.success()))
        });
    }
    g.finish();
    drop(fleet);
    drop(server);
}

criterion_group!(benches, admission);
criterion_main!(benches);
