//! Replays recorded traffic through the real circuit breaker, to choose W and T from it.
//!
//! Nobody should pick a window W and a threshold T blind. This crate reads a log of calls
//! (`jsonl`, CSV or an access log; see [`read`]), runs them through a real
//! [`breaker::CircuitBreaker`] on a clock that only the replay moves ([`Replay`]), and says what
//! the setting would have done: the calls it would have let through and rejected, by their
//! logged outcome, its trips and the time it stayed open ([`Report`]). A [`Sweep`] does the same
//! for many settings over one read of the log, in parallel, and marks the ones on the Pareto
//! front of failures let through against successes rejected. The `breaker-replay` binary is a
//! thin command line over them ([`cli`]), and [`draw`] pictures a run or a sweep as SVG.
//!
//! The guide to the command is the crate's `README.md`: installing and running it, the input
//! formats (with the nginx `log_format` that logs request times), what a replay assumes, how to
//! read a sweep and its Pareto front, and a worked example on the log shipped as
//! `examples/traffic.log`, with its pictures, down to a chosen W and T. Its Rust examples run
//! as doctests of this crate.
//!
//! ```
//! use std::time::Duration;
//! use breaker::Outcome;
//! use breaker_replay::{Record, Replay, Settings};
//!
//! // A failure every 100 ms for a second, then successes.
//! let calls: Vec<Record> = (0..20)
//!     .map(|i| Record {
//!         line: i + 1,
//!         start: i as i64 * 100_000_000,
//!         duration: Duration::from_millis(20),
//!         outcome: if i < 10 { Outcome::Failure } else { Outcome::Success },
//!     })
//!     .collect();
//! let settings = Settings { window: Duration::from_secs(5), threshold: Some(3), ..Settings::default() };
//! let mut replay = Replay::new(&settings)?;
//! replay.feed(&calls);
//! let (report, _) = replay.finish();
//! assert_eq!(report.failures_let_through(), 4); // the fourth failure trips T = 3
//! assert_eq!(report.rejected, 16);
//! assert_eq!(report.trips, 1);
//! println!("{report}");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What a replay assumes
//!
//! - Each record is a call that starts at its start and ends its duration later. At its start
//!   the breaker is asked for a permit; an admitted call records its logged outcome at its end,
//!   so the slow-call rule sees its duration. A rejected call records nothing and is counted by
//!   its logged outcome.
//! - Events run in time order; at one instant, ends come before starts, equal ends in input
//!   order, and a call without a duration ends right after its own start.
//! - The downstream's answers are taken as they were logged. A rejected call would have put no
//!   load on it; the replay does not guess how that would have changed its later answers.
//! - Times in reports are seconds since the first call's start. The last event is the latest
//!   start or admitted call's end; the time not closed (`open_seconds`) counts up to it, but a
//!   change that time alone makes after it (the close of the last open period) is reported too,
//!   at its own instant. The clock runs 584 years from the first call's start, the breaker's
//!   range: a start or an end later than that (only logs with absurd times have one) is taken
//!   at its last instant.
//! - `outcomes` counts the admitted calls by their logged outcome: a slow success counted as a
//!   failure by the slow-call rule stays a success there (its effect shows in the changes).
//! - Half-open probing (`--half-open P`) probes with P probes after an open time of W, as the
//!   demo's driver does, with the breaker's default probe timeout of 10 s: a probe whose logged
//!   duration is longer counts as timed out.
//! - Records that start more than the allowed lag before one already read, and calls pushed to
//!   a [`Replay`] out of start order, are left out and counted as `out_of_order`.
//!
//! # Building the same report elsewhere
//!
//! [`Settings`] and [`Report`] are plain, serialisable data, so a program that made its calls
//! itself (a load generator, the demo's driver) can replay its own trace with [`Replay`] and
//! draw it with [`draw::timeline_svg`], or parse the JSON that `breaker-replay run --json`
//! prints back into a [`Report`].
// The README is for people more than for rustdoc (its pictures are relative links, which a
// rendered crate page cannot follow), so it is not shown here; but its examples are tested.
#![cfg_attr(doctest, doc = include_str!("../README.md"))]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod cli;
pub mod draw;
pub mod flags;
pub mod read;
mod record;
mod replay;
mod report;
mod settings;
pub mod sweep;
pub mod timeline;

pub use crate::record::Record;
pub use crate::replay::Replay;
pub use crate::report::{Change, Report, Skipped, Tally};
pub use crate::settings::{BadDuration, FailureRate, Settings, SettingsError, parse_duration};
pub use crate::sweep::{Sweep, SweepRow};
