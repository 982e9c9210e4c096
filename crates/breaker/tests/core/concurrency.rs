//! Threads recording at once: no failure is lost, a trip happens exactly once, a closed breaker
//! stays closed under load, and half-open never lets more than P probes through.
//!
//! The clock is a [`ManualClock`] that the threads never move, so every stamp is the same
//! instant and every outcome is known in advance; only the interleaving is left to chance.
//! Threads start together on a [`Barrier`]; every loop is bounded; nothing sleeps.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use breaker::EXACT_MAX_THRESHOLD;
use breaker::{Builder, CircuitBreaker, ManualClock, Permit, Probing, State};

const THREADS: usize = 8;

/// State changes counted by (from, to), from the breaker's observer.
#[derive(Default)]
struct Transitions {
    counts: [[AtomicUsize; 5]; 5],
}

fn index(s: State) -> usize {
    match s {
        State::Closed => 0,
        State::Open => 1,
        State::HalfOpen => 2,
        State::ForcedOpen => 3,
        _ => 4,
    }
}

impl Transitions {
    fn get(&self, from: State, to: State) -> usize {
        self.counts[index(from)][index(to)].load(Ordering::SeqCst)
    }

    fn total(&self) -> usize {
        self.counts
            .iter()
            .flatten()
            .map(|c| c.load(Ordering::SeqCst))
            .sum()
    }
}

/// A breaker built from `builder` on a fresh manual clock, with its transitions counted.
fn observed(builder: Builder) -> (CircuitBreaker, ManualClock, Arc<Transitions>) {
    let clock = ManualClock::new();
    let transitions = Arc::new(Transitions::default());
    let seen = transitions.clone();
    let cb = builder
        .clock(clock.clone())
        .on_state_change(move |c| {
            seen.counts[index(c.from)][index(c.to)].fetch_add(1, Ordering::SeqCst);
        })
        .build()
        .expect("valid configuration");
    (cb, clock, transitions)
}

fn window_rule(
    window: Duration,
    threshold: u32,
) -> (CircuitBreaker, ManualClock, Arc<Transitions>) {
    observed(
        CircuitBreaker::builder()
            .window(window)
            .error_threshold(threshold),
    )
}

/// `total` failures split as evenly as possible over [`THREADS`] threads. Every thread first
/// takes all its permits (the circuit is closed: nothing has failed yet), then, once all have,
/// they record their failures together: calls admitted before a trip and ending after it.
fn fail_together(cb: &CircuitBreaker, total: usize) {
    let admitted = Barrier::new(THREADS);
    thread::scope(|s| {
        for i in 0..THREADS {
            let (cb, admitted) = (cb, &admitted);
            let mine = total / THREADS + usize::from(i < total % THREADS);
            s.spawn(move || {
                let permits: Vec<Permit<'_>> = (0..mine)
                    .map(|_| cb.try_acquire().expect("closed: admitted"))
                    .collect();
                admitted.wait();
                for p in permits {
                    p.failure();
                }
            });
        }
    });
}

