//! The cost per call of the paths that matter: a success while closed, a rejection while open,
//! and recording a failure.

use std::future::{Future, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use breaker::{CircuitBreaker, ManualClock};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Polls a future that is ready at once, without a runtime.
fn run_ready<F: Future>(f: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("the benchmarked futures are ready at once"),
    }
}

/// Polls a future once after moving it into a function that is not inlined, as
/// `futures::FutureExt::now_or_never` is from a caller in another codegen unit; the call is a
/// fresh async block each time.
#[inline(never)]
fn run_moved<F: Future>(f: F) -> Option<F::Output> {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(f).poll(&mut cx) {
        Poll::Ready(v) => Some(v),
        Poll::Pending => None,
    }
}

fn closed_success(c: &mut Criterion) {
    let cb = CircuitBreaker::new(Duration::from_secs(5), 3);
    let mut g = c.benchmark_group("closed_success");
    g.bench_function("permit", |b| {
        b.iter(|| black_box(&cb).try_acquire().map(|p| p.success()))
    });
    g.bench_function("call_ready_future", |b| {
        b.iter(|| run_ready(cb.call(ready(Ok::<u64, ()>(black_box(7))))))
    });
    g.bench_function("call_moved_async_block", |b| {
        b.iter(|| {
            let ok = black_box(7);
            run_moved(black_box(&cb).call(async move { Ok::<u64, ()>(ok) }))
        })
    });
    g.finish();
}

fn open_rejection(c: &mut Criterion) {
    let cb = CircuitBreaker::new(Duration::from_secs(3600), 0);
    cb.try_acquire().unwrap().failure();
    c.bench_function("open_rejection", |b| {
        b.iter(|| black_box(black_box(&cb).try_acquire().is_err()))
    });
    c.bench_function("open_rejection_call_moved_async_block", |b| {
        b.iter(|| {
            let ok = black_box(7);
            run_moved(black_box(&cb).call(async move { Ok::<u64, ()>(ok) }))
        })
    });
}

fn record_failure(c: &mut Criterion) {
    let mut g = c.benchmark_group("record_failure");
    for threshold in [3u32, 100, 10_000] {
        // A threshold the bench never reaches: the circuit stays closed, so every call is
        // admitted and its failure recorded. The clock moves 1 ms per failure and the window
        // is short enough that the count stays below T.
        let clock = ManualClock::new();
        let cb = CircuitBreaker::builder()
            .window(Duration::from_millis(u64::from(threshold)))
            .error_threshold(threshold)
            .clock(clock.clone())
            .build()
            .unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(threshold), &cb, |b, cb| {
            b.iter(|| {
                clock.advance(Duration::from_millis(1));
                cb.try_acquire().unwrap().failure();
            })
        });
    }
    g.finish();
}

criterion_group!(benches, closed_success, open_rejection, record_failure);
criterion_main!(benches);
