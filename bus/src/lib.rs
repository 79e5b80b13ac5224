//! Sarap bus: the Kafka plumbing every role shares, and the telemetry endpoints.
//!
//! - [`pipeline`]: an at-least-once consume → transform → produce loop. An input offset is
//!   stored only after every output it caused is acknowledged by the broker; partitions being
//!   revoked are drained (their stored offsets committed, their unprocessed messages handed
//!   back); SIGTERM/SIGINT finish the batch in hand and commit before leaving the group.
//! - [`kafka`]: client configuration (TLS/SASL passed through), topic creation, the embedded
//!   in-process broker used by `sarap run` and the tests.
//! - [`telemetry`]: `/metrics`, `/healthz` and `/readyz` for every role.

#![warn(missing_docs)]

pub mod kafka;
pub mod pipeline;
pub mod telemetry;

pub use pipeline::{InMsg, OutRecord, Pipeline, PipelineOptions, PipelineReport, Transform};
