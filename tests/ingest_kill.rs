//! Crash safety against a real, separate Kafka-protocol broker (tansu): the ingest process is
//! killed with SIGKILL mid-stream and restarted; every raw post must then be found in
//! `posts.clean` or `posts.rejected` (at-least-once: none lost, re-deliveries allowed).

#[allow(dead_code)]
mod support;

use sarap::synth::{generate, SynthOptions};
use std::collections::HashSet;
use std::process::Child;
use std::time::Duration;
use support::kafka::{read_all, Reader, Record};
use support::process::{sigterm, spawn_sarap};
use support::tansu::Tansu;

const RAW: &str = "posts.raw";
const OUT: [&str; 2] = ["posts.clean", "posts.rejected"];

fn spawn_ingest(cfg: &std::path::Path, log: &std::path::Path) -> Child {
    spawn_sarap(
        &["ingest", "--config", cfg.to_str().unwrap()],
        log,
        &[(
            "SARAP_PSEUDONYM_KEY",
            "kill-test-key-0123456789abcdef0123456789",
        )],
    )
}

/// The raw (partition, offset) an output was made from.
fn source_of(r: &Record) -> (i64, i64) {
    let j = r.json();
    (
        j["source"]["partition"].as_i64().unwrap(),
        j["source"]["offset"].as_i64().unwrap(),
    )
}

#[test]
fn killing_ingest_mid_stream_loses_nothing() {
    let broker = Tansu::start();
    broker.create_topics(&[RAW, OUT[0], OUT[1]], 3);
    let brokers = broker.bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sarap.toml");
    std::fs::write(
        &cfg,
        format!(
            "policy = \"config/policy.toml\"\n[kafka]\nbrokers = \"{brokers}\"\nsession_timeout_ms = 6000\n\
             [telemetry]\nlisten = \"127.0.0.1:0\"\n[ingest]\nbatch_size = 10\nbatch_wait_ms = 5\n"
        ),
    )
    .unwrap();
    let log = dir.path().join("ingest.log");

    // Raw stream with malformed lines and redeliveries, produced before ingest starts.
    let opts = SynthOptions {
        seed: 3,
        posts: 12000,
        malformed_rate: 0.03,
        duplicate_rate: 0.02,
        start: chrono::Utc::now() - chrono::Duration::hours(6),
        ..SynthOptions::default()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let kafka = sarap_core::config::KafkaConfig::default();
    let producer = sarap_bus::kafka::producer(&kafka, &brokers).unwrap();
    let lines: Vec<Vec<u8>> = generate(&opts).map(|l| l.to_bytes()).collect();
    let n = lines.len();
    let ro = sarap::replay::ReplayOptions {
        topic: RAW.into(),
        rate: None,
        progress: false,
    };
    rt.block_on(sarap::replay::replay(&producer, lines, None, &ro, None))
        .unwrap();
    let raw: HashSet<(i64, i64)> = read_all(&brokers, &[RAW], n, Duration::from_secs(30))
        .iter()
        .map(|r| (i64::from(r.partition), r.offset))
        .collect();
    assert_eq!(raw.len(), n);

    // First run: kill it hard as soon as some output is there (the reader sees each output
    // as it arrives, so the kill lands mid-stream however fast ingest runs).
    let mut reader = Reader::new(&brokers, &OUT);
    let mut first = spawn_ingest(&cfg, &log);
    let started = reader.poll_until(Duration::from_secs(60), |r| r.len() >= n / 20);
    // Let the group commit once, so the restart resumes from a committed offset rather than
    // from the beginning; keep reading meanwhile.
    let mut committed = 0;
    for _ in 0..50 {
        committed = committed_total(&brokers);
        if committed > 0 {
            break;
        }
        reader.poll_until(Duration::from_millis(100), |_| false);
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(started, "no output within 60 s; log: {}", log_text());
    assert!(
        committed > 0,
        "the group committed nothing within 5 s; log: {}",
        log_text()
    );
    // What the killed process wrote is whatever the broker has now; read to quiescence.
    reader.poll_until(Duration::from_secs(2), |_| false);
    let before_kill: HashSet<(i64, i64)> = reader.records().iter().map(source_of).collect();
    assert!(
        before_kill.len() < n,
        "ingest finished before it could be killed; make the stream longer"
    );

    // Second run: must complete the stream. Sources are collected incrementally: parsing
    // every record again after each poll would be quadratic.
    let mut second = spawn_ingest(&cfg, &log);
    let mut done: HashSet<(i64, i64)> = HashSet::new();
    let mut seen = 0;
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let complete = loop {
        done.extend(reader.records()[seen..].iter().map(source_of));
        seen = reader.records().len();
        if raw.is_subset(&done) {
            break true;
        }
        if std::time::Instant::now() > deadline {
            break false;
        }
        reader.poll_until(Duration::from_millis(300), |_| false);
    };
    // SIGTERM: the role drains and exits cleanly.
    sigterm(&second);
    let status = second.wait().unwrap();
    let missing: Vec<_> = raw.difference(&done).take(5).collect();
    assert!(
        complete && missing.is_empty(),
        "{} raw posts have no output, e.g. {missing:?}; log: {}",
        raw.difference(&done).count(),
        log_text()
    );
    assert!(
        status.success(),
        "ingest did not exit cleanly on SIGTERM: {status:?}"
    );
    let outputs = reader.records().len();
    eprintln!(
        "killed after {}/{n} outputs with {committed} offsets committed; {outputs} outputs in all ({} re-deliveries)",
        before_kill.len(),
        outputs - n
    );
    assert!(
        outputs - n < before_kill.len(),
        "the restart ignored the committed offsets"
    );
}

/// Sum of the offsets the ingest group has committed on `posts.raw` (an offset fetch; this
/// consumer never joins the group).
fn committed_total(brokers: &str) -> i64 {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let c: BaseConsumer = rdkafka::config::ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "sarap-ingest")
        .create()
        .unwrap();
    let mut tpl = rdkafka::TopicPartitionList::new();
    for p in 0..3 {
        tpl.add_partition(RAW, p);
    }
    c.committed_offsets(tpl, Duration::from_secs(5))
        .map(|t| {
            t.elements()
                .iter()
                .filter_map(|e| e.offset().to_raw())
                .filter(|o| *o > 0)
                .sum()
        })
        .unwrap_or(0)
}
