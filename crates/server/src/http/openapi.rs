//! The OpenAPI 3.1 document at `/api/v1/openapi.json`, generated from the route table
//! ([`super::routes::endpoints`]: paths, methods, scopes, parameters, bodies) with the schemas of
//! the contract's objects, and the interactive viewer at `/docs` (Swagger UI, served from the
//! binary: no CDN).

use actix_web::HttpResponse;
use actix_web::http::Method;
use actix_web::http::header;
use casework_api::error::ErrorBody;
use casework_api::list::List;
use casework_api::webhook::{CaseEvent, SessionEvent, TestEvent};
use casework_domain::webhook::EVENT_NAMES;
use utoipa::openapi::content::{Content, ContentBuilder};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::{Response, ResponseBuilder, ResponsesBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, RefOr, Required, Schema,
};
use utoipa::{IntoParams, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use super::routes::{Endpoint, endpoints};

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

/// The query parameters of request type `T`.
pub fn params<T: IntoParams>() -> Vec<Parameter> {
    T::into_params(|| Some(ParameterIn::Query))
}

/// No query parameters.
pub fn no_params() -> Vec<Parameter> {
    Vec::new()
}

/// The components of every body the route table names (requests, responses) and of what they
/// refer to, with the error body, generated from the wire types.
fn schemas() -> Vec<(String, RefOr<Schema>)> {
    let mut collected = Vec::new();
    collect::<ErrorBody>("Error", &mut collected);
    for endpoint in endpoints() {
        (endpoint.response.collect)(endpoint.response.name, &mut collected);
        if let Some(request) = endpoint.request {
            (request.collect)(request.name, &mut collected);
        }
    }
    collected
}

fn json_content(component: &str) -> Content {
    ContentBuilder::new().schema(Some(Ref::from_schema_name(component))).build()
}

fn response(description: &str, component: &str) -> Response {
    ResponseBuilder::new().description(description).content("application/json", json_content(component)).build()
}

/// Every status an operation may answer besides its success (CONVENTIONS.md, Errors).
const ERROR_STATUSES: [&str; 13] =
    ["400", "401", "403", "404", "405", "409", "412", "413", "415", "422", "429", "500", "503"];

fn operation(endpoint: &Endpoint) -> Operation {
    let path_parameters =
        endpoint.path.split('/').filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).map(
            |name| {
                ParameterBuilder::new()
                    .name(name)
                    .parameter_in(ParameterIn::Path)
                    .required(Required::True)
                    .description(Some("A public id or a UUID (a malformed or unknown one: 404)."))
                    .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                    .build()
            },
        );
    let scopes: Vec<&str> = endpoint.scopes.iter().map(|s| s.as_str()).collect();
    let mut responses =
        ResponsesBuilder::new().response(endpoint.status.to_string(), response("Success.", endpoint.response.name));
    if endpoint.path == "/cases" && endpoint.method == Method::POST {
        responses = responses.response("200", response("The session's existing case.", "Case"));
    }
    for status in ERROR_STATUSES {
        responses = responses.response(status, response("An error (CONVENTIONS.md, Errors).", "Error"));
    }
    let mut operation = OperationBuilder::new()
        .summary(Some(endpoint.summary))
        .description(Some(format!("Scopes: {}.", scopes.join(", "))))
        .operation_id(Some(format!(
            "{}_{}",
            endpoint.method.as_str().to_lowercase(),
            endpoint.path.replace(['/', '{', '}'], "_").trim_matches('_')
        )))
        .parameters(Some(path_parameters.chain((endpoint.query)())))
        .responses(responses.build())
        .securities(Some([
            SecurityRequirement::new("api_key", scopes.clone()),
            SecurityRequirement::new("bearer", scopes.clone()),
        ]));
    if let Some(request) = endpoint.request {
        let body = RequestBodyBuilder::new()
            .required(Some(Required::False))
            .content("application/json", json_content(request.name));
        operation = operation.request_body(Some(body.build()));
    }
    operation.build()
}

fn http_method(method: &Method) -> HttpMethod {
    match *method {
        Method::POST => HttpMethod::Post,
        Method::PUT => HttpMethod::Put,
        Method::PATCH => HttpMethod::Patch,
        Method::DELETE => HttpMethod::Delete,
        _ => HttpMethod::Get,
    }
}

/// The OpenAPI document: the route table's operations with the wire types' schemas.
pub fn openapi() -> OpenApi {
    let mut paths = PathsBuilder::new();
    for endpoint in endpoints() {
        let item = PathItem::new(http_method(&endpoint.method), operation(&endpoint));
        paths = paths.path(format!("/api/v1{}", endpoint.path), item);
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas())
        .security_scheme("api_key", SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))))
        .security_scheme("bearer", SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)))
        .build();
    let info = InfoBuilder::new()
        .title("Casework")
        .version(env!("CARGO_PKG_VERSION"))
        .description(Some("The review-case API of an identity-verification platform, compatible with Verifa's."))
        .build();
    OpenApiBuilder::new().info(info).paths(paths.build()).components(Some(components)).build()
}

