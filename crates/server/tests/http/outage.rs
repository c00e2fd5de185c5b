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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_service_answers_503_during_an_outage_and_recovers() {
    let cluster = PrivateCluster::start();
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
