//! The case lifecycle over HTTP: claim, release, assign, escalate, approve, reject, next, and
//! check overrides (API.md §2 and §3).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use casework_api::case::{Case as CaseBody, CaseWithSession};
use casework_api::list::OverrideAccepted;
use casework_domain::case::lifecycle::DecisionInput;
use casework_domain::case::{Decision, NoteContent, OverrideInput, Priority, RejectionReasonCode, Tag};
use casework_domain::id::CaseId;
use casework_domain::session::is_valid_policy;
use casework_domain::validation::Violation;

use super::sessions;
use crate::http::action::user_field;
use crate::http::auth::Api;
use crate::http::error::ApiError;
use crate::http::fields::Fields;
use crate::http::respond;

fn case_id(path: &str) -> Result<CaseId, ApiError> {
    CaseId::parse(path).map_err(|_| ApiError::not_found("Case"))
}

/// Inline `notes` of approve, reject and escalate: ≤ 10 000 characters, kept as a note.
fn notes(fields: &mut Fields) -> Option<NoteContent> {
    let text = fields.string("notes", 0, 10_000)?;
    if text.trim().is_empty() {
        return None;
    }
    NoteContent::parse(&text)
        .map_err(|violation| fields.reject("notes", violation, "must be 1 to 10000 characters"))
        .ok()
}

fn case_response(view: &casework_domain::service::CaseView) -> HttpResponse {
    respond::case(StatusCode::OK, &CaseBody::from(view), view.case.version)
}

/// Claim and release: a body of `{reviewer_id?}` and the case.
#[derive(Clone, Copy)]
enum Hold {
    Claim,
    Release,
}

async fn hold(api: Api, path: web::Path<String>, payload: web::Payload, which: Hold) -> Result<HttpResponse, ApiError> {
    let mut fields = api.body(payload).await?;
    let reviewer_id = user_field(&mut fields, "reviewer_id");
    fields.finish()?;
    let action = api.action(reviewer_id, matches!(which, Hold::Claim))?;
    let id = case_id(&path)?;
    let view = match which {
        Hold::Claim => api.state.service.claim(&action, id).await?,
        Hold::Release => api.state.service.release(&action, id).await?,
    };
    Ok(case_response(&view))
}

/// `POST /cases/{case_id}/claim`.
///
/// # Errors
/// The contract's refusals (API.md §2).
pub async fn claim(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    hold(api, path, payload, Hold::Claim).await
}

/// `POST /cases/{case_id}/release`.
///
/// # Errors
/// The contract's refusals (API.md §2).
pub async fn release(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    hold(api, path, payload, Hold::Release).await
}

/// `POST /cases/{case_id}/assign`.
///
/// # Errors
/// The contract's refusals (API.md §2).
pub async fn assign(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let mut fields = api.body(payload).await?;
    let assignee = if fields.require("assignee_id") { user_field(&mut fields, "assignee_id") } else { None };
    let reason = fields.string("reason", 1, 2000);
    fields.finish()?;
    let Some(assignee) = assignee else {
        return Err(ApiError::invalid_field("assignee_id", Violation::Required, "is required"));
    };
    let action = api.action(None, false)?;
    let view = api.state.service.assign(&action, case_id(&path)?, assignee, reason).await?;
    Ok(case_response(&view))
}

/// `POST /cases/{case_id}/escalate`.
///
/// # Errors
/// The contract's refusals (API.md §2).
pub async fn escalate(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let mut fields = api.body(payload).await?;
    let to = user_field(&mut fields, "escalated_to");
    let reason = fields.string("reason", 0, 2000).filter(|r| !r.is_empty());
    let notes = notes(&mut fields);
    fields.finish()?;
    let action = api.action(None, false)?;
    let view = api.state.service.escalate(&action, case_id(&path)?, to, reason, notes).await?;
    Ok(case_response(&view))
}

