//! People in the console (API.md §8): invitations (a one-time link to set a password),
//! sign-in with throttling and lockouts, sign-out, and the environment switch.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use casework_adapters::passwords;
use casework_adapters::postgres::console::NewConsoleSession;
use casework_domain::Timestamp;
use casework_domain::console::{
    INVITATION_LIFETIME, LOCKOUT_FAILURES, LOCKOUT_WINDOW, SESSION_ABSOLUTE, SignInOutcome, check_password,
};
use casework_domain::id::{OrgId, OrgUserId};
use casework_domain::ports::StoreError;
use casework_domain::tenant::Environment;
use serde::Deserialize;

use super::{cleared_cookie, csrf_ok, new_token, page, see_other, session, session_cookie, token_hash};
use crate::http::middleware::client_address;
use crate::state::AppState;

/// Makes an invitation for a user of `org`: its absolute URL (from `server.public_url`, else
/// `base`) and when it expires; `None` when the user does not exist there. The user's previous
/// invitation, password and console sessions end.
///
/// # Errors
/// [`StoreError`].
pub async fn invite(
    state: &AppState,
    org: OrgId,
    user: OrgUserId,
    base: &str,
) -> Result<Option<(String, Timestamp)>, StoreError> {
    let token = new_token();
    let now = state.service.now();
    let expires_at = now + INVITATION_LIFETIME;
    if !state.store.invite(org, user, &token_hash(&token), expires_at, now).await? {
        return Ok(None);
    }
    let configured = state.config.server.public_url.trim_end_matches('/');
    let base = if configured.is_empty() { base.trim_end_matches('/') } else { configured };
    Ok(Some((format!("{base}/console/invitation/{token}"), expires_at)))
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage<'a> {
    message: Option<&'a str>,
    email: &'a str,
}

#[derive(Template)]
#[template(path = "console/set_password.html")]
struct SetPasswordPage<'a> {
    name: Option<&'a str>,
    message: Option<String>,
    action: String,
}

fn render(template: &impl Template) -> String {
    template.render().unwrap_or_default()
}

/// `GET /console/sign-in`.
pub async fn sign_in_page(state: web::Data<AppState>, request: HttpRequest) -> HttpResponse {
    if session(&state, &request).await.is_some() {
        return see_other("/console");
    }
    page(StatusCode::OK, render(&SignInPage { message: None, email: "" }))
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    email: String,
    password: String,
}

/// `POST /console/sign-in`: 5 failures within 15 minutes lock the account (and, separately,
/// the client address) for 15 minutes; every attempt is recorded.
pub async fn sign_in(state: web::Data<AppState>, request: HttpRequest, form: web::Form<SignInForm>) -> HttpResponse {
    let form = form.into_inner();
    let email = form.email.trim().to_owned();
    let client = request
        .peer_addr()
        .and_then(|peer| client_address(peer.ip(), request.headers(), &state.config.server.trusted_proxies))
        .map_or_else(|| "-".to_owned(), |address| address.to_string());
    let now = state.service.now();
    let refused =
        |status: StatusCode, message: &str| page(status, render(&SignInPage { message: Some(message), email: &email }));
    let unavailable = || refused(StatusCode::SERVICE_UNAVAILABLE, "The service is unavailable; try again shortly.");
    let Ok((by_account, by_client)) = state.store.recent_failures(&email, &client, now - LOCKOUT_WINDOW).await else {
        return unavailable();
    };
    let Ok(candidates) = state.store.sign_in_candidates(&email).await else { return unavailable() };
    let named = candidates.first().map(|candidate| candidate.user.clone());
    if by_account >= LOCKOUT_FAILURES || by_client >= LOCKOUT_FAILURES {
        let _ = state.store.record_sign_in(named.as_ref(), &email, &client, SignInOutcome::Locked, now).await;
        return refused(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed sign-ins: this account is locked for 15 minutes.",
        );
    }
    let password = form.password;
    // Hashing is slow on purpose: off the async workers.
    let verified = tokio::task::spawn_blocking(move || {
        let found = candidates.into_iter().find(|candidate| {
            candidate.user.active
                && candidate.password_hash.as_deref().is_some_and(|hash| passwords::verify(&password, hash))
        });
        if found.is_none() {
            // As long with or without a matching email.
            passwords::verify(&password, passwords::decoy());
        }
        found
    })
    .await
    .ok()
    .flatten();
    let Some(candidate) = verified else {
        let _ = state.store.record_sign_in(named.as_ref(), &email, &client, SignInOutcome::Failed, now).await;
        return refused(StatusCode::UNAUTHORIZED, "Wrong email or password.");
    };
    let token = new_token();
    let csrf = new_token();
    let created = NewConsoleSession {
        id: uuid::Uuid::new_v4(),
        token_hash: &token_hash(&token),
        user: &candidate.user,
        environment: Environment::Sandbox,
        csrf_token: &csrf,
        now,
        expires_at: now + SESSION_ABSOLUTE,
    };
    if state.store.create_console_session(&created).await.is_err() {
        return unavailable();
    }
    let _ = state.store.record_sign_in(Some(&candidate.user), &email, &client, SignInOutcome::Succeeded, now).await;
    let mut response = see_other("/console");
    let _ = response.add_cookie(&session_cookie(&state, token));
    response
}

