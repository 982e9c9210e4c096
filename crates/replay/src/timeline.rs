//! The data a run's picture is drawn from, collected while the replay runs, in bounded memory.
//!
//! A log may hold sixteen calls over seven seconds or a billion over a month, and the picture
//! needs about as many bars as it has room for in both cases. So calls are counted into at most
//! [`MAX_STEPS`] time steps of equal width, starting at [`FIRST_STEP`] seconds; when a call lands
//! past the last step, the width doubles and each pair of neighbouring steps merges into one.
//! That keeps every count exact (a merged step holds the sum of its halves), needs no second
//! pass over the log, and bounds memory and picture alike whatever the log's length.
//!
//! The periods when the circuit was not closed are kept as spans with exact ends. A breaker that
//! flaps all month long could make millions of them, so once there are more than [`MAX_SPANS`],
//! spans closer together than a step are merged (the merged span says how many it stands for):
//! at that density they would share a pixel of the picture anyway.

use breaker::{Outcome, Reason, State, StateChange};

/// The most time steps a [`Timeline`] keeps.
pub const MAX_STEPS: usize = 240;

/// The width of a step, in seconds, before any call has made it double.
pub const FIRST_STEP: f64 = 0.1;

/// The most open spans a [`Timeline`] keeps before it merges the closest ones.
pub const MAX_SPANS: usize = 2 * MAX_STEPS;

/// What the breaker did with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Decision {
    /// The call was forwarded; its logged outcome was recorded.
    Admitted,
    /// The call was rejected; it is counted by its logged outcome, which was not recorded.
    Rejected,
}

/// The calls of one time step, and the most failures seen in the window during it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Step {
    /// Admitted calls that succeeded.
    pub admitted_successes: u64,
    /// Admitted calls that failed.
    pub admitted_failures: u64,
    /// Admitted calls whose outcome was ignored (a 4xx, say).
    pub admitted_ignored: u64,
    /// Rejected calls that the log says succeeded: what the breaker cost.
    pub rejected_successes: u64,
    /// Rejected calls that the log says failed: what the breaker spared the downstream.
    pub rejected_failures: u64,
    /// Rejected calls whose logged outcome was ignored.
    pub rejected_ignored: u64,
    /// The most failures in the window reported during the step; `None` when none was.
    pub failures_in_window: Option<u32>,
}

impl Step {
    /// Every call of the step, admitted or rejected.
    ///
    /// ```
    /// use breaker_replay::timeline::Step;
    ///
    /// let step = Step { admitted_successes: 3, rejected_failures: 2, ..Step::default() };
    /// assert_eq!(step.calls(), 5);
    /// ```
    pub fn calls(&self) -> u64 {
        self.admitted().saturating_add(self.rejected())
    }

    /// The admitted calls of the step.
    pub fn admitted(&self) -> u64 {
        self.admitted_successes
            .saturating_add(self.admitted_failures)
            .saturating_add(self.admitted_ignored)
    }

    /// The rejected calls of the step.
    pub fn rejected(&self) -> u64 {
        self.rejected_successes
            .saturating_add(self.rejected_failures)
            .saturating_add(self.rejected_ignored)
    }

    /// Both steps as one: counts added, the maximum of the failures in the window.
    fn merged(self, other: Step) -> Step {
        Step {
            admitted_successes: self
                .admitted_successes
                .saturating_add(other.admitted_successes),
            admitted_failures: self
                .admitted_failures
                .saturating_add(other.admitted_failures),
            admitted_ignored: self.admitted_ignored.saturating_add(other.admitted_ignored),
            rejected_successes: self
                .rejected_successes
                .saturating_add(other.rejected_successes),
            rejected_failures: self
                .rejected_failures
                .saturating_add(other.rejected_failures),
            rejected_ignored: self.rejected_ignored.saturating_add(other.rejected_ignored),
            failures_in_window: self.failures_in_window.max(other.failures_in_window),
        }
    }
}

/// A period when the circuit was not closed: open, half-open or forced open.
///
/// A period that went from open to half-open and back is several spans that touch, one per
/// state, each with the reason of the change that began it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OpenSpan {
    /// When it began, in seconds since the first call's start.
    pub start: f64,
    /// When it ended; `None` while it lasts (until [`Timeline::finish`] clips it).
    pub end: Option<f64>,
    /// The state it was in (the first one, for merged spans).
    pub state: State,
    /// Why the circuit entered that state (`failure_count`, `open_time_elapsed`, …).
    pub reason: Reason,
    /// How many spans of the run this one stands for: 1, unless close neighbours were merged
    /// to keep the list bounded.
    pub spans: u32,
}

