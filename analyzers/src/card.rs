//! Model cards: a model loads only with its card beside it, and only if the file's sha256 is
//! the one the card records (policy `models.require_model_card`, `models.require_sha256_match`).

use crate::AnalyzerError;
use sarap_core::Policy;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The machine-readable card of the encoder, written by `scripts/fetch-models`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EncoderCard {
    /// Model id.
    pub id: String,
    /// Version of the weights and converter.
    pub version: String,
    /// File name of the serving graph, relative to the card.
    pub file: String,
    /// SHA-256 of the serving graph.
    pub sha256: String,
    /// SHA-256 of `tokenizer.json`.
    pub tokenizer_sha256: String,
    /// Embedding width.
    pub dims: usize,
    /// Token id used for padding.
    pub pad_id: i64,
    /// Text prepended to every input (e5 expects "query: ").
    pub prefix: String,
    /// Longest input the encoder has positions for.
    pub max_tokens: usize,
}

/// Per-language evaluation of a head on the project's test split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LangEval {
    /// Posts in the test split.
    pub n: usize,
    /// Macro-averaged F1 over the head's classes.
    pub macro_f1: f64,
    /// Accuracy.
    pub accuracy: f64,
    /// Macro-F1 of always answering the majority class, the baseline to beat.
    pub majority_macro_f1: f64,
}

/// The machine-readable card of a trained head, written by `sarap train`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadCard {
    /// Head id (`sentiment`, `hostility`).
    pub id: String,
    /// Version: `1.` and the first 8 hex digits of `corpus_sha256`.
    pub version: String,
    /// Weights file, relative to the card.
    pub file: String,
    /// SHA-256 of the weights file.
    pub sha256: String,
    /// SHA-256 of the encoder whose embeddings the head reads.
    pub encoder_sha256: String,
    /// SHA-256 over the hex SHA-256 of `kk.jsonl`, `ru.jsonl` and `en.jsonl`, in that order.
    pub corpus_sha256: String,
    /// Labels in output order.
    pub labels: Vec<String>,
    /// Decision thresholds by name.
    pub thresholds: BTreeMap<String, f32>,
    /// Evaluation on the test split, by language.
    pub eval: BTreeMap<String, LangEval>,
    /// What the head is for.
    pub intended_use: String,
    /// What it must not be used for.
    pub avoid: String,
}

impl HeadCard {
    /// Largest gap in macro-F1 between the best and the worst language.
    pub fn language_gap(&self) -> f64 {
        let f1s: Vec<f64> = self.eval.values().map(|e| e.macro_f1).collect();
        let max = f1s.iter().cloned().fold(f64::MIN, f64::max);
        let min = f1s.iter().cloned().fold(f64::MAX, f64::min);
        if f1s.is_empty() {
            0.0
        } else {
            max - min
        }
    }

    /// Checks the card against the policy's model rules; `languages` must all be evaluated.
    pub fn check(&self, policy: &Policy, languages: &[&str]) -> Result<(), AnalyzerError> {
        let m = &policy.models;
        if m.require_per_language_eval {
            for l in languages {
                if !self.eval.contains_key(*l) {
                    return Err(AnalyzerError::Card(format!(
                        "head {}: no evaluation for language {l} (policy models.require_per_language_eval)",
                        self.id
                    )));
                }
            }
        }
        let gap = self.language_gap();
        if gap > m.max_language_gap + 1e-9 {
            return Err(AnalyzerError::Card(format!(
                "head {}: macro-F1 gap between languages is {gap:.3}, above policy models.max_language_gap = {}",
                self.id, m.max_language_gap
            )));
        }
        Ok(())
    }
}

/// SHA-256 of a file, hex, read in chunks (the encoder is ~120 MB).
pub fn sha256_file(path: &Path) -> Result<String, AnalyzerError> {
    let mut f = std::fs::File::open(path).map_err(|e| AnalyzerError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| AnalyzerError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Reads a JSON card; a missing card is refused when the policy requires cards.
pub fn read_card<T: serde::de::DeserializeOwned>(
    path: &Path,
    policy: &Policy,
) -> Result<T, AnalyzerError> {
    if !path.exists() {
        let rule = if policy.models.require_model_card {
            " (policy models.require_model_card)"
        } else {
            ""
        };
        return Err(AnalyzerError::Card(format!(
            "model card {} is missing{rule}",
            path.display()
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| AnalyzerError::io(path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| AnalyzerError::Card(format!("model card {}: {e}", path.display())))
}

/// Refuses a file whose sha256 differs from the card's (policy `models.require_sha256_match`).
pub fn check_sha256(path: &Path, expected: &str, policy: &Policy) -> Result<String, AnalyzerError> {
    let actual = sha256_file(path)?;
    if policy.models.require_sha256_match && !actual.eq_ignore_ascii_case(expected) {
        return Err(AnalyzerError::Card(format!(
            "{}: sha256 {actual} differs from the card's {expected} (policy models.require_sha256_match)",
            path.display()
        )));
    }
    Ok(actual)
}
