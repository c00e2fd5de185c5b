//! Sandbox sessions (API.md §1): `simulate`, `result`, `generate-one-time-link`, and the capture
//! page a link opens (`/sandbox/capture/{token}`, no API key: the token is the credential).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use casework_api::request::session::{OneTimeLinkRequest, SimulateRequest};
use casework_api::session::{OneTimeLink, SessionResult};
use casework_api::wire::format_time;
use casework_domain::case::Actor;
use casework_domain::id::SessionId;
use casework_domain::ports::Pii;
use casework_domain::service::sandbox::SandboxError;
use casework_domain::session::{SessionStatus, SimulateAction};

use crate::http::auth::Api;
use crate::http::error::ApiError;
use crate::http::html::{self, new_token, token_hash};
use crate::http::respond;
use crate::http::routes::sessions::{pii_access, render};
use crate::state::AppState;

impl From<SandboxError> for ApiError {
    fn from(error: SandboxError) -> Self {
        match error {
            SandboxError::SandboxOnly => Self::new(
                StatusCode::FORBIDDEN,
                "sandbox_only",
                "Sandbox only: live sessions arrive through POST /sessions from your verification engine.",
            ),
            SandboxError::NotFound => Self::not_found("Session"),
            SandboxError::InvalidTransition(status) => Self::conflict(
                "invalid_transition",
                format!(
                    "A {status} session cannot be simulated: only pending, capturing, processing or awaiting_external ones."
                ),
            ),
            SandboxError::Store(store) => store.into(),
        }
    }
}

fn session_id(path: &str) -> Result<SessionId, ApiError> {
    SessionId::parse(path).map_err(|_| ApiError::not_found("Session"))
}

/// `POST /sessions/{id}/simulate`: 200 with the session.
///
/// # Errors
/// 403 `sandbox_only`, 422 for `action`, 404, 409 `invalid_transition`.
pub async fn simulate(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let action = api.input::<SimulateRequest>(payload).await?;
    let id = session_id(&path)?;
    let settings = api.state.service.settings(api.tenant()).await?;
    let session = api.state.service.simulate(api.tenant(), api.actor(), id, action, None, api.pii()).await?;
    Ok(respond::json(StatusCode::OK, &render(&api, &settings, &session)))
}

/// `GET /sessions/{id}/result`: 404 ("Result not found.") while the session has none.
///
/// # Errors
/// 404.
pub async fn result(api: Api, path: web::Path<String>) -> Result<HttpResponse, ApiError> {
    let id = session_id(&path)?;
    let session =
        api.state.service.session(api.tenant(), id, api.pii()).await?.ok_or_else(|| ApiError::not_found("Session"))?;
    let settings = api.state.service.settings(api.tenant()).await?;
    let result =
        SessionResult::new(&session, pii_access(&api, &settings)).ok_or_else(|| ApiError::not_found("Result"))?;
    Ok(respond::json(StatusCode::OK, &result))
}

