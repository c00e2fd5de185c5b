//! Sandbox sessions as Verifa's clients drive them: `simulate`, `result`, the one-time link and
//! its capture page, and the `session.*` webhooks they emit.

use std::time::Duration;

use base64::Engine;
use casework_domain::directory::Scope;
use casework_domain::tenant::Environment;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::receiver::Receiver;
use crate::support::spawn_app;
use crate::webhooks::endpoint;

#[tokio::test]
async fn simulate_then_result_then_webhook_for_all_four_outcomes() {
    let app = spawn_app().await;
    casework_server::delivery::spawn(app.state.clone());
    let receiver = Receiver::start();
    let (_, secret) = endpoint(
        &app,
        &receiver,
        json!({"enabled_events": [
        "session.approved", "session.declined", "session.requires-review", "session.expired"]}),
    )
    .await;
    let cases = [
        ("approve", "completed", Some("approved"), "session.approved"),
        ("decline", "completed", Some("declined"), "session.declined"),
        ("require-review", "under_review", Some("needs_review"), "session.requires-review"),
        ("expire", "expired", None, "session.expired"),
    ];
    for (index, (action, status, result, event)) in cases.into_iter().enumerate() {
        let session = app.session(json!({"external_ref": format!("demo_{action}"), "metadata": {"flow": "sdk"}})).await;
        let id = session["id"].as_str().unwrap();
        let none = app.get(&format!("/api/v1/sessions/{id}/result")).await;
        none.assert_error(404, "not_found");
        assert_eq!(none.json()["detail"], "Result not found.");
        let reply = app.post(&format!("/api/v1/sessions/{id}/simulate"), json!({"action": action})).await;
        assert_eq!(reply.status, StatusCode::OK, "{action}: {}", reply.text);
        let simulated = reply.json();
        assert_eq!(simulated["status"], status, "{action}");
        assert!(!simulated["checks"].as_array().unwrap().is_empty(), "synthetic checks");
        let read = app.get(&format!("/api/v1/sessions/{id}/result")).await;
        match result {
            Some(verdict) => {
                assert_eq!(read.status, StatusCode::OK, "{}", read.text);
                let body = read.json();
                assert_eq!(body["status"], verdict);
                assert_eq!(body["session_id"], session["uuid"]);
                assert_eq!(body["is_sandbox"], true);
                assert!(body["check_results"]["face_match"]["status"].is_string(), "{body}");
                if verdict == "declined" {
                    assert!(body["rejection_reason"].is_string() && body["rejection_reason_code"].is_string());
                }
                if verdict == "needs_review" {
                    assert!(body["decided_at"].is_null());
                    assert!(simulated["case_id"].is_string(), "its case opened");
                } else {
                    assert!(body["decided_at"].is_string());
                }
            }
            None => {
                read.assert_error(404, "not_found");
            }
        }
        let received = receiver.wait_for(index + 1, Duration::from_secs(5)).await;
        let delivery = received.iter().find(|r| r.event() == event).unwrap_or_else(|| panic!("{event} not delivered"));
        assert!(delivery.verify(&secret));
        let payload = delivery.json();
        assert_eq!(payload["session_id"], session["uuid"]);
        assert_eq!(payload["external_ref"], format!("demo_{action}"));
        assert_eq!(payload["status"], status);
        assert_eq!(payload["data"]["session"]["metadata"], json!({"flow": "sdk"}));
        let again = app.post(&format!("/api/v1/sessions/{id}/simulate"), json!({"action": "approve"})).await;
        again.assert_error(409, "invalid_transition");
    }
}

#[tokio::test]
async fn a_final_decision_sets_the_sessions_result_in_the_same_transaction() {
    let app = spawn_app().await;
    let reviewer = app.reviewer("Rita").await;
    let case = app.case().await;
    let session = app.get(&format!("/api/v1/sessions/{}", case["session_id"].as_str().unwrap())).await.json();
    let result = format!("/api/v1/sessions/{}/result", session["id"].as_str().unwrap());
    assert_eq!(app.get(&result).await.json()["status"], "needs_review");
    let id = case["id"].as_str().unwrap();
    app.post_as(&reviewer, &format!("/api/v1/cases/{id}/claim"), json!({})).await;
    let rejected = app
        .post_as(
            &reviewer,
            &format!("/api/v1/cases/{id}/reject"),
            json!({"rejection_reason": "forged", "rejection_reason_code": "document_fraud"}),
        )
        .await;
    assert_eq!(rejected.status, StatusCode::OK, "{}", rejected.text);
    let body = app.get(&result).await.json();
    assert_eq!(body["status"], "declined");
    assert_eq!(
        (body["rejection_reason"].clone(), body["rejection_reason_code"].clone()),
        (json!("forged"), json!("document_fraud"))
    );
    assert_eq!(body["decided_at"], rejected.json()["decided_at"]);
    assert!(body.get("extracted_data").is_some(), "with verifications:read");
}

