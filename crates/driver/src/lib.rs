//! The demo driver: fires a scripted mix of good and bad requests at the sum service through a
//! [`breaker::CircuitBreaker`], and shows each decision as it happens.
//!
//! The pieces are apart so that each can be tested alone: [`cli`] reads the command line,
//! [`scenario`] makes the list of steps, [`render`] turns what happened into text (a pure
//! function, colour or not), [`run`] drives the requests, [`played`] keeps what each request
//! did, for a trace the replay reads and a picture of the run, and [`change`] is a change of the
//! breaker's state, as the summary lists it and the picture marks it.

pub mod change;
pub mod cli;
pub mod played;
pub mod render;
pub mod run;
pub mod scenario;
