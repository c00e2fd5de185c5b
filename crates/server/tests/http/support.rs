//! `spawn_app`: the real server against its own database, with a bootstrapped organization.

use std::net::TcpListener;
use std::path::Path;

use casework_adapters::auth::ApiKeySecret;
use casework_adapters::system::UuidV7Ids;
use casework_adapters::testing::TestDatabase;
use casework_domain::directory::{ApiKey, OrgUser, Role, Scope, Scopes};
use casework_domain::id::{OrgId, OrgUserId};
use casework_domain::ports::IdGenerator;
use casework_domain::tenant::{Environment, Organization, Tenant};
use casework_server::config;
use casework_server::state::AppState;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A running app with one organization.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub org: OrgId,
    /// An all-scope sandbox key with no bound user.
    pub key: String,
    pub db: TestDatabase,
}

/// A reviewer and their personal key.
pub struct Reviewer {
    pub id: OrgUserId,
    pub uuid: String,
    pub key: String,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts the contract's error body: status, code, and the request id echoed.
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        let body = self.json();
        assert_eq!(body["error"], code, "{}", self.text);
        assert_eq!(body["status_code"], status);
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
        assert_eq!(body["request_id"].as_str(), self.header("x-request-id"));
        assert!(self.header("content-type").is_some_and(|c| c.starts_with("application/json")));
        body
    }

    /// The `errors[]` entries as (field, code) pairs.
    pub fn field_errors(&self) -> Vec<(String, String)> {
        self.json()["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        (
                            e["field"].as_str().unwrap_or_default().to_owned(),
                            e["code"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// The app with extra `CASEWORK__…` variables (`("CASEWORK__LIMITS__RATE_LIMITER", "postgres")`).
pub async fn spawn_app_with(overrides: &[(&str, &str)]) -> TestApp {
    spawn_app_built(overrides, |state| state).await
}

/// The app with extra variables and its state changed by `customize` before it serves.
pub async fn spawn_app_built(overrides: &[(&str, &str)], customize: impl FnOnce(AppState) -> AppState) -> TestApp {
    let db = TestDatabase::new().await;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config");
    let mut vars = vec![("DATABASE_URL".to_owned(), db.url().to_owned())];
    vars.extend(overrides.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let config = config::load_from(&dir, "test", &vars).unwrap();
    let state = customize(AppState::build(config).unwrap());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let server = casework_server::http::serve(state.clone(), listener).unwrap();
    tokio::spawn(server);
    let org = Organization { id: UuidV7Ids.generate(), name: "Acme".into(), created_at: state.service.now() };
    state.store.create_organization(&org, &[]).await.unwrap();
    let mut app = TestApp { address, client: reqwest::Client::new(), state, org: org.id, key: String::new(), db };
    app.key = app.key_with(Environment::Sandbox, &Scope::ALL, None).await;
    app
}

impl TestApp {
    pub fn tenant(&self, environment: Environment) -> Tenant {
        Tenant { org_id: self.org, environment }
    }

    /// A new key with these scopes, optionally bound to a user.
    pub async fn key_with(&self, environment: Environment, scopes: &[Scope], user: Option<OrgUserId>) -> String {
        new_key(&self.state, self.tenant(environment), scopes, user).await
    }

    /// An all-scope sandbox key of another organization.
    pub async fn foreign_key(&self) -> String {
        let org = Organization { id: UuidV7Ids.generate(), name: "Other".into(), created_at: self.state.service.now() };
        self.state.store.create_organization(&org, &[]).await.unwrap();
        new_key(&self.state, Tenant { org_id: org.id, environment: Environment::Sandbox }, &Scope::ALL, None).await
    }

    /// An active org user (a reviewer).
    pub async fn user(&self, name: &str) -> OrgUser {
        let user = OrgUser {
            id: UuidV7Ids.generate(),
            org_id: self.org,
            name: name.into(),
            email: format!("{}@example.com", name.to_lowercase()),
            role: Role::Reviewer,
            active: true,
            created_at: self.state.service.now(),
        };
        self.state.store.create_org_user(&user).await.unwrap();
        user
    }

    /// A reviewer with a personal sandbox key holding every scope but `cases:admin`.
    pub async fn reviewer(&self, name: &str) -> Reviewer {
        let user = self.user(name).await;
        let scopes: Vec<Scope> = Scope::ALL.into_iter().filter(|s| *s != Scope::CasesAdmin).collect();
        let key = self.key_with(Environment::Sandbox, &scopes, Some(user.id)).await;
        Reviewer { uuid: user.id.uuid().to_string(), id: user.id, key }
    }

    /// Sends `body` as `reviewer` to `path`.
    pub async fn post_as(&self, reviewer: &Reviewer, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(&reviewer.key), Some(body)).await
    }

    /// Sends a request; `body` is sent as JSON when given.
    pub async fn call(&self, method: Method, path: &str, key: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = self.client.request(method, format!("{}{path}", self.address));
        if let Some(key) = key {
            request = request.header("X-API-Key", key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        Reply { status, headers, text }
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.call(Method::GET, path, Some(&self.key), None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(&self.key), Some(body)).await
    }

    /// Ingests a session and returns its JSON.
    pub async fn session(&self, body: Value) -> Value {
        let reply = self.post("/api/v1/sessions", body).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text);
        reply.json()
    }

    /// A session under review, and its case's JSON (from `GET /cases/{id}`).
    pub async fn case(&self) -> Value {
        let session = self
            .session(json!({"status": "under_review", "external_ref": "user_4812",
                "extracted_data": {"first_name": "Ada", "document_number": "X1234567"}}))
            .await;
        let reply = self.get(&format!("/api/v1/cases?session_id={}", session["id"].as_str().unwrap())).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text);
        reply.json()["data"][0].clone()
    }
}

async fn new_key(state: &AppState, tenant: Tenant, scopes: &[Scope], user: Option<OrgUserId>) -> String {
    let key = ApiKey {
        id: UuidV7Ids.generate(),
        tenant,
        name: "test key".into(),
        scopes: scopes.iter().copied().collect::<Scopes>(),
        org_user_id: user,
        expires_at: None,
        last_used_at: None,
        created_at: state.service.now(),
        revoked_at: None,
    };
    let secret = ApiKeySecret::generate(tenant.environment);
    state.store.create_api_key(&key, &secret).await.unwrap();
    secret.expose().to_owned()
}

/// The `casework` binary, configured for the test environment against `db`.
pub fn casework_command(db: &casework_adapters::testing::TestDatabase) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_casework"));
    command
        .env("CASEWORK_ENV", "test")
        .env("CASEWORK_CONFIG_DIR", concat!(env!("CARGO_MANIFEST_DIR"), "/../../config"))
        .env("DATABASE_URL", db.url());
    command
}
