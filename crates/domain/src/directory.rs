//! Who acts: org users (reviewers), API keys with their scopes, and the authenticated principal.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use crate::Timestamp;
use crate::id::{ApiKeyId, OrgId, OrgUserId};
use crate::tenant::{Environment, Tenant, UnknownValue};

/// An org user's role; informational only, permissions come from API-key scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reviews cases.
    Reviewer,
    /// Receives escalations.
    SeniorReviewer,
    /// Administers the organization.
    Admin,
}

crate::spelled!(Role: Reviewer, SeniorReviewer, Admin);

impl Role {
    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reviewer => "reviewer",
            Self::SeniorReviewer => "senior_reviewer",
            Self::Admin => "admin",
        }
    }
}

impl FromStr for Role {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "reviewer" => Ok(Self::Reviewer),
            "senior_reviewer" => Ok(Self::SeniorReviewer),
            "admin" => Ok(Self::Admin),
            _ => Err(UnknownValue),
        }
    }
}

/// A person who reviews cases; belongs to the organization and acts in both environments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgUser {
    /// Its id.
    pub id: OrgUserId,
    /// Its organization.
    pub org_id: OrgId,
    /// Display name.
    pub name: String,
    /// Email, unique per organization (case-insensitive).
    pub email: String,
    /// Informational role.
    pub role: Role,
    /// Inactive users cannot be named as reviewers or assignees.
    pub active: bool,
    /// When the user was created.
    pub created_at: Timestamp,
}

/// A permission carried by an API key (`resource:action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    /// Read sessions.
    SessionsRead,
    /// Ingest sessions (alias `sessions:create`).
    SessionsWrite,
    /// Read PII (`extracted_data`).
    VerificationsRead,
    /// Read cases.
    CasesRead,
    /// Change cases (legacy keys: also decide).
    CasesWrite,
    /// Approve, reject and override checks.
    CasesDecide,
    /// Act for other reviewers and over their leases.
    CasesAdmin,
    /// Read org users.
    OrgUsersRead,
    /// Change org users.
    OrgUsersWrite,
    /// Read webhook endpoints.
    WebhooksRead,
    /// Change webhook endpoints.
    WebhooksWrite,
    /// Manage API keys.
    ApiKeysWrite,
    /// Read organization settings.
    OrgRead,
    /// Change organization settings.
    OrgWrite,
}

impl Scope {
    /// Every scope, in a stable order.
    pub const ALL: [Self; 14] = [
        Self::SessionsRead,
        Self::SessionsWrite,
        Self::VerificationsRead,
        Self::CasesRead,
        Self::CasesWrite,
        Self::CasesDecide,
        Self::CasesAdmin,
        Self::OrgUsersRead,
        Self::OrgUsersWrite,
        Self::WebhooksRead,
        Self::WebhooksWrite,
        Self::ApiKeysWrite,
        Self::OrgRead,
        Self::OrgWrite,
    ];

    /// The canonical spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SessionsRead => "sessions:read",
            Self::SessionsWrite => "sessions:write",
            Self::VerificationsRead => "verifications:read",
            Self::CasesRead => "cases:read",
            Self::CasesWrite => "cases:write",
            Self::CasesDecide => "cases:decide",
            Self::CasesAdmin => "cases:admin",
            Self::OrgUsersRead => "org_users:read",
            Self::OrgUsersWrite => "org_users:write",
            Self::WebhooksRead => "webhooks:read",
            Self::WebhooksWrite => "webhooks:write",
            Self::ApiKeysWrite => "api_keys:write",
            Self::OrgRead => "org:read",
            Self::OrgWrite => "org:write",
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Scope {
    type Err = UnknownValue;

    /// Accepts the canonical spellings and the alias `sessions:create`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "sessions:create" {
            return Ok(Self::SessionsWrite);
        }
        Self::ALL.into_iter().find(|scope| scope.as_str() == text).ok_or(UnknownValue)
    }
}

/// A set of scopes with the contract's implications (`cases:write` satisfies `cases:decide`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(BTreeSet<Scope>);

impl Scopes {
    /// Every scope: what `admin bootstrap` gives its keys.
    pub fn all() -> Self {
        Self(Scope::ALL.into_iter().collect())
    }

    /// Whether a request needing `scope` may proceed.
    pub fn allows(&self, scope: Scope) -> bool {
        self.0.contains(&scope) || (scope == Scope::CasesDecide && self.0.contains(&Scope::CasesWrite))
    }

    /// Whether every scope of `other` is allowed by this set.
    pub fn covers(&self, other: &Self) -> bool {
        other.0.iter().all(|&scope| self.allows(scope))
    }

    /// The scopes, canonical spellings, sorted.
    pub fn iter(&self) -> impl Iterator<Item = Scope> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Scope> for Scopes {
    fn from_iter<I: IntoIterator<Item = Scope>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// An API key as stored, without its secret (only its hash is ever kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Its id.
    pub id: ApiKeyId,
    /// The (org, environment) it is bound to.
    pub tenant: Tenant,
    /// Display name.
    pub name: String,
    /// What it may do.
    pub scopes: Scopes,
    /// The reviewer it acts as by default (a personal key), if any.
    pub org_user_id: Option<OrgUserId>,
    /// After this instant the key is refused.
    pub expires_at: Option<Timestamp>,
    /// Last authenticated use (written at most once a minute).
    pub last_used_at: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was revoked, if it was.
    pub revoked_at: Option<Timestamp>,
}

/// The org user a key is bound to, as far as a request needs to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRef {
    /// The user's id.
    pub id: OrgUserId,
    /// The user's name, recorded on events and notes.
    pub name: String,
}

/// An authenticated API key: what every request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The key's id.
    pub key_id: ApiKeyId,
    /// The key's name.
    pub key_name: String,
    /// The (org, environment) the key is bound to.
    pub tenant: Tenant,
    /// Its scopes.
    pub scopes: Scopes,
    /// The bound org user, when active.
    pub user: Option<UserRef>,
    /// The API version the key is pinned to (used when a request sends no `Verifa-Version`).
    pub pinned_version: String,
    /// The MCP client an agent calls through (`/mcp`): its actions are the agent's.
    pub agent: Option<String>,
}

impl Principal {
    /// The key's environment.
    pub fn environment(&self) -> Environment {
        self.tenant.environment
    }
}

/// Why an API key was refused. One variant on purpose: the response never says which check failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Missing, malformed, unknown, revoked or expired.
    #[error("invalid API key")]
    Unauthorized,
    /// The store could not be reached.
    #[error("authentication store unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// Anything else.
    #[error(transparent)]
    Unknown(anyhow::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_cases_write_satisfies_decide_but_not_admin() {
        let scopes: Scopes = [Scope::CasesWrite].into_iter().collect();
        assert!(scopes.allows(Scope::CasesDecide));
        assert!(!scopes.allows(Scope::CasesAdmin));
        let decide_only: Scopes = [Scope::CasesDecide].into_iter().collect();
        assert!(!decide_only.allows(Scope::CasesWrite));
    }

    #[test]
    fn sessions_create_is_an_alias() {
        assert_eq!("sessions:create".parse(), Ok(Scope::SessionsWrite));
        assert_eq!("sessions:write".parse(), Ok(Scope::SessionsWrite));
        assert!("cases:everything".parse::<Scope>().is_err());
    }

    #[test]
    fn every_scope_spelling_round_trips() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse(), Ok(scope));
        }
    }
}

/// `PATCH /org-users/{id}`: the fields to change, each `None` when left as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrgUserPatch {
    /// New name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// Activate or deactivate.
    pub active: Option<bool>,
}
