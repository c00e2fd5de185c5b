//! Inputs PostgreSQL would refuse never reach it: a U+0000 in any string, a string ten times its
//! maximum length, a number too large for any column. Each is a 422 naming the field (or the
//! contract's own answer for an id), never a 5xx, and never a change written.

use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};

use crate::support::{Reply, TestApp, spawn_app};

const NUL: &str = "a\u{0}b";

/// Everything a request could have written, as one comparable line.
async fn written(app: &TestApp) -> String {
    let sql = "SELECT concat_ws(',', (SELECT count(*) FROM sessions), (SELECT coalesce(sum(version), 0) FROM cases), \
               (SELECT count(*) FROM case_events), (SELECT count(*) FROM notes), (SELECT count(*) FROM org_users), \
               (SELECT string_agg(name || active, '' ORDER BY id) FROM org_users), \
               (SELECT count(*) FROM api_keys WHERE revoked_at IS NULL), (SELECT count(*) FROM blocklist_entries), \
               (SELECT count(*) FROM webhook_outbox), \
               (SELECT string_agg(environment_settings::text, '') FROM environment_settings)) AS value";
    app.db.texts(sql).await.concat()
}

/// Sends one request and checks the sweep's rule: no 5xx, and nothing written unless it
/// succeeded.
async fn probe(app: &TestApp, method: &Method, path: &str, body: Option<Value>) -> Reply {
    let before = written(app).await;
    let reply = match &body {
        // Raw text, so numbers such as 1e400 reach the server as written.
        Some(Value::String(raw)) => {
            let response = app
                .client
                .request(method.clone(), format!("{}{path}", app.address))
                .header("X-API-Key", &app.key)
                .header("Content-Type", "application/json")
                .body(raw.clone())
                .send()
                .await
                .unwrap();
            let (status, headers) = (response.status(), response.headers().clone());
            Reply { status, headers, text: response.text().await.unwrap() }
        }
        _ => app.call(method.clone(), path, Some(&app.key), body.clone()).await,
    };
    assert!(!reply.status.is_server_error(), "{method} {path} {body:?} → {}", reply.text);
    if !reply.status.is_success() {
        assert_eq!(written(app).await, before, "{method} {path} {body:?} wrote a change and answered {}", reply.status);
    }
    reply
}

fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
        Some(name) => &document["components"]["schemas"][name],
        None => schema,
    }
}

/// A value that the schema accepts, as far as a schema can say.
fn valid(document: &Value, schema: &Value) -> Value {
    let schema = resolve(document, schema);
    if let Some(first) = schema["enum"].as_array().and_then(|values| values.first()) {
        return first.clone();
    }
    match schema["type"].as_str() {
        Some("string") if schema["format"] == "email" => json!("someone@example.com"),
        Some("string") if schema["format"] == "date-time" => json!("2026-11-25T09:30:00Z"),
        Some("string") => json!("x".repeat(schema["minLength"].as_u64().unwrap_or(1).max(1) as usize)),
        Some("boolean") => json!(true),
        Some("integer" | "number") => json!(schema["minimum"].as_i64().unwrap_or(1)),
        Some("array") => json!([]),
        _ => json!({}),
    }
}

/// The bodies that probe one property: U+0000 in it (and in a map's key and value), ten times its
/// maximum length, and a number no column holds.
fn probes(document: &Value, base: &Map<String, Value>, name: &str, schema: &Value) -> Vec<Value> {
    let schema = resolve(document, schema);
    let with = |value: Value| {
        let mut body = base.clone();
        body.insert(name.to_owned(), value);
        Value::Object(body)
    };
    let mut bodies = vec![
        with(json!(NUL)),
        with(json!({"k": NUL})),
        with(json!({NUL: "v"})),
        with(json!([NUL])),
        Value::String(with(json!(0)).to_string().replace(&format!("\"{name}\":0"), &format!("\"{name}\":1e400"))),
        Value::String(
            with(json!(0)).to_string().replace(&format!("\"{name}\":0"), &format!("\"{name}\":{}", "9".repeat(40))),
        ),
    ];
    let max = schema["maxLength"].as_u64().unwrap_or(255) as usize;
    bodies.push(with(json!("x".repeat(max * 10))));
    bodies
}

