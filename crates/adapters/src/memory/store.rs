//! [`MemoryStore`]: every repository port in memory, behind one mutex, for tests of the
//! [`CaseService`](casework_domain::service::CaseService) without a database. Each port method
//! holds the lock for its whole run, so each business operation is atomic here as it is in one
//! PostgreSQL transaction; reads apply the lease rule through [`Case::as_of`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use casework_domain::Timestamp;
use casework_domain::case::queue as rules;
use casework_domain::case::{Case, Note, Tag};
use casework_domain::directory::{ApiKey, AuthError, OrgUser, OrgUserPatch, Principal, UserRef};
use casework_domain::id::{ApiKeyId, CaseId, OrgId, OrgUserId, SessionId};
use casework_domain::page::{CaseQuery, Page, PageRequest, SessionQuery, Tab};
use casework_domain::ports::{
    ApiKeyStore, BlocklistRecord, CaseChange, CaseRepository, DemoCaseError, DirectoryRepository, InsertUserError,
    NextFilter, OpenCaseError, OpenedCase, Pii, RecordedEvent, SaveChangeError, SessionRepository, StoreError,
    TabCounts,
};
use casework_domain::search::Search;
use casework_domain::session::{Check, ChecksSummary, ExtractedData, Session, SessionStatus};
use casework_domain::tenant::{Organization, Settings, SettingsPatch, Tenant};

use super::search::{Candidate, matches_query, matches_search, query_order, search_order};
use crate::auth::ApiKeySecret;

#[derive(Debug, Default)]
struct State {
    organizations: Vec<Organization>,
    settings: HashMap<Tenant, Settings>,
    users: Vec<OrgUser>,
    keys: Vec<(ApiKey, Vec<u8>)>,
    sessions: Vec<Session>,
    cases: Vec<Case>,
    events: Vec<RecordedEvent>,
    notes: Vec<(Tenant, Note)>,
    blocklist: Vec<(Tenant, BlocklistRecord, String)>,
    stale_summaries: HashSet<SessionId>,
}

/// The repositories in memory (clones share one store).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

fn page_of<T: Clone>(items: &[T], page: PageRequest) -> Page<T> {
    let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let limit = usize::try_from(page.limit()).unwrap_or(usize::MAX);
    Page { items: items.iter().skip(offset).take(limit).cloned().collect(), total: items.len() as u64, request: page }
}

impl State {
    fn session_mut(&mut self, tenant: Tenant, id: SessionId) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.tenant == tenant && s.id == id)
    }

    /// The tenant's cases as of `now`, with what filters read of their sessions.
    fn candidates(&self, tenant: Tenant, now: Timestamp) -> Vec<Candidate> {
        self.cases
            .iter()
            .filter(|c| c.tenant == tenant)
            .map(|case| Candidate {
                stored: case.clone(),
                view: case.as_of(now),
                external_ref: self
                    .sessions
                    .iter()
                    .find(|s| s.id == case.session_id)
                    .and_then(|s| s.external_ref.clone()),
                session_public_id: case.session_id.public(),
            })
            .collect()
    }

    fn insert_opened(&mut self, opened: &OpenedCase) {
        self.cases.push(opened.case.clone());
        self.events.push(opened.event.clone());
    }

    /// Applies an accepted change if the case is still at `expected`.
    fn apply(&mut self, change: &CaseChange, expected: u64) -> bool {
        let case = &change.case;
        let Some(stored) = self.cases.iter_mut().find(|c| c.tenant == case.tenant && c.id == case.id) else {
            return false;
        };
        if stored.version != expected {
            return false;
        }
        *stored = case.clone();
        self.events.extend(change.events.iter().cloned());
        if let Some(note) = &change.note {
            self.notes.push((case.tenant, note.clone()));
        }
        let session_change = &change.session;
        if let Some(entry) = &session_change.blocklist {
            let known =
                self.blocklist.iter().any(|(t, _, number)| *t == case.tenant && *number == entry.document_number);
            if !known {
                let record = BlocklistRecord { id: entry.id, case_id: case.id, created_at: case.updated_at };
                self.blocklist.push((case.tenant, record, entry.document_number.clone()));
            }
        }
        if session_change.checks.is_some() {
            self.stale_summaries.insert(case.session_id);
        }
        if let Some(session) = self.session_mut(case.tenant, case.session_id) {
            if let Some((status, _)) = session_change.status {
                session.status = status;
                session.status_changed_at = case.updated_at;
                if let Some(result) = &session_change.result {
                    session.result = Some(result.clone());
                }
                session.updated_at = case.updated_at;
            }
            if let Some(checks) = &session_change.checks {
                session.checks.clone_from(checks);
                session.updated_at = case.updated_at;
            }
            if let Some(data) = &session_change.extracted_data {
                session.extracted_data = data.clone();
                session.updated_at = case.updated_at;
            }
        }
        true
    }
}

