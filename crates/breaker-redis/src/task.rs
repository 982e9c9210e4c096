//! The background task: publishes failures in batches, hears trips, and reconnects.
//!
//! One task per fleet breaker, in two phases that alternate: *joined* (a script connection and a
//! subscription, serving failures, trips and heartbeats) and *local only* (waiting out a backoff
//! step while still taking failures into the backlog). Every await on Redis runs under a
//! timeout, so a server that stops answering (SIGSTOP, a cut link) ends the joined phase within
//! one command timeout, and nothing ever waits on the calls' side.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use breaker::CircuitBreaker;
use futures_util::StreamExt;
use redis::aio::{MultiplexedConnection, PubSubStream};
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;

use crate::script::{self, Names};
use crate::{Link, Shared};

/// The settings the builder checked.
pub(crate) struct Settings {
    pub(crate) command_timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) heartbeat: Duration,
    pub(crate) backlog: usize,
    pub(crate) backoff: (Duration, Duration),
}

pub(crate) struct Task {
    pub(crate) client: redis::Client,
    pub(crate) breaker: CircuitBreaker,
    pub(crate) names: Names,
    pub(crate) name: String,
    pub(crate) window: Duration,
    pub(crate) threshold: u32,
    pub(crate) settings: Settings,
    pub(crate) shared: Arc<Shared>,
    pub(crate) dropped_total: metrics::Counter,
    pub(crate) link: watch::Sender<Link>,
    pub(crate) failures: mpsc::Receiver<Instant>,
}

/// Why a joined phase ended.
enum Lost {
    /// Redis failed or did not answer in time: `what` was being done.
    Redis(&'static str, String),
    /// Every handle on the breaker is gone: nothing is left to serve.
    Closed,
}

/// The failures not yet published, bounded: the oldest go first.
struct Backlog {
    stamps: VecDeque<Instant>,
    cap: usize,
}

impl Backlog {
    fn new(cap: usize) -> Self {
        Self {
            stamps: VecDeque::with_capacity(cap.min(1024)),
            cap,
        }
    }

    /// Adds a failure; returns how many were dropped to make room (0 or 1).
    fn push(&mut self, at: Instant) -> u64 {
        let mut dropped = 0;
        if self.stamps.len() >= self.cap {
            self.stamps.pop_front();
            dropped = 1;
        }
        self.stamps.push_back(at);
        dropped
    }

    /// Drops the failures that are at least `window` old at `now`; returns how many.
    fn expire(&mut self, now: Instant, window: Duration) -> u64 {
        let before = self.stamps.len();
        while self
            .stamps
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= window)
        {
            self.stamps.pop_front();
        }
        (before - self.stamps.len()) as u64
    }
}

/// The reconnection backoff: exponential, with jitter.
struct Backoff {
    min: Duration,
    max: Duration,
    step: Duration,
}

impl Backoff {
    fn new((min, max): (Duration, Duration)) -> Self {
        Self {
            min,
            max,
            step: min,
        }
    }

    fn reset(&mut self) {
        self.step = self.min;
    }

    /// The next wait: between half and all of the current step; the step then doubles, up to
    /// the maximum.
    fn next(&mut self) -> Duration {
        let step = self.step;
        self.step = (step * 2).min(self.max);
        step.mul_f64(0.5 + fastrand::f64() / 2.0)
    }
}

impl Task {
    pub(crate) async fn run(mut self) {
        let label = self.name.clone();
        let connected = metrics::gauge!("breaker_fleet_connected", "breaker" => label.clone());
        connected.set(0.0);
        let script = redis::Script::new(script::LUA);
        let mut backlog = Backlog::new(self.settings.backlog);
        let mut backoff = Backoff::new(self.settings.backoff);
        let mut said_local = false;
        loop {
            let lost = match self.join(&script).await {
                Ok((conn, trips)) => {
                    backoff.reset();
                    self.shared.connected.store(true, Ordering::Release);
                    connected.set(1.0);
                    self.link.send_replace(Link::Joined);
                    if said_local {
                        tracing::info!(target: "breaker_redis", breaker = %label, "fleet: rejoined");
                        said_local = false;
                    }
                    self.serve(&script, conn, trips, &mut backlog).await
                }
                Err(lost) => lost,
            };
            self.shared.connected.store(false, Ordering::Release);
            self.shared.progress.notify_waiters();
            connected.set(0.0);
            match lost {
                Lost::Closed => return,
                Lost::Redis(what, error) => {
                    if !said_local {
                        tracing::warn!(
                            target: "breaker_redis",
                            breaker = %label,
                            what,
                            error = %error,
                            "fleet: Redis unreachable, working locally"
                        );
                        said_local = true;
                    }
                    self.link.send_replace(Link::LocalOnly);
                }
            }
            let wait = tokio::time::sleep(backoff.next());
            tokio::pin!(wait);
            loop {
                tokio::select! {
                    () = &mut wait => break,
                    failure = self.failures.recv() => match failure {
                        Some(at) => self.keep(&mut backlog, at),
                        None => return,
                    },
                }
            }
        }
    }

