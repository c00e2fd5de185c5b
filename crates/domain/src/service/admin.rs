//! Administration (API.md §6): environment settings, org users and API keys.

use super::CaseService;
use crate::Timestamp;
pub use crate::directory::OrgUserPatch;
use crate::directory::{ApiKey, OrgUser, Principal, Role, Scope, Scopes};
use crate::id::{ApiKeyId, IdError, OrgId, OrgUserId};
use crate::page::{Page, PageRequest};
use crate::ports::{
    ApiKeyStore, CaseRepository, Clock, DirectoryRepository, IdGenerator, InsertUserError, SessionRepository,
    StoreError,
};
use crate::tenant::{Environment, Organization, Settings, SettingsPatch, Tenant};
use crate::validation::FieldErrors;

/// Why an administration request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// 404: the named resource does not exist in the tenant.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// 409 `email_taken`.
    #[error("email already taken")]
    EmailTaken,
    /// 403 `insufficient_scope`: a key may only grant scopes it holds.
    #[error("the key lacks {0}")]
    InsufficientScope(Scope),
    /// 422 `invalid_reviewer`: `org_user_id` names no active user.
    #[error("org_user_id names no active org user")]
    InvalidReviewer,
    /// 403 `reviewer_mismatch`: a bound key without `cases:admin` may create only keys bound
    /// to its own user.
    #[error("a bound key may only create keys bound to its own user")]
    ReviewerMismatch,
    /// 422 `validation_failed`.
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// 503 / 500.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new org user, validated by the HTTP edge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrgUser {
    /// Display name.
    pub name: String,
    /// Email (unique per organization, case-insensitive).
    pub email: String,
    /// Role (default `reviewer`).
    pub role: Role,
}

/// `POST /api-keys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// Display name.
    pub name: String,
    /// Scopes (each held by the creating key).
    pub scopes: Scopes,
    /// The org user the key acts as.
    pub org_user_id: Option<Result<OrgUserId, IdError>>,
    /// When the key stops working.
    pub expires_at: Option<Timestamp>,
}

