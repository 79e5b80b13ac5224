//! Loading what every role needs (config, policy, key) and running the roles.

use anyhow::Context;
use sarap_bus::pipeline::shutdown_on_signals;
use sarap_bus::telemetry::{self, Readiness};
use sarap_bus::{Pipeline, PipelineOptions, PipelineReport};
use sarap_core::config::Config;
use sarap_core::pseudonym::PseudonymKey;
use sarap_core::Policy;
use std::path::Path;
use std::time::Duration;
use tokio::sync::watch;

/// Why start-up failed; both are reported with exit status 2 and the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The configuration is unusable.
    #[error("{0}")]
    Config(#[from] sarap_core::config::ConfigError),
    /// The policy is missing or breaks a floor.
    #[error("{0}")]
    Policy(#[from] sarap_core::PolicyError),
    /// The pseudonymisation key is missing or too short.
    #[error("{0}")]
    Key(#[from] sarap_core::pseudonym::KeyError),
    /// A model is missing, has no card, or does not match its card or the policy.
    #[error("{0}")]
    Model(String),
}

/// Config, checked policy and pseudonymisation key: what a role may not start without.
#[derive(Clone)]
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// The policy, all floors checked.
    pub policy: Policy,
}

/// Loads the config (explicit path, else `config/sarap.toml` if present, else defaults)
/// and the policy it names; any broken floor is an error.
pub fn load(config_path: Option<&Path>, brokers: Option<&str>) -> Result<Loaded, StartupError> {
    let default = Path::new("config/sarap.toml");
    let path = config_path.or(default.exists().then_some(default));
    let mut config = Config::load(path)?;
    if let Some(b) = brokers {
        config.kafka.brokers = b.to_string();
    }
    let policy = Policy::load(&config.policy)?;
    Ok(Loaded { config, policy })
}

/// Loads the pseudonymisation key named by the config.
pub fn load_key(config: &Config) -> Result<PseudonymKey, StartupError> {
    Ok(PseudonymKey::load(
        &config.pseudonym.key_env,
        config.pseudonym.key_file.as_deref(),
    )?)
}

/// Runs the ingest role until `shutdown` (or `stop_after` inputs).
pub async fn run_ingest(
    loaded: &Loaded,
    brokers: &str,
    ready: &Readiness,
    shutdown: watch::Receiver<bool>,
    stop_after: Option<u64>,
    key: PseudonymKey,
) -> anyhow::Result<PipelineReport> {
    let cfg = &loaded.config;
    tracing::info!(key_id = key.id(), policy = %loaded.policy.hash(), "ingest starting");
    let mut ingestor = sarap_ingest::Ingestor::new(cfg, &loaded.policy, key)?;
    let pipeline = Pipeline::new(
        &cfg.kafka,
        brokers,
        PipelineOptions {
            role: "ingest".into(),
            group_id: format!("{}-ingest", cfg.kafka.group_prefix),
            topics: vec![cfg.kafka.topics.raw.clone()],
            batch_size: cfg.ingest.batch_size,
            batch_wait: Duration::from_millis(cfg.ingest.batch_wait_ms),
            stop_after,
            auto_offset_reset: "earliest".into(),
        },
    )
    .context("connecting the ingest consumer")?;
    ready.set("ingest", true);
    let report = pipeline.run(&mut ingestor, shutdown).await;
    ready.set("ingest", false);
    report
}

/// Serves `/metrics`, `/healthz` and `/readyz` with the given readiness checks declared.
pub async fn start_telemetry(loaded: &Loaded, checks: &[&str]) -> anyhow::Result<Readiness> {
    let ready = Readiness::default();
    for c in checks {
        ready.declare(c);
    }
    let addr = telemetry::serve(
        &loaded.config.telemetry.listen,
        telemetry::router(ready.clone()),
    )
    .await?;
    tracing::info!("telemetry on http://{addr}/metrics (health: /healthz, /readyz)");
    Ok(ready)
}

/// `sarap ingest`: the ingest role against an external cluster, with telemetry.
pub async fn ingest_main(loaded: Loaded) -> anyhow::Result<()> {
    let brokers = loaded.config.kafka.brokers.clone();
    anyhow::ensure!(
        !brokers.is_empty(),
        "kafka.brokers: no brokers configured (set SARAP_BROKERS or --brokers)"
    );
    let key = load_key(&loaded.config)?;
    let ready = start_telemetry(&loaded, &["ingest"]).await?;
    let report = run_ingest(&loaded, &brokers, &ready, shutdown_on_signals(), None, key).await?;
    tracing::info!(
        consumed = report.consumed,
        produced = report.produced,
        "ingest stopped"
    );
    Ok(())
}

/// `sarap run`: every available role in one process. Starts an embedded broker unless
/// `kafka.brokers` is set, serves telemetry, and feeds a synthetic sample stream.
/// What `sarap run` feeds into `posts.raw`.
#[derive(Debug, Clone)]
pub enum SampleFeed {
    /// A synthetic stream: `history_hours` of past event time replayed `speed` times faster
    /// than real time (so windows close and baselines form within minutes), then live.
    Generated {
        /// The stream's options (seed, scenarios; start and rate are set here).
        opts: crate::synth::SynthOptions,
        /// Hours of event time before now.
        history_hours: f64,
        /// Event seconds per wall second while catching up.
        speed: f64,
    },
    /// The lines of a JSONL file (for example from `sarap synth`), as they are.
    File(std::path::PathBuf),
}

/// The lines of a sample feed, produced lazily.
fn sample_lines(
    feed: SampleFeed,
    rate: f64,
) -> anyhow::Result<Box<dyn Iterator<Item = Vec<u8>> + Send>> {
    Ok(match feed {
        SampleFeed::File(path) => {
            use std::io::BufRead;
            let f = std::fs::File::open(&path)
                .with_context(|| format!("--sample-file {}", path.display()))?;
            Box::new(
                std::io::BufReader::new(f)
                    .split(b'\n')
                    .map_while(Result::ok)
                    .filter(|l| !l.is_empty()),
            )
        }
        SampleFeed::Generated {
            opts,
            history_hours,
            speed,
        } => {
            let speed = speed.max(1.0);
            let now = chrono::Utc::now();
            let history_minutes = (history_hours * 60.0).max(0.0);
            let mut past = opts.clone();
            past.start = now - chrono::Duration::seconds((history_minutes * 60.0) as i64);
            past.posts_per_minute = rate * 60.0 / speed;
            past.posts = (history_minutes * past.posts_per_minute) as usize;
            let mut live = opts;
            live.seed = live.seed.wrapping_add(1);
            live.scenarios.clear();
            live.posts_per_minute = rate * 60.0;
            let past_lines = crate::synth::generate(&past).map(|l| l.to_bytes());
            // The live part starts when the history has been fed, at that moment's wall time.
            let live_lines = std::iter::once(()).flat_map(move |_| {
                let mut live = live.clone();
                live.start = chrono::Utc::now();
                crate::synth::generate(&live).map(|l| l.to_bytes())
            });
            Box::new(past_lines.chain(live_lines))
        }
    })
}

/// `sarap run`: ingest, analyze and sink in one process, on the embedded broker unless
/// brokers are configured, fed with a sample stream at `sample_rate` posts per second.
pub async fn run_all(
    mut loaded: Loaded,
    sample_rate: f64,
    sample: SampleFeed,
) -> anyhow::Result<()> {
    let cfg = &loaded.config;
    let topics = cfg.kafka.topics.clone();
    let embedded = if cfg.kafka.brokers.is_empty() {
        let b = sarap_bus::kafka::EmbeddedBroker::start(&topics.all(), cfg.kafka.partitions)?;
        tracing::info!(brokers = %b.bootstrap_servers(), "embedded Kafka-protocol broker started");
        Some(b)
    } else {
        None
    };
    let key = match load_key(cfg) {
        Ok(k) => k,
        Err(StartupError::Key(sarap_core::pseudonym::KeyError::Missing { env }))
            if embedded.is_some() =>
        {
            // Demo mode only: an ephemeral key, so pseudonyms are unlinkable even across restarts.
            use rand::RngCore;
            let mut k = [0u8; 32];
            rand::rngs::OsRng.fill_bytes(&mut k);
            tracing::warn!(%env, "no pseudonymisation key set: using an ephemeral one for this embedded run");
            PseudonymKey::from_secret(hex::encode(k).as_bytes(), "ephemeral")?
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(b) = &embedded {
        loaded.config.kafka.brokers = b.bootstrap_servers();
    }
    let brokers = loaded.config.kafka.brokers.clone();
    if embedded.is_none() {
        sarap_bus::kafka::ensure_topics(
            &loaded.config.kafka,
            &brokers,
            &topics.all(),
            loaded.config.kafka.partitions,
        )
        .await?;
    }
    let ready = start_telemetry(&loaded, &["ingest", "analyze", "sink", "store"]).await?;
    let shutdown = shutdown_on_signals();
    // Models load before the stream starts, so a missing model stops `sarap run` at once.
    let (models, registry) = crate::analyze::load_models(&loaded).await?;
    let analyze = {
        let (loaded, brokers, ready, shutdown) = (
            loaded.clone(),
            brokers.clone(),
            ready.clone(),
            shutdown.clone(),
        );
        // Its own task: the analyze transform holds its thread while the model runs.
        tokio::spawn(async move {
            crate::analyze::run_analyze(&loaded, &brokers, &ready, shutdown, None, models, registry)
                .await
        })
    };
    // The store opens and the API binds before the stream starts, so either failing stops at once.
    // On one machine, a role without a token gets a fresh one in data/tokens.env (mode 0600).
    let tokens_file = std::path::Path::new("data/tokens.env");
    let (auth, made) =
        sarap_sink::auth::local_tokens(tokens_file).map_err(crate::sink::token_error)?;
    if !made.is_empty() {
        tracing::info!(
            roles = ?made.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "sign-in tokens written to {} (not logged)",
            tokens_file.display()
        );
    }
    let (sink_store, _) = crate::sink::start_sink_with(&loaded, auth).await?;
    let audit_log =
        crate::sink::spawn_audit_log(&loaded, &brokers, sink_store.clone(), shutdown.clone());
    let sink = {
        let (loaded, brokers, ready, shutdown) = (
            loaded.clone(),
            brokers.clone(),
            ready.clone(),
            shutdown.clone(),
        );
        tokio::spawn(async move {
            crate::sink::run_sink(&loaded, &brokers, sink_store, &ready, shutdown, None).await
        })
    };
    let feeder = if sample_rate > 0.0 {
        let producer = sarap_bus::kafka::producer(&loaded.config.kafka, &brokers)?;
        let opts = crate::replay::ReplayOptions {
            topic: topics.raw.clone(),
            rate: Some(sample_rate),
            progress: false,
        };
        let lines = sample_lines(sample, sample_rate)?;
        let stop = shutdown.clone();
        tracing::info!(
            rate = sample_rate,
            "feeding a sample stream into {}",
            topics.raw
        );
        Some(tokio::spawn(async move {
            crate::replay::replay(&producer, lines, None, &opts, Some(stop)).await
        }))
    } else {
        None
    };
    let report = run_ingest(&loaded, &brokers, &ready, shutdown, None, key).await?;
    if let Some(f) = feeder {
        f.abort();
    }
    let analyzed = analyze.await??;
    let sunk = sink.await??;
    let audited = audit_log.await??;
    tracing::info!(
        consumed = sunk.consumed,
        signals = sunk.signals_produced,
        audit_records = audited,
        "sink stopped"
    );
    tracing::info!(
        consumed = analyzed.consumed,
        produced = analyzed.produced,
        "analyze stopped"
    );
    tracing::info!(
        consumed = report.consumed,
        produced = report.produced,
        "stopped"
    );
    drop(embedded);
    Ok(())
}
