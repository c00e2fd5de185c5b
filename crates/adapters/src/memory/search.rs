//! Case filters evaluated in memory, with the semantics of the SQL the PostgreSQL adapter runs:
//! effective status and assignee (a lapsed lease reads as released), `neq`/`nin` true for null,
//! data-map keys compared as JSON values.

use std::cmp::Ordering;

use casework_domain::Timestamp;
use casework_domain::case::Case;
use casework_domain::case::queue::{self as rules, Rule};
use casework_domain::page::{CaseQuery, CaseSortKey};
use casework_domain::search::{Condition, Field, Filter, Op, Operand, Search, SortField};
use serde_json::Value;

/// What a filter reads of one case: the case as stored (for the domain's queue rules), as of the
/// request, and its session's reference.
pub(super) struct Candidate {
    /// The case as stored.
    pub stored: Case,
    /// The case as of the request.
    pub view: Case,
    /// Its session's `external_ref`.
    pub external_ref: Option<String>,
    /// Its session's public id.
    pub session_public_id: String,
}

/// `GET /cases` filters: the tabs, statuses and assignees by the domain's queue rules.
pub(super) fn matches_query(candidate: &Candidate, query: &CaseQuery, now: Timestamp) -> bool {
    let (stored, view) = (&candidate.stored, &candidate.view);
    let holds = |rule: Rule| rule.holds(stored, now);
    query.tab.is_none_or(|tab| holds(rules::tab(tab, query.reviewer)))
        && (query.statuses.is_empty()
            || holds(Rule::Any(query.statuses.iter().map(|&s| rules::effective_status(s)).collect())))
        && (query.assigned_to.is_empty() || holds(rules::effectively_assigned(query.assigned_to.clone())))
        && (query.priorities.is_empty() || query.priorities.contains(&view.priority))
        && (query.tags.is_empty() || query.tags.iter().any(|t| view.tags.contains(t)))
        && (query.session_ids.is_empty() || query.session_ids.contains(&view.session_id))
        && query.created_after.is_none_or(|after| view.created_at >= after)
        && query.created_before.is_none_or(|before| view.created_at < before)
}

/// `GET /cases` order; ties by id.
pub(super) fn query_order(a: &Case, b: &Case, query: &CaseQuery) -> Ordering {
    let by_key = match query.sort.key {
        CaseSortKey::CreatedAt => a.created_at.cmp(&b.created_at),
        CaseSortKey::EnteredReviewAt => a.entered_review_at.cmp(&b.entered_review_at),
        CaseSortKey::Priority => b.priority.rank().cmp(&a.priority.rank()),
    };
    let by_key = if query.sort.reversed { by_key.reverse() } else { by_key };
    by_key.then_with(|| a.id.cmp(&b.id))
}

/// A search's filter and `q`.
pub(super) fn matches_search(candidate: &Candidate, search: &Search, now: Timestamp) -> bool {
    search.filter.as_ref().is_none_or(|filter| evaluate(filter, candidate, now))
        && search.q.as_ref().is_none_or(|q| matches_text(candidate, q))
}

/// A search's order (default `entered_review_at` ascending); ties by id.
pub(super) fn search_order(a: &Case, b: &Case, search: &Search) -> Ordering {
    let mut ordering = Ordering::Equal;
    if search.sort.is_empty() {
        ordering = a.entered_review_at.cmp(&b.entered_review_at);
    }
    for key in &search.sort {
        if ordering != Ordering::Equal {
            break;
        }
        let by_key = match key.field {
            SortField::CreatedAt => a.created_at.cmp(&b.created_at),
            SortField::EnteredReviewAt => a.entered_review_at.cmp(&b.entered_review_at),
            SortField::UpdatedAt => a.updated_at.cmp(&b.updated_at),
            SortField::Priority => a.priority.rank().cmp(&b.priority.rank()),
            // Undecided cases come last in both directions, as `NULLS LAST` does.
            SortField::DecidedAt => match (a.decided_at, b.decided_at) {
                (Some(x), Some(y)) => {
                    if key.descending {
                        y.cmp(&x)
                    } else {
                        x.cmp(&y)
                    }
                }
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            },
        };
        ordering = if key.descending && key.field != SortField::DecidedAt { by_key.reverse() } else { by_key };
    }
    ordering.then_with(|| a.id.cmp(&b.id))
}

fn matches_text(candidate: &Candidate, q: &str) -> bool {
    let needle = q.to_lowercase();
    let contains = |text: &str| text.to_lowercase().contains(&needle);
    contains(&candidate.view.id.public())
        || contains(&candidate.session_public_id)
        || candidate.external_ref.as_deref().is_some_and(contains)
        || candidate.view.tags.iter().any(|t| contains(t.as_str()))
}

