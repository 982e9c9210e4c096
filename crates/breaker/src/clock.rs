//! Time as the breaker sees it: a monotonic reading, never wall time.
//!
//! The breaker never sleeps and starts no timer; it only asks a [`Clock`] for the time when it
//! records a failure or looks at an open circuit. That makes time something a caller can own:
//! [`MonotonicClock`] is the default, and [`ManualClock`] moves only when a test (or a benchmark,
//! or a simulation) tells it to, so a timeline can be checked to the nanosecond without waiting.

use std::sync::Arc;
use std::time::Duration;

use crate::nanos::Nanos;
use crate::sync::{AtomicU64, Ordering};

/// A monotonic source of time for a [`CircuitBreaker`](crate::CircuitBreaker).
///
/// `now` returns the time elapsed since an origin of the clock's choosing. It must never go
/// backwards: the breaker trusts each reading as it is.
///
/// Closures are not clocks on purpose: a clock is shared by every clone of a breaker, so it has
/// to be `Send + Sync + 'static`, and a named type documents what the time means.
///
/// # Example
///
/// A clock that reads a shared counter of milliseconds, as a simulation might keep:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::time::Duration;
/// use breaker::{CircuitBreaker, Clock};
///
/// struct Ticks(Arc<AtomicU64>);
///
/// impl Clock for Ticks {
///     fn now(&self) -> Duration {
///         Duration::from_millis(self.0.load(Ordering::Relaxed))
///     }
/// }
///
/// let ticks = Arc::new(AtomicU64::new(0));
/// let cb = CircuitBreaker::builder()
///     .window(Duration::from_secs(1))
///     .error_threshold(0)
///     .clock(Ticks(ticks.clone()))
///     .build()?;
/// cb.try_acquire()?.failure();
/// assert!(cb.try_acquire().is_err());
/// ticks.store(1_000, Ordering::Relaxed);
/// assert!(cb.try_acquire().is_ok());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The time elapsed since this clock's origin.
    fn now(&self) -> Duration;
}

/// The default clock: monotonic time from one origin shared by the whole process (the first
/// time any `MonotonicClock` is read). It takes no room, so a default breaker stores no clock
/// at all.
///
/// It reads the processor's time-stamp counter where that counter is invariant and calibrated
/// against the operating system's monotonic clock (through the `quanta` crate), which costs a
/// third of an [`Instant::now`](std::time::Instant::now): an open circuit's rejection is mostly this read. The
/// breaker turns the counter into nanoseconds since the origin with one multiplication and a shift,
/// and no `Duration` in between. Where the counter cannot be trusted, it reads the operating
/// system's monotonic clock.
///
/// # Example
///
/// ```
/// use breaker::{Clock, MonotonicClock};
///
/// let clock = MonotonicClock::new();
/// let a = clock.now();
/// assert!(clock.now() >= a);
/// assert!(MonotonicClock::new().now() >= a); // one origin for every clock
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct MonotonicClock {
    _private: (),
}

impl MonotonicClock {
    /// The monotonic clock.
    pub const fn new() -> Self {
        Self { _private: () }
    }
}

impl MonotonicClock {
    /// The time since the origin in nanoseconds: the processor's counter read once, less the
    /// origin's reading, scaled by one multiplication and a shift. No `Duration` is made.
    #[inline]
    pub(crate) fn nanos(self) -> Nanos {
        crate::sync::process_static!(SOURCE: (quanta::Clock, u64) = {
            let clock = quanta::Clock::new();
            let origin = clock.raw();
            (clock, origin)
        });
        let (clock, origin) = &*SOURCE;
        // Zero if the counter reads below the origin (a core whose counter lags): never back
        // before the origin, as the clock promises.
        Nanos::new(clock.delta_as_nanos(*origin, clock.raw()))
    }
}

impl Clock for MonotonicClock {
    #[inline]
    fn now(&self) -> Duration {
        self.nanos().to_duration()
    }
}

/// A clock that moves only when told to. Clones share one time.
///
/// It starts at zero. Give one clone to the breaker's builder and keep another to move time.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use breaker::{Clock, ManualClock};
///
/// let clock = ManualClock::new();
/// let handle = clock.clone();
/// handle.advance(Duration::from_millis(1_500));
/// assert_eq!(clock.now(), Duration::from_millis(1_500));
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A clock standing at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves every clone of this clock forward by `by`.
    ///
    /// The time saturates at `u64::MAX` nanoseconds (about 584 years) rather than wrapping.
    pub fn advance(&self, by: Duration) {
        let step = Nanos::saturating_from(by);
        // fetch_update never fails with a closure that always returns Some.
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
                Some(Nanos::new(t).saturating_add(step).as_u64())
            });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Nanos::new(self.nanos.load(Ordering::Acquire)).to_duration()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_clones_share_time() {
        let a = ManualClock::new();
        let b = a.clone();
        a.advance(Duration::from_nanos(7));
        b.advance(Duration::from_secs(1));
        assert_eq!(a.now(), Duration::from_nanos(1_000_000_007));
    }

    #[test]
    fn manual_clock_saturates_instead_of_wrapping() {
        let c = ManualClock::new();
        c.advance(Duration::MAX);
        c.advance(Duration::from_secs(1));
        assert_eq!(c.now(), Duration::from_nanos(u64::MAX));
    }

    #[test]
    fn monotonic_clock_never_goes_back() {
        let c = MonotonicClock::new();
        let mut last = c.now();
        for _ in 0..1_000 {
            let t = c.now();
            assert!(t >= last);
            last = t;
        }
    }
}
