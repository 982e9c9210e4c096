//! `Registry`: the same circuit per key, the factory once per kept key, keys isolated, and the
//! bound: least recently used first, never a breaker with something to remember, growing past the
//! bound (and counting it) when nothing can go. Time moves only through `ManualClock::advance`.

use std::hash::Hash;
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::Duration;

use breaker::{Builder, CircuitBreaker, ManualClock, Probing, Registry, State};

use crate::support::secs;

/// A registry on a manual clock whose factory logs every key it builds a breaker for.
struct Fixture<K> {
    registry: Registry<K>,
    clock: ManualClock,
    built: Arc<Mutex<Vec<K>>>,
}

impl<K: Hash + Eq + Clone + Send + Sync + 'static> Fixture<K> {
    /// Breakers with window `window` and threshold `threshold`.
    fn new(window: Duration, threshold: u32) -> Self {
        Self::with(move |b| b.window(window).error_threshold(threshold))
    }

    /// Breakers from `configure(CircuitBreaker::builder())` on the fixture's clock.
    fn with(configure: impl Fn(Builder) -> Builder + Send + Sync + 'static) -> Self {
        let clock = ManualClock::new();
        let built = Arc::new(Mutex::new(Vec::new()));
        let (c, log) = (clock.clone(), built.clone());
        let registry = Registry::new(move |key: &K| {
            log.lock().unwrap().push(key.clone());
            configure(CircuitBreaker::builder())
                .clock(c.clone())
                .build()
                .expect("valid configuration")
        });
        Self {
            registry,
            clock,
            built,
        }
    }

    fn bounded(mut self, max_keys: usize) -> Self {
        self.registry = self.registry.max_keys(max_keys);
        self
    }

    /// How many breakers the factory has built, for any key.
    fn builds(&self) -> usize {
        self.built.lock().unwrap().len()
    }

    /// How many breakers the factory has built for `key`.
    fn builds_of(&self, key: &K) -> usize {
        self.built
            .lock()
            .unwrap()
            .iter()
            .filter(|k| *k == key)
            .count()
    }

    /// Whether `key` is kept, found without adding it: `get` must not call the factory.
    fn is_kept(&self, key: &K) -> bool {
        let before = self.builds_of(key);
        self.registry.get(key);
        let kept = self.builds_of(key) == before;
        assert!(kept || self.builds_of(key) == before + 1);
        kept
    }

    fn fail(&self, key: &K) {
        self.registry
            .get(key)
            .try_acquire()
            .expect("admitted")
            .failure();
    }
}

// ---------------------------------------------------------------------------------------------
// One circuit per key
// ---------------------------------------------------------------------------------------------

#[test]
fn a_failure_through_one_get_is_seen_through_another_and_through_a_clone() {
    let f = Fixture::new(secs(10), 3);
    f.fail(&"api");

    assert_eq!(f.registry.get(&"api").errors_in_window(), 1);
    let clone = f.registry.clone();
    assert_eq!(clone.get(&"api").errors_in_window(), 1);
    clone.get(&"api").try_acquire().unwrap().failure();
    assert_eq!(f.registry.get(&"api").errors_in_window(), 2);
    assert_eq!(f.registry.len(), 1);
    assert_eq!(clone.len(), 1);
}

#[test]
fn the_factory_runs_once_per_kept_key() {
    let f = Fixture::new(secs(10), 3);
    assert!(f.registry.is_empty());
    for _ in 0..3 {
        f.registry.get(&"a");
        f.registry.get(&"b");
    }
    f.registry.clone().get(&"a");

    assert_eq!(f.builds(), 2);
    assert_eq!(f.builds_of(&"a"), 1);
    assert_eq!(f.registry.len(), 2);
    assert!(!f.registry.is_empty());
}

#[test]
fn a_key_opened_by_failures_leaves_the_other_keys_closed() {
    let f = Fixture::new(secs(10), 1);
    f.fail(&"down");
    f.fail(&"down"); // 2 > T = 1

    assert_eq!(f.registry.get(&"down").state(), State::Open);
    assert!(f.registry.get(&"down").try_acquire().is_err());
    let up = f.registry.get(&"up");
    assert_eq!(up.state(), State::Closed);
    assert_eq!(up.errors_in_window(), 0);
    assert!(up.try_acquire().is_ok());
}

