//! The subjects of the comparison: each crate built for the same rule, and driven through the same
//! paths, so that the `compare` and `alloc` benches measure exactly the same calls.
//!
//! # The same inputs for every crate
//!
//! The rule under test is `breaker`'s: more than T failures in the last W opens the circuit, for
//! W = 5 s and T = 3 unless a bench varies them. None of the peers has that rule, so each is
//! given its nearest configuration that opens at the (T + 1)-th failure:
//!
//! | crate | configuration |
//! |---|---|
//! | `breaker` (ours) | `CircuitBreaker::new(W, T)`, the monotonic clock |
//! | recloser 1.4 | `closed_len(T + 1)`, `error_rate(1.0)`: T + 1 failures in the last T + 1 calls |
//! | failsafe 1.3 | `consecutive_failures(T + 1, constant(W))` |
//! | `breaker` 2.0.2 (peer) | `consecutive_failures(T + 1)`, rate rule off, window of 1 outcome |
//! | tower-resilience 0.14 | `consecutive_failures(T + 1)` over a ready inner service |
//!
//! An open circuit is one tripped with a one-hour open period, so it stays open for the run.
//! For the cost of a failure, every crate is built so that it never trips however many failures
//! it records, its T-sized structure kept (see [`failing`]).
//!
//! # The same paths for every crate
//!
//! - *async*: the crate's own wrapper around a future that is ready at once
//!   (`std::future::ready`), mapped to whether it was admitted by the harness's
//!   [`breaker_bench::admitted`] (not an `async fn`, whose state machine would move the outcome
//!   into itself on every call and add its own cost to every crate's row), polled by the caller's executor
//!   ([`breaker_bench::run_ready`] on one thread, [`breaker_bench::block_on`] on two); tower's
//!   is an `async fn`, since it must await `poll_ready` before `call`;
//! - *now_or_never*: the crate's own wrapper around a fresh `async` block returning the outcome,
//!   polled once by `futures::FutureExt::now_or_never`, which takes the future by value and
//!   which the compiler may or may not inline into the caller (it chooses per build): the shape
//!   of a harness outside this project, kept beside ours so that the two cannot disagree unseen
//!   (tower: `poll_ready` then `call`, as on the async path); the `vs_poller` rows pin down both
//!   cases for ours;
//! - *sync*: ours is `try_acquire` then `success`/`failure` on the permit; recloser and failsafe
//!   wrap a closure (`call(|| ...)`); the 2.0.2 peer has no closure API without a future, so its
//!   sync path is `state()` then `record_success`/`record_failure`; tower has no sync path.
//!
//! Each path returns whether the call was admitted.

// Each bench binary uses a part of this module.
#![allow(dead_code)]

use std::future::{Ready, poll_fn, ready};
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use breaker::{CircuitBreaker as Ours, Clock, Error as OursError};
use breaker_bench::{admitted, run_ready, run_ready_out_of_line};
use breaker_peer::{
    BackoffStrategy, CircuitBreaker as Peer, CircuitBreakerConfig, CircuitBreakerError, State,
};
use failsafe::StateMachine;
use failsafe::backoff::{Constant, constant};
use failsafe::failure_policy::{ConsecutiveFailures, consecutive_failures};
use futures_util::FutureExt;
use recloser::{AsyncRecloser, Recloser};
use tower::{Layer, Service};
use tower_resilience_circuitbreaker::{
    CircuitBreakerError as TowerError, CircuitBreakerLayer, DefaultClassifier, SlidingWindowType,
};

/// The window W of every breaker unless a bench varies it.
pub const WINDOW: Duration = Duration::from_secs(5);

/// The error threshold T unless a bench varies it.
pub const THRESHOLD: u32 = 3;

/// The open period of a tripped breaker: long enough to stay open for the whole run.
pub const OPEN_FOR: Duration = Duration::from_secs(3600);

/// The crates, in the order the tables list them.
pub const CRATES: [&str; 5] = [
    "ours",
    "recloser",
    "failsafe",
    "breaker_2_0_2",
    "tower_resilience",
];

/// What every call returns: `Ok` is a success, `Err` a failure.
pub type Outcome = Result<u64, u64>;

