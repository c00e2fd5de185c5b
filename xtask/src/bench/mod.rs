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
//!
//! Modules: [`processes`] (the server and the load generator), [`seed`], [`scenarios`] (each
//! run beside its pgbench run, and the webhook drain), [`report`].
mod processes;
mod report;
mod scenarios;
mod seed;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use crate::cluster::{self, psql};
use crate::{target_dir, workspace_root};
use processes::{Load, Server};

pub(super) const DATABASE: &str = "casework_bench";
/// Durable: every commit waits for its WAL on disk, as in production.
const DURABLE: &str = "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=300 \
                       -c shared_buffers=2GB -c max_wal_size=8GB -c checkpoint_timeout=30min \
                       -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top";
/// Concurrent clients of every scenario (S4: one reviewer each).
pub(super) const CLIENTS: u32 = 16;

/// What `cargo xtask bench` was asked for.
pub(super) struct Options {
    pub(super) seconds: u64,
    pub(super) repetitions: usize,
    pub(super) scenarios: Vec<String>,
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

pub(super) fn bench_dir() -> PathBuf {
    target_dir().join("bench")
}

pub(super) fn scripts() -> PathBuf {
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
    let seed = match seed::cached_seed(&admin_url)? {
        Some(seed) => {
            eprintln!("xtask: reusing the seed in target/bench (delete target/bench/seed.json to rebuild it)");
            seed
        }
        None => seed::build_seed(&server_binary, &load, &admin_url, &url)?,
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
                scenarios::drain(&server, &load, &url, &seed)?
            } else {
                scenarios::scenario(&server, &load, &url, &seed, name, org, script, options.seconds)?
            };
            repetitions.push(measured);
        }
        let mut summary = report::median(&repetitions);
        let (rss, peak) = server.memory();
        summary["rss_mib"] = json!(rss);
        summary["peak_rss_mib"] = json!(peak);
        summary["scenario"] = json!(name);
        eprintln!("xtask: {name}: {summary}");
        results.push(summary);
    }
    report::report(&options, &results)
}

pub(super) fn migrate(binary: &Path, url: &str) -> Result<()> {
    let migrate =
        Command::new(binary).arg("migrate").env("DATABASE_URL", url).env("CASEWORK_ENV", "development").output()?;
    if !migrate.status.success() {
        bail!("migrate failed: {}", String::from_utf8_lossy(&migrate.stderr));
    }
    Ok(())
}
