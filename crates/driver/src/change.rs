//! A change of state of the breaker during a run, timed from the run's start: what the summary
//! lists and the picture of the run marks.

use std::time::Duration;

use breaker::{Reason, State, StateChange};

/// A change of state of the breaker, at a time since the start of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Time since the start of the run.
    pub at: Duration,
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
    /// Why.
    pub reason: Reason,
}

impl From<StateChange> for Change {
    fn from(c: StateChange) -> Self {
        Self {
            at: c.at,
            from: c.from,
            to: c.to,
            reason: c.reason,
        }
    }
}
