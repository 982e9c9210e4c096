//! The replay engine: recorded calls, in the order of their starts, through a real breaker on a
//! clock that only the replay moves.
//!
//! Nothing here re-implements a rule of the breaker: each call asks a real
//! [`CircuitBreaker`] for a permit at its start and tells the permit its logged outcome at its
//! end, and the breaker's own observer reports the changes, with their exact instants. The
//! engine's only jobs are to order the events and to move the clock:
//!
//! - before a call's start, every pending end at or before that instant is recorded, in the
//!   order of the ends, equal ends in input order: at one instant, ends come before starts;
//! - the clock moves to the start and the breaker is asked for a permit;
//! - an admitted call with a duration keeps its permit until its end, and is told its outcome
//!   once the clock has moved there (so the slow-call rule sees the duration); a call without
//!   a duration is told at once, right after its own start;
//! - a rejected call records nothing and is counted by its logged outcome.
//!
//! At the end every pending call ends, then the clock moves past the longest open period the
//! settings allow and the state is asked for once more, so that a close after the last event is
//! reported at its own instant; the time not closed is counted up to the last event only.
//!
//! # Why a schedule apart from the engine
//!
//! The order of the events does not depend on the breaker: a call's end comes at the same place
//! whether the call was admitted or not (a rejected call's end is simply skipped). So a
//! [`Schedule`] turns the records into a list of events once, keeping the ends in flight in a
//! heap, and gives each call in flight a slot; an [`Engine`] (one breaker, one clock) walks
//! the list and keeps its admitted permits in those slots. A sweep of a hundred settings then
//! sorts the ends once, not a hundred times, and each engine's work per record is a few loads
//! and stores besides the breaker's own: no allocation (the slots and the change buffer keep
//! their room), no lock (the observer, which runs only on a change, raises a flag that the
//! engine reads), and no look at the failures in the window unless a picture is drawn.
//!
//! Events come in batches (a slice fed at once), and the schedule marks the calls that start
//! and end in the same batch, most of them: their permits are borrowed from the breaker
//! ([`CircuitBreaker::try_acquire`]) for the batch, and only the calls that outlive it take an
//! [`OwnedPermit`] (whose handle costs two atomic counts on the breaker's shared state).
//!
//! The breaker reads time from a [`ManualClock`], which the engine moves to each event's
//! instant and never further: the breaker's own clock for tests, so that the replay is the
//! breaker's behaviour under exactly the times the log gives, and nothing else.

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use breaker::{CircuitBreaker, ManualClock, Outcome, OwnedPermit, Permit, State, StateChange};

use crate::record::Record;
use crate::report::{Change, Report};
use crate::settings::{Settings, SettingsError};
use crate::timeline::{Decision, Timeline};

/// Replays calls through one breaker, and reports what it did.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use breaker::Outcome;
/// use breaker_replay::{Record, Replay, Settings};
///
/// let settings = Settings { window: Duration::from_secs(10), threshold: Some(1), ..Settings::default() };
/// let mut replay = Replay::new(&settings)?;
/// let secs = |s: i64| s * 1_000_000_000;
/// for (line, start, outcome) in [
///     (1, 100, Outcome::Failure),
///     (2, 101, Outcome::Failure), // the second failure in 10 s: more than T = 1
///     (3, 102, Outcome::Success), // rejected
///     (4, 111, Outcome::Success), // the first failure left the window at 110 s
/// ] {
///     replay.push(&Record { line, start: secs(start), duration: Duration::ZERO, outcome });
/// }
/// let (report, _) = replay.finish();
/// assert_eq!((report.admitted, report.rejected, report.trips), (3, 1, 1));
/// assert_eq!(report.rejected_by_outcome.success, 1);
/// assert_eq!(report.changes[0].at, Duration::from_secs(1)); // since the first call's start
/// assert_eq!(report.changes[1].at, Duration::from_secs(10));
/// assert_eq!(report.open_seconds, 9.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Replay {
    schedule: Schedule,
    engine: Engine,
    /// The events of the records being replayed, kept to reuse their room.
    events: Vec<Event>,
}

