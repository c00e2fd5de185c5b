//! Two `casework serve` processes on one database, as behind a load balancer: claim-next hands
//! each case to exactly one reviewer across both, and neither logs PII.

use std::collections::HashSet;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use casework_adapters::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::casework_command;

struct Server {
    child: Child,
    address: String,
    log: std::path::PathBuf,
}

impl Server {
    fn start(db: &TestDatabase) -> Self {
        Self::start_with(db, &[])
    }

    fn start_with(db: &TestDatabase, vars: &[(&str, &str)]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        // A file, not a pipe: a full pipe would block the server's logging.
        let log = std::env::temp_dir().join(format!("casework-test-{}.log", uuid::Uuid::new_v4()));
        let log_file = std::fs::File::create(&log).unwrap();
        let child = casework_command(db)
            .arg("serve")
            .env("CASEWORK__SERVER__PORT", port.to_string())
            .env("CASEWORK__LOG__LEVEL", "debug")
            .env("CASEWORK__LOG__FORMAT", "json")
            .envs(vars.iter().copied())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .unwrap();
        Self { child, address: format!("http://127.0.0.1:{port}"), log }
    }

    async fn wait_ready(&self, client: &reqwest::Client) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = client.get(format!("{}/health/ready", self.address)).send().await;
            if ready.is_ok_and(|r| r.status() == StatusCode::OK) {
                return;
            }
            assert!(Instant::now() < deadline, "server at {} never became ready", self.address);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// POSTs `body` to `path` with `key`; the JSON answer.
    async fn post(&self, client: &reqwest::Client, key: &str, path: &str, body: Value) -> Value {
        let reply = client.post(format!("{}{path}", self.address)).header("X-API-Key", key).json(&body).send().await;
        reply.unwrap().json().await.unwrap()
    }

    /// Stops the server and returns what it logged.
    fn stop(mut self) -> String {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "SIGTERM shuts down gracefully with exit 0: {status}");
        let logs = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        logs
    }
}

