//! The sink's store suite, run against SQLite (a file) and a real PostgreSQL server (a private
//! cluster this test starts): schema and migrations, fencing, the review flow, the HTTP API on
//! top, and a restart in the middle of a stream — a crash losing uncommitted work, then
//! redelivery from an older position — ending with exactly the cells of an uninterrupted run.

#[allow(dead_code)]
mod support;

use chrono::TimeZone;
use sarap::bench_sink::{partition_of, scored_stream};
use sarap::synth::{Scenario, SynthOptions};
use sarap_core::config::Config;
use sarap_core::pseudonym::PseudonymKey;
use sarap_core::Policy;
use sarap_sink::engine::Engine;
use sarap_sink::role::{apply_batch, Msg};
use sarap_sink::store::{
    AlertQuery, AlertWrite, CellRow, CellWrite, CommitBatch, Decision, OutboxRow, PartitionRow,
    PartitionWrite, RegionRow, ReviewOutcome, SignalQuery,
};
use sarap_sink::{SqlStore, Store, StoreError};
use std::collections::BTreeMap;
use std::sync::Arc;
use support::http::{get_ok, request};
use support::postgres::Postgres;

const TOPIC: &str = "posts.scored";
const PARTITIONS: i32 = 3;

fn config() -> (Config, Policy) {
    let cfg = Config::from_toml_with_env(
        "[sink]\nidle_partition_secs = 86400\napi_listen = \"127.0.0.1:0\"\n",
        Vec::<(String, String)>::new(),
    )
    .unwrap();
    let policy = Policy::load(std::path::Path::new("config/policy.toml")).unwrap();
    (cfg, policy)
}

/// (partition, offset, payload) of a synthetic scored stream with a hostility wave in Almaty.
fn stream() -> Vec<(i32, i64, Vec<u8>)> {
    let opts = SynthOptions {
        seed: 5,
        posts: 15_000,
        posts_per_minute: 60.0,
        start: chrono::Utc.with_ymd_and_hms(2026, 11, 1, 3, 0, 0).unwrap(),
        scenarios: vec!["hostility-wave:almaty".parse::<Scenario>().unwrap()],
        malformed_rate: 0.005,
        ..SynthOptions::default()
    };
    let key = PseudonymKey::from_secret(b"sink-store-test-key-0123456789abcdef", "k1").unwrap();
    let mut next = [0i64; PARTITIONS as usize];
    scored_stream(&opts, key, "pol-test".into())
        .map(|m| {
            let p = partition_of(&m.key, PARTITIONS);
            let o = next[p as usize];
            next[p as usize] += 1;
            (p, o, m.payload)
        })
        .collect()
}

async fn engine_for(store: &dyn Store, cfg: &Config, policy: &Policy) -> Engine {
    let mut e = Engine::new(
        sarap_sink::Settings::new(&cfg.sink, policy),
        TOPIC,
        store.noise_secret().await.unwrap(),
    );
    e.load_regions(store.load_regions().await.unwrap());
    let parts: Vec<i32> = (0..PARTITIONS).collect();
    let rows = store.load_partitions(TOPIC, &parts).await.unwrap();
    let open = store.load_open_cells(&parts).await.unwrap();
    e.assign(&parts, rows, open);
    e
}

async fn commit(e: &mut Engine, store: &dyn Store) {
    let b = e.prepare_commit(Vec::new());
    store.commit(&b).await.unwrap();
    e.committed(&b);
    store.delete_outbox(&b.outbox).await.unwrap();
}

/// Feeds messages in batches of 100, committing every `every` messages (and at the end if `tail`).
async fn feed(
    e: &mut Engine,
    store: &dyn Store,
    msgs: &[(i32, i64, Vec<u8>)],
    every: usize,
    tail: bool,
) {
    let mut since = 0;
    for chunk in msgs.chunks(100) {
        let batch: Vec<Msg<'_>> = chunk
            .iter()
            .map(|(p, o, b)| Msg {
                partition: *p,
                offset: *o,
                payload: b,
            })
            .collect();
        let seeks = apply_batch(e, store, &batch).await.unwrap();
        assert!(seeks.is_empty());
        since += chunk.len();
        if since >= every {
            since = 0;
            commit(e, store).await;
        }
    }
    if tail {
        commit(e, store).await;
    }
}

/// A cell without what depends on commit timing rather than data: the row version and the
/// number of publications (a window gets one correction per commit that saw late posts for it).
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

fn cell(region: &str, start: i64, version: i64, expected: i64) -> CellWrite {
    CellWrite {
        row: CellRow {
            region: region.into(),
            resolution: "5m".into(),
            window_start: start,
            window_end: start + 300,
            closed: false,
            partition: 0,
            state: "{}".into(),
            signal: None,
            revision: 0,
            alert_id: None,
            version,
        },
        expected_version: expected,
    }
}

