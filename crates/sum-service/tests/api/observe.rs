//! What the service tells about itself: the request log, the metrics, and a clean stop.

use crate::support::{TestApp, labels};
use crate::{FORM_ERROR, assert_form};

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
