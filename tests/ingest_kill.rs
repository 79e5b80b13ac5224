//! Crash safety against a real, separate Kafka-protocol broker (tansu): the ingest process is
//! killed with SIGKILL mid-stream and restarted; every raw post must then be found in
//! `posts.clean` or `posts.rejected` (at-least-once: none lost, re-deliveries allowed).

#[allow(dead_code)]
mod support;

use sarap::synth::{generate, SynthOptions};
use std::collections::HashSet;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::kafka::read_all;
use support::tansu::Tansu;

const RAW: &str = "posts.raw";
const OUT: [&str; 2] = ["posts.clean", "posts.rejected"];

fn spawn_ingest(cfg: &std::path::Path, log: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_sarap"))
        .args(["ingest", "--config", cfg.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env(
            "SARAP_PSEUDONYM_KEY",
            "kill-test-key-0123456789abcdef0123456789",
        )
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap(),
        )
        .spawn()
        .expect("sarap ingest starts")
}

/// Distinct raw (partition, offset) pairs that have an output so far, and the output count.
fn accounted(brokers: &str, expect: usize) -> (HashSet<(i64, i64)>, usize) {
    let recs = read_all(brokers, &OUT, expect, Duration::from_millis(1500));
    let set = recs
        .iter()
        .map(|r| {
            let j = r.json();
            (
                j["source"]["partition"].as_i64().unwrap(),
                j["source"]["offset"].as_i64().unwrap(),
            )
        })
        .collect();
    (set, recs.len())
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
             [telemetry]\nlisten = \"127.0.0.1:0\"\n[ingest]\nbatch_size = 50\nbatch_wait_ms = 5\n"
        ),
    )
    .unwrap();
    let log = dir.path().join("ingest.log");

    // Raw stream with malformed lines and redeliveries, produced before ingest starts.
    let opts = SynthOptions {
        seed: 3,
        posts: 6000,
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

    // First run: kill it hard once some, but not all, output is there.
    let mut first = spawn_ingest(&cfg, &log);
    let deadline = Instant::now() + Duration::from_secs(60);
    let before_kill = loop {
        let (done, _) = accounted(&brokers, n);
        if done.len() >= n / 10 || Instant::now() > deadline {
            break done.len();
        }
        assert!(
            first.try_wait().unwrap().is_none(),
            "ingest exited early; log: {}",
            log.display()
        );
    };
    first.kill().unwrap();
    first.wait().unwrap();
    assert!(
        before_kill > 0,
        "no output before the kill; log: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        before_kill < n,
        "ingest finished before it could be killed; make the stream longer"
    );

    // Second run: must complete the stream.
    let mut second = spawn_ingest(&cfg, &log);
    let deadline = Instant::now() + Duration::from_secs(120);
    let (done, outputs) = loop {
        let (done, outputs) = accounted(&brokers, n * 2);
        if raw.is_subset(&done) || Instant::now() > deadline {
            break (done, outputs);
        }
    };
    // SIGTERM: the role drains and exits cleanly.
    sigterm(&second);
    let status = second.wait().unwrap();
    let missing: Vec<_> = raw.difference(&done).take(5).collect();
    assert!(
        missing.is_empty(),
        "{} raw posts have no output, e.g. {missing:?}; log: {}",
        raw.difference(&done).count(),
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    assert!(
        status.success(),
        "ingest did not exit cleanly on SIGTERM: {status:?}"
    );
    eprintln!(
        "killed after {before_kill}/{n} outputs; {outputs} outputs in all ({} re-deliveries)",
        outputs - n
    );
}

/// Sends SIGTERM through the `kill` command (no libc dependency for one call).
fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}