impl MemoryStore {
    fn lock(&self) -> Result<MutexGuard<'_, State>, StoreError> {
        self.state.lock().map_err(|_| StoreError::Unknown(anyhow::anyhow!("memory store poisoned")))
    }

    /// Adds an org user (test set-up).
    ///
    /// # Errors
    /// When the store is poisoned.
    pub fn add_user(&self, user: OrgUser) -> Result<(), StoreError> {
        self.lock()?.users.push(user);
        Ok(())
    }

    /// Every event recorded, in order (for assertions).
    ///
    /// # Errors
    /// When the store is poisoned.
    pub fn all_events(&self) -> Result<Vec<RecordedEvent>, StoreError> {
        Ok(self.lock()?.events.clone())
    }
}

impl SessionRepository for MemoryStore {
    async fn insert_session(
        &self,
        session: &Session,
        opened: Option<&OpenedCase>,
        _notices: &[casework_domain::session::SessionNotice],
    ) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        state.sessions.push(session.clone());
        if let Some(opened) = opened {
            state.insert_opened(opened);
        }
        Ok(())
    }

    async fn find_session(&self, tenant: Tenant, id: SessionId, pii: Pii) -> Result<Option<Session>, StoreError> {
        let state = self.lock()?;
        let session = state.sessions.iter().find(|s| s.tenant == tenant && s.id == id).cloned();
        Ok(session.map(|mut s| {
            s.case_id = state.cases.iter().find(|c| c.session_id == s.id).map(|c| c.id);
            if pii == Pii::Omit {
                s.extracted_data = ExtractedData::default();
            }
            s
        }))
    }

    async fn refresh_summaries<F>(&self, limit: u32, summarize: F) -> Result<u32, StoreError>
    where
        F: Fn(&[Check]) -> ChecksSummary + Send + Sync,
    {
        let mut state = self.lock()?;
        let stale: Vec<SessionId> = state.stale_summaries.iter().copied().take(limit as usize).collect();
        for id in &stale {
            state.stale_summaries.remove(id);
            if let Some(session) = state.sessions.iter_mut().find(|s| s.id == *id) {
                session.checks_summary = summarize(&session.checks);
            }
        }
        Ok(u32::try_from(stale.len()).unwrap_or(u32::MAX))
    }

    async fn wipe_expired_pii<F>(
        &self,
        now: Timestamp,
        retention: &rules::Retention,
        limit: u32,
        redact: F,
    ) -> Result<u32, StoreError>
    where
        F: Fn(Case) -> Option<CaseChange> + Send + Sync,
    {
        let mut state = self.lock()?;
        let mut wiped = 0;
        let expired: Vec<(Tenant, SessionId)> = state
            .sessions
            .iter()
            .filter(|s| {
                let days = state.settings.get(&s.tenant).and_then(|settings| settings.sensitive_data_retention_days);
                retention.due(s, days, now)
            })
            .map(|s| (s.tenant, s.id))
            .take(limit as usize)
            .collect();
        for (tenant, id) in expired {
            if let Some(session) = state.session_mut(tenant, id) {
                session.extracted_data = ExtractedData::default();
                session.sensitive_data_expired = true;
                session.updated_at = now;
            }
            wiped += 1;
            let case = state.cases.iter().find(|c| c.tenant == tenant && c.session_id == id).cloned();
            if let Some(change) = case.clone().and_then(&redact) {
                let version = case.map_or(0, |c| c.version);
                state.apply(&change, version);
            }
        }
        Ok(wiped)
    }

    async fn list_sessions(
        &self,
        tenant: Tenant,
        query: &SessionQuery,
        page: PageRequest,
        pii: Pii,
    ) -> Result<Page<Session>, StoreError> {
        let state = self.lock()?;
        let mut sessions: Vec<Session> = state
            .sessions
            .iter()
            .filter(|s| s.tenant == tenant)
            .filter(|s| query.statuses.is_empty() || query.statuses.contains(&s.status))
            .filter(|s| query.external_ref.is_none() || s.external_ref == query.external_ref)
            .cloned()
            .map(|mut s| {
                if pii == Pii::Omit {
                    s.extracted_data = ExtractedData::default();
                }
                s
            })
            .collect();
        sessions.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| b.id.cmp(&a.id)));
        Ok(page_of(&sessions, page))
    }
}

