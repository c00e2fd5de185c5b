//! `/api/v1/cases`: opening, reading and listing review cases (API.md §3).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use casework_domain::case::{CaseStatus, Priority, Tag};

use casework_api::case::{Case as CaseBody, CaseWithSession};
use casework_api::request::case::NewCase;
use casework_api::request::search::SearchRequest;
use casework_domain::id::{CaseId, Id, IdKind, OrgUserId, OrgUserKind, SessionId, SessionKind, is_public_id_shaped};
use casework_domain::page::{CaseQuery, CaseSort, CaseSortKey, Page, Tab};
use casework_domain::service::{CaseView, CreateCaseError, CreatedCase};

use super::sessions;
use crate::http::auth::Api;
use crate::http::error::ApiError;
use crate::http::query::Query;
use crate::http::respond;

const TABS: &str = "unassigned, mine, pending_second_review, escalated, all";
const SORTS: &str = "created_at, entered_review_at, priority (each reversible with -)";

/// `POST /api/v1/cases`: 201 with a new case, or 200 with the session's existing one.
///
/// # Errors
/// 401, 403, 413/415/400, 422, 404 for an unknown session, 409 `session_not_reviewable`, 503.
pub async fn create(api: Api, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let session_id = api.input::<NewCase>(payload).await?;
    let session_id = SessionId::parse(&session_id).map_err(|_| ApiError::not_found("Session"))?;
    let created =
        api.state.service.create_case(api.tenant(), api.actor(), session_id).await.map_err(|error| match error {
            CreateCaseError::SessionNotFound => ApiError::not_found("Session"),
            CreateCaseError::SessionNotReviewable(status) => ApiError::conflict(
                "session_not_reviewable",
                format!("The session is {status}; a case cannot be opened for it."),
            ),
            CreateCaseError::Store(store) => store.into(),
        })?;
    let (status, view) = match created {
        CreatedCase::Created(view) => (StatusCode::CREATED, view),
        CreatedCase::Existing(view) => (StatusCode::OK, view),
    };
    let response = respond::case(status, &CaseBody::from(&view), view.case.version);
    if status == StatusCode::CREATED {
        return Ok(respond::located(response, &respond::case_location(view.case.id)));
    }
    Ok(response)
}

/// `GET /api/v1/cases/{case_id}`: the case with its `session` embedded.
///
/// # Errors
/// 401, 403, 404, 503.
pub async fn get(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = CaseId::parse(&path).map_err(|_| ApiError::not_found("Case"))?;
    let (view, session) = api
        .state
        .service
        .case_with_session(api.tenant(), id, api.pii())
        .await?
        .ok_or_else(|| ApiError::not_found("Case"))?;
    let settings = api.state.service.settings(api.tenant()).await?;
    let session = sessions::render(&api, &settings, &session);
    let body = CaseWithSession { case: (&view).into(), session };
    Ok(respond::case(StatusCode::OK, &body, view.case.version))
}

fn parse_tab(text: &str) -> Option<Tab> {
    Tab::ALL.into_iter().find(|tab| tab.as_str() == text)
}

fn parse_sort(text: &str) -> Option<CaseSort> {
    let (reversed, key) = text.strip_prefix('-').map_or((false, text), |key| (true, key));
    let key = match key {
        "created_at" => CaseSortKey::CreatedAt,
        "entered_review_at" => CaseSortKey::EnteredReviewAt,
        "priority" => CaseSortKey::Priority,
        _ => return None,
    };
    Some(CaseSort { key, reversed })
}

/// The ids of filter `name`, and whether it named only ids that cannot exist (well-formed public
/// ids whose check digits or value are off): such a filter matches nothing, it is not malformed.
fn ids<K: IdKind>(query: &mut Query, name: &str) -> (Vec<Id<K>>, bool) {
    let mut nameless = 0;
    let ids: Vec<Option<Id<K>>> = query.list_with(
        name,
        |text| match Id::<K>::parse(text) {
            Ok(id) => Some(Some(id)),
            Err(_) if is_public_id_shaped(text) => Some(None),
            Err(_) => None,
        },
        "is not an id (a public id or a UUID)",
    );
    let ids: Vec<Id<K>> = ids
        .into_iter()
        .filter_map(|id| {
            id.or_else(|| {
                nameless += 1;
                None
            })
        })
        .collect();
    let matches_nothing = ids.is_empty() && nameless > 0;
    (ids, matches_nothing)
}

/// `GET /api/v1/cases`: filters, tabs and sort of API.md §3 row 1; `limit` default 25.
///
/// # Errors
/// 401, 403, 422 naming a bad parameter, 503.
pub async fn list(api: Api) -> Result<HttpResponse, ApiError> {
    let mut query = api.query()?;
    let statuses = query.list::<CaseStatus>("status", &CaseStatus::NAMES.join(", "));
    let priorities = query.list::<Priority>("priority", &Priority::NAMES.join(", "));
    let tab = query.parsed_with("tab", parse_tab, &format!("must be one of: {TABS}"));
    let sort = query.parsed_with("sort", parse_sort, &format!("must be one of: {SORTS}")).unwrap_or_default();
    let tags = query.list_with("tag", |text| Tag::parse(text).ok(), "must be 1 to 64 characters of [a-z0-9_:-]");
    let (assigned_to, no_assignee) = ids::<OrgUserKind>(&mut query, "assigned_to");
    let (session_ids, no_session) = ids::<SessionKind>(&mut query, "session_id");
    let created_after = query.timestamp("created_after");
    let created_before = query.timestamp("created_before");
    let page = query.page(25);
    // Reads never refuse a reviewer: an unknown or malformed one simply owns nothing.
    let reviewer = match query.single("reviewer_id") {
        Some(text) => OrgUserId::parse(text).ok(),
        None => api.principal().user.as_ref().map(|user| user.id),
    };
    query.finish()?;
    if no_assignee || no_session {
        return Ok(respond::list::<CaseBody, _>(&Page::<CaseView>::empty(page)));
    }
    let filter = CaseQuery {
        statuses,
        tab,
        reviewer,
        assigned_to,
        priorities,
        tags,
        // The console filters by SLA; the API's list does not (search does).
        sla_statuses: Vec::new(),
        session_ids,
        created_after,
        created_before,
        sort,
    };
    let cases = api.state.service.cases(api.tenant(), &filter, page).await?;
    Ok(respond::list::<CaseBody, _>(&cases))
}

/// `POST /api/v1/cases/search`: the filter language of API.md §4.
///
/// # Errors
/// 422 naming the JSON path of each bad part, 401, 403, 503.
pub async fn search(api: Api, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let search = api.input::<SearchRequest>(payload).await?;
    let cases = api.state.service.search(api.tenant(), &search).await?;
    Ok(respond::list::<CaseBody, _>(&cases))
}
