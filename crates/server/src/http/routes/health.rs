//! The operational endpoints: `/health/live` (the process is up), `/health/ready` (the database
//! answers and every migration is applied) and `/metrics`. No authentication, no rate limit.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::http::error::ApiError;
use crate::http::respond;
use crate::metrics::{DatabaseSnapshot, Snapshot};
use crate::state::AppState;

/// `GET /health/live`.
pub async fn live() -> HttpResponse {
    respond::json(StatusCode::OK, &json!({"status": "ok"}))
}

/// `GET /health/ready`.
///
/// # Errors
/// 503 `service_unavailable` while the database is unreachable or migrations are pending.
pub async fn ready(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    if state.draining.load(std::sync::atomic::Ordering::SeqCst) {
        // Expected, not a failure: no error is logged.
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "This instance is shutting down.",
        )
        .with_header("Retry-After", "1".to_owned()));
    }
    match state.store.migrations_are_current().await {
        Ok(true) => Ok(respond::json(StatusCode::OK, &json!({"status": "ready"}))),
        Ok(false) => Err(ApiError::unavailable(anyhow::anyhow!("migrations are pending"))),
        Err(cause) => Err(ApiError::unavailable(cause)),
    }
}

/// `GET /metrics`: the Prometheus text exposition.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let status = state.store.pool().status();
    let counts = state.store.operational_counts(state.service.now()).await.ok();
    let pii_rows = match counts {
        Some(_) => state.store.pii_rows_per_key().await.ok(),
        None => None,
    };
    let now = state.service.now();
    let database = counts.zip(pii_rows).map(|(counts, pii_rows)| DatabaseSnapshot {
        unassigned: counts.unassigned,
        pending_second_review: counts.pending_second_review,
        escalated: counts.escalated,
        webhook_backlog: counts.webhook_backlog,
        disabled_endpoints: counts.disabled_endpoints,
        pii_rows,
        oldest_age_seconds: counts.oldest.map(|at| at.map(|at| (now - at).whole_seconds().max(0))),
    });
    let worker_runs: Vec<(&'static str, i64)> =
        state.worker_runs.lock().map(|runs| runs.iter().map(|(name, at)| (*name, *at)).collect()).unwrap_or_default();
    let config = &state.config.database;
    let snapshot = Snapshot {
        pool_size: status.size,
        pool_available: status.available,
        pool_max_size: config.pool_max_size,
        pool_wait_timeout_seconds: config.pool_wait_timeout_ms as f64 / 1000.0,
        statement_timeout_seconds: config.statement_timeout_ms as f64 / 1000.0,
        database,
        worker_runs,
    };
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(state.metrics.render(&snapshot))
}
