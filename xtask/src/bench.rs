//! `cargo xtask bench`: the service measured from outside against the limit PostgreSQL sets on
//! the same machine, in the same run.
//!
//! A private cluster under `target/bench/pg` with durable settings (fsync, synchronous commit,
//! full-page writes on) holds one database, seeded once and reused (`target/bench/seed.json`):
//! sessions and their cases through the API, the decided history and the claim queue as bulk
//! SQL (`xtask/bench/seed-cases.sql`). A release `casework serve` answers the load generator
//! (`crates/server/benches/load.rs`); each scenario's service run is followed by its `pgbench`
//! run (`xtask/bench/s*.sql`, one statement per request) with the same number of clients.
//! Results: a Markdown table on stdout and in `target/bench/results.md`, and
//! `target/bench/results.json`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::cluster::{self, Binaries, psql, psql_file};
use crate::{target_dir, workspace_root};

/// Bumped whenever the seed changes shape: a cached seed of another version is rebuilt.
const SEED_VERSION: u64 = 2;
const DATABASE: &str = "casework_bench";
/// Durable: every commit waits for its WAL on disk, as in production.
const DURABLE: &str = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=300 \
                       -c shared_buffers=2GB -c max_wal_size=8GB -c checkpoint_timeout=30min \
                       -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top";
/// Concurrent clients of every scenario (S4: one reviewer each).
const CLIENTS: u32 = 16;
/// Active cases of the large organization (through the API) and its decided history (bulk).
const LARGE_ACTIVE: u64 = 100_000;
const LARGE_DECIDED: u64 = 1_000_000;
/// Active cases of the small organization (through the API), for growth.
const SMALL_ACTIVE: u64 = 10_000;
/// Cases waiting in the claim queue (bulk); reset before every claim run.
const QUEUE: u64 = 100_000;
/// Sessions arrive at normal priority; triage raises some (S5a searches for them).
const PRIORITIES: &str = "UPDATE cases SET priority = 'high' \
                          WHERE decision IS NULL AND ('x' || substr(md5(id::text), 1, 8))::bit(32)::int % 10 = 0";
/// Deliveries the webhook worker drains in S6.
const DELIVERIES: u64 = 10_000;

/// What `cargo xtask bench` was asked for.
struct Options {
    seconds: u64,
    repetitions: usize,
    scenarios: Vec<String>,
}

/// Every scenario, in the order they run: name, organization, pgbench script.
const SCENARIOS: [(&str, &str, Option<&str>); 10] = [
    ("s1", "large", Some("s1.sql")),
    ("s2", "large", Some("s2.sql")),
    ("s3", "ingest", Some("s3.sql")),
    ("s4", "queue", Some("s4.sql")),
    ("s5a", "large", Some("s5a.sql")),
    ("s5b", "large", Some("s5b.sql")),
    ("s2-10k", "small", Some("s2.sql")),
    ("s5a-10k", "small", Some("s5a.sql")),
    ("s5b-10k", "small", Some("s5b.sql")),
    ("s6", "hooks", None),
];

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options { seconds: 10, repetitions: 1, scenarios: Vec::new() };
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "--seconds" => options.seconds = iter.next().context("--seconds N")?.parse()?,
            "--repetitions" => options.repetitions = iter.next().context("--repetitions N")?.parse()?,
            "--full" => (options.seconds, options.repetitions) = (60, 3),
            "--scenario" => {
                for name in iter.next().context("--scenario S")?.split(',') {
                    if !SCENARIOS.iter().any(|(known, ..)| *known == name) {
                        bail!("unknown scenario {name}; known: {}", names());
                    }
                    options.scenarios.push(name.to_owned());
                }
            }
            other => bail!("unknown option {other} (--seconds N, --repetitions N, --full, --scenario S[,S…])"),
        }
    }
    if options.scenarios.is_empty() {
        options.scenarios = SCENARIOS.iter().map(|(name, ..)| (*name).to_owned()).collect();
    }
    Ok(options)
}

fn names() -> String {
    SCENARIOS.iter().map(|(name, ..)| *name).collect::<Vec<_>>().join(", ")
}

fn bench_dir() -> PathBuf {
    target_dir().join("bench")
}

fn scripts() -> PathBuf {
    workspace_root().join("xtask").join("bench")
}

fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// Builds the release server and the load generator; their paths.
fn build() -> Result<(PathBuf, PathBuf)> {
    eprintln!("xtask: building the release binary and the load generator");
    let status = cargo()
        .args(["build", "--release", "--quiet", "--package", "casework-server", "--bin", "casework"])
        .status()?;
    if !status.success() {
        bail!("the release build failed");
    }
    let output = cargo()
        .args([
            "bench",
            "--no-run",
            "--quiet",
            "--package",
            "casework-server",
            "--bench",
            "load",
            "--message-format=json",
        ])
        .stderr(Stdio::inherit())
        .output()?;
    if !output.status.success() {
        bail!("building the load generator failed");
    }
    let load = String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|message| message["target"]["name"] == "load")
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
        .context("cargo did not name the load generator's executable")?;
    Ok((target_dir().join("release").join("casework"), load))
}

/// The load generator.
struct Load(PathBuf);

impl Load {
    fn json(&self, args: &[&str]) -> Result<Value> {
        let output = Command::new(&self.0).args(args).stderr(Stdio::inherit()).output()?;
        if !output.status.success() {
            bail!("load {} failed", args.join(" "));
        }
        let text = String::from_utf8_lossy(&output.stdout);
        let last = text.lines().last().unwrap_or_default();
        serde_json::from_str(last).with_context(|| format!("load {}: {text}", args[0]))
    }

    fn call(&self, url: &str, key: &str, method: &str, path: &str, body: &Value) -> Result<Value> {
        let body = body.to_string();
        self.json(&["call", "--url", url, "--key", key, "--method", method, "--path", path, "--body", &body])
    }
}

/// A running `casework serve`.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(binary: &Path, database_url: &str) -> Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let log = std::fs::File::create(bench_dir().join("server.log"))?;
        let child = Command::new(binary)
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("CASEWORK_ENV", "development")
            .env("CASEWORK__SERVER__PORT", port.to_string())
            .env("CASEWORK__LOG__FORMAT", "json")
            .env("CASEWORK__LOG__LEVEL", "info")
            .current_dir(workspace_root())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                bail!("casework serve did not listen within 30 s (see target/bench/server.log)");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self { child, url: format!("http://127.0.0.1:{port}") })
    }

    /// Resident and peak resident memory, in MiB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|kib| kib.parse::<f64>().ok())
                .map_or(0.0, |kib| kib / 1024.0)
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// `cargo xtask bench [--seconds N] [--repetitions N] [--full] [--scenario S,…]`.
pub fn bench(args: &[String]) -> Result<()> {
    let options = parse(args)?;
    std::fs::create_dir_all(bench_dir())?;
    let (server_binary, load_binary) = build()?;
    let load = Load(load_binary);
    let cluster = cluster::ensure_running_with(&bench_dir().join("pg"), DURABLE)?;
    let admin_url = cluster.url("postgres");
    let fsync = psql(&admin_url, "SHOW fsync")?.trim().to_owned();
    let commit = psql(&admin_url, "SHOW synchronous_commit")?.trim().to_owned();
    eprintln!("xtask: PostgreSQL is durable: fsync={fsync}, synchronous_commit={commit}, full_page_writes=on");
    if fsync != "on" || commit != "on" {
        bail!(
            "the bench cluster is not durable: run `cargo xtask bench` after stopping it (pg_ctl stop -D target/bench/pg/data)"
        );
    }
    let url = cluster.url(DATABASE);
    let seed = match cached_seed(&admin_url)? {
        Some(seed) => {
            eprintln!("xtask: reusing the seed in target/bench (delete target/bench/seed.json to rebuild it)");
            seed
        }
        None => build_seed(&server_binary, &load, &admin_url, &url)?,
    };
    // A cached seed may predate the latest migrations.
    migrate(&server_binary, &url)?;
    let server = Server::start(&server_binary, &url)?;
    let mut results = Vec::new();
    for name in &options.scenarios {
        let Some(&(_, org, script)) = SCENARIOS.iter().find(|(known, ..)| known == name) else { continue };
        let mut repetitions = Vec::new();
        for repetition in 0..options.repetitions {
            eprintln!("xtask: {name}, repetition {} of {}", repetition + 1, options.repetitions);
            let measured = if name == "s6" {
                drain(&server, &load, &url, &seed)?
            } else {
                scenario(&server, &load, &url, &seed, name, org, script, options.seconds)?
            };
            repetitions.push(measured);
        }
        let mut summary = median(&repetitions);
        let (rss, peak) = server.memory();
        summary["rss_mib"] = json!(rss);
        summary["peak_rss_mib"] = json!(peak);
        summary["scenario"] = json!(name);
        eprintln!("xtask: {name}: {summary}");
        results.push(summary);
    }
    report(&options, &results)
}

