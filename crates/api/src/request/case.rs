//! The case endpoints' bodies (API.md §3): each reads its JSON types, then turns into the
//! domain's input with every value checked.

use casework_domain::case::lifecycle::DecisionInput;
use casework_domain::case::{CasePatch, Decision, NoteContent, Priority, RejectionReasonCode, Tag, Tags};
use casework_domain::id::{IdError, OrgUserId};
use casework_domain::validation::{FieldErrors, Violation};
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{Input, Rules, nullable};

const TAG_RULE: &str = "must be 1 to 64 characters of [a-z0-9_:-]";

/// A reviewer or assignee as the body names it: an id, or a malformed one (answered later, as
/// `invalid_reviewer`).
pub type UserRef = Result<OrgUserId, IdError>;

/// `POST /cases`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCase {
    /// The session (public id or UUID).
    #[schema(required = true, value_type = String, max_length = 64)]
    pub session_id: Option<String>,
}

impl Input for NewCase {
    type Domain = String;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let id = rules.required("session_id", self.session_id);
        let id = rules.text("session_id", id, 0, 64);
        rules.finish(id.unwrap_or_default())
    }
}

/// `PATCH /cases/{case_id}`: any of its fields; none may be null (a data-map key set to null is
/// removed).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CasePatchRequest {
    /// Keys to set, or to remove with null; merged one level deep.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Object)]
    pub metadata: Option<Option<Map<String, Value>>>,
    /// Keys to set, or to remove with null; merged one level deep.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Object)]
    pub custom_fields: Option<Option<Map<String, Value>>>,
    /// The new priority (not on a final case).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = String, schema_with = crate::wire::spelling::<Priority>)]
    pub priority: Option<Option<String>>,
    /// The new tag set (duplicates collapse; at most 20).
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Vec<String>, max_items = 20)]
    pub tags: Option<Option<Vec<String>>>,
}

impl Input for CasePatchRequest {
    type Domain = CasePatch;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let map_null = "must be an object (set a key to null to remove it)";
        let metadata = present(&mut rules, "metadata", map_null, self.metadata);
        let custom_fields = present(&mut rules, "custom_fields", map_null, self.custom_fields);
        let priority = present(&mut rules, "priority", "must not be null", self.priority);
        let priority = rules.spelling::<Priority>("priority", priority, Priority::NAMES);
        let tags = match self.tags {
            Some(None) => {
                rules.reject("tags", Violation::InvalidType, "must not be null");
                None
            }
            Some(Some(items)) => tags(&mut rules, items),
            None => None,
        };
        rules.finish(CasePatch { metadata, custom_fields, priority, tags })
    }
}

/// A field whose null is refused (not "absent").
fn present<T>(rules: &mut Rules, name: &str, message: &str, value: Option<Option<T>>) -> Option<T> {
    match value {
        Some(None) => {
            rules.reject(name, Violation::InvalidType, message);
            None
        }
        other => other.flatten(),
    }
}

fn tags(rules: &mut Rules, items: Vec<String>) -> Option<Tags> {
    let mut parsed = Vec::with_capacity(items.len());
    let mut valid = true;
    for (index, item) in items.iter().enumerate() {
        match Tag::parse(item) {
            Ok(tag) => parsed.push(tag),
            Err(violation) => {
                valid = false;
                rules.reject(&format!("tags[{index}]"), violation, TAG_RULE);
            }
        }
    }
    match Tags::new(parsed) {
        Ok(tags) if valid => Some(tags),
        Ok(_) => None,
        Err(violation) => {
            rules.reject("tags", violation, "at most 20 distinct tags");
            None
        }
    }
}

/// `POST /cases/{case_id}/claim` and `/release`: `{reviewer_id?}` (no body reads as `{}`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewerRequest {
    /// The reviewer acting (default: the key's bound user).
    #[schema(value_type = Option<String>)]
    pub reviewer_id: Option<String>,
}

impl Input for ReviewerRequest {
    type Domain = Option<UserRef>;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let reviewer = rules.user("reviewer_id", self.reviewer_id);
        rules.finish(reviewer)
    }
}

/// `POST /cases/next`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NextRequest {
    /// The reviewer claiming (default: the key's bound user).
    pub reviewer_id: Option<String>,
    /// Only cases of this priority.
    #[schema(schema_with = crate::wire::optional_spelling::<Priority>)]
    pub priority: Option<String>,
    /// Only cases with this tag.
    #[schema(pattern = "^[a-z0-9_:-]{1,64}$")]
    pub tag: Option<String>,
}

/// What `next` needs: the reviewer, and the optional filters.
pub type NextInput = (Option<UserRef>, Option<Priority>, Option<Tag>);

impl Input for NextRequest {
    type Domain = NextInput;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let reviewer = rules.user("reviewer_id", self.reviewer_id);
        let priority = rules.spelling::<Priority>("priority", self.priority, Priority::NAMES);
        let tag = rules
            .text("tag", self.tag, 0, 64)
            .and_then(|text| Tag::parse(&text).map_err(|violation| rules.reject("tag", violation, TAG_RULE)).ok());
        rules.finish((reviewer, priority, tag))
    }
}

/// `POST /cases/{case_id}/assign`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// The org user to assign.
    #[schema(required = true, value_type = String)]
    pub assignee_id: Option<String>,
    /// Why.
    #[schema(min_length = 1, max_length = 2000)]
    pub reason: Option<String>,
}

impl Input for AssignRequest {
    type Domain = (UserRef, Option<String>);

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let assignee = rules.user("assignee_id", self.assignee_id);
        let assignee = rules.required("assignee_id", assignee);
        let reason = rules.text("reason", self.reason, 1, 2000);
        match assignee {
            Some(assignee) => rules.finish((assignee, reason)),
            None => Err(rules.into_errors()),
        }
    }
}

