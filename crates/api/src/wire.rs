//! The building blocks of every shape: [`Time`] (RFC 3339, UTC, six fractional digits),
//! [`Spelling`] (a domain enumeration as its wire spelling, described as a string enum) and
//! [`DataMap`] (a client's free JSON object, keys kept as sent).

use casework_domain::{Spelled, Timestamp};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// RFC 3339 in UTC with exactly six fractional digits and `Z`: `2026-11-25T09:30:00.000000Z`.
pub fn format_time(at: Timestamp) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second(),
        at.microsecond()
    )
}

/// A point in time on the wire (CONVENTIONS.md, Formats).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub Timestamp);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&format_time(self.0))
    }
}

impl PartialSchema for Time {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339 in UTC with six fractional digits: 2026-11-25T09:30:00.000000Z."))
            .into()
    }
}

impl ToSchema for Time {}

impl From<Timestamp> for Time {
    fn from(at: Timestamp) -> Self {
        Self(at)
    }
}

/// A domain enumeration on the wire: its spelling. Fields of this type describe themselves with
/// `#[schema(schema_with = spelling::<E>)]` (or [`optional_spelling`]).
pub struct Spelling<E>(pub E);

impl<E: Spelled> Serialize for Spelling<E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.spelling())
    }
}

/// The schema of a [`Spelling`]: a string, one of the enumeration's spellings.
pub fn spelling<E: Spelled>() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(E::VALUES.iter().map(|value| value.spelling())))
        .title(Some(E::TYPE_NAME))
        .into()
}

/// The schema of an optional [`Spelling`]: one of the spellings, or null.
pub fn optional_spelling<E: Spelled>() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(E::VALUES.iter().map(|value| Some(value.spelling())).chain([None])))
        .title(Some(E::TYPE_NAME))
        .into()
}

impl<E: Spelled> From<E> for Spelling<E> {
    fn from(value: E) -> Self {
        Self(value)
    }
}

impl<E: Spelled + std::fmt::Debug> std::fmt::Debug for Spelling<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A free JSON object (`metadata`, `custom_fields`, `extracted_data`, check `details`, event
/// `changes`): its keys are the client's, never inflected.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct DataMap(pub Map<String, Value>);

impl PartialSchema for DataMap {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(true)))
            .description(Some("A data map: its keys are kept as sent, whatever the key inflection."))
            .into()
    }
}

impl ToSchema for DataMap {}

impl From<Value> for DataMap {
    fn from(value: Value) -> Self {
        match value {
            Value::Object(map) => Self(map),
            _ => Self(Map::new()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_six_fractional_digits_and_z() {
        let at = time::macros::datetime!(2026-11-25 09:30:00.5 +02:00);
        assert_eq!(format_time(at), "2026-11-25T07:30:00.500000Z");
    }
}
