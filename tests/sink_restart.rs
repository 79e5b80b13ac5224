//! Exactly-once effect against a real, separate Kafka-protocol broker (tansu): `sarap sink` is
//! killed with SIGKILL in the middle of a stream and restarted; its store must end with exactly
//! the aggregates of an uninterrupted `sarap sink` over the same topic, and every signal in its
//! store must have been published on `signals.regional` (at least once).

#[allow(dead_code)]
mod support;

use chrono::TimeZone;
use sarap::bench_sink::{produce_keyed, scored_stream};
use sarap::synth::{Scenario, SynthOptions};
use sarap_core::pseudonym::PseudonymKey;
use sarap_core::RegionalSignal;
use sarap_sink::store::{AlertQuery, CellRow};
use sarap_sink::Store;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::kafka::Reader;
use support::process::{sigterm, spawn_sarap};
use support::tansu::Tansu;

const SCORED: &str = "posts.scored";
const SIGNALS: &str = "signals.regional";
const SIGNALS_REF: &str = "signals.reference";
const PARTITIONS: [i32; 3] = [0, 1, 2];

fn config(dir: &Path, brokers: &str, name: &str, signals: &str) -> (PathBuf, String) {
    let url = format!("sqlite://{}/{name}.db", dir.display());
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(
        &path,
        format!(
            "policy = \"config/policy.toml\"\n\
             [kafka]\nbrokers = \"{brokers}\"\ngroup_prefix = \"{name}\"\nsession_timeout_ms = 6000\n\
             [kafka.topics]\nscored = \"{SCORED}\"\nsignals = \"{signals}\"\n\
             [telemetry]\nlisten = \"127.0.0.1:0\"\n\
             [sink]\nstore_url = \"{url}\"\napi_listen = \"127.0.0.1:0\"\nflush_interval_ms = 100\n\
             batch_size = 100\nbatch_wait_ms = 5\nidle_partition_secs = 86400\n"
        ),
    )
    .unwrap();
    (path, url)
}

fn spawn_sink(cfg: &Path, log: &Path) -> Child {
    spawn_sarap(&["sink", "--config", cfg.to_str().unwrap()], log, &[])
}

/// Sum of the next offsets the store holds: how many input messages it has applied.
async fn applied(store: &dyn Store) -> i64 {
    store
        .load_partitions(SCORED, &PARTITIONS)
        .await
        .unwrap()
        .iter()
        .map(|r| r.next_offset)
        .sum()
}

