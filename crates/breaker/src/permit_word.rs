//! A permit's word: what its call must tell the breaker when it ends, in one `u64`.
//!
//! # Why one word
//!
//! A permit is its breaker and this word, two words that stay in registers: a closed permit, a
//! told one, an unasked one, a shadow one, a timed one with its start, and a probe's ticket all
//! fit in one `u64`, so that ending a call admitted while closed is one compare of this word.

use crate::machine::Ticket;

/// A permit admitted while closed.
pub(crate) const PERMIT_CLOSED: u64 = 0;
/// A permit already told how its call ended.
pub(crate) const PERMIT_DONE: u64 = u64::MAX;
/// A permit admitted while closed, that tells every outcome.
pub(crate) const PERMIT_TOLD: u64 = u64::MAX - 1;
/// A permit not yet asked for: what a `call` future holds until its first poll. No admitted
/// permit has this word, and dropping it does nothing.
pub(crate) const PERMIT_UNASKED: u64 = PERMIT_TOLD - 1;
/// Admitted in shadow mode where an enforcing breaker would have rejected the call: it records
/// nothing.
pub(crate) const PERMIT_SHADOW: u64 = PERMIT_UNASKED - 1;
/// A permit admitted while closed, for the slow-call rule: this bit, and below it the instant
/// the permit was taken (at most 2⁶³ − 5 nanoseconds; later instants are kept as that).
pub(crate) const PERMIT_TIMED: u64 = 1 << 63;

/// The word of a timed permit taken at `start`.
pub(crate) fn timed(start: u64) -> u64 {
    PERMIT_TIMED | start.min(PERMIT_SHADOW - PERMIT_TIMED - 1)
}

/// The word of a probe's permit.
pub(crate) fn probe(ticket: Ticket) -> u64 {
    ticket.to_bits() + 1
}

/// The probe's ticket in a permit's word, if it is a probe's permit not yet told.
#[inline]
pub(crate) fn ticket(state: u64) -> Option<Ticket> {
    match state {
        PERMIT_CLOSED | PERMIT_TOLD | PERMIT_DONE | PERMIT_UNASKED | PERMIT_SHADOW => None,
        bits if bits & PERMIT_TIMED != 0 => None,
        bits => Some(Ticket::from_bits(bits - 1)),
    }
}
