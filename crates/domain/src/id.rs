//! Identifiers: every resource has a UUID and a public id (`rvc_` + 24 base62 characters).
//!
//! The public id is derived from the UUID, so either form names the same resource and no second
//! column or index is needed: 22 base62 digits of the UUID's 128 bits (fixed width, in an alphabet
//! ordered like ASCII, so public ids sort like UUIDs) followed by 2 check digits that catch typos.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use uuid::Uuid;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const DIGITS: usize = 22;
const CHECK_DIGITS: usize = 2;
/// Length of the part after the prefix.
pub const BODY_LEN: usize = DIGITS + CHECK_DIGITS;

/// The kind of resource an [`Id`] names: its public prefix and its name in error messages.
pub trait IdKind {
    /// The public prefix, with its underscore (`"rvc_"`).
    const PREFIX: &'static str;
    /// The resource's name in sentences ("Case").
    const NAME: &'static str;
}

macro_rules! id_kinds {
    ($($(#[$doc:meta])* $kind:ident, $alias:ident, $prefix:literal, $name:literal;)*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum $kind {}
        impl IdKind for $kind {
            const PREFIX: &'static str = $prefix;
            const NAME: &'static str = $name;
        }
        $(#[$doc])*
        pub type $alias = Id<$kind>;
    )*};
}

id_kinds! {
    /// An organization (tenant).
    OrgKind, OrgId, "org_", "Organization";
    /// An org user (reviewer).
    OrgUserKind, OrgUserId, "orguser_", "Org user";
    /// An API key.
    ApiKeyKind, ApiKeyId, "key_", "API key";
    /// A verification session.
    SessionKind, SessionId, "ses_", "Session";
    /// A review case.
    CaseKind, CaseId, "rvc_", "Case";
    /// A note on a case.
    NoteKind, NoteId, "note_", "Note";
    /// A case event (and the webhook event reporting it).
    EventKind, EventId, "evt_", "Event";
    /// A blocklist entry.
    BlocklistKind, BlocklistId, "blk_", "Blocklist entry";
    /// A webhook endpoint.
    EndpointKind, EndpointId, "whe_", "Webhook endpoint";
    /// One webhook event to one endpoint.
    DeliveryKind, DeliveryId, "whd_", "Delivery";
}

/// Whether `text` is shaped like a public id (API.md §1: a lowercase prefix, `_`, 24 base62
/// characters), whatever its kind and check digits: in a filter such an id names nothing rather
/// than being malformed.
pub fn is_public_id_shaped(text: &str) -> bool {
    text.split_once('_').is_some_and(|(prefix, body)| {
        !prefix.is_empty()
            && prefix.bytes().all(|b| b.is_ascii_lowercase())
            && body.len() == BODY_LEN
            && body.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// The identifier of one resource of kind `K`.
pub struct Id<K> {
    uuid: Uuid,
    kind: PhantomData<fn() -> K>,
}

/// Why a string is not an identifier of the expected kind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid {kind} id")]
pub struct IdError {
    kind: &'static str,
}

impl<K: IdKind> Id<K> {
    /// The id of the resource with this UUID.
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self { uuid, kind: PhantomData }
    }

    /// The resource's UUID.
    pub fn uuid(&self) -> Uuid {
        self.uuid
    }

    /// The public id, `PREFIX` + 24 base62 characters.
    pub fn public(&self) -> String {
        let mut digits = [0u8; DIGITS];
        let mut value = self.uuid.as_u128();
        for slot in digits.iter_mut().rev() {
            *slot = ALPHABET[(value % 62) as usize];
            value /= 62;
        }
        let mut out = String::with_capacity(K::PREFIX.len() + BODY_LEN);
        out.push_str(K::PREFIX);
        out.extend(digits.iter().map(|&b| char::from(b)));
        let check = checksum(K::PREFIX, &digits);
        out.push(char::from(ALPHABET[check / 62]));
        out.push(char::from(ALPHABET[check % 62]));
        out
    }

    /// Parses either the public form (`rvc_…`) or a UUID.
    ///
    /// # Errors
    /// [`IdError`] when the text is neither a well-formed public id of this kind nor a UUID.
    pub fn parse(text: &str) -> Result<Self, IdError> {
        let invalid = IdError { kind: K::NAME };
        if let Some(body) = text.strip_prefix(K::PREFIX) {
            return Self::parse_body(body.as_bytes()).ok_or(invalid);
        }
        // Only the canonical hyphenated form: a UUID in any other spelling is not an id here.
        if text.len() != 36 {
            return Err(invalid);
        }
        Uuid::parse_str(text).map(Self::from_uuid).map_err(|_| invalid)
    }

    fn parse_body(body: &[u8]) -> Option<Self> {
        if body.len() != BODY_LEN {
            return None;
        }
        let (digits, check) = body.split_at(DIGITS);
        let mut value: u128 = 0;
        for &byte in digits {
            value = value.checked_mul(62)?.checked_add(digit_value(byte)?)?;
        }
        let expected = checksum(K::PREFIX, digits);
        let given = digit_value(check[0])? as usize * 62 + digit_value(check[1])? as usize;
        (expected == given).then(|| Self::from_uuid(Uuid::from_u128(value)))
    }
}

fn digit_value(byte: u8) -> Option<u128> {
    let value = match byte {
        b'0'..=b'9' => byte - b'0',
        b'A'..=b'Z' => byte - b'A' + 10,
        b'a'..=b'z' => byte - b'a' + 36,
        _ => return None,
    };
    Some(u128::from(value))
}

/// A position-weighted sum modulo 62², so a changed or swapped character is caught.
fn checksum(prefix: &str, digits: &[u8]) -> usize {
    prefix
        .bytes()
        .chain(digits.iter().copied())
        .enumerate()
        .fold(7usize, |acc, (i, b)| (acc * 31 + (i + 1) * usize::from(b)) % (62 * 62))
}

impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K> Copy for Id<K> {}
impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.uuid == other.uuid
    }
}
impl<K> Eq for Id<K> {}
impl<K> Hash for Id<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.uuid.hash(state);
    }
}
impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.uuid.cmp(&other.uuid)
    }
}
impl<K: IdKind> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.public())
    }
}
impl<K: IdKind> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.public())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn public_id_has_prefix_and_24_base62_characters() {
        let id = CaseId::from_uuid(Uuid::from_u128(u128::MAX));
        let public = id.public();
        assert_eq!(public.len(), 4 + 24);
        assert!(public.starts_with("rvc_"));
        assert!(public[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
    }

    #[test]
    fn uuid_form_is_accepted() {
        let uuid = Uuid::from_u128(42);
        assert_eq!(CaseId::parse(&uuid.to_string()), Ok(CaseId::from_uuid(uuid)));
    }

    #[test]
    fn other_kind_prefix_and_garbage_are_refused() {
        let session = SessionId::from_uuid(Uuid::from_u128(7)).public();
        assert!(CaseId::parse(&session).is_err());
        assert!(CaseId::parse("rvc_").is_err());
        assert!(CaseId::parse("rvc_zzzzzzzzzzzzzzzzzzzzzzzz").is_err());
        assert!(CaseId::parse("").is_err());
        assert!(CaseId::parse("00000000000000000000000000000000").is_err());
    }

    #[test]
    fn a_changed_character_fails_the_check_digits() {
        let public = CaseId::from_uuid(Uuid::from_u128(123_456_789)).public();
        let mut bytes = public.into_bytes();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        let changed = String::from_utf8(bytes).unwrap_or_default();
        assert!(CaseId::parse(&changed).is_err());
    }

    proptest! {
        #[test]
        fn public_form_round_trips(value in any::<u128>()) {
            let id = CaseId::from_uuid(Uuid::from_u128(value));
            prop_assert_eq!(CaseId::parse(&id.public()), Ok(id));
        }

        #[test]
        fn public_ids_sort_like_uuids(a in any::<u128>(), b in any::<u128>()) {
            let (x, y) = (CaseId::from_uuid(Uuid::from_u128(a)), CaseId::from_uuid(Uuid::from_u128(b)));
            prop_assert_eq!(x.public()[..26].cmp(&y.public()[..26]), x.cmp(&y));
        }
    }
}