/// The absolute base URL links are made from: `server.public_url`, else the request's own.
fn base_url(state: &AppState, request: &HttpRequest) -> String {
    let configured = state.config.server.public_url.trim_end_matches('/');
    if !configured.is_empty() {
        return configured.to_owned();
    }
    let info = request.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// `POST /sessions/{id}/generate-one-time-link`: 201 `{capture_url, qr_code_data_url, expires_at}`.
///
/// # Errors
/// 403 `sandbox_only`, 422 for `expires_in_minutes`, 404.
pub async fn one_time_link(api: Api, path: web::Path<String>, payload: web::Payload) -> Result<HttpResponse, ApiError> {
    let minutes = api.input::<OneTimeLinkRequest>(payload).await?;
    let id = session_id(&path)?;
    let token = new_token();
    let link = api.state.service.capture_link(api.tenant(), id, token_hash(&token), minutes).await?;
    let capture_url = format!("{}/sandbox/capture/{token}", base_url(&api.state, api.request()));
    let qr_code_data_url = format!("data:image/png;base64,{}", STANDARD.encode(qr_png(&capture_url)));
    let body = OneTimeLink { capture_url, qr_code_data_url, expires_at: link.expires_at.into() };
    Ok(respond::json(StatusCode::CREATED, &body))
}

/// A QR code of `text` as a PNG: 6 pixels a module, with the 4-module quiet zone.
fn qr_png(text: &str) -> Vec<u8> {
    const SCALE: usize = 6;
    const QUIET: usize = 4;
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else { return Vec::new() };
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (index, color) in colors.iter().enumerate() {
        if *color != qrcode::Color::Dark {
            continue;
        }
        let (x, y) = ((index % modules + QUIET) * SCALE, (index / modules + QUIET) * SCALE);
        for row in y..y + SCALE {
            pixels[row * side + x..row * side + x + SCALE].fill(0);
        }
    }
    let mut png = Vec::new();
    let side = u32::try_from(side).unwrap_or(0);
    let mut encoder = png::Encoder::new(&mut png, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::Eight);
    let written = encoder.write_header().and_then(|mut writer| writer.write_image_data(&pixels));
    if written.is_err() {
        return Vec::new();
    }
    png
}

/// What the capture page shows of a session.
struct CaptureSession {
    id: String,
    external_ref: String,
    status: &'static str,
    expires_at: String,
    action_path: String,
}

/// The sandbox capture page.
#[derive(Template)]
#[template(path = "capture.html")]
struct CapturePage {
    outcome: Option<String>,
    session: Option<CaptureSession>,
}

/// The capture page's policy: no script at all, its own inline styles.
const POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn page(status: StatusCode, page: &CapturePage) -> HttpResponse {
    html::page(status, page.render().unwrap_or_default(), POLICY)
}

fn spent() -> HttpResponse {
    page(
        StatusCode::NOT_FOUND,
        &CapturePage { outcome: Some("This link has been used or has expired.".to_owned()), session: None },
    )
}

/// `GET /sandbox/capture/{token}`: the session and the four outcomes.
pub async fn capture_page(state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let token = path.into_inner();
    match state.service.open_capture_link(&token_hash(&token)).await {
        Ok(Some((link, session))) => page(
            StatusCode::OK,
            &CapturePage {
                outcome: None,
                session: Some(CaptureSession {
                    id: session.id.public(),
                    external_ref: session.external_ref.clone().unwrap_or_else(|| "—".to_owned()),
                    status: session.status.as_str(),
                    expires_at: format_time(link.expires_at),
                    action_path: format!("/sandbox/capture/{token}"),
                }),
            },
        ),
        Ok(None) => spent(),
        Err(_) => page(
            StatusCode::SERVICE_UNAVAILABLE,
            &CapturePage { outcome: Some("The service is unavailable; try again shortly.".to_owned()), session: None },
        ),
    }
}

/// The capture page's form.
#[derive(Debug, serde::Deserialize)]
pub struct CaptureForm {
    action: String,
}

/// `POST /sandbox/capture/{token}`: applies the chosen outcome, consuming the link.
pub async fn capture_submit(
    state: web::Data<AppState>,
    path: web::Path<String>,
    form: web::Form<CaptureForm>,
) -> HttpResponse {
    let token = path.into_inner();
    let hash = token_hash(&token);
    let Ok(action) = form.action.parse::<SimulateAction>() else {
        return page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &CapturePage { outcome: Some("Choose one of the four outcomes.".to_owned()), session: None },
        );
    };
    let Ok(Some((link, _))) = state.service.open_capture_link(&hash).await else { return spent() };
    let applied =
        state.service.simulate(link.tenant, Actor::System, link.session_id, action, Some(&hash), Pii::Omit).await;
    let message = match applied {
        Ok(session) => match session.status {
            SessionStatus::UnderReview => "Done: the session is under review; its case is in the queue.".to_owned(),
            status => format!("Done: the session is {}.", status.as_str()),
        },
        Err(SandboxError::NotFound) => return spent(),
        Err(SandboxError::InvalidTransition(status)) => {
            let body = CapturePage {
                outcome: Some(format!("This session is {status} and cannot take an outcome any more.")),
                session: None,
            };
            return page(StatusCode::CONFLICT, &body);
        }
        Err(_) => {
            let body = CapturePage {
                outcome: Some("The service is unavailable; try again shortly.".to_owned()),
                session: None,
            };
            return page(StatusCode::SERVICE_UNAVAILABLE, &body);
        }
    };
    page(StatusCode::OK, &CapturePage { outcome: Some(message), session: None })
}
