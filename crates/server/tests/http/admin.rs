//! Administration (API.md §6): settings, org users, API keys.

use casework_domain::directory::Scope;
use casework_domain::tenant::Environment;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::spawn_app;

#[tokio::test]
async fn settings_per_environment_with_defaults_and_validation() {
    let app = spawn_app().await;
    let settings = app.get("/api/v1/organization/settings").await.json();
    assert_eq!(
        settings,
        json!({"dual_review": false, "claim_ttl_seconds": 1800, "demo_case_limit": 3, "api_pii_fields": null,
               "sensitive_data_retention_days": null, "rate_limit_per_minute": 1000})
    );
    let body = json!({"dual_review": true, "claim_ttl_seconds": 60, "api_pii_fields": ["first_name"], "sensitive_data_retention_days": 30});
    let reply = app.call(Method::PATCH, "/api/v1/organization/settings", Some(&app.key), Some(body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    let updated = reply.json();
    assert_eq!((updated["dual_review"].clone(), updated["claim_ttl_seconds"].clone()), (json!(true), json!(60)));
    assert_eq!(updated["api_pii_fields"], json!(["first_name"]));
    let live = app.key_with(Environment::Live, &Scope::ALL, None).await;
    let live_settings = app.call(Method::GET, "/api/v1/organization/settings", Some(&live), None).await.json();
    assert_eq!(live_settings["dual_review"], false, "sandbox and live differ");
    // api_pii_fields filters what the API returns at once.
    let case = app.case().await;
    let read = app.get(&format!("/api/v1/cases/{}", case["id"].as_str().unwrap())).await.json();
    assert_eq!(read["session"]["extracted_data"], json!({"first_name": "Ada"}));
    let bad = json!({"claim_ttl_seconds": 59, "demo_case_limit": 101, "rate_limit_per_minute": "lots",
                     "api_pii_fields": ["shoe_size"], "dual_review": null, "colour": 1});
    let reply = app.call(Method::PATCH, "/api/v1/organization/settings", Some(&app.key), Some(bad)).await;
    reply.assert_error(422, "validation_failed");
    let mut errors = reply.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        [("colour", "unknown_field"), ("dual_review", "invalid_type"), ("rate_limit_per_minute", "invalid_type"),]
            .iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect::<Vec<_>>()
    );
    let reply = app
        .call(
            Method::PATCH,
            "/api/v1/organization/settings",
            Some(&app.key),
            Some(json!({"claim_ttl_seconds": 59, "demo_case_limit": 101, "api_pii_fields": ["shoe_size"]})),
        )
        .await;
    let mut errors = reply.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        [
            ("api_pii_fields[0]", "invalid_value"),
            ("claim_ttl_seconds", "out_of_range"),
            ("demo_case_limit", "out_of_range")
        ]
        .iter()
        .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
        .collect::<Vec<_>>()
    );
    let reader = app.key_with(Environment::Sandbox, &[Scope::OrgRead], None).await;
    let reply = app.call(Method::PATCH, "/api/v1/organization/settings", Some(&reader), Some(json!({}))).await;
    reply.assert_error(403, "insufficient_scope");
}

