//! The configuration file (`config/sarap.toml`) with environment overrides.
//!
//! Secrets and addresses come from the environment so the file can be shared:
//! `SARAP_BROKERS`, `SARAP_KAFKA_SASL_USERNAME`, `SARAP_KAFKA_SASL_PASSWORD`,
//! `SARAP_KAFKA_SSL_KEY_PASSWORD`, `SARAP_TELEMETRY_LISTEN`, `SARAP_STORE_URL`, and generically
//! `SARAP__SECTION__KEY=value` for any key (value parsed as TOML, else taken as a string).
//! Every error names the dotted key at fault.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Path of the policy file, relative to the working directory.
    #[serde(default = "default_policy")]
    pub policy: PathBuf,
    /// Kafka connection and topics.
    #[serde(default)]
    pub kafka: KafkaConfig,
    /// Metrics and health endpoints.
    #[serde(default)]
    pub telemetry: TelemetryConfig,
    /// Where the pseudonymisation key comes from.
    #[serde(default)]
    pub pseudonym: PseudonymConfig,
    /// The ingest role.
    #[serde(default)]
    pub ingest: IngestConfig,
    /// The analyze role.
    #[serde(default)]
    pub analyze: AnalyzeConfig,
    /// The sink role: windows, store, API, risk and alerts.
    #[serde(default)]
    pub sink: SinkConfig,
}

fn default_policy() -> PathBuf {
    PathBuf::from("config/policy.toml")
}

/// `[kafka]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated. Empty means: `sarap run` starts an embedded broker.
    pub brokers: String,
    /// Prefix of consumer group ids (`<prefix>-ingest`, …).
    pub group_prefix: String,
    /// Partitions for topics Sarap creates (embedded broker, tests, `sarap topics`).
    pub partitions: i32,
    /// Consumer session timeout in milliseconds.
    pub session_timeout_ms: u32,
    /// Extra librdkafka properties passed through as they are (TLS, SASL, tuning).
    pub client: BTreeMap<String, String>,
    /// Topic names.
    pub topics: Topics,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: String::new(),
            group_prefix: "sarap".into(),
            partitions: 6,
            session_timeout_ms: 6000,
            client: BTreeMap::new(),
            topics: Topics::default(),
        }
    }
}

/// `[kafka.topics]`: the name of every arrow in the pipeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Topics {
    /// Raw posts from connectors.
    pub raw: String,
    /// Clean posts, keyed by region.
    pub clean: String,
    /// Rejected raw messages with reasons.
    pub rejected: String,
    /// Scored posts.
    pub scored: String,
    /// Audit records.
    pub audit: String,
    /// Regional signals.
    pub signals: String,
    /// Fact-check requests.
    pub factcheck: String,
}

impl Default for Topics {
    fn default() -> Self {
        Topics {
            raw: "posts.raw".into(),
            clean: "posts.clean".into(),
            rejected: "posts.rejected".into(),
            scored: "posts.scored".into(),
            audit: "audit.decisions".into(),
            signals: "signals.regional".into(),
            factcheck: "factcheck.requests".into(),
        }
    }
}

impl Topics {
    /// All topic names.
    pub fn all(&self) -> [&str; 7] {
        [
            &self.raw,
            &self.clean,
            &self.rejected,
            &self.scored,
            &self.audit,
            &self.signals,
            &self.factcheck,
        ]
    }
}

/// `[telemetry]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TelemetryConfig {
    /// Address for `/metrics`, `/healthz` and `/readyz`.
    pub listen: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        TelemetryConfig {
            listen: "127.0.0.1:9464".into(),
        }
    }
}

/// `[pseudonym]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PseudonymConfig {
    /// Environment variable holding the key.
    pub key_env: String,
    /// File holding the key (a mounted Secret), used when the variable is unset.
    pub key_file: Option<PathBuf>,
}

impl Default for PseudonymConfig {
    fn default() -> Self {
        PseudonymConfig {
            key_env: "SARAP_PSEUDONYM_KEY".into(),
            key_file: None,
        }
    }
}

