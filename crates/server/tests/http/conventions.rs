//! CONVENTIONS.md: rate limits, versions, key inflection and idempotency, and the order in which
//! their refusals answer.

use casework_domain::ports::DirectoryRepository;
use casework_domain::tenant::Environment;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{TestApp, spawn_app, spawn_app_with};

/// Moves the app's clock to a few seconds into a minute, so a burst never straddles two windows.
fn start_of_a_minute(app: &TestApp) {
    let second = i64::from(app.state.service.now().second());
    app.state.clock.shift(time::Duration::seconds(62 - second));
}

async fn limit_to(app: &TestApp, limit: u32) {
    let tenant = app.tenant(Environment::Sandbox);
    let mut settings = app.state.store.settings(tenant).await.unwrap();
    settings.rate_limit_per_minute = limit;
    app.state.store.update_settings(tenant, &(&settings).into(), app.state.service.now()).await.unwrap();
}

async fn burst(app: &TestApp, count: usize) -> Vec<reqwest::Response> {
    let requests = (0..count)
        .map(|_| app.client.get(format!("{}/api/v1/cases", app.address)).header("X-API-Key", &app.key).send());
    futures_util::future::join_all(requests).await.into_iter().map(Result::unwrap).collect()
}

async fn exactly_the_limit_passes(app: &TestApp) {
    start_of_a_minute(app);
    limit_to(app, 10).await;
    let replies = burst(app, 64).await;
    let ok: Vec<&reqwest::Response> = replies.iter().filter(|r| r.status() == StatusCode::OK).collect();
    assert_eq!(ok.len(), 10);
    for reply in &ok {
        assert_eq!(reply.headers()["x-ratelimit-limit"], "10");
        assert!(reply.headers().contains_key("x-ratelimit-reset"));
    }
    let remaining: std::collections::BTreeSet<u32> =
        ok.iter().map(|r| r.headers()["x-ratelimit-remaining"].to_str().unwrap().parse().unwrap()).collect();
    assert_eq!(remaining, (0..10).collect(), "each accepted request used one slot");
    for reply in replies.into_iter().filter(|r| r.status() != StatusCode::OK) {
        assert_eq!(reply.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(reply.headers()["x-ratelimit-remaining"], "0");
        let wait: i64 = reply.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait));
        let body: Value = reply.json().await.unwrap();
        assert_eq!(body["error"], "rate_limited");
        assert_eq!(body["detail"], format!("Rate limit exceeded. Retry after {wait} seconds."));
    }
    // A raised limit applies from the next request; refused requests did not count.
    limit_to(app, 12).await;
    let reply = app.get("/api/v1/cases").await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("x-ratelimit-remaining"), Some("1"));
}

#[tokio::test]
async fn the_in_process_limiter_admits_exactly_the_limit() {
    let app = spawn_app().await;
    exactly_the_limit_passes(&app).await;
}

#[tokio::test]
async fn the_shared_limiter_admits_exactly_the_limit() {
    let app = spawn_app_with(&[("CASEWORK__LIMITS__RATE_LIMITER", "postgres")]).await;
    exactly_the_limit_passes(&app).await;
}

#[tokio::test]
async fn unauthenticated_endpoints_carry_no_rate_headers() {
    let app = spawn_app().await;
    let live = app.call(Method::GET, "/health/live", None, None).await;
    assert!(live.header("x-ratelimit-limit").is_none());
    let refused = app.call(Method::GET, "/api/v1/cases", None, None).await;
    assert!(refused.header("x-ratelimit-limit").is_none());
    assert_eq!(app.get("/api/v1/cases").await.header("x-ratelimit-limit"), Some("1000"));
}

