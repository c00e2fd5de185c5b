//! `/api/v1/cases`: opening, reading and listing.

use casework_domain::tenant::Environment;
use reqwest::StatusCode;
use serde_json::json;

use crate::support::spawn_app;

#[tokio::test]
async fn post_cases_opens_once_then_returns_the_existing_case() {
    let app = spawn_app().await;
    let session = app.session(json!({"status": "processing"})).await;
    let first = app.post("/api/v1/cases", json!({"session_id": session["id"]})).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.text);
    let case = first.json();
    assert_eq!(first.header("etag"), Some("\"1\""));
    assert!(case["id"].as_str().unwrap().starts_with("rvc_"));
    assert_eq!(case["session_id"], session["uuid"]);
    assert_eq!(case["status"], "open");
    assert_eq!(case["priority"], "normal");
    assert_eq!(case["sla"]["status"], "on_track");
    assert!(case.get("session").is_none(), "only GET, next and demo embed the session");
    let again = app.post("/api/v1/cases", json!({"session_id": session["uuid"]})).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["id"], case["id"]);
    let session = app.get(&format!("/api/v1/sessions/{}", session["id"].as_str().unwrap())).await.json();
    assert_eq!((session["status"].clone(), session["case_id"].clone()), (json!("under_review"), case["uuid"].clone()));
}

#[tokio::test]
async fn post_cases_refusals() {
    let app = spawn_app().await;
    let expired = app.session(json!({"status": "expired"})).await;
    app.post("/api/v1/cases", json!({"session_id": expired["id"]})).await.assert_error(409, "session_not_reviewable");
    app.post("/api/v1/cases", json!({"session_id": "ses_000000000000000000000000"}))
        .await
        .assert_error(404, "not_found");
    app.post("/api/v1/cases", json!({"session_id": "garbage"})).await.assert_error(404, "not_found");
    let reply = app.post("/api/v1/cases", json!({"session_id": "x".repeat(65)})).await;
    reply.assert_error(422, "validation_failed");
    assert_eq!(reply.field_errors(), vec![("session_id".to_owned(), "too_long".to_owned())]);
    let reply = app.post("/api/v1/cases", json!({})).await;
    assert_eq!(reply.field_errors(), vec![("session_id".to_owned(), "required".to_owned())]);
}

