//! `breaker` against its peers, per call, in one run and one harness: a closed success (async,
//! async through `now_or_never` on a fresh async block, and sync), an open rejection (the same
//! three), a failure for T = 3, 100 and 10 000, two threads sharing one breaker,
//! the cost of a success as the request rate and the window grow, and a success under each trip
//! rule (one thread and two).
//!
//! The subjects and paths are in `common/mod.rs`; `scripts/bench-tables.py` turns the results
//! (`target/criterion/vs_*`) into the tables of `BENCHMARKS.md`.

mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use breaker::{Clock, ManualClock, MonotonicClock};
use breaker_bench::{block_on, on_two_threads, run_ready};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use recloser::AsyncRecloser;

use common::*;

/// A success and a failure, hidden from the optimiser at each call. The groups take them as
/// closures rather than function pointers, so that no row pays an indirect call per iteration.
#[inline(always)]
fn ok() -> Outcome {
    Ok(black_box(7))
}

#[inline(always)]
fn err() -> Outcome {
    Err(black_box(7))
}

/// Every crate's async path on one kind of breaker (closed or open), in one group.
fn async_group(
    g: &mut BenchmarkGroup<'_, WallTime>,
    outcome: impl Fn() -> Outcome + Copy,
    breakers: (
        breaker::CircuitBreaker,
        recloser::Recloser,
        Failsafe,
        breaker_peer::CircuitBreaker,
        Tower,
    ),
) {
    let (ours, recloser, failsafe, peer, mut tower) = breakers;
    let recloser = AsyncRecloser::from(recloser);
    g.bench_function("ours", |b| {
        b.iter(|| run_ready(ours_async(&ours, outcome())))
    });
    g.bench_function("recloser", |b| {
        b.iter(|| run_ready(recloser_async(&recloser, outcome())))
    });
    g.bench_function("failsafe", |b| {
        b.iter(|| run_ready(failsafe_async(&failsafe, outcome())))
    });
    g.bench_function("breaker_2_0_2", |b| {
        b.iter(|| run_ready(peer_async(&peer, outcome())))
    });
    g.bench_function("tower_resilience", |b| {
        b.iter(|| run_ready(tower_async(&mut tower, outcome())))
    });
}

/// Every crate's `now_or_never` path (a fresh async block per call) on one kind of breaker, in
/// one group.
fn now_or_never_group(
    g: &mut BenchmarkGroup<'_, WallTime>,
    outcome: impl Fn() -> Outcome + Copy,
    breakers: (
        breaker::CircuitBreaker,
        recloser::Recloser,
        Failsafe,
        breaker_peer::CircuitBreaker,
        Tower,
    ),
) {
    let (ours, recloser, failsafe, peer, mut tower) = breakers;
    let recloser = AsyncRecloser::from(recloser);
    g.bench_function("ours", |b| {
        b.iter(|| ours_now_or_never(black_box(&ours), outcome()))
    });
    g.bench_function("recloser", |b| {
        b.iter(|| recloser_now_or_never(&recloser, outcome()))
    });
    g.bench_function("failsafe", |b| {
        b.iter(|| failsafe_now_or_never(&failsafe, outcome()))
    });
    g.bench_function("breaker_2_0_2", |b| {
        b.iter(|| peer_now_or_never(&peer, outcome()))
    });
    g.bench_function("tower_resilience", |b| {
        b.iter(|| tower_now_or_never(&mut tower, outcome()))
    });
}

/// Every crate's sync path (tower has none), in one group.
fn sync_group(
    g: &mut BenchmarkGroup<'_, WallTime>,
    outcome: impl Fn() -> Outcome + Copy,
    breakers: (
        breaker::CircuitBreaker,
        recloser::Recloser,
        Failsafe,
        breaker_peer::CircuitBreaker,
    ),
) {
    let (ours, recloser, failsafe, peer) = breakers;
    g.bench_function("ours", |b| {
        b.iter(|| ours_sync(black_box(&ours), outcome()))
    });
    g.bench_function("recloser", |b| {
        b.iter(|| recloser_sync(&recloser, outcome()))
    });
    g.bench_function("failsafe", |b| {
        b.iter(|| failsafe_sync(&failsafe, outcome()))
    });
    g.bench_function("breaker_2_0_2", |b| b.iter(|| peer_sync(&peer, outcome())));
}

