//! The service's own metrics, served by `GET /metrics` in the Prometheus text exposition format.
//!
//! Two series families, recorded by [`record_requests`] once each response is ready:
//! - [`REQUESTS_TOTAL`], a counter with the labels `route` and `status`;
//! - [`REQUEST_DURATION_SECONDS`], a histogram (fixed buckets, [`DURATION_BUCKETS`]) with the
//!   label `route`.
//!
//! And [`LOG_LINES_DROPPED_TOTAL`], a counter without labels, shown from the start at 0: the
//! request log counts a line in it each time it drops one.
//!
//! `route` is the *pattern* of the route that answered (`/`, `/health`, `/sum`, `/metrics`), or
//! [`UNMATCHED`] for every path the service does not have: never the raw path, so the number of
//! series is bounded by the route table times the status codes the service sends, whatever
//! paths clients make up.
//!
//! Why a recorder per server and not the `metrics` crate's global one: a global recorder can be
//! installed once per process, so every server in a test binary would count into one set, and a
//! library that installs one takes that choice away from the program that uses it. Each
//! [`Metrics`] owns its own `PrometheusRecorder` and records through it explicitly
//! ([`metrics::with_local_recorder`]); the facade's macros do the rest.
//!
//! Memory stays fixed when nobody scrapes: histogram samples wait in the recorder until they are
//! folded into their buckets, which a scrape does and which [`record_requests`] also does every
//! [`UPKEEP_EVERY`] requests.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use metrics::{Unit, counter, describe_counter, describe_histogram, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};

/// The counter of answered requests, labelled `route` and `status`.
pub const REQUESTS_TOTAL: &str = "sum_service_requests_total";

/// The histogram of request latencies in seconds, labelled `route`: from the request reaching the
/// app to its response being ready, as in the request log.
pub const REQUEST_DURATION_SECONDS: &str = "sum_service_request_duration_seconds";

/// The counter of request log lines dropped because the log's output was not keeping up.
pub const LOG_LINES_DROPPED_TOTAL: &str = "sum_service_log_lines_dropped_total";

/// The `route` label of a request that matched no route (a 404).
pub const UNMATCHED: &str = "unmatched";

/// The Content-Type of `GET /metrics`: the Prometheus text exposition format, version 0.0.4.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The upper bounds, in seconds, of the latency histogram's buckets (`+Inf` is implied).
///
/// From 100 µs, since a sum takes a fraction of a millisecond, to 5 s, the shutdown timeout.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// How many requests may be recorded between two foldings of latency samples into buckets.
pub const UPKEEP_EVERY: u32 = 256;

/// One server's metrics: a Prometheus recorder of its own and the handle that renders it.
///
/// Clones share one set of counts, so a caller can keep a clone of the one in
/// [`Settings`](crate::Settings) and read it back. [`Metrics::new`] (and `Default`) start an
/// empty set.
#[derive(Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

struct Inner {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
    /// Requests recorded, wrapping; every [`UPKEEP_EVERY`]th one runs the upkeep.
    recorded: AtomicU32,
}

