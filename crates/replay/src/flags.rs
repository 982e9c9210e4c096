//! The values of the trip-rule flags, read the same way by `breaker-replay` and by the demo's
//! driver, so that a setting tried on a log is written exactly as it is played.
//!
//! Each function but [`one_line`] is a clap value parser: it takes the flag's text and returns
//! the value or a one-line reason; [`one_line`] makes clap's own error one line.

use std::fmt;
use std::time::Duration;

use crate::settings::parse_duration;

/// The count rule's threshold T, or `None` for `none` (no count rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold(pub Option<u32>);

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(t) => write!(f, "{t}"),
            None => f.write_str("none"),
        }
    }
}

/// A duration: seconds (`5`, `0.25`) or a human string (`5s`, `250ms`).
///
/// ```
/// use std::time::Duration;
/// use breaker_replay::flags::duration;
///
/// assert_eq!(duration("0.25"), Ok(Duration::from_millis(250)));
/// assert_eq!(duration("1m 30s"), Ok(Duration::from_secs(90)));
/// assert!(duration("-1").is_err());
/// ```
///
/// # Errors
///
/// Anything else, a negative number included.
pub fn duration(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

/// A [`duration`] more than zero.
///
/// ```
/// use breaker_replay::flags::positive_duration;
///
/// assert_eq!(positive_duration("0").unwrap_err(), "must be more than zero");
/// ```
///
/// # Errors
///
/// As [`duration`], and zero.
pub fn positive_duration(s: &str) -> Result<Duration, String> {
    let d = duration(s)?;
    if d.is_zero() {
        return Err("must be more than zero".into());
    }
    Ok(d)
}

/// A number of failures (0 or more), or `none`.
///
/// ```
/// use breaker_replay::flags::{Threshold, threshold};
///
/// assert_eq!(threshold("3"), Ok(Threshold(Some(3))));
/// assert_eq!(threshold("none"), Ok(Threshold(None)));
/// assert!(threshold("-1").is_err());
/// ```
///
/// # Errors
///
/// Anything else.
pub fn threshold(s: &str) -> Result<Threshold, String> {
    if s.trim() == "none" {
        return Ok(Threshold(None));
    }
    s.trim()
        .parse()
        .map(|t| Threshold(Some(t)))
        .map_err(|_| format!("`{s}` is neither a number of failures (0 or more) nor `none`"))
}

/// A failure rate: more than 0 and at most 1.
///
/// ```
/// use breaker_replay::flags::failure_ratio;
///
/// assert_eq!(failure_ratio("0.5"), Ok(0.5));
/// assert!(failure_ratio("0").is_err() && failure_ratio("NaN").is_err());
/// ```
///
/// # Errors
///
/// Anything else, NaN included.
pub fn failure_ratio(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if r > 0.0 && r <= 1.0 {
        Ok(r)
    } else {
        Err(format!("`{s}` is not more than 0 and at most 1"))
    }
}

/// The first line of clap's error, with the list that follows it when it ends in a colon (the
/// arguments a missing-argument error names), so that one line says what is wrong on its own.
///
/// ```
/// use breaker_replay::flags::one_line;
///
/// let clap = "error: the following required arguments were not provided:\n  --failure-rate <R>\n\nUsage: ...";
/// assert_eq!(
///     one_line(clap),
///     "the following required arguments were not provided: --failure-rate <R>"
/// );
/// ```
pub fn one_line(text: &str) -> String {
    let mut lines = text.lines();
    let first = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ");
    if !first.ends_with(':') {
        return first.to_string();
    }
    let listed: Vec<&str> = lines
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect();
    format!("{first} {}", listed.join(", "))
}
