//! The service's HTTP contract, against the service spawned in process on 127.0.0.1:0.

mod support;

use std::time::Duration;

use actix_web::rt::time::timeout;
use serde_json::{Value, json};
use sum_service::{RequestLog, Settings};
use support::{TestApp, labels, status_and_text};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

#[actix_web::test]
async fn root_is_the_original_health_check() {
    let app = TestApp::spawn();
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    assert_eq!(
        status_and_text(response).await,
        (200, "Number summator healthy.".into())
    );
    app.stop().await;
}

#[actix_web::test]
async fn health_is_json() {
    let app = TestApp::spawn();
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        status_and_text(response).await,
        (200, r#"{"status":"ok"}"#.into())
    );
    app.stop().await;
}

#[actix_web::test]
async fn head_works_where_get_does() {
    let app = TestApp::spawn();
    for path in ["/", "/health", "/metrics"] {
        let response = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(
            status_and_text(response).await,
            (200, String::new()),
            "{path}"
        );
    }
    app.stop().await;
}

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

#[actix_web::test]
async fn unknown_paths_are_404() {
    let app = TestApp::spawn();
    for path in ["/nope", "/sum/", "/sum/1", "/health/x"] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            status_and_text(response).await,
            (404, "Not Found".into()),
            "GET {path}"
        );
    }
    let response = app
        .client
        .post(app.url("/nope"))
        .form(&[("value1", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        status_and_text(response).await,
        (404, "Not Found".into()),
        "POST /nope"
    );
    app.stop().await;
}

#[actix_web::test]
async fn wrong_methods_are_405() {
    let app = TestApp::spawn();
    let cases = [
        (reqwest::Method::GET, "/sum", "POST"),
        (reqwest::Method::PUT, "/sum", "POST"),
        (reqwest::Method::DELETE, "/sum", "POST"),
        (reqwest::Method::POST, "/", "GET, HEAD"),
        (reqwest::Method::POST, "/health", "GET, HEAD"),
        (reqwest::Method::OPTIONS, "/", "GET, HEAD"),
        (reqwest::Method::POST, "/metrics", "GET, HEAD"),
        (reqwest::Method::DELETE, "/metrics", "GET, HEAD"),
    ];
    for (method, path, allow) in cases {
        let response = app
            .client
            .request(method.clone(), app.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.headers()["allow"], allow, "{method} {path}");
        assert_eq!(
            status_and_text(response).await,
            (405, "Method Not Allowed".into()),
            "{method} {path}"
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn every_request_is_logged_with_method_path_status_and_latency() {
    let app = TestApp::spawn();
    app.client.get(app.url("/")).send().await.unwrap();
    app.post_form(&[("value1", "a"), ("value2", "1")]).await;
    app.client.get(app.url("/nope")).send().await.unwrap();
    let lines = app.log.lock().unwrap().clone();
    assert_eq!(lines.len(), 3, "{lines:?}");
    let expected = [
        "GET / 200 OK ",
        "POST /sum 500 Internal Server Error ",
        "GET /nope 404 Not Found ",
    ];
    for (line, start) in lines.iter().zip(expected) {
        assert!(
            line.starts_with(start),
            "{line:?} should start with {start:?}"
        );
        let latency = line[start.len()..]
            .strip_suffix("ms")
            .expect("a latency in ms");
        assert!(latency.parse::<f64>().is_ok(), "{line:?}");
    }
    app.stop().await;
}

const REQUESTS: &str = "sum_service_requests_total";
const DURATION: &str = "sum_service_request_duration_seconds";

#[actix_web::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::spawn();
    assert_form(
        &app,
        &[("value1", "44"), ("value2", "13")],
        200,
        "The value is: 57",
    )
    .await;
    assert_form(&app, &[("value1", "gg"), ("value2", "g")], 500, FORM_ERROR).await;
    let response = app.client.get(app.url("/nope")).send().await.unwrap();
    assert_eq!(response.status(), 404);

    // The scrape itself is counted once its response is ready, so it is not in its own text.
    let metrics = app.metrics().await;
    assert_eq!(metrics.types[REQUESTS], "counter");
    assert_eq!(metrics.types[DURATION], "histogram");
    assert_eq!(
        metrics.series(REQUESTS),
        [
            (labels(&[("route", "/sum"), ("status", "200")]), 1.0),
            (labels(&[("route", "/sum"), ("status", "500")]), 1.0),
            (labels(&[("route", "unmatched"), ("status", "404")]), 1.0),
        ]
        .into_iter()
        .collect()
    );
    let count = format!("{DURATION}_count");
    assert_eq!(
        metrics.series(&count),
        [
            (labels(&[("route", "/sum")]), 2.0),
            (labels(&[("route", "unmatched")]), 1.0),
        ]
        .into_iter()
        .collect()
    );
    let inf_bucket = [("route", "/sum"), ("le", "+Inf")];
    let bucket = format!("{DURATION}_bucket");
    assert_eq!(metrics.value(&bucket, &inf_bucket), Some(2.0));
    let sum = metrics.value(&format!("{DURATION}_sum"), &[("route", "/sum")]);
    assert!(
        sum.is_some_and(|seconds| seconds > 0.0 && seconds < 10.0),
        "{sum:?}"
    );

    // The next scrape sees the first; a wrong method counts under its route.
    let response = app.client.post(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 405);
    let metrics = app.metrics().await;
    let get_metrics = [("route", "/metrics"), ("status", "200")];
    assert_eq!(metrics.value(REQUESTS, &get_metrics), Some(1.0));
    let post_metrics = [("route", "/metrics"), ("status", "405")];
    assert_eq!(metrics.value(REQUESTS, &post_metrics), Some(1.0));
    let good_sums = [("route", "/sum"), ("status", "200")];
    assert_eq!(metrics.value(REQUESTS, &good_sums), Some(1.0));
    app.stop().await;
}

#[actix_web::test]
async fn unknown_paths_share_one_unmatched_series() {
    let app = TestApp::spawn();
    let mut paths: Vec<String> = (0..40).map(|i| format!("/made-up/{i}")).collect();
    paths.extend((0..10).map(|i| format!("/sum/{i}?value1={i}")));
    paths.extend([
        "/sum/".into(),
        "/%2Fsum".into(),
        "/metrics/x".into(),
        "//".into(),
    ]);
    for path in &paths {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    app.client.get(app.url("/health")).send().await.unwrap();

    let metrics = app.metrics().await;
    let unknown = paths.len() as f64;
    assert_eq!(
        metrics.series(REQUESTS),
        [
            (labels(&[("route", "/health"), ("status", "200")]), 1.0),
            (
                labels(&[("route", "unmatched"), ("status", "404")]),
                unknown
            ),
        ]
        .into_iter()
        .collect()
    );
    // No label anywhere holds a path the service does not have.
    let known = ["/", "/health", "/sum", "/metrics", "unmatched"];
    for (name, series) in &metrics.samples {
        for labels in series.keys() {
            if let Some(route) = labels.get("route") {
                assert!(known.contains(&route.as_str()), "{name} {labels:?}");
            }
        }
    }
    app.stop().await;
}

#[actix_web::test]
async fn each_server_has_its_own_metrics() {
    let busy = TestApp::spawn();
    let idle = TestApp::spawn();
    busy.client.get(busy.url("/")).send().await.unwrap();
    busy.client.get(busy.url("/")).send().await.unwrap();

    let root = [("route", "/"), ("status", "200")];
    assert_eq!(busy.metrics().await.value(REQUESTS, &root), Some(2.0));
    assert!(idle.metrics().await.series(REQUESTS).is_empty());
    busy.stop().await;
    idle.stop().await;
}

#[actix_web::test]
async fn the_service_stops_when_asked() {
    let app = TestApp::spawn();
    let url = app.url("/");
    let client = app.client.clone();
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    app.stop().await;
    let fresh = reqwest::Client::builder().no_proxy().build().unwrap();
    assert!(
        fresh.get(&url).send().await.is_err(),
        "still answering after stop"
    );
}

/// Reads from `stream` until the peer closes it (or resets it), keeping at most the first 64 KiB.
/// Fails the test if that takes longer than `bound`.
async fn read_until_closed(stream: &mut tokio::net::tcp::OwnedReadHalf, bound: Duration) -> String {
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    let reading = async {
        // Bounded in count too: 64 MiB of reads at most, far more than any answer here.
        for _ in 0..8192 {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if kept.len() < 64 * 1024 {
                        kept.extend_from_slice(&buffer[..n]);
                    }
                }
            }
        }
        panic!("the server kept talking");
    };
    timeout(bound, reading)
        .await
        .expect("the connection should have been closed before the bound");
    String::from_utf8_lossy(&kept).into_owned()
}

/// Sends `METHOD PATH` with an endless chunked body, and checks that the answer has `status`,
/// closes the connection, and comes before the server has read more than a little of the body.
async fn endless_chunked_body_is_answered_and_cut_off(
    app: &TestApp,
    method: &str,
    path: &str,
    status: u16,
) {
    const CHUNK: usize = 16 * 1024;
    // What the client is willing to send in all: far more than the server should read.
    const CAP: usize = 256 * 1024 * 1024;
    let stream = TcpStream::connect(app.socket).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n\
             Content-Type: application/x-www-form-urlencoded\r\n\
             Transfer-Encoding: chunked\r\n\r\n"
    );
    let sending = actix_web::rt::spawn(async move {
        writer.write_all(head.as_bytes()).await.unwrap();
        let mut chunk = format!("{CHUNK:x}\r\n").into_bytes();
        chunk.extend(std::iter::repeat_n(b'1', CHUNK));
        chunk.extend_from_slice(b"\r\n");
        let mut sent = 0;
        while sent < CAP {
            if writer.write_all(&chunk).await.is_err() {
                return (sent, true, writer);
            }
            sent += chunk.len();
        }
        // The write half is handed back, not dropped, so the server sees no end of the stream.
        (sent, false, writer)
    });
    let answer = read_until_closed(&mut reader, Duration::from_secs(20)).await;
    assert!(
        answer.starts_with(&format!("HTTP/1.1 {status}")),
        "{method} {path}: {answer:?}"
    );
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer:?}"
    );
    let (sent, refused, _writer) = timeout(Duration::from_secs(20), sending)
        .await
        .expect("the sender should have been stopped before the bound")
        .unwrap();
    // The kernel's buffers on both ends take a few MiB before a write fails; the server itself
    // reads little past the 64 KiB limit.
    assert!(
        refused,
        "{method} {path}: the server read all {sent} bytes sent"
    );
    assert!(
        sent < 16 * 1024 * 1024,
        "{method} {path}: {sent} bytes sent before the close"
    );
}

