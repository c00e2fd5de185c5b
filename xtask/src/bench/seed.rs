//! The seed, built once and cached: five organizations with a key per client (the claim
//! queue's bound to a reviewer each), sessions under review through the API, the decided history
//! and the claim queue as bulk SQL, and the ids S1 reads.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::processes::{Load, Server};
use super::{CLIENTS, DATABASE, bench_dir, migrate, scripts};
use crate::cluster::{psql, psql_file};
use crate::workspace_root;

/// Bumped whenever the seed changes shape: a cached seed of another version is rebuilt.
const SEED_VERSION: u64 = 2;
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

/// The seed of an earlier run, when it is of this version and its database still exists.
pub(super) fn cached_seed(admin_url: &str) -> Result<Option<Value>> {
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

/// Seeds the database from scratch; the seed's description, also written to `seed.json`.
pub(super) fn build_seed(binary: &Path, load: &Load, admin_url: &str, url: &str) -> Result<Value> {
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
