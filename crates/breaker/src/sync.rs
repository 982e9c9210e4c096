//! The atomics the breaker's shared state is built from, in one place.
//!
//! Every shared word (and the probe lock) goes through these names, so that a model checker's atomics (loom's, say)
//! can be put in their place by changing this file alone.

pub(crate) use std::sync::atomic::{AtomicU64, Ordering};
pub(crate) use std::sync::{Mutex, MutexGuard};
