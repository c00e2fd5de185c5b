//! `Key-Inflection: snake | camel | kebab`: the keys of JSON response bodies, recursively, except
//! inside data maps (`metadata`, `custom_fields`, `extracted_data`, `checks[].details`, event
//! `changes`), whose keys are the client's. Values (enums, `errors[].field`) never change.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use serde_json::{Map, Value};

use super::error::ApiError;

/// Objects under these keys keep their keys.
const DATA_MAPS: [&str; 5] = ["metadata", "custom_fields", "extracted_data", "details", "changes"];

/// How response keys are spelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inflection {
    /// `session_id` (the default).
    Snake,
    /// `sessionId`.
    Camel,
    /// `session-id`.
    Kebab,
}

impl Inflection {
    /// The request's `Key-Inflection`.
    ///
    /// # Errors
    /// 400 `invalid_key_inflection` for any other value.
    pub fn of(request: &HttpRequest) -> Result<Self, ApiError> {
        let Some(value) = request.headers().get("key-inflection") else { return Ok(Self::Snake) };
        match value.to_str().map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            Ok("snake") => Ok(Self::Snake),
            Ok("camel") => Ok(Self::Camel),
            Ok("kebab") => Ok(Self::Kebab),
            _ => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_key_inflection",
                "Key-Inflection must be snake, camel or kebab.",
            )),
        }
    }

    fn key(self, key: &str) -> String {
        match self {
            Self::Snake => key.to_owned(),
            Self::Kebab => key.replace('_', "-"),
            Self::Camel => {
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

    /// `value` with its keys inflected.
    pub fn apply(self, value: Value) -> Value {
        if self == Self::Snake {
            return value;
        }
        match value {
            Value::Object(object) => Value::Object(
                object
                    .into_iter()
                    .map(|(key, child)| {
                        let child = if DATA_MAPS.contains(&key.as_str()) { child } else { self.apply(child) };
                        (self.key(&key), child)
                    })
                    .collect::<Map<String, Value>>(),
            ),
            Value::Array(items) => Value::Array(items.into_iter().map(|item| self.apply(item)).collect()),
            other => other,
        }
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
        let camel = Inflection::Camel.apply(body.clone());
        assert_eq!(
            camel,
            json!({"sessionId": "x", "sla": {"ageSeconds": 1}, "metadata": {"my_key": 1},
                "session": {"extractedData": {"first_name": "A"}, "checks": [{"policy": "face_match", "details": {"raw_score": 1}}]},
                "errors": [{"field": "reviewer_id", "code": "invalid_value"}]})
        );
        assert_eq!(Inflection::Kebab.apply(json!({"claim_expires_at": null}))["claim-expires-at"], Value::Null);
        assert_eq!(Inflection::Snake.apply(body.clone()), body);
    }
}
