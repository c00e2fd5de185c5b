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

/// The app delivering with a one-minute fallback poll: only the commit's NOTIFY wakes it in time.
async fn notified_app() -> TestApp {
    let app = crate::support::spawn_app_with(&[("CASEWORK__WORKERS__WEBHOOK_POLL_INTERVAL_MS", "60000")]).await;
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
        "id",
        "uuid",
        "url",
        "enabled",
        "enabled_events",
        "environment",
        "label",
        "description",
        "key_inflection",
        "api_version",
        "disabled_reason",
        "created_at",
        "updated_at",
    ] {
        assert!(created.get(field).is_some(), "{field} missing: {created}");
    }
    assert_eq!(created["environment"], "sandbox");
    let id = created["id"].as_str().unwrap();
    let read = app.get(&format!("/api/v1/webhooks/endpoints/{id}")).await.json();
    assert!(read.get("secret").is_none(), "the secret is shown only on create and rotate");
    assert_eq!(app.get("/api/v1/webhooks/endpoints").await.json()["pagination"]["total"], 1);
    let patched = app
        .call(
            Method::PATCH,
            &format!("/api/v1/webhooks/endpoints/{id}"),
            Some(&app.key),
            Some(json!({"enabled": false, "label": null})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    assert_eq!((patched.json()["enabled"].clone(), patched.json()["label"].clone()), (json!(false), Value::Null));
    let rotated = app.post(&format!("/api/v1/webhooks/endpoints/{id}/rotate-secret"), json!({})).await;
    assert_eq!(rotated.status, StatusCode::OK, "{}", rotated.text);
    assert_ne!(rotated.json()["secret"].as_str().unwrap(), secret);
    let bad = app
        .post(
            "/api/v1/webhooks/endpoints",
            json!({"url": receiver.url, "enabled_events": ["case.approved", "x", "case.nope"]}),
        )
        .await;
    assert_eq!(
        bad.field_errors(),
        [
            ("enabled_events[1]".to_owned(), "invalid_value".to_owned()),
            ("enabled_events[2]".to_owned(), "invalid_value".to_owned())
        ]
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
    let live =
        app.key_with(casework_domain::tenant::Environment::Live, &casework_domain::directory::Scope::ALL, None).await;
    for url in [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest",
    ] {
        let reply = app.call(Method::POST, "/api/v1/webhooks/endpoints", Some(&live), Some(json!({"url": url}))).await;
        assert_eq!(reply.field_errors(), [("url".to_owned(), "invalid_value".to_owned())], "{url}: {}", reply.text);
    }
    let reply = app
        .call(Method::POST, "/api/v1/webhooks/endpoints", Some(&live), Some(json!({"url": "https://93.184.216.34/x"})))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json()["environment"], "live");
}

#[tokio::test]
async fn an_approval_reaches_the_receiver_signed_both_ways_within_a_second() {
    let app = notified_app().await;
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
        assert!(
            delivery.at.duration_since(committed) < Duration::from_secs(1),
            "{:?}",
            delivery.at.duration_since(committed)
        );
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
    let case = app.get(&format!("/api/v1/cases?session_id={}", session["id"].as_str().unwrap())).await.json()["data"]
        [0]
    .clone();
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
        .call(
            Method::PUT,
            &path("result/pii"),
            Some(&rita.key),
            Some(json!({"extracted_data": {"first_name": "Zebadiah"}})),
        )
        .await;
    assert!(pii_update.status.is_success(), "{}", pii_update.text);
    let patch =
        app.call(Method::PATCH, &format!("/api/v1/cases/{id}"), Some(&rita.key), Some(json!({"tags": ["pep"]}))).await;
    assert!(patch.status.is_success(), "{}", patch.text);
    app.post_as(&rita, &path("escalate"), json!({"reason": "second opinion"})).await;
    let reject = app
        .post_as(
            &rita,
            &path("reject"),
            json!({"rejection_reason": "face mismatch", "rejection_reason_code": "face_mismatch"}),
        )
        .await;
    assert_eq!(reject.status, StatusCode::OK, "{}", reject.text);
    let approved = app.case().await;
    let reply =
        app.post_as(&sam, &format!("/api/v1/cases/{}/approve", approved["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(reply.json()["status"], "approved", "{}", reply.text);
    // Dual review: a recommendation.
    app.call(Method::PATCH, "/api/v1/organization/settings", Some(&app.key), Some(json!({"dual_review": true}))).await;
    let second = app.case().await;
    let reply =
        app.post_as(&sam, &format!("/api/v1/cases/{}/approve", second["id"].as_str().unwrap()), json!({})).await;
    assert_eq!(reply.json()["status"], "pending_second_review", "{}", reply.text);
    // Sandbox sessions: declined, expired, link generated, requires review.
    for action in ["decline", "expire", "require-review"] {
        let fresh = app.session(json!({})).await;
        let reply = app
            .post(&format!("/api/v1/sessions/{}/simulate", fresh["id"].as_str().unwrap()), json!({"action": action}))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    }
    let fresh = app.session(json!({})).await;
    let link = app
        .post(&format!("/api/v1/sessions/{}/generate-one-time-link", fresh["id"].as_str().unwrap()), json!({}))
        .await;
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

/// The delivery log of an endpoint.
async fn log(app: &TestApp, endpoint_id: &str) -> Vec<Value> {
    let reply = app.get(&format!("/api/v1/webhooks/endpoints/{endpoint_id}/deliveries")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    reply.json()["data"].as_array().unwrap().clone()
}

/// Waits until `check` holds of the endpoint's delivery log (at most 10 s).
/// Whether a delivery's latest attempt has finished by the service's now: attempts are counted
/// when leased, and a finished one has its retry scheduled later (or the delivery is done).
fn finished_by_now(app: &TestApp) -> impl Fn(&Value) -> bool {
    let now = casework_api::wire::format_time(app.state.service.now());
    move |d: &Value| d["state"] != "pending" || d["next_attempt_at"].as_str().is_some_and(|at| at > now.as_str())
}

async fn log_until(app: &TestApp, endpoint_id: &str, check: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let entries = log(app, endpoint_id).await;
        if check(&entries) || std::time::Instant::now() > deadline {
            return entries;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

async fn send_test(app: &TestApp, endpoint_id: &str) -> Value {
    let reply = app.post(&format!("/api/v1/webhooks/endpoints/{endpoint_id}/test"), json!({})).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    reply.json()
}

#[tokio::test]
async fn a_failed_attempt_is_retried_by_the_clock_with_the_same_id_body_and_key() {
    let app = delivering_app().await;
    let receiver = Receiver::start();
    receiver.answer(&[500]);
    let (endpoint_id, _) = endpoint(&app, &receiver, json!({})).await;
    send_test(&app, &endpoint_id).await;
    let first = receiver.wait_for(1, Duration::from_secs(5)).await;
    let entries = log_until(&app, &endpoint_id, |e| e[0]["attempts"] == 1 && e[0]["last_status_code"] == 500).await;
    assert_eq!((entries[0]["state"].clone(), entries[0]["last_status_code"].clone()), (json!("pending"), json!(500)));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1, "nothing before the retry is due");
    app.state.clock.shift(time::Duration::seconds(40));
    let both = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert_eq!(both.len(), 2);
    assert_eq!(both[1].header("x-verifa-delivery-id"), first[0].header("x-verifa-delivery-id"));
    assert_eq!(both[1].body, first[0].body, "the same bytes");
    assert_eq!(both[1].json()["idempotency_key"], first[0].json()["idempotency_key"]);
    let entries = log_until(&app, &endpoint_id, |e| e[0]["state"] == "succeeded").await;
    assert_eq!((entries[0]["attempts"].clone(), entries[0]["last_status_code"].clone()), (json!(2), json!(200)));
    assert!(entries[0]["delivered_at"].is_string());
}

#[tokio::test]
async fn a_receiver_down_for_ten_minutes_gets_every_event_at_its_next_attempts() {
    let app = delivering_app().await;
    let receiver = Receiver::start();
    receiver.answer(&[503; 12]);
    let (endpoint_id, _) = endpoint(&app, &receiver, json!({})).await;
    for _ in 0..4 {
        send_test(&app, &endpoint_id).await;
    }
    // Down: the first attempts and the retries of the next minutes fail (30 s, then 2 min).
    for (shift, attempts) in [(0, 4), (40, 8), (150, 12)] {
        app.state.clock.shift(time::Duration::seconds(shift));
        assert_eq!(receiver.wait_for(attempts, Duration::from_secs(5)).await.len(), attempts);
        let finished = finished_by_now(&app);
        log_until(&app, &endpoint_id, |e| {
            e.iter().all(|d| {
                d["attempts"].as_u64() == Some(attempts as u64 / 4) && d["last_status_code"] == 503 && finished(d)
            })
        })
        .await;
    }
    // Up again: the next scheduled attempt (8 minutes) delivers everything.
    app.state.clock.shift(time::Duration::minutes(10));
    let entries = log_until(&app, &endpoint_id, |e| e.iter().all(|d| d["state"] == "succeeded")).await;
    assert!(entries.iter().all(|d| d["state"] == "succeeded" && d["attempts"] == 4), "{entries:?}");
}

#[tokio::test]
async fn gone_disables_the_endpoint_and_what_waits_goes_out_when_it_is_enabled() {
    let app = delivering_app().await;
    let receiver = Receiver::start();
    receiver.answer(&[410]);
    let (endpoint_id, _) = endpoint(&app, &receiver, json!({})).await;
    send_test(&app, &endpoint_id).await;
    receiver.wait_for(1, Duration::from_secs(5)).await;
    let path = format!("/api/v1/webhooks/endpoints/{endpoint_id}");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while app.get(&path).await.json()["enabled"] == true && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let disabled = app.get(&path).await.json();
    assert_eq!((disabled["enabled"].clone(), disabled["disabled_reason"].clone()), (json!(false), json!("gone")));
    send_test(&app, &endpoint_id).await;
    app.state.clock.shift(time::Duration::minutes(5));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 1, "nothing goes to a disabled endpoint");
    let enabled = app.call(Method::PATCH, &path, Some(&app.key), Some(json!({"enabled": true}))).await;
    assert_eq!(
        (enabled.json()["enabled"].clone(), enabled.json()["disabled_reason"].clone()),
        (json!(true), Value::Null)
    );
    let received = receiver.wait_for(3, Duration::from_secs(5)).await;
    assert_eq!(received.len(), 3, "the kept deliveries went out");
}

#[tokio::test]
async fn redirects_are_failures_and_are_not_followed() {
    let app = delivering_app().await;
    let receiver = Receiver::start();
    receiver.answer(&[302]);
    let (endpoint_id, _) = endpoint(&app, &receiver, json!({})).await;
    send_test(&app, &endpoint_id).await;
    let entries = log_until(&app, &endpoint_id, |e| e[0]["last_status_code"] == 302).await;
    assert_eq!(entries[0]["state"], "pending");
    assert!(entries[0]["last_error"].as_str().unwrap().contains("redirect"), "{entries:?}");
    assert_eq!(receiver.received().len(), 1);
}

#[tokio::test]
async fn the_breaker_opens_after_ten_failed_deliveries_and_nothing_is_dropped() {
    let app = delivering_app().await;
    let receiver = Receiver::start();
    receiver.answer(&[500; 60]);
    let (endpoint_id, _) = endpoint(&app, &receiver, json!({})).await;
    for _ in 0..10 {
        send_test(&app, &endpoint_id).await;
    }
    let path = format!("/api/v1/webhooks/endpoints/{endpoint_id}");
    for round in 1..=6_u64 {
        receiver.wait_for(10 * round as usize, Duration::from_secs(5)).await;
        let finished = finished_by_now(&app);
        log_until(&app, &endpoint_id, |e| {
            e.iter().all(|d| d["attempts"] == round && d["last_status_code"] == 500 && finished(d))
        })
        .await;
        app.state.clock.shift(time::Duration::hours(3));
    }
    let entries = log_until(&app, &endpoint_id, |e| e.iter().all(|d| d["state"] == "failed")).await;
    assert!(entries.iter().all(|d| d["state"] == "failed" && d["attempts"] == 6), "{entries:?}");
    assert_eq!(receiver.received().len(), 60, "6 attempts each");
    let endpoint = app.get(&path).await.json();
    assert_eq!(
        (endpoint["enabled"].clone(), endpoint["disabled_reason"].clone()),
        (json!(false), json!("too_many_failures"))
    );
    // While open, deliveries are kept.
    app.post("/api/v1/sessions", json!({"external_ref": "while_open"})).await;
    send_test(&app, &endpoint_id).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 60);
    let reply = app.call(Method::PATCH, &path, Some(&app.key), Some(json!({"enabled": true}))).await;
    assert_eq!(reply.status, StatusCode::OK);
    let received = receiver.wait_for(62, Duration::from_secs(5)).await;
    let late: BTreeSet<String> = events(&received[60..]);
    assert_eq!(late, BTreeSet::from(["session.created".to_owned(), "webhook.test".to_owned()]));
    // A failed delivery can be retried by hand.
    let failed = entries[0]["id"].as_str().unwrap();
    let retried = app.post(&format!("/api/v1/webhooks/deliveries/{failed}/retry"), json!({})).await;
    assert_eq!(retried.status, StatusCode::ACCEPTED, "{}", retried.text);
    receiver.wait_for(63, Duration::from_secs(5)).await;
    let again = app.post(&format!("/api/v1/webhooks/deliveries/{failed}/retry"), json!({})).await;
    assert_eq!(again.status.as_u16(), 409, "{}", again.text);
}

#[tokio::test]
async fn a_rotation_signs_with_both_secrets_for_a_day() {
    let app = delivering_app().await;
    let receiver = Receiver::start();
    let (endpoint_id, old) = endpoint(&app, &receiver, json!({})).await;
    let rotated = app.post(&format!("/api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret"), json!({})).await;
    let new = rotated.json()["secret"].as_str().unwrap().to_owned();
    send_test(&app, &endpoint_id).await;
    let received = receiver.wait_for(1, Duration::from_secs(5)).await;
    assert!(received[0].verify(&old) && received[0].verify(&new));
    assert_eq!(received[0].header("x-verifa-signature").matches("v1=").count(), 2);
    assert_eq!(received[0].header("webhook-signature").split(' ').count(), 2);
    app.state.clock.shift(time::Duration::hours(25));
    send_test(&app, &endpoint_id).await;
    let received = receiver.wait_for(2, Duration::from_secs(5)).await;
    assert!(received[1].verify(&new) && !received[1].verify(&old), "the old secret stops after 24 h");
}

#[tokio::test]
async fn recover_requeues_a_window_as_new_deliveries() {
    let app = delivering_app().await;
    let receiver = Receiver::start();
    let (endpoint_id, _) = endpoint(&app, &receiver, json!({"enabled_events": ["session.created"]})).await;
    for n in 0..3 {
        app.session(json!({"external_ref": format!("r{n}")})).await;
    }
    let first = receiver.wait_for(3, Duration::from_secs(5)).await;
    let since = casework_api::wire::format_time(app.state.service.now() - time::Duration::hours(1));
    let reply = app.post(&format!("/api/v1/webhooks/endpoints/{endpoint_id}/recover"), json!({"since": since})).await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.text);
    assert_eq!(reply.json(), json!({"queued": 3}));
    let all = receiver.wait_for(6, Duration::from_secs(5)).await;
    let ids = |r: &[crate::receiver::Received]| -> BTreeSet<String> {
        r.iter().map(|d| d.json()["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&all[3..]), ids(&first), "the same events");
    let deliveries: BTreeSet<&str> = all.iter().map(|d| d.header("x-verifa-delivery-id")).collect();
    assert_eq!(deliveries.len(), 6, "as new deliveries");
    let old = casework_api::wire::format_time(app.state.service.now() - time::Duration::days(8));
    let refused = app.post(&format!("/api/v1/webhooks/endpoints/{endpoint_id}/recover"), json!({"since": old})).await;
    assert_eq!(refused.field_errors(), [("since".to_owned(), "out_of_range".to_owned())]);
}

#[tokio::test]
async fn payload_keys_follow_the_endpoints_inflection() {
    let app = delivering_app().await;
    let receiver = Receiver::start();
    endpoint(&app, &receiver, json!({"enabled_events": ["session.created"], "key_inflection": "camel"})).await;
    app.session(json!({"external_ref": "r1", "metadata": {"my_key": 1}})).await;
    let received = receiver.wait_for(1, Duration::from_secs(5)).await;
    let body = received[0].json();
    assert!(body.get("idempotencyKey").is_some() && body.get("sessionId").is_some(), "{body}");
    assert_eq!(body["data"]["session"]["metadata"], json!({"my_key": 1}), "data maps keep their keys");
}

#[tokio::test]
async fn one_slow_receiver_does_not_hold_up_the_others() {
    let app = delivering_app().await;
    let slow = Receiver::start();
    for _ in 0..8 {
        slow.answer_slowly(200, Duration::from_secs(2));
    }
    let fast = Receiver::start();
    let (slow_id, _) = endpoint(&app, &slow, json!({})).await;
    for _ in 0..8 {
        send_test(&app, &slow_id).await;
    }
    let (fast_id, _) = endpoint(&app, &fast, json!({})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = std::time::Instant::now();
    send_test(&app, &fast_id).await;
    fast.wait_for(1, Duration::from_secs(5)).await;
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert!(slow.received().len() <= 4, "at most 4 in flight per endpoint");
}

/// A resolver for the tests: `rebind.test` is public at its first lookup and loopback after;
/// `private.test` is always loopback. Nothing reaches public DNS.
struct Rebinding {
    lookups: std::sync::atomic::AtomicUsize,
}

impl casework_adapters::webhooks::guard::Lookup for Rebinding {
    fn lookup(
        &self,
        host: &str,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<std::net::IpAddr>>> + Send>> {
        let public: std::net::IpAddr = "93.184.216.34".parse().unwrap();
        let loopback: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        let first = host == "rebind.test" && self.lookups.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
        let answer = match host {
            "rebind.test" if first => vec![public],
            "rebind.test" | "private.test" => vec![loopback, "::1".parse().unwrap()],
            _ => return Box::pin(async { Err(std::io::Error::other("unknown test host")) }),
        };
        Box::pin(async move { Ok(answer) })
    }
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_for_a_live_endpoint_even_after_rebinding() {
    let lookup = std::sync::Arc::new(Rebinding { lookups: std::sync::atomic::AtomicUsize::new(0) });
    let app = crate::support::spawn_app_built(&[], |state| state.with_lookup(lookup).unwrap()).await;
    casework_server::delivery::spawn(app.state.clone());
    let live =
        app.key_with(casework_domain::tenant::Environment::Live, &casework_domain::directory::Scope::ALL, None).await;
    let create = |url: &'static str| {
        app.call(Method::POST, "/api/v1/webhooks/endpoints", Some(&live), Some(json!({"url": url})))
    };
    let refused = create("https://private.test/hooks").await;
    assert_eq!(refused.field_errors(), [("url".to_owned(), "invalid_value".to_owned())], "{}", refused.text);
    // Public when registered, loopback when delivering: the connect-time check refuses it.
    let created = create("https://rebind.test/hooks").await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let endpoint_id = created.json()["id"].as_str().unwrap().to_owned();
    let test =
        app.call(Method::POST, &format!("/api/v1/webhooks/endpoints/{endpoint_id}/test"), Some(&live), None).await;
    assert_eq!(test.status, StatusCode::ACCEPTED, "{}", test.text);
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let entry = loop {
        let reply = app
            .call(Method::GET, &format!("/api/v1/webhooks/endpoints/{endpoint_id}/deliveries"), Some(&live), None)
            .await;
        let entry = reply.json()["data"][0].clone();
        // Counted when the attempt is leased; its error is written when it finished.
        if (entry["attempts"] == 1 && !entry["last_error"].is_null()) || std::time::Instant::now() > deadline {
            break entry;
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    };
    assert_eq!(entry["state"], "pending");
    assert_eq!(entry["last_status_code"], Value::Null);
    assert!(entry["last_error"].as_str().unwrap().contains("refused"), "{entry}");
}

#[tokio::test]
async fn delivery_latency_from_commit_to_receipt() {
    const EVENTS: usize = 100;
    let app = notified_app().await;
    let receiver = Receiver::start();
    endpoint(&app, &receiver, json!({"enabled_events": ["session.created"]})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut latencies = Vec::with_capacity(EVENTS);
    for n in 0..EVENTS {
        app.session(json!({"external_ref": format!("lat_{n}")})).await;
        // The response comes after the commit: measured from it, latency is at most this.
        let committed = std::time::Instant::now();
        let received = receiver.wait_for(n + 1, Duration::from_secs(5)).await;
        assert_eq!(received.len(), n + 1);
        latencies.push(received[n].at.saturating_duration_since(committed));
    }
    latencies.sort();
    let (p50, p99) = (latencies[EVENTS / 2], latencies[EVENTS * 99 / 100]);
    eprintln!("webhook latency from commit to receipt over {EVENTS} events: p50 {p50:.2?}, p99 {p99:.2?}");
    assert!(p99 < Duration::from_secs(1), "woken by the commit, not by the one-minute poll: p99 {p99:?}");
}

#[tokio::test]
async fn history_is_pruned_after_thirty_days_and_metrics_count_attempts() {
    let app = delivering_app().await;
    let receiver = Receiver::start();
    receiver.answer(&[500]);
    let (endpoint_id, _) = endpoint(&app, &receiver, json!({})).await;
    send_test(&app, &endpoint_id).await;
    log_until(&app, &endpoint_id, |e| e[0]["attempts"] == 1 && e[0]["last_status_code"] == 500).await;
    app.state.clock.shift(time::Duration::seconds(40));
    log_until(&app, &endpoint_id, |e| e[0]["state"] == "succeeded").await;
    let metrics = app.call(Method::GET, "/metrics", None, None).await.text;
    assert!(metrics.contains(r#"casework_webhook_attempts_total{outcome="delivered"} 1"#), "{metrics}");
    assert!(metrics.contains(r#"casework_webhook_attempts_total{outcome="http_error"} 1"#), "{metrics}");
    assert!(metrics.contains("casework_webhook_delivery_latency_seconds_count 1"), "{metrics}");
    assert!(
        metrics.contains("casework_webhook_backlog 0") && metrics.contains("casework_webhook_endpoints_disabled 0")
    );
    let month_ago = app.state.service.now() - time::Duration::days(30);
    assert_eq!(app.state.store.prune_webhooks(month_ago).await.unwrap(), 0, "recent history stays");
    app.state.clock.shift(time::Duration::days(31));
    let removed = app.state.store.prune_webhooks(app.state.service.now() - time::Duration::days(30)).await.unwrap();
    assert_eq!(removed, 2, "the delivery and its event");
    assert!(log(&app, &endpoint_id).await.is_empty());
}
