//! The session endpoints' bodies (API.md §1, Session): ingestion.

use casework_domain::data::DataMap;
use casework_domain::service::NewSession;
use casework_domain::session::{
    Check, CheckStatus, ExtractedData, MAX_CHECKS, SessionStatus, SimulateAction, is_valid_policy,
};
use casework_domain::validation::{FieldErrors, Violation};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{Input, Item, Rules};

/// The statuses a session may arrive in (`approved` / `declined` come only from a decision).
const INGESTIBLE: &[&str] =
    &["pending", "capturing", "processing", "completed", "expired", "failed", "awaiting_external", "under_review"];

/// `POST /sessions`: everything optional (Verifa's clients send `{}` or `{external_ref, metadata}`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewSessionRequest {
    /// The integrator's reference.
    #[schema(max_length = 255)]
    pub external_ref: Option<String>,
    /// Client key/values: at most 50 keys, 16 KiB as compact JSON.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    /// Default `pending`; `under_review` opens the session's case in the same transaction.
    #[schema(value_type = Option<String>, pattern = "^(pending|capturing|processing|completed|expired|failed|awaiting_external|under_review)$")]
    pub status: Option<String>,
    /// The automated checks, in order (at most 50).
    #[schema(value_type = Option<Vec<NewCheck>>, max_items = 50)]
    pub checks: Option<Vec<Item<NewCheck>>>,
    /// PII (encrypted at rest): only the documented keys.
    #[schema(value_type = Option<Object>)]
    pub extracted_data: Option<Map<String, Value>>,
}

/// One check at ingestion.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCheck {
    /// 1–64 characters of `[a-z0-9_]`.
    #[schema(required = true, value_type = String, pattern = "^[a-z0-9_]{1,64}$")]
    pub policy: Option<String>,
    /// The automated result.
    #[schema(required = true, value_type = String, schema_with = crate::wire::spelling::<CheckStatus>)]
    pub status: Option<String>,
    /// The score, if any.
    pub score: Option<f64>,
    /// Free details.
    #[schema(value_type = Option<Object>)]
    pub details: Option<Map<String, Value>>,
    /// Set by reviewers, never at ingestion.
    #[serde(rename = "override")]
    #[schema(rename = "override", value_type = Option<Object>)]
    pub override_: Option<Value>,
}

impl NewCheck {
    fn into_check(self, index: usize) -> Result<Check, FieldErrors> {
        let mut rules = Rules::at(&format!("checks[{index}]"));
        let policy = rules.required("policy", self.policy);
        let policy = rules.text("policy", policy, 1, 64);
        if policy.as_deref().is_some_and(|p| !is_valid_policy(p)) {
            rules.reject("policy", Violation::InvalidValue, "must be 1 to 64 characters of [a-z0-9_]");
        }
        let status = rules.required("status", self.status);
        let status = rules.spelling::<CheckStatus>("status", status, CheckStatus::NAMES);
        if self.override_.is_some() {
            rules.reject("override", Violation::InvalidValue, "is set by reviewers, not at ingestion");
        }
        match (policy, status) {
            (Some(policy), Some(status)) => rules.finish(Check {
                policy,
                status,
                score: self.score,
                details: self.details.unwrap_or_default(),
                override_: None,
            }),
            _ => Err(rules.into_errors()),
        }
    }
}

/// A client data map (`metadata`), with its limits.
pub fn data_map(rules: &mut Rules, name: &str, value: Option<Map<String, Value>>) -> Option<DataMap> {
    match DataMap::parse(value?) {
        Ok(map) => Some(map),
        Err(violation) => {
            rules.reject(name, violation, "must have at most 50 keys and 16 KiB as compact JSON");
            None
        }
    }
}

impl Input for NewSessionRequest {
    type Domain = NewSession;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let external_ref = rules.text("external_ref", self.external_ref, 0, 255);
        let metadata = data_map(&mut rules, "metadata", self.metadata).unwrap_or_default();
        let status = match self.status {
            None => SessionStatus::Pending,
            Some(text) => match text.parse::<SessionStatus>() {
                Ok(status) if status.is_ingestible() => status,
                Ok(_) => {
                    rules.reject(
                        "status",
                        Violation::InvalidValue,
                        "approved and declined are set only by a case decision",
                    );
                    SessionStatus::Pending
                }
                Err(_) => {
                    rules.reject(
                        "status",
                        Violation::InvalidValue,
                        format!("must be one of: {}", INGESTIBLE.join(", ")),
                    );
                    SessionStatus::Pending
                }
            },
        };
        let items = self.checks.unwrap_or_default();
        if items.len() > MAX_CHECKS {
            rules.reject("checks", Violation::TooMany, "at most 50 checks");
        }
        let mut checks = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            match item.at(&format!("checks[{index}]")).and_then(|check| check.into_check(index)) {
                Ok(check) => checks.push(check),
                Err(errors) => rules.extend(errors),
            }
        }
        let extracted_data = match self.extracted_data {
            None => ExtractedData::default(),
            Some(object) => ExtractedData::parse(&object, "extracted_data").unwrap_or_else(|errors| {
                rules.extend(errors);
                ExtractedData::default()
            }),
        };
        rules.finish(NewSession { external_ref, metadata, status, checks, extracted_data })
    }
}

/// `POST /sessions/{id}/simulate` (sandbox).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateRequest {
    /// The outcome to apply.
    #[schema(required = true, schema_with = crate::wire::spelling::<SimulateAction>)]
    pub action: Option<String>,
}

impl Input for SimulateRequest {
    type Domain = SimulateAction;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let action = rules.required("action", self.action);
        match rules.spelling::<SimulateAction>("action", action, SimulateAction::NAMES) {
            Some(action) => rules.finish(action),
            None => Err(rules.into_errors()),
        }
    }
}

/// `POST /sessions/{id}/generate-one-time-link` (sandbox): `{}` or no body for 30 minutes.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OneTimeLinkRequest {
    /// How long the link works, in minutes (1–10080, default 30).
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 10080)]
    pub expires_in_minutes: Option<serde_json::Number>,
}

impl Input for OneTimeLinkRequest {
    type Domain = i64;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let (default, max) = casework_domain::service::sandbox::LINK_MINUTES;
        let minutes = match self.expires_in_minutes {
            None => Some(default),
            Some(number) => number.as_i64().filter(|m| (1..=max).contains(m)),
        };
        match minutes {
            Some(minutes) => rules.finish(minutes),
            None => {
                rules.reject(
                    "expires_in_minutes",
                    Violation::OutOfRange,
                    format!("must be an integer from 1 to {max}"),
                );
                Err(rules.into_errors())
            }
        }
    }
}
