//! A breaker's shared state, and every path a call takes through it beyond the first load.
//!
//! # Shared state, and why it is this small
//!
//! - `word` (one atomic word, `state_word.rs`) publishes the state machine's phase
//!   (`machine.rs`): a value of its own while the circuit is closed, otherwise a forced state or
//!   an instant (nanoseconds on the clock): the end of the open period, or the start of a
//!   half-open one. Admission while closed is one load of this word that finds "closed": no
//!   clock read, no write. An open circuit rejects on the word and one clock read
//!   (`now < until`), with no lock. Everything else (an open period ending, a trip, a probe,
//!   forcing) goes through the machine's one transition function.
//! - the [failure window](crate::window) of the count rule: the T + 1 latest failure stamps.
//!   Only failures write it. A breaker that trips on its other rules alone has none.
//! - optional parts, behind one box that a default breaker does not have: a custom clock, the
//!   other [rules](crate::rules), the observers and, with probing, the phase and the probes in
//!   flight behind a small lock.
//!
//! Without probing, the whole phase fits in the word, and the transition runs inside a
//! compare-and-swap loop: whichever thread moves the word from closed to open is the one trip,
//! however many threads record at once. With probing, the phase and the probes sit behind the
//! lock, which is taken only while the circuit is half-open or changes state, never while user
//! code runs; the word is published under it. A successful call admitted while closed writes
//! nothing shared, unless a rule that counts successes (failure rate, consecutive failures) is
//! configured.
//!
//! The fast paths (admission while closed, a closed success) are `#[inline]` and end here in
//! one compare; everything else is out of line and `#[cold]`, so that the permit's methods stay
//! small where they are inlined.

use std::time::Duration;

use crate::clock::{Clock, MonotonicClock};
use crate::error::CircuitOpenError;
use crate::machine::{
    Admission, CountWindow, Event, Forget, Phase, Policy, Probes, Recovery, Step, Ticket,
    transition,
};
use crate::nanos::Nanos;
use crate::observe::Observe;
use crate::permit_word::{Kind, PermitWord};
use crate::rules::Rules;
use crate::state::{Outcome, Reason, State};
use crate::state_word::{AtomicStateWord, Published, StateWord, Tell};
use crate::sync::{Mutex, MutexGuard};
use crate::window::FailureWindow;

/// The state every clone of a breaker shares.
pub struct Inner {
    /// The phase as published for admission: see [`StateWord`].
    word: AtomicStateWord,
    /// The count rule's window; none for a breaker that trips on its other rules alone.
    failures: Option<FailureWindow>,
    /// Everything a default breaker leaves out.
    extras: Option<Box<Extras>>,
}

/// The parts of a breaker that the defaults leave out.
struct Extras {
    /// W, which the count rule's window also keeps: here for a breaker without one.
    window: Nanos,
    clock: Option<Box<dyn Clock>>,
    policy: Policy,
    tell: Tell,
    /// With probing: the phase and the probes, behind the lock the word is published under.
    locked: Option<Mutex<Locked>>,
    rules: Rules,
    observe: Observe,
    /// Shadow mode: a call that would be rejected is admitted with a permit that records nothing.
    shadow: bool,
}

/// The state behind the lock, with probing.
struct Locked {
    phase: Phase,
    probes: Probes,
}

/// The answer of admission's slow path, out of line: a `Result` with its tag in a byte of its
/// own (`repr(u8)`) rather than in a spare value of the rejection's `Duration`, so that the
/// caller's fast path, inlined into a `call` future's poll, keeps its registers (measured: two
/// instructions fewer, and a register less saved, per closed call polled out of line).
#[repr(u8)]
enum Slow {
    Admitted(PermitWord),
    Rejected(CircuitOpenError),
}

/// Everything a breaker is built from, checked: what [`Inner::new`] lays out.
pub(crate) struct Parts {
    /// W.
    pub(crate) window: Nanos,
    pub(crate) failures: Option<FailureWindow>,
    pub(crate) clock: Option<Box<dyn Clock>>,
    pub(crate) policy: Policy,
    pub(crate) rules: Rules,
    pub(crate) observe: Observe,
    pub(crate) shadow: bool,
}

/// The lock of the probing state. Nothing panics while it is held; should it ever, the data is
/// still consistent (the phase and the probes are written together, after the transition), so
/// a poisoned lock is used as it is.
fn lock(locked: &Mutex<Locked>) -> MutexGuard<'_, Locked> {
    locked.lock().unwrap_or_else(|e| e.into_inner())
}