fn closed_success(c: &mut Criterion) {
    let t = THRESHOLD;
    let mut g = c.benchmark_group("vs_closed_async");
    async_group(
        &mut g,
        ok,
        (ours(t), recloser(t), failsafe(t), peer(t), tower(t)),
    );
    g.finish();
    let mut g = c.benchmark_group("vs_closed_now_or_never");
    now_or_never_group(
        &mut g,
        ok,
        (ours(t), recloser(t), failsafe(t), peer(t), tower(t)),
    );
    g.finish();
    let mut g = c.benchmark_group("vs_closed_sync");
    sync_group(&mut g, ok, (ours(t), recloser(t), failsafe(t), peer(t)));
    g.finish();
}

/// What polling costs apart from any breaker: a fresh async block with no breaker and ours
/// `call` on one, each through the poller inlined into the loop (`run_ready`), through a poller
/// the loop cannot inline (`run_ready_out_of_line`, a function of another crate marked
/// `#[inline(never)]`), and through `now_or_never` (inlined or not, as the compiler chose for
/// this build), beside the permit. The bare block is the floor of each poller: no future
/// polled through it can cost less.
fn poller(c: &mut Criterion) {
    let ours = ours(THRESHOLD);
    let mut g = c.benchmark_group("vs_poller");
    g.bench_function("permit", |b| b.iter(|| ours_sync(black_box(&ours), ok())));
    g.bench_function("inlined/async_block", |b| b.iter(|| bare_inlined(ok())));
    g.bench_function("inlined/call", |b| {
        b.iter(|| ours_inlined(black_box(&ours), ok()))
    });
    g.bench_function("out_of_line/async_block", |b| {
        b.iter(|| bare_out_of_line(ok()))
    });
    g.bench_function("out_of_line/call", |b| {
        b.iter(|| ours_out_of_line(black_box(&ours), ok()))
    });
    g.bench_function("now_or_never/async_block", |b| {
        b.iter(|| bare_now_or_never(ok()))
    });
    g.bench_function("now_or_never/call", |b| {
        b.iter(|| ours_now_or_never(black_box(&ours), ok()))
    });
    g.finish();
}

fn open_rejection(c: &mut Criterion) {
    let mut g = c.benchmark_group("vs_open_async");
    let open = (
        ours_open(),
        recloser_open(),
        failsafe_open(),
        peer_open(),
        tower_open(),
    );
    async_group(&mut g, ok, open);
    g.finish();
    let mut g = c.benchmark_group("vs_open_now_or_never");
    let open = (
        ours_open(),
        recloser_open(),
        failsafe_open(),
        peer_open(),
        tower_open(),
    );
    now_or_never_group(&mut g, ok, open);
    g.finish();
    let mut g = c.benchmark_group("vs_open_sync");
    sync_group(
        &mut g,
        ok,
        (ours_open(), recloser_open(), failsafe_open(), peer_open()),
    );
    g.finish();
}

fn record_failure(c: &mut Criterion) {
    // The async path, which every crate has, for each T.
    let mut g = c.benchmark_group("vs_failure");
    for t in [3u32, 100, 10_000] {
        let ours = failing::ours(t);
        g.bench_with_input(BenchmarkId::new("ours", t), &t, |b, _| {
            b.iter(|| run_ready(ours_async(&ours, err())))
        });
        let recloser = AsyncRecloser::from(failing::recloser(t));
        g.bench_with_input(BenchmarkId::new("recloser", t), &t, |b, _| {
            b.iter(|| run_ready(recloser_async(&recloser, err())))
        });
        let failsafe = failing::failsafe(t);
        g.bench_with_input(BenchmarkId::new("failsafe", t), &t, |b, _| {
            b.iter(|| run_ready(failsafe_async(&failsafe, err())))
        });
        let peer = failing::peer(t);
        g.bench_with_input(BenchmarkId::new("breaker_2_0_2", t), &t, |b, _| {
            b.iter(|| run_ready(peer_async(&peer, err())))
        });
        let mut tower = failing::tower(t);
        g.bench_with_input(BenchmarkId::new("tower_resilience", t), &t, |b, _| {
            b.iter(|| run_ready(tower_async(&mut tower, err())))
        });
    }
    g.finish();
    // And the sync paths at T = 3.
    let t = THRESHOLD;
    let mut g = c.benchmark_group("vs_failure_sync");
    let failing = (
        failing::ours(t),
        failing::recloser(t),
        failing::failsafe(t),
        failing::peer(t),
    );
    sync_group(&mut g, err, failing);
    g.finish();
}

