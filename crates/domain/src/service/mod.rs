//! [`CaseService`]: every use case of the API, generic over the ports, so the same rules run
//! against PostgreSQL in production and against anything else in tests.
//!
//! Modules: [`actions`] (every change to one case), [`admin`] (settings, users, keys), [`queue`] (claim-next, counts, listings,
//! demo cases), [`sandbox`] (simulated sessions and capture links), [`webhooks`] (endpoints and
//! the delivery log), [`workers`] (the sweepers).

pub mod actions;
pub mod admin;
pub mod queue;
pub mod sandbox;
pub mod webhooks;
pub mod workers;

use crate::Timestamp;
use crate::case::{Actor, Case, Sla};
use crate::data::DataMap;
use crate::id::{CaseId, SessionId};
use crate::page::{CaseQuery, Page, PageRequest, SessionQuery};
use crate::ports::{
    CaseRepository, Clock, DirectoryRepository, IdGenerator, OpenCaseError, OpenedCase, Pii, RecordedEvent,
    SessionRepository, StoreError,
};
use crate::session::{
    Check, ChecksSummary, ExtractedData, Session, SessionEventType, SessionNotice, SessionResult, SessionStatus,
};
use crate::tenant::{Settings, Tenant};

/// A case as a reader sees it at one instant: lapsed leases released, its SLA computed.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseView {
    /// The case as of the read.
    pub case: Case,
    /// Its SLA at the read.
    pub sla: Sla,
}

impl CaseView {
    /// `case` as read at `now`.
    pub fn at(case: &Case, now: Timestamp) -> Self {
        Self { case: case.as_of(now), sla: case.sla(now) }
    }
}

/// A session as sent by the verification engine, already validated.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// The client's reference.
    pub external_ref: Option<String>,
    /// Client data.
    pub metadata: DataMap,
    /// Initial status (never `approved` / `declined`).
    pub status: SessionStatus,
    /// Checks, in order.
    pub checks: Vec<Check>,
    /// Extracted PII.
    pub extracted_data: ExtractedData,
}

impl NewSession {
    /// The session this becomes, without a case yet.
    pub fn into_session(self, id: SessionId, tenant: Tenant, now: Timestamp) -> Session {
        Session {
            id,
            tenant,
            external_ref: self.external_ref,
            metadata: self.metadata,
            status: self.status,
            checks_summary: ChecksSummary::of(&self.checks),
            checks: self.checks,
            extracted_data: self.extracted_data,
            sensitive_data_expired: false,
            case_id: None,
            result: (self.status == SessionStatus::UnderReview).then(SessionResult::needs_review),
            status_changed_at: now,
            created_at: now,
            updated_at: now,
        }
    }
}

