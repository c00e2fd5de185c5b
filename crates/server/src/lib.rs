//! `casework-server`: the `casework` binary's parts, a library so tests can start the real app.
//!
//! Modules:
//! - [`config`]: layered configuration (files, environment variables), loaded once.
//! - [`telemetry`]: structured logs (JSON or pretty) on stderr.
//! - [`state`]: the composition of adapters into the service the handlers share.
//! - [`http`]: routes, extractors, the error envelope and the HTTP server.
//! - [`metrics`]: the Prometheus series behind `/metrics`.
//! - [`cli`]: `serve`, `worker`, `migrate` and `admin …`.
//! - [`workers`]: the claim sweeper and the check-summary refresher.
//! - [`delivery`]: webhook delivery from the outbox.
//! - [`console`]: the reviewers' console at `/console` (server-rendered pages).
//! - [`listen`]: a PostgreSQL `LISTEN` held for the process's life (webhooks, live console).
//! - [`mcp`]: the MCP server at `/mcp`, for AI assistants.
//! - [`throttle`]: one log line per cause and interval, for failures that repeat (outages).

pub mod cli;
pub mod config;
pub mod console;
pub mod delivery;
pub mod http;
pub mod listen;
pub mod mcp;
pub mod metrics;
pub mod state;
pub mod telemetry;
pub mod throttle;
pub mod workers;
