//! Properties of `POST /sum` over arbitrary bodies: checked against the pure parsers of
//! `sum_service::sum` and, with fewer cases, against one service running in process.
//!
//! The form oracle is a model of the contract written here from the spec (a urlencoded body of
//! exactly the fields `value1` and `value2`, each an integer), not a call into the service. The
//! models live in `support/model.rs`, which the fuzz targets `sum_form` and `sum_json` share.

#[path = "support/model.rs"]
mod model;
#[allow(dead_code)]
mod support;

use std::collections::HashMap;

use actix_web::rt::SystemRunner;
use model::{JsonValue, form_model, json_model, json_object_model};
use num_bigint::BigInt;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::value::RawValue;
use sum_service::routes::{BODY_LIMIT, FORM_ERROR};
use sum_service::sum::{sum_form, sum_json};
use support::{TestApp, status_and_text};

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

/// Cases for the pure parsers, and for the properties sent over HTTP.
const PURE_CASES: u32 = 1_000;
const HTTP_CASES: u32 = 256;

fn config(cases: u32) -> Config {
    Config {
        cases,
        // No regression files: a failure prints its minimal input, which is what a test keeps.
        failure_persistence: None,
        ..Config::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The generators.

/// Any i64, with the extremes and their neighbours often.
fn any_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        1 => Just(i64::MIN),
        1 => Just(i64::MAX),
        1 => Just(i64::MIN + 1),
        1 => Just(i64::MAX - 1),
        1 => Just(0i64),
        1 => Just(-1i64),
        6 => any::<i64>(),
    ]
}

/// A form value: an integer written in one of the accepted ways, or something that is not one.
fn form_value() -> impl Strategy<Value = String> {
    let padding =
        prop::sample::select(vec!["", " ", "+", "%20", "%09", "%0A", "%0D", "%0C", "%0B"]);
    let sign = prop::sample::select(vec!["", "-", "%2B", "%2D", "+-", "--"]);
    prop_oneof![
        4 => (padding.clone(), sign, any::<u64>(), padding)
            .prop_map(|(before, sign, digits, after)| format!("{before}{sign}{digits}{after}")),
        1 => "[0-9]{19,40}",
        2 => prop::sample::select(vec![
            "", "-", "+", "1.5", "1e3", "0x10", "1_000", "abc", "%ZZ", "%FF", "%C2%A05", "%D9%A3",
            "1%002", "=", "1=2", "%26", "%3D",
        ]).prop_map(str::to_owned),
        1 => "[ -~]{0,8}",
    ]
}

/// Form bodies: arbitrary bytes, soups of form tokens, and lists of fields that are often
/// exactly `value1` and `value2`.
fn form_body() -> impl Strategy<Value = Vec<u8>> {
    let token = prop::sample::select(vec![
        "value1",
        "value2",
        "value3",
        "Value1",
        "value",
        "=",
        "&",
        "&&",
        "+",
        "-",
        "%2B",
        "%20",
        "%ZZ",
        "%",
        "%FF",
        "0",
        "7",
        "42",
        "9223372036854775807",
        "1.5",
        "a",
        " ",
        ";",
        "%76alue1",
        "\u{663}",
    ]);
    let name = prop::sample::select(vec![
        "value1", "value2", "value1", "value2", "value3", "VALUE1", "value%31", "", "value1 ",
    ]);
    let field = (name, form_value(), any::<bool>()).prop_map(|(name, value, with_eq)| {
        if with_eq || !value.is_empty() {
            format!("{name}={value}")
        } else {
            name.to_owned()
        }
    });
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..64),
        2 => prop::collection::vec(token, 0..12).prop_map(|tokens| tokens.concat().into_bytes()),
        4 => (prop::collection::vec(field, 0..4), prop::sample::select(vec!["&", "&&"]))
            .prop_map(|(fields, sep)| fields.join(sep).into_bytes()),
    ]
}

