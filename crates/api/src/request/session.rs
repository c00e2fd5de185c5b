//! The session endpoints' bodies.
