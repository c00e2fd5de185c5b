//! Authenticated API keys, remembered for half a second: what every request needs first, without
//! a round trip to PostgreSQL each time.
//!
//! The guarantees stay: a revoked key and a deactivated or renamed bound user take effect on this
//! instance at once (the store's writes that change them call [`KeyCache::clear`]), a key's own
//! expiry is checked on every hit, and every other instance follows within [`KeyCache::TTL`] —
//! inside the 1 s the contract allows. Entries are found by the SHA-256 of the presented secret
//! (already a digest: the secret itself is never kept).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use casework_domain::Timestamp;
use casework_domain::directory::Principal;

/// What authentication found for one secret.
#[derive(Debug, Clone)]
pub(super) struct Authenticated {
    /// Who the request acts as.
    pub principal: Principal,
    /// When the key expires, if it does.
    pub expires_at: Option<Timestamp>,
}

struct Entry {
    found: Authenticated,
    at: Instant,
}

/// The cache (one per process).
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<[u8; 32], Entry>>,
    /// Bumped by every [`KeyCache::clear`]: a lookup that started before a clear must not store
    /// what it read (it may predate the change).
    generation: AtomicU64,
}

impl std::fmt::Debug for KeyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyCache").finish_non_exhaustive()
    }
}

/// Entries beyond this many are dropped wholesale (a flood of distinct secrets cannot grow the
/// process).
const CAPACITY: usize = 10_000;

impl KeyCache {
    /// How long an entry is trusted.
    pub const TTL: Duration = Duration::from_millis(500);

    /// The fresh entry for the secret of `digest`, unless its key has expired by `now`.
    pub(super) fn get(&self, digest: &[u8; 32], now: Timestamp) -> Option<Authenticated> {
        let entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = entries.get(digest)?;
        let fresh = entry.at.elapsed() < Self::TTL && entry.found.expires_at.is_none_or(|at| now < at);
        fresh.then(|| entry.found.clone())
    }

    /// The generation to hand back to [`KeyCache::put`] (read before looking the key up).
    pub(super) fn generation(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    /// Remembers what authentication found for the secret of `digest`, unless a clear happened
    /// since `generation` was read.
    pub(super) fn put(&self, digest: [u8; 32], found: Authenticated, generation: u64) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.generation.load(Ordering::SeqCst) != generation {
            return;
        }
        if entries.len() >= CAPACITY {
            entries.retain(|_, entry| entry.at.elapsed() < Self::TTL);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(digest, Entry { found, at: Instant::now() });
    }

    /// Forgets everything: a key or a user changed.
    pub(super) fn clear(&self) {
        let mut entries = self.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        self.generation.fetch_add(1, Ordering::SeqCst);
        entries.clear();
    }
}