fn evaluate(filter: &Filter, candidate: &Candidate, now: Timestamp) -> bool {
    match filter {
        Filter::And(children) => children.iter().all(|c| evaluate(c, candidate, now)),
        Filter::Or(children) => children.iter().any(|c| evaluate(c, candidate, now)),
        Filter::Not(child) => !evaluate(child, candidate, now),
        Filter::Condition(condition) => holds(condition, candidate, now),
    }
}

fn asserted(op: Op, found: bool) -> bool {
    if matches!(op, Op::Neq | Op::Nin) { !found } else { found }
}

fn compare<T: Ord>(op: Op, value: Option<T>, operands: &[T]) -> bool {
    let Some(value) = value else { return matches!(op, Op::Neq | Op::Nin) };
    match op {
        Op::Gt => operands.iter().next().is_some_and(|o| value > *o),
        Op::Gte => operands.iter().next().is_some_and(|o| value >= *o),
        Op::Lt => operands.iter().next().is_some_and(|o| value < *o),
        Op::Lte => operands.iter().next().is_some_and(|o| value <= *o),
        _ => asserted(op, operands.contains(&value)),
    }
}

fn holds(condition: &Condition, candidate: &Candidate, now: Timestamp) -> bool {
    let view = &candidate.view;
    let op = condition.op;
    match (&condition.field, &condition.value) {
        (Field::Decision, Operand::Exists(flag)) => view.decision.is_some() == *flag,
        (Field::AssignedTo, Operand::Exists(flag)) => {
            rules::has_effective_assignee().holds(&candidate.stored, now) == *flag
        }
        (Field::EscalatedTo, Operand::Exists(flag)) => view.escalated_to.is_some() == *flag,
        (Field::ExternalRef, Operand::Exists(flag)) => candidate.external_ref.is_some() == *flag,
        (Field::DecidedAt, Operand::Exists(flag)) => view.decided_at.is_some() == *flag,
        (Field::Status, Operand::Statuses(statuses)) => {
            let any = Rule::Any(statuses.iter().map(|&s| rules::effective_status(s)).collect());
            asserted(op, any.holds(&candidate.stored, now))
        }
        (Field::Decision, Operand::Decisions(decisions)) => asserted(op, decisions.contains(&view.decision)),
        (Field::Priority, Operand::Priorities(priorities)) => {
            let ranks: Vec<i16> = priorities.iter().map(|p| p.rank()).collect();
            compare(op, Some(view.priority.rank()), &ranks)
        }
        (Field::AssignedTo, Operand::Users(users)) => compare(op, view.assigned_to, users),
        (Field::EscalatedTo, Operand::Users(users)) => compare(op, view.escalated_to, users),
        (Field::Tags, Operand::Tag(tag)) => view.tags.contains(tag),
        (Field::SessionId, Operand::Sessions(ids)) => asserted(op, ids.contains(&view.session_id)),
        (Field::ExternalRef, Operand::Texts(texts)) => compare(op, candidate.external_ref.clone(), texts),
        (Field::IsDemo, Operand::Flag(flag)) => asserted(op, view.is_demo == *flag),
        (Field::CreatedAt, Operand::Times(times)) => compare(op, Some(view.created_at), times),
        (Field::EnteredReviewAt, Operand::Times(times)) => compare(op, Some(view.entered_review_at), times),
        (Field::DecidedAt, Operand::Times(times)) => compare(op, view.decided_at, times),
        (Field::SlaStatus, Operand::SlaStatuses(statuses)) => {
            asserted(op, statuses.iter().any(|s| s == view.sla(now).status.as_str()))
        }
        (Field::Metadata(key), value) => data_key(view.metadata.as_map().get(key), op, value),
        (Field::CustomFields(key), value) => data_key(view.custom_fields.as_map().get(key), op, value),
        _ => false,
    }
}

/// PostgreSQL's `jsonb` order: values of different types compare by type.
fn json_order(a: &Value, b: &Value) -> Ordering {
    let rank = |v: &Value| match v {
        Value::Null => 0,
        Value::String(_) => 1,
        Value::Number(_) => 2,
        Value::Bool(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    };
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Number(x), Value::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn data_key(value: Option<&Value>, op: Op, operand: &Operand) -> bool {
    match operand {
        Operand::Exists(flag) => value.is_some() == *flag,
        Operand::Json(values) => {
            let Some(value) = value else { return matches!(op, Op::Neq | Op::Nin) };
            let first = values.iter().next();
            let ordered = |wanted: &[Ordering]| first.is_some_and(|f| wanted.contains(&json_order(value, f)));
            match op {
                Op::Gt => ordered(&[Ordering::Greater]),
                Op::Gte => ordered(&[Ordering::Greater, Ordering::Equal]),
                Op::Lt => ordered(&[Ordering::Less]),
                Op::Lte => ordered(&[Ordering::Less, Ordering::Equal]),
                _ => asserted(op, values.iter().any(|v| v == value)),
            }
        }
        _ => false,
    }
}
