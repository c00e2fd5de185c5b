//! The conventions every API endpoint follows (CONVENTIONS.md), applied by one middleware around
//! each resource of the route table, in the contract's order of refusals: authentication (401),
//! rate limiting (429), header formats (400: `Verifa-Version`, `Key-Inflection`,
//! `Idempotency-Key`, `If-Match`), scope (403), then idempotency (replay, 422 mismatch, 409 in
//! progress). Handlers receive the authenticated [`Principal`] through the [`super::auth::Api`]
//! extractor and never repeat any of this.

use std::rc::Rc;

use actix_web::body::BoxBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use casework_adapters::postgres::{Once, Outcome, PgStore};
use casework_domain::directory::{Principal, Scope};
use casework_domain::ports::{
    ApiKeyStore, DirectoryRepository, IdempotencyAttempt, IdempotencyScope, IdempotencyStart, IdempotencyStore,
    RateDecision, StoredResponse,
};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::action::if_match;
use super::auth::presented_key;
use super::error::ApiError;
use super::inflection;
use super::middleware::{RequestId, with_error_body};
use crate::state::AppState;

/// The current API version, and the versions accepted for it.
pub const CURRENT_VERSION: &str = "2026-01-01";
const SUPPORTED_VERSIONS: [&str; 2] = ["2026-01-01", "2026-02-01"];
/// How long a first request holds its idempotency key before a crashed run may be taken over.
const IDEMPOTENCY_LOCK: time::Duration = time::Duration::seconds(60);

/// The scopes each method of a resource needs.
#[derive(Debug, Clone, Default)]
pub struct Requirements(Vec<(Method, Vec<Scope>)>);

impl Requirements {
    /// Adds `method`, needing every scope of `scopes`.
    pub fn add(&mut self, method: Method, scopes: &[Scope]) {
        self.0.push((method, scopes.to_vec()));
    }

    fn serves(&self, method: &Method) -> bool {
        self.0.iter().any(|(m, _)| m == method)
    }

    fn for_method(&self, method: &Method) -> &[Scope] {
        self.0.iter().find(|(m, _)| m == method).map_or(&[], |(_, scopes)| scopes.as_slice())
    }
}

/// The request's `If-Match`, parsed once here (`None`: absent or `*`).
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<u64>);

/// The API version a request is served under, echoed on its response.
#[derive(Debug, Clone, Copy)]
pub struct ApiVersion(pub &'static str);

/// The refusal of a request, as an error response the envelope completes.
fn refuse(request: ServiceRequest, error: ApiError) -> ServiceResponse<BoxBody> {
    request.error_response(error)
}

fn rate_headers(response: &mut ServiceResponse<BoxBody>, decision: &RateDecision) {
    let headers = response.headers_mut();
    for (name, value) in [
        ("x-ratelimit-limit", decision.limit.to_string()),
        ("x-ratelimit-remaining", decision.remaining.to_string()),
        ("x-ratelimit-reset", decision.reset_at.to_string()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}

fn version_of(request: &ServiceRequest, principal: &Principal) -> Result<&'static str, ApiError> {
    let unsupported = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "unsupported_version",
            format!("Supported versions: {}.", SUPPORTED_VERSIONS.join(", ")),
        )
    };
    let requested = match request.headers().get("verifa-version") {
        Some(value) => value.to_str().map_err(|_| unsupported())?.trim().to_owned(),
        None => principal.pinned_version.clone(),
    };
    if SUPPORTED_VERSIONS.contains(&requested.as_str()) { Ok(CURRENT_VERSION) } else { Err(unsupported()) }
}

fn idempotency_key(request: &ServiceRequest) -> Result<Option<String>, ApiError> {
    let Some(value) = request.headers().get("idempotency-key") else { return Ok(None) };
    let malformed = || ApiError::invalid_request("Idempotency-Key must be 1 to 255 printable ASCII characters.");
    let text = value.to_str().map_err(|_| malformed())?;
    if (1..=255).contains(&text.len()) && text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        Ok(Some(text.to_owned()))
    } else {
        Err(malformed())
    }
}

