//! [`SandboxRepository`] on PostgreSQL: a simulated outcome is written in one transaction —
//! the capture link it consumes, the session (only if its status is still the one simulated
//! from), the case it opens, and its `session.*` event.

use casework_domain::Timestamp;
use casework_domain::id::Id;
use casework_domain::ports::{CaptureLink, Pii, SandboxRepository, SimulateWrite, SimulatedChange, StoreError};
use casework_domain::session::{Session, SessionNotice};
use casework_domain::tenant::{Environment, Tenant};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgStore;
use super::changes::insert_opened;
use super::errors::unavailable_or_unknown;
use super::records::{OutboxRecord, checks_json, decode, summary_json};
use super::schema::{capture_links, sessions, webhook_outbox};
use super::sessions::result_columns;
use super::sql::TxError;

impl SandboxRepository for PgStore {
    async fn simulate_session(&self, change: &SimulatedChange<'_>) -> Result<SimulateWrite, StoreError> {
        let session = change.session;
        let org_id = session.tenant.org_id.uuid();
        let outbox = OutboxRecord::for_session(change.notice, session, change.now);
        let (result_status, decided_at, rejection_reason, rejection_reason_code) =
            result_columns(session.result.as_ref());
        let mut connection = self.connection().await?;
        let written = connection
            .transaction::<_, TxError<SimulateWrite>, _>(async |connection| {
                if let Some(token_hash) = change.link {
                    let used = diesel::update(capture_links::table)
                        .filter(capture_links::token_hash.eq(token_hash))
                        .filter(capture_links::org_id.eq(org_id))
                        .filter(capture_links::session_id.eq(session.id.uuid()))
                        .filter(capture_links::used_at.is_null())
                        .filter(capture_links::expires_at.gt(change.now))
                        .set(capture_links::used_at.eq(change.now))
                        .execute(connection)
                        .await?;
                    if used == 0 {
                        return Err(TxError::Refused(SimulateWrite::LinkSpent));
                    }
                }
                let updated = diesel::update(sessions::table)
                    .filter(sessions::org_id.eq(org_id))
                    .filter(sessions::id.eq(session.id.uuid()))
                    .filter(sessions::status.eq(change.from.as_str()))
                    .set((
                        sessions::status.eq(session.status.as_str()),
                        sessions::checks.eq(checks_json(&session.checks)),
                        sessions::checks_summary.eq(summary_json(&session.checks_summary)),
                        sessions::status_changed_at.eq(session.status_changed_at),
                        sessions::updated_at.eq(session.updated_at),
                        sessions::result_status.eq(result_status),
                        sessions::decided_at.eq(decided_at),
                        sessions::rejection_reason.eq(rejection_reason),
                        sessions::rejection_reason_code.eq(rejection_reason_code),
                    ))
                    .execute(connection)
                    .await?;
                if updated == 0 {
                    return Err(TxError::Refused(SimulateWrite::StatusChanged));
                }
                if let Some(opened) = change.opened {
                    insert_opened(connection, opened).await?;
                }
                diesel::insert_into(webhook_outbox::table).values(&outbox).execute(connection).await?;
                Ok(SimulateWrite::Applied)
            })
            .await;
        match written {
            Ok(written) => Ok(written),
            Err(TxError::Refused(refused)) => Ok(refused),
            Err(TxError::Db(error)) => Err(unavailable_or_unknown(error)),
        }
    }

    async fn insert_capture_link(&self, link: &CaptureLink, notice: SessionNotice) -> Result<(), StoreError> {
        let session = self
            .find_session_row(link.tenant, link.session_id.uuid())
            .await?
            .ok_or_else(|| StoreError::Unknown(anyhow::anyhow!("the session of a new capture link vanished")))?;
        let outbox = OutboxRecord::for_session(notice, &session, link.created_at);
        let mut connection = self.connection().await?;
        connection
            .transaction::<_, diesel::result::Error, _>(async |connection| {
                diesel::insert_into(capture_links::table)
                    .values((
                        capture_links::org_id.eq(link.tenant.org_id.uuid()),
                        capture_links::token_hash.eq(&link.token_hash),
                        capture_links::environment.eq(link.tenant.environment.as_str()),
                        capture_links::session_id.eq(link.session_id.uuid()),
                        capture_links::expires_at.eq(link.expires_at),
                        capture_links::created_at.eq(link.created_at),
                    ))
                    .execute(connection)
                    .await?;
                diesel::insert_into(webhook_outbox::table).values(&outbox).execute(connection).await?;
                Ok(())
            })
            .await
            .map_err(unavailable_or_unknown)
    }

    async fn find_capture_link(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> Result<Option<(CaptureLink, Session)>, StoreError> {
        let mut connection = self.connection().await?;
        let row: Option<(Uuid, String, Uuid, Timestamp, Timestamp)> = capture_links::table
            .filter(capture_links::token_hash.eq(token_hash))
            .filter(capture_links::used_at.is_null())
            .filter(capture_links::expires_at.gt(now))
            .select((
                capture_links::org_id,
                capture_links::environment,
                capture_links::session_id,
                capture_links::expires_at,
                capture_links::created_at,
            ))
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        drop(connection);
        let Some((org_id, environment, session_id, expires_at, created_at)) = row else { return Ok(None) };
        let tenant =
            Tenant { org_id: Id::from_uuid(org_id), environment: decode::<Environment>("environment", &environment)? };
        let Some(session) = self.find_session_row(tenant, session_id).await? else { return Ok(None) };
        let link =
            CaptureLink { token_hash: token_hash.to_vec(), tenant, session_id: session.id, expires_at, created_at };
        Ok(Some((link, session)))
    }
}

impl PgStore {
    /// A session without its PII (for payloads and the capture page).
    async fn find_session_row(&self, tenant: Tenant, id: Uuid) -> Result<Option<Session>, StoreError> {
        use casework_domain::ports::SessionRepository;
        self.find_session(tenant, Id::from_uuid(id), Pii::Omit).await
    }
}
