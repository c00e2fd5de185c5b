//! A case's data besides its lifecycle: PATCH, notes, the events timeline, PII corrections, and
//! the queue views (counts, tags), demo cases and the blocklist (API.md §3).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use casework_domain::case::{CasePatch, NoteContent, Priority, Tag, Tags};
use casework_domain::id::{CaseId, OrgUserId};
use casework_domain::json;
use casework_domain::service::queue::DemoError;
use casework_domain::validation::Violation;
use serde_json::{Value, json};

use super::sessions;
use crate::http::action::{action_request, if_match};
use crate::http::auth::Auth;
use crate::http::body::json_object;
use crate::http::error::ApiError;
use crate::http::fields::Fields;
use crate::http::query::{Query, page_of};
use crate::http::respond;
use crate::state::AppState;

const PRIORITIES: &[&str] = &["low", "normal", "high", "urgent"];

fn case_id(path: &str) -> Result<CaseId, ApiError> {
    CaseId::parse(path).map_err(|_| ApiError::not_found("Case"))
}

/// A data-map patch field: an object, never null as a whole.
fn map_patch(fields: &mut Fields, name: &str, present_null: bool) -> Option<serde_json::Map<String, Value>> {
    if present_null {
        let _null = fields.value(name);
        fields.reject(name, Violation::InvalidType, "must be an object (set a key to null to remove it)");
        return None;
    }
    fields.object(name)
}

fn parse_tags(fields: &mut Fields) -> Option<Tags> {
    let items = fields.array("tags")?;
    let mut tags = Vec::new();
    let mut valid = true;
    for (index, item) in items.iter().enumerate() {
        let path = format!("tags[{index}]");
        match item.as_str().map(Tag::parse) {
            Some(Ok(tag)) => tags.push(tag),
            Some(Err(violation)) => {
                valid = false;
                fields.reject(&path, violation, "must be 1 to 64 characters of [a-z0-9_:-]");
            }
            None => {
                valid = false;
                fields.reject(&path, Violation::InvalidType, "must be a string");
            }
        }
    }
    match Tags::new(tags) {
        Ok(tags) if valid => Some(tags),
        Ok(_) => None,
        Err(violation) => {
            fields.reject("tags", violation, "at most 20 distinct tags");
            None
        }
    }
}

/// `PATCH /cases/{case_id}`.
///
/// # Errors
/// 422 for the fields, 409 `case_already_decided` for `priority` on a final case.
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    request: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&request)?;
    let principal = auth.principal();
    let body = json_object(&request, payload, state.config.limits.max_body_bytes).await?;
    let nulls: Vec<String> = body.iter().filter(|(_, v)| v.is_null()).map(|(k, _)| k.clone()).collect();
    let mut fields = Fields::new(body, "");
    let is_null = |name: &str| nulls.iter().any(|n| n == name);
    let patch = CasePatch {
        metadata: map_patch(&mut fields, "metadata", is_null("metadata")),
        custom_fields: map_patch(&mut fields, "custom_fields", is_null("custom_fields")),
        priority: fields.enumeration::<Priority>("priority", PRIORITIES),
        tags: parse_tags(&mut fields),
    };
    for name in ["priority", "tags"] {
        if is_null(name) {
            let _null = fields.value(name);
            fields.reject(name, Violation::InvalidType, "must not be null");
        }
    }
    fields.finish()?;
    let action = action_request(principal, None, expected, false)?;
    let view = state.service.update(&action, case_id(&path)?, patch).await?;
    Ok(respond::case(StatusCode::OK, json::case(&view), view.case.version))
}

/// `POST /cases/{case_id}/notes`.
///
/// # Errors
/// 422 for the content, 404 for the case.
pub async fn add_note(
    state: web::Data<AppState>,
    auth: Auth,
    request: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.principal();
    let body = json_object(&request, payload, state.config.limits.max_body_bytes).await?;
    let mut fields = Fields::new(body, "");
    let content = fields.required_string("content", 0, usize::MAX).and_then(|text| {
        NoteContent::parse(&text)
            .map_err(|violation| fields.reject("content", violation, "must be 1 to 10000 characters"))
            .ok()
    });
    fields.finish()?;
    let Some(content) = content else {
        return Err(ApiError::invalid_field("content", Violation::Required, "is required"));
    };
    let action = action_request(principal, None, None, false)?;
    let note = state.service.add_note(&action, case_id(&path)?, content).await?;
    Ok(respond::json(StatusCode::CREATED, json::note(&note)))
}

/// `GET /cases/{case_id}/notes`: oldest first.
///
/// # Errors
/// 404 for the case, 422 for paging.
pub async fn notes(
    state: web::Data<AppState>,
    auth: Auth,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.principal();
    let page = page_of(&request)?;
    let notes = state
        .service
        .notes(principal.tenant, case_id(&path)?, page)
        .await?
        .ok_or_else(|| ApiError::not_found("Case"))?;
    Ok(respond::list(notes, json::note))
}

