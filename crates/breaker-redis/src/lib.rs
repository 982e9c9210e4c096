//! Fleet mode for [`breaker`]: many processes, one circuit, shared through a Redis server.
//!
//! A service runs as many replicas. With a breaker each, every replica sees only its own share
//! of a failing downstream's failures, trips late, and sends its own T + 1 failures first. In
//! fleet mode every failure recorded by any process counts in one shared window, and a trip
//! opens every process's circuit.
//!
//! ```no_run
//! # async fn demo() -> Result<(), breaker_redis::FleetError> {
//! use std::time::Duration;
//! use breaker::CircuitBreaker;
//! use breaker_redis::Fleet;
//!
//! let fleet = Fleet::builder("redis://127.0.0.1:6379/").build(
//!     CircuitBreaker::builder()
//!         .name("payments") // required: the fleet's circuit is named
//!         .window(Duration::from_secs(5))
//!         .error_threshold(3),
//! )?;
//! let cb = fleet.breaker().clone(); // use it as any breaker: admission never waits on Redis
//! # let _ = cb; Ok(()) }
//! ```
//!
//! # How it works, and why
//!
//! - **Admission is untouched.** The breaker is a plain [`CircuitBreaker`]: a call admitted
//!   while closed is one atomic load, never an await on Redis, never a lock. A success writes
//!   nothing shared.
//! - **Failures go out in batches.** Each recorded failure ([`breaker::Builder::on_failure`])
//!   is stamped on the local monotonic clock and handed to a bounded channel, without waiting.
//!   A background task drains it and runs one script per batch (up to 256 failures).
//! - **One clock: the server's.** The script stamps each failure with the server's `TIME`
//!   (less the failure's age in the batch, measured locally), keeps the latest T + 1 stamps per
//!   circuit, and answers whether they all fall within W and until when. A trip is published
//!   on a channel as a *remaining* duration, and every process applies it on its own monotonic
//!   clock with [`CircuitBreaker::open_remote`] (reason [`breaker::Reason::Remote`]). No two
//!   hosts' clocks are compared; a server whose clock steps back can at worst make one trip
//!   last W.
//! - **Redis slow, down, partitioned or restarted.** Every command runs under a timeout. On
//!   the first error the process goes on locally (its own breaker still trips on its own
//!   failures), says so once (a `warn` event at target `breaker_redis`, the gauge
//!   `breaker_fleet_connected{breaker}` at 0), keeps the failures recorded meanwhile in a
//!   bounded backlog (the oldest dropped first and counted in
//!   `breaker_fleet_failures_dropped_total{breaker}`), and reconnects with exponential backoff
//!   and jitter. A batch in flight when Redis failed is dropped and counted too: it may have
//!   been stored (a stopped server runs what it had read once it resumes), and sending it
//!   again could count its failures twice and trip the fleet on failures that never happened. Once back, it resubscribes, asks the server whether the fleet's circuit is
//!   open (a trip it missed is applied), then flushes the backlog; failures older than W by
//!   then are dropped, since they no longer count. A process that starts while Redis is down
//!   works locally from its first call.
//! - **Why the `redis` crate, not `fred`.** The task needs little: one multiplexed
//!   connection for the script (`EVALSHA`, loaded on first use), one pub/sub connection, and
//!   control over when to give up and reconnect, since being *local only* is a state this
//!   crate reports. `redis` gives exactly those pieces on tokio with few features
//!   (`aio`, `tokio-comp`, `script`); `fred` brings its own reconnection policy, pools and
//!   command queues, which would hide the very moments we must report and bound.
//!
//! # Names, W and T
//!
//! The circuit is named by the breaker's name, W and T ([`Names`]): processes with the same
//! name but another W or T form a fleet of their own and do not see each other's failures.
//! Only the count rule is shared: other rules (failure rate, consecutive failures) stay local.
//!
//! # Metrics and events
//!
//! Through the `metrics` facade, labelled `breaker` (the name): gauge
//! `breaker_fleet_connected` (1 joined, 0 local only), counters
//! `breaker_fleet_failures_published_total`, `breaker_fleet_failures_dropped_total` and
//! `breaker_fleet_remote_trips_total`. Tracing events at target `breaker_redis`: `warn` when the
//! process goes local only, `info` when it rejoins.

