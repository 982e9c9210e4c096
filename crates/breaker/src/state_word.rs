//! The published word: the state machine's phase, in the one atomic word admission reads.
//!
//! # Why one word
//!
//! Admission while closed must be one load and nothing else, so the word says "closed" as a
//! value of its own, and that value also says what a permit taken on that load must tell the
//! breaker when its call ends (no second load for it). Any other value is a forced state or an
//! instant: the end of an open period, which rejects on the word and one clock read, or the
//! start of a half-open one.
//!
//! | value                              | meaning                                      |
//! |------------------------------------|----------------------------------------------|
//! | 0, 1, 2                            | closed: tell failures, outcomes, or timed    |
//! | 3                                  | forced closed                                |
//! | 4 ..= `u64::MAX` − 1               | an instant, plus 4                           |
//! | `u64::MAX`                         | forced open                                  |
//!
//! [`StateWord`] encodes ([`publish`](StateWord::publish)) and decodes
//! ([`read`](StateWord::read)) it; [`AtomicStateWord`] stores it.

use crate::machine::Phase;
use crate::nanos::Nanos;
use crate::state::Reason;
use crate::sync::{AtomicU64, Ordering};

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

/// The published word, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StateWord(u64);

/// The published word, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Published {
    Closed,
    ForcedClosed,
    ForcedOpen,
    /// Open until this instant, or (with probing) half-open since it.
    At(Nanos),
}

impl StateWord {
    /// Closed, with permits that tell failures only: the word admission finds on its one load.
    pub(crate) const CLOSED: StateWord = StateWord(Self::CLOSED_FAILURES);
    /// Closed, with permits that tell failures only.
    const CLOSED_FAILURES: u64 = 0;
    /// Closed, with permits that tell every outcome.
    const CLOSED_TOLD: u64 = 1;
    /// Closed, with permits that tell every outcome and when they were taken.
    const CLOSED_TIMED: u64 = 2;
    const FORCED_CLOSED: u64 = 3;
    const FORCED_OPEN: u64 = u64::MAX;
    /// Instants are stored plus this, below [`FORCED_OPEN`](Self::FORCED_OPEN).
    const INSTANT_BASE: u64 = 4;
    /// The latest instant the word holds (584 years on the clock, less 5 ns): a later one is
    /// published as this.
    pub(crate) const MAX_INSTANT: Nanos = Nanos::new(Self::FORCED_OPEN - 1 - Self::INSTANT_BASE);

    /// The word that publishes `phase`, with `tell` for a closed one.
    pub(crate) fn publish(phase: Phase, tell: Tell) -> StateWord {
        let at = |t: Nanos| StateWord(t.min(Self::MAX_INSTANT).as_u64() + Self::INSTANT_BASE);
        match phase {
            Phase::Closed => match tell {
                Tell::Failures => Self::CLOSED,
                Tell::Outcomes => StateWord(Self::CLOSED_TOLD),
                Tell::Timed => StateWord(Self::CLOSED_TIMED),
            },
            Phase::ForcedClosed => StateWord(Self::FORCED_CLOSED),
            Phase::ForcedOpen => StateWord(Self::FORCED_OPEN),
            Phase::Open { until, .. } => at(until),
            Phase::HalfOpen { since, .. } => at(since),
        }
    }

    /// What the word says.
    #[inline]
    pub(crate) fn read(self) -> Published {
        match self.0 {
            Self::CLOSED_FAILURES | Self::CLOSED_TOLD | Self::CLOSED_TIMED => Published::Closed,
            Self::FORCED_CLOSED => Published::ForcedClosed,
            Self::FORCED_OPEN => Published::ForcedOpen,
            w => Published::At(Nanos::new(w - Self::INSTANT_BASE)),
        }
    }

    /// The phase, without probing, where the word is the whole phase: an instant is an open
    /// period (its reason is not kept; window recovery does not depend on it).
    pub(crate) fn phase(self) -> Phase {
        match self.read() {
            Published::Closed => Phase::Closed,
            Published::ForcedClosed => Phase::ForcedClosed,
            Published::ForcedOpen => Phase::ForcedOpen,
            Published::At(until) => Phase::Open {
                until,
                level: 0,
                reason: Reason::FailureCount,
            },
        }
    }
}

