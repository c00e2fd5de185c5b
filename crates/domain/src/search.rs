//! Case search (API.md §4): the filter language parsed and typed, with every error at its JSON
//! path. The adapter compiles a [`Search`] to parameterized SQL; nothing from the request is
//! ever concatenated into a statement.

use serde_json::{Map, Value};

use crate::Timestamp;
use crate::case::{CaseStatus, Decision, Priority, Tag};
use crate::id::{Id, OrgUserKind, SessionKind};
use crate::page::PageRequest;
use crate::validation::{FieldErrors, Violation, json_type};

/// At most this deep (`and` / `or` / `not` nesting).
pub const MAX_DEPTH: usize = 5;
/// At most this many conditions in one filter.
pub const MAX_CONDITIONS: usize = 50;
/// At most this many items in the array of an `in` / `nin` condition.
pub const MAX_IN_ITEMS: usize = 100;

/// A parsed search request.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// The filter, if any.
    pub filter: Option<Filter>,
    /// Case-insensitive substring of the case's or session's public id, `external_ref` or a tag.
    pub q: Option<String>,
    /// Sort keys, in order; ties are broken by id.
    pub sort: Vec<SortKey>,
    /// The page.
    pub page: PageRequest,
}

/// A node of the filter tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Every child holds.
    And(Vec<Filter>),
    /// Some child holds.
    Or(Vec<Filter>),
    /// The child does not hold.
    Not(Box<Filter>),
    /// One condition.
    Condition(Condition),
}

/// `{field, op, value}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// What is compared.
    pub field: Field,
    /// How.
    pub op: Op,
    /// With what (typed by the field).
    pub value: Operand,
}

/// The searchable fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// Effective status (a lapsed `in_review` is `open`).
    Status,
    /// Final decision (null until final).
    Decision,
    /// Priority, ordered low < normal < high < urgent.
    Priority,
    /// Effective assignee.
    AssignedTo,
    /// Escalation target.
    EscalatedTo,
    /// The tag set (`contains`).
    Tags,
    /// The session.
    SessionId,
    /// The session's `external_ref`.
    ExternalRef,
    /// Demo case.
    IsDemo,
    /// Creation time.
    CreatedAt,
    /// SLA anchor.
    EnteredReviewAt,
    /// Decision time.
    DecidedAt,
    /// SLA status at the request's time.
    SlaStatus,
    /// `metadata.<key>`.
    Metadata(String),
    /// `custom_fields.<key>`.
    CustomFields(String),
}

/// The operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Equal.
    Eq,
    /// Not equal (or null).
    Neq,
    /// One of.
    In,
    /// None of (or null).
    Nin,
    /// Greater than.
    Gt,
    /// Greater or equal.
    Gte,
    /// Less than.
    Lt,
    /// Less or equal.
    Lte,
    /// The tag set contains the value.
    Contains,
    /// The field is set (`value: true`, the default) or not (`false`).
    Exists,
}

/// A condition's value, typed by its field (one or more for `in` / `nin`).
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `exists`.
    Exists(bool),
    /// Statuses.
    Statuses(Vec<CaseStatus>),
    /// Decisions (`None`: null).
    Decisions(Vec<Option<Decision>>),
    /// Priorities.
    Priorities(Vec<Priority>),
    /// Org users.
    Users(Vec<Id<OrgUserKind>>),
    /// Sessions.
    Sessions(Vec<Id<SessionKind>>),
    /// A tag.
    Tag(Tag),
    /// Texts.
    Texts(Vec<String>),
    /// A flag.
    Flag(bool),
    /// Instants.
    Times(Vec<Timestamp>),
    /// SLA statuses (`on_track`, …).
    SlaStatuses(Vec<String>),
    /// JSON values (data maps).
    Json(Vec<Value>),
}

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    /// The column.
    pub field: SortField,
    /// Descending.
    pub descending: bool,
}

/// The sortable fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    /// Creation time.
    CreatedAt,
    /// SLA anchor.
    EnteredReviewAt,
    /// Decision time (undecided last).
    DecidedAt,
    /// Last change.
    UpdatedAt,
    /// Priority rank (ascending: low first).
    Priority,
}

const FIELDS: &str = "status, decision, priority, assigned_to, escalated_to, tags, session_id, external_ref, is_demo, \
                      created_at, entered_review_at, decided_at, sla.status, metadata.<key>, custom_fields.<key>";
