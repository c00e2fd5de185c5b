//! The ports of webhooks and sandbox sessions: endpoint management and the delivery log
//! ([`WebhookRepository`]), and the sandbox's simulated outcomes and capture links
//! ([`SandboxRepository`]). Sending deliveries is the adapters' own loop; these are what the API
//! asks of storage.

use std::future::Future;

use super::{OpenedCase, StoreError};
use crate::Timestamp;
use crate::id::{DeliveryId, EndpointId, EventId, SessionId};
use crate::page::{Page, PageRequest};
use crate::session::{Session, SessionNotice, SessionStatus};
use crate::tenant::Tenant;
use crate::webhook::{Delivery, Endpoint, EndpointPatch};

/// Why a delivery could not be retried.
#[derive(Debug, thiserror::Error)]
pub enum RetryError {
    /// Only a failed delivery is retried (409 `invalid_transition`).
    #[error("only a failed delivery can be retried")]
    NotFailed,
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Webhook endpoints and their deliveries.
pub trait WebhookRepository: Send + Sync + 'static {
    /// Stores a new endpoint with a fresh secret; returns the secret, to show once.
    ///
    /// # Errors
    /// [`StoreError`].
    fn insert_endpoint(&self, endpoint: &Endpoint) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// The endpoints of the tenant, oldest first.
    ///
    /// # Errors
    /// [`StoreError`].
    fn list_endpoints(
        &self,
        tenant: Tenant,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Endpoint>, StoreError>> + Send;

    /// One endpoint of the tenant.
    ///
    /// # Errors
    /// [`StoreError`].
    fn find_endpoint(
        &self,
        tenant: Tenant,
        id: EndpointId,
    ) -> impl Future<Output = Result<Option<Endpoint>, StoreError>> + Send;

    /// Applies `patch` in one statement (only the given fields change); enabling clears the
    /// disabled reason and the failure count.
    ///
    /// # Errors
    /// [`StoreError`].
    fn update_endpoint(
        &self,
        tenant: Tenant,
        id: EndpointId,
        patch: &EndpointPatch,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Endpoint>, StoreError>> + Send;

    /// Deletes an endpoint and its deliveries; returns it.
    ///
    /// # Errors
    /// [`StoreError`].
    fn delete_endpoint(
        &self,
        tenant: Tenant,
        id: EndpointId,
    ) -> impl Future<Output = Result<Option<Endpoint>, StoreError>> + Send;

    /// Gives the endpoint a fresh secret; the current one keeps signing until `overlap_until`.
    /// Returns the endpoint and the new secret.
    ///
    /// # Errors
    /// [`StoreError`].
    fn rotate_secret(
        &self,
        tenant: Tenant,
        id: EndpointId,
        now: Timestamp,
        overlap_until: Timestamp,
    ) -> impl Future<Output = Result<Option<(Endpoint, String)>, StoreError>> + Send;

    /// Queues a `webhook.test` event to this endpoint only, due now.
    ///
    /// # Errors
    /// [`StoreError`].
    fn queue_test(
        &self,
        tenant: Tenant,
        endpoint_id: EndpointId,
        event_id: EventId,
        delivery_id: DeliveryId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Delivery>, StoreError>> + Send;

    /// The endpoint's deliveries, newest first; `None` when the endpoint does not exist.
    ///
    /// # Errors
    /// [`StoreError`].
    fn list_deliveries(
        &self,
        tenant: Tenant,
        endpoint_id: EndpointId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Option<Page<Delivery>>, StoreError>> + Send;

    /// Puts a failed delivery back in the queue, due now, with a fresh set of attempts.
    ///
    /// # Errors
    /// [`RetryError`].
    fn retry_delivery(
        &self,
        tenant: Tenant,
        id: DeliveryId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<Delivery>, RetryError>> + Send;

    /// Queues again, as new deliveries due now, every event of `[since, until)` the endpoint
    /// subscribes to, oldest first, at most `limit`; returns how many, or `None` when the
    /// endpoint does not exist.
    ///
    /// # Errors
    /// [`StoreError`].
    fn recover(
        &self,
        tenant: Tenant,
        endpoint_id: EndpointId,
        window: (Timestamp, Timestamp),
        limit: u32,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<u32>, StoreError>> + Send;
}

/// A one-time link to the sandbox capture page: its token is kept only as a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureLink {
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// The session's tenant.
    pub tenant: Tenant,
    /// The session.
    pub session_id: SessionId,
    /// When the token stops working.
    pub expires_at: Timestamp,
    /// When it was made.
    pub created_at: Timestamp,
}

/// A simulated outcome to write.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedChange<'a> {
    /// The status the session must still have (else nothing is written).
    pub from: SessionStatus,
    /// The session as it becomes.
    pub session: &'a Session,
    /// The case that opens with it (`require-review`).
    pub opened: Option<&'a OpenedCase>,
    /// Its `session.*` event.
    pub notice: SessionNotice,
    /// The capture link whose use this is: consumed in the same transaction.
    pub link: Option<&'a [u8]>,
    /// Now (a link must not have expired).
    pub now: Timestamp,
}

/// What became of a simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimulateWrite {
    /// Written.
    Applied,
    /// The session's status changed meanwhile (409 `invalid_transition`).
    StatusChanged,
    /// The link was used or expired meanwhile.
    LinkSpent,
}

/// Sandbox sessions: simulated outcomes and capture links.
pub trait SandboxRepository: Send + Sync + 'static {
    /// Writes a simulated outcome atomically: the session (only if its status is still
    /// `change.from`), the case it opens, its event, and the link it consumes.
    ///
    /// # Errors
    /// [`StoreError`].
    fn simulate_session(
        &self,
        change: &SimulatedChange<'_>,
    ) -> impl Future<Output = Result<SimulateWrite, StoreError>> + Send;

    /// Stores a capture link with its `session.link_generated` event.
    ///
    /// # Errors
    /// [`StoreError`].
    fn insert_capture_link(
        &self,
        link: &CaptureLink,
        notice: SessionNotice,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The unused, unexpired link with this token hash, with its session (no PII).
    ///
    /// # Errors
    /// [`StoreError`].
    fn find_capture_link(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<(CaptureLink, Session)>, StoreError>> + Send;
}
