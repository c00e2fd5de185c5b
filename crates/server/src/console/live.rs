//! Live console updates over Server-Sent Events, fed from committed case events (a trigger
//! NOTIFYs `casework_changes` at commit, so every instance hears every change): the queue's
//! counts, the open case's version, status and lease, and what happened to it (`activity`: who
//! claimed it, added a note, decided it). Each stream starts with the current state; a case's
//! stream numbers its `activity` messages by the case's event count, so a reconnection with
//! `Last-Event-ID` (or a page's `after`) replays every event it missed, in order. A heartbeat goes
//! every 15 s, and `/console/counts.json` serves pages that cannot use SSE.

use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use casework_adapters::postgres::deliveries::CHANGES_CHANNEL;
use casework_domain::Timestamp;
use casework_domain::id::CaseId;
use casework_domain::page::PageRequest;
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
/// Also makes every instance forget the counts it kept for the tenant of each change, so the
/// next read (a stream's refresh included) sees it.
pub fn spawn_listener(state: &AppState, changes: broadcast::Sender<Change>) {
    let (store, reconnected) = (state.store.clone(), state.store.clone());
    crate::listen::spawn(
        state,
        CHANGES_CHANNEL,
        move || reconnected.forget_counts(None),
        move |payload| {
            let mut parts = payload.splitn(3, ':');
            if let (Some(org), Some(environment), Some(case)) = (parts.next(), parts.next(), parts.next()) {
                let tenant = uuid::Uuid::parse_str(org)
                    .ok()
                    .zip(environment.parse().ok())
                    .map(|(org, environment)| Tenant { org_id: casework_domain::id::Id::from_uuid(org), environment });
                // Unparseable: forget every tenant's.
                store.forget_counts(tenant);
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

/// What a stream watches: a case, and how many of its events the page already shows.
#[derive(Debug, serde::Deserialize)]
pub struct LiveQuery {
    case: Option<String>,
    after: Option<u64>,
}

/// One SSE message.
fn message(event: &str, data: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {event}\ndata: {data}\n\n"))
}

/// The case's events after the first `seen`, as `activity` messages numbered by position (the
/// SSE `id`), and the new position. A failed read sends nothing and keeps the position, so the
/// next change (or reconnection) sends them.
async fn activity(state: &AppState, tenant: Tenant, case: CaseId, seen: u64) -> (Vec<Bytes>, u64) {
    const BATCH: u32 = 100;
    let mut position = seen;
    let mut out = Vec::new();
    while let Ok(Some(page)) = state.service.events(tenant, case, PageRequest::new(BATCH, position)).await {
        for recorded in &page.items {
            position += 1;
            let actor = casework_api::activity::Actor::from(&recorded.event.actor);
            let data = json!({"type": recorded.event.event_type.as_str(), "actor": actor.name,
                "at": casework_api::wire::format_time(recorded.event.at)});
            out.push(Bytes::from(format!("id: {position}\nevent: activity\ndata: {data}\n\n")));
        }
        if page.items.len() < BATCH as usize {
            break;
        }
    }
    (out, position)
}

/// Where a case's stream starts: after `Last-Event-ID` on a reconnection, else after the events
/// the page showed, else after every event so far (nothing to replay).
async fn starting_position(
    state: &AppState,
    tenant: Tenant,
    case: CaseId,
    request: &HttpRequest,
    after: Option<u64>,
) -> u64 {
    let resumed = request
        .headers()
        .get("Last-Event-ID")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    if let Some(seen) = resumed.or(after) {
        return seen;
    }
    match state.service.events(tenant, case, PageRequest::new(1, 0)).await {
        Ok(Some(page)) => page.total,
        _ => 0,
    }
}

/// The state a stream reports: the counts, and the open case's version, status and lease (none
/// once lapsed); with when that lease lapses, so the stream can say so then.
async fn snapshot(
    state: &AppState,
    tenant: Tenant,
    reviewer: casework_domain::id::OrgUserId,
    case: Option<CaseId>,
) -> (Vec<Bytes>, Option<Timestamp>) {
    let mut out = Vec::new();
    let mut lapses = None;
    if let Ok(counts) = state.service.counts(tenant, Some(reviewer)).await {
        out.push(message("counts", &counts_json(&counts)));
    }
    if let Some(id) = case
        && let Ok(Some((view, _))) =
            state.service.case_with_session(tenant, id, casework_domain::ports::Pii::Omit).await
    {
        let case = &view.case;
        let now = state.service.now();
        let lease = case.lease.as_ref().filter(|lease| lease.expires_at > now);
        lapses = lease.map(|lease| lease.expires_at);
        let lease = lease.map(|lease| json!({"holder": lease.holder.public(), "expires_at": casework_api::wire::format_time(lease.expires_at)}));
        out.push(message(
            "case",
            &json!({"id": case.id.public(), "version": case.version, "status": case.status.as_str(), "lease": lease}),
        ));
    }
    (out, lapses)
}

/// What one stream keeps between messages.
struct Watched {
    receiver: broadcast::Receiver<Change>,
    state: std::sync::Arc<AppState>,
    /// The tenant, as notifications spell it.
    key: String,
    /// The open case's UUID, as notifications spell it.
    case_text: Option<String>,
    /// How many of the open case's events this stream has sent (or the page showed).
    position: u64,
    /// When the open case's lease lapses.
    lapses: Option<Timestamp>,
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
    let (mut first, lapses) = snapshot(&state, tenant, reviewer, case).await;
    let mut position = 0;
    if let Some(id) = case {
        let seen = starting_position(&state, tenant, id, &request, query.after).await;
        let (missed, now) = activity(&state, tenant, id, seen).await;
        first.extend(missed);
        position = now;
    }
    let watched = Watched {
        receiver,
        state,
        key: tenant_key(tenant),
        case_text: case.map(|id| id.uuid().to_string()),
        position,
        lapses,
    };
    let updates = futures_util::stream::unfold(watched, move |mut watched| async move {
        let heartbeat = tokio::time::sleep(Duration::from_secs(15));
        // A lapse commits nothing: the stream wakes for it (just after, so the case reads lapsed).
        let until_lapse = watched.lapses.map(|at| {
            let left = at - watched.state.service.now() + time::Duration::milliseconds(50);
            Duration::try_from(left).unwrap_or_default()
        });
        let lapse = async move {
            match until_lapse {
                Some(left) => tokio::time::sleep(left).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = lapse => {
                let (chunk, lapses) = snapshot(&watched.state, tenant, reviewer, case).await;
                watched.lapses = lapses;
                Some((Ok(Bytes::from(chunk.concat())), watched))
            }
            change = watched.receiver.recv() => {
                let (relevant, this_case) = match &change {
                    Ok(change) => (change.tenant == watched.key, watched.case_text.as_deref() == Some(change.case.as_str())),
                    // Missed some: refresh anyway.
                    Err(broadcast::error::RecvError::Lagged(_)) => (true, true),
                    Err(broadcast::error::RecvError::Closed) => return None,
                };
                // Let a burst of changes settle into one refresh.
                tokio::time::sleep(Duration::from_millis(50)).await;
                let mut touched_case = this_case;
                while let Ok(change) = watched.receiver.try_recv() {
                    touched_case |= watched.case_text.as_deref() == Some(change.case.as_str());
                }
                let mut chunk = Vec::new();
                if let Some(id) = case.filter(|_| relevant && touched_case) {
                    let (news, now) = activity(&watched.state, tenant, id, watched.position).await;
                    chunk.extend(news);
                    watched.position = now;
                }
                if relevant {
                    let (state, lapses) = snapshot(&watched.state, tenant, reviewer, case).await;
                    chunk.extend(state);
                    watched.lapses = lapses;
                }
                Some((Ok::<_, actix_web::Error>(Bytes::from(chunk.concat())), watched))
            }
            () = heartbeat => Some((Ok(Bytes::from_static(b": heartbeat\n\n")), watched)),
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
