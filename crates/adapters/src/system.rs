//! The production [`Clock`] and [`IdGenerator`].

use casework_domain::Timestamp;
use casework_domain::id::{Id, IdKind};
use casework_domain::ports::{Clock, IdGenerator};

/// The system clock, truncated to microseconds (what PostgreSQL stores), so a value read back
/// equals the value written.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let now = time::OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1000 * 1000).unwrap_or(now)
    }
}

/// UUIDv7 ids: random, yet time-ordered, so new rows land at the right edge of their indexes.
#[derive(Debug, Clone, Copy, Default)]
pub struct UuidV7Ids;

impl IdGenerator for UuidV7Ids {
    fn generate<K: IdKind>(&self) -> Id<K> {
        Id::from_uuid(uuid::Uuid::now_v7())
    }
}
