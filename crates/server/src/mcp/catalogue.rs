//! The tools `/mcp` offers, named as Verifa's and grouped into its toolsets, each with how it
//! runs (most are one API operation, answered exactly as the REST API answers) and its input
//! schema, generated from the same request types as the REST API (the OpenAPI document).

use std::collections::BTreeSet;

use actix_web::http::Method;
use casework_domain::directory::Scope;
use serde_json::{Map, Value, json};

use std::sync::{Arc, OnceLock};

use rmcp::model::{Tool, ToolAnnotations};

use crate::http::routes::{Endpoint, endpoints};

/// A group of tools, chosen with `?toolsets=a,b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Toolset {
    /// Sessions: create, read, list, simulate.
    Sessions,
    /// Cases: the queue, the evidence, notes, and (recommend-only) decisions.
    Cases,
    /// The blocklist.
    Lists,
    /// Who the key is, and the org's users.
    Org,
    /// `search` / `fetch`, as ChatGPT-style connectors expect.
    Search,
    /// Tools that destroy data: none (redaction is not an agent's job).
    Destructive,
}

impl Toolset {
    /// Every toolset.
    pub const ALL: [Self; 6] = [Self::Sessions, Self::Cases, Self::Lists, Self::Org, Self::Search, Self::Destructive];

    /// Its name in `?toolsets=`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sessions => "sessions",
            Self::Cases => "cases",
            Self::Lists => "lists",
            Self::Org => "org",
            Self::Search => "search",
            Self::Destructive => "destructive",
        }
    }

    /// The toolsets enabled by default: all but `destructive`.
    pub fn defaults() -> BTreeSet<Self> {
        Self::ALL.into_iter().filter(|set| *set != Self::Destructive).collect()
    }
}

/// What a decision tool suggests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suggestion {
    /// `approve_case`: an approval is suggested.
    Approve,
    /// `reject_case`: a rejection is suggested.
    Reject,
    /// `recommend_decision`: the decision is an argument.
    Either,
}

/// The method of an API operation a tool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    /// GET: the arguments are the query.
    Get,
    /// POST: the arguments are the JSON body.
    Post,
}

impl Verb {
    /// As an HTTP method.
    pub fn method(self) -> Method {
        match self {
            Self::Get => Method::GET,
            Self::Post => Method::POST,
        }
    }
}

/// How a tool runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Run {
    /// One API operation (`/api/v1` + path): `{parameters}` of the path come from the arguments
    /// of the same name, the others go in the query (GET) or the JSON body.
    Api(Verb, &'static str),
    /// The session with its result.
    GetSession,
    /// The events of the session's case.
    SessionEvents,
    /// An agent's recommendation: an `agent_recommended` event, never a decision.
    Recommend(Suggestion),
    /// The key, its scopes, its environment and bound user.
    Whoami,
    /// ChatGPT-style `search`.
    Search,
    /// ChatGPT-style `fetch`.
    Fetch,
}

/// One tool.
#[derive(Debug, Clone, Copy)]
pub struct ToolSpec {
    /// Verifa's name.
    pub name: &'static str,
    /// Its toolset.
    pub toolset: Toolset,
    /// What it does, for the model.
    pub description: &'static str,
    /// It changes something (hidden and refused under `read_only=1`).
    pub writes: bool,
    /// Calling it twice with the same arguments has the effect of calling it once.
    pub idempotent: bool,
    /// How it runs.
    pub run: Run,
}

const fn read(name: &'static str, toolset: Toolset, description: &'static str, run: Run) -> ToolSpec {
    ToolSpec { name, toolset, description, writes: false, idempotent: true, run }
}

const fn write(
    name: &'static str,
    toolset: Toolset,
    description: &'static str,
    idempotent: bool,
    run: Run,
) -> ToolSpec {
    ToolSpec { name, toolset, description, writes: true, idempotent, run }
}

/// A tool with what is derived from the REST API once, at first use: the scopes its
/// operations need, and its MCP description (input schema and annotations).
pub struct Entry {
    /// The tool.
    pub spec: ToolSpec,
    /// The scopes it needs.
    pub scopes: Vec<Scope>,
    /// What `tools/list` says of it.
    pub tool: Tool,
}

/// Every tool, described once.
pub fn catalogue() -> &'static [Entry] {
    static CATALOGUE: OnceLock<Vec<Entry>> = OnceLock::new();
    CATALOGUE.get_or_init(|| {
        let document = crate::http::openapi::document_json();
        let table = endpoints();
        tools()
            .into_iter()
            .map(|spec| {
                let annotations =
                    ToolAnnotations::new().read_only(!spec.writes).destructive(false).idempotent(spec.idempotent);
                let schema = Arc::new(input_schema(&spec, &document));
                let tool = Tool::new(spec.name, spec.description, schema).annotate(annotations);
                Entry { scopes: scopes(&spec, &table), tool, spec }
            })
            .collect()
    })
}

