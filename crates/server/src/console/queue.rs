//! The queue page: the tabs with their counts and the cases of the current tab, for the
//! signed-in reviewer in the session's environment, through the same service as the API.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use casework_api::wire::format_time;
use casework_domain::Spelled;
use casework_domain::case::{Priority, SlaStatus, Tag};
use casework_domain::page::{CaseQuery, CaseSort, CaseSortKey, PageRequest, Tab};
use casework_domain::search::Search;
use casework_domain::tenant::Tenant;

use super::{page as html, see_other, session};
use crate::state::AppState;

/// One tab of the queue.
struct TabLink {
    name: &'static str,
    label: &'static str,
    count: u64,
    current: bool,
}

/// One case of the list.
struct Row {
    id: String,
    status: &'static str,
    priority: &'static str,
    sla: &'static str,
    assigned: String,
    lease: Option<String>,
    entered: String,
}

#[derive(Template)]
#[template(path = "console/queue.html")]
struct QueuePage {
    csrf: String,
    environment: &'static str,
    user_name: String,
    role: &'static str,
    tabs: Vec<TabLink>,
    current_tab: &'static str,
    rows: Vec<Row>,
    empty: bool,
    priorities: &'static [&'static str],
    priority: String,
    tag: String,
    slas: Vec<&'static str>,
    sla: String,
    sort: String,
    q: String,
    /// The tab, filters, sort and search, URL-encoded, for the paging links.
    filters: String,
    page: u64,
    previous: Option<u64>,
    next: Option<u64>,
    total: u64,
}

const TABS: [(Tab, &str); 5] = [
    (Tab::Unassigned, "Unassigned"),
    (Tab::Mine, "Mine"),
    (Tab::PendingSecondReview, "Second review"),
    (Tab::Escalated, "Escalated"),
    (Tab::All, "All"),
];

/// The query of the queue page: the tab, filters, sort, page, and a search.
#[derive(Debug, serde::Deserialize)]
pub struct QueueQuery {
    tab: Option<String>,
    empty: Option<String>,
    priority: Option<String>,
    tag: Option<String>,
    sla: Option<String>,
    sort: Option<String>,
    page: Option<u64>,
    q: Option<String>,
}

/// A time to the minute, as people read it in a list (UTC).
fn minute(at: casework_domain::Timestamp) -> String {
    let text = format_time(at);
    format!("{} {} UTC", &text[..10], &text[11..16])
}

/// Rows per page.
const PAGE: u32 = 25;

fn sort_of(text: Option<&str>) -> CaseSort {
    let text = text.unwrap_or_default();
    let (reversed, key) = text.strip_prefix('-').map_or((false, text), |key| (true, key));
    let key = match key {
        "created_at" => CaseSortKey::CreatedAt,
        "priority" => CaseSortKey::Priority,
        _ => CaseSortKey::EnteredReviewAt,
    };
    CaseSort { key, reversed }
}

/// `GET /console`: the queue (sign-in first).
pub async fn page(state: web::Data<AppState>, request: HttpRequest, query: web::Query<QueueQuery>) -> HttpResponse {
    let Some((current, _)) = session(&state, &request).await else { return see_other("/console/sign-in") };
    let tab = query
        .tab
        .as_deref()
        .and_then(|name| Tab::ALL.into_iter().find(|tab| tab.as_str() == name))
        .unwrap_or(Tab::Unassigned);
    let tenant = Tenant { org_id: current.user.org_id, environment: current.environment };
    let reviewer = Some(current.user.id);
    let Ok(counts) = state.service.counts(tenant, reviewer).await else {
        return html(StatusCode::SERVICE_UNAVAILABLE, "The service is unavailable; try again shortly.".to_owned());
    };
    let page_number = query.page.unwrap_or(0);
    let request = PageRequest::new(PAGE, page_number * u64::from(PAGE));
    let search = query.q.as_deref().map(str::trim).filter(|q| q.chars().count() >= 3).map(str::to_owned);
    let listed = match &search {
        Some(q) => {
            let search = Search { filter: None, q: Some(q.clone()), sort: Vec::new(), page: request };
            state.service.search(tenant, &search).await
        }
        None => {
            let filter = CaseQuery {
                tab: Some(tab),
                reviewer,
                priorities: query.priority.as_deref().and_then(|p| p.parse::<Priority>().ok()).into_iter().collect(),
                tags: query.tag.as_deref().and_then(|t| Tag::parse(t).ok()).into_iter().collect(),
                sla_statuses: SlaStatus::VALUES
                    .iter()
                    .copied()
                    .filter(|s| query.sla.as_deref() == Some(s.as_str()))
                    .collect(),
                sort: sort_of(query.sort.as_deref()),
                ..CaseQuery::default()
            };
            state.service.cases(tenant, &filter, request).await
        }
    };
    let Ok(cases) = listed else {
        return html(StatusCode::SERVICE_UNAVAILABLE, "The service is unavailable; try again shortly.".to_owned());
    };
    let count = |tab: Tab| match tab {
        Tab::Unassigned => counts.unassigned,
        Tab::Mine => counts.mine,
        Tab::PendingSecondReview => counts.pending_second_review,
        Tab::Escalated => counts.escalated,
        Tab::All => counts.all,
    };
    let tabs = TABS
        .into_iter()
        .map(|(each, label)| TabLink { name: each.as_str(), label, count: count(each), current: each == tab })
        .collect();
    let rows = cases
        .items
        .iter()
        .map(|view| Row {
            id: view.case.id.public(),
            status: view.case.status.as_str(),
            priority: view.case.priority.as_str(),
            sla: view.sla.status.as_str(),
            assigned: view.case.assigned_to.map(|id| id.public()).unwrap_or_else(|| "—".to_owned()),
            lease: view.case.lease.as_ref().map(|lease| format_time(lease.expires_at)),
            entered: minute(view.case.entered_review_at),
        })
        .collect();
    let body = QueuePage {
        csrf: current.csrf_token.clone(),
        environment: current.environment.as_str(),
        user_name: current.user.name.clone(),
        role: current.user.role.as_str(),
        tabs,
        current_tab: tab.as_str(),
        rows,
        empty: query.empty.is_some(),
        priorities: Priority::NAMES,
        priority: query.priority.clone().unwrap_or_default(),
        tag: query.tag.clone().unwrap_or_default(),
        slas: SlaStatus::VALUES.iter().map(|s| s.as_str()).collect(),
        sla: query.sla.clone().unwrap_or_default(),
        sort: query.sort.clone().unwrap_or_default(),
        filters: serde_urlencoded::to_string([
            ("tab", tab.as_str()),
            ("priority", query.priority.as_deref().unwrap_or_default()),
            ("tag", query.tag.as_deref().unwrap_or_default()),
            ("sla", query.sla.as_deref().unwrap_or_default()),
            ("sort", query.sort.as_deref().unwrap_or_default()),
            ("q", search.as_deref().unwrap_or_default()),
        ])
        .unwrap_or_default(),
        q: search.unwrap_or_default(),
        page: page_number,
        previous: page_number.checked_sub(1),
        next: ((page_number + 1) * u64::from(PAGE) < cases.total).then_some(page_number + 1),
        total: cases.total,
    };
    html(StatusCode::OK, body.render().unwrap_or_default())
}
