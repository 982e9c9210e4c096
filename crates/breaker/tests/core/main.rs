//! The breaker and what needs no HTTP stack: window timelines, the trip rules and manual
//! control, probing, shadow mode, the builder, the fleet seams, threads racing, the reference
//! model and the regression tests; with their features, the registry and the metrics (read
//! through a recorder local to the test's thread). Each module is one area, and all of them
//! share `support`.
//!
//! Time moves only on a `ManualClock`; nothing sleeps.

#[path = "../support/mod.rs"]
mod support;

mod build;
mod concurrency;
mod fleet_seam;
mod half_open;
#[cfg(feature = "metrics")]
mod metrics;
mod model;
#[cfg(feature = "registry")]
mod registry;
mod regression;
mod rules;
mod shadow;
mod timeline;