/// Every tool.
fn tools() -> Vec<ToolSpec> {
    use Toolset::{Cases, Lists, Org, Search, Sessions};
    use Verb as M;
    vec![
        write(
            "create_session",
            Sessions,
            "Create a verification session (status under_review opens its case).",
            false,
            Run::Api(M::Post, "/sessions"),
        ),
        read("get_session", Sessions, "Read a session, with its result when it has one.", Run::GetSession),
        read(
            "list_sessions",
            Sessions,
            "List sessions, newest first (filters: status, external_ref).",
            Run::Api(M::Get, "/sessions"),
        ),
        write(
            "simulate_session",
            Sessions,
            "Sandbox only: apply an outcome (approve, decline, require-review, expire) to a session.",
            false,
            Run::Api(M::Post, "/sessions/{session_id}/simulate"),
        ),
        read(
            "list_session_events",
            Sessions,
            "The audit trail of the session's case (empty when it has none).",
            Run::SessionEvents,
        ),
        read(
            "list_cases",
            Cases,
            "List review cases (filters: status, tab, priority, tag, assigned_to, dates; sort).",
            Run::Api(M::Get, "/cases"),
        ),
        read(
            "search_cases",
            Cases,
            "Search cases with the filter language (and/or/not, fields, operators) and free text q.",
            Run::Api(M::Post, "/cases/search"),
        ),
        read(
            "get_case",
            Cases,
            "A case with its evidence: the session's checks, their summary, and extracted data when the key may see it.",
            Run::Api(M::Get, "/cases/{case_id}"),
        ),
        read(
            "get_case_counts",
            Cases,
            "Counts of the queue tabs: unassigned, mine, pending_second_review, escalated, all.",
            Run::Api(M::Get, "/cases/counts"),
        ),
        write(
            "claim_case",
            Cases,
            "Claim (or renew) the lease on a case for its reviewer.",
            true,
            Run::Api(M::Post, "/cases/{case_id}/claim"),
        ),
        write(
            "release_case",
            Cases,
            "Release the lease on a case.",
            false,
            Run::Api(M::Post, "/cases/{case_id}/release"),
        ),
        write(
            "next_case",
            Cases,
            "Claim the next case of the queue (priority, then age).",
            false,
            Run::Api(M::Post, "/cases/next"),
        ),
        write(
            "assign_case",
            Cases,
            "Assign a case to a reviewer (advisory).",
            true,
            Run::Api(M::Post, "/cases/{case_id}/assign"),
        ),
        write(
            "escalate_case",
            Cases,
            "Escalate a case, optionally to a reviewer, with a reason.",
            false,
            Run::Api(M::Post, "/cases/{case_id}/escalate"),
        ),
        write("add_case_comment", Cases, "Add a note to a case.", false, Run::Api(M::Post, "/cases/{case_id}/notes")),
        read(
            "list_case_notes",
            Cases,
            "The notes of a case, oldest first.",
            Run::Api(M::Get, "/cases/{case_id}/notes"),
        ),
        read(
            "list_case_events",
            Cases,
            "The audit trail of a case, oldest first.",
            Run::Api(M::Get, "/cases/{case_id}/events"),
        ),
        write(
            "approve_case",
            Cases,
            "Recommend approving a case. An agent never decides: this records an agent_recommended event for a person to confirm.",
            false,
            Run::Recommend(Suggestion::Approve),
        ),
        write(
            "reject_case",
            Cases,
            "Recommend rejecting a case (with a reason). An agent never decides: this records an agent_recommended event for a person to confirm.",
            false,
            Run::Recommend(Suggestion::Reject),
        ),
        write(
            "recommend_decision",
            Cases,
            "Recommend a decision (approved or rejected) with reasons, for a person to confirm or override.",
            false,
            Run::Recommend(Suggestion::Either),
        ),
        read(
            "list_blocklist",
            Lists,
            "The environment's blocklist entries (never the document numbers).",
            Run::Api(M::Get, "/blocklist"),
        ),
        read(
            "whoami",
            Org,
            "The API key this agent acts with: its name, scopes, environment and bound reviewer.",
            Run::Whoami,
        ),
        read("list_org_users", Org, "The organization's reviewers.", Run::Api(M::Get, "/org-users")),
        read(
            "search",
            Search,
            "Search cases by text (ids, external references, tags); returns ids to fetch.",
            Run::Search,
        ),
        read("fetch", Search, "Fetch one case by id, with its evidence.", Run::Fetch),
    ]
}

