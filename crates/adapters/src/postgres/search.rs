//! Case search compiled to parameterized SQL: each [`Filter`] node becomes a Diesel boolean
//! expression; every value from the request is a bind parameter, never text in the statement.
//! Status and assignee read a lapsed lease as released, as in every other read.

use casework_domain::Timestamp;
use casework_domain::case::Priority;
use casework_domain::case::queue::{self as rules, Rule};
use casework_domain::case::{Case, CaseStatus};
use casework_domain::page::Page;
use casework_domain::ports::StoreError;
use casework_domain::search::{Condition as Clause, Field, Filter, Op, Operand, Search, SortField, SortKey};
use casework_domain::tenant::Tenant;
use diesel::dsl::{IntervalDsl, sql};
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Array, Bool, Jsonb, Text};
use diesel_async::RunQueryDsl;
use serde_json::Value;

use super::PgStore;
use super::errors::unavailable_or_unknown;
use super::records::CaseRecord;
use super::schema::{cases, sessions};
use super::sql::{Condition, all_of, any_of, compile as compile_rule, in_tenant, negate, page_bounds};

fn when(positive: bool, condition: Condition) -> Condition {
    if positive { condition } else { negate(condition) }
}

/// `condition`, and the case is undecided (which `condition` already implies).
pub(super) fn undecided(condition: Condition) -> Condition {
    all_of(vec![condition, Box::new(cases::decision.is_null())])
}

/// `matched` (cases whose effective status is one of `statuses`), with what it implies said
/// outright — the stored status is one of a few, and undecided when every wanted status is — so
/// the planner reads the indexes on status and on undecided cases rather than every lease or the
/// decided history.
pub(super) fn stored_status_in(matched: Condition, statuses: &[CaseStatus]) -> Condition {
    let mut stored: Vec<&str> = Vec::new();
    for status in statuses {
        // A lapsed `in_review` case reads as `open`.
        let spellings: &[CaseStatus] = if *status == CaseStatus::Open {
            &[CaseStatus::Open, CaseStatus::InReview]
        } else {
            std::slice::from_ref(status)
        };
        for spelling in spellings {
            if !stored.contains(&spelling.as_str()) {
                stored.push(spelling.as_str());
            }
        }
    }
    // With both `open` and `in_review` wanted, a lease's state no longer matters: the stored
    // status alone decides (and no lease index is worth reading).
    let by_stored: Condition = Box::new(cases::status.eq_any(stored));
    let both = statuses.contains(&CaseStatus::Open) && statuses.contains(&CaseStatus::InReview);
    let narrowed = if both { by_stored } else { all_of(vec![matched, by_stored]) };
    if statuses.iter().all(|s| !s.is_final()) { undecided(narrowed) } else { narrowed }
}

fn rank(priority: Priority) -> i16 {
    priority.rank()
}

/// The whole `WHERE` of a search.
pub(super) fn conditions(tenant: Tenant, search: &Search, now: Timestamp) -> Condition {
    let mut all = vec![in_tenant(tenant)];
    if let Some(filter) = &search.filter {
        all.push(compile(filter, tenant, now));
    }
    if let Some(q) = &search.q {
        all.push(text_match(tenant, q));
    }
    all_of(all)
}

fn compile(filter: &Filter, tenant: Tenant, now: Timestamp) -> Condition {
    match filter {
        Filter::And(children) => all_of(children.iter().map(|c| compile(c, tenant, now)).collect()),
        Filter::Or(children) => any_of(children.iter().map(|c| compile(c, tenant, now)).collect()),
        Filter::Not(child) => negate(compile(child, tenant, now)),
        Filter::Condition(clause) => condition(clause, tenant, now),
    }
}

/// `ILIKE` pattern of a case-insensitive substring, with the wildcards of `text` escaped.
fn substring_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}

fn text_match(tenant: Tenant, q: &str) -> Condition {
    let pattern = substring_pattern(q);
    let sessions_matching = sessions::table
        .filter(sessions::org_id.eq(tenant.org_id.uuid()))
        .filter(sessions::external_ref.ilike(pattern.clone()))
        .select(sessions::id);
    any_of(vec![
        Box::new(sql::<Bool>("casework_public_id('rvc_', cases.id) ILIKE ").bind::<Text, _>(pattern.clone())),
        Box::new(sql::<Bool>("casework_public_id('ses_', cases.session_id) ILIKE ").bind::<Text, _>(pattern.clone())),
        Box::new(cases::session_id.eq_any(sessions_matching)),
        Box::new(
            sql::<Bool>("EXISTS (SELECT 1 FROM unnest(cases.tags) AS tag WHERE tag ILIKE ")
                .bind::<Text, _>(pattern)
                .sql(")"),
        ),
    ])
}

/// Equality-like operators: whether the condition is asserted (`eq`, `in`) or denied.
fn positive(op: Op) -> bool {
    matches!(op, Op::Eq | Op::In | Op::Contains)
}