impl<R, C, G> CaseService<R, C, G>
where
    R: CaseRepository + SessionRepository + DirectoryRepository + ApiKeyStore,
    C: Clock,
    G: IdGenerator,
{
    /// Applies a settings patch; the change holds on every instance at the next request.
    ///
    /// # Errors
    /// [`AdminError::Invalid`] for values out of range.
    pub async fn update_settings(&self, tenant: Tenant, patch: &SettingsPatch) -> Result<Settings, AdminError> {
        // Every rule is about one value, so checking against the defaults checks them all; the
        // write names only the patched columns (a concurrent patch of another setting stays).
        patch.apply(&Settings::default()).map_err(AdminError::Invalid)?;
        Ok(self.repo.update_settings(tenant, patch, self.clock.now()).await?)
    }

    /// The organization's users.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn org_users(&self, org_id: OrgId, page: PageRequest) -> Result<Page<OrgUser>, StoreError> {
        self.repo.list_org_users(org_id, page).await
    }

    /// One org user.
    ///
    /// # Errors
    /// [`AdminError::NotFound`].
    pub async fn org_user(&self, tenant: Tenant, id: OrgUserId) -> Result<OrgUser, AdminError> {
        self.repo.find_org_user(tenant, id).await?.ok_or(AdminError::NotFound("Org user"))
    }

    /// Creates an org user.
    ///
    /// # Errors
    /// [`AdminError::EmailTaken`].
    pub async fn create_org_user(&self, org_id: OrgId, new: NewOrgUser) -> Result<OrgUser, AdminError> {
        let user = OrgUser {
            id: self.ids.generate(),
            org_id,
            name: new.name,
            email: new.email,
            role: new.role,
            active: true,
            created_at: self.clock.now(),
        };
        self.repo.insert_org_user(&user).await.map_err(|error| match error {
            InsertUserError::EmailTaken => AdminError::EmailTaken,
            InsertUserError::OrgNotFound => AdminError::NotFound("Organization"),
            InsertUserError::Store(store) => AdminError::Store(store),
        })?;
        Ok(user)
    }

    /// Changes an org user's name, role or `active` flag.
    ///
    /// # Errors
    /// [`AdminError::NotFound`].
    pub async fn update_org_user(
        &self,
        tenant: Tenant,
        id: OrgUserId,
        patch: OrgUserPatch,
    ) -> Result<OrgUser, AdminError> {
        if patch == OrgUserPatch::default() {
            return self.org_user(tenant, id).await;
        }
        // Only the named fields are written, so a concurrent rename cannot undo a deactivation.
        self.repo.update_org_user(tenant, id, &patch, self.clock.now()).await?.ok_or(AdminError::NotFound("Org user"))
    }

    /// The environment's API keys.
    ///
    /// # Errors
    /// [`StoreError`].
    pub async fn api_keys(&self, tenant: Tenant, page: PageRequest) -> Result<Page<ApiKey>, StoreError> {
        self.repo.list_keys(tenant, page).await
    }

    /// Creates a key in the creating key's (org, environment); returns it with its secret.
    ///
    /// # Errors
    /// [`AdminError::InsufficientScope`] for a scope the creator lacks,
    /// [`AdminError::InvalidReviewer`] for an unknown or inactive `org_user_id`,
    /// [`AdminError::ReviewerMismatch`] for a bound key minting a key bound elsewhere.
    pub async fn create_api_key(&self, principal: &Principal, new: NewApiKey) -> Result<(ApiKey, String), AdminError> {
        if let Some(missing) = new.scopes.iter().find(|&scope| !principal.scopes.allows(scope)) {
            return Err(AdminError::InsufficientScope(missing));
        }
        let tenant = principal.tenant;
        let org_user_id = self.usable_user(tenant, new.org_user_id.clone()).await?;
        // A personal key cannot mint a key that escapes its binding (API.md §1).
        if let Some(bound) = &principal.user
            && org_user_id != Some(bound.id)
            && !principal.scopes.allows(Scope::CasesAdmin)
        {
            return Err(AdminError::ReviewerMismatch);
        }
        self.issue_key(tenant, new, org_user_id).await
    }

    /// Creates a key for the operator (`casework admin create-key`): any scopes, in any
    /// organization that exists.
    ///
    /// # Errors
    /// [`AdminError::NotFound`] for an unknown organization, [`AdminError::InvalidReviewer`].
    pub async fn operator_api_key(&self, tenant: Tenant, new: NewApiKey) -> Result<(ApiKey, String), AdminError> {
        self.repo.find_organization(tenant.org_id).await?.ok_or(AdminError::NotFound("Organization"))?;
        let org_user_id = self.usable_user(tenant, new.org_user_id.clone()).await?;
        self.issue_key(tenant, new, org_user_id).await
    }

    /// An organization with its two all-scope keys (`casework admin bootstrap`), the sandbox
    /// key's secret first.
    ///
    /// # Errors
    /// [`AdminError::Invalid`] for a name that is not 1–255 characters.
    pub async fn bootstrap(&self, name: String) -> Result<(Organization, Vec<(ApiKey, String)>), AdminError> {
        if crate::validation::check_length(&name, 1, 255).is_err() {
            let mut errors = FieldErrors::default();
            errors.push("org_name", crate::validation::Violation::InvalidValue, "must be 1 to 255 characters");
            return Err(AdminError::Invalid(errors));
        }
        let now = self.clock.now();
        let org = Organization { id: self.ids.generate(), name, created_at: now };
        let keys: Vec<ApiKey> = [Environment::Sandbox, Environment::Live]
            .into_iter()
            .map(|environment| ApiKey {
                id: self.ids.generate(),
                tenant: Tenant { org_id: org.id, environment },
                name: format!("{environment} bootstrap key"),
                scopes: Scopes::all(),
                org_user_id: None,
                expires_at: None,
                last_used_at: None,
                created_at: now,
                revoked_at: None,
            })
            .collect();
        let secrets = self.repo.insert_organization(&org, &keys).await?;
        Ok((org, keys.into_iter().zip(secrets).collect()))
    }

    /// `org_user_id` when it names an active user of the tenant's organization.
    async fn usable_user(
        &self,
        tenant: Tenant,
        org_user_id: Option<Result<OrgUserId, IdError>>,
    ) -> Result<Option<OrgUserId>, AdminError> {
        match org_user_id {
            None => Ok(None),
            Some(Err(_)) => Err(AdminError::InvalidReviewer),
            Some(Ok(id)) => match self.repo.find_org_user(tenant, id).await? {
                Some(user) if user.active => Ok(Some(id)),
                _ => Err(AdminError::InvalidReviewer),
            },
        }
    }

    async fn issue_key(
        &self,
        tenant: Tenant,
        new: NewApiKey,
        org_user_id: Option<OrgUserId>,
    ) -> Result<(ApiKey, String), AdminError> {
        if new.expires_at.is_some_and(|at| at <= self.clock.now()) {
            let mut errors = FieldErrors::default();
            errors.push("expires_at", crate::validation::Violation::InvalidValue, "must be in the future");
            return Err(AdminError::Invalid(errors));
        }
        let key = ApiKey {
            id: self.ids.generate(),
            tenant,
            name: new.name,
            scopes: new.scopes,
            org_user_id,
            expires_at: new.expires_at,
            last_used_at: None,
            created_at: self.clock.now(),
            revoked_at: None,
        };
        let secret = self.repo.issue_key(&key).await?;
        Ok((key, secret))
    }

    /// Revokes a key of the environment (of any, for `None`: the operator).
    ///
    /// # Errors
    /// [`AdminError::NotFound`].
    pub async fn revoke_api_key(&self, tenant: Option<Tenant>, id: ApiKeyId) -> Result<ApiKey, AdminError> {
        self.repo.revoke_key(tenant, id, self.clock.now()).await?.ok_or(AdminError::NotFound("API key"))
    }
}