    /// Connects, subscribes, and applies a trip the fleet is in now.
    async fn join(
        &mut self,
        script: &redis::Script,
    ) -> Result<(MultiplexedConnection, PubSubStream), Lost> {
        let limit = self.settings.connect_timeout;
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(limit))
            .set_response_timeout(Some(self.settings.command_timeout));
        let conn = timeout(
            limit,
            self.client
                .get_multiplexed_async_connection_with_config(&config),
        )
        .await;
        let mut conn = redis_result("connecting", conn)?;
        let subscribed = timeout(limit, async {
            let mut pubsub = self.client.get_async_pubsub().await?;
            pubsub.subscribe(&self.names.trips).await?;
            Ok::<_, redis::RedisError>(pubsub.into_on_message())
        })
        .await;
        let trips = redis_result("subscribing", subscribed)?;
        // A trip made while this process was away: ask with an empty batch.
        let remaining = self.invoke(script, &mut conn, &[]).await?;
        self.apply(remaining);
        Ok((conn, trips))
    }

    /// The joined phase: until Redis fails, or the breaker is gone.
    async fn serve(
        &mut self,
        script: &redis::Script,
        mut conn: MultiplexedConnection,
        mut trips: PubSubStream,
        backlog: &mut Backlog,
    ) -> Lost {
        let mut heartbeat = tokio::time::interval(self.settings.heartbeat);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        heartbeat.reset();
        loop {
            if let Err(lost) = self.flush(script, &mut conn, backlog).await {
                return lost;
            }
            tokio::select! {
                biased;
                message = trips.next() => match message {
                    Some(message) => self.trip(message.get_payload_bytes()),
                    None => return Lost::Redis("listening for trips", "the subscription ended".into()),
                },
                failure = self.failures.recv() => match failure {
                    Some(at) => {
                        self.keep(backlog, at);
                        // Whatever else has arrived joins the same batch.
                        while backlog.stamps.len() < script::MAX_BATCH {
                            match self.failures.try_recv() {
                                Ok(at) => self.keep(backlog, at),
                                Err(_) => break,
                            }
                        }
                    }
                    None => return Lost::Closed,
                },
                _ = heartbeat.tick() => {
                    let ping = timeout(
                        self.settings.command_timeout,
                        redis::cmd("PING").query_async::<String>(&mut conn),
                    )
                    .await;
                    if let Err(lost) = redis_result("pinging", ping) {
                        return lost;
                    }
                }
            }
        }
    }

    /// Publishes the backlog, a batch at a time.
    async fn flush(
        &mut self,
        script: &redis::Script,
        conn: &mut MultiplexedConnection,
        backlog: &mut Backlog,
    ) -> Result<(), Lost> {
        let expired = backlog.expire(Instant::now(), self.window);
        self.dropped(expired);
        while !backlog.stamps.is_empty() {
            let now = Instant::now();
            let n = backlog.stamps.len().min(script::MAX_BATCH);
            let ages: Vec<u64> = backlog
                .stamps
                .iter()
                .take(n)
                .map(|&t| {
                    u64::try_from(now.saturating_duration_since(t).as_micros()).unwrap_or(u64::MAX)
                })
                .collect();
            let answer = self.invoke(script, conn, &ages).await;
            backlog.stamps.drain(..n);
            // A batch whose call failed may or may not have reached the server (a stopped
            // server runs what it had read once it resumes): sending it again could count its
            // failures twice and trip the fleet on failures that never happened, so it is
            // dropped and counted. Failures recorded after it wait in the backlog.
            let remaining = match answer {
                Ok(remaining) => remaining,
                Err(lost) => {
                    self.dropped(n as u64);
                    return Err(lost);
                }
            };
            self.shared.published.fetch_add(n as u64, Ordering::Relaxed);
            self.settled(n as u64);
            metrics::counter!("breaker_fleet_failures_published_total", "breaker" => self.name.clone())
                .increment(n as u64);
            self.apply(remaining);
        }
        Ok(())
    }

    /// Runs the script on a batch of failure ages (µs); returns the remaining open time (µs).
    async fn invoke(
        &self,
        script: &redis::Script,
        conn: &mut MultiplexedConnection,
        ages: &[u64],
    ) -> Result<u64, Lost> {
        let mut call = script.prepare_invoke();
        call.key(&self.names.failures)
            .key(&self.names.sequence)
            .arg(u64::try_from(self.window.as_micros()).unwrap_or(u64::MAX))
            .arg(self.threshold)
            .arg(&self.names.trips);
        for age in ages {
            call.arg(*age);
        }
        let answer = timeout(
            self.settings.command_timeout,
            call.invoke_async::<i64>(conn),
        )
        .await;
        let remaining = redis_result("publishing failures", answer)?;
        Ok(u64::try_from(remaining).unwrap_or(0))
    }

    /// The script's answer: open for `micros` more, if any.
    fn apply(&self, micros: u64) {
        if micros > 0 {
            self.breaker
                .open_remote(Duration::from_micros(micros).min(self.window));
        }
    }

    /// A trip message from the channel. Anything that is not one is ignored.
    fn trip(&self, payload: &[u8]) {
        if let Some(remaining) = script::parse_trip(payload, self.window)
            && !remaining.is_zero()
        {
            self.breaker.open_remote(remaining);
            self.shared.remote_trips.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("breaker_fleet_remote_trips_total", "breaker" => self.name.clone())
                .increment(1);
        }
    }

    fn keep(&self, backlog: &mut Backlog, at: Instant) {
        let dropped = backlog.push(at);
        self.dropped(dropped);
    }

    /// `n` more failures are done with.
    fn settled(&self, n: u64) {
        self.shared.settled.fetch_add(n, Ordering::Release);
        self.shared.progress.notify_waiters();
    }

    /// `n` failures the task dropped.
    fn dropped(&self, n: u64) {
        if n > 0 {
            self.dropped_total.increment(n);
            self.shared.dropped.fetch_add(n, Ordering::Relaxed);
            self.settled(n);
        }
    }
}

