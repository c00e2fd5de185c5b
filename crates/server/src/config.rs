//! Configuration: `config/default.toml`, then `config/<CASEWORK_ENV>.toml`, then
//! `CASEWORK__SECTION__KEY` environment variables, with `DATABASE_URL` as `database.url`.
//!
//! `default.toml` lists every key: a key any other layer sets that it does not list is an error
//! naming the file (or variable) and the key, so a typo never silently falls back to a default.
//! Loaded once at start-up and passed down; there is no global.

use std::path::{Path, PathBuf};
use std::time::Duration;

use casework_adapters::postgres::PoolOptions;
use casework_domain::tenant::RATE_LIMIT_PER_MINUTE;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;

/// The whole configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which environment file was layered (`development`, `test`, `production`, …).
    #[serde(skip)]
    pub environment: String,
    /// HTTP server.
    pub server: ServerConfig,
    /// PostgreSQL.
    pub database: DatabaseConfig,
    /// Secrets and guards.
    pub security: SecurityConfig,
    /// Request limits.
    pub limits: LimitsConfig,
    /// Background workers.
    pub workers: WorkersConfig,
    /// Logging.
    pub log: LogConfig,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to bind.
    pub host: String,
    /// Port to bind (0: any free port).
    pub port: u16,
    /// Worker threads; 0 = one per CPU.
    pub workers: usize,
    /// Seconds to finish in-flight requests after SIGTERM.
    pub shutdown_timeout: u64,
    /// Milliseconds readiness answers 503 after SIGTERM before the listener closes, so a load
    /// balancer stops sending first.
    pub shutdown_drain_ms: u64,
    /// Proxies (CIDRs) whose `X-Forwarded-For` names the client; no one else's is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Where `/metrics` is served instead of the main port (`127.0.0.1:9090`); empty: the main
    /// port.
    pub metrics_address: String,
    /// The absolute URL clients reach the service at, for links it hands out; empty: the
    /// request's scheme and host.
    pub public_url: String,
    /// `Host` values `/mcp` answers (DNS-rebinding guard); empty: any.
    pub mcp_allowed_hosts: Vec<String>,
    /// Browser `Origin`s `/mcp` accepts (`https://app.example.com:443`); empty: not checked.
    pub mcp_allowed_origins: Vec<String>,
}

/// `[database]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Connection URL (never printed).
    pub url: SecretString,
    /// Most connections in the pool.
    pub pool_max_size: usize,
    /// Wait for a connection at most this long, then answer 503.
    pub pool_wait_timeout_ms: u64,
    /// Statements are cancelled after this long.
    pub statement_timeout_ms: u64,
}

impl DatabaseConfig {
    /// The pool's options.
    pub fn pool_options(&self) -> PoolOptions {
        PoolOptions {
            url: self.url.clone(),
            max_size: self.pool_max_size.max(1),
            wait_timeout: Duration::from_millis(self.pool_wait_timeout_ms),
            statement_timeout: Duration::from_millis(self.statement_timeout_ms),
        }
    }
}

/// `[security]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecurityConfig {
    /// `id:hex` AES-256 keys; the first encrypts.
    pub pii_encryption_keys: Vec<SecretString>,
    /// HMAC key for blocklist entries.
    pub blocklist_key: SecretString,
    /// Allow webhook targets on private addresses (development only).
    pub allow_private_webhook_targets: bool,
}

/// `[limits]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsConfig {
    /// `memory` or `postgres`.
    pub rate_limiter: RateLimiterKind,
    /// The rate limit of environments that have not changed it.
    pub default_rate_limit_per_minute: u32,
    /// Larger request bodies get 413.
    pub max_body_bytes: usize,
}

/// Where rate-limit counters live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateLimiterKind {
    /// In process: exact for one instance.
    Memory,
    /// In PostgreSQL: exact across instances.
    Postgres,
}

