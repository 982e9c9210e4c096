#![cfg_attr(feature = "reqwest", doc = include_str!("../README.md"))]
#![cfg_attr(
    not(feature = "reqwest"),
    doc = "An exact rolling-window circuit breaker. Build with the `reqwest` feature (on by \
           default) for the full crate documentation, whose examples include one with reqwest."
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod breaker;
mod builder;
mod call;
mod clock;
mod error;
#[cfg(feature = "http")]
pub mod http;
mod inner;
mod machine;
#[cfg(feature = "reqwest-middleware")]
pub mod middleware;
mod nanos;
mod observe;
mod permit;
mod permit_word;
#[cfg(feature = "registry")]
mod registry;
mod rules;
mod state;
mod state_word;
mod sync;
mod tagged;
#[cfg(feature = "tower")]
pub mod tower;
mod window;

pub use crate::breaker::{CircuitBreaker, OwnedPermit};
pub use crate::builder::{Builder, Probing};
pub use crate::clock::{Clock, ManualClock, MonotonicClock};
pub use crate::error::{CircuitOpenError, ConfigError, Error};
pub use crate::permit::{BreakerRef, Holds, Permit};
#[cfg(feature = "registry")]
pub use crate::registry::Registry;
pub use crate::state::{Outcome, Reason, State, StateChange};
pub use crate::window::{BUCKETS as WINDOW_BUCKETS, EXACT_MAX_THRESHOLD};
