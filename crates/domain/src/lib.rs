//! The domain of Casework: the review case and its lifecycle, free of any I/O.
//!
//! Modules:
//! - [`id`]: public identifiers (`rvc_…`, `ses_…`) and their UUIDs, as one newtype per resource.
//! - [`data`], [`validation`]: client data maps and field-level validation errors.
//! - [`tenant`]: organizations, environments and their settings.
//! - [`directory`]: org users (reviewers), API keys, scopes and the authenticated principal.
//! - [`session`]: verification sessions, their checks and extracted data (the evidence).
//! - [`case`]: the case entity, its lifecycle as pure transition functions, events and notes.
//! - [`demo`]: synthetic sessions for demo cases and development seeds.
//! - [`page`]: pagination shared by every listing.
//! - [`ports`]: the traits the adapters implement (repositories, authenticator, clock, ids).
//! - [`search`]: the search filter language, parsed and typed.
//! - [`service`]: [`service::CaseService`], the one entry point, generic over its ports.

/// Declares a string-backed enumeration with `ALL`, `as_str` and `FromStr`.
macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant,)* }
        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];
            /// Every spelling, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text,)*];
            /// The wire and database spelling.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text,)* }
            }
        }
        impl crate::Spelled for $name {
            const TYPE_NAME: &'static str = stringify!($name);
            const VALUES: &'static [Self] = Self::ALL;
            fn spelling(self) -> &'static str {
                self.as_str()
            }
        }
        impl std::str::FromStr for $name {
            type Err = crate::tenant::UnknownValue;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                match text { $($text => Ok(Self::$variant),)* _ => Err(crate::tenant::UnknownValue) }
            }
        }
    };
}

/// An enumeration with one spelling per value (the same on the wire and in the database), so
/// outer layers can render and describe it without repeating its values.
pub trait Spelled: Copy + Send + Sync + 'static {
    /// The type's name, as schemas call it (`CaseStatus`).
    const TYPE_NAME: &'static str;
    /// Every value, in declaration order.
    const VALUES: &'static [Self];
    /// This value's spelling.
    fn spelling(self) -> &'static str;
}

/// Implements [`Spelled`] for an enumeration with an `as_str` spelling.
macro_rules! spelled {
    ($name:ident: $($variant:ident),+) => {
        impl crate::Spelled for $name {
            const TYPE_NAME: &'static str = stringify!($name);
            const VALUES: &'static [Self] = &[$(Self::$variant),+];
            fn spelling(self) -> &'static str {
                self.as_str()
            }
        }
    };
}

pub(crate) use spelled;

pub mod case;
pub mod console;
pub mod data;
pub mod demo;
pub mod directory;
pub mod id;
pub mod page;
pub mod ports;
pub mod search;
pub mod service;
pub mod session;
pub mod tenant;
pub mod validation;
pub mod webhook;

/// A point in time, always UTC, truncated to microseconds (what PostgreSQL stores).
pub type Timestamp = time::OffsetDateTime;
