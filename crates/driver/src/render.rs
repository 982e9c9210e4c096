//! What the driver prints, as pure functions of what happened: no I/O, no global state, so
//! every line can be checked in a test, with colour and without.

use std::fmt::Write as _;
use std::time::Duration;

use breaker::{State, StateChange};

use colored::Colorize;

/// The status line of a forwarded request while the circuit is closed.
pub const CLOSED: &str = "CIRCUIT CLOSED: Requests will be forwarded to the microservice.";
/// The status line of a probe forwarded while the circuit is half-open.
pub const HALF_OPEN: &str =
    "CIRCUIT HALF-OPEN: This request is a probe; its outcome decides whether the circuit closes.";
/// The response line of a forwarded request that failed.
pub const PROBLEM: &str = "There was a problem with your request. Please resubmit your request.";
/// The response line of a rejected request.
pub const UNAVAILABLE: &str = "Service unavailable, please try again later.";

/// One line of the driver's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// Green: the request is forwarded.
    Closed,
    /// Yellow: the request is forwarded as a half-open probe.
    HalfOpen,
    /// Red: the request is rejected; the circuit admits calls again after this long.
    Open(Duration),
    /// White: the service's answer.
    Response(String),
    /// White: the request was forwarded and failed.
    Problem,
    /// White: the request was rejected and never sent.
    Unavailable,
}

/// The text of `line`, coloured when `color` is true.
///
/// ```
/// use std::time::Duration;
/// use driver::render::{Line, render};
///
/// assert_eq!(
///     render(&Line::Open(Duration::from_millis(4_250)), false),
///     "CIRCUIT OPEN: Please wait 4.25 seconds to try again."
/// );
/// ```
pub fn render(line: &Line, color: bool) -> String {
    let (text, paint): (String, fn(&str) -> colored::ColoredString) = match line {
        Line::Closed => (CLOSED.into(), |s| s.green()),
        Line::HalfOpen => (HALF_OPEN.into(), |s| s.yellow()),
        Line::Open(wait) => (
            format!(
                "CIRCUIT OPEN: Please wait {} seconds to try again.",
                seconds(*wait)
            ),
            |s| s.red(),
        ),
        Line::Response(text) => (text.clone(), |s| s.white()),
        Line::Problem => (PROBLEM.into(), |s| s.white()),
        Line::Unavailable => (UNAVAILABLE.into(), |s| s.white()),
    };
    if color {
        paint(&text).to_string()
    } else {
        text
    }
}

/// A duration as seconds with two decimals, rounded up so that "wait S seconds" is never too
/// short.
pub fn seconds(d: Duration) -> String {
    let hundredths = d.as_nanos().div_ceil(10_000_000);
    format!("{}.{:02}", hundredths / 100, hundredths % 100)
}

/// What a run added up to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Requests sent to the service.
    pub forwarded: u32,
    /// Forwarded requests that succeeded (1xx to 3xx).
    pub succeeded: u32,
    /// Forwarded requests that failed (5xx, timeouts, connection errors).
    pub failed: u32,
    /// Forwarded requests the breaker ignored (4xx).
    pub ignored: u32,
    /// Requests the breaker rejected without sending them.
    pub rejected: u32,
    /// Forwarded requests that got an HTTP response at all.
    pub answered: u32,
    /// Each change of state, with its time since the start.
    pub changes: Vec<Change>,
}

/// A change of state of the breaker, at a time since the start of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// Time since the start of the run.
    pub at: Duration,
    /// The state left.
    pub from: State,
    /// The state entered.
    pub to: State,
}

impl From<StateChange> for Change {
    fn from(c: StateChange) -> Self {
        Self {
            at: c.at,
            from: c.from,
            to: c.to,
        }
    }
}

/// The closing summary, for a service at `target`.
pub fn summary(s: &Summary, target: &str) -> String {
    let mut out = String::new();
    let requests = s.forwarded + s.rejected;
    let _ = write!(
        out,
        "Summary: {requests} requests: {} forwarded ({} succeeded, {} failed",
        s.forwarded, s.succeeded, s.failed
    );
    if s.ignored > 0 {
        let _ = write!(out, ", {} ignored", s.ignored);
    }
    let _ = writeln!(out, "), {} rejected.", s.rejected);
    if s.forwarded > 0 && s.answered == 0 {
        let _ = writeln!(
            out,
            "No request reached the service at {target}: is it running?"
        );
    }
    if s.changes.is_empty() {
        let _ = writeln!(out, "State changes: none.");
    } else {
        let _ = writeln!(out, "State changes:");
        for c in &s.changes {
            let _ = writeln!(
                out,
                "  {:>8}s  {} -> {}",
                format!("{:.3}", c.at.as_secs_f64()),
                c.from,
                c.to
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_without_colour_are_plain_text() {
        assert_eq!(render(&Line::Closed, false), CLOSED);
        assert_eq!(render(&Line::Problem, false), PROBLEM);
        assert_eq!(render(&Line::Unavailable, false), UNAVAILABLE);
        assert_eq!(
            render(&Line::Response("The value is: 57".into()), false),
            "The value is: 57"
        );
        assert!(!render(&Line::Open(Duration::from_secs(1)), false).contains('\u{1b}'));
    }

    #[test]
    fn lines_with_colour_carry_their_colour() {
        colored::control::set_override(true);
        assert_eq!(
            render(&Line::Closed, true),
            format!("\u{1b}[32m{CLOSED}\u{1b}[0m")
        );
        assert_eq!(
            render(&Line::HalfOpen, true),
            format!("\u{1b}[33m{HALF_OPEN}\u{1b}[0m")
        );
        assert_eq!(
            render(&Line::Open(Duration::from_secs(3)), true),
            "\u{1b}[31mCIRCUIT OPEN: Please wait 3.00 seconds to try again.\u{1b}[0m"
        );
        assert_eq!(
            render(&Line::Unavailable, true),
            format!("\u{1b}[37m{UNAVAILABLE}\u{1b}[0m")
        );
    }

    #[test]
    fn seconds_round_up_to_the_hundredth() {
        assert_eq!(seconds(Duration::ZERO), "0.00");
        assert_eq!(seconds(Duration::from_nanos(1)), "0.01");
        assert_eq!(seconds(Duration::from_millis(4_990)), "4.99");
        assert_eq!(seconds(Duration::from_micros(4_990_001)), "5.00");
        assert_eq!(seconds(Duration::from_secs(12)), "12.00");
    }

    #[test]
    fn summary_counts_and_lists_changes() {
        let s = Summary {
            forwarded: 10,
            succeeded: 5,
            failed: 5,
            rejected: 6,
            answered: 10,
            changes: vec![Change {
                at: Duration::from_millis(12),
                from: State::Closed,
                to: State::Open,
            }],
            ..Summary::default()
        };
        let text = summary(&s, "http://127.0.0.1:8080");
        assert_eq!(
            text,
            "Summary: 16 requests: 10 forwarded (5 succeeded, 5 failed), 6 rejected.\n\
             State changes:\n     0.012s  closed -> open\n"
        );
    }

    #[test]
    fn summary_says_when_nothing_reached_the_service() {
        let s = Summary {
            forwarded: 4,
            failed: 4,
            rejected: 12,
            ..Summary::default()
        };
        let text = summary(&s, "http://127.0.0.1:9");
        assert!(text.contains("No request reached the service at http://127.0.0.1:9"));
        assert!(text.contains("State changes: none."));
    }
}
