//! The route table: every API endpoint once, with its method, scopes, handler and what the
//! OpenAPI document says of it ([`super::openapi`] is generated from this same table). Every
//! resource answers a wrong method with 405 and its `Allow` list, and every unknown path with
//! 404, both as JSON errors.

pub mod admin;
pub mod case_data;
pub mod cases;
pub mod health;
pub mod lifecycle;
pub mod sandbox;
pub mod sessions;
pub mod webhooks;

use std::rc::Rc;

use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, Route, web};
use casework_domain::directory::Scope::{
    self, ApiKeysWrite, CasesDecide, CasesRead, CasesWrite, OrgRead, OrgUsersRead, OrgUsersWrite, OrgWrite,
    SessionsRead, SessionsWrite, VerificationsRead, WebhooksRead, WebhooksWrite,
};

use casework_api::activity::{BlocklistEntry, Event, Note};
use casework_api::admin::{ApiKey, CreatedApiKey, Invitation, OrgUser, Settings, SignInAttempt};
use casework_api::case::{Case as CaseBody, CaseWithSession};
use casework_api::list::{Counts, OverrideAccepted, PiiResult, TagCounts};
use casework_api::request::admin::{NewApiKeyRequest, NewOrgUserRequest, OrgUserPatchRequest, SettingsPatchRequest};
use casework_api::request::case::{
    ApproveRequest, AssignRequest, CasePatchRequest, Empty, EscalateRequest, NewCase, NextRequest, NoteRequest,
    OverrideRequest, PiiRequest, RejectRequest, ReviewerRequest,
};
use casework_api::request::query::{CasesQuery, CountsQuery, PageQuery, SessionsQuery};
use casework_api::request::search::SearchRequest;
use casework_api::request::session::{NewSessionRequest, OneTimeLinkRequest, SimulateRequest};
use casework_api::request::webhook::{EndpointPatchRequest, NewEndpointRequest, RecoverRequest};
use casework_api::session::{OneTimeLink, Session as SessionBody, SessionResult};
use casework_api::webhook::{Delivery, Endpoint as EndpointBody, EndpointWithSecret, Recovered};
use utoipa::openapi::path::Parameter;

use super::conventions::{Requirements, conventions};
use super::error::ApiError;
use super::openapi::{Wire, list, no_params, params, wire};

/// One API operation.
pub struct Endpoint {
    /// The path under `/api/v1`, with `{parameters}`.
    pub path: &'static str,
    /// The method.
    pub method: Method,
    /// Every scope it needs.
    pub scopes: &'static [Scope],
    /// One line for the documentation.
    pub summary: &'static str,
    /// The success status.
    pub status: u16,
    /// The success body's wire type, and the component name it is published under.
    pub response: Wire,
    /// The request body's type, if it takes one, and its component name.
    pub request: Option<Wire>,
    /// Its query parameters, as documented.
    pub query: fn() -> Vec<Parameter>,
    route: fn() -> Route,
}

#[expect(clippy::too_many_arguments, reason = "one row of the route table")]
fn endpoint(
    method: Method,
    path: &'static str,
    scopes: &'static [Scope],
    summary: &'static str,
    status: u16,
    response: Wire,
    request: Option<Wire>,
    query: fn() -> Vec<Parameter>,
    route: fn() -> Route,
) -> Endpoint {
    Endpoint { path, method, scopes, summary, status, response, request, query, route }
}

