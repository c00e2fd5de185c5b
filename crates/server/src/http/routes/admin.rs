//! Administration over HTTP (API.md §6): the environment's settings, org users and API keys.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use casework_api::admin::{ApiKey as ApiKeyBody, CreatedApiKey, OrgUser as OrgUserBody, Settings as SettingsBody};
use casework_api::request::admin::{NewApiKeyRequest, NewOrgUserRequest, OrgUserPatchRequest, SettingsPatchRequest};
use casework_domain::id::{ApiKeyId, OrgUserId};
use casework_domain::service::admin::AdminError;
use casework_domain::validation::Violation;

use crate::http::auth::Api;
use crate::http::error::ApiError;
use crate::http::respond;

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::NotFound(resource) => Self::not_found(resource),
            AdminError::EmailTaken => Self::conflict("email_taken", "An org user with this email already exists."),
            AdminError::InsufficientScope(scope) => Self::new(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                format!("A key can only grant scopes it holds; this one lacks `{scope}`."),
            ),
            AdminError::InvalidReviewer => {
                Self::invalid_field("org_user_id", Violation::InvalidValue, "names no active org user").with_code(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_reviewer",
                    "`org_user_id` names no active org user of this organization.",
                )
            }
            AdminError::ReviewerMismatch => Self::new(
                StatusCode::FORBIDDEN,
                "reviewer_mismatch",
                "A key bound to an org user may only create keys bound to that same user (or needs `cases:admin`).",
            ),
            AdminError::Invalid(errors) => Self::validation(errors),
            AdminError::Store(store) => store.into(),
        }
    }
}

/// `GET /organization/settings`.
///
/// # Errors
/// 401, 403, 503.
pub async fn settings(api: Api) -> Result<HttpResponse, ApiError> {
    let settings = api.state.service.settings(api.tenant()).await?;
    Ok(respond::json(StatusCode::OK, &SettingsBody::from(&settings)))
}

/// `PATCH /organization/settings`: any subset, each value validated.
///
/// # Errors
/// 422 naming each bad value.
pub async fn update_settings(api: Api, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let patch = api.input::<SettingsPatchRequest>(payload).await?;
    let settings = api.state.service.update_settings(api.tenant(), &patch).await?;
    Ok(respond::json(StatusCode::OK, &SettingsBody::from(&settings)))
}

/// `GET /org-users`.
///
/// # Errors
/// 401, 403, 422 for paging, 503.
pub async fn org_users(api: Api) -> Result<HttpResponse, ApiError> {
    let page = api.page()?;
    let users = api.state.service.org_users(api.tenant().org_id, page).await?;
    Ok(respond::list::<OrgUserBody, _>(&users))
}

/// `POST /org-users`.
///
/// # Errors
/// 422 for the fields, 409 `email_taken`.
pub async fn create_org_user(api: Api, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let new = api.input::<NewOrgUserRequest>(payload).await?;
    let user = api.state.service.create_org_user(api.tenant().org_id, new).await?;
    Ok(respond::created(&OrgUserBody::from(&user), format!("/api/v1/org-users/{}", user.id.public())))
}

fn user_id(path: &str) -> Result<OrgUserId, ApiError> {
    OrgUserId::parse(path).map_err(|_| ApiError::not_found("Org user"))
}

/// `GET /org-users/{id}`.
///
/// # Errors
/// 404.
pub async fn org_user(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let user = api.state.service.org_user(api.tenant(), user_id(&path)?).await?;
    Ok(respond::json(StatusCode::OK, &OrgUserBody::from(&user)))
}

/// `PATCH /org-users/{id}`: `name`, `role`, `active`.
///
/// # Errors
/// 422 for the fields, 404.
pub async fn update_org_user(
    api: Api,
    path: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let patch = api.input::<OrgUserPatchRequest>(payload).await?;
    let user = api.state.service.update_org_user(api.tenant(), user_id(&path)?, patch).await?;
    Ok(respond::json(StatusCode::OK, &OrgUserBody::from(&user)))
}

/// `GET /api-keys`: the environment's keys, never their secrets.
///
/// # Errors
/// 401, 403, 422 for paging, 503.
pub async fn api_keys(api: Api) -> Result<HttpResponse, ApiError> {
    let page = api.page()?;
    let keys = api.state.service.api_keys(api.tenant(), page).await?;
    Ok(respond::list::<ApiKeyBody, _>(&keys))
}

/// `POST /api-keys`: 201 with the secret `key`, shown this once.
///
/// # Errors
/// 422 for the fields, 403 for a scope the creator lacks, 422 `invalid_reviewer`.
pub async fn create_api_key(api: Api, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let new = api.input::<NewApiKeyRequest>(payload).await?;
    let (key, secret) = api.state.service.create_api_key(api.principal(), new).await?;
    let body = CreatedApiKey { api_key: (&key).into(), key: secret };
    Ok(respond::created(&body, format!("/api/v1/api-keys/{}", key.id.public())))
}

/// `DELETE /api-keys/{id}`: revokes; refused everywhere from the next request.
///
/// # Errors
/// 404.
pub async fn revoke_api_key(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = ApiKeyId::parse(&path).map_err(|_| ApiError::not_found("API key"))?;
    let key = api.state.service.revoke_api_key(Some(api.tenant()), id).await?;
    Ok(respond::json(StatusCode::OK, &ApiKeyBody::from(&key)))
}

/// `POST /org-users/{id}/invitation`: 201 `{url, expires_at}`, a one-time link (72 h) where the
/// user sets a password; their previous invitation, password and console sessions end.
///
/// # Errors
/// 404.
pub async fn invite(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    api.input::<casework_api::request::case::Empty>(payload).await?;
    let user = user_id(&path)?;
    let info = api.request().connection_info().clone();
    let base = format!("{}://{}", info.scheme(), info.host());
    let (url, expires_at) = crate::console::people::invite(&api.state, api.tenant().org_id, user, &base)
        .await?
        .ok_or_else(|| ApiError::not_found("Org user"))?;
    Ok(respond::json(StatusCode::CREATED, &casework_api::admin::Invitation { url, expires_at: expires_at.into() }))
}

/// `GET /sign-in-attempts`: the organization's console sign-ins, failures and lockouts, newest
/// first.
///
/// # Errors
/// 422 for paging.
pub async fn sign_in_attempts(api: Api) -> Result<HttpResponse, ApiError> {
    let page = api.page()?;
    let attempts = api.state.store.sign_in_attempts(api.tenant().org_id, page).await?;
    Ok(respond::list::<casework_api::admin::SignInAttempt, _>(&attempts))
}