/// The scopes a tool needs (those of its API operations in the route table).
fn scopes(tool: &ToolSpec, table: &[Endpoint]) -> Vec<Scope> {
    let of = |method: Method, path: &str| -> Vec<Scope> {
        table
            .iter()
            .find(|endpoint| endpoint.method == method && endpoint.path == path)
            .map(|endpoint| endpoint.scopes.to_vec())
            .unwrap_or_default()
    };
    match tool.run {
        Run::Api(verb, path) => of(verb.method(), path),
        Run::GetSession | Run::SessionEvents => of(Method::GET, "/sessions/{session_id}"),
        Run::Recommend(_) => vec![Scope::CasesDecide],
        Run::Whoami => Vec::new(),
        Run::Search | Run::Fetch => vec![Scope::CasesRead],
    }
}

/// The path parameters of an API path (`{case_id}` → `case_id`).
pub fn path_parameters(path: &str) -> Vec<&str> {
    path.split('/').filter_map(|segment| segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'))).collect()
}

fn id_property(description: &str) -> Value {
    json!({"type": "string", "description": description})
}

/// The input schema of every tool, from the OpenAPI document of the REST API: the request body's
/// schema (or the query parameters) with the path parameters, self-contained (`$defs`).
fn input_schema(tool: &ToolSpec, document: &Value) -> Map<String, Value> {
    let mut properties = Map::new();
    let mut required: Vec<Value> = Vec::new();
    let mut body_ref = None;
    match tool.run {
        Run::Api(verb, path) => {
            let method = verb.method();
            for name in path_parameters(path) {
                properties.insert(name.to_owned(), id_property("A public id or a UUID."));
                required.push(json!(name));
            }
            let operation = &document["paths"][format!("/api/v1{path}")][method.as_str().to_lowercase()];
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] == "query" {
                    let mut schema = parameter["schema"].clone();
                    if let (Some(object), Some(description)) = (schema.as_object_mut(), parameter.get("description")) {
                        object.insert("description".to_owned(), description.clone());
                    }
                    properties.insert(parameter["name"].as_str().unwrap_or_default().to_owned(), schema);
                }
            }
            body_ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].as_str();
        }
        Run::GetSession | Run::SessionEvents => {
            properties.insert("session_id".to_owned(), id_property("The session: a public id or a UUID."));
            required.push(json!("session_id"));
        }
        Run::Recommend(suggestion) => {
            properties.insert("case_id".to_owned(), id_property("The case: a public id or a UUID."));
            required.push(json!("case_id"));
            if suggestion == Suggestion::Either {
                properties.insert(
                    "decision".to_owned(),
                    json!({"type": "string", "enum": ["approved", "rejected"], "description": "The decision suggested."}),
                );
                required.push(json!("decision"));
            }
            let (name, description) = match suggestion {
                Suggestion::Reject => ("rejection_reason", "Why the case should be rejected."),
                _ => ("reason", "Why: what in the evidence supports it."),
            };
            properties
                .insert(name.to_owned(), json!({"type": "string", "maxLength": 2000, "description": description}));
            if suggestion == Suggestion::Reject {
                required.push(json!(name));
            }
        }
        Run::Whoami => {}
        Run::Search => {
            properties.insert(
                "query".to_owned(),
                json!({"type": "string", "minLength": 3, "description": "Text in a case id, session id, external reference or tag."}),
            );
            required.push(json!("query"));
        }
        Run::Fetch => {
            properties.insert("id".to_owned(), id_property("A case id returned by search."));
            required.push(json!("id"));
        }
    }
    let mut schema = Map::new();
    schema.insert("type".to_owned(), json!("object"));
    if let Some(reference) = body_ref {
        let name = reference.trim_start_matches("#/components/schemas/");
        let body = &document["components"]["schemas"][name];
        for (key, value) in body["properties"].as_object().into_iter().flatten() {
            properties.insert(key.clone(), value.clone());
        }
        for name in body["required"].as_array().into_iter().flatten() {
            required.push(name.clone());
        }
    }
    schema.insert("properties".to_owned(), Value::Object(properties));
    if !required.is_empty() {
        schema.insert("required".to_owned(), Value::Array(required));
    }
    let defs = referenced(&Value::Object(schema.clone()), document);
    if !defs.is_empty() {
        schema.insert("$defs".to_owned(), Value::Object(defs));
    }
    let text = Value::Object(schema).to_string().replace("#/components/schemas/", "#/$defs/");
    serde_json::from_str(&text).unwrap_or_default()
}

/// Every component `value` refers to, transitively.
fn referenced(value: &Value, document: &Value) -> Map<String, Value> {
    let mut found = Map::new();
    let mut pending = vec![value.clone()];
    while let Some(next) = pending.pop() {
        let text = next.to_string();
        for reference in text.split("#/components/schemas/").skip(1) {
            let name: String = reference.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            if !found.contains_key(&name) {
                let schema = document["components"]["schemas"][&name].clone();
                pending.push(schema.clone());
                found.insert(name, schema);
            }
        }
    }
    found
}