impl Replay {
    /// An engine for `settings`, that keeps every change of state for its report.
    ///
    /// # Errors
    ///
    /// When the settings do not build a breaker (see [`Settings::check`]).
    pub fn new(settings: &Settings) -> Result<Replay, SettingsError> {
        Ok(Replay {
            schedule: Schedule::default(),
            engine: Engine::new(settings)?,
            events: Vec::new(),
        })
    }

    /// Counts the changes of state without keeping them (what a sweep needs): the report's
    /// `changes` stay empty, its `trips` and `open_seconds` are the same.
    #[must_use]
    pub fn without_changes(mut self) -> Replay {
        self.engine = self.engine.without_changes();
        self
    }

    /// Also collects a [`Timeline`] for a picture of the run: the calls per time step, the open
    /// periods, and the failures in the window after each event (which costs a look at the
    /// window per event).
    #[must_use]
    pub fn with_timeline(mut self) -> Replay {
        self.engine = self.engine.with_timeline();
        self
    }

    /// The breaker being replayed through.
    pub fn breaker(&self) -> &CircuitBreaker {
        &self.engine.breaker
    }

    /// Replays one call. Calls must come in the order of their starts (ties in input order);
    /// the first one's start is time zero.
    ///
    /// Returns what the breaker decided, or `None` for a call that starts before a call already
    /// replayed: it is left out and counted as out of order.
    pub fn push(&mut self, record: &Record) -> Option<Decision> {
        self.schedule.begin(&mut self.events);
        if !self.schedule.push(record, &mut self.events) {
            return None;
        }
        // The call's own start is the last event; the ends before it decide nothing.
        self.engine.apply(&self.events)
    }

    /// Replays calls, in the order of their starts.
    pub fn feed(&mut self, records: &[Record]) {
        self.schedule.begin(&mut self.events);
        for record in records {
            self.schedule.push(record, &mut self.events);
        }
        self.engine.apply(&self.events);
    }

    /// Ends every pending call, reports a close that comes after the last event, and returns
    /// the report (with its [`span`](Report::span)), and the timeline if one was asked for.
    /// The report's `skipped.unreadable` is the reader's to fill in.
    pub fn finish(mut self) -> (Report, Option<Timeline>) {
        self.schedule.begin(&mut self.events);
        self.schedule.finish(&mut self.events);
        self.engine.apply(&self.events);
        let (mut report, timeline) = self.engine.finish();
        report.skipped.out_of_order += self.schedule.out_of_order;
        (report, timeline)
    }
}

/// One event of a replay, on the clock (nanoseconds since the first call's start): 16 bytes,
/// so that a batch of them stays in a core's cache while every engine walks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Event {
    at: u64,
    /// The call's place among the calls in flight (for a call with a duration), shifted left by
    /// 5; then the kind of event in 3 bits, then the outcome in 2.
    word: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    /// A call with a duration starts; its end comes in a later batch, in the same slot.
    Start(Outcome),
    /// A call with a duration starts, and ends in the same batch ([`What::BriefEnd`]).
    Brief(Outcome),
    /// A call without a duration starts and ends at once.
    Instant(Outcome),
    /// The call in the slot, started in an earlier batch, ends with this outcome.
    End(Outcome),
    /// The call in the slot, started in this batch, ends with this outcome.
    BriefEnd(Outcome),
}

impl Event {
    const KIND: u64 = 7 << 2;
    const BRIEF: u64 = 1 << 2;

    fn new(at: u64, slot: usize, what: What) -> Event {
        let (kind, outcome) = match what {
            What::Start(o) => (0, o),
            What::Brief(o) => (1, o),
            What::Instant(o) => (2, o),
            What::End(o) => (3, o),
            What::BriefEnd(o) => (4, o),
        };
        let code = match outcome {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Ignored => 2,
        };
        Event {
            at,
            word: ((slot as u64) << 5) | (kind << 2) | code,
        }
    }

    fn slot(&self) -> usize {
        (self.word >> 5) as usize
    }

    fn what(&self) -> What {
        let outcome = match self.word & 3 {
            0 => Outcome::Success,
            1 => Outcome::Failure,
            _ => Outcome::Ignored,
        };
        match (self.word & Self::KIND) >> 2 {
            0 => What::Start(outcome),
            1 => What::Brief(outcome),
            2 => What::Instant(outcome),
            3 => What::End(outcome),
            _ => What::BriefEnd(outcome),
        }
    }

