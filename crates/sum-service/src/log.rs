//! The request log: one line per request with method, path, coloured status and latency.
//!
//! A line looks like `POST /sum 500 Internal Server Error 0.31ms`. The status is green for 2xx,
//! cyan for 3xx, yellow for 4xx and red for 5xx, through `colored`, whose global switch the binary
//! sets once at startup (see [`stdout_wants_colour`]).
//!
//! Writing a line never blocks the worker that answered the request: lines go through a bounded
//! queue ([`QUEUE_LINES`]) to one writer thread ([`LineWriter`]), and a line that finds the queue
//! full is dropped and counted, in the server's [`Metrics`] too
//! ([`LOG_LINES_DROPPED_TOTAL`](crate::metrics::LOG_LINES_DROPPED_TOTAL)). A stdout that nobody
//! reads (a full pipe) stalls the writer thread only; the service keeps answering and stops when
//! asked. A failed write is ignored, so a closed stdout never takes a request down with it.

use std::io::{BufWriter, IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use colored::Colorize;

use crate::metrics::Metrics;

/// How many lines may wait for the writer thread before new ones are dropped.
pub const QUEUE_LINES: usize = 1024;

/// Where request log lines go.
#[derive(Debug, Clone, Default)]
pub enum RequestLog {
    /// To stdout, through one process-wide [`LineWriter`]: what the binary uses.
    #[default]
    Stdout,
    /// Nowhere.
    Off,
    /// Into a shared list, for tests that read the lines back.
    Capture(Arc<Mutex<Vec<String>>>),
    /// Through a [`LineWriter`] of the caller's, to any writer.
    Writer(LineWriter),
}

impl RequestLog {
    /// A log that writes to `out` through a writer thread of its own (see [`LineWriter`]).
    ///
    /// # Errors
    ///
    /// Fails if the thread cannot be started.
    pub fn writer(out: impl Write + Send + 'static) -> std::io::Result<Self> {
        LineWriter::spawn(out).map(Self::Writer)
    }

    /// Records one line, without blocking. Returns `false` if the line was dropped (the queue
    /// was full, or the writer thread is gone).
    pub fn write(&self, line: &str) -> bool {
        match self {
            Self::Stdout => stdout_writer().is_some_and(|writer| writer.write(line)),
            Self::Off => true,
            Self::Capture(lines) => {
                lines
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .push(line.to_owned());
                true
            }
            Self::Writer(writer) => writer.write(line),
        }
    }

    /// Lines dropped so far (0 for a log that drops none).
    pub fn dropped(&self) -> u64 {
        match self {
            Self::Stdout => stdout_writer().map_or(0, LineWriter::dropped),
            Self::Off | Self::Capture(_) => 0,
            Self::Writer(writer) => writer.dropped(),
        }
    }

    /// At shutdown: reports the dropped lines, if any, in a last line, and waits at most
    /// `bound` for the lines queued so far to be written. Returns whether they were.
    pub fn finish(&self, bound: Duration) -> bool {
        match self {
            Self::Stdout => stdout_writer().is_none_or(|writer| writer.finish(bound)),
            Self::Off | Self::Capture(_) => true,
            Self::Writer(writer) => writer.finish(bound),
        }
    }
}

/// The process-wide writer to stdout, started on first use (`None` if no thread could be
/// started, in which case lines are dropped).
fn stdout_writer() -> Option<&'static LineWriter> {
    static STDOUT: OnceLock<Option<LineWriter>> = OnceLock::new();
    STDOUT
        .get_or_init(|| LineWriter::spawn(std::io::stdout()).ok())
        .as_ref()
}

/// A bounded queue of lines and the one thread that writes them out.
///
/// [`LineWriter::write`] never blocks: when [`QUEUE_LINES`] lines are already waiting, the new
/// one is dropped and counted ([`LineWriter::dropped`]). The thread writes through a buffer and
/// flushes whenever the queue runs empty. If the writer blocks for good (a pipe nobody reads),
/// only that thread waits; it ends when the writer does and every clone is gone, and a process
/// exits without waiting for it.
#[derive(Clone)]
pub struct LineWriter {
    shared: Arc<Shared>,
}

