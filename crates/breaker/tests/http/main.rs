//! The HTTP integrations against servers on loopback: [`BreakerClient`] over reqwest and its
//! faults on the wire (feature `reqwest`), the reqwest middleware (feature `reqwest-middleware`)
//! and the tower layer (feature `tower`). One binary for every test that needs the HTTP test
//! stack (wiremock, hyper, raw TCP servers); each module is built with the feature it tests.
//!
//! [`BreakerClient`]: breaker::http::BreakerClient
#![cfg(any(feature = "reqwest", feature = "tower"))]

#[path = "../support/mod.rs"]
mod support;

#[cfg(feature = "reqwest")]
mod faults;
#[cfg(feature = "reqwest")]
mod http;
#[cfg(feature = "reqwest-middleware")]
mod middleware;
#[cfg(feature = "tower")]
mod tower;
