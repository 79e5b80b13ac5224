//! `sarap bench sink`, and scored posts made from the synthetic stream's ground truth.
//!
//! Until the analyzers score real text, the sink's tests and benchmark need `posts.scored`
//! messages with realistic structure: [`scored_stream`] turns `sarap synth` posts into scored
//! posts from their labels (hostile, claim, language, region), with noisy model-like scores,
//! the real pseudonymisation of the author, and the same regions, rates and scenarios.

use crate::bench::{median, timed, BenchResult, ParseOnly};
use crate::roles::Loaded;
use crate::synth::{generate_labelled, SynthLine, SynthOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rdkafka::producer::{FutureProducer, FutureRecord};
use sarap_bus::kafka::{producer, EmbeddedBroker};
use sarap_bus::telemetry::Readiness;
use sarap_core::pseudonym::{post_key, PseudonymKey};
use sarap_core::{ClaimMatch, Lang, ScoredPost, Sentiment, SCHEMA_SCORED};
use serde::Serialize;
use std::time::Duration;
use tokio::sync::watch;

/// Group ids the synthetic scorer reports as targets.
const GROUP_IDS: [&str; 11] = [
    "kazakhs",
    "russians",
    "uzbeks",
    "uyghurs",
    "koreans",
    "tatars",
    "ukrainians",
    "germans",
    "dungans",
    "muslims",
    "orthodox_christians",
];

/// One message for `posts.scored`: its key (the region) and payload, or a malformed payload.
#[derive(Debug, Clone)]
pub struct ScoredMessage {
    /// Message key: the region id (`unknown` for malformed lines).
    pub key: String,
    /// Payload bytes.
    pub payload: Vec<u8>,
    /// The post, when the line was well-formed.
    pub post: Option<ScoredPost>,
}

/// Scored posts from the synthetic stream's labels; malformed synth lines pass through as
/// malformed payloads (the sink must count and skip them). Deterministic for a seed.
pub fn scored_stream(
    opts: &SynthOptions,
    key: PseudonymKey,
    policy_hash: String,
) -> impl Iterator<Item = ScoredMessage> {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed ^ 0x5c0e_d000);
    generate_labelled(opts).map(move |(line, truth)| {
        let (post, truth) = match (line, truth) {
            (SynthLine::Post(p), Some(t)) => (p, t),
            (line, _) => {
                return ScoredMessage {
                    key: "unknown".into(),
                    payload: line.to_bytes(),
                    post: None,
                }
            }
        };
        let pk = post_key(&post.platform, &post.id);
        let created_at = chrono::DateTime::parse_from_rfc3339(&post.created_at)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|_| chrono::Utc::now());
        let lang = match truth.lang {
            "ru" => Lang::Ru,
            "en" => Lang::En,
            _ => Lang::Kk,
        };
        let hostility = if truth.hostile {
            rng.gen_range(0.6..0.98)
        } else {
            rng.gen_range(0.0..0.35)
        };
        let neg: f32 = if truth.hostile {
            rng.gen_range(0.55..0.9)
        } else {
            rng.gen_range(0.05..0.45)
        };
        let pos: f32 = rng.gen_range(0.0..(1.0 - neg));
        let targets = if truth.hostile || rng.gen_bool(0.04) {
            vec![GROUP_IDS[rng.gen_range(0..GROUP_IDS.len())].to_string()]
        } else {
            Vec::new()
        };
        // Campaign copies share a cluster; other posts start their own.
        let dup_cluster = match truth.claim {
            Some(c) => format!("dc-{c}-{}", truth.region.as_str()),
            None => format!("dc-{}", &pk[..16]),
        };
        let scored = ScoredPost {
            schema: SCHEMA_SCORED.to_string(),
            post_key: pk.clone(),
            region: truth.region,
            lang,
            created_at,
            sentiment: Sentiment {
                neg,
                neu: 1.0 - neg - pos,
                pos,
            },
            hostility,
            targets,
            claim: truth.claim.map(|c| ClaimMatch {
                claim_id: c.to_string(),
                similarity: rng.gen_range(0.86..0.97),
            }),
            relevance: rng.gen_range(0.3..1.0),
            hostile: None,
            dup_cluster: Some(dup_cluster),
            author_pid: key.pseudonymize(&post.platform, &post.author.id),
            author_key_id: key.id().to_string(),
            model_version: "synthetic-truth".into(),
            policy_hash: policy_hash.clone(),
            decision_id: format!("synthetic-{pk}"),
        };
        ScoredMessage {
            key: truth.region.as_str().to_string(),
            payload: serde_json::to_vec(&scored).expect("a scored post serialises"),
            post: Some(scored),
        }
    })
}

