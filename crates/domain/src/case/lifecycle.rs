//! The case lifecycle of API.md §2 as pure transition functions.
//!
//! Each function takes the case as stored and the [`Caller`], reads the case as of the caller's
//! time (a lapsed lease counts as absent), and returns the new case with the one event it
//! produces, or the refusal for that operation. Nothing here does I/O: the adapters persist the
//! outcome atomically, and the service persists an unrecorded lapse ([`Case::lapse`]) first.

use serde_json::{Value, json};

use super::Case;
use super::event::{Actor, CaseEvent, EventType};
use super::fields::{CaseStatus, Decision, RejectionReasonCode};
use crate::Timestamp;
use crate::id::OrgUserId;

/// A claim: the holder may work the case until `expires_at`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The reviewer holding it.
    pub holder: OrgUserId,
    /// Start of the claim (kept when renewed).
    pub claimed_at: Timestamp,
    /// End of the lease.
    pub expires_at: Timestamp,
}

impl Lease {
    /// Live while `now < expires_at`.
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

/// Dual review: what the first reviewer recommended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recommendation {
    /// The recommended decision.
    pub decision: Decision,
    /// The recommender (who may not make the final decision).
    pub reviewer_id: OrgUserId,
    /// The recommender's notes.
    pub notes: Option<String>,
    /// The recommender's rejection reason.
    pub rejection_reason: Option<String>,
    /// The recommender's rejection code.
    pub rejection_reason_code: Option<RejectionReasonCode>,
    /// Whether the recommender asked for the blocklist.
    pub add_to_blocklist: bool,
    /// When.
    pub at: Timestamp,
}

/// Who asks for a transition, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// Recorded on the event.
    pub actor: Actor,
    /// The request's reviewer (API.md §1), if it has one.
    pub reviewer: Option<OrgUserId>,
    /// The key has `cases:admin`.
    pub is_admin: bool,
    /// The service clock's time.
    pub now: Timestamp,
}

/// The outcome of an accepted action: the case after it and the one event it wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The case after the action (`version` + 1).
    pub case: Case,
    /// The event to record with it.
    pub event: CaseEvent,
}

/// Another reviewer holds a live lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the case is claimed by another reviewer until {expires_at}")]
pub struct AlreadyClaimed {
    /// The holder.
    pub holder: OrgUserId,
    /// When the lease ends.
    pub expires_at: Timestamp,
}

/// Why a claim was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// 409 `case_already_decided`.
    #[error("the case is already decided")]
    AlreadyDecided,
    /// 409 `case_already_claimed`.
    #[error(transparent)]
    AlreadyClaimed(AlreadyClaimed),
    /// 403 `not_escalation_target`.
    #[error("the case is escalated to another reviewer")]
    NotEscalationTarget,
    /// 409 `second_reviewer_required`.
    #[error("the recommender cannot claim the case for its second review")]
    SecondReviewerRequired,
}

/// Why a release was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReleaseError {
    /// 409 `case_already_decided`.
    #[error("the case is already decided")]
    AlreadyDecided,
    /// 409 `case_not_claimed`.
    #[error("the case is not claimed")]
    NotClaimed,
    /// 403 `not_claim_holder`.
    #[error("the claim is held by another reviewer")]
    NotClaimHolder,
}

/// Why an assignment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignError {
    /// 409 `case_already_decided`.
    #[error("the case is already decided")]
    AlreadyDecided,
    /// 403 `not_claim_holder`: another reviewer's live lease, without `cases:admin`.
    #[error("the claim is held by another reviewer")]
    NotClaimHolder,
    /// 409 `second_reviewer_required`.
    #[error("the recommender cannot be assigned the second review")]
    SecondReviewerRequired,
}

/// Why an escalation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EscalateError {
    /// 409 `case_already_decided`.
    #[error("the case is already decided")]
    AlreadyDecided,
    /// 409 `case_already_escalated`.
    #[error("the case is already escalated")]
    AlreadyEscalated,
    /// 409 `invalid_transition` (from `pending_second_review`).
    #[error("the case cannot be escalated from its status")]
    InvalidTransition,
    /// 409 `case_already_claimed`.
    #[error(transparent)]
    AlreadyClaimed(AlreadyClaimed),
}

