//! The one write path of an accepted case change, inside the caller's transaction: the case row
//! under its `version` check, the events with their outbox rows, the note, and what changes on
//! the session (status and its `session.*` webhook, overridden checks, corrected PII, a
//! blocklist entry).

use casework_domain::ports::Pii;
use casework_domain::ports::{CaseChange, RecordedEvent, SessionChange};
use casework_domain::session::{SessionEventType, SessionNotice, SessionStatus};
use diesel::QueryResult;
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use futures_util::future::BoxFuture;

use super::PgStore;
use super::prepared::Prepared;
use super::records::{CaseRecord, EventRecord, NoteRecord, OutboxRecord, checks_json};
use super::schema::{blocklist_entries, case_events, cases, notes, sessions, webhook_outbox};
use super::sessions::{SessionRecord, result_columns, seal};

/// Statements sent back to back on one connection: PostgreSQL runs them in the order they were
/// created, and the client waits for all of them once (one round trip instead of one each).
/// Each is sent when first polled; [`send_all`] polls them in order.
pub(super) type Sent<'c> = BoxFuture<'c, QueryResult<usize>>;

/// Sends `statements` in order and waits for all; the first error, if any (the statements
/// after a failed one fail too: the caller's transaction is then rolled back whole).
pub(super) async fn send_all(statements: Vec<Sent<'_>>) -> QueryResult<Vec<usize>> {
    futures_util::future::try_join_all(statements).await
}

/// Inserts a new case with its `created` event (inside the caller's transaction).
pub(super) async fn insert_opened(
    connection: &mut AsyncPgConnection,
    opened: &casework_domain::ports::OpenedCase,
) -> Result<(), diesel::result::Error> {
    send_all(opened_writes(connection, opened, &[])).await.map(drop)
}

/// The inserts of a new case and its `created` event, with the event's outbox row and then
/// `outbox_after` (one insert).
pub(super) fn opened_writes<'c>(
    connection: &'c AsyncPgConnection,
    opened: &casework_domain::ports::OpenedCase,
    outbox_after: &[OutboxRecord],
) -> Vec<Sent<'c>> {
    let mut statements = vec![
        Prepared(diesel::insert_into(cases::table).values(CaseRecord::from_case(&opened.case)))
            .execute(&mut &*connection),
    ];
    statements.extend(event_writes(connection, std::slice::from_ref(&opened.event), &opened.case, outbox_after));
    statements
}

/// The inserts of `events` and their outbox rows, in the events' order, then `outbox_after`.
fn event_writes<'c>(
    connection: &'c AsyncPgConnection,
    events: &[RecordedEvent],
    case: &casework_domain::case::Case,
    outbox_after: &[OutboxRecord],
) -> Vec<Sent<'c>> {
    let mut statements = Vec::new();
    if !events.is_empty() {
        let event_rows: Vec<EventRecord> = events.iter().map(EventRecord::from_event).collect();
        statements
            .push(Prepared(diesel::insert_into(case_events::table).values(&event_rows)).execute(&mut &*connection));
    }
    let mut outbox_rows: Vec<OutboxRecord> =
        events.iter().filter_map(|e| OutboxRecord::for_case_event(e, case)).collect();
    outbox_rows.extend_from_slice(outbox_after);
    statements.extend(outbox_write(connection, &outbox_rows));
    statements
}

/// The insert of `rows` into the outbox, if there are any.
pub(super) fn outbox_write<'c>(connection: &'c AsyncPgConnection, rows: &[OutboxRecord]) -> Option<Sent<'c>> {
    (!rows.is_empty())
        .then(|| Prepared(diesel::insert_into(webhook_outbox::table).values(rows)).execute(&mut &*connection))
}

