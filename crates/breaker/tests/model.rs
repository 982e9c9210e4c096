//! Property tests: the breaker against a reference model that keeps every failure stamp.
//!
//! The model is deliberately naive: a `Vec` of every failure stamp ever recorded, and the rules
//! of the contract applied to it literally. At time `now`, a stamp `t` is in the window iff
//! `t <= now < t + W`; the circuit is open iff more than T stamps are; while open, it admits a
//! call again at `s + W`, `s` being the (T + 1)-th most recent stamp.
//!
//! Random timelines of calls (ending at once or held in flight) and clock moves are run against
//! a [`CircuitBreaker`] on a [`ManualClock`](breaker::ManualClock) and against the model. After
//! every step the state, the failures in the window, the `retry_after` of a rejection and the
//! log of state changes must agree. Time moves only with the manual clock.
//!
//! A second property covers the bucketed mode (T above
//! [`EXACT_MAX_THRESHOLD`](breaker::window::EXACT_MAX_THRESHOLD)), which is exact only to a
//! bucket: there, the model gives the bounds the `window` module documents, not one answer.
//!
//! A third covers everything else: a model of every trip rule (count, failure rate, consecutive
//! failures, slow calls), of probing and of manual control (`force_open`, `force_closed`,
//! `reset`, `open_for`), run against breakers of random configurations. After every step the
//! state, the failures in the window, the answer to a request for a permit (a call, a probe, or
//! a rejection with its exact `retry_after` and whether it is forced) and every state change
//! (from, to, at, reason) must agree.

mod support;

use std::time::Duration;

use breaker::window::{BUCKETS, EXACT_MAX_THRESHOLD};
use breaker::{Builder, CircuitBreaker, Outcome, Permit, Probing, Reason, State};
use proptest::prelude::*;
use proptest::test_runner::Config;
use support::Timeline;

/// A clock move, resolved against the window W when applied.
#[derive(Debug, Clone, Copy)]
enum Step {
    Zero,
    One,
    WindowMinusOne,
    Window,
    WindowPlusOne,
    /// `raw % (2W + 1)`: anywhere up to two windows.
    Raw(u64),
}

impl Step {
    fn nanos(self, w: u64) -> u64 {
        match self {
            Step::Zero => 0,
            Step::One => 1,
            Step::WindowMinusOne => w - 1,
            Step::Window => w,
            Step::WindowPlusOne => w + 1,
            Step::Raw(raw) => raw % (2 * w + 1),
        }
    }
}

/// One step of a timeline.
#[derive(Debug, Clone)]
enum Op {
    /// Moves the clock.
    Advance(Step),
    /// Moves the clock to `delta` ns around the instant one of the T + 1 latest failures turns
    /// W old (`pick` chooses which); does nothing if that instant is past.
    ToExpiry { pick: usize, delta: i8 },
    /// A call that ends at once with this outcome (or is rejected).
    Call(Outcome),
    /// A call that is admitted (or rejected) now and stays in flight.
    Start,
    /// After `after`, one of the calls in flight (`pick` chooses which) ends with `outcome`, or,
    /// with `None`, is cancelled (its permit dropped).
    Finish {
        pick: usize,
        after: Step,
        outcome: Option<Outcome>,
    },
}

/// The reference model of the exact mode.
#[derive(Debug)]
struct Model {
    w: u64,
    t: u32,
    now: u64,
    /// Every failure ever recorded, in the order recorded (so never decreasing).
    stamps: Vec<u64>,
    /// The state changes the breaker must have reported, as (from, to, at).
    changes: Vec<(State, State, Duration)>,
}

impl Model {
    fn new(w: u64, t: u32) -> Self {
        Self {
            w,
            t,
            now: 0,
            stamps: Vec::new(),
            changes: Vec::new(),
        }
    }

    /// The failures in the window now: `t <= now < t + W`.
    fn count(&self) -> usize {
        self.stamps
            .iter()
            .filter(|&&s| s <= self.now && self.now < s + self.w)
            .count()
    }

    fn is_open(&self) -> bool {
        self.count() > self.t as usize
    }

    fn state(&self) -> State {
        if self.is_open() {
            State::Open
        } else {
            State::Closed
        }
    }

    /// The (T + 1)-th most recent stamp, if there are that many.
    fn oldest_of_latest(&self) -> Option<u64> {
        let mut newest_first = self.stamps.clone();
        newest_first.sort_unstable_by(|a, b| b.cmp(a));
        newest_first.get(self.t as usize).copied()
    }

    /// While open: the instant it admits a call again.
    fn open_until(&self) -> u64 {
        self.oldest_of_latest().expect("open means T + 1 failures") + self.w
    }

    fn advance(&mut self, by: u64) {
        let was_open = self.is_open();
        let until = if was_open { self.open_until() } else { 0 };
        self.now += by;
        if was_open && !self.is_open() {
            self.changes
                .push((State::Open, State::Closed, Duration::from_nanos(until)));
        }
    }

    fn record_failure(&mut self) {
        let was_open = self.is_open();
        self.stamps.push(self.now);
        if !was_open && self.is_open() {
            self.changes
                .push((State::Closed, State::Open, Duration::from_nanos(self.now)));
        }
    }

    fn record(&mut self, outcome: Outcome) {
        if outcome == Outcome::Failure {
            self.record_failure();
        }
    }
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => Just(Step::Zero),
        1 => Just(Step::One),
        1 => Just(Step::WindowMinusOne),
        1 => Just(Step::Window),
        1 => Just(Step::WindowPlusOne),
        3 => any::<u64>().prop_map(Step::Raw),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        1 => Just(Outcome::Success),
        3 => Just(Outcome::Failure),
        1 => Just(Outcome::Ignored),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => step().prop_map(Op::Advance),
        2 => (any::<usize>(), -1i8..=1).prop_map(|(pick, delta)| Op::ToExpiry { pick, delta }),
        6 => outcome().prop_map(Op::Call),
        1 => Just(Op::Start),
        1 => (any::<usize>(), step(), proptest::option::of(outcome()))
            .prop_map(|(pick, after, outcome)| Op::Finish { pick, after, outcome }),
    ]
}

