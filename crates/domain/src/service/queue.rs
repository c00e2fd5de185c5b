//! The queue: claim-next, tab counts, the listings of a case's notes and events, tags, the
//! blocklist, and demo cases.

use super::actions::{ActionError, ActionRequest};
use super::{CaseService, CaseView};
use crate::case::lifecycle::Caller;
use crate::case::{Actor, Note, Priority, Tag};
use crate::demo::synthetic_session;
use crate::directory::{Principal, Scope};
use crate::id::{CaseId, OrgUserId};
use crate::page::{Page, PageRequest};
use crate::ports::{
    BlocklistRecord, CaseChange, CaseRepository, Clock, DemoCaseError, DirectoryRepository, IdGenerator, NextFilter,
    Pii, RecordedEvent, SaveChangeError, SessionChange, SessionRepository, StoreError, TabCounts,
};
use crate::session::Session;
use crate::tenant::{Environment, Tenant};

/// Why a demo case could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// 403 `sandbox_only`.
    #[error("demo cases exist only in the sandbox")]
    SandboxOnly,
    /// 409 `demo_limit_reached`.
    #[error("the environment has reached its demo case limit")]
    LimitReached,
    /// 503 / 500.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl<R, C, G> CaseService<R, C, G>
where
    R: CaseRepository + SessionRepository + DirectoryRepository,
    C: Clock,
    G: IdGenerator,
{
    /// Claims the first eligible case for the request's reviewer; `Ok(None)` when the queue is
    /// empty. The case comes with its session.
    ///
    /// # Errors
    /// [`ActionError`].
    pub async fn next(
        &self,
        request: &ActionRequest<'_>,
        priority: Option<Priority>,
        tag: Option<Tag>,
    ) -> Result<Option<(CaseView, Session)>, ActionError> {
        let principal = request.principal;
        let tenant = principal.tenant;
        let (reviewer, name) =
            self.reviewer(request).await?.ok_or(ActionError::InvalidReviewer { field: "reviewer_id" })?;
        let settings = self.repo.settings(tenant).await?;
        let now = self.clock.now();
        let caller = Caller {
            actor: Actor::of_request(principal, Some((reviewer, name))),
            reviewer: Some(reviewer),
            is_admin: principal.scopes.allows(Scope::CasesAdmin),
            now,
        };
        let filter = NextFilter { reviewer, priority, tag };
        let claim = |case: crate::case::Case| {
            let lapse = case.lapse(now);
            let base = lapse.as_ref().map_or(&case, |t| &t.case);
            let transition = base.claim(&caller, reviewer, settings.claim_ttl()).ok()?;
            let mut events: Vec<RecordedEvent> = lapse.into_iter().map(|t| self.record(&case, t.event)).collect();
            events.push(self.record(&case, transition.event));
            Some(CaseChange { case: transition.case, events, note: None, session: SessionChange::default() })
        };
        let pii = if principal.scopes.allows(Scope::VerificationsRead) { Pii::Include } else { Pii::Omit };
        let claimed = self.repo.claim_next(tenant, &filter, now, pii, claim).await.map_err(|error| match error {
            SaveChangeError::Unavailable(e) => StoreError::Unavailable(e),
            SaveChangeError::VersionConflict => StoreError::Unknown(anyhow::anyhow!("a locked case changed")),
            SaveChangeError::Unknown(e) => StoreError::Unknown(e),
        })?;
        Ok(claimed.map(|(case, session)| (CaseView::at(&case, now), session)))
    }

    /// The tab counts for `reviewer` (none: `mine` is 0).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn counts(&self, tenant: Tenant, reviewer: Option<OrgUserId>) -> Result<TabCounts, StoreError> {
        self.repo.count_tabs(tenant, reviewer, self.clock.now()).await
    }

    /// Distinct tags with their case counts.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn tags(&self, tenant: Tenant) -> Result<Vec<(Tag, u64)>, StoreError> {
        self.repo.tag_counts(tenant).await
    }

    /// A case's notes, oldest first; `None` when the case does not exist.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn notes(
        &self,
        tenant: Tenant,
        case_id: CaseId,
        page: PageRequest,
    ) -> Result<Option<Page<Note>>, StoreError> {
        if self.repo.find_case(tenant, case_id).await?.is_none() {
            return Ok(None);
        }
        self.repo.list_notes(tenant, case_id, page).await.map(Some)
    }

    /// A case's events, oldest first; `None` when the case does not exist.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn events(
        &self,
        tenant: Tenant,
        case_id: CaseId,
        page: PageRequest,
    ) -> Result<Option<Page<RecordedEvent>>, StoreError> {
        if self.repo.find_case(tenant, case_id).await?.is_none() {
            return Ok(None);
        }
        self.repo.list_events(tenant, case_id, page).await.map(Some)
    }

    /// The environment's blocklist.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn blocklist(&self, tenant: Tenant, page: PageRequest) -> Result<Page<BlocklistRecord>, StoreError> {
        self.repo.list_blocklist(tenant, page).await
    }

    /// A demo case on a synthetic session (sandbox only, up to `demo_case_limit`).
    ///
    /// # Errors
    /// [`DemoError`].
    pub async fn demo_case(&self, principal: &Principal, actor: Actor) -> Result<(CaseView, Session), DemoError> {
        let tenant = principal.tenant;
        if tenant.environment != Environment::Sandbox {
            return Err(DemoError::SandboxOnly);
        }
        let settings = self.repo.settings(tenant).await?;
        let now = self.clock.now();
        let seed = u64::try_from(now.unix_timestamp_nanos().rem_euclid(1 << 62)).unwrap_or(0);
        let new = synthetic_session(seed);
        let session_id = self.ids.generate();
        let opened = self.open(tenant, session_id, true, actor, now);
        let mut session = new.into_session(session_id, tenant, now);
        session.case_id = Some(opened.case.id);
        self.repo.insert_demo_case(&session, &opened, settings.demo_case_limit).await.map_err(|error| match error {
            DemoCaseError::LimitReached => DemoError::LimitReached,
            DemoCaseError::Store(store) => DemoError::Store(store),
        })?;
        Ok((CaseView::at(&opened.case, now), session))
    }
}
