//! The load generator of `cargo xtask bench`: drives one scenario against a running `casework
//! serve` over keep-alive HTTP/1 connections and prints one JSON line (requests, errors, rps,
//! p50/p99, throughput per slice, and for claim-next the case ids handed out more than once). It
//! also seeds sessions through the API and receives webhooks for the drain scenario.
//!
//! ```text
//! load run     --url U --scenario s1|s2|s3|s4|s5a|s5b --seconds N --connections C --keys FILE [--ids FILE] [--tab T] [--rate R]
//! load seed    --url U --keys FILE --count N --connections C
//! load receive --port P --expect N --timeout-seconds S
//! load call    --url U --key K --method M --path P [--body JSON]
//! ```

#![expect(clippy::print_stdout, reason = "the harness reads its one JSON line")]

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

/// The command line, as `--name value` pairs after the mode.
struct Args(HashMap<String, String>);

impl Args {
    fn parse(raw: &[String]) -> Result<Self> {
        let mut pairs = HashMap::new();
        let mut iter = raw.iter();
        while let Some(name) = iter.next() {
            let name = name.strip_prefix("--").with_context(|| format!("unexpected {name}"))?;
            let value = iter.next().with_context(|| format!("--{name} needs a value"))?;
            pairs.insert(name.to_owned(), value.clone());
        }
        Ok(Self(pairs))
    }

    fn text(&self, name: &str) -> Result<&str> {
        self.0.get(name).map(String::as_str).with_context(|| format!("--{name} is required"))
    }

    fn number(&self, name: &str, default: u64) -> Result<u64> {
        self.0.get(name).map_or(Ok(default), |v| v.parse().with_context(|| format!("--{name}")))
    }
}

fn lines(path: &str) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    Ok(text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect())
}

fn main() -> Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    // `cargo bench` passes `--bench`; ignore it.
    let raw: Vec<String> = raw.into_iter().filter(|a| a != "--bench").collect();
    let Some((mode, rest)) = raw.split_first() else { bail!("usage: load run|seed|receive …") };
    let args = Args::parse(rest)?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let result = match mode.as_str() {
        "run" => runtime.block_on(run(&args))?,
        "seed" => runtime.block_on(seed(&args))?,
        "receive" => runtime.block_on(receive(&args))?,
        "call" => runtime.block_on(call(&args))?,
        other => bail!("unknown mode {other}"),
    };
    println!("{result}");
    Ok(())
}

/// One request of a scenario.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    /// `GET /cases/{id}`.
    S1,
    /// `GET /cases?limit=25` (optionally a tab).
    S2,
    /// `POST /sessions` under review, a unique `Idempotency-Key` each.
    S3,
    /// `POST /cases/next`, one reviewer per connection.
    S4,
    /// `POST /cases/search`.
    S5a,
    /// `GET /cases/counts`.
    S5b,
}

impl Scenario {
    fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "s1" => Self::S1,
            "s2" => Self::S2,
            "s3" => Self::S3,
            "s4" => Self::S4,
            "s5a" => Self::S5a,
            "s5b" => Self::S5b,
            other => bail!("unknown scenario {other}"),
        })
    }
}

/// What each connection shares.
struct Shared {
    client: reqwest::Client,
    url: String,
    keys: Vec<String>,
    ids: Vec<String>,
    tab: Option<String>,
    scenario: Scenario,
    counter: AtomicU64,
}

/// A session under review, as ingestion sends it.
fn session_body(n: u64) -> Value {
    json!({
        "status": "under_review",
        "external_ref": format!("bench_{n}_{}", uuid::Uuid::new_v4().simple()),
        "checks": [
            {"policy": "face_match", "status": "failed", "score": 0.41},
            {"policy": "document_authenticity", "status": "passed", "score": 0.97}
        ],
        "extracted_data": {"first_name": "Ada", "last_name": "Lovelace", "date_of_birth": "1990-12-10",
            "document_number": format!("X{n:08}"), "nationality": "GB"}
    })
}

