//! The session object (API.md §1, Session), its checks and their summary. `extracted_data` is
//! PII: present only for readers allowed to see it, filtered by the environment's allow-list.

use casework_domain::session::{
    Check as DomainCheck, CheckStatus, ChecksSummary as DomainSummary, Outcome, Session as DomainSession, SessionStatus,
};
use casework_domain::tenant::Environment;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::wire::{DataMap, Spelling, Time};

/// Which PII a reader may see: `None` hides `extracted_data` entirely (no `verifications:read`);
/// `Some(None)` shows every key; `Some(Some(keys))` only those keys (`api_pii_fields`).
pub type PiiAccess<'a> = Option<Option<&'a [String]>>;

/// A verification session.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// Public id, `ses_…`.
    pub id: String,
    /// The session's UUID.
    pub uuid: Uuid,
    /// The integrator's reference.
    #[schema(required = true)]
    pub external_ref: Option<String>,
    /// Client key/values.
    pub metadata: DataMap,
    /// Where the verification stands.
    #[schema(schema_with = crate::wire::spelling::<SessionStatus>)]
    pub status: Spelling<SessionStatus>,
    /// From the key's environment.
    pub is_sandbox: bool,
    /// In ingestion order.
    pub checks: Vec<Check>,
    /// The checks' effective results.
    pub checks_summary: ChecksSummary,
    /// PII: only with `verifications:read`, filtered by `api_pii_fields`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted_data: Option<DataMap>,
    /// The PII was wiped by retention.
    pub sensitive_data_expired: bool,
    /// The UUID of its case.
    #[schema(required = true)]
    pub case_id: Option<Uuid>,
    /// Creation time.
    pub created_at: Time,
    /// Last change.
    pub updated_at: Time,
}

impl Session {
    /// The session as a reader with `pii` access sees it.
    pub fn new(session: &DomainSession, pii: PiiAccess<'_>) -> Self {
        Self {
            id: session.id.public(),
            uuid: session.id.uuid(),
            external_ref: session.external_ref.clone(),
            metadata: session.metadata.to_value().into(),
            status: session.status.into(),
            is_sandbox: session.tenant.environment == Environment::Sandbox,
            checks: session.checks.iter().map(Check::from).collect(),
            checks_summary: (&session.checks_summary).into(),
            extracted_data: pii.map(|allowed| session.extracted_data.filtered(allowed).into()),
            sensitive_data_expired: session.sensitive_data_expired,
            case_id: session.case_id.map(|id| id.uuid()),
            created_at: session.created_at.into(),
            updated_at: session.updated_at.into(),
        }
    }
}

/// One automated check, with a reviewer's override if any (the original result stays).
#[derive(Debug, Serialize, ToSchema)]
pub struct Check {
    /// `[a-z0-9_]{1,64}`.
    pub policy: String,
    /// The automated result.
    #[schema(schema_with = crate::wire::spelling::<CheckStatus>)]
    pub status: Spelling<CheckStatus>,
    /// The score, if the check produces one.
    #[schema(required = true)]
    pub score: Option<f64>,
    /// Free details.
    pub details: DataMap,
    /// A reviewer's override.
    #[serde(rename = "override")]
    #[schema(rename = "override")]
    #[schema(required = true)]
    pub override_: Option<CheckOverride>,
}

/// `{passed, reason, reviewer_id, at}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckOverride {
    /// The overridden result.
    pub passed: bool,
    /// Why.
    #[schema(required = true)]
    pub reason: Option<String>,
    /// Who, when a reviewer acted.
    #[schema(required = true)]
    pub reviewer_id: Option<Uuid>,
    /// When.
    pub at: Time,
}

impl From<&DomainCheck> for Check {
    fn from(check: &DomainCheck) -> Self {
        Self {
            policy: check.policy.clone(),
            status: check.status.into(),
            score: check.score,
            details: DataMap(check.details.clone()),
            override_: check.override_.as_ref().map(|o| CheckOverride {
                passed: o.passed,
                reason: o.reason.clone(),
                reviewer_id: o.reviewer_id.map(|id| id.uuid()),
                at: o.at.into(),
            }),
        }
    }
}

/// `{total, passed, failed, overridden, pending, outcome}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChecksSummary {
    /// Every check.
    pub total: u32,
    /// Effectively passed.
    pub passed: u32,
    /// Effectively failed.
    pub failed: u32,
    /// With an override.
    pub overridden: u32,
    /// Effectively pending.
    pub pending: u32,
    /// `failed` if any failed, else `pending` if any pending, else `passed`.
    #[schema(schema_with = crate::wire::spelling::<Outcome>)]
    pub outcome: Spelling<Outcome>,
}

impl From<&DomainSummary> for ChecksSummary {
    fn from(summary: &DomainSummary) -> Self {
        Self {
            total: summary.total,
            passed: summary.passed,
            failed: summary.failed,
            overridden: summary.overridden,
            pending: summary.pending,
            outcome: summary.outcome.into(),
        }
    }
}
