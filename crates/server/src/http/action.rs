//! What every case action shares at the HTTP edge: `If-Match`, the reviewer fields of a body,
//! and the mapping of [`ActionError`] to the contract's statuses and codes.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use casework_domain::directory::Principal;
use casework_domain::id::{IdError, OrgUserId};
use casework_domain::service::actions::{ActionError, ActionRequest, reviewer_required};
use casework_domain::validation::{FieldErrors, Violation};

use super::error::ApiError;

/// `If-Match`: `"N"`, `W/"N"` or `*` (any version: no precondition).
///
/// # Errors
/// 400 `invalid_request` for any other value.
pub fn if_match(request: &HttpRequest) -> Result<Option<u64>, ApiError> {
    let Some(value) = request.headers().get("if-match") else { return Ok(None) };
    let malformed = || ApiError::invalid_request("If-Match must be \"<version>\", W/\"<version>\" or *.");
    let text = value.to_str().map_err(|_| malformed())?.trim();
    if text == "*" {
        return Ok(None);
    }
    let quoted = text.strip_prefix("W/").unwrap_or(text);
    let version = quoted.strip_prefix('"').and_then(|t| t.strip_suffix('"')).ok_or_else(malformed)?;
    version.parse::<u64>().map(Some).map_err(|_| malformed())
}

/// The request of an action; `needs_reviewer` refuses, before any lookup, a request that has
/// neither a `reviewer_id` nor a bound user.
///
/// # Errors
/// 422 `validation_failed` with `reviewer_id: required`.
pub fn action_request<'a>(
    principal: &'a Principal,
    reviewer_id: Option<Result<OrgUserId, IdError>>,
    if_match: Option<u64>,
    needs_reviewer: bool,
) -> Result<ActionRequest<'a>, ApiError> {
    if needs_reviewer && reviewer_id.is_none() && principal.user.is_none() {
        return Err(ApiError::validation(reviewer_required()));
    }
    Ok(ActionRequest { principal, reviewer_id, if_match })
}

impl From<ActionError> for ApiError {
    fn from(error: ActionError) -> Self {
        let conflict = |code: &'static str, detail: &str| ApiError::conflict(code, detail);
        let forbidden = |code: &'static str, detail: &str| ApiError::new(StatusCode::FORBIDDEN, code, detail);
        match error {
            ActionError::CaseNotFound => Self::not_found("Case"),
            ActionError::CheckNotFound => Self::not_found("Check"),
            ActionError::InvalidReviewer { field } => {
                let mut errors = FieldErrors::default();
                errors.push(field, Violation::InvalidValue, "names no active org user of this organization");
                Self::validation(errors).with_code(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_reviewer",
                    &format!("`{field}` names no active org user of this organization."),
                )
            }
            ActionError::Invalid(errors) => Self::validation(errors),
            ActionError::ReviewerMismatch => forbidden(
                "reviewer_mismatch",
                "This API key acts for another reviewer; acting for someone else needs cases:admin.",
            ),
            ActionError::NotClaimHolder => {
                forbidden("not_claim_holder", "The claim on this case is held by another reviewer.")
            }
            ActionError::NotEscalationTarget => {
                forbidden("not_escalation_target", "The case is escalated to another reviewer.")
            }
            ActionError::PreconditionFailed => Self::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition_failed",
                "The case has changed since the version in If-Match.",
            ),
            ActionError::AlreadyDecided => conflict("case_already_decided", "The case is already decided."),
            ActionError::AlreadyClaimed(claimed) => {
                let until = casework_api::wire::format_time(claimed.expires_at);
                conflict("case_already_claimed", &format!("Case is claimed by another reviewer until {until}."))
                    .with_claim(claimed.holder.uuid(), claimed.expires_at)
            }
            ActionError::NotClaimed => {
                conflict("case_not_claimed", "The case is not claimed (or its claim has lapsed).")
            }
            ActionError::AlreadyEscalated => conflict("case_already_escalated", "The case is already escalated."),
            ActionError::InvalidTransition => {
                conflict("invalid_transition", "This action is not allowed from the case's status.")
            }
            ActionError::SecondReviewerRequired => conflict(
                "second_reviewer_required",
                "The reviewer who recommended the decision cannot take the second review.",
            ),
            ActionError::SameReviewer => {
                conflict("same_reviewer", "The final decision needs a reviewer other than the recommender.")
            }
            ActionError::SensitiveDataExpired => {
                conflict("sensitive_data_expired", "The session's sensitive data has expired.")
            }
            ActionError::Store(store) => store.into(),
        }
    }
}
