//! Every change to one case goes through [`CaseService::act`]: load the case, resolve who acts,
//! persist an unrecorded lapse first, apply the pure transition, check `If-Match`, and save the
//! whole change (case, events, outbox, note, session) atomically with a `version` check —
//! retrying from a fresh read when another request won the race.
//!
//! Refusals come in the contract's order: 404 → 422 `invalid_reviewer` → 403 → 412 → 409.

use serde_json::{Map, Value};

use super::{CaseService, CaseView};
use crate::case::lifecycle::{
    AlreadyClaimed, AssignError, Caller, ClaimError, DecideError, DecisionInput, EscalateError, ReleaseError,
    Transition,
};
use crate::case::{
    Actor, Case, CaseEvent, CasePatch, Decision, EventType, Note, NoteContent, OverrideError, OverrideInput, PiiError,
    UpdateError,
};
use crate::directory::{Principal, Scope};
use crate::id::{CaseId, IdError, OrgUserId};
use crate::ports::{
    BlocklistEntry, CaseChange, CaseRepository, Clock, DirectoryRepository, IdGenerator, Pii, RecordedEvent,
    SaveChangeError, SessionChange, SessionRepository, StoreError,
};
use crate::session::{Session, SessionResult, SessionStatus};
use crate::tenant::Settings;
use crate::validation::{FieldErrors, Violation};

/// How many times an action is recomputed after losing a race on the case's `version`.
const MAX_ATTEMPTS: u32 = 8;

/// Why an action on a case was refused. One enum for every action: they share their refusals,
/// and the HTTP edge maps each variant to one status and code.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    /// 404: no such case in the tenant.
    #[error("case not found")]
    CaseNotFound,
    /// 404: no such check on the case's session.
    #[error("check not found")]
    CheckNotFound,
    /// 422 `invalid_reviewer`: a named reviewer or assignee is unknown or inactive.
    #[error("{field} names no active org user")]
    InvalidReviewer {
        /// The body field that named them.
        field: &'static str,
    },
    /// 422 `validation_failed`: a value the rules refuse (merged limits, PII formats).
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// 403 `reviewer_mismatch`: a personal key acting for someone else without `cases:admin`.
    #[error("the key acts for another reviewer")]
    ReviewerMismatch,
    /// 403 `not_claim_holder`.
    #[error("the claim is held by another reviewer")]
    NotClaimHolder,
    /// 403 `not_escalation_target`.
    #[error("the case is escalated to another reviewer")]
    NotEscalationTarget,
    /// 412 `precondition_failed`: `If-Match` names another version.
    #[error("the case has changed")]
    PreconditionFailed,
    /// 409 `case_already_decided`.
    #[error("the case is already decided")]
    AlreadyDecided,
    /// 409 `case_already_claimed`, with the holder and the lease's end.
    #[error(transparent)]
    AlreadyClaimed(AlreadyClaimed),
    /// 409 `case_not_claimed`.
    #[error("the case is not claimed")]
    NotClaimed,
    /// 409 `case_already_escalated`.
    #[error("the case is already escalated")]
    AlreadyEscalated,
    /// 409 `invalid_transition`.
    #[error("not allowed from the case's status")]
    InvalidTransition,
    /// 409 `second_reviewer_required`.
    #[error("a second reviewer is required")]
    SecondReviewerRequired,
    /// 409 `same_reviewer`.
    #[error("the final decision needs another reviewer")]
    SameReviewer,
    /// 409 `sensitive_data_expired`.
    #[error("the sensitive data has expired")]
    SensitiveDataExpired,
    /// 503 / 500.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ActionError {
    /// The 403s, which answer before `If-Match` and the 409s.
    fn is_forbidden(&self) -> bool {
        matches!(self, Self::ReviewerMismatch | Self::NotClaimHolder | Self::NotEscalationTarget)
    }
}