    /// A start whose end turned out to come in the same batch.
    fn make_brief(&mut self) {
        self.word = (self.word & !Self::KIND) | Self::BRIEF;
    }
}

/// The last instant of the replay's clock, in nanoseconds since the first call's start: later
/// starts and ends are taken as this one (at most 5 ns off, 584 years in).
///
/// Two starts in `i64` nanoseconds can be up to `u64::MAX` ns apart, but the breaker keeps the
/// end of an open period only up to `u64::MAX - 5` ns: a trip later than that would end before
/// it began, and its close be reported at an instant before its trip.
const CLOCK_END: u64 = u64::MAX - 5;

/// Puts the starts and ends of calls in the order they are replayed.
#[derive(Debug, Default)]
pub(crate) struct Schedule {
    /// The first call's start, in the records' nanoseconds: the clock's zero.
    origin: Option<i64>,
    /// The latest start scheduled, on the clock.
    last_start: u64,
    /// The input order of the next call.
    seq: u64,
    /// The calls in flight, the earliest end on top.
    ends: BinaryHeap<Due>,
    /// Slots given back by calls that ended.
    free: Vec<usize>,
    /// Slots ever given out.
    slots: usize,
    /// The batch being scheduled: see [`begin`](Schedule::begin).
    batch: u64,
    /// For each slot, the batch its call started in and the index of its start in that batch.
    started: Vec<(u64, usize)>,
    /// Calls that started before a call already scheduled.
    pub(crate) out_of_order: u64,
}

/// A call in flight, in the schedule's heap.
#[derive(Debug, PartialEq, Eq)]
struct Due {
    /// The end in the high 64 bits, then the input order, then the outcome in the low 2 bits:
    /// the order of the ends is the order of the keys.
    key: u128,
    slot: usize,
}

impl Due {
    fn new(end: u64, seq: u64, outcome: Outcome, slot: usize) -> Self {
        let code = match outcome {
            Outcome::Success => 0,
            Outcome::Failure => 1,
            Outcome::Ignored => 2,
        };
        let order = (u128::from(seq) << 2) | code;
        Self {
            key: (u128::from(end) << 64) | order,
            slot,
        }
    }

    fn end(&self) -> u64 {
        (self.key >> 64) as u64
    }

    /// The call's end, and its outcome.
    fn end_event(&self) -> (u64, What) {
        let outcome = match self.key & 3 {
            0 => Outcome::Success,
            1 => Outcome::Failure,
            _ => Outcome::Ignored,
        };
        (self.end(), What::End(outcome))
    }
}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl Ord for Due {
    /// Reversed, so that the max-heap gives the earliest end, then the earliest input.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        other.key.cmp(&self.key)
    }
}

impl Schedule {
    /// Begins a batch of events in `events`, emptied. A call that starts and ends in one batch
    /// is marked brief: an engine can keep its permit for the batch only, borrowed from its
    /// breaker, which costs less than an owned one.
    pub(crate) fn begin(&mut self, events: &mut Vec<Event>) {
        events.clear();
        self.batch += 1;
    }

    /// Appends the events `record` brings: the ends due at or before its start, then its start.
    /// Returns `false`, and appends nothing, for a call that starts before one already
    /// scheduled.
    pub(crate) fn push(&mut self, record: &Record, events: &mut Vec<Event>) -> bool {
        let origin = *self.origin.get_or_insert(record.start);
        let start = u64::try_from(i128::from(record.start) - i128::from(origin))
            .ok()
            .map(|start| start.min(CLOCK_END))
            .filter(|&start| start >= self.last_start);
        let Some(start) = start else {
            self.out_of_order += 1;
            return false;
        };
        self.last_start = start;
        self.ends_until(start, events);
        let duration = nanos(record.duration);
        let outcome = record.outcome;
        if duration == 0 {
            events.push(Event::new(start, 0, What::Instant(outcome)));
        } else {
            let slot = self.free.pop().unwrap_or_else(|| {
                self.slots += 1;
                self.slots - 1
            });
            let end = start.saturating_add(duration).min(CLOCK_END);
            self.ends.push(Due::new(end, self.seq, outcome, slot));
            if slot >= self.started.len() {
                self.started.resize(slot + 1, (0, 0));
            }
            if let Some(started) = self.started.get_mut(slot) {
                *started = (self.batch, events.len());
            }
            events.push(Event::new(start, slot, What::Start(outcome)));
        }
        self.seq += 1;
        true
    }