/// Why an approval or rejection was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecideError {
    /// 409 `case_already_decided`.
    #[error("the case is already decided")]
    AlreadyDecided,
    /// 409 `case_already_claimed`.
    #[error(transparent)]
    AlreadyClaimed(AlreadyClaimed),
    /// 403 `not_escalation_target`.
    #[error("the case is escalated to another reviewer")]
    NotEscalationTarget,
    /// 409 `same_reviewer`.
    #[error("the final decision needs a reviewer other than the recommender")]
    SameReviewer,
}

/// What a reviewer decides, with the fields that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionInput {
    /// Approve or reject.
    pub decision: Decision,
    /// Notes (kept on a recommendation; also added as a note by the service).
    pub notes: Option<String>,
    /// Required for a rejection; ignored for an approval.
    pub rejection_reason: Option<String>,
    /// Optional for a rejection; ignored for an approval.
    pub rejection_reason_code: Option<RejectionReasonCode>,
    /// A final rejection adds the document number to the blocklist.
    pub add_to_blocklist: bool,
}

fn user_json(user: Option<OrgUserId>) -> Value {
    user.map_or(Value::Null, |id| json!(id.uuid()))
}

fn time_json(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |t| json!(t.unix_timestamp_nanos() / 1000))
}

impl Case {
    /// The recorded lapse of a lease that is no longer live, if there is one to record.
    pub fn lapse(&self, now: Timestamp) -> Option<Transition> {
        let lease = self.lease.filter(|lease| !lease.is_live(now))?;
        let mut case = self.released_view();
        let event = CaseEvent::new(EventType::ClaimExpired, Actor::System, now)
            .with_change("status", json!(self.status.as_str()), json!(case.status.as_str()))
            .with_change("assigned_to", user_json(self.assigned_to), user_json(case.assigned_to))
            .with_change("claim_expires_at", time_json(Some(lease.expires_at)), Value::Null);
        case.touch(now);
        Some(Transition { case, event })
    }

    /// Claims the case for `reviewer`, or renews the reviewer's own lease.
    ///
    /// # Errors
    /// See [`ClaimError`].
    pub fn claim(&self, caller: &Caller, reviewer: OrgUserId, ttl: time::Duration) -> Result<Transition, ClaimError> {
        let now = caller.now;
        let current = self.as_of(now);
        if current.is_final() {
            return Err(ClaimError::AlreadyDecided);
        }
        if !current.may_act_on_escalation(reviewer, caller) {
            return Err(ClaimError::NotEscalationTarget);
        }
        current.lease_rule(Some(reviewer), now).map_err(ClaimError::AlreadyClaimed)?;
        if current.status == CaseStatus::PendingSecondReview && current.recommended_by() == Some(reviewer) {
            return Err(ClaimError::SecondReviewerRequired);
        }
        let expires_at = now + ttl;
        let mut case = current.clone();
        let event = if let Some(lease) = current.live_lease(now) {
            case.lease = Some(Lease { expires_at, ..*lease });
            CaseEvent::new(EventType::ClaimRenewed, caller.actor.clone(), now).with_change(
                "claim_expires_at",
                time_json(Some(lease.expires_at)),
                time_json(Some(expires_at)),
            )
        } else {
            case.lease = Some(Lease { holder: reviewer, claimed_at: now, expires_at });
            case.assigned_to = Some(reviewer);
            if case.status == CaseStatus::Open {
                case.status = CaseStatus::InReview;
            }
            CaseEvent::new(EventType::Claimed, caller.actor.clone(), now)
                .with_change("status", json!(current.status.as_str()), json!(case.status.as_str()))
                .with_change("assigned_to", user_json(current.assigned_to), user_json(case.assigned_to))
        };
        case.touch(now);
        Ok(Transition { case, event })
    }

