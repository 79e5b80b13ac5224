//! `sarap bench analyze`: the analyze path (parse, tokenise, dynamic batching with the
//! embedding cache, encoder, heads, lexicon, claims, audit chain, serialisation) against bare
//! ONNX Runtime on the same unique texts at its best batch size, in the same run.
//!
//! Texts are the project's labelled posts and claim pairs (kk, ru, en; 5 to 80 words),
//! normalised as ingest does. The stream repeats 30 % of its posts as campaign copies:
//! two in three verbatim (what copy-paste accounts post), one in three with a changed
//! hashtag (a different text, so the cache cannot help).

use crate::bench::BenchResult;
use crate::roles::Loaded;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use sarap_analyzers::claims::Registry;
use sarap_analyzers::{Analyzer, Models};
use sarap_bus::{InMsg, Transform};
use sarap_core::contracts::{
    AuthorKind, CleanPost, Lang, RedactionCounts, RegionSource, Script, SourceRef, SCHEMA_CLEAN,
};
use sarap_core::regions::REGIONS;
use serde::Serialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Figures beyond the common JSON line.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyzeFigures {
    /// The common figures: stream with duplicates against bare ONNX Runtime.
    #[serde(flatten)]
    pub common: BenchResult,
    /// Posts per second through the analyze path on the unique texts alone.
    pub unique_items_per_s: f64,
    /// `unique_items_per_s / reference_items_per_s`.
    pub unique_ratio: f64,
    /// Batch size at which bare ONNX Runtime was fastest.
    pub reference_best_batch: usize,
    /// Share of stream posts answered from the embedding cache.
    pub cache_hit_rate: f64,
    /// Padded tokens over real tokens in the analyze path's batches.
    pub padding_overhead: f64,
    /// Median latency a post spends in the analyze stage, at `latency_load` of capacity.
    pub p50_added_latency_ms: f64,
    /// 99th percentile of the same.
    pub p99_added_latency_ms: f64,
    /// Arrival rate of the latency run as a share of measured throughput.
    pub latency_load: f64,
}