/// Everything the sink asks of a store, on one backend; `open` names a fresh database each call.
async fn suite(open: impl Fn() -> String, label: &str) {
    let url = open();
    let (cfg, policy) = config();

    // Migrations: applied once, idempotent on reopen; the noise secret is stable.
    let first = SqlStore::open(&url).await.unwrap();
    assert_eq!(first.applied_migrations().await.unwrap(), vec![1, 2]);
    let secret = first.noise_secret().await.unwrap();
    drop(first);
    let sql = SqlStore::open(&url).await.unwrap();
    assert_eq!(
        sql.applied_migrations().await.unwrap(),
        vec![1, 2],
        "{label}"
    );
    assert_eq!(sql.noise_secret().await.unwrap(), secret, "{label}");
    sql.ping().await.unwrap();
    let store: Arc<dyn Store> = Arc::new(sql);

    // Fencing: a position or cell moved on by another writer refuses the whole transaction.
    let b = CommitBatch {
        topic: "fence".into(),
        partitions: vec![PartitionWrite {
            row: PartitionRow {
                partition: 0,
                next_offset: 10,
                max_event: Some(1_800_000_000),
            },
            expected: None,
        }],
        cells: vec![cell("abai", 1_800_000_000, 1, 0)],
        ..CommitBatch::default()
    };
    store.commit(&b).await.unwrap();
    let stale = CommitBatch {
        topic: "fence".into(),
        partitions: vec![PartitionWrite {
            row: PartitionRow {
                partition: 0,
                next_offset: 20,
                max_event: None,
            },
            expected: Some(5),
        }],
        cells: vec![cell("astana", 1_800_000_000, 1, 0)],
        ..CommitBatch::default()
    };
    assert!(
        matches!(store.commit(&stale).await, Err(StoreError::Conflict(_))),
        "{label}"
    );
    let dup_insert = CommitBatch {
        topic: "fence".into(),
        cells: vec![cell("abai", 1_800_000_000, 1, 0)],
        ..CommitBatch::default()
    };
    assert!(
        matches!(
            store.commit(&dup_insert).await,
            Err(StoreError::Conflict(_))
        ),
        "{label}"
    );
    let rows = store.load_partitions("fence", &[0, 1]).await.unwrap();
    assert_eq!(
        rows,
        vec![PartitionRow {
            partition: 0,
            next_offset: 10,
            max_event: Some(1_800_000_000)
        }],
        "{label}: a refused transaction wrote nothing"
    );
    let keys = vec![("astana".to_string(), "5m".to_string(), 1_800_000_000i64)];
    assert!(store.load_cells(&keys).await.unwrap().is_empty(), "{label}");
    // A correct fence passes and moves the version on.
    let ok = CommitBatch {
        topic: "fence".into(),
        partitions: vec![PartitionWrite {
            row: PartitionRow {
                partition: 0,
                next_offset: 20,
                max_event: None,
            },
            expected: Some(10),
        }],
        cells: vec![cell("abai", 1_800_000_000, 2, 1)],
        regions: vec![RegionRow {
            region: "abai".into(),
            state: "{}".into(),
        }],
        outbox: vec![OutboxRow {
            region: "abai".into(),
            resolution: "5m".into(),
            window_start: 1_800_000_000,
            revision: 0,
            payload: "{}".into(),
            commit_id: 42,
        }],
        ..CommitBatch::default()
    };
    store.commit(&ok).await.unwrap();
    assert_eq!(
        store.load_partitions("fence", &[0]).await.unwrap()[0].next_offset,
        20
    );
    let keys = vec![("abai".to_string(), "5m".to_string(), 1_800_000_000i64)];
    assert_eq!(store.load_cells(&keys).await.unwrap()[0].version, 2);
    assert_eq!(store.load_open_cells(&[0]).await.unwrap().len(), 1);
    assert_eq!(store.pending_outbox().await.unwrap().len(), 1);
    store.delete_outbox(&ok.outbox).await.unwrap();
    assert!(store.pending_outbox().await.unwrap().is_empty());
    assert_eq!(store.load_regions().await.unwrap().len(), 1);

    // Restart equality on this backend. Reference: one uninterrupted run.
    let msgs = stream();
    let ref_url = open();
    let reference: Arc<dyn Store> = Arc::new(SqlStore::open(&ref_url).await.unwrap());
    let mut e = engine_for(reference.as_ref(), &cfg, &policy).await;
    feed(&mut e, reference.as_ref(), &msgs, 700, true).await;
    let want = comparable(reference.export_cells().await.unwrap());
    let want_alerts = reference
        .alerts(&AlertQuery {
            limit: 1000,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    assert!(want.len() > 500, "{label}: {} cells", want.len());
    // The wave raised alerts in Almaty, and only there.
    assert!(!want_alerts.is_empty(), "{label}: the wave raised no alert");
    assert!(
        want_alerts
            .iter()
            .all(|a| a.region == "almaty" && a.state == "open"),
        "{label}: {want_alerts:?}"
    );

    // Interrupted: a crash at 60% loses everything since the last commit; the restart is
    // redelivered from well before the store's position (an older group offset).
    let crash = msgs.len() * 6 / 10;
    let mut e1 = engine_for(store.as_ref(), &cfg, &policy).await;
    feed(&mut e1, store.as_ref(), &msgs[..crash], 700, false).await;
    drop(e1);
    let mut e2 = engine_for(store.as_ref(), &cfg, &policy).await;
    let replay_from = crash.saturating_sub(2_000);
    feed(&mut e2, store.as_ref(), &msgs[replay_from..], 700, true).await;
    assert!(
        e2.counters.skipped > 0,
        "{label}: the restart skipped nothing"
    );
    let got = comparable(store.export_cells().await.unwrap());
    // The fencing cell of the first part of the suite is not part of the comparison.
    let got: BTreeMap<_, _> = got
        .into_iter()
        .filter(|(k, _)| k.2 != 1_800_000_000)
        .collect();
    assert_eq!(got.len(), want.len(), "{label}: cell count");
    for (k, w) in &want {
        assert_eq!(
            got.get(k),
            Some(w),
            "{label}: cell {k:?} differs after the restart"
        );
    }
    let got_alerts = store
        .alerts(&AlertQuery {
            limit: 1000,
            ..AlertQuery::default()
        })
        .await
        .unwrap();
    let ids = |v: &[sarap_sink::store::AlertView]| {
        v.iter()
            .map(|a| {
                (
                    a.id.clone(),
                    a.max_level,
                    a.active,
                    a.last_window_end.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(&got_alerts), ids(&want_alerts), "{label}: alerts");

    // Signals: filters by region, time and resolution.
    let almaty = store
        .signals(&SignalQuery {
            region: Some("almaty".into()),
            resolution: "1h".into(),
            from: 0,
            to: i64::MAX,
            limit: 1000,
        })
        .await
        .unwrap();
    assert!(almaty.len() >= 3, "{label}");
    assert!(almaty.iter().all(|s| s.signal.contains("\"almaty\"")));
    let latest = store.latest_signals("5m").await.unwrap();
    assert!(
        latest.len() >= 15,
        "{label}: {} regions with a latest signal",
        latest.len()
    );

    // The review flow through the HTTP API on this store.
    let state = sarap_sink::api_state(store.clone(), &cfg, &policy, support::http::test_auth());
    let addr = sarap_sink::api::serve("127.0.0.1:0", state).await.unwrap();
    let open_alerts = get_ok(addr, "/api/alerts?state=open&region=almaty").await;
    let id = open_alerts["alerts"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(open_alerts["alerts"][0]["review"], serde_json::Value::Null);
    let path = format!("/api/alerts/{id}/review");
    let (status, v) = request(
        addr,
        "POST",
        &path,
        Some(r#"{"decision":"confirm","reason":"matches field reports","analyst":"a.nurlanova"}"#),
    )
    .await;
    assert_eq!(status, 200, "{label}: {v}");
    assert_eq!(v["state"], "confirmed");
    assert_eq!(v["review"]["analyst"], "a.nurlanova");
    assert_eq!(v["review"]["reason"], "matches field reports");
    assert!(v["review"]["at"].as_str().unwrap().ends_with('Z'));
    // Reviews are final.
    let (status, v) = request(
        addr,
        "POST",
        &path,
        Some(r#"{"decision":"dismiss","reason":"changed my mind","analyst":"someone.else"}"#),
    )
    .await;
    assert_eq!(status, 409, "{label}: {v}");
    assert_eq!(v["alert"]["state"], "confirmed");
    // The sink re-writing the alert (a replay, or the condition clearing) keeps the review.
    let a = &want_alerts.iter().find(|a| a.id == id).unwrap();
    let rewrite = CommitBatch {
        topic: "fence".into(),
        alerts: vec![AlertWrite {
            id: id.clone(),
            region: "almaty".into(),
            level: 0,
            max_level: a.max_level,
            active: false,
            window_start: 0,
            window_end: 0,
            last_window_end: 0,
            risk: 0.0,
            anomaly: 0.0,
            peak_anomaly: a.peak_anomaly,
            raised_at: 0,
        }],
        ..CommitBatch::default()
    };
    store.commit(&rewrite).await.unwrap();
    let after = store.alert(&id).await.unwrap().unwrap();
    assert_eq!(after.state, "confirmed", "{label}");
    assert_eq!(after.review.unwrap().analyst, "a.nurlanova");
    // And the store-level outcomes.
    assert_eq!(
        store
            .review_alert("nope", "x", Decision::Dismiss, "no such alert", 0)
            .await
            .unwrap(),
        ReviewOutcome::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_store_suite() {
    let dir = tempfile::tempdir().unwrap();
    let n = std::sync::atomic::AtomicUsize::new(0);
    let path = dir.path().to_path_buf();
    suite(
        move || {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            format!("sqlite://{}/suite-{i}.db", path.display())
        },
        "sqlite",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_store_suite() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    let pg = Arc::new(pg);
    let n = std::sync::atomic::AtomicUsize::new(0);
    let server = pg.clone();
    suite(
        move || {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let name = format!("suite_{i}");
            server.create_database(&name);
            server.url(&name)
        },
        "postgres",
    )
    .await;
}
