//! sum-service in the bench process, on 127.0.0.1 at an ephemeral port, for the end-to-end
//! benches: one worker, its request log off, on its own thread and actix system, stopped when the
//! run ends. Loopback only.

use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use reqwest::Url;
use tokio::runtime::Runtime;

/// sum-service on its own thread and actix system, on an ephemeral loopback port.
pub struct Service {
    address: SocketAddr,
    handle: ServerHandle,
    thread: thread::JoinHandle<()>,
}

impl Service {
    /// Binds a loopback port and starts the service on it.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let address = listener.local_addr().expect("the bound address");
        let (send, receive) = mpsc::channel();
        let thread = thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let settings = sum_service::Settings {
                    workers: 1,
                    log: sum_service::RequestLog::Off,
                    shutdown_timeout: Duration::from_secs(1),
                    ..sum_service::Settings::default()
                };
                let server = sum_service::run_with(listener, settings).expect("start the service");
                send.send(server.handle()).expect("hand the server over");
                // The run ends with `ServerHandle::stop`.
                let _ = server.await;
            });
        });
        let handle = receive.recv().expect("the service started");
        Self {
            address,
            handle,
            thread,
        }
    }

    /// The URL of `path` on the service.
    pub fn url(&self, path: &str) -> Url {
        format!("http://{}{path}", self.address)
            .parse()
            .expect("a valid URL")
    }

    /// Stops the service and waits for its thread.
    pub fn stop(self, runtime: &Runtime) {
        runtime.block_on(self.handle.stop(true));
        self.thread
            .join()
            .expect("the service thread ended cleanly");
    }
}
