//! The HTTP edge: routes, extractors and the error envelope. Handlers read a request type of
//! `casework_api::request` (which turns into domain values), call the service and answer with a
//! wire type of `casework_api`; they never touch SQL.
//!
//! Modules: [`routes`] (the route table and one module per resource), [`auth`] (the [`auth::Api`]
//! extractor handlers take), [`action`]
//! (what case actions share: `If-Match`, reviewers, refusals), [`conventions`] (authentication,
//! rate limits, versions, idempotency, scopes), [`inflection`] (`Key-Inflection`), [`body`]
//! (JSON bodies, with U+0000 refused), [`query`] (query parameters), [`error`] ([`ApiError`]),
//! [`middleware`] (request ids, JSON error bodies), [`openapi`] (the document and `/docs`),
//! [`respond`] (success responses), [`html`] (server-rendered pages and their tokens), [`in_process`] (the API called without a socket).

pub mod action;
pub mod auth;
pub mod body;
pub mod conventions;
pub mod error;
pub mod html;
pub mod in_process;
pub mod inflection;
pub mod middleware;
pub mod openapi;
pub mod query;
pub mod respond;
pub mod routes;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

pub use error::ApiError;

use crate::state::AppState;

/// Starts the HTTP server on `listener` (not yet awaited: the caller runs it).
///
/// # Errors
/// When the listener cannot be used.
pub fn serve(state: AppState, listener: TcpListener) -> std::io::Result<Server> {
    let workers = match state.config.server.workers {
        0 => std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        n => n,
    };
    let shutdown = state.config.server.shutdown_timeout;
    let with_metrics = state.config.server.metrics_address.is_empty();
    let in_process = in_process::InProcess::start(state.clone())?;
    let (changes, _) = tokio::sync::broadcast::channel(1024);
    crate::console::live::spawn_listener(&state, changes.clone());
    let changes = web::Data::new(changes);
    let data = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .app_data(changes.clone())
            .wrap(from_fn(crate::mcp::route))
            .wrap(from_fn(middleware::envelope))
            .configure(|config| routes::configure(config, with_metrics))
            .configure(|config| crate::mcp::configure(config, &data, in_process.clone()))
            .default_service(web::to(routes::unknown_route))
    })
    .workers(workers)
    // SIGTERM is handled by `casework serve`: readiness drains before the listener closes.
    .disable_signals()
    .shutdown_timeout(shutdown)
    .client_request_timeout(Duration::from_secs(30))
    .listen(listener)?
    .run();
    Ok(server)
}

/// The server of `/metrics` alone, for `server.metrics_address`.
///
/// # Errors
/// When the listener cannot be used.
pub fn serve_metrics(state: AppState, listener: TcpListener) -> std::io::Result<Server> {
    let data = web::Data::new(state);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(data.clone())
            .wrap(from_fn(middleware::envelope))
            .configure(routes::configure_metrics)
            .default_service(web::to(routes::unknown_route))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run())
}
