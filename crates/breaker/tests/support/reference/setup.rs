//! A breaker's configuration as the model of every rule draws it, and the builder it makes.

use std::time::Duration;

use breaker::{Builder, CircuitBreaker, Probing};

/// Probing, as drawn: the backoff multiplier is `multiplier / 2` (1, 1.5, 2 or 3), so that the
/// model can work it out in whole numbers.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub probes: u32,
    pub open_time: u64,
    pub multiplier_halves: u32,
    pub cap: u64,
    pub timeout: u64,
}

impl ProbeConfig {
    /// Backoff step `level`: `min(floor(open_time × multiplier^level), cap)`.
    pub fn step(&self, level: u32) -> u64 {
        let (num_step, den_step) = match self.multiplier_halves {
            2 => return self.open_time.min(self.cap),
            3 => (3u128, 2u128),
            4 => (2, 1),
            6 => (3, 1),
            other => unreachable!("multiplier {other} / 2"),
        };
        let (mut num, mut den) = (u128::from(self.open_time), 1u128);
        for _ in 0..level {
            num *= num_step;
            den *= den_step;
            if num / den >= u128::from(self.cap) {
                return self.cap;
            }
        }
        (num / den) as u64
    }
}

/// A breaker's configuration, as drawn.
#[derive(Debug, Clone)]
pub struct Setup {
    pub w: u64,
    pub count: Option<u32>,
    pub rate: Option<(f64, u32)>,
    pub consecutive: Option<u32>,
    pub slow: Option<u64>,
    pub probing: Option<ProbeConfig>,
}

impl Setup {
    pub fn builder(&self) -> Builder {
        let mut b = CircuitBreaker::builder().window(Duration::from_nanos(self.w));
        if let Some(t) = self.count {
            b = b.error_threshold(t);
        }
        if let Some((ratio, min_calls)) = self.rate {
            b = b.failure_rate(ratio, min_calls);
        }
        if let Some(n) = self.consecutive {
            b = b.consecutive_failures(n);
        }
        if let Some(slow) = self.slow {
            b = b.slow_call(Duration::from_nanos(slow));
        }
        if let Some(p) = &self.probing {
            b = b.probing(
                Probing::new(p.probes)
                    .open_time(Duration::from_nanos(p.open_time))
                    .backoff(
                        f64::from(p.multiplier_halves) / 2.0,
                        Duration::from_nanos(p.cap),
                    )
                    .probe_timeout(Duration::from_nanos(p.timeout)),
            );
        }
        b
    }

    /// The rate rule's buckets: how many, and how wide.
    pub fn buckets(&self) -> (u64, u64) {
        let len = self.w.min(16);
        (len, (self.w / len).max(1))
    }
}
