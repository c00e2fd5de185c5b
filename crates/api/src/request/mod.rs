//! Request bodies as types. Reading one is two steps: serde reads the JSON types (an unknown
//! field, a wrong JSON type: one error at a time, at its JSON path), then `into_domain` checks
//! every value at once (lengths, enumerations, formats, ranges, required fields) and returns the
//! domain's values, so a handler hands the service `NoteContent`, `Tag`, `OrgUserId`…, never a
//! string to parse again.
//!
//! Optional fields are `Option`s: absent and `null` read alike, except where a body refuses null
//! ([`nullable`]). Required fields are `Option`s too, so a missing one is reported with every
//! other value error instead of alone.

pub mod admin;
pub mod case;
pub mod query;
pub mod search;
pub mod session;
pub mod webhook;

use std::str::FromStr;

use casework_domain::Timestamp;
use casework_domain::id::{IdError, OrgUserId};
use casework_domain::validation::{FieldErrors, Violation, check_length, json_type};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// A request body: read by serde, then checked into the domain's values.
pub trait Input: DeserializeOwned {
    /// What the handler hands the service.
    type Domain;

    /// Every value checked, all violations at once.
    ///
    /// # Errors
    /// Every value that breaks a rule, at its path.
    fn into_domain(self) -> Result<Self::Domain, FieldErrors>;
}

/// Reads `body` as request `T` and checks it, reporting every violation at once: each unknown
/// field, each field of the wrong JSON type (set aside so the others are still read), then every
/// value rule of what remains.
///
/// # Errors
/// Every violation found, each at its JSON path.
pub fn read<T: Input>(mut body: Map<String, Value>) -> Result<T::Domain, FieldErrors> {
    let known = field_names::<T>();
    let mut errors = FieldErrors::default();
    let unknown: Vec<String> = body.keys().filter(|key| !known.contains(&key.as_str())).cloned().collect();
    for key in unknown {
        body.remove(&key);
        errors.push(key, Violation::UnknownField, "is not a field of this request");
    }
    let mut set_aside: Vec<String> = Vec::new();
    let input = loop {
        match parse::<T>(&body) {
            Ok(input) => break input,
            Err(violations) => {
                // Set the field of the first type error aside and read the rest again: each
                // pass removes one field, so this ends.
                let field = violations.iter().next().map(|e| top_level(&e.field).to_owned()).unwrap_or_default();
                errors.extend(violations);
                if body.remove(&field).is_none() {
                    return Err(errors);
                }
                set_aside.push(field);
            }
        }
    };
    match input.into_domain() {
        Ok(domain) if errors.is_empty() => Ok(domain),
        Ok(_) => Err(errors),
        Err(violations) => {
            // A field set aside for its type is not also "missing".
            for violation in violations.iter() {
                if !(violation.violation == Violation::Required && set_aside.contains(&violation.field)) {
                    errors.push(violation.field.clone(), violation.violation, violation.message.clone());
                }
            }
            Err(errors)
        }
    }
}

/// The body field a JSON path starts in (`checks` of `checks[1].policy`).
fn top_level(path: &str) -> &str {
    path.split(['.', '[']).next().unwrap_or(path)
}

/// An item of an array of objects, read on its own so that one item of the wrong type does not
/// hide the others' errors: the item, or its violations (paths relative to the item).
#[derive(Debug)]
pub enum Item<T> {
    /// Read.
    Read(T),
    /// Not of its type.
    Wrong(FieldErrors),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Item<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(match value {
            Value::Object(object) => match parse::<T>(&object) {
                Ok(item) => Self::Read(item),
                Err(errors) => Self::Wrong(errors),
            },
            other => {
                let mut errors = FieldErrors::default();
                errors.push("", Violation::InvalidType, format!("must be an object, not {}", json_type(&other)));
                Self::Wrong(errors)
            }
        })
    }
}

impl<T> Item<T> {
    /// The item, or its violations under `path` (`checks[1]`).
    ///
    /// # Errors
    /// The item's violations, each prefixed with `path`.
    pub fn at(self, path: &str) -> Result<T, FieldErrors> {
        match self {
            Self::Read(item) => Ok(item),
            Self::Wrong(errors) => {
                let mut prefixed = FieldErrors::default();
                for error in errors.iter() {
                    let field =
                        if error.field.is_empty() { path.to_owned() } else { format!("{path}.{}", error.field) };
                    prefixed.push(field, error.violation, error.message.clone());
                }
                Err(prefixed)
            }
        }
    }
}