#[tokio::test]
async fn versions_are_echoed_and_unknown_ones_refused() {
    let app = spawn_app().await;
    let with_version = |version: &'static str| {
        app.client
            .get(format!("{}/api/v1/cases", app.address))
            .header("X-API-Key", &app.key)
            .header("Verifa-Version", version)
            .send()
    };
    assert_eq!(app.get("/api/v1/cases").await.header("verifa-version"), Some("2026-01-01"));
    let alias = with_version("2026-02-01").await.unwrap();
    assert_eq!((alias.status(), alias.headers()["verifa-version"].to_str().unwrap()), (StatusCode::OK, "2026-01-01"));
    let unknown = with_version("2025-06-01").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
    assert_eq!(unknown.headers()["verifa-version"], "2026-01-01");
    assert_eq!(unknown.json::<Value>().await.unwrap()["error"], "unsupported_version");
    let no_key =
        app.client.get(format!("{}/api/v1/cases", app.address)).header("Verifa-Version", "nope").send().await.unwrap();
    assert_eq!(no_key.status(), StatusCode::UNAUTHORIZED, "401 answers before a malformed header");
    assert_eq!(no_key.headers()["verifa-version"], "2026-01-01");
}

#[tokio::test]
async fn keys_are_inflected_on_request() {
    let app = spawn_app().await;
    let case = app.case().await;
    app.call(
        Method::PATCH,
        &format!("/api/v1/cases/{}", case["id"].as_str().unwrap()),
        Some(&app.key),
        Some(json!({"metadata": {"my_key": 1}})),
    )
    .await;
    let get = |inflection: &'static str, path: String| {
        app.client
            .get(format!("{}{path}", app.address))
            .header("X-API-Key", &app.key)
            .header("Key-Inflection", inflection)
            .send()
    };
    let camel: Value =
        get("camel", format!("/api/v1/cases/{}", case["id"].as_str().unwrap())).await.unwrap().json().await.unwrap();
    assert_eq!(camel["sessionId"], case["session_id"]);
    assert!(camel["sla"]["ageSeconds"].is_number());
    assert_eq!(camel["metadata"], json!({"my_key": 1}), "data maps keep their keys");
    assert_eq!(camel["session"]["extractedData"]["first_name"], "Ada");
    let kebab: Value = get("kebab", "/api/v1/cases/counts".to_owned()).await.unwrap().json().await.unwrap();
    assert!(kebab.get("pending-second-review").is_some(), "{kebab}");
    let error: Value = get("camel", "/api/v1/cases?limit=0".to_owned()).await.unwrap().json().await.unwrap();
    assert_eq!((error["statusCode"].clone(), error["errors"][0]["field"].clone()), (json!(422), json!("limit")));
    let bad = get("shouting", "/api/v1/cases".to_owned()).await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(bad.json::<Value>().await.unwrap()["error"], "invalid_key_inflection");
}

fn idempotent(app: &TestApp, key: &str, body: Value) -> reqwest::RequestBuilder {
    app.client
        .post(format!("{}/api/v1/sessions", app.address))
        .header("X-API-Key", &app.key)
        .header("Idempotency-Key", key)
        .json(&body)
}

