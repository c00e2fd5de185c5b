//! Tenancy: an organization has two environments, and every resource belongs to one of them.

use std::ops::RangeInclusive;

use std::fmt;
use std::str::FromStr;

use crate::Timestamp;
use crate::id::OrgId;
use crate::session::ExtractedData;
use crate::validation::{FieldErrors, Violation};

/// One of the two environments of an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Real traffic.
    Live,
    /// Testing; demo cases live here.
    Sandbox,
}

crate::spelled!(Environment: Live, Sandbox);

impl Environment {
    /// Both environments, live first.
    pub const ALL: [Self; 2] = [Self::Live, Self::Sandbox];

    /// The wire and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Sandbox => "sandbox",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Environment {
    type Err = UnknownValue;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "live" => Ok(Self::Live),
            "sandbox" => Ok(Self::Sandbox),
            _ => Err(UnknownValue),
        }
    }
}

/// A text that is not one of an enumeration's spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown value")]
pub struct UnknownValue;

/// The (organization, environment) pair every request and every row is scoped to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Tenant {
    /// The organization.
    pub org_id: OrgId,
    /// The environment within it.
    pub environment: Environment,
}

/// An organization (tenant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    /// Its id.
    pub id: OrgId,
    /// Display name; need not be unique.
    pub name: String,
    /// When it was created.
    pub created_at: Timestamp,
}

/// The settings of one environment (API.md §1), each with its documented default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A first decision only recommends; a different reviewer decides.
    pub dual_review: bool,
    /// Claim lease length, 60 – 86 400 seconds.
    pub claim_ttl_seconds: u32,
    /// Demo cases per sandbox environment, 0 – 100.
    pub demo_case_limit: u32,
    /// Allow-list of top-level `extracted_data` keys returned by the API; `None` returns all.
    pub api_pii_fields: Option<Vec<String>>,
    /// Days after which a terminal session's PII is wiped; `None` keeps it.
    pub sensitive_data_retention_days: Option<u32>,
    /// Requests per minute per API key, 1 – 100 000.
    pub rate_limit_per_minute: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            dual_review: false,
            claim_ttl_seconds: 1800,
            demo_case_limit: 3,
            api_pii_fields: None,
            sensitive_data_retention_days: None,
            rate_limit_per_minute: 1000,
        }
    }
}

/// `PATCH /organization/settings`: any subset; `Some(None)` clears a nullable setting.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SettingsPatch {
    /// See [`Settings::dual_review`].
    pub dual_review: Option<bool>,
    /// See [`Settings::claim_ttl_seconds`].
    pub claim_ttl_seconds: Option<i64>,
    /// See [`Settings::demo_case_limit`].
    pub demo_case_limit: Option<i64>,
    /// See [`Settings::api_pii_fields`].
    pub api_pii_fields: Option<Option<Vec<String>>>,
    /// See [`Settings::sensitive_data_retention_days`].
    pub sensitive_data_retention_days: Option<Option<i64>>,
    /// See [`Settings::rate_limit_per_minute`].
    pub rate_limit_per_minute: Option<i64>,
}

/// `claim_ttl_seconds`: 60 s to a day.
pub const CLAIM_TTL_SECONDS: RangeInclusive<i64> = 60..=86_400;
/// `demo_case_limit`.
pub const DEMO_CASE_LIMIT: RangeInclusive<i64> = 0..=100;
/// `rate_limit_per_minute` (and the configured default for new environments).
pub const RATE_LIMIT_PER_MINUTE: RangeInclusive<i64> = 1..=100_000;
/// `sensitive_data_retention_days`.
pub const RETENTION_DAYS: RangeInclusive<i64> = 1..=3650;

fn in_range(errors: &mut FieldErrors, field: &str, value: i64, range: RangeInclusive<i64>) -> u32 {
    let (min, max) = (*range.start(), *range.end());
    if range.contains(&value) {
        u32::try_from(value).unwrap_or(0)
    } else {
        errors.push(field, Violation::OutOfRange, format!("must be between {min} and {max}"));
        0
    }
}

impl From<&Settings> for SettingsPatch {
    /// A patch that sets every setting to `settings`.
    fn from(settings: &Settings) -> Self {
        Self {
            dual_review: Some(settings.dual_review),
            claim_ttl_seconds: Some(i64::from(settings.claim_ttl_seconds)),
            demo_case_limit: Some(i64::from(settings.demo_case_limit)),
            api_pii_fields: Some(settings.api_pii_fields.clone()),
            sensitive_data_retention_days: Some(settings.sensitive_data_retention_days.map(i64::from)),
            rate_limit_per_minute: Some(i64::from(settings.rate_limit_per_minute)),
        }
    }
}

impl SettingsPatch {
    /// The settings after this patch.
    ///
    /// # Errors
    /// Every value out of its range, and unknown `api_pii_fields` keys.
    pub fn apply(&self, current: &Settings) -> Result<Settings, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut next = current.clone();
        if let Some(flag) = self.dual_review {
            next.dual_review = flag;
        }
        if let Some(ttl) = self.claim_ttl_seconds {
            next.claim_ttl_seconds = in_range(&mut errors, "claim_ttl_seconds", ttl, CLAIM_TTL_SECONDS);
        }
        if let Some(limit) = self.demo_case_limit {
            next.demo_case_limit = in_range(&mut errors, "demo_case_limit", limit, DEMO_CASE_LIMIT);
        }
        if let Some(rate) = self.rate_limit_per_minute {
            next.rate_limit_per_minute = in_range(&mut errors, "rate_limit_per_minute", rate, RATE_LIMIT_PER_MINUTE);
        }
        if let Some(days) = self.sensitive_data_retention_days {
            next.sensitive_data_retention_days =
                days.map(|d| in_range(&mut errors, "sensitive_data_retention_days", d, RETENTION_DAYS));
        }
        if let Some(fields) = &self.api_pii_fields {
            for (index, key) in fields.iter().flatten().enumerate() {
                if !ExtractedData::is_known_key(key) {
                    errors.push(
                        format!("api_pii_fields[{index}]"),
                        Violation::InvalidValue,
                        "is not an extracted_data field",
                    );
                }
            }
            next.api_pii_fields.clone_from(fields);
        }
        errors.into_result(next)
    }
}

impl Settings {
    /// The claim lease length as a duration.
    pub fn claim_ttl(&self) -> time::Duration {
        time::Duration::seconds(i64::from(self.claim_ttl_seconds))
    }
}
