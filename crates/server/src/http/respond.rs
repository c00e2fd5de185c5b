//! Success responses: JSON bodies, the list envelope, and `ETag` on single cases.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use casework_domain::page::Page;
use serde_json::{Value, json};

/// A JSON response.
pub fn json(status: StatusCode, body: Value) -> HttpResponse {
    HttpResponse::build(status).content_type("application/json").body(body.to_string())
}

/// One case: its JSON with `ETag: "<version>"`.
pub fn case(status: StatusCode, body: Value, version: u64) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("application/json")
        .insert_header(("ETag", format!("\"{version}\"")))
        .body(body.to_string())
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
