//! [`CaseRepository`] on PostgreSQL: each business operation is one transaction writing the case
//! row (with an optimistic `version` check), its event rows and their outbox rows together.
//!
//! Reads apply the lease rule in SQL with the service's clock bound as a parameter: a lapsed
//! lease reads as released in every filter, exactly as [`Case::as_of`] does in memory.

use casework_domain::Timestamp;
use casework_domain::case::queue::{self as rules, Rule};
use casework_domain::case::{Case, CaseStatus, Note, Tag};
use casework_domain::id::{CaseId, Id, OrgUserId, SessionId};
use casework_domain::page::{CaseQuery, CaseSortKey, Page, PageRequest, Tab};
use casework_domain::ports::{
    BlocklistRecord, CaseChange, CaseRepository, DemoCaseError, NextFilter, OpenCaseError, OpenedCase, Pii,
    RecordedEvent, SaveChangeError, StoreError, TabCounts,
};
use casework_domain::search::Search;
use casework_domain::session::{Session, SessionStatus, SessionVerdict};
use casework_domain::tenant::Tenant;
use diesel::dsl::{count, exists};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::PgStore;
use super::changes::{insert_opened, write_change};
use super::errors::{Failure, classify, save_error, unavailable_or_unknown};
use super::queue;
use super::records::{CaseRecord, EventRecord, parse_event};
use super::schema::{case_events, cases, sessions};
use super::sessions::SessionRecord;
use super::sql::{Condition, TxError, all_of, any_of, compile, in_tenant, page_bounds};

fn conditions(tenant: Tenant, query: &CaseQuery, now: Timestamp) -> Condition {
    let mut all = vec![in_tenant(tenant)];
    // Filters that admit undecided cases only say so outright, so the partial indexes on
    // undecided cases apply and the decided history is never read.
    if !query.statuses.is_empty() {
        let statuses = query.statuses.iter().map(|&s| rules::effective_status(s)).collect();
        all.push(super::search::stored_status_in(compile(&Rule::Any(statuses), now), &query.statuses));
    }
    if let Some(selected) = query.tab {
        let matched = compile(&rules::tab(selected, query.reviewer), now);
        all.push(match selected {
            Tab::All => matched,
            Tab::Mine => super::search::undecided(matched),
            Tab::Unassigned => super::search::stored_status_in(matched, &[CaseStatus::Open]),
            Tab::PendingSecondReview => super::search::stored_status_in(matched, &[CaseStatus::PendingSecondReview]),
            Tab::Escalated => super::search::stored_status_in(matched, &[CaseStatus::Escalated]),
        });
    }
    if !query.assigned_to.is_empty() {
        all.push(compile(&rules::effectively_assigned(query.assigned_to.clone()), now));
    }
    if !query.priorities.is_empty() {
        let priorities: Vec<&str> = query.priorities.iter().map(|p| p.as_str()).collect();
        all.push(Box::new(cases::priority.eq_any(priorities)));
    }
    if !query.tags.is_empty() {
        let tags: Vec<Option<String>> = query.tags.iter().map(|t| Some(t.as_str().to_owned())).collect();
        all.push(Box::new(cases::tags.overlaps_with(tags)));
    }
    if !query.sla_statuses.is_empty() {
        all.push(any_of(query.sla_statuses.iter().map(|s| super::search::sla_status(s.as_str(), now)).collect()));
    }
    if !query.session_ids.is_empty() {
        all.push(Box::new(cases::session_id.eq_any(query.session_ids.iter().map(|s| s.uuid()).collect::<Vec<_>>())));
    }
    if let Some(after) = query.created_after {
        all.push(Box::new(cases::created_at.ge(after)));
    }
    if let Some(before) = query.created_before {
        all.push(Box::new(cases::created_at.lt(before)));
    }
    all_of(all)
}

