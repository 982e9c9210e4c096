//! What a breaker tells the world: its name, its observers, and (each behind its feature) its
//! tracing events and metrics.
//!
//! Everything here runs on the thread that made or noticed the change, after the change has
//! taken effect and outside any lock of the breaker; nothing here starts a thread. The metrics'
//! handles are made once, when the breaker is built, so that counting a call is one increment
//! of a handle and no look-up by name: a recorder must be installed before the breakers it is
//! to see are built (the `metrics` crate's own advice for handles).

use std::fmt;
use std::time::Duration;

#[cfg(any(feature = "tracing", feature = "metrics"))]
use crate::state::State;
use crate::state::StateChange;

/// An observer of state changes, as [`Builder::on_state_change`](crate::Builder::on_state_change) takes it.
pub(crate) type Observer = dyn Fn(StateChange) + Send + Sync;

/// An observer of recorded failures, as [`Builder::on_failure`](crate::Builder::on_failure) takes it.
pub(crate) type FailureObserver = dyn Fn() + Send + Sync;

/// The name, the observers and the metric handles of one breaker.
#[derive(Default)]
pub(crate) struct Observe {
    name: Option<Box<str>>,
    observers: Vec<Box<Observer>>,
    failures: Vec<Box<FailureObserver>>,
    #[cfg(feature = "metrics")]
    metrics: Option<Metrics>,
}

impl fmt::Debug for Observe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Observe")
            .field("name", &self.name)
            .field("observers", &self.observers.len())
            .field("failure_observers", &self.failures.len())
            .finish_non_exhaustive()
    }
}

impl Observe {
    pub(crate) fn set_name(&mut self, name: String) {
        self.name = Some(name.into_boxed_str());
    }

    pub(crate) fn add(&mut self, observer: Box<Observer>) {
        self.observers.push(observer);
    }

    pub(crate) fn add_failure(&mut self, observer: Box<FailureObserver>) {
        self.failures.push(observer);
    }

    /// Whether a default breaker can leave this out: no name, no observer, and no feature that
    /// reports.
    pub(crate) fn is_silent(&self) -> bool {
        self.name.is_none()
            && self.observers.is_empty()
            && self.failures.is_empty()
            && !cfg!(feature = "metrics")
    }

    /// A failure was recorded: to every failure observer, in the order added.
    #[inline]
    pub(crate) fn failure(&self) {
        for observer in &self.failures {
            observer();
        }
    }

    /// Whether every outcome is counted (the `metrics` feature), so that a success must be told.
    pub(crate) fn counts_outcomes(&self) -> bool {
        cfg!(feature = "metrics")
    }

    pub(crate) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Makes the metric handles and sets the state gauge: called once, when the breaker is built.
    /// A breaker in shadow mode counts the calls it would have rejected, and only it.
    pub(crate) fn start(&mut self, shadow: bool) {
        let _ = shadow;
        #[cfg(feature = "metrics")]
        {
            let metrics = Metrics::new(self.name().unwrap_or(""), shadow);
            metrics.state.set(state_code(State::Closed));
            self.metrics = Some(metrics);
        }
    }

    /// A change of state: to every observer in the order added, then to tracing and metrics.
    pub(crate) fn state_change(&self, change: StateChange) {
        for observer in &self.observers {
            observer(change);
        }
        #[cfg(feature = "tracing")]
        {
            let name = self.name().unwrap_or("");
            let (from, to, reason) = (
                change.from.as_str(),
                change.to.as_str(),
                change.reason.as_str(),
            );
            if matches!(change.to, State::Open | State::ForcedOpen) {
                tracing::warn!(target: "breaker", name, from, to, reason, "circuit opened");
            } else {
                tracing::info!(target: "breaker", name, from, to, reason, "circuit state changed");
            }
        }
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.metrics {
            m.state.set(state_code(change.to));
            metrics::counter!(
                "breaker_state_changes_total",
                "breaker" => m.name.clone(),
                "from" => change.from.as_str(),
                "to" => change.to.as_str(),
                "reason" => change.reason.as_str(),
            )
            .increment(1);
        }
    }

    /// How an admitted call ended.
    #[cfg(feature = "metrics")]
    #[inline]
    pub(crate) fn outcome(&self, outcome: crate::state::Outcome) {
        use crate::state::Outcome;
        if let Some(m) = &self.metrics {
            match outcome {
                Outcome::Success => m.success.increment(1),
                Outcome::Failure => m.failure.increment(1),
                Outcome::Ignored => m.ignored.increment(1),
            }
        }
    }

    /// A call rejected, with the time until the circuit admits calls again; in shadow mode,
    /// a call that would have been rejected, admitted all the same.
    pub(crate) fn rejected(&self, retry_after: Duration, shadow: bool) {
        #[cfg(feature = "tracing")]
        {
            let name = self.name().unwrap_or("");
            let retry_after_secs = retry_after.as_secs_f64();
            if shadow {
                tracing::debug!(target: "breaker", name, retry_after_secs, "call would have been rejected (shadow mode)");
            } else {
                tracing::debug!(target: "breaker", name, retry_after_secs, "call rejected");
            }
        }
        #[cfg(feature = "metrics")]
        if let Some(m) = &self.metrics {
            if let Some(shadow_rejected) = m.shadow_rejected.as_ref().filter(|_| shadow) {
                shadow_rejected.increment(1);
            } else {
                m.rejected.increment(1);
            }
        }
        let _ = (retry_after, shadow);
    }
}

/// The value of the `breaker_state` gauge: 0 closed, 1 open, 2 half-open, 3 forced open,
/// 4 forced closed.
#[cfg(feature = "metrics")]
fn state_code(state: State) -> f64 {
    match state {
        State::Closed => 0.0,
        State::Open => 1.0,
        State::HalfOpen => 2.0,
        State::ForcedOpen => 3.0,
        State::ForcedClosed => 4.0,
    }
}

/// The handles of one breaker's metrics, made once.
#[cfg(feature = "metrics")]
struct Metrics {
    name: String,
    success: metrics::Counter,
    failure: metrics::Counter,
    ignored: metrics::Counter,
    rejected: metrics::Counter,
    /// Only in shadow mode.
    shadow_rejected: Option<metrics::Counter>,
    state: metrics::Gauge,
}

#[cfg(feature = "metrics")]
impl Metrics {
    fn new(name: &str, shadow: bool) -> Self {
        let calls = |outcome: &'static str| metrics::counter!("breaker_calls_total", "breaker" => name.to_owned(), "outcome" => outcome);
        Self {
            name: name.to_owned(),
            success: calls("success"),
            failure: calls("failure"),
            ignored: calls("ignored"),
            rejected: calls("rejected"),
            shadow_rejected: shadow.then(|| calls("shadow_rejected")),
            state: metrics::gauge!("breaker_state", "breaker" => name.to_owned()),
        }
    }
}
