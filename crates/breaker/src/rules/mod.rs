//! The trip rules besides the count rule: each one more way to open the circuit.
//!
//! The count rule (more than T failures in the last W) is the [failure window](crate::window),
//! on by default. The others are opt-in on the builder, each in its own file:
//!
//! - [`rate`]: the failures' share of the calls in the last W, once there are enough calls;
//! - [`consecutive`]: n failures in a row.
//!
//! The slow-call rule is no rule of its own: it turns a success that took too long into a
//! failure before any rule sees it (see `inner.rs`).
//!
//! Every configured rule sees every recorded outcome (a success too: it can bring the calls up
//! to the rate rule's minimum), and a rule that fires asks the state machine to trip with its
//! own [`Reason`](crate::Reason). When several fire on one failure, the count rule's reason is
//! reported first, then the rate's, then the streak's; once the circuit is open the others
//! change nothing.

pub(crate) mod consecutive;
pub(crate) mod rate;

use crate::nanos::Nanos;
use crate::state::Reason;

/// The opt-in rules of one breaker.
#[derive(Debug, Default)]
pub(crate) struct Rules {
    pub(crate) rate: Option<rate::FailureRate>,
    pub(crate) consecutive: Option<consecutive::Consecutive>,
}

impl Rules {
    /// Whether any rule is configured.
    pub(crate) fn any(&self) -> bool {
        self.rate.is_some() || self.consecutive.is_some()
    }

    /// Records a failure at `now`; the reason of the first rule that fires.
    pub(crate) fn failure(&self, now: Nanos) -> Option<Reason> {
        let rate = self.rate.as_ref().is_some_and(|r| r.record(true, now));
        let streak = self.consecutive.as_ref().is_some_and(|c| c.failure());
        if rate {
            Some(Reason::FailureRate)
        } else if streak {
            Some(Reason::ConsecutiveFailures)
        } else {
            None
        }
    }

    /// Records a success at `now` (read only if the rate rule needs it); the reason of the
    /// first rule that fires.
    pub(crate) fn success(&self, now: impl FnOnce() -> Nanos) -> Option<Reason> {
        if let Some(c) = &self.consecutive {
            c.success();
        }
        let r = self.rate.as_ref()?;
        r.record(false, now()).then_some(Reason::FailureRate)
    }

    /// Forgets every call counted.
    pub(crate) fn forget_outcomes(&self) {
        if let Some(r) = &self.rate {
            r.clear();
        }
    }

    /// Ends the streak of failures.
    pub(crate) fn end_streak(&self) {
        if let Some(c) = &self.consecutive {
            c.end();
        }
    }

    /// The failures the rate rule counts in the window.
    pub(crate) fn failures(&self, now: Nanos) -> Option<u64> {
        self.rate.as_ref().map(|r| r.totals(now).1)
    }

    /// The bytes of heap the rules hold.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.rate.as_ref().map_or(0, rate::FailureRate::heap_bytes)
    }
}
