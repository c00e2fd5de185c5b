//! The route table. Every resource answers a wrong method with 405 and its `Allow` list, and
//! every unknown path with 404, both as JSON errors.

pub mod admin;
pub mod case_data;
pub mod cases;
pub mod health;
pub mod lifecycle;
pub mod sessions;

use actix_web::{HttpResponse, Route, web};

use super::error::ApiError;

/// A resource at `path` with its routes; other methods get 405 naming `allow`.
fn resource(path: &str, allow: &'static str, routes: Vec<Route>) -> actix_web::Resource {
    routes
        .into_iter()
        .fold(web::resource(path), actix_web::Resource::route)
        .default_service(web::to(move || async move { Err::<HttpResponse, _>(ApiError::method_not_allowed(allow)) }))
}

/// Registers every route. Fixed paths (`/cases/counts`) come before `/cases/{case_id}`.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(resource("/health/live", "GET", vec![web::get().to(health::live)]))
        .service(resource("/health/ready", "GET", vec![web::get().to(health::ready)]))
        .service(
            web::scope("/api/v1")
                .service(resource(
                    "/sessions",
                    "GET, POST",
                    vec![web::get().to(sessions::list), web::post().to(sessions::create)],
                ))
                .service(resource("/sessions/{session_id}", "GET", vec![web::get().to(sessions::get)]))
                .service(resource(
                    "/cases",
                    "GET, POST",
                    vec![web::get().to(cases::list), web::post().to(cases::create)],
                ))
                .service(resource("/cases/counts", "GET", vec![web::get().to(case_data::counts)]))
                .service(resource("/cases/tags", "GET", vec![web::get().to(case_data::tags)]))
                .service(resource("/cases/next", "POST", vec![web::post().to(lifecycle::next)]))
                .service(resource("/cases/search", "POST", vec![web::post().to(cases::search)]))
                .service(resource("/cases/demo", "POST", vec![web::post().to(case_data::demo)]))
                .service(resource(
                    "/cases/{case_id}",
                    "GET, PATCH",
                    vec![web::get().to(cases::get), web::patch().to(case_data::update)],
                ))
                .service(resource("/cases/{case_id}/claim", "POST", vec![web::post().to(lifecycle::claim)]))
                .service(resource("/cases/{case_id}/release", "POST", vec![web::post().to(lifecycle::release)]))
                .service(resource("/cases/{case_id}/assign", "POST", vec![web::post().to(lifecycle::assign)]))
                .service(resource("/cases/{case_id}/escalate", "POST", vec![web::post().to(lifecycle::escalate)]))
                .service(resource("/cases/{case_id}/approve", "POST", vec![web::post().to(lifecycle::approve)]))
                .service(resource("/cases/{case_id}/reject", "POST", vec![web::post().to(lifecycle::reject)]))
                .service(resource(
                    "/cases/{case_id}/notes",
                    "GET, POST",
                    vec![web::get().to(case_data::notes), web::post().to(case_data::add_note)],
                ))
                .service(resource("/cases/{case_id}/events", "GET", vec![web::get().to(case_data::events)]))
                .service(resource("/cases/{case_id}/result/pii", "PUT", vec![web::put().to(case_data::update_pii)]))
                .service(resource(
                    "/cases/{case_id}/checks/{policy}/override",
                    "POST",
                    vec![web::post().to(lifecycle::override_check)],
                ))
                .service(resource("/blocklist", "GET", vec![web::get().to(case_data::blocklist)]))
                .service(resource(
                    "/organization/settings",
                    "GET, PATCH",
                    vec![web::get().to(admin::settings), web::patch().to(admin::update_settings)],
                ))
                .service(resource(
                    "/org-users",
                    "GET, POST",
                    vec![web::get().to(admin::org_users), web::post().to(admin::create_org_user)],
                ))
                .service(resource(
                    "/org-users/{id}",
                    "GET, PATCH",
                    vec![web::get().to(admin::org_user), web::patch().to(admin::update_org_user)],
                ))
                .service(resource(
                    "/api-keys",
                    "GET, POST",
                    vec![web::get().to(admin::api_keys), web::post().to(admin::create_api_key)],
                ))
                .service(resource("/api-keys/{id}", "DELETE", vec![web::delete().to(admin::revoke_api_key)])),
        );
}

/// 404 for every path no route matches.
///
/// # Errors
/// Always: there is nothing here.
pub async fn unknown_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("Route"))
}
