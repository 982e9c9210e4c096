//! The `clf` reader: Common or Combined Log Format access logs, as nginx and Apache write them.
//!
//! A line is `host ident user [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 2326`, maybe
//! followed by `"referer" "agent"`, maybe by more fields; the first unquoted number after the
//! size is taken for the request time in seconds (nginx `$request_time`). With it, the logged
//! time is when the call ended (servers log when they answer) and the start is that time less
//! the request time; without it, the logged time is the start and the duration is 0.
//!
//! There is no well-kept crate for these logs, so the line is scanned by hand, as bytes (agents
//! and paths are not always UTF-8), honouring `\"` inside quoted fields. Consecutive lines
//! nearly always share their second, so the last bracketed time's text and value are kept and
//! a repeat costs one comparison instead of a date calculation. The bracketed time may also
//! carry a fraction of a second, or be an RFC 3339 time (nginx `$time_iso8601`); without an
//! offset it is taken as UTC.

use std::time::Duration;

use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

use super::decimal::{DecimalError, seconds_to_nanos};
use super::error::ReadError;
use super::source::{Input, Lines};
use super::value::{self, Parts};
use crate::Record;

/// Reads records from access log lines.
pub(crate) struct ClfReader {
    lines: Lines,
    cache: TimeCache,
}

impl ClfReader {
    pub(crate) fn new(input: Input) -> Self {
        Self {
            lines: Lines::new(input),
            cache: TimeCache::default(),
        }
    }