    /// Appends the end of every call still in flight.
    pub(crate) fn finish(&mut self, events: &mut Vec<Event>) {
        self.ends_until(u64::MAX, events);
    }

    fn ends_until(&mut self, until: u64, events: &mut Vec<Event>) {
        while self.ends.peek().is_some_and(|due| due.end() <= until) {
            if let Some(due) = self.ends.pop() {
                let (at, what) = due.end_event();
                let start = self
                    .started
                    .get(due.slot)
                    .filter(|&&(batch, _)| batch == self.batch)
                    .and_then(|&(_, index)| events.get_mut(index));
                let what = match (start, what) {
                    (Some(start), What::End(outcome)) => {
                        start.make_brief();
                        What::BriefEnd(outcome)
                    }
                    (_, what) => what,
                };
                events.push(Event::new(at, due.slot, what));
                self.free.push(due.slot);
            }
        }
    }
}

/// One breaker on its own clock, walking a schedule's events.
#[derive(Debug)]
pub(crate) struct Engine {
    breaker: CircuitBreaker,
    walk: Walk,
}

/// Everything an engine keeps besides its breaker: apart, so that permits borrowed from the
/// breaker can be kept beside it while a batch is walked.
#[derive(Debug)]
struct Walk {
    clock: ManualClock,
    /// The clock's time, in nanoseconds since the first call's start.
    now: u64,
    /// The permits of the admitted calls in flight that end in a later batch, by slot.
    permits: Vec<Option<OwnedPermit>>,
    /// What the breaker's observer saw.
    seen: Arc<Seen>,
    /// The changes taken from `seen`, kept to reuse their room.
    spare: Vec<StateChange>,
    report: Report,
    keep_changes: bool,
    /// Since when the circuit has not been closed, if it is not.
    open_since: Option<u64>,
    open_nanos: u128,
    /// No time past this counts as open: the last event, once known.
    horizon: u64,
    longest_open: u64,
    timeline: Option<Timeline>,
}

/// Puts `permit` in `slot`, making room if need be.
#[inline]
fn keep<P>(permits: &mut Vec<Option<P>>, slot: usize, permit: P) {
    if slot >= permits.len() {
        permits.resize_with(slot + 1, || None);
    }
    if let Some(place) = permits.get_mut(slot) {
        *place = Some(permit);
    }
}

/// The changes the breaker's observer reports, and a flag the engine reads after each event.
#[derive(Debug, Default)]
struct Seen {
    any: AtomicBool,
    changes: Mutex<Vec<StateChange>>,
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn secs(nanos: u64) -> f64 {
    Duration::from_nanos(nanos).as_secs_f64()
}

impl Engine {
    /// An engine for `settings`, that keeps every change of state.
    pub(crate) fn new(settings: &Settings) -> Result<Engine, SettingsError> {
        let clock = ManualClock::new();
        let seen = Arc::new(Seen::default());
        let observer = Arc::clone(&seen);
        let breaker = settings
            .builder()?
            .clock(clock.clone())
            .on_state_change(move |change| {
                let mut changes = observer
                    .changes
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                changes.push(change);
                observer.any.store(true, Ordering::Release);
            })
            .build()?;
        let walk = Walk {
            clock,
            now: 0,
            permits: Vec::new(),
            seen,
            spare: Vec::new(),
            report: Report::default(),
            keep_changes: true,
            open_since: None,
            open_nanos: 0,
            horizon: u64::MAX,
            longest_open: nanos(settings.longest_open()),
            timeline: None,
        };
        Ok(Engine { breaker, walk })
    }

    /// Counts the changes of state without keeping them.
    pub(crate) fn without_changes(mut self) -> Engine {
        self.walk.keep_changes = false;
        self
    }

    /// Also collects a timeline.
    fn with_timeline(mut self) -> Engine {
        self.walk.timeline = Some(Timeline::new(self.breaker.error_threshold()));
        self
    }

