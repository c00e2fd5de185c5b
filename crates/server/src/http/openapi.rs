//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, generated from the route table
//! ([`super::routes::endpoints`]: paths, methods, scopes, parameters, bodies) with the schemas of
//! the contract's objects, and the interactive viewer at `/docs` (Swagger UI, served from the
//! binary: no CDN).

use actix_web::HttpResponse;
use actix_web::http::Method;
use actix_web::http::header;
use casework_api::list::List;
use casework_domain::case::{Priority, RejectionReasonCode};
use serde_json::{Map, Value, json};
use utoipa::ToSchema;
use utoipa::openapi::{OpenApi, RefOr, Schema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::routes::{Endpoint, endpoints};

/// Every error code the API answers with (CONVENTIONS.md, Errors; API.md §2, §3, §6).
pub const ERROR_CODES: &[&str] = &[
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

/// Named schemas, as utoipa collects them.
type Components = Vec<(String, RefOr<Schema>)>;

/// A response body the route table names: its wire type's schemas, under a component name.
#[derive(Clone, Copy)]
pub struct Wire {
    /// The component name (`CaseList`).
    pub name: &'static str,
    collect: fn(&'static str, &mut Components),
}

impl std::fmt::Debug for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl std::fmt::Display for Wire {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Wire type `T`, published as component `name`.
pub const fn wire<T: ToSchema>(name: &'static str) -> Wire {
    Wire { name, collect: collect::<T> }
}

/// The list envelope of wire type `T`, published as component `name` (with `T` under its own).
pub const fn list<T: ToSchema>(name: &'static str) -> Wire {
    Wire { name, collect: collect_list::<T> }
}

fn collect<T: ToSchema>(name: &'static str, out: &mut Components) {
    out.push((name.to_owned(), T::schema()));
    T::schemas(out);
}

fn collect_list<T: ToSchema>(name: &'static str, out: &mut Components) {
    collect::<List<T>>(name, out);
    out.push((T::name().into_owned(), T::schema()));
    T::schemas(out);
}

/// The components of every response body the route table names, and of what they refer to,
/// generated from the wire types.
fn response_schemas() -> Map<String, Value> {
    let mut collected = Vec::new();
    for endpoint in endpoints() {
        (endpoint.response.collect)(endpoint.response.name, &mut collected);
    }
    collected.into_iter().map(|(name, schema)| (name, serde_json::to_value(schema).unwrap_or_default())).collect()
}

fn string() -> Value {
    json!({"type": "string"})
}

fn time() -> Value {
    json!({"type": "string", "format": "date-time"})
}

fn object(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required})
}

/// A request body: only these fields (unknown ones are 422). An optional field sent as null
/// reads as absent, so the schema says optional fields may be null.
fn body(mut properties: Value, required: &[&str]) -> Value {
    if let Value::Object(fields) = &mut properties {
        for (name, schema) in fields.iter_mut() {
            if !required.contains(&name.as_str()) {
                *schema = or_null(schema.take());
            }
        }
    }
    strict_body(properties, required)
}

/// A request body whose fields may not be null (PATCH: null is refused, not "absent").
fn strict_body(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

fn or_null(mut schema: Value) -> Value {
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.push(Value::Null);
    }
    match schema.get("type").cloned() {
        Some(Value::String(kind)) => schema["type"] = json!([kind, "null"]),
        Some(Value::Array(_)) => {}
        _ => return json!({"oneOf": [{"type": "null"}, schema]}),
    }
    schema
}

fn reference(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn enumeration(values: &[&str]) -> Value {
    json!({"type": "string", "enum": values})
}

fn schemas() -> Map<String, Value> {
    let data_map = json!({"type": "object", "additionalProperties": true});
    let priority = enumeration(Priority::NAMES);
    let reviewer = json!({"reviewer_id": id_string()});
    let error = object(
        json!({
            "error": enumeration(ERROR_CODES), "detail": string(), "status_code": {"type": "integer"}, "request_id": string(),
            "errors": {"type": "array", "items": object(json!({"field": string(), "code": enumeration(&["required", "unknown_field",
                "invalid_type", "invalid_value", "too_short", "too_long", "too_many", "out_of_range"]), "message": string()}), &["field", "code", "message"])},
            "claimed_by": string(), "claim_expires_at": time(),
        }),
        &["error", "detail", "status_code", "request_id"],
    );
    let rejection_codes_request = enumeration(RejectionReasonCode::NAMES);
    let settings = json!({
        "dual_review": {"type": "boolean"}, "claim_ttl_seconds": {"type": "integer", "minimum": 60, "maximum": 86400},
        "demo_case_limit": {"type": "integer", "minimum": 0, "maximum": 100}, "api_pii_fields": {"type": ["array", "null"], "items": string()},
        "sensitive_data_retention_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 3650},
        "rate_limit_per_minute": {"type": "integer", "minimum": 1, "maximum": 100000},
    });
    let mut settings_patch = settings.clone();
    settings_patch["api_pii_fields"] = json!({"type": ["array", "null"], "items": enumeration(&["first_name", "last_name", "date_of_birth",
        "address", "document_number", "nationality", "gender", "ssn", "document_type", "document_expiration_date", "document_issuing_state"])});
    let entries = [
        ("Error", error),
        ("Empty", body(json!({}), &[])),
        (
            "NewSession",
            body(
                json!({"external_ref": bounded(0, 255), "metadata": data_map,
                    "status": enumeration(&["pending", "capturing", "processing", "completed", "expired", "failed", "awaiting_external", "under_review"]),
                    "checks": {"type": "array", "maxItems": 50, "items": {"type": "object"}}, "extracted_data": {"type": "object"}}),
                &[],
            ),
        ),
        ("NewCase", body(json!({"session_id": {"type": "string", "maxLength": 64}}), &["session_id"])),
        (
            "CasePatch",
            strict_body(
                json!({"metadata": data_map, "custom_fields": data_map, "priority": priority,
                    "tags": {"type": "array", "maxItems": 20, "items": tag()}}),
                &[],
            ),
        ),
        ("ReviewerRequest", body(reviewer.clone(), &[])),
        ("NextRequest", body(json!({"reviewer_id": id_string(), "priority": priority, "tag": tag()}), &[])),
        ("AssignRequest", body(json!({"assignee_id": id_string(), "reason": bounded(1, 2000)}), &["assignee_id"])),
        (
            "EscalateRequest",
            body(json!({"escalated_to": id_string(), "reason": bounded(0, 2000), "notes": bounded(0, 10000)}), &[]),
        ),
        (
            "ApproveRequest",
            body(
                json!({"reviewer_id": id_string(), "notes": bounded(0, 10000), "rejection_reason": bounded(0, 2000)}),
                &[],
            ),
        ),
        (
            "RejectRequest",
            body(
                json!({"reviewer_id": id_string(), "rejection_reason": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": "\\S"},
                    "rejection_reason_code": rejection_codes_request, "add_to_blocklist": {"type": "boolean"}, "notes": bounded(0, 10000)}),
                &["rejection_reason"],
            ),
        ),
        (
            "NoteRequest",
            body(
                json!({"content": {"type": "string", "minLength": 1, "maxLength": 10000, "pattern": "\\S"}}),
                &["content"],
            ),
        ),
        ("PiiRequest", body(json!({"extracted_data": {"type": "object", "minProperties": 1}}), &["extracted_data"])),
        (
            "OverrideRequest",
            body(json!({"passed": {"type": "boolean"}, "reason": bounded(0, 2000), "reviewer_id": id_string()}), &[]),
        ),
        ("Filter", filter_schema()),
        (
            "SearchRequest",
            body(
                json!({"filter": reference("Filter"), "q": bounded(3, 255),
                    "sort": {"type": "array", "items": body(json!({
                        "field": enumeration(&["created_at", "entered_review_at", "decided_at", "updated_at", "priority"]),
                        "direction": enumeration(&["asc", "desc"])}), &["field"])},
                    "limit": {"type": "integer", "minimum": 1}, "offset": {"type": "integer", "minimum": 0}}),
                &[],
            ),
        ),
        ("SettingsPatch", strict_body(settings_patch, &[])),
        (
            "NewOrgUser",
            body(
                json!({"name": bounded(1, 255), "email": {"type": "string", "format": "email", "minLength": 3, "maxLength": 320},
                    "role": enumeration(&["reviewer", "senior_reviewer", "admin"])}),
                &["name", "email"],
            ),
        ),
        (
            "OrgUserPatch",
            body(
                json!({"name": bounded(1, 255), "role": enumeration(&["reviewer", "senior_reviewer", "admin"]), "active": {"type": "boolean"}}),
                &[],
            ),
        ),
        (
            "NewApiKey",
            body(
                json!({"name": bounded(1, 255), "scopes": {"type": "array", "items": enumeration(SCOPES)}, "org_user_id": id_string(),
                    "expires_at": time()}),
                &["name", "scopes"],
            ),
        ),
    ];
    let mut schemas: Map<String, Value> = entries.into_iter().map(|(name, schema)| (name.to_owned(), schema)).collect();
    schemas.extend(response_schemas());
    schemas
}

const SCOPES: &[&str] = &[
    "sessions:read",
    "sessions:write",
    "sessions:create",
    "verifications:read",
    "cases:read",
    "cases:write",
    "cases:decide",
    "cases:admin",
    "org_users:read",
    "org_users:write",
    "webhooks:read",
    "webhooks:write",
    "api_keys:write",
    "org:read",
    "org:write",
];

/// A public id or a UUID.
fn id_string() -> Value {
    json!({"type": "string", "pattern": "^([a-z]+_[0-9A-Za-z]{24}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"})
}

fn tag() -> Value {
    json!({"type": "string", "pattern": "^[a-z0-9_:-]{1,64}$"})
}

fn bounded(min: usize, max: usize) -> Value {
    json!({"type": "string", "minLength": min, "maxLength": max})
}

/// The search filter language (API.md §4), recursive.
fn filter_schema() -> Value {
    let children = json!({"type": "array", "minItems": 1, "items": reference("Filter")});
    json!({"oneOf": [
        strict_body(json!({"and": children}), &["and"]),
        strict_body(json!({"or": children}), &["or"]),
        strict_body(json!({"not": reference("Filter")}), &["not"]),
        strict_body(json!({
            "field": {"type": "string", "pattern": "^(status|decision|priority|assigned_to|escalated_to|tags|session_id|external_ref|is_demo|created_at|entered_review_at|decided_at|sla\\.status|(metadata|custom_fields)\\..+)$"},
            "op": enumeration(&["eq", "neq", "in", "nin", "gt", "gte", "lt", "lte", "contains", "exists"]),
            "value": {"type": ["string", "number", "integer", "boolean", "array", "object", "null"], "description": "A JSON value of the field's type (an array for in and nin, a boolean for exists)."},
        }), &["field", "op"]),
    ]})
}

fn parameter(name: &str, location: &str) -> Value {
    let schema = match name {
        "limit" => json!({"type": "integer", "minimum": 1}),
        "offset" => json!({"type": "integer", "minimum": 0}),
        "created_after" | "created_before" => time(),
        _ => string(),
    };
    json!({"name": name, "in": location, "required": location == "path", "schema": schema})
}

fn error_response() -> Value {
    json!({"description": "An error (CONVENTIONS.md, Errors).", "content": {"application/json": {"schema": reference("Error")}}})
}

fn operation(endpoint: &Endpoint) -> Value {
    let mut parameters: Vec<Value> = endpoint
        .path
        .split('/')
        .filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| parameter(name, "path"))
        .collect();
    parameters.extend(endpoint.query.iter().map(|name| parameter(name, "query")));
    let scopes: Vec<&str> = endpoint.scopes.iter().map(|s| s.as_str()).collect();
    let mut responses = Map::new();
    responses.insert(
        endpoint.status.to_string(),
        json!({"description": "Success.", "content": {"application/json": {"schema": reference(endpoint.response.name)}}}),
    );
    if endpoint.path == "/cases" && endpoint.method == Method::POST {
        responses.insert("200".into(), json!({"description": "The session's existing case.", "content": {"application/json": {"schema": reference("Case")}}}));
    }
    for status in ["400", "401", "403", "404", "405", "409", "412", "413", "415", "422", "429", "500", "503"] {
        responses.insert(status.into(), error_response());
    }
    let mut operation = json!({
        "summary": endpoint.summary,
        "description": format!("Scopes: {}.", scopes.join(", ")),
        "operationId": format!("{}_{}", endpoint.method.as_str().to_lowercase(), endpoint.path.replace(['/', '{', '}'], "_").trim_matches('_')),
        "parameters": parameters,
        "responses": responses,
        "security": [{"api_key": scopes}, {"bearer": scopes}],
    });
    if let Some(request) = endpoint.request {
        operation["requestBody"] =
            json!({"required": false, "content": {"application/json": {"schema": reference(request)}}});
    }
    operation
}

/// The OpenAPI document, as a typed utoipa value.
pub fn openapi() -> OpenApi {
    let mut paths = Map::new();
    for endpoint in endpoints() {
        let path = format!("/api/v1{}", endpoint.path);
        let item = paths.entry(path).or_insert_with(|| json!({}));
        item[endpoint.method.as_str().to_lowercase()] = operation(&endpoint);
    }
    let document = json!({
        "openapi": "3.1.0",
        "info": {"title": "Casework", "version": env!("CARGO_PKG_VERSION"),
            "description": "The review-case API of an identity-verification platform, compatible with Verifa's."},
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "securitySchemes": {
                "api_key": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
    });
    match serde_json::from_value(document) {
        Ok(document) => document,
        Err(error) => {
            tracing::error!(error = %error, "the OpenAPI document does not parse");
            OpenApi::default()
        }
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> HttpResponse {
    let text = openapi().to_json().unwrap_or_default();
    HttpResponse::Ok().content_type("application/json").body(text)
}

/// `GET /docs`: to the interactive viewer.
pub async fn docs() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header((header::LOCATION, "/docs/")).finish()
}

/// The interactive viewer at `/docs/` (Swagger UI, its assets compiled into the binary: no
/// CDN), reading `/api/v1/openapi.json`; "Authorize" takes an API key for "Try it out".
pub fn viewer() -> SwaggerUi {
    let config = Config::from("/api/v1/openapi.json").persist_authorization(true).try_it_out_enabled(true);
    SwaggerUi::new("/docs/{_:.*}").config(config)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_document_is_valid_openapi() {
        let mut paths = serde_json::Map::new();
        for endpoint in super::endpoints() {
            let item = paths.entry(format!("/api/v1{}", endpoint.path)).or_insert_with(|| serde_json::json!({}));
            item[endpoint.method.as_str().to_lowercase()] = super::operation(&endpoint);
        }
        for (name, schema) in super::schemas() {
            if let Err(error) =
                serde_json::from_value::<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>(schema.clone())
            {
                panic!("schema {name}: {error}\n{schema}");
            }
        }
        for (path, item) in paths {
            if let Err(error) = serde_json::from_value::<utoipa::openapi::PathItem>(item.clone()) {
                panic!("path {path}: {error}");
            }
        }
        assert_eq!(super::openapi().paths.paths.len(), 25);
    }

    #[test]
    fn every_reference_names_a_component() {
        let document = serde_json::to_value(super::openapi()).unwrap_or_default();
        let text = document.to_string();
        let schemas = &document["components"]["schemas"];
        for reference in text.split("#/components/schemas/").skip(1) {
            let name: String = reference.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            assert!(schemas.get(&name).is_some(), "{name} is referenced but not defined");
        }
    }
}
