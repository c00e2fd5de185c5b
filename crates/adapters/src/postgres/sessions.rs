//! [`SessionRepository`] on PostgreSQL. Extracted data is encrypted before it reaches SQL and
//! decrypted after; the database never sees PII in clear.

use std::collections::HashMap;

use casework_domain::Timestamp;
use casework_domain::case::RejectionReasonCode;
use casework_domain::id::{Id, SessionId};
use casework_domain::page::{Page, PageRequest, SessionQuery};
use casework_domain::ports::{OpenedCase, Pii, SessionRepository, StoreError};
use casework_domain::session::{ExtractedData, Session, SessionNotice, SessionResult, SessionStatus, SessionVerdict};
use casework_domain::tenant::{Environment, Tenant};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::Value;
use uuid::Uuid;

use super::PgStore;
use super::changes::{opened_writes, outbox_write, send_all};
use super::errors::{corrupt, unavailable_or_unknown};
use super::prepared::Prepared;
use super::records::{OutboxRecord, checks_json, data_map, decode, parse_checks, parse_checks_summary};
use super::schema::{cases, sessions};
use super::sql::TxError;
use crate::crypto::PiiCipher;

/// A `sessions` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = sessions, check_for_backend(diesel::pg::Pg))]
pub(super) struct SessionRecord {
    org_id: Uuid,
    environment: String,
    id: Uuid,
    external_ref: Option<String>,
    metadata: Value,
    status: String,
    checks: Value,
    checks_summary: Value,
    extracted_data_ciphertext: Option<Vec<u8>>,
    extracted_data_key_id: Option<String>,
    sensitive_data_expired: bool,
    status_changed_at: Timestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
    result_status: Option<String>,
    decided_at: Option<Timestamp>,
    rejection_reason: Option<String>,
    rejection_reason_code: Option<String>,
}

/// The result columns of a session: `(result_status, decided_at, rejection_reason,
/// rejection_reason_code)`.
pub(super) type ResultColumns = (Option<String>, Option<Timestamp>, Option<String>, Option<String>);

/// A session result as its columns.
pub(super) fn result_columns(result: Option<&SessionResult>) -> ResultColumns {
    result.map_or((None, None, None, None), |result| {
        (
            Some(result.verdict.as_str().to_owned()),
            result.decided_at,
            result.rejection_reason.clone(),
            result.rejection_reason_code.map(|code| code.as_str().to_owned()),
        )
    })
}

fn parse_result(columns: ResultColumns) -> Result<Option<SessionResult>, StoreError> {
    let (status, decided_at, rejection_reason, code) = columns;
    let Some(status) = status else { return Ok(None) };
    Ok(Some(SessionResult {
        verdict: decode::<SessionVerdict>("session result", &status)?,
        decided_at,
        rejection_reason,
        rejection_reason_code: code
            .map(|code| decode::<RejectionReasonCode>("rejection reason code", &code))
            .transpose()?,
    }))
}

/// The associated data binding a ciphertext to its row.
fn row_identity(org_id: Uuid, session_id: Uuid) -> Vec<u8> {
    [org_id.as_bytes().as_slice(), session_id.as_bytes().as_slice()].concat()
}

/// Encrypts extracted data for the row `(org_id, session_id)`: the key id and the ciphertext,
/// or nothing when there is no data.
pub(super) fn seal(
    cipher: &PiiCipher,
    org_id: Uuid,
    session_id: Uuid,
    data: &ExtractedData,
) -> (Option<String>, Option<Vec<u8>>) {
    if data.is_empty() {
        return (None, None);
    }
    let plaintext = data.to_value().to_string();
    let (key_id, sealed) = cipher.encrypt(plaintext.as_bytes(), &row_identity(org_id, session_id));
    (Some(key_id), Some(sealed))
}

impl SessionRecord {
    pub(super) fn from_session(session: &Session, cipher: &PiiCipher) -> Self {
        let org_id = session.tenant.org_id.uuid();
        let (key_id, ciphertext) = seal(cipher, org_id, session.id.uuid(), &session.extracted_data);
        let (result_status, decided_at, rejection_reason, rejection_reason_code) =
            result_columns(session.result.as_ref());
        Self {
            org_id,
            environment: session.tenant.environment.as_str().to_owned(),
            id: session.id.uuid(),
            external_ref: session.external_ref.clone(),
            metadata: session.metadata.to_value(),
            status: session.status.as_str().to_owned(),
            checks: checks_json(&session.checks),
            checks_summary: super::records::summary_json(&session.checks_summary),
            extracted_data_ciphertext: ciphertext,
            extracted_data_key_id: key_id,
            sensitive_data_expired: session.sensitive_data_expired,
            status_changed_at: session.status_changed_at,
            created_at: session.created_at,
            updated_at: session.updated_at,
            result_status,
            decided_at,
            rejection_reason,
            rejection_reason_code,
        }
    }