#[tokio::test]
async fn a_repeated_request_is_replayed_not_run_again() {
    let app = spawn_app().await;
    let first = idempotent(&app, "order-1", json!({"external_ref": "r1"})).send().await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let first_id = first.headers()["x-request-id"].to_str().unwrap().to_owned();
    let first_body: Value = first.json().await.unwrap();
    let again = idempotent(&app, "order-1", json!({"external_ref": "r1"}))
        .header("Key-Inflection", "camel")
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.headers()["x-request-id"].to_str().unwrap(), first_id);
    let again_body: Value = again.json().await.unwrap();
    assert_eq!(again_body["id"], first_body["id"]);
    assert_eq!(again_body["externalRef"], "r1", "replays are inflected for the replaying request");
    assert_eq!(app.get("/api/v1/sessions").await.json()["pagination"]["total"], 1, "one side effect");
    let other = idempotent(&app, "order-1", json!({"external_ref": "r2"})).send().await.unwrap();
    assert_eq!(other.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = other.json().await.unwrap();
    assert_eq!(body["error"], "idempotency_mismatch");
    assert_eq!(body["detail"], "Idempotency key has already been used with different parameters.");
    // 4xx answers are kept too.
    let bad = idempotent(&app, "order-2", json!({"status": "approved"})).send().await.unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad_again = idempotent(&app, "order-2", json!({"status": "approved"})).send().await.unwrap();
    assert_eq!(
        (bad_again.status(), bad_again.headers()["idempotent-replayed"].to_str().unwrap()),
        (StatusCode::UNPROCESSABLE_ENTITY, "true")
    );
    let malformed = idempotent(&app, "", json!({})).send().await.unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_change_and_its_stored_response_commit_together_or_not_at_all() {
    let app = spawn_app().await;
    // A planted fault: the database refuses to store any response.
    app.db
        .texts(
            "CREATE FUNCTION refuse_responses() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
             IF NEW.status_code IS NOT NULL THEN RAISE EXCEPTION 'planted'; END IF; RETURN NEW; END $$",
        )
        .await;
    app.db
        .texts(
            "CREATE TRIGGER refuse_responses BEFORE UPDATE ON idempotency_keys \
             FOR EACH ROW EXECUTE FUNCTION refuse_responses()",
        )
        .await;
    let failed = idempotent(&app, "together", json!({"status": "under_review"})).send().await.unwrap();
    assert!(failed.status().is_server_error(), "{}", failed.status());
    assert_eq!(app.get("/api/v1/sessions").await.json()["pagination"]["total"], 0, "the session went with it");
    assert_eq!(app.get("/api/v1/cases").await.json()["pagination"]["total"], 0, "and its case");
    let records = app.db.texts("SELECT count(*)::text AS value FROM idempotency_keys").await;
    assert_eq!(records, ["0"], "and the key's claim: a retry runs");

    app.db.texts("DROP TRIGGER refuse_responses ON idempotency_keys").await;
    let retried = idempotent(&app, "together", json!({"status": "under_review"})).send().await.unwrap();
    assert_eq!(retried.status(), StatusCode::CREATED);
    assert!(retried.headers().get("idempotent-replayed").is_none());
    let created: Value = retried.json().await.unwrap();
    let replayed = idempotent(&app, "together", json!({"status": "under_review"})).send().await.unwrap();
    assert_eq!(replayed.headers()["idempotent-replayed"], "true");
    assert_eq!(replayed.json::<Value>().await.unwrap()["id"], created["id"]);
    assert_eq!(app.get("/api/v1/sessions").await.json()["pagination"]["total"], 1);
    assert_eq!(app.get("/api/v1/cases").await.json()["pagination"]["total"], 1);
}

#[tokio::test]
async fn a_refusal_whose_statement_failed_is_kept_for_its_key() {
    let app = spawn_app().await;
    let user = json!({"name": "Rita", "email": "rita@example.com", "role": "reviewer"});
    let post = |key: &'static str| {
        app.client
            .post(format!("{}/api/v1/org-users", app.address))
            .header("X-API-Key", &app.key)
            .header("Idempotency-Key", key)
            .json(&user)
            .send()
    };
    assert_eq!(post("first").await.unwrap().status(), StatusCode::CREATED);
    // The same email again: the database's unique constraint refuses the insert.
    let taken = post("second").await.unwrap();
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(taken.json::<Value>().await.unwrap()["error"], "email_taken");
    let again = post("second").await.unwrap();
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(app.get("/api/v1/org-users").await.json()["pagination"]["total"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_identical_requests_have_one_effect() {
    let app = spawn_app().await;
    let requests = (0..20).map(|_| idempotent(&app, "burst", json!({"status": "under_review"})).send());
    let replies = futures_util::future::join_all(requests).await;
    let mut created = std::collections::HashSet::new();
    for reply in replies {
        let reply = reply.unwrap();
        let status = reply.status();
        let body: Value = reply.json().await.unwrap();
        match status {
            StatusCode::CREATED => {
                created.insert(body["id"].as_str().unwrap().to_owned());
            }
            StatusCode::CONFLICT => assert_eq!(body["error"], "idempotency_in_progress"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(created.len(), 1, "every success is the original response");
    let sessions = app.get("/api/v1/sessions").await.json();
    assert_eq!(sessions["pagination"]["total"], 1);
    let cases = app.get("/api/v1/cases").await.json();
    assert_eq!(cases["pagination"]["total"], 1, "one case opened");
}