/// `[ingest]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Largest raw message accepted, in bytes.
    pub max_message_bytes: usize,
    /// Longest text accepted, in characters (after normalisation).
    pub max_text_chars: usize,
    /// How far in the future `created_at` may lie, in seconds (clock skew).
    pub max_future_skew_secs: i64,
    /// Window for exact-duplicate detection, in seconds.
    pub dedup_window_secs: i64,
    /// Most keys the exact-duplicate filter holds (bounds memory).
    pub dedup_capacity: usize,
    /// Group near-duplicates into clusters.
    pub near_dup: bool,
    /// Estimated Jaccard similarity at which two posts are near-duplicates.
    pub near_dup_threshold: f64,
    /// Most posts the near-duplicate index remembers (bounds memory).
    pub near_dup_capacity: usize,
    /// Window for near-duplicate clusters, in seconds.
    pub near_dup_window_secs: i64,
    /// Languages the identifier considers besides kk, ru and en (ISO 639-1), reported as `other`.
    pub other_languages: Vec<String>,
    /// Most messages handled per batch.
    pub batch_size: usize,
    /// Longest wait to fill a batch, in milliseconds.
    pub batch_wait_ms: u64,
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            max_message_bytes: 64 * 1024,
            max_text_chars: 10_000,
            max_future_skew_secs: 600,
            dedup_window_secs: 24 * 3600,
            dedup_capacity: 300_000,
            near_dup: true,
            near_dup_threshold: 0.6,
            near_dup_capacity: 100_000,
            near_dup_window_secs: 3 * 24 * 3600,
            other_languages: vec!["uk".into(), "tr".into(), "de".into(), "zh".into()],
            batch_size: 2000,
            batch_wait_ms: 20,
        }
    }
}

/// `[analyze]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyzeConfig {
    /// Folder written by `scripts/fetch-models` (encoder, tokenizer, cards, ONNX Runtime).
    pub models_dir: PathBuf,
    /// The ONNX Runtime shared library; `ORT_DYLIB_PATH` overrides it.
    pub ort_library: PathBuf,
    /// Folder of the trained heads and their cards (committed to the repository).
    pub heads_dir: PathBuf,
    /// Registry of verified claims (JSONL), reloaded when the file changes.
    pub claims: PathBuf,
    /// Most texts in one model batch.
    pub max_batch: usize,
    /// Most padded tokens (rows × longest row) in one model batch.
    pub token_budget: usize,
    /// Longest wait for a batch to fill after its first text, in milliseconds.
    pub max_wait_ms: u64,
    /// Texts waiting for the model at most; producers wait beyond it (backpressure).
    pub queue_capacity: usize,
    /// Tokens kept per text; longer texts are truncated.
    pub max_tokens: usize,
    /// Embeddings kept in the cache keyed by normalised text.
    pub cache_capacity: usize,
    /// ONNX Runtime intra-op threads; 0 means one per core.
    pub threads: usize,
    /// Posts in a near-duplicate cluster before an unmatched check-worthy post goes to fact-checkers.
    pub factcheck_min_cluster: u32,
    /// Most clean posts consumed per pipeline batch.
    pub batch_size: usize,
    /// Longest wait to fill a pipeline batch, in milliseconds.
    pub batch_wait_ms: u64,
}

impl Default for AnalyzeConfig {
    fn default() -> Self {
        AnalyzeConfig {
            models_dir: PathBuf::from("models"),
            ort_library: PathBuf::from("models/lib/libonnxruntime.so.1.31.1"),
            heads_dir: PathBuf::from("analyzers/heads"),
            claims: PathBuf::from("data/claims/registry.jsonl"),
            max_batch: 32,
            token_budget: 4096,
            max_wait_ms: 5,
            queue_capacity: 1024,
            max_tokens: 256,
            cache_capacity: 50_000,
            threads: 0,
            factcheck_min_cluster: 5,
            batch_size: 256,
            batch_wait_ms: 50,
        }
    }
}

