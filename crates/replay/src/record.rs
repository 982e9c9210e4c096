//! One recorded call: the unit every reader produces and the replay consumes.

use std::time::Duration;

use breaker::Outcome;

/// A call as a log recorded it: when it started, how long it took, how the downstream answered.
///
/// Readers turn each line of their input into one of these; the replay runs them through a real
/// [`CircuitBreaker`](breaker::CircuitBreaker) in the order of their starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record {
    /// The line of the input it was read from, counted from 1.
    pub line: u64,
    /// The call's start, in nanoseconds since an origin of the input's own (a Unix epoch, the
    /// start of a trace, anything): only differences between records matter.
    pub start: i64,
    /// How long the call took: its outcome is recorded this long after its start.
    pub duration: Duration,
    /// How the downstream answered, classified as the breaker classifies HTTP answers.
    pub outcome: Outcome,
}

impl Record {
    /// The call's end, in the same nanoseconds as [`start`](Record::start), saturating.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::Outcome;
    /// use breaker_replay::Record;
    ///
    /// let call = Record {
    ///     line: 1,
    ///     start: 1_796_637_600_000_000_000, // an epoch in nanoseconds
    ///     duration: Duration::from_millis(120),
    ///     outcome: Outcome::Failure,
    /// };
    /// assert_eq!(call.end(), 1_796_637_600_120_000_000);
    /// assert_eq!(Record { start: i64::MAX, ..call }.end(), i64::MAX);
    /// ```
    pub fn end(&self) -> i64 {
        let nanos = i64::try_from(self.duration.as_nanos()).unwrap_or(i64::MAX);
        self.start.saturating_add(nanos)
    }
}
