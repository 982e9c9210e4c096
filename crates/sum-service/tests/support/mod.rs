//! Spawning the service in process on 127.0.0.1:0, and a client for it.

use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use sum_service::{RequestLog, Settings};

/// A running service and a client pointed at it.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    /// A client with a short timeout, so no test can hang.
    pub client: reqwest::Client,
    /// The request log lines written so far.
    pub log: Arc<Mutex<Vec<String>>>,
    handle: ServerHandle,
}

impl TestApp {
    /// Starts the service on a free port of 127.0.0.1, logging into [`TestApp::log`].
    pub fn spawn() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let settings = Settings {
            workers: 1,
            log: RequestLog::Capture(Arc::clone(&log)),
            shutdown_timeout: Duration::from_secs(1),
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