/// `[workers]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkersConfig {
    /// How often lapsed claims are persisted.
    pub claim_sweep_interval_ms: u64,
    /// Concurrent webhook deliveries per instance.
    pub webhook_concurrency: usize,
    /// Deliveries in flight per endpoint, across instances.
    pub webhook_per_endpoint: u32,
    /// The fallback poll of the delivery workers.
    pub webhook_poll_interval_ms: u64,
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// `json` or `pretty`.
    pub format: LogFormat,
    /// A `tracing` filter (`info`, `warn,casework=debug`).
    pub level: String,
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable.
    Pretty,
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file or variable sets a key `default.toml` does not have.
    #[error("unknown configuration key `{key}` in {source_name}")]
    UnknownKey {
        /// The file or environment variable.
        source_name: String,
        /// The dotted key.
        key: String,
    },
    /// A file could not be read or parsed, or a value has the wrong type.
    #[error("invalid configuration: {0}")]
    Invalid(String),
    /// A required secret is missing, or production uses a development value.
    #[error("insecure configuration: {0}")]
    Insecure(String),
    /// A value outside what the service can use.
    #[error("configuration key `{key}` is {value}, outside its allowed range {allowed}")]
    OutOfRange {
        /// The dotted key.
        key: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
}

/// Checks that `value` of `key` lies in `range`.
fn within<T: PartialOrd + std::fmt::Display>(
    key: &'static str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<(), ConfigError> {
    if range.contains(&value) {
        return Ok(());
    }
    Err(ConfigError::OutOfRange {
        key,
        value: value.to_string(),
        allowed: format!("{} to {}", range.start(), range.end()),
    })
}

/// Every number within what the service (and its database) accepts, by the domain's rules where
/// the domain has one, and a log filter that parses: a bad value stops `serve`, `migrate` and
/// `admin` alike, naming the key.
fn check_ranges(config: &Config) -> Result<(), ConfigError> {
    let rate = i64::from(config.limits.default_rate_limit_per_minute);
    within("limits.default_rate_limit_per_minute", rate, RATE_LIMIT_PER_MINUTE)?;
    within("limits.max_body_bytes", config.limits.max_body_bytes, 1024..=64 * 1024 * 1024)?;
    within("database.pool_max_size", config.database.pool_max_size, 1..=1000)?;
    within("database.pool_wait_timeout_ms", config.database.pool_wait_timeout_ms, 1..=600_000)?;
    within("database.statement_timeout_ms", config.database.statement_timeout_ms, 1..=3_600_000)?;
    within("workers.claim_sweep_interval_ms", config.workers.claim_sweep_interval_ms, 10..=3_600_000)?;
    within("workers.webhook_concurrency", config.workers.webhook_concurrency, 1..=1024)?;
    within("workers.webhook_per_endpoint", config.workers.webhook_per_endpoint, 1..=64)?;
    within("workers.webhook_poll_interval_ms", config.workers.webhook_poll_interval_ms, 10..=60_000)?;
    let public_url = config.server.public_url.trim_end_matches('/');
    let absolute = public_url.starts_with("https://") || public_url.starts_with("http://");
    if !(public_url.is_empty() || absolute) {
        return Err(ConfigError::Invalid(format!(
            "server.public_url `{public_url}` is not an absolute http(s) URL (e.g. https://casework.example.com)"
        )));
    }
    within("server.workers", config.server.workers, 0..=1024)?;
    within("server.shutdown_timeout", config.server.shutdown_timeout, 0..=3600)?;
    within("server.shutdown_drain_ms", config.server.shutdown_drain_ms, 0..=600_000)?;
    if !config.server.metrics_address.is_empty()
        && config.server.metrics_address.parse::<std::net::SocketAddr>().is_err()
    {
        return Err(ConfigError::Invalid(format!(
            "server.metrics_address `{}` is not an address and port (e.g. 127.0.0.1:9090)",
            config.server.metrics_address
        )));
    }
    if tracing_subscriber::EnvFilter::try_new(&config.log.level).is_err() || config.log.level.trim().is_empty() {
        return Err(ConfigError::Invalid(format!(
            "log.level `{}` is not a log filter (e.g. `info` or `warn,casework=debug`)",
            config.log.level
        )));
    }
    Ok(())
}

/// The `config/` folder: `CASEWORK_CONFIG_DIR`, else `./config`.
pub fn config_dir() -> PathBuf {
    std::env::var_os("CASEWORK_CONFIG_DIR").map_or_else(|| PathBuf::from("config"), PathBuf::from)
}

/// `config/default.toml`, compiled in: the binary runs from any working directory.
const DEFAULTS: &str = include_str!("../../../config/default.toml");

/// The environments a configuration can be for.
const ENVIRONMENTS: [&str; 3] = ["development", "test", "production"];

/// The public secrets of the development and test configurations, compiled in: production
/// refuses them by value, whatever files are present.
const PUBLIC_CONFIGS: [&str; 2] =
    [include_str!("../../../config/development.toml"), include_str!("../../../config/test.toml")];

