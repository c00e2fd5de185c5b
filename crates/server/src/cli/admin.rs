//! `casework admin …`: administration against the configured database, without the HTTP server.
//! Each subcommand prints exactly one JSON object on stdout; on failure it prints
//! `{"error": code, "detail": sentence}` on stderr and exits non-zero.

use std::io::Write;
use std::process::ExitCode;

use casework_api::request::Input;
use casework_api::request::admin::{NewApiKeyRequest, NewOrgUserRequest};
use casework_domain::case::Actor;
use casework_domain::demo::synthetic_session;
use casework_domain::id::{ApiKeyId, OrgId, OrgUserId};
use casework_domain::ports::StoreError;
use casework_domain::service::admin::AdminError;
use casework_domain::tenant::{Environment, Tenant};
use casework_domain::validation::FieldErrors;
use clap::Subcommand;
use serde_json::{Value, json};

use crate::config::Config;
use crate::state::AppState;

/// The administration subcommands (API.md §6).
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an organization and its two all-scope keys (sandbox and live).
    Bootstrap {
        /// The organization's name (need not be unique).
        #[arg(long)]
        org_name: String,
    },
    /// Create an org user (a reviewer).
    CreateUser {
        /// The organization (`org_…` or UUID).
        #[arg(long)]
        org: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Email, unique per organization.
        #[arg(long)]
        email: String,
        /// `reviewer`, `senior_reviewer` or `admin`.
        #[arg(long, default_value = "reviewer")]
        role: String,
    },
    /// Create an API key; its secret is shown once.
    CreateKey {
        /// The organization (`org_…` or UUID).
        #[arg(long)]
        org: String,
        /// `sandbox` or `live`.
        #[arg(long)]
        env: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// Comma-separated scopes (`cases:read,cases:write`).
        #[arg(long)]
        scopes: String,
        /// The org user the key acts as (`orguser_…` or UUID).
        #[arg(long)]
        user: Option<String>,
    },
    /// A one-time link (72 h) where an org user sets a console password; their previous
    /// invitation, password and console sessions end.
    InviteUser {
        /// The org user (`orguser_…` or UUID).
        #[arg(long)]
        id: String,
    },
    /// Revoke an API key.
    RevokeKey {
        /// The key (`key_…` or UUID).
        #[arg(long)]
        id: String,
    },
    /// Ingest synthetic sessions under review (each opens a case): demo data for development.
    SeedDemo {
        /// The organization (`org_…` or UUID).
        #[arg(long)]
        org: String,
        /// `sandbox` or `live`.
        #[arg(long, default_value = "sandbox")]
        env: String,
        /// How many sessions.
        #[arg(long, default_value_t = 5)]
        count: u32,
    },
    /// Re-encrypt, under the first configured PII key, every session another key sealed, in
    /// batches, online and resumable; prints the counts and the rate.
    ReencryptPii {
        /// Sessions per transaction.
        #[arg(long, default_value_t = 500)]
        batch: u32,
    },
}

/// A failed subcommand: its code and sentence.
struct Failure {
    code: &'static str,
    detail: String,
}

impl Failure {
    fn new(code: &'static str, detail: impl Into<String>) -> Self {
        Self { code, detail: detail.into() }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(cause) => {
                tracing::error!(error = format!("{cause:#}"), "database unavailable");
                Self::new("service_unavailable", "The database is unavailable.")
            }
            StoreError::Unknown(cause) => {
                tracing::error!(error = format!("{cause:#}"), "admin command failed");
                Self::new("internal_error", "An internal error occurred.")
            }
        }
    }
}

fn invalid(detail: impl Into<String>) -> Failure {
    Failure::new("validation_failed", detail)
}

/// Runs one subcommand; the process exit code.
pub async fn run(config: Config, command: AdminCommand) -> ExitCode {
    let result = match AppState::build(config) {
        Ok(state) => execute(&state, command).await,
        Err(error) => Err(Failure::new("invalid_configuration", format!("{error:#}"))),
    };
    match result {
        Ok(value) => {
            let mut stdout = std::io::stdout().lock();
            match writeln!(stdout, "{value}") {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            }
        }
        Err(failure) => {
            let _ = writeln!(std::io::stderr(), "{}", json!({"error": failure.code, "detail": failure.detail}));
            ExitCode::FAILURE
        }
    }
}

fn parse_org(text: &str) -> Result<OrgId, Failure> {
    OrgId::parse(text).map_err(|_| Failure::new("not_found", "Organization not found."))
}

fn parse_environment(text: &str) -> Result<Environment, Failure> {
    text.parse().map_err(|_| invalid("--env must be sandbox or live."))
}

