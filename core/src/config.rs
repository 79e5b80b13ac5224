//! The configuration file (`config/sarap.toml`) with environment overrides.
//!
//! Secrets and addresses come from the environment so the file can be shared:
//! `SARAP_BROKERS`, `SARAP_KAFKA_SASL_USERNAME`, `SARAP_KAFKA_SASL_PASSWORD`,
//! `SARAP_KAFKA_SSL_KEY_PASSWORD`, `SARAP_TELEMETRY_LISTEN`, and generically
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
}
