//! The pure part of `POST /sum`: reading the two integers from a body and adding them exactly.
//!
//! Nothing here knows about HTTP, so every rule about what counts as an integer is unit-tested
//! directly. Integers are [`BigInt`]s: Python's `int` has arbitrary precision, and so do we, which
//! makes every pair of 64-bit integers (and any longer ones that fit in the body limit) sum
//! exactly.

use std::fmt;

use num_bigint::{BigInt, BigUint, Sign};
use serde::Deserialize;
use serde_json::value::RawValue;

/// Why a body could not be summed. Every variant becomes a 500, as in the original service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SumError {
    /// The form does not have exactly the two fields `value1` and `value2`, each once.
    FormFields,
    /// The body is not valid JSON.
    MalformedJson,
    /// The JSON body is not an object with exactly the fields `value1` and `value2`.
    JsonFields,
    /// The named field is not an integer.
    NotAnInteger(&'static str),
}

impl fmt::Display for SumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FormFields => {
                f.write_str("the form must have exactly the fields value1 and value2")
            }
            Self::MalformedJson => f.write_str("the body is not valid JSON"),
            Self::JsonFields => f.write_str(
                "the body must be a JSON object with exactly the fields value1 and value2",
            ),
            Self::NotAnInteger(field) => write!(f, "{field} is not an integer"),
        }
    }
}

impl std::error::Error for SumError {}

/// Parses an integer the way Python's `int(text)` does for ASCII input.
///
/// Accepted: optional surrounding ASCII whitespace (space, `\t`, `\n`, `\r`, form feed), an optional
/// `+` or `-`, then one or more ASCII digits, of any length. Rejected: empty text, floats (`1.5`,
/// `1e3`), letters, underscores (`1_000`, which Python accepts) and non-ASCII digits.
///
/// ```
/// use sum_service::sum::parse_integer;
///
/// assert_eq!(parse_integer(" -42\n").map(|n| n.to_string()), Some("-42".to_owned()));
/// assert_eq!(parse_integer("4.2"), None);
/// ```
pub fn parse_integer(text: &str) -> Option<BigInt> {
    let text = text.trim_ascii();
    let (sign, digits) = match text.as_bytes().first() {
        Some(b'-') => (Sign::Minus, &text[1..]),
        Some(b'+') => (Sign::Plus, &text[1..]),
        _ => (Sign::Plus, text),
    };
    // Checked here, not left to `parse_bytes`, which would also accept underscores.
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = BigUint::parse_bytes(digits.as_bytes(), 10)?;
    // `from_biguint` turns a zero magnitude into zero whatever the sign, so `-0` is `0`.
    Some(BigInt::from_biguint(sign, magnitude))
}

/// Sums a form body (`application/x-www-form-urlencoded`), as the original Flask service did.
///
/// The form must have exactly two fields, `value1` and `value2`, in any order; a missing, extra or
/// repeated field is [`SumError::FormFields`]. Values are percent-decoded (`+` is a space) and then
/// read with [`parse_integer`].
pub fn sum_form(body: &[u8]) -> Result<BigInt, SumError> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| SumError::FormFields)?;
    let [(key_a, value_a), (key_b, value_b)] = pairs.as_slice() else {
        return Err(SumError::FormFields);
    };
    let (value1, value2) = match (key_a.as_str(), key_b.as_str()) {
        ("value1", "value2") => (value_a, value_b),
        ("value2", "value1") => (value_b, value_a),
        _ => return Err(SumError::FormFields),
    };
    add(value1, value2)
}

/// The JSON request: exactly these two fields, kept as raw JSON text so no precision is lost.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonRequest<'a> {
    #[serde(borrow)]
    value1: &'a RawValue,
    #[serde(borrow)]
    value2: &'a RawValue,
}

/// Sums a JSON body `{"value1": .., "value2": ..}`.
///
/// Each value is a JSON number or a string, either holding an integer as [`parse_integer`] reads
/// it: `7`, `"7"` and `" -7 "` are integers; `7.0`, `7e0`, `"seven"`, `null` and `true` are not. The
/// body must be a JSON object with exactly those two fields, each once.
pub fn sum_json(body: &[u8]) -> Result<BigInt, SumError> {
    // serde's derive would also read a struct from an array (`[1, 2]`); only an object will do.
    if body.trim_ascii_start().first() != Some(&b'{') {
        return Err(if serde_json::from_slice::<&RawValue>(body).is_ok() {
            SumError::JsonFields
        } else {
            SumError::MalformedJson
        });
    }
    let request: JsonRequest<'_> = serde_json::from_slice(body).map_err(|e| {
        if e.is_data() {
            SumError::JsonFields
        } else {
            SumError::MalformedJson
        }
    })?;
    let value1 = json_integer(request.value1).ok_or(SumError::NotAnInteger("value1"))?;
    let value2 = json_integer(request.value2).ok_or(SumError::NotAnInteger("value2"))?;
    Ok(value1 + value2)
}