/// Why a session could not be ingested.
#[derive(Debug, thiserror::Error)]
pub enum IngestSessionError {
    /// `approved` / `declined` are set only by a final decision.
    #[error("status {0} is set only by a case decision")]
    StatusNotIngestible(&'static str),
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why `POST /cases` failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateCaseError {
    /// No such session in the tenant.
    #[error("session not found")]
    SessionNotFound,
    /// The session is `expired`, `approved` or `declined`.
    #[error("the session is {0} and cannot be reviewed")]
    SessionNotReviewable(&'static str),
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `POST /cases` opened a case or found the session's existing one.
#[derive(Debug, Clone, PartialEq)]
pub enum CreatedCase {
    /// 201: a new case.
    Created(CaseView),
    /// 200: the session's case.
    Existing(CaseView),
}

/// The use cases, over a repository `R`, a clock `C` and an id generator `G`.
#[derive(Debug, Clone)]
pub struct CaseService<R, C, G> {
    repo: R,
    clock: C,
    ids: G,
}

impl<R, C, G> CaseService<R, C, G>
where
    R: CaseRepository + SessionRepository + DirectoryRepository,
    C: Clock,
    G: IdGenerator,
{
    /// Wires the ports.
    pub fn new(repo: R, clock: C, ids: G) -> Self {
        Self { repo, clock, ids }
    }

    /// The service's clock.
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The repository (for the adapters' own operations, such as the sweepers).
    pub fn repository(&self) -> &R {
        &self.repo
    }

    pub(super) fn open(
        &self,
        tenant: Tenant,
        session_id: SessionId,
        is_demo: bool,
        actor: Actor,
        now: Timestamp,
    ) -> OpenedCase {
        let case_id: CaseId = self.ids.generate();
        let (case, event) = Case::open(case_id, tenant, session_id, is_demo, actor, now);
        let event = RecordedEvent { id: self.ids.generate(), case_id, tenant, event };
        OpenedCase { case, event }
    }

    /// Ingests a session; one arriving `under_review` opens its case in the same transaction.
    ///
    /// # Errors
    /// [`IngestSessionError`].
    pub async fn ingest_session(
        &self,
        tenant: Tenant,
        actor: Actor,
        new: NewSession,
    ) -> Result<Session, IngestSessionError> {
        if !new.status.is_ingestible() {
            return Err(IngestSessionError::StatusNotIngestible(new.status.as_str()));
        }
        let now = self.clock.now();
        let mut session = new.into_session(self.ids.generate(), tenant, now);
        let opened =
            (session.status == SessionStatus::UnderReview).then(|| self.open(tenant, session.id, false, actor, now));
        session.case_id = opened.as_ref().map(|o| o.case.id);
        let mut notices = vec![SessionNotice { id: self.ids.generate(), event: SessionEventType::Created }];
        if opened.is_some() {
            notices.push(SessionNotice { id: self.ids.generate(), event: SessionEventType::RequiresReview });
        }
        self.repo.insert_session(&session, opened.as_ref(), &notices).await?;
        Ok(session)
    }

    /// One session of the tenant.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn session(&self, tenant: Tenant, id: SessionId, pii: Pii) -> Result<Option<Session>, StoreError> {
        self.repo.find_session(tenant, id, pii).await
    }

    /// Sessions of the tenant, newest first.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn sessions(
        &self,
        tenant: Tenant,
        query: &SessionQuery,
        page: PageRequest,
        pii: Pii,
    ) -> Result<Page<Session>, StoreError> {
        self.repo.list_sessions(tenant, query, page, pii).await
    }

    /// Opens the case of a session, or returns the one it has.
    ///
    /// # Errors
    /// [`CreateCaseError`].
    pub async fn create_case(
        &self,
        tenant: Tenant,
        actor: Actor,
        session_id: SessionId,
    ) -> Result<CreatedCase, CreateCaseError> {
        if let Some(existing) = self.repo.find_case_by_session(tenant, session_id).await? {
            return Ok(CreatedCase::Existing(CaseView::at(&existing, self.clock.now())));
        }
        let session =
            self.repo.find_session(tenant, session_id, Pii::Omit).await?.ok_or(CreateCaseError::SessionNotFound)?;
        if !session.status.is_reviewable() {
            return Err(CreateCaseError::SessionNotReviewable(session.status.as_str()));
        }
        let now = self.clock.now();
        let opened = self.open(tenant, session_id, false, actor, now);
        let reviewable: Vec<SessionStatus> = SessionStatus::ALL.iter().copied().filter(|s| s.is_reviewable()).collect();
        match self.repo.open_case(&opened, &reviewable).await {
            Ok(()) => Ok(CreatedCase::Created(CaseView::at(&opened.case, now))),
            Err(OpenCaseError::CaseExists) => {
                let existing = self.repo.find_case_by_session(tenant, session_id).await?;
                let existing =
                    existing.ok_or_else(|| StoreError::Unknown(anyhow::anyhow!("case vanished after a conflict")))?;
                Ok(CreatedCase::Existing(CaseView::at(&existing, self.clock.now())))
            }
            Err(OpenCaseError::SessionNotFound) => Err(CreateCaseError::SessionNotFound),
            Err(OpenCaseError::SessionNotReviewable) => Err(CreateCaseError::SessionNotReviewable("not reviewable")),
            Err(OpenCaseError::Unavailable(e)) => Err(StoreError::Unavailable(e).into()),
            Err(OpenCaseError::Unknown(e)) => Err(StoreError::Unknown(e).into()),
        }
    }

    /// One case with its session (the evidence), as of now.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn case_with_session(
        &self,
        tenant: Tenant,
        id: CaseId,
        pii: Pii,
    ) -> Result<Option<(CaseView, Session)>, StoreError> {
        let found = self.repo.find_case_with_session(tenant, id, pii).await?;
        Ok(found.map(|(case, session)| (CaseView::at(&case, self.clock.now()), session)))
    }

    /// The settings of the tenant's environment.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn settings(&self, tenant: Tenant) -> Result<Settings, StoreError> {
        self.repo.settings(tenant).await
    }

    /// Cases matching a search, as of now.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn search(&self, tenant: Tenant, search: &crate::search::Search) -> Result<Page<CaseView>, StoreError> {
        let now = self.clock.now();
        let page = self.repo.search_cases(tenant, search, now).await?;
        Ok(page.map(|case| CaseView::at(&case, now)))
    }

    /// Cases of the tenant matching `query`, as of now.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn cases(
        &self,
        tenant: Tenant,
        query: &CaseQuery,
        page: PageRequest,
    ) -> Result<Page<CaseView>, StoreError> {
        let now = self.clock.now();
        let page = self.repo.list_cases(tenant, query, page, now).await?;
        Ok(page.map(|case| CaseView::at(&case, now)))
    }
}
