//! One repetition of a scenario — the service under the load generator (and at half its rate
//! for the latency targets), then the same work under pgbench — and the webhook drain.

use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

use super::processes::{Load, Server};
use super::{CLIENTS, bench_dir, scripts};
use crate::cluster::{Binaries, psql};

/// Deliveries the webhook worker drains in S6.
const DELIVERIES: u64 = 10_000;

/// One repetition of one scenario: the service, then pgbench.
#[expect(clippy::too_many_arguments, reason = "one call site, every argument named")]
pub(super) fn scenario(
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
    // Counted for the measured run alone (before the fixed-rate run below).
    let statements: f64 =
        psql(url, "SELECT coalesce(sum(calls), 0) FROM pg_stat_statements")?.trim().parse().unwrap_or(0.0);
    let requests = measured["requests"].as_f64().unwrap_or(0.0);
    measured["statements_per_request"] = json!(if requests > 0.0 { statements / requests } else { 0.0 });
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
pub(super) fn drain(server: &Server, load: &Load, url: &str, seed: &Value) -> Result<Value> {
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
