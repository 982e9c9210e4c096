//! The service's HTTP contract, against the service spawned in process on 127.0.0.1:0.

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod form;
mod hostile;
mod json;
mod observe;
mod routes;

use serde_json::Value;
use support::{TestApp, status_and_text};

const FORM_ERROR: &str = "An error occurred, please try again later.";

/// Asserts a form sum's status and text.
async fn assert_form(app: &TestApp, fields: &[(&str, &str)], status: u16, text: &str) {
    let response = app.post_form(fields).await;
    assert_eq!(
        status_and_text(response).await,
        (status, text.to_owned()),
        "{fields:?}"
    );
}

/// Posts a JSON body (raw text, so malformed ones can be sent too) and returns status and JSON.
async fn post_json(app: &TestApp, body: &str) -> (u16, Value) {
    let response = app.post_raw("application/json", body.to_owned()).await;
    let content_type = response.headers()[reqwest::header::CONTENT_TYPE].clone();
    assert_eq!(content_type, "application/json", "{body}");
    let (status, text) = status_and_text(response).await;
    (
        status,
        serde_json::from_str(&text).expect("a JSON response"),
    )
}
