//! Redis stopped, killed, restarted, or not there at all: every member goes on locally, says
//! so, and rejoins by itself.

use std::time::Duration;

use breaker::{Reason, State};
use breaker_redis::Link;

use crate::support::{Redis, fail, member, wait_link, wait_until};

const W: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_redis_blocks_no_call_and_the_backlog_goes_out_when_it_resumes() {
    let Some(redis) = Redis::start_or_skip() else {
        return;
    };
    let (a, a_changes) = member(&redis.url(), "svc", W, 2);
    let (b, b_changes) = member(&redis.url(), "svc", W, 2);
    wait_link(&a, Link::Joined).await;
    wait_link(&b, Link::Joined).await;

    redis.pause();
    // The calls' side never touches Redis: admission and recording are plain function calls
    // that cannot await it. Thousands of them go through while the server answers nothing.
    for _ in 0..10_000 {
        b.breaker().try_acquire().expect("closed").success();
    }
    // The heartbeat times out: both say they are on their own.
    wait_link(&a, Link::LocalOnly).await;
    wait_link(&b, Link::LocalOnly).await;
    // A still trips on its own failures, at once, with no word from Redis.
    fail(a.breaker(), 3);
    assert_eq!(a.breaker().state(), State::Open);
    assert_eq!(a_changes.reasons_to(State::Open), [Reason::FailureCount]);
    assert_eq!(b.breaker().state(), State::Closed);

    redis.resume();
    wait_link(&a, Link::Joined).await;
    // A's failures, kept while Redis was stopped, reach the fleet: B opens.
    wait_until("B opens", || b.breaker().state() == State::Open).await;
    assert_eq!(b_changes.reasons_to(State::Open), [Reason::Remote]);
    assert_eq!(a.stats().published, 3);
    assert_eq!(a.stats().dropped, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_and_restarted_redis_is_rejoined() {
    let Some(mut redis) = Redis::start_or_skip() else {
        return;
    };
    let (a, _) = member(&redis.url(), "svc", W, 1);
    let (b, b_changes) = member(&redis.url(), "svc", W, 1);
    wait_link(&a, Link::Joined).await;
    wait_link(&b, Link::Joined).await;

    redis.kill();
    wait_link(&a, Link::LocalOnly).await;
    wait_link(&b, Link::LocalOnly).await;
    fail(a.breaker(), 1); // under T: A stays closed, the failure waits in the backlog
    assert_eq!(a.breaker().state(), State::Closed);

    redis.restart(); // empty: the restarted server knows nothing
    wait_link(&a, Link::Joined).await;
    wait_link(&b, Link::Joined).await;
    wait_until("A's kept failure is stored", || a.stats().published == 1).await;
    // The fleet works again: one failure from B makes two, over T = 1, and both open.
    fail(b.breaker(), 1);
    wait_until("A opens", || a.breaker().state() == State::Open).await;
    wait_until("B opens", || b.breaker().state() == State::Open).await;
    assert_eq!(b_changes.reasons_to(State::Open), [Reason::Remote]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_started_while_redis_is_down_works_locally_then_joins() {
    let Some(mut redis) = Redis::start_or_skip() else {
        return;
    };
    let url = redis.url();
    redis.kill();
    let (a, a_changes) = member(&url, "svc", W, 1);
    // From the first call, before any word from Redis: admitted, and its own failures trip it.
    fail(a.breaker(), 2);
    assert_eq!(a.breaker().state(), State::Open);
    assert_eq!(a_changes.reasons_to(State::Open), [Reason::FailureCount]);
    wait_link(&a, Link::LocalOnly).await;

    redis.restart();
    wait_link(&a, Link::Joined).await;
    // Its failures were kept, and reach a member that joins now.
    wait_until("A's failures are stored", || a.stats().published == 2).await;
    let (b, b_changes) = member(&url, "svc", W, 1);
    wait_link(&b, Link::Joined).await;
    assert_eq!(b.breaker().state(), State::Open);
    assert_eq!(b_changes.reasons_to(State::Open), [Reason::Remote]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_backlog_drops_and_counts_its_oldest() {
    let Some(mut redis) = Redis::start_or_skip() else {
        return;
    };
    let url = redis.url();
    redis.kill();
    let a = breaker_redis::Fleet::builder(url.as_str())
        .backlog(4)
        .command_timeout(Duration::from_millis(200))
        .backoff(Duration::from_millis(20), Duration::from_millis(100))
        .build(
            breaker::CircuitBreaker::builder()
                .name("svc")
                .window(W)
                .error_threshold(100),
        )
        .unwrap();
    wait_link(&a, Link::LocalOnly).await;
    fail(a.breaker(), 10);
    wait_until("6 dropped", || a.stats().dropped == 6).await;
    redis.restart();
    wait_until("the 4 kept are stored", || a.stats().published == 4).await;
    assert_eq!(a.stats().dropped, 6);
}
