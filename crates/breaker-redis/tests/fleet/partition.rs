//! Redis and a member on separate network namespaces, the link between them cut mid-run and
//! restored. Needs root (CAP_NET_ADMIN) and `ip`; without them the test says why and returns.

use std::process::Command;
use std::time::Duration;

use crate::redis_server::skip;
use crate::support::{MemberProcess, Redis};

/// Two namespaces and a veth pair between them, made by the test, deleted on drop.
struct Netns {
    server: String,
    client: String,
    client_if: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("running ip: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

const SERVER_ADDR: &str = "10.231.0.1";
const CLIENT_ADDR: &str = "10.231.0.2";

impl Netns {
    fn make() -> Result<Netns, String> {
        let id = std::process::id();
        let ns = Netns {
            server: format!("brk-srv-{id}"),
            client: format!("brk-cli-{id}"),
            client_if: format!("brkc{}", id % 100_000),
        };
        let server_if = format!("brks{}", id % 100_000);
        ip(&["netns", "add", &ns.server])?;
        ip(&["netns", "add", &ns.client])?;
        ip(&[
            "link",
            "add",
            &server_if,
            "type",
            "veth",
            "peer",
            "name",
            &ns.client_if,
        ])?;
        ip(&["link", "set", &server_if, "netns", &ns.server])?;
        ip(&["link", "set", &ns.client_if, "netns", &ns.client])?;
        for (space, dev, addr) in [
            (&ns.server, &server_if, SERVER_ADDR),
            (&ns.client, &ns.client_if, CLIENT_ADDR),
        ] {
            ip(&[
                "-n",
                space,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                dev,
            ])?;
            ip(&["-n", space, "link", "set", dev, "up"])?;
            ip(&["-n", space, "link", "set", "lo", "up"])?;
        }
        Ok(ns)
    }

    fn set_client_link(&self, up: bool) {
        let state = if up { "up" } else { "down" };
        ip(&["-n", &self.client, "link", "set", &self.client_if, state]).expect("setting the link");
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end inside it, and so the pair.
        let _ = ip(&["netns", "del", &self.client]);
        let _ = ip(&["netns", "del", &self.server]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_member_works_locally_and_rejoins_when_the_link_is_back() {
    if !Redis::installed() {
        skip("no redis-server on PATH (`apt-get install redis-server`)");
        return;
    }
    let ns = match Netns::make() {
        Ok(ns) => ns,
        Err(why) => {
            skip(&format!(
                "cannot make network namespaces here ({why}); it needs root and `ip`"
            ));
            return;
        }
    };
    let in_server = ["ip", "netns", "exec", ns.server.as_str()];
    let in_client = ["ip", "netns", "exec", ns.client.as_str()];
    let redis = Redis::start_with(
        in_server.iter().map(|s| s.to_string()).collect(),
        SERVER_ADDR,
        6379,
    );
    let url = redis.url();
    let w = Duration::from_secs(30);
    // One member beside Redis, one across the link.
    let mut near = MemberProcess::spawn(&in_server, &url, "svc", w, 1);
    let mut far = MemberProcess::spawn(&in_client, &url, "svc", w, 1);
    near.expect("link joined").await;
    far.expect("link joined").await;

    ns.set_client_link(false);
    far.expect("link local_only").await;
    // Cut off, the far member still serves its calls, on its own.
    far.send("ok").await;
    let cut_off = far.expect("call admitted").await;
    assert!(cut_off.is_empty(), "{cut_off:?}");
    // Meanwhile the fleet trips, beside Redis.
    near.send("fail").await;
    near.send("fail").await;
    near.expect("state closed open failure_count").await;

    ns.set_client_link(true);
    // Back: it rejoins by itself, and learns of the trip it missed.
    // (The trip is applied as it joins, before it says it has joined.)
    let before = far.expect("link joined").await;
    let missed = "state closed open remote";
    if !before.iter().any(|l| l == missed) {
        far.expect(missed).await;
    }
    far.send("ok").await;
    far.expect("call rejected").await;
}
