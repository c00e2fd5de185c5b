//! A case's data besides its lifecycle: PATCH, notes, the events timeline, PII corrections, and
//! the queue views (counts, tags), demo cases and the blocklist (API.md §3).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use casework_api::activity::{BlocklistEntry, Event, Note as NoteBody};
use casework_api::case::{Case as CaseBody, CaseWithSession};
use casework_api::list::{Counts, PiiResult, TagCount, TagCounts};
use casework_api::request::case::{CasePatchRequest, Empty, NoteRequest, PiiRequest};
use casework_domain::id::{CaseId, OrgUserId};
use casework_domain::service::queue::DemoError;

use super::sessions;
use crate::http::auth::Api;
use crate::http::error::ApiError;
use crate::http::respond;

fn case_id(path: &str) -> Result<CaseId, ApiError> {
    CaseId::parse(path).map_err(|_| ApiError::not_found("Case"))
}

/// `PATCH /cases/{case_id}`.
///
/// # Errors
/// 422 for the fields, 409 `case_already_decided` for `priority` on a final case.
pub async fn update(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let patch = api.input::<CasePatchRequest>(payload).await?;
    let action = api.action(None, false)?;
    let view = api.state.service.update(&action, case_id(&path)?, patch).await?;
    Ok(respond::case(StatusCode::OK, &CaseBody::from(&view), view.case.version))
}

/// `POST /cases/{case_id}/notes`.
///
/// # Errors
/// 422 for the content, 404 for the case.
pub async fn add_note(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let content = api.input::<NoteRequest>(payload).await?;
    let action = api.action(None, false)?;
    let note = api.state.service.add_note(&action, case_id(&path)?, content).await?;
    Ok(respond::json(StatusCode::CREATED, &NoteBody::from(&note)))
}

/// `GET /cases/{case_id}/notes`: oldest first.
///
/// # Errors
/// 404 for the case, 422 for paging.
pub async fn notes(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let page = api.page()?;
    let notes = api
        .state
        .service
        .notes(api.tenant(), case_id(&path)?, page)
        .await?
        .ok_or_else(|| ApiError::not_found("Case"))?;
    Ok(respond::list::<NoteBody, _>(&notes))
}

/// `GET /cases/{case_id}/events`: the audit trail, oldest first.
///
/// # Errors
/// 404 for the case, 422 for paging.
pub async fn events(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let page = api.page()?;
    let events = api
        .state
        .service
        .events(api.tenant(), case_id(&path)?, page)
        .await?
        .ok_or_else(|| ApiError::not_found("Case"))?;
    Ok(respond::list::<Event, _>(&events))
}

/// `PUT /cases/{case_id}/result/pii`.
///
/// # Errors
/// 422 for the data, 409 `sensitive_data_expired`, the lease and final refusals.
pub async fn update_pii(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let data = api.input::<PiiRequest>(payload).await?;
    let action = api.action(None, false)?;
    let settings = api.state.service.settings(api.tenant()).await?;
    let (view, session) = api.state.service.update_pii(&action, case_id(&path)?, data).await?;
    let body = PiiResult::new(&session, settings.api_pii_fields.as_deref());
    Ok(respond::case(StatusCode::OK, &body, view.case.version))
}

/// `GET /cases/counts`: the tabs in one round trip.
///
/// # Errors
/// 401, 403, 503.
pub async fn counts(api: Api) -> Result<HttpResponse, ApiError> {
    let query = api.query()?;
    // Reads never refuse a reviewer: an unknown or malformed one simply owns nothing.
    let reviewer = match query.single("reviewer_id") {
        Some(text) => OrgUserId::parse(text).ok(),
        None => api.principal().user.as_ref().map(|user| user.id),
    };
    let counts = api.state.service.counts(api.tenant(), reviewer).await?;
    Ok(respond::json(StatusCode::OK, &Counts::from(&counts)))
}

/// `GET /cases/tags`: distinct tags with counts, sorted by tag.
///
/// # Errors
/// 401, 403, 503.
pub async fn tags(api: Api) -> Result<HttpResponse, ApiError> {
    let tags = api.state.service.tags(api.tenant()).await?;
    let data = tags.iter().map(|(tag, count)| TagCount { tag: tag.as_str().to_owned(), count: *count }).collect();
    Ok(respond::json(StatusCode::OK, &TagCounts { data }))
}

/// `POST /cases/demo`: a demo case on a synthetic session (sandbox only).
///
/// # Errors
/// 403 `sandbox_only`, 409 `demo_limit_reached`.
pub async fn demo(api: Api, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    api.input::<Empty>(payload).await?;
    let settings = api.state.service.settings(api.tenant()).await?;
    let (view, session) =
        api.state.service.demo_case(api.principal(), api.actor()).await.map_err(|error| match error {
            DemoError::SandboxOnly => {
                ApiError::new(StatusCode::FORBIDDEN, "sandbox_only", "Demo cases exist only in the sandbox.")
            }
            DemoError::LimitReached => {
                ApiError::conflict("demo_limit_reached", "This environment has reached its demo case limit.")
            }
            DemoError::Store(store) => store.into(),
        })?;
    let session = sessions::render(&api, &settings, &session);
    let body = CaseWithSession { case: (&view).into(), session };
    let response = respond::case(StatusCode::CREATED, &body, view.case.version);
    Ok(respond::located(response, &respond::case_location(view.case.id)))
}

/// `GET /blocklist`: entries, oldest first (never the hash).
///
/// # Errors
/// 401, 403, 422 for paging, 503.
pub async fn blocklist(api: Api) -> Result<HttpResponse, ApiError> {
    let page = api.page()?;
    let entries = api.state.service.blocklist(api.tenant(), page).await?;
    Ok(respond::list::<BlocklistEntry, _>(&entries))
}
