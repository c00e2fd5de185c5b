//! Webhooks (WEBHOOKS.md): the endpoints an integration registers, the events it may subscribe
//! to, and the delivery schedule — when a failed attempt is tried again, when a delivery has
//! failed for good, and when an endpoint's circuit breaker opens. Sending is an adapter's job;
//! what to do with its outcome is decided here.

use time::Duration;

use crate::Timestamp;
use crate::id::{DeliveryId, EndpointId, EventId};
use crate::tenant::Tenant;
use crate::validation::{FieldErrors, Violation, check_length};

/// Every event an endpoint may subscribe to (WEBHOOKS.md, Events).
pub const EVENT_NAMES: &[&str] = &[
    "case.created",
    "case.claimed",
    "case.released",
    "case.claim_expired",
    "case.assigned",
    "case.escalated",
    "case.recommended",
    "case.approved",
    "case.rejected",
    "case.updated",
    "case.note_added",
    "case.pii_updated",
    "case.check_overridden",
    "session.created",
    "session.link_generated",
    "session.requires-review",
    "session.approved",
    "session.declined",
    "session.expired",
    "case.agent_recommended",
    "webhook.test",
];

/// The API version endpoints are pinned to (CONVENTIONS.md, Versioning).
pub const API_VERSION: &str = "2026-01-01";

/// The endpoint's circuit breaker opens after this many consecutive failed deliveries.
pub const BREAKER_THRESHOLD: i32 = 10;

/// How long the previous secret keeps signing after a rotation.
pub const ROTATION_OVERLAP: Duration = Duration::hours(24);

/// `recover` reaches at most this far back.
pub const RECOVER_WINDOW: Duration = Duration::days(7);

/// `recover` queues at most this many events.
pub const RECOVER_LIMIT: u32 = 10_000;

/// The delay before each retry: about 30 s, 2 min, 8 min, 32 min, 2 h (5 retries).
const RETRY_DELAYS: [Duration; 5] =
    [Duration::seconds(30), Duration::minutes(2), Duration::minutes(8), Duration::minutes(32), Duration::hours(2)];

string_enum! {
    /// How the keys of a payload are spelled (the endpoint's `key_inflection`).
    KeyInflection {
        /// `session_id` (the default).
        Snake = "snake",
        /// `sessionId`.
        Camel = "camel",
        /// `session-id`.
        Kebab = "kebab",
    }
}

string_enum! {
    /// Where a delivery stands.
    DeliveryState {
        /// Not delivered yet; attempts remain.
        Pending = "pending",
        /// A 2xx answered.
        Succeeded = "succeeded",
        /// Every attempt failed.
        Failed = "failed",
    }
}

/// A registered endpoint (its secret lives only in the adapter that signs).
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// `whe_…`.
    pub id: EndpointId,
    /// Its organization and environment.
    pub tenant: Tenant,
    /// Where deliveries go.
    pub url: String,
    /// Off when disabled by PATCH, by a 410, or by the circuit breaker.
    pub enabled: bool,
    /// Subscribed event names; empty means all.
    pub enabled_events: Vec<String>,
    /// A short name.
    pub label: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// How payload keys are spelled.
    pub key_inflection: KeyInflection,
    /// The API version of its payloads.
    pub api_version: String,
    /// Why it was disabled by the service (`gone`, `too_many_failures`), if it was.
    pub disabled_reason: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// The checked fields of a new endpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct EndpointDraft {
    /// Where deliveries go.
    pub url: String,
    /// Subscribed events (empty: all).
    pub enabled_events: Vec<String>,
    /// A short name.
    pub label: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// Payload key spelling.
    pub key_inflection: KeyInflection,
}

/// A PATCH of an endpoint: only the fields given change.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EndpointPatch {
    /// A new URL.
    pub url: Option<String>,
    /// A new subscription.
    pub enabled_events: Option<Vec<String>>,
    /// Enable (clears `disabled_reason` and the failure count) or disable.
    pub enabled: Option<bool>,
    /// A new label (`Some(None)` clears it).
    pub label: Option<Option<String>>,
    /// A new description (`Some(None)` clears it).
    pub description: Option<Option<String>>,
    /// A new key spelling.
    pub key_inflection: Option<KeyInflection>,
}

