//! The webhook endpoints' bodies (WEBHOOKS.md, Endpoints).

use casework_domain::Timestamp;
use casework_domain::validation::FieldErrors;
use casework_domain::webhook::{EndpointDraft, EndpointPatch, KeyInflection, check_events, normalize_events};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{Input, Rules, nullable};

/// The longest URL accepted.
const URL_MAX: usize = 2048;
/// The longest label.
const LABEL_MAX: usize = 255;
/// The longest description.
const DESCRIPTION_MAX: usize = 2000;

fn inflection(rules: &mut Rules, value: Option<String>) -> Option<KeyInflection> {
    rules.spelling::<KeyInflection>("key_inflection", value, KeyInflection::NAMES)
}

fn events(rules: &mut Rules, value: Option<Vec<String>>) -> Option<Vec<String>> {
    let names = value?;
    let mut errors = FieldErrors::default();
    check_events(&names, &rules.path("enabled_events"), &mut errors);
    let valid = errors.is_empty();
    rules.extend(errors);
    valid.then(|| normalize_events(names))
}

/// `POST /webhooks/endpoints`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEndpointRequest {
    /// `https://…` (`http://` in sandbox).
    #[schema(required = true, value_type = String, max_length = 2048)]
    pub url: Option<String>,
    /// Event names, or `"*"`; empty or omitted: every event.
    pub enabled_events: Option<Vec<String>>,
    /// A short name.
    #[schema(min_length = 1, max_length = 255)]
    pub label: Option<String>,
    /// Free text.
    #[schema(min_length = 1, max_length = 2000)]
    pub description: Option<String>,
    /// How payload keys are spelled (default `snake`).
    #[schema(schema_with = crate::wire::optional_spelling::<KeyInflection>)]
    pub key_inflection: Option<String>,
}

impl Input for NewEndpointRequest {
    type Domain = EndpointDraft;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let url = rules.required("url", self.url);
        let url = rules.text("url", url, 1, URL_MAX);
        let enabled_events = events(&mut rules, self.enabled_events).unwrap_or_default();
        let label = rules.text("label", self.label, 1, LABEL_MAX);
        let description = rules.text("description", self.description, 1, DESCRIPTION_MAX);
        let key_inflection = inflection(&mut rules, self.key_inflection).unwrap_or(KeyInflection::Snake);
        match url {
            Some(url) => rules.finish(EndpointDraft { url, enabled_events, label, description, key_inflection }),
            None => Err(rules.into_errors()),
        }
    }
}

/// `PATCH /webhooks/endpoints/{id}`: only the fields given change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatchRequest {
    /// A new URL.
    #[schema(max_length = 2048)]
    pub url: Option<String>,
    /// A new subscription (`"*"` or empty: every event).
    pub enabled_events: Option<Vec<String>>,
    /// `true` re-enables a disabled endpoint (what was kept goes out).
    pub enabled: Option<bool>,
    /// A new label; null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 255)]
    pub label: Option<Option<String>>,
    /// A new description; null clears it.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 2000)]
    pub description: Option<Option<String>>,
    /// How payload keys are spelled.
    #[schema(schema_with = crate::wire::optional_spelling::<KeyInflection>)]
    pub key_inflection: Option<String>,
}

impl Input for EndpointPatchRequest {
    type Domain = EndpointPatch;

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let url = rules.text("url", self.url, 1, URL_MAX);
        let enabled_events = events(&mut rules, self.enabled_events);
        let label = self.label.map(|label| rules.text("label", label, 1, LABEL_MAX));
        let description = self.description.map(|text| rules.text("description", text, 1, DESCRIPTION_MAX));
        let key_inflection = inflection(&mut rules, self.key_inflection);
        rules.finish(EndpointPatch { url, enabled_events, enabled: self.enabled, label, description, key_inflection })
    }
}

/// `POST /webhooks/endpoints/{id}/recover`: the window to queue again.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecoverRequest {
    /// The window's start (RFC 3339; at most 7 days back).
    #[schema(required = true, value_type = String, format = DateTime)]
    pub since: Option<String>,
    /// The window's end (default: now).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<String>,
}

impl Input for RecoverRequest {
    type Domain = (Timestamp, Option<Timestamp>);

    fn into_domain(self) -> Result<Self::Domain, FieldErrors> {
        let mut rules = Rules::at("");
        let since = rules.required("since", self.since);
        let since = rules.time("since", since);
        let until = rules.time("until", self.until);
        match since {
            Some(since) => rules.finish((since, until)),
            None => Err(rules.into_errors()),
        }
    }
}
