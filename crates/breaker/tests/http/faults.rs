//! Faults on the wire: [`BreakerClient`] over `reqwest` against loopback servers that misbehave
//! on purpose, one row per fault.
//!
//! Each row checks what `send` returns, what the breaker recorded, and that the call came back
//! well within a generous bound. The servers are raw TCP on 127.0.0.1, written here byte by
//! byte; each accepts a bounded number of connections and is stopped at the end of its row.
//! The breaker runs on a [`ManualClock`]; the only real waiting is one request timeout.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use breaker::http::{BreakerClient, RequestError};
use breaker::{CircuitBreaker, Error, ManualClock, State};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

use crate::support::secs;

/// The request timeout of every client.
const TIMEOUT: Duration = Duration::from_millis(300);

/// How long any one call may take before the test fails: far above [`TIMEOUT`].
const BOUND: Duration = Duration::from_secs(5);

/// A response head announcing a body of 4 GiB, which is never sent.
const HUGE: u64 = 4 << 30;

/// What a server does with each connection it accepts.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Nothing listens: the port was bound, then released.
    Refused,
    /// Reads the request and never answers.
    Silent,
    /// Sends the head and part of the body, then stalls.
    StalledBody,
    /// Reads the request, then resets the connection (`SO_LINGER` 0).
    ResetBeforeHeaders,
    /// Reads the request, then closes the connection cleanly.
    ClosedBeforeHeaders,
    /// Sends the head and part of the body, then, once released, resets the connection.
    ResetMidBody,
    /// 503 with `Retry-After: 30`.
    Unavailable,
    /// 429 with `Retry-After: 30`.
    TooManyRequests,
    /// A name under `.invalid`, which never resolves.
    UnknownHost,
    /// 302 to itself, on every connection.
    RedirectLoop,
    /// A head announcing 4 GiB of body, then nothing.
    HugeBody,
}

impl Fault {
    /// How many connections the server accepts before it stops listening.
    fn connections(self) -> usize {
        match self {
            // reqwest follows 10 redirects by default: 11 requests, one per connection.
            Fault::RedirectLoop => 16,
            _ => 1,
        }
    }

    /// Plays the fault on one accepted connection.
    async fn play(self, mut stream: TcpStream, release: Arc<Notify>) {
        read_head(&mut stream).await;
        match self {
            Fault::Refused | Fault::UnknownHost => unreachable!("no server for {self:?}"),
            Fault::Silent => hold(stream).await,
            Fault::StalledBody => {
                write(
                    &mut stream,
                    "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\nhalf",
                )
                .await;
                hold(stream).await;
            }
            Fault::ResetBeforeHeaders => stream.set_zero_linger().expect("SO_LINGER"),
            Fault::ClosedBeforeHeaders => drop(stream),
            Fault::ResetMidBody => {
                write(
                    &mut stream,
                    "HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npart",
                )
                .await;
                release.notified().await;
                stream.set_zero_linger().expect("SO_LINGER");
            }
            Fault::Unavailable => {
                let head = "HTTP/1.1 503 Service Unavailable\r\nretry-after: 30\r\n\
                            content-length: 0\r\n\r\n";
                write(&mut stream, head).await;
                hold(stream).await;
            }
            Fault::TooManyRequests => {
                let head = "HTTP/1.1 429 Too Many Requests\r\nretry-after: 30\r\n\
                            content-length: 0\r\n\r\n";
                write(&mut stream, head).await;
                hold(stream).await;
            }
            Fault::RedirectLoop => {
                let head = "HTTP/1.1 302 Found\r\nlocation: /\r\ncontent-length: 0\r\n\
                            connection: close\r\n\r\n";
                write(&mut stream, head).await;
            }
            Fault::HugeBody => {
                let head = format!("HTTP/1.1 200 OK\r\ncontent-length: {HUGE}\r\n\r\n");
                write(&mut stream, &head).await;
                hold(stream).await;
            }
        }
    }
}