/// Like [`fail_together`], but each thread takes a permit right before each failure, so calls
/// after the trip are rejected. Returns the failures recorded.
fn fail_as_admitted(cb: &CircuitBreaker, per_thread: usize) -> usize {
    let start = Barrier::new(THREADS);
    let recorded = AtomicUsize::new(0);
    thread::scope(|s| {
        for _ in 0..THREADS {
            let (cb, start, recorded) = (cb, &start, &recorded);
            s.spawn(move || {
                start.wait();
                for _ in 0..per_thread {
                    match cb.try_acquire() {
                        Ok(p) => {
                            p.failure();
                            recorded.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(e) => assert!(e.retry_after() > Duration::ZERO),
                    }
                }
            });
        }
    });
    recorded.into_inner()
}

#[test]
fn concurrent_failures_below_the_threshold_are_all_counted() {
    const PER_THREAD: usize = 100;
    let total = THREADS * PER_THREAD;
    let (cb, _clock, transitions) = window_rule(Duration::from_secs(10), 2_000);
    assert!(total < 2_000);

    fail_together(&cb, total);

    assert_eq!(cb.errors_in_window() as usize, total, "a failure was lost");
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(transitions.total(), 0);
}

#[test]
fn concurrent_failures_below_the_threshold_are_all_counted_when_interleaved() {
    const PER_THREAD: usize = 100;
    let (cb, _clock, transitions) = window_rule(Duration::from_secs(10), 2_000);

    let recorded = fail_as_admitted(&cb, PER_THREAD);

    assert_eq!(recorded, THREADS * PER_THREAD, "a call was rejected");
    assert_eq!(
        cb.errors_in_window() as usize,
        recorded,
        "a failure was lost"
    );
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(transitions.total(), 0);
}

#[test]
fn the_failure_that_exceeds_t_trips_exactly_once() {
    const PER_THREAD: usize = 100;
    let total = THREADS * PER_THREAD;
    let t = u32::try_from(total - 1).unwrap();
    let window = Duration::from_secs(10);
    let (cb, _clock, transitions) = window_rule(window, t);

    fail_together(&cb, total);

    assert_eq!(transitions.get(State::Closed, State::Open), 1);
    assert_eq!(transitions.total(), 1);
    assert_eq!(cb.state(), State::Open);
    assert_eq!(cb.errors_in_window(), t + 1);
    // Every stamp is 0: open until the oldest of the T + 1 latest is W old.
    assert_eq!(cb.try_acquire().unwrap_err().retry_after(), window);
}

#[test]
fn racing_admissions_and_failures_trip_exactly_once() {
    const PER_THREAD: usize = 50;
    let t = u32::try_from(THREADS * PER_THREAD / 2).unwrap();
    let window = Duration::from_secs(10);
    let (cb, _clock, transitions) = window_rule(window, t);

    let recorded = fail_as_admitted(&cb, PER_THREAD);

    assert!(recorded > t as usize, "only {recorded} failures recorded");
    assert_eq!(transitions.get(State::Closed, State::Open), 1);
    assert_eq!(transitions.total(), 1);
    assert_eq!(cb.state(), State::Open);
    assert_eq!(cb.errors_in_window(), t + 1);
    assert_eq!(cb.try_acquire().unwrap_err().retry_after(), window);
}

#[test]
fn bucketed_mode_trips_exactly_once() {
    let t = 5_000;
    assert!(t > EXACT_MAX_THRESHOLD);
    let (cb, clock, transitions) = window_rule(Duration::from_secs(10), t);
    // Not on a bucket boundary, and not at zero.
    clock.advance(Duration::from_millis(1_234));

    fail_together(&cb, t as usize + 1);

    assert_eq!(transitions.get(State::Closed, State::Open), 1);
    assert_eq!(transitions.total(), 1);
    assert_eq!(cb.state(), State::Open);
    assert_eq!(cb.errors_in_window(), t + 1);
}

#[test]
fn bucketed_mode_below_the_threshold_loses_nothing() {
    let t = 5_000;
    let (cb, _clock, transitions) = window_rule(Duration::from_secs(10), t);

    fail_together(&cb, t as usize);

    assert_eq!(cb.errors_in_window(), t, "a failure was lost");
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(transitions.total(), 0);
}

#[test]
fn a_closed_breaker_stays_closed_under_load() {
    const ROUNDS: usize = 10_000;
    let (cb, _clock, transitions) = window_rule(Duration::from_secs(10), 0);
    let start = Barrier::new(THREADS);
    thread::scope(|s| {
        for i in 0..THREADS {
            let (cb, start) = (&cb, &start);
            s.spawn(move || {
                start.wait();
                for round in 0..ROUNDS {
                    let p = cb.try_acquire().expect("closed: admitted");
                    assert!(!p.is_probe());
                    // Successes, ignored outcomes and cancellations: none is a failure.
                    match (i + round) % 3 {
                        0 => p.success(),
                        1 => p.ignore(),
                        _ => drop(p),
                    }
                }
            });
        }
    });
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(cb.errors_in_window(), 0);
    assert_eq!(transitions.total(), 0);
}

const PROBES: u32 = 2;
const OPEN_TIME: Duration = Duration::from_secs(1);

/// A half-open breaker with P = [`PROBES`]: T = 0, tripped by one failure, then the open time
/// passed.
fn half_open() -> (CircuitBreaker, ManualClock, Arc<Transitions>) {
    let (cb, clock, transitions) = observed(
        CircuitBreaker::builder()
            .window(Duration::from_secs(10))
            .error_threshold(0)
            .probing(Probing::new(PROBES).open_time(OPEN_TIME)),
    );
    cb.try_acquire().unwrap().failure();
    assert_eq!(cb.state(), State::Open);
    clock.advance(OPEN_TIME);
    assert_eq!(cb.state(), State::HalfOpen);
    assert_eq!(transitions.get(State::Closed, State::Open), 1);
    assert_eq!(transitions.get(State::Open, State::HalfOpen), 1);
    assert_eq!(transitions.total(), 2);
    (cb, clock, transitions)
}

/// Every thread tries `attempts` times to get a probe and keeps what it gets; returns them all,
/// held until every thread is done.
fn grab_probes<'a>(cb: &'a CircuitBreaker, attempts: usize) -> Vec<Permit<'a>> {
    let start = Barrier::new(THREADS);
    thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|_| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    (0..attempts)
                        .filter_map(|_| cb.try_acquire().ok())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("thread panicked"))
            .collect()
    })
}

