//! `/mcp` with a real MCP client (rmcp over streamable HTTP) against the running server: tools
//! per toolset and `read_only`, every tool called, scopes, revocation, and the human decision.

use std::collections::BTreeSet;
use std::time::Duration;

use casework_domain::directory::Scope;
use casework_domain::tenant::Environment;
use reqwest::{Method, StatusCode};
use rmcp::model::{
    CallToolRequestParams, CallToolResult, ClientCapabilities, ClientConfig, GetPromptRequestParams, Implementation,
};
use rmcp::service::RunningService;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{RoleClient, ServiceExt};
use serde_json::{Map, Value, json};

use crate::support::{TestApp, spawn_app};

type Client = RunningService<RoleClient, ClientConfig>;

async fn connect(app: &TestApp, key: &str, query: &str) -> Client {
    let uri = format!("{}/mcp{query}", app.address);
    let transport =
        StreamableHttpClientTransport::from_config(StreamableHttpClientTransportConfig::with_uri(uri).auth_header(key));
    let config = ClientConfig::new(ClientCapabilities::default(), Implementation::new("triage-bot", "1.0"));
    config.serve(transport).await.unwrap()
}

async fn names(client: &Client) -> BTreeSet<String> {
    client.list_all_tools().await.unwrap().into_iter().map(|tool| tool.name.to_string()).collect()
}

async fn call(client: &Client, name: &str, arguments: Value) -> CallToolResult {
    let arguments: Map<String, Value> = arguments.as_object().cloned().unwrap_or_default();
    client.call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(arguments)).await.unwrap()
}

/// The JSON text of the first content item (Verifa's proxy reads it), checked against
/// `structuredContent`.
fn body(result: &CallToolResult) -> Value {
    let text = result.content[0].as_text().map(|t| t.text.clone()).unwrap_or_default();
    let value: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    let structured = result.structured_content.clone().unwrap();
    assert!(structured == value || structured["result"] == value, "structuredContent matches the text");
    value
}

fn ok(result: &CallToolResult) -> Value {
    assert_ne!(result.is_error, Some(true), "{:?}", result.content);
    body(result)
}

#[tokio::test]
async fn a_bad_key_is_refused_before_any_mcp_message() {
    let app = spawn_app().await;
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "x", "version": "1"}}});
    for key in [None, Some("vk_sandbox_nope")] {
        let mut request = app
            .client
            .post(format!("{}/mcp", app.address))
            .header("Accept", "application/json, text/event-stream")
            .json(&initialize);
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::UNAUTHORIZED);
        let body: Value = reply.json().await.unwrap();
        assert_eq!(body["error"], "unauthorized");
    }
    // X-API-Key works as well as Bearer.
    let reply = app
        .client
        .post(format!("{}/mcp", app.address))
        .header("X-API-Key", &app.key)
        .header("Accept", "application/json, text/event-stream")
        .json(&initialize)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let session = reply.headers().get("mcp-session-id").unwrap().to_str().unwrap().to_owned();
    // Kept in PostgreSQL, so another instance can serve the session.
    let stored = app.db.texts("SELECT id AS value FROM mcp_sessions").await;
    assert_eq!(stored, std::slice::from_ref(&session));
    // A notification is accepted with 202.
    let notified = app
        .client
        .post(format!("{}/mcp", app.address))
        .header("X-API-Key", &app.key)
        .header("Mcp-Session-Id", &session)
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .send()
        .await
        .unwrap();
    assert_eq!(notified.status(), StatusCode::ACCEPTED);
    // GET opens the session's server-to-client stream (server-sent events).
    let stream = app
        .client
        .get(format!("{}/mcp", app.address))
        .header("X-API-Key", &app.key)
        .header("Mcp-Session-Id", &session)
        .header("Accept", "text/event-stream")
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    assert!(stream.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
}

