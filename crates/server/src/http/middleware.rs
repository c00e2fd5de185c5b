//! The request envelope, applied to every route: a request id (the client's, or `req_…`) on the
//! response and on every log line; every error answered with the JSON body of CONVENTIONS.md,
//! whoever produced it (a handler, an extractor, the router or the framework); 5xx causes
//! logged once, with the request id.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use rand::Rng;
use tracing::Instrument;

use super::error::ApiError;

/// The id of the request being served, stored in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const X_REQUEST_ID: &str = "x-request-id";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The client's id when it is 1–128 printable ASCII characters, else a new `req_` id.
fn request_id(request: &ServiceRequest) -> String {
    let given = request.headers().get(X_REQUEST_ID).and_then(|v| v.to_str().ok());
    match given {
        Some(id) if (1..=128).contains(&id.len()) && id.bytes().all(|b| (0x20..0x7f).contains(&b)) => id.to_owned(),
        _ => {
            let mut rng = rand::rng();
            let body: String = (0..24).map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())])).collect();
            format!("req_{body}")
        }
    }
}

/// The envelope middleware (see the module docs).
///
/// # Errors
/// Never: every error becomes a JSON response.
pub async fn envelope(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let id = request_id(&request);
    request.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!("request", request_id = %id, method = %request.method(), path = %request.path());
    // Handlers' and extractors' errors arrive as responses carrying the error; an `Err` here
    // would only come from a middleware, and there is none inside this one.
    let response = next.call(request).instrument(span.clone()).await?.map_into_boxed_body();
    let mut response = if response.status().is_client_error() || response.status().is_server_error() {
        span.in_scope(|| with_error_body(response, &id))
    } else {
        response
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HeaderName::from_static(X_REQUEST_ID), value);
    }
    Ok(response)
}

/// Replaces the body of an error response with the JSON error body, keeping its headers.
fn with_error_body(response: ServiceResponse<BoxBody>, request_id: &str) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let fallback;
    let error: &ApiError = match response.response().error().and_then(|e| e.as_error::<ApiError>()) {
        Some(api_error) => api_error,
        None => {
            if let Some(other) = response.response().error() {
                if status.is_server_error() {
                    tracing::error!(error = %other, "request failed");
                } else {
                    tracing::debug!(error = %other, "request refused by the framework");
                }
            }
            fallback = ApiError::for_status(status);
            &fallback
        }
    };
    if let Some(cause) = error.cause() {
        tracing::error!(code = error.code(), error = format!("{cause:#}"), "request failed");
    }
    let body = error.body(request_id).to_string();
    let (request, old) = response.into_parts();
    let mut new = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.append_header((name.clone(), value.clone()));
        }
    }
    let new = new.content_type("application/json").body(body);
    ServiceResponse::new(request, new)
}
