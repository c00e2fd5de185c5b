//! `Key-Inflection: snake | camel | kebab` on a request: how the keys of its JSON response are
//! spelled ([`casework_api::inflection`] does the spelling).

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
pub use casework_domain::webhook::KeyInflection as Inflection;

use super::error::ApiError;

/// The request's `Key-Inflection`.
///
/// # Errors
/// 400 `invalid_key_inflection` for any other value.
pub fn of(request: &HttpRequest) -> Result<Inflection, ApiError> {
    let Some(value) = request.headers().get("key-inflection") else { return Ok(Inflection::Snake) };
    value.to_str().ok().and_then(|v| v.trim().to_ascii_lowercase().parse().ok()).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_key_inflection",
            "Key-Inflection must be snake, camel or kebab.",
        )
    })
}
