//! The queue's statements: claim-next (`FOR UPDATE SKIP LOCKED` on its own index), the lapse
//! sweeper, tags, notes and blocklist listings, demo cases, and check-summary refreshes.

use casework_domain::Timestamp;
use casework_domain::case::queue as rules;
use casework_domain::case::{Case, Note, Tag};
use casework_domain::id::{CaseId, Id};
use casework_domain::page::{Page, PageRequest};
use casework_domain::ports::{
    BlocklistRecord, CaseChange, DemoCaseError, NextFilter, OpenedCase, Pii, SaveChangeError, StoreError,
};
use casework_domain::session::{Check, ChecksSummary, Session};
use casework_domain::tenant::Tenant;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgStore;
use super::changes::{insert_opened, write_change};
use super::errors::{save_error, unavailable_or_unknown};
use super::prepared::Prepared;
use super::records::{CaseRecord, NoteRecord, parse_checks};
use super::schema::{blocklist_entries, cases, environment_settings, notes, sessions};
use super::sessions::SessionRecord;
use super::sql::{TxError, compile, in_tenant, page_bounds};

fn page_of<T>(items: Vec<T>, total: i64, page: PageRequest) -> Page<T> {
    Page { items, total: u64::try_from(total).unwrap_or(0), request: page }
}

/// The first case `next` may hand out (the domain's rule and order), locked so that concurrent
/// callers skip it: `FOR UPDATE SKIP LOCKED` on the partial index `cases_claim_next_idx`, which is
/// shaped exactly like the rule.
pub(super) fn next_candidate(
    tenant: Tenant,
    filter: &NextFilter,
    now: Timestamp,
) -> impl diesel_async::methods::LoadQuery<'static, AsyncPgConnection, CaseRecord>
+ QueryFragment<Pg>
+ QueryId
+ Send
+ 'static {
    let eligible = rules::eligible_for_next(filter.reviewer, filter.priority, filter.tag.clone());
    // Its text depends only on which filters are set: kept prepared.
    Prepared(
        cases::table
            .filter(in_tenant(tenant))
            .filter(compile(&eligible, now))
            .order((cases::priority_rank.desc(), cases::entered_review_at.asc(), cases::id.asc()))
            .select(CaseRecord::as_select())
            .limit(1)
            .for_update()
            .skip_locked(),
    )
}

/// `EXPLAIN` of a statement, with the statement's own bind parameters.
struct Explain<Q>(Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: diesel::query_builder::AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("EXPLAIN ");
        self.0.walk_ast(out.reborrow())
    }
}

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> diesel::query_builder::Query for Explain<Q> {
    type SqlType = Text;
}

/// The plan PostgreSQL chooses for the claim-next statement (one line a row).
pub(super) async fn explain_next(
    store: &PgStore,
    tenant: Tenant,
    filter: &NextFilter,
    now: Timestamp,
) -> Result<Vec<String>, StoreError> {
    let mut connection = store.connection().await?;
    Explain(next_candidate(tenant, filter, now)).load::<String>(&mut *connection).await.map_err(unavailable_or_unknown)
}

