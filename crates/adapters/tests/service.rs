//! Service tests: the `CaseService` over the in-memory ports, time controlled through the
//! `Clock` port. They check how the service composes the pure rules: the order of refusals,
//! lapses persisted before actions, dual review, the queue.

#![expect(clippy::unwrap_used, reason = "test helpers: a failure is a failed test")]

use std::sync::{Arc, Mutex};

use casework_adapters::memory::store::MemoryStore;
use casework_adapters::system::UuidV7Ids;
use casework_domain::Timestamp;
use casework_domain::case::lifecycle::DecisionInput;
use casework_domain::case::{CaseStatus, Decision, EventType, Priority};
use casework_domain::demo::synthetic_session;
use casework_domain::directory::{OrgUser, Principal, Role, Scope, Scopes, UserRef};
use casework_domain::id::{CaseId, Id};
use casework_domain::page::{CaseQuery, PageRequest, Tab};
use casework_domain::ports::{Clock, DirectoryRepository, IdGenerator, Pii};
use casework_domain::search::Search;
use casework_domain::service::CaseService;
use casework_domain::service::actions::{ActionError, ActionRequest};
use casework_domain::session::SessionStatus;
use casework_domain::tenant::{Environment, Settings, Tenant};
use serde_json::json;

#[derive(Clone)]
struct TestClock(Arc<Mutex<Timestamp>>);

impl TestClock {
    fn advance(&self, by: time::Duration) {
        let mut now = self.0.lock().unwrap();
        *now += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap()
    }
}

struct World {
    store: MemoryStore,
    clock: TestClock,
    service: CaseService<MemoryStore, TestClock, UuidV7Ids>,
    tenant: Tenant,
}

impl World {
    fn new() -> Self {
        let store = MemoryStore::default();
        let clock = TestClock(Arc::new(Mutex::new(time::macros::datetime!(2026-11-25 09:00 UTC))));
        let service = CaseService::new(store.clone(), clock.clone(), UuidV7Ids);
        let tenant = Tenant { org_id: UuidV7Ids.generate(), environment: Environment::Sandbox };
        Self { store, clock, service, tenant }
    }

    fn user(&self, name: &str) -> OrgUser {
        let user = OrgUser {
            id: UuidV7Ids.generate(),
            org_id: self.tenant.org_id,
            name: name.into(),
            email: format!("{name}@example.com"),
            role: Role::Reviewer,
            active: true,
            created_at: self.clock.now(),
        };
        self.store.add_user(user.clone()).unwrap();
        user
    }

    /// A personal key of `user` (every scope but `cases:admin`), or an all-scope key without one.
    fn principal(&self, user: Option<&OrgUser>) -> Principal {
        let scopes: Scopes = match user {
            Some(_) => Scope::ALL.into_iter().filter(|s| *s != Scope::CasesAdmin).collect(),
            None => Scopes::all(),
        };
        Principal {
            key_id: UuidV7Ids.generate(),
            key_name: "key".into(),
            tenant: self.tenant,
            scopes,
            user: user.map(|u| UserRef { id: u.id, name: u.name.clone() }),
            pinned_version: "2026-01-01".into(),
            agent: None,
        }
    }

    async fn case(&self) -> CaseId {
        let session = self
            .service
            .ingest_session(self.tenant, casework_domain::case::Actor::System, synthetic_session(7))
            .await
            .unwrap();
        session.case_id.unwrap()
    }
}

fn request(principal: &Principal, if_match: Option<u64>) -> ActionRequest<'_> {
    ActionRequest { principal, reviewer_id: None, if_match }
}

fn decision(decision: Decision) -> DecisionInput {
    DecisionInput {
        decision,
        notes: None,
        rejection_reason: Some("no".into()),
        rejection_reason_code: None,
        add_to_blocklist: false,
    }
}

#[tokio::test]
async fn a_lapse_is_persisted_before_the_next_action() {
    let world = World::new();
    let (alice, bob) = (world.user("alice"), world.user("bob"));
    let (alice_key, bob_key) = (world.principal(Some(&alice)), world.principal(Some(&bob)));
    let case = world.case().await;
    let claimed = world.service.claim(&request(&alice_key, None), case).await.unwrap();
    assert_eq!((claimed.case.status, claimed.case.version), (CaseStatus::InReview, 2));
    let refused = world.service.claim(&request(&bob_key, None), case).await;
    assert!(matches!(refused, Err(ActionError::AlreadyClaimed(_))), "{refused:?}");
    world.clock.advance(time::Duration::minutes(31));
    let taken = world.service.claim(&request(&bob_key, None), case).await.unwrap();
    assert_eq!((taken.case.assigned_to, taken.case.version), (Some(bob.id), 4));
    let types: Vec<EventType> = world.store.all_events().unwrap().iter().map(|e| e.event.event_type).collect();
    assert_eq!(types, vec![EventType::Created, EventType::Claimed, EventType::ClaimExpired, EventType::Claimed]);
}