#[tokio::test]
async fn toolsets_and_read_only_choose_the_tools_and_scopes_cap_them() {
    let app = spawn_app().await;
    let all = connect(&app, &app.key, "").await;
    let info = all.peer_info().unwrap();
    assert_eq!(info.server_info.as_ref().map(|s| s.name.as_str()), Some("casework"));
    let everything = names(&all).await;
    for tool in [
        "create_session",
        "get_session",
        "list_sessions",
        "simulate_session",
        "list_session_events",
        "list_cases",
        "search_cases",
        "get_case",
        "get_case_counts",
        "claim_case",
        "release_case",
        "next_case",
        "assign_case",
        "escalate_case",
        "add_case_comment",
        "list_case_notes",
        "list_case_events",
        "approve_case",
        "reject_case",
        "recommend_decision",
        "list_blocklist",
        "whoami",
        "list_org_users",
        "search",
        "fetch",
    ] {
        assert!(everything.contains(tool), "{tool} is offered");
    }
    let tools = all.list_all_tools().await.unwrap();
    let get_case = tools.iter().find(|t| t.name == "get_case").unwrap();
    assert_eq!(get_case.annotations.as_ref().unwrap().read_only_hint, Some(true));
    assert!(get_case.input_schema["required"].as_array().unwrap().contains(&json!("case_id")));
    let create = tools.iter().find(|t| t.name == "create_session").unwrap();
    assert!(create.input_schema["properties"]["external_ref"].is_object(), "the REST request's schema");
    assert_eq!(create.annotations.as_ref().unwrap().read_only_hint, Some(false));
    all.cancel().await.unwrap();

    let sessions = connect(&app, &app.key, "?toolsets=sessions,nonsense").await;
    let chosen = names(&sessions).await;
    assert!(chosen.contains("create_session") && !chosen.contains("get_case"), "{chosen:?}");
    let refused = call(&sessions, "get_case", json!({"case_id": "rvc_000000000000000000000000"})).await;
    assert_eq!((refused.is_error, body(&refused)["error"].clone()), (Some(true), json!("tool_not_enabled")));
    sessions.cancel().await.unwrap();

    let read_only = connect(&app, &app.key, "?toolsets=sessions,cases&read_only=1").await;
    let chosen = names(&read_only).await;
    assert!(chosen.contains("get_case") && !chosen.contains("claim_case") && !chosen.contains("create_session"));
    let refused = call(&read_only, "create_session", json!({})).await;
    assert_eq!(body(&refused)["error"], "read_only");
    read_only.cancel().await.unwrap();

    let reader = app.key_with(Environment::Sandbox, &[Scope::CasesRead], None).await;
    let capped = connect(&app, &reader, "").await;
    let chosen = names(&capped).await;
    assert!(chosen.contains("list_cases") && !chosen.contains("create_session") && !chosen.contains("approve_case"));
    let refused = call(&capped, "create_session", json!({})).await;
    assert_eq!(body(&refused)["error"], "insufficient_scope");
    capped.cancel().await.unwrap();
}

