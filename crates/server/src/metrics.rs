//! Prometheus metrics at `/metrics`: request counts and latencies by route template and status,
//! pool usage and waits, queue depths and the webhook backlog. Labels never carry an id or PII:
//! routes are templates (`/api/v1/cases/{case_id}`).

use std::time::Duration;

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// The registry and the series recorded as requests happen.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    durations: HistogramVec,
    pool_waits: Histogram,
    queue_depth: IntGaugeVec,
}

/// What a scrape reads at that moment.
#[derive(Debug, Clone, Copy, Default)]
pub struct Snapshot {
    /// Connections open in the pool.
    pub pool_size: usize,
    /// Of those, idle.
    pub pool_available: usize,
    /// Cases in the `unassigned` tab, every environment.
    pub unassigned: u64,
    /// Cases waiting for a second reviewer.
    pub pending_second_review: u64,
    /// Escalated cases.
    pub escalated: u64,
    /// Webhook events not yet dispatched.
    pub webhook_backlog: u64,
}

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
        let queue_depth =
            IntGaugeVec::new(Opts::new("casework_queue_depth", "Cases per queue tab, every environment."), &["tab"])?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(durations.clone()))?;
        registry.register(Box::new(pool_waits.clone()))?;
        registry.register(Box::new(queue_depth.clone()))?;
        Ok(Self { registry, requests, durations, pool_waits, queue_depth })
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
        let gauge = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.queue_depth.with_label_values(&["unassigned"]).set(gauge(snapshot.unassigned));
        self.queue_depth.with_label_values(&["pending_second_review"]).set(gauge(snapshot.pending_second_review));
        self.queue_depth.with_label_values(&["escalated"]).set(gauge(snapshot.escalated));
        let mut out = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        let mut text = String::from_utf8(out).unwrap_or_default();
        for (name, help, value) in [
            ("casework_db_pool_size", "Connections open in the pool.", snapshot.pool_size as u64),
            ("casework_db_pool_available", "Idle connections in the pool.", snapshot.pool_available as u64),
            ("casework_webhook_backlog", "Webhook events not yet dispatched.", snapshot.webhook_backlog),
        ] {
            text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n"));
        }
        text
    }
}
