//! Counts that do not scan history: the tab counts and list totals read the maintained tallies
//! (`case_tallies` plus the deltas every write appends, see the `tallies` migration) and scan
//! only what time alone changes — the undecided cases holding a lease, and the reviewer's own —
//! through partial indexes on undecided cases. A compactor folds the deltas into the tallies.
//!
//! `GET /cases/counts` may lag by up to 1 s (API.md §3): its answers are kept for
//! [`COUNTS_TTL`] per tenant and reviewer, and forgotten sooner when a change to the tenant is
//! heard (`PgStore::forget_counts`, called on every instance by the listener of committed
//! changes). List totals are always read fresh.

use std::time::Duration;

use casework_domain::Timestamp;
use casework_domain::case::CaseStatus;
use casework_domain::case::queue::{self as rules, LeaseState, Rule};
use casework_domain::id::OrgUserId;
use casework_domain::page::{CaseQuery, Tab};
use casework_domain::ports::{StoreError, TabCounts};
use casework_domain::tenant::Tenant;
use diesel::dsl::count;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use super::PgStore;
use super::errors::unavailable_or_unknown;
use super::recent::Recent;
use super::schema::cases;
use super::sql::{compile, in_tenant};

/// How long a tenant's counts are served from memory (within the 1 s the contract allows).
const COUNTS_TTL: Duration = Duration::from_millis(500);

/// Whose counts: the tenant's, with `mine` for the reviewer.
type CountsKey = (Tenant, Option<OrgUserId>);

/// Recently computed counts, by tenant and reviewer.
#[derive(Debug)]
pub(super) struct CountsCache(Recent<CountsKey, TabCounts>);

impl Default for CountsCache {
    fn default() -> Self {
        Self(Recent::new(COUNTS_TTL))
    }
}

/// One tenant's tallies: cases per bucket, exact as of the statement's snapshot.
#[derive(Debug, Default)]
struct Tallies {
    open_unassigned: i64,
    pending_second_review: i64,
    escalated: i64,
    all: i64,
}

