//! Shared helpers for integration tests; include with `mod support;`.
pub mod clean;
pub mod http;
pub mod kafka;
pub mod postgres;
pub mod process;
pub mod tansu;