async fn wait_applied(store: &dyn Store, at_least: i64, timeout: Duration, log: &Path) -> i64 {
    let deadline = Instant::now() + timeout;
    loop {
        let n = applied(store).await;
        if n >= at_least {
            return n;
        }
        if Instant::now() > deadline {
            panic!(
                "sink applied {n} of {at_least} within {timeout:?}; log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stop(mut child: Child) {
    sigterm(&child);
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The last published signal of every cell (with its real revision).
fn comparable_raw(rows: &[CellRow]) -> Vec<String> {
    rows.iter().filter_map(|c| c.signal.clone()).collect()
}

/// Where two texts first differ, with some context.
fn first_difference(a: &str, b: &str) -> String {
    let i = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let from = i.saturating_sub(60);
    let cut = |s: &str| s.get(from..(i + 60).min(s.len())).unwrap_or("").to_string();
    format!("at byte {i}: …{}… vs …{}…", cut(a), cut(b))
}

/// A cell without what depends on timing rather than data: the row version and the number of
/// publications (how many corrections a window gets depends on how its late posts fall into
/// flushes; the numbers published do not).
fn comparable(rows: Vec<CellRow>) -> BTreeMap<(String, String, i64), CellRow> {
    rows.into_iter()
        .map(|mut r| {
            r.version = 0;
            r.revision = 0;
            r.signal = r.signal.map(|s| {
                let mut v: serde_json::Value = serde_json::from_str(&s).unwrap();
                v["revision"] = 0.into();
                v.to_string()
            });
            ((r.region.clone(), r.resolution.clone(), r.window_start), r)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_sink_mid_stream_neither_loses_nor_double_counts() {
    let broker = Tansu::start();
    broker.create_topics(&[SCORED, SIGNALS, SIGNALS_REF], 3);
    let brokers = broker.bootstrap();
    let dir = tempfile::tempdir().unwrap();

    let opts = SynthOptions {
        seed: 9,
        posts: 30_000,
        posts_per_minute: 100.0,
        start: chrono::Utc.with_ymd_and_hms(2026, 11, 3, 3, 0, 0).unwrap(),
        scenarios: vec!["hostility-wave:karaganda".parse::<Scenario>().unwrap()],
        malformed_rate: 0.005,
        ..SynthOptions::default()
    };
    let key = PseudonymKey::from_secret(b"sink-restart-key-0123456789abcdefghij", "k1").unwrap();
    let msgs: Vec<_> = scored_stream(&opts, key, "pol-test".into()).collect();
    let n = msgs.len() as i64;
    let producer =
        sarap_bus::kafka::producer(&sarap_core::config::KafkaConfig::default(), &brokers).unwrap();
    produce_keyed(&producer, SCORED, &msgs).await.unwrap();
    drop(msgs);

    // The stores are created (and migrated) here first, so the test can watch them.
    let (ref_cfg, ref_url) = config(dir.path(), &brokers, "reference", SIGNALS_REF);
    let (cfg, url) = config(dir.path(), &brokers, "victim", SIGNALS);
    let reference: Arc<dyn Store> = sarap_sink::open_store(&ref_url).await.unwrap();
    let victim: Arc<dyn Store> = sarap_sink::open_store(&url).await.unwrap();

    // Uninterrupted run.
    let ref_log = dir.path().join("reference.log");
    let child = spawn_sink(&ref_cfg, &ref_log);
    wait_applied(reference.as_ref(), n, Duration::from_secs(180), &ref_log).await;
    stop(child);

    // Killed with SIGKILL once a quarter of the stream is in the store, then restarted.
    let log = dir.path().join("victim.log");
    let child = spawn_sink(&cfg, &log);
    let at_kill = wait_applied(victim.as_ref(), n / 4, Duration::from_secs(180), &log).await;
    let mut child = child;
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = applied(victim.as_ref()).await;
    assert!(
        after_kill < n,
        "the sink finished ({after_kill} of {n}, {at_kill} seen before the kill) before it could be killed mid-stream"
    );
    let child = spawn_sink(&cfg, &log);
    wait_applied(victim.as_ref(), n, Duration::from_secs(180), &log).await;
    stop(child);

    // Same aggregates, window by window, as the uninterrupted run.
    let want = comparable(reference.export_cells().await.unwrap());
    let got = comparable(victim.export_cells().await.unwrap());
    assert!(want.len() > 300, "{} cells", want.len());
    assert_eq!(got.len(), want.len(), "cell count");
    for (k, w) in &want {
        let g = got
            .get(k)
            .unwrap_or_else(|| panic!("cell {k:?} missing after the restart"));
        assert_eq!(
            g.state,
            w.state,
            "cell {k:?}: state differs: {}",
            first_difference(&g.state, &w.state)
        );
        let (gs, ws) = (
            g.signal.clone().unwrap_or_default(),
            w.signal.clone().unwrap_or_default(),
        );
        assert_eq!(
            gs,
            ws,
            "cell {k:?}: signal differs: {}",
            first_difference(&gs, &ws)
        );
        assert_eq!(g, w, "cell {k:?} differs after the kill and restart");
    }
    let alerts = |s: Arc<dyn Store>| async move {
        s.alerts(&AlertQuery {
            limit: 1000,
            ..AlertQuery::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.id, a.region, a.max_level, a.active))
        .collect::<Vec<_>>()
    };
    let want_alerts = alerts(reference.clone()).await;
    assert!(
        want_alerts.iter().all(|a| a.1 == "karaganda"),
        "{want_alerts:?}"
    );
    assert_eq!(alerts(victim.clone()).await, want_alerts);

    // Every publication in the victim's store reached signals.regional (duplicates allowed).
    let published: BTreeSet<(String, i64, i64, u32)> =
        comparable_raw(&victim.export_cells().await.unwrap())
            .into_iter()
            .map(|s| {
                let s: RegionalSignal = serde_json::from_str(&s).unwrap();
                (
                    s.region.as_str().to_string(),
                    s.window.start.timestamp(),
                    s.window.end.timestamp(),
                    s.revision,
                )
            })
            .collect();
    let mut reader = Reader::new(&brokers, &[SIGNALS]);
    let seen = |records: &[support::kafka::Record]| -> BTreeSet<(String, i64, i64, u32)> {
        records
            .iter()
            .map(|r| {
                let s: RegionalSignal = serde_json::from_slice(&r.payload).unwrap();
                assert_eq!(r.key.as_deref(), Some(s.region.as_str()), "keyed by region");
                (
                    s.region.as_str().to_string(),
                    s.window.start.timestamp(),
                    s.window.end.timestamp(),
                    s.revision,
                )
            })
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    let mut target = published.len();
    loop {
        reader.poll_until(Duration::from_secs(2), |r| r.len() >= target);
        let have = seen(reader.records());
        if published.is_subset(&have) {
            break;
        }
        let missing: Vec<_> = published.difference(&have).take(5).collect();
        assert!(
            Instant::now() < deadline,
            "signals never published: {missing:?}"
        );
        target = reader.records().len() + 1;
    }
}
