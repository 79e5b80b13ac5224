//! The multilingual encoder (multilingual-e5-small, int8) run through ONNX Runtime.
//!
//! The runtime library is loaded dynamically (`ort` with `load-dynamic`), from the file
//! `scripts/fetch-models` extracted and checked, so no binary is downloaded at build time.

use crate::card::{check_sha256, read_card, EncoderCard};
use crate::AnalyzerError;
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::TensorRef;
use sarap_core::contracts::ModelRef;
use sarap_core::Policy;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// An L2-normalised sentence embedding, shared between the cache and its users.
pub type Embedding = Arc<[f32]>;

/// Only one ONNX Runtime environment may exist per process; it lives as long as the process.
static RUNTIME: OnceLock<Result<ort::environment::Environment, String>> = OnceLock::new();

/// Loads the ONNX Runtime library once per process (`ORT_DYLIB_PATH` overrides `library`).
pub fn init_runtime(
    library: &Path,
) -> Result<&'static ort::environment::Environment, AnalyzerError> {
    let result = RUNTIME.get_or_init(|| {
        let path = std::env::var_os("ORT_DYLIB_PATH")
            .map(PathBuf::from)
            .unwrap_or_else(|| library.to_path_buf());
        if !path.exists() {
            return Err(format!(
                "ONNX Runtime library {} not found: run scripts/fetch-models (or set ORT_DYLIB_PATH)",
                path.display()
            ));
        }
        ort::init_from(&path)
            .map_err(|e| format!("loading ONNX Runtime from {}: {e}", path.display()))?
            .with_name("sarap")
            .build()
            .map_err(|e| format!("creating the ONNX Runtime environment: {e}"))
    });
    result
        .as_ref()
        .map_err(|e| AnalyzerError::Runtime(e.clone()))
}

/// Tokenizer plus session; `Session::run` needs `&mut`, hence the mutex (one batch at a time
/// is what a CPU wants anyway: ONNX Runtime parallelises inside the batch).
pub struct Encoder {
    session: Mutex<Session>,
    tokenizer: tokenizers::Tokenizer,
    /// The card the model was checked against.
    pub card: EncoderCard,
    /// Identity for audit records.
    pub model_ref: ModelRef,
    max_tokens: usize,
    /// Id of `</s>`, kept as the last token when a text is truncated.
    eos_id: i64,
}

/// Where the encoder's files are, and how to run it.
#[derive(Debug, Clone)]
pub struct EncoderOptions {
    /// Folder written by `scripts/fetch-models`.
    pub models_dir: PathBuf,
    /// The ONNX Runtime shared library.
    pub ort_library: PathBuf,
    /// Intra-op threads; 0 = one per core.
    pub threads: usize,
    /// Tokens kept per text.
    pub max_tokens: usize,
}