    /// Gives up the lease (or the assignment).
    ///
    /// # Errors
    /// See [`ReleaseError`].
    pub fn release(&self, caller: &Caller) -> Result<Transition, ReleaseError> {
        let now = caller.now;
        let current = self.as_of(now);
        if current.is_final() {
            return Err(ReleaseError::AlreadyDecided);
        }
        let holder = match current.live_lease(now) {
            Some(lease) => lease.holder,
            None => current
                .assigned_to
                .filter(|&user| !(current.status == CaseStatus::Escalated && current.escalated_to == Some(user)))
                .ok_or(ReleaseError::NotClaimed)?,
        };
        if caller.reviewer.is_some_and(|reviewer| reviewer != holder) && !caller.is_admin {
            return Err(ReleaseError::NotClaimHolder);
        }
        let mut case = current.released_view();
        let event = CaseEvent::new(EventType::Released, caller.actor.clone(), now)
            .with_change("status", json!(current.status.as_str()), json!(case.status.as_str()))
            .with_change("assigned_to", user_json(current.assigned_to), user_json(case.assigned_to));
        case.touch(now);
        Ok(Transition { case, event })
    }

    /// Assigns the case to `assignee` (advisory); `Ok(None)` when the assignee already holds
    /// the live lease (a no-op: no event, no version change).
    ///
    /// # Errors
    /// See [`AssignError`].
    pub fn assign(
        &self,
        caller: &Caller,
        assignee: OrgUserId,
        reason: Option<String>,
    ) -> Result<Option<Transition>, AssignError> {
        let now = caller.now;
        let current = self.as_of(now);
        if current.is_final() {
            return Err(AssignError::AlreadyDecided);
        }
        if let Some(lease) = current.live_lease(now) {
            if lease.holder == assignee {
                return Ok(None);
            }
            if !caller.is_admin && caller.reviewer != Some(lease.holder) {
                return Err(AssignError::NotClaimHolder);
            }
        }
        if current.status == CaseStatus::PendingSecondReview && current.recommended_by() == Some(assignee) {
            return Err(AssignError::SecondReviewerRequired);
        }
        let mut case = current.clone();
        case.lease = None;
        if case.status == CaseStatus::InReview {
            case.status = CaseStatus::Open;
        }
        case.assigned_to = Some(assignee);
        if case.status == CaseStatus::Escalated {
            case.escalated_to = Some(assignee);
        }
        let event = CaseEvent::new(EventType::Assigned, caller.actor.clone(), now)
            .with_change("status", json!(current.status.as_str()), json!(case.status.as_str()))
            .with_change("assigned_to", user_json(current.assigned_to), user_json(case.assigned_to))
            .with_change("escalated_to", user_json(current.escalated_to), user_json(case.escalated_to))
            .with_reason(reason);
        case.touch(now);
        Ok(Some(Transition { case, event }))
    }

    /// Escalates the case, optionally to a named reviewer.
    ///
    /// # Errors
    /// See [`EscalateError`].
    pub fn escalate(
        &self,
        caller: &Caller,
        to: Option<OrgUserId>,
        reason: Option<String>,
    ) -> Result<Transition, EscalateError> {
        let now = caller.now;
        let current = self.as_of(now);
        match current.status {
            status if status.is_final() => return Err(EscalateError::AlreadyDecided),
            CaseStatus::Escalated => return Err(EscalateError::AlreadyEscalated),
            CaseStatus::PendingSecondReview => return Err(EscalateError::InvalidTransition),
            _ => {}
        }
        current.lease_rule(caller.reviewer, now).map_err(EscalateError::AlreadyClaimed)?;
        let mut case = current.clone();
        case.status = CaseStatus::Escalated;
        case.escalated_to = to;
        case.escalation_reason.clone_from(&reason);
        case.lease = None;
        case.assigned_to = to;
        let event = CaseEvent::new(EventType::Escalated, caller.actor.clone(), now)
            .with_change("status", json!(current.status.as_str()), json!(case.status.as_str()))
            .with_change("assigned_to", user_json(current.assigned_to), user_json(case.assigned_to))
            .with_change("escalated_to", user_json(current.escalated_to), user_json(case.escalated_to))
            .with_reason(reason);
        case.touch(now);
        Ok(Transition { case, event })
    }

