//! The list envelope (CONVENTIONS.md, Pagination) and the small result objects: tab counts, tag
//! counts, a PII correction's result, an accepted override.

use casework_domain::page::Page;
use casework_domain::ports::TabCounts;
use casework_domain::session::{Session as DomainSession, SessionStatus};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::wire::{DataMap, Spelling, Time};

/// `{data, pagination}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct List<T: ToSchema> {
    /// The page's items.
    pub data: Vec<T>,
    /// Where the page lies.
    pub pagination: Pagination,
}

impl<T: ToSchema> List<T> {
    /// The page, each item rendered by `render`.
    pub fn of<U>(page: &Page<U>, render: impl Fn(&U) -> T) -> Self {
        Self {
            data: page.items.iter().map(render).collect(),
            pagination: Pagination { total: page.total, limit: page.request.limit(), offset: page.request.offset() },
        }
    }
}

/// `{total, limit, offset}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Pagination {
    /// Rows matching, over all pages.
    pub total: u64,
    /// The limit used (clamped to 100).
    pub limit: u32,
    /// Rows skipped.
    pub offset: u64,
}

/// `GET /cases/counts`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Counts {
    /// `open`, no assignee, no live lease.
    pub unassigned: u64,
    /// Active cases assigned to the reviewer.
    pub mine: u64,
    /// Waiting for a second reviewer.
    pub pending_second_review: u64,
    /// Escalated.
    pub escalated: u64,
    /// Every case of the environment.
    pub all: u64,
}

impl From<&TabCounts> for Counts {
    fn from(counts: &TabCounts) -> Self {
        Self {
            unassigned: counts.unassigned,
            mine: counts.mine,
            pending_second_review: counts.pending_second_review,
            escalated: counts.escalated,
            all: counts.all,
        }
    }
}

/// `GET /cases/tags`.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagCounts {
    /// Sorted by tag.
    pub data: Vec<TagCount>,
}

/// A tag and how many cases carry it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TagCount {
    /// The tag.
    pub tag: String,
    /// Cases carrying it.
    pub count: u64,
}

/// `PUT /cases/{id}/result/pii`.
#[derive(Debug, Serialize, ToSchema)]
pub struct PiiResult {
    /// The session's UUID.
    pub session_id: Uuid,
    /// The session's status.
    #[schema(schema_with = crate::wire::spelling::<SessionStatus>)]
    pub status: Spelling<SessionStatus>,
    /// The corrected data, filtered by `api_pii_fields`.
    pub extracted_data: DataMap,
    /// When the session changed.
    pub updated_at: Time,
}

impl PiiResult {
    /// The result for `session`, showing the keys `allowed` (`None`: all).
    pub fn new(session: &DomainSession, allowed: Option<&[String]>) -> Self {
        Self {
            session_id: session.id.uuid(),
            status: session.status.into(),
            extracted_data: session.extracted_data.filtered(allowed).into(),
            updated_at: session.updated_at.into(),
        }
    }
}

/// `202` of a check override: the summary is recomputed asynchronously.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideAccepted {
    /// The case's UUID.
    pub case_id: Uuid,
    /// The overridden check's policy.
    pub policy: String,
    /// Always `accepted`.
    #[schema(pattern = "^accepted$")]
    pub status: &'static str,
}
