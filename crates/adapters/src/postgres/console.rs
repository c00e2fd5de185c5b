//! The console's people on PostgreSQL (API.md §8): invitations, passwords (argon2id hashes
//! only), server-side sessions checked on every request (a deactivated user's end at once), and
//! the sign-in attempts that throttling counts and admins list.

use casework_domain::Timestamp;
use casework_domain::console::{ConsoleSession, SESSION_IDLE, SignInAttempt, SignInOutcome};
use casework_domain::directory::OrgUser;
use casework_domain::id::{Id, OrgId, OrgUserId};
use casework_domain::page::{Page, PageRequest};
use casework_domain::ports::StoreError;
use casework_domain::tenant::Environment;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgStore;
use super::directory::OrgUserRecord;
use super::errors::unavailable_or_unknown;
use super::records::decode;
use super::schema::{console_sessions, invitations, org_users, sign_in_attempts};

/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY: time::Duration = time::Duration::minutes(1);

/// A person who may sign in: the user and their password hash, if they set one.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The user.
    pub user: OrgUser,
    /// The argon2id hash.
    pub password_hash: Option<String>,
}

/// A new console session to store.
#[derive(Debug, Clone)]
pub struct NewConsoleSession<'a> {
    /// The session's id.
    pub id: Uuid,
    /// SHA-256 of the cookie's token.
    pub token_hash: &'a [u8],
    /// The person.
    pub user: &'a OrgUser,
    /// The environment it starts in.
    pub environment: Environment,
    /// The forms' token.
    pub csrf_token: &'a str,
    /// Now.
    pub now: Timestamp,
    /// The absolute end.
    pub expires_at: Timestamp,
}