/// failsafe's breaker as configured here.
pub type Failsafe = StateMachine<ConsecutiveFailures<Constant>, ()>;

/// tower-resilience's breaker around [`Echo`].
pub type Tower = tower_resilience_circuitbreaker::CircuitBreaker<Echo, DefaultClassifier>;

/// The inner service for tower: always ready, it answers each request with the request itself.
#[derive(Debug, Clone, Copy)]
pub struct Echo;

impl Service<Outcome> for Echo {
    type Response = u64;
    type Error = u64;
    type Future = Ready<Outcome>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), u64>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Outcome) -> Self::Future {
        ready(request)
    }
}

/// A clock that moves on by `step` each time it is read: simulated time, for a breaker that must
/// record failure after failure without ever holding more than T in its window.
#[derive(Debug)]
pub struct Stepping {
    nanos: AtomicU64,
    step: u64,
}

impl Stepping {
    /// A clock at zero, moving `step` per reading.
    pub fn new(step: Duration) -> Self {
        Self {
            nanos: AtomicU64::new(0),
            step: u64::try_from(step.as_nanos()).unwrap_or(u64::MAX),
        }
    }
}

impl Clock for Stepping {
    fn now(&self) -> Duration {
        Duration::from_nanos(self.nanos.fetch_add(self.step, Ordering::Relaxed))
    }
}

// ---- construction: closed, T-configured -------------------------------------------------------

/// Ours, closed, for threshold `t`.
pub fn ours(t: u32) -> Ours {
    Ours::new(WINDOW, t)
}

/// recloser, closed, for threshold `t`.
pub fn recloser(t: u32) -> Recloser {
    recloser_with(t, 1.0, WINDOW)
}

fn recloser_with(t: u32, error_rate: f32, open_wait: Duration) -> Recloser {
    Recloser::custom()
        .closed_len(t as usize + 1)
        .error_rate(error_rate)
        .open_wait(open_wait)
        .build()
}

/// failsafe, closed, for threshold `t`.
pub fn failsafe(t: u32) -> Failsafe {
    failsafe_with(t.saturating_add(1), WINDOW)
}

fn failsafe_with(failures: u32, open_for: Duration) -> Failsafe {
    failsafe::Config::new()
        .failure_policy(consecutive_failures(failures, constant(open_for)))
        .build()
}

/// The 2.0.2 peer, closed, for threshold `t`.
pub fn peer(t: u32) -> Peer {
    peer_with(t.saturating_add(1), 1, WINDOW)
}

fn peer_with(failures: u32, window: u32, open_for: Duration) -> Peer {
    Peer::new(
        CircuitBreakerConfig::builder()
            .failure_rate_threshold(0.0)
            .consecutive_failures(failures)
            .sliding_window_size(window)
            .backoff(BackoffStrategy::Fixed(open_for))
            .build(),
    )
}

/// tower-resilience, closed, for threshold `t`.
pub fn tower(t: u32) -> Tower {
    tower_with(t as usize + 1, 100, WINDOW)
}

fn tower_with(failures: usize, window: usize, open_for: Duration) -> Tower {
    CircuitBreakerLayer::builder()
        .consecutive_failures(failures)
        .sliding_window_size(window)
        .wait_duration_in_open(open_for)
        .build()
        .expect("a valid tower-resilience configuration")
        .layer(Echo)
}

/// tower-resilience with its time-based window of `window`: the one peer that keeps a record of
/// every call in the window (for the growth bench).
pub fn tower_time_window(window: Duration) -> Tower {
    CircuitBreakerLayer::builder()
        .sliding_window_type(SlidingWindowType::TimeBased)
        .sliding_window_duration(window)
        .failure_rate_threshold(0.5)
        .wait_duration_in_open(WINDOW)
        .build()
        .expect("a valid tower-resilience configuration")
        .layer(Echo)
}

// ---- construction: open ------------------------------------------------------------------------

/// Ours, tripped for an hour.
pub fn ours_open() -> Ours {
    let cb = Ours::new(OPEN_FOR, 0);
    cb.try_acquire().expect("closed at first").failure();
    assert!(cb.try_acquire().is_err());
    cb
}