#[tokio::test]
async fn sandbox_sessions_are_created_simulated_and_read_as_verifas_proxy_does() {
    let app = spawn_app().await;
    let client = connect(&app, &app.key, "?toolsets=sessions").await;
    let created = ok(&call(&client, "create_session", json!({"external_ref": "agent_1", "metadata": {"k": 1}})).await);
    assert_eq!(created["status"], "pending");
    let id = created["id"].as_str().unwrap();
    let simulated = ok(&call(&client, "simulate_session", json!({"session_id": id, "action": "approve"})).await);
    assert_eq!(simulated["status"], "completed");
    let read = ok(&call(&client, "get_session", json!({"session_id": id})).await);
    assert_eq!(read["result"]["status"], "approved");
    let listed = ok(&call(&client, "list_sessions", json!({"external_ref": "agent_1"})).await);
    assert_eq!(listed["pagination"]["total"], 1);
    let bad = call(&client, "simulate_session", json!({"session_id": id, "action": "approve"})).await;
    assert_eq!((bad.is_error, body(&bad)["error"].clone()), (Some(true), json!("invalid_transition")));
    let invalid = call(&client, "create_session", json!({"status": "approved"})).await;
    assert_eq!(body(&invalid)["error"], "validation_failed");
    // The REST answer is the same JSON.
    let rest = app.get(&format!("/api/v1/sessions/{id}")).await.json();
    assert_eq!(rest["status"], read["status"]);
    let review = ok(&call(&client, "create_session", json!({"status": "under_review"})).await);
    let events = ok(&call(&client, "list_session_events", json!({"session_id": review["id"]})).await);
    assert_eq!(events["data"][0]["type"], "created");
    assert_eq!(events["data"][0]["actor"]["type"], "agent", "writes through /mcp are the agent's");
    assert_eq!(events["data"][0]["actor"]["name"], "test key via triage-bot");
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn an_agent_triages_a_case_and_a_person_decides() {
    let app = spawn_app().await;
    app.call(Method::PATCH, "/api/v1/organization/settings", Some(&app.key), Some(json!({"dual_review": true}))).await;
    let rita = app.reviewer("Rita").await;
    let sam = app.reviewer("Sam").await;
    let client = connect(&app, &rita.key, "").await;
    let whoami = ok(&call(&client, "whoami", json!({})).await);
    assert_eq!(whoami["org_user"]["uuid"], rita.uuid);
    assert_eq!(whoami["actor"]["type"], "agent");
    let case = app.case().await;
    let id = case["id"].as_str().unwrap().to_owned();
    let prompt = client
        .get_prompt(
            GetPromptRequestParams::new("triage_case")
                .with_arguments([("case_id".to_owned(), json!(id))].into_iter().collect()),
        )
        .await
        .unwrap();
    let text = format!("{:?}", prompt.messages[0].content);
    assert!(text.contains(&id) && text.contains("recommend_decision"), "{text}");
    assert_eq!(client.list_all_prompts().await.unwrap().len(), 2);
    let evidence = ok(&call(&client, "get_case", json!({"case_id": id})).await);
    assert_eq!(evidence["session"]["extracted_data"]["first_name"], "Ada", "PII with verifications:read");
    let counts = ok(&call(&client, "get_case_counts", json!({})).await);
    assert_eq!(counts["all"], 1);
    ok(&call(&client, "claim_case", json!({"case_id": id})).await);
    let note = ok(&call(&client, "add_case_comment", json!({"case_id": id, "content": "Documents consistent."})).await);
    assert_eq!(note["author_type"], "api", "{note}");
    ok(&call(&client, "list_case_notes", json!({"case_id": id})).await);
    // The agent "approves": a recommendation only.
    let before = app.get(&format!("/api/v1/cases/{id}")).await.json();
    let suggested = ok(&call(&client, "approve_case", json!({"case_id": id, "reason": "All checks passed."})).await);
    assert_eq!(suggested["status"], before["status"]);
    assert_eq!(suggested["version"], before["version"], "no version change");
    let recommended = ok(&call(
        &client,
        "recommend_decision",
        json!({"case_id": id, "decision": "rejected", "reason": "Second thoughts."}),
    )
    .await);
    assert_eq!(recommended["decision"], Value::Null);
    let after = app.get(&format!("/api/v1/cases/{id}")).await.json();
    assert_eq!(
        (after["status"].clone(), after["version"].clone()),
        (before["status"].clone(), before["version"].clone())
    );
    // Two people decide (dual review): the agent counted for nothing.
    let first = app.post_as(&rita, &format!("/api/v1/cases/{id}/approve"), json!({})).await;
    assert_eq!(first.json()["status"], "pending_second_review", "{}", first.text);
    let second = app.post_as(&sam, &format!("/api/v1/cases/{id}/approve"), json!({})).await;
    assert_eq!(second.json()["status"], "approved", "{}", second.text);
    let events = ok(&call(&client, "list_case_events", json!({"case_id": id, "limit": 50})).await);
    let trail: Vec<(String, String)> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["type"].as_str().unwrap().to_owned(), e["actor"]["type"].as_str().unwrap().to_owned()))
        .collect();
    let pairs: Vec<(&str, &str)> = trail.iter().map(|(t, a)| (t.as_str(), a.as_str())).collect();
    assert!(pairs.contains(&("claimed", "agent")) && pairs.contains(&("note_added", "agent")), "{pairs:?}");
    assert_eq!(pairs.iter().filter(|p| **p == ("agent_recommended", "agent")).count(), 2, "{pairs:?}");
    assert!(pairs.contains(&("recommended", "org_user")) && pairs.contains(&("approved", "org_user")), "{pairs:?}");
    let agent_event = events["data"].as_array().unwrap().iter().find(|e| e["type"] == "agent_recommended").unwrap();
    assert_eq!(agent_event["changes"], json!({"decision": "approved", "reason": "All checks passed."}));
    let decided = call(&client, "reject_case", json!({"case_id": id, "rejection_reason": "late"})).await;
    assert_eq!(body(&decided)["error"], "case_already_decided");
    let found = ok(&call(&client, "search", json!({"query": &id[4..12]})).await);
    assert_eq!(found["results"][0]["id"], id);
    let fetched = ok(&call(&client, "fetch", json!({"id": id})).await);
    assert!(fetched["text"].as_str().unwrap().contains(&id));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn every_remaining_tool_answers_as_the_rest_api() {
    let app = spawn_app().await;
    let rita = app.reviewer("Rita").await;
    let client = connect(&app, &app.key, "").await;
    let case = app.case().await;
    let id = case["id"].as_str().unwrap();
    let listed = ok(&call(&client, "list_cases", json!({"status": ["open"], "limit": 5})).await);
    assert_eq!(listed, app.get("/api/v1/cases?status=open&limit=5").await.json());
    let searched =
        ok(&call(&client, "search_cases", json!({"filter": {"field": "status", "op": "eq", "value": "open"}})).await);
    assert_eq!(searched["pagination"]["total"], 1);
    let assigned = ok(&call(&client, "assign_case", json!({"case_id": id, "assignee_id": rita.uuid})).await);
    assert_eq!(assigned["assigned_to"], rita.uuid);
    let claimed = ok(&call(&client, "claim_case", json!({"case_id": id, "reviewer_id": rita.uuid})).await);
    assert_eq!(claimed["status"], "in_review");
    ok(&call(&client, "release_case", json!({"case_id": id})).await);
    let escalated = ok(&call(&client, "escalate_case", json!({"case_id": id, "reason": "needs a senior"})).await);
    assert_eq!(escalated["status"], "escalated");
    app.case().await;
    let next = ok(&call(&client, "next_case", json!({"reviewer_id": rita.uuid})).await);
    assert_eq!(next["status"], "in_review");
    assert!(ok(&call(&client, "list_blocklist", json!({})).await)["data"].is_array());
    assert_eq!(ok(&call(&client, "list_org_users", json!({})).await)["pagination"]["total"], 1);
    let missing = call(&client, "get_case", json!({"case_id": "rvc_000000000000000000000000"})).await;
    assert_eq!((missing.is_error, body(&missing)["error"].clone()), (Some(true), json!("not_found")));
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_revoked_key_is_refused_within_a_second() {
    let app = spawn_app().await;
    let created = app.post("/api/v1/api-keys", json!({"name": "agent", "scopes": ["cases:read"]})).await.json();
    let key = created["key"].as_str().unwrap().to_owned();
    let client = connect(&app, &key, "").await;
    ok(&call(&client, "get_case_counts", json!({})).await);
    let revoked = app
        .call(Method::DELETE, &format!("/api/v1/api-keys/{}", created["id"].as_str().unwrap()), Some(&app.key), None)
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let arguments = Map::new();
    let refused = client.call_tool(CallToolRequestParams::new("get_case_counts").with_arguments(arguments)).await;
    assert!(refused.is_err(), "the next request is refused with 401: {refused:?}");
}

#[tokio::test]
async fn writes_through_mcp_carry_the_agent_actor() {
    let app = spawn_app().await;
    let client = connect(&app, &app.key, "").await;
    let created = ok(&call(&client, "create_session", json!({"status": "under_review"})).await);
    let case_id = created["case_id"].as_str().unwrap();
    let events = app.get(&format!("/api/v1/cases/{case_id}/events")).await.json();
    assert_eq!(
        events["data"][0]["actor"],
        json!({"type": "agent", "id": events["data"][0]["actor"]["id"], "name": "test key via triage-bot"})
    );
    client.cancel().await.unwrap();
}

#[tokio::test]
async fn a_plain_json_rpc_forwarder_without_a_session_is_served() {
    let app = spawn_app().await;
    let post = |message: Value, query: &'static str| {
        app.client
            .post(format!("{}/mcp{query}", app.address))
            .bearer_auth(&app.key)
            .header("User-Agent", "verifa-mcp-proxy/1.0")
            .json(&message)
            .send()
    };
    let listed = post(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}), "?toolsets=sessions&read_only=1")
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert!(listed.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let listed: Value = listed.json().await.unwrap();
    let names: BTreeSet<&str> =
        listed["result"]["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, BTreeSet::from(["get_session", "list_sessions", "list_session_events"]));
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "create_session", "arguments": {"external_ref": "proxy_1"}}});
    let created: Value = post(call, "?toolsets=sessions").await.unwrap().json().await.unwrap();
    let text = created["result"]["content"][0]["text"].as_str().unwrap();
    let session: Value = serde_json::from_str(text).unwrap();
    assert_eq!(session["external_ref"], "proxy_1");
    let events = app.get(&format!("/api/v1/sessions/{}", session["id"].as_str().unwrap())).await;
    assert_eq!(events.status, StatusCode::OK);
    let prompts: Value =
        post(json!({"jsonrpc": "2.0", "id": 3, "method": "prompts/list"}), "").await.unwrap().json().await.unwrap();
    assert_eq!(prompts["result"]["prompts"].as_array().unwrap().len(), 2);
    let review = json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
        "params": {"name": "create_session", "arguments": {"status": "under_review"}}});
    let created: Value = post(review, "").await.unwrap().json().await.unwrap();
    let session: Value = serde_json::from_str(created["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    let trail = app.get(&format!("/api/v1/cases/{}/events", session["case_id"].as_str().unwrap())).await.json();
    assert_eq!(trail["data"][0]["actor"]["name"], "test key via verifa-mcp-proxy/1.0");
}
