//! The request log: one line per request with method, path, coloured status and latency.
//!
//! A line looks like `POST /sum 500 Internal Server Error 0.31ms`. The status is green for 2xx,
//! cyan for 3xx, yellow for 4xx and red for 5xx, through `colored`, whose global switch the binary
//! sets once at startup (see [`stdout_wants_colour`]). Lines are written straight to stdout and a
//! failed write is ignored, so a closed stdout never takes a request down with it.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use colored::Colorize;

/// Where request log lines go.
#[derive(Debug, Clone, Default)]
pub enum RequestLog {
    /// To stdout, one line each: what the binary uses.
    #[default]
    Stdout,
    /// Nowhere.
    Off,
    /// Into a shared list, for tests that read the lines back.
    Capture(Arc<Mutex<Vec<String>>>),
}

impl RequestLog {
    /// Records one line.
    pub fn write(&self, line: &str) {
        match self {
            Self::Stdout => {
                // Not `println!`: it panics when stdout is gone, and a log line is not worth that.
                let _ = writeln!(std::io::stdout().lock(), "{line}");
            }
            Self::Off => {}
            Self::Capture(lines) => lines
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(line.to_owned()),
        }
    }
}

/// Whether log lines on stdout should be coloured: only on a terminal, and not when `NO_COLOR` is
/// set to anything non-empty or `TERM` is `dumb`.
///
/// The binary passes the answer to `colored::control::set_override` at startup.
pub fn stdout_wants_colour() -> bool {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let dumb = std::env::var_os("TERM").is_some_and(|term| term == "dumb");
    std::io::stdout().is_terminal() && !no_color && !dumb
}

/// Formats one log line: `METHOD PATH STATUS REASON LATENCY`, the status coloured by class.
pub fn format_line(method: &Method, path: &str, status: StatusCode, latency: Duration) -> String {
    let status_text = match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    };
    let status_text = match status.as_u16() {
        200..=299 => status_text.green(),
        300..=399 => status_text.cyan(),
        400..=499 => status_text.yellow(),
        500..=599 => status_text.red(),
        _ => status_text.normal(),
    };
    let millis = latency.as_secs_f64() * 1000.0;
    format!("{method} {path} {status_text} {millis:.2}ms")
}

/// The middleware (for [`actix_web::middleware::from_fn`]) that logs each request once it has a
/// response, to the [`RequestLog`] in the app data (stdout if there is none).
///
/// Latency runs from the request reaching the app to its response being ready, before the body is
/// sent; bodies here are a few bytes.
pub async fn log_requests(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = request.method().clone();
    let path = request.path().to_owned();
    let log = request
        .app_data::<RequestLog>()
        .cloned()
        .unwrap_or_default();
    let response = next.call(request).await;
    let status = match &response {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    log.write(&format_line(&method, &path, status, start.elapsed()));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    // One test, because `set_override` is global to the process.
    #[test]
    fn lines_name_method_path_status_and_latency_coloured_by_class() {
        let latency = Duration::from_micros(1_234);
        colored::control::set_override(false);
        assert_eq!(
            format_line(
                &Method::POST,
                "/sum",
                StatusCode::INTERNAL_SERVER_ERROR,
                latency
            ),
            "POST /sum 500 Internal Server Error 1.23ms"
        );
        assert_eq!(
            format_line(&Method::GET, "/", StatusCode::OK, Duration::ZERO),
            "GET / 200 OK 0.00ms"
        );

        colored::control::set_override(true);
        let green = format_line(&Method::GET, "/", StatusCode::OK, latency);
        let yellow = format_line(&Method::GET, "/x", StatusCode::NOT_FOUND, latency);
        let red = format_line(
            &Method::POST,
            "/sum",
            StatusCode::INTERNAL_SERVER_ERROR,
            latency,
        );
        colored::control::unset_override();
        assert_eq!(green, "GET / \u{1b}[32m200 OK\u{1b}[0m 1.23ms");
        assert_eq!(yellow, "GET /x \u{1b}[33m404 Not Found\u{1b}[0m 1.23ms");
        assert_eq!(
            red,
            "POST /sum \u{1b}[31m500 Internal Server Error\u{1b}[0m 1.23ms"
        );
    }

    #[test]
    fn captured_lines_can_be_read_back() {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let log = RequestLog::Capture(Arc::clone(&lines));
        log.write("GET / 200 OK 0.10ms");
        RequestLog::Off.write("dropped");
        assert_eq!(*lines.lock().unwrap(), ["GET / 200 OK 0.10ms"]);
    }
}
