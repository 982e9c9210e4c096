//! Services that misbehave, on 127.0.0.1:0: answers that never come, bodies that stall, break
//! off or never end, and text meant for the terminal rather than the reader.

use std::time::Duration;

use breaker::{ManualClock, State};
use driver::render::{Line, Summary};
use driver::run::{BODY_CAP, Config, Driver, Pace};
use driver::scenario::Step;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{self, BOUND, run_binary};

/// The most connections a fault server accepts: more than any test here makes.
const CONNECTIONS: usize = 64;

/// What a fault server does with each connection, once it has read the request's head.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Says nothing, until the client goes away.
    Silent,
    /// A 200 that promises 100 bytes, sends 9, and stalls until the client goes away.
    StalledBody,
    /// A 200 that promises 100 bytes, sends 9, and resets the connection.
    ResetBody,
    /// A 200 whose chunked body runs on far past the cap (a bounded number of chunks, or until
    /// the client goes away).
    EndlessBody,
    /// A 200 that announces a 4 GB body.
    HugeLength,
    /// A 200 whose body is exactly as long as the cap.
    FullBody,
    /// A 200 whose text, read raw, would clear the screen and print a status line.
    Escapes,
}

/// A server on a free port of 127.0.0.1 that answers every connection with `fault`.
async fn serve(fault: Fault) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("local address").port();
    tokio::spawn(async move {
        for _ in 0..CONNECTIONS {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(answer(socket, fault));
        }
    });
    port
}

async fn answer(mut socket: TcpStream, fault: Fault) {
    if !read_head(&mut socket).await {
        return;
    }
    let promised = b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nThe value";
    match fault {
        Fault::Silent => until_closed(&mut socket).await,
        Fault::StalledBody => {
            let _ = socket.write_all(promised).await;
            until_closed(&mut socket).await;
        }
        Fault::ResetBody => {
            let _ = socket.write_all(promised).await;
            let _ = socket.flush().await;
            // A zero linger makes the close a reset.
            #[allow(deprecated)]
            let _ = socket.set_linger(Some(Duration::ZERO));
            drop(socket);
        }
        Fault::EndlessBody => {
            let head = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
            if socket.write_all(head).await.is_err() {
                return;
            }
            let chunk = [b'7'; 16 * 1024];
            let size = format!("{:x}\r\n", chunk.len());
            // 64 MiB at most: a thousand times the cap.
            for _ in 0..4096 {
                let sent = async {
                    socket.write_all(size.as_bytes()).await?;
                    socket.write_all(&chunk).await?;
                    socket.write_all(b"\r\n").await
                };
                if sent.await.is_err() {
                    return;
                }
            }
            let _ = socket.write_all(b"0\r\n\r\n").await;
        }
        Fault::HugeLength => {
            let head = b"HTTP/1.1 200 OK\r\ncontent-length: 4000000000\r\n\r\n";
            if socket.write_all(head).await.is_ok() {
                let _ = socket.write_all(&[b'7'; 64 * 1024]).await;
                until_closed(&mut socket).await;
            }
        }
        Fault::FullBody => {
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {BODY_CAP}\r\nconnection: close\r\n\r\n"
            );
            let sent = async {
                socket.write_all(head.as_bytes()).await?;
                socket.write_all(&[b'7'; BODY_CAP]).await
            };
            if sent.await.is_ok() {
                until_closed(&mut socket).await;
            }
        }
        Fault::Escapes => {
            let body = "\u{1b}[2J\u{1b}[H\r\nCIRCUIT CLOSED: Requests will be forwarded.\u{7}";
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
            until_closed(&mut socket).await;
        }
    }
}

/// Reads up to the end of the request's head (the tests send only `GET /`): false if the
/// client went away first or the head runs past 64 KiB.
async fn read_head(socket: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0; 4096];
    while head.len() < 64 * 1024 {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.windows(4).any(|w| w == b"\r\n\r\n") {
            return true;
        }
    }
    false
}

/// Waits until the client closes the connection (or at most 64 reads).
async fn until_closed(socket: &mut TcpStream) {
    let mut buf = [0; 4096];
    for _ in 0..64 {
        if matches!(socket.read(&mut buf).await, Ok(0) | Err(_)) {
            return;
        }
    }
}

/// T = 0, so that the first failure opens the circuit; a short request timeout.
fn config(port: u16) -> Config {
    Config {
        threshold: Some(0),
        timeout: Duration::from_millis(500),
        ..support::config(port, None)
    }
}