    /// Replays a batch of `events`, in order; returns what the breaker decided on the last
    /// start among them.
    pub(crate) fn apply(&mut self, events: &[Event]) -> Option<Decision> {
        let Engine { breaker, walk } = self;
        // The permits of the calls that start and end in this batch; none is left at its end.
        let mut brief = Vec::new();
        let mut decision = None;
        for event in events {
            decision = walk.event(breaker, &mut brief, event).or(decision);
        }
        decision
    }

    /// Reports a close that comes after the last event, and returns the report and the
    /// timeline. Every call must have ended (the schedule's [`finish`](Schedule::finish)).
    pub(crate) fn finish(self) -> (Report, Option<Timeline>) {
        let Engine { breaker, mut walk } = self;
        let last = walk.now;
        walk.horizon = last;
        walk.advance_to(last.saturating_add(walk.longest_open));
        // Asked once more, the state reports the change that time alone has made.
        let _ = breaker.state();
        walk.take_changes();
        if let Some(since) = walk.open_since.take() {
            walk.open_nanos += u128::from(last.saturating_sub(since));
        }
        let mut report = walk.report;
        report.open_seconds = walk.open_nanos as f64 / 1e9;
        report.span = Duration::from_nanos(last);
        let mut timeline = walk.timeline;
        if let Some(timeline) = &mut timeline {
            timeline.finish(secs(last));
        }
        (report, timeline)
    }
}

impl Walk {
    /// Replays one event; for a start, returns what the breaker decided.
    #[inline]
    fn event<'b>(
        &mut self,
        breaker: &'b CircuitBreaker,
        brief: &mut Vec<Option<Permit<'b>>>,
        event: &Event,
    ) -> Option<Decision> {
        match event.what() {
            What::End(outcome) => {
                let permit = self.permits.get_mut(event.slot()).and_then(Option::take);
                if let Some(permit) = permit {
                    self.advance_to(event.at);
                    permit.record(outcome);
                    self.ended(breaker, event.at);
                }
                None
            }
            What::BriefEnd(outcome) => {
                let permit = brief.get_mut(event.slot()).and_then(Option::take);
                if let Some(permit) = permit {
                    self.advance_to(event.at);
                    permit.record(outcome);
                    self.ended(breaker, event.at);
                }
                None
            }
            What::Start(outcome) => {
                self.advance_to(event.at);
                let decision = match breaker.try_acquire_owned() {
                    Ok(permit) => {
                        keep(&mut self.permits, event.slot(), permit);
                        Decision::Admitted
                    }
                    Err(_) => Decision::Rejected,
                };
                self.count_call(breaker, event.at, decision, outcome);
                Some(decision)
            }
            What::Brief(outcome) => {
                self.advance_to(event.at);
                let decision = match breaker.try_acquire() {
                    Ok(permit) => {
                        keep(brief, event.slot(), permit);
                        Decision::Admitted
                    }
                    Err(_) => Decision::Rejected,
                };
                self.count_call(breaker, event.at, decision, outcome);
                Some(decision)
            }
            What::Instant(outcome) => {
                self.advance_to(event.at);
                let decision = match breaker.try_acquire() {
                    Ok(permit) => {
                        permit.record(outcome);
                        Decision::Admitted
                    }
                    Err(_) => Decision::Rejected,
                };
                self.count_call(breaker, event.at, decision, outcome);
                Some(decision)
            }
        }
    }

    /// After an admitted call's outcome was recorded at `at`.
    #[inline(always)]
    fn ended(&mut self, breaker: &CircuitBreaker, at: u64) {
        self.take_changes();
        if let Some(timeline) = &mut self.timeline {
            timeline.failures_in_window(secs(at), breaker.errors_in_window());
        }
    }

    /// Counts a call the breaker just decided on.
    #[inline(always)]
    fn count_call(
        &mut self,
        breaker: &CircuitBreaker,
        at: u64,
        decision: Decision,
        outcome: Outcome,
    ) {
        self.report.calls += 1;
        match decision {
            Decision::Admitted => {
                self.report.admitted += 1;
                self.report.outcomes.add(outcome);
            }
            Decision::Rejected => {
                self.report.rejected += 1;
                self.report.rejected_by_outcome.add(outcome);
            }
        }
        self.take_changes();
        if let Some(timeline) = &mut self.timeline {
            timeline.call(secs(at), decision, outcome);
            timeline.failures_in_window(secs(at), breaker.errors_in_window());
        }
    }