/// W in nanoseconds: a few nanoseconds (every edge is near), or 1 to 50 ms.
fn window() -> impl Strategy<Value = u64> {
    prop_oneof![1u64..=20, 1_000_000u64..=50_000_000]
}

/// The most calls held in flight at once.
const MAX_IN_FLIGHT: usize = 4;

fn config(cases: u32) -> Config {
    Config {
        cases,
        // Report the minimal case; write no regression file into the source tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Runs `ops` against a breaker and the model, checking them after every step.
fn run_exact(w: u64, t: u32, ops: &[Op]) -> Result<(), TestCaseError> {
    let tl = Timeline::new(Duration::from_nanos(w), t);
    let mut model = Model::new(w, t);
    let mut in_flight: Vec<Permit<'_>> = Vec::new();

    for (i, op) in ops.iter().enumerate() {
        match *op {
            Op::Advance(s) => {
                let d = s.nanos(w);
                tl.advance(Duration::from_nanos(d));
                model.advance(d);
            }
            Op::ToExpiry { pick, delta } => {
                let latest = model.stamps.len().min(t as usize + 1);
                if latest > 0 {
                    let stamp = model.stamps[model.stamps.len() - 1 - pick % latest];
                    let target = (stamp + w).saturating_add_signed(i64::from(delta));
                    if target > model.now {
                        let d = target - model.now;
                        tl.advance(Duration::from_nanos(d));
                        model.advance(d);
                    }
                }
            }
            Op::Call(outcome) => match tl.cb.try_acquire() {
                Ok(permit) => {
                    prop_assert!(
                        !model.is_open(),
                        "step {i}: admitted, but the model is open"
                    );
                    permit.record(outcome);
                    model.record(outcome);
                }
                Err(_) => prop_assert!(model.is_open(), "step {i}: rejected, model closed"),
            },
            Op::Start => match tl.cb.try_acquire() {
                Ok(permit) => {
                    prop_assert!(
                        !model.is_open(),
                        "step {i}: admitted, but the model is open"
                    );
                    if in_flight.len() < MAX_IN_FLIGHT {
                        in_flight.push(permit);
                    }
                }
                Err(_) => prop_assert!(model.is_open(), "step {i}: rejected, model closed"),
            },
            Op::Finish {
                pick,
                after,
                outcome,
            } => {
                let d = after.nanos(w);
                tl.advance(Duration::from_nanos(d));
                model.advance(d);
                if !in_flight.is_empty() {
                    // Admitted before, ending now: recorded as usual, open or not.
                    let permit = in_flight.swap_remove(pick % in_flight.len());
                    match outcome {
                        Some(o) => {
                            permit.record(o);
                            model.record(o);
                        }
                        None => drop(permit),
                    }
                }
            }
        }

        // The checks. `state()` comes first: it is what notices an open period that has ended.
        let expected = model.state();
        prop_assert_eq!(tl.state(), expected, "state after step {} ({:?})", i, op);
        let count = model.count().min(t as usize + 1);
        prop_assert_eq!(
            tl.cb.errors_in_window() as usize,
            count,
            "errors_in_window after step {} ({:?})",
            i,
            op
        );
        match tl.cb.try_acquire() {
            Ok(probe) => {
                prop_assert_eq!(expected, State::Closed, "admitted after step {}", i);
                drop(probe); // records nothing
            }
            Err(e) => {
                prop_assert_eq!(expected, State::Open, "rejected after step {}", i);
                prop_assert_eq!(
                    e.retry_after(),
                    Duration::from_nanos(model.open_until() - model.now),
                    "retry_after after step {} ({:?})",
                    i,
                    op
                );
            }
        }
        prop_assert_eq!(
            tl.changes(),
            model.changes.clone(),
            "state changes after step {} ({:?})",
            i,
            op
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    /// The exact mode agrees with the model at every step of every timeline.
    #[test]
    fn exact_mode_matches_the_model(
        w in window(),
        t in 0u32..=6,
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        run_exact(w, t, &ops)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Bucketed mode.
//
// The `window` module documents its granularity: a failure stamped in bucket k counts until
// bucket k + 64 begins, buckets being W / 64 wide (rounded down; at least 1 ns). So a failure
// never counts once it is W old, and it stops counting at most one bucket width plus 64 ns
// before that. In terms of the exact model, at every instant:
//
//   exact count over (now - W + width + 64, now]  <=  breaker's count  <=  exact count over (now - W, now]
//
// and, since the open period is worked out from those counts, the circuit is open whenever the
// inner count exceeds T, never when the outer one does not, and a rejection's `retry_after`
// lands between `s + W - width - 64 - now` and `s + W - now`, s being the (T + 1)-th latest
// failure. (A failure does *not* stop counting one bucket width before it is W old: one
// stamped at the start of a bucket counts for 64 widths, up to W.)
// ---------------------------------------------------------------------------------------------

/// The reference model of the bucketed mode: every stamp, counted over windows of any length.
#[derive(Debug)]
struct BucketModel {
    w: u64,
    t: u32,
    now: u64,
    /// Every failure ever recorded, never decreasing (so counts are binary searches).
    stamps: Vec<u64>,
}

impl BucketModel {
    /// The documented bucket width.
    fn width(&self) -> u64 {
        (self.w / BUCKETS as u64).max(1)
    }

    /// The shortest time a failure is documented to count for.
    fn inner(&self) -> u64 {
        self.w.saturating_sub(self.width() + 64)
    }

    /// Exact failures stamped in `(now - len, now]`.
    fn count_within(&self, len: u64) -> usize {
        let from = self.stamps.partition_point(|&s| s + len <= self.now);
        let to = self.stamps.partition_point(|&s| s <= self.now);
        to - from
    }

    /// The breaker's count is at least this...
    fn lower(&self) -> usize {
        self.count_within(self.inner())
    }

    /// ...and at most this.
    fn upper(&self) -> usize {
        self.count_within(self.w)
    }

    fn threshold(&self) -> usize {
        self.t as usize
    }
}

#[derive(Debug, Clone)]
enum BulkOp {
    Advance(Step),
    /// Moves the clock near the instant one of the T + 1 latest failures turns W old
    /// (`minus_width`: W - width), plus `delta` ns.
    ToEdge {
        pick: usize,
        minus_width: bool,
        delta: i8,
    },
    /// Up to `n` calls that fail, stopping at the first rejection.
    Failures(u32),
    Success,
}

fn bulk_op() -> impl Strategy<Value = BulkOp> {
    prop_oneof![
        3 => step().prop_map(BulkOp::Advance),
        2 => (any::<usize>(), any::<bool>(), -70i8..=1)
            .prop_map(|(pick, minus_width, delta)| BulkOp::ToEdge { pick, minus_width, delta }),
        4 => prop_oneof![1 => 1u32..=3, 3 => 500u32..=4_300].prop_map(BulkOp::Failures),
        1 => Just(BulkOp::Success),
    ]
}

/// W in nanoseconds: under 64 ns (a bucket a nanosecond), around a few bucket widths not a
/// multiple of 64, or 1 to 50 ms.
fn bulk_window() -> impl Strategy<Value = u64> {
    prop_oneof![1u64..=200, 64_000u64..=70_000, 1_000_000u64..=50_000_000]
}

fn check_bounds(m: &BucketModel, tl: &Timeline, at: &str) -> Result<(), TestCaseError> {
    let (lower, upper, t) = (m.lower(), m.upper(), m.threshold());
    let state = tl.state();
    prop_assert!(
        state != State::Open || upper > t,
        "{}: open with {} failures in the last W (T = {}), now = {}",
        at,
        upper,
        t,
        m.now
    );
    prop_assert!(
        state == State::Open || lower <= t,
        "{}: closed with {} failures in the last W - width - 64 ns (T = {}), now = {}",
        at,
        lower,
        t,
        m.now
    );
    let count = tl.cb.errors_in_window() as usize;
    prop_assert!(
        lower.min(t + 1) <= count && count <= upper.min(t + 1),
        "{}: errors_in_window {} outside [{}, {}] (T = {}), now = {}",
        at,
        count,
        lower.min(t + 1),
        upper.min(t + 1),
        t,
        m.now
    );
    match tl.cb.try_acquire() {
        Ok(permit) => {
            prop_assert!(state != State::Open, "{}: admitted while open", at);
            drop(permit);
        }
        Err(e) => {
            prop_assert_eq!(state, State::Open, "{}: rejected while not open", at);
            let s = m.stamps[m.stamps.len() - 1 - t];
            let earliest = (s + m.inner()).saturating_sub(m.now);
            let latest = s + m.w - m.now;
            let retry = e.retry_after();
            prop_assert!(
                Duration::from_nanos(earliest) <= retry && retry <= Duration::from_nanos(latest),
                "{}: retry_after {:?} outside [{} ns, {} ns], now = {}",
                at,
                retry,
                earliest,
                latest,
                m.now
            );
        }
    }
    Ok(())
}

fn run_bucketed(w: u64, t: u32, ops: &[BulkOp]) -> Result<(), TestCaseError> {
    let tl = Timeline::new(Duration::from_nanos(w), t);
    let mut m = BucketModel {
        w,
        t,
        now: 0,
        stamps: Vec::new(),
    };
    for (i, op) in ops.iter().enumerate() {
        match *op {
            BulkOp::Advance(s) => {
                let d = s.nanos(w);
                tl.advance(Duration::from_nanos(d));
                m.now += d;
            }
            BulkOp::ToEdge {
                pick,
                minus_width,
                delta,
            } => {
                let latest = m.stamps.len().min(t as usize + 1);
                if latest > 0 {
                    let stamp = m.stamps[m.stamps.len() - 1 - pick % latest];
                    let edge = if minus_width {
                        stamp + w - m.width().min(w)
                    } else {
                        stamp + w
                    };
                    let target = edge.saturating_add_signed(i64::from(delta));
                    if target > m.now {
                        tl.advance(Duration::from_nanos(target - m.now));
                        m.now = target;
                    }
                }
            }
            BulkOp::Failures(n) => {
                for k in 0..n {
                    match tl.cb.try_acquire() {
                        Ok(permit) => {
                            prop_assert!(
                                m.lower() <= m.threshold(),
                                "step {} failure {}: admitted with {} failures in the last \
                                 W - width - 64 ns (T = {})",
                                i,
                                k,
                                m.lower(),
                                t
                            );
                            permit.failure();
                            m.stamps.push(m.now);
                        }
                        Err(_) => {
                            prop_assert!(
                                m.upper() > m.threshold(),
                                "step {} failure {}: rejected with {} failures in the last W \
                                 (T = {})",
                                i,
                                k,
                                m.upper(),
                                t
                            );
                            break; // time does not move: the rest would be rejected too
                        }
                    }
                }
            }
            BulkOp::Success => {
                if let Ok(permit) = tl.cb.try_acquire() {
                    permit.success();
                }
            }
        }
        check_bounds(&m, &tl, &format!("after step {i} ({op:?})"))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(64))]

    /// The bucketed mode stays within its documented granularity of the exact model.
    #[test]
    fn bucketed_mode_is_within_a_bucket_of_the_model(
        w in bulk_window(),
        t in (EXACT_MAX_THRESHOLD + 1)..=4200,
        ops in proptest::collection::vec(bulk_op(), 1..24),
    ) {
        run_bucketed(w, t, &ops)?;
    }
}

/// The documented bounds are not vacuous: a timeline that walks a tripped bucketed breaker
/// through its whole open period, a nanosecond at a time near the edges.
#[test]
fn bucketed_bounds_hold_across_one_open_period() {
    let w = 64_063; // buckets of 1 000 ns, 63 ns of rounding
    let t = EXACT_MAX_THRESHOLD + 1;
    let tl = Timeline::new(Duration::from_nanos(w), t);
    let mut m = BucketModel {
        w,
        t,
        now: 0,
        stamps: Vec::new(),
    };
    tl.advance(Duration::from_nanos(1_500));
    m.now = 1_500;
    for _ in 0..=t {
        tl.fail();
        m.stamps.push(m.now);
    }
    assert_eq!(tl.state(), State::Open);
    let mut seen_closed = false;
    while m.now < 1_500 + w + 10 {
        check_bounds(&m, &tl, &format!("now = {}", m.now)).unwrap();
        seen_closed |= tl.state() == State::Closed;
        let step = if m.now + 200 >= 1_500 + w - 1_100 {
            1
        } else {
            997
        };
        tl.advance(Duration::from_nanos(step));
        m.now += step;
    }
    assert!(seen_closed);
    assert_eq!(
        tl.changes().len(),
        2,
        "one trip, one close: {:?}",
        tl.changes()
    );
}

// ---------------------------------------------------------------------------------------------
// Every rule, probing and manual control.
//
// A second reference model, as naive as the first: every failure stamp and every counted call
// in a `Vec`, the phase as a plain enum, and each sentence of the contract applied literally,
// eagerly, at the instant it speaks of. The breaker does the same work lazily (an open period
// ends when somebody next looks), so agreeing on every step, changes and their instants
// included, is what shows that the laziness cannot be seen.
//
// - count rule: more than T failures stamped in `(now - W, now]`; a trip lasts until they fall
//   back to T (the (T + 1)-th latest stamp plus W), and failures recorded while open lengthen
//   it the same way.
// - failure rate: the rule counts in 16 buckets of `floor(W / 16)` ns (for W under 16 ns, W
//   buckets of 1 ns), as `Builder::failure_rate` documents. The model applies that bucket rule
//   exactly: a call stamped `t` counts at `now` while `floor(now / width) < floor(t / width) +
//   buckets`. It fires, on a success as on a failure, when at least `min_calls` calls count and
//   `failures / calls >= ratio`.
// - consecutive failures: a counter; a failure adds one, a success sets it to zero, an ignored
//   outcome leaves it, and it starts again from zero at every trip and every close.
// - slow calls: a success ending more than the threshold after its permit was taken (whatever
//   the state it was taken in) is a failure, for every rule and for a probe.
// - window recovery: a trip by the count rule lasts until the window falls back to T; any
//   other trip lasts W (or longer, if the count rule keeps it open); it closes with
//   `WindowEmptied` if the count rule held it open just before, else `OpenTimeElapsed`.
// - probing: open for backoff step k (`min(open_time * multiplier^k, cap)`, step 0 for a trip
//   from closed), then half-open: at most P probes in flight plus successes; P successes close
//   and forget every outcome; a failed probe, or one still running at its start plus the probe
//   timeout, reopens for the next step at that instant; a dropped or ignored probe frees its
//   place; a probe of a half-open period that is over changes nothing. Probe outcomes are not
//   counted by the rules.
// - manual control: `force_open` and `force_closed` hold until `reset`; `reset` closes and
//   forgets every outcome; `open_for(d)` opens until at least `now + d`, never shortening.
//
// Each call's outcome reaches the rules in every state (late outcomes are never lost); only a
// closed circuit trips.
// ---------------------------------------------------------------------------------------------

/// Probing, as drawn: the backoff multiplier is `multiplier / 2` (1, 1.5, 2 or 3), so that the
/// model can work it out in whole numbers.
#[derive(Debug, Clone)]
struct ProbeConfig {
    probes: u32,
    open_time: u64,
    multiplier_halves: u32,
    cap: u64,
    timeout: u64,
}

impl ProbeConfig {
    /// Backoff step `level`: `min(floor(open_time × multiplier^level), cap)`.
    fn step(&self, level: u32) -> u64 {
        let (num_step, den_step) = match self.multiplier_halves {
            2 => return self.open_time.min(self.cap),
            3 => (3u128, 2u128),
            4 => (2, 1),
            6 => (3, 1),
            other => unreachable!("multiplier {other} / 2"),
        };
        let (mut num, mut den) = (u128::from(self.open_time), 1u128);
        for _ in 0..level {
            num *= num_step;
            den *= den_step;
            if num / den >= u128::from(self.cap) {
                return self.cap;
            }
        }
        (num / den) as u64
    }
}

/// A breaker's configuration, as drawn.
#[derive(Debug, Clone)]
struct Setup {
    w: u64,
    count: Option<u32>,
    rate: Option<(f64, u32)>,
    consecutive: Option<u32>,
    slow: Option<u64>,
    probing: Option<ProbeConfig>,
}

impl Setup {
    fn builder(&self) -> Builder {
        let mut b = CircuitBreaker::builder().window(Duration::from_nanos(self.w));
        if let Some(t) = self.count {
            b = b.error_threshold(t);
        }
        if let Some((ratio, min_calls)) = self.rate {
            b = b.failure_rate(ratio, min_calls);
        }
        if let Some(n) = self.consecutive {
            b = b.consecutive_failures(n);
        }
        if let Some(slow) = self.slow {
            b = b.slow_call(Duration::from_nanos(slow));
        }
        if let Some(p) = &self.probing {
            b = b.probing(
                Probing::new(p.probes)
                    .open_time(Duration::from_nanos(p.open_time))
                    .backoff(
                        f64::from(p.multiplier_halves) / 2.0,
                        Duration::from_nanos(p.cap),
                    )
                    .probe_timeout(Duration::from_nanos(p.timeout)),
            );
        }
        b
    }

    /// The rate rule's buckets: how many, and how wide.
    fn buckets(&self) -> (u64, u64) {
        let len = self.w.min(16);
        (len, (self.w / len).max(1))
    }
}

/// What the model's phase carries.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Closed,
    /// Rejecting until `until`; `level` is the backoff step with probing.
    Open {
        until: u64,
        level: u32,
    },
    /// The probes in flight are (id, start).
    HalfOpen {
        level: u32,
        successes: u32,
        probes: Vec<(u64, u64)>,
    },
    ForcedOpen,
    ForcedClosed,
}

impl Phase {
    fn state(&self) -> State {
        match self {
            Phase::Closed => State::Closed,
            Phase::Open { .. } => State::Open,
            Phase::HalfOpen { .. } => State::HalfOpen,
            Phase::ForcedOpen => State::ForcedOpen,
            Phase::ForcedClosed => State::ForcedClosed,
        }
    }
}

/// The answer to a request for a permit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Admitted {
    Call,
    Probe,
    Rejected { retry_after: Duration, forced: bool },
}

/// What the model remembers of a permit.
#[derive(Debug, Clone, Copy)]
enum Ticket {
    /// `timed`: whether the slow-call rule applies to it.
    Call {
        start: u64,
        timed: bool,
    },
    Probe {
        id: u64,
        start: u64,
    },
}

type Change = (State, State, Duration, Reason);

/// The reference model of every rule.
#[derive(Debug)]
struct RulesModel {
    cfg: Setup,
    now: u64,
    phase: Phase,
    /// The failures the count rule has seen since it last forgot, oldest first.
    failures: Vec<u64>,
    /// The calls the rate rule has seen since it last forgot: (stamp, failed).
    calls: Vec<(u64, bool)>,
    streak: u32,
    next_probe: u64,
    changes: Vec<Change>,
}

impl RulesModel {
    fn new(cfg: Setup) -> Self {
        Self {
            cfg,
            now: 0,
            phase: Phase::Closed,
            failures: Vec::new(),
            calls: Vec::new(),
            streak: 0,
            next_probe: 0,
            changes: Vec::new(),
        }
    }

    fn probing(&self) -> Option<&ProbeConfig> {
        self.cfg.probing.as_ref()
    }

    // --- the rules ---------------------------------------------------------------------------

    /// Failures stamped in `(at - W, at]`.
    fn count_at(&self, at: u64) -> usize {
        self.failures
            .iter()
            .filter(|&&s| s <= at && at < s + self.cfg.w)
            .count()
    }

    fn count_over_at(&self, at: u64) -> bool {
        self.cfg
            .count
            .is_some_and(|t| self.count_at(at) > t as usize)
    }

    /// With more than T failures in the window now: when they fall back to T.
    fn count_end(&self) -> u64 {
        let t = self.cfg.count.expect("the count rule") as usize;
        self.failures[self.failures.len() - 1 - t] + self.cfg.w
    }

    /// The rate rule's (successes, failures) now, by its bucket rule.
    fn rate_counts(&self) -> (u64, u64) {
        let (len, width) = self.cfg.buckets();
        let now = self.now;
        let counts = |s: u64| s <= now && now / width < s / width + len;
        let (mut ok, mut failed) = (0, 0);
        for &(_, failed_call) in self.calls.iter().filter(|&&(s, _)| counts(s)) {
            if failed_call {
                failed += 1;
            } else {
                ok += 1;
            }
        }
        (ok, failed)
    }

    fn rate_fires(&self) -> bool {
        let Some((ratio, min_calls)) = self.cfg.rate else {
            return false;
        };
        let (ok, failed) = self.rate_counts();
        let calls = ok + failed;
        calls >= u64::from(min_calls) && failed as f64 / calls as f64 >= ratio
    }

    fn forget_outcomes(&mut self) {
        self.failures.clear();
        self.calls.clear();
        self.streak = 0;
    }

    // --- moving the phase --------------------------------------------------------------------

    fn go(&mut self, to: Phase, at: u64, reason: Reason) {
        self.changes.push((
            self.phase.state(),
            to.state(),
            Duration::from_nanos(at),
            reason,
        ));
        if to == Phase::Closed {
            self.streak = 0;
        }
        self.phase = to;
    }

    /// Half-open to open at `at`, for the step after `level`.
    fn reopen(&mut self, level: u32, at: u64, reason: Reason) {
        let step = self.probing().expect("probing").step(level + 1);
        let open = Phase::Open {
            until: at + step,
            level: level + 1,
        };
        self.go(open, at, reason);
    }

    /// Whatever the passing of time has done by now, each at its own instant.
    fn catch_up(&mut self) {
        loop {
            match self.phase {
                Phase::Open { until, level } if until <= self.now => {
                    if self.probing().is_some() {
                        let half = Phase::HalfOpen {
                            level,
                            successes: 0,
                            probes: Vec::new(),
                        };
                        self.go(half, until, Reason::OpenTimeElapsed);
                    } else {
                        assert!(
                            !self.count_over_at(until),
                            "model: an open period ends with the window over T"
                        );
                        let why = if self.count_over_at(until - 1) {
                            Reason::WindowEmptied
                        } else {
                            Reason::OpenTimeElapsed
                        };
                        self.go(Phase::Closed, until, why);
                        return;
                    }
                }
                Phase::HalfOpen {
                    level, ref probes, ..
                } => {
                    let timeout = self.probing().expect("probing").timeout;
                    match probes.iter().map(|&(_, s)| s + timeout).min() {
                        Some(deadline) if deadline <= self.now => {
                            self.reopen(level, deadline, Reason::ProbeTimedOut);
                        }
                        _ => return,
                    }
                }
                _ => return,
            }
        }
    }

    fn trip(&mut self, reason: Reason) {
        let until = match (self.probing(), reason) {
            (Some(p), _) => self.now + p.step(0),
            (None, Reason::FailureCount) => self.count_end(),
            (None, _) => self.now + self.cfg.w,
        };
        self.go(Phase::Open { until, level: 0 }, self.now, reason);
        self.streak = 0;
    }

    // --- the public operations ---------------------------------------------------------------

    fn advance(&mut self, by: u64) {
        self.now += by;
    }

    fn state(&mut self) -> State {
        self.catch_up();
        self.phase.state()
    }

    fn errors_in_window(&self) -> u32 {
        let n = match (self.cfg.count, self.cfg.rate) {
            (Some(t), _) => self.count_at(self.now).min(t as usize + 1) as u64,
            (None, Some(_)) => self.rate_counts().1,
            (None, None) => 0,
        };
        n as u32
    }

    fn acquire(&mut self) -> (Admitted, Option<Ticket>) {
        self.catch_up();
        let now = self.now;
        let p = self.cfg.probing.clone();
        match &mut self.phase {
            Phase::Closed => (
                Admitted::Call,
                Some(Ticket::Call {
                    start: now,
                    timed: true,
                }),
            ),
            Phase::ForcedClosed => (
                Admitted::Call,
                Some(Ticket::Call {
                    start: now,
                    timed: true,
                }),
            ),
            Phase::Open { until, .. } => (
                Admitted::Rejected {
                    retry_after: Duration::from_nanos(*until - now),
                    forced: false,
                },
                None,
            ),
            Phase::ForcedOpen => (
                Admitted::Rejected {
                    retry_after: Duration::MAX,
                    forced: true,
                },
                None,
            ),
            Phase::HalfOpen {
                successes, probes, ..
            } => {
                let p = p.expect("probing");
                if probes.len() as u32 + *successes >= p.probes {
                    let deadline = probes.iter().map(|&(_, s)| s + p.timeout).min();
                    let deadline = deadline.expect("a place is taken by a probe in flight");
                    let retry_after = Duration::from_nanos(deadline - now);
                    (
                        Admitted::Rejected {
                            retry_after,
                            forced: false,
                        },
                        None,
                    )
                } else {
                    let id = self.next_probe;
                    self.next_probe += 1;
                    probes.push((id, now));
                    (Admitted::Probe, Some(Ticket::Probe { id, start: now }))
                }
            }
        }
    }

    fn slow(&self, start: u64) -> bool {
        self.cfg.slow.is_some_and(|s| self.now - start > s)
    }

    /// A permit ends with `outcome`, or is dropped untold (`None`).
    fn finish(&mut self, ticket: Ticket, outcome: Option<Outcome>) {
        self.catch_up();
        let now = self.now;
        match ticket {
            Ticket::Probe { id, start } => {
                let slow = self.slow(start);
                let probes_needed = self.probing().map_or(0, |p| p.probes);
                let Phase::HalfOpen {
                    level,
                    successes,
                    probes,
                } = &mut self.phase
                else {
                    return; // its half-open period is over
                };
                let Some(i) = probes.iter().position(|&(p, _)| p == id) else {
                    return; // likewise
                };
                probes.remove(i);
                let level = *level;
                match outcome {
                    Some(Outcome::Success) if !slow => {
                        *successes += 1;
                        if *successes >= probes_needed {
                            self.go(Phase::Closed, now, Reason::ProbesSucceeded);
                            self.forget_outcomes();
                        }
                    }
                    Some(Outcome::Success | Outcome::Failure) => {
                        self.reopen(level, now, Reason::ProbeFailed);
                    }
                    Some(Outcome::Ignored) | None => {}
                }
            }
            Ticket::Call { start, timed } => {
                let outcome = match outcome {
                    Some(Outcome::Success) if timed && self.slow(start) => Outcome::Failure,
                    Some(o) => o,
                    None => Outcome::Ignored, // a dropped permit records nothing
                };
                match outcome {
                    Outcome::Ignored => {}
                    Outcome::Success => {
                        self.calls.push((now, false));
                        self.streak = 0;
                        if self.phase == Phase::Closed && self.rate_fires() {
                            self.trip(Reason::FailureRate);
                        }
                    }
                    Outcome::Failure => {
                        self.failures.push(now);
                        self.calls.push((now, true));
                        self.streak += 1;
                        let reason = if self.count_over_at(now) {
                            Some(Reason::FailureCount)
                        } else if self.rate_fires() {
                            Some(Reason::FailureRate)
                        } else if self.cfg.consecutive.is_some_and(|n| self.streak >= n) {
                            Some(Reason::ConsecutiveFailures)
                        } else {
                            None
                        };
                        match (&mut self.phase, reason) {
                            (Phase::Closed, Some(reason)) => self.trip(reason),
                            (Phase::Open { .. }, Some(Reason::FailureCount))
                                if self.cfg.probing.is_none() =>
                            {
                                let end = self.count_end();
                                if let Phase::Open { until, .. } = &mut self.phase {
                                    *until = (*until).max(end);
                                }
                            }
                            _ => {}
                        }
                    }
                }
            }
        }
    }

    fn open_for(&mut self, d: u64) {
        self.catch_up();
        let until = self.now + d;
        if d == 0 {
            return;
        }
        match self.phase {
            Phase::Closed => {
                self.go(
                    Phase::Open { until, level: 0 },
                    self.now,
                    Reason::RetryAfter,
                );
            }
            Phase::Open {
                until: ref mut current,
                ..
            } => *current = (*current).max(until),
            Phase::HalfOpen { level, .. } => {
                self.go(Phase::Open { until, level }, self.now, Reason::RetryAfter);
            }
            Phase::ForcedOpen | Phase::ForcedClosed => {}
        }
    }

    fn force(&mut self, to: Phase) {
        self.catch_up();
        if self.phase != to {
            self.go(to, self.now, Reason::Forced);
        }
    }

    fn reset(&mut self) {
        self.catch_up();
        if self.phase != Phase::Closed {
            self.go(Phase::Closed, self.now, Reason::Reset);
        }
        self.forget_outcomes();
    }

    /// The instants at which something may happen: an open period's end, a probe's deadline,
    /// a failure turning W old, a call leaving the rate rule's buckets, a call in flight
    /// turning slow.
    fn edges(&self, in_flight: &[Ticket]) -> Vec<u64> {
        let (len, width) = self.cfg.buckets();
        let mut edges: Vec<u64> = Vec::new();
        match &self.phase {
            Phase::Open { until, .. } => edges.push(*until),
            Phase::HalfOpen { probes, .. } => {
                let timeout = self.probing().map_or(0, |p| p.timeout);
                edges.extend(probes.iter().map(|&(_, s)| s + timeout));
            }
            _ => {}
        }
        edges.extend(self.failures.iter().map(|&s| s + self.cfg.w));
        edges.extend(self.calls.iter().map(|&(s, _)| (s / width + len) * width));
        if let Some(slow) = self.cfg.slow {
            edges.extend(in_flight.iter().map(|t| match *t {
                Ticket::Call { start, .. } | Ticket::Probe { start, .. } => start + slow,
            }));
        }
        edges.retain(|&e| e > self.now);
        edges.sort_unstable();
        edges.dedup();
        edges
    }
}

/// A clock move, resolved against the model when applied.
#[derive(Debug, Clone, Copy)]
enum Move {
    Zero,
    One,
    /// A rate bucket's width, plus this.
    Bucket(i8),
    /// W, plus this.
    Window(i8),
    /// `raw % (2W + 1)`.
    Raw(u64),
    /// To one of the model's [edges](RulesModel::edges) (`pick` chooses which), plus `delta`.
    ToEdge {
        pick: usize,
        delta: i8,
    },
}

impl Move {
    fn nanos(self, m: &RulesModel, in_flight: &[Ticket]) -> u64 {
        let plus = |base: u64, d: i8| base.saturating_add_signed(i64::from(d));
        match self {
            Move::Zero => 0,
            Move::One => 1,
            Move::Bucket(d) => plus(m.cfg.buckets().1, d),
            Move::Window(d) => plus(m.cfg.w, d),
            Move::Raw(raw) => raw % (2 * m.cfg.w + 1),
            Move::ToEdge { pick, delta } => {
                let edges = m.edges(in_flight);
                if edges.is_empty() {
                    return 0;
                }
                plus(edges[pick % edges.len()], delta).saturating_sub(m.now)
            }
        }
    }
}

/// One step of a timeline with every rule.
#[derive(Debug, Clone)]
enum RuleOp {
    Advance(Move),
    /// A call that ends at once (`None`: its permit is dropped), or is rejected.
    Call(Option<Outcome>),
    /// A call admitted (or rejected) now, held in flight.
    Start,
    /// After `after`, one of the calls in flight ends with `outcome`, or is dropped (`None`).
    Finish {
        pick: usize,
        after: Move,
        outcome: Option<Outcome>,
    },
    ForceOpen,
    ForceClosed,
    Reset,
    OpenFor(Move),
}

fn a_move() -> impl Strategy<Value = Move> {
    prop_oneof![
        1 => Just(Move::Zero),
        1 => Just(Move::One),
        1 => (-1i8..=1).prop_map(Move::Bucket),
        1 => (-1i8..=1).prop_map(Move::Window),
        2 => any::<u64>().prop_map(Move::Raw),
        4 => (any::<usize>(), -1i8..=1).prop_map(|(pick, delta)| Move::ToEdge { pick, delta }),
    ]
}

/// An outcome, or `None` for a dropped permit: successes as likely as failures here, so that
/// probes close circuits as often as they reopen them.
fn rule_outcome() -> impl Strategy<Value = Option<Outcome>> {
    prop_oneof![
        4 => Just(Some(Outcome::Success)),
        4 => Just(Some(Outcome::Failure)),
        1 => Just(Some(Outcome::Ignored)),
        1 => Just(None),
    ]
}

fn rule_op() -> impl Strategy<Value = RuleOp> {
    let outcome = rule_outcome;
    prop_oneof![
        4 => a_move().prop_map(RuleOp::Advance),
        6 => outcome().prop_map(RuleOp::Call),
        2 => Just(RuleOp::Start),
        3 => (any::<usize>(), a_move(), outcome())
            .prop_map(|(pick, after, outcome)| RuleOp::Finish { pick, after, outcome }),
        1 => Just(RuleOp::Reset),
        1 => a_move().prop_map(RuleOp::OpenFor),
        // Forcing holds until a reset: drawn less often, so that timelines mostly run free.
        1 => prop_oneof![Just(RuleOp::ForceOpen), Just(RuleOp::ForceClosed)],
    ]
}

/// Which rules a configuration has.
#[derive(Debug, Clone, Copy)]
enum RuleSet {
    Count,
    Rate,
    Consecutive,
    All,
}

fn rules_config() -> impl Strategy<Value = Setup> {
    // W: a few nanoseconds (every edge is near, and under 16 ns the rate rule's buckets are
    // 1 ns), a multiple of 16 (buckets exactly W / 16), or anything up to a few microseconds.
    let w = prop_oneof![1u64..=40, (1u64..=20).prop_map(|k| 16 * k), 41u64..=5_000];
    let rules = prop_oneof![
        Just(RuleSet::Count),
        Just(RuleSet::Rate),
        Just(RuleSet::Consecutive),
        Just(RuleSet::All),
    ];
    let ratio = prop_oneof![
        Just(0.25),
        Just(1.0 / 3.0),
        Just(0.5),
        Just(0.75),
        Just(1.0)
    ];
    (
        w,
        rules,
        0u32..=3,
        (ratio, 1u32..=5),
        1u32..=4,
        proptest::option::of(any::<u64>()),
        proptest::option::of((
            1u32..=3,
            any::<u64>(),
            prop_oneof![Just(2u32), Just(3), Just(4), Just(6)],
            1u64..=8,
            any::<u64>(),
        )),
    )
        .prop_map(|(w, rules, t, rate, n, slow, probing)| {
            let (count, rate, consecutive) = match rules {
                RuleSet::Count => (Some(t), None, None),
                RuleSet::Rate => (None, Some(rate), None),
                RuleSet::Consecutive => (None, None, Some(n)),
                RuleSet::All => (Some(t), Some(rate), Some(n)),
            };
            let probing = probing.map(|(probes, open, m, cap, timeout)| {
                let open_time = 1 + open % (2 * w);
                ProbeConfig {
                    probes,
                    open_time,
                    multiplier_halves: m,
                    cap: open_time * cap,
                    timeout: 1 + timeout % (2 * w),
                }
            });
            Setup {
                w,
                count,
                rate,
                consecutive,
                slow: slow.map(|s| 1 + s % w),
                probing,
            }
        })
}

/// What a request for a permit got from the breaker.
fn admitted(r: &Result<Permit<'_>, breaker::CircuitOpenError>) -> Admitted {
    match r {
        Ok(p) if p.is_probe() => Admitted::Probe,
        Ok(_) => Admitted::Call,
        Err(e) => Admitted::Rejected {
            retry_after: e.retry_after(),
            forced: e.is_forced(),
        },
    }
}

fn end(permit: Permit<'_>, outcome: Option<Outcome>) {
    match outcome {
        Some(o) => permit.record(o),
        None => drop(permit),
    }
}

/// Runs `ops` against a breaker built from `cfg` and against the model, checking them after
/// every step.
fn run_rules(cfg: &Setup, ops: &[RuleOp]) -> Result<(), TestCaseError> {
    let tl = Timeline::with(cfg.builder());
    let mut m = RulesModel::new(cfg.clone());
    let mut in_flight: Vec<(Permit<'_>, Ticket)> = Vec::new();
    let mut seen = 0;

    let advance = |m: &mut RulesModel, d: u64| {
        tl.advance(Duration::from_nanos(d));
        m.advance(d);
    };

    for (i, op) in ops.iter().enumerate() {
        let tickets: Vec<Ticket> = in_flight.iter().map(|(_, t)| *t).collect();
        match *op {
            RuleOp::Advance(mv) => {
                let d = mv.nanos(&m, &tickets);
                advance(&mut m, d);
            }
            RuleOp::Call(outcome) => {
                let got = tl.cb.try_acquire();
                let (expected, ticket) = m.acquire();
                prop_assert_eq!(admitted(&got), expected, "step {} ({:?}): admission", i, op);
                if let (Ok(permit), Some(ticket)) = (got, ticket) {
                    end(permit, outcome);
                    m.finish(ticket, outcome);
                }
            }
            RuleOp::Start => {
                let got = tl.cb.try_acquire();
                let (expected, ticket) = m.acquire();
                prop_assert_eq!(admitted(&got), expected, "step {} ({:?}): admission", i, op);
                if let (Ok(permit), Some(ticket)) = (got, ticket) {
                    if in_flight.len() < MAX_IN_FLIGHT {
                        in_flight.push((permit, ticket));
                    } else {
                        drop(permit);
                        m.finish(ticket, None);
                    }
                }
            }
            RuleOp::Finish {
                pick,
                after,
                outcome,
            } => {
                let d = after.nanos(&m, &tickets);
                advance(&mut m, d);
                if !in_flight.is_empty() {
                    let (permit, ticket) = in_flight.swap_remove(pick % in_flight.len());
                    end(permit, outcome);
                    m.finish(ticket, outcome);
                }
            }
            RuleOp::ForceOpen => {
                tl.cb.force_open();
                m.force(Phase::ForcedOpen);
            }
            RuleOp::ForceClosed => {
                tl.cb.force_closed();
                m.force(Phase::ForcedClosed);
            }
            RuleOp::Reset => {
                tl.cb.reset();
                m.reset();
            }
            RuleOp::OpenFor(mv) => {
                let d = mv.nanos(&m, &tickets);
                tl.cb.open_for(Duration::from_nanos(d));
                m.open_for(d);
            }
        }

        // The checks, each of which may be what notices the passing of time.
        prop_assert_eq!(tl.state(), m.state(), "step {} ({:?}): state", i, op);
        prop_assert_eq!(
            tl.cb.errors_in_window(),
            m.errors_in_window(),
            "step {} ({:?}): errors_in_window at {} ns",
            i,
            op,
            m.now
        );
        let got = tl.cb.try_acquire();
        let (expected, ticket) = m.acquire();
        prop_assert_eq!(
            admitted(&got),
            expected,
            "step {} ({:?}): admission at {} ns",
            i,
            op,
            m.now
        );
        drop(got); // records nothing, and frees a probe's place
        if let Some(ticket) = ticket {
            m.finish(ticket, None);
        }
        // The changes made by this step (the earlier ones were checked before).
        let log = tl.log();
        prop_assert_eq!(
            log.len(),
            m.changes.len(),
            "step {} ({:?}): state changes at {} ns: {:?}, expected {:?}",
            i,
            op,
            m.now,
            log,
            m.changes
        );
        for (got, expected) in log.iter().zip(&m.changes).skip(seen) {
            prop_assert!(
                got == expected,
                "step {} ({:?}): state changes at {} ns: {:?}, expected {:?}",
                i,
                op,
                m.now,
                log,
                m.changes
            );
        }
        seen = log.len();
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    /// Every rule, probing, forcing, resetting and `open_for` agree with the model at every
    /// step of every timeline.
    #[test]
    fn every_rule_matches_the_model(
        cfg in rules_config(),
        ops in proptest::collection::vec(rule_op(), 1..100),
    ) {
        run_rules(&cfg, &ops)?;
    }
}
