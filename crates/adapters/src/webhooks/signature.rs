//! Webhook signatures, two ways from one secret (WEBHOOKS.md, Delivery):
//!
//! - Verifa's `X-Verifa-Signature: t=<unix>,v1=<hex>`: HMAC-SHA256 keyed with the whole secret
//!   string (`whsec_…`) over `"<t>.<raw body>"`;
//! - Standard Webhooks 1.0: `webhook-signature: v1,<base64>`, HMAC-SHA256 keyed with the
//!   base64-decoded bytes after `whsec_` over `"<webhook-id>.<t>.<raw body>"`.
//!
//! During a rotation both secrets sign: two `v1=` entries (the newest last), or two
//! space-separated `v1,` signatures. [`verify_signature`] is what a receiver calls.
//!
//! ```
//! use std::time::Duration;
//! use casework_adapters::webhooks::signature::{Secret, SignatureHeader, sign, verify_signature};
//!
//! let secret = Secret::generate();
//! let body = br#"{"id":"evt_1","event":"case.approved"}"#;
//! let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
//! let signed = sign(&[&secret], "whd_1", now, body);
//! // A receiver of Verifa's header:
//! let header = SignatureHeader::Verifa(&signed.verifa);
//! assert!(verify_signature(secret.as_str(), header, body, Duration::from_secs(300)).is_ok());
//! // A receiver of the Standard Webhooks headers:
//! let timestamp = now.to_string();
//! let header = SignatureHeader::Standard { id: "whd_1", timestamp: &timestamp, signature: &signed.standard };
//! assert!(verify_signature(secret.as_str(), header, body, Duration::from_secs(300)).is_ok());
//! ```

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The prefix of every secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// An endpoint's signing secret: `whsec_` + the base64 of 32 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl Secret {
    /// A fresh random secret.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
    }

    /// A stored secret.
    pub fn from_string(text: String) -> Self {
        Self(text)
    }

    /// The whole string (`whsec_…`): Verifa's HMAC key, and what the endpoint's owner is shown.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The Standard Webhooks key: the base64-decoded bytes after `whsec_` (the whole string's
    /// bytes if they do not decode, so a malformed secret still signs consistently).
    pub fn standard_key(&self) -> Vec<u8> {
        standard_key(&self.0)
    }
}

fn standard_key(secret: &str) -> Vec<u8> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    STANDARD.decode(encoded).unwrap_or_else(|_| secret.as_bytes().to_vec())
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this never fails.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable_mac())
}

#[expect(clippy::panic, reason = "HMAC-SHA256 takes keys of any length; this cannot happen")]
fn unreachable_mac() -> HmacSha256 {
    panic!("HMAC rejected a key")
}

fn verifa_mac(secret: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = mac(secret.as_bytes());
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

fn standard_mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = mac(key);
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature headers of one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// `X-Verifa-Signature`: `t=…,v1=…[,v1=…]`.
    pub verifa: String,
    /// `webhook-signature`: `v1,… [v1,…]`.
    pub standard: String,
}

/// Signs `body` of delivery `id` at unix time `timestamp` with every secret in `secrets` (the
/// previous secret first during a rotation, the newest last).
pub fn sign(secrets: &[&Secret], id: &str, timestamp: i64, body: &[u8]) -> Signed {
    let t = timestamp.to_string();
    let mut verifa = format!("t={t}");
    let mut standard = Vec::new();
    for secret in secrets {
        let hex = hex::encode(verifa_mac(secret.as_str(), &t, body).finalize().into_bytes());
        verifa.push_str(",v1=");
        verifa.push_str(&hex);
        let raw = standard_mac(&secret.standard_key(), id, &t, body).finalize().into_bytes();
        standard.push(format!("v1,{}", STANDARD.encode(raw)));
    }
    Signed { verifa, standard: standard.join(" ") }
}

