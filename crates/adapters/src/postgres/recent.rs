//! Values remembered for a short while, by key: what the store reads on nearly every request
//! (settings, authenticated keys, tab counts) and may serve from memory within the contract's
//! bounds. An entry is trusted for the cache's lifetime; [`Recent::forget`] drops entries at
//! once, and a value read before a forget is not stored after it (the caller hands back the
//! [`Recent::generation`] it saw before reading). Nothing read inside a unit is stored: the unit
//! may be reading its own uncommitted change.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Entries beyond this many are pruned (then dropped wholesale if still too many), so a flood
/// of distinct keys cannot grow the process.
const CAPACITY: usize = 10_000;

/// The cache.
pub(super) struct Recent<K, V> {
    entries: Mutex<HashMap<K, (Instant, V)>>,
    /// Bumped by every forget.
    generation: AtomicU64,
    lifetime: Duration,
}

impl<K, V> std::fmt::Debug for Recent<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recent").field("lifetime", &self.lifetime).finish_non_exhaustive()
    }
}

impl<K: Eq + Hash, V: Clone> Recent<K, V> {
    /// An empty cache whose entries are trusted for `lifetime`.
    pub(super) fn new(lifetime: Duration) -> Self {
        Self { entries: Mutex::new(HashMap::new()), generation: AtomicU64::new(0), lifetime }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// What to hand back to [`Recent::put`]: read it before reading the value.
    pub(super) fn generation(&self) -> u64 {
        AtomicU64::load(&self.generation, Ordering::SeqCst)
    }

    /// The value of `key`, if stored less than the lifetime ago.
    pub(super) fn get(&self, key: &K) -> Option<V> {
        self.entries().get(key).filter(|(at, _)| at.elapsed() < self.lifetime).map(|(_, value)| value.clone())
    }

    /// Stores `value` for `key`, unless something was forgotten since `generation` was read or
    /// the value was read inside a unit.
    pub(super) fn put(&self, key: K, value: V, generation: u64) {
        if super::unit::running() {
            return;
        }
        let mut entries = self.entries();
        if self.generation() != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.retain(|_, (at, _)| at.elapsed() < self.lifetime);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (Instant::now(), value));
    }

    /// Drops every entry whose key `drop` selects.
    pub(super) fn forget(&self, drop: impl Fn(&K) -> bool) {
        let mut entries = self.entries();
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.retain(|key, _| !drop(key));
    }
}
