//! The analyze role end to end on the embedded broker with the real model: every clean post
//! gets exactly one scored post and one audit record, the audit chain verifies (and a
//! tampered copy does not), scored posts carry no text, a spreading check-worthy post with
//! no claim match becomes a fact-check request, and a broken clean message is rejected with a
//! reason instead of stopping the role.

#[allow(dead_code)]
mod support;

use sarap_analyzers::audit::verify;
use sarap_bus::kafka::{producer, EmbeddedBroker};
use sarap_bus::telemetry::Readiness;
use sarap_core::contracts::{AuditDecision, FactcheckRequest, Lang, ScoredPost};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use support::clean::{clean_post, corpus_texts};
use support::kafka::Reader;

const TOPICS: [&str; 7] = [
    "posts.raw",
    "posts.clean",
    "posts.rejected",
    "posts.scored",
    "audit.decisions",
    "signals.regional",
    "factcheck.requests",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_clean_post_is_scored_and_audited_once() {
    let broker = EmbeddedBroker::start(&TOPICS, 3).unwrap();
    let brokers = broker.bootstrap_servers();
    let loaded = sarap::roles::load(
        Some(std::path::Path::new("config/sarap.toml")),
        Some(&brokers),
    )
    .unwrap();

    let mut payloads: Vec<(String, Vec<u8>)> = Vec::new();
    let texts = corpus_texts(150);
    for (i, (t, l)) in texts.iter().enumerate() {
        let p = clean_post(i, t, *l, None);
        payloads.push((p.post_key.clone(), serde_json::to_vec(&p).unwrap()));
    }
    // A campaign: the same unverified, check-worthy text from six accounts.
    let rumour =
        "Срочно! С понедельника закрывают все рынки в Шымкенте на 3 месяца, указ уже подписан";
    for k in 0..6u32 {
        let p = clean_post(
            1000 + k as usize,
            rumour,
            Lang::Ru,
            Some(("nd-rumour", k + 1)),
        );
        payloads.push((p.post_key.clone(), serde_json::to_vec(&p).unwrap()));
    }
    let keys: HashSet<String> = payloads.iter().map(|(k, _)| k.clone()).collect();
    let n = payloads.len();
    let prod = producer(&loaded.config.kafka, &brokers).unwrap();
    for (k, p) in &payloads {
        prod.send(
            rdkafka::producer::FutureRecord::to("posts.clean")
                .key(k)
                .payload(p),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    }
    prod.send(
        rdkafka::producer::FutureRecord::<str, [u8]>::to("posts.clean").payload(b"{not json"),
        Duration::from_secs(5),
    )
    .await
    .unwrap();

    let (models, registry) = sarap::analyze::load_models(&loaded).await.unwrap();
    let ready = Readiness::default();
    let report = sarap::analyze::run_analyze(
        &loaded,
        &brokers,
        &ready,
        tokio::sync::watch::channel(false).1,
        Some(n as u64 + 1),
        models,
        registry,
    )
    .await
    .unwrap();
    assert_eq!(report.consumed, n as u64 + 1);

    let mut reader = Reader::new(
        &brokers,
        &[
            "posts.scored",
            "audit.decisions",
            "posts.rejected",
            "factcheck.requests",
        ],
    );
    let count = |r: &[support::kafka::Record], t: &str| r.iter().filter(|m| m.topic == t).count();
    reader.poll_until(Duration::from_secs(30), |r| {
        count(r, "posts.scored") >= n
            && count(r, "audit.decisions") >= n
            && count(r, "posts.rejected") >= 1
    });
    reader.poll_until(Duration::from_secs(1), |_| false);
    let recs = reader.records();

    let scored: Vec<ScoredPost> = recs
        .iter()
        .filter(|r| r.topic == "posts.scored")
        .map(|r| serde_json::from_slice(&r.payload).expect("scored posts honour the contract"))
        .collect();
    let audit_json: Vec<String> = recs
        .iter()
        .filter(|r| r.topic == "audit.decisions")
        .map(|r| String::from_utf8(r.payload.clone()).unwrap())
        .collect();
    assert_eq!(scored.len(), n, "one scored post per clean post");
    assert_eq!(audit_json.len(), n, "one audit record per decision");
    let scored_keys: HashSet<String> = scored.iter().map(|s| s.post_key.clone()).collect();
    assert_eq!(scored_keys, keys);
    for r in recs.iter().filter(|r| r.topic == "posts.scored") {
        let v = r.json();
        assert!(v.get("text").is_none(), "scored posts carry no text");
        assert!(v.get("author").is_none());
        assert_eq!(
            r.key.as_deref(),
            Some(v["region"].as_str().unwrap()),
            "keyed by region"
        );
    }
    // The chain verifies, and every scored post points at its audit record.
    let rep = verify(audit_json.iter().map(|s| s.as_str())).expect("audit chain verifies");
    assert_eq!(rep.chains.len(), 1);
    assert_eq!(rep.repeated_decisions, 0);
    let audits: Vec<AuditDecision> = audit_json
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    let by_decision: HashMap<&str, &AuditDecision> =
        audits.iter().map(|a| (a.decision_id.as_str(), a)).collect();
    for s in &scored {
        let a = by_decision[s.decision_id.as_str()];
        assert_eq!(a.post_key, s.post_key);
        assert_eq!(a.policy_hash, loaded.policy.hash());
        assert_eq!(a.scores["hostility"], s.hostility);
        assert!(a.model.sha256.len() == 64 && a.explanation["lang"].is_string());
        assert!(a.excerpt.as_ref().is_none_or(|e| e.chars().count() <= 280));
    }
    // Some corpus posts are hostile and mention groups: the lexicon and heads must see that.
    assert!(scored
        .iter()
        .any(|s| s.hostility >= 0.5 && !s.targets.is_empty()));
    assert!(scored.iter().any(|s| s.hostility < 0.5));
    // Tampering with one stored record is detected.
    let mut tampered = audit_json.clone();
    let i = tampered.len() / 2;
    tampered[i] = tampered[i].replacen("\"labels\":[", "\"labels\":[\"hostile\",", 1);
    let brk = verify(tampered.iter().map(|s| s.as_str())).unwrap_err();
    assert!(brk.reason.contains("does not match its hash"), "{brk}");
    // The independent Python verifier of docs/AUDIT.md agrees on both logs.
    let dir = tempfile::tempdir().unwrap();
    for (name, log, ok) in [("good", &audit_json, true), ("bad", &tampered, false)] {
        let path = dir.path().join(format!("{name}.jsonl"));
        std::fs::write(&path, log.join("\n") + "\n").unwrap();
        let out = std::process::Command::new("python3")
            .args(["scripts/verify-audit.py", path.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(
            out.status.success(),
            ok,
            "{name}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    let rejected: Vec<serde_json::Value> = recs
        .iter()
        .filter(|r| r.topic == "posts.rejected")
        .map(|r| r.json())
        .collect();
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["reason"], "not_json");
    assert!(rejected[0]["detail"]
        .as_str()
        .unwrap()
        .starts_with("analyze:"));

    let requests: Vec<FactcheckRequest> = recs
        .iter()
        .filter(|r| r.topic == "factcheck.requests")
        .map(|r| serde_json::from_slice(&r.payload).unwrap())
        .collect();
    let rumour_requests: Vec<_> = requests
        .iter()
        .filter(|r| r.dup_cluster.as_deref() == Some("nd-rumour"))
        .collect();
    assert_eq!(
        rumour_requests.len(),
        1,
        "one request per spreading cluster: {requests:?}"
    );
    assert!(rumour_requests[0].cluster_posts >= loaded.config.analyze.factcheck_min_cluster);
    drop(broker);
}
