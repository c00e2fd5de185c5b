//! PATCH, notes, PII corrections and check overrides.

use casework_domain::directory::Scope;
use casework_domain::tenant::Environment;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app};

fn case_path(case: &Value) -> String {
    format!("/api/v1/cases/{}", case["id"].as_str().unwrap())
}

async fn patch(app: &TestApp, case: &Value, body: Value) -> crate::support::Reply {
    app.call(Method::PATCH, &case_path(case), Some(&app.key), Some(body)).await
}

#[tokio::test]
async fn patch_merges_data_replaces_tags_and_records_one_event() {
    let app = spawn_app().await;
    let case = app.case().await;
    let first = patch(&app, &case, json!({"metadata": {"a": 1, "b": {"x": 1}}, "priority": "high"})).await.json();
    assert_eq!((first["priority"].clone(), first["version"].clone()), (json!("high"), json!(2)));
    let second = patch(&app, &case, json!({"metadata": {"a": null, "c": 3}, "custom_fields": {"k": "v"}})).await.json();
    assert_eq!(second["metadata"], json!({"b": {"x": 1}, "c": 3}));
    assert_eq!(second["custom_fields"], json!({"k": "v"}));
    let tagged = patch(&app, &case, json!({"tags": ["b", "a", "b"]})).await.json();
    assert_eq!(tagged["tags"], json!(["a", "b"]));
    let unchanged = patch(&app, &case, json!({"tags": ["a", "b"], "metadata": {"c": 3}})).await;
    assert_eq!(unchanged.status, StatusCode::OK);
    assert_eq!(unchanged.json()["version"], tagged["version"], "a PATCH that changes nothing is no change");
    let events = app.get(&format!("{}/events", case_path(&case))).await.json();
    let types: Vec<&str> = events["data"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, vec!["created", "updated", "updated", "tags_changed"]);
    assert_eq!(events["data"][3]["changes"], json!({"tags": {"from": [], "to": ["a", "b"]}}));
}

#[tokio::test]
async fn bad_patches_are_422() {
    let app = spawn_app().await;
    let case = app.case().await;
    let reply =
        patch(&app, &case, json!({"metadata": null, "tags": ["OK?"], "priority": "p0", "status": "approved"})).await;
    reply.assert_error(422, "validation_failed");
    let mut errors = reply.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        vec![
            ("metadata".to_owned(), "invalid_type".to_owned()),
            ("priority".to_owned(), "invalid_value".to_owned()),
            ("status".to_owned(), "unknown_field".to_owned()),
            ("tags[0]".to_owned(), "invalid_value".to_owned()),
        ]
    );
    let many: Vec<String> = (0..21).map(|i| format!("t{i}")).collect();
    let reply = patch(&app, &case, json!({"tags": many})).await;
    assert_eq!(reply.field_errors(), vec![("tags".to_owned(), "too_many".to_owned())]);
    let keys: serde_json::Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!(i))).collect();
    let reply = patch(&app, &case, json!({"custom_fields": keys})).await;
    assert_eq!(reply.field_errors(), vec![("custom_fields".to_owned(), "too_many".to_owned())]);
    assert_eq!(app.get(&case_path(&case)).await.json()["version"], 1, "nothing half-written");
}