/// What the server's configuration allows as a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    /// `http://` is accepted for live endpoints too (a development server).
    pub allow_plain_http_in_live: bool,
}

/// Why a URL is refused (the message names the rule).
pub fn check_url(url: &str, live: bool, policy: TargetPolicy) -> Result<(), &'static str> {
    if url.len() > 2048 {
        return Err("the URL is longer than 2048 characters");
    }
    let (scheme, rest) = url.split_once("://").ok_or("the URL must be absolute (https://…)")?;
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if !live || policy.allow_plain_http_in_live => {}
        "http" => return Err("a live endpoint must use https"),
        _ => return Err("the URL must use https (or http in sandbox)"),
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') || authority.chars().any(char::is_whitespace) {
        return Err("the URL must name a host, without credentials");
    }
    Ok(())
}

/// Checks a list of event names; each unknown one is `invalid_value` at `field[i]`.
pub fn check_events(names: &[String], field: &str, errors: &mut FieldErrors) {
    for (index, name) in names.iter().enumerate() {
        if name != "*" && !EVENT_NAMES.contains(&name.as_str()) {
            errors.push(format!("{field}[{index}]"), Violation::InvalidValue, format!("unknown event `{name}`"));
        }
    }
}

/// The subscription as stored: `"*"` (or nothing) means every event, kept as an empty list.
pub fn normalize_events(names: Vec<String>) -> Vec<String> {
    if names.iter().any(|name| name == "*") {
        return Vec::new();
    }
    let mut names = names;
    names.sort();
    names.dedup();
    names
}

/// Checks an optional free-text field of at most `max` characters.
pub fn check_text(value: Option<&str>, max: usize, field: &str, errors: &mut FieldErrors) {
    if let Some(value) = value
        && let Err(violation) = check_length(value, 1, max)
    {
        errors.push(field, violation, format!("must be 1–{max} characters"));
    }
}

/// One delivery, as its log lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// `whd_…`.
    pub id: DeliveryId,
    /// The endpoint.
    pub endpoint_id: EndpointId,
    /// The event's name.
    pub event: String,
    /// The event's id (also the payload's `id`).
    pub event_id: EventId,
    /// Where it stands.
    pub state: DeliveryState,
    /// Attempts made.
    pub attempts: u32,
    /// The last HTTP status, if a response came.
    pub last_status_code: Option<u16>,
    /// The last failure, in words.
    pub last_error: Option<String>,
    /// When it is tried next (pending only).
    pub next_attempt_at: Option<Timestamp>,
    /// When it was queued.
    pub created_at: Timestamp,
    /// When a 2xx answered.
    pub delivered_at: Option<Timestamp>,
}

/// What one attempt got back.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptOutcome {
    /// A 2xx.
    Delivered {
        /// The status.
        status: u16,
    },
    /// Anything else: another status, a timeout, a refused connection, a refused target.
    Failed {
        /// The status, when a response came.
        status: Option<u16>,
        /// What went wrong, in words (never a response body).
        error: String,
        /// A `Retry-After` on 429 or 503, if any.
        retry_after: Option<Duration>,
    },
}

/// What becomes of a delivery after an attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptResult {
    /// The delivery's new state.
    pub state: DeliveryState,
    /// Its next attempt, when it stays pending.
    pub next_attempt_at: Option<Timestamp>,
    /// The endpoint is disabled now, and why (`gone`).
    pub disable: Option<&'static str>,
}

impl AttemptOutcome {
    /// The status the delivery log shows.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Delivered { status } => Some(*status),
            Self::Failed { status, .. } => *status,
        }
    }

    /// Decides what follows attempt number `attempt` (1 for the first) made at `now`; `jitter`
    /// in [-1, 1] spreads retries by up to ±10 %.
    pub fn result(&self, attempt: u32, now: Timestamp, jitter: f64) -> AttemptResult {
        let Self::Failed { status, retry_after, .. } = self else {
            return AttemptResult { state: DeliveryState::Succeeded, next_attempt_at: None, disable: None };
        };
        let disable = (*status == Some(410)).then_some("gone");
        let Some(delay) = retry_delay(attempt, jitter) else {
            return AttemptResult { state: DeliveryState::Failed, next_attempt_at: None, disable };
        };
        let delay = match retry_after {
            Some(asked) if matches!(status, Some(429 | 503)) => (*asked).clamp(delay, delay * 2),
            _ => delay,
        };
        AttemptResult { state: DeliveryState::Pending, next_attempt_at: Some(now + delay), disable }
    }
}