/// Produces keyed messages and waits for every acknowledgement.
pub async fn produce_keyed(
    p: &FutureProducer,
    topic: &str,
    msgs: &[ScoredMessage],
) -> anyhow::Result<()> {
    for chunk in msgs.chunks(5000) {
        let sends = chunk.iter().map(|m| {
            p.send(
                FutureRecord::to(topic).key(&m.key).payload(&m.payload),
                Duration::from_secs(60),
            )
        });
        for r in futures::future::join_all(sends).await {
            r.map_err(|(e, _)| anyhow::anyhow!("producing to {topic}: {e}"))?;
        }
    }
    Ok(())
}

/// The partition a region's messages go to in the in-memory runs (any stable choice will do).
pub fn partition_of(key: &str, partitions: i32) -> i32 {
    let h = key
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(b as u32));
    (h % partitions.max(1) as u32) as i32
}

/// A private folder for the bench's stores, removed at the end.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(name: &str) -> std::io::Result<TempDir> {
        let p =
            std::env::temp_dir().join(format!("sarap-bench-sink-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&p)?;
        Ok(TempDir(p))
    }

    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// This process's peak resident memory so far (`VmHWM`), in bytes.
fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Options of `sarap bench sink`.
#[derive(Debug, Clone)]
pub struct SinkBenchOptions {
    /// Scored posts in the throughput stream (the memory runs use 1× and 10× this).
    pub posts: usize,
    /// Partitions of the bench topic.
    pub partitions: i32,
    /// Alternating rounds of reference and sink.
    pub rounds: usize,
    /// Event-time density of the throughput stream, posts per minute.
    pub posts_per_minute: f64,
    /// The configuration file, passed on to the memory runs.
    pub config: Option<std::path::PathBuf>,
}

/// What `sarap bench sink` prints last.
#[derive(Debug, Clone, Serialize)]
pub struct SinkBenchResult {
    /// The common figures.
    #[serde(flatten)]
    pub base: BenchResult,
    /// Event-time density of the throughput stream, posts per minute.
    pub posts_per_minute: f64,
    /// Posts in the 1× memory run.
    pub memory_posts_1x: u64,
    /// Peak resident memory of the 1× run's process, MiB.
    pub peak_rss_mib_1x: f64,
    /// Posts in the 10× memory run.
    pub memory_posts_10x: u64,
    /// Peak resident memory of the 10× run's process, MiB.
    pub peak_rss_mib_10x: f64,
    /// `peak_rss_mib_10x / peak_rss_mib_1x`; flat is ≤ 1.1.
    pub memory_growth: f64,
    /// Most cells held in memory at once in the 1× and 10× runs.
    pub peak_cells: (usize, usize),
}

impl SinkBenchResult {
    /// The closing JSON line.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).expect("bench result serialises")
    }
}

fn bench_key() -> PseudonymKey {
    crate::bench::bench_key()
}

/// One memory run, meant to be the only work of its process: the aggregation and store path over
/// `posts` synthetic scored posts at the demo density (200 a minute, so 10× the posts is 10× the
/// event time and 10× the windows), generated on the fly so nothing but the sink's state is
/// held. Returns a JSON line with the process's peak RSS and the most cells held.
pub async fn memory_run(loaded: &Loaded, posts: usize, partitions: i32) -> anyhow::Result<String> {
    // On one thread of its own: with work stealing, the run's allocations would spread over
    // every worker's malloc arena and the peak would say more about scheduling than the sink.
    let loaded = loaded.clone();
    tokio::task::spawn_blocking(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(memory_run_here(&loaded, posts, partitions))
    })
    .await?
}