impl From<ClaimError> for ActionError {
    fn from(error: ClaimError) -> Self {
        match error {
            ClaimError::AlreadyDecided => Self::AlreadyDecided,
            ClaimError::AlreadyClaimed(claimed) => Self::AlreadyClaimed(claimed),
            ClaimError::NotEscalationTarget => Self::NotEscalationTarget,
            ClaimError::SecondReviewerRequired => Self::SecondReviewerRequired,
        }
    }
}

impl From<ReleaseError> for ActionError {
    fn from(error: ReleaseError) -> Self {
        match error {
            ReleaseError::AlreadyDecided => Self::AlreadyDecided,
            ReleaseError::NotClaimed => Self::NotClaimed,
            ReleaseError::NotClaimHolder => Self::NotClaimHolder,
        }
    }
}

impl From<AssignError> for ActionError {
    fn from(error: AssignError) -> Self {
        match error {
            AssignError::AlreadyDecided => Self::AlreadyDecided,
            AssignError::NotClaimHolder => Self::NotClaimHolder,
            AssignError::SecondReviewerRequired => Self::SecondReviewerRequired,
        }
    }
}

impl From<EscalateError> for ActionError {
    fn from(error: EscalateError) -> Self {
        match error {
            EscalateError::AlreadyDecided => Self::AlreadyDecided,
            EscalateError::AlreadyEscalated => Self::AlreadyEscalated,
            EscalateError::InvalidTransition => Self::InvalidTransition,
            EscalateError::AlreadyClaimed(claimed) => Self::AlreadyClaimed(claimed),
        }
    }
}

impl From<DecideError> for ActionError {
    fn from(error: DecideError) -> Self {
        match error {
            DecideError::AlreadyDecided => Self::AlreadyDecided,
            DecideError::AlreadyClaimed(claimed) => Self::AlreadyClaimed(claimed),
            DecideError::NotEscalationTarget => Self::NotEscalationTarget,
            DecideError::SameReviewer => Self::SameReviewer,
        }
    }
}

impl From<UpdateError> for ActionError {
    fn from(error: UpdateError) -> Self {
        match error {
            UpdateError::AlreadyDecided => Self::AlreadyDecided,
            UpdateError::Limits { field, violation } => {
                let mut errors = FieldErrors::default();
                errors.push(field, violation, "must have at most 50 keys and 16 KiB as compact JSON");
                Self::Invalid(errors)
            }
        }
    }
}

impl From<OverrideError> for ActionError {
    fn from(error: OverrideError) -> Self {
        match error {
            OverrideError::AlreadyDecided => Self::AlreadyDecided,
            OverrideError::AlreadyClaimed(claimed) => Self::AlreadyClaimed(claimed),
            OverrideError::NoSuchCheck => Self::CheckNotFound,
        }
    }
}

impl From<PiiError> for ActionError {
    fn from(error: PiiError) -> Self {
        match error {
            PiiError::AlreadyDecided => Self::AlreadyDecided,
            PiiError::AlreadyClaimed(claimed) => Self::AlreadyClaimed(claimed),
            PiiError::SensitiveDataExpired => Self::SensitiveDataExpired,
            PiiError::Invalid(errors) => Self::Invalid(errors),
        }
    }
}

/// Who asks for an action on a case, and under which precondition.
#[derive(Debug, Clone)]
pub struct ActionRequest<'a> {
    /// The authenticated key.
    pub principal: &'a Principal,
    /// The body's `reviewer_id`, if given (else the key's bound user acts); a malformed one is
    /// kept as an error, refused as `invalid_reviewer` once the case is known to exist.
    pub reviewer_id: Option<Result<OrgUserId, IdError>>,
    /// `If-Match`: the version the client last saw (`*` and absent: none).
    pub if_match: Option<u64>,
}

/// What an action plans to write, computed from the case as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    case: Case,
    events: Vec<CaseEvent>,
    note: Option<Note>,
    session: SessionChange,
}

impl Planned {
    /// An event about `case` that changes nothing on it (no version change).
    fn record_only(case: &Case, event: CaseEvent) -> Self {
        Self { case: case.clone(), events: vec![event], note: None, session: SessionChange::default() }
    }
}

