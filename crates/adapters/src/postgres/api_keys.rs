//! [`ApiKeyStore`] on PostgreSQL: a presented secret is parsed, hashed with SHA-256 and looked up
//! by hash; revoked, expired or environment-mismatched keys are refused with the same answer as
//! unknown ones. Every request reads the key row, so a revocation holds on every instance at once.

use casework_domain::Timestamp;
use casework_domain::directory::{AuthError, Principal, UserRef};
use casework_domain::id::Id;
use casework_domain::ports::{ApiKeyStore, StoreError};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;

use super::PgStore;
use super::directory::ApiKeyRecord;
use super::errors::unavailable_or_unknown;
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
    async fn authenticate(&self, presented: &str, now: Timestamp) -> Result<Principal, AuthError> {
        let secret = ApiKeySecret::parse(presented).ok_or(AuthError::Unauthorized)?;
        let mut connection = self.connection().await.map_err(|e| AuthError::Unavailable(e.0))?;
        let record: Option<ApiKeyRecord> = api_keys::table
            .filter(api_keys::key_hash.eq(secret.hash()))
            .select(ApiKeyRecord::as_select())
            .first(&mut connection)
            .await
            .optional()
            .map_err(|e| auth_error(unavailable_or_unknown(e)))?;
        let key = record.ok_or(AuthError::Unauthorized)?.into_key().map_err(auth_error)?;
        let usable = key.revoked_at.is_none()
            && key.expires_at.is_none_or(|expires_at| now < expires_at)
            && key.tenant.environment == secret.environment();
        if !usable {
            return Err(AuthError::Unauthorized);
        }
        let user = match key.org_user_id {
            None => None,
            Some(user_id) => org_users::table
                .filter(org_users::org_id.eq(key.tenant.org_id.uuid()))
                .filter(org_users::id.eq(user_id.uuid()))
                .filter(org_users::active.eq(true))
                .select(org_users::name)
                .first::<String>(&mut connection)
                .await
                .optional()
                .map_err(|e| auth_error(unavailable_or_unknown(e)))?
                .map(|name| UserRef { id: Id::from_uuid(user_id.uuid()), name }),
        };
        if key.last_used_at.is_none_or(|last| now - last >= LAST_USED_RESOLUTION) {
            diesel::update(api_keys::table)
                .filter(api_keys::org_id.eq(key.tenant.org_id.uuid()))
                .filter(api_keys::id.eq(key.id.uuid()))
                .set(api_keys::last_used_at.eq(now))
                .execute(&mut connection)
                .await
                .map_err(|e| auth_error(unavailable_or_unknown(e)))?;
        }
        Ok(Principal { key_id: key.id, key_name: key.name, tenant: key.tenant, scopes: key.scopes, user })
    }
}
