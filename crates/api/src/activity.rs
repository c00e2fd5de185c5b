//! What happens around a case: events with their actors (the audit trail), notes, and
//! blocklist entries.

use casework_domain::case::{Actor as DomainActor, EventType, Note as DomainNote, note::AuthorType};
use casework_domain::ports::{BlocklistRecord, RecordedEvent};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::wire::{DataMap, Spelling, Time};

/// A case event.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    /// Public id, `evt_…`.
    pub id: String,
    /// The event's UUID.
    pub uuid: Uuid,
    /// The case's UUID.
    pub case_id: Uuid,
    /// What happened.
    #[serde(rename = "type")]
    #[schema(rename = "type")]
    #[schema(schema_with = crate::wire::spelling::<EventType>)]
    pub event_type: Spelling<EventType>,
    /// Who did it.
    pub actor: Actor,
    /// Field → `{from, to}`; for PII only the field names.
    pub changes: DataMap,
    /// A reason given with the action.
    #[schema(required = true)]
    pub reason: Option<String>,
    /// When.
    pub at: Time,
}

impl From<&RecordedEvent> for Event {
    fn from(recorded: &RecordedEvent) -> Self {
        let event = &recorded.event;
        Self {
            id: recorded.id.public(),
            uuid: recorded.id.uuid(),
            case_id: recorded.case_id.uuid(),
            event_type: event.event_type.into(),
            actor: (&event.actor).into(),
            changes: DataMap(event.changes.iter().map(|(field, change)| (field.clone(), change.clone())).collect()),
            reason: event.reason.clone(),
            at: event.at.into(),
        }
    }
}

/// The actor of an event: `org_user`, `api_key`, `system` or `agent` (a call through `/mcp`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Actor {
    /// `org_user`, `api_key`, `system` or `agent`.
    #[serde(rename = "type")]
    #[schema(rename = "type", pattern = "^(org_user|api_key|system|agent)$")]
    pub actor_type: &'static str,
    /// The user's or key's UUID (an agent's key); null for the system.
    #[schema(required = true)]
    pub id: Option<Uuid>,
    /// Their name at the time (`casework` for the system).
    pub name: String,
}

impl From<&DomainActor> for Actor {
    fn from(actor: &DomainActor) -> Self {
        match actor {
            DomainActor::OrgUser { id, name } => {
                Self { actor_type: "org_user", id: Some(id.uuid()), name: name.clone() }
            }
            DomainActor::ApiKey { id, name } => Self { actor_type: "api_key", id: Some(id.uuid()), name: name.clone() },
            DomainActor::System => Self { actor_type: "system", id: None, name: "casework".to_owned() },
            DomainActor::Agent { id, name } => Self { actor_type: "agent", id: Some(id.uuid()), name: name.clone() },
        }
    }
}

/// A note on a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct Note {
    /// Public id, `note_…`.
    pub id: String,
    /// The note's UUID.
    pub uuid: Uuid,
    /// The case's UUID.
    pub case_id: Uuid,
    /// The author's name at the time.
    pub author_name: String,
    /// `org` when the request had a reviewer, `api` otherwise.
    #[schema(schema_with = crate::wire::spelling::<AuthorType>)]
    pub author_type: Spelling<AuthorType>,
    /// The reviewer's UUID.
    #[schema(required = true)]
    pub author_id: Option<Uuid>,
    /// 1–10 000 characters, trimmed.
    pub content: String,
    /// When.
    pub created_at: Time,
}

impl From<&DomainNote> for Note {
    fn from(note: &DomainNote) -> Self {
        Self {
            id: note.id.public(),
            uuid: note.id.uuid(),
            case_id: note.case_id.uuid(),
            author_name: note.author_name.clone(),
            author_type: note.author_type.into(),
            author_id: note.author_id.map(|id| id.uuid()),
            content: note.content.as_str().to_owned(),
            created_at: note.created_at.into(),
        }
    }
}

/// A blocklist entry (never its hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct BlocklistEntry {
    /// Public id, `blk_…`.
    pub id: String,
    /// The entry's UUID.
    pub uuid: Uuid,
    /// The UUID of the case whose rejection added it.
    pub case_id: Uuid,
    /// When.
    pub created_at: Time,
}

impl From<&BlocklistRecord> for BlocklistEntry {
    fn from(entry: &BlocklistRecord) -> Self {
        Self {
            id: entry.id.public(),
            uuid: entry.id.uuid(),
            case_id: entry.case_id.uuid(),
            created_at: entry.created_at.into(),
        }
    }
}
