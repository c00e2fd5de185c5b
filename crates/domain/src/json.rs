//! The public JSON shapes of the contract (API.md §1 and §5), shared by HTTP responses and webhook
//! payloads so both always say the same thing. Keys are snake_case here; the HTTP edge inflects.
//!
//! Every object carries `id` (public) and `uuid`; every reference to another resource is a UUID.

use serde_json::{Map, Value, json};

use crate::Timestamp;
use crate::case::{Actor, CaseEvent, Note, Recommendation};
use crate::directory::{ApiKey, OrgUser};
use crate::id::{Id, IdKind};
use crate::ports::{BlocklistRecord, RecordedEvent};
use crate::service::CaseView;
use crate::session::{Check, ChecksSummary, Session};

/// RFC 3339 in UTC with exactly six fractional digits and `Z`: `2026-11-25T09:30:00.000000Z`.
pub fn timestamp(at: Timestamp) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

fn optional_timestamp(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |t| Value::String(timestamp(t)))
}

/// A reference to another resource: its UUID, or null.
pub fn reference<K: IdKind>(id: Option<Id<K>>) -> Value {
    id.map_or(Value::Null, |id| Value::String(id.uuid().to_string()))
}

fn identity<K: IdKind>(id: Id<K>) -> Map<String, Value> {
    let mut object = Map::new();
    object.insert("id".into(), Value::String(id.public()));
    object.insert("uuid".into(), Value::String(id.uuid().to_string()));
    object
}

fn with_fields(mut object: Map<String, Value>, fields: Value) -> Value {
    if let Value::Object(fields) = fields {
        object.extend(fields);
    }
    Value::Object(object)
}

fn recommendation(recommendation: &Recommendation) -> Value {
    json!({
        "decision": recommendation.decision.as_str(),
        "reviewer_id": recommendation.reviewer_id.uuid().to_string(),
        "notes": recommendation.notes,
        "rejection_reason": recommendation.rejection_reason,
        "rejection_reason_code": recommendation.rejection_reason_code.map(|c| c.as_str()),
        "add_to_blocklist": recommendation.add_to_blocklist,
        "at": timestamp(recommendation.at),
    })
}

/// The case object (no `session`: see [`case_with_session`]).
pub fn case(view: &CaseView) -> Value {
    let case = &view.case;
    let lease = case.lease.as_ref();
    with_fields(
        identity(case.id),
        json!({
            "session_id": case.session_id.uuid().to_string(),
            "status": case.status.as_str(),
            "decision": case.decision.map(|d| d.as_str()),
            "priority": case.priority.as_str(),
            "assigned_to": reference(case.assigned_to),
            "claimed_at": optional_timestamp(lease.map(|l| l.claimed_at)),
            "claim_expires_at": optional_timestamp(lease.map(|l| l.expires_at)),
            "entered_review_at": timestamp(case.entered_review_at),
            "decided_at": optional_timestamp(case.decided_at),
            "escalated_to": reference(case.escalated_to),
            "escalation_reason": case.escalation_reason,
            "recommendation": case.recommendation.as_ref().map_or(Value::Null, recommendation),
            "rejection_reason": case.rejection_reason,
            "rejection_reason_code": case.rejection_reason_code.map(|c| c.as_str()),
            "tags": case.tags.iter().map(|t| t.as_str()).collect::<Vec<_>>(),
            "metadata": case.metadata.to_value(),
            "custom_fields": case.custom_fields.to_value(),
            "sla": {
                "status": view.sla.status.as_str(),
                "due_at": timestamp(view.sla.due_at),
                "age_seconds": view.sla.age_seconds,
            },
            "is_demo": case.is_demo,
            "version": case.version,
            "created_at": timestamp(case.created_at),
            "updated_at": timestamp(case.updated_at),
        }),
    )
}

/// The case object with its `session` embedded (`GET /cases/{id}`, `next`, `demo`).
pub fn case_with_session(view: &CaseView, session_value: Value) -> Value {
    let mut value = case(view);
    if let Value::Object(object) = &mut value {
        object.insert("session".into(), session_value);
    }
    value
}

/// Which PII a reader may see: `None` hides `extracted_data` entirely (no `verifications:read`);
/// `Some(None)` shows every key; `Some(Some(keys))` only those keys (`api_pii_fields`).
pub type PiiAccess<'a> = Option<Option<&'a [String]>>;

