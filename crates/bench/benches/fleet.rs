//! A local admission in fleet mode against plain mode: a success while closed, side by side in
//! one run. The fleet breaker is joined to a real `redis-server` that the bench starts on a free
//! loopback port (and kills at the end); without `redis-server`, the bench says so and times
//! plain mode alone.

use std::hint::black_box;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use breaker::CircuitBreaker;
use breaker_redis::Fleet;
use criterion::{Criterion, criterion_group, criterion_main};

struct Redis(Child);

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A redis-server on a free port, and its URL; `None` if it cannot be started.
fn redis() -> Option<(Redis, String)> {
    let port = TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
        ])
        .args(["--appendonly", "no"])
        .stdout(Stdio::null())
        .spawn()
        .ok()?;
    let redis = Redis(child);
    for _ in 0..500 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some((redis, format!("redis://127.0.0.1:{port}/")));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    None
}

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
    let server = redis();
    let fleet = server.as_ref().map(|(_, url)| {
        let _enter = runtime.enter();
        let fleet = Fleet::builder(url.as_str())
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