/// `CaseRepository::claim_next`.
pub(super) async fn claim_next<F>(
    store: &PgStore,
    tenant: Tenant,
    filter: &NextFilter,
    now: Timestamp,
    pii: Pii,
    claim: F,
) -> Result<Option<(Case, Session)>, SaveChangeError>
where
    F: FnOnce(Case) -> Option<CaseChange> + Send,
{
    let mut connection = store.connection().await.map_err(|e| SaveChangeError::Unavailable(e.0))?;
    let result = connection
        .transaction::<_, TxError<SaveChangeError>, _>(async |connection| {
            let candidate: Option<CaseRecord> =
                next_candidate(tenant, filter, now).get_result(connection).await.optional()?;
            let Some(record) = candidate else { return Ok(None) };
            let version = record.version;
            let case =
                record.into_case().map_err(|e| TxError::Refused(SaveChangeError::Unknown(anyhow::Error::new(e))))?;
            let change = claim(case).ok_or_else(|| {
                TxError::Refused(SaveChangeError::Unknown(anyhow::anyhow!("an eligible case refused the claim")))
            })?;
            // The session is read in the write's round trip (and decrypted before the commit: a
            // failure here claims nothing).
            let shared: &AsyncPgConnection = connection;
            let session = sessions::table
                .filter(sessions::org_id.eq(tenant.org_id.uuid()))
                .filter(sessions::id.eq(change.case.session_id.uuid()))
                .select(SessionRecord::as_select())
                .get_result::<SessionRecord>(&mut &*shared);
            let (written, session) =
                futures_util::future::try_join(write_change(store, shared, &change, version), session).await?;
            if !written {
                return Err(TxError::Refused(SaveChangeError::VersionConflict));
            }
            let session = session
                .into_session(Some(change.case.id.uuid()), &store.cipher, pii)
                .map_err(|e| TxError::Refused(SaveChangeError::Unknown(anyhow::Error::new(e))))?;
            Ok(Some((change.case, session)))
        })
        .await;
    match result {
        Ok(case) => Ok(case),
        Err(TxError::Refused(refusal)) => Err(refusal),
        Err(TxError::Db(error)) => Err(save_error(error)),
    }
}

/// `CaseRepository::sweep_lapsed`.
pub(super) async fn sweep_lapsed<F>(store: &PgStore, now: Timestamp, limit: u32, lapse: F) -> Result<u32, StoreError>
where
    F: Fn(Case) -> Option<CaseChange> + Send + Sync,
{
    let mut connection = store.connection().await?;
    connection
        .transaction::<_, diesel::result::Error, _>(async |connection| {
            let records: Vec<CaseRecord> = cases::table
                .filter(cases::claim_expires_at.le(now))
                .order_by(cases::claim_expires_at.asc())
                .limit(i64::from(limit))
                .for_update()
                .skip_locked()
                .select(CaseRecord::as_select())
                .load(connection)
                .await?;
            let mut swept = 0;
            for record in records {
                let version = record.version;
                let Ok(case) = record.into_case() else { continue };
                let Some(change) = lapse(case) else { continue };
                // The row is locked: its version cannot have moved (if it had, the events sent
                // with the update must not stay).
                if !write_change(store, connection, &change, version).await? {
                    return Err(diesel::result::Error::RollbackTransaction);
                }
                swept += 1;
            }
            Ok(swept)
        })
        .await
        .map_err(unavailable_or_unknown)
}

#[derive(QueryableByName)]
struct TagCount {
    #[diesel(sql_type = Text)]
    tag: String,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// `CaseRepository::tag_counts`.
pub(super) async fn tag_counts(store: &PgStore, tenant: Tenant) -> Result<Vec<(Tag, u64)>, StoreError> {
    let mut connection = store.connection().await?;
    let rows: Vec<TagCount> = diesel::sql_query(
        "SELECT tag, count(*) AS count FROM cases, unnest(tags) AS tag \
         WHERE org_id = $1 AND environment = $2 GROUP BY tag ORDER BY tag",
    )
    .bind::<SqlUuid, _>(tenant.org_id.uuid())
    .bind::<Text, _>(tenant.environment.as_str())
    .load(&mut *connection)
    .await
    .map_err(unavailable_or_unknown)?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Tag::parse(&row.tag).ok().map(|tag| (tag, u64::try_from(row.count).unwrap_or(0))))
        .collect())
}

