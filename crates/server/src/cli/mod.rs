//! The command line: `casework serve | worker | migrate | admin …` (OPERATIONS.md, API.md §6).
//!
//! Modules: [`admin`] (the administration subcommands, JSON on stdout).

pub mod admin;

use std::net::TcpListener;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{self, Config};
use crate::state::AppState;
use crate::{http, telemetry, workers};

/// Casework: the manual-review service of an identity-verification platform.
#[derive(Debug, Parser)]
#[command(name = "casework", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("CASEWORK_COMMIT"), ")"), about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (and the background workers unless --no-workers).
    Serve {
        /// Do not run the background workers in this process.
        #[arg(long)]
        no_workers: bool,
    },
    /// Run the background workers only (claim sweeper, summary refresher).
    Worker,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Administration without the HTTP server: JSON on stdout, logs on stderr.
    #[command(subcommand)]
    Admin(admin::AdminCommand),
}

/// Runs a parsed command line; the process exit code.
pub fn run(cli: Cli) -> ExitCode {
    let config = match config::load() {
        Ok(config) => config,
        Err(error) => {
            if matches!(cli.command, Command::Admin(_)) {
                // Admin subcommands answer every failure in their JSON shape (API.md §6).
                eprintln!("{}", serde_json::json!({"error": "invalid_configuration", "detail": error.to_string()}));
            } else {
                eprintln!("casework: {error}");
            }
            return ExitCode::FAILURE;
        }
    };
    let _log_writer = telemetry::init(&config.log);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("casework: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match cli.command {
        Command::Admin(command) => runtime.block_on(admin::run(config, command)),
        Command::Migrate => report(runtime.block_on(migrate(&config))),
        Command::Serve { no_workers } => report(runtime.block_on(serve(config, !no_workers))),
        Command::Worker => report(runtime.block_on(worker(config))),
    }
}

fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "casework failed");
            eprintln!("casework: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let applied = casework_adapters::postgres::run_migrations(&config.database.url).await?;
    tracing::info!(applied, "migrations applied");
    Ok(())
}

/// Refuses to run when stored rows are sealed under a PII key that is not configured (removed
/// too early in a rotation): they would read as errors. An unreachable database is no reason to
/// refuse (the service answers 503 and recovers); the check then waits for the next start.
async fn check_pii_keys(state: &AppState) -> anyhow::Result<()> {
    match state.store.unknown_pii_keys().await {
        Ok(unknown) if unknown.is_empty() => Ok(()),
        Ok(unknown) => {
            let named: Vec<String> = unknown.iter().map(|(key, rows)| format!("{key} ({rows} rows)")).collect();
            anyhow::bail!(
                "stored PII is sealed under key ids that security.pii_encryption_keys does not configure: {}; \
                 configure them again (after the active key), run `casework admin reencrypt-pii`, then remove them",
                named.join(", ")
            )
        }
        Err(error) => {
            tracing::warn!(error = format!("{error:#}"), "could not check the PII key ids at start-up");
            Ok(())
        }
    }
}

async fn serve(config: Config, with_workers: bool) -> anyhow::Result<()> {
    let listener = TcpListener::bind((config.server.host.as_str(), config.server.port))?;
    tracing::info!(address = %listener.local_addr()?, environment = %config.environment, "casework serving");
    let state = AppState::build(config)?;
    check_pii_keys(&state).await?;
    let background = with_workers.then(|| workers::spawn(state.clone()));
    let server = http::serve(state.clone(), listener)?;
    let handle = server.handle();
    let metrics = if state.config.server.metrics_address.is_empty() {
        None
    } else {
        let listener = TcpListener::bind(state.config.server.metrics_address.as_str())?;
        tracing::info!(address = %listener.local_addr()?, "metrics served apart");
        let metrics = http::serve_metrics(state.clone(), listener)?;
        let metrics_handle = metrics.handle();
        tokio::spawn(metrics);
        Some(metrics_handle)
    };
    tokio::spawn(async move {
        shutdown_signal().await;
        // Readiness turns 503 first; the listener closes once load balancers have noticed.
        state.draining.store(true, std::sync::atomic::Ordering::SeqCst);
        tracing::info!(drain_ms = state.config.server.shutdown_drain_ms, "draining before shutdown");
        tokio::time::sleep(std::time::Duration::from_millis(state.config.server.shutdown_drain_ms)).await;
        handle.stop(true).await;
    });
    server.await?;
    if let Some(metrics) = metrics {
        metrics.stop(true).await;
    }
    if let Some(background) = background {
        background.abort();
    }
    tracing::info!("casework stopped");
    Ok(())
}

async fn worker(config: Config) -> anyhow::Result<()> {
    let state = AppState::build(config)?;
    check_pii_keys(&state).await?;
    tracing::info!("casework workers running");
    let background = workers::spawn(state);
    shutdown_signal().await;
    background.abort();
    tracing::info!("casework workers stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut terminate) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            tokio::select! {
                _ = terminate.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