/// A run's calls per time step and its open periods, as the run's picture shows them.
///
/// Feed it every call, the failures in the window after each event, every state change, then
/// [`finish`](Timeline::finish) it; times are seconds since the first call's start. A time that is
/// not finite is ignored, a negative one taken as 0, and a call may arrive out of order: it is
/// counted in the step it belongs to.
///
/// ```
/// use breaker::Outcome;
/// use breaker_replay::timeline::{Decision, Timeline};
///
/// let mut timeline = Timeline::new(Some(3));
/// timeline.call(0.0, Decision::Admitted, Outcome::Success);
/// timeline.call(0.25, Decision::Admitted, Outcome::Failure);
/// timeline.failures_in_window(0.25, 1);
/// timeline.call(0.3, Decision::Rejected, Outcome::Success);
/// timeline.finish(0.3);
///
/// assert_eq!(timeline.step(), 0.1);
/// assert_eq!(timeline.steps().len(), 4);
/// assert_eq!(timeline.steps()[2].admitted_failures, 1);
/// assert_eq!(timeline.steps()[2].failures_in_window, Some(1));
/// assert_eq!(timeline.steps()[3].rejected_successes, 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Timeline {
    threshold: Option<u32>,
    step: f64,
    steps: Vec<Step>,
    spans: Vec<OpenSpan>,
    trips: u64,
    calls: u64,
    end: f64,
}

impl Timeline {
    /// An empty timeline for a breaker with the threshold T, `None` when the count rule is off.
    pub fn new(threshold: Option<u32>) -> Timeline {
        Timeline {
            threshold,
            step: FIRST_STEP,
            steps: Vec::new(),
            spans: Vec::new(),
            trips: 0,
            calls: 0,
            end: 0.0,
        }
    }

    /// Counts a call that started `at` seconds after the first call's start, with what the
    /// breaker decided and the outcome the log gives it.
    pub fn call(&mut self, at: f64, decision: Decision, outcome: Outcome) {
        let Some(step) = self.step_at(at) else {
            return;
        };
        let count = match (decision, outcome) {
            (Decision::Admitted, Outcome::Success) => &mut step.admitted_successes,
            (Decision::Admitted, Outcome::Failure) => &mut step.admitted_failures,
            (Decision::Admitted, Outcome::Ignored) => &mut step.admitted_ignored,
            (Decision::Rejected, Outcome::Success) => &mut step.rejected_successes,
            (Decision::Rejected, Outcome::Failure) => &mut step.rejected_failures,
            (Decision::Rejected, Outcome::Ignored) => &mut step.rejected_ignored,
        };
        *count = count.saturating_add(1);
        self.calls = self.calls.saturating_add(1);
    }

    /// Notes the failures in the window at `at`, after an event; each step keeps the most.
    pub fn failures_in_window(&mut self, at: f64, count: u32) {
        if let Some(step) = self.step_at(at) {
            step.failures_in_window = step.failures_in_window.max(Some(count));
        }
    }

    /// Notes a change of state; `at` is its instant in the same seconds as the calls'.
    ///
    /// Entering open, half-open or forced open begins a span (and ends the one before, if any);
    /// entering any other state ends the current span. A change into open counts as a trip.
    pub fn change(&mut self, change: &StateChange, at: f64) {
        self.enter(change.to, change.reason, at);
    }

    /// Ends the timeline at `end`, the last event's time: a span still open ends there, a span
    /// that ends later is cut there, and one that begins later is dropped. The steps then reach
    /// at least to `end`.
    pub fn finish(&mut self, end: f64) {
        if !end.is_finite() {
            return;
        }
        let end = end.max(0.0);
        self.reach(end);
        self.end = end;
        self.spans.retain(|span| span.start <= end);
        for span in &mut self.spans {
            span.end = Some(span.end.map_or(end, |e| e.min(end)));
        }
    }

    /// The threshold T given to [`new`](Timeline::new).
    pub fn threshold(&self) -> Option<u32> {
        self.threshold
    }

    /// The width of every step, in seconds: [`FIRST_STEP`] times a power of two.
    pub fn step(&self) -> f64 {
        self.step
    }

