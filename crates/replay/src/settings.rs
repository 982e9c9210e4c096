//! The breaker settings a replay runs under: the command line's rule flags, as one value.
//!
//! A [`Settings`] is plain data (serialisable, comparable, cheap to clone) rather than a
//! [`Builder`], because a sweep makes a hundred of them from one command line, a report names
//! the one it ran, and another program (a load generator that made its calls itself) can build
//! the same breaker from the same value. [`Settings::builder`] is the one place where the flags
//! turn into a breaker, so the replay and the command line cannot disagree on what they mean:
//! the count rule is on unless `threshold` is `None`; the failure-rate and consecutive rules add
//! to it; the slow-call rule makes slow successes failures for all of them; `half_open` probes
//! with that many probes after an open time of W.

use std::fmt;
use std::time::Duration;

use breaker::{Builder, CircuitBreaker, ConfigError, ManualClock, Probing};
use serde::{Deserialize, Serialize};

/// One setting of the breaker: W, T and the opt-in rules.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use breaker_replay::Settings;
///
/// let settings = Settings {
///     window: Duration::from_secs(30),
///     threshold: Some(10),
///     ..Settings::default()
/// };
/// let cb = settings.builder()?.build()?;
/// assert_eq!((cb.window(), cb.error_threshold()), (Duration::from_secs(30), Some(10)));
/// assert_eq!(settings.to_string(), "W=30s T=10");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The time window W (more than zero). In JSON, seconds.
    #[serde(with = "seconds")]
    pub window: Duration,
    /// The count rule's threshold T: more than T failures in the window open the circuit.
    /// `None` turns the count rule off (another rule must then be on). In JSON, `null`; left
    /// out, [`DEFAULT_THRESHOLD`](Settings::DEFAULT_THRESHOLD).
    pub threshold: Option<u32>,
    /// The failure-rate rule, if on.
    pub failure_rate: Option<FailureRate>,
    /// The consecutive-failures rule: this many failures in a row open the circuit.
    pub consecutive: Option<u32>,
    /// The slow-call rule: a success slower than this is a failure. In JSON, seconds.
    #[serde(with = "optional_seconds")]
    pub slow: Option<Duration>,
    /// Half-open recovery with this many probes, after an open time of W.
    pub half_open: Option<u32>,
}

/// The failure-rate rule: over the last W, once at least `min_calls` calls have ended as a
/// success or a failure, the circuit opens when failures / calls >= `ratio`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureRate {
    /// The ratio that opens the circuit, in (0, 1].
    pub ratio: f64,
    /// The fewest calls the rule judges (at least 1).
    #[serde(default = "default_min_calls")]
    pub min_calls: u32,
}

fn default_min_calls() -> u32 {
    Settings::DEFAULT_MIN_CALLS
}

impl Default for Settings {
    /// W = 5 s and T = 3, the count rule alone: the breaker's own defaults.
    fn default() -> Self {
        Self {
            window: Settings::DEFAULT_WINDOW,
            threshold: Some(Settings::DEFAULT_THRESHOLD),
            failure_rate: None,
            consecutive: None,
            slow: None,
            half_open: None,
        }
    }
}

/// Why a [`Settings`] cannot build a breaker. Its message is one line.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The count rule is off and no other rule is on: nothing would ever open the circuit.
    #[error(
        "`--threshold none` turns the count rule off: give `--failure-rate` or `--consecutive` \
         too, or nothing would open the circuit"
    )]
    NoRule,
    /// The breaker's builder refused the configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

impl Settings {
    /// The window W when none is given.
    pub const DEFAULT_WINDOW: Duration = Duration::from_secs(5);
    /// The threshold T when none is given.
    pub const DEFAULT_THRESHOLD: u32 = 3;
    /// The failure-rate rule's fewest calls when none is given.
    pub const DEFAULT_MIN_CALLS: u32 = 10;

    /// A builder for the breaker these settings describe, on the breaker's default clock and
    /// with no observer: add [`clock`](Builder::clock) and observers, then
    /// [`build`](Builder::build).
    ///
    /// # Errors
    ///
    /// [`SettingsError::NoRule`] when the count rule is off and no other rule is on. Bad
    /// values (a zero window, a ratio out of range…) are refused by
    /// [`Builder::build`], or all at once by [`check`](Settings::check).
    pub fn builder(&self) -> Result<Builder, SettingsError> {
        if self.threshold.is_none() && self.failure_rate.is_none() && self.consecutive.is_none() {
            return Err(SettingsError::NoRule);
        }
        let mut builder = CircuitBreaker::builder().window(self.window);
        if let Some(t) = self.threshold {
            builder = builder.error_threshold(t);
        }
        if let Some(rate) = self.failure_rate {
            builder = builder.failure_rate(rate.ratio, rate.min_calls);
        }
        if let Some(n) = self.consecutive {
            builder = builder.consecutive_failures(n);
        }
        if let Some(slow) = self.slow {
            builder = builder.slow_call(slow);
        }
        if let Some(probes) = self.half_open {
            builder = builder.probing(Probing::new(probes).open_time(self.window));
        }
        Ok(builder)
    }

