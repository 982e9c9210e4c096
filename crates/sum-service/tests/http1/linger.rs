//! The lingering close after a 413: the answer reaches a client that sends its whole body before
//! reading, and an endless body is read no further than the bounds, in fixed memory.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use sum_service::Settings;
use sum_service::linger::{LINGER_BYTES, Linger};
use tokio::io::AsyncWriteExt;

use crate::response::ResponseReader;
use crate::support::TestApp;

/// Every read and write of a test is bounded by this.
const BOUND: Duration = Duration::from_secs(20);

/// The size of a body a client might try to upload by mistake.
const FOUR_MIB: usize = 4 * 1024 * 1024;

/// The 413's text, as a form and as JSON.
const TOO_LARGE: &str = "the request body is too large";
const TOO_LARGE_JSON: &str = r#"{"error":"the request body is too large"}"#;

/// The head of a `POST /sum` with `content_type` and the framing header `framing`.
fn post_head(content_type: &str, framing: &str) -> String {
    format!(
        "POST /sum HTTP/1.1\r\nHost: localhost\r\nContent-Type: {content_type}\r\n{framing}\r\n\r\n"
    )
}

/// `body` in chunks of 64 KiB, with the last chunk.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut framed = Vec::with_capacity(body.len() + body.len() / 1024 + 16);
    for chunk in body.chunks(64 * 1024) {
        framed.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        framed.extend_from_slice(chunk);
        framed.extend_from_slice(b"\r\n");
    }
    framed.extend_from_slice(b"0\r\n\r\n");
    framed
}

#[actix_web::test]
async fn a_client_that_sends_its_whole_body_before_reading_gets_the_413() {
    let app = TestApp::spawn();
    let body = vec![b'1'; FOUR_MIB];
    let cases = [
        (
            "a form of 4 MiB, Content-Length",
            post_head(
                "application/x-www-form-urlencoded",
                &format!("Content-Length: {FOUR_MIB}"),
            ),
            body.clone(),
            TOO_LARGE,
        ),
        (
            "JSON of 4 MiB, chunked",
            post_head("application/json", "Transfer-Encoding: chunked"),
            chunked(&body),
            TOO_LARGE_JSON,
        ),
    ];
    for (what, head, body, text) in cases {
        let stream = tokio::net::TcpStream::connect(app.socket).await.unwrap();
        let (reader, mut writer) = stream.into_split();
        // All of it, as Python's urllib does, before a byte of the answer is read.
        let sending = async {
            writer.write_all(head.as_bytes()).await?;
            writer.write_all(&body).await
        };
        actix_web::rt::time::timeout(BOUND, sending)
            .await
            .expect("the server should have read the whole body before the bound")
            .unwrap_or_else(|error| panic!("{what}: the server cut the body off: {error}"));

        let mut responses = ResponseReader::new(reader, BOUND);
        let response = responses.response("POST").await;
        assert_eq!((response.status, response.text().as_str()), (413, text));
        assert_eq!(response.header("connection"), Some("close"), "{what}");
        assert!(
            responses.closed_cleanly().await,
            "{what}: a reset after the 413"
        );
    }
    app.stop().await;
}

#[actix_web::test]
async fn lingering_ends_at_its_time_bound_for_a_body_that_never_ends() {
    let app = TestApp::spawn_with(Settings {
        linger: Linger {
            time: Duration::from_millis(300),
            ..Linger::default()
        },
        ..Settings::default()
    });
    let stream = tokio::net::TcpStream::connect(app.socket).await.unwrap();
    let (reader, mut writer) = stream.into_split();
    // A megabyte declared, a byte every 50 ms sent: 20 s of trickling at most.
    let head = post_head(
        "application/x-www-form-urlencoded",
        "Content-Length: 1048576",
    );
    let trickling = actix_web::rt::spawn(async move {
        writer.write_all(head.as_bytes()).await.unwrap();
        for _ in 0..400 {
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
            if writer.write_all(b"1").await.is_err() {
                break;
            }
        }
        writer
    });
    let mut responses = ResponseReader::new(reader, BOUND);
    let response = responses.response("POST").await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (413, TOO_LARGE)
    );
    // Closed with the body unread, a reset or not: what matters is that it ends.
    responses.closed_cleanly().await;
    trickling.abort();
    app.stop().await;
}