/// `[sink]`: windows, store, HTTP API, risk index and alerting (see docs/ARCHITECTURE.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SinkConfig {
    /// Length of the base tumbling window in minutes; must divide 60 so hours roll up exactly.
    pub window_minutes: u32,
    /// How far behind the newest event time a post may arrive and still be on time, in seconds.
    pub allowed_lateness_secs: u64,
    /// Posts older than this behind the watermark are dropped instead of corrected, in days.
    pub max_correction_days: u32,
    /// A partition silent this long (wall clock) follows the other partitions' watermark, in seconds.
    pub idle_partition_secs: u64,
    /// Offset of the local day from UTC for daily windows, in minutes (Kazakhstan: UTC+5).
    pub day_offset_minutes: i32,
    /// `sqlite://path` (embedded, a file) or `postgres://…`; `SARAP_STORE_URL` overrides it.
    pub store_url: String,
    /// Address of the HTTP JSON API (`/api/…`).
    pub api_listen: String,
    /// Longest time between store transactions (state, offsets and outbox together), in milliseconds.
    pub flush_interval_ms: u64,
    /// Most scored posts consumed per batch.
    pub batch_size: usize,
    /// Longest wait to fill a batch, in milliseconds.
    pub batch_wait_ms: u64,
    /// A post without the analyzer's `hostile` label counts as hostile when its hostility
    /// probability reaches this (posts from current analyzers carry the label).
    pub hostile_threshold: f32,
    /// Weights of the risk index components.
    pub risk_weights: RiskWeights,
    /// The per-region baseline of the risk index.
    pub anomaly: AnomalyConfig,
    /// Alert levels and their hysteresis.
    pub alerts: AlertConfig,
}

impl Default for SinkConfig {
    fn default() -> Self {
        SinkConfig {
            window_minutes: 5,
            allowed_lateness_secs: 300,
            max_correction_days: 7,
            idle_partition_secs: 60,
            day_offset_minutes: 300,
            store_url: "sqlite://data/sarap.db".into(),
            api_listen: "127.0.0.1:8080".into(),
            flush_interval_ms: 1000,
            batch_size: 2000,
            batch_wait_ms: 20,
            hostile_threshold: 0.5,
            risk_weights: RiskWeights::default(),
            anomaly: AnomalyConfig::default(),
            alerts: AlertConfig::default(),
        }
    }
}

/// `[sink.risk_weights]`: risk = Σ wᵢ·componentᵢ / Σ wᵢ, every component a share in 0..1.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RiskWeights {
    /// Share of posts at or above `hostile_threshold`.
    pub hostility: f64,
    /// Mean negative-sentiment probability.
    pub negative: f64,
    /// Share of posts matching a verified-false claim.
    pub claims: f64,
    /// Share of posts that are near-duplicate copies (copy-paste campaigns).
    pub copies: f64,
    /// Share of posts mentioning any group.
    pub targets: f64,
}

impl Default for RiskWeights {
    fn default() -> Self {
        RiskWeights {
            hostility: 0.45,
            negative: 0.15,
            claims: 0.2,
            copies: 0.1,
            targets: 0.1,
        }
    }
}

/// `[sink.anomaly]`: an exponentially weighted mean and variance of each region's risk.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnomalyConfig {
    /// Weight of the newest window in the moving mean and variance, in (0, 1].
    pub ewma_alpha: f64,
    /// Published windows a region needs before its anomaly score is computed.
    pub warmup_windows: u32,
    /// Floor of the standard deviation, so a very steady region does not alarm on noise.
    pub min_std: f64,
}

impl Default for AnomalyConfig {
    fn default() -> Self {
        AnomalyConfig {
            ewma_alpha: 0.1,
            warmup_windows: 12,
            min_std: 0.03,
        }
    }
}

/// `[sink.alerts]`: levels with hysteresis, so an alert neither flaps nor fires on one noisy window.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertConfig {
    /// Anomaly score at or above which a window counts toward raising an alert (level 1).
    pub raise_z: f64,
    /// Anomaly score at or above which an alert is level 2.
    pub high_z: f64,
    /// An active alert clears only after windows below this score.
    pub clear_z: f64,
    /// Consecutive windows at or above `raise_z` needed to raise.
    pub raise_windows: u32,
    /// Consecutive windows below `clear_z` needed to clear.
    pub clear_windows: u32,
    /// Risk index a window must also reach to count toward raising.
    pub min_risk: f64,
}

impl Default for AlertConfig {
    fn default() -> Self {
        AlertConfig {
            raise_z: 3.0,
            high_z: 5.0,
            clear_z: 1.5,
            raise_windows: 2,
            clear_windows: 3,
            min_risk: 0.2,
        }
    }
}

