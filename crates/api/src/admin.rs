//! Administration (API.md §6): environment settings, org users and API keys.

use casework_domain::console::{SignInAttempt as DomainAttempt, SignInOutcome};
use casework_domain::directory::{ApiKey as DomainKey, OrgUser as DomainUser, Role};
use casework_domain::tenant::{Environment, Settings as DomainSettings};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::wire::{Spelling, Time};

/// An environment's settings, as one flat object.
#[derive(Debug, Serialize, ToSchema)]
pub struct Settings {
    /// A first approve/reject only recommends; a different reviewer decides.
    pub dual_review: bool,
    /// The claim lease, in seconds (60 – 86 400).
    pub claim_ttl_seconds: u32,
    /// Demo cases per sandbox environment (0 – 100).
    pub demo_case_limit: u32,
    /// The `extracted_data` keys the API returns (null: all).
    #[schema(required = true)]
    pub api_pii_fields: Option<Vec<String>>,
    /// Days a terminal session keeps its PII (null: kept).
    #[schema(required = true)]
    pub sensitive_data_retention_days: Option<u32>,
    /// Per API key (1 – 100 000).
    pub rate_limit_per_minute: u32,
}

impl From<&DomainSettings> for Settings {
    fn from(settings: &DomainSettings) -> Self {
        Self {
            dual_review: settings.dual_review,
            claim_ttl_seconds: settings.claim_ttl_seconds,
            demo_case_limit: settings.demo_case_limit,
            api_pii_fields: settings.api_pii_fields.clone(),
            sensitive_data_retention_days: settings.sensitive_data_retention_days,
            rate_limit_per_minute: settings.rate_limit_per_minute,
        }
    }
}

/// An org user (a reviewer).
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgUser {
    /// Public id, `orguser_…`.
    pub id: String,
    /// The user's UUID.
    pub uuid: Uuid,
    /// Display name.
    pub name: String,
    /// Unique per organization, case-insensitive.
    pub email: String,
    /// Informational: permissions come from scopes.
    #[schema(schema_with = crate::wire::spelling::<Role>)]
    pub role: Spelling<Role>,
    /// An inactive user is no reviewer and their keys authenticate as nothing.
    pub active: bool,
    /// Creation time.
    pub created_at: Time,
}

impl From<&DomainUser> for OrgUser {
    fn from(user: &DomainUser) -> Self {
        Self {
            id: user.id.public(),
            uuid: user.id.uuid(),
            name: user.name.clone(),
            email: user.email.clone(),
            role: user.role.into(),
            active: user.active,
            created_at: user.created_at.into(),
        }
    }
}

/// An API key, never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKey {
    /// Public id, `key_…`.
    pub id: String,
    /// The key's UUID.
    pub uuid: Uuid,
    /// Display name.
    pub name: String,
    /// What it may do.
    pub scopes: Vec<String>,
    /// `live` or `sandbox`.
    #[schema(schema_with = crate::wire::spelling::<Environment>)]
    pub environment: Spelling<Environment>,
    /// The org user it acts as.
    #[schema(required = true)]
    pub org_user_id: Option<Uuid>,
    /// When it stops working.
    #[schema(required = true)]
    pub expires_at: Option<Time>,
    /// Written at most once a minute.
    #[schema(required = true)]
    pub last_used_at: Option<Time>,
    /// Creation time.
    pub created_at: Time,
    /// When it was revoked.
    #[schema(required = true)]
    pub revoked_at: Option<Time>,
}

impl From<&DomainKey> for ApiKey {
    fn from(key: &DomainKey) -> Self {
        Self {
            id: key.id.public(),
            uuid: key.id.uuid(),
            name: key.name.clone(),
            scopes: key.scopes.iter().map(|scope| scope.as_str().to_owned()).collect(),
            environment: key.tenant.environment.into(),
            org_user_id: key.org_user_id.map(|id| id.uuid()),
            expires_at: key.expires_at.map(Time),
            last_used_at: key.last_used_at.map(Time),
            created_at: key.created_at.into(),
            revoked_at: key.revoked_at.map(Time),
        }
    }
}

/// A new API key with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key's fields.
    #[serde(flatten)]
    pub api_key: ApiKey,
    /// The secret: `vk_live_…` or `vk_sandbox_…`.
    pub key: String,
}

/// `POST /org-users/{id}/invitation`: the one-time link where the user sets a password.
#[derive(Debug, Serialize, ToSchema)]
pub struct Invitation {
    /// Absolute; single-use.
    pub url: String,
    /// 72 hours after it was made.
    pub expires_at: Time,
}

/// One console sign-in attempt (`GET /sign-in-attempts`).
#[derive(Debug, Serialize, ToSchema)]
pub struct SignInAttempt {
    /// Its number.
    pub id: i64,
    /// The person's UUID, when the email named one.
    #[schema(required = true)]
    pub org_user_id: Option<Uuid>,
    /// The email given.
    pub email: String,
    /// The client's address.
    pub client: String,
    /// `succeeded`, `failed` or `locked`.
    #[schema(schema_with = crate::wire::spelling::<SignInOutcome>)]
    pub outcome: Spelling<SignInOutcome>,
    /// When.
    pub at: Time,
}

impl From<&DomainAttempt> for SignInAttempt {
    fn from(attempt: &DomainAttempt) -> Self {
        Self {
            id: attempt.id,
            org_user_id: attempt.org_user_id.map(|id| id.uuid()),
            email: attempt.email.clone(),
            client: attempt.client.clone(),
            outcome: attempt.outcome.into(),
            at: attempt.at.into(),
        }
    }
}