struct Shared {
    queue: SyncSender<Message>,
    dropped: AtomicU64,
}

enum Message {
    Line(String),
    /// Flush, then say so.
    Flush(SyncSender<()>),
}

impl LineWriter {
    /// Starts the writer thread over `out`.
    ///
    /// # Errors
    ///
    /// Fails if the thread cannot be started.
    pub fn spawn(out: impl Write + Send + 'static) -> std::io::Result<Self> {
        let (queue, lines) = mpsc::sync_channel(QUEUE_LINES);
        std::thread::Builder::new()
            .name("request-log".into())
            .spawn(move || pump(&lines, out))?;
        Ok(Self {
            shared: Arc::new(Shared {
                queue,
                dropped: AtomicU64::new(0),
            }),
        })
    }

    /// Queues one line; `false` if it was dropped.
    pub fn write(&self, line: &str) -> bool {
        let sent = self
            .shared
            .queue
            .try_send(Message::Line(line.to_owned()))
            .is_ok();
        if !sent {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// Lines dropped so far.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// Queues a last line saying how many lines were dropped (if any were), then waits at most
    /// `bound` for everything queued to be written and flushed. Returns whether it was.
    pub fn finish(&self, bound: Duration) -> bool {
        let deadline = Instant::now() + bound;
        let dropped = self.dropped();
        if dropped > 0 {
            let report = format!("sum-service: {dropped} log lines dropped (the output was slow)");
            if !self.send_until(Message::Line(report), deadline) {
                return false;
            }
        }
        let (done, flushed) = mpsc::sync_channel(1);
        self.send_until(Message::Flush(done), deadline)
            && flushed
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .is_ok()
    }

    /// Queues a message, retrying while the queue is full, until `deadline`.
    fn send_until(&self, message: Message, deadline: Instant) -> bool {
        let mut message = message;
        loop {
            match self.shared.queue.try_send(message) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(back)) => {
                    if Instant::now() >= deadline {
                        return false;
                    }
                    message = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
}

impl std::fmt::Debug for LineWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineWriter")
            .field("dropped", &self.dropped())
            .finish_non_exhaustive()
    }
}

/// The writer thread: writes each line, flushing whenever the queue runs empty.
fn pump(lines: &Receiver<Message>, out: impl Write) {
    let mut out = BufWriter::new(out);
    while let Ok(first) = lines.recv() {
        let mut next = Some(first);
        while let Some(message) = next {
            match message {
                Message::Line(line) => {
                    let _ = writeln!(out, "{line}");
                }
                Message::Flush(done) => {
                    let _ = out.flush();
                    let _ = done.try_send(());
                }
            }
            next = lines.try_recv().ok();
        }
        let _ = out.flush();
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
/// response, to the [`RequestLog`] in the app data (stdout if there is none), and counts a line
/// dropped in the [`Metrics`] in the app data, if there are any.
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
    let metrics = request.app_data::<Metrics>().cloned();
    let response = next.call(request).await;
    let status = match &response {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    if !log.write(&format_line(&method, &path, status, start.elapsed()))
        && let Some(metrics) = metrics
    {
        metrics.log_line_dropped();
    }
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

    /// An output the test can read back.
    #[derive(Clone, Default)]
    struct Out(Arc<Mutex<Vec<u8>>>);

    impl Write for Out {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_line_writer_writes_every_line_and_finishes_within_the_bound() {
        let out = Out::default();
        let log = RequestLog::writer(out.clone()).unwrap();
        assert!(log.write("GET / 200 OK 0.10ms"));
        assert!(log.clone().write("GET /health 200 OK 0.10ms"));
        assert!(log.finish(Duration::from_secs(10)));
        assert_eq!(log.dropped(), 0);
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "GET / 200 OK 0.10ms\nGET /health 200 OK 0.10ms\n");
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
