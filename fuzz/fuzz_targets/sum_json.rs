//! JSON bodies for `sum_json`, two ways, chosen by the first byte of the input.
//!
//! - Raw: the rest of the input as the body. `sum_json` never panics, and whatever it sums is an
//!   object of exactly `value1` and `value2`, both integers, with the sum the model reads in it.
//! - Structured: the rest of the input drives a generator of JSON objects made of chosen fields
//!   (often exactly `value1` and `value2`) and values each tagged with the integer the spec says
//!   it is worth (if any); `sum_json` must sum exactly when the model of the object does, to the
//!   same sum.
//!
//! The models are sum-service's `tests/support/model.rs`, shared with its property tests.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use num_bigint::BigInt;
use sum_service::sum::sum_json;

#[path = "../../crates/sum-service/tests/support/model.rs"]
mod model;

use model::{JsonValue, json_model, json_object_model};

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode % 2 == 0 {
        raw(rest);
    } else {
        // The generator only fails when the input runs out: what it made so far is still used.
        let mut u = Unstructured::new(rest);
        if let Ok((body, fields)) = object(&mut u) {
            assert_eq!(
                sum_json(&body).ok(),
                json_model(&fields),
                "{}",
                String::from_utf8_lossy(&body)
            );
        }
    }
});

/// Any bytes: an answer, never a panic; a sum only where the model reads the same one.
fn raw(body: &[u8]) {
    if let Ok(sum) = sum_json(body) {
        assert_eq!(
            Some(sum),
            json_object_model(body),
            "{:?}",
            String::from_utf8_lossy(body)
        );
    }
}

/// The fields of a generated object, in order: (name, value).
type Fields = Vec<(String, JsonValue)>;

/// A JSON object of generated fields, and the fields.
fn object(u: &mut Unstructured<'_>) -> Result<(Vec<u8>, Fields)> {
    let names = [
        "value1", "value2", "value1", "value2", "value3", "Value1", "value1 ", "",
    ];
    let spaces = ["", " ", "\n", "\t\r\n "];
    let before = *u.choose(&spaces)?;
    let mut fields = Vec::new();
    for _ in 0..u.int_in_range(0..=4)? {
        let name = (*u.choose(&names)?).to_owned();
        fields.push((name, value(u)?));
    }
    let after = *u.choose(&spaces)?;
    let members: Vec<String> = fields
        .iter()
        .map(|(name, value)| format!("\"{name}\": {}", value.text))
        .collect();
    let body = format!("{before}{{{}}}{after}", members.join(", "));
    Ok((body.into_bytes(), fields))
}

/// A JSON value, tagged with the integer it stands for (if any).
fn value(u: &mut Unstructured<'_>) -> Result<JsonValue> {
    let integer = |text: String, n: BigInt| JsonValue {
        text,
        integer: Some(n),
    };
    Ok(match u.int_in_range(0..=4)? {
        // A number, up to 128 bits.
        0 => {
            let n: i128 = u.arbitrary()?;
            integer(n.to_string(), n.into())
        }
        // A number of any length (no leading zero: JSON refuses one).
        1 => {
            let negative: bool = u.arbitrary()?;
            let mut digits = String::from(char::from(b'1' + u.int_in_range(0..=8)?));
            for _ in 0..u.int_in_range(0..=60)? {
                digits.push(char::from(b'0' + u.int_in_range(0..=9)?));
            }
            let text = if negative {
                format!("-{digits}")
            } else {
                digits
            };
            let n = text.parse().expect("digits");
            integer(text, n)
        }
        // A string holding an integer: JSON escapes of whitespace around it, a sign, leading
        // zeros allowed.
        2 => {
            let ws = ["", " ", "\\t", "\\n", "\\r", "\\f", "\\u0020"];
            let before = *u.choose(&ws)?;
            let sign = *u.choose(&["", "+", "-"])?;
            let zeros = "0".repeat(u.int_in_range(0..=2)?);
            let magnitude: u128 = u.arbitrary()?;
            let after = *u.choose(&ws)?;
            let n = BigInt::from(magnitude);
            let n = if sign == "-" { -n } else { n };
            integer(format!("\"{before}{sign}{zeros}{magnitude}{after}\""), n)
        }
        // A string of escaped digits.
        3 => {
            let n: u32 = u.arbitrary()?;
            let escaped: String = n
                .to_string()
                .chars()
                .map(|c| format!("\\u{:04x}", u32::from(c)))
                .collect();
            integer(format!("\"{escaped}\""), n.into())
        }
        // Not an integer.
        _ => JsonValue {
            text: (*u.choose(&[
                "1.5",
                "1.0",
                "1e3",
                "-0.0",
                "null",
                "true",
                "false",
                "[1]",
                "{}",
                r#"{"a":1}"#,
                r#""""#,
                r#"" ""#,
                r#""x""#,
                r#""1.5""#,
                r#""1_000""#,
                r#""0x10""#,
                r#""\u00a01""#,
                r#""\u0663""#,
                r#""1 2""#,
                r#""--1""#,
                r#""+-1""#,
                r#""\u000b1""#,
            ])?)
            .to_owned(),
            integer: None,
        },
    })
}