async fn memory_run_here(loaded: &Loaded, posts: usize, partitions: i32) -> anyhow::Result<String> {
    let dir = TempDir::new(&format!("mem-{posts}"))?;
    let url = format!("sqlite://{}", dir.path().join("mem.db").display());
    let store = sarap_sink::open_store(&url).await?;
    let opts = SynthOptions {
        seed: 11,
        posts,
        malformed_rate: 0.01,
        ..SynthOptions::default()
    };
    let parts: Vec<i32> = (0..partitions).collect();
    let msgs = scored_stream(&opts, bench_key(), loaded.policy.hash())
        .map(move |m| (partition_of(&m.key, partitions), m.payload));
    let (report, peak_cells) = sarap_sink::role::run_in_memory(
        &loaded.config,
        &loaded.policy,
        store,
        &parts,
        msgs,
        // As the role replaying a backlog: commits forced by the cap on closed cells in memory
        // (`MAX_CLOSED_IN_MEMORY`), as the flush interval is far longer than the run.
        usize::MAX,
    )
    .await?;
    Ok(serde_json::json!({
        "posts": report.consumed,
        "seconds": report.active_secs,
        "signals": report.counters.published,
        "peak_rss_bytes": peak_rss_bytes(),
        "peak_cells": peak_cells,
    })
    .to_string())
}

/// Runs [`memory_run`] in a fresh process of this binary, so each peak is its own.
fn memory_child(opts: &SinkBenchOptions, posts: usize) -> anyhow::Result<(u64, usize)> {
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.args([
        "bench",
        "sink",
        "--memory-run",
        &posts.to_string(),
        "--partitions",
        &opts.partitions.to_string(),
    ]);
    if let Some(c) = &opts.config {
        cmd.arg("--config").arg(c);
    }
    let out = cmd.stderr(std::process::Stdio::inherit()).output()?;
    anyhow::ensure!(out.status.success(), "memory run of {posts} posts failed");
    let line = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(line.trim().lines().last().unwrap_or(""))?;
    let peak = v["peak_rss_bytes"].as_u64().unwrap_or(0);
    let cells = v["peak_cells"].as_u64().unwrap_or(0) as usize;
    eprintln!(
        "memory {posts} posts: {} signals in {:.2}s, peak RSS {:.1} MiB, at most {cells} cells in memory",
        v["signals"],
        v["seconds"].as_f64().unwrap_or(0.0),
        peak as f64 / 1048576.0
    );
    Ok((peak, cells))
}

