//! The route table. Every resource answers a wrong method with 405 and its `Allow` list, and
//! every unknown path with 404, both as JSON errors.

pub mod cases;
pub mod health;
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

/// Registers every route.
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
                .service(resource("/cases/{case_id}", "GET", vec![web::get().to(cases::get)])),
        );
}

/// 404 for every path no route matches.
///
/// # Errors
/// Always: there is nothing here.
pub async fn unknown_route() -> Result<HttpResponse, ApiError> {
    Err(ApiError::not_found("Route"))
}
