//! Models of `POST /sum` bodies, written from the spec rather than from `sum_service::sum`:
//! shared by the property tests (`tests/bodies.rs`) and the fuzz targets `sum_form` and
//! `sum_json`, which include this file with `#[path]`.
#![allow(dead_code)]

use std::collections::HashMap;

use num_bigint::BigInt;
use serde_json::value::RawValue;

/// Percent-decodes one form name or value: `+` is a space, `%XX` a byte, anything else (a `%`
/// without two hex digits included) itself; the bytes are then read as UTF-8, lossily.
pub fn form_decode(bytes: &[u8]) -> String {
    fn hex(b: u8) -> Option<u8> {
        (b as char).to_digit(16).map(|d| d as u8)
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                if let (Some(high), Some(low)) = (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) {
                    out.push(high * 16 + low);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An integer as the spec reads one: surrounding ASCII whitespace, an optional sign, then one or
/// more ASCII digits.
pub fn integer_model(text: &str) -> Option<BigInt> {
    let text = text.trim_matches([' ', '\t', '\n', '\r', '\x0c']);
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.strip_prefix('+').unwrap_or(text).parse().ok()
}

/// The sum a form body must give, or `None` if it must be refused.
pub fn form_model(body: &[u8]) -> Option<BigInt> {
    let fields: Vec<(String, String)> = body
        .split(|&b| b == b'&')
        .filter(|segment| !segment.is_empty())
        .map(|segment| match segment.iter().position(|&b| b == b'=') {
            Some(eq) => (form_decode(&segment[..eq]), form_decode(&segment[eq + 1..])),
            None => (form_decode(segment), String::new()),
        })
        .collect();
    let [(name_a, value_a), (name_b, value_b)] = fields.as_slice() else {
        return None;
    };
    let (value1, value2) = match (name_a.as_str(), name_b.as_str()) {
        ("value1", "value2") => (value_a, value_b),
        ("value2", "value1") => (value_b, value_a),
        _ => return None,
    };
    Some(integer_model(value1)? + integer_model(value2)?)
}

/// A JSON value for a generated object, with what the spec says it is worth.
#[derive(Debug, Clone)]
pub struct JsonValue {
    pub text: String,
    pub integer: Option<BigInt>,
}

/// The sum a generated JSON object must give: exactly `value1` and `value2`, once each, both
/// integers.
pub fn json_model(fields: &[(String, JsonValue)]) -> Option<BigInt> {
    let [(name_a, value_a), (name_b, value_b)] = fields else {
        return None;
    };
    match (name_a.as_str(), name_b.as_str()) {
        ("value1", "value2") | ("value2", "value1") => {
            Some(value_a.integer.clone()? + value_b.integer.clone()?)
        }
        _ => None,
    }
}

/// One JSON value as the spec reads it: a number's own text, or a string's decoded contents,
/// holding an integer.
pub fn json_integer_model(text: &str) -> Option<BigInt> {
    if text.starts_with('"') {
        integer_model(&serde_json::from_str::<String>(text).ok()?)
    } else {
        integer_model(text)
    }
}

/// The sum of any JSON body that is an object whose only keys are `value1` and `value2`, both
/// integers; `None` for anything else.
///
/// Read through a map, this model cannot see a repeated key (the last one wins), which the
/// service refuses: so a body the service sums must give the same sum here, but not every body
/// summed here is one the service must sum.
pub fn json_object_model(body: &[u8]) -> Option<BigInt> {
    let object: HashMap<String, &RawValue> = serde_json::from_slice(body).ok()?;
    if object.len() != 2 {
        return None;
    }
    let value1 = json_integer_model(object.get("value1")?.get())?;
    let value2 = json_integer_model(object.get("value2")?.get())?;
    Some(value1 + value2)
}
