#![doc = include_str!("../README.md")]
// Without the `http` feature the README's links into that module have nowhere to go: they lead
// to the feature table, which says what turns the module on.
#![cfg_attr(
    not(feature = "http"),
    doc = "",
    doc = "[`http`]: #features",
    doc = "[`http::BreakerClient`]: #features",
    doc = "[http::BreakerClientBuilder::honour_retry_after]: #features",
    doc = "[`http::Attempt::Response`]: #features",
    doc = "[`http::default_classifier`]: #features",
    doc = "[`http::retry_after`]: #features"
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod breaker;
mod builder;
mod call;
mod classify;
mod clock;
mod error;
mod guard;
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
pub use crate::classify::Classify;
pub use crate::clock::{Clock, ManualClock, MonotonicClock};
pub use crate::error::{CircuitOpenError, ConfigError, Error};
pub use crate::permit::{BreakerRef, Holds, Permit};
#[cfg(feature = "registry")]
pub use crate::registry::Registry;
pub use crate::state::{Outcome, Reason, State, StateChange};
pub use crate::window::{BUCKETS as WINDOW_BUCKETS, EXACT_MAX_THRESHOLD};