/// recloser, tripped for an hour (`AsyncRecloser::from` it for the async path).
pub fn recloser_open() -> Recloser {
    let cb = recloser_with(THRESHOLD, 1.0, OPEN_FOR);
    while recloser_sync(&cb, Err(0)) {}
    cb
}

/// failsafe, tripped for an hour.
pub fn failsafe_open() -> Failsafe {
    let cb = failsafe_with(1, OPEN_FOR);
    while failsafe_sync(&cb, Err(0)) {}
    cb
}

/// The 2.0.2 peer, tripped for an hour.
pub fn peer_open() -> Peer {
    let cb = peer_with(1, 1, OPEN_FOR);
    while peer_sync(&cb, Err(0)) {}
    cb
}

/// tower-resilience, tripped for an hour.
pub fn tower_open() -> Tower {
    let mut svc = tower_with(1, 100, OPEN_FOR);
    while breaker_bench::run_ready(tower_async(&mut svc, Err(0))) {}
    svc
}

// ---- construction: recording failure after failure, never tripping --------------------------

/// The breakers of the failure bench, for threshold `t`: each keeps its T-sized structure and
/// records every failure, but never trips.
pub mod failing {
    use super::*;

    /// Ours on a [`Stepping`] clock: failures 1 ms apart in a window of 0.98 T ms, so the window
    /// never holds more than T (nor, in bucketed mode, more than T after rounding).
    pub fn ours(t: u32) -> Ours {
        Ours::builder()
            .window(Duration::from_micros(u64::from(t) * 980))
            .error_threshold(t)
            .clock(Stepping::new(Duration::from_millis(1)))
            .build()
            .expect("a valid configuration")
    }

    /// recloser with a ring of T + 1 calls and an error rate it can never reach.
    pub fn recloser(t: u32) -> Recloser {
        recloser_with(t, 2.0, WINDOW)
    }

    /// failsafe counting consecutive failures towards a count it never reaches.
    pub fn failsafe(_t: u32) -> Failsafe {
        failsafe_with(u32::MAX, WINDOW)
    }

    /// The 2.0.2 peer with a window of T + 1 outcomes, the streak rule out of reach.
    pub fn peer(t: u32) -> Peer {
        peer_with(u32::MAX, t.saturating_add(1), WINDOW)
    }

    /// tower-resilience with a window of T + 1 calls, the streak rule out of reach.
    pub fn tower(t: u32) -> Tower {
        tower_with(usize::MAX, t as usize + 1, WINDOW)
    }
}

// ---- the paths ---------------------------------------------------------------------------------

/// Ours, async: `call` on a ready future.
pub fn ours_async(cb: &Ours, outcome: Outcome) -> impl Future<Output = bool> + '_ {
    admitted(cb.call(ready(outcome)), |result| {
        matches!(result, Err(OursError::Open(_)))
    })
}

/// Ours, now_or_never: `call` on a fresh async block.
pub fn ours_now_or_never(cb: &Ours, outcome: Outcome) -> bool {
    let call = cb.call(async move { outcome }).now_or_never();
    !matches!(call.expect(READY), Err(OursError::Open(_)))
}

/// Ours, `call` on a fresh async block, polled by a poller inlined into the caller.
pub fn ours_inlined(cb: &Ours, outcome: Outcome) -> bool {
    !matches!(
        run_ready(cb.call(async move { outcome })),
        Err(OursError::Open(_))
    )
}

/// Ours, `call` on a fresh async block, polled by a poller the caller cannot inline.
pub fn ours_out_of_line(cb: &Ours, outcome: Outcome) -> bool {
    let call = run_ready_out_of_line(cb.call(async move { outcome }));
    !matches!(call, Err(OursError::Open(_)))
}

/// No breaker: a fresh async block, polled by a poller inlined into the caller.
pub fn bare_inlined(outcome: Outcome) -> bool {
    run_ready(async move { outcome }).is_ok()
}

/// No breaker: a fresh async block, polled by a poller the caller cannot inline.
pub fn bare_out_of_line(outcome: Outcome) -> bool {
    run_ready_out_of_line(async move { outcome }).is_ok()
}

/// No breaker: a fresh async block, polled by `now_or_never`.
pub fn bare_now_or_never(outcome: Outcome) -> bool {
    async move { outcome }.now_or_never().expect(READY).is_ok()
}

