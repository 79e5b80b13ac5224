//! `sarap bench …`: throughput of a stage against a reference measured in the same run,
//! on the same messages, through the same embedded broker. Every bench ends its output with
//! one JSON line: `{"bench":…,"items_per_s":…,"reference_items_per_s":…,"ratio":…}`.

use crate::replay::{replay, ReplayOptions};
use crate::roles::Loaded;
use crate::synth::{generate, SynthOptions};
use sarap_bus::kafka::{producer, EmbeddedBroker};
use sarap_bus::{InMsg, OutRecord, Pipeline, PipelineOptions, PipelineReport, Transform};
use sarap_core::pseudonym::PseudonymKey;
use serde::Serialize;
use std::time::Duration;
use tokio::sync::watch;

/// The figures a benchmark prints.
#[derive(Debug, Clone, Serialize)]
pub struct BenchResult {
    /// Which bench.
    pub bench: &'static str,
    /// Items per second through the measured path.
    pub items_per_s: f64,
    /// Items per second through the reference path.
    pub reference_items_per_s: f64,
    /// `items_per_s / reference_items_per_s`.
    pub ratio: f64,
    /// Items measured.
    pub items: u64,
    /// Items per second through the transform alone, in memory (no broker), for context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform_items_per_s: Option<f64>,
    /// Items per second through the floor: the same pipeline with a transform that only
    /// parses, re-serialises and produces (no analysis), for context.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor_items_per_s: Option<f64>,
    /// Median of the rounds' paired floor / reference ratios: the most any transform that
    /// writes one output per input could reach on this machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub floor_ratio: Option<f64>,
}

impl BenchResult {
    /// The closing JSON line.
    pub fn json_line(&self) -> String {
        serde_json::to_string(self).expect("bench result serialises")
    }
}

/// The reference transform: parse each payload as JSON and produce nothing.
pub(crate) struct ParseOnly {
    pub(crate) parsed: u64,
}

impl Transform for ParseOnly {
    fn transform(&mut self, batch: &[InMsg]) -> Vec<OutRecord> {
        for m in batch {
            if serde_json::from_slice::<serde_json::Value>(&m.payload).is_ok() {
                self.parsed += 1;
            }
        }
        Vec::new()
    }
}

/// The floor of any ingest transform: validate UTF-8, parse into the typed raw post,
/// serialise it again and produce one record per input, in parallel on the same threads as
/// the ingest, with none of the analysis (language, region, redaction, pseudonyms,
/// deduplication). What the ingest costs beyond it is what the analysis costs.
pub(crate) struct ParseSerialise {
    clean_topic: String,
    rejected_topic: String,
}

impl Transform for ParseSerialise {
    fn transform(&mut self, batch: &[InMsg]) -> Vec<OutRecord> {
        use rayon::prelude::*;
        batch
            .par_iter()
            .with_min_len(16)
            .map(|m| {
                let post = std::str::from_utf8(&m.payload)
                    .ok()
                    .and_then(|s| serde_json::from_str::<sarap_core::RawPost>(s).ok());
                match post {
                    Some(p) => OutRecord {
                        topic: self.clean_topic.clone(),
                        key: Some(p.platform.clone()),
                        payload: serde_json::to_vec(&p).expect("raw post serialises"),
                    },
                    None => OutRecord {
                        topic: self.rejected_topic.clone(),
                        key: None,
                        payload: m.payload.clone(),
                    },
                }
            })
            .collect()
    }
}

/// A key used only by benchmarks, so they need no secret.
pub(crate) fn bench_key() -> PseudonymKey {
    PseudonymKey::from_secret(b"sarap-bench-only-key-not-a-secret-0001", "bench")
        .expect("bench key is long enough")
}

pub(crate) async fn timed<T: Transform>(
    loaded: &Loaded,
    brokers: &str,
    group: &str,
    topic: &str,
    n: u64,
    t: &mut T,
) -> anyhow::Result<PipelineReport> {
    let pipeline = Pipeline::new(
        &loaded.config.kafka,
        brokers,
        PipelineOptions {
            role: format!("bench-{group}"),
            group_id: format!("bench-{group}"),
            topics: vec![topic.to_string()],
            batch_size: loaded.config.ingest.batch_size,
            batch_wait: Duration::from_millis(loaded.config.ingest.batch_wait_ms),
            stop_after: Some(n),
            auto_offset_reset: "earliest".into(),
        },
    )?;
    let (_tx, rx) = watch::channel(false);
    // The embedded broker silently drops data beyond a few MiB per partition; a bench that
    // waits for messages that are gone must fail, not hang.
    let limit = Duration::from_secs(120);
    tokio::time::timeout(limit, pipeline.run(t, rx))
        .await
        .map_err(|_| anyhow::anyhow!("{group}: fewer than {n} messages arrived within {limit:?}; use fewer --posts or more --partitions"))?
}

