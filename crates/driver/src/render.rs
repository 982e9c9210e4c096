//! What the driver prints, as pure functions of what happened: no I/O, no global state, so
//! every line can be checked in a test, with colour and without.

use std::fmt::Write as _;
use std::time::Duration;

use colored::Colorize;

pub use crate::change::Change;
use crate::played::Played;

/// The status line of a forwarded request while the circuit is closed.
pub const CLOSED: &str = "CIRCUIT CLOSED: Requests will be forwarded to the microservice.";
/// The status line of a probe forwarded while the circuit is half-open.
pub const HALF_OPEN: &str =
    "CIRCUIT HALF-OPEN: This request is a probe; its outcome decides whether the circuit closes.";
/// The status line of a request forwarded while the circuit is forced closed.
pub const FORCED_CLOSED: &str =
    "CIRCUIT FORCED CLOSED: Requests will be forwarded to the microservice, whatever happens.";
/// The status line of a request rejected while the circuit is forced open.
pub const FORCED_OPEN: &str =
    "CIRCUIT FORCED OPEN: No request will be forwarded until the circuit is reset.";
/// In shadow mode, a request the breaker would have rejected: it is forwarded all the same.
pub const SHADOW_OPEN: &str =
    "CIRCUIT OPEN (shadow mode): this request would have been rejected; forwarding it anyway.";
/// What follows the service's text on a success that the slow-call rule made a failure.
pub const SLOW: &str = "(too slow: a failure to the breaker)";
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
    /// Green: the request is forwarded while the circuit is forced closed.
    ForcedClosed,
    /// Red: the request is rejected while the circuit is forced open, which no time ends.
    ForcedOpen,
    /// Red: in shadow mode, the breaker would have rejected the request; it is forwarded all
    /// the same.
    ShadowOpen,
    /// White: the service's answer.
    Response(String),
    /// White: the service's answer, a success that took longer than the slow-call threshold,
    /// so the breaker recorded a failure.
    Slow(String),
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
        Line::ForcedClosed => (FORCED_CLOSED.into(), |s| s.green()),
        Line::ForcedOpen => (FORCED_OPEN.into(), |s| s.red()),
        Line::ShadowOpen => (SHADOW_OPEN.into(), |s| s.red()),
        Line::Response(text) => (escape(text), |s| s.white()),
        Line::Slow(text) => (format!("{} {SLOW}", escape(text)), |s| s.white()),
        Line::Problem => (PROBLEM.into(), |s| s.white()),
        Line::Unavailable => (UNAVAILABLE.into(), |s| s.white()),
    };
    if color {
        paint(&text).to_string()
    } else {
        text
    }
}

/// The service's text made safe to print on one line of a terminal: every character that a
/// terminal acts on rather than shows is written as an escape, so that a service can neither
/// move the cursor, clear the screen, colour the output, nor start a line of its own (a fake
/// status line, say).
///
/// Escaped: the C0 controls (below 0x20) but the tab, DEL, the C1 controls (0x80 to 0x9f,
/// the 8-bit CSI among them), the Unicode line and paragraph separators and the bidirectional
/// controls (which reorder what follows them). A backslash is doubled, so that an escape can
/// be told apart from the same text sent as it is.
///
/// ```
/// use driver::render::escape;
///
/// assert_eq!(escape("The value is: 57"), "The value is: 57");
/// assert_eq!(escape("\u{1b}[2J\nCIRCUIT CLOSED"), "\\e[2J\\nCIRCUIT CLOSED");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\t' => out.push(c),
            '\0'..='\u{1f}' | '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            '\u{80}'..='\u{9f}'
            | '\u{2028}'
            | '\u{2029}'
            | '\u{200e}'
            | '\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}' => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            _ => out.push(c),
        }
    }
    out
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
    /// Forwarded requests that failed (5xx, timeouts, connection errors, slow successes).
    pub failed: u32,
    /// Of the failed, the successes that took longer than the slow-call threshold.
    pub slow: u32,
    /// Forwarded requests the breaker ignored (4xx).
    pub ignored: u32,
    /// Requests the breaker rejected without sending them.
    pub rejected: u32,
    /// Forwarded requests that got an HTTP response at all.
    pub answered: u32,
    /// In shadow mode, forwarded requests the breaker would have rejected.
    pub shadow_rejected: u32,
    /// Every request, in order: when it started, how long it took, what the breaker decided
    /// and how it ended (for `--trace` and `--svg`).
    pub played: Vec<Played>,
    /// Each change of state, with its time since the start.
    pub changes: Vec<Change>,
}

