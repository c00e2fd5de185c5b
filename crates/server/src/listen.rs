//! Holding a PostgreSQL `LISTEN` for as long as the process runs: what the webhook workers and
//! the console's live updates share. PostgreSQL sends each notification when its transaction
//! commits, so every instance hears every committed change.

use std::time::Duration;

use casework_adapters::postgres::deliveries::listen_to;
use futures_util::StreamExt;

use crate::state::AppState;

/// Listens on `channel` until the process ends, reconnecting a second after any failure (the
/// outage is logged once per cause and interval). `on_connect` runs on every (re)connection —
/// anything notified while away is lost, so callers catch up there — and `on_payload` for each
/// notification.
pub fn spawn(
    state: &AppState,
    channel: &'static str,
    on_connect: impl Fn() + Send + 'static,
    on_payload: impl Fn(&str) + Send + 'static,
) {
    let url = state.config.database.url.clone();
    tokio::spawn(async move {
        loop {
            match listen_to(&url, channel).await {
                Ok(mut connection) => {
                    on_connect();
                    let mut notifications = std::pin::pin!(connection.notifications_stream());
                    while let Some(Ok(notification)) = notifications.next().await {
                        on_payload(&notification.payload);
                    }
                }
                Err(error) => {
                    let error = format!("{error:#}");
                    if let Some(suppressed) = crate::throttle::due(&format!("listening on {channel}: {error}")) {
                        tracing::warn!(channel, error, suppressed, "cannot listen for changes; retrying");
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
}
