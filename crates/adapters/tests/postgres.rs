//! Adapter tests against real PostgreSQL: a fresh database per test.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a failed test")]

use std::sync::Arc;
use std::time::Duration;

use casework_adapters::auth::ApiKeySecret;
use casework_adapters::postgres::{MIGRATIONS, PgStore, PoolOptions, build_pool};
use casework_adapters::system::{SystemClock, UuidV7Ids};
use casework_adapters::testing::{TestDatabase, test_cipher};
use casework_domain::case::{Actor, Case, CaseStatus, EventType, lifecycle::Caller};
use casework_domain::directory::{ApiKey, AuthError, OrgUser, Role, Scope, Scopes};
use casework_domain::id::{Id, OrgId};
use casework_domain::page::{CaseQuery, PageRequest, Tab};
use casework_domain::ports::{
    ApiKeyStore, CaseChange, CaseRepository, Clock, IdGenerator, IdempotencyScope, IdempotencyStart, IdempotencyStore,
    NextFilter, OpenCaseError, OpenedCase, Pii, RecordedEvent, SaveChangeError, SessionRepository, StoreError,
    StoredResponse,
};
use casework_domain::session::{ExtractedData, Session, SessionStatus};
use casework_domain::tenant::{Environment, Organization, Tenant};
use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::MigrationHarness;
use secrecy::SecretString;
use serde_json::json;

struct World {
    _db: TestDatabase,
    store: PgStore,
    url: String,
    org: OrgId,
}

impl World {
    async fn new() -> Self {
        let db = TestDatabase::new().await;
        let store = db.store();
        let org = Organization { id: UuidV7Ids.generate(), name: "Acme".into(), created_at: SystemClock.now() };
        store.create_organization(&org, &[]).await.unwrap();
        Self { url: db.url().to_owned(), store, _db: db, org: org.id }
    }

    fn tenant(&self, environment: Environment) -> Tenant {
        Tenant { org_id: self.org, environment }
    }

    async fn user(&self, email: &str) -> OrgUser {
        let user = OrgUser {
            id: UuidV7Ids.generate(),
            org_id: self.org,
            name: email.into(),
            email: email.into(),
            role: Role::Reviewer,
            active: true,
            created_at: SystemClock.now(),
        };
        self.store.create_org_user(&user).await.unwrap();
        user
    }

    fn session(&self, environment: Environment, status: SessionStatus) -> Session {
        let now = SystemClock.now();
        let pii = json!({"first_name": "Ada", "ssn": "123-45-6789"});
        Session {
            id: UuidV7Ids.generate(),
            tenant: self.tenant(environment),
            external_ref: Some("user_4812".into()),
            metadata: Default::default(),
            status,
            checks: vec![],
            checks_summary: Default::default(),
            extracted_data: ExtractedData::parse(pii.as_object().unwrap(), "extracted_data").unwrap(),
            sensitive_data_expired: false,
            case_id: None,
            result: None,
            status_changed_at: now,
            created_at: now,
            updated_at: now,
        }
    }

    fn opened(&self, session: &Session) -> OpenedCase {
        let (case, event) =
            Case::open(UuidV7Ids.generate(), session.tenant, session.id, false, Actor::System, SystemClock.now());
        let event = RecordedEvent { id: UuidV7Ids.generate(), case_id: case.id, tenant: case.tenant, event };
        OpenedCase { case, event }
    }

    async fn open_case(&self, environment: Environment) -> Case {
        let session = self.session(environment, SessionStatus::UnderReview);
        let opened = self.opened(&session);
        self.store.insert_session(&session, Some(&opened), &[]).await.unwrap();
        opened.case
    }

    async fn query<T: QueryableByName<diesel::pg::Pg> + Send + 'static>(&self, sql: &str) -> Vec<T> {
        let mut connection = AsyncPgConnection::establish(&self.url).await.unwrap();
        diesel::sql_query(sql).load(&mut connection).await.unwrap()
    }
}