fn admin(db: &TestDatabase, args: &[&str]) -> Value {
    let output = casework_command(db).args(args).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_hand_each_case_out_once_and_log_no_pii() {
    let db = TestDatabase::new().await;
    let boot = admin(&db, &["admin", "bootstrap", "--org-name", "Scale"]);
    let org = boot["org_id"].as_str().unwrap().to_owned();
    let key = boot["sandbox_key"].as_str().unwrap().to_owned();
    let servers = [Server::start(&db), Server::start(&db)];
    let client = reqwest::Client::new();
    for server in &servers {
        server.wait_ready(&client).await;
    }
    let secret_name = "Zelda-Pii-Marker";
    for index in 0..200 {
        let server = &servers[index % 2];
        let body =
            json!({"status": "under_review", "extracted_data": {"first_name": secret_name, "ssn": "987-65-4321"}});
        let reply = client
            .post(format!("{}/api/v1/sessions", server.address))
            .header("X-API-Key", &key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), StatusCode::CREATED);
    }
    let mut reviewers = Vec::new();
    for n in 0..16 {
        let user = admin(
            &db,
            &[
                "admin",
                "create-user",
                "--org",
                &org,
                "--name",
                &format!("R{n}"),
                "--email",
                &format!("r{n}@example.com"),
            ],
        );
        reviewers.push(user["uuid"].as_str().unwrap().to_owned());
    }
    let handed: Vec<Vec<String>> = futures_util::future::join_all(reviewers.iter().enumerate().map(|(n, reviewer)| {
        let (client, key, server) = (&client, &key, &servers[n % 2]);
        async move {
            let mut mine = Vec::new();
            loop {
                let reply = client
                    .post(format!("{}/api/v1/cases/next", server.address))
                    .header("X-API-Key", key)
                    .json(&json!({"reviewer_id": reviewer}))
                    .send()
                    .await
                    .unwrap();
                match reply.status() {
                    StatusCode::OK => {
                        mine.push(reply.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned())
                    }
                    StatusCode::NOT_FOUND => return mine,
                    other => panic!("unexpected {other}: {}", reply.text().await.unwrap_or_default()),
                }
            }
        }
    }))
    .await;
    let all: Vec<&String> = handed.iter().flatten().collect();
    assert_eq!(all.len(), 200);
    assert_eq!(all.iter().collect::<HashSet<_>>().len(), 200, "a case was handed out twice");
    let [first, second] = servers;
    for logs in [first.stop(), second.stop()] {
        assert!(logs.contains("request"), "the servers logged nothing: debug logs expected");
        assert!(!logs.contains(secret_name) && !logs.contains("987-65-4321"), "PII in the logs");
        assert!(!logs.contains(&key), "an API key in the logs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_shared_rate_limiter_holds_across_two_servers() {
    let db = TestDatabase::new().await;
    let boot = admin(&db, &["admin", "bootstrap", "--org-name", "Limits"]);
    let key = boot["sandbox_key"].as_str().unwrap().to_owned();
    let shared = [("CASEWORK__LIMITS__RATE_LIMITER", "postgres")];
    let servers = [Server::start_with(&db, &shared), Server::start_with(&db, &shared)];
    let client = reqwest::Client::new();
    for server in &servers {
        server.wait_ready(&client).await;
    }
    let reply = client
        .patch(format!("{}/api/v1/organization/settings", servers[0].address))
        .header("X-API-Key", &key)
        .json(&json!({"rate_limit_per_minute": 10}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let fresh =
        servers[1].post(&client, &key, "/api/v1/api-keys", json!({"name": "burst", "scopes": ["cases:read"]})).await;
    let key = fresh["key"].as_str().unwrap().to_owned();
    // Settings reach every instance within a second; a burst must not straddle two windows.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    while time::OffsetDateTime::now_utc().second() > 50 {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let requests = (0..64)
        .map(|n| client.get(format!("{}/api/v1/cases", servers[n % 2].address)).header("X-API-Key", &key).send());
    let replies = futures_util::future::join_all(requests).await;
    let statuses: Vec<StatusCode> = replies.into_iter().map(|r| r.unwrap().status()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::TOO_MANY_REQUESTS).count(), 54);
    let [first, second] = servers;
    first.stop();
    second.stop();
}

/// A bootstrapped organization's sandbox key and a ready server logging at INFO.
async fn logging_server(org: &str) -> (TestDatabase, String, Server, reqwest::Client) {
    let db = TestDatabase::new().await;
    let boot = admin(&db, &["admin", "bootstrap", "--org-name", org]);
    let key = boot["sandbox_key"].as_str().unwrap().to_owned();
    let server = Server::start_with(&db, &[("CASEWORK__LOG__LEVEL", "info")]);
    let client = reqwest::Client::new();
    server.wait_ready(&client).await;
    (db, key, server, client)
}

/// One access-log line per request, as JSON with the request id at the top level, and a method
/// nobody defined collapses into one metrics label.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_request_writes_one_access_log_line() {
    let (_db, key, server, client) = logging_server("Logs").await;
    let reply = client
        .get(format!("{}/api/v1/cases/counts", server.address))
        .header("X-API-Key", &key)
        .header("X-Request-Id", "req-access-log-test")
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
    let refused = client.get(format!("{}/api/v1/cases", server.address)).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let odd = reqwest::Method::from_bytes(b"FOO").unwrap();
    client.request(odd, format!("{}/api/v1/cases", server.address)).send().await.unwrap();
    let metrics = client.get(format!("{}/metrics", server.address)).send().await.unwrap().text().await.unwrap();
    assert!(!metrics.contains("method=\"FOO\"") && metrics.contains("method=\"other\""), "{metrics}");
    let log = server.stop();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "casework::access")
        .collect();
    let counted = lines.iter().find(|line| line["request_id"] == "req-access-log-test").expect("the access line");
    assert_eq!(counted["route"], "/api/v1/cases/counts");
    assert_eq!(counted["status"], 200);
    assert_eq!(counted["method"], "GET");
    assert!(counted["key_id"].as_str().is_some_and(|id| id.starts_with("key_")), "{counted}");
    assert!(counted["latency_ms"].is_u64() && counted["client"] == "127.0.0.1", "{counted}");
    assert!(lines.iter().any(|line| line["status"] == 401 && line["key_id"] == "-"));
    assert!(!log.contains(&key), "the key is never logged");
    assert!(!log.contains('\u{1b}'), "no colour codes in a file");
}

/// At SIGTERM readiness turns 503 (liveness stays 200) for `server.shutdown_drain_ms`, requests
/// are still served meanwhile, then the process exits 0.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_drains_readiness_before_the_listener_closes() {
    let db = TestDatabase::new().await;
    let server = Server::start_with(&db, &[("CASEWORK__SERVER__SHUTDOWN_DRAIN_MS", "1500")]);
    let client = reqwest::Client::new();
    server.wait_ready(&client).await;
    let _ = Command::new("kill").arg("-TERM").arg(server.child.id().to_string()).status();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let ready = client.get(format!("{}/health/ready", server.address)).send().await.unwrap();
    assert_eq!(ready.status(), StatusCode::SERVICE_UNAVAILABLE);
    let live = client.get(format!("{}/health/live", server.address)).send().await.unwrap();
    assert_eq!(live.status(), StatusCode::OK);
    let log = server.stop();
    assert!(log.contains("draining before shutdown"), "{log}");
}