/// Sends one request of the scenario on connection `slot`; the claimed case id for `S4`.
async fn request(shared: &Shared, slot: usize) -> Result<Option<String>> {
    let key = &shared.keys[slot % shared.keys.len()];
    let n = shared.counter.fetch_add(1, Ordering::Relaxed);
    let base = &shared.url;
    let builder = match shared.scenario {
        Scenario::S1 => {
            let id = &shared.ids[usize::try_from(fastrand_index(n, shared.ids.len())).unwrap_or(0)];
            shared.client.get(format!("{base}/api/v1/cases/{id}"))
        }
        Scenario::S2 => {
            let tab = shared.tab.as_deref().map(|t| format!("&tab={t}")).unwrap_or_default();
            shared.client.get(format!("{base}/api/v1/cases?limit=25{tab}"))
        }
        Scenario::S3 => shared
            .client
            .post(format!("{base}/api/v1/sessions"))
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            .json(&session_body(n)),
        Scenario::S4 => shared.client.post(format!("{base}/api/v1/cases/next")).json(&json!({})),
        Scenario::S5a => shared.client.post(format!("{base}/api/v1/cases/search")).json(&json!({
            "filter": {"and": [
                {"field": "status", "op": "in", "value": ["open", "in_review"]},
                {"field": "priority", "op": "gte", "value": "high"}
            ]},
            "limit": 25
        })),
        Scenario::S5b => shared.client.get(format!("{base}/api/v1/cases/counts")),
    };
    let response = builder.header("X-API-Key", key).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    if !status.is_success() {
        bail!("{status}: {}", String::from_utf8_lossy(&body[..body.len().min(200)]));
    }
    if shared.scenario == Scenario::S4 {
        let case: Value = serde_json::from_slice(&body)?;
        return Ok(case["id"].as_str().map(str::to_owned));
    }
    Ok(None)
}

/// A well-spread pseudo-random index from a counter (splitmix64), so every run reads the same
/// spread of ids.
fn fastrand_index(n: u64, len: usize) -> u64 {
    let mut z = n.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    z % u64::try_from(len.max(1)).unwrap_or(1)
}

/// One connection's record.
#[derive(Default)]
struct Record {
    latencies_us: Vec<u32>,
    /// When each success finished, in milliseconds since the start (for the slices).
    finished_at_ms: Vec<u32>,
    errors: u64,
    error_sample: Option<String>,
    claimed: Vec<String>,
}

fn client(connections: usize) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .http1_only()
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(30))
        .build()?)
}