/// Reads up to the end of a request head (the requests here have no body), or until the peer
/// stops sending.
async fn read_head(stream: &mut TcpStream) {
    let mut seen = Vec::new();
    let mut chunk = [0u8; 1024];
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 16 * 1024 {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => seen.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn write(stream: &mut TcpStream, bytes: &str) {
    stream.write_all(bytes.as_bytes()).await.expect("write");
}

/// Keeps the connection open, saying nothing, until the server is stopped.
async fn hold(stream: TcpStream) {
    let _open = stream;
    std::future::pending::<()>().await;
}

/// A fault's address, and the server behind it if it has one.
struct Server {
    url: String,
    /// Lets a server that waits for it go on (see [`Fault::ResetMidBody`]).
    release: Arc<Notify>,
    task: Option<JoinHandle<()>>,
}

impl Server {
    async fn start(fault: Fault) -> Self {
        let release = Arc::new(Notify::new());
        match fault {
            Fault::Refused => {
                let port = {
                    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
                    listener.local_addr().unwrap().port()
                }; // dropped: nothing listens there now
                return Self {
                    url: format!("http://127.0.0.1:{port}/"),
                    release,
                    task: None,
                };
            }
            Fault::UnknownHost => {
                return Self {
                    url: "http://nonexistent.invalid/".into(),
                    release,
                    task: None,
                };
            }
            _ => {}
        }
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let go_on = release.clone();
        let task = tokio::spawn(async move {
            let mut connections = JoinSet::new();
            for _ in 0..fault.connections() {
                let Ok((stream, _)) = listener.accept().await else {
                    break;
                };
                connections.spawn(fault.play(stream, go_on.clone()));
            }
            drop(listener);
            while let Some(done) = connections.join_next().await {
                done.expect("a connection's task");
            }
        });
        Self {
            url,
            release,
            task: Some(task),
        }
    }

    /// Stops the server and every connection it holds; fails if one of them panicked.
    async fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            if let Err(e) = task.await {
                assert!(e.is_cancelled(), "the server failed: {e}");
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// What `send` must return.
#[derive(Debug, Clone, Copy)]
enum Sent {
    /// A response with this status.
    Status(u16),
    /// `RequestError::Timeout` with the client's timeout.
    Timeout,
    /// `RequestError::Client`, with an error of this kind.
    Transport(Kind),
}

/// The kind of a `reqwest::Error`.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Connect,
    Request,
    Redirect,
}

impl Kind {
    fn of(self, e: &reqwest::Error) -> bool {
        match self {
            Kind::Connect => e.is_connect(),
            Kind::Request => e.is_request(),
            Kind::Redirect => e.is_redirect(),
        }
    }
}

/// What is checked once `send` has returned and its outcome has been counted.
#[derive(Debug, Clone, Copy)]
enum Then {
    /// The circuit is still closed.
    Closed,
    /// The circuit is still closed; the response announced this body length, which is not read.
    BodyUnread(u64),
    /// Once the server goes on, reading the body fails, and the breaker does not hear of it.
    BodyFails,
    /// The next call is rejected, with this `retry_after`.
    Rejected(Duration),
}

struct Row {
    fault: Fault,
    /// Whether the client honours `Retry-After` (capped at 60 s).
    honour_retry_after: bool,
    sent: Sent,
    /// `errors_in_window()` right after the call: 1 for a failure, 0 for a success or an
    /// ignored outcome.
    errors: u32,
    then: Then,
}

const fn row(fault: Fault, sent: Sent, errors: u32, then: Then) -> Row {
    Row {
        fault,
        honour_retry_after: false,
        sent,
        errors,
        then,
    }
}

const ROWS: &[Row] = &[
    row(
        Fault::Refused,
        Sent::Transport(Kind::Connect),
        1,
        Then::Closed,
    ),
    row(Fault::Silent, Sent::Timeout, 1, Then::Closed),
    // The head is what is classified and recorded; the body is the caller's business.
    row(
        Fault::StalledBody,
        Sent::Status(200),
        0,
        Then::BodyUnread(1000),
    ),
    row(
        Fault::ResetBeforeHeaders,
        Sent::Transport(Kind::Request),
        1,
        Then::Closed,
    ),
    row(
        Fault::ClosedBeforeHeaders,
        Sent::Transport(Kind::Request),
        1,
        Then::Closed,
    ),
    row(Fault::ResetMidBody, Sent::Status(200), 0, Then::BodyFails),
    Row {
        honour_retry_after: true,
        ..row(
            Fault::Unavailable,
            Sent::Status(503),
            1,
            Then::Rejected(Duration::from_secs(30)),
        )
    },
    row(Fault::TooManyRequests, Sent::Status(429), 0, Then::Closed),
    row(
        Fault::UnknownHost,
        Sent::Transport(Kind::Connect),
        1,
        Then::Closed,
    ),
    row(
        Fault::RedirectLoop,
        Sent::Transport(Kind::Redirect),
        1,
        Then::Closed,
    ),
    row(
        Fault::HugeBody,
        Sent::Status(200),
        0,
        Then::BodyUnread(HUGE),
    ),
];

/// `future`'s output, or a failure naming `fault` if it takes longer than [`BOUND`].
async fn bounded<T>(fault: Fault, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(BOUND, future)
        .await
        .unwrap_or_else(|_| panic!("{fault:?}: no return within {BOUND:?}"))
}

fn get(url: &str) -> reqwest::Request {
    reqwest::Request::new(reqwest::Method::GET, url.parse().unwrap())
}

#[tokio::test]
async fn each_fault_is_returned_and_recorded_as_documented() {
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    for row in ROWS {
        let fault = row.fault;
        let server = Server::start(fault).await;
        // T = 3: one failure alone never opens the circuit.
        let cb = CircuitBreaker::builder()
            .window(secs(10))
            .error_threshold(3)
            .clock(ManualClock::new())
            .build()
            .expect("valid configuration");
        let mut builder = BreakerClient::builder(http.clone(), cb).timeout(TIMEOUT);
        if row.honour_retry_after {
            builder = builder.honour_retry_after(secs(60));
        }
        let client = builder.build().unwrap();

        let response = match (
            row.sent,
            bounded(fault, client.send(get(&server.url))).await,
        ) {
            (Sent::Status(code), Ok(response)) => {
                assert_eq!(response.status().as_u16(), code, "{fault:?}");
                Some(response)
            }
            (Sent::Timeout, Err(Error::Inner(RequestError::Timeout(t)))) => {
                assert_eq!(t, TIMEOUT, "{fault:?}");
                None
            }
            (Sent::Transport(kind), Err(Error::Inner(RequestError::Client(e)))) => {
                assert!(
                    kind.of(&e),
                    "{fault:?}: expected a {kind:?} error, got {e:?}"
                );
                None
            }
            (sent, other) => panic!("{fault:?}: expected {sent:?}, got {other:?}"),
        };
        assert_eq!(client.breaker().errors_in_window(), row.errors, "{fault:?}");

        match row.then {
            Then::Closed => assert_eq!(client.breaker().state(), State::Closed, "{fault:?}"),
            Then::BodyUnread(length) => {
                let response = response.expect("a response");
                assert_eq!(response.content_length(), Some(length), "{fault:?}");
                drop(response);
                assert_eq!(client.breaker().state(), State::Closed, "{fault:?}");
            }
            Then::BodyFails => {
                let response = response.expect("a response");
                server.release.notify_one();
                let body = bounded(fault, response.bytes()).await;
                assert!(body.is_err(), "{fault:?}: read a body: {body:?}");
                assert_eq!(client.breaker().errors_in_window(), 0, "{fault:?}");
                assert_eq!(client.breaker().state(), State::Closed, "{fault:?}");
            }
            Then::Rejected(wait) => match bounded(fault, client.send(get(&server.url))).await {
                Err(Error::Open(open)) => assert_eq!(open.retry_after(), wait, "{fault:?}"),
                other => panic!("{fault:?}: expected a rejection, got {other:?}"),
            },
        }
        server.stop().await;
    }
}