/// `CaseRepository::list_notes`.
pub(super) async fn list_notes(
    store: &PgStore,
    tenant: Tenant,
    case_id: CaseId,
    page: PageRequest,
) -> Result<Page<Note>, StoreError> {
    let mut connection = store.connection().await?;
    let in_case = notes::org_id
        .eq(tenant.org_id.uuid())
        .and(notes::environment.eq(tenant.environment.as_str()))
        .and(notes::case_id.eq(case_id.uuid()));
    let total: i64 =
        notes::table.filter(in_case).count().get_result(&mut *connection).await.map_err(unavailable_or_unknown)?;
    let (limit, offset) = page_bounds(page);
    let records: Vec<NoteRecord> = notes::table
        .filter(in_case)
        .order_by(notes::seq.asc())
        .select(NoteRecord::as_select())
        .limit(limit)
        .offset(offset)
        .load(&mut *connection)
        .await
        .map_err(unavailable_or_unknown)?;
    let items = records.into_iter().map(NoteRecord::into_note).collect::<Result<Vec<_>, _>>()?;
    Ok(page_of(items, total, page))
}

/// `CaseRepository::list_blocklist`.
pub(super) async fn list_blocklist(
    store: &PgStore,
    tenant: Tenant,
    page: PageRequest,
) -> Result<Page<BlocklistRecord>, StoreError> {
    let mut connection = store.connection().await?;
    let in_tenant = blocklist_entries::org_id
        .eq(tenant.org_id.uuid())
        .and(blocklist_entries::environment.eq(tenant.environment.as_str()));
    let total: i64 = blocklist_entries::table
        .filter(in_tenant)
        .count()
        .get_result(&mut *connection)
        .await
        .map_err(unavailable_or_unknown)?;
    let (limit, offset) = page_bounds(page);
    let rows: Vec<(Uuid, Uuid, Timestamp)> = blocklist_entries::table
        .filter(in_tenant)
        .order_by((blocklist_entries::created_at.asc(), blocklist_entries::id.asc()))
        .select((blocklist_entries::id, blocklist_entries::case_id, blocklist_entries::created_at))
        .limit(limit)
        .offset(offset)
        .load(&mut *connection)
        .await
        .map_err(unavailable_or_unknown)?;
    let items = rows
        .into_iter()
        .map(|(id, case_id, created_at)| BlocklistRecord {
            id: Id::from_uuid(id),
            case_id: Id::from_uuid(case_id),
            created_at,
        })
        .collect();
    Ok(page_of(items, total, page))
}

/// `CaseRepository::insert_demo_case`: the environment's settings row is the lock that keeps
/// concurrent requests under the limit.
pub(super) async fn insert_demo_case(
    store: &PgStore,
    session: &Session,
    opened: &OpenedCase,
    limit: u32,
) -> Result<(), DemoCaseError> {
    let mut connection = store.connection().await.map_err(StoreError::from)?;
    let tenant = session.tenant;
    let record = SessionRecord::from_session(session, &store.cipher);
    let result = connection
        .transaction::<_, TxError<DemoCaseError>, _>(async |connection| {
            environment_settings::table
                .filter(environment_settings::org_id.eq(tenant.org_id.uuid()))
                .filter(environment_settings::environment.eq(tenant.environment.as_str()))
                .select(environment_settings::org_id)
                .for_update()
                .load::<Uuid>(connection)
                .await?;
            let existing: i64 = cases::table
                .filter(cases::org_id.eq(tenant.org_id.uuid()))
                .filter(cases::environment.eq(tenant.environment.as_str()))
                .filter(cases::is_demo.eq(true))
                .count()
                .get_result(connection)
                .await?;
            if existing >= i64::from(limit) {
                return Err(TxError::Refused(DemoCaseError::LimitReached));
            }
            diesel::insert_into(sessions::table).values(&record).execute(connection).await?;
            insert_opened(connection, opened).await?;
            Ok(())
        })
        .await;
    match result {
        Ok(()) => Ok(()),
        Err(TxError::Refused(refusal)) => Err(refusal),
        Err(TxError::Db(error)) => Err(DemoCaseError::Store(unavailable_or_unknown(error))),
    }
}