const SLA_STATUSES: [&str; 5] = ["on_track", "approaching", "overdue", "met", "missed"];

struct Parser {
    errors: FieldErrors,
    conditions: usize,
}

impl Parser {
    fn reject(&mut self, path: &str, violation: Violation, message: impl Into<String>) {
        self.errors.push(path, violation, message);
    }

    fn node(&mut self, value: &Value, path: &str, depth: usize) -> Option<Filter> {
        let Value::Object(object) = value else {
            self.reject(path, Violation::InvalidType, format!("must be an object, not {}", json_type(value)));
            return None;
        };
        if depth > MAX_DEPTH {
            self.reject(path, Violation::TooMany, format!("filters nest at most {MAX_DEPTH} deep"));
            return None;
        }
        for combinator in ["and", "or"] {
            if let Some(children) = object.get(combinator) {
                self.only_keys(object, &[combinator], path);
                let child_path = format!("{path}.{combinator}");
                let Value::Array(children) = children else {
                    self.reject(&child_path, Violation::InvalidType, "must be an array of filters");
                    return None;
                };
                if children.is_empty() {
                    self.reject(&child_path, Violation::TooShort, "must hold at least one filter");
                }
                let nodes: Vec<Filter> = children
                    .iter()
                    .enumerate()
                    .filter_map(|(i, child)| self.node(child, &format!("{child_path}[{i}]"), depth + 1))
                    .collect();
                return Some(if combinator == "and" { Filter::And(nodes) } else { Filter::Or(nodes) });
            }
        }
        if let Some(child) = object.get("not") {
            self.only_keys(object, &["not"], path);
            return self.node(child, &format!("{path}.not"), depth + 1).map(|f| Filter::Not(Box::new(f)));
        }
        self.condition(object, path).map(Filter::Condition)
    }

    fn only_keys(&mut self, object: &Map<String, Value>, allowed: &[&str], path: &str) {
        for key in object.keys().filter(|k| !allowed.contains(&k.as_str())) {
            self.reject(&format!("{path}.{key}"), Violation::UnknownField, "is not part of a filter");
        }
    }

    fn condition(&mut self, object: &Map<String, Value>, path: &str) -> Option<Condition> {
        self.conditions += 1;
        self.only_keys(object, &["field", "op", "value"], path);
        let field = match object.get("field") {
            None => {
                self.reject(&format!("{path}.field"), Violation::Required, "is required (or use and / or / not)");
                None
            }
            Some(Value::String(name)) => {
                let parsed = parse_field(name);
                if parsed.is_none() {
                    self.reject(&format!("{path}.field"), Violation::InvalidValue, format!("must be one of: {FIELDS}"));
                }
                parsed
            }
            Some(other) => {
                self.reject(
                    &format!("{path}.field"),
                    Violation::InvalidType,
                    format!("must be a string, not {}", json_type(other)),
                );
                None
            }
        };
        let op = match object.get("op") {
            None => {
                self.reject(&format!("{path}.op"), Violation::Required, "is required");
                None
            }
            Some(Value::String(name)) => {
                let parsed = parse_op(name);
                if parsed.is_none() {
                    self.reject(
                        &format!("{path}.op"),
                        Violation::InvalidValue,
                        "must be eq, neq, in, nin, gt, gte, lt, lte, contains or exists",
                    );
                }
                parsed
            }
            Some(other) => {
                self.reject(
                    &format!("{path}.op"),
                    Violation::InvalidType,
                    format!("must be a string, not {}", json_type(other)),
                );
                None
            }
        };
        let (field, op) = (field?, op?);
        if !allowed_ops(&field).contains(&op) {
            self.reject(&format!("{path}.op"), Violation::InvalidValue, "is not supported for this field");
            return None;
        }
        let value_path = format!("{path}.value");
        let value = self.operand(&field, op, object.get("value"), &value_path)?;
        Some(Condition { field, op, value })
    }