#[tokio::test]
async fn org_users_are_created_listed_and_deactivated() {
    let app = spawn_app().await;
    let reply = app
        .post("/api/v1/org-users", json!({"name": "Rita", "email": "Rita@Example.com", "role": "senior_reviewer"}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let rita = reply.json();
    assert_eq!((rita["role"].clone(), rita["active"].clone()), (json!("senior_reviewer"), json!(true)));
    app.post("/api/v1/org-users", json!({"name": "R", "email": "rita@example.COM"}))
        .await
        .assert_error(409, "email_taken");
    let reply = app.post("/api/v1/org-users", json!({"name": "", "email": "not-an-email", "role": "boss"})).await;
    let mut errors = reply.field_errors();
    errors.sort();
    assert_eq!(
        errors,
        [("email", "invalid_value"), ("name", "too_short"), ("role", "invalid_value")]
            .iter()
            .map(|(f, c)| ((*f).to_owned(), (*c).to_owned()))
            .collect::<Vec<_>>()
    );
    let path = format!("/api/v1/org-users/{}", rita["id"].as_str().unwrap());
    let reply = app.call(Method::PATCH, &path, Some(&app.key), Some(json!({"active": false, "name": "Rita M."}))).await;
    assert_eq!(reply.json()["active"], false);
    assert_eq!(app.get(&path).await.json()["name"], "Rita M.");
    assert_eq!(app.get("/api/v1/org-users").await.json()["pagination"]["total"], 1);
    // An inactive user is no longer a usable reviewer.
    let case = app.case().await;
    let claim = format!("/api/v1/cases/{}/claim", case["id"].as_str().unwrap());
    app.post(&claim, json!({"reviewer_id": rita["uuid"]})).await.assert_error(422, "invalid_reviewer");
    app.get("/api/v1/org-users/orguser_000000000000000000000000").await.assert_error(404, "not_found");
}

#[tokio::test]
async fn api_keys_are_shown_once_limited_to_the_creator_scopes_and_revoked_at_once() {
    let app = spawn_app().await;
    let reviewer = app.user("Rita").await;
    let reply = app
        .post("/api/v1/api-keys", json!({"name": "rita's tool", "scopes": ["cases:read", "cases:write"], "org_user_id": reviewer.id.public()}))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
    let created = reply.json();
    let secret = created["key"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("vk_sandbox_"));
    assert_eq!(created["environment"], "sandbox");
    assert_eq!(created["org_user_id"], reviewer.id.uuid().to_string());
    let listed = app.get("/api/v1/api-keys").await;
    assert!(!listed.text.contains(&secret), "the secret is shown once");
    assert_eq!(listed.json()["pagination"]["total"], 2);
    let works = app.call(Method::GET, "/api/v1/cases", Some(&secret), None).await;
    assert_eq!(works.status, StatusCode::OK);
    // A key may only grant scopes it holds.
    let limited = app.key_with(Environment::Sandbox, &[Scope::ApiKeysWrite, Scope::CasesRead], None).await;
    let reply = app
        .call(Method::POST, "/api/v1/api-keys", Some(&limited), Some(json!({"name": "x", "scopes": ["cases:write"]})))
        .await;
    reply.assert_error(403, "insufficient_scope");
    let reply = app.post("/api/v1/api-keys", json!({"name": "x", "scopes": ["cases:everything"]})).await;
    assert_eq!(reply.field_errors(), vec![("scopes[0]".to_owned(), "invalid_value".to_owned())]);
    let reply = app
        .post("/api/v1/api-keys", json!({"name": "x", "scopes": [], "org_user_id": "orguser_000000000000000000000000"}))
        .await;
    reply.assert_error(422, "invalid_reviewer");
    // Revocation holds from the next request.
    let path = format!("/api/v1/api-keys/{}", created["id"].as_str().unwrap());
    let revoked = app.call(Method::DELETE, &path, Some(&app.key), None).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text);
    assert!(revoked.json()["revoked_at"].is_string());
    app.call(Method::GET, "/api/v1/cases", Some(&secret), None).await.assert_error(401, "unauthorized");
    let live = app.key_with(Environment::Live, &Scope::ALL, None).await;
    app.call(Method::DELETE, &path, Some(&live), None).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn new_organizations_start_with_the_configured_rate_limit() {
    let app = crate::support::spawn_app_with(&[("CASEWORK__LIMITS__DEFAULT_RATE_LIMIT_PER_MINUTE", "77")]).await;
    let settings = app.get("/api/v1/organization/settings").await.json();
    assert_eq!(settings["rate_limit_per_minute"], 77);
    assert_eq!(app.get("/api/v1/cases").await.header("x-ratelimit-limit"), Some("77"));
}

#[tokio::test]
async fn null_sets_the_nullable_settings_back_to_their_defaults() {
    let app = spawn_app().await;
    let path = "/api/v1/organization/settings";
    let set = json!({"api_pii_fields": ["first_name"], "sensitive_data_retention_days": 30});
    let reply = app.call(Method::PATCH, path, Some(&app.key), Some(set)).await;
    assert_eq!(reply.json()["sensitive_data_retention_days"], 30, "{}", reply.text);
    for field in ["api_pii_fields", "sensitive_data_retention_days"] {
        let reply = app.call(Method::PATCH, path, Some(&app.key), Some(json!({field: null}))).await;
        assert_eq!(reply.status, StatusCode::OK, "{field}: {}", reply.text);
        assert_eq!(reply.json()[field], serde_json::Value::Null);
    }
    let reply = app.call(Method::PATCH, path, Some(&app.key), Some(json!({"dual_review": null}))).await;
    assert_eq!(reply.field_errors(), [("dual_review".to_owned(), "invalid_type".to_owned())]);
}