    pub(super) fn into_session(
        self,
        case_id: Option<Uuid>,
        cipher: &PiiCipher,
        pii: Pii,
    ) -> Result<Session, StoreError> {
        let extracted_data = match (&self.extracted_data_key_id, &self.extracted_data_ciphertext, pii) {
            (Some(key_id), Some(sealed), Pii::Include) => {
                let plaintext = cipher
                    .decrypt(key_id, sealed, &row_identity(self.org_id, self.id))
                    .map_err(|e| StoreError::Unknown(anyhow::Error::new(e)))?;
                let value: Value = serde_json::from_slice(&plaintext).map_err(|e| corrupt("extracted data", e))?;
                let object = value.as_object().cloned().unwrap_or_default();
                ExtractedData::parse(&object, "extracted_data").map_err(|e| corrupt("extracted data", e))?
            }
            _ => ExtractedData::default(),
        };
        Ok(Session {
            id: Id::from_uuid(self.id),
            tenant: Tenant {
                org_id: Id::from_uuid(self.org_id),
                environment: decode::<Environment>("environment", &self.environment)?,
            },
            external_ref: self.external_ref,
            metadata: data_map("session metadata", self.metadata)?,
            status: decode::<SessionStatus>("session status", &self.status)?,
            checks: parse_checks(&self.checks)?,
            checks_summary: parse_checks_summary(&self.checks_summary)?,
            extracted_data,
            sensitive_data_expired: self.sensitive_data_expired,
            case_id: case_id.map(Id::from_uuid),
            result: parse_result((
                self.result_status,
                self.decided_at,
                self.rejection_reason,
                self.rejection_reason_code,
            ))?,
            status_changed_at: self.status_changed_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The case ids of sessions, by session id.
async fn case_ids(
    connection: &mut AsyncPgConnection,
    tenant: Tenant,
    session_ids: Vec<Uuid>,
) -> Result<HashMap<Uuid, Uuid>, diesel::result::Error> {
    let pairs: Vec<(Uuid, Uuid)> = cases::table
        .filter(cases::org_id.eq(tenant.org_id.uuid()))
        .filter(cases::session_id.eq_any(session_ids))
        .select((cases::session_id, cases::id))
        .load(connection)
        .await?;
    Ok(pairs.into_iter().collect())
}

impl SessionRepository for PgStore {
    async fn insert_session(
        &self,
        session: &Session,
        opened: Option<&OpenedCase>,
        notices: &[SessionNotice],
    ) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        let record = SessionRecord::from_session(session, &self.cipher);
        let outbox: Vec<OutboxRecord> =
            notices.iter().map(|notice| OutboxRecord::for_session(*notice, session, session.created_at)).collect();
        let write = async |connection: &mut AsyncPgConnection| {
            let shared: &AsyncPgConnection = connection;
            // The session, then its case with its event, the case's outbox row before the
            // session's notices: one round trip.
            let mut statements =
                vec![Prepared(diesel::insert_into(sessions::table).values(&record)).execute(&mut &*shared)];
            match opened {
                Some(opened) => statements.extend(opened_writes(shared, opened, &outbox)),
                None => statements.extend(outbox_write(shared, &outbox)),
            }
            send_all(statements).await.map(drop)
        };
        // Every failure here is a fault (503 or 500): inside a unit, which then rolls back whole,
        // no savepoint is needed.
        if connection.in_unit() {
            write(&mut connection).await
        } else {
            (*connection).transaction::<_, diesel::result::Error, _>(write).await
        }
        .map_err(unavailable_or_unknown)
    }

    async fn refresh_summaries<F>(&self, limit: u32, summarize: F) -> Result<u32, StoreError>
    where
        F: Fn(&[casework_domain::session::Check]) -> casework_domain::session::ChecksSummary + Send + Sync,
    {
        super::queue::refresh_summaries(self, limit, summarize).await
    }

    async fn wipe_expired_pii<F>(
        &self,
        now: Timestamp,
        retention: &casework_domain::case::queue::Retention,
        limit: u32,
        redact: F,
    ) -> Result<u32, StoreError>
    where
        F: Fn(casework_domain::case::Case) -> Option<casework_domain::ports::CaseChange> + Send + Sync,
    {
        super::queue::wipe_expired_pii(self, now, retention, limit, redact).await
    }

    async fn find_session(&self, tenant: Tenant, id: SessionId, pii: Pii) -> Result<Option<Session>, StoreError> {
        let mut connection = self.connection().await?;
        let record: Option<SessionRecord> = sessions::table
            .filter(sessions::org_id.eq(tenant.org_id.uuid()))
            .filter(sessions::environment.eq(tenant.environment.as_str()))
            .filter(sessions::id.eq(id.uuid()))
            .select(SessionRecord::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        let Some(record) = record else {
            return Ok(None);
        };
        let case_id = case_ids(&mut connection, tenant, vec![record.id]).await.map_err(unavailable_or_unknown)?;
        record.into_session(case_id.values().next().copied(), &self.cipher, pii).map(Some)
    }

    async fn list_sessions(
        &self,
        tenant: Tenant,
        query: &SessionQuery,
        page: PageRequest,
        pii: Pii,
    ) -> Result<Page<Session>, StoreError> {
        let mut connection = self.connection().await?;
        let filtered = || {
            let mut rows = sessions::table
                .filter(sessions::org_id.eq(tenant.org_id.uuid()))
                .filter(sessions::environment.eq(tenant.environment.as_str()))
                .into_boxed();
            if !query.statuses.is_empty() {
                rows =
                    rows.filter(sessions::status.eq_any(query.statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>()));
            }
            if let Some(external_ref) = &query.external_ref {
                rows = rows.filter(sessions::external_ref.eq(external_ref.clone()));
            }
            rows
        };
        let total: i64 = filtered().count().get_result(&mut *connection).await.map_err(unavailable_or_unknown)?;
        let records: Vec<SessionRecord> = filtered()
            .select(SessionRecord::as_select())
            .order_by((sessions::created_at.desc(), sessions::id.desc()))
            .limit(i64::from(page.limit()))
            .offset(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .load(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let cases = case_ids(&mut connection, tenant, records.iter().map(|r| r.id).collect())
            .await
            .map_err(unavailable_or_unknown)?;
        let items = records
            .into_iter()
            .map(|record| {
                let case_id = cases.get(&record.id).copied();
                record.into_session(case_id, &self.cipher, pii)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, total: u64::try_from(total).unwrap_or(0), request: page })
    }
}

/// PII rows (sessions' extracted data, stored idempotent responses) per key id.
///
/// # Errors
/// [`StoreError`].
pub(super) async fn rows_per_key(store: &PgStore) -> Result<Vec<(String, u64)>, StoreError> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::Text)]
        key_id: String,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rows: i64,
    }
    let mut connection = store.connection().await?;
    let counts: Vec<Count> = diesel::sql_query(
        "SELECT key_id, count(*) AS rows FROM ( \
           SELECT extracted_data_key_id AS key_id FROM sessions WHERE extracted_data_key_id IS NOT NULL \
           UNION ALL SELECT response_key_id FROM idempotency_keys WHERE response_key_id IS NOT NULL \
         ) AS sealed GROUP BY key_id ORDER BY key_id",
    )
    .load(&mut *connection)
    .await
    .map_err(unavailable_or_unknown)?;
    Ok(counts.into_iter().map(|c| (c.key_id, u64::try_from(c.rows).unwrap_or(0))).collect())
}

/// A session's identity and its sealed PII: (org, id, key id, ciphertext).
type SealedRow = (Uuid, Uuid, Option<String>, Option<Vec<u8>>);

/// Re-encrypts, under the active key, up to `limit` sessions whose PII another key sealed; one
/// transaction, rows another run holds skipped. Returns how many were re-encrypted.
///
/// # Errors
/// [`StoreError`]; a ciphertext no configured key opens.
pub(super) async fn reencrypt_batch(store: &PgStore, limit: u32) -> Result<u32, StoreError> {
    let active = store.cipher.active_id().to_owned();
    let mut connection = store.connection().await?;
    connection
        .transaction::<_, TxError<StoreError>, _>(async |connection| {
            let rows: Vec<SealedRow> = sessions::table
                .filter(sessions::extracted_data_key_id.is_not_null())
                .filter(sessions::extracted_data_key_id.ne(&active))
                .select((
                    sessions::org_id,
                    sessions::id,
                    sessions::extracted_data_key_id,
                    sessions::extracted_data_ciphertext,
                ))
                .order((sessions::org_id, sessions::id))
                .limit(i64::from(limit))
                .for_update()
                .skip_locked()
                .load(connection)
                .await?;
            let mut done = 0;
            for (org_id, id, key_id, sealed) in rows {
                let (Some(key_id), Some(sealed)) = (key_id, sealed) else { continue };
                let plaintext = store
                    .cipher
                    .decrypt(&key_id, &sealed, &row_identity(org_id, id))
                    .map_err(|e| TxError::Refused(corrupt("extracted data", e)))?;
                let (new_key, resealed) = store.cipher.encrypt(&plaintext, &row_identity(org_id, id));
                diesel::update(sessions::table)
                    .filter(sessions::org_id.eq(org_id))
                    .filter(sessions::id.eq(id))
                    .set((
                        sessions::extracted_data_key_id.eq(new_key),
                        sessions::extracted_data_ciphertext.eq(resealed),
                    ))
                    .execute(connection)
                    .await?;
                done += 1;
            }
            Ok(done)
        })
        .await
        .map_err(|error| match error {
            TxError::Refused(refusal) => refusal,
            TxError::Db(error) => unavailable_or_unknown(error),
        })
}
