//! The case page: the evidence on one screen (checks with their overrides, extracted data
//! masked until an audited reveal, notes, the timeline) and the actions, each through the same
//! service as the API, as the signed-in person. A stale page is caught by its version
//! (`If-Match`): "this case changed: reload".

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use casework_api::wire::format_time;
use casework_domain::case::lifecycle::DecisionInput;
use casework_domain::case::{
    CasePatch, Decision, NoteContent, OverrideInput, Priority, RejectionReasonCode, Tag, Tags,
};
use casework_domain::console::ConsoleSession;
use casework_domain::directory::Scope;
use casework_domain::id::CaseId;
use casework_domain::id::OrgUserId;
use casework_domain::page::PageRequest;
use casework_domain::ports::Pii;
use casework_domain::service::actions::{ActionError, ActionRequest};
use casework_domain::session::Session;
use serde::Deserialize;

use super::{csrf_ok, page as html, principal, see_other, session};
use crate::http::error::ApiError;
use crate::state::AppState;

/// One check as the page shows it.
struct CheckRow {
    policy: String,
    status: &'static str,
    score: String,
    override_: String,
}

#[derive(Template)]
#[template(path = "console/case.html")]
struct CasePage {
    id: String,
    version: u64,
    csrf: String,
    user_name: String,
    message: Option<String>,
    status: &'static str,
    priority: &'static str,
    sla: &'static str,
    assigned: String,
    lease: String,
    session_id: String,
    session_status: &'static str,
    holder: bool,
    active: bool,
    codes: Vec<&'static str>,
    summary: String,
    checks: Vec<CheckRow>,
    data: Vec<(String, String)>,
    /// The address's parts and values, once revealed.
    address: Vec<(&'static str, String)>,
    revealed: bool,
    can_reveal: bool,
    notes: Vec<(String, String, String)>,
    events: Vec<(String, &'static str, String)>,
    /// Whether a lease is running (the live stream says when it lapses).
    leased: bool,
    /// How many events the case has (the live stream replays those after it).
    events_total: u64,
    people: Vec<(String, String)>,
    priorities: &'static [&'static str],
    tags: String,
}

/// Renders the page of case `id` for the person, with a refusal's `message` if any.
async fn render(
    state: &AppState,
    current: &ConsoleSession,
    id: CaseId,
    message: Option<String>,
    revealed: Option<Session>,
    status: StatusCode,
) -> HttpResponse {
    let tenant = super::tenant(current);
    let can_reveal = super::scopes(current).allows(Scope::VerificationsRead);
    // Decrypted only for people who may reveal it; shown masked until they do.
    let pii = if can_reveal { Pii::Include } else { Pii::Omit };
    let Ok(Some((view, session))) = state.service.case_with_session(tenant, id, pii).await else {
        return html(StatusCode::NOT_FOUND, "No such case here.".to_owned());
    };
    let notes = state.service.notes(tenant, id, PageRequest::new(100, 0)).await.ok().flatten();
    let events = state.service.events(tenant, id, PageRequest::new(100, 0)).await.ok().flatten();
    let people = state
        .service
        .org_users(current.user.org_id, PageRequest::new(100, 0))
        .await
        .map(|page| page.items.into_iter().filter(|u| u.active).map(|u| (u.id.public(), u.name)).collect())
        .unwrap_or_default();
    let now = state.service.now();
    let case = &view.case;
    let holder = case.lease.as_ref().is_some_and(|lease| lease.holder == current.user.id && lease.expires_at > now);
    let data: Vec<(String, String)> = match &revealed {
        Some(shown) => shown
            .extracted_data
            .as_map()
            .iter()
            .map(|(key, value)| (key.clone(), value.as_str().map_or_else(|| value.to_string(), str::to_owned)))
            .collect(),
        None => session.extracted_data.as_map().keys().map(|key| (key.clone(), String::new())).collect(),
    };
    let address = revealed
        .as_ref()
        .map(|shown| {
            let current = shown.extracted_data.as_map().get("address");
            ADDRESS_PARTS
                .iter()
                .map(|part| {
                    let value = current.and_then(|a| a.get(part)).and_then(serde_json::Value::as_str);
                    (*part, value.unwrap_or_default().to_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    let summary = &session.checks_summary;
    let body = CasePage {
        id: case.id.public(),
        version: case.version,
        csrf: current.csrf_token.clone(),
        user_name: current.user.name.clone(),
        message,
        status: case.status.as_str(),
        priority: case.priority.as_str(),
        sla: view.sla.status.as_str(),
        assigned: case.assigned_to.map_or_else(|| "—".to_owned(), |id| id.public()),
        lease: case
            .lease
            .as_ref()
            .map_or_else(|| "—".to_owned(), |lease| format!("until {}", format_time(lease.expires_at))),
        session_id: session.id.public(),
        session_status: session.status.as_str(),
        holder,
        active: !case.is_final(),
        codes: RejectionReasonCode::NAMES.to_vec(),
        summary: format!(
            "{} passed, {} failed, {} pending, {} overridden",
            summary.passed, summary.failed, summary.pending, summary.overridden
        ),
        checks: session
            .checks
            .iter()
            .map(|check| CheckRow {
                policy: check.policy.clone(),
                status: check.status.as_str(),
                score: check.score.map_or_else(String::new, |score| format!("{score:.2}")),
                override_: check.override_.as_ref().map_or_else(String::new, |o| {
                    format!("{} ({})", if o.passed { "passed" } else { "failed" }, o.reason.clone().unwrap_or_default())
                }),
            })
            .collect(),
        data,
        address,
        revealed: revealed.is_some(),
        can_reveal,
        notes: notes
            .map(|page| {
                page.items
                    .iter()
                    .map(|n| (n.author_name.clone(), format_time(n.created_at), n.content.as_str().to_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        leased: case.lease.as_ref().is_some_and(|lease| lease.expires_at > now),
        events_total: events.as_ref().map_or(0, |page| page.total),
        events: events
            .map(|page| {
                page.items
                    .iter()
                    .map(|e| {
                        let actor = casework_api::activity::Actor::from(&e.event.actor);
                        (
                            format_time(e.event.at),
                            e.event.event_type.as_str(),
                            format!("{} ({})", actor.name, actor.actor_type),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        people,
        priorities: Priority::NAMES,
        tags: case.tags.iter().map(Tag::as_str).collect::<Vec<_>>().join(", "),
    };
    html(status, body.render().unwrap_or_default())
}

/// `GET /console/cases/{id}`.
pub async fn page(state: web::Data<AppState>, request: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let Some((current, _)) = session(&state, &request).await else { return see_other("/console/sign-in") };
    let Ok(id) = CaseId::parse(&path) else { return html(StatusCode::NOT_FOUND, "No such case here.".to_owned()) };
    render(&state, &current, id, None, None, StatusCode::OK).await
}

/// Every action form: its CSRF token, the version the page showed, and the fields some use.
#[derive(Debug, Deserialize)]
pub struct ActionForm {
    csrf: String,
    version: Option<u64>,
    reason: Option<String>,
    code: Option<String>,
    content: Option<String>,
    blocklist: Option<String>,
    to: Option<String>,
    policy: Option<String>,
    passed: Option<String>,
    priority: Option<String>,
    tags: Option<String>,
}

/// Free text from a form: trimmed, `None` when empty.
fn text(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// The refusal as a person reads it: the API's own detail.
fn explain(error: ActionError) -> (StatusCode, String) {
    if matches!(error, ActionError::PreconditionFailed) {
        return (StatusCode::PRECONDITION_FAILED, "This case changed since you opened it: reload.".to_owned());
    }
    let error = ApiError::from(error);
    let body = error.body("console");
    (actix_web::ResponseError::status_code(&error), body.detail)
}

/// `POST /console/cases/{id}/{action}`: claim, release, approve, reject, escalate, note, reveal.
pub async fn act(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<(String, String)>,
    form: web::Form<ActionForm>,
) -> HttpResponse {
    let Some((current, _)) = session(&state, &request).await else { return see_other("/console/sign-in") };
    if !csrf_ok(&current, &form.csrf) {
        return html(StatusCode::FORBIDDEN, "Refused: the form was not this session's.".to_owned());
    }
    if super::throttled(&state, &current).await {
        return super::too_many();
    }
    let (case, action) = path.into_inner();
    let Ok(id) = CaseId::parse(&case) else { return html(StatusCode::NOT_FOUND, "No such case here.".to_owned()) };
    let principal = principal(&current);
    let request = ActionRequest { principal: &principal, reviewer_id: None, if_match: form.version };
    let service = &state.service;
    let form = form.into_inner();
    let decide = |decision: Decision| DecisionInput {
        decision,
        notes: None,
        rejection_reason: text(form.reason.as_ref()),
        rejection_reason_code: form.code.as_deref().and_then(|code| code.parse().ok()),
        add_to_blocklist: form.blocklist.is_some(),
    };
    let person = |field: Option<&String>| text(field).map(|id| OrgUserId::parse(&id));
    let done: Result<Option<Session>, ActionError> = match action.as_str() {
        "claim" => service.claim(&request, id).await.map(|_| None),
        "release" => service.release(&request, id).await.map(|_| None),
        "approve" => service.decide(&request, id, decide(Decision::Approved)).await.map(|_| None),
        "reject" => {
            if form.reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
                let message = Some("A rejection needs a reason.".to_owned());
                return render(&state, &current, id, message, None, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
            service.decide(&request, id, decide(Decision::Rejected)).await.map(|_| None)
        }
        "escalate" => service
            .escalate(&request, id, person(form.to.as_ref()), text(form.reason.as_ref()), None)
            .await
            .map(|_| None),
        "assign" => match person(form.to.as_ref()) {
            Some(assignee) => service.assign(&request, id, assignee, text(form.reason.as_ref())).await.map(|_| None),
            None => {
                let message = Some("Choose whom to assign.".to_owned());
                return render(&state, &current, id, message, None, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        },
        "override" => {
            let input = OverrideInput {
                policy: form.policy.clone().unwrap_or_default(),
                passed: form.passed.as_deref() != Some("false"),
                reason: text(form.reason.as_ref()),
            };
            service.override_check(&request, id, input).await.map(|_| None)
        }
        "edit" => {
            let tags: Result<Vec<Tag>, _> = form
                .tags
                .as_deref()
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(Tag::parse)
                .collect();
            let tags = tags.ok().and_then(|tags| Tags::new(tags).ok());
            let Some(tags) = tags else {
                let message =
                    Some("Tags are up to 20 of 1 to 64 characters of [a-z0-9_:-], separated by commas.".to_owned());
                return render(&state, &current, id, message, None, StatusCode::UNPROCESSABLE_ENTITY).await;
            };
            let patch = CasePatch {
                metadata: None,
                custom_fields: None,
                priority: form.priority.as_deref().and_then(|p| p.parse::<Priority>().ok()),
                tags: Some(tags),
            };
            service.update(&request, id, patch).await.map(|_| None)
        }
        "note" => match form.content.as_deref().map(NoteContent::parse) {
            Some(Ok(content)) => service.add_note(&request, id, content).await.map(|_| None),
            _ => {
                let message = Some("A note is 1 to 10,000 characters.".to_owned());
                return render(&state, &current, id, message, None, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        },
        "reveal" if super::scopes(&current).allows(Scope::VerificationsRead) => {
            let request = ActionRequest { if_match: None, ..request };
            service.reveal_pii(&request, id).await.map(Some)
        }
        _ => return html(StatusCode::NOT_FOUND, "No such action.".to_owned()),
    };
    match done {
        Ok(Some(revealed)) => render(&state, &current, id, None, Some(revealed), StatusCode::OK).await,
        Ok(None) if matches!(action.as_str(), "approve" | "reject") => see_other("/console"),
        Ok(None) => see_other(&format!("/console/cases/{}", id.public())),
        Err(error) => {
            let (status, message) = explain(error);
            render(&state, &current, id, Some(message), None, status).await
        }
    }
}

/// The "next case" form.
#[derive(Debug, Deserialize)]
pub struct NextForm {
    csrf: String,
}

/// `POST /console/next`: claims the next case of the queue and opens it.
pub async fn next(state: web::Data<AppState>, request: HttpRequest, form: web::Form<NextForm>) -> HttpResponse {
    let Some((current, _)) = session(&state, &request).await else { return see_other("/console/sign-in") };
    if !csrf_ok(&current, &form.csrf) {
        return html(StatusCode::FORBIDDEN, "Refused: the form was not this session's.".to_owned());
    }
    if super::throttled(&state, &current).await {
        return super::too_many();
    }
    let principal = principal(&current);
    let request = ActionRequest { principal: &principal, reviewer_id: None, if_match: None };
    match state.service.next(&request, None, None).await {
        Ok(Some((view, _))) => see_other(&format!("/console/cases/{}", view.case.id.public())),
        Ok(None) => see_other("/console?empty=1"),
        Err(error) => {
            let (status, message) = explain(error);
            html(status, message)
        }
    }
}

/// The address's parts, in the order the form shows them.
const ADDRESS_PARTS: [&str; 6] = ["line1", "line2", "city", "state", "zip", "country"];

/// What the correction form changes: each `pii.<key>` field that differs from the current value
/// (emptied: removed), and the address, replaced whole from its `address.<part>` fields when any
/// part changed (all emptied: removed). Unchanged fields are left out, so `pii_updated` names
/// only what the person corrected.
fn corrections(
    current: &std::collections::BTreeMap<String, serde_json::Value>,
    fields: &[(String, String)],
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let mut patch = serde_json::Map::new();
    let mut address = serde_json::Map::new();
    let mut address_given = false;
    for (key, value) in fields {
        let value = value.trim();
        if let Some(name) = key.strip_prefix("pii.") {
            let now = current.get(name).and_then(Value::as_str).unwrap_or_default();
            if value != now {
                patch.insert(
                    name.to_owned(),
                    if value.is_empty() { Value::Null } else { Value::String(value.to_owned()) },
                );
            }
        } else if let Some(part) = key.strip_prefix("address.").filter(|part| ADDRESS_PARTS.contains(part)) {
            address_given = true;
            if !value.is_empty() {
                address.insert(part.to_owned(), Value::String(value.to_owned()));
            }
        }
    }
    let now = current.get("address").cloned().unwrap_or(Value::Null);
    let wanted = if address.is_empty() { Value::Null } else { Value::Object(address) };
    if address_given && wanted != now {
        patch.insert("address".to_owned(), wanted);
    }
    patch
}

/// `POST /console/cases/{id}/pii`: corrects extracted data (see [`corrections`]), re-encrypted by
/// the service; `pii_updated` names the fields.
pub async fn correct_pii(
    state: web::Data<AppState>,
    request: HttpRequest,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let Some((current, _)) = session(&state, &request).await else { return see_other("/console/sign-in") };
    let fields = form.into_inner();
    let field = |name: &str| fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.clone());
    if !csrf_ok(&current, &field("csrf").unwrap_or_default()) {
        return html(StatusCode::FORBIDDEN, "Refused: the form was not this session's.".to_owned());
    }
    if super::throttled(&state, &current).await {
        return super::too_many();
    }
    let Ok(id) = CaseId::parse(&path) else { return html(StatusCode::NOT_FOUND, "No such case here.".to_owned()) };
    if !super::scopes(&current).allows(Scope::VerificationsRead) {
        return html(StatusCode::FORBIDDEN, "Correcting extracted data needs verifications:read.".to_owned());
    }
    let tenant = super::tenant(&current);
    let Ok(Some((_, shown))) = state.service.case_with_session(tenant, id, Pii::Include).await else {
        return html(StatusCode::NOT_FOUND, "No such case here.".to_owned());
    };
    let patch = corrections(shown.extracted_data.as_map(), &fields);
    if patch.is_empty() {
        return see_other(&format!("/console/cases/{}", id.public()));
    }
    let principal = principal(&current);
    let version = field("version").and_then(|v| v.parse().ok());
    let request = ActionRequest { principal: &principal, reviewer_id: None, if_match: version };
    match state.service.update_pii(&request, id, patch).await {
        Ok(_) => see_other(&format!("/console/cases/{}", id.public())),
        Err(error) => {
            let (status, message) = explain(error);
            render(&state, &current, id, Some(message), None, status).await
        }
    }
}
