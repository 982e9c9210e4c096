//! What a breaker tells the outside world: its metrics (feature `metrics`) and its tracing events
//! (feature `tracing`), each read back through a recorder or a subscriber local to the test.
#![cfg(any(feature = "metrics", feature = "tracing"))]

#[path = "../support/mod.rs"]
mod support;

#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "tracing")]
mod tracing;
