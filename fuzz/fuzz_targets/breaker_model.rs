//! Timelines of operations on a real `CircuitBreaker` on a `ManualClock`, three ways, chosen by
//! the first byte of the input.
//!
//! - Exact: the count rule alone (W, T), against the exact model; after every step the state,
//!   the failures in the window, the `retry_after` of a rejection and the state changes agree.
//! - Rules: a configuration drawn over every knob of the builder (window, threshold, failure
//!   rate, consecutive failures, slow calls, probing with its backoff and timeout), against the
//!   model of every rule, with forcing, `reset` and `open_for` in the timeline; after every step
//!   the state, the failures in the window, the answer to a permit (call, probe, or rejection
//!   with its exact `retry_after` and whether it is forced) and the state changes (from, to, at,
//!   reason) agree. Values the builder must refuse are drawn too: the builder must refuse
//!   exactly those (with a `ConfigError`), and such a configuration is then skipped.
//! - Unbounded: any value for every knob (durations up to `Duration::MAX`, any `f64`, any
//!   count) and any clock moves. No model; whatever builds must never panic, and the answers
//!   must fit the state (a closed circuit admits, an open one rejects, a forced-open one says
//!   so).
//!
//! The models and the step-by-step runs are the breaker's `tests/support/reference/`, shared
//! with its property tests (`tests/core/model.rs`).
#![no_main]

use std::time::Duration;

use arbitrary::{Result, Unstructured};
use breaker::{CircuitBreaker, ManualClock, Outcome, Permit, Probing, State};
use libfuzzer_sys::fuzz_target;

#[path = "../../crates/breaker/tests/support/mod.rs"]
mod support;

#[path = "../../crates/breaker/tests/support/reference/mod.rs"]
mod reference;

use reference::{MAX_IN_FLIGHT, Move, Op, ProbeConfig, RuleOp, Setup, Step, run_exact, run_rules};

/// The most operations in one timeline.
const MAX_OPS: usize = 128;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut u = Unstructured::new(rest);
    // The generators only fail when the input runs out; what they made is used whole.
    let _ = match mode % 3 {
        0 => exact(&mut u),
        1 => rules(&mut u),
        _ => unbounded(&mut u),
    };
});

// ---------------------------------------------------------------------------------------------
// Exact mode.

fn exact(u: &mut Unstructured<'_>) -> Result<()> {
    // W: a few nanoseconds (every edge is near), or 1 to 50 ms.
    let w = if u.arbitrary()? {
        u.int_in_range(1..=20)?
    } else {
        u.int_in_range(1_000_000..=50_000_000)?
    };
    let t = u.int_in_range(0..=6)?;
    let mut ops = Vec::new();
    while !u.is_empty() && ops.len() < MAX_OPS {
        ops.push(op(u)?);
    }
    if let Err(e) = run_exact(w, t, &ops) {
        panic!("{e}\nW = {w} ns, T = {t}, {ops:?}");
    }
    Ok(())
}

fn step(u: &mut Unstructured<'_>) -> Result<Step> {
    Ok(match u.int_in_range(0..=7)? {
        0 => Step::Zero,
        1 => Step::One,
        2 => Step::WindowMinusOne,
        3 => Step::Window,
        4 => Step::WindowPlusOne,
        _ => Step::Raw(u.arbitrary()?),
    })
}

fn outcome(u: &mut Unstructured<'_>) -> Result<Outcome> {
    Ok(match u.int_in_range(0..=4)? {
        0 => Outcome::Success,
        1 => Outcome::Ignored,
        _ => Outcome::Failure,
    })
}

fn op(u: &mut Unstructured<'_>) -> Result<Op> {
    Ok(match u.int_in_range(0..=12)? {
        0..=2 => Op::Advance(step(u)?),
        3..=4 => Op::ToExpiry {
            pick: u.arbitrary()?,
            delta: u.int_in_range(-1..=1)?,
        },
        5..=10 => Op::Call(outcome(u)?),
        11 => Op::Start,
        _ => Op::Finish {
            pick: u.arbitrary()?,
            after: step(u)?,
            outcome: if u.arbitrary()? {
                Some(outcome(u)?)
            } else {
                None
            },
        },
    })
}

// ---------------------------------------------------------------------------------------------
// Every rule.

