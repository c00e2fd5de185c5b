//! The queue's rules, written once: the effective status and assignee under a lapsed lease, the
//! tabs, and which cases `next` may hand out and in which order. Each is a [`Rule`]: a condition
//! over a case's *stored* fields at an instant, which the PostgreSQL adapter compiles to SQL (its
//! indexes are shaped like these rules) and the memory adapter evaluates with [`Rule::holds`].
//!
//! A lease lapses at `claim_expires_at`, and every read sees it released at once (API.md §2): an
//! `in_review` case reads as `open`, and its assignee as its escalation target on an escalated
//! case, nobody otherwise. The rules below say so in terms of the stored fields, so that no
//! adapter has to rewrite a row before it can be filtered.

use crate::Timestamp;
use crate::case::{Case, CaseStatus, Priority, Tag};
use crate::id::OrgUserId;
use crate::page::Tab;
use crate::session::{Session, SessionStatus};

/// Where a case's lease stands at the instant a rule is read at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// No lease is stored.
    Absent,
    /// A lease is stored and runs past the instant.
    Live,
    /// A lease is stored and ended at or before the instant.
    Lapsed,
}

/// A condition over a case's stored fields at an instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// Holds for every case.
    Always,
    /// Holds for no case.
    Never,
    /// Every rule holds.
    All(Vec<Rule>),
    /// Some rule holds.
    Any(Vec<Rule>),
    /// The rule does not hold.
    Not(Box<Rule>),
    /// The stored status is one of these.
    Status(Vec<CaseStatus>),
    /// The lease is in this state.
    Lease(LeaseState),
    /// The stored assignee is one of these.
    AssignedTo(Vec<OrgUserId>),
    /// No assignee is stored.
    NoAssignee,
    /// The escalation target is one of these.
    EscalatedTo(Vec<OrgUserId>),
    /// An escalation target is stored.
    HasEscalationTarget,
    /// The recommender of a dual review is not this reviewer (or there is none).
    NotRecommendedBy(OrgUserId),
    /// The priority is this one.
    Priority(Priority),
    /// The tag set holds this tag.
    Tagged(Tag),
}

impl Rule {
    /// Whether `case` (as stored) satisfies the rule at `now`.
    pub fn holds(&self, case: &Case, now: Timestamp) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::All(rules) => rules.iter().all(|rule| rule.holds(case, now)),
            Self::Any(rules) => rules.iter().any(|rule| rule.holds(case, now)),
            Self::Not(rule) => !rule.holds(case, now),
            Self::Status(statuses) => statuses.contains(&case.status),
            Self::Lease(state) => lease_state(case, now) == *state,
            Self::AssignedTo(users) => case.assigned_to.is_some_and(|user| users.contains(&user)),
            Self::NoAssignee => case.assigned_to.is_none(),
            Self::EscalatedTo(users) => case.escalated_to.is_some_and(|user| users.contains(&user)),
            Self::HasEscalationTarget => case.escalated_to.is_some(),
            Self::NotRecommendedBy(reviewer) => case.recommendation.as_ref().is_none_or(|r| r.reviewer_id != *reviewer),
            Self::Priority(priority) => case.priority == *priority,
            Self::Tagged(tag) => case.tags.contains(tag),
        }
    }
}

fn lease_state(case: &Case, now: Timestamp) -> LeaseState {
    match &case.lease {
        None => LeaseState::Absent,
        Some(lease) if lease.is_live(now) => LeaseState::Live,
        Some(_) => LeaseState::Lapsed,
    }
}

fn status(status: CaseStatus) -> Rule {
    Rule::Status(vec![status])
}

/// The case reads as `status`: a lapsed `in_review` reads as `open`, and a live one only is
/// `in_review`.
pub fn effective_status(wanted: CaseStatus) -> Rule {
    match wanted {
        CaseStatus::Open => Rule::Any(vec![
            status(CaseStatus::Open),
            Rule::All(vec![status(CaseStatus::InReview), Rule::Lease(LeaseState::Lapsed)]),
        ]),
        CaseStatus::InReview => Rule::All(vec![status(CaseStatus::InReview), Rule::Lease(LeaseState::Live)]),
        other => status(other),
    }
}

/// The case reads as assigned to one of `users`: the stored assignee while no lease has lapsed;
/// after a lapse, the escalation target of an escalated case.
pub fn effectively_assigned(users: Vec<OrgUserId>) -> Rule {
    Rule::Any(vec![
        Rule::All(vec![Rule::AssignedTo(users.clone()), Rule::Not(Box::new(Rule::Lease(LeaseState::Lapsed)))]),
        Rule::All(vec![Rule::Lease(LeaseState::Lapsed), status(CaseStatus::Escalated), Rule::EscalatedTo(users)]),
    ])
}

/// The case reads as having an assignee.
pub fn has_effective_assignee() -> Rule {
    Rule::Any(vec![
        Rule::All(vec![Rule::Not(Box::new(Rule::NoAssignee)), Rule::Not(Box::new(Rule::Lease(LeaseState::Lapsed)))]),
        Rule::All(vec![Rule::Lease(LeaseState::Lapsed), status(CaseStatus::Escalated), Rule::HasEscalationTarget]),
    ])
}

/// Not yet decided.
pub fn active() -> Rule {
    Rule::Not(Box::new(Rule::Status(vec![CaseStatus::Approved, CaseStatus::Rejected])))
}

