//! Hostile clients: endless and trickled bodies, too many connections, a stuck log output.

use std::time::Duration;

use actix_web::rt::time::timeout;
use sum_service::{RequestLog, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::TestApp;

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
