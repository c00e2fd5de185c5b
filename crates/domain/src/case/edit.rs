//! Edits that are not lifecycle moves: PATCH (priority, tags, client data) and notes.

use serde_json::{Map, Value, json};

use super::Case;
use super::event::{Actor, CaseEvent, EventType};
use super::fields::{Priority, Tags};
use super::lifecycle::{Caller, Transition};
use super::note::{AuthorType, Note, NoteContent};
use crate::id::NoteId;
use crate::validation::Violation;

/// `PATCH /cases/{id}`: each field optional; `metadata` and `custom_fields` merge one level deep
/// (a key set to null is removed), `tags` replaces the set.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CasePatch {
    /// Keys to set or (null) remove.
    pub metadata: Option<Map<String, Value>>,
    /// Keys to set or (null) remove.
    pub custom_fields: Option<Map<String, Value>>,
    /// The new priority.
    pub priority: Option<Priority>,
    /// The new tag set.
    pub tags: Option<Tags>,
}

/// Why a PATCH was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// 409 `case_already_decided`: `priority` in the body of a final case, even unchanged.
    #[error("the case is already decided")]
    AlreadyDecided,
    /// 422: the merged map breaks its limits (`field` names it).
    #[error("{field} would exceed its limits")]
    Limits {
        /// `metadata` or `custom_fields`.
        field: &'static str,
        /// Which limit.
        violation: Violation,
    },
}

/// The keys of `patch` whose value differs from `before`, old and new.
fn changed_keys(before: &Map<String, Value>, patch: &Map<String, Value>) -> Option<(Value, Value)> {
    let mut from = Map::new();
    let mut to = Map::new();
    for (key, value) in patch {
        let old = before.get(key).cloned().unwrap_or(Value::Null);
        if &old != value {
            from.insert(key.clone(), old);
            to.insert(key.clone(), value.clone());
        }
    }
    (!to.is_empty()).then_some((Value::Object(from), Value::Object(to)))
}

impl Case {
    /// Applies a PATCH; `Ok(None)` when it changes nothing (no event, no new version).
    ///
    /// # Errors
    /// See [`UpdateError`].
    pub fn update(&self, caller: &Caller, patch: &CasePatch) -> Result<Option<Transition>, UpdateError> {
        let now = caller.now;
        let current = self.as_of(now);
        if current.is_final() && patch.priority.is_some() {
            return Err(UpdateError::AlreadyDecided);
        }
        let mut case = current.clone();
        let mut event = CaseEvent::new(EventType::Updated, caller.actor.clone(), now);
        let mut only_tags = true;
        if let Some(priority) = patch.priority {
            case.priority = priority;
            event = event.with_change("priority", json!(current.priority.as_str()), json!(priority.as_str()));
            only_tags &= priority == current.priority;
        }
        for (field, changes, target) in [
            ("metadata", &patch.metadata, &mut case.metadata),
            ("custom_fields", &patch.custom_fields, &mut case.custom_fields),
        ] {
            let Some(changes) = changes else { continue };
            *target = target.merged(changes).map_err(|violation| UpdateError::Limits { field, violation })?;
            if let Some((from, to)) = changed_keys(current_map(&current, field), changes) {
                event.changes.insert(field.to_owned(), json!({"from": from, "to": to}));
                only_tags = false;
            }
        }
        if let Some(tags) = &patch.tags {
            case.tags = tags.clone();
            let names = |tags: &Tags| json!(tags.iter().map(|t| t.as_str()).collect::<Vec<_>>());
            event = event.with_change("tags", names(&current.tags), names(tags));
        }
        if event.changes.is_empty() {
            return Ok(None);
        }
        if only_tags {
            event.event_type = EventType::TagsChanged;
        }
        case.version += 1;
        case.updated_at = now;
        Ok(Some(Transition { case, event }))
    }

    /// A note on this case by the caller, and its `note_added` event. Notes never change the
    /// case or its `version`, and are accepted in every status.
    pub fn note(&self, caller: &Caller, id: NoteId, content: NoteContent) -> (Note, CaseEvent) {
        let (author_type, author_id, author_name) = match &caller.actor {
            Actor::OrgUser { id, name } => (AuthorType::Org, Some(*id), name.clone()),
            Actor::ApiKey { name, .. } | Actor::Agent { name, .. } => (AuthorType::Api, None, name.clone()),
            Actor::System => (AuthorType::Api, None, "casework".to_owned()),
        };
        let note = Note { id, case_id: self.id, author_name, author_type, author_id, content, created_at: caller.now };
        let event = CaseEvent::new(EventType::NoteAdded, caller.actor.clone(), caller.now).with_change(
            "note_id",
            Value::Null,
            json!(id.uuid()),
        );
        (note, event)
    }
}

fn current_map<'a>(case: &'a Case, field: &str) -> &'a Map<String, Value> {
    if field == "metadata" { case.metadata.as_map() } else { case.custom_fields.as_map() }
}
