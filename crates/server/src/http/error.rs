//! [`ApiError`]: the one error type of the HTTP edge. Each domain error is mapped to it by hand,
//! with a stable `error` code and a helpful `detail`; the body itself is written once, by the
//! [`super::middleware`], which knows the request id.

use std::fmt;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use casework_api::error::{ErrorBody, FieldErrorBody};
use casework_api::wire::Time;
use casework_domain::directory::{AuthError, Scope};
use casework_domain::ports::StoreError;
use casework_domain::validation::{FieldErrors, Violation};

/// Seconds a client should wait after a 503.
const RETRY_AFTER_UNAVAILABLE: u64 = 2;

/// An error answer: status, code, detail, and what goes with them (boxed: errors are rare and
/// results stay small).
pub struct ApiError(Box<Inner>);

struct Inner {
    status: StatusCode,
    code: &'static str,
    detail: String,
    errors: Option<FieldErrors>,
    claim: Option<(uuid::Uuid, casework_domain::Timestamp)>,
    headers: Vec<(&'static str, String)>,
    cause: Option<anyhow::Error>,
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError").field("status", &self.0.status).field("code", &self.0.code).finish_non_exhaustive()
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.0.status.as_u16(), self.0.code, self.0.detail)
    }
}

impl ApiError {
    /// Any status and code.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            status,
            code,
            detail: detail.into(),
            errors: None,
            claim: None,
            headers: Vec::new(),
            cause: None,
        }))
    }

    /// 400 `invalid_request`.
    pub fn invalid_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", detail)
    }

    /// 401 `unauthorized`: one message whatever was wrong with the key.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "A valid API key is required.")
    }

    /// 403 `insufficient_scope`, naming the scope.
    pub fn insufficient_scope(scope: Scope) -> Self {
        Self::new(StatusCode::FORBIDDEN, "insufficient_scope", format!("This API key lacks the `{scope}` scope."))
    }

    /// 404 `not_found`, naming the resource ("Case not found.").
    pub fn not_found(resource: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{resource} not found."))
    }

    /// 405 `method_not_allowed` with `Allow`.
    pub fn method_not_allowed(allow: &str) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed for this path.")
            .with_header("Allow", allow.to_owned())
    }

    /// 413 `payload_too_large`.
    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("The request body exceeds {limit} bytes."),
        )
    }

    /// 415 `unsupported_media_type`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Request bodies must be sent as application/json.",
        )
    }

    /// 422 `validation_failed` with field-level errors.
    pub fn validation(errors: FieldErrors) -> Self {
        let mut error =
            Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", format!("Validation failed: {errors}."));
        error.0.errors = Some(errors);
        error
    }

    /// 422 `validation_failed` for one field.
    pub fn invalid_field(field: &str, violation: Violation, message: &str) -> Self {
        let mut errors = FieldErrors::default();
        errors.push(field, violation, message);
        Self::validation(errors)
    }

    /// 409 with a lifecycle code.
    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 503 `service_unavailable` with `Retry-After`; the cause is logged, never shown.
    pub fn unavailable(cause: anyhow::Error) -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "service_unavailable",
            "The service is temporarily unavailable; retry shortly.",
        )
        .with_header("Retry-After", RETRY_AFTER_UNAVAILABLE.to_string());
        error.0.cause = Some(cause);
        error
    }

    /// 500 `internal_error`; the cause is logged, never shown.
    pub fn internal(cause: anyhow::Error) -> Self {
        let mut error = Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal_error", "An internal error occurred.");
        error.0.cause = Some(cause);
        error
    }

    /// The same error under another status, code and detail (keeping its field errors).
    #[must_use]
    pub fn with_code(mut self, status: StatusCode, code: &'static str, detail: &str) -> Self {
        self.0.status = status;
        self.0.code = code;
        self.0.detail = detail.to_owned();
        self
    }

    /// Adds a response header.
    #[must_use]
    pub fn with_header(mut self, name: &'static str, value: String) -> Self {
        self.0.headers.push((name, value));
        self
    }

    /// Names the lease holder and the lease's end (409 `case_already_claimed`).
    #[must_use]
    pub fn with_claim(mut self, holder: uuid::Uuid, until: casework_domain::Timestamp) -> Self {
        self.0.claim = Some((holder, until));
        self
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.0.code
    }

    /// The logged cause of a 5xx.
    pub fn cause(&self) -> Option<&anyhow::Error> {
        self.0.cause.as_ref()
    }

    /// The JSON body (CONVENTIONS.md, Errors).
    pub fn body(&self, request_id: &str) -> ErrorBody {
        ErrorBody {
            error: self.0.code,
            detail: self.0.detail.clone(),
            status_code: self.0.status.as_u16(),
            request_id: request_id.to_owned(),
            errors: self.0.errors.as_ref().map(FieldErrorBody::all),
            claimed_by: self.0.claim.map(|(holder, _)| holder),
            claim_expires_at: self.0.claim.map(|(_, until)| Time(until)),
        }
    }

    /// The generic error of a status produced outside the handlers (routing, the framework).
    pub fn for_status(status: StatusCode) -> Self {
        match status.as_u16() {
            400 => Self::invalid_request("The request is malformed."),
            404 => Self::not_found("Route"),
            405 => Self::new(status, "method_not_allowed", "Method not allowed for this path."),
            413 => Self::new(status, "payload_too_large", "The request is too large."),
            415 => Self::unsupported_media_type(),
            431 => Self::new(status, "request_header_fields_too_large", "The request headers are too large."),
            503 => Self::new(status, "service_unavailable", "The service is temporarily unavailable; retry shortly."),
            code if code >= 500 => Self::new(status, "internal_error", "An internal error occurred."),
            _ => Self::new(status, "invalid_request", "The request cannot be served."),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.0.status
    }

    /// Status and headers only; the middleware writes the body with the request id.
    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.0.status);
        for (name, value) in &self.0.headers {
            response.insert_header((*name, value.clone()));
        }
        response.finish()
    }
}

impl From<FieldErrors> for ApiError {
    fn from(errors: FieldErrors) -> Self {
        Self::validation(errors)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => Self::unavailable(cause),
            StoreError::Unknown(cause) => Self::internal(cause),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        match error {
            AuthError::Unauthorized => Self::unauthorized(),
            AuthError::Unavailable(cause) => Self::unavailable(cause),
            AuthError::Unknown(cause) => Self::internal(cause),
        }
    }
}
