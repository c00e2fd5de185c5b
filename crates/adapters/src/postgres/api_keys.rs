//! [`ApiKeyStore`] on PostgreSQL: a presented secret is parsed, hashed with SHA-256 and looked up
//! by hash; revoked, expired or environment-mismatched keys are refused with the same answer as
//! unknown ones. What a lookup found is remembered for half a second (`key_cache`), so a
//! revocation holds on this instance at once and on every other within that.

use casework_domain::Timestamp;
use casework_domain::directory::{ApiKey, AuthError, Principal, UserRef};
use casework_domain::id::ApiKeyId;
use casework_domain::page::{Page, PageRequest};
use casework_domain::ports::{ApiKeyStore, StoreError};
use casework_domain::tenant::Tenant;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::PgStore;
use super::directory::{ApiKeyRecord, CreateKeyError};
use super::errors::unavailable_or_unknown;
use super::key_cache::Authenticated;
use super::schema::{api_keys, org_users};
use crate::auth::ApiKeySecret;

/// `last_used_at` is written at most this often per key.
const LAST_USED_RESOLUTION: time::Duration = time::Duration::minutes(1);

fn auth_error(error: StoreError) -> AuthError {
    match error {
        StoreError::Unavailable(e) => AuthError::Unavailable(e),
        StoreError::Unknown(e) => AuthError::Unknown(e),
    }
}

impl ApiKeyStore for PgStore {
    async fn list_keys(&self, tenant: Tenant, page: PageRequest) -> Result<Page<ApiKey>, StoreError> {
        let mut connection = self.connection().await?;
        let in_tenant =
            api_keys::org_id.eq(tenant.org_id.uuid()).and(api_keys::environment.eq(tenant.environment.as_str()));
        let total: i64 = api_keys::table
            .filter(in_tenant)
            .count()
            .get_result(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let records: Vec<ApiKeyRecord> = api_keys::table
            .filter(in_tenant)
            .order_by((api_keys::created_at.asc(), api_keys::id.asc()))
            .select(ApiKeyRecord::as_select())
            .limit(i64::from(page.limit()))
            .offset(i64::try_from(page.offset()).unwrap_or(i64::MAX))
            .load(&mut *connection)
            .await
            .map_err(unavailable_or_unknown)?;
        let items = records.into_iter().map(ApiKeyRecord::into_key).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, total: u64::try_from(total).unwrap_or(0), request: page })
    }

    async fn issue_key(&self, key: &ApiKey) -> Result<String, StoreError> {
        let secret = ApiKeySecret::generate(key.tenant.environment);
        self.create_api_key(key, &secret).await.map_err(|error| match error {
            CreateKeyError::Store(store) => store,
            other => StoreError::Unknown(anyhow::Error::new(other)),
        })?;
        Ok(secret.expose().to_owned())
    }

    async fn revoke_key(
        &self,
        tenant: Option<Tenant>,
        id: ApiKeyId,
        now: Timestamp,
    ) -> Result<Option<ApiKey>, StoreError> {
        self.revoke(id, tenant, now).await
    }

    async fn authenticate(&self, presented: &str, now: Timestamp) -> Result<Principal, AuthError> {
        let secret = ApiKeySecret::parse(presented).ok_or(AuthError::Unauthorized)?;
        let digest: [u8; 32] = secret.hash().try_into().map_err(|_| AuthError::Unauthorized)?;
        if let Some(found) = self.keys.get(&digest, now) {
            return Ok(found.principal);
        }
        let generation = self.keys.generation();
        let mut connection = self.connection().await.map_err(|e| AuthError::Unavailable(e.0))?;
        // The key and its bound user in one statement: authentication runs on every request.
        let row: Option<(ApiKeyRecord, Option<(String, bool)>)> = api_keys::table
            .left_join(
                org_users::table
                    .on(org_users::org_id.eq(api_keys::org_id).and(api_keys::org_user_id.eq(org_users::id.nullable()))),
            )
            .filter(api_keys::key_hash.eq(secret.hash()))
            .select((ApiKeyRecord::as_select(), (org_users::name, org_users::active).nullable()))
            .first(&mut *connection)
            .await
            .optional()
            .map_err(|e| auth_error(unavailable_or_unknown(e)))?;
        let (record, bound_user) = row.ok_or(AuthError::Unauthorized)?;
        let pinned_version = record.api_version.clone();
        let key = record.into_key().map_err(auth_error)?;
        let usable = key.revoked_at.is_none()
            && key.expires_at.is_none_or(|expires_at| now < expires_at)
            && key.tenant.environment == secret.environment();
        if !usable {
            return Err(AuthError::Unauthorized);
        }
        // A key bound to a deactivated user authenticates as nothing (API.md §1): it never falls
        // back to acting unbound.
        let user = match (key.org_user_id, bound_user) {
            (None, _) => None,
            (Some(id), Some((name, true))) => Some(UserRef { id, name }),
            (Some(_), _) => return Err(AuthError::Unauthorized),
        };
        if key.last_used_at.is_none_or(|last| now - last >= LAST_USED_RESOLUTION) {
            diesel::update(api_keys::table)
                .filter(api_keys::org_id.eq(key.tenant.org_id.uuid()))
                .filter(api_keys::id.eq(key.id.uuid()))
                .set(api_keys::last_used_at.eq(now))
                .execute(&mut *connection)
                .await
                .map_err(|e| auth_error(unavailable_or_unknown(e)))?;
        }
        let principal = Principal {
            key_id: key.id,
            key_name: key.name,
            tenant: key.tenant,
            scopes: key.scopes,
            user,
            pinned_version,
            agent: None,
        };
        self.keys.put(digest, Authenticated { principal: principal.clone(), expires_at: key.expires_at }, generation);
        Ok(principal)
    }
}
