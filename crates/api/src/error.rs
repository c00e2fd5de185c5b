//! The error body of every refusal (CONVENTIONS.md, Errors), with its field-level errors.

use casework_domain::validation::{FieldErrors, Violation};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use uuid::Uuid;

use crate::wire::Time;

/// Every error code the API answers with (CONVENTIONS.md, Errors; API.md §2, §3, §6).
pub const CODES: &[&str] = &[
    "invalid_request",
    "unauthorized",
    "insufficient_scope",
    "not_found",
    "method_not_allowed",
    "payload_too_large",
    "unsupported_media_type",
    "request_header_fields_too_large",
    "validation_failed",
    "invalid_reviewer",
    "reviewer_mismatch",
    "not_claim_holder",
    "not_escalation_target",
    "precondition_failed",
    "case_already_decided",
    "case_already_claimed",
    "case_not_claimed",
    "case_already_escalated",
    "invalid_transition",
    "second_reviewer_required",
    "same_reviewer",
    "session_not_reviewable",
    "sensitive_data_expired",
    "queue_empty",
    "sandbox_only",
    "demo_limit_reached",
    "email_taken",
    "rate_limited",
    "unsupported_version",
    "invalid_key_inflection",
    "idempotency_mismatch",
    "idempotency_in_progress",
    "internal_error",
    "service_unavailable",
];

/// Every `errors[].code`.
pub const FIELD_CODES: &[&str] = &[
    "required",
    "unknown_field",
    "invalid_type",
    "invalid_value",
    "too_short",
    "too_long",
    "too_many",
    "out_of_range",
];

fn one_of(values: &'static [&'static str]) -> Schema {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(values.iter().copied())).into()
}

fn error_code() -> Schema {
    one_of(CODES)
}

fn field_code() -> Schema {
    one_of(FIELD_CODES)
}

/// `{error, detail, status_code, request_id}`, and `errors` on a 422.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    /// A stable machine code.
    #[schema(schema_with = error_code)]
    pub error: &'static str,
    /// A sentence for people.
    pub detail: String,
    /// The HTTP status.
    pub status_code: u16,
    /// The response's `X-Request-Id`.
    pub request_id: String,
    /// What is wrong, field by field (422 `validation_failed`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldErrorBody>>,
    /// On 409 `case_already_claimed`: the lease holder's UUID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<Uuid>,
    /// On 409 `case_already_claimed`: when the lease ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_expires_at: Option<Time>,
}

/// One field-level error.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldErrorBody {
    /// A JSON path (`filter.and[1].value`) or a query parameter's name.
    pub field: String,
    /// What is wrong.
    #[schema(schema_with = field_code)]
    pub code: &'static str,
    /// A sentence for people.
    pub message: String,
}

impl FieldErrorBody {
    /// The body entries of `errors`.
    pub fn all(errors: &FieldErrors) -> Vec<Self> {
        errors
            .iter()
            .map(|e| Self { field: e.field.clone(), code: Violation::code(e.violation), message: e.message.clone() })
            .collect()
    }
}
