//! The trip rules and manual control on a `ManualClock`, on both sides of every boundary: the
//! failure rate at its ratio and its minimum of calls, the rate rule's buckets, the
//! consecutive-failures streak, the slow-call threshold, how long a trip by each rule lasts,
//! forcing, resetting, `open_for`, and the reason of every change. Time moves only through
//! `ManualClock::advance`; nothing sleeps and no duration is measured.
//!
//! Most tests are tables: one row per case, each run on a fresh breaker. Four guard bugs the
//! reference model (`model.rs`) found, each beside the rule it concerns: a slow success of a call
//! admitted while forced closed, a close reported as the window's when the window was never
//! over T, and the streak across a close nobody looked at.

mod consecutive;
mod manual;
mod rate;
mod reasons;
mod slow;
mod trip_length;

use std::time::Duration;

use breaker::{Builder, CircuitBreaker, CircuitOpenError, Clock};

use crate::support::Timeline;

/// W for most tests: the rate rule's 16 buckets are then 1 s wide.
const W: Duration = Duration::from_secs(16);

fn window(w: Duration) -> Builder {
    CircuitBreaker::builder().window(w)
}

/// Records one outcome per letter, all at the current instant: `S` success, `F` failure, `I`
/// ignored, `D` a permit dropped untold. Panics if a call is rejected.
fn calls(tl: &Timeline, script: &str) {
    for c in script.chars() {
        let permit = tl
            .cb
            .try_acquire()
            .unwrap_or_else(|e| panic!("{script:?}: the call {c:?} was rejected ({e})"));
        match c {
            'S' => permit.success(),
            'F' => permit.failure(),
            'I' => permit.ignore(),
            'D' => drop(permit),
            _ => panic!("{script:?}: no outcome {c:?}"),
        }
    }
}

/// The rejection a call gets now; panics if it is admitted.
fn rejection(tl: &Timeline) -> CircuitOpenError {
    match tl.cb.try_acquire() {
        Ok(p) => panic!(
            "expected a rejection, got a permit (probe: {})",
            p.is_probe()
        ),
        Err(e) => e,
    }
}

/// Moves the clock to `t` (from the start of the timeline).
fn at(tl: &Timeline, t: Duration) {
    let now = tl.clock.now();
    assert!(t >= now, "the timeline goes forward: {t:?} < {now:?}");
    tl.advance(t - now);
}