impl Summary {
    /// Whether requests were sent and none of them reached the service: no HTTP response came
    /// back at all (a refused connection, an unknown host, a service that never answers).
    pub fn reached_nothing(&self) -> bool {
        self.forwarded > 0 && self.answered == 0
    }
}

/// The trip rules in force, as the summary lists them.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// The window W.
    pub window: Duration,
    /// The count rule's threshold T, if the count rule is on.
    pub threshold: Option<u32>,
    /// The failure-rate rule: the ratio and the fewest calls it judges.
    pub failure_rate: Option<(f64, u32)>,
    /// The consecutive-failures rule.
    pub consecutive: Option<u32>,
    /// The slow-call threshold.
    pub slow: Option<Duration>,
}

impl Rules {
    /// The rules in words, `; ` between them.
    ///
    /// ```
    /// use std::time::Duration;
    /// use driver::render::Rules;
    ///
    /// let rules = Rules {
    ///     window: Duration::from_secs(5),
    ///     threshold: Some(3),
    ///     failure_rate: Some((0.5, 10)),
    ///     consecutive: Some(3),
    ///     slow: Some(Duration::from_millis(1_500)),
    /// };
    /// assert_eq!(
    ///     rules.describe(),
    ///     "more than 3 failures in 5 s; failure rate >= 50% in 5 s, over at least 10 calls; \
    ///      3 consecutive failures; successes slower than 1.5 s are failures"
    /// );
    /// ```
    pub fn describe(&self) -> String {
        let window = short_seconds(self.window);
        let mut rules = Vec::new();
        match self.threshold {
            None => {}
            Some(0) => rules.push(format!("any failure (it counts for {window} s)")),
            Some(1) => rules.push(format!("more than 1 failure in {window} s")),
            Some(t) => rules.push(format!("more than {t} failures in {window} s")),
        }
        if let Some((ratio, min_calls)) = self.failure_rate {
            let calls = if min_calls == 1 { "call" } else { "calls" };
            rules.push(format!(
                "failure rate >= {}% in {window} s, over at least {min_calls} {calls}",
                trimmed(ratio * 100.0)
            ));
        }
        match self.consecutive {
            None => {}
            Some(1) => rules.push("1 consecutive failure".into()),
            Some(n) => rules.push(format!("{n} consecutive failures")),
        }
        if let Some(slow) = self.slow {
            rules.push(format!(
                "successes slower than {} s are failures",
                short_seconds(slow)
            ));
        }
        rules.join("; ")
    }
}

/// A duration as seconds, without trailing zeros: `5`, `0.2`, `1.25`.
fn short_seconds(d: Duration) -> String {
    trimmed(d.as_secs_f64())
}

