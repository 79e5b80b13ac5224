//! The ingest role end to end on the embedded Kafka-protocol broker: every raw message ends
//! up in `posts.clean` or `posts.rejected` exactly once, outputs honour their contracts, and
//! nothing that identifies a person (raw author ids, handles, planted personal data) leaks.

#[allow(dead_code)]
mod support;

use sarap::synth::{generate, SynthLine, SynthOptions};
use sarap_bus::kafka::{producer, EmbeddedBroker};
use sarap_bus::telemetry::Readiness;
use sarap_core::pseudonym::PseudonymKey;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const TOPICS: [&str; 3] = ["posts.raw", "posts.clean", "posts.rejected"];

fn key() -> PseudonymKey {
    PseudonymKey::from_secret(b"integration-test-key-0123456789abcdef", "test").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_raw_message_is_accounted_for_and_nothing_personal_leaks() {
    let broker = EmbeddedBroker::start(&TOPICS, 3).unwrap();
    let brokers = broker.bootstrap_servers();
    let loaded = sarap::roles::load(
        Some(std::path::Path::new("config/sarap.toml")),
        Some(&brokers),
    )
    .unwrap();

    let opts = SynthOptions {
        seed: 11,
        posts: 2500,
        malformed_rate: 0.04,
        duplicate_rate: 0.03,
        start: chrono::Utc::now() - chrono::Duration::hours(12),
        ..SynthOptions::default()
    };
    let lines: Vec<SynthLine> = generate(&opts).collect();
    let n = lines.len();
    let mut secrets: HashSet<String> = HashSet::new();
    let mut malformed_kinds: HashMap<&str, usize> = HashMap::new();
    for l in &lines {
        match l {
            SynthLine::Post(p) => {
                secrets.insert(format!("\"{}\"", p.author.id));
                if let Some(h) = &p.author.handle {
                    secrets.insert(h.clone());
                }
            }
            SynthLine::Malformed { kind, .. } => *malformed_kinds.entry(kind).or_default() += 1,
        }
    }
    assert!(
        malformed_kinds.len() >= 6,
        "synth made too few malformed kinds: {malformed_kinds:?}"
    );
    let payloads: Vec<Vec<u8>> = lines.iter().map(SynthLine::to_bytes).collect();
    let p = producer(&loaded.config.kafka, &brokers).unwrap();
    let ro = sarap::replay::ReplayOptions {
        topic: TOPICS[0].into(),
        rate: None,
        progress: false,
    };
    assert_eq!(
        sarap::replay::replay(&p, payloads, None, &ro, None)
            .await
            .unwrap(),
        n as u64
    );

    let (_tx, rx) = tokio::sync::watch::channel(false);
    let report = sarap::roles::run_ingest(
        &loaded,
        &brokers,
        &Readiness::default(),
        rx,
        Some(n as u64),
        key(),
    )
    .await
    .unwrap();
    assert_eq!(report.consumed, n as u64);
    assert_eq!(report.produced, n as u64, "one output per input");

    let records = tokio::task::spawn_blocking(move || {
        support::kafka::read_all(&brokers, &TOPICS[1..], n, Duration::from_secs(30))
    })
    .await
    .unwrap();
    assert_eq!(records.len(), n);

    let schemas: HashMap<_, _> = sarap_core::contracts::json_schemas()
        .into_iter()
        .map(|(t, _, s)| (t, s))
        .collect();
    let clean_v = jsonschema::validator_for(&schemas["posts.clean"]).unwrap();
    let rej_v = jsonschema::validator_for(&schemas["posts.rejected"]).unwrap();
    let policy_hash = loaded.policy.hash();
    let mut sources = HashSet::new();
    let mut reasons: HashMap<String, usize> = HashMap::new();
    let mut langs: HashMap<String, usize> = HashMap::new();
    let mut unknown_region = 0;
    let mut redacted = 0u64;
    let email = regex::Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}").unwrap();
    let phone =
        regex::Regex::new(r"(\+7|\b8)[\s(-]*7\d\d[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}").unwrap();
    let mention = regex::Regex::new(r"(^|\s)@\w{3,}").unwrap();
    for r in &records {
        let j = &r.json();
        assert_eq!(j["policy_hash"], policy_hash.as_str());
        let src = (
            j["source"]["partition"].as_i64().unwrap(),
            j["source"]["offset"].as_i64().unwrap(),
        );
        assert!(
            sources.insert(src),
            "raw message {src:?} produced two outputs"
        );
        let text = j.to_string();
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{} leaks an author identifier {s}",
                r.topic
            );
        }
        if r.topic == "posts.clean" {
            if let Err(e) = clean_v.validate(j) {
                panic!("clean post breaks its schema: {e}");
            }
            assert_eq!(
                r.key.as_deref(),
                j["region"].as_str(),
                "clean posts are keyed by region"
            );
            *langs
                .entry(j["lang"].as_str().unwrap().to_string())
                .or_default() += 1;
            unknown_region += usize::from(j["region"] == "unknown");
            let t = j["text"].as_str().unwrap();
            assert!(
                !email.is_match(t) && !phone.is_match(t) && !mention.is_match(t),
                "personal data left in: {t}"
            );
            redacted += j["redactions"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum::<u64>();
        } else {
            if let Err(e) = rej_v.validate(j) {
                panic!("rejection breaks its schema: {e}");
            }
            *reasons
                .entry(j["reason"].as_str().unwrap().to_string())
                .or_default() += 1;
            if j["reason"] == "duplicate" {
                assert!(j["duplicate_of"].is_string());
            }
        }
    }
    assert_eq!(sources.len(), n);
    for reason in [
        "not_json",
        "invalid_utf8",
        "missing_field",
        "bad_timestamp",
        "unknown_schema",
        "text_too_long",
        "empty_text",
        "duplicate",
    ] {
        assert!(
            reasons.contains_key(reason),
            "no {reason} rejection among {reasons:?}"
        );
    }
    for lang in ["kk", "ru", "en"] {
        assert!(
            langs.get(lang).copied().unwrap_or(0) > 50,
            "too few {lang}: {langs:?}"
        );
    }
    assert!(
        redacted > 20,
        "synth plants personal data in ~3% of posts; only {redacted} redacted"
    );
    let clean: usize = langs.values().sum();
    assert!(
        unknown_region * 3 < clean,
        "{unknown_region} of {clean} posts without region"
    );
}