/// The seed of an earlier run, when it is of this version and its database still exists.
fn cached_seed(admin_url: &str) -> Result<Option<Value>> {
    let Ok(text) = std::fs::read_to_string(bench_dir().join("seed.json")) else { return Ok(None) };
    let seed: Value = serde_json::from_str(&text)?;
    let exists = psql(admin_url, &format!("SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'"))?;
    Ok((seed["version"] == SEED_VERSION && !exists.trim().is_empty()).then_some(seed))
}

/// One organization of the seed: its id, its keys (one per client) and their UUIDs.
fn organization(server: &Server, binary: &Path, load: &Load, url: &str, name: &str, bound: bool) -> Result<Value> {
    let output = Command::new(binary)
        .args(["admin", "bootstrap", "--org-name", name])
        .env("DATABASE_URL", url)
        .env("CASEWORK_ENV", "development")
        .current_dir(workspace_root())
        .output()?;
    if !output.status.success() {
        bail!("bootstrap failed: {}", String::from_utf8_lossy(&output.stderr));
    }
    let boot: Value = serde_json::from_slice(&output.stdout)?;
    let admin = boot["sandbox_key"].as_str().context("no sandbox_key")?.to_owned();
    let org = boot["org_id"].as_str().context("no org_id")?.to_owned();
    load.call(
        &server.url,
        &admin,
        "PATCH",
        "/api/v1/organization/settings",
        &json!({"rate_limit_per_minute": 100_000}),
    )?;
    let mut keys = Vec::new();
    let mut reviewers = Vec::new();
    for n in 0..CLIENTS {
        let mut body = json!({"name": format!("bench {n}"), "scopes": ["cases:read", "cases:write", "sessions:read", "sessions:write", "verifications:read"]});
        if bound {
            let user = load.call(
                &server.url,
                &admin,
                "POST",
                "/api/v1/org-users",
                &json!({"name": format!("Reviewer {n}"), "email": format!("reviewer{n}@bench.example")}),
            )?;
            let user_id = user["uuid"].as_str().context("no user uuid")?.to_owned();
            body["org_user_id"] = json!(user_id);
            reviewers.push(user_id);
        }
        let key = load.call(&server.url, &admin, "POST", "/api/v1/api-keys", &body)?;
        keys.push(key["key"].as_str().context("no key secret")?.to_owned());
    }
    let keys_file = bench_dir().join(format!("keys-{name}.txt"));
    std::fs::write(&keys_file, keys.join("\n"))?;
    let org_uuid = psql(url, &format!("SELECT id FROM organizations WHERE name = '{name}'"))?.trim().to_owned();
    let key_uuid = psql(
        url,
        &format!(
            "SELECT id FROM api_keys WHERE org_id = '{org_uuid}' AND name = 'bench 0' AND environment = 'sandbox'"
        ),
    )?
    .trim()
    .to_owned();
    Ok(json!({"org": org, "org_uuid": org_uuid, "admin_key": admin, "keys_file": keys_file, "key_uuid": key_uuid,
        "reviewer_uuid": reviewers.first()}))
}

fn migrate(binary: &Path, url: &str) -> Result<()> {
    let migrate =
        Command::new(binary).arg("migrate").env("DATABASE_URL", url).env("CASEWORK_ENV", "development").output()?;
    if !migrate.status.success() {
        bail!("migrate failed: {}", String::from_utf8_lossy(&migrate.stderr));
    }
    Ok(())
}