#[test]
fn half_open_admits_at_most_p_probes_to_racing_threads() {
    let (cb, _clock, transitions) = half_open();

    let held = grab_probes(&cb, 50);

    assert_eq!(held.len(), PROBES as usize, "probes admitted at once");
    assert!(held.iter().all(Permit::is_probe));
    assert_eq!(cb.state(), State::HalfOpen);
    assert!(cb.try_acquire().is_err(), "every probe place is taken");

    // Cancelled probes give their places back and count as nothing.
    drop(held);
    assert_eq!(cb.state(), State::HalfOpen);
    let again = grab_probes(&cb, 50);
    assert_eq!(again.len(), PROBES as usize);
    drop(again);
    assert_eq!(transitions.total(), 2);
}

#[test]
fn probes_in_flight_never_exceed_p_under_churn() {
    const ROUNDS: usize = 2_000;
    let (cb, _clock, transitions) = half_open();
    let in_flight = AtomicUsize::new(0);
    let most = AtomicUsize::new(0);
    let admitted = AtomicUsize::new(0);
    let start = Barrier::new(THREADS);
    thread::scope(|s| {
        for i in 0..THREADS {
            let (cb, start, in_flight, most, admitted) =
                (&cb, &start, &in_flight, &most, &admitted);
            s.spawn(move || {
                start.wait();
                for round in 0..ROUNDS {
                    if let Ok(p) = cb.try_acquire() {
                        assert!(p.is_probe());
                        admitted.fetch_add(1, Ordering::SeqCst);
                        // Counted after it is granted and uncounted before it is given back, so
                        // this never counts more than the breaker has out.
                        let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        // Neither outcome moves the circuit: the place is free again.
                        if (i + round) % 2 == 0 {
                            p.ignore();
                        } else {
                            drop(p);
                        }
                    }
                }
            });
        }
    });
    let most = most.into_inner();
    assert!(most <= PROBES as usize, "{most} probes in flight at once");
    assert!(admitted.into_inner() > 0);
    assert_eq!(cb.state(), State::HalfOpen);
    assert_eq!(transitions.total(), 2);
}

#[test]
fn p_probes_succeeding_together_close_exactly_once() {
    let (cb, _clock, transitions) = half_open();
    let probes = grab_probes(&cb, 20);
    assert_eq!(probes.len(), PROBES as usize);

    let go = Barrier::new(probes.len());
    thread::scope(|s| {
        for p in probes {
            let go = &go;
            s.spawn(move || {
                go.wait();
                p.success();
            });
        }
    });

    assert_eq!(transitions.get(State::HalfOpen, State::Closed), 1);
    assert_eq!(transitions.total(), 3);
    assert_eq!(cb.state(), State::Closed);
    assert_eq!(cb.errors_in_window(), 0, "closing clears the window");
}

#[test]
fn p_probes_failing_together_reopen_exactly_once() {
    let (cb, _clock, transitions) = half_open();
    let probes = grab_probes(&cb, 20);
    assert_eq!(probes.len(), PROBES as usize);

    let go = Barrier::new(probes.len());
    thread::scope(|s| {
        for p in probes {
            let go = &go;
            s.spawn(move || {
                go.wait();
                p.failure();
            });
        }
    });

    assert_eq!(transitions.get(State::HalfOpen, State::Open), 1);
    assert_eq!(transitions.total(), 3);
    assert_eq!(cb.state(), State::Open);
    // No backoff: open again for the open time, from the instant of the failure.
    assert_eq!(cb.try_acquire().unwrap_err().retry_after(), OPEN_TIME);
}