#[tokio::test]
async fn sandbox_calls_refuse_live_keys_and_bad_bodies() {
    let app = spawn_app().await;
    let live = app.key_with(Environment::Live, &Scope::ALL, None).await;
    let session = app.call(Method::POST, "/api/v1/sessions", Some(&live), Some(json!({}))).await.json();
    let id = session["id"].as_str().unwrap();
    for (path, body) in [("simulate", json!({"action": "approve"})), ("generate-one-time-link", json!({}))] {
        let reply = app.call(Method::POST, &format!("/api/v1/sessions/{id}/{path}"), Some(&live), Some(body)).await;
        reply.assert_error(403, "sandbox_only");
    }
    let sandbox = app.session(json!({})).await;
    let id = sandbox["id"].as_str().unwrap();
    let bad = app.post(&format!("/api/v1/sessions/{id}/simulate"), json!({"action": "approved"})).await;
    assert_eq!(bad.field_errors(), [("action".to_owned(), "invalid_value".to_owned())]);
    let missing = app.post(&format!("/api/v1/sessions/{id}/simulate"), json!({})).await;
    assert_eq!(missing.field_errors(), [("action".to_owned(), "required".to_owned())]);
    let long =
        app.post(&format!("/api/v1/sessions/{id}/generate-one-time-link"), json!({"expires_in_minutes": 10081})).await;
    assert_eq!(long.field_errors(), [("expires_in_minutes".to_owned(), "out_of_range".to_owned())]);
    app.post("/api/v1/sessions/ses_000000000000000000000000/simulate", json!({"action": "approve"}))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn the_one_time_link_opens_a_capture_page_whose_buttons_decide_once() {
    let app = spawn_app().await;
    let session = app.session(json!({"external_ref": "capture_me"})).await;
    let id = session["id"].as_str().unwrap();
    let reply =
        app.post(&format!("/api/v1/sessions/{id}/generate-one-time-link"), json!({"expires_in_minutes": 5})).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let link = reply.json();
    let capture_url = link["capture_url"].as_str().unwrap();
    assert!(capture_url.starts_with(&format!("{}/sandbox/capture/", app.address)), "{capture_url}");
    let png = link["qr_code_data_url"].as_str().unwrap().strip_prefix("data:image/png;base64,").unwrap();
    let png = base64::engine::general_purpose::STANDARD.decode(png).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let page = app.client.get(capture_url).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("capture_me") && html.contains(id));
    for action in ["approve", "decline", "require-review", "expire"] {
        assert!(html.contains(&format!("value=\"{action}\"")), "{action} button");
    }
    let decided = app.client.post(capture_url).form(&[("action", "require-review")]).send().await.unwrap();
    assert_eq!(decided.status(), StatusCode::OK);
    assert!(decided.text().await.unwrap().contains("under review"));
    let read = app.get(&format!("/api/v1/sessions/{id}")).await.json();
    assert_eq!(read["status"], "under_review");
    assert!(read["case_id"].is_string());
    let spent = app.client.post(capture_url).form(&[("action", "approve")]).send().await.unwrap();
    assert_eq!(spent.status(), StatusCode::NOT_FOUND, "single-use");
    assert!(spent.text().await.unwrap().contains("used or has expired"), "a page for a person, not JSON");
    assert_eq!(app.client.get(capture_url).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    // An expired link opens nothing.
    let other = app.session(json!({})).await;
    let link = app
        .post(&format!("/api/v1/sessions/{}/generate-one-time-link", other["id"].as_str().unwrap()), json!({}))
        .await
        .json();
    app.state.clock.shift(time::Duration::minutes(31));
    let expired = app.client.get(link["capture_url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(expired.status(), StatusCode::NOT_FOUND);
}