    fn operand(&mut self, field: &Field, op: Op, value: Option<&Value>, path: &str) -> Option<Operand> {
        if op == Op::Exists {
            return match value {
                None => Some(Operand::Exists(true)),
                Some(Value::Bool(flag)) => Some(Operand::Exists(*flag)),
                Some(other) => {
                    self.reject(path, Violation::InvalidType, format!("must be a boolean, not {}", json_type(other)));
                    None
                }
            };
        }
        let Some(value) = value else {
            self.reject(path, Violation::Required, "is required");
            return None;
        };
        if field == &Field::Tags {
            return match value.as_str().map(Tag::parse) {
                Some(Ok(tag)) => Some(Operand::Tag(tag)),
                Some(Err(_)) => {
                    self.reject(path, Violation::InvalidValue, "must be a tag");
                    None
                }
                None => {
                    self.reject(path, Violation::InvalidType, format!("must be a string, not {}", json_type(value)));
                    None
                }
            };
        }
        let items: Vec<(String, &Value)> = if matches!(op, Op::In | Op::Nin) {
            let Value::Array(items) = value else {
                self.reject(path, Violation::InvalidType, format!("must be an array, not {}", json_type(value)));
                return None;
            };
            if items.is_empty() {
                self.reject(path, Violation::TooShort, "must hold at least one value");
                return None;
            }
            if items.len() > MAX_IN_ITEMS {
                self.reject(path, Violation::TooMany, format!("must hold at most {MAX_IN_ITEMS} values"));
                return None;
            }
            items.iter().enumerate().map(|(i, v)| (format!("{path}[{i}]"), v)).collect()
        } else {
            vec![(path.to_owned(), value)]
        };
        let before = self.errors.iter().count();
        let operand = match field {
            Field::Status => {
                Operand::Statuses(self.each(&items, |v| v.as_str().and_then(|s| s.parse().ok()), "a case status"))
            }
            Field::Decision => Operand::Decisions(self.each(
                &items,
                |v| if v.is_null() { Some(None) } else { v.as_str().and_then(|s| s.parse().ok()).map(Some) },
                "approved, rejected or null",
            )),
            Field::Priority => Operand::Priorities(self.each(
                &items,
                |v| v.as_str().and_then(|s| s.parse().ok()),
                "low, normal, high or urgent",
            )),
            Field::AssignedTo | Field::EscalatedTo => {
                Operand::Users(self.each(&items, |v| v.as_str().and_then(|s| Id::parse(s).ok()), "an org user id"))
            }
            Field::SessionId => {
                Operand::Sessions(self.each(&items, |v| v.as_str().and_then(|s| Id::parse(s).ok()), "a session id"))
            }
            Field::ExternalRef => Operand::Texts(self.each(&items, |v| v.as_str().map(str::to_owned), "a string")),
            Field::IsDemo => {
                let flags: Vec<bool> = items
                    .iter()
                    .filter_map(|(path, value)| match value.as_bool() {
                        Some(flag) => Some(flag),
                        None => {
                            self.reject(
                                path,
                                Violation::InvalidType,
                                format!("must be a boolean, not {}", json_type(value)),
                            );
                            None
                        }
                    })
                    .collect();
                Operand::Flag(flags.first().copied().unwrap_or(false))
            }
            Field::CreatedAt | Field::EnteredReviewAt | Field::DecidedAt => Operand::Times(self.each(
                &items,
                |v| {
                    v.as_str().and_then(|s| {
                        time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()
                    })
                },
                "an RFC 3339 date-time",
            )),
            Field::SlaStatus => Operand::SlaStatuses(self.each(
                &items,
                |v| v.as_str().filter(|s| SLA_STATUSES.contains(s)).map(str::to_owned),
                "on_track, approaching, overdue, met or missed",
            )),
            Field::Metadata(_) | Field::CustomFields(_) => {
                Operand::Json(items.iter().map(|(_, v)| (*v).clone()).collect())
            }
            Field::Tags => return None,
        };
        (self.errors.iter().count() == before).then_some(operand)
    }

    /// Parses every item; a bad one is an `invalid_type` (wrong JSON type) or `invalid_value`.
    fn each<T>(&mut self, items: &[(String, &Value)], parse: impl Fn(&Value) -> Option<T>, expected: &str) -> Vec<T> {
        let mut parsed = Vec::new();
        for (path, value) in items {
            match parse(value) {
                Some(item) => parsed.push(item),
                None if value.is_string() || value.is_null() => {
                    self.reject(path, Violation::InvalidValue, format!("must be {expected}"))
                }
                None => {
                    self.reject(path, Violation::InvalidType, format!("must be {expected}, not {}", json_type(value)))
                }
            }
        }
        parsed
    }
}