/// Reads one JSON value as an integer: a number's own text, or a string's decoded contents.
fn json_integer(value: &RawValue) -> Option<BigInt> {
    let text = value.get();
    if text.starts_with('"') {
        let decoded: String = serde_json::from_str(text).ok()?;
        parse_integer(&decoded)
    } else {
        // A JSON number (or `null`, `true`, an array...): only an integer's text parses.
        parse_integer(text)
    }
}

/// Parses both values and adds them.
fn add(value1: &str, value2: &str) -> Result<BigInt, SumError> {
    let value1 = parse_integer(value1).ok_or(SumError::NotAnInteger("value1"))?;
    let value2 = parse_integer(value2).ok_or(SumError::NotAnInteger("value2"))?;
    Ok(value1 + value2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(text: &str) -> Option<String> {
        parse_integer(text).map(|n| n.to_string())
    }

    fn form(body: &str) -> Result<String, SumError> {
        sum_form(body.as_bytes()).map(|n| n.to_string())
    }

    fn json(body: &str) -> Result<String, SumError> {
        sum_json(body.as_bytes()).map(|n| n.to_string())
    }

    #[test]
    fn integers_accept_a_sign_and_surrounding_ascii_whitespace() {
        assert_eq!(int("44"), Some("44".into()));
        assert_eq!(int("+44"), Some("44".into()));
        assert_eq!(int("-44"), Some("-44".into()));
        assert_eq!(int(" \t44\r\n"), Some("44".into()));
        assert_eq!(int("  -7  "), Some("-7".into()));
        assert_eq!(int("007"), Some("7".into()));
        assert_eq!(int("-0"), Some("0".into()));
    }

    #[test]
    fn integers_reject_everything_python_int_rejects() {
        for text in [
            "", " ", "+", "-", "abc", "12a", "1.5", "1.", ".5", "1e3", "0x10", "--1", "+-1", "- 1",
            "1 2", "inf", "NaN",
        ] {
            assert_eq!(int(text), None, "{text:?}");
        }
    }

    #[test]
    fn integers_reject_what_python_accepts_but_this_service_does_not() {
        // Python's int() takes underscores and any Unicode digit or space; this service does not.
        for text in ["1_000", "\u{0663}", "\u{00a0}1", "\u{ff11}"] {
            assert_eq!(int(text), None, "{text:?}");
        }
    }

    #[test]
    fn integers_have_no_size_limit() {
        let digits = "9".repeat(5_000);
        assert_eq!(int(&digits), Some(digits.clone()));
        assert_eq!(int(&format!("-{digits}")), Some(format!("-{digits}")));
    }

    #[test]
    fn form_sums_two_fields_in_either_order() {
        assert_eq!(form("value1=44&value2=13"), Ok("57".into()));
        assert_eq!(form("value2=13&value1=44"), Ok("57".into()));
        assert_eq!(form("value1=-5&value2=3"), Ok("-2".into()));
    }

    #[test]
    fn form_sums_64_bit_extremes_exactly() {
        let max = i64::MAX;
        let min = i64::MIN;
        assert_eq!(
            form(&format!("value1={max}&value2={max}")),
            Ok("18446744073709551614".into())
        );
        assert_eq!(
            form(&format!("value1={min}&value2={min}")),
            Ok("-18446744073709551616".into())
        );
        assert_eq!(
            form(&format!("value1={}&value2={}", u64::MAX, u64::MAX)),
            Ok("36893488147419103230".into())
        );
    }

    #[test]
    fn form_decodes_percent_escapes_and_plus_as_space() {
        assert_eq!(form("value1=%2B5&value2=+5+"), Ok("10".into()));
        assert_eq!(form("value1=%205%09&value2=1"), Ok("6".into()));
    }

    #[test]
    fn form_needs_exactly_value1_and_value2() {
        for body in [
            "",
            "value1=1",
            "value2=1",
            "value1=1&value2=2&value3=3",
            "value1=1&value1=2",
            "value1=1&value1=2&value2=3",
            "value1=1&value2=2&extra",
            "Value1=1&value2=2",
            "a=1&b=2",
            "{\"value1\": 1, \"value2\": 2}",
        ] {
            assert_eq!(form(body), Err(SumError::FormFields), "{body:?}");
        }
    }

    #[test]
    fn form_values_must_be_integers() {
        assert_eq!(
            form("value1=a&value2=2"),
            Err(SumError::NotAnInteger("value1"))
        );
        assert_eq!(
            form("value1=1&value2=b"),
            Err(SumError::NotAnInteger("value2"))
        );
        assert_eq!(
            form("value1=1.5&value2=2"),
            Err(SumError::NotAnInteger("value1"))
        );
        assert_eq!(
            form("value1=&value2="),
            Err(SumError::NotAnInteger("value1"))
        );
        assert_eq!(
            form("value1=1&value2"),
            Err(SumError::NotAnInteger("value2"))
        );
    }

    #[test]
    fn form_survives_invalid_utf8_and_bad_escapes() {
        assert_eq!(
            sum_form(b"value1=\xff&value2=1"),
            Err(SumError::NotAnInteger("value1"))
        );
        assert_eq!(
            form("value1=%ZZ&value2=1"),
            Err(SumError::NotAnInteger("value1"))
        );
        assert_eq!(
            form("value1=%FF&value2=1"),
            Err(SumError::NotAnInteger("value1"))
        );
    }

    #[test]
    fn json_sums_numbers_and_numeric_strings() {
        assert_eq!(json(r#"{"value1": 44, "value2": 13}"#), Ok("57".into()));
        assert_eq!(json(r#"{"value2": "13", "value1": "44"}"#), Ok("57".into()));
        assert_eq!(json(r#"{"value1": " -4 ", "value2": 1}"#), Ok("-3".into()));
        assert_eq!(
            json(r#"{"value1": "\u0034\u0034", "value2": 0}"#),
            Ok("44".into())
        );
        assert_eq!(json(" \n{\"value1\":-0,\"value2\":0}\n "), Ok("0".into()));
    }

    #[test]
    fn json_sums_beyond_64_bits_exactly() {
        let big = "1234567890".repeat(4);
        assert_eq!(
            json(&format!(r#"{{"value1": {big}, "value2": {big}}}"#)),
            Ok("2469135780".repeat(4))
        );
        assert_eq!(
            json(&format!(
                r#"{{"value1": {}, "value2": {}}}"#,
                i64::MAX,
                i64::MAX
            )),
            Ok("18446744073709551614".into())
        );
    }

    #[test]
    fn json_values_must_be_integers() {
        for (body, field) in [
            (r#"{"value1": 1.5, "value2": 1}"#, "value1"),
            (r#"{"value1": 1, "value2": 1.0}"#, "value2"),
            (r#"{"value1": 1e3, "value2": 1}"#, "value1"),
            (r#"{"value1": "x", "value2": 1}"#, "value1"),
            (r#"{"value1": "", "value2": 1}"#, "value1"),
            (r#"{"value1": null, "value2": 1}"#, "value1"),
            (r#"{"value1": true, "value2": 1}"#, "value1"),
            (r#"{"value1": [1], "value2": 1}"#, "value1"),
            (r#"{"value1": {"a": 1}, "value2": 1}"#, "value1"),
            (r#"{"value1": 1, "value2": "2.5"}"#, "value2"),
        ] {
            assert_eq!(json(body), Err(SumError::NotAnInteger(field)), "{body}");
        }
    }

    #[test]
    fn json_needs_an_object_with_exactly_the_two_fields() {
        for body in [
            r#"{"value1": 1}"#,
            r#"{"value1": 1, "value2": 2, "value3": 3}"#,
            r#"{"value1": 1, "value1": 2, "value2": 3}"#,
            r#"{}"#,
            r#"[1, 2]"#,
            r#"3"#,
            r#""value1""#,
            r#"null"#,
        ] {
            assert_eq!(json(body), Err(SumError::JsonFields), "{body}");
        }
    }

    #[test]
    fn json_that_does_not_parse_is_malformed() {
        for body in [
            "",
            "{",
            "{\"value1\": 1, \"value2\": 2",
            "{\"value1\": 1, \"value2\": 2}}",
            "{value1: 1, value2: 2}",
            "value1=1&value2=2",
            "{\"value1\": 01, \"value2\": 2}",
            "{\"value1\": +1, \"value2\": 2}",
        ] {
            assert_eq!(json(body), Err(SumError::MalformedJson), "{body:?}");
        }
        assert_eq!(
            sum_json(b"{\"value1\": \"\xff\", \"value2\": 2}"),
            Err(SumError::MalformedJson)
        );
    }

    #[test]
    fn json_nesting_deeper_than_serde_allows_is_an_error_not_a_crash() {
        let deep = format!(
            r#"{{"value1": {}{}, "value2": 1}}"#,
            "[".repeat(50_000),
            "]".repeat(50_000)
        );
        assert!(json(&deep).is_err());
    }

    #[test]
    fn errors_read_as_sentences() {
        assert_eq!(
            SumError::NotAnInteger("value2").to_string(),
            "value2 is not an integer"
        );
        assert_eq!(
            SumError::FormFields.to_string(),
            "the form must have exactly the fields value1 and value2"
        );
    }
}
