//! The ports: what the domain needs from the outside world, as traits the adapters implement.
//!
//! Every repository method is one atomic business operation: the adapter runs it in one
//! transaction (the case row, its event rows and their webhook outbox rows together), so a
//! committed change never loses its event and a refused one leaves nothing behind.

use std::future::Future;

mod webhooks;

pub use webhooks::{CaptureLink, RetryError, SandboxRepository, SimulateWrite, SimulatedChange, WebhookRepository};

use crate::Timestamp;
use crate::case::{Case, CaseEvent, Note, Priority, Tag};
use crate::directory::{ApiKey, AuthError, OrgUser, OrgUserPatch, Principal};
use crate::id::{ApiKeyId, BlocklistId, CaseId, EventId, Id, IdKind, OrgId, OrgUserId, SessionId};
use crate::page::{CaseQuery, Page, PageRequest, SessionQuery};
use crate::search::Search;
use crate::session::{Check, ChecksSummary, ExtractedData, Session, SessionStatus};
use crate::tenant::{Organization, Settings, SettingsPatch, Tenant};

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

/// One accepted change to a case: the new case, its events in order, an inline note, and what
/// changes with it on its session.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseChange {
    /// The case after the change.
    pub case: Case,
    /// The events, in the order they happened (a persisted lapse first).
    pub events: Vec<RecordedEvent>,
    /// A note written with the action (a note, or approve, reject, escalate `notes`).
    pub note: Option<Note>,
    /// What changes on the case's session.
    pub session: SessionChange,
}

/// Changes to the session under review that go with a case change, in the same transaction.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionChange {
    /// A final decision's session status, and the id of its `session.*` webhook event.
    pub status: Option<(SessionStatus, EventId)>,
    /// The session's result that a final decision sets (`GET /sessions/{id}/result`).
    pub result: Option<crate::session::SessionResult>,
    /// Checks with a new override; the summary is then recomputed asynchronously.
    pub checks: Option<Vec<Check>>,
    /// Corrected extracted data (re-encrypted by the adapter).
    pub extracted_data: Option<ExtractedData>,
    /// A document number to add to the environment's blocklist (stored only as an HMAC).
    pub blocklist: Option<BlocklistEntry>,
}

/// A blocklist addition, before hashing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistEntry {
    /// The entry's id.
    pub id: BlocklistId,
    /// The normalized document number (upper-cased, no spaces or hyphens).
    pub document_number: String,
}

/// A blocklist entry as listed (never its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlocklistRecord {
    /// Its id.
    pub id: BlocklistId,
    /// The case whose rejection added it.
    pub case_id: CaseId,
    /// When.
    pub created_at: Timestamp,
}

/// `/cases/counts`: the tabs, with lapsed leases read as released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TabCounts {
    /// `open`, no assignee, no live lease.
    pub unassigned: u64,
    /// Active and assigned to the reviewer.
    pub mine: u64,
    /// Waiting for a second reviewer.
    pub pending_second_review: u64,
    /// Escalated.
    pub escalated: u64,
    /// Every case.
    pub all: u64,
}

/// What `POST /cases/next` may hand out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextFilter {
    /// The reviewer asking (never handed its own recommendations).
    pub reviewer: OrgUserId,
    /// Only this priority.
    pub priority: Option<Priority>,
    /// Only cases with this tag.
    pub tag: Option<Tag>,
}

/// Why a demo case could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DemoCaseError {
    /// The environment has `demo_case_limit` demo cases already.
    #[error("demo case limit reached")]
    LimitReached,
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
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

/// Whether a session read decrypts `extracted_data`: only for callers who may see PII, so a
/// ciphertext that cannot be decrypted never fails a read that would not show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pii {
    /// Decrypt it.
    Include,
    /// Leave it out (read as empty).
    Omit,
}

