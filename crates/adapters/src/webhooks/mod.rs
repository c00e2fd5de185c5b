//! Webhook delivery over HTTP: [`signature`] (both schemes, and [`signature::verify_signature`]
//! for receivers), [`guard`] (the SSRF guard at connect time) and [`sender`] (one attempt).
//! Which deliveries are due, and what follows an attempt, live in `postgres::deliveries` and
//! the domain's `webhook` module.

pub mod guard;
pub mod sender;
pub mod signature;
