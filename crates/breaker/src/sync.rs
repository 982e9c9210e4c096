//! The atomics the breaker's shared state is built from, in one place.
//!
//! Every shared word (and the probe lock) goes through these names, so that a model checker's
//! atomics can be put in their place by changing this file alone. Built with `--cfg loom`, they
//! are [loom](https://docs.rs/loom)'s, and `tests/loom.rs` explores the interleavings of the
//! breaker's concurrent core with them; otherwise they are std's.
//!
//! What goes through here: the published word, the failure window's stamps and its bucket
//! counters, the rules' counters, the probing lock, [`ManualClock`](crate::ManualClock)'s time,
//! which the models move and read, and the process-wide statics: the origin of
//! [`MonotonicClock`](crate::MonotonicClock) and the failure-rate rule's stripe assignment (a
//! counter, and a thread-local). Under loom a process-wide static is made afresh in each model
//! execution ([`process_static!`]), as loom's own `lazy_static!` does.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::AtomicUsize;
#[cfg(loom)]
pub(crate) use loom::thread_local;

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::AtomicUsize;
#[cfg(not(loom))]
pub(crate) use std::thread_local;

/// `process_static!(NAME: Type = init)`: a static made on first use, read through `&*NAME`. A std
/// `LazyLock`; under loom, loom's `lazy_static!`, made afresh in each model execution.
#[cfg(not(loom))]
macro_rules! process_static {
    ($name:ident: $t:ty = $init:expr) => {
        static $name: std::sync::LazyLock<$t> = std::sync::LazyLock::new(|| $init);
    };
}

#[cfg(loom)]
macro_rules! process_static {
    ($name:ident: $t:ty = $init:expr) => {
        loom::lazy_static! {
            static ref $name: $t = $init;
        }
    };
}

pub(crate) use process_static;