fn condition(clause: &Clause, tenant: Tenant, now: Timestamp) -> Condition {
    let op = clause.op;
    match (&clause.field, &clause.value) {
        (Field::Status, Operand::Statuses(statuses)) => {
            let any = Rule::Any(statuses.iter().map(|&s| rules::effective_status(s)).collect());
            let matched = when(positive(op), compile_rule(&any, now));
            if positive(op) { stored_status_in(matched, statuses) } else { matched }
        }
        (Field::Decision, Operand::Exists(flag)) => when(*flag, Box::new(cases::decision.is_not_null())),
        (Field::Decision, Operand::Decisions(decisions)) => {
            let matches = decisions
                .iter()
                .map(|decision| -> Condition {
                    match decision {
                        None => Box::new(cases::decision.is_null()),
                        Some(d) => Box::new(cases::decision.eq(d.as_str()).assume_not_null()),
                    }
                })
                .collect();
            when(positive(op), any_of(matches))
        }
        (Field::Priority, Operand::Priorities(priorities)) => {
            let first = priorities.iter().next().copied().unwrap_or(Priority::Normal);
            match op {
                Op::Gt => Box::new(cases::priority_rank.gt(rank(first))),
                Op::Gte => Box::new(cases::priority_rank.ge(rank(first))),
                Op::Lt => Box::new(cases::priority_rank.lt(rank(first))),
                Op::Lte => Box::new(cases::priority_rank.le(rank(first))),
                _ => when(
                    positive(op),
                    Box::new(cases::priority.eq_any(priorities.iter().map(|p| p.as_str()).collect::<Vec<_>>())),
                ),
            }
        }
        (Field::AssignedTo, Operand::Exists(flag)) => when(*flag, compile_rule(&rules::has_effective_assignee(), now)),
        (Field::AssignedTo, Operand::Users(users)) => {
            when(positive(op), compile_rule(&rules::effectively_assigned(users.clone()), now))
        }
        (Field::EscalatedTo, Operand::Exists(flag)) => when(*flag, Box::new(cases::escalated_to.is_not_null())),
        (Field::EscalatedTo, Operand::Users(users)) => when(
            positive(op),
            Box::new(cases::escalated_to.eq_any(users.iter().map(|u| u.uuid()).collect::<Vec<_>>()).assume_not_null()),
        ),
        (Field::Tags, Operand::Tag(tag)) => Box::new(cases::tags.contains(vec![Some(tag.as_str().to_owned())])),
        (Field::SessionId, Operand::Sessions(ids)) => {
            when(positive(op), Box::new(cases::session_id.eq_any(ids.iter().map(|s| s.uuid()).collect::<Vec<_>>())))
        }
        (Field::ExternalRef, Operand::Exists(flag)) => {
            let with_ref = sessions::table
                .filter(sessions::org_id.eq(tenant.org_id.uuid()))
                .filter(sessions::external_ref.is_not_null())
                .select(sessions::id);
            when(*flag, Box::new(cases::session_id.eq_any(with_ref)))
        }
        (Field::ExternalRef, Operand::Texts(texts)) => {
            let matching = sessions::table
                .filter(sessions::org_id.eq(tenant.org_id.uuid()))
                .filter(sessions::external_ref.eq_any(texts.clone()))
                .select(sessions::id);
            when(positive(op), Box::new(cases::session_id.eq_any(matching)))
        }
        (Field::IsDemo, Operand::Flag(flag)) => when(positive(op), Box::new(cases::is_demo.eq(*flag))),
        (Field::CreatedAt, Operand::Times(times)) => compare_time(cases::created_at, op, times),
        (Field::EnteredReviewAt, Operand::Times(times)) => compare_time(cases::entered_review_at, op, times),
        (Field::DecidedAt, Operand::Exists(flag)) => when(*flag, Box::new(cases::decided_at.is_not_null())),
        (Field::DecidedAt, Operand::Times(times)) => compare_time(cases::decided_at.assume_not_null(), op, times),
        (Field::SlaStatus, Operand::SlaStatuses(statuses)) => {
            when(positive(op), any_of(statuses.iter().map(|s| sla_status(s, now)).collect()))
        }
        (Field::Metadata(key), value) => data_key("cases.metadata", key, op, value),
        (Field::CustomFields(key), value) => data_key("cases.custom_fields", key, op, value),
        // The parser pairs every field with its operand; anything else matches nothing.
        _ => any_of(vec![]),
    }
}

fn compare_time<C>(column: C, op: Op, times: &[Timestamp]) -> Condition
where
    C: Expression<SqlType = diesel::sql_types::Timestamptz>
        + BoxableExpression<cases::table, Pg, SqlType = diesel::sql_types::Timestamptz>
        + AppearsOnTable<cases::table>
        + diesel::expression::ValidGrouping<(), IsAggregate = diesel::expression::is_aggregate::No>
        + diesel::query_builder::QueryFragment<Pg>
        + Clone
        + Send
        + 'static,
{
    match op {
        Op::In | Op::Nin => when(op == Op::In, Box::new(column.eq_any(times.to_vec()))),
        _ => {
            let Some(&at) = times.iter().next() else { return any_of(vec![]) };
            match op {
                Op::Gt => Box::new(column.gt(at)),
                Op::Gte => Box::new(column.ge(at)),
                Op::Lt => Box::new(column.lt(at)),
                Op::Lte => Box::new(column.le(at)),
                Op::Neq => negate(Box::new(column.eq(at))),
                _ => Box::new(column.eq(at)),
            }
        }
    }
}

