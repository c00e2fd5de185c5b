//! Administration over HTTP (API.md §6): the environment's settings, org users and API keys.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use casework_api::admin::{ApiKey as ApiKeyBody, CreatedApiKey, OrgUser as OrgUserBody, Settings as SettingsBody};
use casework_domain::directory::{Role, Scope, Scopes};
use casework_domain::id::{ApiKeyId, OrgUserId};
use casework_domain::service::admin::{AdminError, NewApiKey, NewOrgUser, OrgUserPatch};
use casework_domain::tenant::SettingsPatch;
use casework_domain::validation::Violation;
use validator::ValidateEmail;

use crate::http::action::user_field;
use crate::http::auth::Api;
use crate::http::error::ApiError;
use crate::http::fields::Fields;
use crate::http::respond;

const ROLES: &[&str] = &["reviewer", "senior_reviewer", "admin"];

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

/// A nullable setting of a patch: `Some(None)` when sent as null, `Some(value)` when given.
fn nullable<T>(fields: &Fields, name: &str, value: Option<T>) -> Option<Option<T>> {
    if fields.is_null(name) { Some(None) } else { value.map(Some) }
}

/// `PATCH /organization/settings`: any subset, each value validated.
///
/// # Errors
/// 422 naming each bad value.
pub async fn update_settings(api: Api, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let mut fields = api.body(payload).await?;
    // Null sets these two back to their default ("all fields", "keep"): read either way, so a
    // null is a value, not an unknown field.
    let pii_fields = fields.strings("api_pii_fields");
    let retention_days = fields.integer("sensitive_data_retention_days");
    let patch = SettingsPatch {
        dual_review: fields.boolean("dual_review"),
        claim_ttl_seconds: fields.integer("claim_ttl_seconds"),
        demo_case_limit: fields.integer("demo_case_limit"),
        api_pii_fields: nullable(&fields, "api_pii_fields", pii_fields),
        sensitive_data_retention_days: nullable(&fields, "sensitive_data_retention_days", retention_days),
        rate_limit_per_minute: fields.integer("rate_limit_per_minute"),
    };
    for name in ["dual_review", "claim_ttl_seconds", "demo_case_limit", "rate_limit_per_minute"] {
        if fields.is_null(name) {
            fields.reject(name, Violation::InvalidType, "must not be null");
        }
    }
    fields.finish()?;
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
    let mut fields = api.body(payload).await?;
    let name = fields.required_string("name", 1, 255);
    let email = fields.required_string("email", 3, 320);
    if email.as_ref().is_some_and(|e| !e.validate_email()) {
        fields.reject("email", Violation::InvalidValue, "must be an email address");
    }
    let role = fields.enumeration::<Role>("role", ROLES).unwrap_or(Role::Reviewer);
    fields.finish()?;
    let (Some(name), Some(email)) = (name, email) else { return Err(ApiError::invalid_request("Missing fields.")) };
    let user = api.state.service.create_org_user(api.tenant().org_id, NewOrgUser { name, email, role }).await?;
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
    let mut fields = api.body(payload).await?;
    let patch = OrgUserPatch {
        name: fields.string("name", 1, 255),
        role: fields.enumeration::<Role>("role", ROLES),
        active: fields.boolean("active"),
    };
    fields.finish()?;
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
    let mut fields = api.body(payload).await?;
    let name = fields.required_string("name", 1, 255);
    let scope_names = if fields.require("scopes") { fields.strings("scopes") } else { None };
    let mut scopes = Vec::new();
    for (index, text) in scope_names.unwrap_or_default().iter().enumerate() {
        match text.parse::<Scope>() {
            Ok(scope) => scopes.push(scope),
            Err(_) => fields.reject(&format!("scopes[{index}]"), Violation::InvalidValue, "is not a scope"),
        }
    }
    let org_user_id = user_field(&mut fields, "org_user_id");
    let expires_at = fields.timestamp("expires_at");
    if expires_at.is_some_and(|at| at <= api.state.service.now()) {
        fields.reject("expires_at", Violation::InvalidValue, "must be in the future");
    }
    fields.finish()?;
    let Some(name) = name else { return Err(ApiError::invalid_request("Missing fields.")) };
    let new = NewApiKey { name, scopes: scopes.into_iter().collect::<Scopes>(), org_user_id, expires_at };
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
    let key = api.state.service.revoke_api_key(api.tenant(), id).await?;
    Ok(respond::json(StatusCode::OK, &ApiKeyBody::from(&key)))
}
