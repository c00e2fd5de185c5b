//! One test per row (and refusal) of the rules table of API.md §2, then properties over random
//! sequences of actions.

use proptest::prelude::*;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::*;
use crate::case::{CaseStatus, EventType};
use crate::id::{ApiKeyId, CaseId, OrgId, SessionId};
use crate::tenant::{Environment, Tenant};

const TTL: Duration = Duration::minutes(30);

fn at(minutes: i64) -> Timestamp {
    OffsetDateTime::UNIX_EPOCH + Duration::days(20_000) + Duration::minutes(minutes)
}

fn user(n: u128) -> OrgUserId {
    OrgUserId::from_uuid(Uuid::from_u128(1000 + n))
}

const ALICE: u128 = 1;
const BOB: u128 = 2;
const CAROL: u128 = 3;

fn reviewer(n: u128, minutes: i64) -> Caller {
    Caller {
        actor: Actor::OrgUser { id: user(n), name: format!("user {n}") },
        reviewer: Some(user(n)),
        is_admin: false,
        now: at(minutes),
    }
}

fn admin(n: u128, minutes: i64) -> Caller {
    Caller { is_admin: true, ..reviewer(n, minutes) }
}

fn key_only(minutes: i64) -> Caller {
    Caller {
        actor: Actor::ApiKey { id: ApiKeyId::from_uuid(Uuid::from_u128(9)), name: "integration".into() },
        reviewer: None,
        is_admin: false,
        now: at(minutes),
    }
}

fn new_case() -> Case {
    let tenant = Tenant { org_id: OrgId::from_uuid(Uuid::from_u128(1)), environment: Environment::Sandbox };
    Case::open(
        CaseId::from_uuid(Uuid::from_u128(2)),
        tenant,
        SessionId::from_uuid(Uuid::from_u128(3)),
        false,
        Actor::System,
        at(0),
    )
    .0
}

fn claimed_by(n: u128, minutes: i64) -> Case {
    ok(new_case().claim(&reviewer(n, minutes), user(n), TTL))
}

fn ok<E: std::fmt::Debug>(result: Result<Transition, E>) -> Case {
    match result {
        Ok(transition) => transition.case,
        Err(error) => panic!("expected success, got {error:?}"),
    }
}

fn approve() -> DecisionInput {
    DecisionInput {
        decision: Decision::Approved,
        notes: None,
        rejection_reason: None,
        rejection_reason_code: None,
        add_to_blocklist: false,
    }
}

fn reject() -> DecisionInput {
    DecisionInput {
        decision: Decision::Rejected,
        notes: Some("looked twice".into()),
        rejection_reason: Some("forged".into()),
        rejection_reason_code: Some(RejectionReasonCode::DocumentFraud),
        add_to_blocklist: true,
    }
}

fn escalated_to(n: Option<u128>) -> Case {
    ok(new_case().escalate(&key_only(1), n.map(user), Some("senior look".into())))
}

fn decided() -> Case {
    ok(claimed_by(ALICE, 1).decide(&reviewer(ALICE, 2), user(ALICE), approve(), false))
}

fn recommended_by(n: u128) -> Case {
    ok(claimed_by(n, 1).decide(&reviewer(n, 2), user(n), approve(), true))
}

// --- claim -------------------------------------------------------------------------------------

#[test]
fn claim_open_case_starts_a_lease() {
    let transition = new_case().claim(&reviewer(ALICE, 5), user(ALICE), TTL).ok();
    let Some(Transition { case, event }) = transition else { panic!("claim refused") };
    assert_eq!(case.status, CaseStatus::InReview);
    assert_eq!(case.assigned_to, Some(user(ALICE)));
    assert_eq!(case.lease, Some(Lease { holder: user(ALICE), claimed_at: at(5), expires_at: at(35) }));
    assert_eq!(case.version, 2);
    assert_eq!(event.event_type, EventType::Claimed);
}

#[test]
fn claim_by_holder_renews_keeping_claimed_at() {
    let transition = claimed_by(ALICE, 0).claim(&reviewer(ALICE, 10), user(ALICE), TTL).ok();
    let Some(Transition { case, event }) = transition else { panic!("renewal refused") };
    assert_eq!(event.event_type, EventType::ClaimRenewed);
    assert_eq!(case.lease, Some(Lease { holder: user(ALICE), claimed_at: at(0), expires_at: at(40) }));
}