/// A form that carries only its CSRF token.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /console/sign-out`: the session ends everywhere it is used.
pub async fn sign_out(state: web::Data<AppState>, request: HttpRequest, form: web::Form<CsrfForm>) -> HttpResponse {
    let Some((current, token)) = session(&state, &request).await else { return see_other("/console/sign-in") };
    if !csrf_ok(&current, &form.csrf) {
        return page(StatusCode::FORBIDDEN, "Refused: the form was not this session's.".to_owned());
    }
    let _ = state.store.end_console_session(&token_hash(&token), state.service.now()).await;
    let mut response = see_other("/console/sign-in");
    let _ = response.add_cookie(&cleared_cookie(&state));
    response
}

/// The environment switch.
#[derive(Debug, Deserialize)]
pub struct EnvironmentForm {
    csrf: String,
    environment: String,
}

/// `POST /console/environment`: work in the other environment.
pub async fn switch_environment(
    state: web::Data<AppState>,
    request: HttpRequest,
    form: web::Form<EnvironmentForm>,
) -> HttpResponse {
    let Some((current, token)) = session(&state, &request).await else { return see_other("/console/sign-in") };
    if !csrf_ok(&current, &form.csrf) {
        return page(StatusCode::FORBIDDEN, "Refused: the form was not this session's.".to_owned());
    }
    let Ok(environment) = form.environment.parse::<Environment>() else {
        return page(StatusCode::UNPROCESSABLE_ENTITY, "Choose sandbox or live.".to_owned());
    };
    let _ = state.store.switch_console_environment(&token_hash(&token), environment).await;
    see_other("/console")
}

/// `GET /console/invitation/{token}`: the set-password form.
pub async fn invitation_page(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let token = path.into_inner();
    let action = format!("/console/invitation/{token}");
    match state.store.invited(&token_hash(&token), state.service.now()).await {
        Ok(Some(user)) => {
            page(StatusCode::OK, render(&SetPasswordPage { name: Some(&user.name), message: None, action }))
        }
        _ => page(StatusCode::NOT_FOUND, render(&SetPasswordPage { name: None, message: None, action })),
    }
}

/// The set-password form.
#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    password: String,
    confirmation: String,
}

/// `POST /console/invitation/{token}`: sets the password (argon2id) and spends the invitation.
pub async fn set_password(
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<PasswordForm>,
) -> HttpResponse {
    let token = path.into_inner();
    let hash = token_hash(&token);
    let action = format!("/console/invitation/{token}");
    let now = state.service.now();
    let Ok(Some(user)) = state.store.invited(&hash, now).await else {
        return page(StatusCode::NOT_FOUND, render(&SetPasswordPage { name: None, message: None, action }));
    };
    let again = |message: String| {
        page(
            StatusCode::UNPROCESSABLE_ENTITY,
            render(&SetPasswordPage { name: Some(&user.name), message: Some(message), action: action.clone() }),
        )
    };
    let form = form.into_inner();
    if form.password != form.confirmation {
        return again("The two passwords differ.".to_owned());
    }
    if let Err(why) = check_password(&form.password) {
        return again(format!("The password {why}."));
    }
    let password = form.password;
    let Ok(Ok(stored)) = tokio::task::spawn_blocking(move || passwords::hash(&password)).await else {
        return again("The password could not be stored; try again.".to_owned());
    };
    match state.store.accept_invitation(&hash, &stored, now).await {
        Ok(true) => see_other("/console/sign-in"),
        _ => page(StatusCode::NOT_FOUND, render(&SetPasswordPage { name: None, message: None, action })),
    }
}
