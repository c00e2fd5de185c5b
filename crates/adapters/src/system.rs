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

/// The system clock moved by an offset that can be shifted at run time: what the server uses,
/// so tests (and a sandbox clock control) move one time that every rule and every SQL
/// comparison sees. The offset is zero unless something shifts it.
#[derive(Debug, Clone, Default)]
pub struct ShiftableClock {
    offset_micros: std::sync::Arc<std::sync::atomic::AtomicI64>,
}

impl ShiftableClock {
    /// Moves this clock (and every clone of it) forward by `by`.
    pub fn shift(&self, by: time::Duration) {
        let micros = i64::try_from(by.whole_microseconds()).unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(micros, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ShiftableClock {
    fn now(&self) -> Timestamp {
        let offset = self.offset_micros.load(std::sync::atomic::Ordering::SeqCst);
        SystemClock.now() + time::Duration::microseconds(offset)
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
