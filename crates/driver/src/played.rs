//! What the driver saw of each request, kept for `--trace` and `--svg`.
//!
//! A trace is written in the `jsonl` format that `breaker-replay` reads, one line per request
//! that reached the service: its start since the run began, how long it took and the outcome
//! the driver saw. So a run in shadow mode (every request forwarded) records the whole traffic,
//! and the replay can try other settings on it.

use std::io::{self, Write};
use std::time::Duration;

use breaker::Outcome;
use breaker_replay::timeline::Timeline;

use crate::change::Change;

/// What the breaker decided for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Forwarded.
    Forwarded,
    /// Rejected and never sent.
    Rejected,
    /// In shadow mode, forwarded though the breaker would have rejected it.
    ShadowRejected,
}

/// One request of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Played {
    /// When it started, since the run began (on the breaker's clock).
    pub start: Duration,
    /// How long it took, from its permit to its outcome; zero when it was rejected.
    pub duration: Duration,
    /// What the breaker decided.
    pub decision: Decision,
    /// How it ended, as the breaker classifies the answer (the slow-call rule aside); for a
    /// rejected request, which was never sent, the answer the scenario expects of the service
    /// ([`Step::expected_outcome`](crate::scenario::Step::expected_outcome)).
    pub outcome: Outcome,
    /// The failures in the breaker's window just after it ended.
    pub failures_in_window: u32,
}

impl Played {
    /// Whether the request reached the service.
    pub fn was_sent(&self) -> bool {
        self.decision != Decision::Rejected
    }
}

/// Writes each request that reached the service as one `jsonl` record for `breaker-replay`:
/// `{"t":..,"duration":..,"outcome":..}`, times in seconds to the nanosecond. Returns how many
/// records were written.
///
/// ```
/// use std::time::Duration;
/// use breaker::Outcome;
/// use driver::played::{Decision, Played, write_jsonl};
///
/// let played = [Played {
///     start: Duration::from_millis(1500),
///     duration: Duration::from_micros(2_250),
///     decision: Decision::Forwarded,
///     outcome: Outcome::Failure,
///     failures_in_window: 1,
/// }];
/// let mut out = Vec::new();
/// assert_eq!(write_jsonl(&played, &mut out)?, 1);
/// assert_eq!(
///     String::from_utf8(out).unwrap(),
///     "{\"t\":1.500000000,\"duration\":0.002250000,\"outcome\":\"failure\"}\n"
/// );
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Errors
///
/// Whatever writing to `out` returns.
pub fn write_jsonl(played: &[Played], mut out: impl Write) -> io::Result<usize> {
    let mut written = 0;
    for p in played.iter().filter(|p| p.was_sent()) {
        writeln!(
            out,
            "{{\"t\":{},\"duration\":{},\"outcome\":\"{}\"}}",
            seconds(p.start),
            seconds(p.duration),
            outcome_name(p.outcome)
        )?;
        written += 1;
    }
    out.flush()?;
    Ok(written)
}

/// The run as a [`Timeline`] for `breaker-replay`'s picture: each request at its start, by what
/// the breaker decided (a request shadow mode forwarded counts as rejected, which is what
/// enforcing would have done) and how it ended; the failures in the window after each; the
/// state changes. Times are seconds since the run began.
///
/// ```
/// use std::time::Duration;
/// use breaker::Outcome;
/// use driver::played::{Decision, Played, timeline};
///
/// let played = [Played {
///     start: Duration::ZERO,
///     duration: Duration::from_millis(3),
///     decision: Decision::Forwarded,
///     outcome: Outcome::Failure,
///     failures_in_window: 1,
/// }];
/// let t = timeline(&played, &[], Some(3));
/// assert_eq!(t.calls(), 1);
/// assert_eq!(t.trips(), 0);
/// ```
pub fn timeline(played: &[Played], changes: &[Change], threshold: Option<u32>) -> Timeline {
    use breaker_replay::timeline::Decision as Drawn;
    let mut t = Timeline::new(threshold);
    let mut end = 0.0_f64;
    for p in played {
        let at = p.start.as_secs_f64();
        let drawn = match p.decision {
            Decision::Forwarded => Drawn::Admitted,
            Decision::Rejected | Decision::ShadowRejected => Drawn::Rejected,
        };
        t.call(at, drawn, p.outcome);
        t.failures_in_window(at, p.failures_in_window);
        end = end.max((p.start + p.duration).as_secs_f64());
    }
    for c in changes {
        t.enter(c.to, c.reason, c.at.as_secs_f64());
    }
    t.finish(end);
    t
}

/// A duration as seconds, exactly: whole seconds, a point and nine digits.
fn seconds(d: Duration) -> String {
    format!("{}.{:09}", d.as_secs(), d.subsec_nanos())
}

/// The outcome as the replay's `jsonl` names it.
fn outcome_name(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Success => "success",
        Outcome::Failure => "failure",
        Outcome::Ignored => "ignored",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn played(decision: Decision, outcome: Outcome) -> Played {
        Played {
            start: Duration::from_secs(2),
            duration: Duration::from_nanos(1),
            decision,
            outcome,
            failures_in_window: 0,
        }
    }

    #[test]
    fn a_trace_holds_every_request_that_was_sent_and_none_that_was_rejected() {
        let run = [
            played(Decision::Forwarded, Outcome::Success),
            played(Decision::Rejected, Outcome::Failure),
            played(Decision::ShadowRejected, Outcome::Ignored),
        ];
        let mut out = Vec::new();
        assert_eq!(write_jsonl(&run, &mut out).unwrap(), 2);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                r#"{"t":2.000000000,"duration":0.000000001,"outcome":"success"}"#,
                r#"{"t":2.000000000,"duration":0.000000001,"outcome":"ignored"}"#,
            ]
        );
    }
}
