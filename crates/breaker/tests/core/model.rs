//! Property tests: the breaker against a reference model that keeps every failure stamp.
//!
//! The model is deliberately naive: a `Vec` of every failure stamp ever recorded, and the rules
//! of the contract applied to it literally. At time `now`, a stamp `t` is in the window iff
//! `t <= now < t + W`; the circuit is open iff more than T stamps are; while open, it admits a
//! call again at `s + W`, `s` being the (T + 1)-th most recent stamp.
//!
//! Random timelines of calls (ending at once or held in flight) and clock moves are run against
//! a [`CircuitBreaker`](breaker::CircuitBreaker) on a [`ManualClock`](breaker::ManualClock) and against the model. After
//! every step the state, the failures in the window, the `retry_after` of a rejection and the
//! log of state changes must agree. Time moves only with the manual clock.
//!
//! A second property covers the bucketed mode (T above
//! [`EXACT_MAX_THRESHOLD`](breaker::EXACT_MAX_THRESHOLD)), which is exact only to a
//! bucket: there, the model gives the bounds the `window` module documents, not one answer.
//!
//! A third covers everything else: a model of every trip rule (count, failure rate, consecutive
//! failures, slow calls), of probing and of manual control (`force_open`, `force_closed`,
//! `reset`, `open_for`), run against breakers of random configurations. After every step the
//! state, the failures in the window, the answer to a request for a permit (a call, a probe, or
//! a rejection with its exact `retry_after` and whether it is forced) and every state change
//! (from, to, at, reason) must agree.
//!
//! The exact model and the model of every rule, with the runs that check a breaker against them,
//! live in `support/reference/`, which the fuzz target `breaker_model` shares; the strategies
//! that draw timelines, and the bucketed mode, are here.

#[path = "../support/reference/mod.rs"]
mod reference;

use std::time::Duration;

use breaker::Outcome;
use breaker::State;
use breaker::{EXACT_MAX_THRESHOLD, WINDOW_BUCKETS as BUCKETS};
use proptest::prelude::*;
use proptest::test_runner::Config;
use reference::{Move, Op, ProbeConfig, RuleOp, Setup, Step, run_exact, run_rules};

use crate::support::Timeline;

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

fn config(cases: u32) -> Config {
    Config {
        cases,
        // Report the minimal case; write no regression file into the source tree.
        failure_persistence: None,
        ..Config::default()
    }
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
        run_exact(w, t, &ops).map_err(TestCaseError::fail)?;
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
proptest! {
    #![proptest_config(config(512))]

    /// Every rule, probing, forcing, resetting and `open_for` agree with the model at every
    /// step of every timeline.
    #[test]
    fn every_rule_matches_the_model(
        cfg in rules_config(),
        ops in proptest::collection::vec(rule_op(), 1..100),
    ) {
        run_rules(&cfg, &ops).map_err(TestCaseError::fail)?;
    }
}