impl CaseRepository for PgStore {
    async fn open_case(&self, opened: &OpenedCase, reviewable: &[SessionStatus]) -> Result<(), OpenCaseError> {
        let mut connection = self.connection().await.map_err(|e| OpenCaseError::Unavailable(e.0))?;
        let tenant = opened.case.tenant;
        let reviewable: Vec<&str> = reviewable.iter().map(|s| s.as_str()).collect();
        let now = opened.case.created_at;
        let result = connection
            .transaction::<_, TxError<OpenCaseError>, _>(async |connection| {
                {
                    // Lock the session so its status cannot change under the new case.
                    let status: Option<String> = sessions::table
                        .filter(sessions::org_id.eq(tenant.org_id.uuid()))
                        .filter(sessions::environment.eq(tenant.environment.as_str()))
                        .filter(sessions::id.eq(opened.case.session_id.uuid()))
                        .select(sessions::status)
                        .for_update()
                        .first(connection)
                        .await
                        .optional()?;
                    let has_case: bool = diesel::select(exists(
                        cases::table
                            .filter(cases::org_id.eq(tenant.org_id.uuid()))
                            .filter(cases::session_id.eq(opened.case.session_id.uuid())),
                    ))
                    .get_result(connection)
                    .await?;
                    match status {
                        None => return Err(TxError::Refused(OpenCaseError::SessionNotFound)),
                        Some(_) if has_case => {
                            return Err(TxError::Refused(OpenCaseError::CaseExists));
                        }
                        Some(status) if !reviewable.contains(&status.as_str()) => {
                            return Err(TxError::Refused(OpenCaseError::SessionNotReviewable));
                        }
                        Some(_) => {}
                    }
                    insert_opened(connection, opened).await?;
                    diesel::update(sessions::table)
                        .filter(sessions::org_id.eq(tenant.org_id.uuid()))
                        .filter(sessions::id.eq(opened.case.session_id.uuid()))
                        .filter(sessions::status.ne(SessionStatus::UnderReview.as_str()))
                        .set((
                            sessions::status.eq(SessionStatus::UnderReview.as_str()),
                            sessions::status_changed_at.eq(now),
                            sessions::updated_at.eq(now),
                            sessions::result_status.eq(SessionVerdict::NeedsReview.as_str()),
                        ))
                        .execute(connection)
                        .await?;
                    Ok(())
                }
            })
            .await;
        match result {
            Ok(()) => Ok(()),
            Err(TxError::Refused(refusal)) => Err(refusal),
            Err(TxError::Db(error)) => Err(match classify(error) {
                Failure::Constraint { name } if name == "cases_one_per_session" => OpenCaseError::CaseExists,
                Failure::Constraint { name } => {
                    OpenCaseError::Unknown(anyhow::anyhow!("unexpected violation of {name}"))
                }
                Failure::Unavailable(e) => OpenCaseError::Unavailable(e),
                Failure::Unknown(e) => OpenCaseError::Unknown(e),
            }),
        }
    }

    async fn find_case(&self, tenant: Tenant, id: CaseId) -> Result<Option<Case>, StoreError> {
        find_one(self, tenant, Box::new(cases::id.eq(id.uuid()))).await
    }

    async fn find_case_with_session(
        &self,
        tenant: Tenant,
        id: CaseId,
        pii: Pii,
    ) -> Result<Option<(Case, Session)>, StoreError> {
        // One statement: `GET /cases/{id}` is the most frequent read.
        let mut connection = self.connection().await?;
        let row: Option<(CaseRecord, SessionRecord)> = cases::table
            .inner_join(sessions::table.on(sessions::org_id.eq(cases::org_id).and(sessions::id.eq(cases::session_id))))
            .filter(cases::org_id.eq(tenant.org_id.uuid()))
            .filter(cases::environment.eq(tenant.environment.as_str()))
            .filter(cases::id.eq(id.uuid()))
            .select((CaseRecord::as_select(), SessionRecord::as_select()))
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        let Some((case, session)) = row else { return Ok(None) };
        let session = session.into_session(Some(id.uuid()), &self.cipher, pii)?;
        Ok(Some((case.into_case()?, session)))
    }

    async fn find_case_by_session(&self, tenant: Tenant, session_id: SessionId) -> Result<Option<Case>, StoreError> {
        find_one(self, tenant, Box::new(cases::session_id.eq(session_id.uuid()))).await
    }

