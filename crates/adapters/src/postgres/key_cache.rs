//! Authenticated API keys, remembered for half a second: what every request needs first, without
//! a round trip to PostgreSQL each time.
//!
//! The guarantees stay: a revoked key and a deactivated or renamed bound user take effect on this
//! instance at once (the store's writes that change them call `PgStore::forget_keys`, again
//! after their unit commits), a key's own
//! expiry is checked on every hit, and every other instance follows within half a second —
//! inside the 1 s the contract allows. Entries are found by the SHA-256 of the presented secret
//! (already a digest: the secret itself is never kept).

use casework_domain::Timestamp;
use casework_domain::directory::Principal;

use super::PgStore;
use super::recent::Recent;

/// What authentication found for one secret.
#[derive(Debug, Clone)]
pub(super) struct Authenticated {
    /// Who the request acts as.
    pub principal: Principal,
    /// When the key expires, if it does.
    pub expires_at: Option<Timestamp>,
}

/// How long an entry is trusted.
const LIFETIME: std::time::Duration = std::time::Duration::from_millis(500);

/// The cache (one per process), by the SHA-256 of the secret.
#[derive(Debug)]
pub(super) struct KeyCache(Recent<[u8; 32], Authenticated>);

impl Default for KeyCache {
    fn default() -> Self {
        Self(Recent::new(LIFETIME))
    }
}

impl KeyCache {
    /// The fresh entry for the secret of `digest`, unless its key has expired by `now`.
    pub(super) fn get(&self, digest: &[u8; 32], now: Timestamp) -> Option<Authenticated> {
        self.0.get(digest).filter(|found| found.expires_at.is_none_or(|at| now < at))
    }

    /// The generation to hand back to [`KeyCache::put`] (read before looking the key up).
    pub(super) fn generation(&self) -> u64 {
        self.0.generation()
    }

    /// Remembers what authentication found for the secret of `digest`, unless a clear happened
    /// since `generation` was read.
    pub(super) fn put(&self, digest: [u8; 32], found: Authenticated, generation: u64) {
        self.0.put(digest, found, generation);
    }

    /// Forgets everything: a key or a user changed.
    pub(super) fn clear(&self) {
        self.0.forget(|_| true);
    }
}

impl PgStore {
    /// Forgets every remembered key on this instance: a key or a user changed (again once the
    /// change's unit commits).
    pub(super) fn forget_keys(&self) {
        let keys = std::sync::Arc::clone(&self.keys);
        self.after_commit(move || keys.clear());
    }
}