/// The cases of a tab (API.md §3), for `reviewer`'s `mine`.
pub fn tab(tab: Tab, reviewer: Option<OrgUserId>) -> Rule {
    match tab {
        // `open` with nobody assigned, or `in_review` whose lease lapsed (it reads as released;
        // an `in_review` case is never escalated, so its assignee reads as nobody).
        Tab::Unassigned => Rule::Any(vec![
            Rule::All(vec![status(CaseStatus::Open), Rule::NoAssignee]),
            Rule::All(vec![status(CaseStatus::InReview), Rule::Lease(LeaseState::Lapsed)]),
        ]),
        Tab::Mine => match reviewer {
            Some(reviewer) => Rule::All(vec![active(), effectively_assigned(vec![reviewer])]),
            None => Rule::Never,
        },
        Tab::PendingSecondReview => status(CaseStatus::PendingSecondReview),
        Tab::Escalated => status(CaseStatus::Escalated),
        Tab::All => Rule::Always,
    }
}

/// The cases `next` may hand to `reviewer` (API.md §2): no live lease and either `open` with
/// nobody assigned, or waiting for a second review that `reviewer` did not recommend; never an
/// escalated case. A lapsed `in_review` case joins once the sweeper has persisted its lapse.
pub fn eligible_for_next(reviewer: OrgUserId, priority: Option<Priority>, tag: Option<Tag>) -> Rule {
    let mut rules = vec![Rule::Any(vec![
        Rule::All(vec![status(CaseStatus::Open), Rule::NoAssignee]),
        Rule::All(vec![
            status(CaseStatus::PendingSecondReview),
            Rule::Not(Box::new(Rule::Lease(LeaseState::Live))),
            Rule::NotRecommendedBy(reviewer),
        ]),
    ])];
    rules.extend(priority.map(Rule::Priority));
    rules.extend(tag.map(Rule::Tagged));
    Rule::All(rules)
}

/// The order `next` hands cases out in: most urgent first, then longest waiting, then by id.
pub fn next_order(a: &Case, b: &Case) -> std::cmp::Ordering {
    b.priority.rank().cmp(&a.priority.rank()).then(a.entered_review_at.cmp(&b.entered_review_at)).then(a.id.cmp(&b.id))
}

/// Which sessions retention wipes (CONVENTIONS.md, PII access and retention): not yet wiped, in a
/// terminal status, for at least their environment's `sensitive_data_retention_days` since their
/// last status change. The adapters select by [`Retention::terminal`] and [`Retention::cutoff`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    /// The statuses after which PII may be wiped.
    pub terminal: Vec<SessionStatus>,
}

impl Default for Retention {
    fn default() -> Self {
        Self { terminal: SessionStatus::ALL.iter().copied().filter(|s| s.is_terminal()).collect() }
    }
}

impl Retention {
    /// Sessions whose status changed at or before this are due, under `days` of retention.
    pub fn cutoff(now: Timestamp, days: u32) -> Timestamp {
        now - time::Duration::days(i64::from(days))
    }

    /// Whether `session`, in an environment keeping PII `days` (none: forever), is due at `now`.
    pub fn due(&self, session: &Session, days: Option<u32>, now: Timestamp) -> bool {
        !session.sensitive_data_expired
            && self.terminal.contains(&session.status)
            && days.is_some_and(|days| session.status_changed_at <= Self::cutoff(now, days))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::Actor;
    use crate::case::lifecycle::Lease;
    use crate::id::Id;
    use crate::tenant::{Environment, Tenant};

    fn case(now: Timestamp) -> Case {
        let tenant = Tenant { org_id: Id::from_uuid(uuid::Uuid::from_u128(1)), environment: Environment::Sandbox };
        Case::open(
            Id::from_uuid(uuid::Uuid::from_u128(2)),
            tenant,
            Id::from_uuid(uuid::Uuid::from_u128(3)),
            false,
            Actor::System,
            now,
        )
        .0
    }

    /// The rules agree with how every reader sees a case: [`Case::as_of`].
    #[test]
    fn the_rules_read_a_lapsed_lease_as_released() {
        let now = time::macros::datetime!(2026-11-25 10:00 UTC);
        let rita: OrgUserId = Id::from_uuid(uuid::Uuid::from_u128(9));
        let mut claimed = case(now);
        claimed.status = CaseStatus::InReview;
        claimed.assigned_to = Some(rita);
        claimed.lease = Some(Lease { holder: rita, claimed_at: now, expires_at: now + time::Duration::minutes(30) });
        let later = now + time::Duration::hours(1);
        for (at, expect_open) in [(now, false), (later, true)] {
            let view = claimed.as_of(at);
            assert_eq!(effective_status(CaseStatus::Open).holds(&claimed, at), view.status == CaseStatus::Open);
            assert_eq!(effective_status(CaseStatus::Open).holds(&claimed, at), expect_open);
            assert_eq!(tab(Tab::Unassigned, None).holds(&claimed, at), expect_open);
            assert_eq!(tab(Tab::Mine, Some(rita)).holds(&claimed, at), view.assigned_to == Some(rita));
            assert_eq!(has_effective_assignee().holds(&claimed, at), view.assigned_to.is_some());
        }
        assert!(!eligible_for_next(rita, None, None).holds(&claimed, later), "a lapse joins `next` once persisted");
        assert!(eligible_for_next(rita, None, None).holds(&case(now), now));
        assert!(!eligible_for_next(rita, Some(Priority::Urgent), None).holds(&case(now), now));
    }
}
