//! Separate processes, sharing one circuit through one Redis.

use std::time::Duration;

use crate::support::{MemberProcess, Redis};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_trips() {
    let Some(redis) = Redis::start_or_skip() else {
        return;
    };
    let url = redis.url();
    let w = Duration::from_secs(30);
    let mut good = MemberProcess::spawn(&[], &url, "svc", w, 2);
    let mut bad = MemberProcess::spawn(&[], &url, "svc", w, 2);
    good.expect("link joined").await;
    bad.expect("link joined").await;

    good.send("ok").await;
    good.expect("call admitted").await;
    for _ in 0..3 {
        bad.send("fail").await;
        bad.expect("call admitted").await;
    }
    bad.expect("state closed open failure_count").await;
    // The process that saw only successes opens, by the other's failures.
    good.expect("state closed open remote").await;
    good.send("ok").await;
    good.expect("call rejected").await;
}
