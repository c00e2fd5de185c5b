//! Verification sessions: the evidence a case is reviewed on (checks and extracted PII).

use std::collections::BTreeMap;
use std::str::FromStr;

use serde_json::{Map, Value};

use crate::Timestamp;
use crate::data::DataMap;
use crate::id::{CaseId, SessionId};
use crate::tenant::{Tenant, UnknownValue};
use crate::validation::{FieldErrors, Violation, check_length};

mod countries;
pub mod sandbox;

pub use sandbox::{SessionEventType, SessionNotice, SessionResult, SessionVerdict, SimulateAction};

/// At most this many checks per session.
pub const MAX_CHECKS: usize = 50;

string_enum! {
    /// Where a session is in its life.
    SessionStatus {
        /// Created, nothing captured yet.
        Pending = "pending",
        /// The user is capturing documents.
        Capturing = "capturing",
        /// Automated checks are running.
        Processing = "processing",
        /// Finished without review.
        Completed = "completed",
        /// Abandoned.
        Expired = "expired",
        /// Failed technically.
        Failed = "failed",
        /// Waiting for a third party.
        AwaitingExternal = "awaiting_external",
        /// A case is open for it.
        UnderReview = "under_review",
        /// Approved by a final case decision.
        Approved = "approved",
        /// Declined by a final case decision.
        Declined = "declined",
    }
}

impl SessionStatus {
    /// Statuses a session may be ingested with (`approved`/`declined` come only from decisions).
    pub fn is_ingestible(self) -> bool {
        !matches!(self, Self::Approved | Self::Declined)
    }

    /// Whether a case may be opened for a session in this status.
    pub fn is_reviewable(self) -> bool {
        !matches!(self, Self::Expired | Self::Approved | Self::Declined)
    }

    /// Statuses from which retention timing starts.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Expired | Self::Failed | Self::Approved | Self::Declined)
    }
}

string_enum! {
    /// The automated result of one check.
    CheckStatus {
        /// Not run yet.
        Pending = "pending",
        /// Passed.
        Passed = "passed",
        /// Failed.
        Failed = "failed",
        /// Could not run.
        Error = "error",
        /// Not applicable.
        Skipped = "skipped",
        /// Must be run again.
        RequiresRetry = "requires_retry",
    }
}

/// A reviewer's override of a check; the original result is kept beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOverride {
    /// The overridden result.
    pub passed: bool,
    /// Why.
    pub reason: Option<String>,
    /// Who, when a reviewer acted.
    pub reviewer_id: Option<crate::id::OrgUserId>,
    /// When.
    pub at: Timestamp,
}

/// One automated check of a session.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// `[a-z0-9_]{1,64}`, e.g. `face_match`.
    pub policy: String,
    /// The automated result.
    pub status: CheckStatus,
    /// The score, if the check produces one.
    pub score: Option<f64>,
    /// Free details (a data map: keys are kept as sent).
    pub details: Map<String, Value>,
    /// A reviewer's override, if any.
    pub override_: Option<CheckOverride>,
}

/// Whether `policy` is 1–64 characters of `[a-z0-9_]`.
pub fn is_valid_policy(policy: &str) -> bool {
    (1..=64).contains(&policy.len())
        && policy.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `{total, passed, failed, overridden, pending, outcome}` of a session's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
    pub outcome: Outcome,
}

/// The overall outcome of a session's checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    /// Nothing failed or pending.
    #[default]
    Passed,
    /// Something is pending.
    Pending,
    /// Something failed.
    Failed,
}

crate::spelled!(Outcome: Passed, Pending, Failed);

impl Outcome {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Pending => "pending",
            Self::Failed => "failed",
        }
    }
}

impl FromStr for Outcome {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "passed" => Ok(Self::Passed),
            "pending" => Ok(Self::Pending),
            "failed" => Ok(Self::Failed),
            _ => Err(UnknownValue),
        }
    }
}

impl ChecksSummary {
    /// Summarizes checks by their effective result (the override when there is one).
    pub fn of(checks: &[Check]) -> Self {
        let mut summary = Self::default();
        for check in checks {
            summary.total += 1;
            if let Some(override_) = &check.override_ {
                summary.overridden += 1;
                if override_.passed {
                    summary.passed += 1;
                } else {
                    summary.failed += 1;
                }
                continue;
            }
            match check.status {
                CheckStatus::Passed => summary.passed += 1,
                CheckStatus::Failed | CheckStatus::Error => summary.failed += 1,
                CheckStatus::Pending | CheckStatus::RequiresRetry => summary.pending += 1,
                CheckStatus::Skipped => {}
            }
        }
        summary.outcome = if summary.failed > 0 {
            Outcome::Failed
        } else if summary.pending > 0 {
            Outcome::Pending
        } else {
            Outcome::Passed
        };
        summary
    }
}