impl CaseRepository for MemoryStore {
    async fn open_case(&self, opened: &OpenedCase, reviewable: &[SessionStatus]) -> Result<(), OpenCaseError> {
        let mut state = self.lock().map_err(|e| OpenCaseError::Unknown(e.into()))?;
        let case = &opened.case;
        if state.cases.iter().any(|c| c.tenant.org_id == case.tenant.org_id && c.session_id == case.session_id) {
            return Err(OpenCaseError::CaseExists);
        }
        let session = state.session_mut(case.tenant, case.session_id).ok_or(OpenCaseError::SessionNotFound)?;
        if !reviewable.contains(&session.status) {
            return Err(OpenCaseError::SessionNotReviewable);
        }
        if session.status != SessionStatus::UnderReview {
            session.result = Some(casework_domain::session::SessionResult::needs_review());
            session.status = SessionStatus::UnderReview;
            session.status_changed_at = case.created_at;
            session.updated_at = case.created_at;
        }
        state.insert_opened(opened);
        Ok(())
    }

    async fn find_case(&self, tenant: Tenant, id: CaseId) -> Result<Option<Case>, StoreError> {
        Ok(self.lock()?.cases.iter().find(|c| c.tenant == tenant && c.id == id).cloned())
    }

    async fn find_case_by_session(&self, tenant: Tenant, session_id: SessionId) -> Result<Option<Case>, StoreError> {
        Ok(self.lock()?.cases.iter().find(|c| c.tenant == tenant && c.session_id == session_id).cloned())
    }

    async fn list_cases(
        &self,
        tenant: Tenant,
        query: &CaseQuery,
        page: PageRequest,
        now: Timestamp,
    ) -> Result<Page<Case>, StoreError> {
        let state = self.lock()?;
        let mut cases: Vec<Case> = state
            .candidates(tenant, now)
            .into_iter()
            .filter(|candidate| matches_query(candidate, query, now))
            .map(|candidate| candidate.view)
            .collect();
        cases.sort_by(|a, b| query_order(a, b, query));
        Ok(page_of(&cases, page))
    }

    async fn search_cases(&self, tenant: Tenant, search: &Search, now: Timestamp) -> Result<Page<Case>, StoreError> {
        let state = self.lock()?;
        let mut cases: Vec<Case> = state
            .candidates(tenant, now)
            .into_iter()
            .filter(|candidate| matches_search(candidate, search, now))
            .map(|candidate| candidate.view)
            .collect();
        cases.sort_by(|a, b| search_order(a, b, search));
        Ok(page_of(&cases, search.page))
    }

    async fn list_events(
        &self,
        tenant: Tenant,
        case_id: CaseId,
        page: PageRequest,
    ) -> Result<Page<RecordedEvent>, StoreError> {
        let state = self.lock()?;
        let events: Vec<RecordedEvent> =
            state.events.iter().filter(|e| e.tenant == tenant && e.case_id == case_id).cloned().collect();
        Ok(page_of(&events, page))
    }

    async fn claim_next<F>(
        &self,
        tenant: Tenant,
        filter: &NextFilter,
        now: Timestamp,
        pii: Pii,
        claim: F,
    ) -> Result<Option<(Case, Session)>, SaveChangeError>
    where
        F: FnOnce(Case) -> Option<CaseChange> + Send,
    {
        let mut state = self.lock().map_err(|e| SaveChangeError::Unknown(e.into()))?;
        let eligible_rule = rules::eligible_for_next(filter.reviewer, filter.priority, filter.tag.clone());
        let mut eligible: Vec<&Case> =
            state.cases.iter().filter(|c| c.tenant == tenant && eligible_rule.holds(c, now)).collect();
        eligible.sort_by(|a, b| rules::next_order(a, b));
        let Some(candidate) = eligible.first().map(|c| (*c).clone()) else { return Ok(None) };
        let version = candidate.version;
        let change = claim(candidate)
            .ok_or_else(|| SaveChangeError::Unknown(anyhow::anyhow!("an eligible case refused the claim")))?;
        let mut session = state
            .sessions
            .iter()
            .find(|s| s.tenant == tenant && s.id == change.case.session_id)
            .cloned()
            .ok_or_else(|| SaveChangeError::Unknown(anyhow::anyhow!("a case without its session")))?;
        if !state.apply(&change, version) {
            return Err(SaveChangeError::VersionConflict);
        }
        session.case_id = Some(change.case.id);
        if pii == Pii::Omit {
            session.extracted_data = ExtractedData::default();
        }
        Ok(Some((change.case, session)))
    }

