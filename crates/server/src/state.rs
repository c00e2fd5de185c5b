//! The application state: the adapters wired into the domain service, shared by every worker.

use std::sync::Arc;

use casework_adapters::crypto::{BlocklistHasher, PiiCipher};
use casework_adapters::postgres::{PgStore, build_pool};
use casework_adapters::system::{ShiftableClock, UuidV7Ids};
use casework_domain::service::CaseService;
use secrecy::ExposeSecret;

use casework_adapters::memory::MemoryRateLimiter;
use casework_adapters::webhooks::guard::{Lookup, SystemLookup};
use casework_adapters::webhooks::sender::Sender;
use casework_domain::Timestamp;
use casework_domain::id::ApiKeyId;
use casework_domain::ports::{RateDecision, RateLimiter, StoreError};
use casework_domain::tenant::{Environment, Tenant};
use casework_domain::webhook::TargetPolicy;

use crate::config::{Config, RateLimiterKind};
use crate::metrics::Metrics;

/// The service with the production adapters.
pub type Service = CaseService<PgStore, ShiftableClock, UuidV7Ids>;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub service: Service,
    /// The API-key store (authentication) and the pool (readiness).
    pub store: PgStore,
    /// The configuration.
    pub config: Arc<Config>,
    /// The service's clock (shifted only by tests).
    pub clock: ShiftableClock,
    /// The rate limiter chosen by `limits.rate_limiter`.
    pub limiter: Limiter,
    /// The Prometheus series.
    pub metrics: Metrics,
    /// Set at SIGTERM: readiness answers 503 while in-flight and late requests drain.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// Each background worker's last successful run (Unix seconds), for `/metrics`.
    pub worker_runs: Arc<std::sync::Mutex<std::collections::BTreeMap<&'static str, i64>>>,
    /// How webhook hosts are resolved (the system resolver; tests inject theirs).
    pub lookup: Arc<dyn Lookup>,
    /// Sends webhook attempts through the SSRF guard.
    pub sender: Sender,
}

/// The rate limiter: in process (exact for one instance) or shared on PostgreSQL.
#[derive(Clone)]
pub enum Limiter {
    /// `memory`.
    Memory(Arc<MemoryRateLimiter>),
    /// `postgres`.
    Postgres(PgStore),
}

impl Limiter {
    /// See [`RateLimiter::acquire`].
    ///
    /// # Errors
    /// [`StoreError`] from the shared limiter.
    pub async fn acquire(
        &self,
        tenant: Tenant,
        key: ApiKeyId,
        limit: u32,
        now: Timestamp,
    ) -> Result<RateDecision, StoreError> {
        match self {
            Self::Memory(limiter) => limiter.acquire(tenant, key, limit, now).await,
            Self::Postgres(store) => store.acquire(tenant, key, limit, now).await,
        }
    }
}

impl AppState {
    /// Builds the pool, the cipher and the service from the configuration. Connections open
    /// lazily, so this succeeds while the database is down (requests then answer 503).
    ///
    /// # Errors
    /// An unusable configuration (bad PII keys, an invalid pool size).
    pub fn build(config: Config) -> anyhow::Result<Self> {
        let keys: Vec<&str> = config.security.pii_encryption_keys.iter().map(|k| k.expose_secret()).collect();
        let cipher = Arc::new(PiiCipher::from_config(&keys)?);
        let pool = build_pool(&config.database.pool_options())?;
        let blocklist = Arc::new(BlocklistHasher::new(config.security.blocklist_key.expose_secret().as_bytes()));
        let metrics = Metrics::new()?;
        let observer = metrics.clone();
        let store = PgStore::new(pool, cipher, blocklist)
            .observing_pool_waits(Arc::new(move |waited| observer.observe_pool_wait(waited)))
            .with_default_rate_limit(config.limits.default_rate_limit_per_minute);
        let clock = ShiftableClock::default();
        let service = CaseService::new(store.clone(), clock.clone(), UuidV7Ids);
        let limiter = match config.limits.rate_limiter {
            RateLimiterKind::Memory => Limiter::Memory(Arc::default()),
            RateLimiterKind::Postgres => Limiter::Postgres(store.clone()),
        };
        let draining = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let worker_runs = Arc::default();
        let lookup: Arc<dyn Lookup> = Arc::new(SystemLookup);
        let sender = Sender::new(Arc::clone(&lookup))?;
        Ok(Self {
            service,
            store,
            config: Arc::new(config),
            clock,
            limiter,
            metrics,
            draining,
            worker_runs,
            lookup,
            sender,
        })
    }

    /// The same state resolving webhook hosts with `lookup` (tests: names that resolve to a
    /// private address without touching public DNS).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn with_lookup(mut self, lookup: Arc<dyn Lookup>) -> anyhow::Result<Self> {
        self.sender = Sender::new(Arc::clone(&lookup))?;
        self.lookup = lookup;
        Ok(self)
    }

    /// What the configuration allows as webhook targets.
    pub fn target_policy(&self) -> TargetPolicy {
        TargetPolicy { allow_plain_http_in_live: self.config.environment == "development" }
    }

    /// Whether an endpoint of `environment` may reach loopback and private addresses: only with
    /// `security.allow_private_webhook_targets`, and for a live endpoint only on a development
    /// server.
    pub fn allows_private_targets(&self, environment: Environment) -> bool {
        self.config.security.allow_private_webhook_targets
            && (environment == Environment::Sandbox || self.config.environment == "development")
    }
}
