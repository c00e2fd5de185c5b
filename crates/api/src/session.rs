//! The session object (API.md §1, Session), its checks and their summary. `extracted_data` is
//! PII: present only for readers allowed to see it, filtered by the environment's allow-list.

use casework_domain::case::RejectionReasonCode;
use casework_domain::session::{
    Check as DomainCheck, CheckStatus, ChecksSummary as DomainSummary, Outcome, Session as DomainSession,
    SessionStatus, SessionVerdict,
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

/// `{status, score}` of one policy in a result: the override's verdict when it has one.
#[derive(Debug, Serialize, ToSchema)]
pub struct CheckResult {
    /// The check's status (`passed` / `failed` when overridden).
    #[schema(schema_with = crate::wire::spelling::<CheckStatus>)]
    pub status: Spelling<CheckStatus>,
    /// The score, if the check produces one.
    #[schema(required = true)]
    pub score: Option<f64>,
}

/// `GET /sessions/{id}/result`: the session's outcome (API.md §1, Sandbox sessions).
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionResult {
    /// The session's UUID.
    pub session_id: Uuid,
    /// `approved`, `declined` or `needs_review`.
    #[schema(schema_with = crate::wire::spelling::<SessionVerdict>)]
    pub status: Spelling<SessionVerdict>,
    /// From the key's environment.
    pub is_sandbox: bool,
    /// The session's creation time.
    pub created_at: Time,
    /// When it was decided (null while it needs review).
    #[schema(required = true)]
    pub decided_at: Option<Time>,
    /// By policy (the latest check of each).
    #[schema(value_type = std::collections::BTreeMap<String, CheckResult>)]
    pub check_results: std::collections::BTreeMap<String, CheckResult>,
    /// Why it was declined.
    #[schema(required = true)]
    pub rejection_reason: Option<String>,
    /// The code of the reason.
    #[schema(required = true, schema_with = crate::wire::optional_spelling::<RejectionReasonCode>)]
    pub rejection_reason_code: Option<Spelling<RejectionReasonCode>>,
    /// The PII was wiped by retention.
    pub sensitive_data_expired: bool,
    /// PII: only with `verifications:read`, filtered by `api_pii_fields`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extracted_data: Option<DataMap>,
}

impl SessionResult {
    /// The result of `session`, if it has one, as a reader with `pii` access sees it.
    pub fn new(session: &DomainSession, pii: PiiAccess<'_>) -> Option<Self> {
        let result = session.result.as_ref()?;
        let check_results = session
            .checks
            .iter()
            .map(|check| {
                let status = match &check.override_ {
                    Some(o) if o.passed => CheckStatus::Passed,
                    Some(_) => CheckStatus::Failed,
                    None => check.status,
                };
                (check.policy.clone(), CheckResult { status: status.into(), score: check.score })
            })
            .collect();
        Some(Self {
            session_id: session.id.uuid(),
            status: result.verdict.into(),
            is_sandbox: session.tenant.environment == Environment::Sandbox,
            created_at: session.created_at.into(),
            decided_at: result.decided_at.map(Time),
            check_results,
            rejection_reason: result.rejection_reason.clone(),
            rejection_reason_code: result.rejection_reason_code.map(Spelling),
            sensitive_data_expired: session.sensitive_data_expired,
            extracted_data: pii.map(|allowed| session.extracted_data.filtered(allowed).into()),
        })
    }
}

/// `POST /sessions/{id}/generate-one-time-link`: the sandbox capture page.
#[derive(Debug, Serialize, ToSchema)]
pub struct OneTimeLink {
    /// Absolute URL of the capture page (`server.public_url`, else the request's host).
    pub capture_url: String,
    /// `data:image/png;base64,…`: a QR code of `capture_url`.
    pub qr_code_data_url: String,
    /// When the link stops working.
    pub expires_at: Time,
}