    /// The steps from the first call on; step `i` holds the calls that started in
    /// `[i * step, (i + 1) * step)`. There are at most [`MAX_STEPS`].
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The periods when the circuit was not closed, in time order; at most [`MAX_SPANS`].
    pub fn spans(&self) -> &[OpenSpan] {
        &self.spans
    }

    /// The changes into open: the trips of the run.
    pub fn trips(&self) -> u64 {
        self.trips
    }

    /// The calls counted.
    pub fn calls(&self) -> u64 {
        self.calls
    }

    /// The time the run ends: the time given to [`finish`](Timeline::finish), or else the
    /// latest time counted.
    pub fn end(&self) -> f64 {
        self.end
    }

    /// The time the steps reach to: the number of steps times their width.
    pub fn covered(&self) -> f64 {
        (self.steps.len() as f64 * self.step).min(f64::MAX)
    }

    /// Enters `to` for `reason` at `at`: the whole of [`change`](Timeline::change), for callers
    /// that keep a change in a form of their own rather than the breaker's [`StateChange`].
    pub fn enter(&mut self, to: State, reason: Reason, at: f64) {
        if !at.is_finite() {
            return;
        }
        let at = at.max(0.0);
        if let Some(last) = self.spans.last_mut()
            && last.end.is_none()
        {
            last.end = Some(at.max(last.start));
        }
        if !matches!(to, State::Open | State::HalfOpen | State::ForcedOpen) {
            return;
        }
        if to == State::Open {
            self.trips = self.trips.saturating_add(1);
        }
        self.spans.push(OpenSpan {
            start: at,
            end: None,
            state: to,
            reason,
            spans: 1,
        });
        if self.spans.len() > MAX_SPANS {
            self.merge_spans();
        }
    }

    /// The step that `at` falls in, after widening the steps until it fits; `None` when `at` is
    /// not finite.
    fn step_at(&mut self, at: f64) -> Option<&mut Step> {
        if !at.is_finite() {
            return None;
        }
        let at = at.max(0.0);
        let index = self.reach(at);
        self.end = self.end.max(at);
        self.steps.get_mut(index)
    }

    /// Widens the steps until `at` (finite, not negative) falls in one, adds the steps up to it,
    /// and returns its index.
    fn reach(&mut self, at: f64) -> usize {
        let limit = MAX_STEPS as f64;
        // Doubling ends: once `step * limit` overflows to infinity, every finite `at` is below.
        while at >= self.step * limit {
            self.steps = self
                .steps
                .chunks(2)
                .map(|pair| pair.iter().fold(Step::default(), |sum, &s| sum.merged(s)))
                .collect();
            self.step *= 2.0;
        }
        // A billionth of a step absorbs the rounding of decimal times (0.3 / 0.1 is just under
        // 3); the division may reach the limit itself, and the last step holds that.
        let index = ((at / self.step + 1e-9) as usize).min(MAX_STEPS - 1);
        if self.steps.len() <= index {
            self.steps.resize(index + 1, Step::default());
        }
        index
    }