impl Inner {
    /// The shared state of a breaker built from `parts`, closed.
    pub(crate) fn new(parts: Parts) -> Self {
        let Parts {
            window,
            failures,
            clock,
            policy,
            rules,
            observe,
            shadow,
        } = parts;
        let locked = match &policy.recovery {
            Recovery::Probing(p) => Some(Mutex::new(Locked {
                phase: Phase::Closed,
                probes: Probes::new(p.probes),
            })),
            Recovery::Window => None,
        };
        // The defaults (monotonic clock, window recovery, the count rule alone, no name, no
        // observer, no metrics) take no room at all.
        let plain = clock.is_none()
            && policy == Policy::DEFAULT
            && !rules.any()
            && !shadow
            && observe.is_silent();
        let tell = if policy.slow.is_some() {
            Tell::Timed
        } else if rules.any() || observe.counts_outcomes() {
            Tell::Outcomes
        } else {
            Tell::Failures
        };
        let extras = (!plain).then(|| {
            Box::new(Extras {
                window,
                clock,
                policy,
                tell,
                locked,
                rules,
                observe,
                shadow,
            })
        });
        Inner {
            word: AtomicStateWord::new(StateWord::publish(Phase::Closed, tell)),
            failures,
            extras,
        }
    }

    /// [`CircuitBreaker::try_acquire`](crate::CircuitBreaker::try_acquire): one load while
    /// closed. The admitted permit's word, or the rejection.
    #[inline]
    pub(crate) fn try_acquire(&self) -> Result<PermitWord, CircuitOpenError> {
        let word = self.word.load();
        if word == StateWord::CLOSED {
            return Ok(PermitWord::CLOSED);
        }
        match self.acquire_slow(word) {
            Slow::Admitted(permit) => Ok(permit),
            Slow::Rejected(open) => Err(open),
        }
    }

    /// The count rule's T, if it is on.
    pub(crate) fn threshold(&self) -> Option<u32> {
        self.failures.as_ref().map(FailureWindow::threshold)
    }

    /// The state now: from the word alone while closed or forced, else through the machine.
    pub(crate) fn state(&self) -> State {
        match self.word.load().read() {
            Published::Closed => State::Closed,
            Published::ForcedClosed => State::ForcedClosed,
            Published::ForcedOpen => State::ForcedOpen,
            Published::At(_) => self.apply(Event::Look, self.now()).phase.state(),
        }
    }

