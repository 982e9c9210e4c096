//! Pipelined `GET`s and `HEAD`s, several in one write: every answer framed for its own request.
//!
//! actix-http's HTTP/1 codec frames a response by the method of the last request it decoded (see
//! `sum_service::head`); the service answers `HEAD` with no body at all so that this cannot show.

use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::response::ResponseReader;
use crate::support::TestApp;

/// Every read of a test is bounded by this.
const BOUND: Duration = Duration::from_secs(10);

/// The paths that answer `GET` and `HEAD` alike.
const PATHS: [&str; 2] = ["/", "/health"];

/// The status and body of a `GET` of `path` (a `HEAD` has the same status, and no body).
fn expected(path: &str) -> (u16, &'static str) {
    match path {
        "/" => (200, "Number summator healthy."),
        "/health" => (200, r#"{"status":"ok"}"#),
        "/sum" => (405, "Method Not Allowed"),
        _ => (404, "Not Found"),
    }
}

/// Sends `requests` (method and path) in one write and reads one response each, checking each
/// one's framing against [`expected`]: a `GET`'s body exactly, a `HEAD`'s no body and a
/// `Content-Length` only if it is the `GET`'s. Then a last request, sent alone, must be answered
/// in turn with nothing stray before or after it.
async fn pipeline(app: &TestApp, requests: &[(&str, &str)]) {
    let stream = TcpStream::connect(app.socket).await.unwrap();
    stream.set_nodelay(true).unwrap();
    let (reader, mut writer) = stream.into_split();
    let batch: String = requests
        .iter()
        .map(|(method, path)| format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"))
        .collect();
    writer.write_all(batch.as_bytes()).await.unwrap();

    let mut responses = ResponseReader::new(reader, BOUND);
    for (i, (method, path)) in requests.iter().enumerate() {
        let response = responses.response(method).await;
        let what = format!("{method} {path}, request {i} of {requests:?}: {response:?}");
        let (status, body) = expected(path);
        assert_eq!(response.status, status, "{what}");
        assert!(response.header("content-type").is_some(), "{what}");
        if let Some(length) = response.header("content-length") {
            assert_eq!(length, body.len().to_string(), "{what}");
        }
        if *method == "GET" {
            assert_eq!(response.text(), body, "{what}");
        }
    }

    let last = "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    writer.write_all(last.as_bytes()).await.unwrap();
    let response = responses.response("GET").await;
    assert_eq!(
        (response.status, response.text()),
        (200, r#"{"status":"ok"}"#.to_owned()),
        "the request after {requests:?}"
    );
    let stray = responses.rest().await;
    assert!(
        stray.is_empty(),
        "{:?} after {requests:?}",
        String::from_utf8_lossy(&stray)
    );
}

/// `methods`, each on `path`.
fn on<'a>(path: &'a str, methods: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    methods.iter().map(|&method| (method, path)).collect()
}

/// Every order of `GET` and `HEAD`, from one request to `longest`.
fn orders(longest: u32) -> Vec<Vec<&'static str>> {
    (1..=longest)
        .flat_map(|len| {
            (0..1u32 << len).map(move |bits| {
                (0..len)
                    .map(|i| if bits >> i & 1 == 1 { "HEAD" } else { "GET" })
                    .collect()
            })
        })
        .collect()
}

/// The orders the codec's bug still breaks whatever the service answers: two or more requests
/// answered with a body, then a `HEAD` last, so that every such request but the first waits in
/// the queue and is encoded under the `HEAD`'s flag.
fn beyond_repair(methods: &[&str]) -> bool {
    let bodies = methods.iter().filter(|&&method| method == "GET").count();
    bodies >= 2 && methods.last() == Some(&"HEAD")
}

#[actix_web::test]
async fn pipelined_heads_then_a_get_get_three_well_framed_answers() {
    let app = TestApp::spawn();
    for path in PATHS {
        pipeline(&app, &on(path, &["HEAD", "HEAD", "GET"])).await;
    }
    app.stop().await;
}

#[actix_web::test]
async fn every_pipelined_order_the_service_can_frame_is_framed() {
    let app = TestApp::spawn();
    let orders: Vec<_> = orders(5)
        .into_iter()
        .filter(|methods| !beyond_repair(methods))
        .collect();
    assert_eq!(orders.len(), 46);
    for path in PATHS {
        for methods in &orders {
            pipeline(&app, &on(path, methods)).await;
        }
    }
    app.stop().await;
}

#[actix_web::test]
async fn pipelined_heads_of_errors_have_no_body_either() {
    let app = TestApp::spawn();
    pipeline(
        &app,
        &[
            ("HEAD", "/nope"),
            ("HEAD", "/sum"),
            ("HEAD", "/health"),
            ("GET", "/"),
        ],
    )
    .await;
    app.stop().await;
}

/// The case the workaround cannot reach (see `sum_service::head`): it passes once actix-http keeps
/// the `HEAD` flag per request.
#[actix_web::test]
#[ignore = "actix-http 3.19 and 3.20 encode a waiting GET's response under the flag of a HEAD decoded after it"]
async fn a_get_waiting_behind_a_get_keeps_its_body_when_a_head_follows() {
    let app = TestApp::spawn();
    for path in PATHS {
        pipeline(&app, &on(path, &["GET", "GET", "HEAD"])).await;
    }
    app.stop().await;
}
