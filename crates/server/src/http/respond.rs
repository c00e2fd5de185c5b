//! Success responses: a wire type (`casework_api`) as the JSON body, the list envelope, and
//! `ETag` on single cases.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use casework_api::list::List;
use casework_domain::page::Page;
use serde::Serialize;
use utoipa::ToSchema;

/// The JSON of a wire type (these serialize infallibly: string keys, no failing serializer).
fn body(value: &impl Serialize) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// A JSON response.
pub fn json(status: StatusCode, value: &impl Serialize) -> HttpResponse {
    HttpResponse::build(status).content_type("application/json").body(body(value))
}

/// The path a case can be read at.
pub fn case_location(id: casework_domain::id::CaseId) -> String {
    format!("/api/v1/cases/{}", id.public())
}

/// One case: its JSON with `ETag: "<version>"`.
pub fn case(status: StatusCode, value: &impl Serialize, version: u64) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header(("ETag", format!("\"{version}\"")))
        .body(body(value))
}

/// `response` with `Location: location`.
pub fn located(mut response: HttpResponse, location: &str) -> HttpResponse {
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(location) {
        response.headers_mut().insert(actix_web::http::header::LOCATION, value);
    }
    response
}

/// A created resource: its JSON with `Location` (the path it can be read at).
pub fn created(value: &impl Serialize, location: String) -> HttpResponse {
    located(json(StatusCode::CREATED, value), &location)
}

/// `{"data": [...], "pagination": {"total", "limit", "offset"}}`, each item as wire type `T`.
pub fn list<T, U>(page: &Page<U>) -> HttpResponse
where
    T: Serialize + ToSchema + for<'a> From<&'a U>,
{
    list_with(page, |item| T::from(item))
}

/// The list envelope, each item rendered by `render`.
pub fn list_with<T: Serialize + ToSchema, U>(page: &Page<U>, render: impl Fn(&U) -> T) -> HttpResponse {
    json(StatusCode::OK, &List::of(page, render))
}