/// With `server.metrics_address`, `/metrics` leaves the public port for its own address.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_can_live_on_an_address_of_their_own() {
    let db = TestDatabase::new().await;
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let address = format!("127.0.0.1:{port}");
    let server = Server::start_with(&db, &[("CASEWORK__SERVER__METRICS_ADDRESS", address.as_str())]);
    let client = reqwest::Client::new();
    server.wait_ready(&client).await;
    let public = client.get(format!("{}/metrics", server.address)).send().await.unwrap();
    assert_eq!(public.status(), StatusCode::NOT_FOUND);
    let private = client.get(format!("http://{address}/metrics")).send().await.unwrap();
    assert_eq!(private.status(), StatusCode::OK);
    assert!(private.text().await.unwrap().contains("casework_db_up 1"));
    server.stop();
}

/// `n` committed events for the organization's sandbox endpoints, as ingestion writes them
/// (the fan-out trigger makes one delivery per endpoint).
async fn backlog(db: &TestDatabase, org: &str, n: usize) {
    let org = casework_domain::id::OrgId::parse(org).unwrap().uuid();
    let inserted = db
        .texts(&format!(
            "WITH rows AS (INSERT INTO webhook_outbox (org_id, id, environment, event, payload, created_at) \
             SELECT '{org}', gen_random_uuid(), 'sandbox', 'session.created', \
                    jsonb_build_object('event', 'session.created', 'n', g), now() \
             FROM generate_series(1, {n}) g RETURNING 1) \
             SELECT count(*)::text AS value FROM rows"
        ))
        .await;
    assert_eq!(inserted, [n.to_string()]);
}

/// Registers a sandbox endpoint for `receiver` through `server`, disabled (a backlog waits).
async fn disabled_endpoint(client: &reqwest::Client, server: &Server, key: &str, url: &str) -> String {
    let created = server.post(client, key, "/api/v1/webhooks/endpoints", json!({"url": url})).await;
    let id = created["id"].as_str().unwrap().to_owned();
    set_enabled(client, server, key, &id, false).await;
    id
}

async fn set_enabled(client: &reqwest::Client, server: &Server, key: &str, id: &str, enabled: bool) {
    let reply = client
        .patch(format!("{}/api/v1/webhooks/endpoints/{id}", server.address))
        .header("X-API-Key", key)
        .json(&json!({"enabled": enabled}))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), StatusCode::OK);
}

