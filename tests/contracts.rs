//! Contract tests: the committed JSON Schemas in `schemas/` match the typed structs, and good
//! and bad examples of every topic are judged the same way by both.
//!
//! Regenerate after a deliberate contract change: `SARAP_WRITE_SCHEMAS=1 cargo test --test contracts`.

use sarap_core::contracts::json_schemas;
use serde_json::{json, Value};
use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema_path(id: &str) -> PathBuf {
    root()
        .join("schemas")
        .join(format!("{}.schema.json", id.replace('/', ".v")))
}

fn example_path(topic: &str) -> PathBuf {
    root()
        .join("schemas/examples")
        .join(format!("{topic}.json"))
}

/// A valid message of every topic, as a producer would write it.
fn good_examples() -> Vec<(&'static str, Value)> {
    let t = "2026-11-01T08:30:00Z";
    vec![
        (
            "posts.raw",
            json!({
                "schema": "sarap.post.raw/1", "id": "1873249", "platform": "telegram",
                "author": {"id": "501927", "handle": "aigerim_k", "followers": 340, "kind": "person", "location": "Семей"},
                "text": "Семейде бүгін жол жабық, кептеліс 🚗", "created_at": "2026-11-01T14:30:00+06:00",
                "lang": "kk", "geo": {"place": "Семей"}, "url": "https://t.me/c/1/1873249",
                "metrics": {"likes": 12, "shares": 1, "views": 430}
            }),
        ),
        (
            "posts.clean",
            json!({
                "schema": "sarap.post.clean/1", "post_key": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "platform": "telegram",
                "author_pid": "a3f1c2d4e5b6a7980f1e2d3c4b5a6978", "author_key_id": "k-1a2b3c4d", "author_kind": "person",
                "text": "Семейде бүгін жол жабық, кептеліс 🚗", "lang": "kk", "script": "Cyrl", "lang_confidence": 0.97,
                "code_switched": false, "region": "abai", "region_source": "place", "created_at": t,
                "ingested_at": "2026-11-01T08:30:02Z", "dup_cluster": "c-0f1e2d3c4b5a", "dup_seen": 1,
                "metrics": {"likes": 12, "shares": 1, "views": 430},
                "redactions": {"iin": 0, "phone": 0, "email": 0, "card": 0, "mention": 0},
                "source": {"topic": "posts.raw", "partition": 3, "offset": 1207},
                "policy_hash": "pol-00112233445566778899aabbccddeeff"
            }),
        ),
        (
            "posts.rejected",
            json!({
                "schema": "sarap.post.rejected/1", "reason": "missing_field", "field": "created_at",
                "detail": "created_at is required", "post_key": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                "payload_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "payload_bytes": 211,
                "source": {"topic": "posts.raw", "partition": 0, "offset": 17}, "rejected_at": t,
                "policy_hash": "pol-00112233445566778899aabbccddeeff"
            }),
        ),
        (
            "posts.scored",
            json!({
                "schema": "sarap.post.scored/1", "post_key": "0f1e2d3c4b5a69788796a5b4c3d2e1f0", "region": "abai",
                "lang": "kk", "created_at": t, "sentiment": {"neg": 0.7, "neu": 0.2, "pos": 0.1}, "hostility": 0.04,
                "targets": [], "relevance": 0.3, "author_pid": "a3f1c2d4e5b6a7980f1e2d3c4b5a6978",
                "author_key_id": "k-1a2b3c4d", "model_version": "e5s-int8+heads-2026.11",
                "policy_hash": "pol-00112233445566778899aabbccddeeff", "decision_id": "d-0001"
            }),
        ),
        (
            "audit.decisions",
            json!({
                "schema": "sarap.audit.decision/1", "decision_id": "d-0001", "chain": "an-host-1", "seq": 1,
                "prev_hash": "0000000000000000000000000000000000000000000000000000000000000000",
                "hash": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", "at": t,
                "post_key": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                "input_sha256": "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae",
                "model": {"id": "multilingual-e5-small-int8", "version": "1", "sha256": "00"},
                "policy_hash": "pol-00112233445566778899aabbccddeeff",
                "scores": {"hostility": 0.04, "neg": 0.7}, "thresholds": {"hostility": 0.5},
                "labels": ["negative"], "explanation": {"groups": [], "lang": "kk", "region_source": "place"}
            }),
        ),
        (
            "signals.regional",
            json!({
                "schema": "sarap.signal.regional/1", "region": "abai",
                "window": {"start": "2026-11-01T08:30:00Z", "end": "2026-11-01T08:35:00Z"},
                "suppressed": true, "alert": "none", "policy_hash": "pol-00112233445566778899aabbccddeeff"
            }),
        ),
        (
            "factcheck.requests",
            json!({
                "schema": "sarap.factcheck.request/1", "post_key": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                "dup_cluster": "c-0f1e2d3c4b5a", "region": "mangystau", "lang": "ru",
                "text": "Говорят, с декабря бензин подорожает вдвое", "cluster_posts": 37,
                "requested_at": t, "policy_hash": "pol-00112233445566778899aabbccddeeff"
            }),
        ),
    ]
}