#[derive(QueryableByName)]
struct BucketRow {
    #[diesel(sql_type = Text)]
    bucket: String,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct BucketCount {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

async fn tallies(connection: &mut AsyncPgConnection, tenant: Tenant) -> Result<Tallies, diesel::result::Error> {
    let rows: Vec<BucketRow> = diesel::sql_query(
        "SELECT bucket, sum(n)::bigint AS n FROM ( \
             SELECT bucket, n FROM case_tallies WHERE org_id = $1 AND environment = $2 \
             UNION ALL \
             SELECT bucket, delta FROM case_tally_deltas WHERE org_id = $1 AND environment = $2 \
         ) AS parts GROUP BY bucket",
    )
    .bind::<diesel::sql_types::Uuid, _>(tenant.org_id.uuid())
    .bind::<Text, _>(tenant.environment.as_str())
    .load(connection)
    .await?;
    let mut tallies = Tallies::default();
    for row in rows {
        tallies.all += row.n;
        match row.bucket.as_str() {
            "open_unassigned" => tallies.open_unassigned = row.n,
            "pending_second_review" => tallies.pending_second_review = row.n,
            "escalated" => tallies.escalated = row.n,
            _ => {}
        }
    }
    Ok(tallies)
}

/// What only a scan can tell, over undecided cases that hold a lease or are the reviewer's:
/// `in_review` cases whose lease lapsed (they read as unassigned) and the reviewer's `mine`.
async fn leased(
    connection: &mut AsyncPgConnection,
    tenant: Tenant,
    reviewer: Option<OrgUserId>,
    now: Timestamp,
) -> Result<(i64, i64), diesel::result::Error> {
    let lapsed_in_review = Rule::All(vec![Rule::Status(vec![CaseStatus::InReview]), Rule::Lease(LeaseState::Lapsed)]);
    // Candidates: every lease (whoever holds it) and every case assigned or escalated to the
    // reviewer — never the decided history.
    let mut candidates = vec![Rule::Status(vec![CaseStatus::InReview, CaseStatus::Escalated])];
    candidates.extend(reviewer.map(|r| Rule::AssignedTo(vec![r])));
    cases::table
        .filter(in_tenant(tenant))
        .filter(cases::decision.is_null())
        .filter(compile(&Rule::Any(candidates), now))
        .select((
            count(cases::id).aggregate_filter(compile(&lapsed_in_review, now)),
            count(cases::id).aggregate_filter(compile(&rules::tab(Tab::Mine, reviewer), now)),
        ))
        .get_result(connection)
        .await
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The tab counts, read fresh.
async fn fresh_counts(
    connection: &mut AsyncPgConnection,
    tenant: Tenant,
    reviewer: Option<OrgUserId>,
    now: Timestamp,
) -> Result<TabCounts, diesel::result::Error> {
    let tallies = tallies(connection, tenant).await?;
    let (lapsed, mine) = leased(connection, tenant, reviewer, now).await?;
    Ok(TabCounts {
        unassigned: unsigned(tallies.open_unassigned + lapsed),
        mine: unsigned(mine),
        pending_second_review: unsigned(tallies.pending_second_review),
        escalated: unsigned(tallies.escalated),
        all: unsigned(tallies.all),
    })
}

/// `CaseRepository::count_tabs`: from memory when computed less than [`COUNTS_TTL`] ago.
pub(super) async fn count_tabs(
    store: &PgStore,
    tenant: Tenant,
    reviewer: Option<OrgUserId>,
    now: Timestamp,
) -> Result<TabCounts, StoreError> {
    let key = (tenant, reviewer);
    if let Some(counts) = store.counts.0.get(&key) {
        return Ok(counts);
    }
    let generation = store.counts.0.generation();
    let mut connection = store.connection().await?;
    let counts = fresh_counts(&mut connection, tenant, reviewer, now).await.map_err(unavailable_or_unknown)?;
    store.counts.0.put(key, counts, generation);
    Ok(counts)
}

/// The exact total of a list whose only filter is a tab (or nothing), from the tallies; `None`
/// when the query filters on anything else (the caller counts the matching rows).
pub(super) async fn total_without_scan(
    connection: &mut AsyncPgConnection,
    tenant: Tenant,
    query: &CaseQuery,
    now: Timestamp,
) -> Result<Option<u64>, diesel::result::Error> {
    let unfiltered = CaseQuery { tab: query.tab, reviewer: query.reviewer, sort: query.sort, ..CaseQuery::default() };
    if *query != unfiltered {
        return Ok(None);
    }
    let total = match query.tab {
        // The tallies alone answer these.
        None | Some(Tab::All | Tab::PendingSecondReview | Tab::Escalated) => {
            let tallies = tallies(connection, tenant).await?;
            match query.tab {
                Some(Tab::PendingSecondReview) => tallies.pending_second_review,
                Some(Tab::Escalated) => tallies.escalated,
                _ => tallies.all,
            }
        }
        Some(Tab::Unassigned) => {
            let open_unassigned = tallies(connection, tenant).await?.open_unassigned;
            open_unassigned + leased(connection, tenant, None, now).await?.0
        }
        Some(Tab::Mine) => leased(connection, tenant, query.reviewer, now).await?.1,
    };
    Ok(Some(unsigned(total)))
}

/// Folds up to `limit` deltas into the tallies, in one transaction; how many it folded. Deltas
/// another instance is folding are skipped.
async fn compact(store: &PgStore, limit: u32) -> Result<u32, StoreError> {
    let mut connection = store.connection().await?;
    let folded: BucketCount = diesel::sql_query(
        "WITH picked AS ( \
             SELECT id FROM case_tally_deltas ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED \
         ), moved AS ( \
             DELETE FROM case_tally_deltas d USING picked WHERE d.id = picked.id \
             RETURNING d.org_id, d.environment, d.bucket, d.delta \
         ), folded AS ( \
             INSERT INTO case_tallies AS t (org_id, environment, bucket, n) \
             SELECT org_id, environment, bucket, sum(delta) FROM moved GROUP BY 1, 2, 3 \
             ON CONFLICT (org_id, environment, bucket) DO UPDATE SET n = t.n + excluded.n \
         ) \
         SELECT count(*) AS n FROM moved",
    )
    .bind::<BigInt, _>(i64::from(limit))
    .get_result(&mut *connection)
    .await
    .map_err(unavailable_or_unknown)?;
    let folded = folded.n;
    Ok(u32::try_from(folded).unwrap_or(u32::MAX))
}

impl PgStore {
    /// Forgets the counts kept for `tenant` (every tenant: `None`): a change committed there,
    /// and the next read must see it.
    pub fn forget_counts(&self, tenant: Option<Tenant>) {
        self.counts.0.forget(|(each, _)| tenant.is_none_or(|tenant| *each == tenant));
    }

    /// Folds up to `limit` tally deltas into the tallies (the workers run this every second);
    /// how many it folded.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn compact_tallies(&self, limit: u32) -> Result<u32, StoreError> {
        compact(self, limit).await
    }
}
