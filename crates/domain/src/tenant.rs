//! Tenancy: an organization has two environments, and every resource belongs to one of them.

use std::fmt;
use std::str::FromStr;

use crate::Timestamp;
use crate::id::OrgId;

/// One of the two environments of an organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Environment {
    /// Real traffic.
    Live,
    /// Testing; demo cases live here.
    Sandbox,
}

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

impl Settings {
    /// The claim lease length as a duration.
    pub fn claim_ttl(&self) -> time::Duration {
        time::Duration::seconds(i64::from(self.claim_ttl_seconds))
    }
}
