//! Live console updates over Server-Sent Events, fed from committed case events (a trigger
//! NOTIFYs `casework_changes` at commit, so every instance hears every change): the queue's
//! counts, and the open case's version, status and lease. Each stream starts with the current
//! state (so a reconnection, with or without `Last-Event-ID`, resumes from the truth), sends a
//! heartbeat every 15 s, and `/console/counts.json` serves pages that cannot use SSE.

use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use casework_adapters::postgres::deliveries::CHANGES_CHANNEL;
use casework_domain::id::CaseId;
use casework_domain::ports::TabCounts;
use casework_domain::tenant::Tenant;
use futures_util::StreamExt;
use serde_json::json;
use tokio::sync::broadcast;

use super::{see_other, session};
use crate::state::AppState;

/// One committed change: the tenant and case it touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `org_id:environment`, as the notification spells it.
    pub tenant: String,
    /// The case's UUID.
    pub case: String,
}

/// Hands every committed change to the streams of this instance (which refresh on their
/// heartbeat while the listener reconnects).
pub fn spawn_listener(state: &AppState, changes: broadcast::Sender<Change>) {
    crate::listen::spawn(
        state,
        CHANGES_CHANNEL,
        || {},
        move |payload| {
            let mut parts = payload.splitn(3, ':');
            if let (Some(org), Some(environment), Some(case)) = (parts.next(), parts.next(), parts.next()) {
                let _ = changes.send(Change { tenant: format!("{org}:{environment}"), case: case.to_owned() });
            }
        },
    );
}

fn tenant_key(tenant: Tenant) -> String {
    format!("{}:{}", tenant.org_id.uuid(), tenant.environment.as_str())
}

fn counts_json(counts: &TabCounts) -> serde_json::Value {
    json!({"unassigned": counts.unassigned, "mine": counts.mine, "pending_second_review": counts.pending_second_review,
        "escalated": counts.escalated, "all": counts.all})
}

/// What a stream watches.
#[derive(Debug, serde::Deserialize)]
pub struct LiveQuery {
    case: Option<String>,
}

/// One SSE message.
fn message(event: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// The state a stream reports: the counts, and the open case's version, status and lease.
async fn snapshot(
    state: &AppState,
    tenant: Tenant,
    reviewer: casework_domain::id::OrgUserId,
    case: Option<CaseId>,
) -> Vec<Bytes> {
    let mut out = Vec::new();
    if let Ok(counts) = state.service.counts(tenant, Some(reviewer)).await {
        out.push(message("counts", &counts_json(&counts)));
    }
    if let Some(id) = case
        && let Ok(Some((view, _))) =
            state.service.case_with_session(tenant, id, casework_domain::ports::Pii::Omit).await
    {
        let case = &view.case;
        let lease = case.lease.as_ref().map(|lease| json!({"holder": lease.holder.public(), "expires_at": casework_api::wire::format_time(lease.expires_at)}));
        out.push(message(
            "case",
            &json!({"id": case.id.public(), "version": case.version, "status": case.status.as_str(), "lease": lease}),
        ));
    }
    out
}

/// `GET /console/live`: the event stream.
pub async fn stream(
    state: web::Data<AppState>,
    request: HttpRequest,
    query: web::Query<LiveQuery>,
    changes: web::Data<broadcast::Sender<Change>>,
) -> HttpResponse {
    let Some((current, _)) = session(&state, &request).await else { return see_other("/console/sign-in") };
    let tenant = super::tenant(&current);
    let case = query.case.as_deref().and_then(|id| CaseId::parse(id).ok());
    let reviewer = current.user.id;
    let receiver = changes.subscribe();
    let state = state.into_inner();
    let first = snapshot(&state, tenant, reviewer, case).await;
    let key = tenant_key(tenant);
    let updates = futures_util::stream::unfold((receiver, state, key), move |(mut receiver, state, key)| async move {
        let heartbeat = tokio::time::sleep(Duration::from_secs(15));
        tokio::select! {
            change = receiver.recv() => {
                let relevant = match &change {
                    Ok(change) => change.tenant == key,
                    // Missed some: refresh anyway.
                    Err(broadcast::error::RecvError::Lagged(_)) => true,
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                // Let a burst of changes settle into one refresh.
                tokio::time::sleep(Duration::from_millis(50)).await;
                while receiver.try_recv().is_ok() {}
                let chunk = if relevant { snapshot(&state, tenant, reviewer, case).await.concat() } else { Vec::new() };
                Some((Ok::<_, actix_web::Error>(Bytes::from(chunk)), (receiver, state, key)))
            }
            () = heartbeat => Some((Ok(Bytes::from_static(b": heartbeat\n\n")), (receiver, state, key))),
        }
    });
    let opening = futures_util::stream::iter(first.into_iter().map(Ok::<_, actix_web::Error>));
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(opening.chain(updates))
}

/// `GET /console/counts.json`: the counts, for pages that poll.
pub async fn counts(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    let Some((current, _)) = session(&state, &request).await else { return see_other("/console/sign-in") };
    match state.service.counts(super::tenant(&current), Some(current.user.id)).await {
        Ok(counts) => HttpResponse::Ok()
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .json(counts_json(&counts)),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}