/// The PII extracted from a session's documents, validated key by key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExtractedData(BTreeMap<String, Value>);

const TEXT_KEYS: &[&str] = &["first_name", "last_name", "document_number", "gender", "ssn", "document_issuing_state"];
const DATE_KEYS: &[&str] = &["date_of_birth", "document_expiration_date"];
const ADDRESS_KEYS: &[&str] = &["line1", "line2", "city", "state", "zip", "country"];
const DOCUMENT_TYPES: &[&str] = &["passport", "drivers_license", "national_id", "residence_permit"];

impl ExtractedData {
    /// Validates every key of `object`; `path` is the JSON path of the object for error fields.
    ///
    /// # Errors
    /// Every violation found, each at its own path.
    pub fn parse(object: &Map<String, Value>, path: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        for (key, value) in object {
            validate_entry(key, value, &format!("{path}.{key}"), &mut errors);
        }
        errors.into_result(Self(object.iter().map(|(k, v)| (k.clone(), v.clone())).collect()))
    }

    /// Whether `key` is one of the accepted top-level keys.
    pub fn is_known_key(key: &str) -> bool {
        TEXT_KEYS.contains(&key)
            || DATE_KEYS.contains(&key)
            || ["nationality", "document_type", "address"].contains(&key)
    }

    /// The values by key.
    pub fn as_map(&self) -> &BTreeMap<String, Value> {
        &self.0
    }

    /// Whether no key is set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The whole map as a JSON object.
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    /// Only the keys in `allowed` (`None`: all), for the environment's `api_pii_fields`.
    pub fn filtered(&self, allowed: Option<&[String]>) -> Value {
        match allowed {
            None => self.to_value(),
            Some(keys) => Value::Object(
                self.0
                    .iter()
                    .filter(|(k, _)| keys.iter().any(|a| a == *k))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ),
        }
    }

    /// Document number normalized for the blocklist (upper-cased, no spaces or hyphens).
    pub fn normalized_document_number(&self) -> Option<String> {
        let number = self.0.get("document_number")?.as_str()?;
        let normalized: String =
            number.chars().filter(|c| !c.is_whitespace() && *c != '-').flat_map(char::to_uppercase).collect();
        (!normalized.is_empty()).then_some(normalized)
    }
}

fn validate_entry(key: &str, value: &Value, path: &str, errors: &mut FieldErrors) {
    let key = key.to_owned();
    if TEXT_KEYS.contains(&key.as_str()) {
        validate_text(value, path, errors);
    } else if DATE_KEYS.contains(&key.as_str()) {
        validate_with(value, path, errors, is_date, "must be a valid date, YYYY-MM-DD");
    } else if key == "nationality" {
        validate_with(value, path, errors, countries::is_alpha2, "must be an uppercase ISO 3166-1 alpha-2 code");
    } else if key == "document_type" {
        validate_with(
            value,
            path,
            errors,
            |v| DOCUMENT_TYPES.contains(&v),
            "must be one of passport, drivers_license, national_id, residence_permit",
        );
    } else if key == "address" {
        let Some(address) = value.as_object() else {
            errors.push(path, Violation::InvalidType, "must be an object");
            return;
        };
        for (part, part_value) in address {
            let part_path = format!("{path}.{part}");
            match part.as_str() {
                "country" => validate_with(
                    part_value,
                    &part_path,
                    errors,
                    countries::is_alpha2,
                    "must be an uppercase ISO 3166-1 alpha-2 code",
                ),
                p if ADDRESS_KEYS.contains(&p) => validate_text(part_value, &part_path, errors),
                _ => errors.push(part_path, Violation::UnknownField, "is not an address field"),
            }
        }
    } else {
        errors.push(path, Violation::UnknownField, "is not an extracted_data field");
    }
}

fn validate_text(value: &Value, path: &str, errors: &mut FieldErrors) {
    match value.as_str() {
        None => errors.push(path, Violation::InvalidType, "must be a string"),
        Some(text) => {
            if let Err(violation) = check_length(text, 1, 255) {
                errors.push(path, violation, "must be 1 to 255 characters");
            }
        }
    }
}