/// Every webhook payload, by the event names it carries (WEBHOOKS.md, Events).
fn webhook_payloads() -> Vec<(&'static str, &'static str, Components)> {
    let mut case = Components::new();
    collect::<CaseEvent>("CaseWebhookEvent", &mut case);
    let mut session = Components::new();
    collect::<SessionEvent>("SessionWebhookEvent", &mut session);
    let mut test = Components::new();
    collect::<TestEvent>("TestWebhookEvent", &mut test);
    vec![
        ("case.*", "CaseWebhookEvent", case),
        ("session.*", "SessionWebhookEvent", session),
        ("webhook.test", "TestWebhookEvent", test),
    ]
}

/// The OpenAPI 3.1 `webhooks` section: one operation per payload kind, naming the events that
/// carry it and the signature headers.
fn webhooks(components: &mut Components) -> std::collections::BTreeMap<String, PathItem> {
    let mut section = std::collections::BTreeMap::new();
    for (events, component, schemas) in webhook_payloads() {
        components.extend(schemas);
        let names: Vec<&str> = EVENT_NAMES
            .iter()
            .copied()
            .filter(|name| match events.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => *name == events,
            })
            .collect();
        let header = |name: &str, description: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(description))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build()
        };
        let operation = OperationBuilder::new()
            .summary(Some(format!("Events {events}")))
            .description(Some(format!(
                "Sent for: {}. Signed both ways from the endpoint's secret; verify with \
                 `verify_signature` or any Standard Webhooks library. Any 2xx within 30 s acknowledges.",
                names.join(", ")
            )))
            .operation_id(Some(format!("webhook_{}", component.to_lowercase())))
            .parameters(Some([
                header(
                    "X-Verifa-Signature",
                    "`t=<unix>,v1=<hex HMAC-SHA256 of \"<t>.<body>\" keyed with the whole secret>`",
                ),
                header("X-Verifa-Delivery-Id", "The delivery (`whd_…`), the same on every attempt."),
                header("X-Verifa-Event", "The event name."),
                header("webhook-id", "Standard Webhooks: the delivery id."),
                header("webhook-timestamp", "Standard Webhooks: the signed unix time."),
                header("webhook-signature", "Standard Webhooks: `v1,<base64>` (space-separated during a rotation)."),
            ]))
            .request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", json_content(component))
                    .build(),
            ))
            .responses(
                ResponsesBuilder::new()
                    .response("200", ResponseBuilder::new().description("Acknowledged (any 2xx).").build())
                    .build(),
            )
            .build();
        section.insert(events.to_owned(), PathItem::new(HttpMethod::Post, operation));
    }
    section
}

/// The document as JSON, with the `webhooks` section (OpenAPI 3.1) and its payload schemas.
pub fn document_json() -> serde_json::Value {
    let mut document = openapi();
    let mut extra = Components::new();
    let section = webhooks(&mut extra);
    if let Some(components) = document.components.as_mut() {
        for (name, schema) in extra {
            components.schemas.entry(name).or_insert(schema);
        }
    }
    let mut json = serde_json::to_value(&document).unwrap_or_default();
    if let (Some(object), Ok(section)) = (json.as_object_mut(), serde_json::to_value(section)) {
        object.insert("webhooks".to_owned(), section);
    }
    json
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(document_json().to_string())
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
    fn the_document_round_trips_as_openapi() {
        let text = super::openapi().to_json().unwrap_or_default();
        let parsed: utoipa::openapi::OpenApi = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(parsed.paths.paths.len(), 37);
        let again = parsed.to_json().unwrap_or_default();
        let as_value = |text: &str| serde_json::from_str::<serde_json::Value>(text).unwrap_or_default();
        assert_eq!(as_value(&again), as_value(&text), "the document reads back as itself");
    }

    #[test]
    fn every_webhook_event_has_a_documented_payload() {
        let document = super::document_json();
        let section = document["webhooks"].as_object().cloned().unwrap_or_default();
        let described: String = section.values().map(|item| item["post"]["description"].to_string()).collect();
        for name in casework_domain::webhook::EVENT_NAMES {
            assert!(described.contains(&format!("{name},")) || described.contains(&format!("{name}.")), "{name}");
        }
    }

    #[test]
    fn every_reference_names_a_component() {
        let document = super::document_json();
        let text = document.to_string();
        let schemas = &document["components"]["schemas"];
        for reference in text.split("#/components/schemas/").skip(1) {
            let name: String = reference.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            assert!(schemas.get(&name).is_some(), "{name} is referenced but not defined");
        }
    }
}
