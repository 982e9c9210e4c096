//! A permit's word: what its call must tell the breaker when it ends, in one `u64`.
//!
//! # Why one word
//!
//! A permit is its holder and this word: two words, that stay in registers. Every kind of
//! permit fits in the word, so that ending a call admitted while closed is one compare of it,
//! with nothing read from the breaker:
//!
//! | value                              | the permit                                     |
//! |------------------------------------|------------------------------------------------|
//! | 0                                  | admitted while closed, tells failures only     |
//! | 1 ..= 2⁶²                          | a probe: its [`Ticket`], plus one              |
//! | 2⁶³ ..= `u64::MAX` − 4             | timed: this bit, and the instant it was taken  |
//! | `u64::MAX` − 3                     | admitted in shadow mode, records nothing       |
//! | `u64::MAX` − 2                     | not asked for yet (a `call` before its poll)   |
//! | `u64::MAX` − 1                     | admitted while closed, tells every outcome     |
//! | `u64::MAX`                         | told already: dropping it does nothing         |
//!
//! [`PermitWord`] encodes it (its constants and constructors) and decodes it
//! ([`kind`](PermitWord::kind)).

use crate::machine::Ticket;
use crate::nanos::Nanos;

/// A permit's word, as a permit holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PermitWord(u64);

/// A permit's word, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Admitted while closed, on a breaker told of failures only.
    Closed,
    /// Admitted while closed, on a breaker told of every outcome.
    Told,
    /// Admitted while closed for the slow-call rule, at this instant.
    Timed(Nanos),
    /// A half-open probe.
    Probe(Ticket),
    /// Admitted in shadow mode where an enforcing breaker would have rejected the call.
    Shadow,
    /// Not asked for yet.
    Unasked,
    /// Told already.
    Done,
}

impl PermitWord {
    /// A permit admitted while closed, that tells failures only.
    pub(crate) const CLOSED: PermitWord = PermitWord(0);
    /// A permit already told how its call ended.
    pub(crate) const DONE: PermitWord = PermitWord(u64::MAX);
    /// A permit admitted while closed, that tells every outcome.
    pub(crate) const TOLD: PermitWord = PermitWord(u64::MAX - 1);
    /// A permit not yet asked for: what a `call` future holds until its first poll. No
    /// admitted permit has this word, and dropping it does nothing.
    pub(crate) const UNASKED: PermitWord = PermitWord(u64::MAX - 2);
    /// Admitted in shadow mode where an enforcing breaker would have rejected the call: it
    /// records nothing.
    pub(crate) const SHADOW: PermitWord = PermitWord(u64::MAX - 3);
    /// The bit of a timed permit, with below it the instant the permit was taken.
    const TIMED: u64 = 1 << 63;
    /// The latest instant a timed permit holds (2⁶³ − 5 nanoseconds, 292 years on the clock):
    /// a later one is kept as this, just below [`SHADOW`](Self::SHADOW).
    pub(crate) const MAX_TIMED_START: Nanos = Nanos::new(Self::SHADOW.0 - 1 - Self::TIMED);

    /// A permit admitted while closed at `start`, for the slow-call rule.
    pub(crate) fn timed(start: Nanos) -> Self {
        PermitWord(Self::TIMED | start.min(Self::MAX_TIMED_START).as_u64())
    }

    /// A probe's permit.
    pub(crate) fn probe(ticket: Ticket) -> Self {
        PermitWord(ticket.to_bits() + 1)
    }

    /// What the word says.
    #[inline]
    pub(crate) fn kind(self) -> Kind {
        match self {
            Self::CLOSED => Kind::Closed,
            Self::TOLD => Kind::Told,
            Self::SHADOW => Kind::Shadow,
            Self::UNASKED => Kind::Unasked,
            Self::DONE => Kind::Done,
            PermitWord(bits) if bits & Self::TIMED != 0 => {
                Kind::Timed(Nanos::new(bits & !Self::TIMED))
            }
            PermitWord(bits) => Kind::Probe(Ticket::from_bits(bits - 1)),
        }
    }

    /// The probe's ticket, if this is a probe's permit not yet told.
    #[inline]
    pub(crate) fn ticket(self) -> Option<Ticket> {
        match self.kind() {
            Kind::Probe(ticket) => Some(ticket),
            _ => None,
        }
    }
}

// Every ticket, plus one, lies below the timed bit.
const _: () = assert!(Ticket::MAX_BITS < PermitWord::TIMED - 1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_word_reads_back() {
        for (word, kind) in [
            (PermitWord::CLOSED, Kind::Closed),
            (PermitWord::TOLD, Kind::Told),
            (PermitWord::SHADOW, Kind::Shadow),
            (PermitWord::UNASKED, Kind::Unasked),
            (PermitWord::DONE, Kind::Done),
        ] {
            assert_eq!(word.kind(), kind);
            assert_eq!(word.ticket(), None);
        }
    }

    #[test]
    fn a_timed_permit_keeps_its_start_up_to_the_largest() {
        let max = PermitWord::MAX_TIMED_START;
        assert_eq!(max, Nanos::new((1 << 63) - 5));
        let below = [0, 1, 2, 1 << 40, 1 << 62, max.as_u64() - 1, max.as_u64()];
        for start in below.map(Nanos::new) {
            let word = PermitWord::timed(start);
            assert_eq!(word.kind(), Kind::Timed(start), "{start:?}");
            assert_eq!(word.ticket(), None);
        }
        assert_eq!(PermitWord::timed(max).0, PermitWord::SHADOW.0 - 1);
        let above = [max.as_u64() + 1, 1 << 63, u64::MAX - 4, u64::MAX];
        for start in above.map(Nanos::new) {
            assert_eq!(
                PermitWord::timed(start).kind(),
                Kind::Timed(max),
                "{start:?}"
            );
        }
    }

    #[test]
    fn a_probe_keeps_its_ticket_at_both_ends() {
        for bits in [
            0,
            1,
            4095,
            4096,
            1 << 40,
            Ticket::MAX_BITS - 1,
            Ticket::MAX_BITS,
        ] {
            let ticket = Ticket::from_bits(bits);
            let word = PermitWord::probe(ticket);
            assert_eq!(word.kind(), Kind::Probe(ticket), "{bits}");
            assert_eq!(word.ticket(), Some(ticket), "{bits}");
        }
        assert_eq!(PermitWord::probe(Ticket::from_bits(0)).0, 1);
        assert_eq!(
            PermitWord::probe(Ticket::from_bits(Ticket::MAX_BITS)).0,
            1 << 62
        );
    }

    #[test]
    fn every_word_decodes_to_a_kind_that_encodes_it_again() {
        let encode = |kind| match kind {
            Kind::Closed => PermitWord::CLOSED,
            Kind::Told => PermitWord::TOLD,
            Kind::Timed(start) => PermitWord::timed(start),
            Kind::Probe(ticket) => PermitWord::probe(ticket),
            Kind::Shadow => PermitWord::SHADOW,
            Kind::Unasked => PermitWord::UNASKED,
            Kind::Done => PermitWord::DONE,
        };
        let edges = [
            0,
            1,
            2,
            1 << 62,
            (1 << 62) + 1,
            (1 << 63) - 1,
            1 << 63,
            (1 << 63) + 1,
            u64::MAX - 4,
            u64::MAX - 3,
            u64::MAX - 2,
            u64::MAX - 1,
            u64::MAX,
        ];
        for bits in edges {
            let word = PermitWord(bits);
            assert_eq!(encode(word.kind()), word, "{bits}");
        }
    }
}
