//! One breaker per key (per downstream host, say), built on first use and, if bounded, forgotten
//! least recently used first, but only while it has nothing to remember: see [`Registry`].
//!
//! # Why papaya
//!
//! A registry sits in front of every call, and almost every lookup finds a key it already has.
//! [`papaya::HashMap`] answers those lookups without a lock: a read pins an epoch guard and
//! follows atomic pointers, so readers never wait on each other or on a writer. It is also well
//! kept (maintained, documented, stress-tested), and its `unsafe` stays inside it: this crate's
//! own code still forbids `unsafe`. The alternatives were worse on
//! exactly that path: `dashmap` takes a shard's `RwLock` on every read (readers of one shard
//! bounce its lock word between cores, and wait behind a writer), and a `Mutex<HashMap>`
//! serializes every call of the whole process on one lock.
//!
//! # Why foldhash
//!
//! The standard library's SipHash took about half of a known-key lookup (profiled on a
//! 30-byte origin). The map hashes with foldhash instead (a well-kept crate, the default of
//! `hashbrown`), several times faster on short keys, and seeded at random for each map, so that
//! which keys collide is not known in advance. It is not a cryptographic hash: a registry keyed
//! by values that an adversary chooses freely and in bulk should be bounded with
//! [`Registry::max_keys`], which it should be anyway.
//!
//! # Costs
//!
//! - **A known key (the hit path):** a lock-free map read, one clone of the breaker handle (a
//!   reference count), and the recency stamp: one relaxed load of the registry's epoch and one of
//!   the entry's stamp, with a write only if the entry was not yet stamped in this epoch. The
//!   epoch moves only when a key is added, so a steady set of keys writes nothing shared.
//! - **A new key (the miss path):** behind one insertion lock, taken only on a miss. Under it the
//!   key is looked for again, the factory runs, room is made if the registry is full, and the
//!   entry is added. The factory therefore runs **once** per key added, even when several threads
//!   ask for the same new key at once: one of them builds it, the others find it. (papaya's
//!   `get_or_insert_with` alone would not promise this: every racing thread would run its own
//!   factory and all but one breaker would be thrown away.)
//! - **Making room:** when full, a scan of the whole map for the least recently used breaker
//!   that can go: O(n) in the number of keys, paid only by an insert into a full registry.
//!
//! # Recency
//!
//! Each entry carries the epoch in which it was last used; the epoch counts insertions. Eviction
//! happens only at an insertion, so this is the only resolution LRU needs: a key used since the
//! last insertion is more recent than any key not used since. Keys used in the same epoch are
//! equals, and any of them may go first.
//!
//! # What may be forgotten
//!
//! Only a breaker that is closed with no failure in its window, that is one a fresh breaker from
//! the factory could replace without anyone noticing. An open or half-open breaker, or one with
//! failures still counting, is never forgotten; if no kept breaker can go, the registry grows past
//! its bound and [`Registry::overflowed`] counts it. The next insertions bring it back down to the
//! bound as soon as breakers recover. papaya sizes its table from the number of live entries, so
//! memory follows the number of keys kept, however many keys have passed through.

use std::fmt;
use std::hash::Hash;
use std::sync::Arc;

use papaya::{HashMap, HashMapRef, LocalGuard};

use crate::breaker::CircuitBreaker;
use crate::state::State;
use crate::sync::{AtomicU64, Mutex, MutexGuard, Ordering};

/// How many times making room rescans the map when the breaker it chose changed (was used, or
/// failed) between the scan and its removal. Each retry needs another thread to have used or
/// failed a chosen breaker during the scan; after this many the insert is counted as an overflow
/// rather than scanning forever.
const MAX_SCANS: usize = 4;

/// `max_keys` of a registry without a bound.
const UNBOUNDED: u64 = u64::MAX;

/// A map from keys to circuit breakers: the same circuit for the same key, built by a factory on
/// first use, optionally bounded.
///
/// Clones share one map. [`get`](Registry::get) on a key the registry has takes no lock.
///
/// A key is *kept* from the [`get`](Registry::get) that adds it until a bounded registry forgets
/// it to make room (see [`max_keys`](Registry::max_keys)); the next `get` then builds a new
/// breaker. A handle obtained before that stays valid but is no longer the key's circuit: holders
/// should call `get` per call rather than keep the handle for long.
///
/// ```
/// use std::time::Duration;
/// use breaker::{CircuitBreaker, Registry, State};
///
/// let hosts = Registry::new(|_host: &String| CircuitBreaker::new(Duration::from_secs(5), 3))
///     .max_keys(1_000);
///
/// let cb = hosts.get(&"api.example.com".to_string());
/// cb.try_acquire()?.failure();
///
/// // The same circuit, from any clone of the registry.
/// let again = hosts.clone().get(&"api.example.com".to_string());
/// assert_eq!(again.errors_in_window(), 1);
/// assert_eq!(again.state(), State::Closed);
/// assert_eq!(hosts.len(), 1);
/// println!("{hosts:?}");
/// # Ok::<(), breaker::CircuitOpenError>(())
/// ```
pub struct Registry<K> {
    shared: Arc<Shared<K>>,
}

