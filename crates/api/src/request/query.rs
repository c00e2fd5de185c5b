//! Query parameters of the listings, described for the document (`IntoParams`). Lists take
//! repeated parameters or comma lists (OR within one, AND across); the HTTP edge reads them by
//! these names, each bad value a 422 naming the parameter; unknown parameters are ignored.

use serde::Deserialize;
use utoipa::IntoParams;

/// `limit` and `offset` (CONVENTIONS.md, Pagination).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size: default 25, above 100 clamped to 100.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// `GET /sessions`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionsQuery {
    /// Session statuses (comma list or repeated).
    pub status: Option<String>,
    /// The integrator's reference, exactly.
    pub external_ref: Option<String>,
    /// Page size: default 50, above 100 clamped to 100.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// `GET /cases`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CasesQuery {
    /// Case statuses (comma list or repeated); a lapsed lease reads as `open`.
    pub status: Option<String>,
    /// `unassigned`, `mine`, `pending_second_review`, `escalated` or `all`.
    pub tab: Option<String>,
    /// Whose `mine` (default: the key's bound user); never refused.
    pub reviewer_id: Option<String>,
    /// Org user ids (comma list or repeated).
    pub assigned_to: Option<String>,
    /// `low`, `normal`, `high`, `urgent` (comma list or repeated).
    pub priority: Option<String>,
    /// Tags (comma list or repeated).
    pub tag: Option<String>,
    /// Session ids (comma list or repeated).
    pub session_id: Option<String>,
    /// Created at or after (RFC 3339).
    #[param(format = DateTime)]
    pub created_after: Option<String>,
    /// Created before (RFC 3339).
    #[param(format = DateTime)]
    pub created_before: Option<String>,
    /// `created_at`, `entered_review_at` (default) or `priority`, each reversible with `-`.
    pub sort: Option<String>,
    /// Page size: default 25, above 100 clamped to 100.
    #[param(minimum = 1)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// `GET /cases/counts`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CountsQuery {
    /// Whose `mine` (default: the key's bound user); never refused.
    pub reviewer_id: Option<String>,
}