pub(super) fn sla_status(status: &str, now: Timestamp) -> Condition {
    let undecided: Condition = Box::new(cases::decided_at.is_null());
    let younger =
        |hours: i64| -> Condition { Box::new(cases::entered_review_at.gt(now - time::Duration::hours(hours))) };
    match status {
        "on_track" => all_of(vec![undecided, younger(4)]),
        "approaching" => all_of(vec![undecided, negate(younger(4)), younger(24)]),
        "overdue" => all_of(vec![undecided, negate(younger(24))]),
        "met" => Box::new(cases::decided_at.assume_not_null().lt(cases::entered_review_at + 24.hours())),
        "missed" => Box::new(cases::decided_at.assume_not_null().ge(cases::entered_review_at + 24.hours())),
        _ => any_of(vec![]),
    }
}

/// A data-map key compared as JSON (`metadata -> key`), every part a bind parameter.
fn data_key(column: &'static str, key: &str, op: Op, value: &Operand) -> Condition {
    let compare = |operator: &str, value: &Value| -> Condition {
        Box::new(
            sql::<Bool>(&format!("({column} -> "))
                .bind::<Text, _>(key.to_owned())
                .sql(&format!(") {operator} "))
                .bind::<Jsonb, _>(value.clone()),
        )
    };
    match (op, value) {
        (Op::Exists, Operand::Exists(flag)) => when(
            *flag,
            Box::new(sql::<Bool>(&format!("jsonb_exists({column}, ")).bind::<Text, _>(key.to_owned()).sql(")")),
        ),
        (_, Operand::Json(values)) => {
            let first = values.iter().next().cloned().unwrap_or(Value::Null);
            match op {
                Op::Eq => compare("=", &first),
                Op::Neq => negate(compare("=", &first)),
                Op::In => any_value(column, key, values),
                Op::Nin => negate(any_value(column, key, values)),
                Op::Gt => compare(">", &first),
                Op::Gte => compare(">=", &first),
                Op::Lt => compare("<", &first),
                Op::Lte => compare("<=", &first),
                _ => any_of(vec![]),
            }
        }
        _ => any_of(vec![]),
    }
}

/// `(column -> key) = ANY($values)`: the whole array is one bind parameter, however many items.
fn any_value(column: &'static str, key: &str, values: &[Value]) -> Condition {
    Box::new(
        sql::<Bool>(&format!("({column} -> "))
            .bind::<Text, _>(key.to_owned())
            .sql(") = ANY(")
            .bind::<Array<Jsonb>, _>(values.to_vec())
            .sql(")"),
    )
}

/// `CaseRepository::search_cases`.
pub(super) async fn search_cases(
    store: &PgStore,
    tenant: Tenant,
    search: &Search,
    now: Timestamp,
) -> Result<Page<Case>, StoreError> {
    let mut connection = store.connection().await?;
    let total: i64 = cases::table
        .filter(conditions(tenant, search, now))
        .count()
        .get_result(&mut *connection)
        .await
        .map_err(unavailable_or_unknown)?;
    let mut query = cases::table.filter(conditions(tenant, search, now)).select(CaseRecord::as_select()).into_boxed();
    let default = [SortKey { field: SortField::EnteredReviewAt, descending: false }];
    let keys = if search.sort.is_empty() { &default[..] } else { &search.sort[..] };
    for key in keys {
        query = match (key.field, key.descending) {
            (SortField::CreatedAt, false) => query.then_order_by(cases::created_at.asc()),
            (SortField::CreatedAt, true) => query.then_order_by(cases::created_at.desc()),
            (SortField::EnteredReviewAt, false) => query.then_order_by(cases::entered_review_at.asc()),
            (SortField::EnteredReviewAt, true) => query.then_order_by(cases::entered_review_at.desc()),
            (SortField::UpdatedAt, false) => query.then_order_by(cases::updated_at.asc()),
            (SortField::UpdatedAt, true) => query.then_order_by(cases::updated_at.desc()),
            (SortField::DecidedAt, false) => query.then_order_by(cases::decided_at.asc().nulls_last()),
            (SortField::DecidedAt, true) => query.then_order_by(cases::decided_at.desc().nulls_last()),
            (SortField::Priority, false) => query.then_order_by(cases::priority_rank.asc()),
            (SortField::Priority, true) => query.then_order_by(cases::priority_rank.desc()),
        };
    }
    let (limit, offset) = page_bounds(search.page);
    let records: Vec<CaseRecord> = query
        .then_order_by(cases::id.asc())
        .limit(limit)
        .offset(offset)
        .load(&mut *connection)
        .await
        .map_err(unavailable_or_unknown)?;
    let items = records.into_iter().map(CaseRecord::into_case).collect::<Result<Vec<_>, _>>()?;
    Ok(Page { items, total: u64::try_from(total).unwrap_or(0), request: search.page })
}