/// `SessionRepository::refresh_summaries`.
pub(super) async fn refresh_summaries<F>(store: &PgStore, limit: u32, summarize: F) -> Result<u32, StoreError>
where
    F: Fn(&[Check]) -> ChecksSummary + Send + Sync,
{
    let mut connection = store.connection().await?;
    connection
        .transaction::<_, diesel::result::Error, _>(async |connection| {
            let stale: Vec<(Uuid, Uuid, serde_json::Value)> = sessions::table
                .filter(sessions::checks_summary_stale.eq(true))
                .limit(i64::from(limit))
                .for_update()
                .skip_locked()
                .select((sessions::org_id, sessions::id, sessions::checks))
                .load(connection)
                .await?;
            let mut refreshed = 0;
            for (org_id, id, checks) in stale {
                let Ok(checks) = parse_checks(&checks) else { continue };
                let summary = super::records::summary_json(&summarize(&checks));
                diesel::update(sessions::table)
                    .filter(sessions::org_id.eq(org_id))
                    .filter(sessions::id.eq(id))
                    .set((sessions::checks_summary.eq(summary), sessions::checks_summary_stale.eq(false)))
                    .execute(connection)
                    .await?;
                refreshed += 1;
            }
            Ok(refreshed)
        })
        .await
        .map_err(unavailable_or_unknown)
}

#[derive(QueryableByName)]
struct Expired {
    #[diesel(sql_type = SqlUuid)]
    org_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// `SessionRepository::wipe_expired_pii`.
pub(super) async fn wipe_expired_pii<F>(
    store: &PgStore,
    now: Timestamp,
    retention: &rules::Retention,
    limit: u32,
    redact: F,
) -> Result<u32, StoreError>
where
    F: Fn(Case) -> Option<CaseChange> + Send + Sync,
{
    let terminal: Vec<String> = retention.terminal.iter().map(|s| s.as_str().to_owned()).collect();
    let mut connection = store.connection().await?;
    connection
        .transaction::<_, diesel::result::Error, _>(async |connection| {
            let expired: Vec<Expired> = diesel::sql_query(
                "SELECT s.org_id, s.id FROM sessions s \
                 JOIN environment_settings e ON e.org_id = s.org_id AND e.environment = s.environment \
                 WHERE e.sensitive_data_retention_days IS NOT NULL AND NOT s.sensitive_data_expired \
                   AND s.status = ANY($1) \
                   AND s.status_changed_at <= $2 - make_interval(days => e.sensitive_data_retention_days) \
                 LIMIT $3 FOR UPDATE OF s SKIP LOCKED",
            )
            .bind::<diesel::sql_types::Array<Text>, _>(&terminal)
            .bind::<Timestamptz, _>(now)
            .bind::<BigInt, _>(i64::from(limit))
            .load(connection)
            .await?;
            let mut wiped = 0;
            for session in expired {
                diesel::update(sessions::table)
                    .filter(sessions::org_id.eq(session.org_id))
                    .filter(sessions::id.eq(session.id))
                    .set((
                        sessions::extracted_data_ciphertext.eq(None::<Vec<u8>>),
                        sessions::extracted_data_key_id.eq(None::<String>),
                        sessions::sensitive_data_expired.eq(true),
                        sessions::updated_at.eq(now),
                    ))
                    .execute(connection)
                    .await?;
                wiped += 1;
                let record: Option<CaseRecord> = cases::table
                    .filter(cases::org_id.eq(session.org_id))
                    .filter(cases::session_id.eq(session.id))
                    .select(CaseRecord::as_select())
                    .for_update()
                    .first(connection)
                    .await
                    .optional()?;
                let Some(record) = record else { continue };
                let version = record.version;
                let Some(change) = record.into_case().ok().and_then(&redact) else { continue };
                if !write_change(store, connection, &change, version).await? {
                    return Err(diesel::result::Error::RollbackTransaction);
                }
            }
            Ok(wiped)
        })
        .await
        .map_err(unavailable_or_unknown)
}