impl SinkConfig {
    /// Checks ranges; errors name the dotted key.
    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |k: &str, m: &str| Err(ConfigError::invalid(&format!("sink.{k}"), m));
        if self.window_minutes == 0 || 60 % self.window_minutes != 0 {
            return bad(
                "window_minutes",
                "must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60)",
            );
        }
        if self.max_correction_days == 0 {
            return bad("max_correction_days", "must be positive");
        }
        if !(-720..=840).contains(&self.day_offset_minutes) {
            return bad("day_offset_minutes", "must be in -720..=840");
        }
        let url = self.store_url.as_str();
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return bad(
                "store_url",
                "must start with sqlite: (a file) or postgres://",
            );
        }
        if self.api_listen.parse::<std::net::SocketAddr>().is_err() {
            return bad("api_listen", "is not an address like 127.0.0.1:8080");
        }
        if self.flush_interval_ms < 10 {
            return bad("flush_interval_ms", "must be at least 10");
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be positive");
        }
        if !(self.hostile_threshold > 0.0 && self.hostile_threshold <= 1.0) {
            return bad("hostile_threshold", "must be in (0, 1]");
        }
        let w = &self.risk_weights;
        for (k, v) in [
            ("hostility", w.hostility),
            ("negative", w.negative),
            ("claims", w.claims),
            ("copies", w.copies),
            ("targets", w.targets),
        ] {
            if !v.is_finite() || v < 0.0 {
                return bad(&format!("risk_weights.{k}"), "must be a finite number ≥ 0");
            }
        }
        if w.hostility + w.negative + w.claims + w.copies + w.targets <= 0.0 {
            return bad("risk_weights", "at least one weight must be positive");
        }
        let a = &self.anomaly;
        if !(a.ewma_alpha > 0.0 && a.ewma_alpha <= 1.0) {
            return bad("anomaly.ewma_alpha", "must be in (0, 1]");
        }
        if !(a.min_std.is_finite() && a.min_std > 0.0) {
            return bad("anomaly.min_std", "must be positive");
        }
        let al = &self.alerts;
        if !(al.clear_z.is_finite() && al.raise_z.is_finite() && al.high_z.is_finite()) {
            return bad("alerts.raise_z", "thresholds must be finite");
        }
        if al.clear_z >= al.raise_z {
            return bad(
                "alerts.clear_z",
                "must be below sink.alerts.raise_z (hysteresis)",
            );
        }
        if al.high_z < al.raise_z {
            return bad("alerts.high_z", "must be at least sink.alerts.raise_z");
        }
        if al.raise_windows == 0 || al.clear_windows == 0 {
            return bad(
                "alerts.raise_windows",
                "raise_windows and sink.alerts.clear_windows must be positive",
            );
        }
        if !(0.0..=1.0).contains(&al.min_risk) {
            return bad("alerts.min_risk", "must be in [0, 1]");
        }
        Ok(())
    }
}

/// Why a configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {path}: {source}")]
    Read {
        /// The path tried.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key is missing, unknown or has a bad value.
    #[error("config: {key}: {message}")]
    Invalid {
        /// The dotted key at fault.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    fn invalid(key: &str, message: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key: key.to_string(),
            message: message.into(),
        }
    }
}