    /// The next record, an unreadable line, an I/O error, or `None` at the end.
    pub(crate) fn next_record(&mut self) -> Option<Result<Record, ReadError>> {
        let (line, text) = match self.lines.next_line()? {
            Ok(line) => line,
            Err(error) => return Some(Err(ReadError::Io(error))),
        };
        Some(
            parse_line(text, &mut self.cache)
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

/// Whether a line is shaped like an access log line: ` [...]` followed by a quoted request.
pub(crate) fn looks_like(line: &[u8]) -> bool {
    let Some(open) = line.windows(2).position(|w| w == b" [") else {
        return false;
    };
    let after = &line[open + 2..];
    let Some(close) = after.iter().position(|&b| b == b']') else {
        return false;
    };
    after[close + 1..].trim_ascii_start().starts_with(b"\"")
}

/// The last bracketed time read, as text and as nanoseconds since the Unix epoch.
#[derive(Debug, Default)]
struct TimeCache {
    text: Vec<u8>,
    nanos: Option<i64>,
}

impl TimeCache {
    fn get(&mut self, text: &[u8]) -> Option<i64> {
        if let Some(nanos) = self.nanos
            && self.text == text
        {
            return Some(nanos);
        }
        let nanos = clf_time(text).or_else(|| value::rfc3339(text))?;
        self.text.clear();
        self.text.extend_from_slice(text);
        self.nanos = Some(nanos);
        Some(nanos)
    }
}

/// A line's record parts, or why it has none.
fn parse_line(line: &[u8], cache: &mut TimeCache) -> Result<Parts, &'static str> {
    let open = line
        .iter()
        .position(|&b| b == b'[')
        .ok_or("not an access log line (no [time])")?;
    let after = &line[open + 1..];
    let close = after
        .iter()
        .position(|&b| b == b']')
        .ok_or("the [time] is not closed")?;
    let logged = cache
        .get(&after[..close])
        .ok_or("the [time] is not a CLF or RFC 3339 time")?;
    let mut fields = Scanner(&after[close + 1..]);
    match fields.next() {
        Some(Field::Quoted(_) | Field::Bare(_)) => {}
        Some(Field::Unclosed) => return Err("the request's quotes are not closed"),
        None => return Err("no request after the [time]"),
    }
    let outcome = match fields.next() {
        Some(Field::Bare(status)) => value::parse_status(status)
            .map(value::classify_status)
            .ok_or("the status is not an HTTP status code")?,
        _ => return Err("no status after the request"),
    };
    let _size = fields.next();
    let mut duration = Duration::ZERO;
    for field in fields {
        let Field::Bare(token) = field else { continue };
        match seconds_to_nanos(token) {
            Ok(nanos) => {
                let nanos = u64::try_from(nanos).map_err(|_| "the request time is negative")?;
                duration = Duration::from_nanos(nanos);
                break;
            }
            Err(DecimalError::OutOfRange) => return Err("the request time is out of range"),
            Err(DecimalError::NotANumber) => {}
        }
    }
    let start = if duration.is_zero() {
        logged
    } else {
        let nanos = i64::try_from(duration.as_nanos()).unwrap_or(i64::MAX);
        logged.saturating_sub(nanos)
    };
    Ok(Parts {
        start,
        duration,
        outcome,
    })
}

/// One field after the bracketed time.
#[derive(Debug, PartialEq, Eq)]
enum Field<'a> {
    /// A quoted field's contents, escapes left as they are.
    Quoted(&'a [u8]),
    /// An unquoted field, up to the next space.
    Bare(&'a [u8]),
    /// A quote that the line does not close.
    Unclosed,
}

/// The fields of the rest of a line, separated by spaces.
struct Scanner<'a>(&'a [u8]);

impl<'a> Iterator for Scanner<'a> {
    type Item = Field<'a>;

    fn next(&mut self) -> Option<Field<'a>> {
        let rest = self.0.trim_ascii_start();
        if let Some(quoted) = rest.strip_prefix(b"\"") {
            let mut escaped = false;
            for (i, &byte) in quoted.iter().enumerate() {
                match byte {
                    _ if escaped => escaped = false,
                    b'\\' => escaped = true,
                    b'"' => {
                        self.0 = &quoted[i + 1..];
                        return Some(Field::Quoted(&quoted[..i]));
                    }
                    _ => {}
                }
            }
            self.0 = &[];
            return Some(Field::Unclosed);
        }
        if rest.is_empty() {
            self.0 = rest;
            return None;
        }
        let end = rest
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(rest.len());
        self.0 = &rest[end..];
        Some(Field::Bare(&rest[..end]))
    }
}

/// A CLF time, `10/Oct/2000:13:55:36 -0700` (a fraction of a second and the offset optional),
/// in nanoseconds since the Unix epoch.
fn clf_time(text: &[u8]) -> Option<i64> {
    let mut text = Bytes(text);
    let day = text.number(1, 2)?;
    text.expect(b'/')?;
    let month = month(text.take(3)?)?;
    text.expect(b'/')?;
    let year = text.number(4, 4)?;
    text.expect(b':')?;
    let hour = text.number(2, 2)?;
    text.expect(b':')?;
    let minute = text.number(2, 2)?;
    text.expect(b':')?;
    let second = text.number(2, 2)?;
    let mut nanos = 0;
    if text.expect(b'.').is_some() {
        let digits = text.digits();
        if digits.is_empty() || digits.len() > 9 {
            return None;
        }
        nanos = digits
            .iter()
            .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
        nanos *= 10u32.pow(9 - u32::try_from(digits.len()).ok()?);
    }
    let offset = if text.0.is_empty() {
        UtcOffset::UTC
    } else {
        text.expect(b' ')?;
        let sign = match text.take(1)? {
            b"+" => 1,
            b"-" => -1,
            _ => return None,
        };
        let hours = text.number(2, 2)?;
        let _ = text.expect(b':');
        let minutes = text.number(2, 2)?;
        if !text.0.is_empty() {
            return None;
        }
        let hours = i8::try_from(hours).ok()?;
        let minutes = i8::try_from(minutes).ok()?;
        UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()?
    };
    let date =
        Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    let time = Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    let when = PrimitiveDateTime::new(date, time).assume_offset(offset);
    i64::try_from(when.unix_timestamp_nanos()).ok()
}

/// A month by its English abbreviation, in any case.
fn month(name: &[u8]) -> Option<Month> {
    const NAMES: [&[u8]; 12] = [
        b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov",
        b"dec",
    ];
    let index = NAMES.iter().position(|n| n.eq_ignore_ascii_case(name))?;
    Month::try_from(u8::try_from(index + 1).ok()?).ok()
}

/// A cursor over the bytes of a time.
struct Bytes<'a>(&'a [u8]);

