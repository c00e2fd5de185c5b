//! Pagination and the list queries of API.md §3 (what to list, not how: the adapter compiles it).

use crate::Timestamp;
use crate::case::{CaseStatus, Priority, SlaStatus, Tag};
use crate::id::{OrgUserId, SessionId};
use crate::session::SessionStatus;

/// The largest page; larger requests are clamped.
pub const MAX_LIMIT: u32 = 100;

/// Which slice of a listing to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    limit: u32,
    offset: u64,
}

impl PageRequest {
    /// A page of `limit` (clamped to 1..=100) rows starting at `offset`.
    pub fn new(limit: u32, offset: u64) -> Self {
        Self { limit: limit.clamp(1, MAX_LIMIT), offset }
    }

    /// Rows per page, as used.
    pub fn limit(self) -> u32 {
        self.limit
    }

    /// Rows skipped.
    pub fn offset(self) -> u64 {
        self.offset
    }
}

/// One page of a listing and the total it was cut from.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows.
    pub items: Vec<T>,
    /// Rows matching, over all pages.
    pub total: u64,
    /// The slice requested.
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// No rows at all.
    pub fn empty(request: PageRequest) -> Self {
        Self { items: Vec::new(), total: 0, request }
    }

    /// Converts every row.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page { items: self.items.into_iter().map(f).collect(), total: self.total, request: self.request }
    }
}

/// A queue tab (API.md §3), with lapsed leases read as released.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// `open`, no assignee, no live lease.
    Unassigned,
    /// Active cases assigned to the reviewer.
    Mine,
    /// Dual review, waiting for the second reviewer.
    PendingSecondReview,
    /// Escalated.
    Escalated,
    /// Every case.
    All,
}

impl Tab {
    /// Every tab.
    pub const ALL: [Self; 5] = [Self::Unassigned, Self::Mine, Self::PendingSecondReview, Self::Escalated, Self::All];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unassigned => "unassigned",
            Self::Mine => "mine",
            Self::PendingSecondReview => "pending_second_review",
            Self::Escalated => "escalated",
            Self::All => "all",
        }
    }
}

/// What a case listing is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseSortKey {
    /// Creation time.
    CreatedAt,
    /// SLA anchor (the default).
    EnteredReviewAt,
    /// Urgent first.
    Priority,
}

/// A sort key and its direction; ties are broken by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseSort {
    /// The key.
    pub key: CaseSortKey,
    /// `-key`: the key's order reversed.
    pub reversed: bool,
}

impl Default for CaseSort {
    fn default() -> Self {
        Self { key: CaseSortKey::EnteredReviewAt, reversed: false }
    }
}

/// `GET /cases`: OR within one filter, AND across filters; an empty list means "any".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseQuery {
    /// Effective statuses (a lapsed `in_review` matches `open`).
    pub statuses: Vec<CaseStatus>,
    /// A tab.
    pub tab: Option<Tab>,
    /// The reviewer whose `mine` tab is meant; `None`: `mine` is empty.
    pub reviewer: Option<OrgUserId>,
    /// Effective assignees.
    pub assigned_to: Vec<OrgUserId>,
    /// Priorities.
    pub priorities: Vec<Priority>,
    /// Cases carrying any of these tags.
    pub tags: Vec<Tag>,
    /// Any of these SLA statuses (at the time of the query).
    pub sla_statuses: Vec<SlaStatus>,
    /// Cases of these sessions.
    pub session_ids: Vec<SessionId>,
    /// Inclusive lower bound on `created_at`.
    pub created_after: Option<Timestamp>,
    /// Exclusive upper bound on `created_at`.
    pub created_before: Option<Timestamp>,
    /// Order.
    pub sort: CaseSort,
}

/// `GET /sessions`, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionQuery {
    /// Any of these statuses.
    pub statuses: Vec<SessionStatus>,
    /// Exactly this reference.
    pub external_ref: Option<String>,
}
