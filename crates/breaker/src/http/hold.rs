//! `Retry-After`: how long a 429 or a 503 asks the client to stay away, and the hold that
//! honours it, shared by [`BreakerClient`](super::BreakerClient) and the reqwest middleware.
//!
//! The rules are the [module docs'](super#retry-after); the hold runs as the hook of the
//! adapters' shared path, once the response's outcome is recorded.

use std::time::{Duration, SystemTime};

use super::{Attempt, HeaderMap, StatusCode};
use crate::error::ConfigError;

/// How long a response's `Retry-After` asks the client to wait, as of `now` (the system's wall
/// clock, for a date): `None` when there is no such header or its value is neither form.
///
/// The first `Retry-After` field is read, with surrounding whitespace ignored:
/// - delta-seconds (`1*DIGIT`): that many seconds; a number too large for a `u64` saturates
///   at `u64::MAX` seconds. A sign, a fraction or a unit makes it garbage.
/// - an HTTP date, in the IMF-fixdate form (`Sun, 06 Nov 1994 08:49:37 GMT`) or one of the
///   two obsolete forms HTTP recipients must accept (RFC 850 and asctime): the time from `now`
///   to that date, [`Duration::ZERO`] if it is not after `now`.
///
/// It never panics.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use breaker::http::{HeaderMap, retry_after};
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // 06 Nov 1994 08:49:37
/// let mut headers = HeaderMap::new();
/// assert_eq!(retry_after(&headers, now), None);
/// headers.insert("retry-after", "120".parse().unwrap());
/// assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(120)));
/// headers.insert("retry-after", "Sun, 06 Nov 1994 08:50:07 GMT".parse().unwrap());
/// assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(30)));
/// headers.insert("retry-after", "Sun, 06 Nov 1994 08:49:07 GMT".parse().unwrap());
/// assert_eq!(retry_after(&headers, now), Some(Duration::ZERO));
/// headers.insert("retry-after", "soon".parse().unwrap());
/// assert_eq!(retry_after(&headers, now), None);
/// ```
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.bytes().fold(0u64, |n, digit| {
            n.saturating_mul(10).saturating_add(u64::from(digit - b'0'))
        });
        return Some(Duration::from_secs(secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// How long to hold the circuit open after a response, with `Retry-After` honoured up to
/// `cap`: only for a 429 or a 503 whose `Retry-After` asks for more than zero.
pub(crate) fn hold_for(status: StatusCode, headers: &HeaderMap, cap: Duration) -> Option<Duration> {
    if status != StatusCode::TOO_MANY_REQUESTS && status != StatusCode::SERVICE_UNAVAILABLE {
        return None;
    }
    let wait = retry_after(headers, SystemTime::now())?;
    (!wait.is_zero()).then(|| wait.min(cap))
}

/// The check of a `Retry-After` cap, when a `BreakerClient` or a middleware is built.
pub(crate) fn check_retry_after_cap(cap: Duration) -> Result<Duration, ConfigError> {
    if cap.is_zero() {
        return Err(ConfigError::ZeroRetryAfterCap);
    }
    Ok(cap)
}

/// The hold of the HTTP adapters: after `attempt`'s outcome is recorded, with `Retry-After`
/// honoured up to `cap` (`None`: not honoured), tells `open_for` how long to hold the circuit
/// open, if the response asks for a hold at all.
#[inline]
pub(crate) fn honour(
    cap: Option<Duration>,
    attempt: &Attempt<'_>,
    open_for: impl FnOnce(Duration),
) {
    if let Some(cap) = cap
        && let Attempt::Response { status, headers } = attempt
        && let Some(hold) = hold_for(*status, headers, cap)
    {
        open_for(hold);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 06 Nov 1994 08:49:37 GMT, the RFC's example date, as the wall clock's `now`.
    const NOW: u64 = 784_111_777;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn with(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(http::header::RETRY_AFTER, v.parse().unwrap());
        }
        headers
    }

    fn parse(value: &str) -> Option<Duration> {
        retry_after(&with(&[value]), at(NOW))
    }

    #[test]
    fn delta_seconds() {
        assert_eq!(parse("0"), Some(Duration::ZERO));
        assert_eq!(parse("1"), Some(Duration::from_secs(1)));
        assert_eq!(parse("30"), Some(Duration::from_secs(30)));
        assert_eq!(parse("007"), Some(Duration::from_secs(7)));
        assert_eq!(parse(" 30\t"), Some(Duration::from_secs(30)));
    }

    #[test]
    fn huge_delta_seconds_saturate() {
        let max = Duration::from_secs(u64::MAX);
        assert_eq!(
            parse("18446744073709551614"),
            Some(max - Duration::from_secs(1))
        );
        assert_eq!(parse("18446744073709551615"), Some(max));
        assert_eq!(parse("18446744073709551616"), Some(max));
        assert_eq!(parse(&"9".repeat(200)), Some(max));
    }

    #[test]
    fn http_dates_on_both_sides_of_now() {
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse("Sun, 06 Nov 1994 08:49:38 GMT"),
            Some(Duration::from_secs(1))
        );
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 GMT"), Some(Duration::ZERO));
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:36 GMT"), Some(Duration::ZERO));
        assert_eq!(parse("Thu, 01 Jan 1970 00:00:00 GMT"), Some(Duration::ZERO));
        // The two obsolete forms a recipient must accept.
        assert_eq!(
            parse("Sunday, 06-Nov-94 08:50:07 GMT"),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse("Sun Nov  6 08:50:07 1994"),
            Some(Duration::from_secs(30))
        );
        // The last date the format can write.
        assert!(parse("Fri, 31 Dec 9999 23:59:59 GMT").is_some());
    }

    #[test]
    fn a_date_is_measured_from_now_to_the_nanosecond() {
        let now = at(NOW) + Duration::from_millis(250);
        let headers = with(&["Sun, 06 Nov 1994 08:49:38 GMT"]);
        assert_eq!(retry_after(&headers, now), Some(Duration::from_millis(750)));
        let later = at(NOW + 1) + Duration::from_nanos(1);
        assert_eq!(retry_after(&headers, later), Some(Duration::ZERO));
    }

    #[test]
    fn garbage_is_none() {
        for value in [
            "",
            " ",
            "soon",
            "-1",
            "+30",
            "1.5",
            "30s",
            "3 0",
            "0x1e",
            "Mon, 06 Nov 1994 08:50:07 GMT", // the wrong day of the week
            "Sun, 06 Nov 1994 08:50:07 UTC",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 31 Feb 1994 08:50:07 GMT",
            "Wed, 31 Dec 1969 23:59:59 GMT",
            "1994-11-06T08:50:07Z",
        ] {
            assert_eq!(parse(value), None, "{value:?}");
        }
        // Not visible ASCII.
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::RETRY_AFTER,
            http::HeaderValue::from_bytes(b"3\xff0").unwrap(),
        );
        assert_eq!(retry_after(&headers, at(NOW)), None);
        // No header at all.
        assert_eq!(retry_after(&HeaderMap::new(), at(NOW)), None);
    }

    #[test]
    fn the_first_field_counts() {
        let headers = with(&["30", "60"]);
        assert_eq!(
            retry_after(&headers, at(NOW)),
            Some(Duration::from_secs(30))
        );
        let headers = with(&["soon", "60"]);
        assert_eq!(retry_after(&headers, at(NOW)), None);
    }

    #[test]
    fn a_hold_is_asked_only_by_a_429_or_a_503_and_is_capped() {
        let cap = Duration::from_secs(60);
        let thirty = with(&["30"]);
        for status in [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::SERVICE_UNAVAILABLE,
        ] {
            assert_eq!(
                hold_for(status, &thirty, cap),
                Some(Duration::from_secs(30))
            );
            assert_eq!(hold_for(status, &with(&["60"]), cap), Some(cap));
            assert_eq!(hold_for(status, &with(&["61"]), cap), Some(cap));
            assert_eq!(hold_for(status, &with(&["0"]), cap), None);
            assert_eq!(hold_for(status, &with(&["later"]), cap), None);
            assert_eq!(hold_for(status, &HeaderMap::new(), cap), None);
            let past = "Thu, 01 Jan 1970 00:00:01 GMT";
            assert_eq!(hold_for(status, &with(&[past]), cap), None);
        }
        for status in [
            StatusCode::OK,
            StatusCode::MOVED_PERMANENTLY,
            StatusCode::BAD_REQUEST,
            StatusCode::INTERNAL_SERVER_ERROR,
            StatusCode::BAD_GATEWAY,
        ] {
            assert_eq!(hold_for(status, &thirty, cap), None, "{status}");
        }
    }

    #[test]
    fn a_zero_cap_is_refused() {
        assert_eq!(
            check_retry_after_cap(Duration::ZERO),
            Err(ConfigError::ZeroRetryAfterCap)
        );
        assert_eq!(
            check_retry_after_cap(Duration::from_nanos(1)),
            Ok(Duration::from_nanos(1))
        );
    }

    #[test]
    fn only_a_response_that_asks_is_held_and_only_when_honoured() {
        let thirty = with(&["30"]);
        let unavailable = Attempt::Response {
            status: StatusCode::SERVICE_UNAVAILABLE,
            headers: &thirty,
        };
        let held = |cap, attempt: &Attempt<'_>| {
            let mut asked = None;
            honour(cap, attempt, |hold| asked = Some(hold));
            asked
        };
        let cap = Some(Duration::from_secs(60));
        assert_eq!(held(cap, &unavailable), Some(Duration::from_secs(30)));
        assert_eq!(held(None, &unavailable), None);
        assert_eq!(held(cap, &Attempt::Timeout), None);
        let fine = Attempt::Response {
            status: StatusCode::OK,
            headers: &thirty,
        };
        assert_eq!(held(cap, &fine), None);
    }
}
