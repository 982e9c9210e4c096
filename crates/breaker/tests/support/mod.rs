//! What every integration test binary shares: durations written for reading, and [`Timeline`],
//! a breaker on a [`ManualClock`] with the log of its state changes.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::{Builder, CircuitBreaker, ManualClock, Reason, State, StateChange};

/// One nanosecond: the clock's resolution, and the width of every edge a timeline checks.
pub const NS: Duration = Duration::from_nanos(1);

/// Milliseconds, for readable timelines.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Seconds.
pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// A breaker on a fresh [`ManualClock`] with window `window` and threshold `threshold`,
/// the clock to move it, and the log of its state changes.
pub struct Timeline {
    pub cb: CircuitBreaker,
    pub clock: ManualClock,
    pub changes: Arc<Mutex<Vec<StateChange>>>,
}

impl Timeline {
    pub fn new(window: Duration, threshold: u32) -> Self {
        Self::with(
            CircuitBreaker::builder()
                .window(window)
                .error_threshold(threshold),
        )
    }

    /// From a builder that has everything but the clock and the observer.
    pub fn with(builder: Builder) -> Self {
        let clock = ManualClock::new();
        let changes = Arc::new(Mutex::new(Vec::new()));
        let log = changes.clone();
        let cb = builder
            .clock(clock.clone())
            .on_state_change(move |c| log.lock().unwrap().push(c))
            .build()
            .expect("valid configuration");
        Self { cb, clock, changes }
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// Records a failure through a permit; panics if the call is rejected.
    pub fn fail(&self) {
        self.cb.try_acquire().expect("admitted").failure();
    }

    /// Records a success through a permit; panics if the call is rejected.
    pub fn succeed(&self) {
        self.cb.try_acquire().expect("admitted").success();
    }

    pub fn state(&self) -> State {
        self.cb.state()
    }

    /// The `retry_after` of a rejection now; panics if the call is admitted.
    pub fn retry_after(&self) -> Duration {
        match self.cb.try_acquire() {
            Ok(_) => panic!("expected a rejection"),
            Err(e) => e.retry_after(),
        }
    }

    /// The state changes so far, as (from, to, at).
    pub fn changes(&self) -> Vec<(State, State, Duration)> {
        self.changes
            .lock()
            .unwrap()
            .iter()
            .map(|c| (c.from, c.to, c.at))
            .collect()
    }

    /// The state changes so far, with their reasons, as (from, to, at, reason).
    pub fn log(&self) -> Vec<(State, State, Duration, Reason)> {
        self.changes
            .lock()
            .unwrap()
            .iter()
            .map(|c| (c.from, c.to, c.at, c.reason))
            .collect()
    }

    /// The reasons of the state changes so far, in order.
    pub fn reasons(&self) -> Vec<Reason> {
        self.changes
            .lock()
            .unwrap()
            .iter()
            .map(|c| c.reason)
            .collect()
    }
}

/// Nanoseconds, for timelines measured in them.
pub fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}
