//! The `jsonl` reader: one JSON object per line.
//!
//! Speed decides its shape. Each line is read into one reused buffer and deserialized in place
//! by a visitor that knows the four field names it wants: their values are borrowed as raw JSON
//! text (serde_json's `RawValue`), every other value is skipped unparsed, and nothing is
//! allocated for a line in the common case (no `serde_json::Value`, no owned strings). Numbers
//! are kept as their text so that epoch seconds with nine decimals reach nanoseconds exactly,
//! which an `f64` would not.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::error::ReadError;
use super::fields::{Fields, Role};
use super::source::{Input, Lines};
use super::value::{self, Names, Texts};
use crate::Record;

/// Reads records from JSON lines.
pub(crate) struct JsonlReader {
    lines: Lines,
    fields: Fields,
}

impl JsonlReader {
    pub(crate) fn new(input: Input, fields: Fields) -> Self {
        Self {
            lines: Lines::new(input),
            fields,
        }
    }

    /// The next record, an unreadable line, an I/O error, or `None` at the end.
    pub(crate) fn next_record(&mut self) -> Option<Result<Record, ReadError>> {
        let (line, text) = match self.lines.next_line()? {
            Ok(line) => line,
            Err(error) => return Some(Err(ReadError::Io(error))),
        };
        Some(
            parse_line(text, &self.fields)
                .map(|parts| Record {
                    line,
                    start: parts.start,
                    duration: parts.duration,
                    outcome: parts.outcome,
                })
                .map_err(|reason| ReadError::line(line, reason)),
        )
    }
}

/// A line's record parts, or why it has none.
fn parse_line(text: &[u8], fields: &Fields) -> Result<value::Parts, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let raw = LineSeed { fields }
        .deserialize(&mut deserializer)
        .and_then(|raw| deserializer.end().map(|()| raw))
        .map_err(|error| json_reason(&error))?;
    let t = decode(raw.t)?;
    let outcome = decode(raw.outcome)?;
    let status = decode(raw.status)?;
    let duration = decode(raw.duration)?;
    let texts = Texts {
        t: t.as_deref().map(str::as_bytes),
        outcome: outcome.as_deref().map(str::as_bytes),
        status: status.as_deref().map(str::as_bytes),
        duration: duration.as_deref().map(str::as_bytes),
    };
    value::interpret(&texts, &Names::from(fields))
}

/// Why serde_json refused a line, in one line without its "at line 1" position.
fn json_reason(error: &serde_json::Error) -> String {
    match error.classify() {
        serde_json::error::Category::Data => "not a JSON object".to_owned(),
        _ => {
            let message = error.to_string();
            let position = format!(" at line {} column {}", error.line(), error.column());
            let message = message.strip_suffix(&position).unwrap_or(&message);
            format!("not valid JSON ({message} at column {})", error.column())
        }
    }
}

/// A value's text: a string's contents (unescaped, which allocates only if it has escapes),
/// any other value's JSON text, or `None` for an absent value or a `null`.
fn decode(raw: Option<&RawValue>) -> Result<Option<Cow<'_, str>>, String> {
    let Some(raw) = raw else { return Ok(None) };
    let text = raw.get();
    if text == "null" {
        return Ok(None);
    }
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return Ok(Some(Cow::Borrowed(text)));
    };
    if !inner.contains('\\') {
        return Ok(Some(Cow::Borrowed(inner)));
    }
    serde_json::from_str::<String>(text)
        .map(|s| Some(Cow::Owned(s)))
        .map_err(|error| json_reason(&error))
}

/// The raw texts of the wanted fields of one object, borrowed from the line.
#[derive(Default)]
struct RawLine<'de> {
    t: Option<&'de RawValue>,
    outcome: Option<&'de RawValue>,
    status: Option<&'de RawValue>,
    duration: Option<&'de RawValue>,
}

/// Deserializes an object, keeping the wanted fields' raw values and skipping the rest.
struct LineSeed<'f> {
    fields: &'f Fields,
}

