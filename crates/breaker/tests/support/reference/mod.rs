//! The reference models of the breaker, and the runs that check a real breaker against them at
//! every step: shared by the property tests (`tests/core/model.rs`) and the fuzz target
//! `breaker_model`, which include this module with `#[path]`.
//!
//! Two models, both deliberately naive. The exact one keeps every failure stamp ever recorded and
//! applies the count rule literally: at time `now`, a stamp `t` is in the window iff
//! `t <= now < t + W`; the circuit is open iff more than T stamps are; while open, it admits a
//! call again at `s + W`, `s` being the (T + 1)-th most recent stamp. The second covers every
//! trip rule, probing and manual control. [`exact`] holds the first model and its run, [`setup`]
//! a configuration as drawn, [`rules`] the second model and its run.
//!
//! A run reports the first disagreement as `Err(message)`; the includer turns it into its own
//! kind of failure (a proptest case, a fuzzer crash). The includer's crate root must have the
//! `support` module (`tests/support/mod.rs`), for `Timeline`.
#![allow(dead_code)]

/// Returns `Err` with the message unless the condition holds.
macro_rules! ensure {
    ($cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(format!($($message)+));
        }
    };
}

/// Returns `Err` with the message and both values unless they are equal.
macro_rules! ensure_eq {
    ($left:expr, $right:expr, $($message:tt)+) => {{
        let (left, right) = (&$left, &$right);
        if left != right {
            return Err(format!("{}: {:?} != {:?}", format_args!($($message)+), left, right));
        }
    }};
}

mod exact;
mod rules;
mod setup;

pub use exact::*;
pub use rules::*;
pub use setup::*;
