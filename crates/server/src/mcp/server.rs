//! The MCP handler: `tools/list` (the caller's toolsets, `read_only` and scopes), `tools/call`
//! (each tool's first content item is the JSON text of the REST response, also given as
//! `structuredContent`), and the prompts `triage_case` and `summarize_queue`.

use actix_web::http::Method;
use casework_api::case::Case as CaseBody;
use casework_domain::case::Decision;
use casework_domain::directory::Principal;
use casework_domain::id::CaseId;
use casework_domain::service::actions::ActionRequest;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams, GetPromptResponse,
    GetPromptResult, Implementation, ListPromptsResult, ListToolsResult, PaginatedRequestParams, Prompt,
    PromptArgument, PromptMessage, Role, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer, ServerHandler};
use rmcp_actix_web::transport::on_request_extensions;
use serde_json::{Map, Value, json};

use super::McpCaller;
use super::catalogue::{Entry, Run, Suggestion, ToolSpec, catalogue, path_parameters};
use crate::http::error::ApiError;
use crate::http::in_process::{Call, InProcess};
use crate::state::AppState;

/// The handler of one MCP session.
#[derive(Clone)]
pub struct Casework {
    state: AppState,
    api: InProcess,
}

impl Casework {
    /// A handler calling the API through `api`.
    pub fn new(state: AppState, api: InProcess) -> Self {
        Self { state, api }
    }
}

fn caller(context: &RequestContext<RoleServer>) -> Result<McpCaller, McpError> {
    on_request_extensions(&context.extensions)
        .and_then(|extensions| extensions.get::<McpCaller>())
        .cloned()
        .ok_or_else(|| McpError::invalid_request("unauthenticated", None))
}

/// The MCP client's name: from its session's `initialize`, else its `User-Agent`.
fn client_name(context: &RequestContext<RoleServer>, caller: &McpCaller) -> String {
    let initialized = if caller.sessionless { None } else { context.peer.peer_info() };
    initialized
        .map(|info| info.client_info.name.clone())
        .or_else(|| caller.user_agent.clone())
        .unwrap_or_else(|| "an MCP client".to_owned())
}

/// Why a tool is not offered to this caller, if it is not.
fn refusal(entry: &Entry, caller: &McpCaller) -> Option<(u16, &'static str, String)> {
    let tool = &entry.spec;
    if !caller.toolsets.contains(&tool.toolset) {
        let detail = format!("The toolset `{}` is not enabled (?toolsets=).", tool.toolset.as_str());
        return Some((403, "tool_not_enabled", detail));
    }
    if caller.read_only && tool.writes {
        return Some((403, "read_only", format!("`{}` writes, and this connection is read-only.", tool.name)));
    }
    let missing = entry.scopes.iter().find(|scope| !caller.principal.scopes.allows(**scope))?;
    Some((403, "insufficient_scope", format!("This API key lacks the `{}` scope.", missing.as_str())))
}

/// A tool's result: the JSON text first, and the same value as structured content.
fn result(status: u16, body: Value) -> CallToolResult {
    let text = body.to_string();
    let structured = if body.is_object() { body } else { json!({"result": body}) };
    let mut result = if (200..300).contains(&status) {
        CallToolResult::success(vec![ContentBlock::text(text)])
    } else {
        CallToolResult::error(vec![ContentBlock::text(text)])
    };
    result.structured_content = Some(structured);
    result
}

fn error_body(status: u16, code: &str, detail: &str) -> Value {
    json!({"error": code, "detail": detail, "status_code": status, "request_id": null})
}

fn api_error(error: ApiError) -> (u16, Value) {
    let body = serde_json::to_value(error.body("mcp")).unwrap_or_default();
    (actix_web::ResponseError::status_code(&error).as_u16(), body)
}

/// A scalar argument as query text.
fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

