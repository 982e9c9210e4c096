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
    /// A sum of two values, sent as they are written.
    pub fn sum(value1: &str, value2: &str) -> Self {
        Step::Sum {
            value1: value1.into(),
            value2: value2.into(),
        }
    }

    /// A sum the service can compute.
    pub fn good(a: i64, b: i64) -> Self {
        Step::sum(&a.to_string(), &b.to_string())
    }

    /// A sum of letters: the service answers 500.
    pub fn bad() -> Self {
        Step::sum("a", "b")
    }

    /// Whether the step sends a request.
    pub fn is_request(&self) -> bool {
        !matches!(self, Step::Pause(_))
    }

    /// How the sum service answers this request when it is up: a success for `GET /` and for
    /// a sum of two integers, a failure (its 500) for any other sum. It stands for the answer
    /// of a request the breaker rejected, which was never sent, in a picture of the run.
    ///
    /// ```
    /// use breaker::Outcome;
    /// use driver::scenario::Step;
    ///
    /// assert_eq!(Step::sum("44", "-13").expected_outcome(), Outcome::Success);
    /// assert_eq!(Step::sum("gg", "13").expected_outcome(), Outcome::Failure);
    /// assert_eq!(Step::Health.expected_outcome(), Outcome::Success);
    /// ```
    pub fn expected_outcome(&self) -> breaker::Outcome {
        let integer = |v: &str| {
            let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
            !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
        };
        match self {
            Step::Sum { value1, value2 } if !(integer(value1) && integer(value2)) => {
                breaker::Outcome::Failure
            }
            _ => breaker::Outcome::Success,
        }
    }
}

/// The pause in the demo that lets the window empty: W plus one second, as in the original, or
/// W + W/5 when that is shorter (W under 5 s), so that a short window keeps the whole demo short
/// (`--window 0.2` pauses 0.24 s).
pub fn demo_pause(window: Duration) -> Duration {
    window.saturating_add(Duration::from_secs(1).min(window / 5))
}

/// The original demo's sums before its pause, with its own values: a good sum, six bad ones, a
/// good one.
pub const DEMO_BEFORE_PAUSE: [(&str, &str); 8] = [
    ("44", "13"),
    ("gg", "g"),
    ("gg", "f3"),
    ("gg", "53"),
    ("gg", "19"),
    ("gg", "23"),
    ("gg", "78"),
    ("44", "10"),
];

/// The original demo's sums after its pause: a bad sum, two good ones, four bad ones.
pub const DEMO_AFTER_PAUSE: [(&str, &str); 7] = [
    ("gg", "hh"),
    ("88", "45"),
    ("56", "12"),
    ("gg", "hh"),
    ("gg", "hg"),
    ("gg", "hg"),
    ("gg", "hg"),
];

/// The original demo's sequence, request for request and with its own values: `GET /`, the
/// sums of [`DEMO_BEFORE_PAUSE`], a pause a little longer than W ([`demo_pause`]), the sums of
/// [`DEMO_AFTER_PAUSE`].
pub fn demo(window: Duration) -> Vec<Step> {
    let sums = |values: &'static [(&'static str, &'static str)]| {
        values.iter().map(|&(a, b)| Step::sum(a, b))
    };
    let mut steps = vec![Step::Health];
    steps.extend(sums(&DEMO_BEFORE_PAUSE));
    steps.push(Step::Pause(demo_pause(window)));
    steps.extend(sums(&DEMO_AFTER_PAUSE));
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
    fn demo_is_the_original_sequence_with_its_values() {
        let sum = |a: &str, b: &str| Step::sum(a, b);
        assert_eq!(
            demo(Duration::from_secs(5)),
            [
                Step::Health,
                sum("44", "13"),
                sum("gg", "g"),
                sum("gg", "f3"),
                sum("gg", "53"),
                sum("gg", "19"),
                sum("gg", "23"),
                sum("gg", "78"),
                sum("44", "10"),
                Step::Pause(Duration::from_secs(6)),
                sum("gg", "hh"),
                sum("88", "45"),
                sum("56", "12"),
                sum("gg", "hh"),
                sum("gg", "hg"),
                sum("gg", "hg"),
                sum("gg", "hg"),
            ]
        );
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