impl Encoder {
    /// Loads and checks the encoder: card present, sha256 of model and tokenizer as the card says.
    pub fn load(opts: &EncoderOptions, policy: &Policy) -> Result<Self, AnalyzerError> {
        let env = init_runtime(&opts.ort_library)?;
        let dir = opts.models_dir.join("e5-small");
        let card: EncoderCard = read_card(&dir.join("card.json"), policy)?;
        let model_path = dir.join(&card.file);
        let sha = check_sha256(&model_path, &card.sha256, policy)?;
        let tok_path = dir.join("tokenizer.json");
        check_sha256(&tok_path, &card.tokenizer_sha256, policy)?;
        let mut tokenizer = tokenizers::Tokenizer::from_file(&tok_path)
            .map_err(|e| AnalyzerError::Runtime(format!("{}: {e}", tok_path.display())))?;
        // Padding and truncation are done here, by length bucket, not by the tokenizer.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(None)
            .map_err(|e| AnalyzerError::Runtime(e.to_string()))?;
        let eos_id = tokenizer.token_to_id("</s>").unwrap_or(2) as i64;
        let threads = if opts.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            opts.threads
        };
        let opt = |e: ort::Error<ort::session::builder::SessionBuilder>| {
            AnalyzerError::Runtime(format!("session options: {e}"))
        };
        let session = Session::builder(env)
            .map_err(|e| AnalyzerError::Runtime(format!("session: {e}")))?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(opt)?
            .with_intra_threads(threads)
            .map_err(opt)?
            .commit_from_file(&model_path)
            .map_err(|e| AnalyzerError::Runtime(format!("{}: {e}", model_path.display())))?;
        let max_tokens = opts.max_tokens.min(card.max_tokens);
        let model_ref = ModelRef {
            id: card.id.clone(),
            version: card.version.clone(),
            sha256: sha,
        };
        Ok(Encoder {
            session: Mutex::new(session),
            tokenizer,
            card,
            model_ref,
            max_tokens,
            eos_id,
        })
    }

    /// Token ids of one text with the model's prefix, truncated to `max_tokens` (keeping `</s>`).
    pub fn tokenize(&self, text: &str) -> Result<Vec<i64>, AnalyzerError> {
        let input = format!("{}{}", self.card.prefix, text);
        let enc = self
            .tokenizer
            .encode(input, true)
            .map_err(|e| AnalyzerError::Runtime(format!("tokenizer: {e}")))?;
        let mut ids: Vec<i64> = enc.get_ids().iter().map(|&i| i as i64).collect();
        if ids.len() > self.max_tokens {
            ids.truncate(self.max_tokens - 1);
            ids.push(self.eos_id);
        }
        Ok(ids)
    }

    /// Embeds one batch of token id rows, padding them to the longest row.
    pub fn embed_ids(&self, rows: &[&[i64]]) -> Result<Vec<Embedding>, AnalyzerError> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let b = rows.len();
        let s = rows.iter().map(|r| r.len()).max().unwrap_or(1).max(1);
        let mut ids = vec![self.card.pad_id; b * s];
        let mut mask = vec![0i64; b * s];
        for (i, r) in rows.iter().enumerate() {
            ids[i * s..i * s + r.len()].copy_from_slice(r);
            mask[i * s..i * s + r.len()].fill(1);
        }
        let shape = [b, s];
        let ids_t = TensorRef::from_array_view((shape, &ids[..]))
            .map_err(|e| AnalyzerError::Runtime(e.to_string()))?;
        let mask_t = TensorRef::from_array_view((shape, &mask[..]))
            .map_err(|e| AnalyzerError::Runtime(e.to_string()))?;
        let mut session = self
            .session
            .lock()
            .map_err(|_| AnalyzerError::Runtime("encoder session poisoned".into()))?;
        let outputs = session
            .run(ort::inputs!["input_ids" => ids_t, "attention_mask" => mask_t])
            .map_err(|e| AnalyzerError::Runtime(format!("inference: {e}")))?;
        let (out_shape, data) = outputs["sentence_embedding"]
            .try_extract_tensor::<f32>()
            .map_err(|e| AnalyzerError::Runtime(format!("output: {e}")))?;
        let dims = self.card.dims;
        if out_shape.len() != 2 || out_shape[0] as usize != b || out_shape[1] as usize != dims {
            return Err(AnalyzerError::Runtime(format!(
                "sentence_embedding has shape {out_shape:?}, expected [{b}, {dims}]"
            )));
        }
        Ok(data.chunks_exact(dims).map(Embedding::from).collect())
    }

    /// Embeds texts directly (no cache, no queue), in length-sorted chunks of `batch`.
    /// For training and tools; the analyze role goes through the [`crate::batcher::Batcher`].
    pub fn embed_texts(
        &self,
        texts: &[&str],
        batch: usize,
    ) -> Result<Vec<Embedding>, AnalyzerError> {
        let ids: Vec<Vec<i64>> = texts
            .iter()
            .map(|t| self.tokenize(t))
            .collect::<Result<_, _>>()?;
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| ids[i].len());
        let mut out: Vec<Option<Embedding>> = vec![None; ids.len()];
        for chunk in order.chunks(batch.max(1)) {
            let rows: Vec<&[i64]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
            for (&i, e) in chunk.iter().zip(self.embed_ids(&rows)?) {
                out[i] = Some(e);
            }
        }
        Ok(out
            .into_iter()
            .map(|e| e.expect("every row embedded"))
            .collect())
    }

    /// Width of the embeddings.
    pub fn dims(&self) -> usize {
        self.card.dims
    }
}

/// Cosine similarity of two L2-normalised embeddings (their dot product).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