    async fn sweep_lapsed<F>(&self, now: Timestamp, limit: u32, lapse: F) -> Result<u32, StoreError>
    where
        F: Fn(Case) -> Option<CaseChange> + Send + Sync,
    {
        let mut state = self.lock()?;
        let lapsed: Vec<Case> = state
            .cases
            .iter()
            .filter(|c| c.lease.is_some_and(|l| !l.is_live(now)))
            .take(limit as usize)
            .cloned()
            .collect();
        let mut swept = 0;
        for case in lapsed {
            let version = case.version;
            if lapse(case).is_some_and(|change| state.apply(&change, version)) {
                swept += 1;
            }
        }
        Ok(swept)
    }

    async fn count_tabs(
        &self,
        tenant: Tenant,
        reviewer: Option<OrgUserId>,
        now: Timestamp,
    ) -> Result<TabCounts, StoreError> {
        let state = self.lock()?;
        let candidates = state.candidates(tenant, now);
        let count = |tab: Tab| {
            let query = CaseQuery { tab: Some(tab), reviewer, ..CaseQuery::default() };
            candidates.iter().filter(|candidate| matches_query(candidate, &query, now)).count() as u64
        };
        Ok(TabCounts {
            unassigned: count(Tab::Unassigned),
            mine: count(Tab::Mine),
            pending_second_review: count(Tab::PendingSecondReview),
            escalated: count(Tab::Escalated),
            all: count(Tab::All),
        })
    }

    async fn tag_counts(&self, tenant: Tenant) -> Result<Vec<(Tag, u64)>, StoreError> {
        let state = self.lock()?;
        let mut counts: BTreeMap<Tag, u64> = BTreeMap::new();
        for case in state.cases.iter().filter(|c| c.tenant == tenant) {
            for tag in case.tags.iter() {
                *counts.entry(tag.clone()).or_default() += 1;
            }
        }
        Ok(counts.into_iter().collect())
    }

    async fn list_notes(&self, tenant: Tenant, case_id: CaseId, page: PageRequest) -> Result<Page<Note>, StoreError> {
        let state = self.lock()?;
        let notes: Vec<Note> =
            state.notes.iter().filter(|(t, n)| *t == tenant && n.case_id == case_id).map(|(_, n)| n.clone()).collect();
        Ok(page_of(&notes, page))
    }

    async fn list_blocklist(&self, tenant: Tenant, page: PageRequest) -> Result<Page<BlocklistRecord>, StoreError> {
        let state = self.lock()?;
        let entries: Vec<BlocklistRecord> =
            state.blocklist.iter().filter(|(t, _, _)| *t == tenant).map(|(_, r, _)| r.clone()).collect();
        Ok(page_of(&entries, page))
    }

    async fn insert_demo_case(&self, session: &Session, opened: &OpenedCase, limit: u32) -> Result<(), DemoCaseError> {
        let mut state = self.lock()?;
        let existing = state.cases.iter().filter(|c| c.tenant == session.tenant && c.is_demo).count();
        if existing >= limit as usize {
            return Err(DemoCaseError::LimitReached);
        }
        state.sessions.push(session.clone());
        state.insert_opened(opened);
        Ok(())
    }

    async fn save_change(&self, change: &CaseChange, expected_version: u64) -> Result<(), SaveChangeError> {
        let mut state = self.lock().map_err(|e| SaveChangeError::Unknown(e.into()))?;
        if state.apply(change, expected_version) { Ok(()) } else { Err(SaveChangeError::VersionConflict) }
    }
}

impl DirectoryRepository for MemoryStore {
    async fn settings(&self, tenant: Tenant) -> Result<Settings, StoreError> {
        Ok(self.lock()?.settings.get(&tenant).cloned().unwrap_or_default())
    }

    async fn update_settings(
        &self,
        tenant: Tenant,
        patch: &SettingsPatch,
        _now: Timestamp,
    ) -> Result<Settings, StoreError> {
        let mut state = self.lock()?;
        let current = state.settings.get(&tenant).cloned().unwrap_or_default();
        let next = patch.apply(&current).map_err(|e| StoreError::Unknown(anyhow::anyhow!("invalid patch: {e:?}")))?;
        state.settings.insert(tenant, next.clone());
        Ok(next)
    }

    async fn list_org_users(&self, org_id: OrgId, page: PageRequest) -> Result<Page<OrgUser>, StoreError> {
        let state = self.lock()?;
        let users: Vec<OrgUser> = state.users.iter().filter(|u| u.org_id == org_id).cloned().collect();
        Ok(page_of(&users, page))
    }