/// Every API endpoint (API.md §3 and §6), fixed paths (`/cases/counts`) before
/// `/cases/{case_id}`.
pub fn endpoints() -> Vec<Endpoint> {
    use Method as M;
    vec![
        endpoint(
            M::GET,
            "/sessions",
            &[SessionsRead],
            "List sessions, newest first",
            200,
            list::<SessionBody>("SessionList"),
            None,
            params::<SessionsQuery>,
            || web::get().to(sessions::list),
        ),
        endpoint(
            M::POST,
            "/sessions",
            &[SessionsWrite],
            "Ingest a session (under_review opens its case)",
            201,
            wire::<SessionBody>("Session"),
            Some(wire::<NewSessionRequest>("NewSession")),
            no_params,
            || web::post().to(sessions::create),
        ),
        endpoint(
            M::GET,
            "/sessions/{session_id}",
            &[SessionsRead],
            "Read a session",
            200,
            wire::<SessionBody>("Session"),
            None,
            no_params,
            || web::get().to(sessions::get),
        ),
        endpoint(
            M::POST,
            "/sessions/{session_id}/simulate",
            &[SessionsWrite],
            "Apply an outcome to a sandbox session",
            200,
            wire::<SessionBody>("Session"),
            Some(wire::<SimulateRequest>("SimulateRequest")),
            no_params,
            || web::post().to(sandbox::simulate),
        ),
        endpoint(
            M::GET,
            "/sessions/{session_id}/result",
            &[SessionsRead],
            "Read a session's outcome (404 while it has none)",
            200,
            wire::<SessionResult>("SessionResult"),
            None,
            no_params,
            || web::get().to(sandbox::result),
        ),
        endpoint(
            M::POST,
            "/sessions/{session_id}/generate-one-time-link",
            &[SessionsWrite],
            "A one-time link to the sandbox capture page, with its QR code",
            201,
            wire::<OneTimeLink>("OneTimeLink"),
            Some(wire::<OneTimeLinkRequest>("OneTimeLinkRequest")),
            no_params,
            || web::post().to(sandbox::one_time_link),
        ),
        endpoint(
            M::GET,
            "/cases",
            &[CasesRead],
            "List cases",
            200,
            list::<CaseBody>("CaseList"),
            None,
            params::<CasesQuery>,
            || web::get().to(cases::list),
        ),
        endpoint(
            M::POST,
            "/cases",
            &[CasesWrite],
            "Open the case of a session (200 when it has one)",
            201,
            wire::<CaseBody>("Case"),
            Some(wire::<NewCase>("NewCase")),
            no_params,
            || web::post().to(cases::create),
        ),
        endpoint(
            M::GET,
            "/cases/counts",
            &[CasesRead],
            "Count the queue tabs",
            200,
            wire::<Counts>("Counts"),
            None,
            params::<CountsQuery>,
            || web::get().to(case_data::counts),
        ),
        endpoint(
            M::GET,
            "/cases/tags",
            &[CasesRead],
            "Distinct tags with counts",
            200,
            wire::<TagCounts>("TagList"),
            None,
            no_params,
            || web::get().to(case_data::tags),
        ),
        endpoint(
            M::POST,
            "/cases/next",
            &[CasesWrite],
            "Claim the next case of the queue",
            200,
            wire::<CaseWithSession>("CaseWithSession"),
            Some(wire::<NextRequest>("NextRequest")),
            no_params,
            || web::post().to(lifecycle::next),
        ),
        endpoint(
            M::POST,
            "/cases/search",
            &[CasesRead],
            "Search cases",
            200,
            list::<CaseBody>("CaseList"),
            Some(wire::<SearchRequest>("SearchRequest")),
            no_params,
            || web::post().to(cases::search),
        ),
        endpoint(
            M::POST,
            "/cases/demo",
            &[CasesWrite],
            "Create a demo case (sandbox)",
            201,
            wire::<CaseWithSession>("CaseWithSession"),
            Some(wire::<Empty>("Empty")),
            no_params,
            || web::post().to(case_data::demo),
        ),
        endpoint(
            M::GET,
            "/cases/{case_id}",
            &[CasesRead],
            "Read a case with its session",
            200,
            wire::<CaseWithSession>("CaseWithSession"),
            None,
            no_params,
            || web::get().to(cases::get),
        ),
        endpoint(
            M::PATCH,
            "/cases/{case_id}",
            &[CasesWrite],
            "Change priority, tags, metadata, custom fields",
            200,
            wire::<CaseBody>("Case"),
            Some(wire::<CasePatchRequest>("CasePatch")),
            no_params,
            || web::patch().to(case_data::update),
        ),
        endpoint(
            M::POST,
            "/cases/{case_id}/claim",
            &[CasesWrite],
            "Claim (or renew) the lease",
            200,
            wire::<CaseBody>("Case"),
            Some(wire::<ReviewerRequest>("ReviewerRequest")),
            no_params,
            || web::post().to(lifecycle::claim),
        ),
        endpoint(
            M::POST,
            "/cases/{case_id}/release",
            &[CasesWrite],
            "Release the lease",
            200,
            wire::<CaseBody>("Case"),
            Some(wire::<ReviewerRequest>("ReviewerRequest")),
            no_params,
            || web::post().to(lifecycle::release),
        ),
        endpoint(
            M::POST,
            "/cases/{case_id}/assign",
            &[CasesWrite],
            "Assign (advisory)",
            200,
            wire::<CaseBody>("Case"),
            Some(wire::<AssignRequest>("AssignRequest")),
            no_params,
            || web::post().to(lifecycle::assign),
        ),
        endpoint(
            M::POST,
            "/cases/{case_id}/escalate",
            &[CasesWrite],
            "Escalate",
            200,
            wire::<CaseBody>("Case"),
            Some(wire::<EscalateRequest>("EscalateRequest")),
            no_params,
            || web::post().to(lifecycle::escalate),
        ),
        endpoint(
            M::POST,
            "/cases/{case_id}/approve",
            &[CasesDecide],
            "Approve (or recommend, under dual review)",
            200,
            wire::<CaseBody>("Case"),
            Some(wire::<ApproveRequest>("ApproveRequest")),
            no_params,
            || web::post().to(lifecycle::approve),
        ),
        endpoint(
            M::POST,
            "/cases/{case_id}/reject",
            &[CasesDecide],
            "Reject (or recommend, under dual review)",
            200,
            wire::<CaseBody>("Case"),
            Some(wire::<RejectRequest>("RejectRequest")),
            no_params,
            || web::post().to(lifecycle::reject),
        ),
        endpoint(
            M::GET,
            "/cases/{case_id}/notes",
            &[CasesRead],
            "List notes, oldest first",
            200,
            list::<Note>("NoteList"),
            None,
            params::<PageQuery>,
            || web::get().to(case_data::notes),
        ),
        endpoint(
            M::POST,
            "/cases/{case_id}/notes",
            &[CasesWrite],
            "Add a note",
            201,
            wire::<Note>("Note"),
            Some(wire::<NoteRequest>("NoteRequest")),
            no_params,
            || web::post().to(case_data::add_note),
        ),
        endpoint(
            M::GET,
            "/cases/{case_id}/events",
            &[CasesRead],
            "The audit trail, oldest first",
            200,
            list::<Event>("EventList"),
            None,
            params::<PageQuery>,
            || web::get().to(case_data::events),
        ),
        endpoint(
            M::PUT,
            "/cases/{case_id}/result/pii",
            &[CasesWrite, VerificationsRead],
            "Correct extracted data",
            200,
            wire::<PiiResult>("PiiResult"),
            Some(wire::<PiiRequest>("PiiRequest")),
            no_params,
            || web::put().to(case_data::update_pii),
        ),
        endpoint(
            M::POST,
            "/cases/{case_id}/checks/{policy}/override",
            &[CasesDecide],
            "Override a check (summary follows asynchronously)",
            202,
            wire::<OverrideAccepted>("OverrideAccepted"),
            Some(wire::<OverrideRequest>("OverrideRequest")),
            no_params,
            || web::post().to(lifecycle::override_check),
        ),
        endpoint(
            M::GET,
            "/blocklist",
            &[CasesRead],
            "List blocklist entries",
            200,
            list::<BlocklistEntry>("BlocklistList"),
            None,
            params::<PageQuery>,
            || web::get().to(case_data::blocklist),
        ),
        endpoint(
            M::GET,
            "/organization/settings",
            &[OrgRead],
            "Read the environment's settings",
            200,
            wire::<Settings>("Settings"),
            None,
            no_params,
            || web::get().to(admin::settings),
        ),
        endpoint(
            M::PATCH,
            "/organization/settings",
            &[OrgWrite],
            "Change the environment's settings",
            200,
            wire::<Settings>("Settings"),
            Some(wire::<SettingsPatchRequest>("SettingsPatch")),
            no_params,
            || web::patch().to(admin::update_settings),
        ),
        endpoint(
            M::GET,
            "/org-users",
            &[OrgUsersRead],
            "List org users",
            200,
            list::<OrgUser>("OrgUserList"),
            None,
            params::<PageQuery>,
            || web::get().to(admin::org_users),
        ),
        endpoint(
            M::POST,
            "/org-users",
            &[OrgUsersWrite],
            "Create an org user",
            201,
            wire::<OrgUser>("OrgUser"),
            Some(wire::<NewOrgUserRequest>("NewOrgUser")),
            no_params,
            || web::post().to(admin::create_org_user),
        ),
        endpoint(
            M::GET,
            "/org-users/{id}",
            &[OrgUsersRead],
            "Read an org user",
            200,
            wire::<OrgUser>("OrgUser"),
            None,
            no_params,
            || web::get().to(admin::org_user),
        ),
        endpoint(
            M::PATCH,
            "/org-users/{id}",
            &[OrgUsersWrite],
            "Change an org user",
            200,
            wire::<OrgUser>("OrgUser"),
            Some(wire::<OrgUserPatchRequest>("OrgUserPatch")),
            no_params,
            || web::patch().to(admin::update_org_user),
        ),
        endpoint(
            M::POST,
            "/org-users/{id}/invitation",
            &[OrgUsersWrite],
            "Invite an org user to set a console password (a one-time link)",
            201,
            wire::<Invitation>("Invitation"),
            Some(wire::<Empty>("Empty")),
            no_params,
            || web::post().to(admin::invite),
        ),
        endpoint(
            M::GET,
            "/sign-in-attempts",
            &[OrgUsersRead],
            "Console sign-ins, failures and lockouts, newest first",
            200,
            list::<SignInAttempt>("SignInAttemptList"),
            None,
            params::<PageQuery>,
            || web::get().to(admin::sign_in_attempts),
        ),
        endpoint(
            M::GET,
            "/api-keys",
            &[ApiKeysWrite],
            "List the environment's API keys",
            200,
            list::<ApiKey>("ApiKeyList"),
            None,
            params::<PageQuery>,
            || web::get().to(admin::api_keys),
        ),
        endpoint(
            M::POST,
            "/api-keys",
            &[ApiKeysWrite],
            "Create an API key (its secret shown once)",
            201,
            wire::<CreatedApiKey>("NewApiKeyResult"),
            Some(wire::<NewApiKeyRequest>("NewApiKey")),
            no_params,
            || web::post().to(admin::create_api_key),
        ),
        endpoint(
            M::DELETE,
            "/api-keys/{id}",
            &[ApiKeysWrite],
            "Revoke an API key",
            200,
            wire::<ApiKey>("ApiKey"),
            None,
            no_params,
            || web::delete().to(admin::revoke_api_key),
        ),
        endpoint(
            M::GET,
            "/webhooks/endpoints",
            &[WebhooksRead],
            "List webhook endpoints",
            200,
            list::<EndpointBody>("WebhookEndpointList"),
            None,
            params::<PageQuery>,
            || web::get().to(webhooks::list),
        ),
        endpoint(
            M::POST,
            "/webhooks/endpoints",
            &[WebhooksWrite],
            "Register a webhook endpoint (its secret shown once)",
            201,
            wire::<EndpointWithSecret>("WebhookEndpointWithSecret"),
            Some(wire::<NewEndpointRequest>("NewWebhookEndpoint")),
            no_params,
            || web::post().to(webhooks::create),
        ),
        endpoint(
            M::GET,
            "/webhooks/endpoints/{id}",
            &[WebhooksRead],
            "Read a webhook endpoint",
            200,
            wire::<EndpointBody>("WebhookEndpoint"),
            None,
            no_params,
            || web::get().to(webhooks::get),
        ),
        endpoint(
            M::PATCH,
            "/webhooks/endpoints/{id}",
            &[WebhooksWrite],
            "Change a webhook endpoint (enabled: true re-enables it)",
            200,
            wire::<EndpointBody>("WebhookEndpoint"),
            Some(wire::<EndpointPatchRequest>("WebhookEndpointPatch")),
            no_params,
            || web::patch().to(webhooks::update),
        ),
        endpoint(
            M::DELETE,
            "/webhooks/endpoints/{id}",
            &[WebhooksWrite],
            "Delete a webhook endpoint and its deliveries",
            200,
            wire::<EndpointBody>("WebhookEndpoint"),
            None,
            no_params,
            || web::delete().to(webhooks::delete),
        ),
        endpoint(
            M::POST,
            "/webhooks/endpoints/{id}/rotate-secret",
            &[WebhooksWrite],
            "A new signing secret; the old one signs too for 24 hours",
            200,
            wire::<EndpointWithSecret>("WebhookEndpointWithSecret"),
            None,
            no_params,
            || web::post().to(webhooks::rotate_secret),
        ),
        endpoint(
            M::POST,
            "/webhooks/endpoints/{id}/test",
            &[WebhooksWrite],
            "Send a webhook.test event now",
            202,
            wire::<Delivery>("WebhookDelivery"),
            None,
            no_params,
            || web::post().to(webhooks::test),
        ),
        endpoint(
            M::GET,
            "/webhooks/endpoints/{id}/deliveries",
            &[WebhooksRead],
            "The delivery log, newest first",
            200,
            list::<Delivery>("WebhookDeliveryList"),
            None,
            params::<PageQuery>,
            || web::get().to(webhooks::deliveries),
        ),
        endpoint(
            M::POST,
            "/webhooks/endpoints/{id}/recover",
            &[WebhooksWrite],
            "Queue again every event of a time window (at most 7 days back)",
            202,
            wire::<Recovered>("WebhookRecovered"),
            Some(wire::<RecoverRequest>("WebhookRecoverRequest")),
            no_params,
            || web::post().to(webhooks::recover),
        ),
        endpoint(
            M::POST,
            "/webhooks/deliveries/{id}/retry",
            &[WebhooksWrite],
            "Redeliver a failed delivery",
            202,
            wire::<Delivery>("WebhookDelivery"),
            None,
            no_params,
            || web::post().to(webhooks::retry),
        ),
    ]
}

