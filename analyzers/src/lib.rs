//! The analyze stage: embeds clean posts with a multilingual encoder through ONNX Runtime,
//! scores them with small trained heads, finds group mentions, matches verified claims and
//! writes one hash-chained audit record per decision.
#![warn(missing_docs)]

pub mod analyzer;
pub mod audit;
pub mod batcher;
pub mod card;
pub mod claims;
pub mod encoder;
pub mod groups;
pub mod heads;
pub mod train;
pub mod translit;

pub use analyzer::{Analyzer, Models, Scoring};
pub use batcher::{Batcher, BatcherOptions};
pub use encoder::{Embedding, Encoder};

use std::path::Path;

/// Why the analyzer cannot load or run.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzerError {
    /// A model card is missing, malformed, or does not match its file or the policy.
    #[error("{0}")]
    Card(String),
    /// ONNX Runtime or the tokenizer failed.
    #[error("{0}")]
    Runtime(String),
    /// The claims registry is unusable.
    #[error("claims registry: {0}")]
    Claims(String),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

impl AnalyzerError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        AnalyzerError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}