#[actix_web::test]
async fn an_endless_chunked_body_elsewhere_is_not_read() {
    let app = TestApp::spawn();
    for (method, path, status) in [
        ("POST", "/nope", 404),
        ("POST", "/health", 405),
        ("GET", "/health", 200),
        ("PUT", "/sum", 405),
    ] {
        endless_chunked_body_is_answered_and_cut_off(&app, method, path, status).await;
    }
    app.stop().await;
}

#[actix_web::test]
async fn a_trickled_body_is_cut_off_while_health_keeps_answering() {
    let app = TestApp::spawn_with(Settings {
        body_timeout: Duration::from_millis(500),
        ..Settings::default()
    });
    let stream = TcpStream::connect(app.socket).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    // Headers, then one byte of the declared 1000 every 100 ms: 20 s of trickling at most.
    let trickling = actix_web::rt::spawn(async move {
        let head = "POST /sum HTTP/1.1\r\nHost: localhost\r\n\
                    Content-Type: application/x-www-form-urlencoded\r\n\
                    Content-Length: 1000\r\n\r\n";
        writer.write_all(head.as_bytes()).await.unwrap();
        for _ in 0..200 {
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
            if writer.write_all(b"1").await.is_err() {
                break;
            }
        }
        writer
    });
    let health = async {
        for _ in 0..5 {
            let response = app.client.get(app.url("/health")).send().await.unwrap();
            assert_eq!(response.status(), 200);
            actix_web::rt::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let (answer, ()) = tokio::join!(
        read_until_closed(&mut reader, Duration::from_secs(10)),
        health
    );
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer:?}"
    );
    trickling.abort();
    app.stop().await;
}

