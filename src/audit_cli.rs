//! `sarap audit …`: the auditor's workbench on the command line, against the store the sink
//! keeps the audit log in (`sink.store_url` / `SARAP_STORE_URL`, or `--store`), or against a
//! JSONL export of the log (`verify --file`).

use crate::roles::Loaded;
use anyhow::Context;
use sarap_sink::audit_log::{AuditReview, Stratum};
use sarap_sink::Store;
use std::path::Path;
use std::sync::Arc;

async fn open(loaded: &Loaded, store: Option<&str>) -> anyhow::Result<Arc<dyn Store>> {
    let url = store.unwrap_or(&loaded.config.sink.store_url);
    sarap_sink::open_store(url)
        .await
        .with_context(|| format!("opening the audit log's store {url:?}"))
}

/// `verify`: walks every chain; prints the first broken link. Returns whether it verified.
pub async fn verify(
    loaded: &Loaded,
    store: Option<&str>,
    file: Option<&Path>,
) -> anyhow::Result<bool> {
    if let Some(f) = file {
        let text =
            std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
        let lines = text.lines().filter(|l| !l.trim().is_empty());
        return Ok(match sarap_core::audit::verify(lines) {
            Ok(r) => {
                println!(
                    "verified: {} records in {} chains ({} redelivered decisions)",
                    r.records,
                    r.chains.len(),
                    r.repeated_decisions
                );
                true
            }
            Err(b) => {
                println!("BROKEN: {b}");
                false
            }
        });
    }
    let s = open(loaded, store).await?;
    let v = s.audit().verify_audit().await?;
    match &v.broken {
        None => {
            println!(
                "verified: {} records in {} chains ({} redelivered decisions)",
                v.report.records,
                v.report.chains.len(),
                v.report.repeated_decisions
            );
            Ok(true)
        }
        Some((b, id)) => {
            println!(
                "BROKEN: chain {} seq {} (decision {}): {}",
                b.chain,
                b.seq,
                id.as_deref().unwrap_or("?"),
                b.reason
            );
            Ok(false)
        }
    }
}

/// `show ID`: the decision with its cards, scores, thresholds, labels, explanation, verdicts.
pub async fn show(loaded: &Loaded, store: Option<&str>, id: &str) -> anyhow::Result<bool> {
    let s = open(loaded, store).await?;
    let Some(d) = s.audit().decision(id).await? else {
        eprintln!("no decision {id:?}");
        return Ok(false);
    };
    let mut v = sarap_sink::web::decision_json(
        &d,
        loaded.policy.retention.audit_excerpt_days,
        chrono::Utc::now().timestamp(),
    );
    let a = &loaded.config.analyze;
    let card = |p: std::path::PathBuf| {
        std::fs::read_to_string(p)
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .unwrap_or(serde_json::Value::Null)
    };
    v["cards"] = serde_json::json!({
        "encoder": card(a.models_dir.join("e5-small/card.json")),
        "sentiment": card(a.heads_dir.join("sentiment.card.json")),
        "hostility": card(a.heads_dir.join("hostility.card.json")),
        "claims": card(a.heads_dir.join("claims.card.json")),
    });
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(true)
}

/// `sample --n N --by lang,region`: a stratified sample, one JSON line per decision.
pub async fn sample(
    loaded: &Loaded,
    store: Option<&str>,
    n: usize,
    by: &str,
    seed: u64,
) -> anyhow::Result<()> {
    let by: Vec<Stratum> = by
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect::<Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("--by: {e}"))?;
    let s = open(loaded, store).await?;
    let (strata, list) = s.audit().sample(n, &by, seed).await?;
    eprintln!(
        "{} decisions from {strata} strata (seed {seed})",
        list.len()
    );
    for d in list {
        println!("{}", serde_json::to_string(&d)?);
    }
    Ok(())
}

/// `review ID --verdict agree|disagree --note …`: records the auditor's verdict.
pub async fn review(
    loaded: &Loaded,
    store: Option<&str>,
    id: &str,
    verdict: &str,
    note: &str,
    auditor: &str,
) -> anyhow::Result<bool> {
    anyhow::ensure!(
        ["agree", "disagree"].contains(&verdict),
        "--verdict: agree or disagree"
    );
    anyhow::ensure!(
        verdict == "agree" || note.trim().chars().count() >= 3,
        "--note: say why you disagree (at least 3 characters)"
    );
    anyhow::ensure!(
        !auditor.trim().is_empty(),
        "--auditor: who reviews (or set SARAP_AUDITOR)"
    );
    let s = open(loaded, store).await?;
    let r = AuditReview {
        decision_id: id.to_string(),
        verdict: verdict.to_string(),
        note: note.trim().to_string(),
        auditor: auditor.trim().to_string(),
        at: String::new(),
    };
    match s
        .audit()
        .review_decision(&r, chrono::Utc::now().timestamp())
        .await?
    {
        Some(r) => {
            println!("{}", serde_json::to_string(&r)?);
            Ok(true)
        }
        None => {
            eprintln!("no decision {id:?}");
            Ok(false)
        }
    }
}

/// `agreement`: model–auditor agreement per language and label, as a table.
pub async fn agreement(loaded: &Loaded, store: Option<&str>) -> anyhow::Result<()> {
    let s = open(loaded, store).await?;
    let (rows, all) = s.audit().agreement().await?;
    println!(
        "{:<6} {:<16} {:>8} {:>6} {:>9}",
        "lang", "label", "reviewed", "agree", "agreement"
    );
    for r in rows.iter().chain(std::iter::once(&all)) {
        println!(
            "{:<6} {:<16} {:>8} {:>6} {:>9.3}",
            r.lang, r.label, r.reviewed, r.agree, r.agreement
        );
    }
    Ok(())
}
