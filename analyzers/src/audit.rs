//! The hash-chained audit log lives in `sarap_core::audit`, so the sink and the CLI can verify
//! it without the model runtime; re-exported here for the analyzer's writers.

pub use sarap_core::audit::*;
