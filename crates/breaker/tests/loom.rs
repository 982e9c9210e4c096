//! Loom models of the breaker's concurrent core: every interleaving of a few threads, within a
//! bound on preemptions, explored on loom's atomics and lock (see `src/sync.rs`).
//!
//! ```text
//! RUSTFLAGS="--cfg loom" cargo test -p breaker --release --test loom
//! ```
//!
//! With no feature, the default: reqwest (behind the `reqwest` feature) is built on tokio's
//! networking, which tokio leaves out under `--cfg loom`. The models need no feature.
//!
//! - concurrent failures are never lost, and trip exactly once;
//! - a close racing a failure never leaves the circuit closed over more than T failures;
//! - half-open never admits more than P probes.
//!
//! Each model is a handful of operations on a [`ManualClock`] that only the set-up moves, so
//! that loom's state space stays small. The observer's log is a std `Mutex`: nothing in its
//! critical section is a loom operation, so loom never switches threads while it is held.
#![cfg(loom)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::{Builder, CircuitBreaker, ManualClock, Probing, State, StateChange};
use loom::thread;

/// The window W of every model.
const W: Duration = Duration::from_secs(10);

/// Runs `model` under loom with a bound on preemptions, so that no environment variable is
/// needed to keep a run short.
fn check(model: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(3);
    builder.check(model);
}

type Log = Arc<Mutex<Vec<(State, State)>>>;

/// A breaker built from `builder` on a manual clock standing at 1 s, and the log of its state
/// changes as (from, to).
fn observed(builder: Builder) -> (CircuitBreaker, ManualClock, Log) {
    let clock = ManualClock::new();
    clock.advance(Duration::from_secs(1));
    let log = Log::default();
    let seen = log.clone();
    let cb = builder
        .window(W)
        .clock(clock.clone())
        .on_state_change(move |c: StateChange| {
            seen.lock().unwrap().push((c.from, c.to));
        })
        .build()
        .expect("valid configuration");
    (cb, clock, log)
}

fn changes(log: &Log) -> Vec<(State, State)> {
    log.lock().unwrap().clone()
}

/// Every change starts where the one before it ended, from a closed circuit.
fn assert_chained(changes: &[(State, State)]) {
    let mut at = State::Closed;
    for &(from, to) in changes {
        assert_eq!(from, at, "changes out of order: {changes:?}");
        at = to;
    }
}

/// Two threads record one failure each, with threshold `t`. Both count (up to the T + 1 the
/// window keeps), and exactly one trips: with T = 1 only the second failure crosses T, with
/// T = 0 both do and only one may move the circuit.
fn two_failures_trip_once(t: u32) {
    check(move || {
        let (cb, _clock, log) = observed(CircuitBreaker::builder().error_threshold(t));
        // Both calls are admitted while closed, then end together.
        let mine = cb.try_acquire_owned().expect("closed");
        let theirs = cb.try_acquire_owned().expect("closed");
        let h = thread::spawn(move || theirs.failure());
        mine.failure();
        h.join().unwrap();

        assert_eq!(cb.errors_in_window(), 2.min(t + 1));
        assert_eq!(cb.state(), State::Open);
        assert_eq!(changes(&log), [(State::Closed, State::Open)]);
    });
}

#[test]
fn concurrent_failures_are_never_lost_and_trip_once() {
    two_failures_trip_once(1);
}

#[test]
fn concurrent_failures_over_t_zero_trip_once() {
    two_failures_trip_once(0);
}

/// The default clock and the failure-rate rule's stripes, on loom's statics (their origin and
/// assignment go through `src/sync.rs` too): two threads, each on its first call, record a
/// failure at once. Both count for both rules (the count rule at T = 1 and a rate of 1.0 over
/// two calls), and the circuit opens exactly once.
#[test]
fn the_default_clock_and_the_rate_stripes_under_two_threads() {
    check(|| {
        let log = Log::default();
        let seen = log.clone();
        let cb = CircuitBreaker::builder()
            .window(W)
            .error_threshold(1)
            .failure_rate(1.0, 2)
            .on_state_change(move |c: StateChange| seen.lock().unwrap().push((c.from, c.to)))
            .build()
            .expect("valid configuration");
        let theirs = cb.clone();
        let h = thread::spawn(move || theirs.try_acquire().expect("closed").failure());
        cb.try_acquire().expect("closed").failure();
        h.join().unwrap();

        assert_eq!(cb.errors_in_window(), 2);
        assert_eq!(cb.state(), State::Open);
        assert_eq!(changes(&log), [(State::Closed, State::Open)]);
    });
}