fn rules(u: &mut Unstructured<'_>) -> Result<()> {
    let cfg = setup(u)?;
    let built = cfg.builder().build();
    assert_eq!(
        built.is_ok(),
        valid(&cfg),
        "the builder and the spec disagree on {cfg:?}: {:?}",
        built.err()
    );
    if built.is_err() {
        return Ok(()); // refused: nothing to run
    }
    let mut ops = Vec::new();
    while !u.is_empty() && ops.len() < MAX_OPS {
        ops.push(rule_op(u)?);
    }
    if let Err(e) = run_rules(&cfg, &ops) {
        panic!("{e}\n{cfg:?}\n{ops:?}");
    }
    Ok(())
}

/// Whether the contract says `cfg` builds: every value in its range.
fn valid(cfg: &Setup) -> bool {
    let rate = cfg
        .rate
        .is_none_or(|(ratio, min_calls)| ratio > 0.0 && ratio <= 1.0 && min_calls >= 1);
    let probing = cfg.probing.as_ref().is_none_or(|p| {
        (1..=Probing::MAX_PROBES).contains(&p.probes)
            && p.open_time > 0
            && p.multiplier_halves >= 2
            && p.cap >= p.open_time
            && p.timeout > 0
    });
    cfg.w > 0
        && rate
        && cfg.consecutive.is_none_or(|n| n >= 1)
        && cfg.slow.is_none_or(|s| s > 0)
        && probing
}

/// A configuration: mostly in range, sometimes not (zeros, a ratio outside (0, 1] or not a
/// number, a multiplier below 1, a cap below the open time, too many probes).
fn setup(u: &mut Unstructured<'_>) -> Result<Setup> {
    // W: 0 (refused), a few nanoseconds, a multiple of 16 (the rate rule's buckets exact), up to
    // a few microseconds, or up to about four seconds.
    let w = match u.int_in_range(0..=5)? {
        0 => u.int_in_range(0..=40)?,
        1 => 16 * u.int_in_range(1..=20)?,
        2 | 3 => u.int_in_range(41..=5_000)?,
        4 => u.int_in_range(1..=40)?,
        _ => u.int_in_range(1..=1u64 << 32)?,
    };
    let span = 2 * w.max(1);
    let count = if u.arbitrary()? {
        Some(u.int_in_range(0..=3)?)
    } else {
        None
    };
    let rate = if u.arbitrary()? {
        let ratio = if u.ratio(1, 8)? {
            f64::from_bits(u.arbitrary()?)
        } else {
            *u.choose(&[0.25, 1.0 / 3.0, 0.5, 0.75, 1.0])?
        };
        Some((ratio, u.int_in_range(0..=5)?))
    } else {
        None
    };
    let consecutive = if u.arbitrary()? {
        Some(u.int_in_range(0..=4)?)
    } else {
        None
    };
    let slow = if u.arbitrary()? {
        Some(u.int_in_range(0..=w)?)
    } else {
        None
    };
    let probing = if u.arbitrary()? {
        let probes = if u.ratio(1, 16)? {
            *u.choose(&[0, Probing::MAX_PROBES, Probing::MAX_PROBES + 1, u32::MAX])?
        } else {
            u.int_in_range(1..=3)?
        };
        let open_time = u.int_in_range(0..=span)?;
        Some(ProbeConfig {
            probes,
            open_time,
            // Halves: 0 and 1 (multipliers 0 and 0.5) are refused; the model knows 1, 1.5, 2, 3.
            multiplier_halves: *u.choose(&[0, 1, 2, 2, 3, 4, 6])?,
            cap: open_time * u.int_in_range(0..=8)?,
            timeout: u.int_in_range(0..=span)?,
        })
    } else {
        None
    };
    // No rule named: the count rule with T drawn (the builder's default T is not modelled).
    let count = match (count, rate, consecutive) {
        (None, None, None) => Some(u.int_in_range(0..=3)?),
        _ => count,
    };
    Ok(Setup {
        w,
        count,
        rate,
        consecutive,
        slow,
        probing,
    })
}

fn a_move(u: &mut Unstructured<'_>) -> Result<Move> {
    Ok(match u.int_in_range(0..=9)? {
        0 => Move::Zero,
        1 => Move::One,
        2 => Move::Bucket(u.int_in_range(-1..=1)?),
        3 => Move::Window(u.int_in_range(-1..=1)?),
        4 | 5 => Move::Raw(u.arbitrary()?),
        _ => Move::ToEdge {
            pick: u.arbitrary()?,
            delta: u.int_in_range(-1..=1)?,
        },
    })
}

/// An outcome, or `None` for a dropped permit.
fn rule_outcome(u: &mut Unstructured<'_>) -> Result<Option<Outcome>> {
    Ok(match u.int_in_range(0..=9)? {
        0..=3 => Some(Outcome::Success),
        4..=7 => Some(Outcome::Failure),
        8 => Some(Outcome::Ignored),
        _ => None,
    })
}

