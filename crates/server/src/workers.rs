//! The background workers of `casework serve` and `casework worker`: the claim sweeper
//! (persists lapsed leases within `workers.claim_sweep_interval_ms`), the check-summary
//! refresher (after overrides), the PII retention sweeper, the tally compactor (folds the count
//! deltas every write appends), and the pruning of idempotency
//! records after 24 hours and of webhook history after 30 days, beside webhook delivery ([`crate::delivery`]). Safe with any number of instances: every row is handled under a lock
//! the others skip.

use std::time::Duration;

use casework_domain::ports::IdempotencyStore;
use tokio::task::JoinHandle;

use crate::state::AppState;

/// Rows handled per batch.
const BATCH: u32 = 200;
/// Count deltas folded per batch (tiny rows, one statement).
const TALLY_BATCH: u32 = 10_000;
/// Idempotency records and rate windows are pruned this often.
const PRUNE_INTERVAL: Duration = Duration::from_secs(60);
/// Webhook events, finished deliveries and expired capture links are kept this long (beyond
/// the 7 days `recover` reaches back).
const WEBHOOK_HISTORY: time::Duration = time::Duration::days(30);
/// MCP sessions are forgotten a day after they started.
const MCP_SESSION_LIFETIME: time::Duration = time::Duration::days(1);
/// Check summaries are refreshed at least this often.
const SUMMARY_INTERVAL: Duration = Duration::from_secs(1);

/// Starts the workers, webhook delivery among them ([`crate::delivery`]), on the current
/// runtime.
pub fn spawn(state: AppState) -> JoinHandle<()> {
    crate::delivery::spawn(state.clone());
    tokio::spawn(run(state))
}

async fn run(state: AppState) {
    let sweep = Duration::from_millis(state.config.workers.claim_sweep_interval_ms.max(10));
    let mut ticker = tokio::time::interval(sweep.min(SUMMARY_INTERVAL));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_prune = std::time::Instant::now();
    loop {
        ticker.tick().await;
        drain(&state, "claim sweeper", || state.service.sweep_lapsed_claims(BATCH)).await;
        drain(&state, "summary refresher", || state.service.refresh_check_summaries(BATCH)).await;
        drain(&state, "pii retention", || state.service.wipe_expired_pii(BATCH)).await;
        drain(&state, "tally compactor", || state.store.compact_tallies(TALLY_BATCH)).await;
        if last_prune.elapsed() >= PRUNE_INTERVAL {
            last_prune = std::time::Instant::now();
            let before = state.service.now() - time::Duration::hours(24);
            if let Err(error) = state.store.prune(before).await {
                let error = format!("{error:#}");
                if let Some(suppressed) = crate::throttle::due(&format!("prune: {error}")) {
                    tracing::warn!(error, suppressed, "pruning idempotency records failed");
                }
            }
            if let Err(error) = state.store.prune_mcp_sessions(state.service.now() - MCP_SESSION_LIFETIME).await {
                let error = format!("{error:#}");
                if let Some(suppressed) = crate::throttle::due(&format!("prune mcp: {error}")) {
                    tracing::warn!(error, suppressed, "pruning MCP sessions failed");
                }
            }
            let history = state.service.now() - WEBHOOK_HISTORY;
            if let Err(error) = state.store.prune_webhooks(history).await {
                let error = format!("{error:#}");
                if let Some(suppressed) = crate::throttle::due(&format!("prune webhooks: {error}")) {
                    tracing::warn!(error, suppressed, "pruning webhook history failed");
                }
            }
        }
    }
}

/// Runs `batch` until it handles less than a full batch (or fails: the next tick retries).
async fn drain<F, Fut>(state: &AppState, name: &'static str, batch: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<u32, casework_domain::ports::StoreError>>,
{
    let succeeded = || {
        if let Ok(mut runs) = state.worker_runs.lock() {
            runs.insert(name, state.service.now().unix_timestamp());
        }
    };
    loop {
        match batch().await {
            Ok(done) if done > 0 => {
                tracing::debug!(worker = name, done, "batch handled");
                if done < BATCH {
                    succeeded();
                    return;
                }
            }
            Ok(_) => {
                succeeded();
                return;
            }
            Err(error) => {
                let error = format!("{error:#}");
                if let Some(suppressed) = crate::throttle::due(&format!("{name}: {error}")) {
                    tracing::warn!(worker = name, error, suppressed, "batch failed; retrying on the next tick");
                }
                return;
            }
        }
    }
}
