//! Shared helpers for integration tests; include with `mod support;`.
pub mod kafka;
pub mod tansu;