#[actix_web::test]
async fn a_declared_body_past_the_linger_limit_is_not_read_at_all() {
    let app = TestApp::spawn();
    let stream = tokio::net::TcpStream::connect(app.socket).await.unwrap();
    let (reader, mut writer) = stream.into_split();
    let head = post_head(
        "application/x-www-form-urlencoded",
        &format!("Content-Length: {}", 1u64 << 30),
    );
    // Sends the gigabyte it declares, until the server stops reading.
    let sending = actix_web::rt::spawn(async move {
        writer.write_all(head.as_bytes()).await.unwrap();
        let chunk = vec![b'1'; 64 * 1024];
        let mut sent = 0;
        while sent < 1 << 30 {
            if writer.write_all(&chunk).await.is_err() {
                return (sent, true, writer);
            }
            sent += chunk.len();
        }
        (sent, false, writer)
    });
    let mut responses = ResponseReader::new(reader, BOUND);
    let response = responses.response("POST").await;
    assert_eq!(
        (response.status, response.text().as_str()),
        (413, TOO_LARGE)
    );
    responses.closed_cleanly().await;
    let (sent, refused, _writer) = actix_web::rt::time::timeout(BOUND, sending)
        .await
        .expect("the sender should have been stopped before the bound")
        .unwrap();
    // Only the kernel's buffers on both ends took anything, a few MiB.
    assert!(refused, "the server read all {sent} bytes sent");
    assert!(sent < LINGER_BYTES, "{sent} bytes sent before the close");
    app.stop().await;
}

/// The `sum-service` binary, serving on a free port of 127.0.0.1 until dropped.
struct Binary {
    child: Child,
    address: SocketAddr,
}

impl Binary {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sum-service"))
            .args(["--host", "127.0.0.1", "--port", "0"])
            .env_remove("PORT")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sum-service");
        let mut stdout = BufReader::new(child.stdout.take().expect("its stdout"));
        let mut first = String::new();
        stdout.read_line(&mut first).expect("its first line");
        // `sum-service listening on http://127.0.0.1:PORT (Ctrl-C to stop)`
        let address = first
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|address| address.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        // The log lines that follow are read and dropped, so that they never fill the pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        Self { child, address }
    }

    /// The process's peak resident memory so far, in KiB (Linux's `VmHWM`), where known.
    fn peak_memory_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection to `address` whose every read and write fails after [`BOUND`].
fn connect(address: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(BOUND)).unwrap();
    stream.set_write_timeout(Some(BOUND)).unwrap();
    stream
}

/// Reads until the server closes the connection (or resets it), keeping at most 64 KiB.
fn read_to_close(stream: &mut TcpStream) -> String {
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) if kept.len() < 64 * 1024 => kept.extend_from_slice(&buffer[..n]),
            Ok(_) => panic!("the server kept talking"),
            Err(error) => {
                let timed_out = matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
                assert!(
                    !timed_out,
                    "the connection should have been closed before the bound"
                );
                break;
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// `POST /sum` with a chunked body of `chunks` chunks of 16 KiB, or endless if `None`; returns the
/// answer, the body bytes sent, and whether the server refused the rest.
fn post_chunks(address: SocketAddr, chunks: Option<usize>) -> (String, usize, bool) {
    const CHUNK: usize = 16 * 1024;
    // What the client is willing to send in all: far more than the server should read.
    const CAP: usize = 256 * 1024 * 1024;
    let mut reader = connect(address);
    let mut writer = reader.try_clone().unwrap();
    let sending = std::thread::spawn(move || {
        let head = post_head(
            "application/x-www-form-urlencoded",
            "Transfer-Encoding: chunked",
        );
        writer.write_all(head.as_bytes()).unwrap();
        let mut chunk = format!("{CHUNK:x}\r\n").into_bytes();
        chunk.extend(std::iter::repeat_n(b'1', CHUNK));
        chunk.extend_from_slice(b"\r\n");
        let mut sent = 0;
        for _ in 0..chunks.unwrap_or(CAP / CHUNK) {
            if let Err(error) = writer.write_all(&chunk) {
                let timed_out = matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                );
                assert!(!timed_out, "the server neither read nor closed");
                return (sent, true);
            }
            sent += chunk.len();
        }
        if chunks.is_some() {
            let _ = writer.write_all(b"0\r\n\r\n");
        }
        (sent, false)
    });
    let answer = read_to_close(&mut reader);
    let (sent, refused) = sending.join().expect("the sender");
    (answer, sent, refused)
}

#[test]
fn an_endless_chunked_body_gets_413_and_is_cut_off_in_fixed_memory() {
    let server = Binary::start();
    // First uses out of the way: a health check, and a 413 that lingers over 256 KiB.
    let mut health = connect(server.address);
    health
        .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    assert!(read_to_close(&mut health).starts_with("HTTP/1.1 200"));
    let (answer, _, refused) = post_chunks(server.address, Some(16));
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(!refused, "a 256 KiB body should have been read to its end");
    let before = server.peak_memory_kib();

    let (answer, sent, refused) = post_chunks(server.address, None);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer:?}");
    assert!(answer.ends_with(TOO_LARGE), "{answer:?}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer:?}"
    );
    assert!(refused, "the server read all {sent} bytes sent");
    // The server reads at most LINGER_BYTES past the limit; the kernel's buffers on both ends
    // take a few MiB more before a write fails.
    assert!(
        sent < LINGER_BYTES + 16 * 1024 * 1024,
        "{sent} bytes sent before the close"
    );
    // What was read was thrown away as it came: the peak did not grow by anything like it.
    if let (Some(before), Some(after)) = (before, server.peak_memory_kib()) {
        assert!(
            after < before + 4 * 1024,
            "peak memory {before} KiB before, {after} KiB after"
        );
    }
}