/// A number to the ninth decimal, without trailing zeros.
fn trimmed(x: f64) -> String {
    let text = format!("{x:.9}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The closing summary, for a service at `target`, whose breaker follows `rules`.
pub fn summary(s: &Summary, rules: &Rules, target: &str) -> String {
    let mut out = String::new();
    let requests = s.forwarded + s.rejected;
    let _ = write!(
        out,
        "Summary: {requests} requests: {} forwarded ({} succeeded, {} failed",
        s.forwarded, s.succeeded, s.failed
    );
    if s.slow > 0 {
        let _ = write!(out, ", {} of them slow", s.slow);
    }
    if s.ignored > 0 {
        let _ = write!(out, ", {} ignored", s.ignored);
    }
    let _ = write!(out, "), {} rejected", s.rejected);
    if s.shadow_rejected > 0 {
        let _ = write!(
            out,
            "; shadow mode: {} forwarded that it would have rejected",
            s.shadow_rejected
        );
    }
    let _ = writeln!(out, ".");
    if s.reached_nothing() {
        let _ = writeln!(
            out,
            "No request reached the service at {target}: is it running?"
        );
    }
    let _ = writeln!(out, "Rules: {}.", rules.describe());
    if s.changes.is_empty() {
        let _ = writeln!(out, "State changes: none.");
    } else {
        let _ = writeln!(out, "State changes:");
        let moves: Vec<String> = s
            .changes
            .iter()
            .map(|c| format!("{} -> {}", c.from, c.to))
            .collect();
        let width = moves.iter().map(String::len).max().unwrap_or(0);
        for (c, change) in s.changes.iter().zip(&moves) {
            let _ = writeln!(
                out,
                "  {:>8}s  {change:<width$}  ({})",
                format!("{:.3}", c.at.as_secs_f64()),
                c.reason.as_str()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use breaker::{Reason, State};

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
    fn the_services_text_cannot_act_on_the_terminal() {
        // A clear screen and a fake status line, on a line of their own.
        let forged = format!("\u{1b}[2J\u{1b}[H\r\n\u{1b}[32m{CLOSED}\u{1b}[0m");
        for line in [Line::Response(forged.clone()), Line::Slow(forged)] {
            for color in [false, true] {
                colored::control::set_override(true);
                let text = render(&line, color);
                let inner = if color {
                    // Only the driver's own colour codes, around the whole line.
                    text.strip_prefix("\u{1b}[37m")
                        .and_then(|t| t.strip_suffix("\u{1b}[0m"))
                        .unwrap_or_else(|| panic!("{text:?}"))
                } else {
                    &text
                };
                assert!(!inner.chars().any(char::is_control), "{inner:?}");
                assert!(
                    inner.starts_with(&format!("\\e[2J\\e[H\\r\\n\\e[32m{CLOSED}\\e[0m")),
                    "{inner:?}"
                );
            }
        }
    }

    #[test]
    fn escape_writes_each_control_as_text() {
        assert_eq!(escape(""), "");
        assert_eq!(escape("The value is: 57"), "The value is: 57");
        assert_eq!(escape("a\tb c"), "a\tb c"); // a tab and a space stay
        assert_eq!(
            escape("\0\u{7}\u{8}\u{b}\u{c}"),
            "\\x00\\x07\\x08\\x0b\\x0c"
        );
        assert_eq!(escape("\u{1f}\u{7f}"), "\\x1f\\x7f");
        assert_eq!(escape("\u{80}\u{9b}31m\u{9f}"), "\\u{80}\\u{9b}31m\\u{9f}");
        assert_eq!(escape("a\u{2028}b\u{2029}"), "a\\u{2028}b\\u{2029}");
        assert_eq!(escape("\u{202e}cba\u{2066}"), "\\u{202e}cba\\u{2066}");
        assert_eq!(escape("C:\\dir\\n"), "C:\\\\dir\\\\n");
        // Printable text beyond ASCII is kept.
        assert_eq!(escape("é 合計 \u{a0}"), "é 合計 \u{a0}");
        // Nothing a terminal acts on is left, whatever the input.
        let every: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let escaped = escape(&every);
        assert!(!escaped.chars().any(|c| c.is_control() && c != '\t'));
        assert!(!escaped.contains(['\u{2028}', '\u{2029}', '\u{202e}', '\u{2067}']));
    }

    #[test]
    fn seconds_round_up_to_the_hundredth() {
        assert_eq!(seconds(Duration::ZERO), "0.00");
        assert_eq!(seconds(Duration::from_nanos(1)), "0.01");
        assert_eq!(seconds(Duration::from_millis(4_990)), "4.99");
        assert_eq!(seconds(Duration::from_micros(4_990_001)), "5.00");
        assert_eq!(seconds(Duration::from_secs(12)), "12.00");
    }

    /// The demo's rules: the count rule alone, W = 5 s and T = 3.
    fn demo_rules() -> Rules {
        Rules {
            window: Duration::from_secs(5),
            threshold: Some(3),
            failure_rate: None,
            consecutive: None,
            slow: None,
        }
    }

    fn change(at_millis: u64, from: State, to: State, reason: Reason) -> Change {
        Change {
            at: Duration::from_millis(at_millis),
            from,
            to,
            reason,
        }
    }

    #[test]
    fn summary_counts_and_lists_rules_and_changes_with_their_reasons() {
        let s = Summary {
            forwarded: 10,
            succeeded: 5,
            failed: 5,
            rejected: 6,
            answered: 10,
            changes: vec![
                change(12, State::Closed, State::Open, Reason::FailureCount),
                change(5_012, State::Open, State::Closed, Reason::WindowEmptied),
            ],
            ..Summary::default()
        };
        let text = summary(&s, &demo_rules(), "http://127.0.0.1:8080");
        assert_eq!(
            text,
            "Summary: 16 requests: 10 forwarded (5 succeeded, 5 failed), 6 rejected.\n\
             Rules: more than 3 failures in 5 s.\n\
             State changes:\n\
             \x20    0.012s  closed -> open  (failure_count)\n\
             \x20    5.012s  open -> closed  (window_emptied)\n"
        );
    }

    #[test]
    fn the_reasons_line_up_after_the_longest_change() {
        let s = Summary {
            changes: vec![
                change(0, State::Closed, State::Open, Reason::FailureRate),
                change(5_000, State::Open, State::HalfOpen, Reason::OpenTimeElapsed),
                change(
                    5_001,
                    State::HalfOpen,
                    State::Closed,
                    Reason::ProbesSucceeded,
                ),
            ],
            ..Summary::default()
        };
        let text = summary(&s, &demo_rules(), "http://127.0.0.1:8080");
        let changes: Vec<&str> = text.lines().skip(3).collect();
        assert_eq!(
            changes,
            [
                "     0.000s  closed -> open       (failure_rate)",
                "     5.000s  open -> half-open    (open_time_elapsed)",
                "     5.001s  half-open -> closed  (probes_succeeded)",
            ]
        );
    }

    #[test]
    fn summary_counts_slow_successes_among_the_failures() {
        let s = Summary {
            forwarded: 3,
            succeeded: 1,
            failed: 2,
            slow: 1,
            answered: 3,
            ..Summary::default()
        };
        let text = summary(&s, &demo_rules(), "http://127.0.0.1:8080");
        assert!(
            text.starts_with(
                "Summary: 3 requests: 3 forwarded (1 succeeded, 2 failed, 1 of them slow), 0 rejected.\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn rules_are_said_in_words() {
        let rules = |threshold, failure_rate, consecutive, slow| {
            Rules {
                window: Duration::from_millis(200),
                threshold,
                failure_rate,
                consecutive,
                slow,
            }
            .describe()
        };
        assert_eq!(
            rules(Some(3), None, None, None),
            "more than 3 failures in 0.2 s"
        );
        assert_eq!(
            rules(Some(1), None, None, None),
            "more than 1 failure in 0.2 s"
        );
        assert_eq!(
            rules(Some(0), None, None, None),
            "any failure (it counts for 0.2 s)"
        );
        assert_eq!(
            rules(None, Some((0.5, 4)), None, None),
            "failure rate >= 50% in 0.2 s, over at least 4 calls"
        );
        assert_eq!(
            rules(None, Some((1.0 / 3.0, 1)), None, None),
            "failure rate >= 33.333333333% in 0.2 s, over at least 1 call"
        );
        assert_eq!(rules(None, None, Some(1), None), "1 consecutive failure");
        assert_eq!(
            rules(Some(3), None, Some(2), Some(Duration::from_secs(2))),
            "more than 3 failures in 0.2 s; 2 consecutive failures; \
             successes slower than 2 s are failures"
        );
    }

    #[test]
    fn forced_and_slow_lines() {
        assert_eq!(render(&Line::ForcedClosed, false), FORCED_CLOSED);
        assert_eq!(render(&Line::ForcedOpen, false), FORCED_OPEN);
        assert_eq!(
            render(&Line::Slow("The value is: 57".into()), false),
            format!("The value is: 57 {SLOW}")
        );
        colored::control::set_override(true);
        assert_eq!(
            render(&Line::ForcedClosed, true),
            format!("\u{1b}[32m{FORCED_CLOSED}\u{1b}[0m")
        );
        assert_eq!(
            render(&Line::ForcedOpen, true),
            format!("\u{1b}[31m{FORCED_OPEN}\u{1b}[0m")
        );
        // Forced states are named in the summary as they are in the breaker's docs.
        let s = Summary {
            changes: vec![
                change(0, State::Closed, State::ForcedOpen, Reason::Forced),
                change(1, State::ForcedOpen, State::Closed, Reason::Reset),
            ],
            ..Summary::default()
        };
        let text = summary(&s, &demo_rules(), "http://127.0.0.1:8080");
        assert!(text.contains("closed -> forced open  (forced)\n"), "{text}");
        assert!(text.contains("forced open -> closed  (reset)\n"), "{text}");
    }

    #[test]
    fn summary_says_when_nothing_reached_the_service() {
        let s = Summary {
            forwarded: 4,
            failed: 4,
            rejected: 12,
            ..Summary::default()
        };
        let text = summary(&s, &demo_rules(), "http://127.0.0.1:9");
        assert!(text.contains("No request reached the service at http://127.0.0.1:9"));
        assert!(text.contains("State changes: none."));
    }
}
