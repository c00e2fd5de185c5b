//! Sandbox sessions (API.md §1, "Sandbox sessions"): a session's result, the outcomes `simulate`
//! applies, and the `session.*` webhook events that ingestion, simulation and decisions emit.

use super::{ChecksSummary, Session, SessionStatus};
use crate::Timestamp;
use crate::case::{Decision, RejectionReasonCode};
use crate::id::EventId;

string_enum! {
    /// A session's outcome, as `GET /sessions/{id}/result` reads it.
    SessionVerdict {
        /// Approved (by a simulation or a final case decision).
        Approved = "approved",
        /// Declined.
        Declined = "declined",
        /// A case is open; its final decision sets the verdict.
        NeedsReview = "needs_review",
    }
}

/// A session's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionResult {
    /// The outcome.
    pub verdict: SessionVerdict,
    /// When it was decided (null while it needs review).
    pub decided_at: Option<Timestamp>,
    /// Why it was declined.
    pub rejection_reason: Option<String>,
    /// The code of the reason.
    pub rejection_reason_code: Option<RejectionReasonCode>,
}

impl SessionResult {
    /// Under review: no decision yet.
    pub fn needs_review() -> Self {
        Self {
            verdict: SessionVerdict::NeedsReview,
            decided_at: None,
            rejection_reason: None,
            rejection_reason_code: None,
        }
    }

    /// A case's final decision.
    pub fn decided(
        decision: Decision,
        at: Timestamp,
        rejection_reason: Option<String>,
        rejection_reason_code: Option<RejectionReasonCode>,
    ) -> Self {
        match decision {
            Decision::Approved => Self {
                verdict: SessionVerdict::Approved,
                decided_at: Some(at),
                rejection_reason: None,
                rejection_reason_code: None,
            },
            Decision::Rejected => Self {
                verdict: SessionVerdict::Declined,
                decided_at: Some(at),
                rejection_reason,
                rejection_reason_code,
            },
        }
    }
}

string_enum! {
    /// An outcome `POST /sessions/{id}/simulate` applies.
    SimulateAction {
        /// `completed`, result `approved`.
        Approve = "approve",
        /// `completed`, result `declined`.
        Decline = "decline",
        /// `under_review`: a case opens.
        RequireReview = "require-review",
        /// `expired`, no result.
        Expire = "expire",
    }
}

string_enum! {
    /// The `session.*` webhook events (Verifa's names, hyphen included).
    SessionEventType {
        /// `POST /sessions`.
        Created = "session.created",
        /// A one-time capture link was generated.
        LinkGenerated = "session.link_generated",
        /// The session entered review.
        RequiresReview = "session.requires-review",
        /// Approved (simulation or final decision).
        Approved = "session.approved",
        /// Declined.
        Declined = "session.declined",
        /// Expired (simulation).
        Expired = "session.expired",
    }
}

/// A `session.*` event to write with a session change: the adapter renders its payload from the
/// session as committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionNotice {
    /// The event's id.
    pub id: EventId,
    /// Which event.
    pub event: SessionEventType,
}

/// The reason a simulated decline carries.
pub const SIMULATED_DECLINE_REASON: &str = "Declined by a sandbox simulation.";

/// A simulation applied: the session as it becomes, and its event.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulated {
    /// The session after the outcome (its case, if one opens, is the caller's to add).
    pub session: Session,
    /// The event it emits.
    pub event: SessionEventType,
}

impl SimulateAction {
    /// Whether a session in `status` may be simulated.
    pub fn applies_to(status: SessionStatus) -> bool {
        matches!(
            status,
            SessionStatus::Pending
                | SessionStatus::Capturing
                | SessionStatus::Processing
                | SessionStatus::AwaitingExternal
        )
    }

    /// The session after this outcome at `now`; `None` when its status does not allow one (409
    /// `invalid_transition`). A session without checks gets synthetic ones consistent with the
    /// outcome.
    pub fn apply(self, session: &Session, now: Timestamp) -> Option<Simulated> {
        if !Self::applies_to(session.status) {
            return None;
        }
        let mut next = session.clone();
        if next.checks.is_empty() {
            next.checks = crate::demo::simulated_checks(self);
            next.checks_summary = ChecksSummary::of(&next.checks);
        }
        let (status, result, event) = match self {
            Self::Approve => (
                SessionStatus::Completed,
                Some(SessionResult::decided(Decision::Approved, now, None, None)),
                SessionEventType::Approved,
            ),
            Self::Decline => (
                SessionStatus::Completed,
                Some(SessionResult::decided(
                    Decision::Rejected,
                    now,
                    Some(SIMULATED_DECLINE_REASON.to_owned()),
                    Some(RejectionReasonCode::FaceMismatch),
                )),
                SessionEventType::Declined,
            ),
            Self::RequireReview => {
                (SessionStatus::UnderReview, Some(SessionResult::needs_review()), SessionEventType::RequiresReview)
            }
            Self::Expire => (SessionStatus::Expired, None, SessionEventType::Expired),
        };
        next.status = status;
        next.result = result;
        next.status_changed_at = now;
        next.updated_at = now;
        Some(Simulated { session: next, event })
    }
}
