//! `/api/v1/sessions`: ingestion, reading, listing, PII access.

use casework_domain::directory::Scope;
use casework_domain::tenant::Environment;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::spawn_app;

fn full_session() -> serde_json::Value {
    json!({
        "external_ref": "user_4812",
        "metadata": {"channel": "web"},
        "status": "processing",
        "checks": [
            {"policy": "face_match", "status": "failed", "score": 0.41, "details": {"threshold": 0.8}},
            {"policy": "document_ocr", "status": "passed"},
            {"policy": "watchlist_screening", "status": "requires_retry", "score": null}
        ],
        "extracted_data": {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1815-12-10",
            "nationality": "GB", "address": {"line1": "12 St James's Square", "country": "GB"}}
    })
}

#[tokio::test]
async fn a_session_is_ingested_and_read_back_by_either_id() {
    let app = spawn_app().await;
    let session = app.session(full_session()).await;
    let id = session["id"].as_str().unwrap();
    assert!(id.starts_with("ses_") && id.len() == 28, "{id}");
    assert_eq!(session["status"], "processing");
    assert_eq!(session["is_sandbox"], true);
    assert_eq!(session["case_id"], json!(null));
    assert_eq!(session["sensitive_data_expired"], false);
    assert_eq!(session["checks"][0]["override"], json!(null));
    assert_eq!(session["checks"][0]["details"], json!({"threshold": 0.8}));
    assert_eq!(
        session["checks_summary"],
        json!({"total": 3, "passed": 1, "failed": 1, "overridden": 0, "pending": 1, "outcome": "failed"})
    );
    assert_eq!(session["extracted_data"]["address"]["line1"], "12 St James's Square");
    assert!(session["created_at"].as_str().unwrap().ends_with('Z'));
    for path_id in [id, session["uuid"].as_str().unwrap()] {
        let reply = app.get(&format!("/api/v1/sessions/{path_id}")).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.json(), session);
    }
}

#[tokio::test]
async fn a_session_under_review_opens_its_case_in_the_same_request() {
    let app = spawn_app().await;
    let session = app.session(json!({"status": "under_review"})).await;
    let case_uuid = session["case_id"].as_str().unwrap();
    let case = app.get(&format!("/api/v1/cases/{case_uuid}")).await.json();
    assert_eq!(case["session_id"], session["uuid"]);
    assert_eq!(case["status"], "open");
    assert_eq!(case["version"], 1);
}

#[tokio::test]
async fn pii_needs_verifications_read() {
    let app = spawn_app().await;
    let session = app.session(full_session()).await;
    let key = app.key_with(Environment::Sandbox, &[Scope::SessionsRead], None).await;
    let reply =
        app.call(Method::GET, &format!("/api/v1/sessions/{}", session["id"].as_str().unwrap()), Some(&key), None).await;
    let body = reply.json();
    assert!(body.get("extracted_data").is_none(), "{body}");
    assert_eq!(body["external_ref"], "user_4812");
}

#[tokio::test]
async fn bad_sessions_are_422_naming_each_path() {
    let app = spawn_app().await;
    let reply = app
        .post(
            "/api/v1/sessions",
            json!({
                "status": "approved",
                "external_ref": "x".repeat(256),
                "metadata": [],
                "checks": [{"policy": "Face Match", "status": "great"}, "nope", {"status": "passed"}],
                "extracted_data": {"nationality": "de", "shoe_size": 43},
            }),
        )
        .await;
    reply.assert_error(422, "validation_failed");
    let mut errors = reply.field_errors();
    errors.sort();
    let expected: Vec<(String, String)> = [
        ("checks[0].policy", "invalid_value"),
        ("checks[0].status", "invalid_value"),
        ("checks[1]", "invalid_type"),
        ("checks[2].policy", "required"),
        ("external_ref", "too_long"),
        ("extracted_data.nationality", "invalid_value"),
        ("extracted_data.shoe_size", "unknown_field"),
        ("metadata", "invalid_type"),
        ("status", "invalid_value"),
    ]
    .iter()
    .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
    .collect();
    assert_eq!(errors, expected);
    let listed = app.get("/api/v1/sessions").await.json();
    assert_eq!(listed["pagination"]["total"], 0, "nothing half-written");
}

#[tokio::test]
async fn too_many_checks_is_422() {
    let app = spawn_app().await;
    let checks: Vec<_> = (0..51).map(|_| json!({"policy": "face_match", "status": "passed"})).collect();
    let reply = app.post("/api/v1/sessions", json!({"checks": checks})).await;
    reply.assert_error(422, "validation_failed");
    assert_eq!(reply.field_errors(), vec![("checks".to_owned(), "too_many".to_owned())]);
}

#[tokio::test]
async fn sessions_list_newest_first_with_filters_and_the_envelope() {
    let app = spawn_app().await;
    let first = app.session(json!({"external_ref": "a", "status": "completed"})).await;
    let second = app.session(json!({"external_ref": "b"})).await;
    let third = app.session(json!({"external_ref": "a", "status": "failed"})).await;
    let all = app.get("/api/v1/sessions").await.json();
    assert_eq!(all["pagination"], json!({"total": 3, "limit": 50, "offset": 0}));
    let ids: Vec<_> = all["data"].as_array().unwrap().iter().map(|s| s["id"].clone()).collect();
    assert_eq!(ids, vec![third["id"].clone(), second["id"].clone(), first["id"].clone()]);
    let filtered = app.get("/api/v1/sessions?external_ref=a&status=completed,pending").await.json();
    assert_eq!(filtered["data"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["data"][0]["id"], first["id"]);
    let paged = app.get("/api/v1/sessions?limit=1&offset=1").await.json();
    assert_eq!(paged["data"][0]["id"], second["id"]);
    assert_eq!(app.get("/api/v1/sessions?limit=500").await.json()["pagination"]["limit"], 100);
    for bad in ["limit=0", "limit=x", "offset=-1", "status=nope"] {
        let reply = app.get(&format!("/api/v1/sessions?{bad}")).await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.field_errors()[0].0, bad.split('=').next().unwrap());
    }
}

#[tokio::test]
async fn unknown_and_malformed_session_ids_are_404() {
    let app = spawn_app().await;
    for id in ["ses_000000000000000000000000", "nope", "00000000-0000-0000-0000-000000000000"] {
        app.get(&format!("/api/v1/sessions/{id}")).await.assert_error(404, "not_found");
    }
}