/// `sarap bench sink`: scored posts through the sink role (consume, parse, aggregate, store
/// transaction, publish, commit) against consume + JSON parse alone on the same messages of the
/// same embedded broker, alternating rounds; then peak memory at 1× and 10× the posts.
///
/// The throughput stream's event-time density matters: every window a flush closes is a store
/// write, so a sparse stream replayed at full speed (the demo's 200 posts a minute: 150 minutes
/// of windows in 30,000 posts) measures mostly the store, a dense one mostly aggregation. The
/// default is the sizing's planning load, 1,000 posts/s; `--posts-per-minute 200` shows the other end.
pub async fn bench_sink(
    mut loaded: Loaded,
    opts: &SinkBenchOptions,
) -> anyhow::Result<SinkBenchResult> {
    let (posts, partitions) = (opts.posts, opts.partitions);
    let topics = ["bench.scored", "bench.signals"];
    let broker = EmbeddedBroker::start(&topics, partitions)?;
    let brokers = broker.bootstrap_servers();
    loaded.config.kafka.topics.scored = topics[0].into();
    loaded.config.kafka.topics.signals = topics[1].into();
    let dir = TempDir::new("throughput")?;
    let synth = SynthOptions {
        seed: 7,
        posts,
        posts_per_minute: opts.posts_per_minute,
        malformed_rate: 0.01,
        ..SynthOptions::default()
    };
    let msgs: Vec<ScoredMessage> =
        scored_stream(&synth, bench_key(), loaded.policy.hash()).collect();
    let n = msgs.len() as u64;
    let bytes: usize = msgs.iter().map(|m| m.payload.len()).sum();
    anyhow::ensure!(
        bytes / partitions.max(1) as usize <= 3 << 20,
        "{bytes} bytes over {partitions} partitions exceeds what the embedded broker retains; use fewer --posts or more --partitions"
    );
    eprintln!(
        "bench sink: {n} scored posts ({:.1} MiB, 1% malformed, {} posts a minute of event time) into {partitions} partitions, keyed by region",
        bytes as f64 / 1048576.0,
        opts.posts_per_minute
    );
    // The aggregation and store path alone, in memory: what Kafka costs is the difference.
    let transform_rate = {
        let store = sarap_sink::open_store(&format!(
            "sqlite://{}",
            dir.path().join("alone.db").display()
        ))
        .await?;
        let parts: Vec<i32> = (0..partitions).collect();
        let it: Vec<(i32, Vec<u8>)> = msgs
            .iter()
            .map(|m| (partition_of(&m.key, partitions), m.payload.clone()))
            .collect();
        let (r, _) = sarap_sink::role::run_in_memory(
            &loaded.config,
            &loaded.policy,
            store,
            &parts,
            it.into_iter(),
            usize::MAX,
        )
        .await?;
        let rate = r.consumed as f64 / r.active_secs.max(1e-9);
        eprintln!("sink alone (in memory, no broker, SQLite store): {rate:.0}/s");
        rate
    };
    let p = producer(&loaded.config.kafka, &brokers)?;
    produce_keyed(&p, topics[0], &msgs).await?;
    drop(msgs);

    // Alternate the two paths and keep the medians: on a small shared VM one run is noise.
    let mut ref_rates = Vec::new();
    let mut rates = Vec::new();
    let mut ratios = Vec::new();
    for round in 0..opts.rounds.max(1) {
        let mut reference = ParseOnly { parsed: 0 };
        let r = timed(
            &loaded,
            &brokers,
            &format!("sink-reference-{round}"),
            topics[0],
            n,
            &mut reference,
        )
        .await?;
        let ref_rate = r.consumed as f64 / r.active_secs.max(1e-9);
        eprintln!(
            "round {round}: reference (consume + JSON parse): {} messages in {:.3}s = {:.0}/s",
            r.consumed, r.active_secs, ref_rate
        );
        let store = sarap_sink::open_store(&format!(
            "sqlite://{}",
            dir.path().join(format!("round-{round}.db")).display()
        ))
        .await?;
        let (_tx, rx) = watch::channel(false);
        let sink_opts = sarap_sink::SinkOptions {
            group_id: format!("bench-sink-{round}"),
            stop_after: Some(n),
            auto_offset_reset: "earliest".into(),
        };
        let limit = Duration::from_secs(120);
        let s = tokio::time::timeout(
            limit,
            sarap_sink::run(
                &loaded.config,
                &loaded.policy,
                &brokers,
                store,
                &Readiness::default(),
                rx,
                sink_opts,
            ),
        )
        .await
        .map_err(|_| anyhow::anyhow!("sink: fewer than {n} messages arrived within {limit:?}"))??;
        let rate = s.consumed as f64 / s.active_secs.max(1e-9);
        eprintln!(
            "round {round}: sink (consume + parse + aggregate + store + publish + commit): {} messages, {} bad, {} signals, {} commits in {:.3}s = {:.0}/s",
            s.consumed, s.counters.bad, s.signals_produced, s.commits, s.active_secs, rate
        );
        eprintln!("round {round}: ratio {:.3}", rate / ref_rate);
        ratios.push(rate / ref_rate);
        ref_rates.push(ref_rate);
        rates.push(rate);
    }
    // Each round runs both paths back to back, so their ratio shares the machine's state at
    // that moment; the median of those paired ratios is steadier than a ratio of medians
    // taken from different moments (runs last a tenth of a second on a shared 2-core VM).
    let ratio = median(&mut ratios);
    let (rate, ref_rate) = (median(&mut rates), median(&mut ref_rates));
    eprintln!(
        "median rates: sink {rate:.0}/s, reference {ref_rate:.0}/s (ratio of medians {:.3}); median of paired ratios {ratio:.3}",
        rate / ref_rate
    );
    drop(p);
    drop(broker);

    // Memory: the aggregation and store path at 1× and 10× the posts, each in its own process.
    let (m1, c1) = memory_child(opts, posts)?;
    let (m10, c10) = memory_child(opts, posts * 10)?;
    let mib = |b: u64| (b as f64 / 1048576.0 * 10.0).round() / 10.0;
    Ok(SinkBenchResult {
        base: BenchResult {
            bench: "sink",
            items_per_s: rate.round(),
            reference_items_per_s: ref_rate.round(),
            ratio: (ratio * 1000.0).round() / 1000.0,
            items: n,
            transform_items_per_s: Some(transform_rate.round()),
            floor_items_per_s: None,
            floor_ratio: None,
        },
        posts_per_minute: opts.posts_per_minute,
        memory_posts_1x: posts as u64,
        peak_rss_mib_1x: mib(m1),
        memory_posts_10x: posts as u64 * 10,
        peak_rss_mib_10x: mib(m10),
        memory_growth: (m10 as f64 / m1.max(1) as f64 * 1000.0).round() / 1000.0,
        peak_cells: (c1, c10),
    })
}