mod script;
mod task;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use breaker::CircuitBreaker;
use tokio::sync::{mpsc, watch};

pub use crate::script::Names;

/// Why fleet mode could not start. Nothing about Redis itself: a process starts while Redis is
/// down and works locally until it is back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FleetError {
    /// The breaker has no name: the fleet's circuit is found by it.
    #[error("fleet mode needs a named breaker (`Builder::name`)")]
    Unnamed,
    /// The name is empty, longer than [`MAX_NAME`] bytes, or holds a control character.
    #[error(
        "the breaker name {0:?} cannot name a fleet circuit (1 to 200 bytes, no control characters)"
    )]
    BadName(String),
    /// The breaker has no count rule: that is the rule the fleet shares.
    #[error("fleet mode shares the count rule, and this breaker has none (`error_threshold`)")]
    NoCountRule,
    /// The breaker itself refused its configuration.
    #[error("invalid breaker configuration")]
    Breaker(#[from] breaker::ConfigError),
    /// The Redis URL could not be read.
    #[error("invalid Redis URL")]
    Url(#[source] redis::RedisError),
    /// A setting of the [`FleetBuilder`] is out of range.
    #[error("invalid fleet setting: {0}")]
    Setting(&'static str),
    /// Not called from within a tokio runtime, where the background task must run.
    #[error("fleet mode must be started from within a tokio runtime")]
    NoRuntime,
}

/// The bounds of the channel that carries failures to the task (it takes them into the
/// backlog at once): the backlog's length, within these.
const CHANNEL: (usize, usize) = (1024, 4096);

/// The longest breaker name a fleet accepts, in bytes.
pub const MAX_NAME: usize = 200;

/// Whether this process is joined to the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Link {
    /// Not joined yet: the first connection is being made.
    Starting,
    /// Connected and subscribed: failures are shared and trips are heard.
    Joined,
    /// Redis is unreachable (down, slow, partitioned): the breaker works on its own failures
    /// alone, and the task reconnects in the background.
    LocalOnly,
}

/// Builds a [`Fleet`]. Defaults: a command timeout of 500 ms, a connection timeout of 1 s, a
/// heartbeat every second, a backlog of 1024 failures, reconnection after 100 ms doubling to
/// 5 s (each wait drawn between half and all of the step).
#[derive(Debug, Clone)]
#[must_use]
pub struct FleetBuilder {
    url: String,
    command_timeout: Duration,
    connect_timeout: Duration,
    heartbeat: Duration,
    backlog: usize,
    backoff: (Duration, Duration),
}

impl FleetBuilder {
    /// How long any one command (a batch, a ping) may take before Redis is taken as
    /// unreachable. Must be more than zero.
    pub fn command_timeout(mut self, timeout: Duration) -> Self {
        self.command_timeout = timeout;
        self
    }

    /// How long connecting and subscribing may take. Must be more than zero.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How often an idle connection is checked with a `PING`, so that a Redis gone quiet is
    /// noticed without traffic. Must be more than zero.
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.heartbeat = every;
        self
    }

    /// The most failures kept while they cannot be published; past it, the oldest are dropped
    /// and counted. From 1 to 1 000 000. Failures reach the backlog through a channel of the
    /// backlog's length (at least 1024, at most 4096 failures); should they ever come faster
    /// than the task takes them, the channel refuses the newest, which are counted too.
    pub fn backlog(mut self, failures: usize) -> Self {
        self.backlog = failures;
        self
    }

    /// The reconnection backoff: the first wait, doubled after each failed attempt up to `max`,
    /// each wait drawn at random between half and all of its step. `min` more than zero and at
    /// most `max`.
    pub fn backoff(mut self, min: Duration, max: Duration) -> Self {
        self.backoff = (min, max);
        self
    }

    /// Builds `breaker` with a failure observer that feeds the fleet, and starts the
    /// background task on the current tokio runtime. It returns at once: the first connection
    /// is made in the background, and until it is, the breaker works locally.
    ///
    /// # Errors
    ///
    /// A [`FleetError`] when the breaker has no name, a bad name or no count rule, refuses its
    /// own configuration, when the URL cannot be read, a setting is out of range, or no tokio
    /// runtime is running.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use breaker::CircuitBreaker;
    /// use breaker_redis::{Fleet, FleetError};
    ///
    /// let unnamed = Fleet::builder("redis://127.0.0.1:1/").build(CircuitBreaker::builder());
    /// assert!(matches!(unnamed, Err(FleetError::Unnamed)));
    /// let bad_url = Fleet::builder("http://nope").build(CircuitBreaker::builder().name("a"));
    /// assert!(matches!(bad_url, Err(FleetError::Url(_))));
    /// # }
    /// ```
    pub fn build(self, breaker: breaker::Builder) -> Result<Fleet, FleetError> {
        let (min, max) = self.backoff;
        if self.command_timeout.is_zero()
            || self.connect_timeout.is_zero()
            || self.heartbeat.is_zero()
        {
            return Err(FleetError::Setting(
                "timeouts and the heartbeat must be more than zero",
            ));
        }
        if min.is_zero() || min > max {
            return Err(FleetError::Setting("the backoff needs 0 < min <= max"));
        }
        if !(1..=1_000_000).contains(&self.backlog) {
            return Err(FleetError::Setting(
                "the backlog must hold 1 to 1 000 000 failures",
            ));
        }
        let client = redis::Client::open(self.url.as_str()).map_err(FleetError::Url)?;
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| FleetError::NoRuntime)?;

        let shared = Arc::new(Shared::default());
        // The channel only carries failures to the task, which moves them to the backlog at
        // once; it is long enough that a burst while the task is busy is kept.
        let (tx, rx) = mpsc::channel::<Instant>(self.backlog.clamp(CHANNEL.0, CHANNEL.1));
        // The name is known once the breaker is built: the counter of dropped failures is set
        // then, before any failure can be recorded.
        let dropped_total = Arc::new(OnceLock::<metrics::Counter>::new());
        let (counts, metric) = (shared.clone(), dropped_total.clone());
        let breaker = breaker
            .on_failure(move || {
                if tx.try_send(Instant::now()).is_ok() {
                    counts.queued.fetch_add(1, Ordering::Relaxed);
                } else {
                    if let Some(metric) = metric.get() {
                        metric.increment(1);
                    }
                    counts.dropped.fetch_add(1, Ordering::Relaxed);
                }
            })
            .build()?;
        let name = breaker.name().ok_or(FleetError::Unnamed)?.to_owned();
        let dropped_total = dropped_total
            .get_or_init(|| {
                metrics::counter!("breaker_fleet_failures_dropped_total", "breaker" => name.clone())
            })
            .clone();
        if name.is_empty() || name.len() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(FleetError::BadName(name));
        }
        let threshold = breaker.error_threshold().ok_or(FleetError::NoCountRule)?;
        let names = Names::new(&name, breaker.window(), threshold);
        let (link_tx, link) = watch::channel(Link::Starting);
        let task = task::Task {
            client,
            breaker: breaker.clone(),
            names,
            name,
            window: breaker.window(),
            threshold,
            settings: task::Settings {
                command_timeout: self.command_timeout,
                connect_timeout: self.connect_timeout,
                heartbeat: self.heartbeat,
                backlog: self.backlog,
                backoff: self.backoff,
            },
            shared: shared.clone(),
            dropped_total,
            link: link_tx,
            failures: rx,
        };
        let task = runtime.spawn(task.run());
        Ok(Fleet {
            breaker,
            shared,
            link,
            task,
        })
    }
}

