//! Request bodies: read only after authentication and scope checks (so a 401 or 403 comes
//! before a 413), bounded by `limits.max_body_bytes`, JSON objects only.

use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web;
use casework_domain::validation::{FieldErrors, Violation};
use futures_util::StreamExt;
use serde_json::{Map, Value};

use super::error::ApiError;

/// Body fields that name another resource: a malformed one (a U+0000 included) has its own
/// answer in the contract (404 for `session_id`, 422 `invalid_reviewer` for a reviewer), given
/// where the field is read.
const ID_FIELDS: [&str; 5] = ["session_id", "reviewer_id", "assignee_id", "escalated_to", "org_user_id"];

/// U+0000 is the one character PostgreSQL cannot store in text: any string or key holding it,
/// at any depth, is 422 `invalid_value` at its JSON path, before anything is looked up.
///
/// # Errors
/// 422 `validation_failed` naming every such place.
fn refuse_nul(object: &Map<String, Value>) -> Result<(), ApiError> {
    let mut errors = FieldErrors::default();
    for (key, value) in object {
        if key.contains('\0') {
            errors.push(key.replace('\0', "\\u0000"), Violation::InvalidValue, NUL_MESSAGE);
        } else if !ID_FIELDS.contains(&key.as_str()) {
            find_nul(value, key, &mut errors);
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(ApiError::validation(errors)) }
}

const NUL_MESSAGE: &str = "must not contain the character U+0000";

/// Records `path` when a string in `value` holds U+0000, or an object's key does (the object's
/// own path, since the key cannot be a field name).
fn find_nul(value: &Value, path: &str, errors: &mut FieldErrors) {
    match value {
        Value::String(text) if text.contains('\0') => errors.push(path, Violation::InvalidValue, NUL_MESSAGE),
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                find_nul(item, &format!("{path}[{index}]"), errors);
            }
        }
        Value::Object(object) => {
            for (key, item) in object {
                if key.contains('\0') {
                    errors.push(path, Violation::InvalidValue, format!("has a key that {NUL_MESSAGE}"));
                } else {
                    find_nul(item, &format!("{path}.{key}"), errors);
                }
            }
        }
        _ => {}
    }
}

fn is_json(request: &HttpRequest) -> bool {
    let Some(content_type) = request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Reads the body as a JSON object; an absent or empty body reads as `{}`.
///
/// # Errors
/// 413 over `limit` bytes, 415 for a non-empty body that is not `application/json`, 400 for a
/// body that is not JSON or not an object.
pub async fn json_object(
    request: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
) -> Result<Map<String, Value>, ApiError> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(ApiError::payload_too_large(limit));
    }
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| ApiError::invalid_request("The request body could not be read."))?;
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::payload_too_large(limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if !is_json(request) {
        return Err(ApiError::unsupported_media_type());
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(Value::Object(object)) => {
            refuse_nul(&object)?;
            Ok(object)
        }
        Ok(_) => Err(ApiError::invalid_request("The request body must be a JSON object.")),
        Err(_) => Err(ApiError::invalid_request("The request body is not valid JSON.")),
    }
}
