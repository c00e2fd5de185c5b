//! The holes a security review found, each reproduced through the real server: a search that
//! overflowed the stack, a deactivated user's key acting unbound, secrets and PII at rest in
//! idempotency records, a committed change repeated, concurrent admin edits undoing each other,
//! a bound key escaping its binding, and one undecryptable session failing every read.

use std::net::TcpListener;
use std::path::Path;

use casework_adapters::auth::ApiKeySecret;
use casework_adapters::system::UuidV7Ids;
use casework_domain::directory::{ApiKey, Scope, Scopes};
use casework_domain::ports::IdGenerator;
use casework_domain::tenant::{Environment, Organization, Tenant};
use casework_server::config;
use casework_server::state::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{Reply, TestApp, spawn_app};

fn strings(n: usize) -> Vec<Value> {
    (0..n).map(|i| json!(format!("value-{i}"))).collect()
}

#[tokio::test]
async fn a_huge_in_list_is_refused_and_the_server_keeps_serving() {
    let app = spawn_app().await;
    app.case().await;
    for op in ["in", "nin"] {
        let reply = app
            .post(
                "/api/v1/cases/search",
                json!({"filter": {"field": "metadata.k", "op": op, "value": strings(20_000)}}),
            )
            .await;
        reply.assert_error(422, "validation_failed");
        assert_eq!(reply.field_errors(), [("filter.value".to_owned(), "too_many".to_owned())]);
    }
    let nested = json!({"filter": {"and": [{"or": [{"field": "external_ref", "op": "in", "value": strings(101)}]}]}});
    let reply = app.post("/api/v1/cases/search", nested).await;
    assert_eq!(reply.field_errors(), [("filter.and[0].or[0].value".to_owned(), "too_many".to_owned())]);
    // A hundred items are fine, bound as one array, and the server is still there.
    let mut values = strings(99);
    values.push(json!(null));
    let reply = app
        .post("/api/v1/cases/search", json!({"filter": {"field": "metadata.k", "op": "nin", "value": values}}))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert_eq!(reply.json()["pagination"]["total"], 1);
    let reply = app
        .post("/api/v1/cases/search", json!({"filter": {"field": "external_ref", "op": "in", "value": ["user_4812"]}}))
        .await;
    assert_eq!(reply.json()["pagination"]["total"], 1);
}

#[tokio::test]
async fn a_key_bound_to_a_deactivated_user_authenticates_as_nothing() {
    let app = spawn_app().await;
    let (rita, sam) = (app.reviewer("Rita").await, app.reviewer("Sam").await);
    let case = app.case().await;
    let claim = format!("/api/v1/cases/{}/claim", case["id"].as_str().unwrap());
    app.post_as(&rita, &claim, json!({"reviewer_id": sam.uuid})).await.assert_error(403, "reviewer_mismatch");
    let rita_path = format!("/api/v1/org-users/{}", rita.id.public());
    let reply = app.call(Method::PATCH, &rita_path, Some(&app.key), Some(json!({"active": false}))).await;
    assert_eq!(reply.json()["active"], false);
    app.post_as(&rita, &claim, json!({"reviewer_id": sam.uuid})).await.assert_error(401, "unauthorized");
    app.call(Method::GET, "/api/v1/cases", Some(&rita.key), None).await.assert_error(401, "unauthorized");
    // Reactivated, the key is a personal key again.
    app.call(Method::PATCH, &rita_path, Some(&app.key), Some(json!({"active": true}))).await;
    app.post_as(&rita, &claim, json!({"reviewer_id": sam.uuid})).await.assert_error(403, "reviewer_mismatch");
    assert_eq!(app.post_as(&rita, &claim, json!({})).await.json()["assigned_to"], json!(rita.uuid));
}

async fn post_idempotent(app: &TestApp, path: &str, key: &str, body: Value) -> Reply {
    let response = app
        .client
        .post(format!("{}{path}", app.address))
        .header("X-API-Key", &app.key)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    Reply { status, headers, text: response.text().await.unwrap() }
}

