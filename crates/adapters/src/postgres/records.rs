//! Rows as Diesel sees them, and their conversion to and from domain entities. Rows are not
//! entities: enumerations are text here, JSON documents are `serde_json::Value`, and decoding a
//! row can fail (a stored value the domain does not accept is reported, never unwrapped).

use casework_api::webhook::{self, CaseData, Envelope};
use casework_api::wire::format_time;
use casework_domain::Timestamp;
use casework_domain::case::{
    Actor, Case, CaseEvent, CaseStatus, Decision, Lease, Note, Priority, Recommendation, RejectionReasonCode, Tag, Tags,
};
use casework_domain::data::DataMap;
use casework_domain::id::{Id, IdKind};
use casework_domain::ports::{RecordedEvent, StoreError};
use casework_domain::service::CaseView;
use casework_domain::session::{Check, CheckOverride, CheckStatus, ChecksSummary, Session, SessionNotice};
use casework_domain::tenant::{Environment, Tenant};
use diesel::prelude::*;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use super::errors::corrupt;
use super::schema::{case_events, cases, notes, webhook_outbox};

/// Parses a stored enumeration spelling.
pub fn decode<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, StoreError> {
    text.parse().map_err(|_| corrupt(what, format!("`{text}`")))
}

fn id<K: IdKind>(uuid: Uuid) -> Id<K> {
    Id::from_uuid(uuid)
}

fn optional_id<K: IdKind>(uuid: Option<Uuid>) -> Option<Id<K>> {
    uuid.map(Id::from_uuid)
}

/// A stored JSON object as a client data map.
pub fn data_map(what: &str, value: Value) -> Result<DataMap, StoreError> {
    match value {
        Value::Object(map) => DataMap::parse(map).map_err(|v| corrupt(what, v.code())),
        other => Err(corrupt(what, format!("not an object: {other}"))),
    }
}

fn parse_timestamp(what: &str, value: &Value) -> Result<Timestamp, StoreError> {
    let text = value.as_str().ok_or_else(|| corrupt(what, "timestamp is not a string"))?;
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).map_err(|e| corrupt(what, e))
}

fn parse_uuid(what: &str, value: &Value) -> Result<Option<Uuid>, StoreError> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Uuid::parse_str(text).map(Some).map_err(|e| corrupt(what, e)),
        other => Err(corrupt(what, format!("not a UUID: {other}"))),
    }
}

fn optional_string(value: &Value) -> Option<String> {
    value.as_str().map(str::to_owned)
}

/// A `cases` row (every column but the generated `priority_rank`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset, Identifiable)]
#[diesel(table_name = cases, primary_key(org_id, id), check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub(crate) struct CaseRecord {
    pub org_id: Uuid,
    pub environment: String,
    pub id: Uuid,
    pub session_id: Uuid,
    pub status: String,
    pub decision: Option<String>,
    pub priority: String,
    pub assigned_to: Option<Uuid>,
    pub claimed_at: Option<Timestamp>,
    pub claim_expires_at: Option<Timestamp>,
    pub entered_review_at: Timestamp,
    pub decided_at: Option<Timestamp>,
    pub escalated_to: Option<Uuid>,
    pub escalation_reason: Option<String>,
    pub recommendation: Option<Value>,
    pub recommended_by: Option<Uuid>,
    pub rejection_reason: Option<String>,
    pub rejection_reason_code: Option<String>,
    pub tags: Vec<Option<String>>,
    pub metadata: Value,
    pub custom_fields: Value,
    pub is_demo: bool,
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn recommendation_json(recommendation: &Recommendation) -> Value {
    json!({
        "decision": recommendation.decision.as_str(),
        "reviewer_id": recommendation.reviewer_id.uuid(),
        "notes": recommendation.notes,
        "rejection_reason": recommendation.rejection_reason,
        "rejection_reason_code": recommendation.rejection_reason_code.map(|c| c.as_str()),
        "add_to_blocklist": recommendation.add_to_blocklist,
        "at": format_time(recommendation.at),
    })
}