impl<'a> Bytes<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        let rest = self.0.strip_prefix(&[byte])?;
        self.0 = rest;
        Some(())
    }

    fn digits(&mut self) -> &'a [u8] {
        let end = self
            .0
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(self.0.len());
        let (digits, rest) = self.0.split_at(end);
        self.0 = rest;
        digits
    }

    /// A number of `min` to `max` digits (as many as there are, up to `max`).
    fn number(&mut self, min: usize, max: usize) -> Option<u32> {
        let end = self
            .0
            .iter()
            .take(max)
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(self.0.len().min(max));
        if end < min {
            return None;
        }
        let (digits, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(digits.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    }
}

#[cfg(test)]
mod tests {
    use breaker::Outcome;

    use super::*;

    /// 2000-10-10 13:55:36 -0700, in nanoseconds since the Unix epoch.
    const OCT_10: i64 = 971_211_336_000_000_000;

    fn parse(line: &str) -> Result<Parts, &'static str> {
        parse_line(line.as_bytes(), &mut TimeCache::default())
    }

    fn parts(start: i64, duration: Duration, outcome: Outcome) -> Parts {
        Parts {
            start,
            duration,
            outcome,
        }
    }

    #[test]
    fn common_log_format_reads_with_the_time_as_the_start() {
        let line = r#"127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326"#;
        assert_eq!(
            parse(line),
            Ok(parts(OCT_10, Duration::ZERO, Outcome::Success))
        );
    }

    #[test]
    fn combined_log_format_reads() {
        let line = r#"127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 503 0 "http://example.com/" "Mozilla/4.08 [en] (Win98; I ;Nav)""#;
        assert_eq!(
            parse(line),
            Ok(parts(OCT_10, Duration::ZERO, Outcome::Failure))
        );
    }

    #[test]
    fn a_trailing_request_time_makes_the_logged_time_the_end() {
        let line = r#"10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "POST /sum HTTP/1.1" 500 43 "-" "curl/8.0" 0.250"#;
        assert_eq!(
            parse(line),
            Ok(parts(
                OCT_10 - 250_000_000,
                Duration::from_millis(250),
                Outcome::Failure
            ))
        );
        let common = r#"10.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 404 0 1.5"#;
        assert_eq!(
            parse(common),
            Ok(parts(
                OCT_10 - 1_500_000_000,
                Duration::from_millis(1500),
                Outcome::Ignored
            ))
        );
    }

    #[test]
    fn the_first_number_after_the_agent_is_the_request_time() {
        let line = r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 5 "-" "a" example.com 0.5 0.4"#;
        assert_eq!(
            parse(line).map(|p| p.duration),
            Ok(Duration::from_millis(500))
        );
        let dash = r#"h - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 5 "-" "a" -"#;
        assert_eq!(parse(dash).map(|p| p.duration), Ok(Duration::ZERO));
    }

    #[test]
    fn escaped_quotes_stay_inside_their_field() {
        let line = r#"h - - [10/Oct/2000:13:55:36 -0700] "GET /a\"b HTTP/1.1" 502 5 "-" "agent \"x\" 9 \\" 0.1"#;
        assert_eq!(
            parse(line),
            Ok(parts(
                OCT_10 - 100_000_000,
                Duration::from_millis(100),
                Outcome::Failure
            ))
        );
    }

    #[test]
    fn dash_fields_and_a_dash_request_are_fine() {
        let line = r#"- - - [10/Oct/2000:13:55:36 -0700] "-" 400 - "-" "-""#;
        assert_eq!(
            parse(line),
            Ok(parts(OCT_10, Duration::ZERO, Outcome::Ignored))
        );
        let bare = r#"- - - [10/Oct/2000:13:55:36 -0700] - 200 -"#;
        assert_eq!(parse(bare).map(|p| p.outcome), Ok(Outcome::Success));
    }

    #[test]
    fn times_with_fractions_offsets_or_in_rfc3339() {
        let cases = [
            ("10/Oct/2000:13:55:36 -0700", OCT_10),
            ("10/oct/2000:20:55:36 +0000", OCT_10),
            ("10/Oct/2000:20:55:36", OCT_10),
            ("10/Oct/2000:22:25:36 +01:30", OCT_10),
            ("10/Oct/2000:13:55:36.125 -0700", OCT_10 + 125_000_000),
            ("2000-10-10T13:55:36-07:00", OCT_10),
            ("2000-10-10T20:55:36.5Z", OCT_10 + 500_000_000),
        ];
        for (time, expected) in cases {
            let line = format!(r#"h - - [{time}] "GET / HTTP/1.1" 200 1"#);
            assert_eq!(parse(&line).map(|p| p.start), Ok(expected), "{time}");
        }
    }

    #[test]
    fn the_time_cache_gives_the_same_answers() {
        let mut cache = TimeCache::default();
        let a = b"10/Oct/2000:13:55:36 -0700";
        let b = b"10/Oct/2000:13:55:37 -0700";
        assert_eq!(cache.get(a), Some(OCT_10));
        assert_eq!(cache.get(a), Some(OCT_10));
        assert_eq!(cache.get(b), Some(OCT_10 + 1_000_000_000));
        assert_eq!(cache.get(b"31/Feb/2000:00:00:00 +0000"), None);
        assert_eq!(cache.get(b), Some(OCT_10 + 1_000_000_000));
        assert_eq!(cache.get(a), Some(OCT_10));
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        let cases = [
            ("just some text", "not an access log line (no [time])"),
            (
                "h - - [10/Oct/2000:13:55:36 -0700 \"GET\" 200 1",
                "the [time] is not closed",
            ),
            (
                "h - - [yesterday] \"GET / HTTP/1.1\" 200 1",
                "the [time] is not a CLF or RFC 3339 time",
            ),
            (
                "h - - [31/Feb/2000:13:55:36 -0700] \"GET\" 200 1",
                "the [time] is not a CLF or RFC 3339 time",
            ),
            (
                "h - - [10/Oct/2000:25:55:36 -0700] \"GET\" 200 1",
                "the [time] is not a CLF or RFC 3339 time",
            ),
            (
                "h - - [10/Oct/2000:13:55:36 -0700]",
                "no request after the [time]",
            ),
            (
                "h - - [10/Oct/2000:13:55:36 -0700] \"GET / HTTP/1.1",
                "the request's quotes are not closed",
            ),
            (
                "h - - [10/Oct/2000:13:55:36 -0700] \"GET /\"",
                "no status after the request",
            ),
            (
                "h - - [10/Oct/2000:13:55:36 -0700] \"GET /\" - 1",
                "the status is not an HTTP status code",
            ),
            (
                "h - - [10/Oct/2000:13:55:36 -0700] \"GET /\" 2000 1",
                "the status is not an HTTP status code",
            ),
            (
                "h - - [10/Oct/2000:13:55:36 -0700] \"GET /\" 200 1 -0.5",
                "the request time is negative",
            ),
            (
                "h - - [10/Oct/2000:13:55:36 -0700] \"GET /\" 200 1 1e99",
                "the request time is out of range",
            ),
        ];
        for (line, reason) in cases {
            assert_eq!(parse(line), Err(reason), "{line}");
        }
    }

    #[test]
    fn the_shape_is_recognised() {
        assert!(looks_like(
            br#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 1"#
        ));
        assert!(!looks_like(b"t,outcome,duration"));
        assert!(!looks_like(b"a [b] c"));
        assert!(!looks_like(b"[x] \"y\""));
    }
}