#[tokio::test]
async fn stored_responses_hold_no_key_secret_and_no_pii_in_clear() {
    let app = spawn_app().await;
    let created =
        post_idempotent(&app, "/api/v1/api-keys", "mint-1", json!({"name": "tool", "scopes": ["cases:read"]})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let secret = created.json()["key"].as_str().unwrap().to_owned();
    let session = json!({"extracted_data": {"first_name": "Philippa", "document_number": "ZX9988776"}});
    let ingested = post_idempotent(&app, "/api/v1/sessions", "ingest-1", session.clone()).await;
    assert_eq!(ingested.json()["extracted_data"]["first_name"], "Philippa");
    let stored = app.db.texts("SELECT encode(response_body, 'escape') AS value FROM idempotency_keys").await;
    assert_eq!(stored.len(), 2);
    for needle in [secret.as_str(), "Philippa", "ZX9988776", "vk_sandbox_"] {
        assert!(stored.iter().all(|body| !body.contains(needle)), "{needle} stored in clear");
    }
    // Replays still answer what the client first saw.
    let replay =
        post_idempotent(&app, "/api/v1/api-keys", "mint-1", json!({"name": "tool", "scopes": ["cases:read"]})).await;
    assert_eq!((replay.header("idempotent-replayed"), replay.json()["key"].as_str()), (Some("true"), Some(&*secret)));
    let replay = post_idempotent(&app, "/api/v1/sessions", "ingest-1", session).await;
    assert_eq!(replay.json()["extracted_data"]["document_number"], "ZX9988776");
}

/// Makes every stored ciphertext of the tenant's sessions name a key that is not configured.
async fn break_ciphertexts(app: &TestApp) {
    let broken =
        app.db.texts("UPDATE sessions SET extracted_data_key_id = 'retired' RETURNING id::text AS value").await;
    assert!(!broken.is_empty());
}

#[tokio::test]
async fn an_undecryptable_session_fails_no_read_that_would_not_show_it() {
    let app = spawn_app().await;
    let case = app.case().await;
    break_ciphertexts(&app).await;
    let no_pii: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != Scope::VerificationsRead).collect();
    let key = app.key_with(Environment::Sandbox, &no_pii, None).await;
    for path in [
        "/api/v1/sessions".to_owned(),
        format!("/api/v1/sessions/{}", case["session_id"].as_str().unwrap()),
        format!("/api/v1/cases/{}", case["id"].as_str().unwrap()),
    ] {
        let reply = app.call(Method::GET, &path, Some(&key), None).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.text);
    }
    let reviewer = app.user("Rita").await;
    let reply = app
        .call(Method::POST, "/api/v1/cases/next", Some(&key), Some(json!({"reviewer_id": reviewer.id.public()})))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
    assert!(reply.json()["session"].get("extracted_data").is_none());
}

#[tokio::test]
async fn a_failure_before_the_commit_claims_nothing_and_a_retry_never_claims_twice() {
    let app = spawn_app().await;
    app.case().await;
    break_ciphertexts(&app).await;
    app.case().await;
    let rita = app.user("Rita").await;
    let body = json!({"reviewer_id": rita.id.public()});
    // The first case's session cannot be read for this caller: the claim is rolled back.
    let failed = post_idempotent(&app, "/api/v1/cases/next", "next-1", body.clone()).await;
    failed.assert_error(500, "internal_error");
    let claimed = || app.db.texts("SELECT id::text AS value FROM cases WHERE status = 'in_review'");
    assert_eq!(claimed().await.len(), 0);
    let retried = post_idempotent(&app, "/api/v1/cases/next", "next-1", body).await;
    retried.assert_error(500, "internal_error");
    assert_eq!(claimed().await.len(), 0);
}

/// A second instance on the same database, with its own settings cache.
async fn second_instance(app: &TestApp) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let vars = vec![("DATABASE_URL".to_owned(), app.db.url().to_owned())];
    let state = AppState::build(config::load_from(&dir, "test", &vars).unwrap()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(casework_server::http::serve(state, listener).unwrap());
    address
}

