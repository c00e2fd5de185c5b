//! The ports: what the domain needs from the outside world, as traits the adapters implement.
//!
//! Every repository method is one atomic business operation: the adapter runs it in one
//! transaction (the case row, its event rows and their webhook outbox rows together), so a
//! committed change never loses its event and a refused one leaves nothing behind.

use std::future::Future;

use crate::Timestamp;
use crate::case::{Case, CaseEvent, Note};
use crate::directory::{AuthError, OrgUser, Principal};
use crate::id::{CaseId, EventId, Id, IdKind, OrgUserId, SessionId};
use crate::page::{CaseQuery, Page, PageRequest, SessionQuery};
use crate::session::{Session, SessionStatus};
use crate::tenant::{Settings, Tenant};

/// The service's time: what every rule and every SQL comparison uses (never the database's).
pub trait Clock: Send + Sync + 'static {
    /// Now, in UTC, truncated to microseconds.
    fn now(&self) -> Timestamp;
}

/// Fresh identifiers.
pub trait IdGenerator: Send + Sync + 'static {
    /// A new, never-used id of kind `K`.
    fn generate<K: IdKind>(&self) -> Id<K>;
}

/// Failures of a plain read or write with no business outcome of its own.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or the pool is exhausted: retry later (503).
    #[error("store unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else (500).
    #[error(transparent)]
    Unknown(anyhow::Error),
}

/// An event as recorded: the domain event with its id and case.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedEvent {
    /// Its id (also the id of the webhook event reporting it).
    pub id: EventId,
    /// The case it belongs to.
    pub case_id: CaseId,
    /// Its tenant.
    pub tenant: Tenant,
    /// What happened.
    pub event: CaseEvent,
}

/// A new case with its `created` event, opened for a session.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedCase {
    /// The case.
    pub case: Case,
    /// Its `created` event.
    pub event: RecordedEvent,
}

/// Why a case could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenCaseError {
    /// The session has a case already (one case per session).
    #[error("the session already has a case")]
    CaseExists,
    /// The session is not in a status a case may be opened from.
    #[error("the session cannot be reviewed")]
    SessionNotReviewable,
    /// No such session in the tenant.
    #[error("session not found")]
    SessionNotFound,
    /// See [`StoreError::Unavailable`].
    #[error("store unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unknown(anyhow::Error),
}

/// One accepted change to a case: the new case, its events in order, and an inline note.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseChange {
    /// The case after the change.
    pub case: Case,
    /// The events, in the order they happened (a persisted lapse first).
    pub events: Vec<RecordedEvent>,
    /// A note written with the action (approve, reject, escalate `notes`).
    pub note: Option<Note>,
    /// A new session status (a final decision sets `approved` / `declined`).
    pub session_status: Option<SessionStatus>,
}

/// Why a change could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveChangeError {
    /// The case's `version` is no longer the one the change was computed from.
    #[error("the case changed concurrently")]
    VersionConflict,
    /// See [`StoreError::Unavailable`].
    #[error("store unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unknown(anyhow::Error),
}

/// Sessions: the ingestion side.
pub trait SessionRepository: Send + Sync + 'static {
    /// Stores a new session and, when it arrives `under_review`, opens its case in the same
    /// transaction.
    ///
    /// # Errors
    /// [`StoreError`].
    fn insert_session(
        &self,
        session: &Session,
        opened: Option<&OpenedCase>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session, if it exists in the tenant.
    ///
    /// # Errors
    /// [`StoreError`].
    fn find_session(
        &self,
        tenant: Tenant,
        id: SessionId,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Sessions, newest first.
    ///
    /// # Errors
    /// [`StoreError`].
    fn list_sessions(
        &self,
        tenant: Tenant,
        query: &SessionQuery,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Session>, StoreError>> + Send;
}

/// Cases, their events and notes.
pub trait CaseRepository: Send + Sync + 'static {
    /// Opens a case for an existing session, sets the session `under_review`, and records the
    /// `created` event, atomically; refused when the session's status is not in `reviewable`.
    ///
    /// # Errors
    /// [`OpenCaseError`].
    fn open_case(
        &self,
        opened: &OpenedCase,
        reviewable: &[SessionStatus],
    ) -> impl Future<Output = Result<(), OpenCaseError>> + Send;

    /// The case, if it exists in the tenant.
    ///
    /// # Errors
    /// [`StoreError`].
    fn find_case(&self, tenant: Tenant, id: CaseId) -> impl Future<Output = Result<Option<Case>, StoreError>> + Send;

    /// The case of a session, if it has one.
    ///
    /// # Errors
    /// [`StoreError`].
    fn find_case_by_session(
        &self,
        tenant: Tenant,
        session_id: SessionId,
    ) -> impl Future<Output = Result<Option<Case>, StoreError>> + Send;

    /// Cases matching `query`, read as of `now` (lapsed leases released).
    ///
    /// # Errors
    /// [`StoreError`].
    fn list_cases(
        &self,
        tenant: Tenant,
        query: &CaseQuery,
        page: PageRequest,
        now: Timestamp,
    ) -> impl Future<Output = Result<Page<Case>, StoreError>> + Send;

    /// The case's events, oldest first (the audit trail).
    ///
    /// # Errors
    /// [`StoreError`].
    fn list_events(
        &self,
        tenant: Tenant,
        case_id: CaseId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<RecordedEvent>, StoreError>> + Send;

    /// Saves an accepted change if the stored case still has `expected_version`: the case row,
    /// its events, their outbox rows, the note and the session status, in one transaction.
    ///
    /// # Errors
    /// [`SaveChangeError`].
    fn save_change(
        &self,
        change: &CaseChange,
        expected_version: u64,
    ) -> impl Future<Output = Result<(), SaveChangeError>> + Send;
}

/// Organizations, their settings and their users.
pub trait DirectoryRepository: Send + Sync + 'static {
    /// The environment's settings.
    ///
    /// # Errors
    /// [`StoreError`].
    fn settings(&self, tenant: Tenant) -> impl Future<Output = Result<Settings, StoreError>> + Send;

    /// An org user of the organization, if it exists.
    ///
    /// # Errors
    /// [`StoreError`].
    fn find_org_user(
        &self,
        tenant: Tenant,
        id: OrgUserId,
    ) -> impl Future<Output = Result<Option<OrgUser>, StoreError>> + Send;
}

/// Authenticates API keys.
pub trait ApiKeyStore: Send + Sync + 'static {
    /// The principal of a presented secret, if it names a usable key at `now`.
    ///
    /// # Errors
    /// [`AuthError::Unauthorized`] for a missing, malformed, unknown, revoked or expired key,
    /// with no hint which; [`AuthError::Unavailable`] when the store cannot be reached.
    fn authenticate(&self, secret: &str, now: Timestamp) -> impl Future<Output = Result<Principal, AuthError>> + Send;
}