    /// Approves or rejects: final, or a recommendation under dual review.
    ///
    /// # Errors
    /// See [`DecideError`].
    pub fn decide(
        &self,
        caller: &Caller,
        reviewer: OrgUserId,
        input: DecisionInput,
        dual_review: bool,
    ) -> Result<Transition, DecideError> {
        let now = caller.now;
        let current = self.as_of(now);
        if current.is_final() {
            return Err(DecideError::AlreadyDecided);
        }
        if !current.may_act_on_escalation(reviewer, caller) {
            return Err(DecideError::NotEscalationTarget);
        }
        current.lease_rule(Some(reviewer), now).map_err(DecideError::AlreadyClaimed)?;
        let second_review = current.status == CaseStatus::PendingSecondReview;
        if second_review && current.recommended_by() == Some(reviewer) {
            return Err(DecideError::SameReviewer);
        }
        let (rejection_reason, rejection_reason_code) = match input.decision {
            Decision::Approved => (None, None),
            Decision::Rejected => (input.rejection_reason, input.rejection_reason_code),
        };
        let mut case = current.clone();
        case.lease = None;
        let event = if dual_review && !second_review {
            case.status = CaseStatus::PendingSecondReview;
            case.assigned_to = None;
            case.recommendation = Some(Recommendation {
                decision: input.decision,
                reviewer_id: reviewer,
                notes: input.notes,
                rejection_reason: rejection_reason.clone(),
                rejection_reason_code,
                add_to_blocklist: input.add_to_blocklist && input.decision == Decision::Rejected,
                at: now,
            });
            CaseEvent::new(EventType::Recommended, caller.actor.clone(), now)
                .with_change("status", json!(current.status.as_str()), json!(case.status.as_str()))
                .with_change("recommendation", Value::Null, json!(input.decision.as_str()))
                .with_reason(rejection_reason)
        } else {
            case.status = input.decision.final_status();
            case.decision = Some(input.decision);
            case.decided_at = Some(now);
            case.assigned_to = Some(reviewer);
            case.rejection_reason.clone_from(&rejection_reason);
            case.rejection_reason_code = rejection_reason_code;
            let event_type = match input.decision {
                Decision::Approved => EventType::Approved,
                Decision::Rejected => EventType::Rejected,
            };
            CaseEvent::new(event_type, caller.actor.clone(), now)
                .with_change("status", json!(current.status.as_str()), json!(case.status.as_str()))
                .with_change("decision", Value::Null, json!(input.decision.as_str()))
                .with_change("assigned_to", user_json(current.assigned_to), user_json(case.assigned_to))
                .with_reason(rejection_reason)
        };
        case.touch(now);
        Ok(Transition { case, event })
    }

    /// The lease rule: a live lease held by anyone but `reviewer` refuses the action (a request
    /// without a reviewer passes only when nobody holds one).
    pub(crate) fn lease_rule(&self, reviewer: Option<OrgUserId>, now: Timestamp) -> Result<(), AlreadyClaimed> {
        match self.live_lease(now) {
            Some(lease) if Some(lease.holder) != reviewer => {
                Err(AlreadyClaimed { holder: lease.holder, expires_at: lease.expires_at })
            }
            _ => Ok(()),
        }
    }

    /// An escalation with a named target is worked by that reviewer, or with `cases:admin`.
    fn may_act_on_escalation(&self, reviewer: OrgUserId, caller: &Caller) -> bool {
        self.status != CaseStatus::Escalated
            || self.escalated_to.is_none_or(|target| target == reviewer)
            || caller.is_admin
    }

    fn recommended_by(&self) -> Option<OrgUserId> {
        self.recommendation.as_ref().map(|r| r.reviewer_id)
    }

    fn touch(&mut self, now: Timestamp) {
        self.version += 1;
        self.updated_at = now;
    }
}

#[cfg(test)]
mod tests;
