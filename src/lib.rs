//! The `sarap` binary's library: roles and tools on top of the crates, so the integration
//! tests and benchmarks drive exactly what the command line runs.

#![warn(missing_docs)]

pub mod bench;
pub mod replay;
pub mod roles;
pub mod synth;
