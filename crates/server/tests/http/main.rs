//! HTTP tests through the real app: a real server on a free port, a fresh database per test,
//! requests with a real HTTP client.

#![expect(clippy::unwrap_used, clippy::panic, reason = "test helpers: a failure is a failed test")]

mod receiver;
mod support;

mod admin;
mod auth;
mod cases;
mod cli;
mod console;
mod conventions;
mod envelope;
mod evidence;
mod lifecycle;
mod mcp;
mod openapi;
mod outage;
mod processes;
mod queue;
mod rotation;
mod sandbox;
mod search;
mod security;
mod sessions;
mod sweep;
mod webhooks;