/// The headers a receiver got, in either scheme.
#[derive(Debug, Clone, Copy)]
pub enum SignatureHeader<'a> {
    /// `X-Verifa-Signature`.
    Verifa(&'a str),
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature`.
    Standard {
        /// `webhook-id`.
        id: &'a str,
        /// `webhook-timestamp`.
        timestamp: &'a str,
        /// `webhook-signature`.
        signature: &'a str,
    },
}

/// Why a delivery's signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The header is not shaped as its scheme says.
    #[error("the signature header is malformed")]
    Malformed,
    /// The timestamp is further from now than the tolerance (a replay, or a skewed clock).
    #[error("the signature timestamp is outside the tolerance")]
    Stale,
    /// No signature matches this secret and body.
    #[error("no signature matches")]
    Mismatch,
}

/// Verifies a delivery with the endpoint's `secret` (`whsec_…`), the raw `body` bytes, and a
/// `tolerance` between the signed timestamp and now (5 minutes is the recommended value).
/// Comparisons are constant-time.
///
/// # Errors
/// [`SignatureError`].
pub fn verify_signature(
    secret: &str,
    header: SignatureHeader<'_>,
    body: &[u8],
    tolerance: Duration,
) -> Result<(), SignatureError> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
    verify_signature_at(secret, header, body, tolerance, now)
}

/// [`verify_signature`] at unix time `now`.
///
/// # Errors
/// [`SignatureError`].
pub fn verify_signature_at(
    secret: &str,
    header: SignatureHeader<'_>,
    body: &[u8],
    tolerance: Duration,
    now: i64,
) -> Result<(), SignatureError> {
    let fresh = |timestamp: &str| -> Result<(), SignatureError> {
        let t: i64 = timestamp.trim().parse().map_err(|_| SignatureError::Malformed)?;
        let tolerance = i64::try_from(tolerance.as_secs()).unwrap_or(i64::MAX);
        if now.abs_diff(t) > tolerance.unsigned_abs() {
            return Err(SignatureError::Stale);
        }
        Ok(())
    };
    match header {
        SignatureHeader::Verifa(value) => {
            let mut timestamp = None;
            let mut signatures = Vec::new();
            for part in value.split(',') {
                match part.trim().split_once('=') {
                    Some(("t", t)) => timestamp = Some(t),
                    Some(("v1", hex)) => signatures.push(hex),
                    _ => {}
                }
            }
            let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
            if signatures.is_empty() {
                return Err(SignatureError::Malformed);
            }
            fresh(timestamp)?;
            let matches = signatures.iter().any(|hex| {
                hex::decode(hex).is_ok_and(|bytes| verifa_mac(secret, timestamp, body).verify_slice(&bytes).is_ok())
            });
            if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
        }
        SignatureHeader::Standard { id, timestamp, signature } => {
            let signatures: Vec<&str> =
                signature.split_whitespace().filter_map(|entry| entry.strip_prefix("v1,")).collect();
            if signatures.is_empty() {
                return Err(SignatureError::Malformed);
            }
            fresh(timestamp)?;
            let key = standard_key(secret);
            let matches = signatures.iter().any(|encoded| {
                STANDARD
                    .decode(encoded)
                    .is_ok_and(|bytes| standard_mac(&key, id, timestamp.trim(), body).verify_slice(&bytes).is_ok())
            });
            if matches { Ok(()) } else { Err(SignatureError::Mismatch) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIVE_MINUTES: Duration = Duration::from_secs(300);

    #[test]
    fn both_schemes_verify_and_refuse_a_tampered_body_or_a_stale_timestamp() {
        let secret = Secret::generate();
        let signed = sign(&[&secret], "whd_x", 1_000_000, b"{}");
        let verifa = SignatureHeader::Verifa(&signed.verifa);
        let standard = SignatureHeader::Standard { id: "whd_x", timestamp: "1000000", signature: &signed.standard };
        for header in [verifa, standard] {
            assert_eq!(verify_signature_at(secret.as_str(), header, b"{}", FIVE_MINUTES, 1_000_100), Ok(()));
            assert_eq!(
                verify_signature_at(secret.as_str(), header, b"{ }", FIVE_MINUTES, 1_000_100),
                Err(SignatureError::Mismatch)
            );
            assert_eq!(
                verify_signature_at(secret.as_str(), header, b"{}", FIVE_MINUTES, 1_000_301),
                Err(SignatureError::Stale)
            );
            let other = Secret::generate();
            assert_eq!(
                verify_signature_at(other.as_str(), header, b"{}", FIVE_MINUTES, 1_000_000),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn a_rotation_signs_with_both_secrets_newest_last() {
        let old = Secret::generate();
        let new = Secret::generate();
        let signed = sign(&[&old, &new], "whd_x", 42, b"body");
        assert_eq!(signed.verifa.matches(",v1=").count(), 2);
        assert_eq!(signed.standard.split(' ').count(), 2);
        for secret in [&old, &new] {
            assert!(
                verify_signature_at(
                    secret.as_str(),
                    SignatureHeader::Verifa(&signed.verifa),
                    b"body",
                    FIVE_MINUTES,
                    42
                )
                .is_ok()
            );
        }
        let alone = sign(&[&new], "whd_x", 42, b"body");
        assert!(signed.verifa.ends_with(alone.verifa.trim_start_matches("t=42,")));
    }

    #[test]
    fn malformed_headers_are_named() {
        let header = SignatureHeader::Verifa("v1=00");
        assert_eq!(verify_signature_at("whsec_x", header, b"", FIVE_MINUTES, 0), Err(SignatureError::Malformed));
        let header = SignatureHeader::Standard { id: "a", timestamp: "x", signature: "v1,AA==" };
        assert_eq!(verify_signature_at("whsec_x", header, b"", FIVE_MINUTES, 0), Err(SignatureError::Malformed));
    }
}
