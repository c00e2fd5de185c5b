//! `POST /cases/search`: every field and operator, `q`, sorting, and the 422 paths.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app};

async fn search(app: &TestApp, body: Value) -> Vec<String> {
    let reply = app.post("/api/v1/cases/search", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json()["data"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

fn condition(field: &str, op: &str, value: Value) -> Value {
    json!({"filter": {"field": field, "op": op, "value": value}})
}

async fn patch(app: &TestApp, case: &Value, body: Value) -> Value {
    let path = format!("/api/v1/cases/{}", case["id"].as_str().unwrap());
    app.call(Method::PATCH, &path, Some(&app.key), Some(body)).await.json()
}

/// Three cases: `a` (urgent, tagged pep, metadata DE/3, user_a), `b` (low, escalated,
/// metadata FR/7), `c` (normal, approved, no metadata).
async fn world(app: &TestApp) -> (Value, Value, Value) {
    let a = app.session(json!({"status": "under_review", "external_ref": "user_a"})).await;
    let b = app.session(json!({"status": "under_review", "external_ref": "user_b"})).await;
    let c = app.session(json!({"status": "under_review"})).await;
    let case = |session: &Value| {
        let uuid = session["case_id"].as_str().unwrap().to_owned();
        async move { app.get(&format!("/api/v1/cases/{uuid}")).await.json() }
    };
    let (a, b, c) = (case(&a).await, case(&b).await, case(&c).await);
    patch(app, &a, json!({"priority": "urgent", "tags": ["pep"], "metadata": {"country": "DE", "score": 3}})).await;
    patch(app, &b, json!({"priority": "low", "metadata": {"country": "FR", "score": 7}})).await;
    let senior = app.reviewer("Senior").await;
    app.post(&format!("/api/v1/cases/{}/escalate", b["id"].as_str().unwrap()), json!({"escalated_to": senior.uuid}))
        .await;
    let approver = app.reviewer("Approver").await;
    let reply =
        app.post_as(&approver, &format!("/api/v1/cases/{}/approve", c["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    (a, b, c)
}

fn ids(cases: &[&Value]) -> Vec<String> {
    cases.iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn every_operator_filters_as_documented() {
    let app = spawn_app().await;
    let (a, b, c) = world(&app).await;
    assert_eq!(search(&app, json!({})).await, ids(&[&a, &b, &c]));
    assert_eq!(search(&app, condition("status", "eq", json!("escalated"))).await, ids(&[&b]));
    assert_eq!(search(&app, condition("status", "neq", json!("escalated"))).await, ids(&[&a, &c]));
    assert_eq!(search(&app, condition("status", "in", json!(["open", "approved"]))).await, ids(&[&a, &c]));
    assert_eq!(search(&app, condition("status", "nin", json!(["open", "approved"]))).await, ids(&[&b]));
    assert_eq!(search(&app, condition("priority", "gte", json!("normal"))).await, ids(&[&a, &c]));
    assert_eq!(search(&app, condition("priority", "gt", json!("normal"))).await, ids(&[&a]));
    assert_eq!(search(&app, condition("priority", "lt", json!("normal"))).await, ids(&[&b]));
    assert_eq!(search(&app, condition("priority", "lte", json!("low"))).await, ids(&[&b]));
    assert_eq!(search(&app, condition("tags", "contains", json!("pep"))).await, ids(&[&a]));
    assert_eq!(search(&app, condition("decision", "eq", json!("approved"))).await, ids(&[&c]));
    assert_eq!(search(&app, condition("decision", "eq", Value::Null)).await, ids(&[&a, &b]));
    assert_eq!(search(&app, condition("decided_at", "exists", json!(true))).await, ids(&[&c]));
    assert_eq!(search(&app, condition("escalated_to", "exists", json!(false))).await, ids(&[&a, &c]));
    assert_eq!(search(&app, condition("assigned_to", "exists", json!(true))).await, ids(&[&b, &c]));
    assert_eq!(search(&app, condition("external_ref", "eq", json!("user_b"))).await, ids(&[&b]));
    assert_eq!(search(&app, condition("external_ref", "exists", json!(false))).await, ids(&[&c]));
    assert_eq!(
        search(&app, condition("session_id", "in", json!([a["session_id"], c["session_id"]]))).await,
        ids(&[&a, &c])
    );
    assert_eq!(search(&app, condition("is_demo", "eq", json!(false))).await.len(), 3);
    assert_eq!(search(&app, condition("metadata.country", "eq", json!("DE"))).await, ids(&[&a]));
    assert_eq!(search(&app, condition("metadata.score", "gt", json!(5))).await, ids(&[&b]));
    assert_eq!(search(&app, condition("metadata.country", "neq", json!("DE"))).await, ids(&[&b, &c]));
    assert_eq!(search(&app, condition("metadata.score", "exists", json!(true))).await, ids(&[&a, &b]));
    assert_eq!(search(&app, condition("custom_fields.x", "exists", json!(true))).await, Vec::<String>::new());
    assert_eq!(search(&app, condition("sla.status", "eq", json!("met"))).await, ids(&[&c]));
    assert_eq!(search(&app, condition("sla.status", "in", json!(["on_track"]))).await, ids(&[&a, &b]));
    let created = b["created_at"].as_str().unwrap();
    assert_eq!(search(&app, condition("created_at", "gte", json!(created))).await, ids(&[&b, &c]));
    assert_eq!(search(&app, condition("entered_review_at", "lt", json!(created))).await, ids(&[&a]));
    let nested = json!({"filter": {"and": [
        {"field": "status", "op": "in", "value": ["open", "in_review", "escalated"]},
        {"or": [{"field": "tags", "op": "contains", "value": "pep"}, {"field": "priority", "op": "gte", "value": "high"}]},
        {"not": {"field": "metadata.country", "op": "eq", "value": "FR"}}
    ]}});
    assert_eq!(search(&app, nested).await, ids(&[&a]));
}

#[tokio::test]
async fn q_matches_ids_external_refs_and_tags_case_insensitively() {
    let app = spawn_app().await;
    let (a, b, _c) = world(&app).await;
    assert_eq!(search(&app, json!({"q": "USER_B"})).await, ids(&[&b]));
    assert_eq!(search(&app, json!({"q": "pep"})).await, ids(&[&a]));
    let case_id = a["id"].as_str().unwrap();
    assert_eq!(search(&app, json!({"q": &case_id[6..18]})).await, ids(&[&a]));
    assert_eq!(search(&app, json!({"q": case_id})).await, ids(&[&a]));
    let session = app.get(&format!("/api/v1/sessions/{}", a["session_id"].as_str().unwrap())).await.json();
    assert_eq!(search(&app, json!({"q": session["id"]})).await, ids(&[&a]));
    assert_eq!(search(&app, json!({"q": "%_%"})).await, Vec::<String>::new(), "wildcards are literal");
}

#[tokio::test]
async fn sort_and_paging() {
    let app = spawn_app().await;
    let (a, b, c) = world(&app).await;
    let body = json!({"sort": [{"field": "priority", "direction": "desc"}]});
    assert_eq!(search(&app, body).await, ids(&[&a, &c, &b]));
    let body = json!({"sort": [{"field": "created_at", "direction": "desc"}], "limit": 1, "offset": 1});
    let reply = app.post("/api/v1/cases/search", body).await.json();
    assert_eq!(reply["pagination"], json!({"total": 3, "limit": 1, "offset": 1}));
    assert_eq!(reply["data"][0]["id"], b["id"]);
}

#[tokio::test]
async fn bad_searches_name_the_json_path() {
    let app = spawn_app().await;
    let body = json!({"filter": {"and": [
        {"field": "status", "op": "eq", "value": "open"},
        {"or": [{"field": "tags", "op": "contains", "value": 7}, {"field": "priority", "op": "gte", "value": "highest"}]},
        {"field": "colour", "op": "eq", "value": "red"},
        {"field": "status", "op": "like", "value": "o%"}
    ]}, "sort": [{"field": "name"}], "extra": 1});
    let reply = app.post("/api/v1/cases/search", body).await;
    reply.assert_error(422, "validation_failed");
    let mut errors = reply.field_errors();
    errors.sort();
    let expected: Vec<(String, String)> = [
        ("extra", "unknown_field"),
        ("filter.and[1].or[0].value", "invalid_type"),
        ("filter.and[1].or[1].value", "invalid_value"),
        ("filter.and[2].field", "invalid_value"),
        ("filter.and[3].op", "invalid_value"),
        ("sort[0].field", "invalid_value"),
    ]
    .iter()
    .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(errors, expected);
}