fn rule_op(u: &mut Unstructured<'_>) -> Result<RuleOp> {
    Ok(match u.int_in_range(0..=17)? {
        0..=3 => RuleOp::Advance(a_move(u)?),
        4..=9 => RuleOp::Call(rule_outcome(u)?),
        10 | 11 => RuleOp::Start,
        12..=14 => RuleOp::Finish {
            pick: u.arbitrary()?,
            after: a_move(u)?,
            outcome: rule_outcome(u)?,
        },
        15 => RuleOp::Reset,
        16 => RuleOp::OpenFor(a_move(u)?),
        // Forcing holds until a reset: drawn less often, so that timelines mostly run free.
        _ => {
            if u.arbitrary()? {
                RuleOp::ForceOpen
            } else {
                RuleOp::ForceClosed
            }
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Unbounded values.

fn duration(u: &mut Unstructured<'_>) -> Result<Duration> {
    Ok(match u.int_in_range(0..=3)? {
        0 => Duration::ZERO,
        1 => Duration::from_nanos(u.int_in_range(0..=1_000)?),
        2 => Duration::from_nanos(u.arbitrary()?),
        _ => Duration::new(u.arbitrary()?, u.int_in_range(0..=999_999_999)?),
    })
}

fn unbounded(u: &mut Unstructured<'_>) -> Result<()> {
    let clock = ManualClock::new();
    let mut builder = CircuitBreaker::builder()
        .window(duration(u)?)
        .clock(clock.clone());
    let threshold = if u.arbitrary()? {
        let t = u.arbitrary()?;
        builder = builder.error_threshold(t);
        Some(t)
    } else {
        None
    };
    if u.arbitrary()? {
        builder = builder.failure_rate(f64::from_bits(u.arbitrary()?), u.arbitrary()?);
    }
    if u.arbitrary()? {
        builder = builder.consecutive_failures(u.arbitrary()?);
    }
    if u.arbitrary()? {
        builder = builder.slow_call(duration(u)?);
    }
    if u.arbitrary()? {
        let mut probing = Probing::new(u.int_in_range(0..=8)?);
        if u.arbitrary()? {
            probing = probing.open_time(duration(u)?);
        }
        if u.arbitrary()? {
            probing = probing.backoff(f64::from_bits(u.arbitrary()?), duration(u)?);
        }
        if u.arbitrary()? {
            probing = probing.probe_timeout(duration(u)?);
        }
        builder = builder.probing(probing);
    }
    let Ok(cb) = builder.build() else {
        return Ok(()); // refused: nothing to run
    };
    let mut in_flight: Vec<Permit<'_>> = Vec::new();
    for _ in 0..MAX_OPS {
        if u.is_empty() {
            break;
        }
        match u.int_in_range(0..=11)? {
            0..=2 => clock.advance(duration(u)?),
            3..=6 => {
                if let Ok(permit) = cb.try_acquire() {
                    permit.record(outcome(u)?);
                }
            }
            7 => {
                if let Ok(permit) = cb.try_acquire()
                    && in_flight.len() < MAX_IN_FLIGHT
                {
                    in_flight.push(permit);
                }
            }
            8 => {
                if !in_flight.is_empty() {
                    let i = u.choose_index(in_flight.len())?;
                    let permit = in_flight.swap_remove(i);
                    if u.arbitrary()? {
                        permit.record(outcome(u)?);
                    }
                }
            }
            9 => cb.open_for(duration(u)?),
            10 => cb.reset(),
            _ => {
                if u.arbitrary()? {
                    cb.force_open();
                } else {
                    cb.force_closed();
                }
            }
        }
        let state = cb.state();
        let errors = cb.errors_in_window();
        if let Some(t) = threshold {
            assert!(
                errors <= t.saturating_add(1),
                "{errors} errors in the window with T = {t}"
            );
        }
        match (state, cb.try_acquire()) {
            (State::Closed | State::ForcedClosed, Ok(p)) => assert!(!p.is_probe()),
            (State::Open, Err(e)) => assert!(!e.is_forced()),
            (State::ForcedOpen, Err(e)) => assert!(e.is_forced()),
            (State::HalfOpen, Ok(p)) => assert!(p.is_probe()),
            (State::HalfOpen, Err(e)) => assert!(!e.is_forced()),
            (state, Ok(_)) => panic!("admitted in state {state:?}"),
            (state, Err(e)) => panic!("rejected in state {state:?}: {e}"),
        }
    }
    Ok(())
}
