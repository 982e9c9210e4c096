#![doc = include_str!("../README.md")]
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