impl Config {
    /// Reads the file (or the defaults when `path` is None), applies the process environment, validates.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let text = match path {
            Some(p) => std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                path: p.display().to_string(),
                source,
            })?,
            None => String::new(),
        };
        Config::from_toml_with_env(&text, std::env::vars())
    }

    /// Parses TOML text, applies the given environment, and validates.
    pub fn from_toml_with_env(
        text: &str,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut tree: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            ConfigError::invalid("(file)", e.message().to_string())
        })?;
        for (name, value) in env {
            apply_env(&mut tree, &name, &value)?;
        }
        let cfg: Config =
            serde_path_to_error::deserialize(toml::Value::Table(tree)).map_err(|e| {
                let key = e.path().to_string();
                ConfigError::invalid(&key, e.into_inner().to_string())
            })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks value ranges that types alone cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let i = &self.ingest;
        if i.max_message_bytes < 256 {
            return Err(ConfigError::invalid(
                "ingest.max_message_bytes",
                "must be at least 256",
            ));
        }
        if i.max_text_chars == 0 {
            return Err(ConfigError::invalid(
                "ingest.max_text_chars",
                "must be positive",
            ));
        }
        if i.dedup_window_secs <= 0 || i.dedup_capacity == 0 {
            return Err(ConfigError::invalid(
                "ingest.dedup_window_secs",
                "window and ingest.dedup_capacity must be positive",
            ));
        }
        if !(0.1..=1.0).contains(&i.near_dup_threshold) {
            return Err(ConfigError::invalid(
                "ingest.near_dup_threshold",
                "must be in [0.1, 1.0]",
            ));
        }
        if i.near_dup_capacity == 0 || i.near_dup_window_secs <= 0 {
            return Err(ConfigError::invalid(
                "ingest.near_dup_capacity",
                "capacity and ingest.near_dup_window_secs must be positive",
            ));
        }
        if i.batch_size == 0 {
            return Err(ConfigError::invalid(
                "ingest.batch_size",
                "must be positive",
            ));
        }
        let a = &self.analyze;
        if a.max_batch == 0 || a.max_batch > 1024 {
            return Err(ConfigError::invalid(
                "analyze.max_batch",
                "must be in 1..=1024",
            ));
        }
        if a.max_tokens < 16 || a.max_tokens > 512 {
            return Err(ConfigError::invalid(
                "analyze.max_tokens",
                "must be in 16..=512 (the encoder's positions)",
            ));
        }
        if a.token_budget < a.max_tokens {
            return Err(ConfigError::invalid(
                "analyze.token_budget",
                "must be at least analyze.max_tokens, or a long post could never run",
            ));
        }
        if a.queue_capacity < a.max_batch {
            return Err(ConfigError::invalid(
                "analyze.queue_capacity",
                "must be at least analyze.max_batch",
            ));
        }
        if a.batch_size == 0 || a.factcheck_min_cluster == 0 {
            return Err(ConfigError::invalid(
                "analyze.batch_size",
                "batch_size and analyze.factcheck_min_cluster must be positive",
            ));
        }
        self.sink.validate()?;
        if self.kafka.partitions < 1 {
            return Err(ConfigError::invalid(
                "kafka.partitions",
                "must be at least 1",
            ));
        }
        if self
            .telemetry
            .listen
            .parse::<std::net::SocketAddr>()
            .is_err()
        {
            return Err(ConfigError::invalid(
                "telemetry.listen",
                format!(
                    "{:?} is not an address like 127.0.0.1:9464",
                    self.telemetry.listen
                ),
            ));
        }
        for k in self.kafka.client.keys() {
            if k == "group.id" || k == "enable.auto.offset.store" {
                return Err(ConfigError::invalid(
                    &format!("kafka.client.{k}"),
                    "is managed by Sarap (at-least-once delivery depends on it)",
                ));
            }
        }
        Ok(())
    }
}

