//! Corrections to the evidence under review: check overrides and extracted-data (PII) fixes.
//! Both follow the lease rule, work only on active cases, and bump the case's `version`.

use serde_json::{Map, Value, json};

use super::Case;
use super::event::{CaseEvent, EventType};
use super::lifecycle::{AlreadyClaimed, Caller, Transition};
use crate::session::{Check, CheckOverride, ExtractedData, Session};
use crate::validation::{FieldErrors, Violation};

/// Why a check override was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverrideError {
    /// 409 `case_already_decided`.
    #[error("the case is already decided")]
    AlreadyDecided,
    /// 409 `case_already_claimed`.
    #[error(transparent)]
    AlreadyClaimed(AlreadyClaimed),
    /// 404: the session has no check of that policy.
    #[error("no such check")]
    NoSuchCheck,
}

/// Why a PII correction was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PiiError {
    /// 409 `case_already_decided`.
    #[error("the case is already decided")]
    AlreadyDecided,
    /// 409 `case_already_claimed`.
    #[error(transparent)]
    AlreadyClaimed(AlreadyClaimed),
    /// 409 `sensitive_data_expired`: retention wiped the data.
    #[error("the sensitive data has expired")]
    SensitiveDataExpired,
    /// 422: unknown keys, bad formats, or an empty object.
    #[error("invalid extracted data: {0}")]
    Invalid(FieldErrors),
}

/// A reviewer's override of one check.
#[derive(Debug, Clone, PartialEq)]
pub struct OverrideInput {
    /// The check's policy (`face_match`).
    pub policy: String,
    /// The overridden result.
    pub passed: bool,
    /// Why.
    pub reason: Option<String>,
}

impl Case {
    /// Retention wiped the session's extracted data: the `redacted` event, by the system.
    pub fn redact(&self, now: crate::Timestamp) -> Transition {
        let mut case = self.clone();
        case.version += 1;
        case.updated_at = now;
        let event = CaseEvent::new(EventType::Redacted, crate::case::Actor::System, now)
            .with_field_names("extracted_data", vec!["*".to_owned()]);
        Transition { case, event }
    }

    /// Records an override on the latest check of `input.policy`; returns the transition and the
    /// session's checks with the override (the summary is recomputed later, asynchronously).
    ///
    /// # Errors
    /// See [`OverrideError`].
    pub fn override_check(
        &self,
        caller: &Caller,
        session: &Session,
        input: OverrideInput,
    ) -> Result<(Transition, Vec<Check>), OverrideError> {
        let now = caller.now;
        let current = self.as_of(now);
        // The check is a path resource: its 404 answers before any 409.
        let index = session.checks.iter().rposition(|c| c.policy == input.policy).ok_or(OverrideError::NoSuchCheck)?;
        if current.is_final() {
            return Err(OverrideError::AlreadyDecided);
        }
        current.lease_rule(caller.reviewer, now).map_err(OverrideError::AlreadyClaimed)?;
        let mut checks = session.checks.clone();
        let before = checks[index].override_.as_ref().map(|o| o.passed);
        checks[index].override_ = Some(CheckOverride {
            passed: input.passed,
            reason: input.reason.clone(),
            reviewer_id: caller.reviewer,
            at: now,
        });
        let event = CaseEvent::new(EventType::CheckOverridden, caller.actor.clone(), now)
            .with_change(&format!("checks.{}.override", input.policy), json!(before), json!({"passed": input.passed}))
            .with_reason(input.reason);
        let mut case = current;
        case.version += 1;
        case.updated_at = now;
        Ok((Transition { case, event }, checks))
    }

    /// Replaces the given extracted-data keys (null removes one; `address` is replaced whole);
    /// the event names the fields, never their values.
    ///
    /// # Errors
    /// See [`PiiError`].
    pub fn update_pii(
        &self,
        caller: &Caller,
        session: &Session,
        patch: &Map<String, Value>,
    ) -> Result<(Transition, ExtractedData), PiiError> {
        let now = caller.now;
        let current = self.as_of(now);
        if patch.is_empty() {
            let mut errors = FieldErrors::default();
            errors.push("extracted_data", Violation::TooShort, "must set or remove at least one field");
            return Err(PiiError::Invalid(errors));
        }
        let mut merged: Map<String, Value> = session.extracted_data.to_value().as_object().cloned().unwrap_or_default();
        for (key, value) in patch {
            if value.is_null() {
                merged.remove(key);
            } else {
                merged.insert(key.clone(), value.clone());
            }
        }
        // What is set is validated as values; what is removed must at least be a known key.
        let set: Map<String, Value> =
            patch.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut errors = ExtractedData::parse(&set, "extracted_data").err().unwrap_or_default();
        for key in patch.iter().filter(|(_, v)| v.is_null()).map(|(k, _)| k) {
            if !ExtractedData::is_known_key(key) {
                errors.push(format!("extracted_data.{key}"), Violation::UnknownField, "is not an extracted_data field");
            }
        }
        if !errors.is_empty() {
            return Err(PiiError::Invalid(errors));
        }
        if current.is_final() {
            return Err(PiiError::AlreadyDecided);
        }
        current.lease_rule(caller.reviewer, now).map_err(PiiError::AlreadyClaimed)?;
        if session.sensitive_data_expired {
            return Err(PiiError::SensitiveDataExpired);
        }
        let data = ExtractedData::parse(&merged, "extracted_data").map_err(PiiError::Invalid)?;
        let event = CaseEvent::new(EventType::PiiUpdated, caller.actor.clone(), now)
            .with_field_names("extracted_data", patch.keys().cloned().collect());
        let mut case = current;
        case.version += 1;
        case.updated_at = now;
        Ok((Transition { case, event }, data))
    }
}
