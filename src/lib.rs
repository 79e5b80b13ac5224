//! The `sarap` binary's library: roles and tools on top of the crates, so the integration
//! tests and benchmarks drive exactly what the command line runs.

#![warn(missing_docs)]

pub mod analyze;
pub mod audit_cli;
pub mod bench;
pub mod bench_analyze;
pub mod bench_sink;
pub mod replay;
pub mod roles;
pub mod sink;
pub mod synth;