/// Applies one environment variable to the TOML tree, if it is one of ours.
fn apply_env(tree: &mut toml::Table, name: &str, value: &str) -> Result<(), ConfigError> {
    let path: Vec<String> = match name {
        "SARAP_BROKERS" => vec!["kafka".into(), "brokers".into()],
        "SARAP_TELEMETRY_LISTEN" => vec!["telemetry".into(), "listen".into()],
        "SARAP_STORE_URL" => vec!["sink".into(), "store_url".into()],
        "SARAP_KAFKA_SASL_USERNAME" => {
            vec!["kafka".into(), "client".into(), "sasl.username".into()]
        }
        "SARAP_KAFKA_SASL_PASSWORD" => {
            vec!["kafka".into(), "client".into(), "sasl.password".into()]
        }
        "SARAP_KAFKA_SSL_KEY_PASSWORD" => {
            vec!["kafka".into(), "client".into(), "ssl.key.password".into()]
        }
        _ => match name.strip_prefix("SARAP__") {
            Some(rest) if !rest.is_empty() => {
                rest.split("__").map(|s| s.to_ascii_lowercase()).collect()
            }
            _ => return Ok(()),
        },
    };
    // Client properties are strings for librdkafka; other values are parsed as TOML scalars.
    let is_client = path.len() == 3 && path[0] == "kafka" && path[1] == "client";
    let parsed = if is_client {
        toml::Value::String(value.to_string())
    } else {
        format!("v = {value}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .unwrap_or_else(|| toml::Value::String(value.to_string()))
    };
    let mut node = tree;
    for (i, seg) in path.iter().enumerate() {
        if i + 1 == path.len() {
            node.insert(seg.clone(), parsed);
            return Ok(());
        }
        let entry = node
            .entry(seg.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        node = entry.as_table_mut().ok_or_else(|| {
            ConfigError::invalid(
                &path[..=i].join("."),
                format!("{name} sets a key below a value"),
            )
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../config/sarap.toml");

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn shipped_config_loads() {
        let c = Config::from_toml_with_env(SHIPPED, env(&[])).unwrap();
        assert_eq!(c.kafka.topics.raw, "posts.raw");
        assert_eq!(c.policy, PathBuf::from("config/policy.toml"));
    }

    #[test]
    fn env_overrides_addresses_and_secrets() {
        let c = Config::from_toml_with_env(
            SHIPPED,
            env(&[
                ("SARAP_BROKERS", "kafka-0:9093,kafka-1:9093"),
                ("SARAP_KAFKA_SASL_PASSWORD", "s3cret"),
                ("SARAP__INGEST__BATCH_SIZE", "64"),
                ("SARAP__KAFKA__TOPICS__RAW", "in.posts"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(c.kafka.brokers, "kafka-0:9093,kafka-1:9093");
        assert_eq!(c.kafka.client["sasl.password"], "s3cret");
        assert_eq!(c.ingest.batch_size, 64);
        assert_eq!(c.kafka.topics.raw, "in.posts");
    }

    #[test]
    fn errors_name_the_field() {
        let err =
            Config::from_toml_with_env("[ingest]\nbatch_size = \"many\"\n", env(&[])).unwrap_err();
        assert!(err.to_string().contains("ingest.batch_size"), "{err}");
        let err = Config::from_toml_with_env("[ingest]\nbach_size = 3\n", env(&[])).unwrap_err();
        assert!(err.to_string().contains("bach_size"), "{err}");
        let err =
            Config::from_toml_with_env("", env(&[("SARAP__INGEST__NEAR_DUP_THRESHOLD", "7")]))
                .unwrap_err();
        assert!(
            err.to_string().contains("ingest.near_dup_threshold"),
            "{err}"
        );
        let err = Config::from_toml_with_env("[telemetry]\nlisten = \"nowhere\"\n", env(&[]))
            .unwrap_err();
        assert!(err.to_string().contains("telemetry.listen"), "{err}");
        let err = Config::from_toml_with_env("[kafka.client]\n\"group.id\" = \"x\"\n", env(&[]))
            .unwrap_err();
        assert!(err.to_string().contains("kafka.client.group.id"), "{err}");
    }

    #[test]
    fn sink_section_defaults_env_and_errors() {
        let c = Config::from_toml_with_env(SHIPPED, env(&[])).unwrap();
        assert_eq!(c.sink.window_minutes, 5);
        assert!(c.sink.store_url.starts_with("sqlite://"));
        let c = Config::from_toml_with_env(
            SHIPPED,
            env(&[("SARAP_STORE_URL", "postgres://sarap@db:5432/sarap")]),
        )
        .unwrap();
        assert_eq!(c.sink.store_url, "postgres://sarap@db:5432/sarap");
        for (toml, key) in [
            ("[sink]\nwindow_minutes = 7\n", "sink.window_minutes"),
            ("[sink]\nstore_url = \"mysql://x\"\n", "sink.store_url"),
            ("[sink]\napi_listen = \"here\"\n", "sink.api_listen"),
            (
                "[sink.risk_weights]\nclaims = -1.0\n",
                "sink.risk_weights.claims",
            ),
            ("[sink.alerts]\nclear_z = 4.0\n", "sink.alerts.clear_z"),
            (
                "[sink.anomaly]\newma_alpha = 0.0\n",
                "sink.anomaly.ewma_alpha",
            ),
            ("[sink]\nwindow = 5\n", "window"),
        ] {
            let err = Config::from_toml_with_env(toml, env(&[])).unwrap_err();
            assert!(err.to_string().contains(key), "{toml}: {err}");
        }
    }
}