fn parse_recommendation(value: &Value) -> Result<Recommendation, StoreError> {
    const WHAT: &str = "recommendation";
    let reviewer = parse_uuid(WHAT, &value["reviewer_id"])?.ok_or_else(|| corrupt(WHAT, "no reviewer"))?;
    let code = value["rejection_reason_code"].as_str().map(|c| decode::<RejectionReasonCode>(WHAT, c)).transpose()?;
    Ok(Recommendation {
        decision: decode(WHAT, value["decision"].as_str().unwrap_or_default())?,
        reviewer_id: id(reviewer),
        notes: optional_string(&value["notes"]),
        rejection_reason: optional_string(&value["rejection_reason"]),
        rejection_reason_code: code,
        add_to_blocklist: value["add_to_blocklist"].as_bool().unwrap_or(false),
        at: parse_timestamp(WHAT, &value["at"])?,
    })
}

impl CaseRecord {
    /// The row of a case.
    pub fn from_case(case: &Case) -> Self {
        Self {
            org_id: case.tenant.org_id.uuid(),
            environment: case.tenant.environment.as_str().to_owned(),
            id: case.id.uuid(),
            session_id: case.session_id.uuid(),
            status: case.status.as_str().to_owned(),
            decision: case.decision.map(|d| d.as_str().to_owned()),
            priority: case.priority.as_str().to_owned(),
            assigned_to: case.assigned_to.map(|u| u.uuid()),
            claimed_at: case.lease.map(|l| l.claimed_at),
            claim_expires_at: case.lease.map(|l| l.expires_at),
            entered_review_at: case.entered_review_at,
            decided_at: case.decided_at,
            escalated_to: case.escalated_to.map(|u| u.uuid()),
            escalation_reason: case.escalation_reason.clone(),
            recommendation: case.recommendation.as_ref().map(recommendation_json),
            recommended_by: case.recommendation.as_ref().map(|r| r.reviewer_id.uuid()),
            rejection_reason: case.rejection_reason.clone(),
            rejection_reason_code: case.rejection_reason_code.map(|c| c.as_str().to_owned()),
            tags: case.tags.iter().map(|t| Some(t.as_str().to_owned())).collect(),
            metadata: case.metadata.to_value(),
            custom_fields: case.custom_fields.to_value(),
            is_demo: case.is_demo,
            version: i64::try_from(case.version).unwrap_or(i64::MAX),
            created_at: case.created_at,
            updated_at: case.updated_at,
        }
    }

