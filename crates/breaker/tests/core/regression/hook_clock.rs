//! [`HookClock`]: a manual clock that runs a closure inside one chosen reading, to force an
//! interleaving of two callers through the public API alone.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::{Clock, ManualClock};

type Hook = Box<dyn FnOnce() + Send>;

/// Which time a hooked reading returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The time read before the closure ran: the caller was preempted just after reading it.
    Before,
    /// The time after the closure ran: the caller was preempted just before reading it.
    After,
}

/// A [`ManualClock`] whose N-th reading (counting every `now()` since it was made, on any clone)
/// runs a one-shot closure. Nested readings made by the closure itself count too, but never run
/// it again.
#[derive(Clone, Default)]
pub struct HookClock {
    time: ManualClock,
    calls: Arc<AtomicUsize>,
    /// The reading that runs the hook; 0 for none.
    trigger: Arc<AtomicUsize>,
    /// Whether that reading returns the time from after the hook ran.
    after: Arc<AtomicBool>,
    hook: Arc<Mutex<Option<Hook>>>,
}

impl HookClock {
    pub fn advance(&self, by: Duration) {
        self.time.advance(by);
    }

    /// The time now, without counting as a reading.
    pub fn peek(&self) -> Duration {
        self.time.now()
    }

    /// The readings so far.
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Runs `hook` inside reading number `n` (1-based).
    fn run_at_call(&self, n: usize, reading: Reading, hook: impl FnOnce() + Send + 'static) {
        *self.hook.lock().unwrap() = Some(Box::new(hook));
        self.after
            .store(reading == Reading::After, Ordering::SeqCst);
        self.trigger.store(n, Ordering::SeqCst);
    }

    /// Runs `hook` inside the next reading of the clock.
    pub fn run_at_next_read(&self, reading: Reading, hook: impl FnOnce() + Send + 'static) {
        self.run_at_call(self.calls() + 1, reading, hook);
    }

    /// Whether the armed hook has run.
    pub fn fired(&self) -> bool {
        self.hook.lock().unwrap().is_none()
    }
}

impl Clock for HookClock {
    fn now(&self) -> Duration {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        let before = self.time.now();
        if n != self.trigger.load(Ordering::SeqCst) {
            return before;
        }
        // Take the closure out first: it calls the breaker, which reads this clock again.
        let hook = self.hook.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        if self.after.load(Ordering::SeqCst) {
            self.time.now()
        } else {
            before
        }
    }
}