/// Seeds the database from scratch; the seed's description, also written to `seed.json`.
fn build_seed(binary: &Path, load: &Load, admin_url: &str, url: &str) -> Result<Value> {
    let started = Instant::now();
    eprintln!("xtask: seeding (once; cached under target/bench)");
    psql(admin_url, &format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"))?;
    psql(admin_url, &format!("CREATE DATABASE {DATABASE}"))?;
    migrate(binary, url)?;
    psql(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")?;
    let server = Server::start(binary, url)?;
    let mut seed = json!({"version": SEED_VERSION});
    for (name, bound) in [("large", false), ("small", false), ("ingest", false), ("queue", true), ("hooks", false)] {
        seed[name] = organization(&server, binary, load, url, name, bound)?;
    }
    let through_api = |org: &str, count: u64| -> Result<()> {
        let keys = seed[org]["keys_file"].as_str().unwrap_or_default().to_owned();
        eprintln!("xtask: {count} sessions under review for `{org}`, through POST /api/v1/sessions");
        let done = load.json(&[
            "seed",
            "--url",
            &server.url,
            "--keys",
            &keys,
            "--count",
            &count.to_string(),
            "--connections",
            "16",
        ])?;
        eprintln!("xtask:   {done}");
        Ok(())
    };
    through_api("small", SMALL_ACTIVE)?;
    through_api("large", LARGE_ACTIVE)?;
    through_api("queue", 1)?;
    through_api("hooks", 1)?;
    let bulk = |org: &str, kind: &str, count: u64| -> Result<()> {
        let org_uuid = seed[org]["org_uuid"].as_str().unwrap_or_default().to_owned();
        let template =
            psql(url, &format!("SELECT id FROM sessions WHERE org_id = '{org_uuid}' LIMIT 1"))?.trim().to_owned();
        eprintln!("xtask: {count} {kind} cases for `{org}` as bulk SQL (the API would take too long)");
        psql_file(
            url,
            &scripts().join("seed-cases.sql"),
            &[("org", org_uuid), ("count", count.to_string()), ("kind", kind.to_owned()), ("template", template)],
        )?;
        Ok(())
    };
    bulk("large", "decided", LARGE_DECIDED)?;
    bulk("queue", "open", QUEUE)?;
    eprintln!("xtask: one undecided case in ten made `high` priority, as bulk SQL");
    psql(url, PRIORITIES)?;
    let large = seed["large"]["org_uuid"].as_str().unwrap_or_default().to_owned();
    psql(
        url,
        &format!(
            "CREATE TABLE bench_case_ids AS SELECT (row_number() OVER (ORDER BY c.id))::int AS n, c.org_id, c.id AS case_id \
             FROM cases c JOIN sessions s ON s.org_id = c.org_id AND s.id = c.session_id \
             WHERE c.org_id = '{large}' AND s.external_ref LIKE 'bench\\_%'; \
             ALTER TABLE bench_case_ids ADD PRIMARY KEY (n)"
        ),
    )?;
    let ids = psql(url, "SELECT case_id FROM bench_case_ids ORDER BY n")?;
    std::fs::write(bench_dir().join("ids-large.txt"), &ids)?;
    seed["large"]["ids"] = json!(ids.lines().count());
    psql(url, "VACUUM ANALYZE")?;
    seed["seconds"] = json!(started.elapsed().as_secs_f64());
    drop(server);
    std::fs::write(bench_dir().join("seed.json"), serde_json::to_string_pretty(&seed)?)?;
    eprintln!("xtask: seeded in {:.0} s", started.elapsed().as_secs_f64());
    Ok(seed)
}

/// One repetition of one scenario: the service, then pgbench.
#[expect(clippy::too_many_arguments, reason = "one call site, every argument named")]
fn scenario(
    server: &Server,
    load: &Load,
    url: &str,
    seed: &Value,
    name: &str,
    org: &str,
    script: Option<&str>,
    seconds: u64,
) -> Result<Value> {
    let org_seed = &seed[org];
    let text = |field: &str| org_seed[field].as_str().unwrap_or_default().to_owned();
    let scenario = name.split('-').next().unwrap_or(name);
    if scenario == "s4" {
        reset_queue(url, &text("org_uuid"))?;
    }
    psql(url, "SELECT pg_stat_statements_reset()")?;
    let seconds_text = seconds.to_string();
    let clients = CLIENTS.to_string();
    let keys = text("keys_file");
    let ids = bench_dir().join("ids-large.txt").display().to_string();
    let mut args = vec![
        "run",
        "--url",
        &server.url,
        "--scenario",
        scenario,
        "--seconds",
        &seconds_text,
        "--connections",
        &clients,
        "--keys",
        &keys,
    ];
    if scenario == "s1" {
        args.extend(["--ids", &ids]);
    }
    let mut measured = load.json(&args)?;
    if matches!(scenario, "s1" | "s4") {
        // The latency targets hold at half the maximum: a fixed-rate run at half the rps just
        // measured (S4 first puts the claimed cases back).
        if scenario == "s4" {
            reset_queue(url, &text("org_uuid"))?;
        }
        let half = format!("{:.0}", measured["rps"].as_f64().unwrap_or(0.0) / 2.0);
        let mut at_half = args.clone();
        at_half.extend(["--rate", &half]);
        let paced = load.json(&at_half)?;
        measured["half_rate_rps"] = paced["rps"].clone();
        measured["half_rate_p50_ms"] = paced["p50_ms"].clone();
        measured["half_rate_p99_ms"] = paced["p99_ms"].clone();
    }
    let statements: f64 =
        psql(url, "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements")?.trim().parse().unwrap_or(0.0);
    let requests = measured["requests"].as_f64().unwrap_or(0.0);
    measured["statements_per_request"] = json!(if requests > 0.0 { statements / requests } else { 0.0 });
    if let Some(script) = script {
        if scenario == "s4" {
            reset_queue(url, &text("org_uuid"))?;
        }
        let ids_count = seed["large"]["ids"].as_u64().unwrap_or(1).to_string();
        measured["pgbench_tps"] = json!(pgbench(
            url,
            script,
            seconds,
            &[
                ("org", text("org_uuid")),
                ("key", text("key_uuid")),
                (
                    "reviewer",
                    org_seed["reviewer_uuid"].as_str().unwrap_or("00000000-0000-0000-0000-000000000000").to_owned()
                ),
                ("ids", ids_count),
            ],
        )?);
    }
    if scenario == "s4" {
        // Leave no claims behind: the next scenarios see the seed's queue.
        reset_queue(url, &text("org_uuid"))?;
    }
    if let (Some(rps), Some(limit)) = (measured["rps"].as_f64(), measured["pgbench_tps"].as_f64()) {
        measured["ratio"] = json!(if limit > 0.0 { rps / limit } else { 0.0 });
    }
    Ok(measured)
}

/// Puts every case of the claim queue back in it, and lets PostgreSQL forget the dead rows.
fn reset_queue(url: &str, org_uuid: &str) -> Result<()> {
    psql(
        url,
        &format!(
            "UPDATE cases SET status = 'open', assigned_to = NULL, claimed_at = NULL, claim_expires_at = NULL \
             WHERE org_id = '{org_uuid}' AND status = 'in_review'"
        ),
    )?;
    psql(url, "VACUUM ANALYZE cases")?;
    Ok(())
}

/// Transactions per second of `pgbench` running `script` with `CLIENTS` clients.
fn pgbench(url: &str, script: &str, seconds: u64, vars: &[(&str, String)]) -> Result<f64> {
    let binary = Binaries::find()?.path("pgbench");
    let mut command = Command::new(binary);
    command.args(["-n", "-M", "prepared", "-j", "2", "-c", &CLIENTS.to_string(), "-T", &seconds.to_string(), "-f"]);
    command.arg(scripts().join(script));
    for (name, value) in vars {
        command.arg("-D").arg(format!("{name}={value}"));
    }
    let output = command.arg(url).output()?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("pgbench {script} failed: {}{}", text, String::from_utf8_lossy(&output.stderr));
    }
    text.lines()
        .find_map(|line| line.strip_prefix("tps = "))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|tps| tps.parse().ok())
        .with_context(|| format!("no tps in pgbench's output: {text}"))
}