#[test]
fn threads_asking_for_the_same_new_key_get_one_circuit() {
    for threads in 2..=4 {
        let f = Fixture::new(secs(10), 1_000);
        let barrier = Barrier::new(threads);
        let rounds = 50;
        let seen: Vec<Vec<CircuitBreaker>> = thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        (0..rounds)
                            .map(|key| {
                                barrier.wait();
                                f.registry.get(&key)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });

        for key in 0..rounds {
            assert_eq!(f.builds_of(&key), 1, "{threads} threads, key {key}");
            seen[0][key].try_acquire().unwrap().failure();
            for circuits in &seen {
                assert_eq!(circuits[key].errors_in_window(), 1, "{threads} threads");
            }
        }
        assert_eq!(f.registry.len(), rounds);
    }
}

// ---------------------------------------------------------------------------------------------
// The bound
// ---------------------------------------------------------------------------------------------

#[test]
fn churn_keeps_the_registry_within_its_bound_and_keeps_the_open_breakers() {
    let f = Fixture::new(secs(60), 0).bounded(64);
    let opened: Vec<u32> = (0..4).collect();
    for key in &opened {
        f.fail(key);
    }

    for key in 1_000..11_000 {
        f.registry.get(&key);
        assert!(
            f.registry.len() <= 64,
            "{} keys after {key}",
            f.registry.len()
        );
        if key % 1_000 == 0 {
            f.clock.advance(secs(1)); // well within the window
            for k in &opened {
                assert_eq!(f.registry.get(k).state(), State::Open);
            }
        }
    }

    assert_eq!(f.builds(), opened.len() + 10_000);
    for key in &opened {
        assert_eq!(f.registry.get(key).state(), State::Open, "key {key}");
        assert_eq!(f.builds_of(key), 1, "key {key} was rebuilt");
    }
    assert_eq!(f.registry.len(), 64);
    assert_eq!(f.registry.overflowed(), 0);
}

#[test]
fn a_breaker_with_something_to_remember_is_never_forgotten() {
    struct Case {
        name: &'static str,
        window: Duration,
        threshold: u32,
        probing: Option<Probing>,
        after_failure: Duration,
        state: State,
        errors: u32,
    }
    let probing = Some(Probing::new(1).open_time(secs(5)));
    let cases = [
        Case {
            name: "open",
            window: secs(10),
            threshold: 0,
            probing: None,
            after_failure: secs(1),
            state: State::Open,
            errors: 1,
        },
        Case {
            name: "open, its window empty",
            window: secs(1),
            threshold: 0,
            probing: probing.clone(),
            after_failure: secs(2),
            state: State::Open,
            errors: 0,
        },
        Case {
            name: "half-open, its window empty",
            window: secs(1),
            threshold: 0,
            probing: probing.clone(),
            after_failure: secs(5),
            state: State::HalfOpen,
            errors: 0,
        },
        Case {
            name: "closed, with a failure in its window",
            window: secs(10),
            threshold: 3,
            probing: None,
            after_failure: secs(1),
            state: State::Closed,
            errors: 1,
        },
    ];

    for case in cases {
        let Case {
            name,
            window,
            threshold,
            probing,
            ..
        } = case;
        let f = Fixture::with(move |b| {
            let b = b.window(window).error_threshold(threshold);
            match &probing {
                Some(p) => b.probing(p.clone()),
                None => b,
            }
        })
        .bounded(1);
        f.fail(&"kept");
        f.clock.advance(case.after_failure);
        let kept = f.registry.get(&"kept");
        assert_eq!(kept.state(), case.state, "{name}");
        assert_eq!(kept.errors_in_window(), case.errors, "{name}");

        f.registry.get(&"new");
        assert_eq!(f.registry.len(), 2, "{name}");
        assert_eq!(f.registry.overflowed(), 1, "{name}");
        assert!(f.is_kept(&"kept"), "{name}");
        assert_eq!(f.registry.get(&"kept").state(), case.state, "{name}");
    }
}