fn with_405(resource: actix_web::Resource, allow: String) -> actix_web::Resource {
    let allow: Rc<str> = allow.into();
    resource.default_service(web::to(move || {
        let refusal = ApiError::method_not_allowed(&allow);
        async move { Err::<HttpResponse, _>(refusal) }
    }))
}

/// An API resource: the conventions middleware (authentication, rate limits, headers, scopes,
/// idempotency) around its routes; other methods get 405 naming the allowed ones.
fn api(
    path: &str,
    endpoints: &[&Endpoint],
) -> actix_web::Resource<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    > + use<>,
> {
    let allow: Vec<&str> = endpoints.iter().map(|e| e.method.as_str()).collect();
    let mut requirements = Requirements::default();
    let mut resource = web::resource(path);
    for endpoint in endpoints {
        requirements.add(endpoint.method.clone(), endpoint.scopes);
        resource = resource.route((endpoint.route)());
    }
    let requirements = Rc::new(requirements);
    with_405(resource, allow.join(", "))
        .wrap(from_fn(move |request, next| conventions(request, next, Rc::clone(&requirements))))
}

/// A resource outside the API (health, metrics, documentation): no authentication.
fn open(path: &str, route: Route) -> actix_web::Resource {
    with_405(web::resource(path).route(route), "GET".to_owned())
}