/// S6: the webhook workers drain `DELIVERIES` deliveries to a local receiver.
fn drain(server: &Server, load: &Load, url: &str, seed: &Value) -> Result<Value> {
    let org = &seed["hooks"];
    let org_uuid = org["org_uuid"].as_str().unwrap_or_default();
    let admin = org["admin_key"].as_str().unwrap_or_default();
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut receiver = Command::new(&load.0)
        .args(["receive", "--port", &port.to_string(), "--expect", &DELIVERIES.to_string(), "--timeout-seconds", "300"])
        .stdout(Stdio::piped())
        .spawn()?;
    let mut stdout = std::io::BufReader::new(receiver.stdout.take().context("receiver output")?);
    let mut line = String::new();
    std::io::BufRead::read_line(&mut stdout, &mut line)?;
    let endpoint = load.call(
        &server.url,
        admin,
        "POST",
        "/api/v1/webhooks/endpoints",
        &json!({"url": format!("http://127.0.0.1:{port}/hooks"), "enabled_events": ["case.created"]}),
    )?;
    let endpoint_id = endpoint["id"].as_str().unwrap_or_default().to_owned();
    let started = Instant::now();
    psql(
        url,
        &format!(
            "INSERT INTO webhook_outbox (org_id, id, environment, event, case_id, payload, created_at) \
             SELECT o.org_id, gen_random_uuid(), o.environment, o.event, o.case_id, o.payload, now() \
             FROM (SELECT * FROM webhook_outbox WHERE org_id = '{org_uuid}' AND event = 'case.created' LIMIT 1) o, \
                  generate_series(1, {DELIVERIES})"
        ),
    )?;
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest)?;
    receiver.wait()?;
    let seconds = started.elapsed().as_secs_f64();
    let received: Value = serde_json::from_str(rest.lines().last().unwrap_or("{}"))?;
    load.call(&server.url, admin, "DELETE", &format!("/api/v1/webhooks/endpoints/{endpoint_id}"), &Value::Null)?;
    let count = received["received"].as_f64().unwrap_or(0.0);
    Ok(json!({"requests": count, "errors": DELIVERIES as f64 - count, "seconds": seconds, "rps": count / seconds}))
}