/// A JSON value, tagged with the integer it stands for (if any).
fn json_value() -> impl Strategy<Value = JsonValue> {
    let integer = |text: String, n: BigInt| JsonValue {
        text,
        integer: Some(n),
    };
    let not_integer = |text: String| JsonValue {
        text,
        integer: None,
    };
    let ws = prop::sample::select(vec!["", " ", "\\t", "\\n", "\\r", "\\f"]);
    prop_oneof![
        3 => any_i64().prop_map(move |n| integer(n.to_string(), n.into())),
        1 => "-?[1-9][0-9]{19,40}".prop_map(move |text| {
            let n = text.parse().expect("digits");
            integer(text, n)
        }),
        3 => (ws.clone(), prop::sample::select(vec!["", "+", "-"]), any_i64(), ws).prop_map(
            move |(before, sign, n, after)| {
                let magnitude = n.unsigned_abs();
                let value = BigInt::from(magnitude);
                let value = if sign == "-" { -value } else { value };
                integer(format!("\"{before}{sign}{magnitude}{after}\""), value)
            }
        ),
        1 => Just(integer(r#""\u0034\u0032""#.to_owned(), 42.into())),
        3 => prop::sample::select(vec![
            "1.5", "1.0", "1e3", "-0.0", "null", "true", "false", "[1]", "{}", r#"{"a":1}"#,
            r#""""#, r#"" ""#, r#""x""#, r#""1.5""#, r#""1_000""#, r#""0x10""#, r#""\u00a01""#,
            r#""\u0663""#, r#""1 2""#, r#""--1""#, r#""\u000b1""#,
        ])
        .prop_map(move |text| not_integer(text.to_owned())),
    ]
}

/// A JSON object from generated fields.
fn json_object() -> impl Strategy<Value = (Vec<u8>, Option<BigInt>)> {
    let name = prop::sample::select(vec![
        "value1", "value2", "value1", "value2", "value3", "Value1", "value1 ", "",
    ]);
    let fields = prop::collection::vec((name.prop_map(str::to_owned), json_value()), 0..4);
    let ws = prop::sample::select(vec!["", " ", "\n", "\t\r\n "]);
    (fields, ws.clone(), ws).prop_map(|(fields, before, after)| {
        let members: Vec<String> = fields
            .iter()
            .map(|(name, value)| format!("\"{name}\": {}", value.text))
            .collect();
        let body = format!("{before}{{{}}}{after}", members.join(", "));
        (body.into_bytes(), json_model(&fields))
    })
}

/// JSON bodies with no expected sum: arbitrary bytes and soups of JSON tokens.
fn json_junk() -> impl Strategy<Value = Vec<u8>> {
    let token = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"value1\"",
        "\"value2\"",
        "\"",
        "1",
        "-",
        "01",
        "+1",
        "1e3",
        "null",
        " ",
        "\\u0031",
        "\"7\"",
        "\u{feff}",
        "\u{663}",
    ]);
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..64),
        2 => prop::collection::vec(token, 0..16).prop_map(|tokens| tokens.concat().into_bytes()),
    ]
}

// ---------------------------------------------------------------------------------------------
// The pure parsers.

