//! A `redis-server` of a test's (or a bench's) own: on a free loopback port, or bound to an
//! address inside a network namespace, killed when dropped (pass or fail). Only the standard
//! library: the fleet tests, the driver's tests and the fleet bench include this one file with
//! `#[path]`, and not every one of them uses every method.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The longest a server may take to answer its first PING: a guard against a hang, never a
/// measure.
const READY: Duration = Duration::from_secs(10);

/// A `redis-server` process, killed on drop.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    pub bind: String,
    /// The command prefix the server runs under (`ip netns exec NS`), if any.
    prefix: Vec<String>,
}

/// Whether a test that needs a server, root or `ip` must have it: `BREAKER_REQUIRE_SERVERS=1`,
/// which CI sets, turns a skip into a failure, so that nothing is skipped there unseen.
pub fn servers_required() -> bool {
    std::env::var_os("BREAKER_REQUIRE_SERVERS").is_some_and(|v| v == "1")
}

/// Skips the calling test, saying why on one line, or fails it when servers are required
/// ([`servers_required`]). The line goes to standard error directly, past the test harness's
/// capture, so that `cargo test` shows it.
pub fn skip(why: &str) {
    assert!(
        !servers_required(),
        "BREAKER_REQUIRE_SERVERS=1, and this test cannot run: {why}"
    );
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}

/// A free TCP port on 127.0.0.1, as the kernel hands one out.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free loopback port");
    listener.local_addr().expect("its address").port()
}

impl Redis {
    /// A server on a free loopback port; panics, saying how to install it, if it cannot start.
    pub fn start() -> Self {
        Self::try_start().unwrap_or_else(|e| {
            panic!("starting redis-server ({e}): install it (`apt-get install redis-server`)")
        })
    }

    /// A server on a free loopback port; or, with no `redis-server` on PATH, `None` after
    /// [`skip`] said so (a failure under `BREAKER_REQUIRE_SERVERS=1`).
    pub fn start_or_skip() -> Option<Self> {
        if !Self::installed() {
            skip("no redis-server on PATH (`apt-get install redis-server`)");
            return None;
        }
        Some(Self::start())
    }

    /// Whether `redis-server` runs here.
    pub fn installed() -> bool {
        Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// A server on a free loopback port, or why not.
    pub fn try_start() -> Result<Self, String> {
        Self::try_start_with(Vec::new(), "127.0.0.1", free_port())
    }

    /// A server bound to `bind:port`, run under `prefix`; panics if it cannot start.
    pub fn start_with(prefix: Vec<String>, bind: &str, port: u16) -> Self {
        Self::try_start_with(prefix, bind, port)
            .unwrap_or_else(|e| panic!("starting redis-server: {e}"))
    }

    fn try_start_with(prefix: Vec<String>, bind: &str, port: u16) -> Result<Self, String> {
        let mut redis = Redis {
            child: None,
            port,
            bind: bind.to_owned(),
            prefix,
        };
        redis.spawn()?;
        Ok(redis)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let port = self.port.to_string();
        let mut args: Vec<String> = self.prefix.clone();
        args.push("redis-server".into());
        for a in [
            "--port",
            &port,
            "--bind",
            &self.bind,
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "no",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
        ] {
            args.push(a.to_owned());
        }
        let child = Command::new(&args[0])
            .args(&args[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        self.child = Some(child);
        self.wait_ready()
    }

    /// Waits until the server answers a PING.
    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + READY;
        while !self.answers_ping() {
            if Instant::now() >= deadline {
                return Err(format!("redis-server never answered on {}", self.url()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    fn answers_ping(&self) -> bool {
        if !self.prefix.is_empty() {
            // Another namespace: ask from inside it.
            let port = self.port.to_string();
            return Command::new(&self.prefix[0])
                .args(&self.prefix[1..])
                .args(["redis-cli", "-h", &self.bind, "-p", &port, "ping"])
                .output()
                .is_ok_and(|o| o.stdout.starts_with(b"PONG"));
        }
        let Ok(mut stream) = TcpStream::connect((self.bind.as_str(), self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
        let mut reply = [0u8; 5];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG"
    }

    pub fn url(&self) -> String {
        format!("redis://{}:{}/", self.bind, self.port)
    }

    fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let status = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .expect("running kill");
            assert!(status.success(), "kill {signal} failed");
        }
    }

    /// SIGSTOP: the server stays up, its sockets open, and answers nothing.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// SIGKILL, and wait for it to go.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-CONT", &child.id().to_string()])
                .status();
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new server on the same port (empty: nothing was saved).
    pub fn restart(&mut self) {
        self.kill();
        if let Err(e) = self.spawn() {
            panic!("restarting redis-server: {e}");
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}
