//! What a replay found: the counts, the state changes and the time spent open, with two
//! renderings of the one value, JSON and a short human report.
//!
//! The report is plain data, filled in by the [replay](crate::Replay) and serialised as it
//! stands, so the JSON object and the human lines cannot tell different stories; the JSON keys
//! are fixed (other programs parse them), and the few fields that only the human report uses
//! (the span of the trace, the first unreadable lines) are left out of it.

use std::fmt;
use std::time::Duration;

use breaker::{Outcome, Reason, State, StateChange};
use serde::{Deserialize, Serialize};

pub use crate::read::Skipped;

/// The result of replaying one setting over a trace.
///
/// `outcomes` counts the admitted calls by the outcome their permit was told (the logged one;
/// the slow-call rule may have recorded a slow success as a failure, which the changes show);
/// `rejected_by_outcome` counts the rejected calls by what the log says they would have been.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// The calls replayed: admitted plus rejected.
    pub calls: u64,
    /// The calls the breaker let through.
    pub admitted: u64,
    /// The calls the breaker rejected.
    pub rejected: u64,
    /// The admitted calls, by their logged outcome.
    pub outcomes: Tally,
    /// The rejected calls, by their logged outcome.
    pub rejected_by_outcome: Tally,
    /// The changes into `open`.
    pub trips: u64,
    /// The time the circuit was not closed, in seconds, up to the last event of the trace.
    pub open_seconds: f64,
    /// Every change of state, in order (empty in a sweep, which only counts them).
    #[serde(default)]
    pub changes: Vec<Change>,
    /// The input left out.
    pub skipped: Skipped,
    /// From the first call's start to the last event (a start, or an admitted call's end): the
    /// time [`open_seconds`](Report::open_seconds) is a share of. Not in the JSON object.
    #[serde(skip)]
    pub span: Duration,
}

/// Calls counted by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    /// Successes.
    pub success: u64,
    /// Failures.
    pub failure: u64,
    /// Ignored outcomes.
    pub ignored: u64,
}

impl Tally {
    /// Counts one call that ended with `outcome`.
    #[inline]
    pub fn add(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::Success => self.success += 1,
            Outcome::Failure => self.failure += 1,
            Outcome::Ignored => self.ignored += 1,
        }
    }

    /// All the calls counted.
    pub fn total(&self) -> u64 {
        self.success + self.failure + self.ignored
    }
}

/// One change of state: when, from what, to what, and why.
///
/// In JSON, `at` is in seconds since the first call's start, and the states and the reason use
/// the breaker's own names ([`State::as_str`], [`Reason::as_str`]): `{"at": 12.5, "from":
/// "closed", "to": "open", "reason": "failure_count"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// Since the first call's start.
    #[serde(with = "seconds")]
    pub at: Duration,
    /// The state left.
    #[serde(with = "state")]
    pub from: State,
    /// The state entered.
    #[serde(with = "state")]
    pub to: State,
    /// Why.
    #[serde(with = "reason")]
    pub reason: Reason,
}

impl From<StateChange> for Change {
    fn from(change: StateChange) -> Self {
        Self {
            at: change.at,
            from: change.from,
            to: change.to,
            reason: change.reason,
        }
    }
}

/// How many of a long list of changes the human report shows first, and last.
const SHOWN_CHANGES_HEAD: usize = 20;
const SHOWN_CHANGES_TAIL: usize = 4;

impl Report {
    /// Failures the breaker let through: admitted calls the log says failed.
    pub fn failures_let_through(&self) -> u64 {
        self.outcomes.failure
    }

    /// Successes the breaker rejected: rejected calls the log says succeeded.
    pub fn successes_rejected(&self) -> u64 {
        self.rejected_by_outcome.success
    }

    /// The share of the span the circuit was not closed, from 0 to 1, if the span is not empty.
    pub fn open_share(&self) -> Option<f64> {
        let span = self.span.as_secs_f64();
        (span > 0.0).then(|| (self.open_seconds / span).clamp(0.0, 1.0))
    }
}