/// Counters the task and the failure observer share.
#[derive(Debug, Default)]
struct Shared {
    connected: AtomicBool,
    /// Failures handed to the task.
    queued: AtomicU64,
    /// Failures the task is done with: published, or dropped by it.
    settled: AtomicU64,
    /// Told whenever `settled` grows or the link changes.
    progress: tokio::sync::Notify,
    published: AtomicU64,
    dropped: AtomicU64,
    remote_trips: AtomicU64,
}

/// What a fleet member has done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Stats {
    /// Failures the server has stored.
    pub published: u64,
    /// Failures dropped: the backlog was full, or they were older than W when Redis came back.
    pub dropped: u64,
    /// Trip messages applied (this process's own included).
    pub remote_trips: u64,
}

/// A breaker in fleet mode, and the background task that joins it to the fleet.
///
/// Dropping it stops the task: the breaker (and its clones) then goes on locally.
#[derive(Debug)]
pub struct Fleet {
    breaker: CircuitBreaker,
    shared: Arc<Shared>,
    link: watch::Receiver<Link>,
    task: tokio::task::JoinHandle<()>,
}

impl Fleet {
    /// A [`FleetBuilder`] for the Redis server at `url` (`redis://host:port/db`).
    pub fn builder(url: impl Into<String>) -> FleetBuilder {
        FleetBuilder {
            url: url.into(),
            command_timeout: Duration::from_millis(500),
            connect_timeout: Duration::from_secs(1),
            heartbeat: Duration::from_secs(1),
            backlog: 1024,
            backoff: (Duration::from_millis(100), Duration::from_secs(5)),
        }
    }

