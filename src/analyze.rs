//! The analyze role and the model tools around it: `classify`, `train`, `eval`.

use crate::roles::{Loaded, StartupError};
use anyhow::Context;
use sarap_analyzers::claims::{parse_registry, Registry};
use sarap_analyzers::train::DataPaths;
use sarap_analyzers::{AnalyzerError, Models};
use sarap_bus::telemetry::Readiness;
use sarap_bus::{Pipeline, PipelineOptions, PipelineReport};
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

impl From<AnalyzerError> for StartupError {
    fn from(e: AnalyzerError) -> Self {
        StartupError::Model(e.to_string())
    }
}

/// Loads the model bundle and the claims registry (blocking: hashing and session creation).
pub async fn load_models(loaded: &Loaded) -> Result<(Arc<Models>, Registry), StartupError> {
    let cfg = loaded.config.analyze.clone();
    let policy = loaded.policy.clone();
    let r = tokio::task::spawn_blocking(move || -> Result<_, AnalyzerError> {
        let models = Arc::new(Models::load(&cfg, &policy)?);
        let registry = Registry::load(&cfg.claims, &models.batcher)?;
        Ok((models, registry))
    })
    .await
    .map_err(|e| StartupError::Model(format!("model loading stopped: {e}")))?;
    let (models, registry) = r?;
    tracing::info!(
        model = %models.bundle.version,
        claims = registry.claims().len(),
        claim_threshold = models.claims.threshold,
        "models loaded"
    );
    Ok((models, registry))
}

/// Runs the analyze role until `shutdown` (or `stop_after` inputs).
pub async fn run_analyze(
    loaded: &Loaded,
    brokers: &str,
    ready: &Readiness,
    shutdown: watch::Receiver<bool>,
    stop_after: Option<u64>,
    models: Arc<Models>,
    registry: Registry,
) -> anyhow::Result<PipelineReport> {
    let cfg = &loaded.config;
    let mut analyzer = sarap_analyzers::Analyzer::new(
        models,
        registry,
        &loaded.policy,
        &cfg.analyze,
        &cfg.kafka.topics,
    );
    tracing::info!(
        chain = analyzer.chain_id(),
        "analyze starting; audit chain id"
    );
    let pipeline = Pipeline::new(
        &cfg.kafka,
        brokers,
        PipelineOptions {
            role: "analyze".into(),
            group_id: format!("{}-analyze", cfg.kafka.group_prefix),
            topics: vec![cfg.kafka.topics.clean.clone()],
            batch_size: cfg.analyze.batch_size,
            batch_wait: Duration::from_millis(cfg.analyze.batch_wait_ms),
            stop_after,
            auto_offset_reset: "earliest".into(),
        },
    )
    .context("connecting the analyze consumer")?;
    ready.set("analyze", true);
    let report = pipeline.run(&mut analyzer, shutdown).await;
    ready.set("analyze", false);
    report
}

/// `sarap analyze`: the analyze role against an external cluster, with telemetry.
pub async fn analyze_main(loaded: Loaded) -> anyhow::Result<()> {
    let brokers = loaded.config.kafka.brokers.clone();
    anyhow::ensure!(
        !brokers.is_empty(),
        "kafka.brokers: no brokers configured (set SARAP_BROKERS or --brokers)"
    );
    let ready = crate::roles::start_telemetry(&loaded, &["analyze"]).await?;
    let (models, registry) = load_models(&loaded).await?;
    let report = run_analyze(
        &loaded,
        &brokers,
        &ready,
        sarap_bus::pipeline::shutdown_on_signals(),
        None,
        models,
        registry,
    )
    .await?;
    tracing::info!(
        consumed = report.consumed,
        produced = report.produced,
        "analyze stopped"
    );
    Ok(())
}

/// One input line of `sarap classify`.
#[derive(serde::Deserialize)]
struct ClassifyIn {
    id: serde_json::Value,
    text: String,
}

