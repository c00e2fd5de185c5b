//! API-key secrets: `vk_live_` / `vk_sandbox_` + 32 base62 characters. Only the SHA-256 hash of a
//! secret is ever stored; the secret is shown once, at creation.

use std::fmt;

use casework_domain::tenant::Environment;
use rand::Rng;
use sha2::{Digest, Sha256};

const SECRET_LEN: usize = 32;
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A presented or freshly generated secret. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKeySecret {
    text: String,
    environment: Environment,
}

impl fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeySecret({}, [redacted])", self.environment)
    }
}

fn prefix(environment: Environment) -> &'static str {
    match environment {
        Environment::Live => "vk_live_",
        Environment::Sandbox => "vk_sandbox_",
    }
}

impl ApiKeySecret {
    /// A new random secret for `environment` (192 bits of entropy from the OS generator).
    pub fn generate(environment: Environment) -> Self {
        let mut rng = rand::rng();
        let body: String = (0..SECRET_LEN).map(|_| char::from(BASE62[rng.random_range(0..BASE62.len())])).collect();
        Self { text: format!("{}{body}", prefix(environment)), environment }
    }

    /// Parses a presented secret; `None` when it is not shaped like one.
    pub fn parse(text: &str) -> Option<Self> {
        let (environment, body) = Environment::ALL
            .into_iter()
            .find_map(|environment| text.strip_prefix(prefix(environment)).map(|body| (environment, body)))?;
        (body.len() == SECRET_LEN && body.bytes().all(|b| b.is_ascii_alphanumeric()))
            .then(|| Self { text: text.to_owned(), environment })
    }

    /// The environment its prefix names.
    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// The SHA-256 hash, what the database stores and looks up.
    pub fn hash(&self) -> Vec<u8> {
        Sha256::digest(self.text.as_bytes()).to_vec()
    }

    /// The secret itself, to show once.
    pub fn expose(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_parse_back_with_their_environment() {
        let secret = ApiKeySecret::generate(Environment::Sandbox);
        assert!(secret.expose().starts_with("vk_sandbox_"));
        assert_eq!(secret.expose().len(), "vk_sandbox_".len() + 32);
        assert_eq!(ApiKeySecret::parse(secret.expose()), Some(secret.clone()));
        assert_eq!(secret.hash().len(), 32);
        assert!(!format!("{secret:?}").contains(&secret.expose()[11..]));
    }

    #[test]
    fn malformed_secrets_are_refused() {
        for text in [
            "",
            "vk_live_",
            "vk_test_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "vk_live_aaaa",
            "vk_live_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!",
        ] {
            assert_eq!(ApiKeySecret::parse(text), None, "{text}");
        }
    }
}