async fn run(args: &Args) -> Result<Value> {
    let scenario = Scenario::parse(args.text("scenario")?)?;
    let seconds = args.number("seconds", 10)?;
    let connections = usize::try_from(args.number("connections", 16)?)?;
    let slice_ms = args.number("slice-seconds", 5)? * 1000;
    // Requests per second over all connections; none: as fast as answers come.
    let rate = args.0.get("rate").map(|r| r.parse::<f64>()).transpose()?.filter(|r| *r > 0.0);
    let shared = Arc::new(Shared {
        client: client(connections)?,
        url: args.text("url")?.trim_end_matches('/').to_owned(),
        keys: lines(args.text("keys")?)?,
        ids: match args.0.get("ids") {
            Some(path) => lines(path)?,
            None => Vec::new(),
        },
        tab: args.0.get("tab").cloned(),
        scenario,
        counter: AtomicU64::new(0),
    });
    if scenario == Scenario::S1 && shared.ids.is_empty() {
        bail!("s1 needs --ids");
    }
    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for slot in 0..connections {
        let shared = Arc::clone(&shared);
        tasks.push(tokio::spawn(async move {
            let mut record = Record::default();
            // At a fixed rate, each connection sends on its own schedule, and latency counts from
            // the scheduled moment (a slow answer delays the next send: that wait is latency too).
            let interval = rate.map(|rate| Duration::from_secs_f64(connections as f64 / rate));
            let mut scheduled =
                start + interval.map_or(Duration::ZERO, |every| every.mul_f64(slot as f64 / connections as f64));
            while Instant::now() < deadline {
                let sent = match interval {
                    Some(every) => {
                        tokio::time::sleep_until(scheduled.into()).await;
                        let at = scheduled;
                        scheduled += every;
                        at
                    }
                    None => Instant::now(),
                };
                match request(&shared, slot).await {
                    Ok(claimed) => {
                        record.latencies_us.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                        record.finished_at_ms.push(u32::try_from(start.elapsed().as_millis()).unwrap_or(u32::MAX));
                        record.claimed.extend(claimed);
                    }
                    Err(error) => {
                        record.errors += 1;
                        record.error_sample.get_or_insert_with(|| error.to_string());
                    }
                }
            }
            record
        }));
    }
    let mut all = Record::default();
    for task in tasks {
        let record = task.await?;
        all.latencies_us.extend(record.latencies_us);
        all.finished_at_ms.extend(record.finished_at_ms);
        all.errors += record.errors;
        all.claimed.extend(record.claimed);
        if all.error_sample.is_none() {
            all.error_sample = record.error_sample;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    all.latencies_us.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if all.latencies_us.is_empty() {
            return 0.0;
        }
        let rank = ((all.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        f64::from(all.latencies_us[rank]) / 1000.0
    };
    let slices = (0..seconds * 1000 / slice_ms.max(1))
        .map(|i| {
            let (from, to) = (i * slice_ms, (i + 1) * slice_ms);
            let done = all.finished_at_ms.iter().filter(|&&at| u64::from(at) >= from && u64::from(at) < to).count();
            done as f64 / (slice_ms as f64 / 1000.0)
        })
        .collect::<Vec<_>>();
    let handed_out = all.claimed.len();
    all.claimed.sort_unstable();
    all.claimed.dedup();
    Ok(json!({
        "requests": all.latencies_us.len(),
        "errors": all.errors,
        "error_sample": all.error_sample,
        "seconds": elapsed,
        "rps": all.latencies_us.len() as f64 / elapsed,
        "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99),
        "slices": slices,
        "claimed": handed_out,
        "handed_out_twice": handed_out - all.claimed.len(),
    }))
}

/// Creates `count` sessions under review (each opens a case) through the API.
async fn seed(args: &Args) -> Result<Value> {
    let count = args.number("count", 1000)?;
    let connections = usize::try_from(args.number("connections", 8)?)?;
    let shared = Arc::new(Shared {
        client: client(connections)?,
        url: args.text("url")?.trim_end_matches('/').to_owned(),
        keys: lines(args.text("keys")?)?,
        ids: Vec::new(),
        tab: None,
        scenario: Scenario::S3,
        counter: AtomicU64::new(0),
    });
    let start = Instant::now();
    let mut tasks = Vec::new();
    for slot in 0..connections {
        let shared = Arc::clone(&shared);
        tasks.push(tokio::spawn(async move {
            let mut failures = 0_u32;
            while shared.counter.load(Ordering::Relaxed) < count {
                if let Err(error) = request(&shared, slot).await {
                    failures += 1;
                    if failures > 100 {
                        return Err(error);
                    }
                }
            }
            Ok(())
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(json!({"created": count, "seconds": start.elapsed().as_secs_f64()}))
}

/// Answers 200 to every POST until `expect` arrived; their count and rate.
async fn receive(args: &Args) -> Result<Value> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let port = args.number("port", 0)?;
    let expect = args.number("expect", 1)?;
    let timeout = Duration::from_secs(args.number("timeout-seconds", 600)?);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", u16::try_from(port)?)).await?;
    let received = Arc::new(AtomicU64::new(0));
    let first = Arc::new(std::sync::OnceLock::<Instant>::new());
    let done = Arc::new(tokio::sync::Notify::new());
    let accept = {
        let (received, first, done) = (Arc::clone(&received), Arc::clone(&first), Arc::clone(&done));
        async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { continue };
                let (received, first, done) = (Arc::clone(&received), Arc::clone(&first), Arc::clone(&done));
                tokio::spawn(async move {
                    let mut buffer = Vec::with_capacity(8192);
                    let mut chunk = [0_u8; 8192];
                    loop {
                        // One request: headers, then Content-Length bytes of body.
                        let (head_end, length) = loop {
                            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                                let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                                let length = head
                                    .lines()
                                    .find_map(|l| l.strip_prefix("content-length:"))
                                    .and_then(|v| v.trim().parse::<usize>().ok())
                                    .unwrap_or(0);
                                break (end + 4, length);
                            }
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                            }
                        };
                        while buffer.len() < head_end + length {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => buffer.extend_from_slice(&chunk[..n]),
                            }
                        }
                        buffer.drain(..head_end + length);
                        first.get_or_init(Instant::now);
                        if socket.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.is_err() {
                            return;
                        }
                        if received.fetch_add(1, Ordering::Relaxed) + 1 >= expect {
                            done.notify_one();
                        }
                    }
                });
            }
        }
    };
    tokio::spawn(accept);
    println!("{}", json!({"listening": true}));
    let _ = tokio::time::timeout(timeout, done.notified()).await;
    let count = received.load(Ordering::Relaxed);
    let seconds = first.get().map_or(0.0, |at| at.elapsed().as_secs_f64());
    Ok(json!({"received": count, "seconds": seconds, "rps": if seconds > 0.0 { count as f64 / seconds } else { 0.0 }}))
}

/// One API call (the harness's setup: keys, users, settings, endpoints); its JSON answer.
async fn call(args: &Args) -> Result<Value> {
    let method = reqwest::Method::from_bytes(args.text("method")?.as_bytes())?;
    let url = format!("{}{}", args.text("url")?.trim_end_matches('/'), args.text("path")?);
    let mut request = reqwest::Client::new().request(method, url).header("X-API-Key", args.text("key")?);
    if let Some(body) = args.0.get("body") {
        request = request.header("Content-Type", "application/json").body(body.clone());
    }
    let response = request.send().await?;
    let status = response.status();
    let body = response.text().await?;
    if !status.is_success() {
        bail!("{status}: {body}");
    }
    Ok(serde_json::from_str(&body).unwrap_or(Value::Null))
}