    /// Checks that these settings build a breaker.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker_replay::{Settings, SettingsError};
    ///
    /// let zero = Settings { window: Duration::ZERO, ..Settings::default() };
    /// assert_eq!(zero.check().unwrap_err().to_string(), "the window must be longer than zero");
    /// let no_rule = Settings { threshold: None, ..Settings::default() };
    /// assert_eq!(no_rule.check(), Err(SettingsError::NoRule));
    /// ```
    ///
    /// # Errors
    ///
    /// [`SettingsError::NoRule`], or the breaker's own [`ConfigError`].
    pub fn check(&self) -> Result<(), SettingsError> {
        self.builder()?.clock(ManualClock::new()).build()?;
        Ok(())
    }

    /// The longest an open period that started at the last event can go on by itself: W,
    /// since every trip lasts W at most past its last failure (with probing, the open time is
    /// W too).
    pub fn longest_open(&self) -> Duration {
        self.window
    }
}

impl fmt::Display for Settings {
    /// A short label: `W=5s T=3`, then the other rules in force.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "W={}", humantime::format_duration(self.window))?;
        match self.threshold {
            Some(t) => write!(f, " T={t}")?,
            None => f.write_str(" T=none")?,
        }
        for rule in self.other_rules() {
            write!(f, " {rule}")?;
        }
        Ok(())
    }
}

impl Settings {
    /// The rules in force besides W and T, as the label names them (`rate>=0.5/10`,
    /// `consecutive=3`, `slow>1s`, `half-open=2`).
    ///
    /// ```
    /// use breaker_replay::Settings;
    ///
    /// let settings = Settings { consecutive: Some(3), ..Settings::default() };
    /// assert_eq!(settings.other_rules(), ["consecutive=3"]);
    /// assert!(Settings::default().other_rules().is_empty());
    /// ```
    pub fn other_rules(&self) -> Vec<String> {
        let mut rules = Vec::new();
        if let Some(rate) = self.failure_rate {
            rules.push(format!("rate>={}/{}", rate.ratio, rate.min_calls));
        }
        if let Some(n) = self.consecutive {
            rules.push(format!("consecutive={n}"));
        }
        if let Some(slow) = self.slow {
            rules.push(format!("slow>{}", humantime::format_duration(slow)));
        }
        if let Some(p) = self.half_open {
            rules.push(format!("half-open={p}"));
        }
        rules
    }
}

/// A duration that is neither a number of seconds nor a human one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is neither a number of seconds nor a duration like `250ms`")]
pub struct BadDuration(String);

/// Reads a duration as the command line writes it: seconds (`5`, `0.25`) or a human string
/// (`5s`, `250ms`, `1m 30s`).
///
/// ```
/// use std::time::Duration;
/// use breaker_replay::parse_duration;
///
/// assert_eq!(parse_duration("0.25"), Ok(Duration::from_millis(250)));
/// assert_eq!(parse_duration("1m 30s"), Ok(Duration::from_secs(90)));
/// assert!(parse_duration("soon").is_err());
/// assert!(parse_duration("-1").is_err());
/// ```
///
/// # Errors
///
/// [`BadDuration`] for anything else, a negative or not finite number included.
pub fn parse_duration(text: &str) -> Result<Duration, BadDuration> {
    let trimmed = text.trim();
    let bad = || BadDuration(text.to_owned());
    if let Ok(secs) = trimmed.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|_| bad());
    }
    humantime::parse_duration(trimmed).map_err(|_| bad())
}

/// A duration in JSON: seconds (a number), or a human string when read.
#[derive(Deserialize)]
#[serde(untagged)]
enum JsonDuration {
    Seconds(f64),
    Text(String),
}

impl JsonDuration {
    fn duration<E: serde::de::Error>(self) -> Result<Duration, E> {
        match self {
            JsonDuration::Seconds(secs) => Duration::try_from_secs_f64(secs)
                .map_err(|_| E::custom(BadDuration(secs.to_string()))),
            JsonDuration::Text(text) => parse_duration(&text).map_err(E::custom),
        }
    }
}

/// `Duration` as seconds, for serde's `with`.
mod seconds {
    use super::*;

    pub(super) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Duration, D::Error> {
        JsonDuration::deserialize(d)?.duration()
    }
}

/// `Option<Duration>` as seconds or null, for serde's `with`.
mod optional_seconds {
    use super::*;

