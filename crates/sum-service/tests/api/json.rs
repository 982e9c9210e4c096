//! `POST /sum` with JSON: exact sums, and a JSON error for anything else.

use serde_json::json;

use crate::post_json;
use crate::support::{TestApp, status_and_text};

#[actix_web::test]
async fn json_sums_numbers_and_numeric_strings() {
    let app = TestApp::spawn();
    assert_eq!(
        post_json(&app, r#"{"value1": 44, "value2": 13}"#).await,
        (200, json!({"sum": 57}))
    );
    assert_eq!(
        post_json(&app, r#"{"value1": "44", "value2": "-13"}"#).await,
        (200, json!({"sum": 31}))
    );
    assert_eq!(
        post_json(&app, r#"{"value1": " 44 ", "value2": 13}"#).await,
        (200, json!({"sum": 57}))
    );
    let response = app
        .client
        .post(app.url("/sum"))
        .json(&json!({"value1": -1, "value2": "2"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_text(response).await,
        (200, r#"{"sum":1}"#.into())
    );
    app.stop().await;
}

#[actix_web::test]
async fn json_sums_are_exact_numbers_beyond_64_bits() {
    let app = TestApp::spawn();
    let max = i64::MAX;
    let body = format!(r#"{{"value1": {max}, "value2": "{max}"}}"#);
    let response = app.post_raw("application/json", body).await;
    assert_eq!(
        status_and_text(response).await,
        (200, r#"{"sum":18446744073709551614}"#.into())
    );

    let forty = "1234567890".repeat(4);
    let body = format!(r#"{{"value1": {forty}, "value2": {forty}}}"#);
    let response = app.post_raw("application/json; charset=utf-8", body).await;
    let expected = format!(r#"{{"sum":{}}}"#, "2469135780".repeat(4));
    assert_eq!(status_and_text(response).await, (200, expected));
    app.stop().await;
}

#[actix_web::test]
async fn json_with_floats_or_letters_is_500() {
    let app = TestApp::spawn();
    for (body, error) in [
        (
            r#"{"value1": 1.5, "value2": 2}"#,
            "value1 is not an integer",
        ),
        (
            r#"{"value1": 1, "value2": 2.0}"#,
            "value2 is not an integer",
        ),
        (
            r#"{"value1": 1e3, "value2": 2}"#,
            "value1 is not an integer",
        ),
        (
            r#"{"value1": "1.5", "value2": 2}"#,
            "value1 is not an integer",
        ),
        (
            r#"{"value1": "a", "value2": 2}"#,
            "value1 is not an integer",
        ),
        (r#"{"value1": "", "value2": 2}"#, "value1 is not an integer"),
        (
            r#"{"value1": null, "value2": 2}"#,
            "value1 is not an integer",
        ),
    ] {
        assert_eq!(
            post_json(&app, body).await,
            (500, json!({"error": error})),
            "{body}"
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn json_with_the_wrong_fields_is_500() {
    let app = TestApp::spawn();
    let error = json!({"error": "the body must be a JSON object with exactly the fields value1 and value2"});
    for body in [
        r#"{"value1": 1}"#,
        r#"{"value1": 1, "value2": 2, "value3": 3}"#,
        r#"{"value1": 1, "value1": 2, "value2": 3}"#,
        r#"[1, 2]"#,
        r#"42"#,
    ] {
        assert_eq!(post_json(&app, body).await, (500, error.clone()), "{body}");
    }
    app.stop().await;
}

#[actix_web::test]
async fn malformed_json_is_500_json() {
    let app = TestApp::spawn();
    let error = json!({"error": "the body is not valid JSON"});
    for body in [
        "",
        "{",
        r#"{"value1": 1, "value2": 2"#,
        "value1=1&value2=2",
        "{value1: 1}",
    ] {
        assert_eq!(
            post_json(&app, body).await,
            (500, error.clone()),
            "{body:?}"
        );
    }
    app.stop().await;
}