/// The least key material production accepts for a secret, in bytes.
const MIN_SECRET_BYTES: usize = 32;

fn parse_toml(text: &str, name: &str) -> Result<Value, ConfigError> {
    config::Config::builder()
        .add_source(config::File::from_str(text, config::FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize::<Value>())
        .map_err(|e| ConfigError::Invalid(format!("{name}: {e}")))
}

fn read_file(path: &Path) -> Result<Value, ConfigError> {
    config::Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize::<Value>())
        .map_err(|e| ConfigError::Invalid(format!("{}: {e}", path.display())))
}

/// The first key of `value` (dotted) that `known` does not have.
fn unknown_key(value: &Value, known: &Value, prefix: &str) -> Option<String> {
    let (Value::Object(map), Value::Object(known_map)) = (value, known) else { return None };
    for (key, child) in map {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match known_map.get(key) {
            None => return Some(path),
            Some(known_child @ Value::Object(_)) => {
                if let Some(found) = unknown_key(child, known_child, &path) {
                    return Some(found);
                }
            }
            Some(_) => {}
        }
    }
    None
}

/// Loads the configuration of `CASEWORK_ENV` (default `development`) from [`config_dir`].
///
/// # Errors
/// [`ConfigError`].
pub fn load() -> Result<Config, ConfigError> {
    let environment = std::env::var("CASEWORK_ENV").unwrap_or_else(|_| "development".to_owned());
    let env_vars: Vec<(String, String)> = std::env::vars().collect();
    load_from(&config_dir(), &environment, &env_vars)
}

/// Loads from an explicit folder, environment name and environment variables (for tests).
///
/// # Errors
/// [`ConfigError`].
pub fn load_from(dir: &Path, environment: &str, env_vars: &[(String, String)]) -> Result<Config, ConfigError> {
    if !ENVIRONMENTS.contains(&environment) {
        return Err(ConfigError::Invalid(format!(
            "CASEWORK_ENV is `{environment}`: it must be one of {}",
            ENVIRONMENTS.join(", ")
        )));
    }
    let known = parse_toml(DEFAULTS, "the compiled-in defaults")?;
    let mut builder = config::Config::builder().add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
    let default_path = dir.join("default.toml");
    if default_path.is_file() {
        if let Some(key) = unknown_key(&read_file(&default_path)?, &known, "") {
            return Err(ConfigError::UnknownKey { source_name: default_path.display().to_string(), key });
        }
        builder = builder.add_source(config::File::from(default_path.as_path()).format(config::FileFormat::Toml));
    }
    let env_path = dir.join(format!("{environment}.toml"));
    if env_path.is_file() {
        if let Some(key) = unknown_key(&read_file(&env_path)?, &known, "") {
            return Err(ConfigError::UnknownKey { source_name: env_path.display().to_string(), key });
        }
        builder = builder.add_source(config::File::from(env_path.as_path()).format(config::FileFormat::Toml));
    }
    for (name, value) in env_vars {
        let Some(rest) = name.strip_prefix("CASEWORK__") else { continue };
        let key = rest.to_ascii_lowercase().replace("__", ".");
        let mut probe = Value::Null;
        for part in key.split('.').rev() {
            probe = Value::Object([(part.to_owned(), probe)].into_iter().collect());
        }
        if unknown_key(&probe, &known, "").is_some() {
            return Err(ConfigError::UnknownKey { source_name: format!("environment variable {name}"), key });
        }
        let parsed: config::Value = if key == "security.pii_encryption_keys" {
            value.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect::<Vec<_>>().into()
        } else {
            value.clone().into()
        };
        builder = builder.set_override(key, parsed).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    }
    if let Some((_, url)) = env_vars.iter().find(|(name, _)| name == "DATABASE_URL") {
        builder = builder.set_override("database.url", url.clone()).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    }
    let mut config: Config =
        builder.build().and_then(|c| c.try_deserialize()).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    config.environment = environment.to_owned();
    check_ranges(&config)?;
    check_secrets(&config, dir)?;
    Ok(config)
}

