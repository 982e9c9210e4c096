//! The published word: the state machine's phase, in the one atomic word admission reads.
//!
//! # Why one word
//!
//! Admission while closed must be one load and nothing else, so the word says "closed" as a
//! value of its own, and that value also says what a permit taken on that load must tell the
//! breaker when its call ends (no second load for it). Any other value is a forced state or an
//! instant: the end of an open period, which rejects on the word and one clock read, or the
//! start of a half-open one.

use crate::machine::Phase;
use crate::state::Reason;

/// What a call admitted while closed must tell the breaker when it ends, fixed at build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tell {
    /// Failures only: a success or an ignored call writes nothing (the default).
    Failures,
    /// Every outcome: a rule counts successes, or metrics count every call.
    Outcomes,
    /// Every outcome, and when the permit was taken: the slow-call rule.
    Timed,
}

// The published word: closed (its value says what a permit must tell, so that a permit taken
// on the fast path needs no other load), forced, or an instant.
pub(crate) const CLOSED: u64 = 0;
const CLOSED_TOLD: u64 = 1;
const CLOSED_TIMED: u64 = 2;
const FORCED_CLOSED: u64 = 3;
const FORCED_OPEN: u64 = u64::MAX;
/// Instants are stored plus this, below [`FORCED_OPEN`].
const INSTANT_BASE: u64 = 4;

/// The published word, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Word {
    Closed,
    ForcedClosed,
    ForcedOpen,
    /// Open until this instant, or (with probing) half-open since it.
    At(u64),
}

/// The word that publishes `phase`. An instant past `u64::MAX - 5` nanoseconds (584 years on
/// the clock) is published as that.
pub(crate) fn publish(phase: Phase, tell: Tell) -> u64 {
    let at = |t: u64| t.saturating_add(INSTANT_BASE).min(FORCED_OPEN - 1);
    match phase {
        Phase::Closed => match tell {
            Tell::Failures => CLOSED,
            Tell::Outcomes => CLOSED_TOLD,
            Tell::Timed => CLOSED_TIMED,
        },
        Phase::ForcedClosed => FORCED_CLOSED,
        Phase::ForcedOpen => FORCED_OPEN,
        Phase::Open { until, .. } => at(until),
        Phase::HalfOpen { since, .. } => at(since),
    }
}

#[inline]
pub(crate) fn read(word: u64) -> Word {
    match word {
        CLOSED | CLOSED_TOLD | CLOSED_TIMED => Word::Closed,
        FORCED_CLOSED => Word::ForcedClosed,
        FORCED_OPEN => Word::ForcedOpen,
        w => Word::At(w - INSTANT_BASE),
    }
}

/// Without probing the word is the whole phase: an instant is an open period (its reason is
/// not kept; window recovery does not depend on it).
pub(crate) fn phase_of(word: u64) -> Phase {
    match read(word) {
        Word::Closed => Phase::Closed,
        Word::ForcedClosed => Phase::ForcedClosed,
        Word::ForcedOpen => Phase::ForcedOpen,
        Word::At(until) => Phase::Open {
            until,
            level: 0,
            reason: Reason::FailureCount,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_reads_back_every_phase_it_publishes() {
        for (phase, tell) in [
            (Phase::Closed, Tell::Failures),
            (Phase::Closed, Tell::Outcomes),
            (Phase::Closed, Tell::Timed),
            (Phase::ForcedClosed, Tell::Failures),
            (Phase::ForcedOpen, Tell::Failures),
        ] {
            assert_eq!(phase_of(publish(phase, tell)), phase);
        }
        for until in [0, 1, 2, 3, 4, 1 << 40, u64::MAX - 5] {
            let open = Phase::Open {
                until,
                level: 0,
                reason: Reason::FailureCount,
            };
            assert_eq!(phase_of(publish(open, Tell::Failures)), open, "{until}");
        }
        let at_the_end = Phase::Open {
            until: u64::MAX,
            level: 0,
            reason: Reason::FailureRate,
        };
        assert_eq!(
            read(publish(at_the_end, Tell::Failures)),
            Word::At(u64::MAX - 5)
        );
    }
}