    /// The failures in the window now, saturating at T + 1; with no count rule, the failures
    /// the rate rule counts, or zero.
    pub(crate) fn errors_in_window(&self) -> u32 {
        let now = self.now();
        if let Some(failures) = &self.failures {
            return failures.count(now);
        }
        let rate = self.rules().and_then(|r| r.failures(now));
        rate.map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Runs the state machine on `event`, now.
    pub(crate) fn change(&self, event: Event) {
        self.apply(event, self.now());
    }

    /// Open for at least `duration` from now, for `reason`.
    pub(crate) fn hold_open(&self, duration: Duration, reason: Reason) {
        let now = self.now();
        let until = now.saturating_add(Nanos::saturating_from(duration));
        self.apply(Event::HoldOpen { until, reason }, now);
    }

    /// The bytes of this state and the heap behind it, a custom clock's and an observer's own
    /// data excepted.
    pub(crate) fn footprint(&self) -> usize {
        let extras = self.extras.as_ref().map_or(0, |e| {
            let probes = e.locked.as_ref().map_or(0, |l| lock(l).probes.heap_bytes());
            std::mem::size_of::<Extras>() + probes + e.rules.heap_bytes()
        });
        std::mem::size_of::<Inner>()
            + self.failures.as_ref().map_or(0, FailureWindow::heap_bytes)
            + extras
    }

    /// Whether this breaker has parts beyond the defaults.
    #[cfg(all(test, not(feature = "metrics")))]
    pub(crate) fn has_extras(&self) -> bool {
        self.extras.is_some()
    }

    fn policy(&self) -> &Policy {
        self.extras
            .as_deref()
            .map_or(&Policy::DEFAULT, |e| &e.policy)
    }

    fn locked(&self) -> Option<&Mutex<Locked>> {
        self.extras.as_deref().and_then(|e| e.locked.as_ref())
    }

    fn rules(&self) -> Option<&Rules> {
        self.extras.as_deref().map(|e| &e.rules)
    }

    fn tell(&self) -> Tell {
        self.extras.as_deref().map_or(Tell::Failures, |e| e.tell)
    }

    /// The permit's word for a call admitted while closed (or forced closed) at `now`.
    fn closed_permit(&self, now: impl FnOnce() -> Nanos) -> PermitWord {
        match self.tell() {
            Tell::Failures => PermitWord::CLOSED,
            Tell::Outcomes => PermitWord::TOLD,
            Tell::Timed => PermitWord::timed(now()),
        }
    }

    /// The time on the breaker's clock.
    pub(crate) fn now(&self) -> Nanos {
        match self.extras.as_deref().and_then(|e| e.clock.as_deref()) {
            Some(clock) => Nanos::saturating_from(clock.now()),
            None => MonotonicClock::new().nanos(),
        }
    }

    pub(crate) fn observe(&self) -> Option<&Observe> {
        self.extras.as_deref().map(|e| &e.observe)
    }

    /// W: the count rule's window keeps it, and without one the extras do.
    pub(crate) fn window(&self) -> Nanos {
        match &self.failures {
            Some(failures) => failures.window(),
            // Without the count rule a breaker has another rule, and so its extras.
            None => self.extras.as_deref().map_or(Nanos::ZERO, |e| e.window),
        }
    }

    /// Runs the state machine on `event` at `now`, commits its step, carries out its effects,
    /// and reports its changes once nothing is held.
    #[inline(never)]
    pub(crate) fn apply(&self, event: Event, now: Nanos) -> Step {
        let policy = self.policy();
        let tell = self.tell();
        let step = match self.locked() {
            Some(locked) => {
                let mut state = lock(locked);
                let step = transition(policy, state.phase, &state.probes, event, now, self);
                state.probes.apply(step.probes);
                state.phase = step.phase;
                // Forgotten before the word says closed, so that no failure recorded after the
                // change is forgotten with the older ones.
                self.forget(step.forget);
                self.word.store(StateWord::publish(step.phase, tell));
                step
            }
            None => {
                let mut word = self.word.load();
                let step = loop {
                    let step = transition(policy, word.phase(), &Probes::NONE, event, now, self);
                    let next = StateWord::publish(step.phase, tell);
                    if next == word {
                        break step;
                    }
                    match self.word.compare_exchange(word, next) {
                        Ok(()) => break step,
                        Err(seen) => word = seen,
                    }
                };
                self.forget(step.forget);
                step
            }
        };
        if let Some(observe) = self.observe() {
            for change in step.changes.iter() {
                observe.state_change(change);
            }
        }
        step
    }

    fn forget(&self, forget: Forget) {
        if forget.outcomes {
            if let Some(failures) = &self.failures {
                failures.clear();
            }
            if let Some(rules) = self.rules() {
                rules.forget_outcomes();
            }
        }
        if let Some(rules) = self.rules().filter(|_| forget.streak) {
            rules.end_streak();
        }
    }

    /// The phase now, worked out by the same transition as every other caller, without
    /// carrying out any change (nor reporting it): for `Debug`.
    pub(crate) fn peek(&self) -> Phase {
        let now = self.now();
        let policy = self.policy();
        match self.locked() {
            Some(locked) => {
                let state = lock(locked);
                transition(policy, state.phase, &state.probes, Event::Look, now, self).phase
            }
            None => {
                let word = self.word.load();
                transition(policy, word.phase(), &Probes::NONE, Event::Look, now, self).phase
            }
        }
    }

    /// Records the outcome of the call a permit with word `permit` let through.
    #[inline]
    pub(crate) fn finish(&self, permit: PermitWord, outcome: Outcome) {
        match (permit, outcome) {
            // The hot path: a success or an ignored call, admitted while closed, on a breaker
            // that needs to be told of failures only. Nothing is read, nothing shared written.
            (PermitWord::CLOSED, Outcome::Success | Outcome::Ignored) | (PermitWord::DONE, _) => {}
            (PermitWord::CLOSED, Outcome::Failure) => self.closed_failure(),
            _ => self.finish_slow(permit, outcome),
        }
    }

    /// A failure of a call admitted while closed, on a breaker told of failures only.
    fn closed_failure(&self) {
        self.count(Outcome::Failure);
        self.record_failure(self.now());
    }

    #[cold]
    fn finish_slow(&self, permit: PermitWord, outcome: Outcome) {
        let mut now = None;
        let mut now = || *now.get_or_insert_with(|| self.now());
        let outcome = match (permit.kind(), outcome) {
            (Kind::Probe(ticket), outcome) => return self.end_probe(ticket, Some(outcome)),
            // An enforcing breaker would not have made this call: it has no outcome to count.
            (Kind::Shadow, _) => return,
            (Kind::Timed(start), Outcome::Success) => {
                let slow = self.policy().slow.unwrap_or(Nanos::MAX);
                if now().saturating_sub(start) > slow {
                    Outcome::Failure
                } else {
                    Outcome::Success
                }
            }
            (_, outcome) => outcome,
        };
        self.count(outcome);
        match outcome {
            Outcome::Failure => self.record_failure(now()),
            Outcome::Success => {
                if let Some(reason) = self.rules().and_then(|r| r.success(&mut now)) {
                    self.trip(reason, None, now());
                }
            }
            Outcome::Ignored => {}
        }
    }

    /// An outcome, told to metrics.
    #[inline]
    fn count(&self, outcome: Outcome) {
        #[cfg(feature = "metrics")]
        if let Some(observe) = self.observe() {
            observe.outcome(outcome);
        }
        let _ = outcome;
    }

    /// A permit with word `permit` dropped untold: a probe gives its place back.
    #[inline]
    pub(crate) fn abandon(&self, permit: PermitWord) {
        if let Some(ticket) = permit.ticket() {
            self.end_probe(ticket, None);
        }
    }

    /// Whether the breaker is in shadow mode.
    pub(crate) fn is_shadow(&self) -> bool {
        self.extras.as_deref().is_some_and(|e| e.shadow)
    }

    /// A call the circuit does not admit: rejected, or in shadow mode admitted with a permit
    /// that records nothing.
    fn reject(&self, open: CircuitOpenError) -> Slow {
        let shadow = self.is_shadow();
        if let Some(observe) = self.observe() {
            observe.rejected(open.retry_after(), shadow);
        }
        if shadow {
            Slow::Admitted(PermitWord::SHADOW)
        } else {
            Slow::Rejected(open)
        }
    }

    #[cold]
    fn acquire_slow(&self, word: StateWord) -> Slow {
        let open = match word.read() {
            Published::Closed | Published::ForcedClosed => {
                return Slow::Admitted(self.closed_permit(|| self.now()));
            }
            Published::ForcedOpen => CircuitOpenError::forced(),
            Published::At(until) => {
                let now = self.now();
                if now < until {
                    // Open: the word alone says so, with no lock.
                    CircuitOpenError::new(until.saturating_sub(now).to_duration())
                } else {
                    match self.admit(now) {
                        Ok(permit) => return Slow::Admitted(permit),
                        Err(open) => open,
                    }
                }
            }
        };
        self.reject(open)
    }

    /// Admission by the state machine, once an open period has ended.
    fn admit(&self, now: Nanos) -> Result<PermitWord, CircuitOpenError> {
        match self.apply(Event::Admit, now).admission {
            Admission::Call | Admission::NotAsked => Ok(self.closed_permit(|| now)),
            Admission::Probe(ticket) => Ok(PermitWord::probe(ticket)),
            Admission::Reject { wait } => Err(CircuitOpenError::new(wait.to_duration())),
            Admission::RejectForced => Err(CircuitOpenError::forced()),
        }
    }

    /// A failure at `now` from a call admitted while closed: to every rule, and a trip if one
    /// fires.
    fn record_failure(&self, now: Nanos) {
        // An open period that has ended unnoticed ends first, at its own instant and before this
        // failure: its reason is read from the window as it stood, and the streak it ends is
        // the one before this failure.
        if matches!(self.word.load().read(), Published::At(until) if until <= now) {
            self.apply(Event::Look, now);
        }
        let count = self.failures.as_ref().and_then(|f| f.record(now));
        let other = self.rules().and_then(|r| r.failure(now));
        match (count, other) {
            (Some(until), _) => self.trip(Reason::FailureCount, Some(until), now),
            (None, Some(reason)) => self.trip(reason, None, now),
            (None, None) => {}
        }
        if let Some(observe) = self.observe() {
            observe.failure();
        }
    }

    fn trip(&self, reason: Reason, until: Option<Nanos>, now: Nanos) {
        if self.locked().is_some() && self.word.load().read() != Published::Closed {
            // With probing a trip can only change a closed circuit: skip the lock.
            return;
        }
        self.apply(Event::Trip { reason, until }, now);
    }

    #[cold]
    fn end_probe(&self, ticket: Ticket, outcome: Option<Outcome>) {
        let step = self.apply(Event::ProbeEnd { ticket, outcome }, self.now());
        if let Some(recorded) = step.recorded {
            self.count(recorded);
            if recorded == Outcome::Failure
                && let Some(observe) = self.observe()
            {
                observe.failure();
            }
        }
    }
}

impl CountWindow for Inner {
    fn width(&self) -> Nanos {
        self.window()
    }

    fn open_until(&self, now: Nanos) -> Option<Nanos> {
        self.failures.as_ref()?.open_until(now)
    }

    fn exceeded_at(&self, t: Nanos) -> bool {
        self.failures.as_ref().is_some_and(|f| f.exceeded_at(t))
    }
}
