//! The audit log in the store, on SQLite and on a real PostgreSQL server: records stored once
//! however often they are delivered, the chain verified in the store and a changed record
//! found, excerpts deleted at the end of their retention without breaking the chain, stratified
//! samples, verdicts and agreement; and the auditor endpoints with their roles.

#[allow(dead_code)]
mod support;

use sarap_core::audit::Chain;
use sarap_core::contracts::{AuditDecision, ModelRef, SCHEMA_AUDIT};
use sarap_sink::audit_log::{AuditReview, AuditRow, Stratum};
use sarap_sink::Store;
use sha2::{Digest, Sha256};
use std::sync::Arc;
use support::http::{request_as, ANALYST, AUDITOR};
use support::postgres::Postgres;

const LANGS: [&str; 3] = ["kk", "ru", "en"];
const REGIONS: [&str; 4] = ["abai", "almaty", "astana", "shymkent"];

fn record(i: usize, at: chrono::DateTime<chrono::Utc>) -> AuditDecision {
    let hostile = i % 5 == 0;
    let excerpt = format!("redacted excerpt {i}");
    AuditDecision {
        schema: SCHEMA_AUDIT.into(),
        decision_id: format!("d-{i:024x}"),
        chain: String::new(),
        seq: 0,
        prev_hash: String::new(),
        hash: String::new(),
        at,
        post_key: format!("{i:032x}"),
        input_sha256: "00".into(),
        model: ModelRef {
            id: "sarap-analyzer".into(),
            version: "test".into(),
            sha256: "ab".into(),
        },
        policy_hash: "pol-test".into(),
        scores: [("hostility".to_string(), if hostile { 0.9 } else { 0.1 })].into(),
        thresholds: [("hostility".to_string(), 0.72)].into(),
        labels: if hostile {
            vec!["sentiment:neg".into(), "hostile".into()]
        } else {
            vec!["sentiment:neu".into()]
        },
        explanation: serde_json::json!({
            "lang": LANGS[i % 3], "region": REGIONS[i % 4], "groups": [],
        }),
        excerpt_sha256: Some(hex::encode(Sha256::digest(excerpt.as_bytes()))),
        excerpt: Some(excerpt),
    }
}

/// Two chains of 60 records; the first 30 of chain "a" ten days old.
fn log() -> Vec<Vec<u8>> {
    let now = chrono::Utc::now();
    let mut out = Vec::new();
    for (c, offset) in [("a", 0usize), ("b", 60)] {
        let mut chain = Chain::new(c.into());
        for i in 0..60 {
            let at = if c == "a" && i < 30 {
                now - chrono::Duration::days(10)
            } else {
                now
            };
            out.push(serde_json::to_vec(&chain.seal(record(offset + i, at))).unwrap());
        }
    }
    out
}

