//! PII encryption at rest: AES-256-GCM with a fresh random nonce per write, the row's identity
//! as associated data (a ciphertext moved to another row does not decrypt), and the key id
//! stored beside each ciphertext so keys can be rotated: new writes use the first configured
//! key, reads use whichever key the row names.

use std::collections::HashMap;
use std::fmt;

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};

const NONCE_LEN: usize = 12;

/// Why the configured keys are unusable.
#[derive(Debug, thiserror::Error)]
pub enum KeyConfigError {
    /// No key at all.
    #[error("security.pii_encryption_keys is empty: configure at least one `id:hex` key")]
    Empty,
    /// Not `id:64-hex-characters`.
    #[error("a security.pii_encryption_keys entry is not `id:<64 hex characters>` (entry {0})")]
    Malformed(usize),
    /// Two keys share an id: which one a row names would be ambiguous.
    #[error("security.pii_encryption_keys names the key id `{0}` twice")]
    Duplicate(String),
}

/// Why a ciphertext could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DecryptError {
    /// The row names a key that is not configured.
    #[error("PII key `{0}` is not configured")]
    UnknownKey(String),
    /// Tampered, truncated, or moved to another row.
    #[error("PII ciphertext failed authentication")]
    Corrupt,
}

/// Encrypts and decrypts PII with the configured keys.
pub struct PiiCipher {
    active: String,
    keys: HashMap<String, Aes256Gcm>,
}

impl fmt::Debug for PiiCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PiiCipher").field("active", &self.active).field("keys", &"[redacted]").finish()
    }
}

impl PiiCipher {
    /// Builds the cipher from `id:hex` entries; the first is the active one.
    ///
    /// # Errors
    /// [`KeyConfigError`] when the list is empty or an entry is malformed.
    pub fn from_config(entries: &[impl AsRef<str>]) -> Result<Self, KeyConfigError> {
        let mut keys = HashMap::new();
        let mut active = None;
        for (index, entry) in entries.iter().enumerate() {
            let (id, hex_key) = entry.as_ref().split_once(':').ok_or(KeyConfigError::Malformed(index))?;
            let bytes = hex::decode(hex_key.trim()).map_err(|_| KeyConfigError::Malformed(index))?;
            if id.is_empty() || bytes.len() != 32 {
                return Err(KeyConfigError::Malformed(index));
            }
            if keys.insert(id.to_owned(), Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&bytes))).is_some() {
                return Err(KeyConfigError::Duplicate(id.to_owned()));
            }
            // The first key encrypts; the others only decrypt what they encrypted.
            active.get_or_insert_with(|| id.to_owned());
        }
        Ok(Self { active: active.ok_or(KeyConfigError::Empty)?, keys })
    }

    /// The id of the key that encrypts.
    pub fn active_id(&self) -> &str {
        &self.active
    }

    /// Whether a key with this id is configured.
    pub fn knows(&self, key_id: &str) -> bool {
        self.keys.contains_key(key_id)
    }

    /// Encrypts `plaintext` bound to `row` (associated data); returns the key id and
    /// `nonce || ciphertext`.
    pub fn encrypt(&self, plaintext: &[u8], row: &[u8]) -> (String, Vec<u8>) {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let cipher = &self.keys[&self.active];
        // Encryption with a valid key only fails for inputs over 64 GiB.
        let sealed = cipher.encrypt(&nonce, Payload { msg: plaintext, aad: row }).unwrap_or_default();
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        (self.active.clone(), out)
    }

    /// Opens what [`encrypt`](Self::encrypt) sealed.
    ///
    /// # Errors
    /// [`DecryptError`].
    pub fn decrypt(&self, key_id: &str, sealed: &[u8], row: &[u8]) -> Result<Vec<u8>, DecryptError> {
        let cipher = self.keys.get(key_id).ok_or_else(|| DecryptError::UnknownKey(key_id.to_owned()))?;
        if sealed.len() < NONCE_LEN {
            return Err(DecryptError::Corrupt);
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_LEN);
        cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ciphertext, aad: row })
            .map_err(|_| DecryptError::Corrupt)
    }
}

