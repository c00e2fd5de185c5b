//! The delivery queue (WEBHOOKS.md, Delivery): due deliveries are claimed with
//! `FOR UPDATE SKIP LOCKED` and leased, so any number of instances deliver and none sends one
//! attempt twice at the same time; a lease that lapses (an instance killed mid-attempt) makes
//! the delivery due again. At most `per_endpoint` leases are held per endpoint, so one slow
//! receiver does not take every worker. Workers wake on `NOTIFY casework_webhooks`, which the
//! fan-out trigger sends when the event's transaction commits.

use casework_api::inflection::inflect;
use casework_domain::Timestamp;
use casework_domain::ports::StoreError;
use casework_domain::tenant::Environment;
use casework_domain::webhook::{AttemptOutcome, AttemptResult, BREAKER_THRESHOLD, DeliveryState, KeyInflection};
use diesel::QueryableByName;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bytea, Int4, Jsonb, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::PgStore;
use super::errors::unavailable_or_unknown;
use super::records::decode;
use super::schema::{webhook_deliveries, webhook_endpoints};
use super::webhooks::open_secret;
use crate::webhooks::signature::Secret;

/// The channel the fan-out trigger notifies.
pub const CHANNEL: &str = "casework_webhooks";

/// Wakes the delivery workers when the caller's transaction commits (at once outside one).
pub(super) async fn wake(connection: &mut AsyncPgConnection) -> Result<(), diesel::result::Error> {
    diesel::sql_query(format!("SELECT pg_notify('{CHANNEL}', '')")).execute(connection).await.map(|_| ())
}

/// The channel every committed case event notifies with `org_id:environment:case_id`.
pub const CHANGES_CHANNEL: &str = "casework_changes";

/// A connection listening on `channel` ([`CHANNEL`] or [`CHANGES_CHANNEL`]): read its
/// `notifications_stream()`.
///
/// # Errors
/// When the database cannot be reached.
pub async fn listen_to(url: &SecretString, channel: &str) -> anyhow::Result<AsyncPgConnection> {
    let mut connection = super::tls::establish(url.expose_secret()).await?;
    diesel::sql_query(format!("LISTEN {channel}")).execute(&mut connection).await?;
    Ok(connection)
}

/// A leased delivery, with everything its attempt needs.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// The organization.
    pub org_id: Uuid,
    /// The delivery.
    pub id: Uuid,
    /// Its endpoint.
    pub endpoint_id: Uuid,
    /// The event's name.
    pub event: String,
    /// This attempt's number (1 for the first).
    pub attempt: u32,
    /// The frozen body.
    pub body: Vec<u8>,
    /// When the event was committed.
    pub event_created_at: Timestamp,
    /// The endpoint's URL.
    pub url: String,
    /// The endpoint's environment.
    pub environment: Environment,
    /// The signing secrets, the previous one first during a rotation.
    pub secrets: Vec<Secret>,
    /// The lease this attempt holds.
    pub lease_token: Uuid,
}

#[derive(QueryableByName)]
struct ClaimedRow {
    #[diesel(sql_type = SqlUuid)]
    org_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    endpoint_id: Uuid,
    #[diesel(sql_type = Text)]
    event: String,
    #[diesel(sql_type = Int4)]
    attempts: i32,
    #[diesel(sql_type = Nullable<Bytea>)]
    body: Option<Vec<u8>>,
    #[diesel(sql_type = Timestamptz)]
    event_created_at: Timestamp,
    #[diesel(sql_type = Text)]
    url: String,
    #[diesel(sql_type = Text)]
    environment: String,
    #[diesel(sql_type = Text)]
    key_inflection: String,
    #[diesel(sql_type = Bytea)]
    secret_ciphertext: Vec<u8>,
    #[diesel(sql_type = Text)]
    secret_key_id: String,
    #[diesel(sql_type = Nullable<Bytea>)]
    previous_secret_ciphertext: Option<Vec<u8>>,
    #[diesel(sql_type = Nullable<Text>)]
    previous_secret_key_id: Option<String>,
    #[diesel(sql_type = Nullable<Timestamptz>)]
    previous_secret_until: Option<Timestamp>,
    #[diesel(sql_type = Jsonb)]
    payload: serde_json::Value,
}

