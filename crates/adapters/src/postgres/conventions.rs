//! The shared rate limiter and idempotency records on PostgreSQL: both are single statements
//! under a primary key, so they hold across any number of instances. A stored response is
//! encrypted with the PII cipher (it may carry PII or a new API key's secret), bound to its
//! record, and only the attempt holding a record may complete or abandon it. Claiming a key
//! takes its transaction-scoped advisory lock in the same statement: a unit (see `unit`) holds
//! it until its commit, so any other claim meanwhile is "in progress".

use casework_domain::Timestamp;
use casework_domain::id::ApiKeyId;
use casework_domain::ports::{
    IdempotencyAttempt, IdempotencyScope, IdempotencyStart, IdempotencyStore, RateDecision, RateLimiter, StoreError,
    StoredResponse,
};
use casework_domain::tenant::Tenant;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Bytea, Integer, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::PgStore;
use super::errors::{corrupt, unavailable_or_unknown};
use super::prepared::Prepared;
use super::schema::{idempotency_keys, rate_limit_windows};

#[derive(QueryableByName)]
struct Accepted {
    #[diesel(sql_type = Integer)]
    accepted: i32,
}

impl RateLimiter for PgStore {
    async fn acquire(
        &self,
        tenant: Tenant,
        key: ApiKeyId,
        limit: u32,
        now: Timestamp,
    ) -> Result<RateDecision, StoreError> {
        let (start, reset_at) = RateDecision::window(now);
        let window_start =
            time::OffsetDateTime::from_unix_timestamp(start).map_err(|e| StoreError::Unknown(e.into()))?;
        let mut connection = self.connection().await?;
        // Counts the request only when the window has room: a refused request is not counted.
        let accepted: Option<Accepted> = Prepared(
            diesel::sql_query(
                "INSERT INTO rate_limit_windows (org_id, api_key_id, window_start, accepted) VALUES ($1, $2, $3, 1) \
             ON CONFLICT (org_id, api_key_id, window_start) DO UPDATE SET accepted = rate_limit_windows.accepted + 1 \
             WHERE rate_limit_windows.accepted < $4 RETURNING accepted",
            )
            .bind::<SqlUuid, _>(tenant.org_id.uuid())
            .bind::<SqlUuid, _>(key.uuid())
            .bind::<Timestamptz, _>(window_start)
            .bind::<Integer, _>(i32::try_from(limit).unwrap_or(i32::MAX)),
        )
        .get_result(&mut *connection)
        .await
        .optional()
        .map_err(unavailable_or_unknown)?;
        Ok(match accepted {
            Some(Accepted { accepted }) => RateDecision {
                allowed: true,
                limit,
                remaining: limit.saturating_sub(u32::try_from(accepted).unwrap_or(u32::MAX)),
                reset_at,
            },
            None => RateDecision { allowed: false, limit, remaining: 0, reset_at },
        })
    }
}

type InTenant = diesel::dsl::And<
    diesel::dsl::Eq<idempotency_keys::org_id, uuid::Uuid>,
    diesel::dsl::Eq<idempotency_keys::environment, &'static str>,
>;
type InScope = diesel::dsl::And<
    diesel::dsl::And<InTenant, diesel::dsl::Eq<idempotency_keys::api_key_id, uuid::Uuid>>,
    diesel::dsl::Eq<idempotency_keys::key, String>,
>;

/// The primary key of a scope's record.
fn in_scope(scope: &IdempotencyScope) -> InScope {
    idempotency_keys::org_id
        .eq(scope.tenant.org_id.uuid())
        .and(idempotency_keys::environment.eq(scope.tenant.environment.as_str()))
        .and(idempotency_keys::api_key_id.eq(scope.api_key.uuid()))
        .and(idempotency_keys::key.eq(scope.key.clone()))
}

/// Records older than this are gone, even before the pruner runs.
const RETENTION: time::Duration = time::Duration::hours(24);

/// The associated data binding a stored response to its record.
fn record_identity(scope: &IdempotencyScope) -> Vec<u8> {
    [
        scope.tenant.org_id.uuid().as_bytes().as_slice(),
        scope.tenant.environment.as_str().as_bytes(),
        scope.api_key.uuid().as_bytes().as_slice(),
        scope.key.as_bytes(),
    ]
    .join(&0u8)
}

/// The advisory lock a unit holds on its idempotency key: 64 bits of a SHA-256 of the scope.
fn advisory_key(scope: &IdempotencyScope) -> i64 {
    let digest =
        Sha256::new().chain_update(b"casework idempotency key\0").chain_update(record_identity(scope)).finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(first)
}

#[derive(QueryableByName)]
struct Claim {
    #[diesel(sql_type = Bool)]
    held: bool,
    #[diesel(sql_type = Bool)]
    inserted: bool,
}