#[test]
fn claim_over_another_live_lease_is_refused_with_holder() {
    let result = claimed_by(ALICE, 0).claim(&reviewer(BOB, 10), user(BOB), TTL);
    assert_eq!(result, Err(ClaimError::AlreadyClaimed(AlreadyClaimed { holder: user(ALICE), expires_at: at(30) })));
}

#[test]
fn claim_over_a_lapsed_lease_succeeds() {
    let case = ok(claimed_by(ALICE, 0).claim(&reviewer(BOB, 30), user(BOB), TTL));
    assert_eq!(case.assigned_to, Some(user(BOB)));
    assert_eq!(case.lease.map(|l| l.claimed_at), Some(at(30)));
}

#[test]
fn claim_moves_an_advisory_assignment() {
    let assigned = new_case().assign(&key_only(1), user(ALICE), None).ok().flatten().map(|t| t.case);
    let Some(assigned) = assigned else { panic!("assign refused") };
    let case = ok(assigned.claim(&reviewer(BOB, 2), user(BOB), TTL));
    assert_eq!(case.assigned_to, Some(user(BOB)));
}

#[test]
fn claim_escalated_case_by_target_or_untargeted_keeps_status() {
    let case = ok(escalated_to(Some(CAROL)).claim(&reviewer(CAROL, 2), user(CAROL), TTL));
    assert_eq!(case.status, CaseStatus::Escalated);
    let case = ok(escalated_to(None).claim(&reviewer(BOB, 2), user(BOB), TTL));
    assert_eq!(case.status, CaseStatus::Escalated);
}

#[test]
fn claim_escalated_case_by_someone_else_needs_admin() {
    let result = escalated_to(Some(CAROL)).claim(&reviewer(BOB, 2), user(BOB), TTL);
    assert_eq!(result, Err(ClaimError::NotEscalationTarget));
    assert!(escalated_to(Some(CAROL)).claim(&admin(BOB, 2), user(BOB), TTL).is_ok());
}

#[test]
fn claim_for_second_review_by_the_recommender_is_refused() {
    let result = recommended_by(ALICE).claim(&reviewer(ALICE, 3), user(ALICE), TTL);
    assert_eq!(result, Err(ClaimError::SecondReviewerRequired));
    let case = ok(recommended_by(ALICE).claim(&reviewer(BOB, 3), user(BOB), TTL));
    assert_eq!(case.status, CaseStatus::PendingSecondReview);
}

#[test]
fn claim_on_final_case_is_refused() {
    assert_eq!(decided().claim(&reviewer(BOB, 5), user(BOB), TTL), Err(ClaimError::AlreadyDecided));
}

// --- lapse -------------------------------------------------------------------------------------

#[test]
fn a_lapsed_lease_reads_as_released_at_its_expiry() {
    let case = claimed_by(ALICE, 0);
    assert_eq!(case.as_of(at(29)).status, CaseStatus::InReview);
    let lapsed = case.as_of(at(30));
    assert_eq!((lapsed.status, lapsed.assigned_to, lapsed.lease), (CaseStatus::Open, None, None));
}

#[test]
fn a_lapsed_lease_on_an_escalated_case_returns_it_to_the_target() {
    let case = ok(escalated_to(Some(CAROL)).claim(&reviewer(CAROL, 2), user(CAROL), TTL));
    let case = ok(case.assign(&reviewer(CAROL, 3), user(BOB), None).map(|t| t.unwrap_or_else(|| panic!("no-op"))));
    let case = ok(case.claim(&reviewer(BOB, 4), user(BOB), TTL));
    let lapsed = case.as_of(at(40));
    assert_eq!((lapsed.status, lapsed.assigned_to), (CaseStatus::Escalated, Some(user(BOB))));
}

#[test]
fn lapse_is_recorded_once_by_the_system() {
    let case = claimed_by(ALICE, 0);
    assert!(case.lapse(at(10)).is_none());
    let Some(Transition { case, event }) = case.lapse(at(31)) else { panic!("no lapse") };
    assert_eq!((event.event_type, event.actor), (EventType::ClaimExpired, Actor::System));
    assert_eq!((case.status, case.version), (CaseStatus::Open, 3));
    assert!(case.lapse(at(60)).is_none());
}

// --- release -----------------------------------------------------------------------------------

