//! The case lifecycle over HTTP: claim, release, assign, escalate, approve, reject, next, and
//! check overrides (API.md §2 and §3).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use casework_api::case::{Case as CaseBody, CaseWithSession};
use casework_api::list::OverrideAccepted;
use casework_api::request::case::{
    ApproveRequest, AssignRequest, EscalateRequest, NextRequest, OverrideRequest, RejectRequest, ReviewerRequest,
};
use casework_domain::case::{Decision, OverrideInput};
use casework_domain::id::CaseId;
use casework_domain::session::is_valid_policy;

use super::sessions;
use crate::http::auth::Api;
use crate::http::error::ApiError;
use crate::http::respond;

fn case_id(path: &str) -> Result<CaseId, ApiError> {
    CaseId::parse(path).map_err(|_| ApiError::not_found("Case"))
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
    let reviewer_id = api.input::<ReviewerRequest>(payload).await?;
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
    let (assignee, reason) = api.input::<AssignRequest>(payload).await?;
    let action = api.action(None, false)?;
    let view = api.state.service.assign(&action, case_id(&path)?, assignee, reason).await?;
    Ok(case_response(&view))
}

/// `POST /cases/{case_id}/escalate`.
///
/// # Errors
/// The contract's refusals (API.md §2).
pub async fn escalate(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let (to, reason, notes) = api.input::<EscalateRequest>(payload).await?;
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
    let (reviewer_id, input) = match decision {
        Decision::Approved => api.input::<ApproveRequest>(payload).await?,
        Decision::Rejected => api.input::<RejectRequest>(payload).await?,
    };
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
    let (reviewer_id, priority, tag) = api.input::<NextRequest>(payload).await?;
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
    let (case, policy) = path.into_inner();
    let (reviewer_id, passed, reason) = api.input::<OverrideRequest>(payload).await?;
    let case_id = case_id(&case)?;
    if !is_valid_policy(&policy) {
        return Err(ApiError::not_found("Check"));
    }
    let action = api.action(reviewer_id, false)?;
    let input = OverrideInput { policy: policy.clone(), passed, reason };
    let view = api.state.service.override_check(&action, case_id, input).await?;
    let body = OverrideAccepted { case_id: view.case.id.uuid(), policy, status: "accepted" };
    Ok(respond::json(StatusCode::ACCEPTED, &body))
}
