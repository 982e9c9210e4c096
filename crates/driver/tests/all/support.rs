//! What the driver's tests share: the sum service in process, the demo's settings, and the
//! driver binary run to its end.

use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::dev::ServerHandle;
use driver::render::Line;
use driver::run::Config;
use sum_service::{RequestLog, Settings};

/// A generous bound on a driver run: it fails the test, it measures nothing.
pub const BOUND: Duration = Duration::from_secs(60);

/// The service, running on a free port of 127.0.0.1, with its request log captured.
pub struct Service {
    pub port: u16,
    log: Arc<Mutex<Vec<String>>>,
    handle: ServerHandle,
}

impl Service {
    pub fn spawn() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let log = Arc::new(Mutex::new(Vec::new()));
        let settings = Settings {
            workers: 1,
            log: RequestLog::Capture(log.clone()),
            shutdown_timeout: Duration::from_secs(1),
            ..Settings::default()
        };
        let server = sum_service::run_with(listener, settings).expect("start the service");
        let handle = server.handle();
        actix_web::rt::spawn(server);
        Self { port, log, handle }
    }

    /// The requests the service has answered.
    pub fn requests(&self) -> usize {
        self.log.lock().unwrap().len()
    }

    pub async fn stop(self) {
        self.handle.stop(true).await;
    }
}

/// The demo's settings (W = 5 s, T = 3, a request timeout of 5 s) against `port`, probing with
/// `half_open` probes if given.
pub fn config(port: u16, half_open: Option<u32>) -> Config {
    Config {
        host: "127.0.0.1".into(),
        port,
        window: Duration::from_secs(5),
        threshold: Some(3),
        failure_rate: None,
        consecutive: None,
        slow: None,
        timeout: Duration::from_secs(5),
        half_open,
        shadow: false,
    }
}

/// The lines of a request answered with `text` while the circuit is closed.
pub fn response(text: &str) -> [Line; 2] {
    [Line::Closed, Line::Response(text.into())]
}

/// The lines of a request that failed while the circuit was closed.
pub const FAILED: [Line; 2] = [Line::Closed, Line::Problem];

/// Runs the driver binary with `args`, without colour, within [`BOUND`].
pub async fn run_binary(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let run = tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_driver"))
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run the driver")
    });
    tokio::time::timeout(BOUND, run)
        .await
        .expect("the driver ends")
        .expect("join")
}