impl Metrics {
    /// A fresh, empty set of metrics, with its names described.
    pub fn new() -> Self {
        // `set_buckets` refuses only an empty list, and ours is not; were it refused, latencies
        // would still be recorded, as a summary.
        let builder = PrometheusBuilder::new()
            .set_buckets(&DURATION_BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe_counter!(
                REQUESTS_TOTAL,
                "Requests answered, by route pattern (unmatched for unknown paths) and status code."
            );
            describe_histogram!(
                REQUEST_DURATION_SECONDS,
                Unit::Seconds,
                "Time from a request reaching the service to its response being ready, by route."
            );
            describe_counter!(
                LOG_LINES_DROPPED_TOTAL,
                "Request log lines dropped because the log's output was not keeping up."
            );
            // Shown from the start, at 0, so a scrape can tell "none dropped" from "not counted".
            counter!(LOG_LINES_DROPPED_TOTAL).increment(0);
        });
        Self {
            inner: Arc::new(Inner {
                recorder,
                handle,
                recorded: AtomicU32::new(0),
            }),
        }
    }

    /// Counts one answered request and its latency.
    ///
    /// `route` must be a route *pattern* or [`UNMATCHED`], never a raw path: each distinct value
    /// is a series kept for the life of the server.
    fn record(&self, route: &str, status: StatusCode, latency: Duration) {
        metrics::with_local_recorder(&self.inner.recorder, || {
            counter!(
                REQUESTS_TOTAL,
                "route" => route.to_owned(),
                "status" => status.as_u16().to_string()
            )
            .increment(1);
            histogram!(REQUEST_DURATION_SECONDS, "route" => route.to_owned()).record(latency);
        });
        let recorded = self.inner.recorded.fetch_add(1, Ordering::Relaxed);
        if recorded % UPKEEP_EVERY == UPKEEP_EVERY - 1 {
            self.inner.handle.run_upkeep();
        }
    }

    /// Counts one request log line dropped.
    pub(crate) fn log_line_dropped(&self) {
        metrics::with_local_recorder(&self.inner.recorder, || {
            counter!(LOG_LINES_DROPPED_TOTAL).increment(1);
        });
    }

    /// Every series so far, in the Prometheus text exposition format (see [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut text = Vec::new();
        // Writing into a `Vec` cannot fail, so there is no error to report; were there one, the
        // series written before it would still be served.
        let _ = self.inner.handle.render_to_write(&mut text);
        match String::from_utf8(text) {
            Ok(text) => text,
            Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The middleware (for [`actix_web::middleware::from_fn`]) that records each request, once it has
/// a response, into the [`Metrics`] in the app data (nothing if there are none).
///
/// The `route` label is the pattern of the resource that answered, so a wrong method on a known
/// path (405) and a body over the limit (413) count under that path's route, and every unknown
/// path under [`UNMATCHED`].
pub async fn record_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let metrics = request.app_data::<Metrics>().cloned();
    let response = next.call(request).await;
    if let Some(metrics) = metrics {
        let (route, status) = match &response {
            Ok(response) => (response.request().match_pattern(), response.status()),
            // An error has no request left to say which route it came from.
            Err(error) => (None, error.as_response_error().status_code()),
        };
        metrics.record(
            route.as_deref().unwrap_or(UNMATCHED),
            status,
            start.elapsed(),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_set_counts_on_its_own() {
        let one = Metrics::new();
        let other = Metrics::new();
        one.record("/sum", StatusCode::OK, Duration::from_millis(2));
        one.clone()
            .record("/sum", StatusCode::OK, Duration::from_millis(3));

        let text = one.render();
        assert!(
            text.lines()
                .any(|line| line == r#"sum_service_requests_total{route="/sum",status="200"} 2"#),
            "{text}"
        );
        assert!(
            text.contains("# TYPE sum_service_requests_total counter"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE sum_service_request_duration_seconds histogram"),
            "{text}"
        );
        assert!(
            text.lines().any(|line| line
                == r#"sum_service_request_duration_seconds_bucket{route="/sum",le="0.0025"} 1"#),
            "{text}"
        );
        assert!(!other.render().contains("route="), "{}", other.render());
    }

    #[test]
    fn upkeep_folds_samples_without_losing_them() {
        let metrics = Metrics::new();
        for _ in 0..UPKEEP_EVERY * 2 + 1 {
            metrics.record(UNMATCHED, StatusCode::NOT_FOUND, Duration::from_micros(50));
        }
        let count = UPKEEP_EVERY * 2 + 1;
        let text = metrics.render();
        assert!(
            text.lines().any(|line| line
                == format!(
                    r#"sum_service_request_duration_seconds_count{{route="unmatched"}} {count}"#
                )),
            "{text}"
        );
    }
}
