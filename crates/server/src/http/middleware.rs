//! The request envelope, applied to every route: a request id (the client's, or `req_…`) on the
//! response and on every log line; every error answered with the JSON body of CONVENTIONS.md,
//! whoever produced it (a handler, an extractor, the router or the framework); 5xx causes
//! logged once, with the request id; on API responses, the `Verifa-Version` echoed and the keys
//! inflected as `Key-Inflection` asks.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use rand::Rng;
use tracing::Instrument;

use casework_domain::directory::Principal;

use super::conventions::{ApiVersion, CURRENT_VERSION};
use super::error::ApiError;
use super::inflection::{self, Inflection};

/// The id of the request being served, stored in the request's extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const X_REQUEST_ID: &str = "x-request-id";
/// Requests whose headers add up to more than this are refused with 431.
const MAX_HEADER_BYTES: usize = 16 * 1024;
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
    let header_bytes: usize = request.headers().iter().map(|(name, value)| name.as_str().len() + value.len()).sum();
    if header_bytes > MAX_HEADER_BYTES {
        let error = ApiError::for_status(actix_web::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
        let response = request.error_response(error);
        let mut response = with_error_body(response, &id);
        if let Ok(value) = HeaderValue::from_str(&id) {
            response.headers_mut().insert(HeaderName::from_static(X_REQUEST_ID), value);
        }
        return Ok(response);
    }
    let api = request.path().starts_with("/api/");
    let started = std::time::Instant::now();
    let metrics = request.app_data::<actix_web::web::Data<crate::state::AppState>>().map(|state| state.metrics.clone());
    // Valid or not, a bad value is refused (400) by the conventions once the key is known.
    let inflection = inflection::of(request.request()).unwrap_or(Inflection::Snake);
    // Handlers' and extractors' errors arrive as responses carrying the error; an `Err` here
    // would only come from a middleware, and every middleware inside answers with responses.
    let state = request.app_data::<actix_web::web::Data<crate::state::AppState>>().cloned();
    let response = next.call(request).instrument(span.clone()).await?.map_into_boxed_body();
    let response = match state {
        Some(state) => outage_or_bug(response, &state, started.elapsed()).await,
        None => response,
    };
    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    if let Some(metrics) = metrics {
        metrics.observe_request(
            response.request().method().as_str(),
            &route,
            response.status().as_u16(),
            started.elapsed(),
        );
    }
    access_log(&response, &id, &route, started.elapsed());
    let failed = response.status().is_client_error() || response.status().is_server_error();
    // A page that explains its own refusal to a person (text/html) keeps its body.
    let explained = is_json(&response) || content_type_is(&response, "text/html");
    let mut response = if failed && (response.response().error().is_some() || !explained) {
        span.in_scope(|| with_error_body(response, &id))
    } else {
        response
    };
    let headers = response.headers_mut();
    if let (false, Ok(value)) = (headers.contains_key(X_REQUEST_ID), HeaderValue::from_str(&id)) {
        headers.insert(HeaderName::from_static(X_REQUEST_ID), value);
    }
    if !api {
        return Ok(response);
    }
    let version = response.request().extensions().get::<ApiVersion>().map_or(CURRENT_VERSION, |v| v.0);
    response.headers_mut().insert(HeaderName::from_static("verifa-version"), HeaderValue::from_static(version));
    if inflection == Inflection::Snake || !is_json(&response) {
        return Ok(response);
    }
    Ok(inflected(response, inflection).await)
}

/// One line per request at INFO: method, route template, status, latency, request id, client
/// address and key id — never the key, a body or PII.
fn access_log(response: &ServiceResponse<BoxBody>, request_id: &str, route: &str, elapsed: std::time::Duration) {
    let request = response.request();
    let key_id = request.extensions().get::<Principal>().map(|principal| principal.key_id.public());
    let agent = request.extensions().get::<Principal>().and_then(|principal| principal.agent.clone());
    let client = request.app_data::<actix_web::web::Data<crate::state::AppState>>().and_then(|state| {
        client_address(request.peer_addr()?.ip(), request.headers(), &state.config.server.trusted_proxies)
    });
    let client = client.map(|address| address.to_string());
    tracing::info!(
        target: "casework::access",
        request_id,
        method = request.method().as_str(),
        route,
        status = response.status().as_u16(),
        latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
        client = client.as_deref().unwrap_or("-"),
        key_id = key_id.as_deref().unwrap_or("-"),
        actor = if agent.is_some() { "agent" } else { "key" },
        agent = agent.as_deref().unwrap_or("-"),
        "request"
    );
}

