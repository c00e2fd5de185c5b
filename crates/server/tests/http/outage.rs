//! PostgreSQL goes away while requests run: every answer is a prompt 503 with `Retry-After`,
//! never a hang or a 500; when it returns, the service recovers by itself and no committed
//! change is lost. The outage uses a cluster of its own.

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, Instant};

use casework_adapters::system::UuidV7Ids;
use casework_adapters::testing::PrivateCluster;
use casework_domain::directory::{ApiKey, Scopes};
use casework_domain::ports::{ApiKeyStore, IdGenerator};
use casework_domain::tenant::{Environment, Organization, Tenant};
use casework_server::config;
use casework_server::state::AppState;
use reqwest::StatusCode;
use serde_json::json;

/// A migrated database on `cluster`, the app serving it, and an organization.
async fn serve_on(cluster: &PrivateCluster) -> (AppState, String, Organization) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let vars = vec![("DATABASE_URL".to_owned(), cluster.url())];
    let config = config::load_from(&dir, "test", &vars).unwrap();
    casework_adapters::postgres::run_migrations(&config.database.url).await.unwrap();
    let state = AppState::build(config).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(casework_server::http::serve(state.clone(), listener).unwrap());
    let org = Organization { id: UuidV7Ids.generate(), name: "Outage".into(), created_at: state.service.now() };
    state.store.create_organization(&org, &[]).await.unwrap();
    (state, address, org)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_service_answers_503_during_an_outage_and_recovers() {
    let cluster = PrivateCluster::start();
    let (state, address, org) = serve_on(&cluster).await;
    let key = ApiKey {
        id: UuidV7Ids.generate(),
        tenant: Tenant { org_id: org.id, environment: Environment::Sandbox },
        name: "outage".into(),
        scopes: Scopes::all(),
        org_user_id: None,
        expires_at: None,
        last_used_at: None,
        created_at: state.service.now(),
        revoked_at: None,
    };
    let secret = state.store.issue_key(&key).await.unwrap();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    let create = || {
        client
            .post(format!("{address}/api/v1/sessions"))
            .header("X-API-Key", &secret)
            .json(&json!({"status": "under_review"}))
            .send()
    };

    let mut committed = 0;
    for _ in 0..3 {
        assert_eq!(create().await.unwrap().status(), StatusCode::CREATED);
        committed += 1;
    }
    cluster.stop();
    for _ in 0..3 {
        let started = Instant::now();
        let reply = create().await.expect("an answer, not a hang");
        assert_eq!(reply.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(reply.headers().contains_key("retry-after"));
        assert!(started.elapsed() < Duration::from_secs(5), "answered within the pool's wait timeout");
        let body: serde_json::Value = reply.json().await.unwrap();
        assert_eq!(body["error"], "service_unavailable");
    }
    let ready = client.get(format!("{address}/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    // Gauges read from the database are absent while it is away, never a made-up 0.
    let metrics = client.get(format!("{address}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("casework_db_up 0"), "{metrics}");
    assert!(!metrics.contains("casework_queue_depth") && !metrics.contains("casework_webhook_backlog"), "{metrics}");
    cluster.start_again();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let reply = create().await.unwrap();
        match reply.status() {
            StatusCode::CREATED => {
                committed += 1;
                break;
            }
            StatusCode::SERVICE_UNAVAILABLE if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await
            }
            other => panic!("did not recover: {other} {}", reply.text().await.unwrap_or_default()),
        }
    }
    let total = |path: &'static str| {
        let request = client.get(format!("{address}{path}")).header("X-API-Key", &secret).send();
        async move { request.await.unwrap().json::<serde_json::Value>().await.unwrap()["pagination"]["total"].clone() }
    };
    assert_eq!(total("/api/v1/sessions").await, committed, "every committed session is there, and nothing else");
    assert_eq!(total("/api/v1/cases").await, committed);
}

/// Reviewers work a queue on one instance while PostgreSQL is restarted under them (a fast
/// shutdown terminates their sessions, some in the middle of a transaction), then stopped at once
/// and started again: every answer is a success, a refusal or a 503, never a 500.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restart_mid_traffic_answers_503s_never_a_500() {
    let cluster = PrivateCluster::start();
    let (state, address, org) = serve_on(&cluster).await;
    let tenant = Tenant { org_id: org.id, environment: Environment::Sandbox };
    let mut keys = Vec::new();
    for index in 0..8 {
        let user = casework_domain::directory::OrgUser {
            id: UuidV7Ids.generate(),
            org_id: org.id,
            name: format!("Reviewer {index}"),
            email: format!("r{index}@example.com"),
            role: casework_domain::directory::Role::Reviewer,
            active: true,
            created_at: state.service.now(),
        };
        state.store.create_org_user(&user).await.unwrap();
        let key = ApiKey {
            id: UuidV7Ids.generate(),
            tenant,
            name: format!("reviewer {index}"),
            scopes: Scopes::all(),
            org_user_id: Some(user.id),
            expires_at: None,
            last_used_at: None,
            created_at: state.service.now(),
            revoked_at: None,
        };
        keys.push(state.store.issue_key(&key).await.unwrap());
    }
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
    for _ in 0..40 {
        let reply = client
            .post(format!("{address}/api/v1/sessions"))
            .header("X-API-Key", &keys[0])
            .json(&json!({"status": "under_review"}))
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::CREATED);
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let workers: Vec<_> = keys
        .iter()
        .cloned()
        .map(|key| {
            let (client, address, stop) = (client.clone(), address.clone(), stop.clone());
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let post = |path: String, body: serde_json::Value| {
                        client.post(format!("{address}{path}")).header("X-API-Key", &key).json(&body).send()
                    };
                    let Ok(next) = post("/api/v1/cases/next".into(), json!({})).await else { continue };
                    statuses.push(next.status().as_u16());
                    let Ok(case) = next.json::<serde_json::Value>().await else { continue };
                    let Some(id) = case["id"].as_str() else {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        continue;
                    };
                    for (path, body) in [
                        (format!("/api/v1/cases/{id}/notes"), json!({"content": "checked"})),
                        (format!("/api/v1/cases/{id}/release"), json!({})),
                        (format!("/api/v1/cases/{id}/claim"), json!({})),
                        (format!("/api/v1/cases/{id}/approve"), json!({})),
                    ] {
                        if let Ok(reply) = post(path, body).await {
                            statuses.push(reply.status().as_u16());
                        }
                    }
                }
                statuses
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    for mode in ["fast", "immediate"] {
        let cluster_ref = &cluster;
        tokio::task::block_in_place(|| cluster_ref.stop_with(mode));
        tokio::time::sleep(Duration::from_millis(300)).await;
        tokio::task::block_in_place(|| cluster_ref.start_again());
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut statuses = Vec::new();
    for worker in workers {
        statuses.extend(worker.await.unwrap());
    }
    let count = |code: u16| statuses.iter().filter(|&&s| s == code).count();
    assert_eq!(count(500), 0, "no 500 among {} answers", statuses.len());
    assert!(count(200) + count(201) > 20, "work got done: {statuses:?}");
    assert!(count(503) > 0, "the restarts were felt: {statuses:?}");
    assert!(statuses.iter().all(|s| matches!(s, 200..=299 | 404 | 409 | 422 | 503)), "{statuses:?}");
}
