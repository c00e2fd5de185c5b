//! Webhooks end to end: endpoints over the API, deliveries from the outbox to a real local
//! receiver, signed both ways, retried by the service clock, disabled by a 410 or the breaker.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::receiver::Receiver;
use crate::support::{TestApp, spawn_app};

/// Registers an endpoint for `receiver` on the app's sandbox key; returns `(id, secret)`.
pub async fn endpoint(app: &TestApp, receiver: &Receiver, body: Value) -> (String, String) {
    let mut body = body;
    body["url"] = json!(receiver.url);
    let reply = app.post("/api/v1/webhooks/endpoints", body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let created = reply.json();
    (created["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned())
}

/// The app with its delivery workers running.
async fn delivering_app() -> TestApp {
    let app = spawn_app().await;
    casework_server::delivery::spawn(app.state.clone());
    app
}

fn events(received: &[crate::receiver::Received]) -> BTreeSet<String> {
    received.iter().map(crate::receiver::Received::event).collect()
}

#[tokio::test]
async fn endpoints_are_managed_with_a_secret_shown_once() {
    let app = spawn_app().await;
    let receiver = Receiver::start();
    let reply = app
        .post(
            "/api/v1/webhooks/endpoints",
            json!({"url": receiver.url, "enabled_events": ["case.approved", "session.approved"], "label": "ops",
                "key_inflection": "camel"}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let created = reply.json();
    assert!(created["id"].as_str().unwrap().starts_with("whe_"));
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() == "whsec_".len() + 44, "{secret}");
    for field in [
        "id", "uuid", "url", "enabled", "enabled_events", "environment", "label", "description", "key_inflection",
        "api_version", "disabled_reason", "created_at", "updated_at",
    ] {
        assert!(created.get(field).is_some(), "{field} missing: {created}");
    }
    assert_eq!(created["environment"], "sandbox");
    let id = created["id"].as_str().unwrap();
    let read = app.get(&format!("/api/v1/webhooks/endpoints/{id}")).await.json();
    assert!(read.get("secret").is_none(), "the secret is shown only on create and rotate");
    assert_eq!(app.get("/api/v1/webhooks/endpoints").await.json()["pagination"]["total"], 1);
    let patched = app
        .call(Method::PATCH, &format!("/api/v1/webhooks/endpoints/{id}"), Some(&app.key), Some(json!({"enabled": false, "label": null})))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!((patched.json()["enabled"].clone(), patched.json()["label"].clone()), (json!(false), Value::Null));
    let rotated = app.post(&format!("/api/v1/webhooks/endpoints/{id}/rotate-secret"), json!({})).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    assert_ne!(rotated.json()["secret"].as_str().unwrap(), secret);
    let bad = app.post("/api/v1/webhooks/endpoints", json!({"url": receiver.url, "enabled_events": ["case.approved", "x", "case.nope"]})).await;
    assert_eq!(
        bad.field_errors(),
        [("enabled_events[1]".to_owned(), "invalid_value".to_owned()), ("enabled_events[2]".to_owned(), "invalid_value".to_owned())]
    );
    let foreign = app.foreign_key().await;
    let other = app.call(Method::GET, &format!("/api/v1/webhooks/endpoints/{id}"), Some(&foreign), None).await;
    other.assert_error(404, "not_found");
    let deleted = app.call(Method::DELETE, &format!("/api/v1/webhooks/endpoints/{id}"), Some(&app.key), None).await;
    assert_eq!(deleted.status, StatusCode::OK);
    app.get(&format!("/api/v1/webhooks/endpoints/{id}")).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn live_endpoints_must_be_https_and_public() {
    let app = spawn_app().await;
    let live = app.key_with(casework_domain::tenant::Environment::Live, &casework_domain::directory::Scope::ALL, None).await;
    for url in ["http://hooks.example.com/x", "https://127.0.0.1/x", "https://localhost/x", "https://[::1]/x", "https://169.254.169.254/latest"] {
        let reply = app.call(Method::POST, "/api/v1/webhooks/endpoints", Some(&live), Some(json!({"url": url}))).await;
        assert_eq!(reply.field_errors(), [("url".to_owned(), "invalid_value".to_owned())], "{url}: {}", reply.text);
    }
    let reply = app.call(Method::POST, "/api/v1/webhooks/endpoints", Some(&live), Some(json!({"url": "https://93.184.216.34/x"}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json()["environment"], "live");
}

#[tokio::test]
async fn an_approval_reaches_the_receiver_signed_both_ways_within_a_second() {
    let app = delivering_app().await;
    let receiver = Receiver::start();
    let (_, secret) = endpoint(&app, &receiver, json!({"enabled_events": ["case.approved", "session.approved"]})).await;
    let reviewer = app.reviewer("Rita").await;
    let case = app.case().await;
    let id = case["id"].as_str().unwrap();
    app.post_as(&reviewer, &format!("/api/v1/cases/{id}/claim"), json!({})).await;
    let committed = std::time::Instant::now();
    let approved = app.post_as(&reviewer, &format!("/api/v1/cases/{id}/approve"), json!({})).await;
    assert_eq!(approved.status, StatusCode::OK, "{}", approved.text);
    let received = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(events(&received), BTreeSet::from(["case.approved".to_owned(), "session.approved".to_owned()]));
    for delivery in &received {
        assert!(delivery.at.duration_since(committed) < Duration::from_secs(1), "{:?}", delivery.at.duration_since(committed));
        assert!(delivery.verify(&secret), "both signatures verify");
        assert!(delivery.header("x-verifa-delivery-id").starts_with("whd_"));
        assert_eq!(delivery.header("webhook-id"), delivery.header("x-verifa-delivery-id"));
        assert_eq!(delivery.header("content-type"), "application/json");
        assert!(delivery.header("user-agent").starts_with("Casework-Webhooks/"));
        let body = delivery.json();
        assert_eq!(body["event"], delivery.event());
        assert!(body["id"].as_str().unwrap().starts_with("evt_"));
        assert!(body["idempotency_key"].as_str().unwrap().starts_with("idk_"));
        assert_eq!(body["is_sandbox"], true);
    }
    let session_event = received.iter().find(|r| r.event() == "session.approved").unwrap().json();
    assert_eq!(session_event["session_id"], case["session_id"]);
    assert_eq!(session_event["status"], "approved");
    assert_eq!(session_event["external_ref"], "user_4812");
    assert_eq!(session_event["data"]["session"]["uuid"], case["session_id"]);
    assert!(session_event["data"]["session"].get("extracted_data").is_none(), "no PII");
    let case_event = received.iter().find(|r| r.event() == "case.approved").unwrap().json();
    assert_eq!(case_event["data"]["case"]["status"], "approved");
    assert_eq!(case_event["data"]["case"]["id"], case["id"]);
}

#[tokio::test]
async fn every_event_type_is_delivered_signed_and_without_pii() {
    let app = delivering_app().await;
    let receiver = Receiver::start();
    let (endpoint_id, secret) = endpoint(&app, &receiver, json!({})).await;
    let rita = app.reviewer("Rita").await;
    let sam = app.reviewer("Sam").await;
    let pii = json!({"first_name": "Zebulon", "last_name": "Quixotic", "document_number": "ZZ9988776",
        "ssn": "987-65-4321", "date_of_birth": "1984-02-29"});
    let session = app
        .session(json!({"status": "under_review", "external_ref": "ref_1", "extracted_data": pii,
            "checks": [{"policy": "face_match", "status": "failed", "score": 0.3}]}))
        .await;
    let case = app.get(&format!("/api/v1/cases?session_id={}", session["id"].as_str().unwrap())).await.json()["data"][0].clone();
    let id = case["id"].as_str().unwrap().to_owned();
    let path = |action: &str| format!("/api/v1/cases/{id}/{action}");
    let steps: Vec<(&str, Value)> = vec![
        ("claim", json!({})),
        ("release", json!({})),
        ("assign", json!({"assignee_id": sam.uuid})),
        ("claim", json!({})),
        ("notes", json!({"content": "looks fine"})),
        ("checks/face_match/override", json!({"passed": true, "reason": "manual check"})),
    ];
    for (action, body) in steps {
        let reply = app.post_as(&rita, &path(action), body).await;
        assert!(reply.status.is_success(), "{action}: {}", reply.text);
    }
    let pii_update = app
        .call(Method::PUT, &path("result/pii"), Some(&rita.key), Some(json!({"extracted_data": {"first_name": "Zebadiah"}})))
        .await;
    assert!(pii_update.status.is_success(), "{}", pii_update.text);
    let patch = app.call(Method::PATCH, &format!("/api/v1/cases/{id}"), Some(&rita.key), Some(json!({"tags": ["pep"]}))).await;
    assert!(patch.status.is_success(), "{}", patch.text);
    app.post_as(&rita, &path("escalate"), json!({"reason": "second opinion"})).await;
    let reject = app.post_as(&rita, &path("reject"), json!({"rejection_reason": "face mismatch", "rejection_reason_code": "face_mismatch"})).await;
    assert_eq!(reject.status, StatusCode::OK, "{}", reject.text);
    let approved = app.case().await;
    let reply = app.post_as(&sam, &format!("/api/v1/cases/{}/approve", approved["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(reply.json()["status"], "approved", "{}", reply.text);
    // Dual review: a recommendation.
    app.call(Method::PATCH, "/api/v1/organization/settings", Some(&app.key), Some(json!({"dual_review": true}))).await;
    let second = app.case().await;
    let reply = app.post_as(&sam, &format!("/api/v1/cases/{}/approve", second["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(reply.json()["status"], "pending_second_review", "{}", reply.text);
    // Sandbox sessions: declined, expired, link generated, requires review.
    for action in ["decline", "expire", "require-review"] {
        let fresh = app.session(json!({})).await;
        let reply = app.post(&format!("/api/v1/sessions/{}/simulate", fresh["id"].as_str().unwrap()), json!({"action": action})).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let fresh = app.session(json!({})).await;
    let link = app.post(&format!("/api/v1/sessions/{}/generate-one-time-link", fresh["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(link.status, StatusCode::CREATED, "{}", link.text);
    let test = app.post(&format!("/api/v1/webhooks/endpoints/{endpoint_id}/test"), json!({})).await;
    assert_eq!(test.status, StatusCode::ACCEPTED, "{}", test.text);
    // The lease of a claim lapses: the sweeper's event.
    let third = app.case().await;
    app.post_as(&rita, &format!("/api/v1/cases/{}/claim", third["id"].as_str().unwrap()), json!({})).await;
    app.state.clock.shift(time::Duration::hours(1));
    app.state.service.sweep_lapsed_claims(100).await.unwrap();

    let expected: BTreeSet<String> = casework_domain::webhook::EVENT_NAMES
        .iter()
        .filter(|name| **name != "case.agent_recommended")
        .map(|name| (*name).to_owned())
        .collect();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let received = loop {
        let received = receiver.received();
        if events(&received).is_superset(&expected) || std::time::Instant::now() > deadline {
            break received;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let seen = events(&received);
    let missing: Vec<&String> = expected.difference(&seen).collect();
    assert!(missing.is_empty(), "not delivered: {missing:?}");
    for delivery in &received {
        assert!(delivery.verify(&secret), "{} verifies both ways", delivery.event());
        let text = String::from_utf8_lossy(&delivery.body);
        for value in ["Zebulon", "Zebadiah", "Quixotic", "ZZ9988776", "987-65-4321", "1984-02-29"] {
            assert!(!text.contains(value), "PII {value} in {}: {text}", delivery.event());
        }
        let body = delivery.json();
        if delivery.event().starts_with("session.") {
            for field in ["session_id", "external_ref", "status", "is_sandbox"] {
                assert!(body.get(field).is_some(), "{field} in {text}");
            }
            assert!(body["data"]["session"]["id"].as_str().unwrap().starts_with("ses_"));
        }
    }
}
