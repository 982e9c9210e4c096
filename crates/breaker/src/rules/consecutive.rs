//! The consecutive-failures rule: n failures in a row open the circuit.
//!
//! One shared counter, the streak. A failure adds one; a success ends the streak (and writes
//! only if there is a streak to end, so that a healthy service's successes leave the word
//! unwritten and its cache line shared); an ignored outcome leaves it as it is. A trip ends the
//! streak, and so does closing again, so that after the circuit closes n new failures in a row
//! are needed to open it. Under concurrency "in a row" means in the order the outcomes reach
//! the counter.

use crate::sync::{AtomicU64, Ordering};

/// The rule and its streak.
#[derive(Debug)]
pub(crate) struct Consecutive {
    n: u64,
    streak: AtomicU64,
}

impl Consecutive {
    /// n failures in a row trip it (n >= 1, checked by the builder).
    pub(crate) fn new(n: u32) -> Self {
        Self {
            n: u64::from(n),
            streak: AtomicU64::new(0),
        }
    }

    /// A failure: whether the streak has reached n.
    pub(crate) fn failure(&self) -> bool {
        self.streak.fetch_add(1, Ordering::AcqRel).saturating_add(1) >= self.n
    }

    /// A success ends the streak.
    pub(crate) fn success(&self) {
        if self.streak.load(Ordering::Acquire) != 0 {
            self.streak.store(0, Ordering::Release);
        }
    }

    /// The circuit tripped or closed: the streak starts again.
    pub(crate) fn end(&self) {
        self.streak.store(0, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn n_in_a_row_trip_and_a_success_breaks_the_row() {
        let c = Consecutive::new(3);
        assert!(!c.failure());
        assert!(!c.failure());
        c.success();
        assert!(!c.failure());
        assert!(!c.failure());
        assert!(c.failure());
        c.end();
        assert!(!c.failure());
    }
}