/// Writes `change` if the case is still at `expected` version; `Ok(false)` when it is not. The
/// events, outbox rows and note go in the same round trip as the case's update, so on `false`
/// the caller must roll back (every caller does: a conflict, or impossible under its row lock).
pub(super) async fn write_change(
    store: &PgStore,
    connection: &AsyncPgConnection,
    change: &CaseChange,
    expected: i64,
) -> Result<bool, diesel::result::Error> {
    let case = &change.case;
    let tenant = case.tenant;
    let mut statements = vec![
        Prepared(
            diesel::update(cases::table)
                .filter(cases::org_id.eq(tenant.org_id.uuid()))
                .filter(cases::id.eq(case.id.uuid()))
                .filter(cases::version.eq(expected))
                .set(CaseRecord::from_case(case)),
        )
        .execute(&mut &*connection),
    ];
    statements.extend(event_writes(connection, &change.events, case, &[]));
    if let Some(note) = &change.note {
        statements.push(
            Prepared(diesel::insert_into(notes::table).values(NoteRecord::from_note(tenant, note)))
                .execute(&mut &*connection),
        );
    }
    let written = send_all(statements).await?;
    if <[usize]>::first(&written) != Some(&1) {
        return Ok(false);
    }
    write_session_change(store, connection, change, &change.session).await?;
    Ok(true)
}

async fn write_session_change(
    store: &PgStore,
    mut connection: &AsyncPgConnection,
    change: &CaseChange,
    session: &SessionChange,
) -> Result<(), diesel::result::Error> {
    let case = &change.case;
    let org_id = case.tenant.org_id.uuid();
    let session_id = case.session_id.uuid();
    let now = case.updated_at;
    let in_session = sessions::org_id.eq(org_id).and(sessions::id.eq(session_id));
    if let Some((status, event_id)) = session.status {
        let (result_status, decided_at, rejection_reason, rejection_reason_code) =
            result_columns(session.result.as_ref());
        let record: SessionRecord = diesel::update(sessions::table)
            .filter(in_session)
            .set((
                sessions::status.eq(status.as_str()),
                sessions::status_changed_at.eq(now),
                sessions::updated_at.eq(now),
                sessions::result_status.eq(result_status),
                sessions::decided_at.eq(decided_at),
                sessions::rejection_reason.eq(rejection_reason),
                sessions::rejection_reason_code.eq(rejection_reason_code),
            ))
            .returning(SessionRecord::as_returning())
            .get_result(&mut connection)
            .await?;
        let event = match status {
            SessionStatus::Approved => Some(SessionEventType::Approved),
            SessionStatus::Declined => Some(SessionEventType::Declined),
            _ => None,
        };
        if let Some(event) = event {
            let committed = record
                .into_session(Some(case.id.uuid()), &store.cipher, Pii::Omit)
                .map_err(|error| diesel::result::Error::QueryBuilderError(error.into()))?;
            let row = OutboxRecord::for_session(SessionNotice { id: event_id, event }, &committed, now);
            diesel::insert_into(webhook_outbox::table).values(&row).execute(&mut connection).await?;
        }
    }
    if let Some(checks) = &session.checks {
        diesel::update(sessions::table)
            .filter(in_session)
            .set((
                sessions::checks.eq(checks_json(checks)),
                sessions::checks_summary_stale.eq(true),
                sessions::updated_at.eq(now),
            ))
            .execute(&mut connection)
            .await?;
    }
    if let Some(data) = &session.extracted_data {
        let (key_id, ciphertext) = seal(&store.cipher, org_id, session_id, data);
        diesel::update(sessions::table)
            .filter(in_session)
            .set((
                sessions::extracted_data_ciphertext.eq(ciphertext),
                sessions::extracted_data_key_id.eq(key_id),
                sessions::updated_at.eq(now),
            ))
            .execute(&mut connection)
            .await?;
    }
    if let Some(entry) = &session.blocklist {
        diesel::insert_into(blocklist_entries::table)
            .values((
                blocklist_entries::org_id.eq(org_id),
                blocklist_entries::environment.eq(case.tenant.environment.as_str()),
                blocklist_entries::id.eq(entry.id.uuid()),
                blocklist_entries::case_id.eq(case.id.uuid()),
                blocklist_entries::document_hash.eq(store.blocklist.hash(&entry.document_number)),
                blocklist_entries::created_at.eq(now),
            ))
            .on_conflict_do_nothing()
            .execute(&mut connection)
            .await?;
    }
    Ok(())
}
