//! The adapters of Casework: the ports of `casework-domain` implemented for real.
//!
//! Modules:
//! - [`postgres`]: every SQL statement of the project (Diesel + diesel-async over a deadpool
//!   pool): the repositories, the API-key store, migrations, and driver-error translation.
//! - [`auth`]: API-key secrets: their format, generation and SHA-256 hashing.
//! - [`crypto`]: AES-256-GCM encryption of PII at rest, with key ids for rotation.
//! - [`passwords`]: argon2id hashes of console passwords.
//! - [`memory`]: the in-process rate limiter (the default; exact for one instance).
//! - [`system`]: the real clock and id generator.
//! - [`webhooks`]: signing, the SSRF guard, and one delivery attempt over HTTP.
//! - `testing` (feature `testing`): a fresh database per test, cloned from a migrated template.

pub mod auth;
pub mod crypto;
pub mod memory;
pub mod passwords;
pub mod postgres;
pub mod system;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod webhooks;