    /// The breaker: use it (or its clones) as any [`CircuitBreaker`].
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.breaker
    }

    /// Whether the process is joined to the fleet now.
    pub fn is_joined(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// A receiver that sees every change of [`Link`], to wait for one.
    pub fn link(&self) -> watch::Receiver<Link> {
        self.link.clone()
    }

    /// Waits until every failure recorded so far has been published (or dropped), for at
    /// most `within`; returns whether it was. It returns `false` at once while the process is
    /// not joined, since nothing can be published then. For a short-lived process, before it
    /// exits: a failure recorded just before is otherwise lost with the process.
    pub async fn flush(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let progress = self.shared.progress.notified();
            tokio::pin!(progress);
            progress.as_mut().enable();
            let queued = self.shared.queued.load(Ordering::Acquire);
            if self.shared.settled.load(Ordering::Acquire) >= queued {
                return true;
            }
            if !self.is_joined() {
                return false;
            }
            if tokio::time::timeout_at(deadline, progress).await.is_err() {
                return false;
            }
        }
    }

    /// What the task has done so far.
    pub fn stats(&self) -> Stats {
        Stats {
            published: self.shared.published.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            remote_trips: self.shared.remote_trips.load(Ordering::Relaxed),
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named() -> breaker::Builder {
        CircuitBreaker::builder().name("svc")
    }

    #[tokio::test(flavor = "current_thread")]
    async fn bad_configuration_is_refused_at_build() {
        let fleet = || Fleet::builder("redis://127.0.0.1:1/");
        let refused = [
            fleet().build(CircuitBreaker::builder()),
            fleet().build(CircuitBreaker::builder().name("")),
            fleet().build(CircuitBreaker::builder().name("a\nb")),
            fleet().build(CircuitBreaker::builder().name("x".repeat(MAX_NAME + 1))),
            fleet().build(named().failure_rate(0.5, 10)),
            fleet().build(named().window(Duration::ZERO)),
            fleet().command_timeout(Duration::ZERO).build(named()),
            fleet().heartbeat(Duration::ZERO).build(named()),
            fleet().backlog(0).build(named()),
            fleet()
                .backoff(Duration::from_secs(2), Duration::from_secs(1))
                .build(named()),
            Fleet::builder("not a url").build(named()),
        ];
        let kinds: Vec<String> = refused
            .into_iter()
            .map(|r| match r {
                Err(FleetError::Unnamed) => "unnamed".into(),
                Err(FleetError::BadName(_)) => "name".into(),
                Err(FleetError::NoCountRule) => "rule".into(),
                Err(FleetError::Breaker(_)) => "breaker".into(),
                Err(FleetError::Setting(_)) => "setting".into(),
                Err(FleetError::Url(_)) => "url".into(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "unnamed", "name", "name", "name", "rule", "breaker", "setting", "setting",
                "setting", "setting", "url"
            ]
        );
        // Up to 200 bytes of any printable text is a name.
        assert!(fleet().build(named().name("é".repeat(100))).is_ok());
    }

    #[test]
    fn outside_a_runtime_it_says_so() {
        let r = Fleet::builder("redis://127.0.0.1:1/").build(named());
        assert!(matches!(r, Err(FleetError::NoRuntime)));
    }
}
