//! The harness shared by the side-by-side benchmarks of `breaker` and its peers.
//!
//! Every crate is measured through the same few pieces, so that a difference in a table is a
//! difference between the crates and not between the ways they were driven:
//!
//! - [`run_ready`] polls a future once with [`Waker::noop`]: the cost of an async call whose
//!   inner future is ready at once, with no runtime in the way;
//! - [`block_on`] polls a future to completion on the calling thread, parking it while the
//!   future is pending: for the two-thread runs, where a peer's lock may make a call wait
//!   (a future ready at once costs what it costs under [`run_ready`]);
//! - [`on_two_threads`] runs the same number of calls on two threads released together by a
//!   barrier, and returns the wall time of the slower one.
//!
//! The peers themselves are dev-dependencies of this package and appear only in its benches.

use std::future::Future;
use std::pin::{Pin, pin};
use std::sync::{Arc, Barrier};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

/// Polls `future` once, with a waker that does nothing, and returns its output.
///
/// # Panics
///
/// If the future is not ready on its first poll: the benchmarked futures always are.
///
/// ```
/// assert_eq!(breaker_bench::run_ready(async { 7 }), 7);
/// ```
// Always inlined, so that the future is built in place rather than moved into this frame:
// the move (a memcpy of the whole future) would otherwise be part of every crate's time.
#[inline(always)]
pub fn run_ready<F: Future>(future: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(future).poll(&mut cx) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("run_ready: the future was not ready on its first poll"),
    }
}

/// Polls `future` once, as [`run_ready`] does, in a function its caller never inlines: the
/// shape of a poller compiled apart from the code that built the future, which takes the future
/// by value (`futures::FutureExt::now_or_never` when the compiler does not inline it, and the
/// `block_on` or `spawn` of many executors). The future is moved into this function's frame
/// before it is polled.
///
/// # Panics
///
/// As [`run_ready`].
///
/// ```
/// assert_eq!(breaker_bench::run_ready_out_of_line(async { 7 }), 7);
/// ```
#[inline(never)]
pub fn run_ready_out_of_line<F: Future>(future: F) -> F::Output {
    run_ready(future)
}

pin_project_lite::pin_project! {
    /// A future's output turned into whether the call was admitted: what
    /// `futures::FutureExt::map` does, with a poll that is always inlined into the caller, so
    /// that no crate's row depends on where the compiler places a combinator of another crate
    /// (out of line, it would cost every row a call and a move of the output). Made by
    /// [`admitted`].
    pub struct Admitted<F, R> {
        #[pin]
        future: F,
        rejected: R,
    }
}

/// `future`'s output mapped to `true` unless `rejected` says the call was rejected.
///
/// ```
/// let admitted = breaker_bench::admitted(async { Err::<u8, &str>("open") }, |r| r.is_err());
/// assert!(!breaker_bench::run_ready(admitted));
/// ```
#[inline(always)]
pub fn admitted<F, R>(future: F, rejected: R) -> Admitted<F, R>
where
    F: Future,
    R: Fn(&F::Output) -> bool,
{
    Admitted { future, rejected }
}

impl<F, R> Future for Admitted<F, R>
where
    F: Future,
    R: Fn(&F::Output) -> bool,
{
    type Output = bool;

    #[inline(always)]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<bool> {
        let this = self.project();
        this.future.poll(cx).map(|output| !(this.rejected)(&output))
    }
}

/// Wakes a parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

thread_local! {
    /// One waker per thread, made once, so that [`block_on`] allocates nothing per call.
    static THREAD_WAKER: Waker = Waker::from(Arc::new(Unpark(thread::current())));
}

/// Polls `future` to completion on this thread, parking the thread while it is pending.
///
/// The first poll uses [`Waker::noop`], as [`run_ready`] does, so that a future ready at once
/// costs the same here as there: no waker is looked up, as an executor has its own at hand.
/// Only a future that returns `Pending` is polled again with a waker that unparks this thread;
/// polling it again at once also catches a wake-up that went to the no-op waker meanwhile.
///
/// ```
/// assert_eq!(breaker_bench::block_on(async { 7 }), 7);
/// ```
#[inline(always)]
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    if let Poll::Ready(output) = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        return output;
    }
    THREAD_WAKER.with(|waker| {
        let mut cx = Context::from_waker(waker);
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
            thread::park();
        }
    })
}

/// Runs `iters` calls on each of two threads that share whatever `make` captures, and returns
/// the wall time of the slower thread, from the moment a barrier releases both.
///
/// `make` is called once on each thread, before the barrier, to build that thread's call (a
/// clone of a handle, say, for an API that needs `&mut`); the call is then made `iters` times.
/// The time returned is therefore the time per call as each thread sees it, times `iters`:
/// what criterion's `iter_custom` expects.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// let calls = AtomicU64::new(0);
/// let elapsed = breaker_bench::on_two_threads(1_000, || {
///     || {
///         calls.fetch_add(1, Ordering::Relaxed);
///     }
/// });
/// assert_eq!(calls.load(Ordering::Relaxed), 2_000);
/// # let _ = elapsed;
/// ```
pub fn on_two_threads<M, C>(iters: u64, make: M) -> Duration
where
    M: Fn() -> C + Sync,
    C: FnMut(),
{
    let barrier = Barrier::new(2);
    thread::scope(|s| {
        let run = || {
            let mut call = make();
            barrier.wait();
            let start = Instant::now();
            for _ in 0..iters {
                call();
            }
            start.elapsed()
        };
        let other = s.spawn(run);
        let mine = run();
        let theirs = other.join().expect("a benchmark thread panicked");
        mine.max(theirs)
    })
}
