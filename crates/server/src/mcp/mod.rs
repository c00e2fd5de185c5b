//! `/mcp`: the Model Context Protocol server (streamable HTTP, rmcp through rmcp-actix-web) an AI
//! assistant uses beside the queue. Every request is authenticated with the same key store as the
//! REST API (`Authorization: Bearer` or `X-API-Key`; a bad key is 401 before any MCP message is
//! read), and every tool runs as the REST API runs ([`crate::http::in_process`]), as the agent:
//! its events carry actor type `agent`, and its decisions are only recommendations.
//!
//! Modules: [`catalogue`] (the tools, their toolsets and input schemas), [`server`] (the MCP
//! handler: tools and prompts), [`sessions`] (MCP sessions kept in PostgreSQL, so any instance
//! serves any session).

pub mod catalogue;
pub mod server;
pub mod sessions;

use std::collections::BTreeSet;
use std::sync::Arc;

use actix_web::body::BoxBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{HttpMessage, web};
use casework_domain::directory::Principal;
use casework_domain::ports::ApiKeyStore;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp_actix_web::transport::StreamableHttpService;

use self::catalogue::Toolset;
use crate::http::auth::presented_key;
use crate::http::error::ApiError;
use crate::http::in_process::InProcess;
use crate::state::AppState;

/// Where sessionless requests are served (see [`route`]).
const STATELESS_PATH: &str = "/mcp/stateless";

/// Who calls, as the `/mcp` authentication found them, and what they enabled.
#[derive(Debug, Clone)]
pub struct McpCaller {
    /// The authenticated key.
    pub principal: Principal,
    /// Its secret, to call the API in-process as itself.
    pub key: String,
    /// The client's `User-Agent`, naming the agent when no `initialize` of a session does.
    pub user_agent: Option<String>,
    /// Served without a session (a plain JSON-RPC forwarder).
    pub sessionless: bool,
    /// `?toolsets=` (default: all but `destructive`; unknown names ignored).
    pub toolsets: BTreeSet<Toolset>,
    /// `?read_only=1`: no tool that writes.
    pub read_only: bool,
}

/// Reads `?toolsets=a,b&read_only=1`.
pub fn selection(query: &str) -> (BTreeSet<Toolset>, bool) {
    let pairs = web::Query::<Vec<(String, String)>>::from_query(query).map(web::Query::into_inner).unwrap_or_default();
    let mut toolsets: Option<BTreeSet<Toolset>> = None;
    let mut read_only = false;
    for (name, value) in pairs {
        match name.as_str() {
            "toolsets" => {
                let chosen = toolsets.get_or_insert_with(BTreeSet::new);
                for part in value.split(',').map(str::trim) {
                    if let Some(set) = Toolset::ALL.into_iter().find(|set| set.as_str() == part) {
                        chosen.insert(set);
                    }
                }
            }
            "read_only" => read_only = matches!(value.trim(), "1" | "true" | "yes"),
            _ => {}
        }
    }
    (toolsets.unwrap_or_else(Toolset::defaults), read_only)
}

/// Authenticates every `/mcp` request before the MCP layer reads it.
async fn authenticate(
    request: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = request.app_data::<web::Data<AppState>>().cloned() else {
        return Ok(request.error_response(ApiError::internal(anyhow::anyhow!("state missing"))));
    };
    let Some(key) = presented_key(request.request()) else {
        return Ok(request.error_response(ApiError::unauthorized()));
    };
    let principal = match state.store.authenticate(&key, state.service.now()).await {
        Ok(principal) => principal,
        Err(error) => return Ok(request.error_response(ApiError::from(error))),
    };
    let (toolsets, read_only) = selection(request.query_string());
    let user_agent = request.headers().get("user-agent").and_then(|v| v.to_str().ok()).map(str::to_owned);
    request.extensions_mut().insert(principal.clone());
    let sessionless = request.path().starts_with(STATELESS_PATH);
    request.extensions_mut().insert(McpCaller { principal, key, user_agent, sessionless, toolsets, read_only });
    next.call(request).await
}

/// Clients that keep no session (a plain JSON-RPC forwarder) are served too: a POST to `/mcp`
/// without `Mcp-Session-Id` that is not an `initialize` goes to a stateless service answering
/// `application/json`; everything else is served with sessions. A request that accepts only
/// one of JSON and event streams is given both (the transport requires them).
pub async fn route(
    mut request: ServiceRequest,
    next: Next<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if request.path().trim_end_matches('/') != "/mcp" || request.method() != actix_web::http::Method::POST {
        return next.call(request).await;
    }
    let accept = request.headers().get("accept").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    if !(accept.contains("application/json") && accept.contains("text/event-stream")) {
        let both = actix_web::http::header::HeaderValue::from_static("application/json, text/event-stream");
        request.headers_mut().insert(actix_web::http::header::ACCEPT, both);
    }
    if request.headers().contains_key("mcp-session-id") {
        return next.call(request).await;
    }
    let limit = request.app_data::<web::Data<AppState>>().map_or(1 << 20, |state| state.config.limits.max_body_bytes);
    let mut body = web::BytesMut::new();
    let mut payload = request.take_payload();
    while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            return Ok(request.error_response(ApiError::payload_too_large(limit)));
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let initialize = serde_json::from_slice::<serde_json::Value>(&body)
        .map(|message| message["method"] == "initialize")
        .unwrap_or(true);
    if !initialize {
        let query = request.query_string().to_owned();
        let uri = if query.is_empty() { STATELESS_PATH.to_owned() } else { format!("{STATELESS_PATH}?{query}") };
        if let Ok(uri) = uri.parse::<actix_web::http::Uri>() {
            request.match_info_mut().get_mut().update(&uri);
            request.head_mut().uri = uri;
        }
    }
    request.set_payload(actix_web::dev::Payload::from(body));
    next.call(request).await
}

/// Registers `/mcp` (with sessions) and its sessionless twin (see [`route`]).
pub fn configure(config: &mut web::ServiceConfig, state: &AppState, api: InProcess) {
    for stateful in [false, true] {
        let (handler_state, api) = (state.clone(), api.clone());
        let service = StreamableHttpService::builder()
            .service_factory(Arc::new(move || Ok(server::Casework::new(handler_state.clone(), api.clone()))))
            .session_manager(Arc::new(LocalSessionManager::default()))
            .session_store(Arc::new(sessions::PgSessions::new(state.store.clone())))
            .stateful_mode(stateful)
            .json_response(!stateful)
            .allowed_hosts(state.config.server.mcp_allowed_hosts.clone())
            .allowed_origins(state.config.server.mcp_allowed_origins.clone())
            .max_request_body_bytes(state.config.limits.max_body_bytes)
            .on_request_fn(|request, extensions| {
                if let Some(caller) = request.extensions().get::<McpCaller>() {
                    extensions.insert(caller.clone());
                }
            })
            .build();
        let path = if stateful { "/mcp" } else { STATELESS_PATH };
        config.service(service.scope_with_path(path).wrap(from_fn(authenticate)));
    }
}