/// Mutations of a good message, each with whether it must be invalid. Field removals are
/// only checked for agreement: which fields are optional is the contract's own decision.
fn variants(topic: &str, good: &Value) -> Vec<(String, Value, bool)> {
    let mut out = Vec::new();
    let mut wrong_schema = good.clone();
    wrong_schema["schema"] = json!("sarap.other/1");
    out.push(("wrong schema id".into(), wrong_schema, true));
    for (k, v) in good.as_object().unwrap() {
        if k == "schema" {
            continue;
        }
        let mut m = good.clone();
        m.as_object_mut().unwrap().remove(k);
        out.push((format!("without {k}"), m, false));
        if k == "explanation" {
            continue; // free-form JSON by design
        }
        let mut m = good.clone();
        m[k] = match v {
            Value::String(_) => json!(12345),
            _ => json!("not-this-type"),
        };
        out.push((format!("{k} of the wrong type"), m, true));
    }
    if topic != "posts.raw" {
        let mut m = good.clone();
        m["author_id"] = json!("501927");
        out.push(("an unknown field (e.g. a raw author id)".into(), m, true));
    }
    out
}

fn serde_accepts(topic: &str, v: &Value) -> Result<(), String> {
    use sarap_core::*;
    fn check<T: serde::de::DeserializeOwned>(v: &Value, id: &str) -> Result<(), String> {
        serde_json::from_value::<T>(v.clone()).map_err(|e| e.to_string())?;
        // The typed structs carry `schema` as a string; the id itself is checked by the stages.
        (v["schema"] == id)
            .then_some(())
            .ok_or_else(|| "wrong schema id".to_string())
    }
    match topic {
        "posts.raw" => check::<RawPost>(v, SCHEMA_RAW),
        "posts.clean" => check::<CleanPost>(v, SCHEMA_CLEAN),
        "posts.rejected" => check::<RejectedPost>(v, SCHEMA_REJECTED),
        "posts.scored" => check::<ScoredPost>(v, SCHEMA_SCORED),
        "audit.decisions" => check::<AuditDecision>(v, SCHEMA_AUDIT),
        "signals.regional" => check::<RegionalSignal>(v, SCHEMA_SIGNAL),
        "factcheck.requests" => check::<FactcheckRequest>(v, SCHEMA_FACTCHECK),
        _ => unreachable!("{topic}"),
    }
}

#[test]
fn committed_schemas_match_the_typed_contracts() {
    let write = std::env::var_os("SARAP_WRITE_SCHEMAS").is_some();
    for (topic, id, schema) in json_schemas() {
        let path = schema_path(id);
        let text = serde_json::to_string_pretty(&schema).unwrap() + "\n";
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let committed = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e} (run with SARAP_WRITE_SCHEMAS=1)", path.display()));
        assert_eq!(
            committed, text,
            "{topic}: schemas/ is stale; regenerate with SARAP_WRITE_SCHEMAS=1"
        );
    }
    for (topic, good) in good_examples() {
        let path = example_path(topic);
        let text = serde_json::to_string_pretty(&good).unwrap() + "\n";
        if write {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            text,
            "{topic} example is stale"
        );
    }
}

#[test]
fn good_and_bad_examples_are_judged_alike_by_schema_and_structs() {
    let schemas: std::collections::HashMap<_, _> =
        json_schemas().into_iter().map(|(t, _, s)| (t, s)).collect();
    let mut bad_checked = 0;
    for (topic, good) in good_examples() {
        let validator = jsonschema::validator_for(&schemas[topic]).unwrap();
        if let Err(e) = validator.validate(&good) {
            panic!("{topic}: good example rejected by the schema: {e}");
        }
        serde_accepts(topic, &good)
            .unwrap_or_else(|e| panic!("{topic}: good example rejected by serde: {e}"));
        for (what, m, must_fail) in variants(topic, &good) {
            let by_schema = validator.is_valid(&m);
            let by_serde = serde_accepts(topic, &m).is_ok();
            assert_eq!(
                by_schema, by_serde,
                "{topic} {what}: schema says {by_schema}, struct says {by_serde}"
            );
            if must_fail {
                assert!(!by_schema, "{topic} {what}: accepted");
            }
            bad_checked += usize::from(!by_schema);
        }
    }
    assert!(bad_checked > 100, "only {bad_checked} bad variants checked");
}

#[test]
fn raw_posts_tolerate_connector_extras_but_strict_topics_do_not() {
    let schemas: std::collections::HashMap<_, _> =
        json_schemas().into_iter().map(|(t, _, s)| (t, s)).collect();
    let mut raw = good_examples()[0].1.clone();
    raw["connector"] = json!({"batch": 7});
    assert!(jsonschema::validator_for(&schemas["posts.raw"])
        .unwrap()
        .is_valid(&raw));
    assert!(serde_accepts("posts.raw", &raw).is_ok());
}

#[test]
fn region_source_names_are_the_wire_names() {
    // Metric labels use `as_str`; the wire uses serde. They must never drift apart.
    for s in sarap_core::RegionSource::ALL {
        assert_eq!(serde_json::to_value(s).unwrap(), json!(s.as_str()));
    }
}
