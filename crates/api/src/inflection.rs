//! Key inflection (`Key-Inflection: snake | camel | kebab`, and a webhook endpoint's
//! `key_inflection`): the keys of a JSON body, recursively, except inside data maps
//! (`metadata`, `custom_fields`, `extracted_data`, `checks[].details`, event `changes`, a
//! result's `check_results` keyed by policy), whose keys are the client's. Values (enums, `errors[].field`) never change.

use casework_domain::webhook::KeyInflection;
use serde_json::{Map, Value};

/// Objects under these keys keep their keys.
const DATA_MAPS: [&str; 6] = ["metadata", "custom_fields", "extracted_data", "details", "changes", "check_results"];

fn key(inflection: KeyInflection, key: &str) -> String {
    match inflection {
        KeyInflection::Snake => key.to_owned(),
        KeyInflection::Kebab => key.replace('_', "-"),
        KeyInflection::Camel => {
            let mut out = String::with_capacity(key.len());
            let mut upper = false;
            for c in key.chars() {
                if c == '_' {
                    upper = true;
                } else if upper {
                    out.extend(c.to_uppercase());
                    upper = false;
                } else {
                    out.push(c);
                }
            }
            out
        }
    }
}

/// `value` with its keys spelled as `inflection` says.
pub fn inflect(inflection: KeyInflection, value: Value) -> Value {
    if inflection == KeyInflection::Snake {
        return value;
    }
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(name, child)| {
                    let child = if DATA_MAPS.contains(&name.as_str()) { child } else { inflect(inflection, child) };
                    (key(inflection, &name), child)
                })
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(|item| inflect(inflection, item)).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn keys_are_inflected_except_in_data_maps_and_values() {
        let body = json!({"session_id": "x", "sla": {"age_seconds": 1}, "metadata": {"my_key": 1},
            "session": {"extracted_data": {"first_name": "A"}, "checks": [{"policy": "face_match", "details": {"raw_score": 1}}]},
            "errors": [{"field": "reviewer_id", "code": "invalid_value"}]});
        let camel = inflect(KeyInflection::Camel, body.clone());
        assert_eq!(
            camel,
            json!({"sessionId": "x", "sla": {"ageSeconds": 1}, "metadata": {"my_key": 1},
                "session": {"extractedData": {"first_name": "A"}, "checks": [{"policy": "face_match", "details": {"raw_score": 1}}]},
                "errors": [{"field": "reviewer_id", "code": "invalid_value"}]})
        );
        assert_eq!(inflect(KeyInflection::Kebab, json!({"claim_expires_at": null}))["claim-expires-at"], Value::Null);
        assert_eq!(inflect(KeyInflection::Snake, body.clone()), body);
    }
}