/// Registers every route.
pub fn configure(config: &mut web::ServiceConfig, with_metrics: bool) {
    if with_metrics {
        configure_metrics(config);
    }
    config
        .service(open("/health/live", web::get().to(health::live)))
        .service(open("/health/ready", web::get().to(health::ready)))
        .service(open("/docs", web::get().to(super::openapi::docs)))
        .service(super::openapi::viewer())
        .service(with_405(
            web::resource("/sandbox/capture/{token}")
                .route(web::get().to(sandbox::capture_page))
                .route(web::post().to(sandbox::capture_submit)),
            "GET, POST".to_owned(),
        ))
        .configure(crate::console::configure);
    configure_api(config);
}

/// Registers `/api/v1`: the route table, and the OpenAPI document.
pub fn configure_api(config: &mut web::ServiceConfig) {
    let table = endpoints();
    let mut scope = web::scope("/api/v1").service(open("/openapi.json", web::get().to(super::openapi::document)));
    let mut paths: Vec<&str> = Vec::new();
    for endpoint in &table {
        if !paths.contains(&endpoint.path) {
            paths.push(endpoint.path);
        }
    }
    for path in paths {
        let group: Vec<&Endpoint> = table.iter().filter(|e| e.path == path).collect();
        scope = scope.service(api(path, &group));
    }
    config.service(scope);
}

/// `/metrics` alone (on `server.metrics_address`, or beside the API).
pub fn configure_metrics(config: &mut web::ServiceConfig) {
    config.service(open("/metrics", web::get().to(health::metrics)));
}

/// 404 for every path no route matches.
///
/// # Errors
/// Always: there is nothing here.
pub async fn unknown_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("Route"))
}
