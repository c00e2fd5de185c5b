//! Prometheus metrics at `/metrics`: request counts and latencies by route template and status,
//! pool usage and waits, queue depths and the webhook backlog. Labels never carry an id or PII:
//! routes are templates (`/api/v1/cases/{case_id}`).

use std::time::Duration;

use prometheus::{Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder};

/// The registry and the series recorded as requests happen.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    pool_waits: Histogram,
    webhook_attempts: IntCounterVec,
    webhook_latency: Histogram,
}

/// What a scrape reads at that moment.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Connections open in the pool.
    pub pool_size: usize,
    /// Of those, idle.
    pub pool_available: usize,
    /// The pool's configured maximum.
    pub pool_max_size: usize,
    /// The wait for a connection before a 503, in seconds.
    pub pool_wait_timeout_seconds: f64,
    /// The statement timeout, in seconds.
    pub statement_timeout_seconds: f64,
    /// What the database said, or `None` when it could not be read: the database-derived
    /// gauges are then absent (a 0 would be a lie), and `casework_db_up` is 0.
    pub database: Option<DatabaseSnapshot>,
    /// Each worker's last successful run (Unix seconds), once it has had one.
    pub worker_runs: Vec<(&'static str, i64)>,
}

/// The gauges read from the database.
#[derive(Debug, Clone, Default)]
pub struct DatabaseSnapshot {
    /// Cases in the `unassigned` tab, every environment.
    pub unassigned: u64,
    /// Cases waiting for a second reviewer.
    pub pending_second_review: u64,
    /// Escalated cases.
    pub escalated: u64,
    /// Webhook deliveries not yet delivered nor failed for good.
    pub webhook_backlog: u64,
    /// Endpoints disabled (by PATCH, a 410 or the circuit breaker).
    pub disabled_endpoints: u64,
    /// Rows sealed under each PII key id.
    pub pii_rows: PiiKeyRows,
    /// Seconds the longest-waiting case of each tab (`unassigned`, `pending_second_review`,
    /// `escalated`) has been in review; `None` for an empty tab.
    pub oldest_age_seconds: [Option<i64>; 3],
}

/// Rows sealed under each PII key id (read at scrape time).
pub type PiiKeyRows = Vec<(String, u64)>;