/// A Redis result under a timeout, or why the joined phase ends.
fn redis_result<T>(
    what: &'static str,
    result: Result<redis::RedisResult<T>, tokio::time::error::Elapsed>,
) -> Result<T, Lost> {
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Lost::Redis(what, e.to_string())),
        Err(_) => Err(Lost::Redis(what, "timed out".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_backlog_drops_its_oldest() {
        let t0 = Instant::now();
        let mut backlog = Backlog::new(2);
        let at = |ms| t0 + Duration::from_millis(ms);
        assert_eq!(backlog.push(at(1)), 0);
        assert_eq!(backlog.push(at(2)), 0);
        assert_eq!(backlog.push(at(3)), 1);
        assert_eq!(backlog.stamps, [at(2), at(3)]);
    }

    #[test]
    fn failures_w_old_leave_the_backlog() {
        let t0 = Instant::now();
        let mut backlog = Backlog::new(8);
        for ms in [0, 10, 20] {
            backlog.push(t0 + Duration::from_millis(ms));
        }
        // At 1010 ms with W = 1 s: the failure at 10 ms is exactly W old, and gone.
        let dropped = backlog.expire(t0 + Duration::from_millis(1010), Duration::from_secs(1));
        assert_eq!(dropped, 2);
        assert_eq!(backlog.stamps, [t0 + Duration::from_millis(20)]);
    }

    #[test]
    fn backoff_doubles_to_its_cap_with_jitter_and_resets() {
        let mut b = Backoff::new((Duration::from_millis(100), Duration::from_millis(400)));
        let steps = [100, 200, 400, 400];
        for step in steps {
            let wait = b.next();
            let step = Duration::from_millis(step);
            assert!(
                wait >= step / 2 && wait <= step,
                "{wait:?} for a step of {step:?}"
            );
        }
        b.reset();
        assert!(b.next() <= Duration::from_millis(100));
    }
}