/// The human report: a few aligned lines.
///
/// ```
/// use std::time::Duration;
/// use breaker::{Reason, State};
/// use breaker_replay::{Change, Report, Tally};
///
/// let report = Report {
///     calls: 16,
///     admitted: 12,
///     rejected: 4,
///     outcomes: Tally { success: 5, failure: 7, ignored: 0 },
///     rejected_by_outcome: Tally { success: 1, failure: 3, ignored: 0 },
///     trips: 1,
///     open_seconds: 5.0,
///     changes: vec![Change {
///         at: Duration::from_millis(12_500),
///         from: State::Closed,
///         to: State::Open,
///         reason: Reason::FailureCount,
///     }],
///     span: Duration::from_secs(20),
///     ..Report::default()
/// };
/// let text = report.to_string();
/// assert!(text.contains("rejected    4  (would have been 1 success, 3 failures)"));
/// assert!(text.contains("  12.500s  closed -> open  (failure_count)"));
/// assert!(text.contains("open time  5.000s  (25.0% of 20.000s)"));
/// ```
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = [self.calls, self.admitted, self.rejected, self.trips]
            .iter()
            .map(|n| n.to_string().len())
            .max()
            .unwrap_or(1);
        writeln!(f, "calls      {:>width$}", self.calls)?;
        write!(f, "admitted   {:>width$}", self.admitted)?;
        if self.admitted > 0 {
            write!(f, "  ({})", tally(&self.outcomes))?;
        }
        writeln!(f)?;
        write!(f, "rejected   {:>width$}", self.rejected)?;
        if self.rejected > 0 {
            write!(
                f,
                "  (would have been {})",
                tally(&self.rejected_by_outcome)
            )?;
        }
        writeln!(f)?;
        writeln!(f, "trips      {:>width$}", self.trips)?;
        write!(f, "open time  {:.3}s", self.open_seconds)?;
        if let Some(share) = self.open_share() {
            write!(
                f,
                "  ({:.1}% of {:.3}s)",
                share * 100.0,
                self.span.as_secs_f64()
            )?;
        }
        writeln!(f)?;
        if !self.changes.is_empty() {
            let at_width = self
                .changes
                .iter()
                .map(|c| format!("{:.3}", c.at.as_secs_f64()).len())
                .max()
                .unwrap_or(1);
            writeln!(f, "changes")?;
            let shown = self.changes.len();
            // A long list keeps its head and its tail; `--json` has every change.
            let cut = (shown > SHOWN_CHANGES_HEAD + SHOWN_CHANGES_TAIL + 1)
                .then(|| SHOWN_CHANGES_HEAD..shown - SHOWN_CHANGES_TAIL);
            for (i, c) in self.changes.iter().enumerate() {
                if let Some(cut) = cut.as_ref().filter(|cut| cut.contains(&i)) {
                    if i == cut.start {
                        writeln!(f, "  ... {} more (--json lists every change)", cut.len())?;
                    }
                    continue;
                }
                write!(
                    f,
                    "  {:>at_width$.3}s  {} -> {}  ({})",
                    c.at.as_secs_f64(),
                    c.from.as_str(),
                    c.to.as_str(),
                    c.reason.as_str()
                )?;
                // A change that time alone made once the trace was over.
                if !self.span.is_zero() && c.at > self.span {
                    write!(f, "  after the last event")?;
                }
                writeln!(f)?;
            }
        }
        let skipped = &self.skipped;
        if skipped.unreadable > 0 || skipped.out_of_order > 0 {
            write!(f, "skipped    ")?;
            let mut parts = Vec::new();
            if skipped.unreadable > 0 {
                let mut part = format!(
                    "{} unreadable {}",
                    skipped.unreadable,
                    plural(skipped.unreadable, "line", "lines")
                );
                if !skipped.first_unreadable.is_empty() {
                    let first: Vec<String> = skipped
                        .first_unreadable
                        .iter()
                        .map(|(line, why)| format!("line {line}: {why}"))
                        .collect();
                    part.push_str(&format!(" ({})", first.join("; ")));
                }
                parts.push(part);
            }
            if skipped.out_of_order > 0 {
                parts.push(format!(
                    "{} out of order (started before the allowed lag)",
                    skipped.out_of_order
                ));
            }
            writeln!(f, "{}", parts.join(", "))?;
        }
        Ok(())
    }
}