/// The conventions middleware (see the module docs).
///
/// # Errors
/// Never: every refusal is a response.
pub async fn conventions(
    request: ServiceRequest,
    next: Next<BoxBody>,
    requirements: Rc<Requirements>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // A method the resource does not serve is 405, before authentication.
    if !requirements.serves(request.method()) {
        return next.call(request).await;
    }
    let Some(state) = request.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(refuse(request, ApiError::internal(anyhow::anyhow!("application state missing"))));
    };
    let now = state.service.now();
    let Some(secret) = presented_key(request.request()) else { return Ok(refuse(request, ApiError::unauthorized())) };
    let principal = match state.store.authenticate(&secret, now).await {
        Ok(principal) => principal,
        Err(error) => return Ok(refuse(request, error.into())),
    };
    let settings = match state.store.settings(principal.tenant).await {
        Ok(settings) => settings,
        Err(error) => return Ok(refuse(request, error.into())),
    };
    let decision =
        match state.limiter.acquire(principal.tenant, principal.key_id, settings.rate_limit_per_minute, now).await {
            Ok(decision) => decision,
            Err(error) => return Ok(refuse(request, error.into())),
        };
    let mut response = if decision.allowed {
        admitted(request, next, &state, principal, &requirements).await?
    } else {
        let wait = (decision.reset_at - now.unix_timestamp()).max(1);
        let error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("Rate limit exceeded. Retry after {wait} seconds."),
        )
        .with_header("Retry-After", wait.to_string());
        refuse(request, error)
    };
    rate_headers(&mut response, &decision);
    Ok(response)
}

/// After authentication and rate limiting: headers, scope, idempotency, the handler.
async fn admitted(
    request: ServiceRequest,
    next: Next<BoxBody>,
    state: &AppState,
    principal: Principal,
    requirements: &Requirements,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let version = match version_of(&request, &principal) {
        Ok(version) => version,
        Err(error) => return Ok(refuse(request, error)),
    };
    request.extensions_mut().insert(ApiVersion(version));
    if let Err(error) = inflection::of(request.request()) {
        return Ok(refuse(request, error));
    }
    let key = match idempotency_key(&request) {
        Ok(key) => key,
        Err(error) => return Ok(refuse(request, error)),
    };
    match if_match(request.request()) {
        Ok(expected) => request.extensions_mut().insert(IfMatch(expected)),
        Err(error) => return Ok(refuse(request, error)),
    };
    if let Some(&missing) =
        requirements.for_method(request.method()).iter().find(|&&scope| !principal.scopes.allows(scope))
    {
        return Ok(refuse(request, ApiError::insufficient_scope(missing)));
    }
    let scope = IdempotencyScope { tenant: principal.tenant, api_key: principal.key_id, key: key.unwrap_or_default() };
    // A call through `/mcp` acts as the agent (set in-process only: no header can claim it).
    let agent = request.extensions().get::<super::in_process::AgentCall>().map(|agent| agent.0.clone());
    let principal = Principal { agent, ..principal };
    request.extensions_mut().insert(principal);
    let mutating = matches!(*request.method(), Method::POST | Method::PUT | Method::PATCH);
    if !mutating && *request.method() != Method::DELETE {
        return next.call(request).await;
    }
    let tenant = scope.tenant;
    let response = if scope.key.is_empty() || !mutating {
        next.call(request).await
    } else {
        idempotent(request, next, state, scope).await
    };
    // This client's next read of the counts sees what it just did (other clients within the
    // moment the change's notification takes to arrive; the contract allows 1 s).
    state.store.forget_counts(Some(tenant));
    response
}

/// Runs a request under its idempotency key, as one unit with the store (`PgStore::once`): first
/// use runs, and its statements commit with the stored response (a 5xx rolls everything back); a
/// repeat replays it, a different request with the same key is refused.
async fn idempotent(
    mut request: ServiceRequest,
    next: Next<BoxBody>,
    state: &AppState,
    scope: IdempotencyScope,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let limit = state.config.limits.max_body_bytes;
    let mut body = web::BytesMut::new();
    let mut payload = request.take_payload();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return Ok(refuse(request, ApiError::invalid_request("The request body could not be read.")));
        };
        if body.len() + chunk.len() > limit {
            return Ok(refuse(request, ApiError::payload_too_large(limit)));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let fingerprint = Sha256::new()
        .chain_update(request.method().as_str())
        .chain_update(b" ")
        .chain_update(request.path())
        .chain_update(b"\n")
        .chain_update(&body)
        .finalize();
    let request_id = request.extensions().get::<RequestId>().map(|id| id.0.clone()).unwrap_or_default();
    let now = state.service.now();
    let http_request = request.request().clone();
    request.set_payload(Payload::from(body));
    let run = async || {
        let response = match next.call(request).await {
            Ok(response) => response,
            Err(error) => return (Err(error), None),
        };
        // A 5xx is kept nowhere: the unit rolls back and the client may retry.
        if response.status().is_server_error() {
            return (Ok(response), None);
        }
        let (response, stored) = kept(response, &request_id).await;
        (Ok(response), Some(stored))
    };
    let refused = |error: ApiError| Ok(ServiceResponse::from_err(error, http_request.clone()));
    let once = match state.store.once(&scope, &fingerprint, &request_id, now, run).await {
        Ok(once) => once,
        Err(error) => return refused(error.into()),
    };
    match once {
        Once::Ran(response, Outcome::Committed | Outcome::RolledBack) => response,
        Once::Ran(Err(error), Outcome::NotCommitted(..)) => Err(error),
        Once::Ran(Ok(response), Outcome::NotCommitted(error, stored)) => {
            if response.status().is_client_error() {
                // A refusal whose failed statement aborted the unit: it changed nothing, and is
                // kept on its own so a retry gets the same answer.
                keep_refusal(state, scope, &fingerprint, now, stored).await;
                Ok(response)
            } else {
                // Nothing was committed (or, with the acknowledgement lost, the change and its
                // response both were: a retry replays it).
                refused(error.into())
            }
        }
        Once::Replay(stored) => Ok(replay(http_request, &stored)),
        Once::Mismatch => refused(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_mismatch",
            "Idempotency key has already been used with different parameters.",
        )),
        Once::InProgress => refused(ApiError::conflict(
            "idempotency_in_progress",
            "A request with this idempotency key is still being processed.",
        )),
    }
}

