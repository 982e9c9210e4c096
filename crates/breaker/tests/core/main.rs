//! The breaker's core, with no integration: window timelines, the trip rules and manual control,
//! probing, shadow mode, the fleet seams, threads racing, the reference model and the regression
//! tests. One binary for every test that needs no feature of the crate; each
//! module is one area, and all of them share `support`.
//!
//! Time moves only on a `ManualClock`; nothing sleeps.

#[path = "../support/mod.rs"]
mod support;

mod build;
mod concurrency;
mod fleet_seam;
mod half_open;
mod model;
mod regression;
mod rules;
mod shadow;
mod timeline;