/// Leases due deliveries of enabled endpoints: each endpoint gets at most `per_endpoint` leases
/// in all (counting those any instance holds), endpoints whose oldest due delivery waited
/// longest first, at most `limit` in all. A snake_case body is frozen here; other spellings are
/// rendered by the caller.
const CLAIM: &str = "\
WITH candidates AS (
    SELECT e.org_id, e.id AS endpoint_id,
        $2 - (SELECT count(*) FROM webhook_deliveries h
              WHERE h.org_id = e.org_id AND h.endpoint_id = e.id AND h.lease_until > $1) AS room,
        (SELECT min(x.next_attempt_at) FROM webhook_deliveries x
         WHERE x.org_id = e.org_id AND x.endpoint_id = e.id AND x.state = 'pending') AS oldest
    FROM webhook_endpoints e
    WHERE e.enabled
), picked AS (
    SELECT d.org_id, d.id FROM candidates c
    CROSS JOIN LATERAL (
        SELECT d.org_id, d.id FROM webhook_deliveries d
        WHERE d.org_id = c.org_id AND d.endpoint_id = c.endpoint_id AND d.state = 'pending'
          AND d.next_attempt_at <= $1 AND (d.lease_until IS NULL OR d.lease_until <= $1)
        ORDER BY d.next_attempt_at
        LIMIT greatest(c.room, 0)
        FOR UPDATE OF d SKIP LOCKED
    ) d
    WHERE c.oldest <= $1 AND c.room > 0
    ORDER BY c.oldest
    LIMIT $3
)
UPDATE webhook_deliveries d
SET lease_until = $4, lease_token = $5, attempts = d.attempts + 1,
    body = coalesce(d.body, CASE WHEN e.key_inflection = 'snake' THEN convert_to(o.payload::text, 'UTF8') END)
FROM picked p, webhook_endpoints e, webhook_outbox o
WHERE d.org_id = p.org_id AND d.id = p.id
  AND e.org_id = d.org_id AND e.id = d.endpoint_id
  AND o.org_id = d.org_id AND o.id = d.event_id
RETURNING d.org_id, d.id, d.endpoint_id, d.event, d.attempts, d.body, d.event_created_at, e.url, e.environment,
    e.key_inflection, e.secret_ciphertext, e.secret_key_id, e.previous_secret_ciphertext, e.previous_secret_key_id,
    e.previous_secret_until, o.payload";

/// A delivered attempt: the delivery, then the endpoint's streak reset if it had one.
const SUCCEEDED: &str = "\
WITH done AS (
    UPDATE webhook_deliveries
    SET state = 'succeeded', last_status_code = $4, last_error = NULL, next_attempt_at = NULL,
        lease_until = NULL, lease_token = NULL, delivered_at = $5
    WHERE org_id = $1 AND id = $2 AND lease_token = $3
    RETURNING org_id, endpoint_id
), reset AS (
    UPDATE webhook_endpoints e SET consecutive_failures = 0
    FROM done WHERE e.org_id = done.org_id AND e.id = done.endpoint_id AND e.consecutive_failures <> 0
)
SELECT count(*) AS recorded FROM done";

#[derive(QueryableByName)]
struct Recorded {
    #[diesel(sql_type = BigInt)]
    recorded: i64,
}

impl PgStore {
    /// Leases up to `limit` due deliveries at `now` until `lease_until`, at most `per_endpoint`
    /// in flight per endpoint. A delivery's body is frozen at its first attempt, spelled as its
    /// endpoint's `key_inflection` says.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn claim_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
        per_endpoint: u32,
        lease_until: Timestamp,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let token = Uuid::new_v4();
        let mut connection = self.connection().await?;
        let rows: Vec<ClaimedRow> = diesel::sql_query(CLAIM)
            .bind::<Timestamptz, _>(now)
            .bind::<BigInt, _>(i64::from(per_endpoint))
            .bind::<BigInt, _>(i64::from(limit))
            .bind::<Timestamptz, _>(lease_until)
            .bind::<SqlUuid, _>(token)
            .load(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let mut due = Vec::with_capacity(rows.len());
        for row in rows {
            let body = match row.body {
                Some(body) => body,
                None => {
                    let inflection = decode::<KeyInflection>("key inflection", &row.key_inflection)?;
                    let rendered = inflect(inflection, row.payload).to_string().into_bytes();
                    // The first attempt's bytes stay the body of every later attempt.
                    diesel::update(webhook_deliveries::table)
                        .filter(webhook_deliveries::org_id.eq(row.org_id))
                        .filter(webhook_deliveries::id.eq(row.id))
                        .set(webhook_deliveries::body.eq(
                            diesel::dsl::sql::<Nullable<Bytea>>("coalesce(body, ").bind::<Bytea, _>(rendered).sql(")"),
                        ))
                        .returning(webhook_deliveries::body.assume_not_null())
                        .get_result(&mut *connection)
                        .await
                        .map_err(unavailable_or_unknown)?
                }
            };
            let mut secrets = Vec::with_capacity(2);
            if let (Some(sealed), Some(key_id), Some(until)) =
                (&row.previous_secret_ciphertext, &row.previous_secret_key_id, row.previous_secret_until)
                && now < until
            {
                secrets.push(open_secret(&self.cipher, row.org_id, row.endpoint_id, key_id, sealed)?);
            }
            secrets.push(open_secret(
                &self.cipher,
                row.org_id,
                row.endpoint_id,
                &row.secret_key_id,
                &row.secret_ciphertext,
            )?);
            due.push(DueDelivery {
                org_id: row.org_id,
                id: row.id,
                endpoint_id: row.endpoint_id,
                event: row.event,
                attempt: u32::try_from(row.attempts).unwrap_or(1),
                body,
                event_created_at: row.event_created_at,
                url: row.url,
                environment: decode::<Environment>("environment", &row.environment)?,
                secrets,
                lease_token: token,
            });
        }
        Ok(due)
    }