fn concrete(path: &str, ids: &Map<String, Value>) -> String {
    path.split('/')
        .map(|segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(name) => ids[name].as_str().unwrap().to_owned(),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn no_string_number_or_parameter_of_any_operation_reaches_postgres_unchecked() {
    let app = spawn_app().await;
    let case = app.case().await;
    let user = app.post("/api/v1/org-users", json!({"name": "Rita", "email": "rita@example.com"})).await.json();
    let mut ids = Map::new();
    ids.insert("case_id".into(), case["id"].clone());
    ids.insert("session_id".into(), case["session_id"].clone());
    ids.insert("policy".into(), json!("document_ocr"));
    let document = app.call(Method::GET, "/api/v1/openapi.json", None, None).await.json();
    let mut sent = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        // `{id}` is an org user or an API key: an org user for both is a valid-looking id.
        ids.insert("id".into(), user["id"].clone());
        let path = concrete(path, &ids);
        for (method_name, operation) in item.as_object().unwrap() {
            let method = Method::from_bytes(method_name.to_uppercase().as_bytes()).unwrap();
            if method == Method::DELETE {
                continue;
            }
            for parameter in operation["parameters"].as_array().into_iter().flatten() {
                if parameter["in"] != "query" {
                    continue;
                }
                let name = parameter["name"].as_str().unwrap();
                for value in ["a%00b".to_owned(), "x".repeat(2560), "1e400".to_owned()] {
                    probe(&app, &method, &format!("{path}?{name}={value}"), None).await;
                    sent += 1;
                }
            }
            let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            if schema.is_null() {
                continue;
            }
            let schema = resolve(&document, schema);
            let properties = schema["properties"].as_object().cloned().unwrap_or_default();
            let required: Vec<&str> =
                schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let base: Map<String, Value> = properties
                .iter()
                .filter(|(name, _)| required.contains(&name.as_str()))
                .map(|(name, property)| (name.clone(), valid(&document, property)))
                .collect();
            for (name, property) in &properties {
                for body in probes(&document, &base, name, property) {
                    probe(&app, &method, &path, Some(body)).await;
                    sent += 1;
                }
            }
        }
    }
    assert!(sent > 300, "the sweep sent only {sent} requests");
}

/// The places a review found answering 500, each now a 422 naming the field.
#[tokio::test]
async fn a_nul_character_is_a_422_naming_its_field() {
    let app = spawn_app().await;
    let case = app.case().await;
    let case_path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    let cases: Vec<(Method, String, Value, &str)> = vec![
        (Method::POST, "/api/v1/sessions".into(), json!({"external_ref": NUL}), "external_ref"),
        (Method::POST, "/api/v1/sessions".into(), json!({"metadata": {NUL: 1}}), "metadata"),
        (Method::POST, "/api/v1/sessions".into(), json!({"metadata": {"k": [NUL]}}), "metadata.k[0]"),
        (Method::PATCH, case_path.clone(), json!({"metadata": {"k": NUL}}), "metadata.k"),
        (Method::POST, "/api/v1/cases/search".into(), json!({"q": NUL}), "q"),
        (
            Method::POST,
            "/api/v1/cases/search".into(),
            json!({"filter": {"field": "metadata.k", "op": "in", "value": ["ok", NUL]}}),
            "filter.value[1]",
        ),
        (Method::POST, "/api/v1/org-users".into(), json!({"name": NUL, "email": "rita@example.com"}), "name"),
        (Method::POST, format!("{case_path}/escalate"), json!({"reason": NUL}), "reason"),
        (Method::POST, format!("{case_path}/notes"), json!({"content": NUL}), "content"),
    ];
    for (method, path, body, field) in cases {
        let reply = probe(&app, &method, &path, Some(body)).await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.field_errors(), [(field.to_owned(), "invalid_value".to_owned())], "{method} {path}");
    }
    let reply = probe(&app, &Method::GET, "/api/v1/sessions?external_ref=a%00b", None).await;
    assert_eq!(reply.field_errors(), [("external_ref".to_owned(), "invalid_value".to_owned())]);
    // Ids keep the contract's own answers.
    let claim = format!("{case_path}/claim");
    probe(&app, &Method::POST, &claim, Some(json!({"reviewer_id": NUL}))).await.assert_error(422, "invalid_reviewer");
    probe(&app, &Method::POST, "/api/v1/cases", Some(json!({"session_id": NUL}))).await.assert_error(404, "not_found");
    assert_eq!(app.get(&format!("{case_path}/notes")).await.status, StatusCode::OK);
}
