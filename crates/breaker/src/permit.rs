//! The permit: the right to make one call, and the duty to say how it ended.
//!
//! # Why one type, generic over its hold on the breaker
//!
//! A permit is used in two ways: within the caller's scope, borrowing the breaker
//! ([`Permit`]), or moved into a spawned task or a `'static` future, owning a handle
//! ([`OwnedPermit`](crate::OwnedPermit)). Both are the same two words, the holder and the
//! permit's word, and they behave the same, so they are one type, [`Permit<'a, H>`], whose `H`
//! says how it holds the breaker: [`BreakerRef`] (the default) or a
//! [`CircuitBreaker`](crate::CircuitBreaker). [`Holds`] is sealed: these two are the only
//! holders, and every method is written once for both.
//!
//! The borrowed holder is a reference to the breaker's shared state, not to its handle, so
//! that telling the permit reads the state with no pointer to the handle in between.

use std::fmt;
use std::marker::PhantomData;

use crate::error::CircuitOpenError;
use crate::inner::Inner;
use crate::permit_word::PermitWord;
use crate::state::Outcome;

/// How a holder reaches the breaker's shared state. Public, in a private module, so that no
/// type outside this crate can be a holder.
pub trait Sealed {
    /// The name of a permit with this holder, for `Debug`.
    const PERMIT: &'static str;

    /// The breaker's shared state.
    fn inner(&self) -> &Inner;
}

/// How a [`Permit`] holds its breaker: borrowed, as a [`BreakerRef`], or owned, as a
/// [`CircuitBreaker`](crate::CircuitBreaker) handle. Sealed: these two are the only holders.
///
/// Code that takes any permit is generic over it:
///
/// ```
/// use breaker::{CircuitBreaker, Holds, Permit};
///
/// fn finish<H: Holds>(permit: Permit<'_, H>, worked: bool) {
///     if worked { permit.success() } else { permit.failure() }
/// }
///
/// let cb = CircuitBreaker::builder().build()?;
/// finish(cb.try_acquire()?, true);
/// finish(cb.try_acquire_owned()?, false);
/// assert_eq!(cb.errors_in_window(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Holds: Sealed {}

/// A breaker, borrowed: the holder of a [`Permit`] taken with
/// [`CircuitBreaker::try_acquire`](crate::CircuitBreaker::try_acquire).
#[derive(Clone, Copy)]
pub struct BreakerRef<'a>(&'a Inner);

impl<'a> BreakerRef<'a> {
    #[inline]
    pub(crate) fn new(inner: &'a Inner) -> Self {
        Self(inner)
    }
}

impl fmt::Debug for BreakerRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BreakerRef")
    }
}

impl Sealed for BreakerRef<'_> {
    const PERMIT: &'static str = "Permit";

    #[inline]
    fn inner(&self) -> &Inner {
        self.0
    }
}

impl Holds for BreakerRef<'_> {}

/// The right to make one call, taken with
/// [`CircuitBreaker::try_acquire`](crate::CircuitBreaker::try_acquire) (or, owning a handle to
/// its breaker, with [`try_acquire_owned`](crate::CircuitBreaker::try_acquire_owned): an
/// [`OwnedPermit`](crate::OwnedPermit)).
///
/// Tell it how the call ended with [`success`](Permit::success), [`failure`](Permit::failure),
/// [`ignore`](Permit::ignore) or [`record`](Permit::record). Dropping it untold records nothing,
/// which is what a cancelled call should do; a probe's place is given back either way.
///
/// `H` is how it holds the breaker ([`Holds`]): borrowed, the default, so that `Permit<'_>` is
/// the permit of [`try_acquire`](crate::CircuitBreaker::try_acquire).
#[must_use = "a permit records nothing unless told how the call ended"]
pub struct Permit<'a, H: Holds = BreakerRef<'a>> {
    holder: H,
    /// What the call must tell the breaker: one word, so that a permit is two words and stays
    /// in registers.
    word: PermitWord,
    /// The borrow of a [`BreakerRef`]; nothing for an owned permit.
    borrow: PhantomData<&'a ()>,
}

impl<H: Holds> fmt::Debug for Permit<'_, H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(H::PERMIT)
            .field("probe", &self.is_probe())
            .finish()
    }
}

impl<H: Holds> Permit<'_, H> {
    /// A permit with `word`, held by `holder`.
    #[inline]
    pub(crate) fn new(holder: H, word: PermitWord) -> Self {
        Self {
            holder,
            word,
            borrow: PhantomData,
        }
    }

    /// The holder of this permit.
    #[inline]
    pub(crate) fn holder(&self) -> &H {
        &self.holder
    }

    /// Whether this call is a half-open probe.
    pub fn is_probe(&self) -> bool {
        self.word.ticket().is_some()
    }

    /// Whether the call was admitted only because the breaker is in shadow mode
    /// ([`Builder::shadow`](crate::Builder::shadow)): enforcing, it would have been
    /// rejected. Such a permit records nothing, whatever it is told.
    pub fn is_shadow_rejected(&self) -> bool {
        self.word == PermitWord::SHADOW
    }

    /// The call succeeded.
    #[inline]
    pub fn success(self) {
        self.record(Outcome::Success);
    }

    /// The call failed.
    #[inline]
    pub fn failure(self) {
        self.record(Outcome::Failure);
    }

    /// The call's outcome says nothing about the service.
    #[inline]
    pub fn ignore(self) {
        self.record(Outcome::Ignored);
    }

    /// Records how the call ended.
    #[inline]
    pub fn record(mut self, outcome: Outcome) {
        let word = std::mem::replace(&mut self.word, PermitWord::DONE);
        self.holder.inner().finish(word, outcome);
    }
}

impl<'a> Permit<'a> {
    /// A permit of the breaker `inner` not yet asked for, to be asked for with
    /// [`ask`](Permit::ask): the one word a `call` future keeps besides the breaker and the call.
    #[inline]
    pub(crate) fn unasked(inner: &'a Inner) -> Self {
        Self::new(BreakerRef(inner), PermitWord::UNASKED)
    }

    /// Asks the breaker for this permit if it was not asked for yet. `Ok` once admitted (on this
    /// call and every later one); a rejection leaves the permit told, so that it records nothing.
    #[inline]
    pub(crate) fn ask(&mut self) -> Result<(), CircuitOpenError> {
        if self.word == PermitWord::UNASKED {
            match self.holder.0.try_acquire() {
                Ok(word) => self.word = word,
                Err(open) => {
                    self.word = PermitWord::DONE;
                    return Err(open);
                }
            }
        }
        Ok(())
    }

    /// The permit, leaving this one told: what ends a call once its result is in.
    #[inline]
    pub(crate) fn take(&mut self) -> Self {
        Self::new(
            self.holder,
            std::mem::replace(&mut self.word, PermitWord::DONE),
        )
    }
}

impl<H: Holds> Drop for Permit<'_, H> {
    #[inline]
    fn drop(&mut self) {
        self.holder.inner().abandon(self.word);
    }
}