#[tokio::test]
async fn get_case_embeds_the_session_and_sets_the_etag() {
    let app = spawn_app().await;
    let case = app.case().await;
    for id in [case["id"].as_str().unwrap(), case["uuid"].as_str().unwrap()] {
        let reply = app.get(&format!("/api/v1/cases/{id}")).await;
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(reply.header("etag"), Some("\"1\""));
        let body = reply.json();
        assert_eq!(body["session"]["uuid"], case["session_id"]);
        assert_eq!(body["session"]["extracted_data"]["first_name"], "Ada");
        assert_eq!(body["id"], case["id"]);
    }
    app.get("/api/v1/cases/rvc_000000000000000000000000").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn every_case_field_is_present() {
    let app = spawn_app().await;
    let case = app.case().await;
    let fields = [
        "id",
        "uuid",
        "session_id",
        "status",
        "decision",
        "priority",
        "assigned_to",
        "claimed_at",
        "claim_expires_at",
        "entered_review_at",
        "decided_at",
        "escalated_to",
        "escalation_reason",
        "recommendation",
        "rejection_reason",
        "rejection_reason_code",
        "tags",
        "metadata",
        "custom_fields",
        "sla",
        "is_demo",
        "version",
        "created_at",
        "updated_at",
    ];
    for field in fields {
        assert!(case.get(field).is_some(), "missing {field}: {case}");
    }
    assert_eq!(case.as_object().unwrap().len(), fields.len(), "{case}");
    let created = case["created_at"].as_str().unwrap();
    assert_eq!(created.len(), "2026-11-25T09:30:00.000000Z".len(), "{created}");
}

#[tokio::test]
async fn the_list_filters_sorts_and_pages() {
    let app = spawn_app().await;
    let mut cases = Vec::new();
    for _ in 0..3 {
        cases.push(app.case().await);
    }
    let ids = |body: &serde_json::Value| -> Vec<serde_json::Value> {
        body["data"].as_array().unwrap().iter().map(|c| c["id"].clone()).collect()
    };
    let all = app.get("/api/v1/cases").await.json();
    assert_eq!(all["pagination"], json!({"total": 3, "limit": 25, "offset": 0}));
    assert_eq!(ids(&all), cases.iter().map(|c| c["id"].clone()).collect::<Vec<_>>());
    let reversed = app.get("/api/v1/cases?sort=-created_at").await.json();
    assert_eq!(ids(&reversed), cases.iter().rev().map(|c| c["id"].clone()).collect::<Vec<_>>());
    let page = app.get("/api/v1/cases?limit=1&offset=2").await.json();
    assert_eq!(ids(&page), vec![cases[2]["id"].clone()]);
    let session =
        app.get(&format!("/api/v1/cases?session_id={}", cases[1]["session_id"].as_str().unwrap())).await.json();
    assert_eq!(ids(&session), vec![cases[1]["id"].clone()]);
    let open = app.get("/api/v1/cases?status=open,in_review&priority=normal&tab=unassigned").await.json();
    assert_eq!(open["pagination"]["total"], 3);
    let none = app.get("/api/v1/cases?status=approved").await.json();
    assert_eq!(none["pagination"]["total"], 0);
    let tagged = app.get("/api/v1/cases?tag=pep").await.json();
    assert_eq!(tagged["pagination"]["total"], 0);
    let created = cases[1]["created_at"].as_str().unwrap();
    let window = app.get(&format!("/api/v1/cases?created_after={created}&created_before={created}")).await.json();
    assert_eq!(window["pagination"]["total"], 0, "created_before is exclusive");
    let from = app.get(&format!("/api/v1/cases?created_after={created}")).await.json();
    assert_eq!(ids(&from), vec![cases[1]["id"].clone(), cases[2]["id"].clone()], "created_after is inclusive");
    let mine = app.get("/api/v1/cases?tab=mine").await.json();
    assert_eq!(mine["pagination"]["total"], 0, "a key without a reviewer owns nothing");
    let mine = app.get("/api/v1/cases?tab=mine&reviewer_id=garbage").await.json();
    assert_eq!(mine["pagination"]["total"], 0, "reads never refuse a reviewer id");
}

#[tokio::test]
async fn bad_list_parameters_are_422_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, parameter) in [
        ("status=closed", "status"),
        ("tab=yours", "tab"),
        ("priority=critical", "priority"),
        ("sort=name", "sort"),
        ("limit=0", "limit"),
        ("offset=x", "offset"),
        ("created_after=yesterday", "created_after"),
        ("assigned_to=bob", "assigned_to"),
        ("session_id=ses_bad", "session_id"),
        ("tag=NOT%20A%20TAG", "tag"),
    ] {
        let reply = app.get(&format!("/api/v1/cases?{query}")).await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.field_errors(), vec![(parameter.to_owned(), "invalid_value".to_owned())], "{query}");
    }
    let reply = app.get("/api/v1/cases?unknown=1&limit=500").await;
    assert_eq!(reply.json()["pagination"]["limit"], 100);
}

#[tokio::test]
async fn cases_of_the_other_environment_are_not_listed() {
    let app = spawn_app().await;
    app.case().await;
    let live = app.key_with(Environment::Live, &casework_domain::directory::Scope::ALL, None).await;
    let reply = app.call(reqwest::Method::GET, "/api/v1/cases", Some(&live), None).await;
    assert_eq!(reply.json()["pagination"]["total"], 0);
}

#[tokio::test]
async fn a_well_formed_id_that_names_nothing_filters_to_nothing() {
    let app = spawn_app().await;
    let case = app.case().await;
    let session = case["session_id"].as_str().unwrap();
    let real = app.get(&format!("/api/v1/cases?session_id={session}")).await;
    assert_eq!(real.json()["pagination"]["total"], 1);
    // Bad check digits, digits past 128 bits, another kind's prefix: well-formed, naming nothing.
    for id in ["ses_000000000000000000000000", "ses_zzzzzzzzzzzzzzzzzzzzzzzz", "orguser_0000000000000000000000AB"] {
        for filter in ["session_id", "assigned_to"] {
            let reply = app.get(&format!("/api/v1/cases?{filter}={id}")).await;
            assert_eq!(reply.status, StatusCode::OK, "{filter}={id}: {}", reply.text);
            assert_eq!(reply.json()["pagination"]["total"], 0, "{filter}={id}");
        }
    }
    // Alongside a real id it adds nothing (OR within a parameter).
    let reply = app.get(&format!("/api/v1/cases?session_id={session},ses_000000000000000000000000")).await;
    assert_eq!(reply.json()["pagination"]["total"], 1);
    for malformed in ["nope", "ses_123", "SES_000000000000000000000000"] {
        let reply = app.get(&format!("/api/v1/cases?session_id={malformed}")).await;
        assert_eq!(reply.field_errors(), [("session_id".to_owned(), "invalid_value".to_owned())], "{malformed}");
    }
}