/// Inline `notes` of approve, reject and escalate: blank reads as none; else 1–10 000 characters.
fn notes(rules: &mut Rules, value: Option<String>) -> Option<NoteContent> {
    let text = rules.text("notes", value, 0, 10_000)?;
    if text.trim().is_empty() {
        return None;
    }
    NoteContent::parse(&text)
        .map_err(|violation| rules.reject("notes", violation, "must be 1 to 10000 characters"))
        .ok()
}

/// `POST /cases/{case_id}/escalate`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateRequest {
    /// The reviewer it goes to (optional).
    pub escalated_to: Option<String>,
    /// Why (empty reads as none).
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
    /// Kept as a note, after the escalation.
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
}

/// What `escalate` needs: the target, the reason, and an inline note.
pub type EscalateInput = (Option<UserRef>, Option<String>, Option<NoteContent>);

impl Input for EscalateRequest {
    type Domain = EscalateInput;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let to = rules.user("escalated_to", self.escalated_to);
        let reason = rules.text("reason", self.reason, 0, 2000).filter(|r| !r.is_empty());
        let notes = notes(&mut rules, self.notes);
        rules.finish((to, reason, notes))
    }
}

/// `POST /cases/{case_id}/approve` (Verifa's approve and reject share a schema: a
/// `rejection_reason` is accepted and ignored).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveRequest {
    /// The reviewer deciding (default: the key's bound user).
    pub reviewer_id: Option<String>,
    /// Kept as a note, after the decision.
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
    /// Accepted and ignored.
    #[schema(max_length = 2000)]
    pub rejection_reason: Option<String>,
}

impl Input for ApproveRequest {
    type Domain = (Option<UserRef>, DecisionInput);

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let reviewer = rules.user("reviewer_id", self.reviewer_id);
        let notes = notes(&mut rules, self.notes).map(|n| n.as_str().to_owned());
        let _ignored = rules.text("rejection_reason", self.rejection_reason, 0, 2000);
        let input = DecisionInput {
            decision: Decision::Approved,
            notes,
            rejection_reason: None,
            rejection_reason_code: None,
            add_to_blocklist: false,
        };
        rules.finish((reviewer, input))
    }
}

/// `POST /cases/{case_id}/reject`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    /// The reviewer deciding (default: the key's bound user).
    pub reviewer_id: Option<String>,
    /// Why, for people.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 2000)]
    pub rejection_reason: Option<String>,
    /// Why, for machines.
    #[schema(schema_with = crate::wire::optional_spelling::<RejectionReasonCode>)]
    pub rejection_reason_code: Option<String>,
    /// Add the session's document number to the blocklist (default false).
    pub add_to_blocklist: Option<bool>,
    /// Kept as a note, after the decision.
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
}

impl Input for RejectRequest {
    type Domain = (Option<UserRef>, DecisionInput);

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let reviewer = rules.user("reviewer_id", self.reviewer_id);
        let notes = notes(&mut rules, self.notes).map(|n| n.as_str().to_owned());
        let reason = rules.required("rejection_reason", self.rejection_reason);
        let reason = rules.text("rejection_reason", reason, 1, 2000);
        let code = rules.spelling("rejection_reason_code", self.rejection_reason_code, RejectionReasonCode::NAMES);
        let input = DecisionInput {
            decision: Decision::Rejected,
            notes,
            rejection_reason: reason,
            rejection_reason_code: code,
            add_to_blocklist: self.add_to_blocklist.unwrap_or(false),
        };
        rules.finish((reviewer, input))
    }
}

/// `POST /cases/{case_id}/notes`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// 1–10 000 characters, stored trimmed.
    #[schema(required = true, value_type = String, min_length = 1, max_length = 10000)]
    pub content: Option<String>,
}

impl Input for NoteRequest {
    type Domain = NoteContent;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let content = rules.required("content", self.content).and_then(|text| {
            NoteContent::parse(&text)
                .map_err(|violation| rules.reject("content", violation, "must be 1 to 10000 characters"))
                .ok()
        });
        match content {
            Some(content) => rules.finish(content),
            None => Err(rules.into_errors()),
        }
    }
}

/// `PUT /cases/{case_id}/result/pii`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PiiRequest {
    /// The `extracted_data` keys to set (null removes one; `address` is replaced whole).
    #[schema(required = true, value_type = Object)]
    pub extracted_data: Option<Map<String, Value>>,
}

impl Input for PiiRequest {
    type Domain = Map<String, Value>;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        match rules.required("extracted_data", self.extracted_data) {
            Some(data) => rules.finish(data),
            None => Err(rules.into_errors()),
        }
    }
}

/// `POST /cases/{case_id}/checks/{policy}/override`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideRequest {
    /// The overridden result (default true).
    pub passed: Option<bool>,
    /// Why (empty reads as none).
    #[schema(max_length = 2000)]
    pub reason: Option<String>,
    /// The reviewer overriding (default: the key's bound user).
    pub reviewer_id: Option<String>,
}

/// An override's values: the reviewer, whether the check passes, and why.
pub type OverrideFields = (Option<UserRef>, bool, Option<String>);

impl Input for OverrideRequest {
    type Domain = OverrideFields;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let reason = rules.text("reason", self.reason, 0, 2000).filter(|r| !r.is_empty());
        let reviewer = rules.user("reviewer_id", self.reviewer_id);
        rules.finish((reviewer, self.passed.unwrap_or(true), reason))
    }
}

/// A body that takes no field (`POST /cases/demo`): `{}` or none.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Empty {}

impl Input for Empty {
    type Domain = ();

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        Ok(())
    }
}
