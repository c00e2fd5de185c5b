//! `/api/v1/sessions`: the ingestion side (API.md §1, Session).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use casework_api::session::{PiiAccess, Session as SessionBody};
use casework_domain::data::DataMap;
use casework_domain::directory::Scope;
use casework_domain::id::SessionId;
use casework_domain::page::SessionQuery;
use casework_domain::service::{IngestSessionError, NewSession};
use casework_domain::session::{
    Check, CheckStatus, ExtractedData, MAX_CHECKS, Session, SessionStatus, is_valid_policy,
};
use casework_domain::tenant::Settings;
use casework_domain::validation::Violation;
use serde_json::{Map, Value};

use crate::http::auth::Api;
use crate::http::error::ApiError;
use crate::http::fields::Fields;
use crate::http::respond;

const SESSION_STATUSES: &[&str] =
    &["pending", "capturing", "processing", "completed", "expired", "failed", "awaiting_external", "under_review"];

/// Which PII the request may see: none without `verifications:read`, else the environment's
/// allow-list.
pub fn pii_access<'a>(api: &Api, settings: &'a Settings) -> PiiAccess<'a> {
    api.principal().scopes.allows(Scope::VerificationsRead).then_some(settings.api_pii_fields.as_deref())
}

/// The session as this request may see it. A mutation reads `settings` before it commits, so
/// nothing after the commit can fail.
pub fn render(api: &Api, settings: &Settings, session: &Session) -> SessionBody {
    SessionBody::new(session, pii_access(api, settings))
}

/// A client data map field (`metadata`), with its limits.
pub fn data_map(fields: &mut Fields, name: &str) -> Option<DataMap> {
    let object = fields.object(name)?;
    match DataMap::parse(object) {
        Ok(map) => Some(map),
        Err(violation) => {
            fields.reject(name, violation, "must have at most 50 keys and 16 KiB as compact JSON");
            None
        }
    }
}

fn parse_check(fields: &mut Fields, index: usize, value: Value) -> Option<Check> {
    let path = format!("checks[{index}]");
    let Value::Object(object) = value else {
        fields.extend({
            let mut errors = casework_domain::validation::FieldErrors::default();
            errors.push(path, Violation::InvalidType, "must be an object");
            errors
        });
        return None;
    };
    let mut check = Fields::new(object, &path);
    let policy = check.required_string("policy", 1, 64);
    if policy.as_deref().is_some_and(|p| !is_valid_policy(p)) {
        check.reject("policy", Violation::InvalidValue, "must be 1 to 64 characters of [a-z0-9_]");
    }
    let status =
        if check.require("status") { check.enumeration::<CheckStatus>("status", CheckStatus::NAMES) } else { None };
    let score = match check.value("score") {
        None => None,
        Some(Value::Number(number)) => number.as_f64(),
        Some(_) => {
            check.reject("score", Violation::InvalidType, "must be a number or null");
            None
        }
    };
    let details = check.object("details").unwrap_or_default();
    if check.value("override").is_some() {
        check.reject("override", Violation::InvalidValue, "is set by reviewers, not at ingestion");
    }
    let errors = check.into_errors();
    let valid = errors.is_empty();
    fields.extend(errors);
    match (policy, status) {
        (Some(policy), Some(status)) if valid => Some(Check { policy, status, score, details, override_: None }),
        _ => None,
    }
}

fn parse_new_session(body: Map<String, Value>) -> Result<NewSession, ApiError> {
    let mut fields = Fields::new(body, "");
    let external_ref = fields.string("external_ref", 0, 255);
    let metadata = data_map(&mut fields, "metadata").unwrap_or_default();
    let status = fields.enumeration::<SessionStatus>("status", SESSION_STATUSES).unwrap_or(SessionStatus::Pending);
    if !status.is_ingestible() {
        fields.reject("status", Violation::InvalidValue, "approved and declined are set only by a case decision");
    }
    let items = fields.array("checks").unwrap_or_default();
    if items.len() > MAX_CHECKS {
        fields.reject("checks", Violation::TooMany, "at most 50 checks");
    }
    let checks: Vec<Check> =
        items.into_iter().enumerate().filter_map(|(index, item)| parse_check(&mut fields, index, item)).collect();
    let extracted_data = match fields.object("extracted_data") {
        None => ExtractedData::default(),
        Some(object) => ExtractedData::parse(&object, "extracted_data").unwrap_or_else(|errors| {
            fields.extend(errors);
            ExtractedData::default()
        }),
    };
    fields.finish()?;
    Ok(NewSession { external_ref, metadata, status, checks, extracted_data })
}

/// `POST /api/v1/sessions`.
///
/// # Errors
/// 401, 403, 413/415/400 for the body, 422 for its fields, 503.
pub async fn create(api: Api, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let body = api.json(payload).await?;
    let new = parse_new_session(body)?;
    let settings = api.state.service.settings(api.tenant()).await?;
    let session =
        api.state.service.ingest_session(api.tenant(), api.actor(), new).await.map_err(|error| match error {
            IngestSessionError::StatusNotIngestible(_) => ApiError::invalid_field(
                "status",
                Violation::InvalidValue,
                "approved and declined are set only by a case decision",
            ),
            IngestSessionError::Store(store) => store.into(),
        })?;
    Ok(respond::created(&render(&api, &settings, &session), format!("/api/v1/sessions/{}", session.id.public())))
}

/// `GET /api/v1/sessions/{session_id}`.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn get(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = SessionId::parse(&path).map_err(|_| ApiError::not_found("Session"))?;
    let session =
        api.state.service.session(api.tenant(), id, api.pii()).await?.ok_or_else(|| ApiError::not_found("Session"))?;
    let settings = api.state.service.settings(api.tenant()).await?;
    Ok(respond::json(StatusCode::OK, &render(&api, &settings, &session)))
}

/// `GET /api/v1/sessions`: newest first; `status`, `external_ref`; `limit` default 50.
///
/// # Errors
/// 401, 403, 422 for a bad parameter, 503.
pub async fn list(api: Api) -> Result<HttpResponse, ApiError> {
    let mut query = api.query()?;
    let statuses = query.list::<SessionStatus>("status", &SESSION_STATUSES.join(", "));
    let external_ref = query.text("external_ref");
    let page = query.page(50);
    query.finish()?;
    let filter = SessionQuery { statuses, external_ref };
    let sessions = api.state.service.sessions(api.tenant(), &filter, page, api.pii()).await?;
    let settings = api.state.service.settings(api.tenant()).await?;
    let access = pii_access(&api, &settings);
    Ok(respond::list_with(&sessions, |session| SessionBody::new(session, access)))
}