#[actix_web::test]
async fn trickling_clients_past_the_connection_limit_do_not_starve_health() {
    const TRICKLERS: usize = 8;
    let app = TestApp::spawn_with(Settings {
        body_timeout: Duration::from_millis(500),
        max_connections: 4,
        ..Settings::default()
    });
    // Twice as many tricklers as the worker holds connections, each for 20 s at most.
    let mut tricklers = Vec::new();
    for _ in 0..TRICKLERS {
        let mut stream = TcpStream::connect(app.socket).await.unwrap();
        tricklers.push(actix_web::rt::spawn(async move {
            let head = "POST /sum HTTP/1.1\r\nHost: localhost\r\n\
                        Content-Type: application/x-www-form-urlencoded\r\n\
                        Content-Length: 1000\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            for _ in 0..200 {
                actix_web::rt::time::sleep(Duration::from_millis(100)).await;
                if stream.write_all(b"1").await.is_err() {
                    return;
                }
            }
        }));
    }
    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
    // The client's own 10 s timeout is the bound.
    let response = app.client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    for trickler in tricklers {
        trickler.abort();
    }
    app.stop().await;
}

/// A log output that never returns from a write, like a pipe nobody reads.
struct Stuck;

impl std::io::Write for Stuck {
    fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
        loop {
            std::thread::park();
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        loop {
            std::thread::park();
        }
    }
}

#[actix_web::test]
async fn a_stuck_log_output_neither_stops_answers_nor_shutdown() {
    const REQUESTS: usize = 3 * sum_service::log::QUEUE_LINES;
    let log = RequestLog::writer(Stuck).unwrap();
    let app = TestApp::spawn_with(Settings {
        log: log.clone(),
        ..Settings::default()
    });
    let answering = async {
        for i in 0..REQUESTS {
            let response = app.client.get(app.url("/health")).send().await.unwrap();
            assert_eq!(response.status(), 200, "request {i}");
        }
    };
    timeout(Duration::from_secs(60), answering)
        .await
        .expect("every request should be answered before the bound");

    // The writer thread holds the first lines (at most a buffer's worth, 8 KiB) and the queue
    // the next QUEUE_LINES; the rest were dropped and counted, in the log and in the metrics.
    let most = REQUESTS - sum_service::log::QUEUE_LINES - 1;
    let dropped = log.dropped();
    assert!(
        (most as u64 - 400..=most as u64).contains(&dropped),
        "{dropped}"
    );
    let metrics = app.metrics().await;
    let counted = metrics.value("sum_service_log_lines_dropped_total", &[]);
    assert_eq!(counted, Some(dropped as f64));
    assert!(
        !log.finish(Duration::from_millis(100)),
        "a stuck output cannot be flushed"
    );

    timeout(Duration::from_secs(20), app.stop())
        .await
        .expect("the service should stop before the bound");
}