async fn decide(
    api: Api,
    path: web::Path<String>,
    payload: web::Payload,
    decision: Decision,
) -> Result<HttpResponse, ApiError> {
    let mut fields = api.body(payload).await?;
    let reviewer_id = user_field(&mut fields, "reviewer_id");
    let notes_text = notes(&mut fields).map(|n| n.as_str().to_owned());
    let input = match decision {
        Decision::Approved => {
            // Accepted and ignored: approve and reject share one request schema.
            let _ignored = fields.string("rejection_reason", 0, 2000);
            DecisionInput {
                decision,
                notes: notes_text,
                rejection_reason: None,
                rejection_reason_code: None,
                add_to_blocklist: false,
            }
        }
        Decision::Rejected => DecisionInput {
            decision,
            notes: notes_text,
            rejection_reason: fields.required_string("rejection_reason", 1, 2000),
            rejection_reason_code: fields
                .enumeration::<RejectionReasonCode>("rejection_reason_code", RejectionReasonCode::NAMES),
            add_to_blocklist: fields.boolean("add_to_blocklist").unwrap_or(false),
        },
    };
    fields.finish()?;
    let action = api.action(reviewer_id, true)?;
    let view = api.state.service.decide(&action, case_id(&path)?, input).await?;
    Ok(case_response(&view))
}

/// `POST /cases/{case_id}/approve`.
///
/// # Errors
/// The contract's refusals (API.md §2).
pub async fn approve(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    decide(api, path, payload, Decision::Approved).await
}

/// `POST /cases/{case_id}/reject`.
///
/// # Errors
/// The contract's refusals (API.md §2).
pub async fn reject(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    decide(api, path, payload, Decision::Rejected).await
}

/// `POST /cases/next`: claims the first eligible case; 404 `queue_empty` when there is none.
///
/// # Errors
/// 422 without a reviewer, 404 `queue_empty`, the reviewer refusals.
pub async fn next(api: Api, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let mut fields = api.body(payload).await?;
    let reviewer_id = user_field(&mut fields, "reviewer_id");
    let priority = fields.enumeration::<Priority>("priority", Priority::NAMES);
    let tag = fields.string("tag", 0, 64).and_then(|text| {
        Tag::parse(&text)
            .map_err(|violation| fields.reject("tag", violation, "must be 1 to 64 characters of [a-z0-9_:-]"))
            .ok()
    });
    fields.finish()?;
    let action = api.action(reviewer_id, true)?;
    let settings = api.state.service.settings(api.tenant()).await?;
    let Some((view, session)) = api.state.service.next(&action, priority, tag).await? else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "queue_empty", "No case is waiting in the queue."));
    };
    let session = sessions::render(&api, &settings, &session);
    let body = CaseWithSession { case: (&view).into(), session };
    Ok(respond::case(StatusCode::OK, &body, view.case.version))
}

/// `POST /cases/{case_id}/checks/{policy}/override`: 202; the summary follows asynchronously.
///
/// # Errors
/// 404 for an unknown check, the contract's refusals.
pub async fn override_check(
    api: Api,
    path: web::Path<(String, String)>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let mut fields = api.body(payload).await?;
    let passed = fields.boolean("passed").unwrap_or(true);
    let reason = fields.string("reason", 0, 2000).filter(|r| !r.is_empty());
    let reviewer_id = user_field(&mut fields, "reviewer_id");
    fields.finish()?;
    let (case, policy) = path.into_inner();
    let case_id = case_id(&case)?;
    if !is_valid_policy(&policy) {
        return Err(ApiError::not_found("Check"));
    }
    let action = api.action(reviewer_id, false)?;
    let view = api
        .state
        .service
        .override_check(&action, case_id, OverrideInput { policy: policy.clone(), passed, reason })
        .await?;
    let body = OverrideAccepted { case_id: view.case.id.uuid(), policy, status: "accepted" };
    Ok(respond::json(StatusCode::ACCEPTED, &body))
}