#[tokio::test]
async fn notes_are_appended_in_order_without_a_new_version() {
    let app = spawn_app().await;
    let case = app.case().await;
    let alice = app.reviewer("Alice").await;
    let path = format!("{}/notes", case_path(&case));
    let first = app.post(&path, json!({"content": "  checked the address  "})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let first = first.json();
    assert_eq!(first["content"], "checked the address");
    assert_eq!((first["author_type"].clone(), first["author_id"].clone()), (json!("api"), Value::Null));
    assert!(first["id"].as_str().unwrap().starts_with("note_"));
    assert_eq!(first["case_id"], case["uuid"]);
    let second = app.post_as(&alice, &path, json!({"content": "agree"})).await.json();
    assert_eq!((second["author_type"].clone(), second["author_id"].clone()), (json!("org"), json!(alice.uuid)));
    assert_eq!(second["author_name"], "Alice");
    let listed = app.get(&path).await.json();
    assert_eq!(listed["pagination"]["total"], 2);
    assert_eq!(listed["data"][0]["id"], first["id"]);
    assert_eq!(app.get(&case_path(&case)).await.json()["version"], 1);
    for (body, code) in [
        (json!({"content": "   "}), "too_short"),
        (json!({"content": "x".repeat(10_001)}), "too_long"),
        (json!({}), "required"),
    ] {
        let reply = app.post(&path, body).await;
        assert_eq!(reply.field_errors(), vec![("content".to_owned(), code.to_owned())]);
    }
    app.post("/api/v1/cases/rvc_000000000000000000000000/notes", json!({"content": "x"}))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn pii_corrections_are_validated_encrypted_and_never_in_events() {
    let app = spawn_app().await;
    let case = app.case().await;
    let path = format!("{}/result/pii", case_path(&case));
    let body = json!({"extracted_data": {"last_name": "Byron", "date_of_birth": "1815-12-10", "first_name": null}});
    let reply = app.call(Method::PUT, &path, Some(&app.key), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let body = reply.json();
    assert_eq!(body["session_id"], case["session_id"]);
    assert_eq!(body["status"], "under_review");
    assert_eq!(
        body["extracted_data"],
        json!({"last_name": "Byron", "date_of_birth": "1815-12-10", "document_number": "X1234567"})
    );
    let read = app.get(&case_path(&case)).await.json();
    assert_eq!(read["version"], 2);
    assert_eq!(read["session"]["extracted_data"]["last_name"], "Byron");
    let events = app.get(&format!("{}/events", case_path(&case))).await;
    assert!(!events.text.contains("Byron") && !events.text.contains("1815"), "{}", events.text);
    let changes = &events.json()["data"][1]["changes"];
    assert_eq!(changes["extracted_data"]["fields"].as_array().unwrap().len(), 3);
    for (bad, field) in [
        (json!({"extracted_data": {"eye_colour": "blue"}}), "extracted_data.eye_colour"),
        (json!({"extracted_data": {"date_of_birth": "10/12/1815"}}), "extracted_data.date_of_birth"),
        (json!({"extracted_data": {}}), "extracted_data"),
    ] {
        let reply = app.call(Method::PUT, &path, Some(&app.key), Some(bad)).await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.field_errors()[0].0, field);
    }
    let no_pii = app.key_with(Environment::Sandbox, &[Scope::CasesWrite, Scope::CasesRead], None).await;
    let reply = app.call(Method::PUT, &path, Some(&no_pii), Some(json!({"extracted_data": {"gender": "F"}}))).await;
    reply.assert_error(403, "insufficient_scope");
}

#[tokio::test]
async fn a_check_override_is_accepted_and_the_summary_follows() {
    let app = spawn_app().await;
    let session = app
        .session(json!({"status": "under_review", "checks": [
            {"policy": "face_match", "status": "failed", "score": 0.4},
            {"policy": "document_ocr", "status": "passed"}
        ]}))
        .await;
    assert_eq!(session["checks_summary"]["outcome"], "failed");
    let case_id = session["case_id"].as_str().unwrap();
    let path = format!("/api/v1/cases/{case_id}/checks/face_match/override");
    let reply = app.post(&path, json!({"passed": true, "reason": "same person, new haircut"})).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    assert_eq!(reply.json(), json!({"case_id": case_id, "policy": "face_match", "status": "accepted"}));
    let read = app.get(&format!("/api/v1/cases/{case_id}")).await.json();
    assert_eq!(read["version"], 2);
    let check = &read["session"]["checks"][0];
    assert_eq!((check["status"].clone(), check["override"]["passed"].clone()), (json!("failed"), json!(true)));
    assert_eq!(check["override"]["reason"], "same person, new haircut");
    assert_eq!(app.state.service.refresh_check_summaries(100).await.unwrap(), 1);
    let read = app.get(&format!("/api/v1/cases/{case_id}")).await.json();
    assert_eq!(
        read["session"]["checks_summary"],
        json!({"total": 2, "passed": 2, "failed": 0, "overridden": 1, "pending": 0, "outcome": "passed"})
    );
    assert_eq!(read["status"], "open", "an override never changes the case's status");
    app.post(&format!("/api/v1/cases/{case_id}/checks/liveness/override"), json!({}))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn retention_wipes_pii_of_terminal_sessions_and_keeps_the_case() {
    let app = spawn_app().await;
    let reply = app
        .call(
            Method::PATCH,
            "/api/v1/organization/settings",
            Some(&app.key),
            Some(json!({"sensitive_data_retention_days": 1})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let alice = app.reviewer("Alice").await;
    let case = app.case().await;
    let kept = app.session(json!({"status": "processing", "extracted_data": {"first_name": "Kept"}})).await;
    app.post_as(&alice, &format!("{}/approve", case_path(&case)), json!({})).await;
    assert_eq!(app.state.service.wipe_expired_pii(100).await.unwrap(), 0, "not yet past retention");
    app.state.clock.shift(time::Duration::days(2));
    assert_eq!(app.state.service.wipe_expired_pii(100).await.unwrap(), 1);
    assert_eq!(app.state.service.wipe_expired_pii(100).await.unwrap(), 0, "once");
    let read = app.get(&case_path(&case)).await.json();
    assert_eq!(read["session"]["extracted_data"], json!({}));
    assert_eq!(read["session"]["sensitive_data_expired"], true);
    assert_eq!(read["decision"], "approved", "the case stays");
    let events = app.get(&format!("{}/events", case_path(&case))).await.json();
    let last = events["data"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["type"].clone(), last["actor"]["type"].clone()), (json!("redacted"), json!("system")));
    let other = app.get(&format!("/api/v1/sessions/{}", kept["id"].as_str().unwrap())).await.json();
    assert_eq!(other["extracted_data"]["first_name"], "Kept", "a session still processing keeps its data");
}
