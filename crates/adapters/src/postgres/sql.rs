//! What the statement modules share: run-time conditions on `cases` and their combinators, the
//! compiler of the domain's queue rules ([`compile`]), page bounds, and the error of a
//! transaction that can be refused.
//!
//! Statuses compile to SQL literals (they are the domain's own spellings, never request input),
//! so the planner can match the partial indexes that are shaped like the rules; every other value
//! is a bind parameter.

use casework_domain::Timestamp;
use casework_domain::case::CaseStatus;
use casework_domain::case::queue::{LeaseState, Rule};
use casework_domain::page::PageRequest;
use casework_domain::tenant::Tenant;
use diesel::dsl::{not, sql};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::schema::cases;

/// A boolean condition on `cases`, composable at run time.
pub(super) type Condition = Box<dyn BoxableExpression<cases::table, Pg, SqlType = Bool>>;

/// The outcome of a transaction: a business refusal, or a database failure.
pub(super) enum TxError<E> {
    Refused(E),
    Db(diesel::result::Error),
}

impl<E> From<diesel::result::Error> for TxError<E> {
    fn from(error: diesel::result::Error) -> Self {
        Self::Db(error)
    }
}

diesel::define_sql_function! {
    /// `coalesce(condition, otherwise)`: a condition that is never null, so `NOT` is exact.
    #[sql_name = "coalesce"]
    fn definitely(condition: Bool, otherwise: Bool) -> Bool;
}

/// The rows of the tenant.
pub(super) fn in_tenant(tenant: Tenant) -> Condition {
    Box::new(cases::org_id.eq(tenant.org_id.uuid()).and(cases::environment.eq(tenant.environment.as_str())))
}

/// Some condition holds (none: false).
pub(super) fn any_of(conditions: Vec<Condition>) -> Condition {
    balanced(conditions, &|a, b| Box::new(a.or(b))).unwrap_or_else(|| Box::new(sql::<Bool>("false")))
}

/// Every condition holds (none: true).
pub(super) fn all_of(conditions: Vec<Condition>) -> Condition {
    balanced(conditions, &|a, b| Box::new(a.and(b))).unwrap_or_else(|| Box::new(sql::<Bool>("true")))
}

/// The condition does not hold (null reads as false first, so `NOT` is exact).
pub(super) fn negate(condition: Condition) -> Condition {
    Box::new(not(definitely(condition, false)))
}

/// Joins `conditions` as a balanced tree, so its depth (and every recursion over it when the
/// statement is built, bound or dropped) grows with the logarithm of their number.
fn balanced(mut conditions: Vec<Condition>, join: &dyn Fn(Condition, Condition) -> Condition) -> Option<Condition> {
    match conditions.len() {
        0 => None,
        1 => conditions.pop(),
        n => {
            let right = conditions.split_off(n / 2);
            Some(join(balanced(conditions, join)?, balanced(right, join)?))
        }
    }
}

/// `cases.status IN (…)`, the domain's spellings as literals.
fn status_in(statuses: &[CaseStatus]) -> Condition {
    if statuses.is_empty() {
        return Box::new(sql::<Bool>("false"));
    }
    let list: Vec<String> = statuses.iter().map(|status| format!("'{}'", status.as_str())).collect();
    Box::new(sql::<Bool>(&format!("cases.status IN ({})", list.join(", "))))
}

/// A queue rule of the domain as a condition on `cases`, read at `now`.
pub(super) fn compile(rule: &Rule, now: Timestamp) -> Condition {
    match rule {
        Rule::Always => Box::new(sql::<Bool>("true")),
        Rule::Never => Box::new(sql::<Bool>("false")),
        Rule::All(rules) => all_of(rules.iter().map(|rule| compile(rule, now)).collect()),
        Rule::Any(rules) => any_of(rules.iter().map(|rule| compile(rule, now)).collect()),
        Rule::Not(rule) => negate(compile(rule, now)),
        Rule::Status(statuses) => status_in(statuses),
        Rule::Lease(LeaseState::Absent) => Box::new(cases::claim_expires_at.is_null()),
        Rule::Lease(LeaseState::Live) => Box::new(cases::claim_expires_at.gt(now).assume_not_null()),
        Rule::Lease(LeaseState::Lapsed) => Box::new(cases::claim_expires_at.le(now).assume_not_null()),
        Rule::AssignedTo(users) => Box::new(
            cases::assigned_to.eq_any(users.iter().map(|user| user.uuid()).collect::<Vec<_>>()).assume_not_null(),
        ),
        Rule::NoAssignee => Box::new(cases::assigned_to.is_null()),
        Rule::EscalatedTo(users) => Box::new(
            cases::escalated_to.eq_any(users.iter().map(|user| user.uuid()).collect::<Vec<_>>()).assume_not_null(),
        ),
        Rule::HasEscalationTarget => Box::new(cases::escalated_to.is_not_null()),
        Rule::NotRecommendedBy(reviewer) => Box::new(cases::recommended_by.is_distinct_from(reviewer.uuid())),
        Rule::Priority(priority) => Box::new(cases::priority.eq(priority.as_str())),
        Rule::Tagged(tag) => Box::new(cases::tags.contains(vec![Some(tag.as_str().to_owned())])),
    }
}

/// `LIMIT` and `OFFSET` of a page.
pub(super) fn page_bounds(page: PageRequest) -> (i64, i64) {
    (i64::from(page.limit()), i64::try_from(page.offset()).unwrap_or(i64::MAX))
}