/// Each delivery id the receiver got, with how often.
fn counts(received: &[crate::receiver::Received]) -> std::collections::HashMap<String, usize> {
    let mut counts = std::collections::HashMap::new();
    for delivery in received {
        *counts.entry(delivery.header("x-verifa-delivery-id").to_owned()).or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_servers_drain_one_backlog_sending_each_delivery_once() {
    const BACKLOG: usize = 2000;
    let db = TestDatabase::new().await;
    let boot = admin(&db, &["admin", "bootstrap", "--org-name", "Deliveries"]);
    let key = boot["sandbox_key"].as_str().unwrap().to_owned();
    let receiver = crate::receiver::Receiver::start();
    let vars = [("CASEWORK__WORKERS__WEBHOOK_PER_ENDPOINT", "16"), ("CASEWORK__LOG__LEVEL", "warn")];
    let servers = [Server::start_with(&db, &vars), Server::start_with(&db, &vars)];
    let client = reqwest::Client::new();
    for server in &servers {
        server.wait_ready(&client).await;
    }
    let endpoint = disabled_endpoint(&client, &servers[0], &key, &receiver.url).await;
    backlog(&db, boot["org_id"].as_str().unwrap(), BACKLOG).await;
    let started = Instant::now();
    set_enabled(&client, &servers[1], &key, &endpoint, true).await;
    let received = receiver.wait_for(BACKLOG, Duration::from_secs(60)).await;
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let received_all = receiver.received();
    let counts = counts(&received_all);
    assert_eq!(received.len().min(BACKLOG), BACKLOG, "every delivery arrived");
    assert_eq!(counts.len(), BACKLOG);
    assert!(counts.values().all(|n| *n == 1), "each delivery sent exactly once across two instances");
    let per_second = BACKLOG as f64 / elapsed.as_secs_f64();
    eprintln!(
        "webhook throughput: {BACKLOG} deliveries in {elapsed:.2?} by two instances = {per_second:.0} deliveries/s"
    );
    for server in servers {
        server.stop();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_mid_backlog_loses_nothing_and_sends_nothing_twice_at_once() {
    const BACKLOG: usize = 300;
    let db = TestDatabase::new().await;
    let boot = admin(&db, &["admin", "bootstrap", "--org-name", "Crash"]);
    let key = boot["sandbox_key"].as_str().unwrap().to_owned();
    let receiver = crate::receiver::Receiver::start();
    for _ in 0..BACKLOG {
        receiver.answer_slowly(200, Duration::from_millis(20));
    }
    let first = Server::start_with(&db, &[("CASEWORK__LOG__LEVEL", "warn")]);
    let client = reqwest::Client::new();
    first.wait_ready(&client).await;
    let endpoint = disabled_endpoint(&client, &first, &key, &receiver.url).await;
    backlog(&db, boot["org_id"].as_str().unwrap(), BACKLOG).await;
    set_enabled(&client, &first, &key, &endpoint, true).await;
    receiver.wait_for(BACKLOG / 3, Duration::from_secs(30)).await;
    let mut first = first;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    let killed_at = Instant::now();
    let before_kill = receiver.received().len();
    assert!(before_kill < BACKLOG, "killed mid-backlog");
    // As if the killed instance's leases had run out (they outlive the 30 s attempt timeout).
    db.texts(
        "WITH lapsed AS (UPDATE webhook_deliveries SET lease_until = now() - interval '1 second' \
              WHERE lease_until IS NOT NULL RETURNING 1) SELECT count(*)::text AS value FROM lapsed",
    )
    .await;
    let second = Server::start_with(&db, &[("CASEWORK__LOG__LEVEL", "warn")]);
    second.wait_ready(&client).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while counts(&receiver.received()).len() < BACKLOG && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = receiver.received();
    let counts = counts(&received);
    assert_eq!(counts.len(), BACKLOG, "every event delivered after the restart");
    for (id, n) in &counts {
        if *n > 1 {
            // Only an attempt cut short by the kill is sent again, and only after it.
            let arrivals: Vec<Instant> =
                received.iter().filter(|d| d.header("x-verifa-delivery-id") == id).map(|d| d.at).collect();
            assert_eq!(*n, 2, "{id} sent {n} times");
            assert!(arrivals[0] < killed_at && arrivals[1] > killed_at, "{id} twice at the same time");
        }
    }
    assert!(counts.values().filter(|n| **n > 1).count() <= 4, "at most the attempts in flight at the kill");
    let _ = std::fs::remove_file(&first.log);
    second.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_mcp_tool_call_is_in_the_access_log_as_the_agents() {
    use rmcp::ServiceExt;
    use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
    use rmcp::transport::StreamableHttpClientTransport;
    use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;

    let (_db, key, server, _client) = logging_server("Agents").await;
    let uri = format!("{}/mcp", server.address);
    let transport = StreamableHttpClientTransport::from_config(
        StreamableHttpClientTransportConfig::with_uri(uri).auth_header(key.clone()),
    );
    let config = ClientConfig::new(ClientCapabilities::default(), Implementation::new("triage-bot", "1.0"));
    let mcp = config.serve(transport).await.unwrap();
    for tool in ["get_case_counts", "whoami"] {
        let result = mcp.call_tool(CallToolRequestParams::new(tool)).await.unwrap();
        assert_ne!(result.is_error, Some(true), "{tool}");
    }
    mcp.cancel().await.unwrap();
    let log = server.stop();
    let lines: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["target"] == "casework::access")
        .collect();
    for tool in ["get_case_counts", "whoami"] {
        let call =
            lines.iter().find(|line| line["tool"] == tool).unwrap_or_else(|| panic!("no line for {tool}: {log}"));
        assert_eq!((call["actor"].clone(), call["agent"].clone()), (json!("agent"), json!("triage-bot")), "{call}");
    }
    let api = lines.iter().find(|line| line["route"] == "/api/v1/cases/counts").expect("the in-process API line");
    assert_eq!(
        (api["actor"].clone(), api["agent"].clone(), api["status"].clone()),
        (json!("agent"), json!("triage-bot"), json!(200))
    );
    assert!(!log.contains(&key), "the key is never logged");
}