/// recloser, now_or_never: `AsyncRecloser::call` on a fresh async block.
pub fn recloser_now_or_never(cb: &AsyncRecloser, outcome: Outcome) -> bool {
    let call = cb.call(async move { outcome }).now_or_never();
    !matches!(call.expect(READY), Err(recloser::Error::Rejected))
}

/// failsafe, now_or_never: `futures::CircuitBreaker::call` on a fresh async block.
pub fn failsafe_now_or_never(cb: &Failsafe, outcome: Outcome) -> bool {
    let call = failsafe::futures::CircuitBreaker::call(cb, async move { outcome }).now_or_never();
    !matches!(call.expect(READY), Err(failsafe::Error::Rejected))
}

/// The 2.0.2 peer, now_or_never: `call` on a closure returning a fresh async block.
pub fn peer_now_or_never(cb: &Peer, outcome: Outcome) -> bool {
    let call = cb.call(|| async move { outcome }).now_or_never();
    !matches!(
        call.expect(READY),
        Err(CircuitBreakerError::CircuitOpen | CircuitBreakerError::Rejected)
    )
}

/// tower-resilience, now_or_never: its async path (`poll_ready`, then `call`).
pub fn tower_now_or_never(svc: &mut Tower, outcome: Outcome) -> bool {
    tower_async(svc, outcome).now_or_never().expect(READY)
}

/// Why a `now_or_never` path may unwrap: every benchmarked future is ready at once.
const READY: &str = "the benchmarked futures are ready at once";

/// Ours, sync: the permit API.
#[inline]
pub fn ours_sync(cb: &Ours, outcome: Outcome) -> bool {
    match cb.try_acquire() {
        Ok(permit) => {
            if outcome.is_ok() {
                permit.success();
            } else {
                permit.failure();
            }
            true
        }
        Err(_) => false,
    }
}

/// recloser, async: `AsyncRecloser::call` on a ready future.
pub fn recloser_async(cb: &AsyncRecloser, outcome: Outcome) -> impl Future<Output = bool> + '_ {
    admitted(cb.call(ready(outcome)), |result| {
        matches!(result, Err(recloser::Error::Rejected))
    })
}

/// recloser, sync: `Recloser::call` on a closure.
pub fn recloser_sync(cb: &Recloser, outcome: Outcome) -> bool {
    !matches!(cb.call(|| outcome), Err(recloser::Error::Rejected))
}

/// failsafe, async: `futures::CircuitBreaker::call` on a ready future.
pub fn failsafe_async(cb: &Failsafe, outcome: Outcome) -> impl Future<Output = bool> + '_ {
    let call = failsafe::futures::CircuitBreaker::call(cb, ready(outcome));
    admitted(call, |result| {
        matches!(result, Err(failsafe::Error::Rejected))
    })
}

/// failsafe, sync: `CircuitBreaker::call` on a closure.
pub fn failsafe_sync(cb: &Failsafe, outcome: Outcome) -> bool {
    let call = failsafe::CircuitBreaker::call(cb, || outcome);
    !matches!(call, Err(failsafe::Error::Rejected))
}

/// The 2.0.2 peer, async: `call` on a closure returning a ready future.
pub fn peer_async(cb: &Peer, outcome: Outcome) -> impl Future<Output = bool> + '_ {
    admitted(cb.call(move || ready(outcome)), |result| {
        matches!(
            result,
            Err(CircuitBreakerError::CircuitOpen | CircuitBreakerError::Rejected)
        )
    })
}

/// The 2.0.2 peer, sync: `state()`, then `record_success` or `record_failure`.
pub fn peer_sync(cb: &Peer, outcome: Outcome) -> bool {
    if cb.state() == State::Open {
        return false;
    }
    if outcome.is_ok() {
        cb.record_success();
    } else {
        cb.record_failure();
    }
    true
}

/// tower-resilience, async: `poll_ready` then `call`, as `ServiceExt::oneshot` would.
pub async fn tower_async(svc: &mut Tower, outcome: Outcome) -> bool {
    if poll_fn(|cx| svc.poll_ready(cx)).await.is_err() {
        return true;
    }
    !matches!(svc.call(outcome).await, Err(TowerError::OpenCircuit))
}
