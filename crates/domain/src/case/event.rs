//! Case events: the audit trail. Every change to a case writes exactly one, in the same
//! transaction, naming who acted and what changed (never a PII value).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Timestamp;
use crate::directory::Principal;
use crate::id::{ApiKeyId, OrgUserId};

string_enum! {
    /// What happened to a case.
    EventType {
        /// The case was opened.
        Created = "created",
        /// A reviewer took a lease.
        Claimed = "claimed",
        /// The holder extended its lease.
        ClaimRenewed = "claim_renewed",
        /// The lease (or assignment) was given up.
        Released = "released",
        /// The lease lapsed (recorded by the system).
        ClaimExpired = "claim_expired",
        /// Someone was assigned.
        Assigned = "assigned",
        /// The case was escalated.
        Escalated = "escalated",
        /// Dual review: a first decision was recorded as a recommendation.
        Recommended = "recommended",
        /// Finally approved.
        Approved = "approved",
        /// Finally rejected.
        Rejected = "rejected",
        /// Priority, metadata or custom fields changed.
        Updated = "updated",
        /// Only the tags changed.
        TagsChanged = "tags_changed",
        /// A note was added.
        NoteAdded = "note_added",
        /// Extracted data was corrected.
        PiiUpdated = "pii_updated",
        /// A check was overridden.
        CheckOverridden = "check_overridden",
        /// Retention wiped the session's PII.
        Redacted = "redacted",
        /// An agent (through `/mcp`) suggested a decision; nothing on the case changes.
        AgentRecommended = "agent_recommended",
        /// A person unmasked extracted data in the console (no version change, no webhook).
        PiiRevealed = "pii_revealed",
    }
}

impl EventType {
    /// The webhook event this case event produces, if any (WEBHOOKS.md, Events).
    pub fn webhook_event(self) -> Option<String> {
        match self {
            Self::ClaimRenewed | Self::Redacted | Self::PiiRevealed => None,
            Self::TagsChanged => Some("case.updated".to_owned()),
            other => Some(format!("case.{}", other.as_str())),
        }
    }
}

/// Who performed an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A reviewer (the request's reviewer).
    OrgUser {
        /// The reviewer.
        id: OrgUserId,
        /// Their name at the time.
        name: String,
    },
    /// An API key acting without a reviewer.
    ApiKey {
        /// The key.
        id: ApiKeyId,
        /// Its name at the time.
        name: String,
    },
    /// Sweepers and workers.
    System,
    /// An AI agent calling through `/mcp` with an API key.
    Agent {
        /// The key.
        id: ApiKeyId,
        /// `<key name> via <MCP client name>`.
        name: String,
    },
}

impl Actor {
    /// The actor of a request: an agent for every call through `/mcp`, else its reviewer when
    /// it has one, else its API key.
    pub fn of_request(principal: &Principal, reviewer: Option<(OrgUserId, String)>) -> Self {
        if let Some(client) = &principal.agent {
            return Self::Agent { id: principal.key_id, name: format!("{} via {client}", principal.key_name) };
        }
        match reviewer {
            Some((id, name)) => Self::OrgUser { id, name },
            None => Self::ApiKey { id: principal.key_id, name: principal.key_name.clone() },
        }
    }
}

/// Field → what changed, in field order: `{from, to}` for values, `{fields: [names]}` for PII
/// (whose values never appear in events).
pub type Changes = BTreeMap<String, Value>;

/// One entry of the audit trail (its id is given when it is recorded).
#[derive(Debug, Clone, PartialEq)]
pub struct CaseEvent {
    /// What happened.
    pub event_type: EventType,
    /// Who did it.
    pub actor: Actor,
    /// What changed (`{}` when nothing is worth naming).
    pub changes: Changes,
    /// A reason given with the action.
    pub reason: Option<String>,
    /// When.
    pub at: Timestamp,
}

impl CaseEvent {
    /// An event with no changes and no reason.
    pub fn new(event_type: EventType, actor: Actor, at: Timestamp) -> Self {
        Self { event_type, actor, changes: Changes::new(), reason: None, at }
    }

    /// Records that `field` went from `from` to `to`, when they differ.
    #[must_use]
    pub fn with_change(mut self, field: &str, from: Value, to: Value) -> Self {
        if from != to {
            self.changes.insert(field.to_owned(), serde_json::json!({"from": from, "to": to}));
        }
        self
    }

    /// Records which fields of `field` changed, without their values.
    #[must_use]
    pub fn with_field_names(mut self, field: &str, names: Vec<String>) -> Self {
        self.changes.insert(field.to_owned(), serde_json::json!({"fields": names}));
        self
    }

    /// Records `field` as `value` itself (for events that describe rather than change, such as
    /// an agent's recommendation: `{decision, reason}`).
    #[must_use]
    pub fn with_value(mut self, field: &str, value: Value) -> Self {
        self.changes.insert(field.to_owned(), value);
        self
    }

    /// Sets the reason.
    #[must_use]
    pub fn with_reason(mut self, reason: Option<String>) -> Self {
        self.reason = reason;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_names_follow_the_contract() {
        assert_eq!(EventType::TagsChanged.webhook_event().as_deref(), Some("case.updated"));
        assert_eq!(EventType::ClaimRenewed.webhook_event(), None);
        assert_eq!(EventType::Redacted.webhook_event(), None);
        assert_eq!(EventType::ClaimExpired.webhook_event().as_deref(), Some("case.claim_expired"));
        assert_eq!(EventType::AgentRecommended.webhook_event().as_deref(), Some("case.agent_recommended"));
        for event in EventType::ALL {
            if let Some(name) = event.webhook_event() {
                assert!(crate::webhook::EVENT_NAMES.contains(&name.as_str()), "{name} is a subscribable event");
            }
        }
    }
}
