//! The administration endpoints' bodies (API.md §6).

use casework_domain::Spelled;
use casework_domain::directory::{OrgUserPatch, Role, Scope, Scopes};
use casework_domain::service::admin::{NewApiKey, NewOrgUser};
use casework_domain::tenant::SettingsPatch;
use casework_domain::validation::{FieldErrors, Violation};
use serde::Deserialize;
use utoipa::ToSchema;
use validator::ValidateEmail;

use super::{Input, Rules, nullable};

const NOT_NULL: &str = "must not be null";

/// A setting whose null is refused.
fn not_null<T>(rules: &mut Rules, name: &str, value: Option<Option<T>>) -> Option<T> {
    if matches!(value, Some(None)) {
        rules.reject(name, Violation::InvalidType, NOT_NULL);
    }
    value.flatten()
}

/// `PATCH /organization/settings`: any subset; null sets `api_pii_fields` back to "all" and
/// `sensitive_data_retention_days` back to "keep", and is refused for the others.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsPatchRequest {
    /// A first decision only recommends; a different reviewer decides.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = bool)]
    pub dual_review: Option<Option<bool>>,
    /// The claim lease, in seconds.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = i64, minimum = 60, maximum = 86400)]
    pub claim_ttl_seconds: Option<Option<i64>>,
    /// Demo cases per sandbox environment.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = i64, minimum = 0, maximum = 100)]
    pub demo_case_limit: Option<Option<i64>>,
    /// The `extracted_data` keys the API returns; null: all.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<Vec<String>>)]
    pub api_pii_fields: Option<Option<Vec<String>>>,
    /// Days a terminal session keeps its PII; null: kept.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 3650)]
    pub sensitive_data_retention_days: Option<Option<i64>>,
    /// Per API key.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = i64, minimum = 1, maximum = 100000)]
    pub rate_limit_per_minute: Option<Option<i64>>,
}

impl Input for SettingsPatchRequest {
    type Domain = SettingsPatch;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let patch = SettingsPatch {
            dual_review: not_null(&mut rules, "dual_review", self.dual_review),
            claim_ttl_seconds: not_null(&mut rules, "claim_ttl_seconds", self.claim_ttl_seconds),
            demo_case_limit: not_null(&mut rules, "demo_case_limit", self.demo_case_limit),
            api_pii_fields: self.api_pii_fields,
            sensitive_data_retention_days: self.sensitive_data_retention_days,
            rate_limit_per_minute: not_null(&mut rules, "rate_limit_per_minute", self.rate_limit_per_minute),
        };
        rules.finish(patch)
    }
}

/// `POST /org-users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrgUserRequest {
    /// Display name.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 255)]
    pub name: Option<String>,
    /// Unique per organization, case-insensitive.
    #[schema(required = true, value_type = String, format = Email, min_length = 3, max_length = 320)]
    pub email: Option<String>,
    /// Default `reviewer`.
    #[schema(schema_with = crate::wire::optional_spelling::<Role>)]
    pub role: Option<String>,
}

fn role(rules: &mut Rules, value: Option<String>) -> Option<Role> {
    let names: Vec<&str> = Role::VALUES.iter().map(|role| role.as_str()).collect();
    rules.spelling::<Role>("role", value, &names)
}

impl Input for NewOrgUserRequest {
    type Domain = NewOrgUser;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let name = rules.required("name", self.name);
        let name = rules.text("name", name, 1, 255);
        let email = rules.required("email", self.email);
        let email = rules.text("email", email, 3, 320);
        if email.as_ref().is_some_and(|e| !e.validate_email()) {
            rules.reject("email", Violation::InvalidValue, "must be an email address");
        }
        let role = role(&mut rules, self.role).unwrap_or(Role::Reviewer);
        match (name, email) {
            (Some(name), Some(email)) => rules.finish(NewOrgUser { name, email, role }),
            _ => Err(rules.into_errors()),
        }
    }
}

/// `PATCH /org-users/{id}`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgUserPatchRequest {
    /// Display name.
    #[schema(min_length = 1, max_length = 255)]
    pub name: Option<String>,
    /// The role.
    #[schema(schema_with = crate::wire::optional_spelling::<Role>)]
    pub role: Option<String>,
    /// Activate, or deactivate (their personal keys stop working).
    pub active: Option<bool>,
}

impl Input for OrgUserPatchRequest {
    type Domain = OrgUserPatch;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let name = rules.text("name", self.name, 1, 255);
        let role = role(&mut rules, self.role);
        rules.finish(OrgUserPatch { name, role, active: self.active })
    }
}

/// `POST /api-keys`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKeyRequest {
    /// Display name.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 255)]
    pub name: Option<String>,
    /// Each held by the creating key.
    #[schema(required = true, value_type = Vec<String>)]
    pub scopes: Option<Vec<String>>,
    /// The org user the key acts as.
    pub org_user_id: Option<String>,
    /// When it stops working (in the future).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<String>,
}

impl Input for NewApiKeyRequest {
    type Domain = NewApiKey;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let name = rules.required("name", self.name);
        let name = rules.text("name", name, 1, 255);
        let mut scopes = Vec::new();
        for (index, text) in rules.required("scopes", self.scopes).unwrap_or_default().iter().enumerate() {
            match text.parse::<Scope>() {
                Ok(scope) => scopes.push(scope),
                Err(_) => rules.reject(&format!("scopes[{index}]"), Violation::InvalidValue, "is not a scope"),
            }
        }
        let org_user_id = rules.user("org_user_id", self.org_user_id);
        let expires_at = rules.time("expires_at", self.expires_at);
        match name {
            Some(name) => rules.finish(NewApiKey {
                name,
                scopes: scopes.into_iter().collect::<Scopes>(),
                org_user_id,
                expires_at,
            }),
            None => Err(rules.into_errors()),
        }
    }
}