/// Unique texts for the bench, normalised as ingest does.
fn texts(limit: usize, seed: u64) -> anyhow::Result<Vec<(String, Lang)>> {
    let mut out = Vec::new();
    for (file, lang) in [
        ("data/labelled/kk.jsonl", Lang::Kk),
        ("data/labelled/ru.jsonl", Lang::Ru),
        ("data/labelled/en.jsonl", Lang::En),
        ("data/claims/pairs.jsonl", Lang::Other),
    ] {
        let text = std::fs::read_to_string(file)
            .map_err(|e| anyhow::anyhow!("{file}: {e} (run from the repository root)"))?;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line)?;
            let t = sarap_ingest::normalize::normalize(v["text"].as_str().unwrap_or_default());
            let lang = match v["lang"].as_str() {
                Some("kk") => Lang::Kk,
                Some("ru") => Lang::Ru,
                Some("en") => Lang::En,
                _ => lang,
            };
            if !t.is_empty() {
                out.push((t, lang));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out.dedup_by(|a, b| a.0 == b.0);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    out.shuffle(&mut rng);
    out.truncate(limit);
    Ok(out)
}

fn clean_post(i: usize, text: &str, lang: Lang, cluster: Option<(usize, u32)>) -> Vec<u8> {
    let region = REGIONS[i % REGIONS.len()].region;
    let p = CleanPost {
        schema: SCHEMA_CLEAN.into(),
        post_key: format!("{:032x}", i as u128 * 2_654_435_761),
        platform: "bench".into(),
        author_pid: format!("{:032x}", (i % 997) as u128 * 40_503),
        author_key_id: "k-bench000".into(),
        author_kind: AuthorKind::Person,
        text: text.to_string(),
        lang,
        script: if lang == Lang::En {
            Script::Latn
        } else {
            Script::Cyrl
        },
        lang_confidence: 0.9,
        code_switched: false,
        region,
        region_source: RegionSource::Place,
        created_at: chrono::Utc::now(),
        ingested_at: chrono::Utc::now(),
        dup_cluster: cluster.map(|(c, _)| format!("c-{c:08x}")),
        dup_seen: cluster.map(|(_, n)| n),
        reply_to_key: None,
        metrics: None,
        redactions: RedactionCounts::default(),
        source: SourceRef {
            topic: "posts.raw".into(),
            partition: 0,
            offset: i as i64,
        },
        policy_hash: "pol-bench".into(),
    };
    serde_json::to_vec(&p).expect("clean posts serialise")
}

fn msgs(payloads: &[Vec<u8>]) -> Vec<InMsg> {
    payloads
        .iter()
        .enumerate()
        .map(|(i, p)| InMsg {
            topic: "posts.clean".into(),
            partition: 0,
            offset: i as i64,
            key: None,
            payload: p.clone(),
        })
        .collect()
}

/// Runs the analyze transform over `msgs` in pipeline batches; returns posts per second.
fn run_path(analyzer: &mut Analyzer, msgs: &[InMsg], batch: usize) -> anyhow::Result<f64> {
    let t = Instant::now();
    for chunk in msgs.chunks(batch) {
        let out = analyzer.try_transform(chunk)?;
        anyhow::ensure!(out.len() >= 2 * chunk.len(), "analyze dropped posts");
    }
    Ok(msgs.len() as f64 / t.elapsed().as_secs_f64())
}

/// `sarap bench analyze`.
pub fn bench_analyze(loaded: &Loaded, unique: usize, seed: u64) -> anyhow::Result<AnalyzeFigures> {
    let cfg = &loaded.config.analyze;
    let pool = texts(unique, seed)?;
    anyhow::ensure!(pool.len() >= 100, "too few texts for a benchmark");
    eprintln!("bench analyze: {} unique texts", pool.len());
    let models = Arc::new(Models::load(cfg, &loaded.policy)?);
    let encoder = models.batcher.encoder().clone();

    // Reference: bare ONNX Runtime on pre-tokenised unique texts, arrival order, best batch.
    let ids: Vec<Vec<i64>> = pool
        .iter()
        .map(|(t, _)| encoder.tokenize(t))
        .collect::<Result<_, _>>()?;
    let warm: Vec<&[i64]> = ids.iter().take(8).map(|r| r.as_slice()).collect();
    encoder.embed_ids(&warm)?;
    let probe = &ids[..ids.len().min(320)];
    let mut best = (0usize, 0f64);
    for b in [1usize, 4, 8, 16, 32, 64] {
        let t = Instant::now();
        for chunk in probe.chunks(b) {
            let rows: Vec<&[i64]> = chunk.iter().map(|r| r.as_slice()).collect();
            encoder.embed_ids(&rows)?;
        }
        let rate = probe.len() as f64 / t.elapsed().as_secs_f64();
        eprintln!("  reference batch {b:>2}: {rate:.1} texts/s");
        if rate > best.1 {
            best = (b, rate);
        }
    }
    let t = Instant::now();
    for chunk in ids.chunks(best.0) {
        let rows: Vec<&[i64]> = chunk.iter().map(|r| r.as_slice()).collect();
        encoder.embed_ids(&rows)?;
    }
    let reference = ids.len() as f64 / t.elapsed().as_secs_f64();
    eprintln!("  reference (batch {}): {reference:.1} texts/s", best.0);

    let new_analyzer = |models: &Arc<Models>| -> anyhow::Result<Analyzer> {
        let registry = Registry::load(&cfg.claims, &models.batcher)?;
        Ok(Analyzer::new(
            models.clone(),
            registry,
            &loaded.policy,
            cfg,
            &loaded.config.kafka.topics,
        ))
    };
    // Each path gets a fresh bundle, so the cache starts empty.
    let fresh = || Models::load(cfg, &loaded.policy).map(Arc::new);

    // Analyze path on the unique texts.
    let unique_msgs = msgs(
        &pool
            .iter()
            .enumerate()
            .map(|(i, (t, l))| clean_post(i, t, *l, None))
            .collect::<Vec<_>>(),
    );
    let m1 = fresh()?;
    let mut a1 = new_analyzer(&m1)?;
    let unique_rate = run_path(&mut a1, &unique_msgs, cfg.batch_size)?;
    eprintln!("  analyze, unique texts: {unique_rate:.1} posts/s");

    // The stream: 30 % campaign copies of earlier posts.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5eed);
    let mut stream: Vec<Vec<u8>> = Vec::new();
    let mut seen: Vec<usize> = Vec::new();
    let mut copies: std::collections::HashMap<usize, u32> = Default::default();
    let mut next = 0usize;
    while next < pool.len() {
        if !seen.is_empty() && rng.gen_bool(0.3) {
            let src = seen[rng.gen_range(0..seen.len())];
            let n = copies.entry(src).or_insert(1);
            *n += 1;
            let (t, l) = &pool[src];
            let text = if rng.gen_bool(2.0 / 3.0) {
                t.clone()
            } else {
                format!(
                    "{t} #{}",
                    ["срочно", "жаңалық", "news", "KZ", "репост"][rng.gen_range(0..5)]
                )
            };
            stream.push(clean_post(stream.len(), &text, *l, Some((src, *n))));
        } else {
            let (t, l) = &pool[next];
            stream.push(clean_post(stream.len(), t, *l, Some((next, 1))));
            seen.push(next);
            next += 1;
        }
    }
    let stream_msgs = msgs(&stream);
    let m2 = fresh()?;
    let mut a2 = new_analyzer(&m2)?;
    let before = m2.batcher.stats();
    let rate = run_path(&mut a2, &stream_msgs, cfg.batch_size)?;
    let stats = m2.batcher.stats();
    let embedded = (stats.texts - before.texts) as f64;
    let hit_rate = 1.0 - embedded / stream_msgs.len() as f64;
    eprintln!(
        "  analyze, stream with 30% copies: {rate:.1} posts/s ({} posts, {} embedded)",
        stream_msgs.len(),
        embedded
    );
    let padding = stats.padded_tokens as f64 / stats.real_tokens.max(1) as f64;

    // Latency: posts arrive at 60 % of the measured rate; the pipeline hands them over every
    // batch_wait or at batch_size, as it does from Kafka.
    let load = 0.6;
    let m3 = fresh()?;
    let mut a3 = new_analyzer(&m3)?;
    let lat_msgs = &stream_msgs[..stream_msgs.len().min(600)];
    let gap = Duration::from_secs_f64(1.0 / (rate * load));
    let wait = Duration::from_millis(loaded.config.analyze.batch_wait_ms);
    let start = Instant::now();
    let arrival = |i: usize| start + gap * i as u32;
    let mut lat = Vec::with_capacity(lat_msgs.len());
    let mut i = 0;
    while i < lat_msgs.len() {
        // Wait for the first post of the batch, then fill until batch_wait or batch_size.
        let first = arrival(i);
        if let Some(d) = first.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        let close = (first + wait).max(Instant::now());
        if let Some(d) = close.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        let now = Instant::now();
        let mut j = i;
        while j < lat_msgs.len() && j - i < cfg.batch_size && arrival(j) <= now {
            j += 1;
        }
        a3.try_transform(&lat_msgs[i..j])?;
        let done = Instant::now();
        for k in i..j {
            lat.push(done.duration_since(arrival(k)).as_secs_f64() * 1000.0);
        }
        i = j;
    }
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    let (p50, p99) = (pct(0.5), pct(0.99));
    eprintln!(
        "  latency at {:.0}% load: p50 {p50:.1} ms, p99 {p99:.1} ms",
        load * 100.0
    );
    drop(a1);
    drop(models);
    Ok(AnalyzeFigures {
        common: BenchResult {
            bench: "analyze",
            items_per_s: rate,
            reference_items_per_s: reference,
            ratio: rate / reference,
            items: stream_msgs.len() as u64,
            transform_items_per_s: None,
            floor_items_per_s: None,
            floor_ratio: None,
        },
        unique_items_per_s: unique_rate,
        unique_ratio: unique_rate / reference,
        reference_best_batch: best.0,
        cache_hit_rate: hit_rate,
        padding_overhead: padding,
        p50_added_latency_ms: p50,
        p99_added_latency_ms: p99,
        latency_load: load,
    })
}
