//! Webhook payloads (WEBHOOKS.md): rendered inside the transaction that commits their event, so
//! every delivery attempt sends the same bytes. They never carry PII.

use casework_domain::id::EventId;
use casework_domain::session::SessionStatus;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::case::Case;
use crate::wire::{Spelling, Time};

/// The envelope every event shares.
#[derive(Debug, Serialize, ToSchema)]
pub struct Envelope {
    /// The event's id (`evt_…`); a `case.*` event reuses its case event's.
    pub id: String,
    /// `case.approved`, `session.declined`, …
    pub event: String,
    /// When it happened.
    pub created_at: Time,
    /// The same on every attempt: `idk_…`.
    pub idempotency_key: String,
    /// From the environment.
    pub is_sandbox: bool,
}

impl Envelope {
    /// The envelope of event `id` named `event`.
    pub fn new(id: EventId, event: String, at: Time, is_sandbox: bool) -> Self {
        let public = id.public();
        let idempotency_key = format!("idk_{}", public.strip_prefix("evt_").unwrap_or(&public));
        Self { id: public, event, created_at: at, idempotency_key, is_sandbox }
    }
}

/// `{case}`: the case as of the event, without PII (a case carries none).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseData {
    /// The case.
    pub case: Case,
}

/// A `case.*` event.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseEvent {
    /// `id`, `event`, `created_at`, `idempotency_key`, `is_sandbox`.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The case.
    pub data: CaseData,
}

/// A `session.*` event of a final decision, with the flat fields Verifa sends.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionEvent {
    /// `id`, `event`, `created_at`, `idempotency_key`, `is_sandbox`.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// The session's UUID.
    pub session_id: Uuid,
    /// The integrator's reference.
    #[schema(required = true)]
    pub external_ref: Option<String>,
    /// The session's new status.
    #[schema(schema_with = crate::wire::spelling::<SessionStatus>)]
    pub status: Spelling<SessionStatus>,
    /// The decided case.
    pub data: CaseData,
}
