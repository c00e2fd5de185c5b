//! The administration endpoints' bodies.