/// Required secrets are set; in production none equals a development or test value.
fn check_secrets(config: &Config, dir: &Path) -> Result<(), ConfigError> {
    let security = &config.security;
    if config.database.url.expose_secret().is_empty() {
        return Err(ConfigError::Insecure("database.url is not set (DATABASE_URL or CASEWORK__DATABASE__URL)".into()));
    }
    if security.pii_encryption_keys.is_empty() {
        return Err(ConfigError::Insecure("security.pii_encryption_keys is empty".into()));
    }
    if security.blocklist_key.expose_secret().is_empty() {
        return Err(ConfigError::Insecure("security.blocklist_key is empty".into()));
    }
    if config.environment != "production" {
        return Ok(());
    }
    let mut public_values: Vec<String> = Vec::new();
    let mut public_files: Vec<Value> =
        PUBLIC_CONFIGS.iter().filter_map(|text| parse_toml(text, "public").ok()).collect();
    public_files
        .extend(["development", "test"].iter().filter_map(|name| read_file(&dir.join(format!("{name}.toml"))).ok()));
    for file in public_files {
        if let Some(keys) = file["security"]["pii_encryption_keys"].as_array() {
            public_values.extend(keys.iter().filter_map(|k| k.as_str().map(str::to_owned)));
        }
        if let Some(key) = file["security"]["blocklist_key"].as_str() {
            public_values.push(key.to_owned());
        }
    }
    let public_key_material: Vec<&str> =
        public_values.iter().filter_map(|value| value.split_once(':').map(|(_, hex)| hex)).collect();
    let uses_public = security.pii_encryption_keys.iter().any(|k| {
        let secret = k.expose_secret();
        public_values.iter().any(|p| p == secret)
            || secret.split_once(':').is_some_and(|(_, hex)| public_key_material.contains(&hex))
    }) || public_values.iter().any(|p| p == security.blocklist_key.expose_secret());
    if uses_public || security.allow_private_webhook_targets {
        return Err(ConfigError::Insecure(
            "production uses a development or test secret (or allows private webhook targets): set real secrets".into(),
        ));
    }
    if security.blocklist_key.expose_secret().len() < MIN_SECRET_BYTES {
        return Err(ConfigError::Insecure(format!(
            "security.blocklist_key has fewer than {MIN_SECRET_BYTES} bytes: use at least {MIN_SECRET_BYTES} random bytes"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config")
    }

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn layers_apply_in_order() {
        let env = vars(&[("DATABASE_URL", "postgres://x/y"), ("CASEWORK__SERVER__PORT", "9000")]);
        let config = load_from(&dir(), "test", &env).unwrap();
        assert_eq!(config.server.port, 9000);
        assert_eq!(config.server.workers, 2);
        assert_eq!(config.limits.max_body_bytes, 1_048_576);
        assert_eq!(config.database.url.expose_secret(), "postgres://x/y");
        assert_eq!(config.log.format, LogFormat::Pretty);
    }

    #[test]
    fn values_out_of_range_are_named_with_their_range() {
        for (variable, key) in [
            ("CASEWORK__LIMITS__DEFAULT_RATE_LIMIT_PER_MINUTE", "limits.default_rate_limit_per_minute"),
            ("CASEWORK__DATABASE__POOL_MAX_SIZE", "database.pool_max_size"),
            ("CASEWORK__WORKERS__CLAIM_SWEEP_INTERVAL_MS", "workers.claim_sweep_interval_ms"),
            ("CASEWORK__WORKERS__WEBHOOK_CONCURRENCY", "workers.webhook_concurrency"),
        ] {
            for value in ["0", "10000000"] {
                let env = vars(&[("DATABASE_URL", "postgres://x/y"), (variable, value)]);
                match load_from(&dir(), "test", &env) {
                    Err(ConfigError::OutOfRange { key: named, .. }) => assert_eq!(named, key),
                    other => panic!("{variable}={value}: {other:?}"),
                }
            }
        }
        let env =
            vars(&[("DATABASE_URL", "postgres://x/y"), ("CASEWORK__LIMITS__DEFAULT_RATE_LIMIT_PER_MINUTE", "100000")]);
        assert!(load_from(&dir(), "test", &env).is_ok());
        let env = vars(&[("DATABASE_URL", "postgres://x/y"), ("CASEWORK__LOG__LEVEL", "loud=[")]);
        assert!(matches!(load_from(&dir(), "test", &env), Err(ConfigError::Invalid(e)) if e.contains("log.level")));
    }

    #[test]
    fn an_unknown_environment_variable_key_is_named() {
        let env = vars(&[("DATABASE_URL", "postgres://x/y"), ("CASEWORK__SERVER__PROT", "9000")]);
        let error = load_from(&dir(), "test", &env).unwrap_err().to_string();
        assert!(error.contains("server.prot") && error.contains("CASEWORK__SERVER__PROT"), "{error}");
    }

    #[test]
    fn an_unknown_key_in_a_file_names_file_and_key() {
        let temp = std::env::temp_dir().join(format!("casework-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&temp).unwrap();
        std::fs::copy(dir().join("default.toml"), temp.join("default.toml")).unwrap();
        std::fs::write(temp.join("production.toml"), "[database]\npool_max_sise = 3\n").unwrap();
        let error =
            load_from(&temp, "production", &vars(&[("DATABASE_URL", "postgres://x/y")])).unwrap_err().to_string();
        std::fs::remove_dir_all(&temp).unwrap();
        assert!(error.contains("database.pool_max_sise") && error.contains("production.toml"), "{error}");
    }

    #[test]
    fn production_refuses_development_secrets_and_a_missing_database() {
        let dev_key = "dev-1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
        let env = vars(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("CASEWORK__SECURITY__PII_ENCRYPTION_KEYS", dev_key),
            ("CASEWORK__SECURITY__BLOCKLIST_KEY", "a-real-secret"),
        ]);
        assert!(matches!(load_from(&dir(), "production", &env), Err(ConfigError::Insecure(_))));
        let real = "prod:1111111111111111111111111111111111111111111111111111111111111111";
        let env = vars(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("CASEWORK__SECURITY__PII_ENCRYPTION_KEYS", real),
            ("CASEWORK__SECURITY__BLOCKLIST_KEY", "a-real-secret"),
        ]);
        assert!(
            matches!(load_from(&dir(), "production", &env), Err(ConfigError::Insecure(e)) if e.contains("32 bytes"))
        );
        let long = "k8Jq2VnX7pL0sT4wY9bR3cF6hM1dG5zA";
        let env = vars(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("CASEWORK__SECURITY__PII_ENCRYPTION_KEYS", real),
            ("CASEWORK__SECURITY__BLOCKLIST_KEY", long),
        ]);
        let config = load_from(&dir(), "production", &env).unwrap();
        assert_eq!(config.security.pii_encryption_keys.len(), 1);
        assert!(matches!(load_from(&dir(), "development", &[]), Err(ConfigError::Insecure(_))));
    }

    #[test]
    fn production_refuses_public_secrets_whatever_files_are_present_and_an_unknown_environment() {
        // Only the compiled-in defaults and production.toml: the public values are still known.
        let temp = std::env::temp_dir().join(format!("casework-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&temp).unwrap();
        std::fs::copy(dir().join("production.toml"), temp.join("production.toml")).unwrap();
        let test_key = "other-id:5f0e3c1d2b4a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
        let env = vars(&[
            ("DATABASE_URL", "postgres://x/y"),
            ("CASEWORK__SECURITY__PII_ENCRYPTION_KEYS", test_key),
            ("CASEWORK__SECURITY__BLOCKLIST_KEY", "k8Jq2VnX7pL0sT4wY9bR3cF6hM1dG5zA"),
        ]);
        let refused = load_from(&temp, "production", &env);
        std::fs::remove_dir_all(&temp).unwrap();
        assert!(matches!(refused, Err(ConfigError::Insecure(_))), "the test key under another id");
        let error = load_from(&dir(), "prod", &env).unwrap_err().to_string();
        assert!(error.contains("CASEWORK_ENV") && error.contains("production"), "{error}");
    }

    #[test]
    fn the_production_example_is_a_valid_production_file() {
        let temp = std::env::temp_dir().join(format!("casework-config-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&temp).unwrap();
        std::fs::copy(dir().join("production.example.toml"), temp.join("production.toml")).unwrap();
        let env = vars(&[
            ("DATABASE_URL", "postgres://x/y"),
            (
                "CASEWORK__SECURITY__PII_ENCRYPTION_KEYS",
                "k1:1111111111111111111111111111111111111111111111111111111111111111",
            ),
            ("CASEWORK__SECURITY__BLOCKLIST_KEY", "k8Jq2VnX7pL0sT4wY9bR3cF6hM1dG5zA"),
        ]);
        let loaded = load_from(&temp, "production", &env);
        std::fs::remove_dir_all(&temp).unwrap();
        let config = loaded.unwrap();
        assert_eq!(config.server.trusted_proxies.len(), 1);
        assert_eq!(config.limits.rate_limiter, RateLimiterKind::Postgres);
    }
}
