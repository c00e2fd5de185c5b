//! Authentication, scopes, and tenant and environment isolation.

use casework_domain::directory::Scope;
use casework_domain::tenant::Environment;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::spawn_app;

#[tokio::test]
async fn missing_malformed_and_unknown_keys_get_the_same_401() {
    let app = spawn_app().await;
    let unknown = casework_adapters::auth::ApiKeySecret::generate(Environment::Sandbox);
    let mut details = Vec::new();
    for key in [None, Some("garbage"), Some(unknown.expose())] {
        let reply = app.call(Method::GET, "/api/v1/cases", key, None).await;
        details.push(reply.assert_error(401, "unauthorized")["detail"].clone());
    }
    assert!(details.windows(2).all(|w| w[0] == w[1]), "{details:?}");
}

#[tokio::test]
async fn a_revoked_key_is_refused() {
    let app = spawn_app().await;
    let key = app.key_with(Environment::Sandbox, &[Scope::CasesRead], None).await;
    assert_eq!(app.call(Method::GET, "/api/v1/cases", Some(&key), None).await.status, StatusCode::OK);
    let principal = app.state.store.clone();
    let found =
        casework_domain::ports::ApiKeyStore::authenticate(&principal, &key, app.state.service.now()).await.unwrap();
    app.state.store.revoke_api_key(found.key_id, app.state.service.now()).await.unwrap();
    app.call(Method::GET, "/api/v1/cases", Some(&key), None).await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn bearer_authorization_is_accepted() {
    let app = spawn_app().await;
    let reply = app
        .client
        .get(format!("{}/api/v1/cases", app.address))
        .header("Authorization", format!("Bearer {}", app.key))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_missing_scope_is_403_naming_it() {
    let app = spawn_app().await;
    let key = app.key_with(Environment::Sandbox, &[Scope::SessionsRead], None).await;
    let reply = app.call(Method::GET, "/api/v1/cases", Some(&key), None).await;
    let body = reply.assert_error(403, "insufficient_scope");
    assert!(body["detail"].as_str().unwrap().contains("cases:read"));
    let reply = app.call(Method::POST, "/api/v1/cases", Some(&key), Some(json!({}))).await;
    assert!(reply.assert_error(403, "insufficient_scope")["detail"].as_str().unwrap().contains("cases:write"));
}

#[tokio::test]
async fn scope_is_checked_before_the_body_is_read() {
    let app = spawn_app().await;
    let key = app.key_with(Environment::Sandbox, &[Scope::CasesRead], None).await;
    let huge = json!({"metadata": {"blob": "x".repeat(2 * 1024 * 1024)}});
    app.call(Method::POST, "/api/v1/sessions", Some(&key), Some(huge.clone()))
        .await
        .assert_error(403, "insufficient_scope");
    app.call(Method::POST, "/api/v1/sessions", None, Some(huge)).await.assert_error(401, "unauthorized");
}

#[tokio::test]
async fn the_other_environment_and_other_tenants_see_404() {
    let app = spawn_app().await;
    let case = app.case().await;
    let session_id = case["session_id"].as_str().unwrap().to_owned();
    let live = app.key_with(Environment::Live, &Scope::ALL, None).await;
    for path in [format!("/api/v1/cases/{}", case["id"].as_str().unwrap()), format!("/api/v1/sessions/{session_id}")] {
        app.call(Method::GET, &path, Some(&live), None).await.assert_error(404, "not_found");
    }
    let listed = app.call(Method::GET, "/api/v1/cases", Some(&live), None).await.json();
    assert_eq!(listed["pagination"]["total"], 0);
    app.call(Method::POST, "/api/v1/cases", Some(&live), Some(json!({"session_id": session_id})))
        .await
        .assert_error(404, "not_found");

    let foreign = app.foreign_key().await;
    for id in [case["id"].as_str().unwrap(), case["uuid"].as_str().unwrap()] {
        let path = format!("/api/v1/cases/{id}");
        app.call(Method::GET, &path, Some(&foreign), None).await.assert_error(404, "not_found");
    }
}
