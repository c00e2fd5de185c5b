//! PII key rotation as the runbook says (docs/OPERATIONS.md): the new key first, the old one
//! after it; `casework admin reencrypt-pii` while traffic runs; then the old key goes. A server
//! refuses to start while rows are sealed under a key it does not have, and nothing becomes
//! unreadable.

use std::net::TcpListener;
use std::path::Path;

use casework_adapters::system::UuidV7Ids;
use casework_adapters::testing::{TEST_PII_KEY, TestDatabase};
use casework_domain::directory::{ApiKey, Scopes};
use casework_domain::ports::{ApiKeyStore, IdGenerator};
use casework_domain::tenant::{Environment, Organization, Tenant};
use casework_server::config;
use casework_server::state::AppState;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::casework_command;

const NEW_KEY: &str = "next:8e5b7c1d2a4f69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f9";

/// The app on `db` with these PII keys (the first encrypts).
async fn app_with_keys(db: &TestDatabase, keys: &str) -> (AppState, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let vars = vec![
        ("DATABASE_URL".to_owned(), db.url().to_owned()),
        ("CASEWORK__SECURITY__PII_ENCRYPTION_KEYS".to_owned(), keys.to_owned()),
    ];
    let state = AppState::build(config::load_from(&dir, "test", &vars).unwrap()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(casework_server::http::serve(state.clone(), listener).unwrap());
    (state, address)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rotation_with_traffic_running_leaves_nothing_unreadable() {
    let db = TestDatabase::new().await;
    let (old, old_address) = app_with_keys(&db, TEST_PII_KEY).await;
    let org = Organization { id: UuidV7Ids.generate(), name: "Rotation".into(), created_at: old.service.now() };
    old.store.create_organization(&org, &[]).await.unwrap();
    let key = ApiKey {
        id: UuidV7Ids.generate(),
        tenant: Tenant { org_id: org.id, environment: Environment::Sandbox },
        name: "rotation".into(),
        scopes: Scopes::all(),
        org_user_id: None,
        expires_at: None,
        last_used_at: None,
        created_at: old.service.now(),
        revoked_at: None,
    };
    let secret = old.store.issue_key(&key).await.unwrap();
    let client = reqwest::Client::new();
    let ingest = |address: String, index: usize| {
        let request = client.post(format!("{address}/api/v1/sessions")).header("X-API-Key", &secret).json(
            &json!({"external_ref": format!("user_{index}"), "extracted_data": {"first_name": format!("Ada{index}")}}),
        );
        async move { request.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let mut sessions = Vec::new();
    for index in 0..200 {
        sessions.push(ingest(old_address.clone(), index).await);
    }

    // Only the new key: the rows sealed under the old one would be unreadable, so no start.
    let refused =
        casework_command(&db).arg("worker").env("CASEWORK__SECURITY__PII_ENCRYPTION_KEYS", NEW_KEY).output().unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("test (200 rows)") && said.contains("reencrypt-pii"), "{said}");

    // The new key first, the old after it; traffic goes on while old rows are re-encrypted.
    let both = format!("{NEW_KEY},{TEST_PII_KEY}");
    let (rotating, address) = app_with_keys(&db, &both).await;
    let traffic = {
        let address = address.clone();
        async move {
            let mut written = Vec::new();
            for index in 200..260 {
                written.push(ingest(address.clone(), index).await);
            }
            written
        }
    };
    let reencrypt = async {
        let output = casework_command(&db)
            .args(["admin", "reencrypt-pii", "--batch", "25"])
            .env("CASEWORK__SECURITY__PII_ENCRYPTION_KEYS", &both)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<Value>(&output.stdout).unwrap()
    };
    let (written, report) = tokio::join!(traffic, reencrypt);
    sessions.extend(written);
    assert_eq!(report["reencrypted"], 200, "{report}");
    assert!(report["rows_per_key"].get("test").is_none(), "nothing left under the old key: {report}");
    assert!(report["rows_per_second"].as_f64().is_some_and(|rate| rate > 0.0), "{report}");
    assert_eq!(rotating.store.pii_rows_per_key().await.unwrap(), [("next".to_owned(), 260)]);

    // The old key goes: every session still reads, with its PII.
    let (_new, new_address) = app_with_keys(&db, NEW_KEY).await;
    for (index, session) in sessions.iter().enumerate() {
        let path = format!("{new_address}/api/v1/sessions/{}", session["id"].as_str().unwrap());
        let reply = client.get(path).header("X-API-Key", &secret).send().await.unwrap();
        assert_eq!(reply.status(), StatusCode::OK);
        let body = reply.json::<Value>().await.unwrap();
        assert_eq!(body["extracted_data"]["first_name"], format!("Ada{index}"));
    }
    let metrics = client.get(format!("{new_address}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("casework_pii_rows{key_id=\"next\"} 260"), "{metrics}");
}
