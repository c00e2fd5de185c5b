//! In-process adapters: the default rate limiter (exact for one instance), and [`store`], a
//! complete in-memory implementation of the repository ports for service tests.

mod search;
pub mod store;

use std::collections::HashMap;
use std::sync::Mutex;

use casework_domain::Timestamp;
use casework_domain::id::ApiKeyId;
use casework_domain::ports::{RateDecision, RateLimiter, StoreError};
use casework_domain::tenant::Tenant;

/// Fixed one-minute windows per key, in this process's memory.
#[derive(Debug, Default)]
pub struct MemoryRateLimiter {
    windows: Mutex<HashMap<ApiKeyId, (i64, u32)>>,
}

impl RateLimiter for MemoryRateLimiter {
    async fn acquire(
        &self,
        _tenant: Tenant,
        key: ApiKeyId,
        limit: u32,
        now: Timestamp,
    ) -> Result<RateDecision, StoreError> {
        let (start, reset_at) = RateDecision::window(now);
        let mut windows =
            self.windows.lock().map_err(|_| StoreError::Unknown(anyhow::anyhow!("rate limiter poisoned")))?;
        // Forget other keys' past windows now and then, so the map stays small.
        if windows.len() > 10_000 {
            windows.retain(|_, (window, _)| *window == start);
        }
        let entry = windows.entry(key).or_insert((start, 0));
        if entry.0 != start {
            *entry = (start, 0);
        }
        let allowed = entry.1 < limit;
        if allowed {
            entry.1 += 1;
        }
        Ok(RateDecision { allowed, limit, remaining: limit.saturating_sub(entry.1), reset_at })
    }
}

#[cfg(test)]
mod tests {
    use casework_domain::id::Id;
    use casework_domain::tenant::Environment;

    use super::*;

    #[tokio::test]
    async fn a_window_admits_the_limit_then_refuses_without_counting() {
        let limiter = MemoryRateLimiter::default();
        let tenant = Tenant { org_id: Id::from_uuid(uuid::Uuid::nil()), environment: Environment::Live };
        let key = Id::from_uuid(uuid::Uuid::max());
        let now = time::macros::datetime!(2026-11-25 09:30:10 UTC);
        for expected_remaining in [2, 1, 0] {
            let decision = limiter.acquire(tenant, key, 3, now).await.unwrap();
            assert!(decision.allowed);
            assert_eq!(decision.remaining, expected_remaining);
            assert_eq!(decision.reset_at, time::macros::datetime!(2026-11-25 09:31:00 UTC).unix_timestamp());
        }
        assert!(!limiter.acquire(tenant, key, 3, now).await.unwrap().allowed);
        // A raised limit applies at once: remaining is the new limit minus the accepted.
        let raised = limiter.acquire(tenant, key, 5, now).await.unwrap();
        assert_eq!((raised.allowed, raised.remaining), (true, 1));
        let next_minute = limiter.acquire(tenant, key, 3, now + time::Duration::minutes(1)).await.unwrap();
        assert_eq!((next_minute.allowed, next_minute.remaining), (true, 2));
    }
}
