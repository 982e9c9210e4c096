//! Time inside the breaker: an instant or a span on its clock, in whole nanoseconds.
//!
//! # Why a type of its own
//!
//! The breaker keeps time in `u64` nanoseconds, the width of its atomics: a failure's stamp, the
//! end of an open period, the window W, a probe's start. The same words also hold counts,
//! bucket indices, epochs and packed flags, so a bare `u64` says nothing about what it is.
//! [`Nanos`] is the time among them: it converts to and from [`Duration`] (the public clock's
//! unit) and to the stored `u64` at the atomics, and carries the few operations time needs.
//! Every one saturates: `u64::MAX` nanoseconds (584 years on the clock) is the end of time,
//! where a deadline stays rather than wrapping round to the past.

use std::fmt;
use std::ops::Div;
use std::time::Duration;

/// An instant on the breaker's clock, or a span of it, in nanoseconds.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Nanos(u64);

impl Nanos {
    /// The clock's origin; no time at all.
    pub(crate) const ZERO: Nanos = Nanos(0);
    /// The end of the clock: 584 years.
    pub(crate) const MAX: Nanos = Nanos(u64::MAX);

    /// `nanos` nanoseconds.
    #[inline]
    pub(crate) const fn new(nanos: u64) -> Self {
        Nanos(nanos)
    }

    /// The nanoseconds, as an atomic stores them.
    #[inline]
    pub(crate) const fn as_u64(self) -> u64 {
        self.0
    }

    /// `d`, or [`Nanos::MAX`] if it is longer.
    #[inline]
    pub(crate) fn saturating_from(d: Duration) -> Self {
        Self::checked_from(d).unwrap_or(Nanos::MAX)
    }

    /// `d`, or `None` if it is longer than [`Nanos::MAX`].
    #[inline]
    pub(crate) fn checked_from(d: Duration) -> Option<Self> {
        u64::try_from(d.as_nanos()).ok().map(Nanos)
    }

    /// The same time as a [`Duration`]: exact, since every `Nanos` fits one.
    #[inline]
    pub(crate) const fn to_duration(self) -> Duration {
        Duration::from_nanos(self.0)
    }

    /// `self + rhs`, or [`Nanos::MAX`].
    #[inline]
    pub(crate) const fn saturating_add(self, rhs: Nanos) -> Nanos {
        Nanos(self.0.saturating_add(rhs.0))
    }

    /// `self - rhs`, or [`Nanos::ZERO`]: the time from `rhs` to `self`, if `rhs` is earlier.
    #[inline]
    pub(crate) const fn saturating_sub(self, rhs: Nanos) -> Nanos {
        Nanos(self.0.saturating_sub(rhs.0))
    }

    /// `self × n`, or [`Nanos::MAX`]: the start of the `n`-th span of `self` from the origin.
    #[inline]
    pub(crate) const fn saturating_mul(self, n: u64) -> Nanos {
        Nanos(self.0.saturating_mul(n))
    }

    /// `self × factor` (a finite factor of at least 1), in floating point, rounded down, or
    /// [`Nanos::MAX`] when the product is past it (an infinite one too).
    #[inline]
    pub(crate) fn saturating_mul_f64(self, factor: f64) -> Nanos {
        // `as` saturates a float past u64::MAX, and turns NaN into zero.
        Nanos((self.0 as f64 * factor) as u64)
    }
}

/// How many whole spans of `rhs` fit in `self`: the index of the span `self` falls in.
impl Div for Nanos {
    type Output = u64;

    #[inline]
    fn div(self, rhs: Nanos) -> u64 {
        self.0 / rhs.0
    }
}

/// One `n`-th of `self`, rounded down.
impl Div<u64> for Nanos {
    type Output = Nanos;

    #[inline]
    fn div(self, n: u64) -> Nanos {
        Nanos(self.0 / n)
    }
}

impl fmt::Debug for Nanos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Nanos({:?})", self.to_duration())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_converts_exactly_up_to_the_end_of_the_clock() {
        for nanos in [0, 1, 999_999_999, 1_000_000_000, u64::MAX - 1, u64::MAX] {
            let d = Duration::from_nanos(nanos);
            assert_eq!(Nanos::checked_from(d), Some(Nanos::new(nanos)));
            assert_eq!(Nanos::saturating_from(d).to_duration(), d);
        }
    }

    #[test]
    fn a_duration_past_the_end_of_the_clock_saturates_or_is_refused() {
        let past = Duration::from_nanos(u64::MAX) + Duration::from_nanos(1);
        for d in [past, Duration::MAX] {
            assert_eq!(Nanos::checked_from(d), None);
            assert_eq!(Nanos::saturating_from(d), Nanos::MAX);
        }
    }

    #[test]
    fn arithmetic_saturates_at_both_ends() {
        let (one, two) = (Nanos::new(1), Nanos::new(2));
        assert_eq!(one.saturating_add(two), Nanos::new(3));
        assert_eq!(Nanos::MAX.saturating_add(one), Nanos::MAX);
        assert_eq!(two.saturating_sub(one), one);
        assert_eq!(one.saturating_sub(two), Nanos::ZERO);
        assert_eq!(two.saturating_mul(3), Nanos::new(6));
        assert_eq!(two.saturating_mul(u64::MAX), Nanos::MAX);
        assert_eq!(Nanos::new(3).saturating_mul_f64(1.5), Nanos::new(4));
        assert_eq!(Nanos::MAX.saturating_mul_f64(2.0), Nanos::MAX);
        assert_eq!(one.saturating_mul_f64(f64::INFINITY), Nanos::MAX);
    }

    #[test]
    fn division_gives_a_span_index_or_a_part() {
        let width = Nanos::new(1_000);
        assert_eq!(Nanos::new(2_999) / width, 2);
        assert_eq!(Nanos::new(64_063) / 64, Nanos::new(1_000));
    }

    #[test]
    fn debug_shows_a_duration() {
        assert_eq!(format!("{:?}", Nanos::new(1_500_000_000)), "Nanos(1.5s)");
    }
}