fn validate_with(value: &Value, path: &str, errors: &mut FieldErrors, valid: impl Fn(&str) -> bool, message: &str) {
    match value.as_str() {
        None => errors.push(path, Violation::InvalidType, "must be a string"),
        Some(text) if !valid(text) => errors.push(path, Violation::InvalidValue, message),
        Some(_) => {}
    }
}

/// Whether `text` is a real calendar date written `YYYY-MM-DD`.
pub fn is_date(text: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    text.len() == 10 && time::Date::parse(text, format).is_ok()
}

/// One verification session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// Its (org, environment).
    pub tenant: Tenant,
    /// The client's reference, ≤ 255 characters.
    pub external_ref: Option<String>,
    /// Client data.
    pub metadata: DataMap,
    /// Where it is in its life.
    pub status: SessionStatus,
    /// Checks, in ingestion order.
    pub checks: Vec<Check>,
    /// Summary of `checks`, computed at ingestion and after overrides.
    pub checks_summary: ChecksSummary,
    /// The PII (decrypted; encrypted at rest by the adapter).
    pub extracted_data: ExtractedData,
    /// The PII was wiped by retention.
    pub sensitive_data_expired: bool,
    /// Its case, if one was opened.
    pub case_id: Option<CaseId>,
    /// Its outcome (`GET /sessions/{id}/result`), once it has one.
    pub result: Option<SessionResult>,
    /// When the status last changed (retention is timed from it).
    pub status_changed_at: Timestamp,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check(status: CheckStatus, override_passed: Option<bool>) -> Check {
        Check {
            policy: "face_match".into(),
            status,
            score: None,
            details: Map::new(),
            override_: override_passed.map(|passed| CheckOverride {
                passed,
                reason: None,
                reviewer_id: None,
                at: time::OffsetDateTime::UNIX_EPOCH,
            }),
        }
    }

    #[test]
    fn summary_counts_effective_results() {
        let checks = [
            check(CheckStatus::Passed, None),
            check(CheckStatus::Error, None),
            check(CheckStatus::Skipped, None),
            check(CheckStatus::RequiresRetry, None),
            check(CheckStatus::Failed, Some(true)),
        ];
        let summary = ChecksSummary::of(&checks);
        assert_eq!(
            summary,
            ChecksSummary { total: 5, passed: 2, failed: 1, overridden: 1, pending: 1, outcome: Outcome::Failed }
        );
    }

    #[test]
    fn summary_outcome_is_pending_then_passed() {
        assert_eq!(ChecksSummary::of(&[check(CheckStatus::Pending, None)]).outcome, Outcome::Pending);
        assert_eq!(ChecksSummary::of(&[check(CheckStatus::Failed, Some(true))]).outcome, Outcome::Passed);
        assert_eq!(ChecksSummary::of(&[]).outcome, Outcome::Passed);
    }

    #[test]
    fn extracted_data_accepts_the_documented_keys() {
        let data = json!({"first_name": "Ada", "date_of_birth": "1990-02-28", "nationality": "DE",
            "address": {"line1": "1 Main St", "country": "FR"}, "document_type": "passport"});
        let parsed = ExtractedData::parse(data.as_object().unwrap_or(&Map::new()), "extracted_data");
        assert!(parsed.is_ok(), "{parsed:?}");
    }

    #[test]
    fn extracted_data_names_each_bad_path() {
        let data = json!({"favourite_colour": "red", "date_of_birth": "1990-02-30", "nationality": "de",
            "address": {"country": "XX", "planet": "Mars"}, "first_name": ""});
        let errors =
            ExtractedData::parse(data.as_object().unwrap_or(&Map::new()), "extracted_data").err().unwrap_or_default();
        let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.violation.code())).collect();
        let mut found = found;
        found.sort_unstable();
        assert_eq!(
            found,
            vec![
                ("extracted_data.address.country", "invalid_value"),
                ("extracted_data.address.planet", "unknown_field"),
                ("extracted_data.date_of_birth", "invalid_value"),
                ("extracted_data.favourite_colour", "unknown_field"),
                ("extracted_data.first_name", "too_short"),
                ("extracted_data.nationality", "invalid_value"),
            ],
            "each bad path named once, whatever the order of the body"
        );
    }

    #[test]
    fn document_number_is_normalized() {
        let data = json!({"document_number": "ab-12 34"});
        let parsed = ExtractedData::parse(data.as_object().unwrap_or(&Map::new()), "x").unwrap_or_default();
        assert_eq!(parsed.normalized_document_number().as_deref(), Some("AB1234"));
    }
}
