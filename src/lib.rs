//! The `sarap` binary's library: command-line roles and tools on top of the crates.
