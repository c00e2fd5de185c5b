//! The error envelope and request ids: every bad input gets the documented JSON error.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::spawn_app;

#[tokio::test]
async fn unknown_routes_are_json_404s() {
    let app = spawn_app().await;
    app.call(Method::GET, "/nope", None, None).await.assert_error(404, "not_found");
    app.call(Method::GET, "/api/v1/nope", Some(&app.key), None).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow() {
    let app = spawn_app().await;
    let reply = app.call(Method::DELETE, "/api/v1/cases", Some(&app.key), None).await;
    reply.assert_error(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET, POST"));
    let reply = app.call(Method::PUT, "/api/v1/sessions/ses_x", None, None).await;
    reply.assert_error(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET"));
}

#[tokio::test]
async fn malformed_json_and_non_objects_are_400() {
    let app = spawn_app().await;
    for body in ["{\"session_id\":", "[1, 2]", "\"text\"", "nul"] {
        let reply = app
            .client
            .post(format!("{}/api/v1/cases", app.address))
            .header("X-API-Key", &app.key)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let reply = crate::support::Reply {
            status: reply.status(),
            headers: reply.headers().clone(),
            text: reply.text().await.unwrap(),
        };
        reply.assert_error(400, "invalid_request");
    }
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415() {
    let app = spawn_app().await;
    for content_type in [Some("text/plain"), None] {
        let mut request =
            app.client.post(format!("{}/api/v1/sessions", app.address)).header("X-API-Key", &app.key).body("{}");
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        let reply = request.send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let body: serde_json::Value = reply.json().await.unwrap();
        assert_eq!(body["error"], "unsupported_media_type");
    }
}

#[tokio::test]
async fn an_absent_body_reads_as_an_empty_object() {
    let app = spawn_app().await;
    let reply = app.call(Method::POST, "/api/v1/sessions", Some(&app.key), None).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    assert_eq!(reply.json()["status"], "pending");
}

#[tokio::test]
async fn a_two_mebibyte_body_is_413() {
    let app = spawn_app().await;
    let big = json!({"external_ref": "x", "metadata": {"blob": "x".repeat(2 * 1024 * 1024)}});
    app.post("/api/v1/sessions", big).await.assert_error(413, "payload_too_large");
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_422_with_json_paths() {
    let app = spawn_app().await;
    let reply = app.post("/api/v1/cases", json!({"session_id": 42, "colour": "red"})).await;
    reply.assert_error(422, "validation_failed");
    let mut errors = reply.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        vec![("colour".to_owned(), "unknown_field".to_owned()), ("session_id".to_owned(), "invalid_type".to_owned())]
    );
}

#[tokio::test]
async fn the_client_request_id_is_echoed_and_otherwise_generated() {
    let app = spawn_app().await;
    let reply =
        app.client.get(format!("{}/health/live", app.address)).header("X-Request-Id", "trace-42").send().await.unwrap();
    assert_eq!(reply.headers()["x-request-id"], "trace-42");
    let reply = app.call(Method::GET, "/api/v1/cases", None, None).await;
    let id = reply.header("x-request-id").unwrap().to_owned();
    assert!(id.starts_with("req_") && id.len() == 28 && id[4..].bytes().all(|b| b.is_ascii_alphanumeric()), "{id}");
    assert_eq!(reply.json()["request_id"], id.as_str());
}

#[tokio::test]
async fn health_endpoints_answer_without_a_key() {
    let app = spawn_app().await;
    let live = app.call(Method::GET, "/health/live", None, None).await;
    assert_eq!((live.status, live.json()["status"].clone()), (StatusCode::OK, json!("ok")));
    let ready = app.call(Method::GET, "/health/ready", None, None).await;
    assert_eq!((ready.status, ready.json()["status"].clone()), (StatusCode::OK, json!("ready")));
}

#[tokio::test]
async fn metrics_show_requests_by_route_template_pool_and_queues() {
    let app = spawn_app().await;
    let case = app.case().await;
    app.get(&format!("/api/v1/cases/{}", case["id"].as_str().unwrap())).await;
    app.get("/api/v1/cases/rvc_000000000000000000000000").await;
    let reply = app.call(Method::GET, "/metrics", None, None).await;
    assert_eq!(reply.status, StatusCode::OK);
    let text = reply.text;
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/v1/cases/{case_id}",status="200"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{method="GET",route="/api/v1/cases/{case_id}",status="404"} 1"#),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"), "{text}");
    assert!(text.contains("casework_db_pool_size "), "{text}");
    assert!(text.contains("casework_db_pool_available "), "{text}");
    assert!(text.contains("casework_db_pool_wait_seconds_count"), "{text}");
    assert!(text.contains(r#"casework_queue_depth{tab="unassigned"} 1"#), "{text}");
    assert!(text.contains("casework_webhook_backlog 0"), "no endpoint, nothing to deliver: {text}");
    assert!(
        !text.contains(case["id"].as_str().unwrap()) && !text.contains(case["uuid"].as_str().unwrap()),
        "no ids in labels"
    );
    assert!(text.contains("casework_db_up 1") && text.contains("casework_build_info{version="), "{text}");
    assert!(text.contains(r#"casework_queue_oldest_age_seconds{tab="unassigned"} "#), "{text}");
    assert!(!text.contains(r#"casework_queue_oldest_age_seconds{tab="escalated"}"#), "an empty tab has no age");
    assert!(text.contains(r#"casework_db_pool_max_size 8"#), "{text}");
    // The workers report their last successful run once they have had one.
    let workers = casework_server::workers::spawn(app.state.clone());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    workers.abort();
    let text = app.call(Method::GET, "/metrics", None, None).await.text;
    assert!(text.contains(r#"casework_worker_last_success_timestamp_seconds{worker="claim sweeper"} "#), "{text}");
}

#[tokio::test]
async fn headers_over_16_kib_are_431() {
    let app = spawn_app().await;
    let reply = app
        .client
        .get(format!("{}/api/v1/cases", app.address))
        .header("X-Big", "a".repeat(17 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    let body: serde_json::Value = reply.json().await.unwrap();
    assert_eq!(body["error"], "request_header_fields_too_large");
    let fine = app
        .client
        .get(format!("{}/health/live", app.address))
        .header("X-Big", "a".repeat(15 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(fine.status(), StatusCode::OK);
}
