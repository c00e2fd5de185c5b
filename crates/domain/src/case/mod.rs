//! The review case: its fields, its lifecycle (in [`lifecycle`]), its events and its notes.
//!
//! A [`Case`] value is what the database holds. What a reader sees is [`Case::as_of`] the
//! request's time: a lease that has lapsed reads as released at once, whether or not the sweeper
//! has persisted the lapse yet (API.md §2, "The claim is a lease").

pub mod edit;
pub mod event;
pub mod evidence;
pub mod fields;
pub mod lifecycle;
pub mod note;
pub mod queue;

pub use edit::{CasePatch, UpdateError};
pub use event::{Actor, CaseEvent, Changes, EventType};
pub use evidence::{OverrideError, OverrideInput, PiiError};
pub use fields::{CaseStatus, Decision, Priority, RejectionReasonCode, Tag, Tags};
pub use lifecycle::{Lease, Recommendation};
pub use note::{Note, NoteContent};

use crate::Timestamp;
use crate::data::DataMap;
use crate::id::{CaseId, OrgUserId, SessionId};
use crate::tenant::Tenant;

/// How long after `entered_review_at` a case is due.
pub const SLA_DUE: time::Duration = time::Duration::hours(24);
/// Below this age an undecided case is `on_track`.
pub const SLA_APPROACHING: time::Duration = time::Duration::hours(4);

/// One review case, exactly as persisted.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// Its id.
    pub id: CaseId,
    /// Its (org, environment).
    pub tenant: Tenant,
    /// The session under review (one case per session).
    pub session_id: SessionId,
    /// Lifecycle status.
    pub status: CaseStatus,
    /// The final decision, once final.
    pub decision: Option<Decision>,
    /// Queue priority.
    pub priority: Priority,
    /// The lease holder, an (advisory) assignee, or the decider.
    pub assigned_to: Option<OrgUserId>,
    /// The current claim, live or lapsed-but-not-yet-persisted.
    pub lease: Option<Lease>,
    /// Set once at creation: the SLA anchor.
    pub entered_review_at: Timestamp,
    /// When the final decision was made.
    pub decided_at: Option<Timestamp>,
    /// The reviewer an escalation targets, if named.
    pub escalated_to: Option<OrgUserId>,
    /// Why it was escalated.
    pub escalation_reason: Option<String>,
    /// Dual review: the first reviewer's recommendation.
    pub recommendation: Option<Recommendation>,
    /// Free-text reason of a final rejection.
    pub rejection_reason: Option<String>,
    /// Coded reason of a final rejection.
    pub rejection_reason_code: Option<RejectionReasonCode>,
    /// Sorted, unique tags.
    pub tags: Tags,
    /// Client data.
    pub metadata: DataMap,
    /// Client data.
    pub custom_fields: DataMap,
    /// A demo case (sandbox only).
    pub is_demo: bool,
    /// 1 at creation, +1 on every change to the case or its evidence.
    pub version: u64,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

/// `{status, due_at, age_seconds}` of a case at some instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sla {
    /// `on_track`, `approaching`, `overdue`, `met` or `missed`.
    pub status: SlaStatus,
    /// `entered_review_at` + 24 h.
    pub due_at: Timestamp,
    /// Whole seconds in review, frozen at the decision.
    pub age_seconds: i64,
}

/// Where a case stands against its SLA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaStatus {
    /// Younger than 4 h, undecided.
    OnTrack,
    /// Younger than 24 h, undecided.
    Approaching,
    /// 24 h or older, undecided.
    Overdue,
    /// Decided before it was due.
    Met,
    /// Decided when or after it was due.
    Missed,
}

crate::spelled!(SlaStatus: OnTrack, Approaching, Overdue, Met, Missed);

impl SlaStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::OnTrack => "on_track",
            Self::Approaching => "approaching",
            Self::Overdue => "overdue",
            Self::Met => "met",
            Self::Missed => "missed",
        }
    }
}

impl Case {
    /// A new `open` case for `session_id`, and its `created` event.
    pub fn open(
        id: CaseId,
        tenant: Tenant,
        session_id: SessionId,
        is_demo: bool,
        actor: Actor,
        now: Timestamp,
    ) -> (Self, CaseEvent) {
        let case = Self {
            id,
            tenant,
            session_id,
            status: CaseStatus::Open,
            decision: None,
            priority: Priority::Normal,
            assigned_to: None,
            lease: None,
            entered_review_at: now,
            decided_at: None,
            escalated_to: None,
            escalation_reason: None,
            recommendation: None,
            rejection_reason: None,
            rejection_reason_code: None,
            tags: Tags::default(),
            metadata: DataMap::default(),
            custom_fields: DataMap::default(),
            is_demo,
            version: 1,
            created_at: now,
            updated_at: now,
        };
        (case, CaseEvent::new(EventType::Created, actor, now))
    }

    /// Whether the case is decided (accepts only notes, tags, metadata and custom fields).
    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }

    /// The lease if it is live at `now`.
    pub fn live_lease(&self, now: Timestamp) -> Option<&Lease> {
        self.lease.as_ref().filter(|lease| lease.is_live(now))
    }

    /// The case as every reader sees it at `now`: a lapsed lease reads as released.
    pub fn as_of(&self, now: Timestamp) -> Self {
        match &self.lease {
            Some(lease) if !lease.is_live(now) => self.released_view(),
            _ => self.clone(),
        }
    }

    /// The case with its lease cleared, as a release or a lapse leaves it.
    pub(crate) fn released_view(&self) -> Self {
        let mut case = self.clone();
        case.lease = None;
        if case.status == CaseStatus::InReview {
            case.status = CaseStatus::Open;
        }
        case.assigned_to = if case.status == CaseStatus::Escalated { case.escalated_to } else { None };
        case
    }

    /// The SLA at `now`.
    pub fn sla(&self, now: Timestamp) -> Sla {
        let due_at = self.entered_review_at + SLA_DUE;
        let until = self.decided_at.unwrap_or(now);
        let age = (until - self.entered_review_at).max(time::Duration::ZERO);
        let status = match self.decided_at {
            Some(decided_at) if decided_at < due_at => SlaStatus::Met,
            Some(_) => SlaStatus::Missed,
            None if age < SLA_APPROACHING => SlaStatus::OnTrack,
            None if age < SLA_DUE => SlaStatus::Approaching,
            None => SlaStatus::Overdue,
        };
        Sla { status, due_at, age_seconds: age.whole_seconds() }
    }
}