fn parse_field(name: &str) -> Option<Field> {
    let field = match name {
        "status" => Field::Status,
        "decision" => Field::Decision,
        "priority" => Field::Priority,
        "assigned_to" => Field::AssignedTo,
        "escalated_to" => Field::EscalatedTo,
        "tags" => Field::Tags,
        "session_id" => Field::SessionId,
        "external_ref" => Field::ExternalRef,
        "is_demo" => Field::IsDemo,
        "created_at" => Field::CreatedAt,
        "entered_review_at" => Field::EnteredReviewAt,
        "decided_at" => Field::DecidedAt,
        "sla.status" => Field::SlaStatus,
        other => {
            let (map, key) = other.split_once('.')?;
            if key.is_empty() || key.len() > 255 {
                return None;
            }
            match map {
                "metadata" => Field::Metadata(key.to_owned()),
                "custom_fields" => Field::CustomFields(key.to_owned()),
                _ => return None,
            }
        }
    };
    Some(field)
}

fn parse_op(name: &str) -> Option<Op> {
    Some(match name {
        "eq" => Op::Eq,
        "neq" => Op::Neq,
        "in" => Op::In,
        "nin" => Op::Nin,
        "gt" => Op::Gt,
        "gte" => Op::Gte,
        "lt" => Op::Lt,
        "lte" => Op::Lte,
        "contains" => Op::Contains,
        "exists" => Op::Exists,
        _ => return None,
    })
}

fn allowed_ops(field: &Field) -> &'static [Op] {
    use Op::{Contains, Eq, Exists, Gt, Gte, In, Lt, Lte, Neq, Nin};
    match field {
        Field::Status | Field::SlaStatus | Field::SessionId => &[Eq, Neq, In, Nin],
        Field::Decision | Field::AssignedTo | Field::EscalatedTo | Field::ExternalRef => &[Eq, Neq, In, Nin, Exists],
        Field::Priority => &[Eq, Neq, In, Nin, Gt, Gte, Lt, Lte],
        Field::Tags => &[Contains],
        Field::IsDemo => &[Eq, Neq],
        Field::CreatedAt | Field::EnteredReviewAt => &[Eq, Neq, Gt, Gte, Lt, Lte],
        Field::DecidedAt | Field::Metadata(_) | Field::CustomFields(_) => &[Eq, Neq, In, Nin, Gt, Gte, Lt, Lte, Exists],
    }
}

fn parse_sort(value: Option<&Value>, errors: &mut FieldErrors) -> Vec<SortKey> {
    let Some(value) = value.filter(|v| !v.is_null()) else { return Vec::new() };
    let Value::Array(items) = value else {
        errors.push("sort", Violation::InvalidType, "must be an array of {field, direction}");
        return Vec::new();
    };
    let mut keys = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let path = format!("sort[{index}]");
        let Value::Object(object) = item else {
            errors.push(path, Violation::InvalidType, "must be an object");
            continue;
        };
        if object.get("field").is_some_and(|f| !f.is_string()) {
            errors.push(format!("{path}.field"), Violation::InvalidType, "must be a string");
            continue;
        }
        let field = match object.get("field").and_then(Value::as_str) {
            Some("created_at") => Some(SortField::CreatedAt),
            Some("entered_review_at") => Some(SortField::EnteredReviewAt),
            Some("decided_at") => Some(SortField::DecidedAt),
            Some("updated_at") => Some(SortField::UpdatedAt),
            Some("priority") => Some(SortField::Priority),
            _ => {
                errors.push(
                    format!("{path}.field"),
                    Violation::InvalidValue,
                    "must be created_at, entered_review_at, decided_at, updated_at or priority",
                );
                None
            }
        };
        let descending = match object.get("direction") {
            None | Some(Value::Null) => false,
            Some(Value::String(direction)) if direction == "asc" => false,
            Some(Value::String(direction)) if direction == "desc" => true,
            Some(Value::String(_)) => {
                errors.push(format!("{path}.direction"), Violation::InvalidValue, "must be asc or desc");
                false
            }
            Some(other) => {
                errors.push(
                    format!("{path}.direction"),
                    Violation::InvalidType,
                    format!("must be a string, not {}", json_type(other)),
                );
                false
            }
        };
        for key in object.keys().filter(|k| !["field", "direction"].contains(&k.as_str())) {
            errors.push(format!("{path}.{key}"), Violation::UnknownField, "is not part of a sort key");
        }
        keys.extend(field.map(|field| SortKey { field, descending }));
    }
    keys
}