/// The response as the client sees it (the error body included, before key inflection), and
/// the same as stored for replay.
async fn kept(response: ServiceResponse<BoxBody>, request_id: &str) -> (ServiceResponse<BoxBody>, StoredResponse) {
    let response = if response.response().error().is_some() { with_error_body(response, request_id) } else { response };
    let (http_request, http_response) = response.into_parts();
    let status = http_response.status();
    let kept_headers: Vec<(String, String)> = [header::LOCATION, header::ETAG]
        .iter()
        .filter_map(|name| {
            http_response.headers().get(name).and_then(|v| v.to_str().ok()).map(|v| (name.to_string(), v.to_owned()))
        })
        .collect();
    let (head, body) = http_response.into_parts();
    let bytes = actix_web::body::to_bytes(body).await.unwrap_or_default();
    let stored = StoredResponse {
        status: status.as_u16(),
        headers: kept_headers,
        body: bytes.to_vec(),
        request_id: request_id.to_owned(),
    };
    (ServiceResponse::new(http_request, head.set_body(BoxBody::new(bytes))), stored)
}

/// Keeps, outside any unit, a refusal whose unit could not commit (unless another request has
/// claimed the key since).
async fn keep_refusal(
    state: &AppState,
    scope: IdempotencyScope,
    fingerprint: &[u8],
    now: time::OffsetDateTime,
    stored: StoredResponse,
) {
    match state.store.begin(&scope, fingerprint, &stored.request_id, now, now + IDEMPOTENCY_LOCK).await {
        Ok(IdempotencyStart::Started(attempt)) => keep_outcome(state.store.clone(), scope, attempt, stored).await,
        Ok(_) => {}
        Err(error) => tracing::warn!(error = format!("{error:#}"), "could not keep a refusal for its idempotency key"),
    }
}

/// Stores a request's outcome under its idempotency key. When the database refuses, the record
/// stays locked (a retry is told "in progress", never run again) while a background task keeps
/// trying for as long as the lock holds, so a committed change is replayed, not repeated.
async fn keep_outcome(store: PgStore, scope: IdempotencyScope, attempt: IdempotencyAttempt, stored: StoredResponse) {
    match store.complete(&scope, attempt, &stored).await {
        Ok(true) => {}
        Ok(false) => tracing::warn!("an idempotency record was taken over before this request completed"),
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "could not store an idempotent response; retrying");
            tokio::spawn(async move {
                let deadline = tokio::time::Instant::now() + IDEMPOTENCY_LOCK.unsigned_abs();
                while tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    if store.complete(&scope, attempt, &stored).await.is_ok() {
                        return;
                    }
                }
                tracing::error!("gave up storing an idempotent response");
            });
        }
    }
}

/// The stored response, with `Idempotent-Replayed: true` and the original request id.
fn replay(request: actix_web::HttpRequest, stored: &StoredResponse) -> ServiceResponse<BoxBody> {
    let mut response = HttpResponse::build(StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK));
    for (name, value) in &stored.headers {
        response.insert_header((name.as_str(), value.as_str()));
    }
    response.insert_header(("Idempotent-Replayed", "true"));
    response.insert_header(("X-Request-Id", stored.request_id.as_str()));
    let response = response.content_type("application/json").body(stored.body.clone());
    ServiceResponse::new(request, response)
}