impl Casework {
    async fn api_call(
        &self,
        caller: &McpCaller,
        agent: &str,
        method: Method,
        path: String,
        body: Option<Value>,
    ) -> (u16, Value) {
        let call = Call {
            method,
            path: format!("/api/v1{path}"),
            key: caller.key.clone(),
            agent: Some(agent.to_owned()),
            body,
        };
        match self.api.call(call).await {
            Ok(answer) => (answer.status, serde_json::from_slice(&answer.body).unwrap_or(Value::Null)),
            Err(error) => api_error(ApiError::unavailable(anyhow::Error::new(error))),
        }
    }

    /// One API operation with the arguments: path parameters, then query or body.
    async fn operation(
        &self,
        caller: &McpCaller,
        agent: &str,
        method: Method,
        template: &str,
        mut args: Map<String, Value>,
    ) -> (u16, Value) {
        let mut path = template.to_owned();
        for name in path_parameters(template) {
            let Some(value) = args.remove(name).as_ref().and_then(as_text) else {
                return (422, error_body(422, "validation_failed", &format!("`{name}` is required.")));
            };
            let encoded: String = url_segment(&value);
            path = path.replace(&format!("{{{name}}}"), &encoded);
        }
        if method == Method::GET {
            let mut pairs: Vec<(String, String)> = Vec::new();
            for (name, value) in &args {
                match value {
                    Value::Array(items) => pairs.extend(items.iter().filter_map(as_text).map(|v| (name.clone(), v))),
                    other => pairs.extend(as_text(other).map(|v| (name.clone(), v))),
                }
            }
            if !pairs.is_empty() {
                path.push('?');
                path.push_str(&serde_urlencoded::to_string(&pairs).unwrap_or_default());
            }
            return self.api_call(caller, agent, method, path, None).await;
        }
        self.api_call(caller, agent, method, path, Some(Value::Object(args))).await
    }