impl From<AdminError> for Failure {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::NotFound(resource) => Self::new("not_found", format!("{resource} not found.")),
            AdminError::EmailTaken => Self::new("email_taken", "An org user with this email already exists."),
            AdminError::InvalidReviewer => {
                Self::new("invalid_reviewer", "--user names no active org user of this organization.")
            }
            AdminError::InsufficientScope(scope) => Self::new("insufficient_scope", format!("Lacks `{scope}`.")),
            AdminError::ReviewerMismatch => Self::new("reviewer_mismatch", "The key is bound to another org user."),
            AdminError::Invalid(errors) => errors.into(),
            AdminError::Store(store) => store.into(),
        }
    }
}

impl From<FieldErrors> for Failure {
    fn from(errors: FieldErrors) -> Self {
        invalid(format!("Invalid arguments: {errors}."))
    }
}

/// Every subcommand goes through the same service, and the same request types, as HTTP.
async fn execute(state: &AppState, command: AdminCommand) -> Result<Value, Failure> {
    let service = &state.service;
    match command {
        AdminCommand::Bootstrap { org_name } => {
            let (org, keys) = service.bootstrap(org_name).await?;
            let secret = |environment: Environment| {
                keys.iter().find(|(key, _)| key.tenant.environment == environment).map(|(_, secret)| secret.clone())
            };
            Ok(json!({
                "org_id": org.id.public(),
                "sandbox_key": secret(Environment::Sandbox),
                "live_key": secret(Environment::Live),
            }))
        }
        AdminCommand::CreateUser { org, name, email, role } => {
            let org_id = parse_org(&org)?;
            let request = NewOrgUserRequest { name: Some(name), email: Some(email), role: Some(role) };
            let user = service.create_org_user(org_id, request.into_domain()?).await?;
            Ok(to_value(&casework_api::admin::OrgUser::from(&user)))
        }
        AdminCommand::CreateKey { org, env, name, scopes, user } => {
            let tenant = Tenant { org_id: parse_org(&org)?, environment: parse_environment(&env)? };
            let scopes = scopes.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect();
            let request =
                NewApiKeyRequest { name: Some(name), scopes: Some(scopes), org_user_id: user, expires_at: None };
            let (key, secret) = service.operator_api_key(tenant, request.into_domain()?).await?;
            Ok(to_value(&casework_api::admin::CreatedApiKey { api_key: (&key).into(), key: secret }))
        }
        AdminCommand::InviteUser { id } => {
            let id = OrgUserId::parse(&id).map_err(|_| Failure::new("not_found", "Org user not found."))?;
            let user = state
                .store
                .org_user_anywhere(id)
                .await?
                .ok_or_else(|| Failure::new("not_found", "Org user not found."))?;
            let base = format!("http://{}:{}", state.config.server.host, state.config.server.port);
            let (url, expires_at) = crate::console::people::invite(state, user.org_id, id, &base)
                .await?
                .ok_or_else(|| Failure::new("not_found", "Org user not found."))?;
            Ok(json!({"url": url, "expires_at": casework_api::wire::format_time(expires_at)}))
        }
        AdminCommand::RevokeKey { id } => {
            let id = ApiKeyId::parse(&id).map_err(|_| Failure::new("not_found", "API key not found."))?;
            let key = service.revoke_api_key(None, id).await?;
            Ok(json!({"id": key.id.public(), "revoked_at": key.revoked_at.map(casework_api::wire::format_time)}))
        }
        AdminCommand::ReencryptPii { batch } => {
            let started = std::time::Instant::now();
            let mut reencrypted: u64 = 0;
            loop {
                let done = state.store.reencrypt_pii(batch.clamp(1, 10_000)).await?;
                if done == 0 {
                    break;
                }
                reencrypted += u64::from(done);
            }
            let seconds = started.elapsed().as_secs_f64();
            let rows: serde_json::Map<String, Value> =
                state.store.pii_rows_per_key().await?.into_iter().map(|(key, rows)| (key, json!(rows))).collect();
            Ok(json!({
                "reencrypted": reencrypted,
                "seconds": (seconds * 1000.0).round() / 1000.0,
                "rows_per_second": if seconds > 0.0 { (reencrypted as f64 / seconds).round() } else { 0.0 },
                "rows_per_key": rows,
            }))
        }
        AdminCommand::SeedDemo { org, env, count } => {
            let tenant = Tenant { org_id: parse_org(&org)?, environment: parse_environment(&env)? };
            let now = service.now();
            let mut session_ids = Vec::new();
            let mut case_ids = Vec::new();
            for index in 0..count.min(100) {
                let seed = u64::from(index) + (now.unix_timestamp().unsigned_abs() % 10_000) * 100;
                let session =
                    service.ingest_session(tenant, Actor::System, synthetic_session(seed)).await.map_err(|error| {
                        match error {
                            casework_domain::service::IngestSessionError::Store(store) => Failure::from(store),
                            other => Failure::new("internal_error", other.to_string()),
                        }
                    })?;
                session_ids.push(session.id.public());
                case_ids.extend(session.case_id.map(|id| id.public()));
            }
            Ok(json!({"session_ids": session_ids, "case_ids": case_ids}))
        }
    }
}

/// A wire type as the JSON value a subcommand prints.
fn to_value(value: &impl serde::Serialize) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}