/// Sessions: the ingestion side.
pub trait SessionRepository: Send + Sync + 'static {
    /// Stores a new session with its `session.*` events and, when it arrives `under_review`,
    /// opens its case in the same transaction.
    ///
    /// # Errors
    /// [`StoreError`].
    fn insert_session(
        &self,
        session: &Session,
        opened: Option<&OpenedCase>,
        notices: &[crate::session::SessionNotice],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The session, if it exists in the tenant.
    ///
    /// # Errors
    /// [`StoreError`].
    fn find_session(
        &self,
        tenant: Tenant,
        id: SessionId,
        pii: Pii,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Recomputes, with `summarize`, up to `limit` check summaries left stale by overrides;
    /// returns how many were refreshed. Rows another instance holds are skipped.
    ///
    /// # Errors
    /// [`StoreError`].
    fn refresh_summaries<F>(&self, limit: u32, summarize: F) -> impl Future<Output = Result<u32, StoreError>> + Send
    where
        F: Fn(&[Check]) -> ChecksSummary + Send + Sync;

    /// Wipes the extracted data of up to `limit` sessions that `retention` says are due at `now`
    /// (under their environment's `sensitive_data_retention_days`), marking them
    /// `sensitive_data_expired`; `redact` turns each one's case (if any) into its `redacted`
    /// change, saved in the same transaction. Returns how many sessions were wiped.
    ///
    /// # Errors
    /// [`StoreError`].
    fn wipe_expired_pii<F>(
        &self,
        now: Timestamp,
        retention: &crate::case::queue::Retention,
        limit: u32,
        redact: F,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send
    where
        F: Fn(Case) -> Option<CaseChange> + Send + Sync;

    /// Sessions, newest first.
    ///
    /// # Errors
    /// [`StoreError`].
    fn list_sessions(
        &self,
        tenant: Tenant,
        query: &SessionQuery,
        page: PageRequest,
        pii: Pii,
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

    /// The case and its session (with its PII as `pii` asks), if the case exists in the tenant.
    /// A store that can read both at once should.
    ///
    /// # Errors
    /// [`StoreError`]; a case without its session is [`StoreError::Unknown`].
    fn find_case_with_session(
        &self,
        tenant: Tenant,
        id: CaseId,
        pii: Pii,
    ) -> impl Future<Output = Result<Option<(Case, Session)>, StoreError>> + Send
    where
        Self: SessionRepository,
    {
        async move {
            let Some(case) = self.find_case(tenant, id).await? else { return Ok(None) };
            let session = self.find_session(tenant, case.session_id, pii).await?;
            let session = session.ok_or_else(|| StoreError::Unknown(anyhow::anyhow!("case {id} has no session")))?;
            Ok(Some((case, session)))
        }
    }

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

    /// Cases matching a search, read as of `now` (lapsed leases released).
    ///
    /// # Errors
    /// [`StoreError`].
    fn search_cases(
        &self,
        tenant: Tenant,
        search: &Search,
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

    /// Claims the first eligible case of the queue (API.md §2, `next`) under a row lock that
    /// concurrent callers skip: `claim` turns the locked case into the change to save, in the
    /// same transaction, which also reads the case's session (decrypting its PII per `pii`), so a
    /// session that cannot be read leaves nothing claimed. `Ok(None)` when the queue is empty.
    ///
    /// # Errors
    /// [`SaveChangeError`].
    fn claim_next<F>(
        &self,
        tenant: Tenant,
        filter: &NextFilter,
        now: Timestamp,
        pii: Pii,
        claim: F,
    ) -> impl Future<Output = Result<Option<(Case, Session)>, SaveChangeError>> + Send
    where
        F: FnOnce(Case) -> Option<CaseChange> + Send;

    /// Persists lapsed leases, at most `limit` per call, across every tenant: `lapse` turns each
    /// locked case into its `claim_expired` change. Rows another instance holds are skipped.
    /// Returns how many were persisted.
    ///
    /// # Errors
    /// [`StoreError`].
    fn sweep_lapsed<F>(
        &self,
        now: Timestamp,
        limit: u32,
        lapse: F,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send
    where
        F: Fn(Case) -> Option<CaseChange> + Send + Sync;

    /// The tab counts, in one round trip.
    ///
    /// # Errors
    /// [`StoreError`].
    fn count_tabs(
        &self,
        tenant: Tenant,
        reviewer: Option<OrgUserId>,
        now: Timestamp,
    ) -> impl Future<Output = Result<TabCounts, StoreError>> + Send;

    /// Distinct tags with how many cases carry each, sorted by tag.
    ///
    /// # Errors
    /// [`StoreError`].
    fn tag_counts(&self, tenant: Tenant) -> impl Future<Output = Result<Vec<(Tag, u64)>, StoreError>> + Send;

    /// The case's notes, oldest first.
    ///
    /// # Errors
    /// [`StoreError`].
    fn list_notes(
        &self,
        tenant: Tenant,
        case_id: CaseId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<Note>, StoreError>> + Send;

    /// The environment's blocklist, oldest first.
    ///
    /// # Errors
    /// [`StoreError`].
    fn list_blocklist(
        &self,
        tenant: Tenant,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<BlocklistRecord>, StoreError>> + Send;

    /// Stores a demo session with its case, unless the environment already has `limit` demo
    /// cases (checked under a lock, so concurrent requests cannot exceed it).
    ///
    /// # Errors
    /// [`DemoCaseError`].
    fn insert_demo_case(
        &self,
        session: &Session,
        opened: &OpenedCase,
        limit: u32,
    ) -> impl Future<Output = Result<(), DemoCaseError>> + Send;

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

    /// Writes only the settings `patch` names (validated by the caller), in one statement, so
    /// concurrent patches of different settings never undo each other; returns the result.
    ///
    /// # Errors
    /// [`StoreError`].
    fn update_settings(
        &self,
        tenant: Tenant,
        patch: &SettingsPatch,
        now: Timestamp,
    ) -> impl Future<Output = Result<Settings, StoreError>> + Send;

    /// The organization's users, oldest first.
    ///
    /// # Errors
    /// [`StoreError`].
    fn list_org_users(
        &self,
        org_id: OrgId,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<OrgUser>, StoreError>> + Send;

    /// Stores a new org user.
    ///
    /// # Errors
    /// [`InsertUserError`].
    fn insert_org_user(&self, user: &OrgUser) -> impl Future<Output = Result<(), InsertUserError>> + Send;

    /// Changes only the fields `patch` names, in one statement; the user after it, or `None`
    /// when the tenant has no such user.
    ///
    /// # Errors
    /// [`StoreError`].
    fn update_org_user(
        &self,
        tenant: Tenant,
        id: OrgUserId,
        patch: &OrgUserPatch,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<OrgUser>, StoreError>> + Send;

    /// Creates an organization with the default settings of both environments and `keys` (each
    /// with a fresh secret), atomically; returns the secrets, in the keys' order, to show once.
    ///
    /// # Errors
    /// [`StoreError`].
    fn insert_organization(
        &self,
        org: &Organization,
        keys: &[ApiKey],
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// The organization, if it exists.
    ///
    /// # Errors
    /// [`StoreError`].
    fn find_organization(&self, id: OrgId) -> impl Future<Output = Result<Option<Organization>, StoreError>> + Send;

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

/// Why an org user could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum InsertUserError {
    /// Another user of the organization has this email (case-insensitive).
    #[error("email already taken")]
    EmailTaken,
    /// The organization does not exist.
    #[error("organization not found")]
    OrgNotFound,
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// API keys: authentication and their administration. Secrets are generated, hashed and
/// stored by the adapter; the domain never handles one.
pub trait ApiKeyStore: Send + Sync + 'static {
    /// The environment's keys, oldest first (never their secrets).
    ///
    /// # Errors
    /// [`StoreError`].
    fn list_keys(
        &self,
        tenant: Tenant,
        page: PageRequest,
    ) -> impl Future<Output = Result<Page<ApiKey>, StoreError>> + Send;

    /// Stores a new key with a fresh secret for its environment; returns the secret, to show once.
    ///
    /// # Errors
    /// [`StoreError`].
    fn issue_key(&self, key: &ApiKey) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// Revokes a key of the tenant (any tenant's for `None`: the operator's command line; the
    /// first revocation time stays); `None` when it does not exist there.
    ///
    /// # Errors
    /// [`StoreError`].
    fn revoke_key(
        &self,
        tenant: Option<Tenant>,
        id: ApiKeyId,
        now: Timestamp,
    ) -> impl Future<Output = Result<Option<ApiKey>, StoreError>> + Send;

    /// The principal of a presented secret, if it names a usable key at `now`.
    ///
    /// # Errors
    /// [`AuthError::Unauthorized`] for a missing, malformed, unknown, revoked or expired key,
    /// with no hint which; [`AuthError::Unavailable`] when the store cannot be reached.
    fn authenticate(&self, secret: &str, now: Timestamp) -> impl Future<Output = Result<Principal, AuthError>> + Send;
}

/// One fixed 60-second window's verdict on a request (CONVENTIONS.md, Rate limiting).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateDecision {
    /// Whether the request may proceed (a refused one is not counted).
    pub allowed: bool,
    /// The limit applied.
    pub limit: u32,
    /// Requests left in the window.
    pub remaining: u32,
    /// Unix seconds at which the window ends.
    pub reset_at: i64,
}

impl RateDecision {
    /// The window containing `now`: its start and its end, in Unix seconds.
    pub fn window(now: Timestamp) -> (i64, i64) {
        let start = now.unix_timestamp().div_euclid(60) * 60;
        (start, start + 60)
    }
}

/// Counts requests per API key in fixed windows aligned to the Unix minute.
pub trait RateLimiter: Send + Sync + 'static {
    /// Counts one request of `key` against `limit` when there is room.
    ///
    /// # Errors
    /// [`StoreError`] (a shared limiter's database).
    fn acquire(
        &self,
        tenant: Tenant,
        key: ApiKeyId,
        limit: u32,
        now: Timestamp,
    ) -> impl Future<Output = Result<RateDecision, StoreError>> + Send;
}

/// Which idempotency record a request names: (org, environment, API key, idempotency key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyScope {
    /// The key's (org, environment).
    pub tenant: Tenant,
    /// The API key.
    pub api_key: ApiKeyId,
    /// The client's `Idempotency-Key`.
    pub key: String,
}

/// A response as stored for replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// The status code.
    pub status: u16,
    /// The headers that matter (`Location`, `ETag`).
    pub headers: Vec<(String, String)>,
    /// The body, snake_case.
    pub body: Vec<u8>,
    /// The original `X-Request-Id`.
    pub request_id: String,
}

/// One run's hold on an idempotency record: only the run that holds it may complete or
/// abandon the record, so a slow run whose hold was taken over cannot overwrite the new one's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdempotencyAttempt(uuid::Uuid);

impl IdempotencyAttempt {
    /// A new, unguessable attempt.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// The attempt as stored.
    pub fn uuid(self) -> uuid::Uuid {
        self.0
    }
}

impl Default for IdempotencyAttempt {
    fn default() -> Self {
        Self::new()
    }
}

/// What a request with an idempotency key may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First use (or a takeover of a crashed run): run, then complete or abandon as `attempt`.
    Started(IdempotencyAttempt),
    /// Used before with the same request: answer the stored response.
    Replay(StoredResponse),
    /// Used before with a different request.
    Mismatch,
    /// The first request is still running.
    InProgress,
}

/// Idempotency records, kept 24 hours.
pub trait IdempotencyStore: Send + Sync + 'static {
    /// Claims the scope for a request with `fingerprint`, or says what it already holds. A claim
    /// not completed by `lock_until` (a crashed run) may be taken over.
    ///
    /// # Errors
    /// [`StoreError`].
    fn begin(
        &self,
        scope: &IdempotencyScope,
        fingerprint: &[u8],
        request_id: &str,
        now: Timestamp,
        lock_until: Timestamp,
    ) -> impl Future<Output = Result<IdempotencyStart, StoreError>> + Send;

    /// Stores the response of a started request, if `attempt` still holds the record (stored
    /// encrypted: a response may carry PII or a new key's secret); returns whether it did.
    ///
    /// # Errors
    /// [`StoreError`].
    fn complete(
        &self,
        scope: &IdempotencyScope,
        attempt: IdempotencyAttempt,
        response: &StoredResponse,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Forgets a started request that changed nothing (a 5xx before any commit), so the client
    /// may retry; only while `attempt` still holds the record.
    ///
    /// # Errors
    /// [`StoreError`].
    fn abandon(
        &self,
        scope: &IdempotencyScope,
        attempt: IdempotencyAttempt,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes records created before `before`, and stale rate-limit windows; returns how many.
    ///
    /// # Errors
    /// [`StoreError`].
    fn prune(&self, before: Timestamp) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