/// `sarap bench ingest`: the ingest transform (consume, transform, produce, acknowledge)
/// against consume + JSON parse alone, on the same synthetic stream; each round also runs
/// the floor ([`ParseSerialise`]), so the cost of the analysis itself can be read off.
pub async fn bench_ingest(
    mut loaded: Loaded,
    posts: usize,
    partitions: i32,
    rounds: usize,
) -> anyhow::Result<BenchResult> {
    let topics = ["bench.raw", "bench.clean", "bench.rejected"];
    let broker = EmbeddedBroker::start(&topics, partitions)?;
    let brokers = broker.bootstrap_servers();
    loaded.config.kafka.topics.raw = topics[0].into();
    loaded.config.kafka.topics.clean = topics[1].into();
    loaded.config.kafka.topics.rejected = topics[2].into();
    let opts = SynthOptions {
        seed: 7,
        posts,
        malformed_rate: 0.01,
        duplicate_rate: 0.02,
        ..SynthOptions::default()
    };
    let lines: Vec<Vec<u8>> = generate(&opts).map(|l| l.to_bytes()).collect();
    let n = lines.len() as u64;
    let bytes: usize = lines.iter().map(Vec::len).sum();
    // The mock cluster keeps about 5 MiB per partition; stay well below for input and output.
    anyhow::ensure!(
        bytes / partitions.max(1) as usize <= 2 << 20,
        "{bytes} bytes over {partitions} partitions exceeds what the embedded broker retains; use fewer --posts or more --partitions"
    );
    eprintln!(
        "bench ingest: {n} messages ({:.1} MiB) into {partitions} partitions",
        bytes as f64 / 1048576.0
    );
    // The transform alone, in memory: what the broker round trips cost is the difference.
    let msgs: Vec<InMsg> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| InMsg {
            topic: topics[0].into(),
            partition: 0,
            offset: i as i64,
            key: None,
            payload: l.clone(),
        })
        .collect();
    let mut ingestor = sarap_ingest::Ingestor::new(&loaded.config, &loaded.policy, bench_key())?;
    let started = std::time::Instant::now();
    for chunk in msgs.chunks(loaded.config.ingest.batch_size) {
        std::hint::black_box(ingestor.transform(chunk));
    }
    let transform_rate = n as f64 / started.elapsed().as_secs_f64();
    eprintln!("transform alone (in memory, no broker): {transform_rate:.0}/s");
    drop(msgs);
    let p = producer(&loaded.config.kafka, &brokers)?;
    let ro = ReplayOptions {
        topic: topics[0].into(),
        rate: None,
        progress: false,
    };
    replay(&p, lines, Some(n), &ro, None).await?;

    // Each round runs the reference and then the ingest role on the same messages, so their
    // ratio shares the machine's state at that moment; the median of those paired ratios is
    // steadier than a ratio of medians taken at different moments on a shared 2-core VM.
    let mut ref_rates = Vec::new();
    let mut rates = Vec::new();
    let mut ratios = Vec::new();
    let (mut floor_rates, mut floor_ratios) = (Vec::new(), Vec::new());
    for round in 0..rounds.max(1) {
        let mut reference = ParseOnly { parsed: 0 };
        let r = timed(
            &loaded,
            &brokers,
            &format!("reference-{round}"),
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
        let mut floor = ParseSerialise {
            clean_topic: topics[1].into(),
            rejected_topic: topics[2].into(),
        };
        let f = timed(
            &loaded,
            &brokers,
            &format!("floor-{round}"),
            topics[0],
            n,
            &mut floor,
        )
        .await?;
        let floor_rate = f.consumed as f64 / f.active_secs.max(1e-9);
        eprintln!(
            "round {round}: floor (consume + parse + serialise + produce + ack, no analysis): {} messages in {:.3}s = {:.0}/s; ratio {:.3}",
            f.consumed, f.active_secs, floor_rate, floor_rate / ref_rate
        );
        floor_ratios.push(floor_rate / ref_rate);
        floor_rates.push(floor_rate);
        let mut ingestor =
            sarap_ingest::Ingestor::new(&loaded.config, &loaded.policy, bench_key())?;
        let i = timed(
            &loaded,
            &brokers,
            &format!("ingest-{round}"),
            topics[0],
            n,
            &mut ingestor,
        )
        .await?;
        let rate = i.consumed as f64 / i.active_secs.max(1e-9);
        eprintln!(
            "round {round}: ingest (consume + transform + produce + ack): {} messages, {} outputs in {:.3}s = {:.0}/s; ratio {:.3}",
            i.consumed, i.produced, i.active_secs, rate, rate / ref_rate
        );
        ratios.push(rate / ref_rate);
        ref_rates.push(ref_rate);
        rates.push(rate);
    }
    let ratio = median(&mut ratios);
    let (rate, ref_rate) = (median(&mut rates), median(&mut ref_rates));
    let (floor_rate, floor_ratio) = (median(&mut floor_rates), median(&mut floor_ratios));
    eprintln!(
        "median rates: ingest {rate:.0}/s, reference {ref_rate:.0}/s (ratio of medians {:.3}); median of paired ratios {ratio:.3}",
        rate / ref_rate
    );
    eprintln!(
        "floor without analysis: {floor_rate:.0}/s, median of paired ratios {floor_ratio:.3}"
    );
    Ok(BenchResult {
        bench: "ingest",
        items_per_s: rate.round(),
        reference_items_per_s: ref_rate.round(),
        ratio: (ratio * 1000.0).round() / 1000.0,
        items: n,
        transform_items_per_s: Some(transform_rate.round()),
        floor_items_per_s: Some(floor_rate.round()),
        floor_ratio: Some((floor_ratio * 1000.0).round() / 1000.0),
    })
}

pub(crate) fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
