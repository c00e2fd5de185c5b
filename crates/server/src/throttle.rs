//! Logging one cause once per interval: during an outage every request and every worker tick
//! fails for the same reason, and one line with a count says as much as thousands.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long repeats of one cause stay quiet after it is logged.
const INTERVAL: Duration = Duration::from_secs(10);

/// When each cause was last logged, and how many repeats went unlogged since.
static LAST: OnceLock<Mutex<HashMap<String, (Instant, u64)>>> = OnceLock::new();

/// Whether a failure of `cause` should be logged now, and how many repeats were suppressed since
/// it last was: `None` while it stays quiet.
pub fn due(cause: &str) -> Option<u64> {
    let now = Instant::now();
    let mut last = LAST.get_or_init(|| Mutex::new(HashMap::new())).lock().ok()?;
    match last.get_mut(cause) {
        Some((at, suppressed)) if now.duration_since(*at) < INTERVAL => {
            *suppressed += 1;
            None
        }
        Some((at, suppressed)) => {
            let count = *suppressed;
            *at = now;
            *suppressed = 0;
            Some(count)
        }
        None => {
            last.insert(cause.to_owned(), (now, 0));
            Some(0)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_cause_is_logged_once_per_interval() {
        let cause = format!("test cause {}", uuid::Uuid::new_v4());
        assert_eq!(super::due(&cause), Some(0));
        assert_eq!(super::due(&cause), None);
        assert_eq!(super::due(&cause), None);
        assert_eq!(super::due("another cause entirely"), Some(0));
    }
}