impl IdempotencyStore for PgStore {
    async fn begin(
        &self,
        scope: &IdempotencyScope,
        fingerprint: &[u8],
        request_id: &str,
        now: Timestamp,
        lock_until: Timestamp,
    ) -> Result<IdempotencyStart, StoreError> {
        let attempt = IdempotencyAttempt::new();
        let mut connection = self.connection().await?;
        // One statement: the key's advisory lock (held to the end of a unit; outside one, only
        // for the statement — either way refused while a unit holds it), then a new record or an
        // expired one (which is no record) started afresh.
        let claim: Claim = Prepared(
            diesel::sql_query(
                "WITH lock AS (SELECT pg_try_advisory_xact_lock($1) AS held), inserted AS (INSERT INTO idempotency_keys (org_id, environment, api_key_id, key, fingerprint, \
             request_id, locked_until, attempt, created_at) SELECT $2, $3, $4, $5, $6, $7, $8, $9, $10 FROM lock \
             WHERE held ON CONFLICT (org_id, environment, api_key_id, key) DO UPDATE SET \
             fingerprint = EXCLUDED.fingerprint, status_code = NULL, response_headers = NULL, response_body = NULL, \
             response_key_id = NULL, request_id = EXCLUDED.request_id, locked_until = EXCLUDED.locked_until, \
             attempt = EXCLUDED.attempt, created_at = EXCLUDED.created_at \
             WHERE idempotency_keys.created_at < $11 RETURNING 1) \
             SELECT held, EXISTS (SELECT 1 FROM inserted) AS inserted FROM lock",
            )
            .bind::<BigInt, _>(advisory_key(scope))
            .bind::<SqlUuid, _>(scope.tenant.org_id.uuid())
            .bind::<Text, _>(scope.tenant.environment.as_str())
            .bind::<SqlUuid, _>(scope.api_key.uuid())
            .bind::<Text, _>(&scope.key)
            .bind::<Bytea, _>(fingerprint)
            .bind::<Text, _>(request_id)
            .bind::<Timestamptz, _>(lock_until)
            .bind::<SqlUuid, _>(attempt.uuid())
            .bind::<Timestamptz, _>(now)
            .bind::<Timestamptz, _>(now - RETENTION),
        )
        .get_result(&mut *connection)
        .await
        .map_err(unavailable_or_unknown)?;
        if !claim.held {
            return Ok(IdempotencyStart::InProgress);
        }
        if claim.inserted {
            return Ok(IdempotencyStart::Started(attempt));
        }
        #[expect(clippy::type_complexity, reason = "one row of the record")]
        let row: Option<(
            Vec<u8>,
            Option<i32>,
            Option<Value>,
            Option<Vec<u8>>,
            Option<String>,
            String,
            Timestamp,
        )> = idempotency_keys::table
            .filter(in_scope(scope))
            .select((
                idempotency_keys::fingerprint,
                idempotency_keys::status_code,
                idempotency_keys::response_headers,
                idempotency_keys::response_body,
                idempotency_keys::response_key_id,
                idempotency_keys::request_id,
                idempotency_keys::locked_until,
            ))
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        let Some((stored_fingerprint, status, headers, body, key_id, original_request_id, locked_until)) = row else {
            // Deleted between the two statements: the caller may simply retry.
            return Ok(IdempotencyStart::InProgress);
        };
        if stored_fingerprint != fingerprint {
            return Ok(IdempotencyStart::Mismatch);
        }
        match status {
            Some(status) => {
                let headers: Vec<(String, String)> =
                    headers.and_then(|h| serde_json::from_value(h).ok()).unwrap_or_default();
                let body = match (key_id, body) {
                    (Some(key_id), Some(sealed)) => self
                        .cipher
                        .decrypt(&key_id, &sealed, &record_identity(scope))
                        .map_err(|e| corrupt("idempotent response", e))?,
                    _ => Vec::new(),
                };
                Ok(IdempotencyStart::Replay(StoredResponse {
                    status: u16::try_from(status).unwrap_or(500),
                    headers,
                    body,
                    request_id: original_request_id,
                }))
            }
            None if locked_until > now => Ok(IdempotencyStart::InProgress),
            None => {
                // A crashed run: take it over, unless another request just did.
                let taken = diesel::update(
                    idempotency_keys::table.filter(in_scope(scope)).filter(idempotency_keys::locked_until.le(now)),
                )
                .set((
                    idempotency_keys::locked_until.eq(lock_until),
                    idempotency_keys::request_id.eq(request_id),
                    idempotency_keys::attempt.eq(attempt.uuid()),
                ))
                .execute(&mut *connection)
                .await
                .map_err(unavailable_or_unknown)?;
                Ok(if taken == 1 { IdempotencyStart::Started(attempt) } else { IdempotencyStart::InProgress })
            }
        }
    }

    async fn complete(
        &self,
        scope: &IdempotencyScope,
        attempt: IdempotencyAttempt,
        response: &StoredResponse,
    ) -> Result<bool, StoreError> {
        let (key_id, sealed) = self.cipher.encrypt(&response.body, &record_identity(scope));
        let mut connection = self.connection().await?;
        let updated = Prepared(
            diesel::update(
                idempotency_keys::table
                    .filter(in_scope(scope))
                    .filter(idempotency_keys::attempt.eq(attempt.uuid()))
                    .filter(idempotency_keys::status_code.is_null()),
            )
            .set((
                idempotency_keys::status_code.eq(i32::from(response.status)),
                idempotency_keys::response_headers.eq(serde_json::json!(response.headers)),
                idempotency_keys::response_body.eq(sealed),
                idempotency_keys::response_key_id.eq(key_id),
                idempotency_keys::request_id.eq(&response.request_id),
            )),
        )
        .execute(&mut *connection)
        .await
        .map_err(unavailable_or_unknown)?;
        Ok(updated == 1)
    }

    async fn abandon(&self, scope: &IdempotencyScope, attempt: IdempotencyAttempt) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        diesel::delete(
            idempotency_keys::table
                .filter(in_scope(scope))
                .filter(idempotency_keys::attempt.eq(attempt.uuid()))
                .filter(idempotency_keys::status_code.is_null()),
        )
        .execute(&mut *connection)
        .await
        .map_err(unavailable_or_unknown)?;
        Ok(())
    }

    async fn prune(&self, before: Timestamp) -> Result<u64, StoreError> {
        let mut connection = self.connection().await?;
        let records = diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
            .execute(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let windows = diesel::delete(rate_limit_windows::table.filter(rate_limit_windows::window_start.lt(before)))
            .execute(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        Ok(u64::try_from(records + windows).unwrap_or(0))
    }
}
