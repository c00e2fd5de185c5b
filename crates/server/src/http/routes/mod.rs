//! The route table. Every resource answers a wrong method with 405 and its `Allow` list, and
//! every unknown path with 404, both as JSON errors.

pub mod admin;
pub mod case_data;
pub mod cases;
pub mod health;
pub mod lifecycle;
pub mod sessions;

use std::rc::Rc;

use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{HttpResponse, Route, web};
use casework_domain::directory::Scope::{
    self, ApiKeysWrite, CasesDecide, CasesRead, CasesWrite, OrgRead, OrgUsersRead, OrgUsersWrite, OrgWrite,
    SessionsRead, SessionsWrite, VerificationsRead,
};

use super::conventions::{Requirements, conventions};
use super::error::ApiError;

/// One method of a resource: the scopes it needs and its handler.
type Endpoint = (Method, &'static [Scope], Route);

fn get(scopes: &'static [Scope], route: Route) -> Endpoint {
    (Method::GET, scopes, route)
}

fn post(scopes: &'static [Scope], route: Route) -> Endpoint {
    (Method::POST, scopes, route)
}

fn allow_list(endpoints: &[Endpoint]) -> &'static str {
    let methods: Vec<&str> = endpoints.iter().map(|(method, _, _)| method.as_str()).collect();
    Box::leak(methods.join(", ").into_boxed_str())
}

fn with_405(resource: actix_web::Resource, allow: &'static str) -> actix_web::Resource {
    resource
        .default_service(web::to(move || async move { Err::<HttpResponse, _>(ApiError::method_not_allowed(allow)) }))
}

/// An API resource: the conventions middleware (authentication, rate limits, headers, scopes,
/// idempotency) around its routes; other methods get 405 naming the allowed ones.
fn api(
    path: &str,
    endpoints: Vec<Endpoint>,
) -> actix_web::Resource<
    impl actix_web::dev::ServiceFactory<
        actix_web::dev::ServiceRequest,
        Config = (),
        Response = actix_web::dev::ServiceResponse<actix_web::body::BoxBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let allow = allow_list(&endpoints);
    let mut requirements = Requirements::default();
    let mut resource = web::resource(path);
    for (method, scopes, route) in endpoints {
        requirements.add(method, scopes);
        resource = resource.route(route);
    }
    let requirements = Rc::new(requirements);
    with_405(resource, allow).wrap(from_fn(move |request, next| conventions(request, next, Rc::clone(&requirements))))
}

/// A resource outside the API (health): no authentication.
fn open(path: &str, route: Route) -> actix_web::Resource {
    with_405(web::resource(path).route(route), "GET")
}

/// Registers every route, with the scopes of API.md §3 and §6. Fixed paths (`/cases/counts`)
/// come before `/cases/{case_id}`.
pub fn configure(config: &mut web::ServiceConfig) {
    use cases::{create as create_case, get as get_case, list as list_cases, search as search_cases};
    config
        .service(open("/health/live", web::get().to(health::live)))
        .service(open("/health/ready", web::get().to(health::ready)))
        .service(open("/metrics", web::get().to(health::metrics)))
        .service(
            web::scope("/api/v1")
                .service(api(
                    "/sessions",
                    vec![
                        get(&[SessionsRead], web::get().to(sessions::list)),
                        post(&[SessionsWrite], web::post().to(sessions::create)),
                    ],
                ))
                .service(api("/sessions/{session_id}", vec![get(&[SessionsRead], web::get().to(sessions::get))]))
                .service(api(
                    "/cases",
                    vec![
                        get(&[CasesRead], web::get().to(list_cases)),
                        post(&[CasesWrite], web::post().to(create_case)),
                    ],
                ))
                .service(api("/cases/counts", vec![get(&[CasesRead], web::get().to(case_data::counts))]))
                .service(api("/cases/tags", vec![get(&[CasesRead], web::get().to(case_data::tags))]))
                .service(api("/cases/next", vec![post(&[CasesWrite], web::post().to(lifecycle::next))]))
                .service(api("/cases/search", vec![post(&[CasesRead], web::post().to(search_cases))]))
                .service(api("/cases/demo", vec![post(&[CasesWrite], web::post().to(case_data::demo))]))
                .service(api(
                    "/cases/{case_id}",
                    vec![
                        get(&[CasesRead], web::get().to(get_case)),
                        (Method::PATCH, &[CasesWrite], web::patch().to(case_data::update)),
                    ],
                ))
                .service(api("/cases/{case_id}/claim", vec![post(&[CasesWrite], web::post().to(lifecycle::claim))]))
                .service(api("/cases/{case_id}/release", vec![post(&[CasesWrite], web::post().to(lifecycle::release))]))
                .service(api("/cases/{case_id}/assign", vec![post(&[CasesWrite], web::post().to(lifecycle::assign))]))
                .service(api(
                    "/cases/{case_id}/escalate",
                    vec![post(&[CasesWrite], web::post().to(lifecycle::escalate))],
                ))
                .service(api(
                    "/cases/{case_id}/approve",
                    vec![post(&[CasesDecide], web::post().to(lifecycle::approve))],
                ))
                .service(api("/cases/{case_id}/reject", vec![post(&[CasesDecide], web::post().to(lifecycle::reject))]))
                .service(api(
                    "/cases/{case_id}/notes",
                    vec![
                        get(&[CasesRead], web::get().to(case_data::notes)),
                        post(&[CasesWrite], web::post().to(case_data::add_note)),
                    ],
                ))
                .service(api("/cases/{case_id}/events", vec![get(&[CasesRead], web::get().to(case_data::events))]))
                .service(api(
                    "/cases/{case_id}/result/pii",
                    vec![(Method::PUT, &[CasesWrite, VerificationsRead], web::put().to(case_data::update_pii))],
                ))
                .service(api(
                    "/cases/{case_id}/checks/{policy}/override",
                    vec![post(&[CasesDecide], web::post().to(lifecycle::override_check))],
                ))
                .service(api("/blocklist", vec![get(&[CasesRead], web::get().to(case_data::blocklist))]))
                .service(api(
                    "/organization/settings",
                    vec![
                        get(&[OrgRead], web::get().to(admin::settings)),
                        (Method::PATCH, &[OrgWrite], web::patch().to(admin::update_settings)),
                    ],
                ))
                .service(api(
                    "/org-users",
                    vec![
                        get(&[OrgUsersRead], web::get().to(admin::org_users)),
                        post(&[OrgUsersWrite], web::post().to(admin::create_org_user)),
                    ],
                ))
                .service(api(
                    "/org-users/{id}",
                    vec![
                        get(&[OrgUsersRead], web::get().to(admin::org_user)),
                        (Method::PATCH, &[OrgUsersWrite], web::patch().to(admin::update_org_user)),
                    ],
                ))
                .service(api(
                    "/api-keys",
                    vec![
                        get(&[ApiKeysWrite], web::get().to(admin::api_keys)),
                        post(&[ApiKeysWrite], web::post().to(admin::create_api_key)),
                    ],
                ))
                .service(api(
                    "/api-keys/{id}",
                    vec![(Method::DELETE, &[ApiKeysWrite], web::delete().to(admin::revoke_api_key))],
                )),
        );
}

/// 404 for every path no route matches.
///
/// # Errors
/// Always: there is nothing here.
pub async fn unknown_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("Route"))
}
