//! `/health/live` (the process is up) and `/health/ready` (the database answers and every
//! migration is applied). No authentication, no rate limit.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::http::error::ApiError;
use crate::http::respond;
use crate::state::AppState;

/// `GET /health/live`.
pub async fn live() -> HttpResponse {
    respond::json(StatusCode::OK, json!({"status": "ok"}))
}

/// `GET /health/ready`.
///
/// # Errors
/// 503 `service_unavailable` while the database is unreachable or migrations are pending.
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    match state.store.migrations_are_current().await {
        Ok(true) => Ok(respond::json(StatusCode::OK, json!({"status": "ready"}))),
        Ok(false) => Err(ApiError::unavailable(anyhow::anyhow!("migrations are pending"))),
        Err(cause) => Err(ApiError::unavailable(cause)),
    }
}
