//! `casework admin …`: administration against the configured database, without the HTTP server.
//! Each subcommand prints exactly one JSON object on stdout; on failure it prints
//! `{"error": code, "detail": sentence}` on stderr and exits non-zero.

use std::io::Write;
use std::process::ExitCode;

use casework_adapters::auth::ApiKeySecret;
use casework_adapters::postgres::directory::{CreateKeyError, CreateUserError};
use casework_domain::case::Actor;
use casework_domain::demo::synthetic_session;
use casework_domain::directory::{ApiKey, OrgUser, Role, Scope, Scopes};
use casework_domain::id::{ApiKeyId, OrgId, OrgUserId};
use casework_domain::ports::{DirectoryRepository, IdGenerator, StoreError};
use casework_domain::tenant::{Environment, Organization, Tenant};
use clap::Subcommand;
use serde_json::{Value, json};
use validator::ValidateEmail;

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

fn text_arg(name: &str, value: &str) -> Result<String, Failure> {
    let length = value.chars().count();
    if (1..=255).contains(&length) {
        Ok(value.to_owned())
    } else {
        Err(invalid(format!("--{name} must be 1 to 255 characters.")))
    }
}

async fn execute(state: &AppState, command: AdminCommand) -> Result<Value, Failure> {
    let now = state.service.now();
    let ids = casework_adapters::system::UuidV7Ids;
    match command {
        AdminCommand::Bootstrap { org_name } => {
            let org = Organization { id: ids.generate(), name: text_arg("org-name", &org_name)?, created_at: now };
            let keys: Vec<(ApiKey, ApiKeySecret)> = Environment::ALL
                .into_iter()
                .map(|environment| {
                    let key = ApiKey {
                        id: ids.generate(),
                        tenant: Tenant { org_id: org.id, environment },
                        name: format!("{environment} bootstrap key"),
                        scopes: Scopes::all(),
                        org_user_id: None,
                        expires_at: None,
                        last_used_at: None,
                        created_at: now,
                        revoked_at: None,
                    };
                    (key, ApiKeySecret::generate(environment))
                })
                .collect();
            state.store.create_organization(&org, &keys).await?;
            let secret = |environment: Environment| {
                keys.iter().find(|(key, _)| key.tenant.environment == environment).map(|(_, s)| s.expose().to_owned())
            };
            Ok(json!({
                "org_id": org.id.public(),
                "sandbox_key": secret(Environment::Sandbox),
                "live_key": secret(Environment::Live),
            }))
        }
        AdminCommand::CreateUser { org, name, email, role } => {
            let org_id = parse_org(&org)?;
            if !email.validate_email() || email.len() > 320 {
                return Err(invalid("--email must be an email address."));
            }
            let role: Role = role.parse().map_err(|_| invalid("--role must be reviewer, senior_reviewer or admin."))?;
            let user = OrgUser {
                id: ids.generate(),
                org_id,
                name: text_arg("name", &name)?,
                email,
                role,
                active: true,
                created_at: now,
            };
            state.store.create_org_user(&user).await.map_err(|error| match error {
                CreateUserError::EmailTaken => {
                    Failure::new("email_taken", "An org user with this email already exists.")
                }
                CreateUserError::OrgNotFound => Failure::new("not_found", "Organization not found."),
                CreateUserError::Store(store) => store.into(),
            })?;
            Ok(to_value(&casework_api::admin::OrgUser::from(&user)))
        }
        AdminCommand::CreateKey { org, env, name, scopes, user } => {
            let org_id = parse_org(&org)?;
            let environment = parse_environment(&env)?;
            let scopes = scopes
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<Scope>().map_err(|_| invalid(format!("Unknown scope `{s}`."))))
                .collect::<Result<Scopes, _>>()?;
            let tenant = Tenant { org_id, environment };
            let org_user_id = match user {
                None => None,
                Some(text) => {
                    let id = OrgUserId::parse(&text)
                        .map_err(|_| Failure::new("invalid_reviewer", "--user names no org user."))?;
                    let found = state.store.find_org_user(tenant, id).await?;
                    if !found.is_some_and(|u| u.active) {
                        return Err(Failure::new(
                            "invalid_reviewer",
                            "--user names no active org user of this organization.",
                        ));
                    }
                    Some(id)
                }
            };
            let key = ApiKey {
                id: ids.generate(),
                tenant,
                name: text_arg("name", &name)?,
                scopes,
                org_user_id,
                expires_at: None,
                last_used_at: None,
                created_at: now,
                revoked_at: None,
            };
            let secret = ApiKeySecret::generate(environment);
            state.store.create_api_key(&key, &secret).await.map_err(|error| match error {
                CreateKeyError::OrgNotFound => Failure::new("not_found", "Organization not found."),
                CreateKeyError::UserNotFound => Failure::new("invalid_reviewer", "--user names no org user."),
                CreateKeyError::Store(store) => store.into(),
            })?;
            Ok(to_value(&casework_api::admin::CreatedApiKey {
                api_key: (&key).into(),
                key: secret.expose().to_owned(),
            }))
        }
        AdminCommand::RevokeKey { id } => {
            let id = ApiKeyId::parse(&id).map_err(|_| Failure::new("not_found", "API key not found."))?;
            let key = state
                .store
                .revoke_api_key(id, now)
                .await?
                .ok_or_else(|| Failure::new("not_found", "API key not found."))?;
            Ok(json!({"id": key.id.public(), "revoked_at": key.revoked_at.map(casework_api::wire::format_time)}))
        }
        AdminCommand::SeedDemo { org, env, count } => {
            let tenant = Tenant { org_id: parse_org(&org)?, environment: parse_environment(&env)? };
            let mut session_ids = Vec::new();
            let mut case_ids = Vec::new();
            for index in 0..count.min(100) {
                let seed = u64::from(index) + (now.unix_timestamp().unsigned_abs() % 10_000) * 100;
                let session =
                    state.service.ingest_session(tenant, Actor::System, synthetic_session(seed)).await.map_err(
                        |error| match error {
                            casework_domain::service::IngestSessionError::Store(store) => Failure::from(store),
                            other => Failure::new("internal_error", other.to_string()),
                        },
                    )?;
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