#[test]
fn release_by_holder_reopens() {
    let case = ok(claimed_by(ALICE, 0).release(&reviewer(ALICE, 5)));
    assert_eq!((case.status, case.assigned_to, case.lease), (CaseStatus::Open, None, None));
}

#[test]
fn release_without_reviewer_may_release_any_lease() {
    assert!(claimed_by(ALICE, 0).release(&key_only(5)).is_ok());
}

#[test]
fn release_by_another_reviewer_needs_admin() {
    assert_eq!(claimed_by(ALICE, 0).release(&reviewer(BOB, 5)), Err(ReleaseError::NotClaimHolder));
    assert!(claimed_by(ALICE, 0).release(&admin(BOB, 5)).is_ok());
}

#[test]
fn release_with_nothing_to_release_or_a_lapsed_lease_is_refused() {
    assert_eq!(new_case().release(&key_only(1)), Err(ReleaseError::NotClaimed));
    assert_eq!(claimed_by(ALICE, 0).release(&reviewer(ALICE, 31)), Err(ReleaseError::NotClaimed));
    assert_eq!(escalated_to(Some(CAROL)).release(&key_only(3)), Err(ReleaseError::NotClaimed));
}

#[test]
fn release_on_escalated_case_returns_assignment_to_target() {
    let case = ok(escalated_to(Some(CAROL)).claim(&reviewer(CAROL, 2), user(CAROL), TTL));
    let case = ok(case.release(&reviewer(CAROL, 3)));
    assert_eq!((case.status, case.assigned_to, case.lease), (CaseStatus::Escalated, Some(user(CAROL)), None));
}

#[test]
fn release_on_final_case_is_refused() {
    assert_eq!(decided().release(&key_only(5)), Err(ReleaseError::AlreadyDecided));
}

// --- assign ------------------------------------------------------------------------------------

#[test]
fn assign_is_advisory_and_keeps_status_open() {
    let transition = new_case().assign(&key_only(1), user(BOB), Some("expert".into())).ok().flatten();
    let Some(Transition { case, event }) = transition else { panic!("assign refused") };
    assert_eq!((case.status, case.assigned_to), (CaseStatus::Open, Some(user(BOB))));
    assert_eq!((event.event_type, event.reason.as_deref()), (EventType::Assigned, Some("expert")));
}

#[test]
fn assigning_the_live_holder_is_a_no_op() {
    assert_eq!(claimed_by(ALICE, 0).assign(&key_only(1), user(ALICE), None), Ok(None));
}

#[test]
fn assign_over_another_live_lease_needs_admin_and_clears_it() {
    assert_eq!(claimed_by(ALICE, 0).assign(&reviewer(BOB, 1), user(CAROL), None), Err(AssignError::NotClaimHolder));
    let case = claimed_by(ALICE, 0).assign(&admin(BOB, 1), user(CAROL), None).ok().flatten().map(|t| t.case);
    let Some(case) = case else { panic!("admin assign refused") };
    assert_eq!((case.status, case.assigned_to, case.lease), (CaseStatus::Open, Some(user(CAROL)), None));
}

#[test]
fn assign_on_escalated_case_retargets_the_escalation() {
    let case = escalated_to(Some(CAROL)).assign(&key_only(2), user(BOB), None).ok().flatten().map(|t| t.case);
    assert_eq!(case.and_then(|c| c.escalated_to), Some(user(BOB)));
}

#[test]
fn assign_second_review_to_the_recommender_is_refused() {
    assert_eq!(recommended_by(ALICE).assign(&key_only(3), user(ALICE), None), Err(AssignError::SecondReviewerRequired));
}

#[test]
fn assign_on_final_case_is_refused() {
    assert_eq!(decided().assign(&key_only(3), user(BOB), None), Err(AssignError::AlreadyDecided));
}

// --- escalate ----------------------------------------------------------------------------------

#[test]
fn escalate_clears_the_lease_and_assigns_the_target() {
    let case = ok(claimed_by(ALICE, 0).escalate(&reviewer(ALICE, 1), Some(user(CAROL)), Some("pep".into())));
    assert_eq!(case.status, CaseStatus::Escalated);
    assert_eq!((case.assigned_to, case.escalated_to, case.lease), (Some(user(CAROL)), Some(user(CAROL)), None));
    assert_eq!(case.escalation_reason.as_deref(), Some("pep"));
}

