//! The words a breaker speaks: its states, how a call ended, why the state changed.
//!
//! These are plain values, shared by the state machine (`machine.rs`), the breaker and its
//! observers, so that none of them has to import another to name a state.

use std::fmt;
use std::time::Duration;

/// The state of a circuit at a given moment.
///
/// New states may be added (a forced state was), so a `match` needs a wildcard arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// Calls are forwarded.
    Closed,
    /// Calls are rejected with [`CircuitOpenError`](crate::CircuitOpenError).
    Open,
    /// With probing: a limited number of trial calls are forwarded.
    HalfOpen,
    /// Forced open with [`CircuitBreaker::force_open`](crate::CircuitBreaker::force_open):
    /// every call is rejected until [`reset`](crate::CircuitBreaker::reset).
    ForcedOpen,
    /// Forced closed with [`CircuitBreaker::force_closed`](crate::CircuitBreaker::force_closed):
    /// every call is admitted and nothing trips until [`reset`](crate::CircuitBreaker::reset).
    ForcedClosed,
}

impl State {
    /// The state as events and metric labels name it: `closed`, `open`, `half_open`,
    /// `forced_open`, `forced_closed`.
    ///
    /// ```
    /// assert_eq!(breaker::State::HalfOpen.as_str(), "half_open");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half_open",
            State::ForcedOpen => "forced_open",
            State::ForcedClosed => "forced_closed",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Closed => "closed",
            State::Open => "open",
            State::HalfOpen => "half-open",
            State::ForcedOpen => "forced open",
            State::ForcedClosed => "forced closed",
        })
    }
}

/// How a call ended, as far as the breaker is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The service did its job.
    Success,
    /// The service failed: it counts towards the threshold.
    Failure,
    /// Neither: the call says nothing about the service's health (a 4xx, say). It changes
    /// nothing, and a probe that ends ignored frees its place for another probe.
    Ignored,
}

/// Why the state changed: the field [`StateChange::reason`], the `reason` of the tracing event
/// and the `reason` label of the `breaker_state_changes_total` metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The count rule: more than T failures in the last W.
    FailureCount,
    /// The failure-rate rule ([`Builder::failure_rate`](crate::Builder::failure_rate)).
    FailureRate,
    /// The consecutive-failures rule
    /// ([`Builder::consecutive_failures`](crate::Builder::consecutive_failures)).
    ConsecutiveFailures,
    /// A server asked for time with `Retry-After`, or
    /// [`CircuitBreaker::open_for`](crate::CircuitBreaker::open_for) was called.
    RetryAfter,
    /// A half-open probe failed.
    ProbeFailed,
    /// A half-open probe ran past the probe timeout.
    ProbeTimedOut,
    /// Every probe of a half-open period succeeded.
    ProbesSucceeded,
    /// The failures in the window fell back to T or fewer.
    WindowEmptied,
    /// The open time of a trip by another rule (or a `Retry-After`, or a remote trip) ran out.
    OpenTimeElapsed,
    /// [`force_open`](crate::CircuitBreaker::force_open) or
    /// [`force_closed`](crate::CircuitBreaker::force_closed).
    Forced,
    /// [`reset`](crate::CircuitBreaker::reset).
    Reset,
    /// A trip elsewhere: [`CircuitBreaker::open_remote`](crate::CircuitBreaker::open_remote)
    /// was called, as fleet mode does when another process's failures open the shared circuit.
    Remote,
}

impl Reason {
    /// The reason as events and metric labels name it (`failure_count`, `probe_timed_out`, …).
    ///
    /// ```
    /// assert_eq!(breaker::Reason::WindowEmptied.as_str(), "window_emptied");
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::FailureCount => "failure_count",
            Reason::FailureRate => "failure_rate",
            Reason::ConsecutiveFailures => "consecutive_failures",
            Reason::RetryAfter => "retry_after",
            Reason::ProbeFailed => "probe_failed",
            Reason::ProbeTimedOut => "probe_timed_out",
            Reason::ProbesSucceeded => "probes_succeeded",
            Reason::WindowEmptied => "window_emptied",
            Reason::OpenTimeElapsed => "open_time_elapsed",
            Reason::Forced => "forced",
            Reason::Reset => "reset",
            Reason::Remote => "remote",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A change of state, given to the observers set with
/// [`Builder::on_state_change`](crate::Builder::on_state_change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct StateChange {
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
    /// The instant of the change on the breaker's clock. Changes that happen by the passing of
    /// time (an open period ending) carry the exact instant they happened, even though they are
    /// noticed, and reported, by the first caller after it.
    pub at: Duration,
    /// Why it changed.
    pub reason: Reason,
}