    /// Records an attempt's outcome and what follows it, if the attempt still holds its lease:
    /// the delivery's state and next attempt, and on the endpoint the failure streak (the
    /// breaker opens at 10 failed deliveries) or a 410's disabling. Returns whether it was
    /// recorded.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn finish_attempt(
        &self,
        delivery: &DueDelivery,
        outcome: &AttemptOutcome,
        result: &AttemptResult,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (status, error) = match outcome {
            AttemptOutcome::Delivered { status } => (Some(i32::from(*status)), None),
            AttemptOutcome::Failed { status, error, .. } => (status.map(i32::from), Some(error.as_str())),
        };
        let delivered_at = (result.state == DeliveryState::Succeeded).then_some(now);
        let mut connection = self.connection().await?;
        if result.state == DeliveryState::Succeeded && result.disable.is_none() {
            // The common case in one round trip: the delivery, and the endpoint's failure streak
            // reset when it had one.
            let recorded: Vec<Recorded> = diesel::sql_query(SUCCEEDED)
                .bind::<SqlUuid, _>(delivery.org_id)
                .bind::<SqlUuid, _>(delivery.id)
                .bind::<SqlUuid, _>(delivery.lease_token)
                .bind::<Nullable<Int4>, _>(status)
                .bind::<Timestamptz, _>(now)
                .load(&mut *connection)
                .await
                .map_err(unavailable_or_unknown)?;
            return Ok(recorded.iter().any(|r| r.recorded > 0));
        }
        connection
            .transaction::<_, diesel::result::Error, _>(async |connection| {
                let updated = diesel::update(webhook_deliveries::table)
                    .filter(webhook_deliveries::org_id.eq(delivery.org_id))
                    .filter(webhook_deliveries::id.eq(delivery.id))
                    .filter(webhook_deliveries::lease_token.eq(delivery.lease_token))
                    .set((
                        webhook_deliveries::state.eq(result.state.as_str()),
                        webhook_deliveries::last_status_code.eq(status),
                        webhook_deliveries::last_error.eq(error),
                        webhook_deliveries::next_attempt_at.eq(result.next_attempt_at),
                        webhook_deliveries::lease_until.eq(None::<Timestamp>),
                        webhook_deliveries::lease_token.eq(None::<Uuid>),
                        webhook_deliveries::delivered_at.eq(delivered_at),
                    ))
                    .execute(connection)
                    .await?;
                if updated == 0 {
                    return Ok(false);
                }
                let endpoint = || {
                    webhook_endpoints::table
                        .filter(webhook_endpoints::org_id.eq(delivery.org_id))
                        .filter(webhook_endpoints::id.eq(delivery.endpoint_id))
                };
                if let Some(reason) = result.disable {
                    diesel::update(endpoint())
                        .set((
                            webhook_endpoints::enabled.eq(false),
                            webhook_endpoints::disabled_reason.eq(reason),
                            webhook_endpoints::updated_at.eq(now),
                        ))
                        .execute(connection)
                        .await?;
                }
                match result.state {
                    DeliveryState::Succeeded => {
                        diesel::update(endpoint().filter(webhook_endpoints::consecutive_failures.ne(0)))
                            .set(webhook_endpoints::consecutive_failures.eq(0))
                            .execute(connection)
                            .await?;
                    }
                    DeliveryState::Failed => {
                        let streak = webhook_endpoints::consecutive_failures + 1;
                        diesel::update(endpoint())
                            .set(webhook_endpoints::consecutive_failures.eq(streak))
                            .execute(connection)
                            .await?;
                        diesel::update(
                            endpoint().filter(webhook_endpoints::consecutive_failures.ge(BREAKER_THRESHOLD)),
                        )
                        .filter(webhook_endpoints::enabled.eq(true))
                        .set((
                            webhook_endpoints::enabled.eq(false),
                            webhook_endpoints::disabled_reason.eq("too_many_failures"),
                            webhook_endpoints::updated_at.eq(now),
                        ))
                        .execute(connection)
                        .await?;
                    }
                    DeliveryState::Pending => {}
                }
                Ok(true)
            })
            .await
            .map_err(unavailable_or_unknown)
    }

    /// Forgets webhook history older than `before`: finished deliveries, then events no
    /// delivery refers to, then capture links that expired. Returns the rows removed.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn prune_webhooks(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut connection = self.connection().await?;
        let mut removed = 0;
        for statement in [
            "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND created_at < $1",
            "DELETE FROM webhook_outbox o WHERE o.created_at < $1 AND NOT EXISTS \
                 (SELECT 1 FROM webhook_deliveries d WHERE d.org_id = o.org_id AND d.event_id = o.id)",
            "DELETE FROM capture_links WHERE expires_at < $1",
        ] {
            let count = diesel::sql_query(statement)
                .bind::<Timestamptz, _>(before)
                .execute(&mut *connection)
                .await
                .map_err(unavailable_or_unknown)?;
            removed += u64::try_from(count).unwrap_or(0);
        }
        Ok(removed)
    }
}