/// The change of `reviewer` claiming `case` at `now`, with its event.
fn claim_change(case: &Case, reviewer: &OrgUser, now: casework_domain::Timestamp) -> CaseChange {
    let caller = Caller { actor: Actor::System, reviewer: Some(reviewer.id), is_admin: false, now };
    let transition = case.claim(&caller, reviewer.id, time::Duration::minutes(30)).unwrap();
    let event =
        RecordedEvent { id: UuidV7Ids.generate(), case_id: case.id, tenant: case.tenant, event: transition.event };
    CaseChange { events: vec![event], case: transition.case, note: None, session: Default::default() }
}

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_go_up_down_and_up_again() {
    let db = TestDatabase::new().await;
    let connection = AsyncPgConnection::establish(db.url()).await.unwrap();
    tokio::task::spawn_blocking(move || {
        let mut harness = AsyncMigrationHarness::new(connection);
        let reverted = harness.revert_all_migrations(MIGRATIONS).unwrap().len();
        assert!(reverted > 0);
        assert_eq!(harness.pending_migrations(MIGRATIONS).unwrap().len(), reverted);
        let applied = harness.run_pending_migrations(MIGRATIONS).unwrap().len();
        assert_eq!(applied, reverted);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn claim_next_query_uses_its_index_in_queue_order() {
    let world = World::new().await;
    // A queue with rows and fresh statistics, so the planner chooses as it would in service.
    for _ in 0..60 {
        world.open_case(Environment::Sandbox).await;
    }
    let mut connection = AsyncPgConnection::establish(&world.url).await.unwrap();
    diesel::sql_query("ANALYZE cases").execute(&mut connection).await.unwrap();
    let filter = NextFilter { reviewer: Id::from_uuid(uuid::Uuid::from_u128(1)), priority: None, tag: None };
    let now = time::macros::datetime!(2026-11-25 10:00 UTC);
    // The first plans of a prepared statement are custom, the later ones may be generic: both
    // must use the index, so look at several.
    for _ in 0..7 {
        let plan = world.store.explain_claim_next(world.tenant(Environment::Sandbox), &filter, now).await.unwrap();
        let plan: String = plan.into_iter().map(|l| l + "\n").collect();
        assert!(plan.contains("cases_claim_next_idx"), "plan does not use the claim-next index:\n{plan}");
        assert!(!plan.contains("Sort"), "the index should give the queue order without sorting:\n{plan}");
        assert!(plan.contains("LockRows"), "the candidate is locked (FOR UPDATE SKIP LOCKED):\n{plan}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_under_review_opens_its_case_with_event_and_outbox_row() {
    let world = World::new().await;
    let case = world.open_case(Environment::Sandbox).await;
    let tenant = world.tenant(Environment::Sandbox);
    let stored = world.store.find_case(tenant, case.id).await.unwrap().unwrap();
    assert_eq!(stored, case);
    let session = world.store.find_session(tenant, case.session_id, Pii::Include).await.unwrap().unwrap();
    assert_eq!(session.case_id, Some(case.id));
    assert_eq!(session.extracted_data.as_map()["ssn"], json!("123-45-6789"));
    let events = world.store.list_events(tenant, case.id, PageRequest::new(10, 0)).await.unwrap();
    assert_eq!(events.items.iter().map(|e| e.event.event_type).collect::<Vec<_>>(), vec![EventType::Created]);
    let outbox: Vec<Line> = world.query("SELECT event AS line FROM webhook_outbox").await;
    assert_eq!(outbox.iter().map(|l| l.line.as_str()).collect::<Vec<_>>(), vec!["case.created"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn pii_is_encrypted_at_rest_and_never_in_outbox_or_events() {
    let world = World::new().await;
    world.open_case(Environment::Sandbox).await;
    let rows: Vec<Line> = world
        .query(
            "SELECT encode(extracted_data_ciphertext, 'escape') || extracted_data_key_id AS line FROM sessions \
             UNION ALL SELECT payload::text FROM webhook_outbox UNION ALL SELECT changes::text FROM case_events",
        )
        .await;
    assert_eq!(rows.len(), 3);
    for row in rows {
        assert!(!row.line.contains("123-45-6789") && !row.line.contains("Ada"), "PII in clear: {}", row.line);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_case_per_session_even_when_two_requests_race() {
    let world = World::new().await;
    let session = world.session(Environment::Live, SessionStatus::Processing);
    world.store.insert_session(&session, None, &[]).await.unwrap();
    let reviewable = [SessionStatus::Processing];
    let (a, b) = (world.opened(&session), world.opened(&session));
    let (first, second) = tokio::join!(world.store.open_case(&a, &reviewable), world.store.open_case(&b, &reviewable));
    let outcomes = [first, second];
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| matches!(o, Err(OpenCaseError::CaseExists))).count(), 1, "{outcomes:?}");
    let session =
        world.store.find_session(world.tenant(Environment::Live), session.id, Pii::Include).await.unwrap().unwrap();
    assert_eq!(session.status, SessionStatus::UnderReview);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_is_not_opened_for_an_unreviewable_or_unknown_session() {
    let world = World::new().await;
    let session = world.session(Environment::Live, SessionStatus::Expired);
    world.store.insert_session(&session, None, &[]).await.unwrap();
    let result = world.store.open_case(&world.opened(&session), &[SessionStatus::Processing]).await;
    assert!(matches!(result, Err(OpenCaseError::SessionNotReviewable)));
    let ghost = world.session(Environment::Live, SessionStatus::Processing);
    let result = world.store.open_case(&world.opened(&ghost), &[SessionStatus::Processing]).await;
    assert!(matches!(result, Err(OpenCaseError::SessionNotFound)));
}

#[tokio::test(flavor = "multi_thread")]
async fn two_transactions_racing_on_one_version_commit_exactly_once() {
    let world = World::new().await;
    let case = world.open_case(Environment::Sandbox).await;
    let (alice, bob) = (world.user("alice@example.com").await, world.user("bob@example.com").await);
    let now = SystemClock.now();
    let (a, b) = (claim_change(&case, &alice, now), claim_change(&case, &bob, now));
    let (first, second) = tokio::join!(world.store.save_change(&a, 1), world.store.save_change(&b, 1));
    let outcomes = [first, second];
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| matches!(o, Err(SaveChangeError::VersionConflict))).count(), 1);
    let stored = world.store.find_case(case.tenant, case.id).await.unwrap().unwrap();
    assert_eq!(stored.version, 2);
    let events = world.store.list_events(case.tenant, case.id, PageRequest::new(10, 0)).await.unwrap();
    assert_eq!(events.total, 2, "the loser left no event behind");
}

#[tokio::test(flavor = "multi_thread")]
async fn lists_read_a_lapsed_lease_as_released() {
    let world = World::new().await;
    let case = world.open_case(Environment::Sandbox).await;
    let alice = world.user("alice@example.com").await;
    let claimed_at = SystemClock.now();
    world.store.save_change(&claim_change(&case, &alice, claimed_at), 1).await.unwrap();
    let count = |query: CaseQuery, minutes: i64| {
        let store = world.store.clone();
        async move {
            let now = claimed_at + time::Duration::minutes(minutes);
            store.list_cases(case.tenant, &query, PageRequest::new(25, 0), now).await.unwrap().total
        }
    };
    let status = |s: CaseStatus| CaseQuery { statuses: vec![s], ..CaseQuery::default() };
    let mine = CaseQuery { tab: Some(Tab::Mine), reviewer: Some(alice.id), ..CaseQuery::default() };
    let unassigned = CaseQuery { tab: Some(Tab::Unassigned), ..CaseQuery::default() };
    assert_eq!((count(status(CaseStatus::InReview), 10).await, count(status(CaseStatus::Open), 10).await), (1, 0));
    assert_eq!((count(mine.clone(), 10).await, count(unassigned.clone(), 10).await), (1, 0));
    assert_eq!((count(status(CaseStatus::InReview), 30).await, count(status(CaseStatus::Open), 30).await), (0, 1));
    assert_eq!((count(mine, 30).await, count(unassigned, 30).await), (0, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_and_environments_do_not_see_each_other() {
    let world = World::new().await;
    let case = world.open_case(Environment::Sandbox).await;
    let live = world.tenant(Environment::Live);
    assert_eq!(world.store.find_case(live, case.id).await.unwrap(), None);
    assert_eq!(world.store.find_session(live, case.session_id, Pii::Include).await.unwrap(), None);
    let other = Tenant { org_id: Id::from_uuid(uuid::Uuid::now_v7()), environment: Environment::Sandbox };
    assert_eq!(world.store.find_case(other, case.id).await.unwrap(), None);
    let listed = world.store.list_cases(other, &CaseQuery::default(), PageRequest::new(25, 0), SystemClock.now()).await;
    assert_eq!(listed.unwrap().total, 0);
}

fn key(world: &World, environment: Environment, user: Option<&OrgUser>) -> (ApiKey, ApiKeySecret) {
    let key = ApiKey {
        id: UuidV7Ids.generate(),
        tenant: world.tenant(environment),
        name: "reviewer tool".into(),
        scopes: [Scope::CasesRead].into_iter().collect::<Scopes>(),
        org_user_id: user.map(|u| u.id),
        expires_at: None,
        last_used_at: None,
        created_at: SystemClock.now(),
        revoked_at: None,
    };
    (key, ApiKeySecret::generate(environment))
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_authenticate_by_hash_and_refuse_revoked_expired_and_unknown() {
    let world = World::new().await;
    let alice = world.user("alice@example.com").await;
    let (valid, secret) = key(&world, Environment::Live, Some(&alice));
    world.store.create_api_key(&valid, &secret).await.unwrap();
    let now = SystemClock.now();
    let principal = world.store.authenticate(secret.expose(), now).await.unwrap();
    assert_eq!((principal.key_id, principal.tenant), (valid.id, valid.tenant));
    assert_eq!(principal.user.map(|u| u.id), Some(alice.id));
    assert!(principal.scopes.allows(Scope::CasesRead));

    let stored: Vec<Line> = world.query("SELECT encode(key_hash, 'hex') AS line FROM api_keys").await;
    assert!(stored.iter().all(|l| !l.line.contains(secret.expose())));

    let (expiring, expiring_secret) = key(&world, Environment::Live, None);
    let expiring = ApiKey { expires_at: Some(now + time::Duration::minutes(1)), ..expiring };
    world.store.create_api_key(&expiring, &expiring_secret).await.unwrap();
    assert!(world.store.authenticate(expiring_secret.expose(), now).await.is_ok());
    let later = now + time::Duration::minutes(2);
    assert!(matches!(world.store.authenticate(expiring_secret.expose(), later).await, Err(AuthError::Unauthorized)));

    world.store.revoke_api_key(valid.id, now).await.unwrap();
    assert!(matches!(world.store.authenticate(secret.expose(), now).await, Err(AuthError::Unauthorized)));
    let unknown = ApiKeySecret::generate(Environment::Live);
    assert!(matches!(world.store.authenticate(unknown.expose(), now).await, Err(AuthError::Unauthorized)));
    assert!(matches!(world.store.authenticate("not a key", now).await, Err(AuthError::Unauthorized)));
}

#[tokio::test(flavor = "multi_thread")]
async fn another_instance_refuses_a_revoked_key_or_deactivated_user_within_half_a_second() {
    let world = World::new().await;
    let other_instance = world._db.store();
    let alice = world.user("alice@example.com").await;
    let (bound, bound_secret) = key(&world, Environment::Live, Some(&alice));
    let (plain, plain_secret) = key(&world, Environment::Live, None);
    for (key, secret) in [(&bound, &bound_secret), (&plain, &plain_secret)] {
        world.store.create_api_key(key, secret).await.unwrap();
        // The other instance has the key cached.
        assert!(other_instance.authenticate(secret.expose(), SystemClock.now()).await.is_ok());
    }
    world.store.revoke_api_key(plain.id, SystemClock.now()).await.unwrap();
    let patch = casework_domain::directory::OrgUserPatch { active: Some(false), ..Default::default() };
    casework_domain::ports::DirectoryRepository::update_org_user(
        &world.store,
        world.tenant(Environment::Live),
        alice.id,
        &patch,
        SystemClock.now(),
    )
    .await
    .unwrap();
    // This instance at once; the other within its cache's lifetime.
    assert!(world.store.authenticate(plain_secret.expose(), SystemClock.now()).await.is_err());
    assert!(world.store.authenticate(bound_secret.expose(), SystemClock.now()).await.is_err());
    let started = std::time::Instant::now();
    for secret in [&plain_secret, &bound_secret] {
        while other_instance.authenticate(secret.expose(), SystemClock.now()).await.is_ok() {
            assert!(started.elapsed() < Duration::from_millis(600), "still accepted after {:?}", started.elapsed());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test(flavor = "multi_thread")]
async fn org_user_emails_are_unique_per_org_ignoring_case() {
    let world = World::new().await;
    world.user("Alice@Example.com").await;
    let duplicate = OrgUser {
        id: UuidV7Ids.generate(),
        org_id: world.org,
        name: "Alice again".into(),
        email: "alice@example.COM".into(),
        role: Role::Reviewer,
        active: true,
        created_at: SystemClock.now(),
    };
    let result = world.store.create_org_user(&duplicate).await;
    assert!(matches!(result, Err(casework_adapters::postgres::directory::CreateUserError::EmailTaken)));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_is_unavailable_within_the_wait_timeout() {
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let options = PoolOptions {
        url: SecretString::from(format!("postgres://postgres@127.0.0.1:{closed_port}/nothing")),
        max_size: 2,
        wait_timeout: Duration::from_millis(500),
        statement_timeout: Duration::from_secs(1),
    };
    let blocklist = Arc::new(casework_adapters::crypto::BlocklistHasher::new(b"k"));
    let store = PgStore::new(build_pool(&options).unwrap(), Arc::new(test_cipher()), blocklist);
    let tenant = Tenant { org_id: Id::from_uuid(uuid::Uuid::now_v7()), environment: Environment::Live };
    let started = std::time::Instant::now();
    let result = store.find_case(tenant, Id::from_uuid(uuid::Uuid::now_v7())).await;
    assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread")]
async fn public_ids_computed_in_sql_match_the_domain() {
    let world = World::new().await;
    let mut connection = AsyncPgConnection::establish(&world.url).await.unwrap();
    let samples =
        [uuid::Uuid::nil(), uuid::Uuid::max(), uuid::Uuid::now_v7(), uuid::Uuid::new_v4(), uuid::Uuid::new_v4()];
    for uuid in samples {
        let lines: Vec<Line> = diesel::sql_query("SELECT casework_public_id('rvc_', $1) AS line")
            .bind::<diesel::sql_types::Uuid, _>(uuid)
            .load(&mut connection)
            .await
            .unwrap();
        let expected = casework_domain::id::CaseId::from_uuid(uuid).public();
        assert_eq!(lines[0].line, expected, "{uuid}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_exhausted_pool_is_unavailable_within_its_wait_timeout() {
    let db = TestDatabase::new().await;
    let options = PoolOptions { max_size: 1, wait_timeout: Duration::from_millis(300), ..db.pool_options() };
    let blocklist = Arc::new(casework_adapters::crypto::BlocklistHasher::new(b"k"));
    let store = PgStore::new(build_pool(&options).unwrap(), Arc::new(test_cipher()), blocklist);
    let held = store.pool().get().await.unwrap();
    let tenant = Tenant { org_id: Id::from_uuid(uuid::Uuid::now_v7()), environment: Environment::Live };
    let started = std::time::Instant::now();
    let result = store.find_case(tenant, Id::from_uuid(uuid::Uuid::now_v7())).await;
    assert!(matches!(result, Err(StoreError::Unavailable(_))), "{result:?}");
    assert!(started.elapsed() < Duration::from_secs(2), "answered within the wait timeout");
    drop(held);
    assert!(store.find_case(tenant, Id::from_uuid(uuid::Uuid::now_v7())).await.is_ok(), "usable again");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_attempt_holding_an_idempotency_record_may_complete_or_abandon_it() {
    let world = World::new().await;
    let (key, secret) = key(&world, Environment::Sandbox, None);
    world.store.create_api_key(&key, &secret).await.unwrap();
    let scope = IdempotencyScope { tenant: key.tenant, api_key: key.id, key: "retry-me".into() };
    let now = SystemClock.now();
    let lock = time::Duration::seconds(60);
    let IdempotencyStart::Started(slow) = world.store.begin(&scope, &[7; 32], "req_1", now, now + lock).await.unwrap()
    else {
        panic!("the first request starts");
    };
    // The first run stalls past its lock; a retry takes the record over.
    let later = now + lock + time::Duration::seconds(1);
    let IdempotencyStart::Started(taker) =
        world.store.begin(&scope, &[7; 32], "req_2", later, later + lock).await.unwrap()
    else {
        panic!("a stalled run is taken over");
    };
    let response = |body: &str| StoredResponse {
        status: 200,
        headers: vec![],
        body: body.as_bytes().to_vec(),
        request_id: "req".into(),
    };
    // The stalled run can neither overwrite nor delete the record it lost.
    assert!(!world.store.complete(&scope, slow, &response("stale")).await.unwrap());
    world.store.abandon(&scope, slow).await.unwrap();
    assert_eq!(
        world.store.begin(&scope, &[7; 32], "req_3", later, later + lock).await.unwrap(),
        IdempotencyStart::InProgress
    );
    assert!(world.store.complete(&scope, taker, &response("fresh")).await.unwrap());
    let IdempotencyStart::Replay(stored) =
        world.store.begin(&scope, &[7; 32], "req_4", later, later + lock).await.unwrap()
    else {
        panic!("a completed record replays");
    };
    assert_eq!(stored.body, b"fresh");
    let bodies: Vec<Line> = world.query("SELECT encode(response_body, 'escape') AS line FROM idempotency_keys").await;
    assert!(bodies.iter().all(|l| !l.line.contains("fresh")), "the response is stored encrypted");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idempotency_record_older_than_a_day_is_no_record() {
    let world = World::new().await;
    let (key, secret) = key(&world, Environment::Sandbox, None);
    world.store.create_api_key(&key, &secret).await.unwrap();
    let scope = IdempotencyScope { tenant: key.tenant, api_key: key.id, key: "daily".into() };
    let now = SystemClock.now();
    let lock = time::Duration::seconds(60);
    let IdempotencyStart::Started(first) = world.store.begin(&scope, &[1; 32], "req_1", now, now + lock).await.unwrap()
    else {
        panic!("the first request starts");
    };
    let stored = StoredResponse { status: 201, headers: vec![], body: b"first".to_vec(), request_id: "req_1".into() };
    assert!(world.store.complete(&scope, first, &stored).await.unwrap());
    let hour = now + time::Duration::hours(1);
    assert_eq!(
        world.store.begin(&scope, &[2; 32], "req_2", hour, hour + lock).await.unwrap(),
        IdempotencyStart::Mismatch,
        "within the day, another body is refused"
    );
    let next_day = now + time::Duration::hours(25);
    let IdempotencyStart::Started(second) =
        world.store.begin(&scope, &[2; 32], "req_3", next_day, next_day + lock).await.unwrap()
    else {
        panic!("after a day the key starts afresh");
    };
    // Started afresh: in progress for others, then its own response replays.
    assert_eq!(
        world.store.begin(&scope, &[2; 32], "req_4", next_day, next_day + lock).await.unwrap(),
        IdempotencyStart::InProgress
    );
    let fresh = StoredResponse { status: 201, headers: vec![], body: b"second".to_vec(), request_id: "req_3".into() };
    assert!(world.store.complete(&scope, second, &fresh).await.unwrap());
    let IdempotencyStart::Replay(replayed) =
        world.store.begin(&scope, &[2; 32], "req_5", next_day, next_day + lock).await.unwrap()
    else {
        panic!("the new response replays");
    };
    assert_eq!((replayed.body, replayed.request_id), (b"second".to_vec(), "req_3".to_owned()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_unit_commits_its_statements_with_the_response_or_nothing() {
    use casework_adapters::postgres::{Once, Outcome};
    let world = World::new().await;
    let (key, secret) = key(&world, Environment::Sandbox, None);
    world.store.create_api_key(&key, &secret).await.unwrap();
    let now = SystemClock.now();
    let scope = |name: &str| IdempotencyScope { tenant: key.tenant, api_key: key.id, key: name.into() };
    let response = StoredResponse { status: 201, headers: vec![], body: b"made".to_vec(), request_id: "req".into() };
    let cases = async || world.store.list_cases(key.tenant, &CaseQuery::default(), PageRequest::new(25, 0), now).await;

    // A run that keeps nothing (a 5xx) rolls back every statement it ran through the store.
    let store = &world.store;
    let discarded = store
        .once(&scope("discard"), &[1; 32], "req_1", now, async || {
            store
                .insert_session(&world.session(Environment::Sandbox, SessionStatus::Approved), None, &[])
                .await
                .unwrap();
            let session = world.session(Environment::Sandbox, SessionStatus::UnderReview);
            store.insert_session(&session, Some(&world.opened(&session)), &[]).await.unwrap();
            ((), None)
        })
        .await
        .unwrap();
    assert!(matches!(discarded, Once::Ran((), Outcome::RolledBack)), "{discarded:?}");
    assert_eq!(cases().await.unwrap().total, 0, "the case went with the unit");
    let claims: Vec<Line> = world.query("SELECT count(*)::text AS line FROM idempotency_keys").await;
    assert_eq!(claims[0].line, "0", "and so did the key's claim");

    // A run that keeps its response commits both; a second request with the key meanwhile is
    // told "in progress", and afterwards gets the stored response.
    let (entered, wait_for_entry) = tokio::sync::oneshot::channel();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let kept = async {
        store
            .once(&scope("keep"), &[2; 32], "req_2", now, async || {
                let session = world.session(Environment::Sandbox, SessionStatus::UnderReview);
                store.insert_session(&session, Some(&world.opened(&session)), &[]).await.unwrap();
                entered.send(()).unwrap();
                released.await.unwrap();
                ((), Some(response.clone()))
            })
            .await
            .unwrap()
    };
    let meanwhile = async {
        wait_for_entry.await.unwrap();
        let second = store.once(&scope("keep"), &[2; 32], "req_3", now, async || ((), None)).await.unwrap();
        assert_eq!(cases().await.unwrap().total, 0, "nothing is visible before the commit");
        release.send(()).unwrap();
        second
    };
    let (kept, second) = tokio::join!(kept, meanwhile);
    assert!(matches!(kept, Once::Ran((), Outcome::Committed)), "{kept:?}");
    assert!(matches!(second, Once::InProgress), "{second:?}");
    assert_eq!(cases().await.unwrap().total, 1);
    let replay = store.once(&scope("keep"), &[2; 32], "req_4", now, async || ((), None)).await.unwrap();
    let Once::Replay(stored) = replay else { panic!("the committed response replays: {replay:?}") };
    assert_eq!((stored.status, stored.body), (201, b"made".to_vec()));
}
