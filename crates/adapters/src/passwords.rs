//! Passwords of people who sign in to the console: argon2id with a random salt per hash,
//! stored as PHC strings; verification is constant-time.

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// The argon2id PHC string of `password`.
///
/// # Errors
/// Only if argon2 refuses its own parameters (it does not with the defaults).
pub fn hash(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
}

/// Whether `password` matches `stored` (a PHC string; a malformed one matches nothing).
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// A hash of nothing anyone knows, checked when no user matches so that a sign-in takes as long
/// whether or not the email exists.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&uuid::Uuid::new_v4().to_string()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hash_verifies_its_password_only() {
        let stored = super::hash("amber-kestrel-79-lantern").unwrap_or_default();
        assert!(stored.starts_with("$argon2id$"));
        assert!(super::verify("amber-kestrel-79-lantern", &stored));
        assert!(!super::verify("amber-kestrel-79-lanterN", &stored));
        assert!(!super::verify("x", "not a hash"));
    }
}