fn two_threads(c: &mut Criterion) {
    let t = THRESHOLD;
    let mut g = c.benchmark_group("vs_two_threads_async");
    let ours = ours(t);
    g.bench_function("ours", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, || {
                || {
                    black_box(block_on(ours_async(&ours, ok())));
                }
            })
        })
    });
    let recloser = AsyncRecloser::from(recloser(t));
    g.bench_function("recloser", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, || {
                || {
                    black_box(block_on(recloser_async(&recloser, ok())));
                }
            })
        })
    });
    let failsafe = failsafe(t);
    g.bench_function("failsafe", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, || {
                || {
                    black_box(block_on(failsafe_async(&failsafe, ok())));
                }
            })
        })
    });
    let peer = peer(t);
    g.bench_function("breaker_2_0_2", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, || {
                || {
                    black_box(block_on(peer_async(&peer, ok())));
                }
            })
        })
    });
    let tower = tower(t);
    g.bench_function("tower_resilience", |b| {
        b.iter_custom(|n| {
            // `Service::call` takes `&mut self`: each thread drives its own clone, and the
            // clones share one circuit.
            on_two_threads(n, || {
                let mut svc = tower.clone();
                move || {
                    black_box(block_on(tower_async(&mut svc, ok())));
                }
            })
        })
    });
    g.finish();

    let mut g = c.benchmark_group("vs_two_threads_sync");
    let ours = common::ours(t);
    g.bench_function("ours", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, || {
                || {
                    black_box(ours_sync(black_box(&ours), ok()));
                }
            })
        })
    });
    let recloser = common::recloser(t);
    g.bench_function("recloser", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, || {
                || {
                    black_box(recloser_sync(&recloser, ok()));
                }
            })
        })
    });
    let failsafe = common::failsafe(t);
    g.bench_function("failsafe", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, || {
                || {
                    black_box(failsafe_sync(&failsafe, ok()));
                }
            })
        })
    });
    let peer = common::peer(t);
    g.bench_function("breaker_2_0_2", |b| {
        b.iter_custom(|n| {
            on_two_threads(n, || {
                || {
                    black_box(peer_sync(&peer, ok()));
                }
            })
        })
    });
    g.finish();
}

/// A short label for a window.
fn label(d: Duration) -> String {
    match d.as_millis() {
        ms if ms >= 1_000 => format!("{}s", ms / 1_000),
        ms => format!("{ms}ms"),
    }
}

/// A short label for a rate.
fn per_second(rate: u64) -> String {
    match rate {
        r if r >= 1_000_000_000 => format!("{}G", r / 1_000_000_000),
        r if r >= 1_000_000 => format!("{}M", r / 1_000_000),
        r if r >= 1_000 => format!("{}k", r / 1_000),
        r => r.to_string(),
    }
}

/// The cost of a success as the request rate and the window grow, in simulated time for the
/// crates whose clock can be driven (each iteration moves it on by one request interval), and
/// in real time for tower-resilience, whose time-based window keeps a record per call.
fn success_growth(c: &mut Criterion) {
    const T: u32 = 100;
    let windows = [
        Duration::from_secs(1),
        Duration::from_secs(60),
        Duration::from_secs(3600),
    ];
    let rates: [u64; 3] = [1_000, 1_000_000, 1_000_000_000];
    let mut g = c.benchmark_group("vs_success_growth");
    for w in windows {
        for rate in rates {
            let id = format!("W={} rate={}/s", label(w), per_second(rate));
            let step = Duration::from_nanos(1_000_000_000 / rate);

            // Ours: T / 2 failures spread over the last W, then successes at `rate`.
            let clock = ManualClock::new();
            let cb = breaker::CircuitBreaker::builder()
                .window(w)
                .error_threshold(T)
                .clock(clock.clone())
                .build()
                .expect("a valid configuration");
            for _ in 0..T / 2 {
                clock.advance(w / (T / 2));
                cb.try_acquire().expect("closed").failure();
            }
            g.bench_function(BenchmarkId::new("ours", &id), |b| {
                b.iter(|| {
                    clock.advance(step);
                    ours_sync(black_box(&cb), ok())
                })
            });

            // failsafe's time-window policy (success rate over W), on its own test clock.
            failsafe::clock::freeze(|mock| {
                let policy = failsafe::failure_policy::success_rate_over_time_window(
                    0.5,
                    1,
                    w,
                    failsafe::backoff::constant(WINDOW),
                );
                let cb = failsafe::Config::new().failure_policy(policy).build();
                g.bench_function(BenchmarkId::new("failsafe", &id), |b| {
                    b.iter(|| {
                        mock.advance(step);
                        black_box(failsafe::CircuitBreaker::call(&cb, ok))
                    })
                });
            });
        }
    }
    // tower-resilience, in real time: the rate is the bench loop's own.
    for w in [
        Duration::from_millis(1),
        Duration::from_millis(10),
        Duration::from_millis(100),
    ] {
        let mut svc = tower_time_window(w);
        let id = format!("W={} rate=loop", label(w));
        g.bench_function(BenchmarkId::new("tower_resilience", &id), |b| {
            b.iter(|| run_ready(tower_async(&mut svc, ok())))
        });
    }
    g.finish();
}