/// What every clone of a registry shares.
struct Shared<K> {
    map: HashMap<K, Entry, Hasher>,
    factory: Box<dyn Fn(&K) -> CircuitBreaker + Send + Sync>,
    /// Taken on a miss only: serializes insertions and eviction.
    inserting: Mutex<()>,
    /// The bound: at least 1, `u64::MAX` when unbounded.
    max_keys: AtomicU64,
    /// The number of insertions so far. Entries are stamped with it when used.
    epoch: AtomicU64,
    /// Insertions that left the registry above its bound.
    overflowed: AtomicU64,
}

/// One kept key's breaker and the epoch it was last used in.
struct Entry {
    cb: CircuitBreaker,
    last_used: AtomicU64,
}

/// A pinned view of the map.
type Pinned<'m, K> = HashMapRef<'m, K, Entry, Hasher, LocalGuard<'m>>;

/// The map's hasher: foldhash, seeded at random per map (see the module docs for why).
type Hasher = foldhash::fast::RandomState;

impl<K> Registry<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    /// An unbounded registry whose breakers `factory` builds, once per key it keeps.
    ///
    /// The factory runs under the registry's insertion lock: it must not ask the same registry
    /// for a key it does not have yet (that would deadlock, or panic).
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Registry};
    ///
    /// let registry = Registry::new(|_key: &u32| CircuitBreaker::new(Duration::from_secs(5), 3));
    /// assert!(registry.is_empty());
    /// ```
    pub fn new<F>(factory: F) -> Self
    where
        F: Fn(&K) -> CircuitBreaker + Send + Sync + 'static,
    {
        Registry {
            shared: Arc::new(Shared {
                map: HashMap::with_hasher(Hasher::default()),
                factory: Box::new(factory),
                inserting: Mutex::new(()),
                max_keys: AtomicU64::new(UNBOUNDED),
                epoch: AtomicU64::new(0),
                overflowed: AtomicU64::new(0),
            }),
        }
    }

    /// Bounds the registry to `n` keys (0 is taken as 1).
    ///
    /// When a new key would make more than `n`, the registry forgets the least recently used key
    /// whose breaker is closed with no failure in its window. It never forgets an open or
    /// half-open breaker, nor one with failures still in its window: if no kept breaker can go,
    /// it grows past `n`, and [`overflowed`](Registry::overflowed) counts the insertion. Once
    /// above `n`, each new key makes room for itself and for the excess, as far as breakers
    /// allow.
    ///
    /// Making room scans every kept key (O(n)); only an insertion into a full registry pays it.
    /// The bound belongs to the shared map: it applies to every clone.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Registry};
    ///
    /// let registry =
    ///     Registry::new(|_key: &u32| CircuitBreaker::new(Duration::from_secs(5), 3)).max_keys(2);
    /// for key in 0..10 {
    ///     registry.get(&key);
    /// }
    /// assert_eq!(registry.len(), 2);
    /// assert_eq!(registry.overflowed(), 0);
    /// ```
    #[must_use]
    pub fn max_keys(self, n: usize) -> Self {
        let n = u64::try_from(n.max(1)).unwrap_or(UNBOUNDED);
        self.shared.max_keys.store(n, Ordering::Relaxed);
        self
    }

    /// The breaker for `key`: the same circuit (a handle sharing its state) on every call while
    /// the key is kept, built by the factory the first time.
    ///
    /// Takes no lock when the key is kept; adding a new key takes the insertion lock and, in a
    /// full registry, scans it for a key to forget.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Registry, State};
    ///
    /// let registry = Registry::new(|_key: &&str| CircuitBreaker::new(Duration::from_secs(5), 0));
    /// registry.get(&"down").try_acquire()?.failure(); // T = 0: one failure opens it
    ///
    /// assert_eq!(registry.get(&"down").state(), State::Open);
    /// assert_eq!(registry.get(&"up").state(), State::Closed);
    /// # Ok::<(), breaker::CircuitOpenError>(())
    /// ```
    #[inline]
    pub fn get(&self, key: &K) -> CircuitBreaker {
        {
            let map = self.shared.map.pin();
            if let Some(entry) = map.get(key) {
                self.shared.touch(entry);
                return entry.cb.clone();
            }
        }
        self.shared.insert(key)
    }

    /// The number of keys kept.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Registry};
    ///
    /// let registry = Registry::new(|_key: &u32| CircuitBreaker::new(Duration::from_secs(5), 3));
    /// registry.get(&1);
    /// registry.get(&1);
    /// registry.get(&2);
    /// assert_eq!(registry.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.map.len()
    }

    /// Whether no key is kept.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Registry};
    ///
    /// let registry = Registry::new(|_key: &u32| CircuitBreaker::new(Duration::from_secs(5), 3));
    /// assert!(registry.is_empty());
    /// registry.get(&1);
    /// assert!(!registry.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.shared.map.is_empty()
    }

    /// How many insertions left the registry above its [`max_keys`](Registry::max_keys) bound,
    /// because no kept breaker could be forgotten. Zero for an unbounded registry.
    ///
    /// ```
    /// use std::time::Duration;
    /// use breaker::{CircuitBreaker, Registry};
    ///
    /// let registry =
    ///     Registry::new(|_key: &u32| CircuitBreaker::new(Duration::from_secs(5), 0)).max_keys(1);
    /// registry.get(&1).try_acquire()?.failure(); // open: it must be kept
    /// registry.get(&2);
    /// assert_eq!(registry.len(), 2);
    /// assert_eq!(registry.overflowed(), 1);
    /// # Ok::<(), breaker::CircuitOpenError>(())
    /// ```
    pub fn overflowed(&self) -> u64 {
        self.shared.overflowed.load(Ordering::Relaxed)
    }
}

