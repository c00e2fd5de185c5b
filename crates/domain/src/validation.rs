//! Field-level validation shared by every parser: what is wrong, and where (a JSON path).

use std::fmt;

/// What is wrong with one value; the HTTP layer turns each into an `errors[]` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A required value is missing.
    Required,
    /// A key that the schema does not have.
    UnknownField,
    /// The JSON type is wrong.
    InvalidType,
    /// The right type, but a value that is not allowed (a bad enum, a malformed date).
    InvalidValue,
    /// Shorter than allowed.
    TooShort,
    /// Longer than allowed.
    TooLong,
    /// More items than allowed.
    TooMany,
    /// A number outside its range.
    OutOfRange,
}

impl Violation {
    /// The stable code of CONVENTIONS.md, Errors.
    pub fn code(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::UnknownField => "unknown_field",
            Self::InvalidType => "invalid_type",
            Self::InvalidValue => "invalid_value",
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::TooMany => "too_many",
            Self::OutOfRange => "out_of_range",
        }
    }
}

/// One violation at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The JSON path (`checks[2].policy`) or query parameter name.
    pub field: String,
    /// What is wrong.
    pub violation: Violation,
    /// A sentence for people.
    pub message: String,
}

/// Every violation found in one input; empty means valid.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Records one violation.
    pub fn push(&mut self, field: impl Into<String>, violation: Violation, message: impl Into<String>) {
        self.0.push(FieldError { field: field.into(), violation, message: message.into() });
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The violations, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &FieldError> {
        self.0.iter()
    }

    /// Appends every violation of `other`.
    pub fn extend(&mut self, other: Self) {
        self.0.extend(other.0);
    }

    /// `Ok(value)` when nothing was recorded.
    ///
    /// # Errors
    /// Returns `self` when any violation was recorded.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.is_empty() { Ok(value) } else { Err(self) }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for FieldErrors {}

/// Checks a string's length in characters against `min..=max`.
pub fn check_length(value: &str, min: usize, max: usize) -> Result<(), Violation> {
    let length = value.chars().count();
    if length < min {
        Err(Violation::TooShort)
    } else if length > max {
        Err(Violation::TooLong)
    } else {
        Ok(())
    }
}

/// The JSON type of `value`, as a sentence fragment ("a string").
pub fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}