#[tokio::test]
async fn concurrent_patches_of_different_settings_keep_both() {
    let app = spawn_app().await;
    let other = second_instance(&app).await;
    let key = app.key.clone();
    let patch = |address: String, body: Value| {
        let request = app.client.patch(format!("{address}/api/v1/organization/settings")).header("X-API-Key", &key);
        async move { request.json(&body).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    // The second instance caches the settings as they are, then patches another one within
    // the cache's lifetime.
    let cached = app.client.get(format!("{other}/api/v1/organization/settings")).header("X-API-Key", &app.key);
    assert_eq!(cached.send().await.unwrap().json::<Value>().await.unwrap()["api_pii_fields"], Value::Null);
    patch(app.address.clone(), json!({"api_pii_fields": ["first_name"]})).await;
    let after = patch(other, json!({"rate_limit_per_minute": 2000})).await;
    assert_eq!(
        (after["api_pii_fields"].clone(), after["rate_limit_per_minute"].clone()),
        (json!(["first_name"]), json!(2000))
    );
    let stored = app
        .db
        .texts("SELECT coalesce(api_pii_fields::text, 'null') || ' ' || rate_limit_per_minute AS value FROM environment_settings WHERE environment = 'sandbox'")
        .await;
    assert_eq!(stored, [r#"["first_name"] 2000"#]);
}

#[tokio::test]
async fn renames_racing_a_deactivation_never_reactivate() {
    let app = spawn_app().await;
    let user = app.user("Rita").await;
    let path = format!("/api/v1/org-users/{}", user.id.public());
    let renames =
        (0..24).map(|i| app.call(Method::PATCH, &path, Some(&app.key), Some(json!({"name": format!("Rita {i}")}))));
    let deactivate = app.call(Method::PATCH, &path, Some(&app.key), Some(json!({"active": false})));
    let (_, deactivated) = tokio::join!(futures_util::future::join_all(renames), deactivate);
    assert_eq!(deactivated.json()["active"], false);
    assert_eq!(app.get(&path).await.json()["active"], false);
}

#[tokio::test]
async fn a_bound_key_mints_only_keys_bound_to_its_own_user() {
    let app = spawn_app().await;
    let (rita, sam) = (app.reviewer("Rita").await, app.reviewer("Sam").await);
    let mint = |body: Value| app.post_as(&rita, "/api/v1/api-keys", body);
    mint(json!({"name": "escape", "scopes": ["cases:read"]})).await.assert_error(403, "reviewer_mismatch");
    mint(json!({"name": "as sam", "scopes": ["cases:read"], "org_user_id": sam.id.public()}))
        .await
        .assert_error(403, "reviewer_mismatch");
    let own = mint(json!({"name": "mine", "scopes": ["cases:read"], "org_user_id": rita.id.public()})).await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.text);
    assert_eq!(own.json()["org_user_id"], json!(rita.uuid));
    // With cases:admin a bound key may mint for anyone (an administrator's personal key).
    let admin = app.user("Ada").await;
    let admin_key = app.key_with(Environment::Sandbox, &Scope::ALL, Some(admin.id)).await;
    let reply = app
        .call(
            Method::POST,
            "/api/v1/api-keys",
            Some(&admin_key),
            Some(json!({"name": "service", "scopes": ["cases:read"]})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
}

#[tokio::test]
async fn a_key_hash_names_one_key_across_organizations() {
    let app = spawn_app().await;
    let secret = ApiKeySecret::generate(Environment::Sandbox);
    let mut keys = Vec::new();
    for name in ["First", "Second"] {
        let org = Organization { id: UuidV7Ids.generate(), name: name.into(), created_at: app.state.service.now() };
        app.state.store.create_organization(&org, &[]).await.unwrap();
        let key = ApiKey {
            id: UuidV7Ids.generate(),
            tenant: Tenant { org_id: org.id, environment: Environment::Sandbox },
            name: "same secret".into(),
            scopes: [Scope::CasesRead].into_iter().collect::<Scopes>(),
            org_user_id: None,
            expires_at: None,
            last_used_at: None,
            created_at: app.state.service.now(),
            revoked_at: None,
        };
        keys.push(app.state.store.create_api_key(&key, &secret).await);
    }
    assert!(keys[0].is_ok());
    assert!(keys[1].is_err(), "a second key with the same hash was stored");
}
