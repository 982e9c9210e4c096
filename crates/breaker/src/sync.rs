//! The atomics the breaker's shared state is built from, in one place.
//!
//! Every shared word (and the probe lock) goes through these names, so that a model checker's
//! atomics can be put in their place by changing this file alone. Built with `--cfg loom`, they
//! are [loom](https://docs.rs/loom)'s, and `tests/loom.rs` explores the interleavings of the
//! breaker's concurrent core with them; otherwise they are std's.
//!
//! What goes through here: the published word, the failure window's stamps and its bucket
//! counters, the rules' counters, the probing lock, and [`ManualClock`](crate::ManualClock)'s
//! time, which the models move and read.
//!
//! What does not, and why:
//!
//! - [`MonotonicClock`](crate::MonotonicClock)'s origin: a process-wide `static`, set once and
//!   never written again. Loom cannot model a static shared by every model run (its objects
//!   live inside one execution), and the origin carries no state the breaker's logic depends
//!   on; it stays a std `OnceLock`, and the models use `ManualClock`.
//! - the failure-rate rule's stripe assignment (a std `static` counter and a `thread_local!`):
//!   which stripe a thread writes changes only how threads contend, never a count, since every
//!   write to a stripe is an atomic operation on the stripe's own words (which do go through
//!   here) and every read sums all the stripes.

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicU32, AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::{Mutex, MutexGuard};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::{Mutex, MutexGuard};