impl From<Transition> for Planned {
    fn from(transition: Transition) -> Self {
        Self { case: transition.case, events: vec![transition.event], note: None, session: SessionChange::default() }
    }
}

/// What the service needs to plan: the caller and what the action reads besides the case.
struct Context<'a> {
    caller: Caller,
    settings: &'a Settings,
    session: Option<&'a Session>,
}

/// The outcome of an accepted action.
#[derive(Debug, Clone, PartialEq)]
pub struct Acted {
    /// The case after it, as of the request.
    pub view: CaseView,
    /// The note it wrote, if any.
    pub note: Option<Note>,
    /// The case's session after the action, when the action read it.
    pub session: Option<Session>,
}

impl<R, C, G> CaseService<R, C, G>
where
    R: CaseRepository + SessionRepository + DirectoryRepository,
    C: Clock,
    G: IdGenerator,
{
    /// An active org user of the request's organization, or `invalid_reviewer` for `field`.
    async fn active_user(
        &self,
        principal: &Principal,
        id: &Result<OrgUserId, IdError>,
        field: &'static str,
    ) -> Result<String, ActionError> {
        let Ok(id) = id else { return Err(ActionError::InvalidReviewer { field }) };
        match self.repo.find_org_user(principal.tenant, *id).await? {
            Some(user) if user.active => Ok(user.name),
            _ => Err(ActionError::InvalidReviewer { field }),
        }
    }

    /// The request's reviewer: its `reviewer_id`, else the key's bound user, else none.
    pub(super) async fn reviewer(
        &self,
        request: &ActionRequest<'_>,
    ) -> Result<Option<(OrgUserId, String)>, ActionError> {
        let principal = request.principal;
        let Some(given) = &request.reviewer_id else {
            return Ok(principal.user.as_ref().map(|user| (user.id, user.name.clone())));
        };
        let name = self.active_user(principal, given, "reviewer_id").await?;
        let Ok(id) = *given else { return Err(ActionError::InvalidReviewer { field: "reviewer_id" }) };
        let bound_to_other = principal.user.as_ref().is_some_and(|user| user.id != id);
        if bound_to_other && !principal.scopes.allows(Scope::CasesAdmin) {
            return Err(ActionError::ReviewerMismatch);
        }
        Ok(Some((id, name)))
    }

    pub(super) fn record(&self, case: &Case, event: CaseEvent) -> RecordedEvent {
        RecordedEvent { id: self.ids.generate(), case_id: case.id, tenant: case.tenant, event }
    }

    /// Runs one action: see the module docs. `others` are body fields naming users that must be
    /// active (`assignee_id`, `escalated_to`); `needs_session` loads the evidence for `plan`.
    async fn act<F>(
        &self,
        request: &ActionRequest<'_>,
        case_id: CaseId,
        others: &[(&'static str, Result<OrgUserId, IdError>)],
        needs_session: bool,
        plan: F,
    ) -> Result<Acted, ActionError>
    where
        F: Fn(&Case, &Context<'_>) -> Result<Option<Planned>, ActionError>,
    {
        let principal = request.principal;
        let tenant = principal.tenant;
        let mut attempts = 0;
        loop {
            let stored = self.repo.find_case(tenant, case_id).await?.ok_or(ActionError::CaseNotFound)?;
            for (field, user) in others {
                self.active_user(principal, user, field).await?;
            }
            let reviewer = self.reviewer(request).await?;
            let settings = self.repo.settings(tenant).await?;
            let session = if needs_session {
                self.repo.find_session(tenant, stored.session_id, Pii::Include).await?
            } else {
                None
            };
            let now = self.clock.now();
            let caller = Caller {
                actor: Actor::of_request(principal, reviewer.clone()),
                reviewer: reviewer.map(|(id, _)| id),
                is_admin: principal.scopes.allows(Scope::CasesAdmin),
                now,
            };
            let lapse = stored.lapse(now);
            let base = lapse.as_ref().map_or(&stored, |t| &t.case);
            let context = Context { caller, settings: &settings, session: session.as_ref() };
            let planned = match plan(base, &context) {
                Err(error) if error.is_forbidden() => return Err(error),
                other => other,
            };
            if request.if_match.is_some_and(|expected| expected != stored.version) {
                return Err(ActionError::PreconditionFailed);
            }
            let Some(planned) = planned? else {
                return Ok(Acted { view: CaseView::at(&stored, now), note: None, session });
            };
            let mut events: Vec<RecordedEvent> = lapse.into_iter().map(|t| self.record(&stored, t.event)).collect();
            events.extend(planned.events.into_iter().map(|event| self.record(&stored, event)));
            let session = session.map(|mut session| {
                if let Some(data) = &planned.session.extracted_data {
                    session.extracted_data = data.clone();
                    session.updated_at = now;
                }
                session
            });
            let change = CaseChange { case: planned.case, events, note: planned.note, session: planned.session };
            match self.repo.save_change(&change, stored.version).await {
                Ok(()) => {
                    return Ok(Acted { view: CaseView::at(&change.case, now), note: change.note, session });
                }
                Err(SaveChangeError::VersionConflict) if request.if_match.is_some() => {
                    return Err(ActionError::PreconditionFailed);
                }
                Err(SaveChangeError::VersionConflict) if attempts < MAX_ATTEMPTS => attempts += 1,
                Err(SaveChangeError::VersionConflict) => {
                    return Err(StoreError::Unavailable(anyhow::anyhow!(
                        "case {case_id} kept changing under the action"
                    ))
                    .into());
                }
                Err(SaveChangeError::Unavailable(e)) => return Err(StoreError::Unavailable(e).into()),
                Err(SaveChangeError::Unknown(e)) => return Err(StoreError::Unknown(e).into()),
            }
        }
    }

    /// A note, and its `note_added` event appended to `planned`.
    fn with_note(&self, mut planned: Planned, case: &Case, caller: &Caller, content: Option<NoteContent>) -> Planned {
        if let Some(content) = content {
            let (note, event) = case.note(caller, self.ids.generate(), content);
            planned.events.push(event);
            planned.note = Some(note);
        }
        planned
    }

    /// Claims (or renews) a lease for the request's reviewer.
    ///
    /// # Errors
    /// [`ActionError`].
    pub async fn claim(&self, request: &ActionRequest<'_>, case_id: CaseId) -> Result<CaseView, ActionError> {
        let acted = self
            .act(request, case_id, &[], false, |case, context| {
                let reviewer = context.caller.reviewer.ok_or(ActionError::InvalidReviewer { field: "reviewer_id" })?;
                Ok(Some(case.claim(&context.caller, reviewer, context.settings.claim_ttl())?.into()))
            })
            .await?;
        Ok(acted.view)
    }

    /// Releases the lease (or the assignment).
    ///
    /// # Errors
    /// [`ActionError`].
    pub async fn release(&self, request: &ActionRequest<'_>, case_id: CaseId) -> Result<CaseView, ActionError> {
        let acted = self
            .act(request, case_id, &[], false, |case, context| Ok(Some(case.release(&context.caller)?.into())))
            .await?;
        Ok(acted.view)
    }

    /// Assigns the case (advisory).
    ///
    /// # Errors
    /// [`ActionError`].
    pub async fn assign(
        &self,
        request: &ActionRequest<'_>,
        case_id: CaseId,
        assignee: Result<OrgUserId, IdError>,
        reason: Option<String>,
    ) -> Result<CaseView, ActionError> {
        let acted = self
            .act(request, case_id, &[("assignee_id", assignee.clone())], false, |case, context| {
                let assignee = assignee.clone().map_err(|_| ActionError::InvalidReviewer { field: "assignee_id" })?;
                Ok(case.assign(&context.caller, assignee, reason.clone())?.map(Planned::from))
            })
            .await?;
        Ok(acted.view)
    }

    /// Escalates the case, with an optional inline note.
    ///
    /// # Errors
    /// [`ActionError`].
    pub async fn escalate(
        &self,
        request: &ActionRequest<'_>,
        case_id: CaseId,
        to: Option<Result<OrgUserId, IdError>>,
        reason: Option<String>,
        notes: Option<NoteContent>,
    ) -> Result<CaseView, ActionError> {
        let others: Vec<(&'static str, Result<OrgUserId, IdError>)> =
            to.clone().map(|user| ("escalated_to", user)).into_iter().collect();
        let target = to.and_then(Result::ok);
        let acted = self
            .act(request, case_id, &others, false, |case, context| {
                let transition = case.escalate(&context.caller, target, reason.clone())?;
                Ok(Some(self.with_note(transition.into(), case, &context.caller, notes.clone())))
            })
            .await?;
        Ok(acted.view)
    }

    /// Approves or rejects: final, or a recommendation under dual review; a final decision sets
    /// the session's status and, for a rejection that asks for it, adds the document number to
    /// the blocklist.
    ///
    /// # Errors
    /// [`ActionError`].
    pub async fn decide(
        &self,
        request: &ActionRequest<'_>,
        case_id: CaseId,
        input: DecisionInput,
    ) -> Result<CaseView, ActionError> {
        let blocklist = input.decision == Decision::Rejected && input.add_to_blocklist;
        let acted = self
            .act(request, case_id, &[], blocklist, |case, context| {
                let reviewer = context.caller.reviewer.ok_or(ActionError::InvalidReviewer { field: "reviewer_id" })?;
                let transition = case.decide(&context.caller, reviewer, input.clone(), context.settings.dual_review)?;
                let notes = input.notes.as_deref().and_then(|text| NoteContent::parse(text).ok());
                let mut planned = self.with_note(transition.into(), case, &context.caller, notes);
                if planned.case.is_final() {
                    let status = match input.decision {
                        Decision::Approved => SessionStatus::Approved,
                        Decision::Rejected => SessionStatus::Declined,
                    };
                    planned.session.status = Some((status, self.ids.generate()));
                    let case = &planned.case;
                    planned.session.result = Some(SessionResult::decided(
                        input.decision,
                        case.decided_at.unwrap_or(case.updated_at),
                        case.rejection_reason.clone(),
                        case.rejection_reason_code,
                    ));
                    planned.session.blocklist = context
                        .session
                        .filter(|_| blocklist)
                        .and_then(|session| session.extracted_data.normalized_document_number())
                        .map(|document_number| BlocklistEntry { id: self.ids.generate(), document_number });
                }
                Ok(Some(planned))
            })
            .await?;
        Ok(acted.view)
    }

    /// An agent's suggestion, through `/mcp` (API.md §1): an `agent_recommended` event with
    /// `{decision, reason}`. Nothing on the case changes (no status, lease or `version`), no
    /// reviewer is needed, and it never counts as a review of dual review: a person decides.
    ///
    /// # Errors
    /// [`ActionError`]: 404, 409 `case_already_decided`.
    pub async fn agent_recommendation(
        &self,
        request: &ActionRequest<'_>,
        case_id: CaseId,
        decision: Decision,
        reason: Option<String>,
    ) -> Result<CaseView, ActionError> {
        let acted = self
            .act(request, case_id, &[], false, |case, context| {
                if case.is_final() {
                    return Err(ActionError::AlreadyDecided);
                }
                let event =
                    CaseEvent::new(EventType::AgentRecommended, context.caller.actor.clone(), context.caller.now)
                        .with_value("decision", Value::String(decision.as_str().to_owned()))
                        .with_value("reason", reason.clone().map_or(Value::Null, Value::String))
                        .with_reason(reason.clone());
                Ok(Some(Planned::record_only(case, event)))
            })
            .await?;
        Ok(acted.view)
    }

    /// A person unmasked the session's extracted data in the console: a `pii_revealed` event
    /// naming the fields (never their values); nothing on the case changes. Needs
    /// `verifications:read`.
    ///
    /// # Errors
    /// [`ActionError`]: 404.
    pub async fn reveal_pii(&self, request: &ActionRequest<'_>, case_id: CaseId) -> Result<Session, ActionError> {
        let acted = self
            .act(request, case_id, &[], true, |case, context| {
                let fields: Vec<String> = context
                    .session
                    .map(|session| session.extracted_data.as_map().keys().cloned().collect())
                    .unwrap_or_default();
                let event = CaseEvent::new(EventType::PiiRevealed, context.caller.actor.clone(), context.caller.now)
                    .with_field_names("extracted_data", fields);
                Ok(Some(Planned::record_only(case, event)))
            })
            .await?;
        acted.session.ok_or(ActionError::CaseNotFound)
    }

    /// Adds a note (any status; the case's `version` does not change).
    ///
    /// # Errors
    /// [`ActionError`].
    pub async fn add_note(
        &self,
        request: &ActionRequest<'_>,
        case_id: CaseId,
        content: NoteContent,
    ) -> Result<Note, ActionError> {
        let acted = self
            .act(request, case_id, &[], false, |case, context| {
                let planned =
                    Planned { case: case.clone(), events: Vec::new(), note: None, session: SessionChange::default() };
                Ok(Some(self.with_note(planned, case, &context.caller, Some(content.clone()))))
            })
            .await?;
        acted.note.ok_or_else(|| StoreError::Unknown(anyhow::anyhow!("the note was not recorded")).into())
    }

    /// PATCH: priority, tags, metadata, custom fields.
    ///
    /// # Errors
    /// [`ActionError`].
    pub async fn update(
        &self,
        request: &ActionRequest<'_>,
        case_id: CaseId,
        patch: CasePatch,
    ) -> Result<CaseView, ActionError> {
        let acted = self
            .act(request, case_id, &[], false, |case, context| {
                Ok(case.update(&context.caller, &patch)?.map(Planned::from))
            })
            .await?;
        Ok(acted.view)
    }

    /// Overrides a check; the session's summary is recomputed later by a worker.
    ///
    /// # Errors
    /// [`ActionError`].
    pub async fn override_check(
        &self,
        request: &ActionRequest<'_>,
        case_id: CaseId,
        input: OverrideInput,
    ) -> Result<CaseView, ActionError> {
        let acted = self
            .act(request, case_id, &[], true, |case, context| {
                let session = context.session.ok_or(ActionError::CheckNotFound)?;
                let (transition, checks) = case.override_check(&context.caller, session, input.clone())?;
                let mut planned = Planned::from(transition);
                planned.session.checks = Some(checks);
                Ok(Some(planned))
            })
            .await?;
        Ok(acted.view)
    }

    /// Corrects extracted data; returns the case and its session as corrected.
    ///
    /// # Errors
    /// [`ActionError`].
    pub async fn update_pii(
        &self,
        request: &ActionRequest<'_>,
        case_id: CaseId,
        patch: Map<String, Value>,
    ) -> Result<(CaseView, Session), ActionError> {
        let acted = self
            .act(request, case_id, &[], true, |case, context| {
                let session = context.session.ok_or(ActionError::CaseNotFound)?;
                let (transition, data) = case.update_pii(&context.caller, session, &patch)?;
                let mut planned = Planned::from(transition);
                planned.session.extracted_data = Some(data);
                Ok(Some(planned))
            })
            .await?;
        let session = acted.session.ok_or(ActionError::CaseNotFound)?;
        Ok((acted.view, session))
    }
}

/// `reviewer_id` is required for this action and neither the body nor the key gives one.
pub fn reviewer_required() -> FieldErrors {
    let mut errors = FieldErrors::default();
    errors.push("reviewer_id", Violation::Required, "is required: this action needs a reviewer");
    errors
}
