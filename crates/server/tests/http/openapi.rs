//! The OpenAPI document describes exactly the routes the app serves, and `/docs` renders it.

use casework_domain::tenant::Environment;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::support::spawn_app;

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| match segment {
            "{case_id}" => "rvc_000000000000000000000000",
            "{session_id}" => "ses_000000000000000000000000",
            "{id}" => "00000000-0000-0000-0000-000000000000",
            "{policy}" => "face_match",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn the_document_lists_every_route_and_nothing_more() {
    let app = spawn_app().await;
    let reply = app.call(Method::GET, "/api/v1/openapi.json", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let document = reply.json();
    assert_eq!(document["openapi"], "3.1.0");
    let paths = document["paths"].as_object().unwrap();
    assert_eq!(paths.len(), 37, "{:?}", paths.keys().collect::<Vec<_>>());
    // A key with no scope reaches every documented operation and is refused by scope (403),
    // which proves the route exists with that method.
    let scopeless = app.key_with(Environment::Sandbox, &[], None).await;
    let all = [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE];
    for (path, item) in paths {
        let documented: Vec<Method> =
            all.iter().filter(|m| item.get(m.as_str().to_lowercase()).is_some()).cloned().collect();
        for method in &all {
            let reply = app.call(method.clone(), &concrete(path), Some(&scopeless), None).await;
            if documented.contains(method) {
                reply.assert_error(403, "insufficient_scope");
                let operation = &item[method.as_str().to_lowercase()];
                let scopes = operation["security"][0]["api_key"].as_array().unwrap();
                assert!(!scopes.is_empty(), "{method} {path} documents its scopes");
            } else {
                reply.assert_error(405, "method_not_allowed");
                let allow: Vec<&str> = documented.iter().map(Method::as_str).collect();
                assert_eq!(reply.header("allow"), Some(allow.join(", ").as_str()), "{method} {path}");
            }
        }
    }
    let codes: Vec<&str> = document["components"]["schemas"]["Error"]["properties"]["error"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for code in ["queue_empty", "case_already_claimed", "idempotency_mismatch", "rate_limited", "service_unavailable"] {
        assert!(codes.contains(&code), "{code} is documented");
    }
}

#[tokio::test]
async fn docs_render_from_the_binary() {
    let app = spawn_app().await;
    // `/docs` leads to the viewer, whose page and scripts come from the binary itself.
    let reply = app.call(Method::GET, "/docs", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("content-type").unwrap().starts_with("text/html"));
    assert!(reply.text.contains("swagger-ui-bundle.js"), "{}", reply.text);
    assert!(!reply.text.contains("http://") && !reply.text.contains("https://"), "no external assets");
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css", "swagger-initializer.js"] {
        let reply = app.call(Method::GET, &format!("/docs/{asset}"), None, None).await;
        assert_eq!(reply.status, StatusCode::OK, "{asset}");
        assert!(reply.text.len() > 100, "{asset}");
    }
    let initializer = app.call(Method::GET, "/docs/swagger-initializer.js", None, None).await;
    assert!(initializer.text.contains("/api/v1/openapi.json"), "{}", initializer.text);
}

/// The ways `value` departs from `schema` (a subset of JSON Schema: `$ref`, `allOf`, `oneOf`,
/// `type`, `enum`, `properties`, `required`, `items`), each named by its JSON path.
fn departures(document: &Value, schema: &Value, value: &Value, path: &str) -> Vec<String> {
    if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        return departures(document, &document["components"]["schemas"][name], value, path);
    }
    if let Some(parts) = schema["allOf"].as_array() {
        return parts.iter().flat_map(|part| departures_open(document, part, value, path)).collect();
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let fits = options.iter().filter(|option| departures(document, option, value, path).is_empty()).count();
        return if fits == 1 { vec![] } else { vec![format!("{path}: fits {fits} of oneOf")] };
    }
    let mut found = Vec::new();
    let types: Vec<&str> = match &schema["type"] {
        Value::String(kind) => vec![kind.as_str()],
        Value::Array(kinds) => kinds.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let actual = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let documented = types.is_empty() || types.contains(&actual) || (actual == "integer" && types.contains(&"number"));
    if !documented {
        found.push(format!("{path}: {actual}, documented {types:?}"));
    }
    if let (Some(values), false) = (schema["enum"].as_array(), value.is_null() && types.contains(&"null"))
        && !values.contains(value)
    {
        found.push(format!("{path}: {value} is not one of {values:?}"));
    }
    if let (Value::Object(object), Some(properties)) = (value, schema["properties"].as_object()) {
        for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
            if !object.contains_key(required) {
                found.push(format!("{path}.{required}: missing"));
            }
        }
        for (key, item) in object {
            match properties.get(key) {
                Some(property) => found.extend(departures(document, property, item, &format!("{path}.{key}"))),
                None if schema.get("additionalProperties").is_none() => {
                    found.push(format!("{path}.{key}: not documented"));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (index, item) in items.iter().enumerate() {
            found.extend(departures(document, item_schema, item, &format!("{path}[{index}]")));
        }
    }
    found
}

/// Like [`departures`], for one part of an `allOf`: the other parts document the other keys.
fn departures_open(document: &Value, schema: &Value, value: &Value, path: &str) -> Vec<String> {
    let resolved = match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => document["components"]["schemas"][name].clone(),
        None => schema.clone(),
    };
    let mut open = resolved;
    open["additionalProperties"] = Value::Bool(true);
    departures(document, &open, value, path)
}

#[tokio::test]
async fn responses_match_the_documented_schemas() {
    use serde_json::json;
    let app = spawn_app().await;
    let reviewer = app.reviewer("Rita").await;
    let document = app.call(Method::GET, "/api/v1/openapi.json", None, None).await.json();
    let conforms = |method: &str, path: &str, status: u16, reply: &crate::support::Reply| {
        assert_eq!(reply.status.as_u16(), status, "{method} {path}: {}", reply.text);
        let schema =
            &document["paths"][path][method]["responses"][status.to_string()]["content"]["application/json"]["schema"];
        let found = departures(&document, schema, &reply.json(), "$");
        assert!(found.is_empty(), "{method} {path}: {found:#?}");
    };
    let demo = app.post("/api/v1/cases/demo", json!({})).await;
    conforms("post", "/api/v1/cases/demo", 201, &demo);
    let case = demo.json();
    let policy = case["session"]["checks"][0]["policy"].as_str().unwrap().to_owned();
    let case_path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    let claimed = app.post_as(&reviewer, &format!("{case_path}/claim"), json!({})).await;
    conforms("post", "/api/v1/cases/{case_id}/claim", 200, &claimed);
    let note = app.post_as(&reviewer, &format!("{case_path}/notes"), json!({"content": "Looks fine."})).await;
    conforms("post", "/api/v1/cases/{case_id}/notes", 201, &note);
    let pii = app
        .call(
            Method::PUT,
            &format!("{case_path}/result/pii"),
            Some(&reviewer.key),
            Some(json!({"extracted_data": {"first_name": "Ada"}})),
        )
        .await;
    conforms("put", "/api/v1/cases/{case_id}/result/pii", 200, &pii);
    let overridden =
        app.post_as(&reviewer, &format!("{case_path}/checks/{policy}/override"), json!({"passed": true})).await;
    conforms("post", "/api/v1/cases/{case_id}/checks/{policy}/override", 202, &overridden);
    let rejected = app
        .post_as(
            &reviewer,
            &format!("{case_path}/reject"),
            json!({"rejection_reason": "Forged.", "add_to_blocklist": true}),
        )
        .await;
    conforms("post", "/api/v1/cases/{case_id}/reject", 200, &rejected);
    let key = app.post("/api/v1/api-keys", json!({"name": "tool", "scopes": ["cases:read"]})).await;
    conforms("post", "/api/v1/api-keys", 201, &key);
    let receiver = crate::receiver::Receiver::start();
    let endpoint = app.post("/api/v1/webhooks/endpoints", json!({"url": receiver.url, "label": "ops"})).await;
    conforms("post", "/api/v1/webhooks/endpoints", 201, &endpoint);
    let endpoint_id = endpoint.json()["id"].as_str().unwrap().to_owned();
    let test = app.post(&format!("/api/v1/webhooks/endpoints/{endpoint_id}/test"), json!({})).await;
    conforms("post", "/api/v1/webhooks/endpoints/{id}/test", 202, &test);
    let rotated = app.post(&format!("/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret"), json!({})).await;
    conforms("post", "/api/v1/webhooks/endpoints/{id}/rotate-secret", 200, &rotated);
    let since = casework_api::wire::format_time(app.state.service.now() - time::Duration::hours(1));
    let recovered =
        app.post(&format!("/api/v1/webhooks/endpoints/{endpoint_id}/recover"), json!({"since": since})).await;
    conforms("post", "/api/v1/webhooks/endpoints/{id}/recover", 202, &recovered);
    let session = app.session(json!({})).await;
    let session_path = format!("/api/v1/sessions/{}", session["id"].as_str().unwrap());
    let link = app.post(&format!("{session_path}/generate-one-time-link"), json!({})).await;
    conforms("post", "/api/v1/sessions/{session_id}/generate-one-time-link", 201, &link);
    let simulated = app.post(&format!("{session_path}/simulate"), json!({"action": "decline"})).await;
    conforms("post", "/api/v1/sessions/{session_id}/simulate", 200, &simulated);
    let result = app.get(&format!("{session_path}/result")).await;
    conforms("get", "/api/v1/sessions/{session_id}/result", 200, &result);
    let mut checked = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        let Some(operation) = item.get("get") else { continue };
        let id = if path.starts_with("/api/v1/webhooks") { endpoint_id.clone() } else { reviewer.id.public() };
        let concrete = path
            .replace("{case_id}", case["id"].as_str().unwrap())
            .replace("{session_id}", case["session_id"].as_str().unwrap())
            .replace("{id}", &id);
        let reply = app.get(&concrete).await;
        if reply.status != StatusCode::OK {
            continue;
        }
        let schema = &operation["responses"]["200"]["content"]["application/json"]["schema"];
        let found = departures(&document, schema, &reply.json(), "$");
        assert!(found.is_empty(), "GET {path}: {found:#?}");
        checked += 1;
    }
    assert_eq!(checked, 18, "every GET answered and was checked");
    // The webhook payloads the recovery queued (every event so far) match the `webhooks` section.
    casework_server::delivery::spawn(app.state.clone());
    let queued = recovered.json()["queued"].as_u64().unwrap() as usize;
    let received = receiver.wait_for(queued + 1, std::time::Duration::from_secs(10)).await;
    assert!(received.len() > queued, "{} of {queued}", received.len());
    let mut kinds = std::collections::BTreeSet::new();
    for delivery in &received {
        let event = delivery.event();
        let kind = if event.starts_with("case.") {
            "CaseWebhookEvent"
        } else if event.starts_with("session.") {
            "SessionWebhookEvent"
        } else {
            "TestWebhookEvent"
        };
        let section = if kind == "CaseWebhookEvent" {
            "case.*"
        } else if kind == "SessionWebhookEvent" {
            "session.*"
        } else {
            "webhook.test"
        };
        let schema = &document["webhooks"][section]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(schema["$ref"], format!("#/components/schemas/{kind}"));
        let found = departures(&document, schema, &delivery.json(), "$");
        assert!(found.is_empty(), "{event}: {found:#?}");
        kinds.insert(kind);
    }
    assert_eq!(kinds.len(), 3, "case, session and test payloads were all checked");
}