/// `sarap classify`: scores a JSONL file of `{"id","text"}` offline, one JSON line per input.
/// Text goes through the same normalisation, redaction and language identification as ingest.
pub fn classify(
    loaded: &Loaded,
    input: &Path,
    claims: Option<&Path>,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    let cfg = &loaded.config.analyze;
    let models = Models::load(cfg, &loaded.policy).map_err(StartupError::from)?;
    let registry = match claims {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| p.display().to_string())?;
            let claims =
                parse_registry(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?;
            Registry::from_claims(claims, &models.batcher)?
        }
        None => Registry::load(&cfg.claims, &models.batcher)?,
    };
    let detector = sarap_ingest::lang::LangDetector::new(&loaded.config.ingest.other_languages)
        .map_err(|e| anyhow::anyhow!("language detector: {e}"))?;
    let redactor = sarap_ingest::redact::Redactor::new();
    let file = std::fs::File::open(input).with_context(|| input.display().to_string())?;
    let mut rows = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.with_context(|| format!("{}: line {}", input.display(), i + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let row: ClassifyIn = serde_json::from_str(&line)
            .map_err(|e| anyhow::anyhow!("{}: line {}: {e}", input.display(), i + 1))?;
        let (text, _) = redactor.redact(&sarap_ingest::normalize::normalize(&row.text));
        let guess = detector.detect(&text);
        rows.push((row.id, text, guess.lang, guess.script));
    }
    // Chunks keep memory flat on big files while giving the batcher enough to sort by length.
    let mut n = 0;
    for chunk in rows.chunks(512) {
        let texts: Vec<&str> = chunk.iter().map(|r| r.1.as_str()).collect();
        let scripts: Vec<_> = chunk.iter().map(|r| (r.2, r.3)).collect();
        let scored = models.score(&texts, &scripts, &registry)?;
        for ((id, _, lang, _), s) in chunk.iter().zip(scored) {
            // Four decimals as f64, so the JSON shows 0.9742, not 0.9742000102996826.
            let d = |v: f32| (v as f64 * 10_000.0).round() / 10_000.0;
            let line = serde_json::json!({
                "id": id,
                "lang": lang.as_str(),
                "sentiment": {"label": s.sentiment_label, "scores": {
                    "neg": d(s.sentiment.neg), "neu": d(s.sentiment.neu), "pos": d(s.sentiment.pos)}},
                "hostility": {"label": u8::from(s.hostile), "score": d(s.hostility)},
                "targets": s.targets,
                "claim": s.matched.as_ref().map(|c| serde_json::json!({
                    "claim_id": c.claim_id, "similarity": d(c.similarity)})),
            });
            writeln!(out, "{line}")?;
            n += 1;
        }
    }
    Ok(n)
}

fn encoder_only(loaded: &Loaded) -> anyhow::Result<sarap_analyzers::Encoder> {
    let cfg = &loaded.config.analyze;
    Ok(sarap_analyzers::Encoder::load(
        &sarap_analyzers::encoder::EncoderOptions {
            models_dir: cfg.models_dir.clone(),
            ort_library: cfg.ort_library.clone(),
            threads: cfg.threads,
            max_tokens: cfg.max_tokens,
        },
        &loaded.policy,
    )
    .map_err(StartupError::from)?)
}

/// `sarap train`: trains the heads and calibrates the claim threshold into `out`.
pub fn train(loaded: &Loaded, data: DataPaths, out: &Path) -> anyhow::Result<String> {
    let encoder = encoder_only(loaded)?;
    let report = sarap_analyzers::train::train(&encoder, &data, out)?;
    Ok(report.render())
}

/// `sarap eval`: per-language figures of the committed heads on the test split.
pub fn eval(loaded: &Loaded, data: DataPaths) -> anyhow::Result<(String, bool)> {
    let encoder = encoder_only(loaded)?;
    let report = sarap_analyzers::train::eval(
        &encoder,
        &data,
        &loaded.config.analyze.heads_dir,
        &loaded.policy,
    )?;
    // The targets are per language (kk, ru, en); the kk-cyrl and kk-latn rows are for reading.
    let langs = sarap_analyzers::analyzer::EVAL_LANGS;
    let ok = report
        .sentiment
        .iter()
        .filter(|e| langs.contains(&e.lang.as_str()))
        .all(|e| e.scores.macro_f1 >= 0.80)
        && report
            .hostility
            .iter()
            .filter(|e| langs.contains(&e.lang.as_str()))
            .all(|e| e.scores.macro_f1 >= 0.85);
    Ok((report.render(), ok))
}