impl<K> Shared<K>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
{
    fn lock(&self) -> MutexGuard<'_, ()> {
        // The lock guards no invariant a panic could break (a panicking factory leaves the map as
        // it was), so a poisoned lock is taken as it is.
        self.inserting.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks `entry` as used in the current epoch. Writes only if it was not already.
    #[inline]
    fn touch(&self, entry: &Entry) {
        let now = self.epoch.load(Ordering::Relaxed);
        if entry.last_used.load(Ordering::Relaxed) < now {
            entry.last_used.fetch_max(now, Ordering::Relaxed);
        }
    }

    /// The miss path: adds `key` unless another thread just did, making room first if full.
    fn insert(&self, key: &K) -> CircuitBreaker {
        let _inserting = self.lock();
        let map = self.map.pin();
        if let Some(entry) = map.get(key) {
            // Another thread added it while this one waited for the lock.
            self.touch(entry);
            return entry.cb.clone();
        }
        // Build first: a panicking factory leaves the map untouched.
        let cb = (self.factory)(key);
        let max_keys = usize::try_from(self.max_keys.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
        if map.len() >= max_keys {
            self.make_room(&map, max_keys);
        }
        // Stamped with the current epoch, which then moves on: every later use is more recent.
        let stamp = self.epoch.fetch_add(1, Ordering::Relaxed);
        map.insert(
            key.clone(),
            Entry {
                cb: cb.clone(),
                last_used: AtomicU64::new(stamp),
            },
        );
        cb
    }

    /// Forgets the least recently used forgettable keys until one more key fits under `max_keys`,
    /// or notes an overflow if not enough of them can go. Called under the insertion lock.
    fn make_room(&self, map: &Pinned<'_, K>, max_keys: usize) {
        for _ in 0..MAX_SCANS {
            let need = (map.len() + 1).saturating_sub(max_keys);
            if need == 0 {
                return;
            }
            let victims = oldest_forgettable(map, need);
            if victims.is_empty() {
                break;
            }
            for (key, seen) in victims {
                // Only if it is still forgettable and was not used since the scan.
                let _ = map.remove_if(key, |_, entry| {
                    entry.last_used.load(Ordering::Relaxed) == seen && forgettable(&entry.cb)
                });
            }
        }
        if map.len() >= max_keys {
            self.note_overflow();
        }
    }

    /// An insertion went past the bound. The place to report it (a metric, a log line).
    fn note_overflow(&self) {
        self.overflowed.fetch_add(1, Ordering::Relaxed);
        #[cfg(feature = "metrics")]
        metrics::counter!("breaker_registry_overflows_total").increment(1);
    }
}

/// Whether a fresh breaker from the factory could take this one's place unnoticed.
fn forgettable(cb: &CircuitBreaker) -> bool {
    cb.state() == State::Closed && cb.errors_in_window() == 0
}

/// The `need` least recently used forgettable entries (fewer if there are not that many), with
/// the stamp each had when seen.
fn oldest_forgettable<'m, K>(map: &'m Pinned<'_, K>, need: usize) -> Vec<(&'m K, u64)>
where
    K: Hash + Eq,
{
    let candidates = map
        .iter()
        .map(|(key, entry)| (key, entry.last_used.load(Ordering::Relaxed), &entry.cb))
        .filter(|(_, _, cb)| forgettable(cb))
        .map(|(key, stamp, _)| (key, stamp));
    if need == 1 {
        // The usual case: one pass, no list of candidates.
        return candidates
            .min_by_key(|&(_, stamp)| stamp)
            .into_iter()
            .collect();
    }
    let mut all: Vec<_> = candidates.collect();
    if all.len() > need {
        all.select_nth_unstable_by_key(need - 1, |&(_, stamp)| stamp);
        all.truncate(need);
    }
    all
}

impl<K> Clone for Registry<K> {
    /// Another handle on the same map.
    fn clone(&self) -> Self {
        Registry {
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<K: Hash + Eq> fmt::Debug for Registry<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let max_keys =
            Some(self.shared.max_keys.load(Ordering::Relaxed)).filter(|&n| n != UNBOUNDED);
        f.debug_struct("Registry")
            .field("len", &self.shared.map.len())
            .field("max_keys", &max_keys)
            .field(
                "overflowed",
                &self.shared.overflowed.load(Ordering::Relaxed),
            )
            .finish_non_exhaustive()
    }
}