/// One check.
pub fn check(check: &Check) -> Value {
    json!({
        "policy": check.policy,
        "status": check.status.as_str(),
        "score": check.score,
        "details": Value::Object(check.details.clone()),
        "override": check.override_.as_ref().map(|o| json!({
            "passed": o.passed,
            "reason": o.reason,
            "reviewer_id": reference(o.reviewer_id),
            "at": timestamp(o.at),
        })),
    })
}

/// `{total, passed, failed, overridden, pending, outcome}`.
pub fn checks_summary(summary: &ChecksSummary) -> Value {
    json!({
        "total": summary.total,
        "passed": summary.passed,
        "failed": summary.failed,
        "overridden": summary.overridden,
        "pending": summary.pending,
        "outcome": summary.outcome.as_str(),
    })
}

/// The session object; `extracted_data` only as `pii` allows.
pub fn session(session: &Session, pii: PiiAccess<'_>) -> Value {
    let mut value = with_fields(
        identity(session.id),
        json!({
            "external_ref": session.external_ref,
            "metadata": session.metadata.to_value(),
            "status": session.status.as_str(),
            "is_sandbox": session.tenant.environment == crate::tenant::Environment::Sandbox,
            "checks": session.checks.iter().map(check).collect::<Vec<_>>(),
            "checks_summary": checks_summary(&session.checks_summary),
            "sensitive_data_expired": session.sensitive_data_expired,
            "case_id": reference(session.case_id),
            "created_at": timestamp(session.created_at),
            "updated_at": timestamp(session.updated_at),
        }),
    );
    if let (Some(allowed), Value::Object(object)) = (pii, &mut value) {
        object.insert("extracted_data".into(), session.extracted_data.filtered(allowed));
    }
    value
}

/// The actor of an event.
pub fn actor(actor: &Actor) -> Value {
    match actor {
        Actor::OrgUser { id, name } => {
            json!({"type": "org_user", "id": id.uuid().to_string(), "name": name})
        }
        Actor::ApiKey { id, name } => {
            json!({"type": "api_key", "id": id.uuid().to_string(), "name": name})
        }
        Actor::System => json!({"type": "system", "id": null, "name": "casework"}),
    }
}

/// A case event's `changes` object.
pub fn changes(event: &CaseEvent) -> Value {
    Value::Object(event.changes.iter().map(|(field, change)| (field.clone(), change.clone())).collect())
}

/// A recorded case event.
pub fn event(recorded: &RecordedEvent) -> Value {
    with_fields(
        identity(recorded.id),
        json!({
            "case_id": recorded.case_id.uuid().to_string(),
            "type": recorded.event.event_type.as_str(),
            "actor": actor(&recorded.event.actor),
            "changes": changes(&recorded.event),
            "reason": recorded.event.reason,
            "at": timestamp(recorded.event.at),
        }),
    )
}

/// A blocklist entry (never its hash).
pub fn blocklist_entry(entry: &BlocklistRecord) -> Value {
    with_fields(
        identity(entry.id),
        json!({"case_id": entry.case_id.uuid().to_string(), "created_at": timestamp(entry.created_at)}),
    )
}

/// A note.
pub fn note(note: &Note) -> Value {
    with_fields(
        identity(note.id),
        json!({
            "case_id": note.case_id.uuid().to_string(),
            "author_name": note.author_name,
            "author_type": note.author_type.as_str(),
            "author_id": reference(note.author_id),
            "content": note.content.as_str(),
            "created_at": timestamp(note.created_at),
        }),
    )
}

/// An org user.
pub fn org_user(user: &OrgUser) -> Value {
    with_fields(
        identity(user.id),
        json!({
            "name": user.name,
            "email": user.email,
            "role": user.role.as_str(),
            "active": user.active,
            "created_at": timestamp(user.created_at),
        }),
    )
}

/// An API key, never its secret (the caller adds `key` once, at creation).
pub fn api_key(key: &ApiKey) -> Value {
    with_fields(
        identity(key.id),
        json!({
            "name": key.name,
            "scopes": key.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "environment": key.tenant.environment.as_str(),
            "org_user_id": reference(key.org_user_id),
            "expires_at": optional_timestamp(key.expires_at),
            "last_used_at": optional_timestamp(key.last_used_at),
            "created_at": timestamp(key.created_at),
            "revoked_at": optional_timestamp(key.revoked_at),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_six_fractional_digits_and_z() {
        let at = time::macros::datetime!(2026-11-25 09:30:00.5 +02:00);
        assert_eq!(timestamp(at), "2026-11-25T07:30:00.500000Z");
    }
}