fn parse_page(body: &Map<String, Value>, errors: &mut FieldErrors) -> PageRequest {
    let number = |name: &str, min: i64, default: i64, errors: &mut FieldErrors| match body.get(name) {
        None | Some(Value::Null) => default,
        Some(Value::Number(n)) if n.as_i64().is_some_and(|v| v >= min) => n.as_i64().unwrap_or(default),
        Some(Value::Number(_)) => {
            errors.push(name, Violation::OutOfRange, format!("must be an integer of at least {min}"));
            default
        }
        Some(_) => {
            errors.push(name, Violation::InvalidType, "must be an integer");
            default
        }
    };
    let limit = number("limit", 1, 25, errors);
    let offset = number("offset", 0, 0, errors);
    PageRequest::new(u32::try_from(limit).unwrap_or(u32::MAX), u64::try_from(offset).unwrap_or(0))
}

/// Parses a filter (the value of a search's `filter`), every violation at its JSON path under
/// `filter`.
///
/// # Errors
/// Every violation, and `too_many` past [`MAX_CONDITIONS`].
pub fn parse_filter(value: &Value) -> Result<Option<Filter>, FieldErrors> {
    if value.is_null() {
        return Ok(None);
    }
    let mut parser = Parser { errors: FieldErrors::default(), conditions: 0 };
    let filter = parser.node(value, "filter", 1);
    if parser.conditions > MAX_CONDITIONS {
        parser.reject("filter", Violation::TooMany, format!("at most {MAX_CONDITIONS} conditions"));
    }
    parser.errors.into_result(filter)
}

impl SortField {
    /// Every spelling, in declaration order.
    pub const NAMES: [&'static str; 5] = ["created_at", "entered_review_at", "decided_at", "updated_at", "priority"];

    /// The field a spelling names.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "created_at" => Self::CreatedAt,
            "entered_review_at" => Self::EnteredReviewAt,
            "decided_at" => Self::DecidedAt,
            "updated_at" => Self::UpdatedAt,
            "priority" => Self::Priority,
            _ => return None,
        })
    }
}