    pub(super) fn serialize<S: serde::Serializer>(
        d: &Option<Duration>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs_f64()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        Option::<JsonDuration>::deserialize(d)?
            .map(JsonDuration::duration)
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use breaker::{Reason, State};

    fn settings(threshold: Option<u32>) -> Settings {
        Settings {
            threshold,
            ..Settings::default()
        }
    }

    #[test]
    fn the_defaults_are_the_breakers_own() {
        let cb = Settings::default().builder().unwrap().build().unwrap();
        assert_eq!(cb.window(), Duration::from_secs(5));
        assert_eq!(cb.error_threshold(), Some(3));
    }

    #[test]
    fn no_threshold_without_another_rule_is_refused() {
        assert_eq!(settings(None).check(), Err(SettingsError::NoRule));
        let by_streak = Settings {
            consecutive: Some(2),
            ..settings(None)
        };
        let cb = by_streak.builder().unwrap().build().unwrap();
        assert_eq!(cb.error_threshold(), None);
    }

    #[test]
    fn bad_values_are_refused_with_the_breakers_message() {
        let rate = Settings {
            failure_rate: Some(FailureRate {
                ratio: 1.5,
                min_calls: 10,
            }),
            ..Settings::default()
        };
        assert_eq!(
            rate.check().unwrap_err().to_string(),
            "the failure rate must be more than 0 and at most 1, not 1.5"
        );
        let probes = Settings {
            half_open: Some(0),
            ..Settings::default()
        };
        assert_eq!(
            probes.check(),
            Err(SettingsError::Config(ConfigError::ZeroProbes))
        );
    }

    #[test]
    fn half_open_probes_after_an_open_time_of_w() {
        let clock = ManualClock::new();
        let cb = Settings {
            threshold: Some(0),
            half_open: Some(1),
            ..Settings::default()
        }
        .builder()
        .unwrap()
        .clock(clock.clone())
        .build()
        .unwrap();
        cb.try_acquire().unwrap().failure();
        clock.advance(Duration::from_secs(5));
        assert_eq!(cb.state(), State::HalfOpen);
    }

    #[test]
    fn a_slow_success_trips_like_a_failure() {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = seen.clone();
        let clock = ManualClock::new();
        let cb = Settings {
            threshold: Some(0),
            slow: Some(Duration::from_secs(1)),
            ..Settings::default()
        }
        .builder()
        .unwrap()
        .clock(clock.clone())
        .on_state_change(move |c| log.lock().unwrap().push(c.reason))
        .build()
        .unwrap();
        let permit = cb.try_acquire().unwrap();
        clock.advance(Duration::from_secs(2));
        permit.success();
        assert_eq!(*seen.lock().unwrap(), [Reason::FailureCount]);
    }

    #[test]
    fn durations_read_as_seconds_or_human_strings() {
        for (text, expected) in [
            ("5", Duration::from_secs(5)),
            (" 0.25 ", Duration::from_millis(250)),
            ("5s", Duration::from_secs(5)),
            ("250ms", Duration::from_millis(250)),
            ("0", Duration::ZERO),
        ] {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
        for text in ["", "soon", "-1", "NaN", "inf", "5 parsecs"] {
            assert!(parse_duration(text).is_err(), "{text}");
        }
        assert_eq!(
            parse_duration("soon").unwrap_err().to_string(),
            "`soon` is neither a number of seconds nor a duration like `250ms`"
        );
    }

    #[test]
    fn settings_round_trip_through_json_with_durations_in_seconds() {
        let settings = Settings {
            window: Duration::from_millis(1500),
            threshold: None,
            failure_rate: Some(FailureRate {
                ratio: 0.5,
                min_calls: 4,
            }),
            consecutive: Some(3),
            slow: Some(Duration::from_millis(250)),
            half_open: Some(2),
        };
        let json = serde_json::to_string(&settings).unwrap();
        assert_eq!(
            json,
            r#"{"window":1.5,"threshold":null,"failure_rate":{"ratio":0.5,"min_calls":4},"consecutive":3,"slow":0.25,"half_open":2}"#
        );
        assert_eq!(serde_json::from_str::<Settings>(&json).unwrap(), settings);
        let human: Settings = serde_json::from_str(r#"{"window": "30s", "slow": "1s"}"#).unwrap();
        assert_eq!(human.window, Duration::from_secs(30));
        assert_eq!(human.slow, Some(Duration::from_secs(1)));
        assert_eq!(human.threshold, Some(Settings::DEFAULT_THRESHOLD));
        assert!(serde_json::from_str::<Settings>(r#"{"window": 1, "colour": 2}"#).is_err());
    }

    #[test]
    fn the_label_names_every_rule_in_force() {
        let settings = Settings {
            window: Duration::from_millis(250),
            threshold: None,
            failure_rate: Some(FailureRate {
                ratio: 0.5,
                min_calls: 4,
            }),
            consecutive: Some(3),
            slow: Some(Duration::from_secs(1)),
            half_open: Some(2),
        };
        assert_eq!(
            settings.to_string(),
            "W=250ms T=none rate>=0.5/4 consecutive=3 slow>1s half-open=2"
        );
    }
}
