//! `POST /sum` with a form: the sums, the errors, and the body limit.

use serde_json::{Value, json};

use crate::support::{TestApp, status_and_text};
use crate::{FORM_ERROR, assert_form};

#[actix_web::test]
async fn form_sums_two_integers() {
    let app = TestApp::spawn();
    assert_form(
        &app,
        &[("value1", "44"), ("value2", "13")],
        200,
        "The value is: 57",
    )
    .await;
    assert_form(
        &app,
        &[("value2", "13"), ("value1", "44")],
        200,
        "The value is: 57",
    )
    .await;
    assert_form(
        &app,
        &[("value1", "0"), ("value2", "0")],
        200,
        "The value is: 0",
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn form_sums_negative_numbers() {
    let app = TestApp::spawn();
    assert_form(
        &app,
        &[("value1", "-44"), ("value2", "13")],
        200,
        "The value is: -31",
    )
    .await;
    assert_form(
        &app,
        &[("value1", "-5"), ("value2", "-6")],
        200,
        "The value is: -11",
    )
    .await;
    assert_form(
        &app,
        &[("value1", "+5"), ("value2", "-0")],
        200,
        "The value is: 5",
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn form_accepts_padded_whitespace_like_python_int() {
    let app = TestApp::spawn();
    assert_form(
        &app,
        &[("value1", " 44 "), ("value2", "\t13\n")],
        200,
        "The value is: 57",
    )
    .await;
    assert_form(
        &app,
        &[("value1", "  -1"), ("value2", "2\r\n")],
        200,
        "The value is: 1",
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn form_sums_64_bit_extremes_exactly() {
    let app = TestApp::spawn();
    let max = i64::MAX.to_string();
    let min = i64::MIN.to_string();
    assert_form(
        &app,
        &[("value1", &max), ("value2", &max)],
        200,
        "The value is: 18446744073709551614",
    )
    .await;
    assert_form(
        &app,
        &[("value1", &min), ("value2", &min)],
        200,
        "The value is: -18446744073709551616",
    )
    .await;
    assert_form(
        &app,
        &[("value1", &max), ("value2", &min)],
        200,
        "The value is: -1",
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn form_sums_huge_integers_exactly() {
    let app = TestApp::spawn();
    let forty = "1234567890".repeat(4);
    let doubled = format!("The value is: {}", "2469135780".repeat(4));
    assert_form(
        &app,
        &[("value1", &forty), ("value2", &forty)],
        200,
        &doubled,
    )
    .await;

    // Thousands of digits: still exact, still quick.
    let nines = "9".repeat(20_000);
    let expected = format!("The value is: 1{}", "0".repeat(20_000));
    assert_form(&app, &[("value1", &nines), ("value2", "1")], 200, &expected).await;
    app.stop().await;
}

#[actix_web::test]
async fn form_with_a_missing_field_is_500() {
    let app = TestApp::spawn();
    assert_form(&app, &[("value1", "44")], 500, FORM_ERROR).await;
    assert_form(&app, &[("value2", "13")], 500, FORM_ERROR).await;
    assert_form(&app, &[], 500, FORM_ERROR).await;
    app.stop().await;
}

#[actix_web::test]
async fn form_with_an_extra_or_repeated_field_is_500() {
    let app = TestApp::spawn();
    assert_form(
        &app,
        &[("value1", "1"), ("value2", "2"), ("value3", "3")],
        500,
        FORM_ERROR,
    )
    .await;
    assert_form(
        &app,
        &[("value1", "1"), ("value1", "2"), ("value2", "3")],
        500,
        FORM_ERROR,
    )
    .await;
    assert_form(&app, &[("value1", "1"), ("other", "2")], 500, FORM_ERROR).await;
    app.stop().await;
}

#[actix_web::test]
async fn form_with_letters_is_500() {
    let app = TestApp::spawn();
    assert_form(&app, &[("value1", "a"), ("value2", "b")], 500, FORM_ERROR).await;
    assert_form(
        &app,
        &[("value1", "44"), ("value2", "13x")],
        500,
        FORM_ERROR,
    )
    .await;
    assert_form(
        &app,
        &[("value1", "0x10"), ("value2", "1")],
        500,
        FORM_ERROR,
    )
    .await;
    app.stop().await;
}

#[actix_web::test]
async fn form_with_floats_is_500() {
    let app = TestApp::spawn();
    assert_form(&app, &[("value1", "1.5"), ("value2", "2")], 500, FORM_ERROR).await;
    assert_form(&app, &[("value1", "1"), ("value2", "2.0")], 500, FORM_ERROR).await;
    assert_form(&app, &[("value1", "1e3"), ("value2", "2")], 500, FORM_ERROR).await;
    app.stop().await;
}

#[actix_web::test]
async fn form_with_empty_values_is_500() {
    let app = TestApp::spawn();
    assert_form(&app, &[("value1", ""), ("value2", "")], 500, FORM_ERROR).await;
    assert_form(&app, &[("value1", "1"), ("value2", "  ")], 500, FORM_ERROR).await;
    let response = app
        .post_raw("application/x-www-form-urlencoded", "value1=1&value2")
        .await;
    assert_eq!(status_and_text(response).await, (500, FORM_ERROR.into()));
    app.stop().await;
}

#[actix_web::test]
async fn a_body_that_is_not_a_form_is_500_text() {
    let app = TestApp::spawn();
    // Flask's request.form is empty for these, so the original answered 500 too.
    for content_type in [
        "text/plain",
        "application/xml",
        "multipart/form-data; boundary=x",
    ] {
        let response = app.post_raw(content_type, "value1=1&value2=2").await;
        assert_eq!(
            status_and_text(response).await,
            (500, FORM_ERROR.into()),
            "{content_type}"
        );
    }
    let response = app
        .client
        .post(app.url("/sum"))
        .body("value1=1&value2=2")
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_text(response).await,
        (500, FORM_ERROR.into()),
        "no content type"
    );
    let response = app.client.post(app.url("/sum")).send().await.unwrap();
    assert_eq!(
        status_and_text(response).await,
        (500, FORM_ERROR.into()),
        "no body"
    );
    app.stop().await;
}

#[actix_web::test]
async fn a_body_over_the_limit_is_413() {
    let app = TestApp::spawn();
    let megabyte = format!("value1=1&value2={}", "1".repeat(1 << 20));
    let response = app
        .post_raw("application/x-www-form-urlencoded", megabyte.clone())
        .await;
    assert_eq!(
        status_and_text(response).await,
        (413, "the request body is too large".into())
    );

    let response = app.post_raw("application/json", megabyte).await;
    let (status, text) = status_and_text(response).await;
    assert_eq!(
        (status, serde_json::from_str::<Value>(&text).unwrap()),
        (413, json!({"error": "the request body is too large"}))
    );

    // Just under the limit is read and summed.
    let digits = "1".repeat(sum_service::routes::BODY_LIMIT - "value1=0&value2=".len());
    let response = app
        .post_raw(
            "application/x-www-form-urlencoded",
            format!("value1=0&value2={digits}"),
        )
        .await;
    assert_eq!(
        status_and_text(response).await,
        (200, format!("The value is: {digits}"))
    );

    // And the service is still there afterwards.
    assert_form(
        &app,
        &[("value1", "1"), ("value2", "2")],
        200,
        "The value is: 3",
    )
    .await;
    app.stop().await;
}
