//! The scripts the driver plays: the original demo's sequence, or a seeded random one.

use std::time::Duration;

/// One step of a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// `GET /`, the service's health text.
    Health,
    /// `POST /sum` with a form body of `value1` and `value2`.
    Sum {
        /// The first value, as sent.
        value1: String,
        /// The second value, as sent.
        value2: String,
    },
    /// Wait, sending nothing.
    Pause(Duration),
}

impl Step {
    /// A sum the service can compute.
    pub fn good(a: i64, b: i64) -> Self {
        Step::Sum {
            value1: a.to_string(),
            value2: b.to_string(),
        }
    }

    /// A sum of letters: the service answers 500.
    pub fn bad() -> Self {
        Step::Sum {
            value1: "a".into(),
            value2: "b".into(),
        }
    }

    /// Whether the step sends a request.
    pub fn is_request(&self) -> bool {
        !matches!(self, Step::Pause(_))
    }
}

/// The pause in the demo that lets the window empty: W plus one second, as in the original, or
/// W + W/5 when that is shorter (W under 5 s), so that a short window keeps the whole demo short
/// (`--window 0.2` pauses 0.24 s).
pub fn demo_pause(window: Duration) -> Duration {
    window.saturating_add(Duration::from_secs(1).min(window / 5))
}

/// The original demo's sequence: a health check, a good sum, six bad sums, a good sum, a pause
/// a little longer than W, a bad sum, two good sums, four bad sums.
pub fn demo(window: Duration) -> Vec<Step> {
    let mut steps = vec![Step::Health, Step::good(44, 13)];
    steps.extend(std::iter::repeat_n(Step::bad(), 6));
    steps.push(Step::good(44, 13));
    steps.push(Step::Pause(demo_pause(window)));
    steps.push(Step::bad());
    steps.push(Step::good(2, 2));
    steps.push(Step::good(-7, 10));
    steps.extend(std::iter::repeat_n(Step::bad(), 4));
    steps
}

/// `requests` sums, each bad with probability `error_rate`, `interval` apart, from `seed`.
/// The same seed gives the same steps.
pub fn random(requests: u32, error_rate: f64, seed: u64, interval: Duration) -> Vec<Step> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut steps = Vec::new();
    for i in 0..requests {
        if i > 0 && !interval.is_zero() {
            steps.push(Step::Pause(interval));
        }
        if rng.f64() < error_rate {
            steps.push(Step::bad());
        } else {
            steps.push(Step::good(rng.i64(-1000..=1000), rng.i64(-1000..=1000)));
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_is_the_original_sequence() {
        let steps = demo(Duration::from_secs(5));
        let requests = steps.iter().filter(|s| s.is_request()).count();
        assert_eq!(requests, 16);
        assert_eq!(steps[0], Step::Health);
        assert_eq!(steps[1], Step::good(44, 13));
        assert!(steps[2..8].iter().all(|s| *s == Step::bad()));
        assert_eq!(steps[8], Step::good(44, 13));
        assert_eq!(steps[9], Step::Pause(Duration::from_secs(6)));
        assert_eq!(steps[10], Step::bad());
        assert!(
            steps[11..13]
                .iter()
                .all(|s| matches!(s, Step::Sum { .. }) && *s != Step::bad())
        );
        assert!(steps[13..].iter().all(|s| *s == Step::bad()));
    }

    #[test]
    fn demo_pause_is_w_plus_one_second_or_less_for_a_short_window() {
        assert_eq!(demo_pause(Duration::from_secs(5)), Duration::from_secs(6));
        assert_eq!(demo_pause(Duration::from_secs(60)), Duration::from_secs(61));
        assert_eq!(
            demo_pause(Duration::from_millis(200)),
            Duration::from_millis(240)
        );
        assert_eq!(demo_pause(Duration::MAX), Duration::MAX); // no overflow
    }

    #[test]
    fn random_is_reproducible_from_its_seed() {
        let a = random(50, 0.3, 42, Duration::from_millis(10));
        assert_eq!(a, random(50, 0.3, 42, Duration::from_millis(10)));
        assert_ne!(a, random(50, 0.3, 43, Duration::from_millis(10)));
        assert_eq!(a.iter().filter(|s| s.is_request()).count(), 50);
    }

    #[test]
    fn random_error_rate_bounds() {
        let none = random(100, 0.0, 1, Duration::ZERO);
        assert!(none.iter().all(|s| *s != Step::bad()));
        let all = random(100, 1.0, 1, Duration::ZERO);
        assert!(all.iter().all(|s| *s == Step::bad()));
    }
}