    async fn insert_organization(&self, org: &Organization, keys: &[ApiKey]) -> Result<Vec<String>, StoreError> {
        let mut state = self.lock()?;
        state.organizations.push(org.clone());
        let mut secrets = Vec::with_capacity(keys.len());
        for key in keys {
            let secret = ApiKeySecret::generate(key.tenant.environment);
            state.keys.push((key.clone(), secret.hash()));
            secrets.push(secret.expose().to_owned());
        }
        Ok(secrets)
    }

    async fn find_organization(&self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        Ok(self.lock()?.organizations.iter().find(|org| org.id == id).cloned())
    }

    async fn insert_org_user(&self, user: &OrgUser) -> Result<(), InsertUserError> {
        let mut state = self.lock()?;
        if state.users.iter().any(|u| u.org_id == user.org_id && u.email.eq_ignore_ascii_case(&user.email)) {
            return Err(InsertUserError::EmailTaken);
        }
        state.users.push(user.clone());
        Ok(())
    }

    async fn update_org_user(
        &self,
        tenant: Tenant,
        id: OrgUserId,
        patch: &OrgUserPatch,
        _now: Timestamp,
    ) -> Result<Option<OrgUser>, StoreError> {
        let mut state = self.lock()?;
        let Some(user) = state.users.iter_mut().find(|u| u.org_id == tenant.org_id && u.id == id) else {
            return Ok(None);
        };
        if let Some(name) = &patch.name {
            user.name.clone_from(name);
        }
        if let Some(role) = patch.role {
            user.role = role;
        }
        if let Some(active) = patch.active {
            user.active = active;
        }
        Ok(Some(user.clone()))
    }

    async fn find_org_user(&self, tenant: Tenant, id: OrgUserId) -> Result<Option<OrgUser>, StoreError> {
        Ok(self.lock()?.users.iter().find(|u| u.org_id == tenant.org_id && u.id == id).cloned())
    }
}

impl ApiKeyStore for MemoryStore {
    async fn list_keys(&self, tenant: Tenant, page: PageRequest) -> Result<Page<ApiKey>, StoreError> {
        let state = self.lock()?;
        let keys: Vec<ApiKey> = state.keys.iter().filter(|(k, _)| k.tenant == tenant).map(|(k, _)| k.clone()).collect();
        Ok(page_of(&keys, page))
    }

    async fn issue_key(&self, key: &ApiKey) -> Result<String, StoreError> {
        let secret = ApiKeySecret::generate(key.tenant.environment);
        self.lock()?.keys.push((key.clone(), secret.hash()));
        Ok(secret.expose().to_owned())
    }

    async fn revoke_key(
        &self,
        tenant: Option<Tenant>,
        id: ApiKeyId,
        now: Timestamp,
    ) -> Result<Option<ApiKey>, StoreError> {
        let mut state = self.lock()?;
        let found = state.keys.iter_mut().find(|(k, _)| tenant.is_none_or(|t| k.tenant == t) && k.id == id);
        let Some((key, _)) = found else {
            return Ok(None);
        };
        key.revoked_at.get_or_insert(now);
        Ok(Some(key.clone()))
    }

    async fn authenticate(&self, presented: &str, now: Timestamp) -> Result<Principal, AuthError> {
        let secret = ApiKeySecret::parse(presented).ok_or(AuthError::Unauthorized)?;
        let state = self.state.lock().map_err(|_| AuthError::Unknown(anyhow::anyhow!("memory store poisoned")))?;
        let hash = secret.hash();
        let (key, _) = state.keys.iter().find(|(_, h)| *h == hash).ok_or(AuthError::Unauthorized)?;
        let usable = key.revoked_at.is_none()
            && key.expires_at.is_none_or(|at| now < at)
            && key.tenant.environment == secret.environment();
        if !usable {
            return Err(AuthError::Unauthorized);
        }
        // A key bound to a deactivated (or missing) user authenticates as nothing.
        let user = match key.org_user_id {
            None => None,
            Some(id) => {
                let bound = state.users.iter().find(|u| u.org_id == key.tenant.org_id && u.id == id && u.active);
                Some(bound.map(|u| UserRef { id: u.id, name: u.name.clone() }).ok_or(AuthError::Unauthorized)?)
            }
        };
        Ok(Principal {
            key_id: key.id,
            key_name: key.name.clone(),
            tenant: key.tenant,
            scopes: key.scopes.clone(),
            user,
            pinned_version: "2026-01-01".to_owned(),
            agent: None,
        })
    }
}