async fn suite(store: Arc<dyn Store>, label: &str) {
    let a = store.audit();
    let rows: Vec<AuditRow> = log()
        .iter()
        .map(|p| AuditRow::parse(p, 7).unwrap())
        .collect();
    assert_eq!(a.insert_audit(&rows).await.unwrap(), 120, "{label}");
    // Redelivered: stored once.
    assert_eq!(a.insert_audit(&rows[10..40]).await.unwrap(), 0, "{label}");
    let v = a.verify_audit().await.unwrap();
    assert!(v.broken.is_none(), "{label}: {:?}", v.broken);
    assert_eq!(v.report.records, 120);
    assert_eq!(v.report.chains["a"], 60);

    // Retention: the ten-day-old excerpts go (7 days), the chain still verifies.
    let d = a.decision(&format!("d-{:024x}", 3)).await.unwrap().unwrap();
    assert!(d.excerpt.is_some(), "{label}");
    let purged = a
        .purge_excerpts(chrono::Utc::now().timestamp())
        .await
        .unwrap();
    assert_eq!(purged, 30, "{label}");
    let d = a.decision(&format!("d-{:024x}", 3)).await.unwrap().unwrap();
    assert!(d.excerpt.is_none(), "{label}");
    assert!(a
        .decision(&format!("d-{:024x}", 100))
        .await
        .unwrap()
        .unwrap()
        .excerpt
        .is_some());
    assert!(a.verify_audit().await.unwrap().broken.is_none(), "{label}");

    // Equal numbers per stratum, the same sample for the same seed.
    let (strata, s1) = a.sample(9, &[Stratum::Lang], 7).await.unwrap();
    assert_eq!(strata, 3, "{label}");
    for lang in LANGS {
        assert_eq!(s1.iter().filter(|d| d.lang == lang).count(), 3, "{label}");
    }
    let (_, s2) = a.sample(9, &[Stratum::Lang], 7).await.unwrap();
    assert_eq!(s1, s2, "{label}");
    let (strata, _) = a
        .sample(5, &[Stratum::Lang, Stratum::Region], 1)
        .await
        .unwrap();
    assert_eq!(strata, 12, "{label}");

    // Verdicts and agreement per language and label.
    for (i, verdict) in [
        (0usize, "agree"),
        (1, "agree"),
        (5, "disagree"),
        (10, "agree"),
    ] {
        let r = AuditReview {
            decision_id: format!("d-{i:024x}"),
            verdict: verdict.into(),
            note: "checked".into(),
            auditor: "t.auditor".into(),
            at: String::new(),
        };
        assert!(a.review_decision(&r, 1).await.unwrap().is_some());
    }
    let unknown = AuditReview {
        decision_id: "d-nope".into(),
        verdict: "agree".into(),
        note: String::new(),
        auditor: "x".into(),
        at: String::new(),
    };
    assert!(a.review_decision(&unknown, 1).await.unwrap().is_none());
    let (rows_a, all) = a.agreement().await.unwrap();
    assert_eq!((all.reviewed, all.agree), (4, 3), "{label}");
    // Decision 0 (kk, hostile) agreed; decision 5 (en, hostile) disagreed.
    let kk_hostile = rows_a
        .iter()
        .find(|r| r.lang == "kk" && r.label == "hostile")
        .unwrap();
    assert_eq!((kk_hostile.reviewed, kk_hostile.agree), (1, 1));
    let en_hostile = rows_a
        .iter()
        .find(|r| r.lang == "en" && r.label == "hostile")
        .unwrap();
    assert_eq!((en_hostile.reviewed, en_hostile.agree), (1, 0));
    let (total, list) = a
        .decisions(&sarap_sink::audit_log::DecisionQuery {
            lang: Some("kk".into()),
            label: Some("hostile".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(total as usize, list.len());
    assert!(list
        .iter()
        .all(|d| d.lang == "kk" && d.labels.contains(&"hostile".to_string())));
    assert_eq!(total, 8, "{label}");

    // A record changed where it is stored is found: here a tampered copy delivered under a
    // chain of its own.
    let mut v: serde_json::Value = serde_json::from_slice(&log()[61]).unwrap();
    v["chain"] = "c".into();
    v["seq"] = 0.into();
    v["prev_hash"] = sarap_core::audit::GENESIS.into();
    let tampered = AuditRow::parse(v.to_string().as_bytes(), 7).unwrap();
    a.insert_audit(&[tampered]).await.unwrap();
    let v = a.verify_audit().await.unwrap();
    let (b, id) = v.broken.expect("the tampered record is found");
    assert_eq!((b.chain.as_str(), b.seq), ("c", 0), "{label}");
    assert!(b.reason.contains("does not match its hash"), "{b}");
    assert_eq!(id.as_deref(), Some(format!("d-{:024x}", 61).as_str()));

    // The auditor endpoints, by role.
    let cfg =
        sarap_core::config::Config::from_toml_with_env("", Vec::<(String, String)>::new()).unwrap();
    let policy = sarap_core::Policy::load(std::path::Path::new("config/policy.toml")).unwrap();
    let state = sarap_sink::api_state(store.clone(), &cfg, &policy, support::http::test_auth());
    let addr = sarap_sink::api::serve("127.0.0.1:0", state).await.unwrap();
    let (s, _) = request_as(addr, Some(ANALYST), "GET", "/api/audit/verify", None).await;
    assert_eq!(s, 403);
    let (s, v) = request_as(addr, Some(AUDITOR), "GET", "/api/audit/verify", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["ok"], false);
    assert_eq!(v["break"]["chain"], "c");
    let id = format!("d-{:024x}", 100);
    let (s, v) = request_as(
        addr,
        Some(AUDITOR),
        "GET",
        &format!("/api/audit/decisions/{id}"),
        None,
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["hash_ok"], true);
    assert_eq!(v["record"]["excerpt"], "redacted excerpt 100");
    let (s, v) = request_as(
        addr,
        Some(AUDITOR),
        "POST",
        &format!("/api/audit/decisions/{id}/review"),
        Some(r#"{"verdict":"disagree","note":"not hostile: a quotation"}"#),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["auditor"], "t.auditor");
    let (s, _) = request_as(
        addr,
        Some(AUDITOR),
        "POST",
        &format!("/api/audit/decisions/{id}/review"),
        Some(r#"{"verdict":"disagree","note":""}"#),
    )
    .await;
    assert_eq!(s, 422, "a disagreement needs a reason");
    let (s, v) = request_as(
        addr,
        Some(AUDITOR),
        "GET",
        "/api/audit/sample?n=6&by=lang",
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["decisions"].as_array().unwrap().len(), 6);
    let (s, v) = request_as(addr, Some(AUDITOR), "GET", "/api/audit/agreement", None).await;
    assert_eq!(s, 200);
    assert_eq!(v["overall"]["reviewed"], 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_log_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = sarap_sink::open_store(&format!("sqlite://{}/a.db", dir.path().display()))
        .await
        .unwrap();
    suite(store, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_log_on_postgres() {
    let Some(pg) = Postgres::start() else {
        return;
    };
    pg.create_database("audit");
    let store = sarap_sink::open_store(&pg.url("audit")).await.unwrap();
    suite(store, "postgres").await;
}