#[test]
fn when_every_breaker_is_open_the_registry_grows_counts_it_and_shrinks_back_later() {
    let f = Fixture::new(secs(10), 0).bounded(2);
    f.fail(&"a");
    f.fail(&"b");

    f.fail(&"c"); // a third key, past the bound of 2: all three are open
    assert_eq!((f.registry.len(), f.registry.overflowed()), (3, 1));
    f.registry.get(&"d");
    assert_eq!((f.registry.len(), f.registry.overflowed()), (4, 2));
    assert_eq!(f.builds(), 4); // nothing forgotten, nothing rebuilt
    assert_eq!(f.registry.get(&"a").state(), State::Open); // a is now the most recent

    // All recover; the next new key makes room for itself and for the excess, oldest first.
    f.clock.advance(secs(10));
    assert_eq!(f.registry.get(&"a").state(), State::Closed);
    assert_eq!(f.registry.get(&"a").errors_in_window(), 0);
    f.registry.get(&"e");
    assert_eq!((f.registry.len(), f.registry.overflowed()), (2, 2));
    assert!(f.is_kept(&"e"));
    assert!(f.is_kept(&"a"), "a was used after b, c and d");
    assert_eq!(f.registry.len(), 2);
}

#[test]
fn a_full_registry_forgets_a_clean_breaker_rather_than_grow() {
    let f = Fixture::new(secs(10), 0).bounded(2);
    f.fail(&"open");
    f.registry.get(&"clean");
    f.registry.get(&"new");
    assert_eq!((f.registry.len(), f.registry.overflowed()), (2, 0));
    assert!(f.is_kept(&"open"));
    assert!(f.is_kept(&"new"));
    assert!(!f.is_kept(&"clean"));
}

#[test]
fn the_least_recently_used_forgettable_key_is_the_one_forgotten() {
    struct Case {
        name: &'static str,
        touch: Option<&'static str>,
        fail: Option<&'static str>,
        forgotten: &'static str,
    }
    let cases = [
        Case {
            name: "untouched: the oldest goes",
            touch: None,
            fail: None,
            forgotten: "a",
        },
        Case {
            name: "the oldest used again: the next goes",
            touch: Some("a"),
            fail: None,
            forgotten: "b",
        },
        Case {
            name: "the newest used again: the oldest goes",
            touch: Some("b"),
            fail: None,
            forgotten: "a",
        },
        Case {
            name: "the oldest has a failure: the next goes",
            touch: None,
            fail: Some("a"),
            forgotten: "b",
        },
    ];

    for case in cases {
        let f = Fixture::new(secs(10), 3).bounded(2);
        f.registry.get(&"a");
        f.registry.get(&"b");
        if let Some(key) = case.fail {
            let cb = f.registry.get(&key);
            f.clock.advance(secs(1));
            cb.try_acquire().unwrap().failure();
        }
        if let Some(key) = case.touch {
            f.registry.get(&key);
        }
        f.registry.get(&"c");
        assert_eq!(f.registry.len(), 2, "{}", case.name);

        let kept = if case.forgotten == "a" { "b" } else { "a" };
        assert!(f.is_kept(&"c"), "{}", case.name);
        assert!(f.is_kept(&kept), "{}", case.name);
        assert!(!f.is_kept(&case.forgotten), "{}", case.name);
        assert_eq!(f.registry.overflowed(), 0, "{}", case.name);
    }
}

#[test]
fn a_bound_of_zero_keeps_one_key() {
    let f = Fixture::new(secs(10), 3).bounded(0);
    f.registry.get(&1);
    f.registry.get(&2);
    assert_eq!(f.registry.len(), 1);
    assert!(f.is_kept(&2));
    assert_eq!(f.registry.overflowed(), 0);
}

#[test]
fn debug_shows_the_size_and_the_bound() {
    let f = Fixture::new(secs(10), 3).bounded(8);
    f.registry.get(&"a");
    let shown = format!("{:?}", f.registry);
    assert!(shown.starts_with("Registry"), "{shown}");
    assert!(shown.contains("len: 1"), "{shown}");
    assert!(shown.contains("max_keys: Some(8)"), "{shown}");
}