/// Two `GET /` to the fault server, on a manual clock.
async fn two_requests(fault: Fault) -> (Vec<Line>, Summary, State) {
    let port = serve(fault).await;
    let driver = Driver::new(&config(port), Pace::Manual(ManualClock::new())).unwrap();
    let mut lines = Vec::new();
    let summary = tokio::time::timeout(
        BOUND,
        driver.play(&[Step::Health, Step::Health], &mut |l| lines.push(l)),
    )
    .await
    .expect("the run ends");
    (lines, summary, driver.breaker().state())
}

/// The first request failed and opened the circuit; the second was rejected.
fn assert_failed_and_tripped(fault: Fault, (lines, summary, state): (Vec<Line>, Summary, State)) {
    assert_eq!(&lines[..2], [Line::Closed, Line::Problem], "{fault:?}");
    assert!(matches!(lines[2], Line::Open(_)), "{fault:?}: {lines:?}");
    assert_eq!(lines[3..], [Line::Unavailable], "{fault:?}");
    assert_eq!(
        (
            summary.forwarded,
            summary.succeeded,
            summary.failed,
            summary.rejected
        ),
        (1, 0, 1, 1),
        "{fault:?}"
    );
    // The head came: the service was reached, and it failed.
    assert_eq!(summary.answered, 1, "{fault:?}");
    assert_eq!(state, State::Open, "{fault:?}");
}

#[tokio::test]
async fn a_body_that_stalls_is_a_failure() {
    let fault = Fault::StalledBody;
    assert_failed_and_tripped(fault, two_requests(fault).await);
}

#[tokio::test]
async fn a_body_cut_by_a_reset_is_a_failure() {
    let fault = Fault::ResetBody;
    assert_failed_and_tripped(fault, two_requests(fault).await);
}

#[tokio::test]
async fn a_body_past_the_cap_is_a_failure_and_is_not_buffered() {
    for fault in [Fault::EndlessBody, Fault::HugeLength] {
        assert_failed_and_tripped(fault, two_requests(fault).await);
    }
}

#[tokio::test]
async fn a_body_as_long_as_the_cap_is_read_whole() {
    let (lines, summary, state) = two_requests(Fault::FullBody).await;
    let full = "7".repeat(BODY_CAP);
    assert_eq!(
        lines,
        [
            Line::Closed,
            Line::Response(full.clone()),
            Line::Closed,
            Line::Response(full)
        ]
    );
    assert_eq!((summary.succeeded, summary.failed), (2, 0));
    assert_eq!(state, State::Closed);
}

#[tokio::test]
async fn the_services_text_is_printed_inert() {
    let (lines, summary, _) = two_requests(Fault::Escapes).await;
    assert_eq!(summary.succeeded, 2);
    let Line::Response(text) = &lines[1] else {
        panic!("{lines:?}");
    };
    // The line keeps the text as it came; rendering makes it inert, colour or not.
    for color in [false, true] {
        let shown = driver::render::render(&lines[1], color);
        let body = shown
            .trim_start_matches("\u{1b}[37m")
            .trim_end_matches("\u{1b}[0m");
        assert!(!body.chars().any(char::is_control), "{shown:?}");
        assert!(
            body.starts_with("\\e[2J\\e[H\\r\\nCIRCUIT CLOSED"),
            "{shown:?}"
        );
    }
    assert!(text.starts_with('\u{1b}'));
}

#[tokio::test]
async fn by_default_a_service_that_never_answers_opens_the_circuit() {
    let port = serve(Fault::Silent).await.to_string();
    // No --timeout: the default fits T + 1 = 4 timeouts in W = 1 s.
    let out = run_binary(&[&port, "--window", "1"]).await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("CIRCUIT OPEN: Please wait"), "{stdout}");
    assert!(
        stdout.contains("closed -> open  (failure_count)"),
        "{stdout}"
    );
    // No answer came: nothing reached the service.
    assert_eq!(out.status.code(), Some(1), "{stdout}");
}

#[tokio::test]
async fn an_unknown_host_exits_1() {
    let out = run_binary(&["8080", "--host", "no-such-host.invalid", "--window", "0.2"]).await;
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains("No request reached the service at http://no-such-host.invalid:8080"),
        "{stdout}"
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}");
}