    /// Merges neighbouring spans less than a step apart (which leaves at most one span per
    /// step, about half of [`MAX_SPANS`]); should that not be enough, the gap doubles.
    fn merge_spans(&mut self) {
        let mut gap = self.step;
        while self.spans.len() > MAX_SPANS * 3 / 4 {
            let mut merged: Vec<OpenSpan> = Vec::with_capacity(self.spans.len());
            for span in self.spans.drain(..) {
                match merged.last_mut() {
                    Some(last) if last.end.is_some_and(|end| span.start - end < gap) => {
                        last.end = span.end;
                        last.spans = last.spans.saturating_add(span.spans);
                    }
                    _ => merged.push(span),
                }
            }
            self.spans = merged;
            gap *= 2.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use breaker::{CircuitBreaker, ManualClock};

    #[test]
    fn calls_are_counted_by_decision_and_outcome_in_their_step() {
        let mut timeline = Timeline::new(Some(3));
        let all = [
            (Decision::Admitted, Outcome::Success),
            (Decision::Admitted, Outcome::Failure),
            (Decision::Admitted, Outcome::Ignored),
            (Decision::Rejected, Outcome::Success),
            (Decision::Rejected, Outcome::Failure),
            (Decision::Rejected, Outcome::Ignored),
        ];
        for (i, (decision, outcome)) in all.into_iter().enumerate() {
            timeline.call(0.05 + i as f64 * 0.1, decision, outcome);
        }
        let steps = timeline.steps();
        assert_eq!(steps.len(), 6);
        assert_eq!(steps[0].admitted_successes, 1);
        assert_eq!(steps[1].admitted_failures, 1);
        assert_eq!(steps[2].admitted_ignored, 1);
        assert_eq!(steps[3].rejected_successes, 1);
        assert_eq!(steps[4].rejected_failures, 1);
        assert_eq!(steps[5].rejected_ignored, 1);
        assert!(steps.iter().all(|s| s.calls() == 1));
        assert_eq!(timeline.calls(), 6);
    }

    #[test]
    fn a_call_past_the_last_step_doubles_the_width_and_keeps_every_count() {
        let mut timeline = Timeline::new(None);
        for i in 0..MAX_STEPS {
            timeline.call(
                i as f64 * FIRST_STEP + 0.01,
                Decision::Admitted,
                Outcome::Success,
            );
        }
        assert_eq!(timeline.steps().len(), MAX_STEPS);
        assert_eq!(timeline.step(), FIRST_STEP);

        timeline.call(
            MAX_STEPS as f64 * FIRST_STEP,
            Decision::Admitted,
            Outcome::Failure,
        );

        assert_eq!(timeline.step(), 2.0 * FIRST_STEP);
        assert_eq!(timeline.steps().len(), MAX_STEPS / 2 + 1);
        assert!(
            timeline.steps()[..MAX_STEPS / 2]
                .iter()
                .all(|s| s.admitted_successes == 2)
        );
        assert_eq!(timeline.steps()[MAX_STEPS / 2].admitted_failures, 1);
    }

    #[test]
    fn merged_steps_keep_the_most_failures_in_the_window() {
        let mut timeline = Timeline::new(Some(1));
        timeline.failures_in_window(0.0, 4);
        timeline.failures_in_window(0.15, 2);
        timeline.failures_in_window(0.15, 1);
        assert_eq!(timeline.steps()[1].failures_in_window, Some(2));

        timeline.failures_in_window(MAX_STEPS as f64 * FIRST_STEP, 0);

        assert_eq!(timeline.steps()[0].failures_in_window, Some(4));
        assert_eq!(timeline.steps()[1].failures_in_window, None);
    }

    #[test]
    fn a_million_calls_over_a_month_stay_within_the_step_bound() {
        let mut timeline = Timeline::new(Some(3));
        let month = 30.0 * 24.0 * 3600.0;
        for i in 0..1_000_000u32 {
            let at = f64::from(i) * month / 1_000_000.0;
            timeline.call(at, Decision::Admitted, Outcome::Success);
        }
        assert!(timeline.steps().len() <= MAX_STEPS);
        assert!(timeline.covered() > timeline.end());
        let counted: u64 = timeline.steps().iter().map(Step::calls).sum();
        assert_eq!(counted, 1_000_000);
    }

    #[test]
    fn times_that_are_not_finite_are_ignored_and_negative_ones_count_at_zero() {
        let mut timeline = Timeline::new(None);
        timeline.call(f64::NAN, Decision::Admitted, Outcome::Success);
        timeline.call(f64::INFINITY, Decision::Admitted, Outcome::Success);
        timeline.failures_in_window(f64::NEG_INFINITY, 9);
        timeline.enter(State::Open, Reason::FailureCount, f64::NAN);
        timeline.finish(f64::NAN);
        assert!(timeline.steps().is_empty());
        assert!(timeline.spans().is_empty());

        timeline.call(-5.0, Decision::Admitted, Outcome::Failure);
        assert_eq!(timeline.steps()[0].admitted_failures, 1);
    }

    #[test]
    fn a_huge_time_widens_the_steps_without_end() {
        let mut timeline = Timeline::new(None);
        timeline.call(0.0, Decision::Admitted, Outcome::Success);
        timeline.call(f64::MAX, Decision::Admitted, Outcome::Success);
        assert!(timeline.step().is_finite());
        assert!(timeline.steps().len() <= MAX_STEPS);
        assert_eq!(timeline.steps().iter().map(Step::calls).sum::<u64>(), 2);
    }

    #[test]
    fn a_period_through_half_open_is_touching_spans_each_with_its_reason() {
        let mut timeline = Timeline::new(Some(3));
        timeline.enter(State::Open, Reason::FailureCount, 1.0);
        timeline.enter(State::HalfOpen, Reason::OpenTimeElapsed, 3.0);
        timeline.enter(State::Open, Reason::ProbeFailed, 3.5);
        timeline.enter(State::Closed, Reason::WindowEmptied, 6.0);
        timeline.finish(8.0);

        let spans = timeline.spans();
        assert_eq!(spans.len(), 3);
        assert_eq!((spans[0].start, spans[0].end), (1.0, Some(3.0)));
        assert_eq!(
            (spans[1].state, spans[1].reason),
            (State::HalfOpen, Reason::OpenTimeElapsed)
        );
        assert_eq!((spans[2].start, spans[2].end), (3.5, Some(6.0)));
        assert_eq!(spans[2].reason, Reason::ProbeFailed);
        assert_eq!(timeline.trips(), 2);
    }

    #[test]
    fn finish_ends_open_spans_and_cuts_those_past_the_end() {
        let mut timeline = Timeline::new(Some(0));
        timeline.enter(State::Open, Reason::FailureCount, 1.0);
        timeline.enter(State::Closed, Reason::WindowEmptied, 9.0);
        timeline.enter(State::ForcedOpen, Reason::Forced, 9.5);
        timeline.finish(7.0);

        assert_eq!(timeline.spans().len(), 1);
        assert_eq!(timeline.spans()[0].end, Some(7.0));
        assert_eq!(timeline.end(), 7.0);
        assert!(timeline.covered() >= 7.0);

        let mut still_open = Timeline::new(Some(0));
        still_open.enter(State::Open, Reason::FailureCount, 2.0);
        still_open.finish(4.0);
        assert_eq!(still_open.spans()[0].end, Some(4.0));
    }

    #[test]
    fn forced_closed_is_not_an_open_period() {
        let mut timeline = Timeline::new(Some(3));
        timeline.enter(State::ForcedClosed, Reason::Forced, 1.0);
        timeline.finish(2.0);
        assert!(timeline.spans().is_empty());
        assert_eq!(timeline.trips(), 0);
    }

    #[test]
    fn a_flapping_breaker_keeps_a_bounded_list_of_spans_and_every_trip() {
        let mut timeline = Timeline::new(Some(3));
        for i in 0..100_000u32 {
            let at = f64::from(i) * 10.0;
            timeline.call(at, Decision::Admitted, Outcome::Failure);
            timeline.enter(State::Open, Reason::FailureCount, at);
            timeline.enter(State::Closed, Reason::WindowEmptied, at + 5.0);
        }
        timeline.finish(1_000_000.0);

        assert!(timeline.spans().len() <= MAX_SPANS);
        assert_eq!(timeline.trips(), 100_000);
        let stood_for: u64 = timeline.spans().iter().map(|s| u64::from(s.spans)).sum();
        assert_eq!(stood_for, 100_000);
        let starts: Vec<f64> = timeline.spans().iter().map(|s| s.start).collect();
        assert!(starts.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn changes_of_a_real_breaker_make_its_open_period() {
        let clock = ManualClock::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let cb = CircuitBreaker::builder()
            .window(Duration::from_secs(5))
            .error_threshold(1)
            .clock(clock.clone())
            .on_state_change(move |change| {
                if let Ok(mut changes) = sink.lock() {
                    changes.push(change);
                }
            })
            .build()
            .expect("a valid breaker");
        let mut timeline = Timeline::new(cb.error_threshold());

        for _ in 0..3 {
            let at = clock_seconds(&clock);
            match cb.try_acquire() {
                Ok(permit) => {
                    permit.failure();
                    timeline.call(at, Decision::Admitted, Outcome::Failure);
                }
                Err(_) => timeline.call(at, Decision::Rejected, Outcome::Failure),
            }
            clock.advance(Duration::from_millis(500));
        }
        clock.advance(Duration::from_secs(10));
        let _ = cb.state();
        let changes = seen.lock().expect("no poisoned lock").clone();
        for change in &changes {
            timeline.change(change, change.at.as_secs_f64());
        }
        timeline.finish(clock_seconds(&clock));

        assert_eq!(timeline.trips(), 1);
        assert_eq!(timeline.spans().len(), 1);
        let span = timeline.spans()[0];
        assert_eq!((span.start, span.end), (0.5, Some(5.0)));
        assert_eq!(span.reason, Reason::FailureCount);
        assert_eq!(timeline.steps()[10].rejected_failures, 1);
    }

    fn clock_seconds(clock: &ManualClock) -> f64 {
        use breaker::Clock;
        clock.now().as_secs_f64()
    }
}