/// The delay after failed attempt `attempt` (1-based), jittered by `jitter` × 10 %; `None` when
/// it was the last.
pub fn retry_delay(attempt: u32, jitter: f64) -> Option<Duration> {
    let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
    let base = *RETRY_DELAYS.get(index)?;
    Some(base * (1.0 + jitter.clamp(-1.0, 1.0) * 0.1))
}

/// Attempts a delivery gets in all: the first and its retries.
pub const MAX_ATTEMPTS: u32 = 1 + RETRY_DELAYS.len() as u32;

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(status: Option<u16>, retry_after: Option<Duration>) -> AttemptOutcome {
        AttemptOutcome::Failed { status, error: "x".into(), retry_after }
    }

    #[test]
    fn retries_follow_the_schedule_then_fail() {
        let now = time::macros::datetime!(2026-12-01 00:00 UTC);
        let delays: Vec<Option<Timestamp>> =
            (1..=MAX_ATTEMPTS).map(|n| failed(Some(500), None).result(n, now, 0.0).next_attempt_at).collect();
        assert_eq!(
            delays,
            vec![
                Some(now + Duration::seconds(30)),
                Some(now + Duration::minutes(2)),
                Some(now + Duration::minutes(8)),
                Some(now + Duration::minutes(32)),
                Some(now + Duration::hours(2)),
                None,
            ]
        );
        assert_eq!(failed(None, None).result(MAX_ATTEMPTS, now, 0.0).state, DeliveryState::Failed);
        assert_eq!(AttemptOutcome::Delivered { status: 204 }.result(1, now, 0.0).state, DeliveryState::Succeeded);
    }

    #[test]
    fn jitter_stays_within_ten_percent() {
        assert_eq!(retry_delay(1, 1.0), Some(Duration::seconds(33)));
        assert_eq!(retry_delay(1, -5.0), Some(Duration::seconds(27)));
    }

    #[test]
    fn retry_after_is_clamped_to_the_schedule_and_twice_it() {
        let now = time::macros::datetime!(2026-12-01 00:00 UTC);
        let at = |status, asked| failed(Some(status), Some(asked)).result(1, now, 0.0).next_attempt_at;
        assert_eq!(at(429, Duration::seconds(45)), Some(now + Duration::seconds(45)));
        assert_eq!(at(503, Duration::hours(1)), Some(now + Duration::seconds(60)));
        assert_eq!(at(429, Duration::seconds(1)), Some(now + Duration::seconds(30)));
        assert_eq!(at(500, Duration::hours(1)), Some(now + Duration::seconds(30)), "only on 429 and 503");
    }

    #[test]
    fn gone_disables_the_endpoint_and_keeps_the_delivery() {
        let now = time::macros::datetime!(2026-12-01 00:00 UTC);
        let result = failed(Some(410), None).result(1, now, 0.0);
        assert_eq!(result.disable, Some("gone"));
        assert_eq!(result.state, DeliveryState::Pending);
    }

    #[test]
    fn urls_follow_the_environment() {
        let strict = TargetPolicy { allow_plain_http_in_live: false };
        assert!(check_url("https://hooks.example.com/x", true, strict).is_ok());
        assert!(check_url("http://hooks.example.com/x", true, strict).is_err());
        assert!(check_url("http://hooks.example.com/x", false, strict).is_ok());
        assert!(check_url("ftp://x", false, strict).is_err());
        assert!(check_url("https://user:pw@x.example/", true, strict).is_err());
        assert!(check_url("hooks.example.com", true, strict).is_err());
    }

    #[test]
    fn unknown_events_are_named_by_index_and_star_means_all() {
        let mut errors = FieldErrors::default();
        check_events(&["case.approved".into(), "*".into(), "case.nope".into()], "enabled_events", &mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["enabled_events[2]"]);
        assert!(normalize_events(vec!["case.approved".into(), "*".into()]).is_empty());
    }
}