proptest! {
    #![proptest_config(config(PURE_CASES))]

    /// (1) A form body sums exactly when it is exactly `value1` and `value2`, both integers.
    #[test]
    fn form_parser_matches_the_model(body in form_body()) {
        let shown = String::from_utf8_lossy(&body);
        prop_assert_eq!(sum_form(&body).ok(), form_model(&body), "{:?}", shown);
    }

    /// (2) A generated JSON object sums exactly when the model says it does.
    #[test]
    fn json_parser_matches_the_model((body, expected) in json_object()) {
        prop_assert_eq!(sum_json(&body).ok(), expected, "{}", String::from_utf8_lossy(&body));
    }

    /// (2) Any other bytes as JSON: an answer, never a panic; a sum only for an object holding
    /// both fields, and the one the model reads in it.
    #[test]
    fn json_parser_survives_any_bytes(body in json_junk()) {
        if let Ok(sum) = sum_json(&body) {
            let shown = String::from_utf8_lossy(&body);
            prop_assert_eq!(Some(sum), json_object_model(&body), "{:?}", shown);
        }
    }

    /// (3) Every pair of i64 sums exactly, as a form and as JSON numbers and numeric strings.
    #[test]
    fn i64_pairs_sum_exactly_in_the_parsers(a in any_i64(), b in any_i64(), swap: bool) {
        let expected = BigInt::from(i128::from(a) + i128::from(b));
        let form = if swap {
            format!("value2={b}&value1={a}")
        } else {
            format!("value1={a}&value2={b}")
        };
        prop_assert_eq!(sum_form(form.as_bytes()), Ok(expected.clone()));
        let numbers = format!(r#"{{"value1": {a}, "value2": {b}}}"#);
        prop_assert_eq!(sum_json(numbers.as_bytes()), Ok(expected.clone()));
        let strings = format!(r#"{{"value2": "{b}", "value1": "{a}"}}"#);
        prop_assert_eq!(sum_json(strings.as_bytes()), Ok(expected));
    }
}

// ---------------------------------------------------------------------------------------------
// Over HTTP, against one service per property.

/// A service in process and the runtime that drives its client.
struct Served {
    system: SystemRunner,
    app: TestApp,
}

impl Served {
    fn start() -> Self {
        let system = actix_web::rt::System::new();
        let app = system.block_on(async { TestApp::spawn() });
        Self { system, app }
    }

    /// `POST /sum` with `body`, as status and text.
    fn post(&self, content_type: &str, body: Vec<u8>) -> (u16, String) {
        self.system
            .block_on(async { status_and_text(self.app.post_raw(content_type, body).await).await })
    }

    fn stop(self) {
        let Self { system, app } = self;
        system.block_on(app.stop());
    }
}

/// A form answer: 200 with the sum, or 500 with the original's text.
fn assert_form_answer(
    (status, text): (u16, String),
    expected: Option<&BigInt>,
    body: &[u8],
) -> Result<(), TestCaseError> {
    let wanted = match expected {
        Some(n) => (200, format!("The value is: {n}")),
        None => (500, FORM_ERROR.to_owned()),
    };
    prop_assert_eq!(
        (status, text),
        wanted,
        "{:?}",
        String::from_utf8_lossy(body)
    );
    Ok(())
}

/// A JSON answer: 200 with `{"sum": N}`, or 500 with an `error` string; returns N's text.
fn json_answer(
    (status, text): (u16, String),
    body: &[u8],
) -> Result<Option<String>, TestCaseError> {
    let shown = String::from_utf8_lossy(body);
    let object: HashMap<String, &RawValue> = serde_json::from_str(&text).map_err(|e| {
        TestCaseError::fail(format!("not a JSON object ({e}): {text} for {shown:?}"))
    })?;
    match status {
        200 => {
            prop_assert_eq!(object.len(), 1, "{} for {:?}", text, shown);
            let sum = object
                .get("sum")
                .ok_or_else(|| TestCaseError::fail(format!("no sum: {text}")))?
                .get();
            prop_assert!(sum.parse::<BigInt>().is_ok(), "{} for {:?}", text, shown);
            Ok(Some(sum.to_owned()))
        }
        500 => {
            let error = object
                .get("error")
                .ok_or_else(|| TestCaseError::fail(format!("no error: {text}")))?;
            prop_assert!(
                serde_json::from_str::<String>(error.get()).is_ok_and(|e| !e.is_empty()),
                "{} for {:?}",
                text,
                shown
            );
            Ok(None)
        }
        other => Err(TestCaseError::fail(format!(
            "status {other} ({text}) for {shown:?}"
        ))),
    }
}

/// (1) Any bytes as a form: 200 with the exact sum exactly when the model sums, else the
/// original's 500.
#[test]
fn form_bodies_over_http() {
    let served = Served::start();
    let mut runner = TestRunner::new(config(HTTP_CASES));
    runner
        .run(&form_body(), |body| {
            let expected = form_model(&body);
            let answer = served.post(FORM, body.clone());
            assert_form_answer(answer, expected.as_ref(), &body)
        })
        .unwrap();
    served.stop();
}

/// (2) Any bytes as JSON, generated objects and junk: 200 with `{"sum": N}` or 500 with an
/// `error`, and the sum the model expects.
#[test]
fn json_bodies_over_http() {
    let served = Served::start();
    let mut runner = TestRunner::new(config(HTTP_CASES));
    let bodies = prop_oneof![
        json_object().prop_map(|(body, expected)| (body, Some(expected))),
        json_junk().prop_map(|body| (body, None)),
    ];
    runner
        .run(&bodies, |(body, expected)| {
            let sum = json_answer(served.post(JSON, body.clone()), &body)?;
            let pure = sum_json(&body).ok().map(|n| n.to_string());
            prop_assert_eq!(&sum, &pure, "{:?}", String::from_utf8_lossy(&body));
            if let Some(expected) = expected {
                prop_assert_eq!(sum, expected.map(|n| n.to_string()));
            }
            Ok(())
        })
        .unwrap();
    served.stop();
}

/// (3) Every pair of i64 sums exactly over HTTP: as a form, as JSON numbers, as JSON strings.
#[test]
fn i64_pairs_sum_exactly_over_http() {
    let served = Served::start();
    let mut runner = TestRunner::new(config(HTTP_CASES));
    runner
        .run(&(any_i64(), any_i64()), |(a, b)| {
            let expected = (i128::from(a) + i128::from(b)).to_string();
            let form = format!("value1={a}&value2={b}").into_bytes();
            let answer = served.post(FORM, form.clone());
            assert_form_answer(answer, Some(&expected.parse().expect("digits")), &form)?;
            for body in [
                format!(r#"{{"value1": {a}, "value2": {b}}}"#),
                format!(r#"{{"value1": "{a}", "value2": "{b}"}}"#),
            ] {
                let body = body.into_bytes();
                let sum = json_answer(served.post(JSON, body.clone()), &body)?;
                prop_assert_eq!(sum.as_deref(), Some(expected.as_str()));
            }
            Ok(())
        })
        .unwrap();
    served.stop();
}

/// Bodies over the limit get 413, as a form and as JSON; a body of exactly the limit is read.
#[test]
fn bodies_over_the_limit_are_413() {
    let served = Served::start();
    let mut runner = TestRunner::new(config(16));
    runner
        .run(
            &(BODY_LIMIT + 1..BODY_LIMIT * 2, any::<u8>(), any::<bool>()),
            |(len, byte, json)| {
                let content_type = if json { JSON } else { FORM };
                let (status, text) = served.post(content_type, vec![byte; len]);
                prop_assert_eq!(status, 413, "{} bytes as {}: {}", len, content_type, text);
                Ok(())
            },
        )
        .unwrap();
    let at_limit = served.post(FORM, vec![b'1'; BODY_LIMIT]);
    assert_eq!(at_limit, (500, FORM_ERROR.to_owned()));
    // value2 = 10^k + the 1 of value1, in a body of exactly the limit.
    let zeros = BODY_LIMIT - "value1=1&value2=1".len();
    let at_limit = format!("value1=1&value2=1{}", "0".repeat(zeros)).into_bytes();
    assert_eq!(at_limit.len(), BODY_LIMIT);
    let expected = format!("The value is: 1{}1", "0".repeat(zeros - 1));
    assert_eq!(served.post(FORM, at_limit), (200, expected));
    served.stop();
}