#[test]
fn escalate_follows_the_lease_rule() {
    let result = claimed_by(ALICE, 0).escalate(&key_only(1), None, None);
    assert!(matches!(result, Err(EscalateError::AlreadyClaimed(_))));
    let result = claimed_by(ALICE, 0).escalate(&reviewer(BOB, 1), None, None);
    assert!(matches!(result, Err(EscalateError::AlreadyClaimed(_))));
}

#[test]
fn escalate_twice_or_from_second_review_or_final_is_refused() {
    assert_eq!(escalated_to(None).escalate(&key_only(2), None, None), Err(EscalateError::AlreadyEscalated));
    assert_eq!(recommended_by(ALICE).escalate(&key_only(3), None, None), Err(EscalateError::InvalidTransition));
    assert_eq!(decided().escalate(&key_only(3), None, None), Err(EscalateError::AlreadyDecided));
}

// --- approve / reject --------------------------------------------------------------------------

#[test]
fn decide_without_dual_review_is_final() {
    let transition = claimed_by(ALICE, 0).decide(&reviewer(ALICE, 1), user(ALICE), reject(), false).ok();
    let Some(Transition { case, event }) = transition else { panic!("decision refused") };
    assert_eq!((case.status, case.decision), (CaseStatus::Rejected, Some(Decision::Rejected)));
    assert_eq!((case.assigned_to, case.lease, case.decided_at), (Some(user(ALICE)), None, Some(at(1))));
    assert_eq!(case.rejection_reason_code, Some(RejectionReasonCode::DocumentFraud));
    assert_eq!(event.event_type, EventType::Rejected);
}

#[test]
fn approve_ignores_rejection_fields() {
    let input = DecisionInput { decision: Decision::Approved, ..reject() };
    let case = ok(new_case().decide(&reviewer(ALICE, 1), user(ALICE), input, false));
    assert_eq!((case.rejection_reason, case.rejection_reason_code), (None, None));
}

#[test]
fn decide_follows_the_lease_rule() {
    let result = claimed_by(ALICE, 0).decide(&reviewer(BOB, 1), user(BOB), approve(), false);
    assert!(matches!(result, Err(DecideError::AlreadyClaimed(_))));
}

#[test]
fn decide_escalated_case_only_by_target_or_admin() {
    let result = escalated_to(Some(CAROL)).decide(&reviewer(BOB, 2), user(BOB), approve(), false);
    assert_eq!(result, Err(DecideError::NotEscalationTarget));
    assert!(escalated_to(Some(CAROL)).decide(&admin(BOB, 2), user(BOB), approve(), false).is_ok());
    assert!(escalated_to(Some(CAROL)).decide(&reviewer(CAROL, 2), user(CAROL), approve(), false).is_ok());
    assert!(escalated_to(None).decide(&reviewer(BOB, 2), user(BOB), approve(), false).is_ok());
}

#[test]
fn dual_review_first_decision_recommends() {
    let transition = claimed_by(ALICE, 0).decide(&reviewer(ALICE, 1), user(ALICE), reject(), true).ok();
    let Some(Transition { case, event }) = transition else { panic!("recommendation refused") };
    assert_eq!(
        (case.status, case.decision, case.assigned_to, case.lease),
        (CaseStatus::PendingSecondReview, None, None, None)
    );
    let recommendation = case.recommendation.unwrap_or_else(|| panic!("no recommendation"));
    assert_eq!((recommendation.reviewer_id, recommendation.decision), (user(ALICE), Decision::Rejected));
    assert!(recommendation.add_to_blocklist);
    assert_eq!(event.event_type, EventType::Recommended);
}

#[test]
fn dual_review_final_decision_needs_another_reviewer() {
    let result = recommended_by(ALICE).decide(&reviewer(ALICE, 3), user(ALICE), approve(), true);
    assert_eq!(result, Err(DecideError::SameReviewer));
    let case = ok(recommended_by(ALICE).decide(&reviewer(BOB, 3), user(BOB), reject(), true));
    assert_eq!((case.status, case.assigned_to), (CaseStatus::Rejected, Some(user(BOB))));
    assert_eq!(case.rejection_reason.as_deref(), Some("forged"));
}

#[test]
fn decide_on_final_case_is_refused() {
    assert_eq!(decided().decide(&reviewer(BOB, 5), user(BOB), approve(), false), Err(DecideError::AlreadyDecided));
}

