//! `/api/v1/sessions`: the ingestion side (API.md §1, Session).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use casework_api::request::session::NewSessionRequest;
use casework_api::session::{PiiAccess, Session as SessionBody};
use casework_domain::directory::Scope;
use casework_domain::id::SessionId;
use casework_domain::page::SessionQuery;
use casework_domain::service::IngestSessionError;
use casework_domain::session::{Session, SessionStatus};
use casework_domain::tenant::Settings;
use casework_domain::validation::Violation;

use crate::http::auth::Api;
use crate::http::error::ApiError;
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

/// `POST /api/v1/sessions`.
///
/// # Errors
/// 401, 403, 413/415/400 for the body, 422 for its fields, 503.
pub async fn create(api: Api, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let new = api.input::<NewSessionRequest>(payload).await?;
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