    async fn run(&self, spec: &ToolSpec, caller: &McpCaller, agent: &str, args: Map<String, Value>) -> (u16, Value) {
        match spec.run {
            Run::Api(verb, path) => self.operation(caller, agent, verb.method(), path, args).await,
            Run::GetSession => {
                let (status, mut session) =
                    self.operation(caller, agent, Method::GET, "/sessions/{session_id}", args.clone()).await;
                if status != 200 {
                    return (status, session);
                }
                let (found, outcome) =
                    self.operation(caller, agent, Method::GET, "/sessions/{session_id}/result", args).await;
                if let Some(object) = session.as_object_mut() {
                    object.insert("result".to_owned(), if found == 200 { outcome } else { Value::Null });
                }
                (200, session)
            }
            Run::SessionEvents => {
                let mut rest = args.clone();
                rest.remove("session_id");
                let (status, session) =
                    self.operation(caller, agent, Method::GET, "/sessions/{session_id}", args).await;
                if status != 200 {
                    return (status, session);
                }
                match session["case_id"].as_str() {
                    Some(case_id) => {
                        rest.insert("case_id".to_owned(), json!(case_id));
                        self.operation(caller, agent, Method::GET, "/cases/{case_id}/events", rest).await
                    }
                    None => (200, json!({"data": [], "pagination": {"total": 0, "limit": 25, "offset": 0}})),
                }
            }
            Run::Recommend(suggestion) => self.recommend(caller, agent, suggestion, &args).await,
            Run::Whoami => (200, whoami(&caller.principal, agent)),
            Run::Search => {
                let query = args.get("query").and_then(as_text).unwrap_or_default();
                let (status, found) = self
                    .api_call(
                        caller,
                        agent,
                        Method::POST,
                        "/cases/search".to_owned(),
                        Some(json!({"q": query, "limit": 20})),
                    )
                    .await;
                if status != 200 {
                    return (status, found);
                }
                let results: Vec<Value> = found["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|case| json!({"id": case["id"], "title": title(case), "url": self.case_url(case)}))
                    .collect();
                (200, json!({"results": results}))
            }
            Run::Fetch => {
                let mut args = args;
                let id = args.remove("id").unwrap_or(Value::Null);
                args.insert("case_id".to_owned(), id);
                let (status, case) = self.operation(caller, agent, Method::GET, "/cases/{case_id}", args).await;
                if status != 200 {
                    return (status, case);
                }
                let fetched = json!({
                    "id": case["id"], "title": title(&case), "text": case.to_string(), "url": self.case_url(&case),
                    "metadata": {"status": case["status"], "priority": case["priority"], "version": case["version"]},
                });
                (200, fetched)
            }
        }
    }

    fn case_url(&self, case: &Value) -> String {
        let base = self.state.config.server.public_url.trim_end_matches('/');
        format!("{base}/api/v1/cases/{}", case["id"].as_str().unwrap_or_default())
    }

    /// An agent's decision tool: an `agent_recommended` event, never a decision.
    async fn recommend(
        &self,
        caller: &McpCaller,
        agent: &str,
        suggestion: Suggestion,
        args: &Map<String, Value>,
    ) -> (u16, Value) {
        let Some(case_id) = args.get("case_id").and_then(as_text) else {
            return (422, error_body(422, "validation_failed", "`case_id` is required."));
        };
        let Ok(case_id) = CaseId::parse(&case_id) else { return api_error(ApiError::not_found("Case")) };
        let decision = match suggestion {
            Suggestion::Approve => Decision::Approved,
            Suggestion::Reject => Decision::Rejected,
            Suggestion::Either => match args.get("decision").and_then(Value::as_str) {
                Some("approved" | "approve") => Decision::Approved,
                Some("rejected" | "reject") => Decision::Rejected,
                _ => return (422, error_body(422, "validation_failed", "`decision` must be approved or rejected.")),
            },
        };
        let field = if suggestion == Suggestion::Reject { "rejection_reason" } else { "reason" };
        let reason = args
            .get(field)
            .or_else(|| args.get("notes"))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|r| !r.is_empty());
        if suggestion == Suggestion::Reject && reason.is_none() {
            return (422, error_body(422, "validation_failed", "`rejection_reason` is required."));
        }
        if reason.is_some_and(|r| r.chars().count() > 2000 || r.contains('\0')) {
            return (422, error_body(422, "validation_failed", &format!("`{field}` must be 1 to 2000 characters.")));
        }
        let principal = Principal { agent: Some(agent.to_owned()), ..caller.principal.clone() };
        let request = ActionRequest { principal: &principal, reviewer_id: None, if_match: None };
        match self.state.service.agent_recommendation(&request, case_id, decision, reason.map(str::to_owned)).await {
            Ok(view) => (200, serde_json::to_value(CaseBody::from(&view)).unwrap_or_default()),
            Err(error) => api_error(error.into()),
        }
    }
}

fn title(case: &Value) -> String {
    format!(
        "Case {} · {} · {} priority",
        case["id"].as_str().unwrap_or_default(),
        case["status"].as_str().unwrap_or_default(),
        case["priority"].as_str().unwrap_or_default()
    )
}

fn url_segment(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.~".contains(c) {
                c.to_string()
            } else {
                format!("%{:02X}", u32::from(c))
            }
        })
        .collect()
}

fn whoami(principal: &Principal, agent: &str) -> Value {
    json!({
        "api_key": {"id": principal.key_id.public(), "uuid": principal.key_id.uuid(), "name": principal.key_name},
        "organization_id": principal.tenant.org_id.public(),
        "environment": principal.tenant.environment.as_str(),
        "scopes": principal.scopes.iter().map(|scope| scope.as_str()).collect::<Vec<_>>(),
        "org_user": principal.user.as_ref().map(|user| json!({"id": user.id.public(), "uuid": user.id.uuid(), "name": user.name})),
        "actor": {"type": "agent", "id": principal.key_id.uuid(), "name": format!("{} via {agent}", principal.key_name)},
    })
}

