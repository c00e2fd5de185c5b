//! Client key/value maps (`metadata`, `custom_fields`) with their size limits.

use serde_json::{Map, Value};

use crate::validation::Violation;

/// At most this many keys.
pub const MAX_KEYS: usize = 50;
/// At most this many bytes as compact JSON.
pub const MAX_BYTES: usize = 16 * 1024;

/// A JSON object of client data: ≤ 50 keys and ≤ 16 KiB as compact JSON.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DataMap(Map<String, Value>);

impl DataMap {
    /// Validates the limits.
    ///
    /// # Errors
    /// [`Violation::TooMany`] over 50 keys, [`Violation::TooLong`] over 16 KiB.
    pub fn parse(map: Map<String, Value>) -> Result<Self, Violation> {
        if map.len() > MAX_KEYS {
            return Err(Violation::TooMany);
        }
        if Value::Object(map.clone()).to_string().len() > MAX_BYTES {
            return Err(Violation::TooLong);
        }
        Ok(Self(map))
    }

    /// The map.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.0
    }

    /// The map as a JSON value.
    pub fn to_value(&self) -> Value {
        Value::Object(self.0.clone())
    }

    /// Merges `patch` one level deep: a key set to null is removed, any other value replaces.
    ///
    /// # Errors
    /// The limits, checked on the result.
    pub fn merged(&self, patch: &Map<String, Value>) -> Result<Self, Violation> {
        let mut map = self.0.clone();
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                map.insert(key.clone(), value.clone());
            }
        }
        Self::parse(map)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn object(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn limits_are_enforced() {
        let many: Map<String, Value> = (0..51).map(|i| (format!("k{i}"), json!(1))).collect();
        assert_eq!(DataMap::parse(many), Err(Violation::TooMany));
        let big = object(json!({"k": "x".repeat(MAX_BYTES)}));
        assert_eq!(DataMap::parse(big), Err(Violation::TooLong));
    }

    #[test]
    fn merge_replaces_and_removes_one_level_deep() {
        let base = DataMap::parse(object(json!({"a": 1, "b": {"x": 1}, "c": 3}))).unwrap_or_default();
        let merged = base.merged(&object(json!({"a": null, "b": {"y": 2}}))).unwrap_or_default();
        assert_eq!(merged.to_value(), json!({"b": {"y": 2}, "c": 3}));
    }
}