/// The atomic the published word is stored in.
#[derive(Debug)]
pub(crate) struct AtomicStateWord(AtomicU64);

impl AtomicStateWord {
    pub(crate) fn new(word: StateWord) -> Self {
        Self(AtomicU64::new(word.0))
    }

    #[inline]
    pub(crate) fn load(&self) -> StateWord {
        StateWord(self.0.load(Ordering::Acquire))
    }

    pub(crate) fn store(&self, word: StateWord) {
        self.0.store(word.0, Ordering::Release);
    }

    /// Replaces `current` with `new`; the word found instead, if it was not `current`.
    pub(crate) fn compare_exchange(
        &self,
        current: StateWord,
        new: StateWord,
    ) -> Result<(), StateWord> {
        self.0
            .compare_exchange(current.0, new.0, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(StateWord)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TELLS: [Tell; 3] = [Tell::Failures, Tell::Outcomes, Tell::Timed];

    fn open(until: Nanos) -> Phase {
        Phase::Open {
            until,
            level: 0,
            reason: Reason::FailureCount,
        }
    }

    #[test]
    fn every_phase_the_word_holds_reads_back() {
        for tell in TELLS {
            assert_eq!(
                StateWord::publish(Phase::Closed, tell).phase(),
                Phase::Closed
            );
        }
        for phase in [Phase::ForcedClosed, Phase::ForcedOpen] {
            for tell in TELLS {
                assert_eq!(StateWord::publish(phase, tell).phase(), phase);
            }
        }
        let max = StateWord::MAX_INSTANT.as_u64();
        for until in [0, 1, 2, 3, 4, 5, 1 << 40, 1 << 63, max - 1, max].map(Nanos::new) {
            let word = StateWord::publish(open(until), Tell::Failures);
            assert_eq!(word.phase(), open(until), "{until:?}");
            assert_eq!(word.read(), Published::At(until), "{until:?}");
            let half = Phase::HalfOpen {
                since: until,
                level: 3,
                successes: 1,
            };
            assert_eq!(StateWord::publish(half, Tell::Timed), word, "{until:?}");
        }
    }

    #[test]
    fn an_instant_past_the_largest_is_published_as_it() {
        let max = StateWord::MAX_INSTANT;
        assert_eq!(max, Nanos::new(u64::MAX - 5));
        for until in [u64::MAX - 4, u64::MAX - 1, u64::MAX].map(Nanos::new) {
            let word = StateWord::publish(open(until), Tell::Outcomes);
            assert_eq!(word.read(), Published::At(max), "{until:?}");
        }
    }

    #[test]
    fn every_word_decodes_to_a_phase_that_encodes_it_again() {
        let tells = [
            (0, Tell::Failures),
            (1, Tell::Outcomes),
            (2, Tell::Timed),
            (3, Tell::Failures),
        ];
        for (bits, tell) in tells {
            let word = StateWord(bits);
            assert_eq!(StateWord::publish(word.phase(), tell), word, "{bits}");
        }
        for bits in [4, 5, 6, 1 << 63, u64::MAX - 2, u64::MAX - 1, u64::MAX] {
            let word = StateWord(bits);
            assert_eq!(
                StateWord::publish(word.phase(), Tell::Failures),
                word,
                "{bits}"
            );
        }
    }

    #[test]
    fn closed_words_say_what_to_tell_and_differ() {
        let words = TELLS.map(|tell| StateWord::publish(Phase::Closed, tell));
        assert_eq!(words[0], StateWord::CLOSED);
        assert!(words[0] != words[1] && words[1] != words[2] && words[0] != words[2]);
        assert!(words.iter().all(|w| w.read() == Published::Closed));
    }

    #[test]
    fn the_atomic_stores_and_swaps_words() {
        let atomic = AtomicStateWord::new(StateWord::CLOSED);
        let forced = StateWord::publish(Phase::ForcedOpen, Tell::Failures);
        assert_eq!(
            atomic.compare_exchange(forced, forced),
            Err(StateWord::CLOSED)
        );
        assert_eq!(atomic.compare_exchange(StateWord::CLOSED, forced), Ok(()));
        assert_eq!(atomic.load(), forced);
        atomic.store(StateWord::CLOSED);
        assert_eq!(atomic.load(), StateWord::CLOSED);
    }
}