    fn advance_to(&mut self, t: u64) {
        if t > self.now {
            self.clock.advance(Duration::from_nanos(t - self.now));
            self.now = t;
        }
    }

    /// Takes in the changes the observer has seen since the last look: one load, unless
    /// there are some.
    #[inline(always)]
    fn take_changes(&mut self) {
        if self.seen.any.load(Ordering::Acquire) {
            self.take_seen_changes();
        }
    }

    #[cold]
    #[inline(never)]
    fn take_seen_changes(&mut self) {
        {
            let mut changes = self
                .seen
                .changes
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            std::mem::swap(&mut *changes, &mut self.spare);
            self.seen.any.store(false, Ordering::Release);
        }
        let mut spare = std::mem::take(&mut self.spare);
        for change in spare.drain(..) {
            self.count(change);
        }
        self.spare = spare;
    }

    /// Counts one change: a trip, the time not closed, the report's list, the timeline.
    fn count(&mut self, change: StateChange) {
        let at = nanos(change.at);
        if change.to == State::Open {
            self.report.trips += 1;
        }
        let closed = |s: State| matches!(s, State::Closed | State::ForcedClosed);
        match (closed(change.from), closed(change.to)) {
            (true, false) => self.open_since = Some(at),
            (false, true) => {
                if let Some(since) = self.open_since.take() {
                    let (since, at) = (since.min(self.horizon), at.min(self.horizon));
                    self.open_nanos += u128::from(at.saturating_sub(since));
                }
            }
            _ => {}
        }
        if self.keep_changes {
            self.report.changes.push(Change::from(change));
        }
        if let Some(timeline) = &mut self.timeline {
            timeline.change(&change, secs(at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use breaker::Reason;

    const SEC: i64 = 1_000_000_000;

    /// A call starting `start` ms after an origin far from zero, lasting `duration` ms.
    fn call(start: i64, duration: u64, outcome: Outcome) -> Record {
        Record {
            line: 0,
            start: 1_700_000_000 * SEC + start * 1_000_000,
            duration: Duration::from_millis(duration),
            outcome,
        }
    }

    fn settings(window_secs: u64, threshold: u32) -> Settings {
        Settings {
            window: Duration::from_secs(window_secs),
            threshold: Some(threshold),
            ..Settings::default()
        }
    }

    fn replay(settings: &Settings, calls: &[Record]) -> (Report, Vec<Option<Decision>>) {
        let mut replay = Replay::new(settings).unwrap();
        let decisions = calls.iter().map(|c| replay.push(c)).collect();
        (replay.finish().0, decisions)
    }

    fn change(at_ms: u64, from: State, to: State, reason: Reason) -> Change {
        Change {
            at: Duration::from_millis(at_ms),
            from,
            to,
            reason,
        }
    }

    use Decision::{Admitted, Rejected};
    use Outcome::{Failure, Ignored, Success};

    #[test]
    fn ends_come_before_starts_at_one_instant() {
        // The failure ends at 1 s and trips T = 0; the call starting at 1 s finds it open.
        let (report, decisions) = replay(
            &settings(10, 0),
            &[call(0, 1_000, Failure), call(1_000, 0, Success)],
        );
        assert_eq!(decisions, [Some(Admitted), Some(Rejected)]);
        assert_eq!(report.changes[0].at, Duration::from_secs(1));
    }

    #[test]
    fn a_zero_duration_call_records_right_after_its_own_start() {
        // Before the next start at the same instant.
        let (report, decisions) = replay(
            &settings(10, 0),
            &[
                call(0, 0, Failure),
                call(0, 0, Success),
                call(0, 0, Success),
            ],
        );
        assert_eq!(decisions, [Some(Admitted), Some(Rejected), Some(Rejected)]);
        assert_eq!(report.changes[0].at, Duration::ZERO);
    }

    #[test]
    fn equal_ends_record_in_input_order() {
        // Two in a row open it. A success and a failure end at 1 s after one failure: in input
        // order the success breaks the row first; the other way round the row would be two.
        let consecutive = Settings {
            threshold: None,
            consecutive: Some(2),
            ..settings(10, 0)
        };
        let (report, _) = replay(
            &consecutive,
            &[
                call(0, 0, Failure),
                call(100, 900, Success),
                call(200, 800, Failure),
            ],
        );
        assert_eq!(report.trips, 0);
        let (report, _) = replay(
            &consecutive,
            &[
                call(0, 0, Failure),
                call(100, 900, Failure),
                call(200, 800, Success),
            ],
        );
        assert_eq!(report.trips, 1);
        assert_eq!(report.changes[0].at, Duration::from_secs(1));
    }

    #[test]
    fn the_trip_and_close_instants_are_exact() {
        let (report, decisions) = replay(
            &settings(5, 1),
            &[
                call(1_000, 0, Failure),
                call(2_500, 0, Failure),
                call(5_999, 0, Success),
                call(6_000, 0, Success),
            ],
        );
        assert_eq!(
            decisions,
            [
                Some(Admitted),
                Some(Admitted),
                Some(Rejected),
                Some(Admitted)
            ]
        );
        // Times since the first call's start (at 1 s): the trip at 1.5 s, the close when the
        // first failure turns W old, 5 s after it.
        assert_eq!(
            report.changes,
            [
                change(1_500, State::Closed, State::Open, Reason::FailureCount),
                change(5_000, State::Open, State::Closed, Reason::WindowEmptied),
            ]
        );
        assert_eq!(report.trips, 1);
        assert_eq!(report.open_seconds, 3.5);
        assert_eq!(report.span, Duration::from_secs(5));
    }

    #[test]
    fn the_last_close_is_reported_past_the_last_event() {
        let (report, _) = replay(
            &settings(5, 1),
            &[
                call(0, 0, Failure),
                call(1_500, 0, Failure),
                call(4_000, 0, Success),
            ],
        );
        assert_eq!(
            report.changes,
            [
                change(1_500, State::Closed, State::Open, Reason::FailureCount),
                change(5_000, State::Open, State::Closed, Reason::WindowEmptied),
            ]
        );
        // Open from 1.5 s, counted up to the last event at 4 s.
        assert_eq!(report.open_seconds, 2.5);
        assert_eq!(report.span, Duration::from_secs(4));
    }

    #[test]
    fn rejected_calls_are_counted_by_their_logged_outcome() {
        let (report, _) = replay(
            &settings(60, 0),
            &[
                call(0, 0, Failure),
                call(1, 0, Success),
                call(2, 0, Success),
                call(3, 0, Failure),
                call(4, 0, Ignored),
            ],
        );
        assert_eq!((report.calls, report.admitted, report.rejected), (5, 1, 4));
        assert_eq!(report.outcomes.failure, 1);
        assert_eq!(
            (
                report.rejected_by_outcome.success,
                report.rejected_by_outcome.failure,
                report.rejected_by_outcome.ignored
            ),
            (2, 1, 1)
        );
    }

    #[test]
    fn the_slow_call_rule_sees_the_duration() {
        let slow = Settings {
            slow: Some(Duration::from_secs(1)),
            ..settings(10, 0)
        };
        // Exactly 1 s is not slow; 1.001 s is, and trips T = 0 at its end.
        let (report, _) = replay(&slow, &[call(0, 1_000, Success), call(100, 1_001, Success)]);
        assert_eq!(
            report.changes[0],
            change(1_101, State::Closed, State::Open, Reason::FailureCount)
        );
        assert_eq!(
            report.outcomes.success, 2,
            "the logged outcome is what is counted"
        );
    }

    #[test]
    fn half_open_probes_decide_after_an_open_time_of_w() {
        let probing = Settings {
            half_open: Some(1),
            ..settings(5, 0)
        };
        let (report, decisions) = replay(
            &probing,
            &[
                call(0, 0, Failure),
                call(5_000, 1_000, Success), // the probe
                call(5_500, 0, Success),     // one probe at a time
                call(6_000, 0, Success),     // closed by the probe's success
            ],
        );
        assert_eq!(
            decisions,
            [
                Some(Admitted),
                Some(Admitted),
                Some(Rejected),
                Some(Admitted)
            ]
        );
        assert_eq!(
            report.changes,
            [
                change(0, State::Closed, State::Open, Reason::FailureCount),
                change(5_000, State::Open, State::HalfOpen, Reason::OpenTimeElapsed),
                change(
                    6_000,
                    State::HalfOpen,
                    State::Closed,
                    Reason::ProbesSucceeded
                ),
            ]
        );
        assert_eq!(report.trips, 1);
        assert_eq!(report.open_seconds, 6.0);
    }

    #[test]
    fn calls_admitted_before_a_trip_are_recorded_after_it() {
        // Two slow failures admitted at once: the first to end trips T = 0, the second still
        // counts and keeps the circuit open W past its own end.
        let (report, _) = replay(
            &settings(5, 0),
            &[call(0, 1_000, Failure), call(0, 2_000, Failure)],
        );
        assert_eq!(
            report.changes,
            [
                change(1_000, State::Closed, State::Open, Reason::FailureCount),
                change(7_000, State::Open, State::Closed, Reason::WindowEmptied),
            ]
        );
    }

    #[test]
    fn a_call_that_starts_before_an_event_already_replayed_is_left_out() {
        let mut replay = Replay::new(&settings(5, 3)).unwrap();
        assert_eq!(replay.push(&call(1_000, 0, Success)), Some(Admitted));
        assert_eq!(replay.push(&call(500, 0, Success)), None);
        assert_eq!(replay.push(&call(0, 0, Success)), None);
        let (report, _) = replay.finish();
        assert_eq!((report.calls, report.skipped.out_of_order), (1, 2));
    }

    #[test]
    fn a_trip_at_the_end_of_the_clock_closes_after_it_not_before() {
        // Starts u64::MAX ns apart: the failure, 3 ns before the last, would trip the breaker
        // past the last instant it keeps an open period to, and be closed before it opened.
        // Both are taken at the clock's last instant instead.
        let at = |start: i64, outcome| Record {
            line: 0,
            start,
            duration: Duration::ZERO,
            outcome,
        };
        let (report, decisions) = replay(
            &settings(1, 0),
            &[
                at(i64::MIN, Success),
                at(i64::MAX - 3, Failure),
                at(i64::MAX, Success),
            ],
        );
        // The call at the trip's instant finds the circuit open.
        assert_eq!(decisions, [Some(Admitted), Some(Admitted), Some(Rejected)]);
        let end = Duration::from_nanos(CLOCK_END);
        assert_eq!(
            report.changes,
            [
                Change {
                    at: end,
                    from: State::Closed,
                    to: State::Open,
                    reason: Reason::FailureCount
                },
                Change {
                    at: end,
                    from: State::Open,
                    to: State::Closed,
                    reason: Reason::OpenTimeElapsed
                },
            ]
        );
        assert_eq!((report.span, report.open_seconds), (end, 0.0));
    }

    #[test]
    fn a_sweep_engine_counts_changes_without_keeping_them() {
        let calls = [call(0, 0, Failure), call(10, 0, Success)];
        let mut replay = Replay::new(&settings(1, 0)).unwrap().without_changes();
        replay.feed(&calls);
        let (report, _) = replay.finish();
        assert!(report.changes.is_empty());
        assert_eq!(report.trips, 1);
        assert_eq!(report.open_seconds, 0.01);
    }

    #[test]
    fn an_empty_trace_reports_nothing() {
        let (report, timeline) = Replay::new(&Settings::default()).unwrap().finish();
        assert_eq!(report, Report::default());
        assert!(timeline.is_none());
    }

    #[test]
    fn the_timeline_sees_every_call_and_change() {
        let mut replay = Replay::new(&settings(5, 0)).unwrap().with_timeline();
        replay.feed(&[
            call(0, 100, Failure),
            call(200, 0, Success),
            call(6_000, 0, Success),
        ]);
        let (report, timeline) = replay.finish();
        let timeline = timeline.unwrap();
        assert_eq!(timeline.calls(), 3);
        assert_eq!(timeline.trips(), report.trips);
        assert_eq!(timeline.threshold(), Some(0));
        let span = timeline.spans()[0];
        assert_eq!((span.start, span.end), (0.1, Some(5.1)));
        let most = timeline
            .steps()
            .iter()
            .filter_map(|s| s.failures_in_window)
            .max();
        assert_eq!(most, Some(1));
    }
}