/// The median repetition by rps.
fn median(repetitions: &[Value]) -> Value {
    let mut sorted: Vec<&Value> = repetitions.iter().collect();
    sorted.sort_by(|a, b| a["rps"].as_f64().unwrap_or(0.0).total_cmp(&b["rps"].as_f64().unwrap_or(0.0)));
    let mut chosen = sorted.get(sorted.len() / 2).map_or(json!({}), |v| (*v).clone());
    chosen["repetitions"] = json!(repetitions.len());
    chosen
}

/// The table (stdout and `results.md`) and the JSON (`results.json`).
fn report(options: &Options, results: &[Value]) -> Result<()> {
    let number =
        |value: &Value, digits: usize| value.as_f64().map_or_else(|| "—".to_owned(), |v| format!("{v:.digits$}"));
    let mut table = String::from(
        "| scenario | rps | p50 ms | p99 ms | errors | pgbench tps | ratio | statements/request | RSS MiB (peak) |\n\
         |---|---|---|---|---|---|---|---|---|\n",
    );
    for result in results {
        table.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) |\n",
            result["scenario"].as_str().unwrap_or_default(),
            number(&result["rps"], 0),
            number(&result["p50_ms"], 2),
            number(&result["p99_ms"], 2),
            number(&result["errors"], 0),
            number(&result["pgbench_tps"], 0),
            number(&result["ratio"], 2),
            number(&result["statements_per_request"], 1),
            number(&result["rss_mib"], 0),
            number(&result["peak_rss_mib"], 0),
        ));
    }
    let rps = |name: &str| results.iter().find(|r| r["scenario"] == name).and_then(|r| r["rps"].as_f64());
    let mut growth = Vec::new();
    for (large, small) in [("s2", "s2-10k"), ("s5a", "s5a-10k"), ("s5b", "s5b-10k")] {
        if let (Some(at_large), Some(at_small)) = (rps(large), rps(small)) {
            growth.push(
                json!({"scenario": large, "rps_10k": at_small, "rps_100k_1m": at_large, "slower": at_small / at_large}),
            );
            table.push_str(&format!(
                "\nGrowth {large}: {at_small:.0} rps at 10k active → {at_large:.0} rps at 100k active + 1M decided ({:.2}× slower)",
                at_small / at_large
            ));
        }
    }
    for result in results.iter().filter(|r| r["half_rate_rps"].is_number()) {
        table.push_str(&format!(
            "\n{} at half its maximum ({} rps, fixed rate): p50 {} ms, p99 {} ms",
            result["scenario"].as_str().unwrap_or_default(),
            number(&result["half_rate_rps"], 0),
            number(&result["half_rate_p50_ms"], 2),
            number(&result["half_rate_p99_ms"], 2)
        ));
    }
    for result in results.iter().filter(|r| r["scenario"] == "s4") {
        table.push_str(&format!(
            "\nS4: {} claims handed out twice; throughput per 5 s slice: {}",
            result["handed_out_twice"],
            result["slices"].as_array().map_or_else(String::new, |s| s
                .iter()
                .map(|v| number(v, 0))
                .collect::<Vec<_>>()
                .join(", "))
        ));
    }
    let header = format!(
        "{} repetition(s) of {} s per scenario, {CLIENTS} clients, median by rps; durable PostgreSQL \
         (fsync, synchronous_commit and full_page_writes on) on this machine; {} CPUs.\n\n",
        options.repetitions,
        options.seconds,
        std::thread::available_parallelism().map_or(0, std::num::NonZero::get)
    );
    let markdown = format!("{header}{table}\n");
    std::fs::write(bench_dir().join("results.md"), &markdown)?;
    std::fs::write(
        bench_dir().join("results.json"),
        serde_json::to_string_pretty(&json!({"seconds": options.seconds, "repetitions": options.repetitions,
            "clients": CLIENTS, "scenarios": results, "growth": growth}))?,
    )?;
    #[expect(clippy::print_stdout, reason = "the table is the command's output")]
    {
        println!("{markdown}");
    }
    Ok(())
}
