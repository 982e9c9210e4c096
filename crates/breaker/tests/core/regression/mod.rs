//! Regression tests: one test per bug the breaker once had, grouped by the behaviour they guard,
//! each named for that behaviour, its doc comment saying what went wrong.
//!
//! - [`open_period`]: without probing, the circuit is open exactly while more than T failures
//!   are in the window, however late failures and the end of an open period interleave;
//! - [`probes`]: each half-open period admits its own P probes, its P successes close the
//!   circuit, and each trip from closed starts the backoff again;
//! - [`races`]: a close by probes and a failure recorded at the same moment;
//! - [`clock_edges`]: idle for billions of bucket widths, at the end of the clock, durations the
//!   clock cannot hold;
//! - [`reads`]: looking at a breaker changes nothing.
//!
//! Everything goes through the public API. Time is a [`ManualClock`](breaker::ManualClock);
//! where a test needs two calls to interleave, it uses [`HookClock`](hook_clock::HookClock): a
//! manual clock whose N-th reading runs a one-shot closure, as if the thread reading the clock
//! were preempted right there while other callers (on the same breaker) ran. The breaker reads
//! its clock while it holds no lock, so the closure can call the breaker without deadlocking.
//! Nothing sleeps and nothing depends on the wall clock.

mod clock_edges;
mod hook_clock;
mod open_period;
mod probes;
mod races;
mod reads;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::{CircuitBreaker, Permit, State, StateChange};

const SEC: Duration = Duration::from_secs(1);

type Log = Arc<Mutex<Vec<(State, State, Duration)>>>;

/// A log of state changes, and the observer that fills it.
fn logger() -> (Log, impl Fn(StateChange) + Send + Sync + 'static) {
    let log = Log::default();
    let sink = log.clone();
    (log, move |c: StateChange| {
        sink.lock().unwrap().push((c.from, c.to, c.at))
    })
}

fn changes(log: &Log) -> Vec<(State, State, Duration)> {
    log.lock().unwrap().clone()
}

/// A breaker that lives for the rest of the test run, so that permits taken inside a hook (which
/// must be `'static`) can outlive the hook.
fn leak(cb: CircuitBreaker) -> &'static CircuitBreaker {
    Box::leak(Box::new(cb))
}

fn fail(cb: &CircuitBreaker) {
    cb.try_acquire().expect("admitted").failure();
}

fn retry_after(cb: &CircuitBreaker) -> Duration {
    match cb.try_acquire() {
        Ok(p) => panic!(
            "expected a rejection, got a permit (probe: {})",
            p.is_probe()
        ),
        Err(e) => e.retry_after(),
    }
}

fn probe(cb: &CircuitBreaker) -> Permit<'_> {
    let p = cb.try_acquire().expect("a probe is admitted");
    assert!(p.is_probe(), "expected a probe");
    p
}
