//! Webhook delivery, in `casework serve` and `casework worker` (WEBHOOKS.md, Delivery): due
//! deliveries are leased from PostgreSQL (`FOR UPDATE SKIP LOCKED`, at most
//! `workers.webhook_per_endpoint` in flight per endpoint across instances) and sent by up to
//! `workers.webhook_concurrency` tasks. The loop wakes when an event's transaction commits
//! (`LISTEN casework_webhooks`, NOTIFYed by the fan-out trigger) and polls every
//! `workers.webhook_poll_interval_ms` as the fallback, which is also when retries that came due
//! are noticed. "Now" is the service's clock, so tests move time instead of waiting.

use std::sync::Arc;
use std::time::Duration;

use casework_adapters::postgres::deliveries::{CHANNEL, DueDelivery};
use casework_adapters::system::SystemClock;
use casework_adapters::webhooks::sender::{Attempt, TIMEOUT};
use casework_adapters::webhooks::signature::Secret;
use casework_domain::id::DeliveryId;
use casework_domain::ports::Clock;
use casework_domain::webhook::AttemptOutcome;
use rand::Rng;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

use crate::state::AppState;

/// A lease outlives the attempt's timeout: a lapsed lease means the sender is gone.
const LEASE: time::Duration = time::Duration::seconds(TIMEOUT.as_secs() as i64 * 2);

/// Starts the delivery loop and its listener on the current runtime.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    let wake = Arc::new(Notify::new());
    // Anything committed while the listener was away is found by the claim a reconnection wakes.
    let (on_connect, on_commit) = (Arc::clone(&wake), Arc::clone(&wake));
    crate::listen::spawn(&state, CHANNEL, move || on_connect.notify_one(), move |_| on_commit.notify_one());
    tokio::spawn(run(state, wake))
}

async fn run(state: AppState, wake: Arc<Notify>) {
    let workers = state.config.workers.clone();
    let poll = Duration::from_millis(workers.webhook_poll_interval_ms);
    let slots = Arc::new(Semaphore::new(workers.webhook_concurrency));
    // Under load, claim in batches (half the slots at a time) rather than one per completion.
    let batch_from = (workers.webhook_concurrency / 2).max(1);
    loop {
        let free = slots.available_permits();
        let idle = free == workers.webhook_concurrency;
        let mut full_batch = false;
        if free >= batch_from || idle {
            let now = state.service.now();
            let limit = u32::try_from(free).unwrap_or(u32::MAX);
            match state.store.claim_deliveries(now, limit, workers.webhook_per_endpoint, now + LEASE).await {
                Ok(batch) => {
                    full_batch = batch.len() == free;
                    for delivery in batch {
                        let Ok(permit) = Arc::clone(&slots).acquire_owned().await else { return };
                        let (state, wake) = (state.clone(), Arc::clone(&wake));
                        tokio::spawn(async move {
                            attempt(&state, delivery).await;
                            drop(permit);
                            wake.notify_one();
                        });
                    }
                    if let Ok(mut runs) = state.worker_runs.lock() {
                        runs.insert("webhook delivery", state.service.now().unix_timestamp());
                    }
                }
                Err(error) => {
                    let error = format!("{error:#}");
                    if let Some(suppressed) = crate::throttle::due(&format!("webhook delivery: {error}")) {
                        tracing::warn!(error, suppressed, "claiming webhook deliveries failed; retrying");
                    }
                }
            }
        }
        if full_batch && slots.available_permits() >= batch_from {
            continue;
        }
        let _ = tokio::time::timeout(poll, wake.notified()).await;
    }
}

/// Sends one leased delivery and records what follows.
async fn attempt(state: &AppState, delivery: DueDelivery) {
    let delivery_id = DeliveryId::from_uuid(delivery.id).public();
    let secrets: Vec<&Secret> = delivery.secrets.iter().collect();
    let outcome = state
        .sender
        .send(&Attempt {
            url: &delivery.url,
            delivery_id: &delivery_id,
            event: &delivery.event,
            body: &delivery.body,
            secrets: &secrets,
            // Receivers compare it with their own wall clock, so it is the real time, never the
            // service clock a test or a sandbox moved.
            timestamp: SystemClock.now().unix_timestamp(),
            allow_private: state.allows_private_targets(delivery.environment),
        })
        .await;
    let finished = state.service.now();
    let jitter = rand::rng().random_range(-1.0..=1.0);
    let result = outcome.result(delivery.attempt, finished, jitter);
    let (label, latency) = match &outcome {
        AttemptOutcome::Delivered { .. } => {
            let latency = (finished - delivery.event_created_at).try_into().ok();
            ("delivered", latency)
        }
        AttemptOutcome::Failed { status: Some(_), .. } => ("http_error", None),
        AttemptOutcome::Failed { status: None, .. } => ("connection_error", None),
    };
    state.metrics.observe_webhook_attempt(label, latency);
    if let AttemptOutcome::Failed { error, .. } = &outcome {
        tracing::info!(
            delivery = delivery_id,
            event = delivery.event,
            attempt = delivery.attempt,
            error,
            "webhook attempt failed"
        );
    }
    if let Err(error) = state.store.finish_attempt(&delivery, &outcome, &result, finished).await {
        // The lease lapses and the delivery is tried again: at least once, never lost.
        let error = format!("{error:#}");
        if let Some(suppressed) = crate::throttle::due(&format!("webhook outcome: {error}")) {
            tracing::warn!(error, suppressed, "recording a webhook attempt failed; it will be retried");
        }
    }
}
