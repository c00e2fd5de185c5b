//! Reading a JSON object field by field, collecting every violation with its JSON path, so one
//! 422 names everything wrong: missing, unknown, wrong type, bad value, too long.

use std::collections::BTreeSet;
use std::str::FromStr;

use casework_domain::validation::{FieldErrors, Violation, check_length, json_type};
use serde_json::{Map, Value};

use super::error::ApiError;

/// A body being read; [`finish`](Self::finish) reports unknown fields and every violation.
pub struct Fields {
    object: Map<String, Value>,
    prefix: String,
    seen: BTreeSet<String>,
    errors: FieldErrors,
}

impl Fields {
    /// Reads `object`, whose fields' paths start with `prefix` (empty for the body itself).
    pub fn new(object: Map<String, Value>, prefix: &str) -> Self {
        Self { object, prefix: prefix.to_owned(), seen: BTreeSet::new(), errors: FieldErrors::default() }
    }

    /// The JSON path of `name`.
    pub fn path(&self, name: &str) -> String {
        if self.prefix.is_empty() { name.to_owned() } else { format!("{}.{name}", self.prefix) }
    }

    /// Records a violation at `name`.
    pub fn reject(&mut self, name: &str, violation: Violation, message: impl Into<String>) {
        let path = self.path(name);
        self.errors.push(path, violation, message);
    }

    /// Adds violations found elsewhere (nested parsers).
    pub fn extend(&mut self, errors: FieldErrors) {
        self.errors.extend(errors);
    }

    /// The raw value of `name`, absent and null alike as `None`.
    pub fn value(&mut self, name: &str) -> Option<Value> {
        self.seen.insert(name.to_owned());
        self.object.get(name).filter(|v| !v.is_null()).cloned()
    }

    /// A string of `min..=max` characters, if present.
    pub fn string(&mut self, name: &str, min: usize, max: usize) -> Option<String> {
        match self.value(name)? {
            Value::String(text) => match check_length(&text, min, max) {
                Ok(()) => Some(text),
                Err(violation) => {
                    self.reject(name, violation, format!("must be {min} to {max} characters"));
                    None
                }
            },
            other => {
                self.reject(name, Violation::InvalidType, format!("must be a string, not {}", json_type(&other)));
                None
            }
        }
    }

    /// Whether `name` is present (not null); records `required` when it is not.
    pub fn require(&mut self, name: &str) -> bool {
        let present = self.object.get(name).is_some_and(|v| !v.is_null());
        if !present {
            self.seen.insert(name.to_owned());
            self.reject(name, Violation::Required, "is required");
        }
        present
    }

    /// A required string.
    pub fn required_string(&mut self, name: &str, min: usize, max: usize) -> Option<String> {
        if !self.require(name) {
            return None;
        }
        self.string(name, min, max)
    }

    /// One of an enumeration's spellings, if present.
    pub fn enumeration<T: FromStr>(&mut self, name: &str, allowed: &[&str]) -> Option<T> {
        let text = match self.value(name)? {
            Value::String(text) => text,
            other => {
                self.reject(name, Violation::InvalidType, format!("must be a string, not {}", json_type(&other)));
                return None;
            }
        };
        match text.parse() {
            Ok(value) => Some(value),
            Err(_) => {
                self.reject(name, Violation::InvalidValue, format!("must be one of: {}", allowed.join(", ")));
                None
            }
        }
    }

    /// A boolean, if present.
    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        match self.value(name)? {
            Value::Bool(flag) => Some(flag),
            other => {
                self.reject(name, Violation::InvalidType, format!("must be a boolean, not {}", json_type(&other)));
                None
            }
        }
    }

    /// Whether `name` is present and null (for settings that null clears).
    pub fn is_null(&self, name: &str) -> bool {
        self.object.get(name).is_some_and(Value::is_null)
    }

    /// A whole number, if present.
    pub fn integer(&mut self, name: &str) -> Option<i64> {
        match self.value(name)? {
            Value::Number(number) if number.is_i64() => number.as_i64(),
            Value::Number(_) => {
                self.reject(name, Violation::OutOfRange, "must be a whole number in range");
                None
            }
            other => {
                self.reject(name, Violation::InvalidType, format!("must be an integer, not {}", json_type(&other)));
                None
            }
        }
    }

    /// An array of strings, if present.
    pub fn strings(&mut self, name: &str) -> Option<Vec<String>> {
        let items = self.array(name)?;
        let mut strings = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            match item {
                Value::String(text) => strings.push(text),
                other => {
                    self.reject(
                        &format!("{name}[{index}]"),
                        Violation::InvalidType,
                        format!("must be a string, not {}", json_type(&other)),
                    );
                }
            }
        }
        Some(strings)
    }

    /// An RFC 3339 date-time, if present.
    pub fn timestamp(&mut self, name: &str) -> Option<casework_domain::Timestamp> {
        let text = self.string(name, 1, 64)?;
        match time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339) {
            Ok(at) => Some(at),
            Err(_) => {
                self.reject(name, Violation::InvalidValue, "must be an RFC 3339 date-time");
                None
            }
        }
    }

    /// An object, if present.
    pub fn object(&mut self, name: &str) -> Option<Map<String, Value>> {
        match self.value(name)? {
            Value::Object(object) => Some(object),
            other => {
                self.reject(name, Violation::InvalidType, format!("must be an object, not {}", json_type(&other)));
                None
            }
        }
    }

    /// An array, if present.
    pub fn array(&mut self, name: &str) -> Option<Vec<Value>> {
        match self.value(name)? {
            Value::Array(items) => Some(items),
            other => {
                self.reject(name, Violation::InvalidType, format!("must be an array, not {}", json_type(&other)));
                None
            }
        }
    }

    /// The violations, with one `unknown_field` per key never read.
    pub fn into_errors(mut self) -> FieldErrors {
        let unknown: Vec<String> = self.object.keys().filter(|k| !self.seen.contains(*k)).cloned().collect();
        for key in unknown {
            self.reject(&key, Violation::UnknownField, "is not a field of this request");
        }
        self.errors
    }

    /// `Ok(())` when the body was valid.
    ///
    /// # Errors
    /// 422 `validation_failed` listing every violation.
    pub fn finish(self) -> Result<(), ApiError> {
        let errors = self.into_errors();
        if errors.is_empty() { Ok(()) } else { Err(ApiError::validation(errors)) }
    }
}
