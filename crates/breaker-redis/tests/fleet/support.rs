//! What every fleet test shares: a real `redis-server` of its own on a free loopback port,
//! stopped when the test ends (pass or fail), and fleet members with short timeouts.

pub use crate::redis_server::Redis;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::{CircuitBreaker, Reason, State, StateChange};
use breaker_redis::{Fleet, Link};

/// The longest any test waits for an event it expects: a guard against a hang, never a
/// measure.
pub const GUARD: Duration = Duration::from_secs(10);

/// The state changes one breaker has seen.
#[derive(Clone, Default)]
pub struct Changes(Arc<Mutex<Vec<StateChange>>>);

impl Changes {
    pub fn reasons_to(&self, to: State) -> Vec<Reason> {
        let seen = self.0.lock().unwrap();
        seen.iter()
            .filter(|c| c.to == to)
            .map(|c| c.reason)
            .collect()
    }
}

/// A fleet member named `name` with W = `window`, T = `threshold`, and timeouts short enough
/// for tests.
pub fn member(url: &str, name: &str, window: Duration, threshold: u32) -> (Fleet, Changes) {
    let changes = Changes::default();
    let log = changes.clone();
    let fleet = Fleet::builder(url)
        .command_timeout(Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(500))
        .heartbeat(Duration::from_millis(100))
        .backoff(Duration::from_millis(20), Duration::from_millis(200))
        .build(
            CircuitBreaker::builder()
                .name(name)
                .window(window)
                .error_threshold(threshold)
                .on_state_change(move |c| log.0.lock().unwrap().push(c)),
        )
        .expect("a valid fleet member");
    (fleet, changes)
}

/// Waits (at most [`GUARD`]) until the member's link is `link`.
pub async fn wait_link(fleet: &Fleet, link: Link) {
    let mut rx = fleet.link();
    tokio::time::timeout(GUARD, rx.wait_for(|l| *l == link))
        .await
        .unwrap_or_else(|_| panic!("the link never became {link:?}"))
        .expect("the fleet task ended");
}

/// Waits (at most [`GUARD`]) until `check` holds, looking every few milliseconds.
pub async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let waited = tokio::time::timeout(GUARD, async {
        while !check() {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "never happened: {what}");
}

/// `n` failures on `cb`, each admitted while closed.
pub fn fail(cb: &CircuitBreaker, n: u32) {
    for _ in 0..n {
        cb.try_acquire().expect("admitted").failure();
    }
}

/// The `fleet_member` example, built beside this test by `cargo test`.
pub fn member_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .expect("the target dir");
    let bin = dir.join("examples").join("fleet_member");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo test -p breaker-redis`, which builds the examples",
        bin.display()
    );
    bin
}

/// A `fleet_member` process: lines in on stdin, lines out on stdout. Killed on drop.
pub struct MemberProcess {
    child: tokio::process::Child,
    stdin: tokio::process::ChildStdin,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
    /// Every line read so far.
    pub seen: Vec<String>,
}

impl MemberProcess {
    /// Runs `fleet_member URL NAME WINDOW_MS T` under `prefix` (`ip netns exec NS`, say).
    pub fn spawn(prefix: &[&str], url: &str, name: &str, window: Duration, t: u32) -> Self {
        use std::process::Stdio;
        let bin = member_binary();
        let window = window.as_millis().to_string();
        let t = t.to_string();
        let mut args: Vec<&str> = prefix.to_vec();
        let bin = bin.to_str().expect("a UTF-8 path");
        args.extend([bin, url, name, &window, &t]);
        let mut child = tokio::process::Command::new(args[0])
            .args(&args[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .expect("starting fleet_member");
        let stdin = child.stdin.take().expect("piped stdin");
        let stdout = child.stdout.take().expect("piped stdout");
        use tokio::io::AsyncBufReadExt;
        Self {
            child,
            stdin,
            lines: tokio::io::BufReader::new(stdout).lines(),
            seen: Vec::new(),
        }
    }

    /// Sends one command line.
    pub async fn send(&mut self, line: &str) {
        use tokio::io::AsyncWriteExt;
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .expect("writing to fleet_member");
        self.stdin.flush().await.expect("flushing");
    }

    /// Reads lines until one equals `want` (at most [`GUARD`]); returns the lines before it.
    pub async fn expect(&mut self, want: &str) -> Vec<String> {
        let mut before = Vec::new();
        let found = tokio::time::timeout(GUARD, async {
            while let Ok(Some(line)) = self.lines.next_line().await {
                self.seen.push(line.clone());
                if line == want {
                    return true;
                }
                before.push(line);
            }
            false
        })
        .await;
        assert!(
            matches!(found, Ok(true)),
            "fleet_member never printed {want:?}; it printed {:?}",
            self.seen
        );
        before
    }
}

impl Drop for MemberProcess {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}
