//! The rules that turn a field's text into a start, a duration or an outcome, shared by every
//! format.
//!
//! Each format finds the texts its own way (a JSON value, a CSV cell, a CLF token); the rules
//! for what they mean live here once, so that `"status": "503"` in a JSON line, `503` in a CSV
//! cell and `503` in an access log are read alike and refused with the same words.

use std::time::Duration;

use breaker::Outcome;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::decimal::{DecimalError, seconds_to_nanos};

/// The texts of one record's fields, each `None` when absent (or empty, or a JSON `null`).
#[derive(Debug, Default)]
pub(crate) struct Texts<'a> {
    pub(crate) t: Option<&'a [u8]>,
    pub(crate) outcome: Option<&'a [u8]>,
    pub(crate) status: Option<&'a [u8]>,
    pub(crate) duration: Option<&'a [u8]>,
}

/// The field names to use in messages.
pub(crate) struct Names<'n> {
    pub(crate) t: &'n str,
    pub(crate) outcome: &'n str,
    pub(crate) status: &'n str,
    pub(crate) duration: &'n str,
}

impl<'n> From<&'n super::Fields> for Names<'n> {
    fn from(fields: &'n super::Fields) -> Self {
        Self {
            t: &fields.t,
            outcome: &fields.outcome,
            status: &fields.status,
            duration: &fields.duration,
        }
    }
}

/// A record's parts read from its texts: its start, duration and outcome.
pub(crate) fn interpret(texts: &Texts<'_>, names: &Names<'_>) -> Result<Parts, String> {
    let start = match texts.t {
        Some(text) => start(names.t, text)?,
        None => return Err(format!("\"{}\" is missing", names.t)),
    };
    let outcome = match (texts.outcome, texts.status) {
        (Some(text), _) => outcome(names.outcome, text)?,
        (None, Some(text)) => status(names.status, text)?,
        (None, None) => {
            return Err(format!(
                "neither \"{}\" nor \"{}\" is present",
                names.outcome, names.status
            ));
        }
    };
    let duration = match texts.duration {
        Some(text) => duration(names.duration, text)?,
        None => Duration::ZERO,
    };
    Ok(Parts {
        start,
        duration,
        outcome,
    })
}

/// A record without its line number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parts {
    pub(crate) start: i64,
    pub(crate) duration: Duration,
    pub(crate) outcome: Outcome,
}

/// A start: decimal seconds of any origin, or an RFC 3339 time (nanoseconds since the Unix
/// epoch).
pub(crate) fn start(name: &str, text: &[u8]) -> Result<i64, String> {
    match seconds_to_nanos(text) {
        Ok(nanos) => Ok(nanos),
        Err(DecimalError::OutOfRange) => Err(format!("\"{name}\" is out of range")),
        Err(DecimalError::NotANumber) => {
            rfc3339(text).ok_or_else(|| format!("\"{name}\" is not a number or an RFC 3339 time"))
        }
    }
}

/// An RFC 3339 time (`2024-12-07T19:33:20.5Z`, `...+01:00`) in nanoseconds since the Unix
/// epoch, if the text is one within range.
pub(crate) fn rfc3339(text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?;
    let time = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    i64::try_from(time.unix_timestamp_nanos()).ok()
}

/// A duration: non-negative decimal seconds.
pub(crate) fn duration(name: &str, text: &[u8]) -> Result<Duration, String> {
    match seconds_to_nanos(text) {
        Ok(nanos) => u64::try_from(nanos)
            .map(Duration::from_nanos)
            .map_err(|_| format!("\"{name}\" is negative")),
        Err(DecimalError::OutOfRange) => Err(format!("\"{name}\" is out of range")),
        Err(DecimalError::NotANumber) => Err(format!("\"{name}\" is not a number of seconds")),
    }
}

/// An outcome by name: `success`, `failure` or `ignored`, in any case.
pub(crate) fn outcome(name: &str, text: &[u8]) -> Result<Outcome, String> {
    if text.eq_ignore_ascii_case(b"success") {
        Ok(Outcome::Success)
    } else if text.eq_ignore_ascii_case(b"failure") {
        Ok(Outcome::Failure)
    } else if text.eq_ignore_ascii_case(b"ignored") {
        Ok(Outcome::Ignored)
    } else {
        Err(format!("\"{name}\" is not success, failure or ignored"))
    }
}

/// An HTTP status (100 to 999), classified.
pub(crate) fn status(name: &str, text: &[u8]) -> Result<Outcome, String> {
    parse_status(text)
        .map(classify_status)
        .ok_or_else(|| format!("\"{name}\" is not an HTTP status code"))
}