/// `5 successes, 3 failures, 1 ignored`, leaving out the zeros.
fn tally(t: &Tally) -> String {
    let parts: Vec<String> = [
        (t.success, "success", "successes"),
        (t.failure, "failure", "failures"),
        (t.ignored, "ignored", "ignored"),
    ]
    .iter()
    .filter(|(n, _, _)| *n > 0)
    .map(|&(n, one, many)| format!("{n} {}", plural(n, one, many)))
    .collect();
    parts.join(", ")
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// `Duration` as seconds, for serde's `with`.
mod seconds {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let secs = f64::deserialize(d)?;
        Duration::try_from_secs_f64(secs).map_err(D::Error::custom)
    }
}

/// A name read back into the value among `all` whose `name` it is.
fn named<'de, D, T>(d: D, all: &[T], name: fn(T) -> &'static str) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Copy,
{
    let text = String::deserialize(d)?;
    all.iter()
        .copied()
        .find(|&v| name(v) == text)
        .ok_or_else(|| serde::de::Error::custom(format!("unknown name `{text}`")))
}

/// [`State`] by its [`as_str`](State::as_str) name, for serde's `with`.
mod state {
    use breaker::State;
    use serde::{Deserializer, Serializer};

    const ALL: [State; 5] = [
        State::Closed,
        State::Open,
        State::HalfOpen,
        State::ForcedOpen,
        State::ForcedClosed,
    ];

    pub(super) fn serialize<S: Serializer>(v: &State, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<State, D::Error> {
        super::named(d, &ALL, State::as_str)
    }
}

/// [`Reason`] by its [`as_str`](Reason::as_str) name, for serde's `with`.
mod reason {
    use breaker::Reason;
    use serde::{Deserializer, Serializer};

    const ALL: [Reason; 12] = [
        Reason::FailureCount,
        Reason::FailureRate,
        Reason::ConsecutiveFailures,
        Reason::RetryAfter,
        Reason::ProbeFailed,
        Reason::ProbeTimedOut,
        Reason::ProbesSucceeded,
        Reason::WindowEmptied,
        Reason::OpenTimeElapsed,
        Reason::Forced,
        Reason::Reset,
        Reason::Remote,
    ];