/// Blocklist entries: HMAC-SHA256 under `security.blocklist_key` of a normalized document
/// number, so the blocklist can be matched without ever storing a number.
pub struct BlocklistHasher {
    key: Vec<u8>,
}

impl fmt::Debug for BlocklistHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlocklistHasher([redacted])")
    }
}

impl BlocklistHasher {
    /// A hasher under `key`.
    pub fn new(key: &[u8]) -> Self {
        Self { key: key.to_vec() }
    }

    /// The 32-byte HMAC of a normalized document number.
    pub fn hash(&self, document_number: &str) -> Vec<u8> {
        use hmac::{Hmac, Mac};
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        match <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.key) {
            Ok(mut mac) => {
                mac.update(document_number.as_bytes());
                mac.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_first_key_encrypts_and_duplicate_ids_are_refused() {
        let a = "a:".to_owned() + &"11".repeat(32);
        let b = "b:".to_owned() + &"22".repeat(32);
        let cipher = super::PiiCipher::from_config(&[a.clone(), b]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cipher.encrypt(b"x", b"row").0, "a");
        let again = "a:".to_owned() + &"33".repeat(32);
        assert!(
            matches!(super::PiiCipher::from_config(&[a, again]), Err(super::KeyConfigError::Duplicate(id)) if id == "a")
        );
    }

    use super::*;

    const K1: &str = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const K2: &str = "k2:1f1e1d1c1b1a191817161514131211100f0e0d0c0b0a09080706050403020100";

    #[test]
    fn round_trips_and_names_its_key() {
        let cipher = PiiCipher::from_config(&[K1]).unwrap();
        let (key_id, sealed) = cipher.encrypt(b"{\"ssn\":\"123\"}", b"row-1");
        assert_eq!(key_id, "k1");
        assert!(!sealed.windows(3).any(|w| w == b"123"));
        assert_eq!(cipher.decrypt("k1", &sealed, b"row-1").unwrap(), b"{\"ssn\":\"123\"}");
    }

    #[test]
    fn another_row_or_a_flipped_bit_does_not_decrypt() {
        let cipher = PiiCipher::from_config(&[K1]).unwrap();
        let (_, mut sealed) = cipher.encrypt(b"secret", b"row-1");
        assert!(matches!(cipher.decrypt("k1", &sealed, b"row-2"), Err(DecryptError::Corrupt)));
        sealed[NONCE_LEN] ^= 1;
        assert!(matches!(cipher.decrypt("k1", &sealed, b"row-1"), Err(DecryptError::Corrupt)));
    }

    #[test]
    fn rotation_reads_old_keys_and_writes_the_first() {
        let old = PiiCipher::from_config(&[K1]).unwrap();
        let (_, sealed) = old.encrypt(b"x", b"r");
        let rotated = PiiCipher::from_config(&[K2, K1]).unwrap();
        assert_eq!(rotated.decrypt("k1", &sealed, b"r").unwrap(), b"x");
        assert_eq!(rotated.encrypt(b"y", b"r").0, "k2");
        assert!(matches!(rotated.decrypt("k9", &sealed, b"r"), Err(DecryptError::UnknownKey(_))));
    }

    #[test]
    fn blocklist_hashes_are_keyed_and_stable() {
        let hasher = BlocklistHasher::new(b"key-one");
        assert_eq!(hasher.hash("X123"), hasher.hash("X123"));
        assert_eq!(hasher.hash("X123").len(), 32);
        assert_ne!(hasher.hash("X123"), BlocklistHasher::new(b"key-two").hash("X123"));
        assert_ne!(hasher.hash("X123"), hasher.hash("X124"));
    }

    #[test]
    fn malformed_configuration_is_refused() {
        assert!(matches!(PiiCipher::from_config(&[] as &[&str]), Err(KeyConfigError::Empty)));
        assert!(matches!(PiiCipher::from_config(&["k1:abcd"]), Err(KeyConfigError::Malformed(0))));
        assert!(matches!(PiiCipher::from_config(&["nohex"]), Err(KeyConfigError::Malformed(0))));
    }
}
