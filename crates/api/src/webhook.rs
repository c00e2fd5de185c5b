//! Webhooks (WEBHOOKS.md): the endpoint object, the delivery log, and the payloads — rendered
//! inside the transaction that commits their event, so every attempt sends the same bytes.
//! Payloads never carry PII.

use casework_domain::id::EventId;
use casework_domain::session::{Session as DomainSession, SessionStatus};
use casework_domain::tenant::Environment;
use casework_domain::webhook::{Delivery as DomainDelivery, DeliveryState, Endpoint as DomainEndpoint, KeyInflection};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::case::Case;
use crate::session::Session;
use crate::wire::{Spelling, Time};

/// A webhook endpoint.
#[derive(Debug, Serialize, ToSchema)]
pub struct Endpoint {
    /// Public id, `whe_…`.
    pub id: String,
    /// The endpoint's UUID.
    pub uuid: Uuid,
    /// Where deliveries go.
    pub url: String,
    /// Off when disabled by PATCH, by a 410, or by the circuit breaker.
    pub enabled: bool,
    /// Subscribed event names; empty: every event.
    pub enabled_events: Vec<String>,
    /// `live` or `sandbox`.
    #[schema(schema_with = crate::wire::spelling::<Environment>)]
    pub environment: Spelling<Environment>,
    /// A short name.
    #[schema(required = true)]
    pub label: Option<String>,
    /// Free text.
    #[schema(required = true)]
    pub description: Option<String>,
    /// How payload keys are spelled.
    #[schema(schema_with = crate::wire::spelling::<KeyInflection>)]
    pub key_inflection: Spelling<KeyInflection>,
    /// The API version of its payloads.
    pub api_version: String,
    /// Why the service disabled it (`gone`, `too_many_failures`).
    #[schema(required = true)]
    pub disabled_reason: Option<String>,
    /// Creation time.
    pub created_at: Time,
    /// Last change.
    pub updated_at: Time,
}

impl From<&DomainEndpoint> for Endpoint {
    fn from(endpoint: &DomainEndpoint) -> Self {
        Self {
            id: endpoint.id.public(),
            uuid: endpoint.id.uuid(),
            url: endpoint.url.clone(),
            enabled: endpoint.enabled,
            enabled_events: endpoint.enabled_events.clone(),
            environment: endpoint.tenant.environment.into(),
            label: endpoint.label.clone(),
            description: endpoint.description.clone(),
            key_inflection: endpoint.key_inflection.into(),
            api_version: endpoint.api_version.clone(),
            disabled_reason: endpoint.disabled_reason.clone(),
            created_at: endpoint.created_at.into(),
            updated_at: endpoint.updated_at.into(),
        }
    }
}

/// An endpoint with its signing secret: only on create and rotate.
#[derive(Debug, Serialize, ToSchema)]
pub struct EndpointWithSecret {
    /// The endpoint's fields.
    #[serde(flatten)]
    pub endpoint: Endpoint,
    /// `whsec_` + base64 of 32 random bytes.
    pub secret: String,
}

/// One event to one endpoint, as the delivery log lists it.
#[derive(Debug, Serialize, ToSchema)]
pub struct Delivery {
    /// Public id, `whd_…` (the `X-Verifa-Delivery-Id` and `webhook-id` headers).
    pub id: String,
    /// The delivery's UUID.
    pub uuid: Uuid,
    /// The event's name.
    pub event: String,
    /// The event's UUID (its payload's `id` is the public form).
    pub event_id: Uuid,
    /// `pending`, `succeeded` or `failed`.
    #[schema(schema_with = crate::wire::spelling::<DeliveryState>)]
    pub state: Spelling<DeliveryState>,
    /// Attempts made.
    pub attempts: u32,
    /// The last HTTP status, if a response came.
    #[schema(required = true)]
    pub last_status_code: Option<u16>,
    /// The last failure, in words.
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// The next attempt (pending only).
    #[schema(required = true)]
    pub next_attempt_at: Option<Time>,
    /// When it was queued.
    pub created_at: Time,
    /// When a 2xx answered.
    #[schema(required = true)]
    pub delivered_at: Option<Time>,
}

impl From<&DomainDelivery> for Delivery {
    fn from(delivery: &DomainDelivery) -> Self {
        Self {
            id: delivery.id.public(),
            uuid: delivery.id.uuid(),
            event: delivery.event.clone(),
            event_id: delivery.event_id.uuid(),
            state: delivery.state.into(),
            attempts: delivery.attempts,
            last_status_code: delivery.last_status_code,
            last_error: delivery.last_error.clone(),
            next_attempt_at: delivery.next_attempt_at.map(Time),
            created_at: delivery.created_at.into(),
            delivered_at: delivery.delivered_at.map(Time),
        }
    }
}

/// `recover`: how many deliveries were queued.
#[derive(Debug, Serialize, ToSchema)]
pub struct Recovered {
    /// New deliveries, one per event of the window.
    pub queued: u32,
}

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

/// `{session}`: the session without `extracted_data`.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionData {
    /// The session, never its PII.
    pub session: Session,
}

/// A `session.*` event, with the flat fields Verifa sends beside `data.session`.
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
    /// The session's status.
    #[schema(schema_with = crate::wire::spelling::<SessionStatus>)]
    pub status: Spelling<SessionStatus>,
    /// The session.
    pub data: SessionData,
}

impl SessionEvent {
    /// Event `id` named `event` about `session` as committed at `at`.
    pub fn new(id: EventId, event: &str, session: &DomainSession, at: Time) -> Self {
        let is_sandbox = session.tenant.environment == Environment::Sandbox;
        Self {
            envelope: Envelope::new(id, event.to_owned(), at, is_sandbox),
            session_id: session.id.uuid(),
            external_ref: session.external_ref.clone(),
            status: session.status.into(),
            data: SessionData { session: Session::new(session, None) },
        }
    }
}

/// `{endpoint_id}`: the endpoint a test was sent to.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestData {
    /// The endpoint's UUID.
    pub endpoint_id: Uuid,
}

/// `webhook.test`, sent by `POST /webhooks/endpoints/{id}/test`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TestEvent {
    /// `id`, `event`, `created_at`, `idempotency_key`, `is_sandbox`.
    #[serde(flatten)]
    pub envelope: Envelope,
    /// Which endpoint.
    pub data: TestData,
}
