//! `POST /cases/search` (API.md §4): the body, and the filter language described for the
//! document (the domain parses a filter, every error at its JSON path).

use casework_domain::page::PageRequest;
use casework_domain::search::{Search, SortField, SortKey, parse_filter};
use casework_domain::validation::{FieldErrors, Violation};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{Input, Item, Rules};

/// The search body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    /// The filter: conditions combined with `and`, `or`, `not` (depth ≤ 5, ≤ 50 conditions).
    #[schema(value_type = Option<Filter>)]
    pub filter: Option<Value>,
    /// Case-insensitive substring of the case's or session's public id, `external_ref` or a tag.
    #[schema(min_length = 3, max_length = 255)]
    pub q: Option<String>,
    /// Sort keys in order; ties are broken by id.
    #[schema(value_type = Option<Vec<SortRequest>>)]
    pub sort: Option<Vec<Item<SortRequest>>>,
    /// Page size (above 100: 100).
    #[schema(minimum = 1)]
    pub limit: Option<i64>,
    /// Rows to skip.
    #[schema(minimum = 0)]
    pub offset: Option<i64>,
}

/// One sort key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SortRequest {
    /// `created_at`, `entered_review_at`, `decided_at`, `updated_at` or `priority`.
    #[schema(required = true, value_type = String, pattern = "^(created_at|entered_review_at|decided_at|updated_at|priority)$")]
    pub field: Option<String>,
    /// `asc` (default) or `desc`.
    #[schema(pattern = "^(asc|desc)$")]
    pub direction: Option<String>,
}

/// A filter: one condition, or `and` / `or` of filters, or `not` of one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Filter {
    /// Every filter holds.
    And {
        /// At least one filter.
        #[schema(no_recursion)]
        and: Vec<Filter>,
    },
    /// Some filter holds.
    Or {
        /// At least one filter.
        #[schema(no_recursion)]
        or: Vec<Filter>,
    },
    /// The filter does not hold.
    Not {
        /// The negated filter.
        #[schema(no_recursion)]
        not: Box<Filter>,
    },
    /// `{field, op, value}`.
    Condition(Condition),
}

/// One condition.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// `status`, `decision`, `priority`, `assigned_to`, `escalated_to`, `tags`, `session_id`,
    /// `external_ref`, `is_demo`, `created_at`, `entered_review_at`, `decided_at`, `sla.status`,
    /// `metadata.<key>` or `custom_fields.<key>`.
    #[schema(
        pattern = r"^(status|decision|priority|assigned_to|escalated_to|tags|session_id|external_ref|is_demo|created_at|entered_review_at|decided_at|sla\.status|(metadata|custom_fields)\..+)$"
    )]
    pub field: String,
    /// `eq`, `neq`, `in`, `nin`, `gt`, `gte`, `lt`, `lte`, `contains` or `exists`.
    #[schema(pattern = "^(eq|neq|in|nin|gt|gte|lt|lte|contains|exists)$")]
    pub op: String,
    /// A value of the field's type: an array (≤ 100 items) for `in` / `nin`, a boolean for `exists`.
    #[schema(value_type = Option<Object>)]
    pub value: Option<Value>,
}

impl Input for SearchRequest {
    type Domain = Search;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let filter = match self.filter.map(|value| parse_filter(&value)) {
            None => None,
            Some(Ok(filter)) => filter,
            Some(Err(errors)) => {
                rules.extend(errors);
                None
            }
        };
        let q = match self.q {
            Some(text) if text.chars().count() < 3 => {
                rules.reject("q", Violation::TooShort, "must be at least 3 characters");
                None
            }
            other => rules.text("q", other, 3, 255),
        };
        let mut sort = Vec::new();
        for (index, item) in self.sort.unwrap_or_default().into_iter().enumerate() {
            let path = format!("sort[{index}]");
            match item.at(&path) {
                Ok(key) => sort.extend(sort_key(&mut rules, &path, key)),
                Err(errors) => rules.extend(errors),
            }
        }
        let number = |rules: &mut Rules, name: &str, value: Option<i64>, min: i64, default: i64| match value {
            None => default,
            Some(value) if value >= min => value,
            Some(_) => {
                rules.reject(name, Violation::OutOfRange, format!("must be an integer of at least {min}"));
                default
            }
        };
        let limit = number(&mut rules, "limit", self.limit, 1, 25);
        let offset = number(&mut rules, "offset", self.offset, 0, 0);
        let page = PageRequest::new(u32::try_from(limit).unwrap_or(u32::MAX), u64::try_from(offset).unwrap_or(0));
        rules.finish(Search { filter, q, sort, page })
    }
}

fn sort_key(rules: &mut Rules, path: &str, key: SortRequest) -> Option<SortKey> {
    let field = key.field.as_deref().and_then(SortField::parse);
    if field.is_none() {
        rules.extend(one(
            format!("{path}.field"),
            Violation::InvalidValue,
            format!("must be {}", SortField::NAMES.join(", ")),
        ));
    }
    let descending = match key.direction.as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => {
            rules.extend(one(format!("{path}.direction"), Violation::InvalidValue, "must be asc or desc".to_owned()));
            false
        }
    };
    field.map(|field| SortKey { field, descending })
}

fn one(path: String, violation: Violation, message: String) -> FieldErrors {
    let mut errors = FieldErrors::default();
    errors.push(path, violation, message);
    errors
}
