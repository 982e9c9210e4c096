//! What a call's result means for the circuit: [`Classify`], the one classification trait of
//! every integration.
//!
//! The breaker counts outcomes ([`Outcome`]); what a call *returns* differs from one integration
//! to the next: a tower service's `Result<Response, Error>`, an HTTP client's `Attempt` (a
//! response's head, a timeout or a transport error). A classifier is the policy that turns one
//! into the other, kept apart from the mechanism that takes the permit and records the outcome,
//! so that the mechanism is written once and a classifier is written the same way whatever it
//! is plugged into: `BreakerClient`, the reqwest middleware and the tower layer all take a
//! `Classify`.
//!
//! # Why generic over what is classified
//!
//! The classified value is the trait's parameter `T`, not an associated type, so that one
//! classifier can classify many kinds of value (the tower layer's default, `OkIsSuccess`,
//! classifies every `Result<R, E>`), and so that every `Fn(&T) -> Outcome` (a closure, a fn
//! item such as `breaker::http::default_classifier`) is a classifier through one blanket impl.
//! A value that borrows, such as `Attempt<'a>`, is classified for every lifetime at once: the
//! HTTP adapters ask for `for<'a> Classify<Attempt<'a>>`, which `breaker::http::Classifier`
//! names, and a closure whose parameter is written out as `&Attempt<'_>` is one.

use crate::state::Outcome;

/// Decides what a call's result, a `T`, means for the circuit.
///
/// Every `Fn(&T) -> Outcome` is a classifier of `T`; a type of one's own is one by implementing
/// this trait, for a classifier with a name or with settings.
///
/// # Example
///
/// ```
/// use breaker::{Classify, Outcome};
///
/// // A closure: a status of 500 or more is a failure.
/// let server_errors_fail = |status: &u16| {
///     if *status >= 500 { Outcome::Failure } else { Outcome::Success }
/// };
/// assert_eq!(server_errors_fail.classify(&503), Outcome::Failure);
///
/// // A type of one's own: a status at or above a limit of its choosing is a failure.
/// struct AtLeast(u16);
///
/// impl Classify<u16> for AtLeast {
///     fn classify(&self, status: &u16) -> Outcome {
///         if *status >= self.0 { Outcome::Failure } else { Outcome::Success }
///     }
/// }
/// assert_eq!(AtLeast(400).classify(&404), Outcome::Failure);
/// assert_eq!(AtLeast(500).classify(&404), Outcome::Success);
/// ```
pub trait Classify<T: ?Sized> {
    /// The outcome of `what`.
    fn classify(&self, what: &T) -> Outcome;
}

impl<T, F> Classify<T> for F
where
    T: ?Sized,
    F: Fn(&T) -> Outcome + ?Sized,
{
    #[inline]
    fn classify(&self, what: &T) -> Outcome {
        self(what)
    }
}