/// The field names a derived `Deserialize` struct declares (serde hands them to
/// `deserialize_struct`), so unknown fields can all be named, not just the first.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error, Visitor};

    struct Probe<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
            Err(Self::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(Self::Error::custom("fields read"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _probed = T::deserialize(Probe(&mut fields));
    fields
}

/// Reads `body` as `T`: the JSON types, the first wrong one reported at its path.
///
/// # Errors
/// The first type error (or unknown field), as one violation.
pub fn parse<T: DeserializeOwned>(body: &Map<String, Value>) -> Result<T, FieldErrors> {
    // Read from a borrowed map: a body read again after a type error is not copied.
    serde_path_to_error::deserialize(MapRef(body)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        let mut errors = FieldErrors::default();
        let (violation, message) = describe(&inner);
        let path = match violation {
            Violation::Required => joined(&path, between(&inner, "missing field `", "`").unwrap_or_default()),
            _ => path,
        };
        errors.push(if path == "." { String::new() } else { path }, violation, message);
        errors
    })
}

/// A borrowed JSON object as a serde deserializer.
struct MapRef<'a>(&'a Map<String, Value>);

impl<'de> Deserializer<'de> for MapRef<'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.deserialize_struct(name, fields, visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}

fn joined(path: &str, field: &str) -> String {
    if path.is_empty() || path == "." { field.to_owned() } else { format!("{path}.{field}") }
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let rest = text.split_once(start)?.1;
    Some(rest.split_once(end).map_or(rest, |(inside, _)| inside))
}

/// The violation serde's message describes, and a sentence for people.
fn describe(message: &str) -> (Violation, String) {
    let expected = between(message, "expected ", " at line")
        .unwrap_or_else(|| message.rsplit("expected ").next().unwrap_or(message));
    if message.starts_with("unknown field") {
        (Violation::UnknownField, "is not a field of this request".to_owned())
    } else if message.starts_with("missing field") {
        (Violation::Required, "is required".to_owned())
    } else if message.starts_with("invalid type") {
        (Violation::InvalidType, format!("must be {}", expected.trim_end_matches('.')))
    } else if message.starts_with("invalid value: integer") || message.contains("out of range") {
        (Violation::OutOfRange, "is out of range".to_owned())
    } else {
        (Violation::InvalidValue, format!("must be {}", expected.trim_end_matches('.')))
    }
}

/// For fields where `null` is not "absent": `None` when absent, `Some(None)` for null.
///
/// # Errors
/// The inner type's.
pub fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Collects the value errors of one body, each at its path, and reports them together.
#[derive(Debug, Default)]
pub struct Rules {
    prefix: String,
    errors: FieldErrors,
}

impl Rules {
    /// Rules for an object at `prefix` (empty for the body).
    pub fn at(prefix: &str) -> Self {
        Self { prefix: prefix.to_owned(), errors: FieldErrors::default() }
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

    /// Adds violations found elsewhere (a nested object's rules, a domain parser).
    pub fn extend(&mut self, errors: FieldErrors) {
        self.errors.extend(errors);
    }

    /// `value`, or `required` at `name`.
    pub fn required<T>(&mut self, name: &str, value: Option<T>) -> Option<T> {
        if value.is_none() {
            self.reject(name, Violation::Required, "is required");
        }
        value
    }

    /// A text of `min..=max` characters.
    pub fn text(&mut self, name: &str, value: Option<String>, min: usize, max: usize) -> Option<String> {
        let text = value?;
        match check_length(&text, min, max) {
            Ok(()) => Some(text),
            Err(violation) => {
                self.reject(name, violation, format!("must be {min} to {max} characters"));
                None
            }
        }
    }

    /// One of an enumeration's spellings.
    pub fn spelling<E: FromStr>(&mut self, name: &str, value: Option<String>, allowed: &[&str]) -> Option<E> {
        let text = value?;
        match text.parse() {
            Ok(value) => Some(value),
            Err(_) => {
                self.reject(name, Violation::InvalidValue, format!("must be one of: {}", allowed.join(", ")));
                None
            }
        }
    }

    /// An org user named by a body field: an id, or a malformed one (the contract answers it
    /// later, as `invalid_reviewer`, once the case is known to exist). At most 64 characters.
    pub fn user(&mut self, name: &str, value: Option<String>) -> Option<Result<OrgUserId, IdError>> {
        self.text(name, value, 0, 64).map(|text| OrgUserId::parse(&text))
    }

    /// An RFC 3339 date-time.
    pub fn time(&mut self, name: &str, value: Option<String>) -> Option<Timestamp> {
        let text = self.text(name, value, 1, 64)?;
        match time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339) {
            Ok(at) => Some(at),
            Err(_) => {
                self.reject(name, Violation::InvalidValue, "must be an RFC 3339 date-time");
                None
            }
        }
    }

    /// `Ok(value)` when no rule was broken.
    ///
    /// # Errors
    /// Every violation recorded.
    pub fn finish<T>(self, value: T) -> Result<T, FieldErrors> {
        self.errors.into_result(value)
    }

    /// The violations recorded (for a nested object's rules).
    pub fn into_errors(self) -> FieldErrors {
        self.errors
    }
}