    pub(super) fn serialize<S: Serializer>(v: &Reason, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(v.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Reason, D::Error> {
        super::named(d, &ALL, Reason::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_list_of_changes_shows_its_head_and_tail_and_says_how_many_are_left_out() {
        let mut report = sample();
        report.changes = (0..40)
            .map(|i| Change {
                at: Duration::from_secs(i),
                from: State::Closed,
                to: State::Open,
                reason: Reason::FailureCount,
            })
            .collect();
        report.span = Duration::from_secs(40);
        let text = report.to_string();
        let listed = text
            .lines()
            .filter(|l| l.contains("closed -> open"))
            .count();
        assert_eq!(listed, SHOWN_CHANGES_HEAD + SHOWN_CHANGES_TAIL);
        assert!(
            text.contains("  ... 16 more (--json lists every change)\n"),
            "{text}"
        );
        assert!(text.contains(" 19.000s  closed") && text.contains(" 36.000s  closed"));
        assert!(!text.contains(" 20.000s  closed") && !text.contains(" 35.000s  closed"));
        // Just over the head and the tail: nothing is cut for one line of "... 1 more".
        report
            .changes
            .truncate(SHOWN_CHANGES_HEAD + SHOWN_CHANGES_TAIL + 1);
        assert!(!report.to_string().contains("more (--json"));
    }

    fn sample() -> Report {
        Report {
            calls: 1200,
            admitted: 1000,
            rejected: 200,
            outcomes: Tally {
                success: 900,
                failure: 90,
                ignored: 10,
            },
            rejected_by_outcome: Tally {
                success: 150,
                failure: 49,
                ignored: 1,
            },
            trips: 2,
            open_seconds: 7.5,
            changes: vec![
                Change {
                    at: Duration::from_millis(12_500),
                    from: State::Closed,
                    to: State::Open,
                    reason: Reason::FailureCount,
                },
                Change {
                    at: Duration::from_secs(20),
                    from: State::Open,
                    to: State::Closed,
                    reason: Reason::WindowEmptied,
                },
                Change {
                    at: Duration::from_secs(100),
                    from: State::Closed,
                    to: State::Open,
                    reason: Reason::ConsecutiveFailures,
                },
                Change {
                    at: Duration::from_secs(105),
                    from: State::Open,
                    to: State::Closed,
                    reason: Reason::OpenTimeElapsed,
                },
            ],
            skipped: Skipped {
                unreadable: 2,
                out_of_order: 1,
                first_unreadable: vec![(17, "\"t\" is missing".into()), (40, "not JSON".into())],
            },
            span: Duration::from_secs(100),
        }
    }

    #[test]
    fn the_json_object_has_exactly_the_documented_keys() {
        let json: serde_json::Value = serde_json::to_value(sample()).unwrap();
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        // The object's own order, as written: the documented one.
        let written = serde_json::to_string(&sample()).unwrap();
        let expected = [
            "calls",
            "admitted",
            "rejected",
            "outcomes",
            "rejected_by_outcome",
            "trips",
            "open_seconds",
            "changes",
            "skipped",
        ];
        assert_eq!(keys.len(), expected.len(), "{written}");
        let mut at = 0;
        for key in expected {
            let found = written[at..]
                .find(&format!("\"{key}\":"))
                .unwrap_or_else(|| panic!("{key} missing or out of order in {written}"));
            at += found;
        }
        assert_eq!(
            json["outcomes"],
            serde_json::json!({"success": 900, "failure": 90, "ignored": 10})
        );
        assert_eq!(
            json["changes"][0],
            serde_json::json!({"at": 12.5, "from": "closed", "to": "open", "reason": "failure_count"})
        );
        assert_eq!(
            json["skipped"],
            serde_json::json!({"unreadable": 2, "out_of_order": 1})
        );
    }

    #[test]
    fn the_json_reads_back_into_the_same_report_but_the_human_fields() {
        let report = sample();
        let json = serde_json::to_string(&report).unwrap();
        let back: Report = serde_json::from_str(&json).unwrap();
        assert_eq!(back.changes, report.changes);
        assert_eq!(back.rejected_by_outcome, report.rejected_by_outcome);
        assert_eq!(back.span, Duration::ZERO);
        assert!(back.skipped.first_unreadable.is_empty());
        assert!(
            serde_json::from_str::<Change>(
                r#"{"at":1,"from":"ajar","to":"open","reason":"reset"}"#
            )
            .is_err()
        );
    }

    #[test]
    fn the_human_report_aligns_its_lines_and_names_what_was_rejected() {
        let text = sample().to_string();
        let expected = "\
calls      1200
admitted   1000  (900 successes, 90 failures, 10 ignored)
rejected    200  (would have been 150 successes, 49 failures, 1 ignored)
trips         2
open time  7.500s  (7.5% of 100.000s)
changes
   12.500s  closed -> open  (failure_count)
   20.000s  open -> closed  (window_emptied)
  100.000s  closed -> open  (consecutive_failures)
  105.000s  open -> closed  (open_time_elapsed)  after the last event
skipped    2 unreadable lines (line 17: \"t\" is missing; line 40: not JSON), 1 out of order (started before the allowed lag)
";
        assert_eq!(text, expected);
    }

    #[test]
    fn an_empty_trace_reports_zeros_and_no_share() {
        let text = Report::default().to_string();
        assert_eq!(
            text,
            "calls      0\nadmitted   0\nrejected   0\ntrips      0\nopen time  0.000s\n"
        );
    }

    #[test]
    fn the_sweeps_two_measures_read_the_logged_outcomes() {
        let report = sample();
        assert_eq!(report.failures_let_through(), 90);
        assert_eq!(report.successes_rejected(), 150);
        assert_eq!(report.open_share(), Some(0.075));
    }
}