// --- SLA ---------------------------------------------------------------------------------------

#[test]
fn sla_moves_through_its_states_and_freezes_at_the_decision() {
    let case = new_case();
    assert_eq!(case.sla(at(60)).status, crate::case::SlaStatus::OnTrack);
    assert_eq!(case.sla(at(5 * 60)).status, crate::case::SlaStatus::Approaching);
    assert_eq!(case.sla(at(24 * 60)).status, crate::case::SlaStatus::Overdue);
    let decided = ok(case.decide(&reviewer(ALICE, 90), user(ALICE), approve(), false));
    let sla = decided.sla(at(48 * 60));
    assert_eq!((sla.status, sla.age_seconds), (crate::case::SlaStatus::Met, 90 * 60));
    assert_eq!(sla.due_at, at(24 * 60));
}

// --- properties --------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Action {
    Claim(u128),
    Release(u128),
    Assign(u128),
    Escalate(Option<u128>),
    Decide(u128, bool),
    Lapse,
    Wait(i64),
}

fn action() -> impl Strategy<Value = Action> {
    let who = 1u128..4;
    prop_oneof![
        who.clone().prop_map(Action::Claim),
        who.clone().prop_map(Action::Release),
        who.clone().prop_map(Action::Assign),
        proptest::option::of(who.clone()).prop_map(Action::Escalate),
        (who, any::<bool>()).prop_map(|(n, approve)| Action::Decide(n, approve)),
        Just(Action::Lapse),
        (1i64..45).prop_map(Action::Wait),
    ]
}

fn apply(case: &Case, action: &Action, now: i64, dual: bool) -> Option<Result<Transition, ()>> {
    let input = |approve: bool| if approve { self::approve() } else { reject() };
    Some(match action {
        Action::Claim(n) => case.claim(&reviewer(*n, now), user(*n), TTL).map_err(drop),
        Action::Release(n) => case.release(&reviewer(*n, now)).map_err(drop),
        Action::Assign(n) => match case.assign(&reviewer(*n, now), user(*n % 3 + 1), None) {
            Ok(None) => return None,
            Ok(Some(transition)) => Ok(transition),
            Err(_) => Err(()),
        },
        Action::Escalate(to) => case.escalate(&key_only(now), to.map(user), None).map_err(drop),
        Action::Decide(n, approve) => case.decide(&reviewer(*n, now), user(*n), input(*approve), dual).map_err(drop),
        Action::Lapse => case.lapse(at(now)).ok_or(()),
        Action::Wait(_) => return None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn lifecycle_invariants_hold(actions in proptest::collection::vec(action(), 1..40), dual in any::<bool>()) {
        let mut case = new_case();
        let mut now = 0i64;
        for action in &actions {
            if let Action::Wait(minutes) = action {
                now += minutes;
                continue;
            }
            let before = case.clone();
            let Some(outcome) = apply(&case, action, now, dual) else { continue };
            match outcome {
                Ok(Transition { case: after, event }) => {
                    // A final case never changes.
                    prop_assert!(!before.is_final(), "final case changed by {action:?}");
                    // Every accepted transition yields one event, at the caller's time, and a new version.
                    prop_assert_eq!(event.at, at(now));
                    prop_assert_eq!(after.version, before.version + 1);
                    prop_assert!(after.updated_at >= before.updated_at);
                    // A live lease is held by one reviewer: nobody takes over another's live lease.
                    if let (Some(old), Some(new)) = (before.live_lease(at(now)), after.live_lease(at(now))) {
                        prop_assert_eq!(old.holder, new.holder, "lease taken over by {:?}", action);
                    }
                    // The lease holder is the assignee, and only an active in-review-like case holds one.
                    if let Some(lease) = after.lease {
                        prop_assert_eq!(after.assigned_to, Some(lease.holder));
                        prop_assert!(!after.is_final());
                    }
                    if after.status == CaseStatus::InReview {
                        prop_assert!(after.lease.is_some());
                    }
                    if after.status == CaseStatus::Open {
                        prop_assert!(after.lease.is_none());
                    }
                    prop_assert_eq!(after.decision.is_some(), after.is_final());
                    case = after;
                }
                Err(()) => prop_assert_eq!(&case, &before),
            }
        }
    }
}
