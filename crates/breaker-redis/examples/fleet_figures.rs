//! The figures of fleet mode on one machine, against a Redis server given by URL:
//!
//! - the time from a failure recorded in one member to the open circuit in another (two
//!   members with connections of their own; both in this process, so that both instants are
//!   read on one monotonic clock), p50 and p99 over `SAMPLES` trips;
//! - failures published per second by one member, recorded in bursts the channel takes whole
//!   (the member is forced closed, so that every failure is admitted).
//!
//! `cargo run --release -p breaker-redis --example fleet_figures -- redis://127.0.0.1:6379/`
//! (it writes keys under `breaker:{figures-…}` and deletes them).

use std::time::{Duration, Instant};

use breaker::{CircuitBreaker, State};
use breaker_redis::{Fleet, Link, Names};

const SAMPLES: usize = 500;
const W: Duration = Duration::from_secs(60);

fn member(
    url: &str,
    name: &str,
    threshold: u32,
    opened: Option<tokio::sync::mpsc::UnboundedSender<Instant>>,
) -> Fleet {
    let mut builder = CircuitBreaker::builder()
        .name(name)
        .window(W)
        .error_threshold(threshold);
    if let Some(opened) = opened {
        builder = builder.on_state_change(move |c| {
            if c.to == State::Open {
                let _ = opened.send(Instant::now());
            }
        });
    }
    Fleet::builder(url)
        .backlog(100_000)
        .build(builder)
        .expect("a fleet member")
}

async fn joined(fleet: &Fleet) {
    let mut link = fleet.link();
    tokio::time::timeout(
        Duration::from_secs(10),
        link.wait_for(|l| *l == Link::Joined),
    )
    .await
    .expect("joined within 10 s")
    .expect("the task runs");
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args()
        .nth(1)
        .ok_or("usage: fleet_figures REDIS_URL")?;
    let client = redis::Client::open(url.as_str())?;
    let mut conn = client.get_multiplexed_async_connection().await?;
    let name = format!("figures-{}", std::process::id());

    // Failure here, open there: T = 0, so that each failure trips; both reset between samples
    // and the fleet's window is deleted.
    let (opened, mut opens) = tokio::sync::mpsc::unbounded_channel();
    let a = member(&url, &name, 0, None);
    let b = member(&url, &name, 0, Some(opened));
    joined(&a).await;
    joined(&b).await;
    let names = Names::new(&name, W, 0);
    let mut latencies = Vec::with_capacity(SAMPLES);
    for i in 0..SAMPLES as u64 {
        let start = Instant::now();
        a.breaker().try_acquire().expect("closed").failure();
        let seen = tokio::time::timeout(Duration::from_secs(5), opens.recv())
            .await
            .map_err(|_| "no trip within 5 s")?
            .ok_or("B is gone")?;
        latencies.push(seen - start);
        // A hears its own trip too: wait for it, so that it cannot reopen A after the reset.
        tokio::time::timeout(Duration::from_secs(5), async {
            while a.stats().remote_trips <= i {
                tokio::task::yield_now().await;
            }
        })
        .await
        .map_err(|_| "A never heard its own trip")?;
        let _: () = redis::cmd("DEL")
            .arg(&names.failures)
            .arg(&names.sequence)
            .query_async(&mut conn)
            .await?;
        a.breaker().reset();
        b.breaker().reset();
    }
    latencies.sort();
    println!(
        "failure -> open in another member: p50 {:?}, p99 {:?}, max {:?} ({SAMPLES} trips)",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies[latencies.len() - 1]
    );
    drop((a, b));

    // Published per second: bursts of 4000 (the channel's length), each flushed before the next.
    let name = format!("{name}-rate");
    let p = member(&url, &name, 1000, None);
    joined(&p).await;
    // Forced closed: every failure is admitted and recorded (and published), none trips it.
    p.breaker().force_closed();
    let (bursts, burst) = (25, 4000);
    let start = Instant::now();
    for _ in 0..bursts {
        for _ in 0..burst {
            p.breaker().try_acquire().expect("closed").failure();
        }
        if !p.flush(Duration::from_secs(30)).await {
            return Err("a burst was not published within 30 s".into());
        }
    }
    let elapsed = start.elapsed();
    let stats = p.stats();
    println!(
        "failures published: {} in {:?}, {:.0}/s ({} dropped)",
        stats.published,
        elapsed,
        stats.published as f64 / elapsed.as_secs_f64(),
        stats.dropped
    );
    let names = Names::new(&name, W, 1000);
    let _: () = redis::cmd("DEL")
        .arg(&names.failures)
        .arg(&names.sequence)
        .query_async(&mut conn)
        .await?;
    Ok(())
}