/// T = 4 (the window's ordered ring): four failures recorded one after the other, two by two at
/// the same instant, then two more on two threads at a later one: the threads race for the
/// ring's cursor as it goes round. The circuit trips once, and the window keeps the five latest
/// stamps: it stays open until the oldest of them is W old.
#[test]
fn racing_failures_round_the_ring_keep_the_latest() {
    check(|| {
        let (cb, clock, log) = observed(CircuitBreaker::builder().error_threshold(4));
        for _ in 0..2 {
            cb.try_acquire().expect("closed").failure(); // at 1 s
        }
        clock.advance(Duration::from_secs(1));
        for _ in 0..2 {
            cb.try_acquire().expect("closed").failure(); // at 2 s
        }
        let mine = cb.try_acquire_owned().expect("closed");
        let theirs = cb.try_acquire_owned().expect("closed");
        clock.advance(Duration::from_secs(1));
        let h = thread::spawn(move || theirs.failure());
        mine.failure(); // both at 3 s
        h.join().unwrap();

        assert_eq!(cb.errors_in_window(), 5);
        assert_eq!(changes(&log), [(State::Closed, State::Open)]);
        // The five latest are at 1, 2, 2, 3 and 3 s: open until 1 s + W, 2 s less than W from now.
        let wait = cb.try_acquire().unwrap_err().retry_after();
        assert_eq!(wait, W - Duration::from_secs(2));
    });
}

/// T = 0: a failure opened the circuit until its stamp is W old; at that very instant, one
/// thread records a failure (of a call admitted before the trip) while another asks the state.
/// Whatever the order, the circuit ends open over the new failure: a close may be seen before
/// the failure lands, never over it.
#[test]
fn a_close_racing_a_failure_never_closes_over_more_than_t() {
    check(|| {
        let (cb, clock, log) = observed(CircuitBreaker::builder().error_threshold(0));
        let late = cb.try_acquire_owned().expect("closed");
        cb.try_acquire().expect("closed").failure();
        assert_eq!(cb.state(), State::Open);
        clock.advance(W); // the open period ends now

        let other = cb.clone();
        let t = thread::spawn(move || other.state());
        late.failure();
        let seen = t.join().unwrap();

        assert_eq!(cb.errors_in_window(), 1);
        assert_eq!(cb.state(), State::Open);
        let changes = changes(&log);
        assert_chained(&changes);
        // The period ends once, whoever notices it first (the failure looks before it
        // records), and the failure trips the closed circuit again; the state asked in between
        // may be either.
        assert_eq!(
            changes,
            [
                (State::Closed, State::Open),
                (State::Open, State::Closed),
                (State::Closed, State::Open),
            ]
        );
        assert!(matches!(seen, State::Closed | State::Open), "{seen:?}");
    });
}

/// With probing, a breaker opened by one failure (T = 0) and now half-open, asked for a permit
/// by `threads` threads at once: exactly `probes` of them get a probe, the others are rejected.
fn half_open_admits_at_most(probes: u32, threads: usize) {
    check(move || {
        let (cb, clock, _log) = observed(
            CircuitBreaker::builder()
                .error_threshold(0)
                .probing(Probing::new(probes).open_time(Duration::from_secs(1))),
        );
        cb.try_acquire().expect("closed").failure();
        clock.advance(Duration::from_secs(1));

        let handles: Vec<_> = (1..threads)
            .map(|_| {
                let cb = cb.clone();
                thread::spawn(move || cb.try_acquire_owned().ok())
            })
            .collect();
        let mut permits = vec![cb.try_acquire_owned().ok()];
        permits.extend(handles.into_iter().map(|h| h.join().unwrap()));

        let admitted: Vec<_> = permits.iter().flatten().collect();
        assert!(admitted.iter().all(|p| p.is_probe()));
        assert_eq!(admitted.len(), probes as usize);
        assert_eq!(cb.state(), State::HalfOpen);
    });
}

#[test]
fn half_open_admits_one_probe_of_two() {
    half_open_admits_at_most(1, 2);
}

#[test]
fn half_open_admits_two_probes_of_three() {
    half_open_admits_at_most(2, 3);
}
