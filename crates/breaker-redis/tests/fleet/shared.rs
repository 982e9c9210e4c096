//! One circuit for many members: failures anywhere count everywhere.

use std::time::Duration;

use breaker::{Reason, State};
use breaker_redis::Link;

use crate::support::{Redis, fail, member, wait_link, wait_until};

const W: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_sees_only_successes_is_opened_by_anothers_failures() {
    let Some(redis) = Redis::start_or_skip() else {
        return;
    };
    let (a, _) = member(&redis.url(), "svc", W, 2);
    let (b, b_changes) = member(&redis.url(), "svc", W, 2);
    wait_link(&a, Link::Joined).await;
    wait_link(&b, Link::Joined).await;

    for _ in 0..10 {
        b.breaker().try_acquire().expect("closed").success();
    }
    fail(a.breaker(), 3); // T + 1 on A alone
    assert_eq!(a.breaker().state(), State::Open);
    wait_until("B opens", || b.breaker().state() == State::Open).await;
    assert_eq!(b_changes.reasons_to(State::Open), [Reason::Remote]);
    assert_eq!(
        b.breaker().errors_in_window(),
        0,
        "B recorded no failure of its own"
    );
    let retry = b.breaker().try_acquire().unwrap_err().retry_after();
    assert!(retry > Duration::ZERO && retry <= W, "{retry:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_window_is_the_fleets_not_each_members() {
    let Some(redis) = Redis::start_or_skip() else {
        return;
    };
    let (a, a_changes) = member(&redis.url(), "svc", W, 2);
    let (b, b_changes) = member(&redis.url(), "svc", W, 2);
    // Same name, another threshold: a fleet of its own.
    let (c, _) = member(&redis.url(), "svc", W, 3);
    for m in [&a, &b, &c] {
        wait_link(m, Link::Joined).await;
    }
    fail(a.breaker(), 2); // T on A: closed locally
    wait_until("A's failures are stored", || a.stats().published == 2).await;
    assert_eq!(a.breaker().state(), State::Closed);
    fail(b.breaker(), 1); // the fleet's third: over T = 2
    wait_until("A opens", || a.breaker().state() == State::Open).await;
    wait_until("B opens", || b.breaker().state() == State::Open).await;
    assert_eq!(a_changes.reasons_to(State::Open), [Reason::Remote]);
    assert_eq!(b_changes.reasons_to(State::Open), [Reason::Remote]);
    // C shares the name but not T: it hears nothing. Its own members' traffic is its own.
    wait_until("B's failure is stored", || b.stats().published == 1).await;
    assert_eq!(c.breaker().state(), State::Closed);
    assert_eq!(c.stats().remote_trips, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_joins_late_learns_of_an_open_circuit() {
    let Some(redis) = Redis::start_or_skip() else {
        return;
    };
    let (a, _) = member(&redis.url(), "svc", W, 0);
    wait_link(&a, Link::Joined).await;
    fail(a.breaker(), 1);
    wait_until("A's failure is stored", || a.stats().published == 1).await;
    let (late, changes) = member(&redis.url(), "svc", W, 0);
    wait_link(&late, Link::Joined).await;
    assert_eq!(late.breaker().state(), State::Open);
    assert_eq!(changes.reasons_to(State::Open), [Reason::Remote]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn junk_on_the_trip_channel_is_ignored() {
    let Some(redis) = Redis::start_or_skip() else {
        return;
    };
    let (a, _) = member(&redis.url(), "svc", W, 2);
    wait_link(&a, Link::Joined).await;
    let client = redis::Client::open(redis.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let channel = breaker_redis::Names::new("svc", W, 2).trips;
    let big = "9".repeat(100_000);
    for junk in ["", "-1", "1.5", "abc", "0", big.as_str()] {
        let _: i64 = redis::cmd("PUBLISH")
            .arg(&channel)
            .arg(junk)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    // A real one after the junk: once it is applied, the junk before it has been read.
    let _: i64 = redis::cmd("PUBLISH")
        .arg(&channel)
        .arg("999000000000")
        .query_async(&mut conn)
        .await
        .unwrap();
    wait_until("the real trip is applied", || a.stats().remote_trips == 1).await;
    assert!(a.is_joined());
    // Far longer than W was asked: cut to W.
    let retry = a.breaker().try_acquire().unwrap_err().retry_after();
    assert!(retry <= W, "{retry:?}");
}
