//! Spawning the service in process on 127.0.0.1:0, and a client for it.

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use sum_service::{RequestLog, Settings};

/// A running service and a client pointed at it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// `127.0.0.1:PORT`, for raw TCP clients.
    pub socket: SocketAddr,
    /// A client with a short timeout, so no test can hang.
    pub client: reqwest::Client,
    /// The request log lines written so far.
    pub log: Arc<Mutex<Vec<String>>>,
    handle: ServerHandle,
}

impl TestApp {
    /// Starts the service on a free port of 127.0.0.1, logging into [`TestApp::log`].
    pub fn spawn() -> Self {
        Self::spawn_with(Settings::default())
    }

    /// Like [`TestApp::spawn`], with `settings` for everything but the worker count and the
    /// shutdown timeout. A log left at stdout is captured into [`TestApp::log`] instead.
    pub fn spawn_with(settings: Settings) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let socket = listener.local_addr().expect("local address");
        let port = socket.port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let settings = Settings {
            workers: 1,
            log: match settings.log {
                RequestLog::Stdout => RequestLog::Capture(Arc::clone(&log)),
                other => other,
            },
            shutdown_timeout: Duration::from_secs(1),
            ..settings
        };
        let server = sum_service::run_with(listener, settings).expect("start the service");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .no_proxy()
            .build()
            .expect("build the client");
        Self {
            address: format!("http://127.0.0.1:{port}"),
            socket,
            client,
            log,
            handle,
        }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// `POST /sum` with a urlencoded form, as the original client sent it.
    pub async fn post_form(&self, fields: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url("/sum"))
            .form(fields)
            .send()
            .await
            .expect("POST /sum")
    }

    /// `POST /sum` with a raw body and Content-Type.
    pub async fn post_raw(
        &self,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url("/sum"))
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await
            .expect("POST /sum")
    }

    /// `GET /metrics`, checked for status and Content-Type, and parsed.
    pub async fn metrics(&self) -> Exposition {
        let response = self
            .client
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("GET /metrics");
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()[reqwest::header::CONTENT_TYPE],
            "text/plain; version=0.0.4; charset=utf-8"
        );
        Exposition::parse(&response.text().await.expect("the metrics text"))
    }

    /// Stops the service and waits for it to finish.
    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// A response's status and text.
pub async fn status_and_text(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    (status, response.text().await.expect("response body"))
}

/// A series' labels, by name.
pub type Labels = BTreeMap<String, String>;

/// Labels from `(name, value)` pairs.
pub fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|&(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// A Prometheus text exposition (format 0.0.4), parsed: each family's `# TYPE` and every sample.
///
/// Strict where it matters to the tests: a line that is not a comment, a blank or a well-formed
/// sample fails the test, and so does a series that appears twice.
#[derive(Debug, Default)]
pub struct Exposition {
    /// Family name to type (`counter`, `histogram`, ...).
    pub types: BTreeMap<String, String>,
    /// Sample name (with its `_bucket`, `_sum` or `_count` suffix) to its series.
    pub samples: BTreeMap<String, BTreeMap<Labels, f64>>,
}

impl Exposition {
    /// Parses the text, panicking (failing the test) on anything malformed.
    pub fn parse(text: &str) -> Self {
        let mut exposition = Self::default();
        for line in text.lines() {
            if line.trim().is_empty() {
                continue;
            }
            if let Some(comment) = line.strip_prefix('#') {
                let words: Vec<&str> = comment.split_whitespace().collect();
                if let ["TYPE", name, kind] = words[..] {
                    exposition.types.insert(name.to_owned(), kind.to_owned());
                }
                continue;
            }
            let (name, labels, value) = parse_sample(line);
            let previous = exposition
                .samples
                .entry(name)
                .or_default()
                .insert(labels, value);
            assert!(previous.is_none(), "a series appears twice: {line:?}");
        }
        exposition
    }

    /// The series of one sample name (empty if there are none).
    pub fn series(&self, name: &str) -> BTreeMap<Labels, f64> {
        self.samples.get(name).cloned().unwrap_or_default()
    }

    /// One series' value, if it is there.
    pub fn value(&self, name: &str, pairs: &[(&str, &str)]) -> Option<f64> {
        self.samples.get(name)?.get(&labels(pairs)).copied()
    }
}

/// `name{label="value",...} number` or `name number`, with a label value's `\\`, `\"` and `\n`
/// escapes undone.
fn parse_sample(line: &str) -> (String, Labels, f64) {
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(line.len());
    let (name, mut rest) = line.split_at(name_end);
    assert!(!name.is_empty(), "a sample with no name: {line:?}");
    let mut labels = Labels::new();
    if let Some(after_brace) = rest.strip_prefix('{') {
        rest = after_brace;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (label, after_eq) = rest
                .split_once("=\"")
                .unwrap_or_else(|| panic!("a label without =\": {line:?}"));
            let mut value = String::new();
            let mut chars = after_eq.char_indices();
            let end = loop {
                match chars.next() {
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, c @ ('\\' | '"'))) => value.push(c),
                        other => panic!("a bad escape {other:?} in {line:?}"),
                    },
                    Some((_, c)) => value.push(c),
                    None => panic!("an unterminated label value: {line:?}"),
                }
            };
            let previous = labels.insert(label.to_owned(), value);
            assert!(previous.is_none(), "a label appears twice: {line:?}");
            rest = &after_eq[end + 1..];
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    let value = rest.trim();
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => value
            .parse()
            .unwrap_or_else(|_| panic!("a value that is not a number: {line:?}")),
    };
    (name.to_owned(), labels, value)
}