impl ServerHandler for Casework {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_prompts().build())
            .with_server_info(Implementation::new("casework", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Casework's review queue. Read cases and their evidence, summarize, draft notes, and recommend \
                 decisions with reasons: approve_case, reject_case and recommend_decision only record a \
                 recommendation; a person decides.",
            )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, McpError> {
        let caller = caller(&context)?;
        let offered = catalogue()
            .iter()
            .filter(|entry| refusal(entry, &caller).is_none())
            .map(|entry| entry.tool.clone())
            .collect();
        Ok(ListToolsResult::with_all_items(offered))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, McpError> {
        let caller = caller(&context)?;
        let agent = client_name(&context, &caller);
        let Some(entry) = catalogue().iter().find(|entry| entry.spec.name == request.name) else {
            return Err(McpError::invalid_params(format!("no tool named `{}`", request.name), None));
        };
        let spec = entry.spec;
        tracing::info!(
            target: "casework::access",
            method = "MCP",
            route = "/mcp",
            tool = spec.name,
            key_id = caller.principal.key_id.public(),
            actor = "agent",
            agent,
            "tool call"
        );
        if let Some((status, code, detail)) = refusal(entry, &caller) {
            return Ok(result(status, error_body(status, code, &detail)).into());
        }
        let args = request.arguments.unwrap_or_default();
        let (status, body) = self.run(&spec, &caller, &agent, args).await;
        Ok(result(status, body).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, McpError> {
        let triage = Prompt::new(
            "triage_case",
            Some("Read a case's evidence; summarize it and recommend a decision with reasons."),
            Some(vec![
                PromptArgument::new("case_id").with_description("The case: a public id or a UUID.").with_required(true),
            ]),
        );
        let queue =
            Prompt::new("summarize_queue", Some("Summarize the review queue: its tabs and its oldest cases."), None);
        Ok(ListPromptsResult::with_all_items(vec![triage, queue]))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, McpError> {
        let caller = caller(&context)?;
        let agent = client_name(&context, &caller);
        match request.name.as_str() {
            "triage_case" => {
                let case_id = request.arguments.as_ref().and_then(|args| args.get("case_id")).and_then(as_text);
                let Some(case_id) = case_id else {
                    return Err(McpError::invalid_params("triage_case needs `case_id`", None));
                };
                let mut args = Map::new();
                args.insert("case_id".to_owned(), json!(case_id));
                let (status, case) = self.operation(&caller, &agent, Method::GET, "/cases/{case_id}", args).await;
                if status != 200 {
                    return Err(McpError::invalid_params(format!("the case could not be read: {case}"), None));
                }
                let text = format!(
                    "You are assisting a compliance reviewer with a KYC review case. Here is the case with its \
                     evidence (the session's checks, their summary and, when shown, extracted document data), \
                     as JSON:\n\n{case}\n\nSummarize the evidence in a few sentences: what passed, what failed, \
                     what was overridden, and anything inconsistent. Then recommend approve or reject with your \
                     reasons, citing the checks. Record it with the recommend_decision tool (case_id {id}); a \
                     person makes the decision.",
                    id = case["id"].as_str().unwrap_or_default()
                );
                Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                    .with_description("Triage one case")
                    .into())
            }
            "summarize_queue" => {
                let (_, counts) = self.api_call(&caller, &agent, Method::GET, "/cases/counts".to_owned(), None).await;
                let (_, oldest) = self
                    .api_call(
                        &caller,
                        &agent,
                        Method::GET,
                        "/cases?tab=unassigned&sort=entered_review_at&limit=10".to_owned(),
                        None,
                    )
                    .await;
                let text = format!(
                    "You are assisting a compliance team lead. These are the review queue's tab counts:\n\n{counts}\n\n\
                     and its ten longest-waiting unassigned cases:\n\n{oldest}\n\nSummarize the state of the \
                     queue: how much waits, what is at risk of missing its SLA (sla.status), and what to take \
                     first, with reasons."
                );
                Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
                    .with_description("Summarize the review queue")
                    .into())
            }
            other => Err(McpError::invalid_params(format!("no prompt named `{other}`"), None)),
        }
    }
}