/// What a clock read costs here: the part of an open rejection no breaker can skip.
fn clock_reads(c: &mut Criterion) {
    let mut g = c.benchmark_group("vs_reference");
    g.bench_function("instant_now", |b| b.iter(Instant::now));
    let clock: Arc<dyn Clock> = Arc::new(MonotonicClock::new());
    g.bench_function("monotonic_clock_dyn", |b| {
        b.iter(|| black_box(&clock).now())
    });
    let stepping: Arc<dyn Clock> = Arc::new(Stepping::new(Duration::from_millis(1)));
    g.bench_function("stepping_clock_dyn", |b| {
        b.iter(|| black_box(&stepping).now())
    });
    g.finish();
}

/// One subject of the rules rows: a sync call with a given outcome, whether it was admitted.
type Subject = Box<dyn Fn(Outcome) -> bool + Send + Sync>;

/// The breakers of the rules rows: ours with each rule alone, and the peers that have a
/// failure-rate rule, each at a rate of 0.5 over at least 100 calls in W.
fn rule_subjects() -> Vec<(&'static str, Subject)> {
    use failsafe::failure_policy::success_rate_over_time_window;
    let with = |b: breaker::Builder| b.window(WINDOW).build().expect("a valid breaker");
    let count = with(breaker::CircuitBreaker::builder().error_threshold(THRESHOLD));
    let rate = with(breaker::CircuitBreaker::builder().failure_rate(0.5, 100));
    let streak = with(breaker::CircuitBreaker::builder().consecutive_failures(THRESHOLD + 1));
    let slow = with(
        breaker::CircuitBreaker::builder()
            .error_threshold(THRESHOLD)
            .slow_call(Duration::from_secs(1)),
    );
    let recloser = recloser::Recloser::custom()
        .error_rate(0.5)
        .closed_len(100)
        .open_wait(WINDOW)
        .build();
    let failsafe = failsafe::Config::new()
        .failure_policy(success_rate_over_time_window(
            0.5,
            100,
            WINDOW,
            failsafe::backoff::constant(WINDOW),
        ))
        .build();
    vec![
        ("ours_count", Box::new(move |o| ours_sync(&count, o))),
        ("ours_failure_rate", Box::new(move |o| ours_sync(&rate, o))),
        ("ours_consecutive", Box::new(move |o| ours_sync(&streak, o))),
        ("ours_slow_call", Box::new(move |o| ours_sync(&slow, o))),
        (
            "recloser_error_rate",
            Box::new(move |o| !matches!(recloser.call(|| o), Err(recloser::Error::Rejected))),
        ),
        (
            "failsafe_success_rate",
            Box::new(move |o| {
                let call = failsafe::CircuitBreaker::call(&failsafe, || o);
                !matches!(call, Err(failsafe::Error::Rejected))
            }),
        ),
    ]
}

/// A closed success under each rule, sync (ours: the permit API), on one thread and on two
/// sharing one breaker: the failure-rate rule writes shared memory on a success, striped.
fn rules(c: &mut Criterion) {
    let mut g = c.benchmark_group("vs_rules_success");
    for (name, call) in rule_subjects() {
        g.bench_function(name, |b| b.iter(|| black_box(call(ok()))));
    }
    g.finish();
    let mut g = c.benchmark_group("vs_rules_success_two_threads");
    for (name, call) in rule_subjects() {
        let call = &call;
        g.bench_function(name, |b| {
            b.iter_custom(|n| {
                on_two_threads(n, || {
                    || {
                        black_box(call(ok()));
                    }
                })
            })
        });
    }
    g.finish();
}

/// Short runs: the whole comparison has to fit in a few minutes on two cores.
fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(400))
        .measurement_time(Duration::from_millis(1_200))
        .sample_size(30)
}

criterion_group! {
    name = benches;
    config = config();
    targets = closed_success, poller, open_rejection, record_failure, two_threads, success_growth,
        clock_reads, rules
}
criterion_main!(benches);
