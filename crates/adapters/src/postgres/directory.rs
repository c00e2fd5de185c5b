//! Organizations, their environment settings, org users and API keys on PostgreSQL: the
//! [`DirectoryRepository`] port, and the administration operations behind `casework admin`.

use std::sync::Arc;

use casework_domain::Timestamp;
use casework_domain::directory::{ApiKey, OrgUser, OrgUserPatch, Role, Scope, Scopes};
use casework_domain::id::{ApiKeyId, Id, OrgId, OrgUserId};
use casework_domain::page::{Page, PageRequest};
use casework_domain::ports::{DirectoryRepository, InsertUserError, StoreError};
use casework_domain::tenant::{Environment, Organization, Settings, SettingsPatch, Tenant};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};
use uuid::Uuid;

use super::PgStore;
use super::errors::{Failure, classify, corrupt, unavailable_or_unknown};
use super::recent::Recent;
use super::records::decode;
use super::schema::{api_keys, environment_settings, org_users, organizations};
use crate::auth::ApiKeySecret;

/// An `org_users` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = org_users, check_for_backend(diesel::pg::Pg))]
pub(super) struct OrgUserRecord {
    org_id: Uuid,
    id: Uuid,
    name: String,
    email: String,
    role: String,
    active: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl OrgUserRecord {
    pub(super) fn into_user(self) -> Result<OrgUser, StoreError> {
        Ok(OrgUser {
            id: Id::from_uuid(self.id),
            org_id: Id::from_uuid(self.org_id),
            name: self.name,
            email: self.email,
            role: decode::<Role>("role", &self.role)?,
            active: self.active,
            created_at: self.created_at,
        })
    }
}

/// An `api_keys` row.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub(super) struct ApiKeyRecord {
    pub(super) org_id: Uuid,
    pub(super) id: Uuid,
    pub(super) environment: String,
    pub(super) name: String,
    pub(super) key_hash: Vec<u8>,
    pub(super) scopes: Vec<Option<String>>,
    pub(super) org_user_id: Option<Uuid>,
    pub(super) api_version: String,
    pub(super) expires_at: Option<Timestamp>,
    pub(super) last_used_at: Option<Timestamp>,
    pub(super) created_at: Timestamp,
    pub(super) revoked_at: Option<Timestamp>,
}

impl ApiKeyRecord {
    fn new(key: &ApiKey, secret: &ApiKeySecret, api_version: &str) -> Self {
        Self {
            org_id: key.tenant.org_id.uuid(),
            id: key.id.uuid(),
            environment: key.tenant.environment.as_str().to_owned(),
            name: key.name.clone(),
            key_hash: secret.hash(),
            scopes: key.scopes.iter().map(|s| Some(s.as_str().to_owned())).collect(),
            org_user_id: key.org_user_id.map(|u| u.uuid()),
            api_version: api_version.to_owned(),
            expires_at: key.expires_at,
            last_used_at: key.last_used_at,
            created_at: key.created_at,
            revoked_at: key.revoked_at,
        }
    }

    pub(super) fn into_key(self) -> Result<ApiKey, StoreError> {
        let scopes =
            self.scopes.iter().flatten().map(|s| decode::<Scope>("scope", s)).collect::<Result<Scopes, _>>()?;
        Ok(ApiKey {
            id: Id::from_uuid(self.id),
            tenant: Tenant {
                org_id: Id::from_uuid(self.org_id),
                environment: decode::<Environment>("environment", &self.environment)?,
            },
            name: self.name,
            scopes,
            org_user_id: self.org_user_id.map(Id::from_uuid),
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            created_at: self.created_at,
            revoked_at: self.revoked_at,
        })
    }
}

/// Environment settings are read on every request (rate limits, PII filters); they are cached
/// for at most this long, which is how long a change may take to reach another instance.
const SETTINGS_TTL: std::time::Duration = std::time::Duration::from_millis(500);