impl<'de> DeserializeSeed<'de> for LineSeed<'_> {
    type Value = RawLine<'de>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LineSeed<'_> {
    type Value = RawLine<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut raw = RawLine::default();
        while let Some(role) = map.next_key_seed(KeySeed(self.fields))? {
            match role {
                Some(Role::T) => raw.t = Some(map.next_value()?),
                Some(Role::Outcome) => raw.outcome = Some(map.next_value()?),
                Some(Role::Status) => raw.status = Some(map.next_value()?),
                Some(Role::Duration) => raw.duration = Some(map.next_value()?),
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(raw)
    }
}

/// Deserializes a key into the role its name plays, without keeping the name.
struct KeySeed<'f>(&'f Fields);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Option<Role>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Option<Role>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self.0.role(name))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use breaker::Outcome;

    use super::*;

    fn parse(text: &str) -> Result<value::Parts, String> {
        parse_line(text.as_bytes(), &Fields::default())
    }

    fn parts(start: i64, duration_ms: u64, outcome: Outcome) -> value::Parts {
        value::Parts {
            start,
            duration: Duration::from_millis(duration_ms),
            outcome,
        }
    }

    #[test]
    fn the_spec_example_reads() {
        assert_eq!(
            parse(r#"{"t": 12.5, "outcome": "failure", "duration": 0.12}"#),
            Ok(parts(12_500_000_000, 120, Outcome::Failure))
        );
    }

    #[test]
    fn other_fields_are_ignored_whatever_they_hold() {
        let line = r#"{"id": [1, {"x": "y"}], "t": 1, "note": "a \"quoted\" word", "outcome": "success", "n": null}"#;
        assert_eq!(parse(line), Ok(parts(1_000_000_000, 0, Outcome::Success)));
    }

    #[test]
    fn epoch_seconds_reach_the_exact_nanosecond() {
        assert_eq!(
            parse(r#"{"t": 1733600000.123456, "outcome": "success"}"#).map(|p| p.start),
            Ok(1_733_600_000_123_456_000)
        );
        assert_eq!(
            parse(r#"{"t": 1733600000.987654321, "outcome": "success"}"#).map(|p| p.start),
            Ok(1_733_600_000_987_654_321)
        );
    }

    #[test]
    fn rfc3339_times_with_z_or_an_offset() {
        let cases = [
            (r#""2024-12-07T19:33:20Z""#, 1_733_600_000_000_000_000),
            (r#""2024-12-07T19:33:20.25Z""#, 1_733_600_000_250_000_000),
            (
                r#""2024-12-07T21:33:20.000000001+02:00""#,
                1_733_600_000_000_000_001,
            ),
            (r#""2024-12-07T14:33:20-05:00""#, 1_733_600_000_000_000_000),
        ];
        for (t, expected) in cases {
            let line = format!(r#"{{"t": {t}, "outcome": "success"}}"#);
            assert_eq!(parse(&line).map(|p| p.start), Ok(expected), "{t}");
        }
    }

    #[test]
    fn statuses_are_classified() {
        let cases = [
            ("200", Outcome::Success),
            ("\"302\"", Outcome::Success),
            ("404", Outcome::Ignored),
            ("\"503\"", Outcome::Failure),
            ("500", Outcome::Failure),
        ];
        for (status, expected) in cases {
            let line = format!(r#"{{"t": 0, "status": {status}}}"#);
            assert_eq!(parse(&line).map(|p| p.outcome), Ok(expected), "{status}");
        }
    }

    #[test]
    fn an_outcome_wins_over_a_status() {
        let line = r#"{"t": 0, "status": 503, "outcome": "success"}"#;
        assert_eq!(parse(line).map(|p| p.outcome), Ok(Outcome::Success));
    }

    #[test]
    fn a_null_is_an_absent_value() {
        let line = r#"{"t": 0, "outcome": null, "status": 503, "duration": null}"#;
        assert_eq!(parse(line), Ok(parts(0, 0, Outcome::Failure)));
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let line = r#"{"t": "\u0031\u0032", "outcome": "fail\u0075re"}"#;
        assert_eq!(parse(line), Ok(parts(12_000_000_000, 0, Outcome::Failure)));
    }

    #[test]
    fn escaped_keys_still_match() {
        let line = r#"{"\u0074": 3, "outcome": "success"}"#;
        assert_eq!(parse(line).map(|p| p.start), Ok(3_000_000_000));
    }

    #[test]
    fn the_fields_can_be_renamed() {
        let fields: Fields = "t=ts,status=code,duration=request_time".parse().unwrap();
        let line = br#"{"ts": 5, "code": 502, "request_time": 0.25, "t": "junk"}"#;
        assert_eq!(
            parse_line(line, &fields),
            Ok(parts(5_000_000_000, 250, Outcome::Failure))
        );
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let cases = [
            (r#"{"outcome": "success"}"#, "\"t\" is missing"),
            (
                r#"{"t": 1}"#,
                "neither \"outcome\" nor \"status\" is present",
            ),
            (
                r#"{"t": true, "outcome": "success"}"#,
                "\"t\" is not a number or an RFC 3339 time",
            ),
            (
                r#"{"t": "noon", "outcome": "success"}"#,
                "\"t\" is not a number or an RFC 3339 time",
            ),
            (
                r#"{"t": 1e300, "outcome": "success"}"#,
                "\"t\" is out of range",
            ),
            (
                r#"{"t": 1, "outcome": "maybe"}"#,
                "\"outcome\" is not success, failure or ignored",
            ),
            (
                r#"{"t": 1, "outcome": 1}"#,
                "\"outcome\" is not success, failure or ignored",
            ),
            (
                r#"{"t": 1, "status": "5xx"}"#,
                "\"status\" is not an HTTP status code",
            ),
            (
                r#"{"t": 1, "status": 503.5}"#,
                "\"status\" is not an HTTP status code",
            ),
            (
                r#"{"t": 1, "status": 200, "duration": -1}"#,
                "\"duration\" is negative",
            ),
            (
                r#"{"t": 1, "status": 200, "duration": "soon"}"#,
                "\"duration\" is not a number of seconds",
            ),
            (r#"[1, 2]"#, "not a JSON object"),
            (r#""text""#, "not a JSON object"),
            (
                r#"{"t": 1, "status": 200} {}"#,
                "not valid JSON (trailing characters at column 25)",
            ),
            (
                r#"{"t": 1, "status": 2"#,
                "not valid JSON (EOF while parsing an object at column 20)",
            ),
            (
                r#"{"t": NaN, "status": 200}"#,
                "not valid JSON (expected value at column 7)",
            ),
        ];
        for (line, reason) in cases {
            assert_eq!(parse(line), Err(reason.to_owned()), "{line}");
        }
    }

    #[test]
    fn invalid_utf8_is_unreadable_not_a_panic() {
        let line = b"{\"t\": 1, \"outcome\": \"succ\xFFess\"}";
        let reason = parse_line(line, &Fields::default()).unwrap_err();
        assert!(reason.starts_with("not valid JSON"), "{reason}");
    }
}
