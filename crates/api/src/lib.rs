//! The wire types of Casework's public API (API.md, WEBHOOKS.md): each JSON shape a client or a
//! webhook receiver sees is written once, here, as a type that serializes to it and describes
//! itself (`utoipa::ToSchema`), so the responses, the webhook payloads and the OpenAPI document
//! cannot disagree. Keys are snake_case; the HTTP edge inflects them.
//!
//! Modules:
//! - [`wire`]: the building blocks: timestamps with six fractional digits, enumerations spelled
//!   as the domain spells them, data maps.
//! - [`case`]: the case (with its SLA and recommendation), and the case with its session.
//! - [`session`]: the session, its checks and their summary, with PII only as allowed.
//! - [`activity`]: events, actors, notes and blocklist entries.
//! - [`admin`]: settings, org users and API keys.
//! - [`list`]: the list envelope and small result objects (counts, tags, PII results).
//! - [`webhook`]: webhook endpoints, deliveries and payloads.
//! - [`inflection`]: key spelling (`Key-Inflection`, an endpoint's `key_inflection`).
//!
//! Every object carries `id` (public) and `uuid`; every reference to another resource is a UUID.

pub mod activity;
pub mod admin;
pub mod case;
pub mod error;
pub mod inflection;
pub mod list;
pub mod request;
pub mod session;
pub mod webhook;
pub mod wire;