impl Search {
    /// Parses a `POST /cases/search` body.
    ///
    /// # Errors
    /// Every violation, each at its JSON path (`filter.and[1].or[0].value`).
    pub fn parse(body: &Map<String, Value>) -> Result<Self, FieldErrors> {
        let mut parser = Parser { errors: FieldErrors::default(), conditions: 0 };
        for key in body.keys().filter(|k| !["filter", "q", "sort", "limit", "offset"].contains(&k.as_str())) {
            parser.reject(key, Violation::UnknownField, "is not a field of a search");
        }
        let filter = match body.get("filter") {
            None | Some(Value::Null) => None,
            Some(value) => parser.node(value, "filter", 1),
        };
        if parser.conditions > MAX_CONDITIONS {
            parser.reject("filter", Violation::TooMany, format!("at most {MAX_CONDITIONS} conditions"));
        }
        let q = match body.get("q") {
            None | Some(Value::Null) => None,
            Some(Value::String(text)) if text.chars().count() >= 3 && text.chars().count() <= 255 => Some(text.clone()),
            Some(Value::String(text)) if text.chars().count() < 3 => {
                parser.reject("q", Violation::TooShort, "must be at least 3 characters");
                None
            }
            Some(Value::String(_)) => {
                parser.reject("q", Violation::TooLong, "must be at most 255 characters");
                None
            }
            Some(other) => {
                parser.reject("q", Violation::InvalidType, format!("must be a string, not {}", json_type(other)));
                None
            }
        };
        let mut errors = parser.errors;
        let sort = parse_sort(body.get("sort"), &mut errors);
        let page = parse_page(body, &mut errors);
        errors.into_result(Self { filter, q, sort, page })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parse(value: Value) -> Result<Search, Vec<(String, &'static str)>> {
        Search::parse(value.as_object().unwrap_or(&Map::new()))
            .map_err(|errors| errors.iter().map(|e| (e.field.clone(), e.violation.code())).collect())
    }

    #[test]
    fn the_documented_example_parses() {
        let search = parse(json!({
            "filter": {"and": [
                {"field": "status", "op": "in", "value": ["open", "in_review"]},
                {"or": [{"field": "tags", "op": "contains", "value": "pep"},
                        {"field": "priority", "op": "gte", "value": "high"}]},
                {"field": "metadata.country", "op": "eq", "value": "DE"}
            ]},
            "q": "user_4812",
            "sort": [{"field": "entered_review_at", "direction": "asc"}],
            "limit": 25, "offset": 0
        }))
        .unwrap_or_else(|e| panic!("{e:?}"));
        let Some(Filter::And(children)) = search.filter else { panic!("not an and") };
        assert_eq!(children.len(), 3);
        assert_eq!(search.q.as_deref(), Some("user_4812"));
        assert_eq!(search.sort, vec![SortKey { field: SortField::EnteredReviewAt, descending: false }]);
    }

    #[test]
    fn errors_name_the_json_path_of_the_bad_part() {
        let errors = parse(json!({"filter": {"and": [
            {"field": "status", "op": "eq", "value": "open"},
            {"or": [{"field": "priority", "op": "gt", "value": "critical"}, {"field": "nope", "op": "eq", "value": 1}]},
            {"field": "tags", "op": "eq", "value": "x"},
            {"field": "is_demo", "op": "eq", "value": "yes"}
        ]}}))
        .err()
        .unwrap_or_default();
        assert_eq!(
            errors,
            vec![
                ("filter.and[1].or[0].value".to_owned(), "invalid_value"),
                ("filter.and[1].or[1].field".to_owned(), "invalid_value"),
                ("filter.and[2].op".to_owned(), "invalid_value"),
                ("filter.and[3].value".to_owned(), "invalid_type"),
            ]
        );
    }

    #[test]
    fn depth_size_and_q_are_bounded() {
        let mut deep = json!({"field": "status", "op": "eq", "value": "open"});
        for _ in 0..5 {
            deep = json!({"not": deep});
        }
        let errors = parse(json!({"filter": deep})).err().unwrap_or_default();
        assert_eq!(errors, vec![("filter.not.not.not.not.not".to_owned(), "too_many")]);
        let many: Vec<Value> = (0..51).map(|_| json!({"field": "is_demo", "op": "eq", "value": true})).collect();
        let errors = parse(json!({"filter": {"or": many}})).err().unwrap_or_default();
        assert_eq!(errors, vec![("filter".to_owned(), "too_many")]);
        assert_eq!(parse(json!({"q": "ab"})).err().unwrap_or_default(), vec![("q".to_owned(), "too_short")]);
        assert_eq!(parse(json!({"limit": 0})).err().unwrap_or_default(), vec![("limit".to_owned(), "out_of_range")]);
        assert_eq!(parse(json!({"limit": 500})).map(|s| s.page.limit()), Ok(100));
    }

    #[test]
    fn in_and_nin_hold_at_most_a_hundred_items() {
        let items = |n: usize| (0..n).map(|i| json!(format!("v{i}"))).collect::<Vec<_>>();
        assert!(parse(json!({"filter": {"field": "metadata.k", "op": "in", "value": items(100)}})).is_ok());
        let errors = parse(json!({"filter": {"and": [
            {"field": "metadata.k", "op": "nin", "value": items(101)},
            {"field": "external_ref", "op": "in", "value": items(20_000)}
        ]}}))
        .err()
        .unwrap_or_default();
        assert_eq!(
            errors,
            vec![("filter.and[0].value".to_owned(), "too_many"), ("filter.and[1].value".to_owned(), "too_many")]
        );
    }

    #[test]
    fn in_needs_a_non_empty_array_and_exists_a_boolean() {
        let errors = parse(json!({"filter": {"and": [
            {"field": "status", "op": "in", "value": "open"},
            {"field": "decision", "op": "in", "value": []},
            {"field": "decided_at", "op": "exists", "value": "yes"},
            {"field": "metadata.k", "op": "exists"}
        ]}}))
        .err()
        .unwrap_or_default();
        assert_eq!(
            errors,
            vec![
                ("filter.and[0].value".to_owned(), "invalid_type"),
                ("filter.and[1].value".to_owned(), "too_short"),
                ("filter.and[2].value".to_owned(), "invalid_type"),
            ]
        );
    }
}