/// The status in `text`, three digits from 100 to 999.
pub(crate) fn parse_status(text: &[u8]) -> Option<u16> {
    match *text {
        [a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

/// The breaker's classification of an HTTP status: 5xx is a failure, 4xx is ignored (the
/// client's fault, not the service's), anything else (1xx, 2xx, 3xx) a success.
pub(crate) fn classify_status(status: u16) -> Outcome {
    match status {
        500..=599 => Outcome::Failure,
        400..=499 => Outcome::Ignored,
        _ => Outcome::Success,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: Names<'static> = Names {
        t: "t",
        outcome: "outcome",
        status: "status",
        duration: "duration",
    };

    fn texts<'a>(
        t: Option<&'a str>,
        outcome: Option<&'a str>,
        status: Option<&'a str>,
        duration: Option<&'a str>,
    ) -> Texts<'a> {
        Texts {
            t: t.map(str::as_bytes),
            outcome: outcome.map(str::as_bytes),
            status: status.map(str::as_bytes),
            duration: duration.map(str::as_bytes),
        }
    }

    #[test]
    fn statuses_are_classified_as_the_breaker_classifies_http() {
        let cases = [
            (100, Outcome::Success),
            (200, Outcome::Success),
            (204, Outcome::Success),
            (301, Outcome::Success),
            (399, Outcome::Success),
            (400, Outcome::Ignored),
            (404, Outcome::Ignored),
            (429, Outcome::Ignored),
            (499, Outcome::Ignored),
            (500, Outcome::Failure),
            (503, Outcome::Failure),
            (599, Outcome::Failure),
            (600, Outcome::Success),
        ];
        for (code, expected) in cases {
            assert_eq!(classify_status(code), expected, "{code}");
            assert_eq!(status("status", code.to_string().as_bytes()), Ok(expected));
        }
    }

    #[test]
    fn a_status_is_three_digits() {
        for text in ["", "0", "99", "050", "1000", "5xx", "-500", "500.0", " 500"] {
            assert_eq!(
                status("code", text.as_bytes()),
                Err("\"code\" is not an HTTP status code".to_owned()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn outcomes_by_name_in_any_case() {
        assert_eq!(outcome("o", b"success"), Ok(Outcome::Success));
        assert_eq!(outcome("o", b"FAILURE"), Ok(Outcome::Failure));
        assert_eq!(outcome("o", b"Ignored"), Ok(Outcome::Ignored));
        assert_eq!(
            outcome("o", b"fail"),
            Err("\"o\" is not success, failure or ignored".to_owned())
        );
    }

    #[test]
    fn starts_are_seconds_or_rfc3339_times() {
        assert_eq!(start("t", b"12.5"), Ok(12_500_000_000));
        assert_eq!(start("t", b"-3"), Ok(-3_000_000_000));
        assert_eq!(
            start("t", b"2024-12-07T19:33:20.123456789Z"),
            Ok(1_733_600_000_123_456_789)
        );
        assert_eq!(
            start("t", b"2024-12-07T20:33:20.5+01:00"),
            Ok(1_733_600_000_500_000_000)
        );
        assert_eq!(
            start("t", b"2024-12-07T14:03:20-05:30"),
            Ok(1_733_600_000_000_000_000)
        );
        assert_eq!(
            start("ts", b"yesterday"),
            Err("\"ts\" is not a number or an RFC 3339 time".to_owned())
        );
        assert_eq!(
            start("t", b"2024-12-07 19:33:20"),
            Err("\"t\" is not a number or an RFC 3339 time".to_owned())
        );
        assert_eq!(start("t", b"1e30"), Err("\"t\" is out of range".to_owned()));
    }

    #[test]
    fn durations_are_non_negative_seconds() {
        assert_eq!(duration("d", b"0.123"), Ok(Duration::from_millis(123)));
        assert_eq!(duration("d", b"0"), Ok(Duration::ZERO));
        assert_eq!(duration("d", b"-0.1"), Err("\"d\" is negative".to_owned()));
        assert_eq!(
            duration("d", b"NaN"),
            Err("\"d\" is not a number of seconds".to_owned())
        );
        assert_eq!(
            duration("d", b"inf"),
            Err("\"d\" is not a number of seconds".to_owned())
        );
        assert_eq!(
            duration("d", b"1e300"),
            Err("\"d\" is out of range".to_owned())
        );
    }

    #[test]
    fn an_outcome_wins_over_a_status() {
        let parts = interpret(
            &texts(Some("1"), Some("success"), Some("503"), None),
            &NAMES,
        );
        assert_eq!(parts.map(|p| p.outcome), Ok(Outcome::Success));
    }

    #[test]
    fn a_status_stands_in_for_a_missing_outcome() {
        let parts = interpret(&texts(Some("1"), None, Some("503"), Some("0.5")), &NAMES);
        assert_eq!(
            parts,
            Ok(Parts {
                start: 1_000_000_000,
                duration: Duration::from_millis(500),
                outcome: Outcome::Failure,
            })
        );
    }

    #[test]
    fn missing_parts_are_named() {
        assert_eq!(
            interpret(&texts(None, Some("success"), None, None), &NAMES),
            Err("\"t\" is missing".to_owned())
        );
        assert_eq!(
            interpret(&texts(Some("1"), None, None, None), &NAMES),
            Err("neither \"outcome\" nor \"status\" is present".to_owned())
        );
    }
}