/// `GET /cases/{case_id}/events`: the audit trail, oldest first.
///
/// # Errors
/// 404 for the case, 422 for paging.
pub async fn events(
    state: web::Data<AppState>,
    auth: Auth,
    request: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.principal();
    let page = page_of(&request)?;
    let events = state
        .service
        .events(principal.tenant, case_id(&path)?, page)
        .await?
        .ok_or_else(|| ApiError::not_found("Case"))?;
    Ok(respond::list(events, json::event))
}

/// `PUT /cases/{case_id}/result/pii`.
///
/// # Errors
/// 422 for the data, 409 `sensitive_data_expired`, the lease and final refusals.
pub async fn update_pii(
    state: web::Data<AppState>,
    auth: Auth,
    request: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(&request)?;
    let principal = auth.principal();
    let body = json_object(&request, payload, state.config.limits.max_body_bytes).await?;
    let mut fields = Fields::new(body, "");
    let data = if fields.require("extracted_data") { fields.object("extracted_data") } else { None };
    fields.finish()?;
    let Some(data) = data else {
        return Err(ApiError::invalid_field("extracted_data", Violation::Required, "is required"));
    };
    let action = action_request(principal, None, expected, false)?;
    let (view, extracted) = state.service.update_pii(&action, case_id(&path)?, data).await?;
    let settings = state.service.settings(principal.tenant).await?;
    let body = json!({
        "session_id": view.case.session_id.uuid(),
        "status": "under_review",
        "extracted_data": extracted.filtered(settings.api_pii_fields.as_deref()),
        "updated_at": json::timestamp(view.case.updated_at),
    });
    let session = state.service.session(principal.tenant, view.case.session_id).await?;
    let body = match session {
        Some(session) => {
            let mut body = body;
            body["status"] = json!(session.status.as_str());
            body
        }
        None => body,
    };
    Ok(respond::case(StatusCode::OK, body, view.case.version))
}

/// `GET /cases/counts`: the tabs in one round trip.
///
/// # Errors
/// 401, 403, 503.
pub async fn counts(state: web::Data<AppState>, auth: Auth, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let principal = auth.principal();
    let query = Query::of(&request)?;
    // Reads never refuse a reviewer: an unknown or malformed one simply owns nothing.
    let reviewer = match query.single("reviewer_id") {
        Some(text) => OrgUserId::parse(text).ok(),
        None => principal.user.as_ref().map(|user| user.id),
    };
    let counts = state.service.counts(principal.tenant, reviewer).await?;
    Ok(respond::json(
        StatusCode::OK,
        json!({
            "unassigned": counts.unassigned,
            "mine": counts.mine,
            "pending_second_review": counts.pending_second_review,
            "escalated": counts.escalated,
            "all": counts.all,
        }),
    ))
}

/// `GET /cases/tags`: distinct tags with counts, sorted by tag.
///
/// # Errors
/// 401, 403, 503.
pub async fn tags(state: web::Data<AppState>, auth: Auth) -> Result<HttpResponse, ApiError> {
    let principal = auth.principal();
    let tags = state.service.tags(principal.tenant).await?;
    let data: Vec<Value> = tags.iter().map(|(tag, count)| json!({"tag": tag.as_str(), "count": count})).collect();
    Ok(respond::json(StatusCode::OK, json!({"data": data})))
}

/// `POST /cases/demo`: a demo case on a synthetic session (sandbox only).
///
/// # Errors
/// 403 `sandbox_only`, 409 `demo_limit_reached`.
pub async fn demo(
    state: web::Data<AppState>,
    auth: Auth,
    request: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let principal = auth.principal();
    let body = json_object(&request, payload, state.config.limits.max_body_bytes).await?;
    Fields::new(body, "").finish()?;
    let (view, session) = state.service.demo_case(principal, auth.actor()).await.map_err(|error| match error {
        DemoError::SandboxOnly => {
            ApiError::new(StatusCode::FORBIDDEN, "sandbox_only", "Demo cases exist only in the sandbox.")
        }
        DemoError::LimitReached => {
            ApiError::conflict("demo_limit_reached", "This environment has reached its demo case limit.")
        }
        DemoError::Store(store) => store.into(),
    })?;
    let session = sessions::render(&state, &auth, &session).await?;
    Ok(respond::case(StatusCode::CREATED, json::case_with_session(&view, session), view.case.version))
}

/// `GET /blocklist`: entries, oldest first (never the hash).
///
/// # Errors
/// 401, 403, 422 for paging, 503.
pub async fn blocklist(state: web::Data<AppState>, auth: Auth, request: HttpRequest) -> Result<HttpResponse, ApiError> {
    let principal = auth.principal();
    let page = page_of(&request)?;
    let entries = state.service.blocklist(principal.tenant, page).await?;
    Ok(respond::list(entries, json::blocklist_entry))
}
