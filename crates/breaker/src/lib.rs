#![cfg_attr(feature = "reqwest", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "reqwest"),
    doc = "An exact rolling-window circuit breaker. Build with the `reqwest` feature (on by \
           default) for the full crate documentation, whose examples include one with reqwest."
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod breaker;
mod clock;
mod error;
pub mod http;
mod probe;
mod sync;
pub mod window;

pub use crate::breaker::{Builder, CircuitBreaker, Outcome, Permit, Probing, State, StateChange};
pub use crate::clock::{Clock, ManualClock, MonotonicClock};
pub use crate::error::{CircuitOpenError, ConfigError, Error};
