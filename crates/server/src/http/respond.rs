//! Success responses: JSON bodies, the list envelope, and `ETag` on single cases.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use casework_domain::page::Page;
use serde_json::{Value, json};

/// A JSON response.
pub fn json(status: StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status).content_type("application/json").body(body.to_string())
}

/// The path a case can be read at.
pub fn case_location(id: casework_domain::id::CaseId) -> String {
    format!("/api/v1/cases/{}", id.public())
}

/// One case: its JSON with `ETag: "<version>"`.
pub fn case(status: StatusCode, body: Value, version: u64) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header(("ETag", format!("\"{version}\"")))
        .body(body.to_string())
}

/// `response` with `Location: location`.
pub fn located(mut response: HttpResponse, location: &str) -> HttpResponse {
    if let Ok(value) = actix_web::http::header::HeaderValue::from_str(location) {
        response.headers_mut().insert(actix_web::http::header::LOCATION, value);
    }
    response
}

/// A created resource: its JSON with `Location` (the path it can be read at).
pub fn created(body: Value, location: String) -> HttpResponse {
    located(json(StatusCode::CREATED, body), &location)
}

/// `{"data": [...], "pagination": {"total", "limit", "offset"}}`.
pub fn list<T>(page: Page<T>, render: impl Fn(&T) -> Value) -> HttpResponse {
    let data: Vec<Value> = page.items.iter().map(render).collect();
    json(
        StatusCode::OK,
        json!({
            "data": data,
            "pagination": {"total": page.total, "limit": page.request.limit(), "offset": page.request.offset()},
        }),
    )
}