/// The client's address: the peer's, unless the peer is a trusted proxy; then the nearest address
/// of `X-Forwarded-For` (read from the right) that is not itself a trusted proxy.
pub fn client_address(
    peer: std::net::IpAddr,
    headers: &actix_web::http::header::HeaderMap,
    trusted: &[ipnet::IpNet],
) -> Option<std::net::IpAddr> {
    let is_trusted = |address: &std::net::IpAddr| trusted.iter().any(|net| net.contains(address));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<std::net::IpAddr> = headers
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse().ok())
        .collect();
    Some(forwarded.iter().rev().find(|address| !is_trusted(address)).or(forwarded.first()).copied().unwrap_or(peer))
}

/// A 500 whose cause is a statement the server refused without a reason the driver names is an
/// outage when the statement ran for the whole statement timeout, or when the database no longer
/// answers: then it is a 503 with `Retry-After`, like any other outage.
async fn outage_or_bug(
    response: ServiceResponse<BoxBody>,
    state: &crate::state::AppState,
    elapsed: std::time::Duration,
) -> ServiceResponse<BoxBody> {
    let refusal = (response.status() == actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
        .then(|| response.response().error().and_then(|e| e.as_error::<ApiError>()).and_then(ApiError::cause))
        .flatten()
        .filter(|cause| casework_adapters::postgres::errors::is_unexplained_refusal(cause))
        .map(|cause| anyhow::anyhow!("{cause:#}"));
    let Some(cause) = refusal else { return response };
    let timed_out = elapsed >= std::time::Duration::from_millis(state.config.database.statement_timeout_ms);
    if !timed_out && state.store.answers().await {
        return response;
    }
    let (request, _) = response.into_parts();
    ServiceResponse::from_err(ApiError::unavailable(cause), request).map_into_boxed_body()
}

fn content_type_is(response: &ServiceResponse<BoxBody>, prefix: &str) -> bool {
    response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|v| v.starts_with(prefix))
}

fn is_json(response: &ServiceResponse<BoxBody>) -> bool {
    content_type_is(response, "application/json")
}

/// The response with its JSON body's keys inflected.
async fn inflected(response: ServiceResponse<BoxBody>, inflection: Inflection) -> ServiceResponse<BoxBody> {
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let body = match serde_json::from_slice::<serde_json::Value>(&bytes) {
        Ok(value) => casework_api::inflection::inflect(inflection, value).to_string().into_bytes(),
        Err(_) => bytes.to_vec(),
    };
    let mut head = head.set_body(BoxBody::new(body));
    head.headers_mut().remove(header::CONTENT_LENGTH);
    ServiceResponse::new(request, head)
}

/// Replaces the body of an error response with the JSON error body, keeping its headers.
pub(crate) fn with_error_body(response: ServiceResponse<BoxBody>, request_id: &str) -> ServiceResponse<BoxBody> {
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
        // One outage fails every request alike: its cause is logged once per interval.
        let cause = format!("{cause:#}");
        if let Some(suppressed) = crate::throttle::due(&format!("{}: {cause}", error.code())) {
            tracing::error!(code = error.code(), error = cause, suppressed, "request failed");
        }
    }
    let body = serde_json::to_string(&error.body(request_id)).unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

    use super::client_address;

    #[test]
    fn x_forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_static("x-forwarded-for"), HeaderValue::from_static("203.0.113.7, 10.0.0.9"));
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap_or_else(|e| panic!("{e}"))];
        let proxy = "10.0.0.2".parse().unwrap_or_else(|e| panic!("{e}"));
        let stranger = "198.51.100.1".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(client_address(proxy, &headers, &trusted).map(|a| a.to_string()).as_deref(), Some("203.0.113.7"));
        assert_eq!(client_address(stranger, &headers, &trusted), Some(stranger));
        assert_eq!(client_address(proxy, &headers, &[]), Some(proxy));
    }
}