    async fn list_cases(
        &self,
        tenant: Tenant,
        query: &CaseQuery,
        page: PageRequest,
        now: Timestamp,
    ) -> Result<Page<Case>, StoreError> {
        let mut connection = self.connection().await?;
        // A tab alone (or nothing) is counted from the tallies; other filters count their rows.
        let tallied = super::tallies::total_without_scan(&mut connection, tenant, query, now)
            .await
            .map_err(unavailable_or_unknown)?;
        let total = match tallied {
            Some(total) => total,
            None => {
                let counted: i64 = cases::table
                    .filter(conditions(tenant, query, now))
                    .count()
                    .get_result(&mut *connection)
                    .await
                    .map_err(unavailable_or_unknown)?;
                u64::try_from(counted).unwrap_or(0)
            }
        };
        let (limit, offset) = page_bounds(page);
        let mut rows = cases::table.filter(conditions(tenant, query, now)).select(CaseRecord::as_select()).into_boxed();
        rows = match (query.sort.key, query.sort.reversed) {
            (CaseSortKey::EnteredReviewAt, false) => rows.order_by((cases::entered_review_at.asc(), cases::id.asc())),
            (CaseSortKey::EnteredReviewAt, true) => rows.order_by((cases::entered_review_at.desc(), cases::id.asc())),
            (CaseSortKey::CreatedAt, false) => rows.order_by((cases::created_at.asc(), cases::id.asc())),
            (CaseSortKey::CreatedAt, true) => rows.order_by((cases::created_at.desc(), cases::id.asc())),
            (CaseSortKey::Priority, false) => rows.order_by((cases::priority_rank.desc(), cases::id.asc())),
            (CaseSortKey::Priority, true) => rows.order_by((cases::priority_rank.asc(), cases::id.asc())),
        };
        let records: Vec<CaseRecord> =
            rows.limit(limit).offset(offset).load(&mut *connection).await.map_err(unavailable_or_unknown)?;
        let items = records.into_iter().map(CaseRecord::into_case).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, total, request: page })
    }

    async fn search_cases(&self, tenant: Tenant, search: &Search, now: Timestamp) -> Result<Page<Case>, StoreError> {
        super::search::search_cases(self, tenant, search, now).await
    }

    async fn list_events(
        &self,
        tenant: Tenant,
        case_id: CaseId,
        page: PageRequest,
    ) -> Result<Page<RecordedEvent>, StoreError> {
        let mut connection = self.connection().await?;
        let in_case = case_events::org_id
            .eq(tenant.org_id.uuid())
            .and(case_events::environment.eq(tenant.environment.as_str()))
            .and(case_events::case_id.eq(case_id.uuid()));
        let total: i64 = case_events::table
            .filter(in_case)
            .count()
            .get_result(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let (limit, offset) = page_bounds(page);
        let records: Vec<EventRecord> = case_events::table
            .filter(in_case)
            .order_by(case_events::seq.asc())
            .select(EventRecord::as_select())
            .limit(limit)
            .offset(offset)
            .load(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let items = records
            .iter()
            .map(|record| {
                Ok(RecordedEvent { id: Id::from_uuid(record.id), case_id, tenant, event: parse_event(record)? })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page { items, total: u64::try_from(total).unwrap_or(0), request: page })
    }

    async fn save_change(&self, change: &CaseChange, expected_version: u64) -> Result<(), SaveChangeError> {
        let mut connection = self.connection().await.map_err(|e| SaveChangeError::Unavailable(e.0))?;
        let expected = i64::try_from(expected_version).unwrap_or(i64::MAX);
        let result = connection
            .transaction::<_, TxError<SaveChangeError>, _>(async |connection| {
                if write_change(self, connection, change, expected).await? {
                    Ok(())
                } else {
                    Err(TxError::Refused(SaveChangeError::VersionConflict))
                }
            })
            .await;
        match result {
            Ok(()) => Ok(()),
            Err(TxError::Refused(refusal)) => Err(refusal),
            Err(TxError::Db(error)) => Err(save_error(error)),
        }
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
        queue::claim_next(self, tenant, filter, now, pii, claim).await
    }

    async fn sweep_lapsed<F>(&self, now: Timestamp, limit: u32, lapse: F) -> Result<u32, StoreError>
    where
        F: Fn(Case) -> Option<CaseChange> + Send + Sync,
    {
        queue::sweep_lapsed(self, now, limit, lapse).await
    }

    async fn count_tabs(
        &self,
        tenant: Tenant,
        reviewer: Option<OrgUserId>,
        now: Timestamp,
    ) -> Result<TabCounts, StoreError> {
        super::tallies::count_tabs(self, tenant, reviewer, now).await
    }

    async fn tag_counts(&self, tenant: Tenant) -> Result<Vec<(Tag, u64)>, StoreError> {
        queue::tag_counts(self, tenant).await
    }

    async fn list_notes(&self, tenant: Tenant, case_id: CaseId, page: PageRequest) -> Result<Page<Note>, StoreError> {
        queue::list_notes(self, tenant, case_id, page).await
    }

    async fn list_blocklist(&self, tenant: Tenant, page: PageRequest) -> Result<Page<BlocklistRecord>, StoreError> {
        queue::list_blocklist(self, tenant, page).await
    }

    async fn insert_demo_case(&self, session: &Session, opened: &OpenedCase, limit: u32) -> Result<(), DemoCaseError> {
        queue::insert_demo_case(self, session, opened, limit).await
    }
}

/// The one case of the tenant matching `condition`, if any.
async fn find_one(store: &PgStore, tenant: Tenant, condition: Condition) -> Result<Option<Case>, StoreError> {
    let mut connection = store.connection().await?;
    let record: Option<CaseRecord> = cases::table
        .filter(in_tenant(tenant))
        .filter(condition)
        .select(CaseRecord::as_select())
        .first(&mut *connection)
        .await
        .optional()
        .map_err(unavailable_or_unknown)?;
    record.map(CaseRecord::into_case).transpose()
}

/// `PgStore::operational_counts`: one statement over every tenant.
pub(super) async fn operational_counts(
    store: &PgStore,
    now: Timestamp,
) -> Result<super::OperationalCounts, StoreError> {
    use super::schema::{webhook_deliveries, webhook_endpoints};
    let mut connection = store.connection().await?;
    let tab = |tab: Tab| compile(&rules::tab(tab, None), now);
    type Row = (i64, i64, i64, Option<Timestamp>, Option<Timestamp>, Option<Timestamp>);
    let (unassigned, pending, escalated, oldest_unassigned, oldest_pending, oldest_escalated): Row = cases::table
        .select((
            count(cases::id).aggregate_filter(tab(Tab::Unassigned)),
            count(cases::id).aggregate_filter(tab(Tab::PendingSecondReview)),
            count(cases::id).aggregate_filter(tab(Tab::Escalated)),
            diesel::dsl::min(cases::entered_review_at).aggregate_filter(tab(Tab::Unassigned)),
            diesel::dsl::min(cases::entered_review_at).aggregate_filter(tab(Tab::PendingSecondReview)),
            diesel::dsl::min(cases::entered_review_at).aggregate_filter(tab(Tab::Escalated)),
        ))
        .get_result(&mut *connection)
        .await
        .map_err(unavailable_or_unknown)?;
    let backlog: i64 = webhook_deliveries::table
        .filter(webhook_deliveries::state.eq("pending"))
        .count()
        .get_result(&mut *connection)
        .await
        .map_err(unavailable_or_unknown)?;
    let disabled: i64 = webhook_endpoints::table
        .filter(webhook_endpoints::enabled.eq(false))
        .count()
        .get_result(&mut *connection)
        .await
        .map_err(unavailable_or_unknown)?;
    let count = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(super::OperationalCounts {
        unassigned: count(unassigned),
        pending_second_review: count(pending),
        escalated: count(escalated),
        webhook_backlog: count(backlog),
        disabled_endpoints: count(disabled),
        oldest: [oldest_unassigned, oldest_pending, oldest_escalated],
    })
}