impl Metrics {
    /// Registers every series.
    ///
    /// # Errors
    /// Never in practice: the series are registered once, with distinct names.
    pub fn new() -> prometheus::Result<Self> {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests answered."),
            &["method", "route", "status"],
        )?;
        let durations = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer HTTP requests."),
            &["method", "route"],
        )?;
        let pool_waits = Histogram::with_opts(
            HistogramOpts::new("casework_db_pool_wait_seconds", "Time spent waiting for a database connection.")
                .buckets(vec![0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 2.0, 5.0]),
        )?;
        let webhook_attempts = IntCounterVec::new(
            Opts::new("casework_webhook_attempts_total", "Webhook delivery attempts, by outcome."),
            &["outcome"],
        )?;
        let webhook_latency = Histogram::with_opts(
            HistogramOpts::new(
                "casework_webhook_delivery_latency_seconds",
                "From the commit of an event to its delivery's 2xx.",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 30.0, 120.0, 600.0, 3600.0, 14400.0]),
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        registry.register(Box::new(pool_waits.clone()))?;
        registry.register(Box::new(webhook_attempts.clone()))?;
        registry.register(Box::new(webhook_latency.clone()))?;
        Ok(Self { registry, requests, durations, pool_waits, webhook_attempts, webhook_latency })
    }

    /// Records one webhook attempt: `outcome` is `delivered`, `http_error` or
    /// `connection_error`; a delivered one also records its latency from the event's commit.
    pub fn observe_webhook_attempt(&self, outcome: &'static str, latency: Option<Duration>) {
        self.webhook_attempts.with_label_values(&[outcome]).inc();
        if let Some(latency) = latency {
            self.webhook_latency.observe(latency.as_secs_f64());
        }
    }

    /// Records one answered request.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        // A client chooses the method: only the standard ones get a series of their own.
        let method = match method {
            "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" | "OPTIONS" => method,
            _ => "other",
        };
        self.requests.with_label_values(&[method, route, &status.to_string()]).inc();
        self.durations.with_label_values(&[method, route]).observe(elapsed.as_secs_f64());
    }

    /// Records one wait for a database connection.
    pub fn observe_pool_wait(&self, waited: Duration) {
        self.pool_waits.observe(waited.as_secs_f64());
    }

    /// The Prometheus text exposition, with the snapshot's gauges.
    pub fn render(&self, snapshot: &Snapshot) -> String {
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        let mut text = String::from_utf8(out).unwrap_or_default();
        let mut gauge = |name: &str, help: &str, samples: &[(&str, String)]| {
            text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
            for (labels, value) in samples {
                text.push_str(&format!("{name}{labels} {value}\n"));
            }
        };
        let build = format!("{{version=\"{}\",commit=\"{}\"}}", env!("CARGO_PKG_VERSION"), env!("CASEWORK_COMMIT"));
        gauge("casework_build_info", "The running build.", &[(&build, "1".into())]);
        gauge(
            "casework_db_up",
            "Whether the database answered this scrape.",
            &[("", u8::from(snapshot.database.is_some()).to_string())],
        );
        gauge("casework_db_pool_size", "Connections open in the pool.", &[("", snapshot.pool_size.to_string())]);
        gauge(
            "casework_db_pool_available",
            "Idle connections in the pool.",
            &[("", snapshot.pool_available.to_string())],
        );
        gauge(
            "casework_db_pool_max_size",
            "The pool's configured maximum.",
            &[("", snapshot.pool_max_size.to_string())],
        );
        gauge(
            "casework_db_pool_wait_timeout_seconds",
            "The wait for a connection before a 503.",
            &[("", snapshot.pool_wait_timeout_seconds.to_string())],
        );
        gauge(
            "casework_db_statement_timeout_seconds",
            "The statement timeout.",
            &[("", snapshot.statement_timeout_seconds.to_string())],
        );
        if let Some(database) = &snapshot.database {
            gauge(
                "casework_queue_depth",
                "Cases per queue tab, every environment.",
                &[
                    ("{tab=\"unassigned\"}", database.unassigned.to_string()),
                    ("{tab=\"pending_second_review\"}", database.pending_second_review.to_string()),
                    ("{tab=\"escalated\"}", database.escalated.to_string()),
                ],
            );
            gauge(
                "casework_webhook_backlog",
                "Webhook deliveries pending (not yet delivered nor failed for good).",
                &[("", database.webhook_backlog.to_string())],
            );
            gauge(
                "casework_webhook_endpoints_disabled",
                "Webhook endpoints disabled (by PATCH, a 410 Gone or the circuit breaker).",
                &[("", database.disabled_endpoints.to_string())],
            );
            let labels: Vec<String> = database
                .pii_rows
                .iter()
                .map(|(key, _)| format!("{{key_id=\"{}\"}}", key.replace(['"', '\\', '\n'], "_")))
                .collect();
            let per_key: Vec<(&str, String)> = labels
                .iter()
                .zip(&database.pii_rows)
                .map(|(labels, (_, rows))| (labels.as_str(), rows.to_string()))
                .collect();
            gauge("casework_pii_rows", "Rows of PII sealed under each key id.", &per_key);
            let oldest: Vec<(&str, String)> =
                ["{tab=\"unassigned\"}", "{tab=\"pending_second_review\"}", "{tab=\"escalated\"}"]
                    .into_iter()
                    .zip(database.oldest_age_seconds)
                    .filter_map(|(labels, age)| age.map(|age| (labels, age.to_string())))
                    .collect();
            gauge(
                "casework_queue_oldest_age_seconds",
                "Seconds the longest-waiting case of each tab has been in review.",
                &oldest,
            );
        }
        let labels: Vec<String> =
            snapshot.worker_runs.iter().map(|(worker, _)| format!("{{worker=\"{worker}\"}}")).collect();
        let runs: Vec<(&str, String)> = labels
            .iter()
            .zip(&snapshot.worker_runs)
            .map(|(labels, (_, at))| (labels.as_str(), at.to_string()))
            .collect();
        gauge(
            "casework_worker_last_success_timestamp_seconds",
            "When each background worker last ran without error.",
            &runs,
        );
        text
    }
}