#[tokio::test]
async fn refusals_come_in_the_contract_order() {
    let world = World::new();
    let (senior, bob) = (world.user("senior"), world.user("bob"));
    let admin = world.principal(None);
    let case = world.case().await;
    let escalated =
        world.service.escalate(&request(&admin, None), case, Some(Ok(senior.id)), None, None).await.unwrap();
    let bob_key = world.principal(Some(&bob));
    // 403 before 412: a stale If-Match does not hide the escalation target.
    let stale = world.service.decide(&request(&bob_key, Some(1)), case, decision(Decision::Approved)).await;
    assert!(matches!(stale, Err(ActionError::NotEscalationTarget)), "{stale:?}");
    // 412 before 409: the target with a stale version.
    let senior_key = world.principal(Some(&senior));
    let precondition = world.service.escalate(&request(&senior_key, Some(1)), case, None, None, None).await;
    assert!(matches!(precondition, Err(ActionError::PreconditionFailed)), "{precondition:?}");
    // With the right version, the 409.
    let version = escalated.case.version;
    let conflict = world.service.escalate(&request(&senior_key, Some(version)), case, None, None, None).await;
    assert!(matches!(conflict, Err(ActionError::AlreadyEscalated)), "{conflict:?}");
    // 404 before 422: an unknown case with an unknown reviewer.
    let unknown =
        ActionRequest { principal: &admin, reviewer_id: Some(Ok(Id::from_uuid(uuid::Uuid::nil()))), if_match: None };
    let missing = world.service.claim(&unknown, Id::from_uuid(uuid::Uuid::nil())).await;
    assert!(matches!(missing, Err(ActionError::CaseNotFound)), "{missing:?}");
    let invalid = world.service.claim(&unknown, case).await;
    assert!(matches!(invalid, Err(ActionError::InvalidReviewer { field: "reviewer_id" })), "{invalid:?}");
}

#[tokio::test]
async fn dual_review_needs_a_second_reviewer_and_sets_the_session() {
    let world = World::new();
    world
        .store
        .update_settings(
            world.tenant,
            &(&Settings { dual_review: true, ..Settings::default() }).into(),
            world.clock.now(),
        )
        .await
        .unwrap();
    let (alice, bob) = (world.user("alice"), world.user("bob"));
    let (alice_key, bob_key) = (world.principal(Some(&alice)), world.principal(Some(&bob)));
    let case = world.case().await;
    let recommended =
        world.service.decide(&request(&alice_key, None), case, decision(Decision::Rejected)).await.unwrap();
    assert_eq!(recommended.case.status, CaseStatus::PendingSecondReview);
    let same = world.service.decide(&request(&alice_key, None), case, decision(Decision::Approved)).await;
    assert!(matches!(same, Err(ActionError::SameReviewer)), "{same:?}");
    let next_for_alice = world.service.next(&request(&alice_key, None), None, None).await.unwrap();
    assert!(next_for_alice.is_none(), "the recommender is never handed its own recommendation");
    let (view, session) = world.service.next(&request(&bob_key, None), None, None).await.unwrap().unwrap();
    assert_eq!((view.case.id, session.status), (case, SessionStatus::UnderReview));
    let decided = world.service.decide(&request(&bob_key, None), case, decision(Decision::Approved)).await.unwrap();
    assert_eq!((decided.case.status, decided.case.assigned_to), (CaseStatus::Approved, Some(bob.id)));
    let session = world.service.session(world.tenant, decided.case.session_id, Pii::Include).await.unwrap().unwrap();
    assert_eq!(session.status, SessionStatus::Approved);
}

#[tokio::test]
async fn the_queue_orders_by_priority_then_age_and_counts_tabs() {
    let world = World::new();
    let alice = world.user("alice");
    let (alice_key, admin) = (world.principal(Some(&alice)), world.principal(None));
    let older = world.case().await;
    world.clock.advance(time::Duration::seconds(1));
    let urgent = world.case().await;
    let patch = casework_domain::case::CasePatch { priority: Some(Priority::Urgent), ..Default::default() };
    world.service.update(&request(&admin, None), urgent, patch).await.unwrap();
    let first = world.service.next(&request(&alice_key, None), None, None).await.unwrap().unwrap();
    assert_eq!(first.0.case.id, urgent);
    let counts = world.service.counts(world.tenant, Some(alice.id)).await.unwrap();
    assert_eq!((counts.unassigned, counts.mine, counts.all), (1, 1, 2));
    let mine = CaseQuery { tab: Some(Tab::Mine), reviewer: Some(alice.id), ..CaseQuery::default() };
    let listed = world.service.cases(world.tenant, &mine, PageRequest::new(25, 0)).await.unwrap();
    assert_eq!(listed.items.iter().map(|v| v.case.id).collect::<Vec<_>>(), vec![urgent]);
    let search =
        Search::parse(json!({"filter": {"field": "priority", "op": "lt", "value": "urgent"}}).as_object().unwrap())
            .unwrap();
    let found = world.service.search(world.tenant, &search).await.unwrap();
    assert_eq!(found.items.iter().map(|v| v.case.id).collect::<Vec<_>>(), vec![older]);
}

#[tokio::test]
async fn the_sweeper_records_each_lapse_once() {
    let world = World::new();
    let alice = world.user("alice");
    let case = world.case().await;
    world.service.claim(&request(&world.principal(Some(&alice)), None), case).await.unwrap();
    assert_eq!(world.service.sweep_lapsed_claims(10).await.unwrap(), 0);
    world.clock.advance(time::Duration::minutes(30));
    assert_eq!(world.service.sweep_lapsed_claims(10).await.unwrap(), 1);
    assert_eq!(world.service.sweep_lapsed_claims(10).await.unwrap(), 0);
    let (view, _) = world.service.case_with_session(world.tenant, case, Pii::Include).await.unwrap().unwrap();
    assert_eq!((view.case.status, view.case.version), (CaseStatus::Open, 3));
}

#[tokio::test]
async fn demo_cases_stop_at_the_limit() {
    let world = World::new();
    let admin = world.principal(None);
    for _ in 0..3 {
        world.service.demo_case(&admin, casework_domain::case::Actor::System).await.unwrap();
    }
    let refused = world.service.demo_case(&admin, casework_domain::case::Actor::System).await;
    assert!(matches!(refused, Err(casework_domain::service::queue::DemoError::LimitReached)));
}
