#![doc = include_str!("../README.md")]

pub mod cli;
pub mod head;
pub mod linger;
pub mod log;
pub mod metrics;
pub mod routes;
pub mod sum;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware};

pub use crate::linger::Linger;
pub use crate::metrics::Metrics;
pub use log::RequestLog;

/// The default connection limit per worker: 256, so the default two workers hold at most 512,
/// well under the common file-descriptor limit of 1024.
pub const MAX_CONNECTIONS: usize = 256;

/// How the server runs; [`run`] uses the defaults.
///
/// Set the fields you care about and take the rest from the defaults:
///
/// ```
/// use std::time::Duration;
/// use sum_service::{RequestLog, Settings};
///
/// let settings = Settings {
///     workers: 1,
///     log: RequestLog::Off,
///     shutdown_timeout: Duration::from_secs(1),
///     ..Settings::default()
/// };
/// assert!(!settings.metrics.render().contains("sum_service_requests_total{"));
/// ```
#[derive(Debug, Clone)]
pub struct Settings {
    /// Worker threads (default 2: the service is tiny and the demo machine has 2 cores).
    pub workers: usize,
    /// Where request log lines go (default stdout).
    pub log: RequestLog,
    /// How long a graceful shutdown waits for requests in flight (default 5 s).
    pub shutdown_timeout: Duration,
    /// How long `POST /sum` waits for its whole body before answering 408 and closing the
    /// connection (default [`routes::BODY_TIMEOUT`], 5 s).
    pub body_timeout: Duration,
    /// How much of a body too large for `POST /sum` is read and thrown away after the 413, and
    /// for how long, before the connection is closed (default [`Linger::default`]: 16 MiB, 5 s;
    /// see [`linger`]).
    pub linger: Linger,
    /// How long a new connection has to send its first request's headers before it gets 408
    /// and is closed (default 5 s, actix-web's own).
    pub client_request_timeout: Duration,
    /// How long an idle keep-alive connection is kept open (default 5 s, actix-web's own).
    pub keep_alive: Duration,
    /// The most connections each worker holds at once (default [`MAX_CONNECTIONS`]); past it,
    /// new connections wait in the listen backlog until one closes.
    pub max_connections: usize,
    /// The server's own metrics, served by `GET /metrics` (default: a fresh, empty set). Clones
    /// share their counts, so a caller can keep one and read it back with [`Metrics::render`].
    pub metrics: Metrics,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            workers: 2,
            log: RequestLog::Stdout,
            shutdown_timeout: Duration::from_secs(5),
            body_timeout: routes::BODY_TIMEOUT,
            linger: Linger::default(),
            client_request_timeout: Duration::from_secs(5),
            keep_alive: Duration::from_secs(5),
            max_connections: MAX_CONNECTIONS,
            metrics: Metrics::new(),
        }
    }
}

/// Serves the sum service on an already bound listener, with the default [`Settings`].
///
/// The returned [`Server`] does nothing until awaited (or spawned). It stops gracefully on SIGINT
/// and SIGTERM (actix-web's own signal handling, kept on purpose) or through
/// [`Server::handle`]. Binding is the caller's job, so tests can bind `127.0.0.1:0`.
///
/// # Errors
///
/// Fails if the listener cannot be handed to the server (for example if it is not a TCP socket
/// that can be made non-blocking).
pub fn run(listener: TcpListener) -> std::io::Result<Server> {
    run_with(listener, Settings::default())
}

/// Like [`run`], with explicit [`Settings`].
///
/// # Errors
///
/// As for [`run`].
pub fn run_with(listener: TcpListener, settings: Settings) -> std::io::Result<Server> {
    let Settings {
        workers,
        log,
        shutdown_timeout,
        body_timeout,
        linger,
        client_request_timeout,
        keep_alive,
        max_connections,
        metrics,
    } = settings;
    let server = HttpServer::new(move || {
        App::new()
            .app_data(log.clone())
            .app_data(metrics.clone())
            .app_data(routes::BodyTimeout(body_timeout))
            .app_data(linger)
            // Innermost, so that the unread body of a HEAD that brings one is still held (and
            // the connection closed) around the empty answer.
            .wrap(middleware::from_fn(head::bodiless_head))
            .wrap(middleware::from_fn(routes::close_on_unread_body))
            .wrap(middleware::from_fn(log::log_requests))
            .wrap(middleware::from_fn(crate::metrics::record_requests))
            .configure(routes::configure)
    })
    .workers(workers.max(1))
    .max_connections(max_connections.max(1))
    .client_request_timeout(client_request_timeout)
    .keep_alive(keep_alive)
    // actix's own lingering after a response that closes the connection is off: it reads (and
    // throws away) whatever the client still sends, bounded in time only, which for an endless
    // body is as much as the client can push. A 413 lingers in its own bounded way (`linger`).
    .client_disconnect_timeout(Duration::ZERO)
    .shutdown_timeout(shutdown_timeout.as_secs())
    .listen(listener)?
    .run();
    Ok(server)
}