impl PgStore {
    /// Voids the user's invitations, password and console sessions, and stores a new
    /// invitation; `false` when the user does not exist in `org`.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn invite(
        &self,
        org: OrgId,
        user: OrgUserId,
        token_hash: &[u8],
        expires_at: Timestamp,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let (org, user) = (org.uuid(), user.uuid());
        let mut connection = self.connection().await?;
        connection
            .transaction::<_, diesel::result::Error, _>(async |connection| {
                let found = diesel::update(org_users::table)
                    .filter(org_users::org_id.eq(org).and(org_users::id.eq(user)))
                    .set(org_users::password_hash.eq(None::<String>))
                    .execute(connection)
                    .await?;
                if found == 0 {
                    return Ok(false);
                }
                diesel::delete(invitations::table)
                    .filter(invitations::org_id.eq(org).and(invitations::org_user_id.eq(user)))
                    .execute(connection)
                    .await?;
                end_sessions_of(connection, org, user, now).await?;
                diesel::insert_into(invitations::table)
                    .values((
                        invitations::org_id.eq(org),
                        invitations::token_hash.eq(token_hash),
                        invitations::org_user_id.eq(user),
                        invitations::expires_at.eq(expires_at),
                        invitations::created_at.eq(now),
                    ))
                    .execute(connection)
                    .await?;
                Ok(true)
            })
            .await
            .map_err(unavailable_or_unknown)
    }

    /// The person an unused, unexpired invitation is for.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn invited(&self, token_hash: &[u8], now: Timestamp) -> Result<Option<OrgUser>, StoreError> {
        let mut connection = self.connection().await?;
        let record: Option<OrgUserRecord> = invitations::table
            .inner_join(
                org_users::table
                    .on(org_users::org_id.eq(invitations::org_id).and(org_users::id.eq(invitations::org_user_id))),
            )
            .filter(invitations::token_hash.eq(token_hash))
            .filter(invitations::used_at.is_null())
            .filter(invitations::expires_at.gt(now))
            .select(OrgUserRecord::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        record.map(OrgUserRecord::into_user).transpose()
    }

    /// Uses an invitation to set its user's password hash, in one transaction; `false` when the
    /// invitation is used, expired or unknown.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn accept_invitation(
        &self,
        token_hash: &[u8],
        password_hash: &str,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut connection = self.connection().await?;
        connection
            .transaction::<_, diesel::result::Error, _>(async |connection| {
                let used: Option<(Uuid, Uuid)> = diesel::update(invitations::table)
                    .filter(invitations::token_hash.eq(token_hash))
                    .filter(invitations::used_at.is_null())
                    .filter(invitations::expires_at.gt(now))
                    .set(invitations::used_at.eq(now))
                    .returning((invitations::org_id, invitations::org_user_id))
                    .get_result(connection)
                    .await
                    .optional()?;
                let Some((org, user)) = used else { return Ok(false) };
                diesel::update(org_users::table)
                    .filter(org_users::org_id.eq(org).and(org_users::id.eq(user)))
                    .set((org_users::password_hash.eq(password_hash), org_users::updated_at.eq(now)))
                    .execute(connection)
                    .await?;
                Ok(true)
            })
            .await
            .map_err(unavailable_or_unknown)
    }

    /// Every user with this email (case-insensitive), in any organization, with their hashes.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn sign_in_candidates(&self, email: &str) -> Result<Vec<Candidate>, StoreError> {
        let mut connection = self.connection().await?;
        let rows: Vec<(OrgUserRecord, Option<String>)> = org_users::table
            .filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = lower(")
                    .bind::<diesel::sql_types::Text, _>(email)
                    .sql(")"),
            )
            .select((OrgUserRecord::as_select(), org_users::password_hash))
            .load(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        rows.into_iter()
            .map(|(record, password_hash)| Ok(Candidate { user: record.into_user()?, password_hash }))
            .collect()
    }

    /// Failed sign-ins since `since` for this email and for this client address.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn recent_failures(&self, email: &str, client: &str, since: Timestamp) -> Result<(i64, i64), StoreError> {
        let mut connection = self.connection().await?;
        let failed = || {
            sign_in_attempts::table
                .filter(sign_in_attempts::at.ge(since))
                .filter(sign_in_attempts::outcome.eq(SignInOutcome::Failed.as_str()))
        };
        let by_account: i64 = failed()
            .filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>("lower(email) = lower(")
                    .bind::<diesel::sql_types::Text, _>(email)
                    .sql(")"),
            )
            .count()
            .get_result(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let by_client: i64 = failed()
            .filter(sign_in_attempts::client.eq(client))
            .count()
            .get_result(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        Ok((by_account, by_client))
    }

    /// Records a sign-in attempt.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn record_sign_in(
        &self,
        user: Option<&OrgUser>,
        email: &str,
        client: &str,
        outcome: SignInOutcome,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        let email: String = email.chars().take(320).collect();
        let client: String = client.chars().take(64).collect();
        diesel::insert_into(sign_in_attempts::table)
            .values((
                sign_in_attempts::org_id.eq(user.map(|u| u.org_id.uuid())),
                sign_in_attempts::org_user_id.eq(user.map(|u| u.id.uuid())),
                sign_in_attempts::email.eq(email),
                sign_in_attempts::client.eq(client),
                sign_in_attempts::outcome.eq(outcome.as_str()),
                sign_in_attempts::at.eq(at),
            ))
            .execute(&mut *connection)
            .await
            .map(|_| ())
            .map_err(unavailable_or_unknown)
    }

    /// The organization's sign-in attempts, newest first.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn sign_in_attempts(&self, org: OrgId, page: PageRequest) -> Result<Page<SignInAttempt>, StoreError> {
        let mut connection = self.connection().await?;
        let of_org = sign_in_attempts::org_id.eq(org.uuid());
        let total: i64 = sign_in_attempts::table
            .filter(of_org)
            .count()
            .get_result(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        type Row = (i64, Option<Uuid>, String, String, String, Timestamp);
        let rows: Vec<Row> = sign_in_attempts::table
            .filter(of_org)
            .order_by((sign_in_attempts::at.desc(), sign_in_attempts::id.desc()))
            .select((
                sign_in_attempts::id,
                sign_in_attempts::org_user_id,
                sign_in_attempts::email,
                sign_in_attempts::client,
                sign_in_attempts::outcome,
                sign_in_attempts::at,
            ))
            .limit(i64::from(page.limit()))
            .offset(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .load(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let items = rows
            .into_iter()
            .map(|(id, user, email, client, outcome, at)| {
                Ok(SignInAttempt {
                    id,
                    org_user_id: user.map(Id::from_uuid),
                    email,
                    client,
                    outcome: decode::<SignInOutcome>("sign-in outcome", &outcome)?,
                    at,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(Page { items, total: u64::try_from(total).unwrap_or(0), request: page })
    }

    /// Stores a new console session.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn create_console_session(&self, session: &NewConsoleSession<'_>) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        diesel::insert_into(console_sessions::table)
            .values((
                console_sessions::org_id.eq(session.user.org_id.uuid()),
                console_sessions::id.eq(session.id),
                console_sessions::token_hash.eq(session.token_hash),
                console_sessions::org_user_id.eq(session.user.id.uuid()),
                console_sessions::environment.eq(session.environment.as_str()),
                console_sessions::csrf_token.eq(session.csrf_token),
                console_sessions::created_at.eq(session.now),
                console_sessions::last_seen_at.eq(session.now),
                console_sessions::expires_at.eq(session.expires_at),
            ))
            .execute(&mut *connection)
            .await
            .map(|_| ())
            .map_err(unavailable_or_unknown)
    }

    /// The live session with this token: not ended, used within the idle time, before its
    /// absolute end, its user active. Marks it used.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn console_session(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let mut connection = self.connection().await?;
        type Row = (Uuid, String, String, Timestamp, Timestamp, OrgUserRecord);
        let row: Option<Row> = console_sessions::table
            .inner_join(org_users::table.on(
                org_users::org_id.eq(console_sessions::org_id).and(org_users::id.eq(console_sessions::org_user_id)),
            ))
            .filter(console_sessions::token_hash.eq(token_hash))
            .filter(console_sessions::ended_at.is_null())
            .filter(console_sessions::expires_at.gt(now))
            .filter(console_sessions::last_seen_at.gt(now - SESSION_IDLE))
            .filter(org_users::active.eq(true))
            .select((
                console_sessions::id,
                console_sessions::environment,
                console_sessions::csrf_token,
                console_sessions::expires_at,
                console_sessions::last_seen_at,
                OrgUserRecord::as_select(),
            ))
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        let Some((id, environment, csrf_token, expires_at, last_seen_at, user)) = row else { return Ok(None) };
        let user = user.into_user()?;
        if now - last_seen_at >= TOUCH_EVERY {
            diesel::update(console_sessions::table)
                .filter(console_sessions::org_id.eq(user.org_id.uuid()).and(console_sessions::id.eq(id)))
                .set(console_sessions::last_seen_at.eq(now))
                .execute(&mut *connection)
                .await
                .map_err(unavailable_or_unknown)?;
        }
        let environment = decode::<Environment>("environment", &environment)?;
        Ok(Some(ConsoleSession { id, user, environment, csrf_token, expires_at }))
    }

    /// Ends a console session (sign-out).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn end_console_session(&self, token_hash: &[u8], now: Timestamp) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        diesel::update(console_sessions::table)
            .filter(console_sessions::token_hash.eq(token_hash))
            .filter(console_sessions::ended_at.is_null())
            .set(console_sessions::ended_at.eq(now))
            .execute(&mut *connection)
            .await
            .map(|_| ())
            .map_err(unavailable_or_unknown)
    }

    /// Switches a session's environment.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn switch_console_environment(
        &self,
        token_hash: &[u8],
        environment: Environment,
    ) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        diesel::update(console_sessions::table)
            .filter(console_sessions::token_hash.eq(token_hash))
            .set(console_sessions::environment.eq(environment.as_str()))
            .execute(&mut *connection)
            .await
            .map(|_| ())
            .map_err(unavailable_or_unknown)
    }
}

async fn end_sessions_of(
    connection: &mut diesel_async::AsyncPgConnection,
    org: Uuid,
    user: Uuid,
    now: Timestamp,
) -> Result<usize, diesel::result::Error> {
    diesel::update(console_sessions::table)
        .filter(console_sessions::org_id.eq(org).and(console_sessions::org_user_id.eq(user)))
        .filter(console_sessions::ended_at.is_null())
        .set(console_sessions::ended_at.eq(now))
        .execute(connection)
        .await
}

impl PgStore {
    /// An org user of any organization (the operator's command line names users by id alone).
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn org_user_anywhere(&self, id: OrgUserId) -> Result<Option<OrgUser>, StoreError> {
        let mut connection = self.connection().await?;
        let record: Option<OrgUserRecord> = org_users::table
            .filter(org_users::id.eq(id.uuid()))
            .select(OrgUserRecord::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        record.map(OrgUserRecord::into_user).transpose()
    }
}