    /// The case of a row.
    ///
    /// # Errors
    /// A stored value the domain does not accept.
    pub fn into_case(self) -> Result<Case, StoreError> {
        let lease = match (self.assigned_to, self.claimed_at, self.claim_expires_at) {
            (Some(holder), Some(claimed_at), Some(expires_at)) => {
                Some(Lease { holder: id(holder), claimed_at, expires_at })
            }
            _ => None,
        };
        let tags = self
            .tags
            .iter()
            .flatten()
            .map(|t| Tag::parse(t).map_err(|v| corrupt("tag", v.code())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Case {
            id: id(self.id),
            tenant: Tenant {
                org_id: id(self.org_id),
                environment: decode::<Environment>("environment", &self.environment)?,
            },
            session_id: id(self.session_id),
            status: decode::<CaseStatus>("case status", &self.status)?,
            decision: self.decision.as_deref().map(|d| decode::<Decision>("decision", d)).transpose()?,
            priority: decode::<Priority>("priority", &self.priority)?,
            assigned_to: optional_id(self.assigned_to),
            lease,
            entered_review_at: self.entered_review_at,
            decided_at: self.decided_at,
            escalated_to: optional_id(self.escalated_to),
            escalation_reason: self.escalation_reason,
            recommendation: self.recommendation.as_ref().map(parse_recommendation).transpose()?,
            rejection_reason: self.rejection_reason,
            rejection_reason_code: self
                .rejection_reason_code
                .as_deref()
                .map(|c| decode::<RejectionReasonCode>("rejection reason code", c))
                .transpose()?,
            tags: Tags::new(tags).map_err(|v| corrupt("tags", v.code()))?,
            metadata: data_map("metadata", self.metadata)?,
            custom_fields: data_map("custom_fields", self.custom_fields)?,
            is_demo: self.is_demo,
            version: u64::try_from(self.version).map_err(|e| corrupt("version", e))?,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A `case_events` row (without its generated `seq`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = case_events, check_for_backend(diesel::pg::Pg))]
pub(crate) struct EventRecord {
    pub org_id: Uuid,
    pub id: Uuid,
    pub environment: String,
    pub case_id: Uuid,
    pub event_type: String,
    pub actor_type: String,
    pub actor_id: Option<Uuid>,
    pub actor_name: String,
    pub changes: Value,
    pub reason: Option<String>,
    pub at: Timestamp,
}

impl EventRecord {
    /// The row of a recorded event.
    pub fn from_event(recorded: &RecordedEvent) -> Self {
        let event = &recorded.event;
        let (actor_type, actor_id, actor_name) = match &event.actor {
            Actor::OrgUser { id, name } => ("org_user", Some(id.uuid()), name.clone()),
            Actor::ApiKey { id, name } => ("api_key", Some(id.uuid()), name.clone()),
            Actor::System => ("system", None, "casework".to_owned()),
            Actor::Agent { id, name } => ("agent", Some(id.uuid()), name.clone()),
        };
        Self {
            org_id: recorded.tenant.org_id.uuid(),
            id: recorded.id.uuid(),
            environment: recorded.tenant.environment.as_str().to_owned(),
            case_id: recorded.case_id.uuid(),
            event_type: event.event_type.as_str().to_owned(),
            actor_type: actor_type.to_owned(),
            actor_id,
            actor_name,
            changes: Value::Object(
                event.changes.iter().map(|(field, change)| (field.clone(), change.clone())).collect(),
            ),
            reason: event.reason.clone(),
            at: event.at,
        }
    }
}

/// A `webhook_outbox` row (without its generated `seq`).
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = webhook_outbox, check_for_backend(diesel::pg::Pg))]
pub(crate) struct OutboxRecord {
    pub org_id: Uuid,
    pub id: Uuid,
    pub environment: String,
    pub event: String,
    pub case_id: Option<Uuid>,
    pub payload: Value,
    pub created_at: Timestamp,
}

impl OutboxRecord {
    /// The webhook event reporting a case event, if its type produces one (WEBHOOKS.md): the
    /// payload is frozen now, so every delivery attempt sends the same bytes.
    pub fn for_case_event(recorded: &RecordedEvent, case: &Case) -> Option<Self> {
        let name = recorded.event.event_type.webhook_event()?;
        let at = recorded.event.at;
        let event_id = recorded.id;
        let is_sandbox = recorded.tenant.environment == Environment::Sandbox;
        let payload = to_json(&webhook::CaseEvent {
            envelope: Envelope::new(event_id, name.clone(), at.into(), is_sandbox),
            data: CaseData { case: (&CaseView::at(case, at)).into() },
        });
        Some(Self {
            org_id: recorded.tenant.org_id.uuid(),
            id: event_id.uuid(),
            environment: recorded.tenant.environment.as_str().to_owned(),
            event: name,
            case_id: Some(recorded.case_id.uuid()),
            payload,
            created_at: at,
        })
    }
}

impl OutboxRecord {
    /// A `session.*` webhook event about `session` as committed at `at`, with the flat fields
    /// Verifa sends beside `data.session` (never its PII).
    pub fn for_session(notice: SessionNotice, session: &Session, at: Timestamp) -> Self {
        let name = notice.event.as_str();
        let payload = to_json(&webhook::SessionEvent::new(notice.id, name, session, at.into()));
        Self {
            org_id: session.tenant.org_id.uuid(),
            id: notice.id.uuid(),
            environment: session.tenant.environment.as_str().to_owned(),
            event: name.to_owned(),
            case_id: session.case_id.map(|id| id.uuid()),
            payload,
            created_at: at,
        }
    }
}

/// A `notes` row (without its generated `seq`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = notes, check_for_backend(diesel::pg::Pg))]
pub(crate) struct NoteRecord {
    pub org_id: Uuid,
    pub id: Uuid,
    pub environment: String,
    pub case_id: Uuid,
    pub author_type: String,
    pub author_name: String,
    pub author_id: Option<Uuid>,
    pub content: String,
    pub created_at: Timestamp,
}

impl NoteRecord {
    /// The note of a row.
    ///
    /// # Errors
    /// A stored value the domain does not accept.
    pub fn into_note(self) -> Result<Note, StoreError> {
        Ok(Note {
            id: id(self.id),
            case_id: id(self.case_id),
            author_name: self.author_name,
            author_type: match self.author_type.as_str() {
                "org" => casework_domain::case::note::AuthorType::Org,
                "api" => casework_domain::case::note::AuthorType::Api,
                other => return Err(corrupt("author type", other)),
            },
            author_id: optional_id(self.author_id),
            content: casework_domain::case::NoteContent::parse(&self.content).map_err(|v| corrupt("note", v.code()))?,
            created_at: self.created_at,
        })
    }

    /// The row of a note of a case in `tenant`.
    pub fn from_note(tenant: Tenant, note: &Note) -> Self {
        Self {
            org_id: tenant.org_id.uuid(),
            id: note.id.uuid(),
            environment: tenant.environment.as_str().to_owned(),
            case_id: note.case_id.uuid(),
            author_type: note.author_type.as_str().to_owned(),
            author_name: note.author_name.clone(),
            author_id: note.author_id.map(|u| u.uuid()),
            content: note.content.as_str().to_owned(),
            created_at: note.created_at,
        }
    }
}

/// Checks as stored: their public JSON shape.
pub fn checks_json(checks: &[Check]) -> Value {
    to_json(&checks.iter().map(casework_api::session::Check::from).collect::<Vec<_>>())
}

/// A checks summary as stored: its public JSON shape.
pub fn summary_json(summary: &ChecksSummary) -> Value {
    to_json(&casework_api::session::ChecksSummary::from(summary))
}

/// A wire value as a JSON document (serializing these types cannot fail: no maps with
/// non-string keys, no failing serializers).
fn to_json(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// Checks from their stored JSON.
///
/// # Errors
/// A stored value the domain does not accept.
pub fn parse_checks(value: &Value) -> Result<Vec<Check>, StoreError> {
    const WHAT: &str = "check";
    let items = value.as_array().ok_or_else(|| corrupt(WHAT, "checks are not an array"))?;
    items
        .iter()
        .map(|item| {
            let override_ = match &item["override"] {
                Value::Null => None,
                o => Some(CheckOverride {
                    passed: o["passed"].as_bool().unwrap_or(false),
                    reason: optional_string(&o["reason"]),
                    reviewer_id: optional_id(parse_uuid(WHAT, &o["reviewer_id"])?),
                    at: parse_timestamp(WHAT, &o["at"])?,
                }),
            };
            Ok(Check {
                policy: item["policy"].as_str().unwrap_or_default().to_owned(),
                status: decode::<CheckStatus>("check status", item["status"].as_str().unwrap_or_default())?,
                score: item["score"].as_f64(),
                details: item["details"].as_object().cloned().unwrap_or_else(Map::new),
                override_,
            })
        })
        .collect()
}

/// A checks summary from its stored JSON.
///
/// # Errors
/// A stored value the domain does not accept.
pub fn parse_checks_summary(value: &Value) -> Result<ChecksSummary, StoreError> {
    let count = |key: &str| u32::try_from(value[key].as_u64().unwrap_or(0)).unwrap_or(u32::MAX);
    Ok(ChecksSummary {
        total: count("total"),
        passed: count("passed"),
        failed: count("failed"),
        overridden: count("overridden"),
        pending: count("pending"),
        outcome: decode("outcome", value["outcome"].as_str().unwrap_or_default())?,
    })
}

/// The event of a row.
///
/// # Errors
/// A stored value the domain does not accept.
pub fn parse_event(record: &EventRecord) -> Result<CaseEvent, StoreError> {
    let actor = match (record.actor_type.as_str(), record.actor_id) {
        ("org_user", Some(uuid)) => Actor::OrgUser { id: id(uuid), name: record.actor_name.clone() },
        ("api_key", Some(uuid)) => Actor::ApiKey { id: id(uuid), name: record.actor_name.clone() },
        ("system", None) => Actor::System,
        ("agent", Some(uuid)) => Actor::Agent { id: id(uuid), name: record.actor_name.clone() },
        (other, _) => return Err(corrupt("actor", other)),
    };
    let mut event =
        CaseEvent::new(decode("event type", &record.event_type)?, actor, record.at).with_reason(record.reason.clone());
    if let Value::Object(changes) = &record.changes {
        for (field, change) in changes {
            event.changes.insert(field.clone(), change.clone());
        }
    }
    Ok(event)
}
