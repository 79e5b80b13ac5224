//! The sink role end to end on the embedded broker, through the same glue `sarap sink` and
//! `sarap run` use: scored posts (with malformed messages among them) in, signals out on
//! `signals.regional` (keyed by region, valid against the published JSON Schema, suppressed
//! ones without numbers), the store filled, the HTTP API and the Prometheus metrics served.

#[allow(dead_code)]
mod support;

use chrono::TimeZone;
use sarap::bench_sink::{produce_keyed, scored_stream, ScoredMessage};
use sarap::roles::Loaded;
use sarap::synth::SynthOptions;
use sarap_bus::kafka::EmbeddedBroker;
use sarap_bus::telemetry::Readiness;
use sarap_core::config::Config;
use sarap_core::pseudonym::PseudonymKey;
use sarap_core::{Policy, RegionalSignal};
use std::time::Duration;
use support::http::get_ok;
use support::kafka::Reader;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scored_posts_become_signals_store_rows_api_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config::from_toml_with_env(
        &format!(
            "[sink]\nstore_url = \"sqlite://{}/e2e.db\"\napi_listen = \"127.0.0.1:0\"\nflush_interval_ms = 200\n",
            dir.path().display()
        ),
        Vec::<(String, String)>::new(),
    )
    .unwrap();
    let topics = config.kafka.topics.clone();
    let broker = EmbeddedBroker::start(&topics.all(), 4).unwrap();
    config.kafka.brokers = broker.bootstrap_servers();
    let brokers = config.kafka.brokers.clone();
    let policy = Policy::load(std::path::Path::new("config/policy.toml")).unwrap();
    let loaded = Loaded { config, policy };

    let opts = SynthOptions {
        seed: 4,
        posts: 8_000,
        posts_per_minute: 150.0,
        start: chrono::Utc.with_ymd_and_hms(2026, 11, 4, 4, 0, 0).unwrap(),
        malformed_rate: 0.01,
        ..SynthOptions::default()
    };
    let key = PseudonymKey::from_secret(b"sink-e2e-key-0123456789abcdefghijklmn", "k1").unwrap();
    let mut msgs: Vec<ScoredMessage> = scored_stream(&opts, key, loaded.policy.hash()).collect();
    let malformed = msgs.iter().filter(|m| m.post.is_none()).count();
    // Messages no analyzer should send: the sink counts and skips them, never crashes.
    for bad in [
        &b"\xff\xfe not even utf-8"[..],
        br#"{"schema":"sarap.post.scored/1"}"#,
        br#"{"schema":"sarap.post.scored/9","region":"abai"}"#,
    ] {
        msgs.push(ScoredMessage {
            key: "abai".into(),
            payload: bad.to_vec(),
            post: None,
        });
    }
    let n = msgs.len() as u64;
    let p = sarap_bus::kafka::producer(&loaded.config.kafka, &brokers).unwrap();
    produce_keyed(&p, &topics.scored, &msgs).await.unwrap();

    let (store, api) = sarap::sink::start_sink_with(&loaded, support::http::test_auth())
        .await
        .unwrap();
    let ready = Readiness::default();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let report = tokio::time::timeout(
        Duration::from_secs(120),
        sarap::sink::run_sink(&loaded, &brokers, store.clone(), &ready, rx, Some(n)),
    )
    .await
    .expect("the sink consumed the stream in time")
    .unwrap();
    assert_eq!(report.consumed, n);
    assert_eq!(report.counters.bad as usize, malformed + 3);
    // Posts of unknown region (none in this stream: the analyzers' input is the synthetic
    // truth) would be aggregated too, for coverage, so they would be among the applied.
    assert_eq!(report.counters.applied + report.counters.bad, n);
    assert!(report.signals_produced > 100, "{report:?}");
    assert!(report.commits >= 1);

    // Signals on the topic: keyed by region, valid against the committed schema, and a
    // suppressed one carries no number.
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string("schemas/sarap.signal.regional.v1.schema.json").unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut reader = Reader::new(&brokers, &[&topics.signals]);
    assert!(
        reader.poll_until(Duration::from_secs(30), |r| r.len() as u64
            >= report.signals_produced)
    );
    let mut suppressed = 0;
    for r in reader.records() {
        let v = r.json();
        assert!(validator.is_valid(&v), "invalid signal {v}");
        let s: RegionalSignal = serde_json::from_value(v).unwrap();
        assert_eq!(r.key.as_deref(), Some(s.region.as_str()));
        if s.suppressed {
            suppressed += 1;
            assert!(s.n_posts.is_none() && s.n_authors.is_none() && s.risk.is_none());
        }
    }
    assert!(suppressed > 0, "small regions are suppressed at some point");

    // The API the role serves.
    let regions = get_ok(api, "/api/regions").await;
    assert_eq!(regions["regions"].as_array().unwrap().len(), 20);
    assert!(regions["regions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["latest"]["n_posts"].as_u64().is_some()));
    let s = get_ok(
        api,
        "/api/signals?region=almaty&from=2026-11-04T00:00:00Z&to=2026-11-05T00:00:00Z&resolution=1h",
    )
    .await;
    assert!(s["count"].as_u64().unwrap() >= 1, "{s}");
    assert!(s["signals"]
        .as_array()
        .unwrap()
        .iter()
        .all(|x| x["region"] == "almaty" && x["resolution"] == "1h"));
    let (status, e) =
        support::http::request(api, "GET", "/api/signals?region=atlantis", None).await;
    assert_eq!(status, 400);
    assert!(e["error"].as_str().unwrap().contains("region"));
    // The same windows as a CSV download; suppressed rows carry no numbers.
    let (status, head, csv) = support::http::raw(
        api,
        Some(support::http::ANALYST),
        "GET",
        "/api/export?region=abai&from=2026-11-04T00:00:00Z&to=2026-11-05T00:00:00Z&format=csv",
        None,
    )
    .await;
    assert_eq!(status, 200, "{csv}");
    assert!(head
        .to_ascii_lowercase()
        .contains("content-disposition: attachment"));
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("region,window_start,window_end,suppressed,n_posts"));
    let abai = get_ok(
        api,
        "/api/signals?region=abai&from=2026-11-04T00:00:00Z&to=2026-11-05T00:00:00Z",
    )
    .await;
    assert_eq!(lines.len() - 1, abai["count"].as_u64().unwrap() as usize);
    for row in &lines[1..] {
        let f: Vec<&str> = row.split(',').collect();
        assert_eq!(f.len(), 15, "{row}");
        if f[3] == "true" {
            assert!(f[4..14].iter().all(|x| x.is_empty()), "{row}");
        }
    }
    assert!(
        lines[1..].iter().any(|r| r.contains(",true,")),
        "abai has suppressed windows"
    );
    // Coverage counts unsuppressed cells' posts per language and region.
    let cov = get_ok(
        api,
        "/api/coverage?from=2026-11-04T00:00:00Z&to=2026-11-05T00:00:00Z",
    )
    .await;
    assert!(cov["total"].as_u64().unwrap() > 1000, "{cov}");
    assert!(cov["suppressed_cells"].as_u64().unwrap() > 0);
    assert!(cov["by_language"]["kk"].as_u64().unwrap() > 0);
    let doc = get_ok(api, "/api/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/alerts/{id}/review"]["post"].is_object());

    // Prometheus: late and bad messages counted, per-region gauges set.
    let metrics = sarap_bus::telemetry::render_metrics();
    for needle in [
        "sarap_sink_bad_messages_total{reason=\"not_json\"}",
        "sarap_sink_bad_messages_total{reason=\"unknown_schema\"}",
        "sarap_sink_late_posts_total",
        "sarap_region_risk{region=\"almaty\"}",
        "sarap_region_alert_level{region=\"almaty\"}",
        "sarap_sink_signals_total{resolution=\"5m\"}",
        "sarap_signals_published_total{region=\"almaty\"}",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in /metrics");
    }
}
