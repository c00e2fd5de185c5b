//! `/console`: the reviewers' console, server-rendered (askama) and served by the binary with
//! its one stylesheet and one small script (no CDN). People sign in with email and password
//! (API.md §8); their session lives in PostgreSQL, its token in an HttpOnly, SameSite=Strict
//! cookie; every form carries the session's CSRF token.
//!
//! Modules: [`people`] (sign-in, sign-out, invitations and passwords), [`queue`] (the queue
//! page), [`case`] (the case page and its actions).

pub mod case;
pub mod live;
pub mod people;
pub mod queue;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use casework_domain::console::{ConsoleSession, role_scopes};
use casework_domain::directory::{Principal, Scopes, UserRef};
use casework_domain::id::Id;
use casework_domain::tenant::Tenant;

use crate::state::AppState;

/// The session cookie.
pub const COOKIE: &str = "casework_session";

/// The console's stylesheet and script, compiled into the binary.
const STYLESHEET: &str = include_str!("../../assets/console.css");
const SCRIPT: &str = include_str!("../../assets/console.js");

pub use crate::http::html::{new_token, token_hash};

/// Whether cookies are marked `Secure`: everywhere but a development or test server (plain
/// HTTP on this machine).
fn secure(state: &AppState) -> bool {
    !matches!(state.config.environment.as_str(), "development" | "test")
}

/// The session cookie holding `token`.
pub fn session_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build(COOKIE, token)
        .path("/console")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(state))
        .finish()
}

/// The cookie that removes the session cookie.
pub fn cleared_cookie(state: &AppState) -> Cookie<'static> {
    let mut cookie = session_cookie(state, String::new());
    cookie.make_removal();
    cookie
}

/// The request's live console session, if it has one.
pub async fn session(state: &AppState, request: &HttpRequest) -> Option<(ConsoleSession, String)> {
    let token = request.cookie(COOKIE)?.value().to_owned();
    let session = state.store.console_session(&token_hash(&token), state.service.now()).await.ok()??;
    Some((session, token))
}

/// The (org, environment) the session works in.
pub fn tenant(session: &ConsoleSession) -> Tenant {
    Tenant { org_id: session.user.org_id, environment: session.environment }
}

/// The scopes of the person's role.
pub fn scopes(session: &ConsoleSession) -> Scopes {
    role_scopes(session.user.role)
}

/// The person as the service's caller: the reviewer of every request (actor `org_user`), with
/// the scopes of their role, in the session's environment. The console calls the service
/// in-process: no API key, no API rate limit.
pub fn principal(session: &ConsoleSession) -> Principal {
    Principal {
        key_id: Id::from_uuid(session.id),
        key_name: format!("console: {}", session.user.name),
        tenant: tenant(session),
        scopes: scopes(session),
        user: Some(UserRef { id: session.user.id, name: session.user.name.clone() }),
        pinned_version: casework_domain::webhook::API_VERSION.to_owned(),
        agent: None,
    }
}

/// Actions a person may take per minute in the console (its own throttle: the API-key rate
/// limit does not apply in-process).
pub const ACTIONS_PER_MINUTE: u32 = 300;

/// Whether the person has used up this minute's actions.
pub async fn throttled(state: &AppState, session: &ConsoleSession) -> bool {
    let key = Id::from_uuid(session.user.id.uuid());
    let decision = state.limiter.acquire(tenant(session), key, ACTIONS_PER_MINUTE, state.service.now()).await;
    decision.is_ok_and(|decision| !decision.allowed)
}

/// The page answering a throttled action.
pub fn too_many() -> HttpResponse {
    page(StatusCode::TOO_MANY_REQUESTS, "Too many actions this minute: wait a moment.".to_owned())
}

/// Whether a form's CSRF token is the session's (constant-time).
pub fn csrf_ok(session: &ConsoleSession, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    session.csrf_token.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// A redirect (303: the next request is a GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, location.to_owned())).finish()
}

/// The console's policy: nothing but this origin's script, stylesheet and event stream.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                      connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// A console page.
pub fn page(status: StatusCode, html: String) -> HttpResponse {
    crate::http::html::page(status, html, POLICY)
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-cache"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

/// Registers `/console`.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/console", web::get().to(queue::page))
        .route("/console/assets/console.css", web::get().to(|| async { asset("text/css; charset=utf-8", STYLESHEET) }))
        .route(
            "/console/assets/console.js",
            web::get().to(|| async { asset("text/javascript; charset=utf-8", SCRIPT) }),
        )
        .route("/console/live", web::get().to(live::stream))
        .route("/console/counts.json", web::get().to(live::counts))
        .route("/console/sign-in", web::get().to(people::sign_in_page))
        .route("/console/sign-in", web::post().to(people::sign_in))
        .route("/console/sign-out", web::post().to(people::sign_out))
        .route("/console/environment", web::post().to(people::switch_environment))
        .route("/console/next", web::post().to(case::next))
        .route("/console/cases/{id}", web::get().to(case::page))
        .route("/console/cases/{id}/pii", web::post().to(case::correct_pii))
        .route("/console/cases/{id}/{action}", web::post().to(case::act))
        .route("/console/invitation/{token}", web::get().to(people::invitation_page))
        .route("/console/invitation/{token}", web::post().to(people::set_password));
}