/// Recently read settings, by tenant.
#[derive(Debug)]
pub struct SettingsCache(Recent<Tenant, Settings>);

impl Default for SettingsCache {
    fn default() -> Self {
        Self(Recent::new(SETTINGS_TTL))
    }
}

/// The API version a new key is pinned to (CONVENTIONS.md, Versioning).
pub const CURRENT_API_VERSION: &str = "2026-01-01";

/// Why an org user could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    /// Another user of the organization has this email (case-insensitive).
    #[error("email already taken in this organization")]
    EmailTaken,
    /// No such organization.
    #[error("organization not found")]
    OrgNotFound,
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why an API key could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateKeyError {
    /// No such organization.
    #[error("organization not found")]
    OrgNotFound,
    /// The bound org user does not exist in the organization.
    #[error("org user not found")]
    UserNotFound,
    /// See [`StoreError`].
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn store_failure(failure: Failure) -> StoreError {
    match failure {
        Failure::Unavailable(e) => StoreError::Unavailable(e),
        Failure::Constraint { name } => StoreError::Unknown(anyhow::anyhow!("unexpected violation of {name}")),
        Failure::Unknown(e) => StoreError::Unknown(e),
    }
}

impl PgStore {
    /// Creates an organization, the default settings of both its environments, and its keys.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn create_organization(
        &self,
        org: &Organization,
        keys: &[(ApiKey, ApiKeySecret)],
    ) -> Result<(), StoreError> {
        let mut connection = self.connection().await?;
        let defaults = &self.new_org_settings;
        let settings: Vec<_> = Environment::ALL
            .iter()
            .map(|environment| {
                (
                    environment_settings::org_id.eq(org.id.uuid()),
                    environment_settings::environment.eq(environment.as_str()),
                    environment_settings::claim_ttl_seconds
                        .eq(i32::try_from(defaults.claim_ttl_seconds).unwrap_or(1800)),
                    environment_settings::rate_limit_per_minute
                        .eq(i32::try_from(defaults.rate_limit_per_minute).unwrap_or(i32::MAX)),
                    environment_settings::updated_at.eq(org.created_at),
                )
            })
            .collect();
        let key_rows: Vec<ApiKeyRecord> =
            keys.iter().map(|(key, secret)| ApiKeyRecord::new(key, secret, CURRENT_API_VERSION)).collect();
        connection
            .transaction::<_, diesel::result::Error, _>(async |connection| {
                diesel::insert_into(organizations::table)
                    .values((
                        organizations::id.eq(org.id.uuid()),
                        organizations::name.eq(&org.name),
                        organizations::created_at.eq(org.created_at),
                    ))
                    .execute(connection)
                    .await?;
                diesel::insert_into(environment_settings::table).values(&settings).execute(connection).await?;
                diesel::insert_into(api_keys::table).values(&key_rows).execute(connection).await?;
                Ok(())
            })
            .await
            .map_err(unavailable_or_unknown)
    }

    /// Creates an org user.
    ///
    /// # Errors
    /// [`CreateUserError`].
    pub async fn create_org_user(&self, user: &OrgUser) -> Result<(), CreateUserError> {
        let mut connection = self.connection().await.map_err(StoreError::from)?;
        let record = OrgUserRecord {
            org_id: user.org_id.uuid(),
            id: user.id.uuid(),
            name: user.name.clone(),
            email: user.email.clone(),
            role: user.role.as_str().to_owned(),
            active: user.active,
            created_at: user.created_at,
            updated_at: user.created_at,
        };
        match diesel::insert_into(org_users::table).values(&record).execute(&mut *connection).await {
            Ok(_) => Ok(()),
            Err(error) => Err(match classify(error) {
                Failure::Constraint { name } if name == "org_users_email_key" => CreateUserError::EmailTaken,
                Failure::Constraint { name } if name == "org_users_org_id_fkey" => CreateUserError::OrgNotFound,
                other => CreateUserError::Store(store_failure(other)),
            }),
        }
    }

    /// Stores a new API key (only the hash of its secret).
    ///
    /// # Errors
    /// [`CreateKeyError`].
    pub async fn create_api_key(&self, key: &ApiKey, secret: &ApiKeySecret) -> Result<(), CreateKeyError> {
        let mut connection = self.connection().await.map_err(StoreError::from)?;
        let record = ApiKeyRecord::new(key, secret, CURRENT_API_VERSION);
        match diesel::insert_into(api_keys::table).values(&record).execute(&mut *connection).await {
            Ok(_) => Ok(()),
            Err(error) => Err(match classify(error) {
                Failure::Constraint { name } if name == "api_keys_org_id_fkey" => CreateKeyError::OrgNotFound,
                Failure::Constraint { name } if name == "api_keys_org_id_org_user_id_fkey" => {
                    CreateKeyError::UserNotFound
                }
                other => CreateKeyError::Store(store_failure(other)),
            }),
        }
    }

    /// Revokes a key (once: revoking again keeps the first time); `None` when it does not exist.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn revoke_api_key(&self, id: ApiKeyId, now: Timestamp) -> Result<Option<ApiKey>, StoreError> {
        self.revoke(id, None, now).await
    }

    /// Revokes key `id` (of `tenant`, when given): one update, then the key as it now is.
    pub(super) async fn revoke(
        &self,
        id: ApiKeyId,
        tenant: Option<Tenant>,
        now: Timestamp,
    ) -> Result<Option<ApiKey>, StoreError> {
        type Scope = Box<dyn BoxableExpression<api_keys::table, diesel::pg::Pg, SqlType = diesel::sql_types::Bool>>;
        let in_scope = || -> Scope {
            match tenant {
                None => Box::new(api_keys::id.eq(id.uuid())),
                Some(tenant) => Box::new(
                    api_keys::id
                        .eq(id.uuid())
                        .and(api_keys::org_id.eq(tenant.org_id.uuid()))
                        .and(api_keys::environment.eq(tenant.environment.as_str())),
                ),
            }
        };
        let mut connection = self.connection().await?;
        diesel::update(api_keys::table)
            .filter(in_scope())
            .filter(api_keys::revoked_at.is_null())
            .set(api_keys::revoked_at.eq(now))
            .execute(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        self.forget_keys();
        let record: Option<ApiKeyRecord> = api_keys::table
            .filter(in_scope())
            .select(ApiKeyRecord::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        record.map(ApiKeyRecord::into_key).transpose()
    }
}

impl DirectoryRepository for PgStore {
    async fn settings(&self, tenant: Tenant) -> Result<Settings, StoreError> {
        if let Some(cached) = self.settings.0.get(&tenant) {
            return Ok(cached);
        }
        let generation = self.settings.0.generation();
        let mut connection = self.connection().await?;
        let row: Option<SettingsRow> = environment_settings::table
            .filter(environment_settings::org_id.eq(tenant.org_id.uuid()))
            .filter(environment_settings::environment.eq(tenant.environment.as_str()))
            .select(SETTINGS_COLUMNS)
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        let Some(row) = row else { return Ok(Settings::default()) };
        let settings = settings_of(row)?;
        self.settings.0.put(tenant, settings.clone(), generation);
        Ok(settings)
    }

    async fn update_settings(
        &self,
        tenant: Tenant,
        patch: &SettingsPatch,
        now: Timestamp,
    ) -> Result<Settings, StoreError> {
        // A new row starts from the defaults; an existing one changes only the patched columns.
        let fresh = patch.apply(&Settings::default()).map_err(|e| corrupt("settings patch", format!("{e:?}")))?;
        let int = |value: u32| i32::try_from(value).unwrap_or(i32::MAX);
        let pii_fields = |fields: &Option<Vec<String>>| fields.as_ref().map(|fields| serde_json::json!(fields));
        let changes = SettingsChanges {
            dual_review: patch.dual_review.map(|_| fresh.dual_review),
            claim_ttl_seconds: patch.claim_ttl_seconds.map(|_| int(fresh.claim_ttl_seconds)),
            demo_case_limit: patch.demo_case_limit.map(|_| int(fresh.demo_case_limit)),
            api_pii_fields: patch.api_pii_fields.as_ref().map(|_| pii_fields(&fresh.api_pii_fields)),
            sensitive_data_retention_days: patch
                .sensitive_data_retention_days
                .map(|_| fresh.sensitive_data_retention_days.map(int)),
            rate_limit_per_minute: patch.rate_limit_per_minute.map(|_| int(fresh.rate_limit_per_minute)),
            updated_at: now,
        };
        let mut connection = self.connection().await?;
        let row: SettingsRow = diesel::insert_into(environment_settings::table)
            .values((
                environment_settings::org_id.eq(tenant.org_id.uuid()),
                environment_settings::environment.eq(tenant.environment.as_str()),
                environment_settings::dual_review.eq(fresh.dual_review),
                environment_settings::claim_ttl_seconds.eq(int(fresh.claim_ttl_seconds)),
                environment_settings::demo_case_limit.eq(int(fresh.demo_case_limit)),
                environment_settings::api_pii_fields.eq(pii_fields(&fresh.api_pii_fields)),
                environment_settings::sensitive_data_retention_days.eq(fresh.sensitive_data_retention_days.map(int)),
                environment_settings::rate_limit_per_minute.eq(int(fresh.rate_limit_per_minute)),
                environment_settings::updated_at.eq(now),
            ))
            .on_conflict((environment_settings::org_id, environment_settings::environment))
            .do_update()
            .set(&changes)
            .returning(SETTINGS_COLUMNS)
            .get_result(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let settings = settings_of(row)?;
        // This instance reads what it just wrote (once committed); a read that started before is
        // not stored.
        let cache = Arc::clone(&self.settings);
        self.after_commit(move || cache.0.forget(|each| *each == tenant));
        Ok(settings)
    }

    async fn list_org_users(&self, org_id: OrgId, page: PageRequest) -> Result<Page<OrgUser>, StoreError> {
        let mut connection = self.connection().await?;
        let total: i64 = org_users::table
            .filter(org_users::org_id.eq(org_id.uuid()))
            .count()
            .get_result(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let records: Vec<OrgUserRecord> = org_users::table
            .filter(org_users::org_id.eq(org_id.uuid()))
            .order_by((org_users::created_at.asc(), org_users::id.asc()))
            .select(OrgUserRecord::as_select())
            .limit(i64::from(page.limit()))
            .offset(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .load(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let items = records.into_iter().map(OrgUserRecord::into_user).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, total: u64::try_from(total).unwrap_or(0), request: page })
    }

    async fn insert_org_user(&self, user: &OrgUser) -> Result<(), InsertUserError> {
        self.create_org_user(user).await.map_err(|error| match error {
            CreateUserError::EmailTaken => InsertUserError::EmailTaken,
            CreateUserError::OrgNotFound => InsertUserError::OrgNotFound,
            CreateUserError::Store(store) => InsertUserError::Store(store),
        })
    }

    async fn update_org_user(
        &self,
        tenant: Tenant,
        id: OrgUserId,
        patch: &OrgUserPatch,
        now: Timestamp,
    ) -> Result<Option<OrgUser>, StoreError> {
        let changes = OrgUserChanges {
            name: patch.name.as_deref(),
            role: patch.role.map(|role| role.as_str()),
            active: patch.active,
            updated_at: now,
        };
        let mut connection = self.connection().await?;
        let record: Option<OrgUserRecord> = diesel::update(org_users::table)
            .filter(org_users::org_id.eq(tenant.org_id.uuid()))
            .filter(org_users::id.eq(id.uuid()))
            .set(&changes)
            .returning(OrgUserRecord::as_returning())
            .get_result(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        // A bound key acts with the user's name, and not at all once they are deactivated.
        self.forget_keys();
        record.map(OrgUserRecord::into_user).transpose()
    }

    async fn insert_organization(&self, org: &Organization, keys: &[ApiKey]) -> Result<Vec<String>, StoreError> {
        let pairs: Vec<(ApiKey, ApiKeySecret)> =
            keys.iter().map(|key| (key.clone(), ApiKeySecret::generate(key.tenant.environment))).collect();
        self.create_organization(org, &pairs).await?;
        Ok(pairs.iter().map(|(_, secret)| secret.expose().to_owned()).collect())
    }

    async fn find_organization(&self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        let mut connection = self.connection().await?;
        let row: Option<(Uuid, String, Timestamp)> = organizations::table
            .filter(organizations::id.eq(id.uuid()))
            .select((organizations::id, organizations::name, organizations::created_at))
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        Ok(row.map(|(id, name, created_at)| Organization { id: Id::from_uuid(id), name, created_at }))
    }

    async fn find_org_user(&self, tenant: Tenant, id: OrgUserId) -> Result<Option<OrgUser>, StoreError> {
        let mut connection = self.connection().await?;
        let record: Option<OrgUserRecord> = org_users::table
            .filter(org_users::org_id.eq(tenant.org_id.uuid()))
            .filter(org_users::id.eq(id.uuid()))
            .select(OrgUserRecord::as_select())
            .first(&mut *connection)
            .await
            .optional()
            .map_err(unavailable_or_unknown)?;
        record.map(OrgUserRecord::into_user).transpose()
    }
}

/// The settings columns, in [`SettingsRow`] order.
const SETTINGS_COLUMNS: (
    environment_settings::dual_review,
    environment_settings::claim_ttl_seconds,
    environment_settings::demo_case_limit,
    environment_settings::api_pii_fields,
    environment_settings::sensitive_data_retention_days,
    environment_settings::rate_limit_per_minute,
) = (
    environment_settings::dual_review,
    environment_settings::claim_ttl_seconds,
    environment_settings::demo_case_limit,
    environment_settings::api_pii_fields,
    environment_settings::sensitive_data_retention_days,
    environment_settings::rate_limit_per_minute,
);

/// One row of [`SETTINGS_COLUMNS`].
type SettingsRow = (bool, i32, i32, Option<serde_json::Value>, Option<i32>, i32);

/// The columns a settings patch names (`None`: left as it is).
#[derive(AsChangeset)]
#[diesel(table_name = environment_settings)]
struct SettingsChanges {
    dual_review: Option<bool>,
    claim_ttl_seconds: Option<i32>,
    demo_case_limit: Option<i32>,
    api_pii_fields: Option<Option<serde_json::Value>>,
    sensitive_data_retention_days: Option<Option<i32>>,
    rate_limit_per_minute: Option<i32>,
    updated_at: Timestamp,
}

/// The columns an org-user patch names.
#[derive(AsChangeset)]
#[diesel(table_name = org_users)]
struct OrgUserChanges<'a> {
    name: Option<&'a str>,
    role: Option<&'static str>,
    active: Option<bool>,
    updated_at: Timestamp,
}

/// Settings from their columns.
fn settings_of(
    (dual_review, ttl, demo_limit, pii_fields, retention, rate): SettingsRow,
) -> Result<Settings, StoreError> {
    let unsigned = |what: &str, value: i32| u32::try_from(value).map_err(|e| corrupt(what, e));
    let api_pii_fields = pii_fields
        .map(|value| serde_json::from_value::<Vec<String>>(value).map_err(|e| corrupt("api_pii_fields", e)))
        .transpose()?;
    Ok(Settings {
        dual_review,
        claim_ttl_seconds: unsigned("claim_ttl_seconds", ttl)?,
        demo_case_limit: unsigned("demo_case_limit", demo_limit)?,
        api_pii_fields,
        sensitive_data_retention_days: retention.map(|r| unsigned("retention", r)).transpose()?,
        rate_limit_per_minute: unsigned("rate_limit_per_minute", rate)?,
    })
}
