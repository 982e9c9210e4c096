//! A strict reader of HTTP/1.1 responses off a raw TCP stream, for tests that must see the bytes
//! exactly as the server framed them.
//!
//! Each response is read as RFC 9112 frames it: the status line, header lines up to the empty line,
//! then a body of exactly `Content-Length` bytes, or chunks up to the last chunk and its trailers,
//! or (with neither) everything up to the end of the stream. A response to `HEAD`, and a 1xx, 204
//! or 304, has no body whatever its headers say. Anything malformed fails the test, and so does a
//! read that takes longer than the reader's bound.

use std::time::Duration;

use actix_web::rt::time::timeout;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The most a response head may take before the reader gives up on it.
const MAX_HEAD: usize = 64 * 1024;

/// One response, as read off the wire.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header fields in the order received, names in lower case.
    pub headers: Vec<(String, String)>,
    /// The body, after any chunked framing is taken off.
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the one field called `name` (lower case); fails the test if there are
    /// several.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(field, _)| field == name)
            .map(|(_, value)| value.as_str());
        let value = values.next();
        assert!(values.next().is_none(), "{name} appears twice: {self:?}");
        value
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads responses from `stream`, each read bounded by `bound`.
pub struct ResponseReader<S> {
    stream: S,
    buffer: Vec<u8>,
    bound: Duration,
}

impl<S: AsyncRead + Unpin> ResponseReader<S> {
    /// A reader over `stream` whose every read fails the test after `bound`.
    pub fn new(stream: S, bound: Duration) -> Self {
        Self {
            stream,
            buffer: Vec::new(),
            bound,
        }
    }

    /// Reads more bytes into the buffer, failing the test after the bound: the count read, 0 at
    /// the end of the stream, or the error (a reset).
    async fn read_more(&mut self, waiting_for: &str) -> std::io::Result<usize> {
        let mut chunk = [0u8; 8192];
        let read = timeout(self.bound, self.stream.read(&mut chunk))
            .await
            .unwrap_or_else(|_| panic!("{waiting_for} before the bound"))?;
        self.buffer.extend_from_slice(&chunk[..read]);
        Ok(read)
    }

    /// Reads more bytes into the buffer; `false` at the end of the stream (or on a reset).
    async fn fill(&mut self) -> bool {
        let waiting_for = "the server should have sent more";
        self.read_more(waiting_for).await.is_ok_and(|n| n > 0)
    }

    /// Waits for the end of the stream, which must come with nothing more to read: `true` for a
    /// clean close (the server's FIN), `false` for a reset.
    pub async fn closed_cleanly(&mut self) -> bool {
        assert!(
            self.buffer.is_empty(),
            "bytes after the last response: {:?}",
            String::from_utf8_lossy(&self.buffer)
        );
        let waiting_for = "the connection should have been closed";
        match self.read_more(waiting_for).await {
            Ok(0) => true,
            Ok(_) => panic!(
                "bytes after the last response: {:?}",
                String::from_utf8_lossy(&self.buffer)
            ),
            Err(_) => false,
        }
    }

    /// Takes one line ending in CRLF off the buffer, without the CRLF.
    async fn line(&mut self) -> String {
        loop {
            if let Some(end) = self.buffer.windows(2).position(|pair| pair == b"\r\n") {
                let line: Vec<u8> = self.buffer.drain(..end + 2).take(end).collect();
                return String::from_utf8(line).expect("a line of ASCII");
            }
            assert!(self.buffer.len() < MAX_HEAD, "a line longer than 64 KiB");
            assert!(
                self.fill().await,
                "the stream ended in a line: {:?}",
                String::from_utf8_lossy(&self.buffer)
            );
        }
    }

    /// Takes exactly `n` bytes off the buffer.
    async fn exactly(&mut self, n: usize) -> Vec<u8> {
        while self.buffer.len() < n {
            assert!(
                self.fill().await,
                "the stream ended {} bytes short of {n}",
                n - self.buffer.len()
            );
        }
        self.buffer.drain(..n).collect()
    }

    /// Reads the next response, which answers a request of `method`.
    pub async fn response(&mut self, method: &str) -> Response {
        let status_line = self.line().await;
        let mut parts = status_line.splitn(3, ' ');
        let version = parts.next().unwrap_or_default();
        let code = parts.next().unwrap_or_default();
        assert_eq!(version, "HTTP/1.1", "status line {status_line:?}");
        assert!(
            code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()),
            "status line {status_line:?}"
        );
        let status: u16 = code.parse().expect("three digits");

        let mut headers = Vec::new();
        let mut head_size = status_line.len();
        loop {
            let line = self.line().await;
            if line.is_empty() {
                break;
            }
            head_size += line.len();
            assert!(head_size < MAX_HEAD, "a head longer than 64 KiB");
            let (name, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("a header line without a colon: {line:?}"));
            assert!(
                !name.is_empty() && !name.contains(|c: char| c.is_ascii_whitespace()),
                "a bad header name: {line:?}"
            );
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
        let mut response = Response {
            status,
            headers,
            body: Vec::new(),
        };

        let bodiless = method == "HEAD" || matches!(status, 100..=199 | 204 | 304);
        if bodiless {
            return response;
        }
        let chunked = response
            .header("transfer-encoding")
            .is_some_and(|codings| codings.to_ascii_lowercase().ends_with("chunked"));
        if chunked {
            assert!(
                response.header("content-length").is_none(),
                "both Content-Length and chunked: {response:?}"
            );
            response.body = self.chunks().await;
        } else if let Some(length) = response.header("content-length") {
            let length: usize = length
                .parse()
                .unwrap_or_else(|_| panic!("a bad Content-Length: {response:?}"));
            response.body = self.exactly(length).await;
        } else {
            response.body = self.rest().await;
        }
        response
    }

    /// A chunked body, up to and including the last chunk's trailers.
    async fn chunks(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let line = self.line().await;
            let size = line.split(';').next().unwrap_or_default().trim();
            let size = usize::from_str_radix(size, 16)
                .unwrap_or_else(|_| panic!("a bad chunk size line: {line:?}"));
            if size == 0 {
                // Trailer fields, if any, up to the empty line.
                while !self.line().await.is_empty() {}
                return body;
            }
            body.extend(self.exactly(size).await);
            assert_eq!(self.exactly(2).await, b"\r\n", "a chunk without its CRLF");
        }
    }

    /// Everything up to the end of the stream, the bytes already buffered included.
    pub async fn rest(&mut self) -> Vec<u8> {
        while self.fill().await {}
        std::mem::take(&mut self.buffer)
    }
}
