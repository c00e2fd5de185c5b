//! `/console`: the reviewers' console, server-rendered (askama) and served by the binary with
//! its one stylesheet (no CDN, no script yet). People sign in with email and password
//! (API.md §8); their session lives in PostgreSQL, its token in an HttpOnly, SameSite=Strict
//! cookie; every form carries the session's CSRF token.
//!
//! Modules: [`people`] (sign-in, sign-out, invitations and passwords), [`queue`] (the queue
//! page).

pub mod people;
pub mod queue;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use casework_domain::console::ConsoleSession;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// The session cookie.
pub const COOKIE: &str = "casework_session";

/// The console's stylesheet, compiled into the binary.
const STYLESHEET: &str = include_str!("../../assets/console.css");

/// A fresh random token (32 bytes, base64url).
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a token: its SHA-256.
pub fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

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

/// Whether a form's CSRF token is the session's (constant-time).
pub fn csrf_ok(session: &ConsoleSession, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    session.csrf_token.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// A redirect (303: the next request is a GET).
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, location.to_owned())).finish()
}

/// An HTML page with a strict Content-Security-Policy (nothing but this origin's stylesheet),
/// never cached.
pub fn page(status: StatusCode, html: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((
            actix_web::http::header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header((actix_web::http::header::REFERRER_POLICY, "same-origin"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(html)
}

async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((actix_web::http::header::CACHE_CONTROL, "public, max-age=3600"))
        .body(STYLESHEET)
}

/// Registers `/console`.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/console", web::get().to(queue::page))
        .route("/console/assets/console.css", web::get().to(stylesheet))
        .route("/console/sign-in", web::get().to(people::sign_in_page))
        .route("/console/sign-in", web::post().to(people::sign_in))
        .route("/console/sign-out", web::post().to(people::sign_out))
        .route("/console/environment", web::post().to(people::switch_environment))
        .route("/console/invitation/{token}", web::get().to(people::invitation_page))
        .route("/console/invitation/{token}", web::post().to(people::set_password));
}
