//! The sink's second consumer: `audit.decisions` → the audit log in the store.
//!
//! At least once with an idempotent insert (rows keyed by chain and seq), so each record is
//! stored once: offsets are committed only after the transaction that stored their records.
//! Each record is checked as it arrives (its hash, and its link to the chain's previous record
//! when that one came through this process): a break counts in `sarap_audit_chain_breaks_total`,
//! which pages the auditors; `sarap audit verify` walks the whole stored log.

use crate::audit_log::AuditRow;
use crate::store::Store;
use prometheus::{register_int_counter, register_int_counter_vec, IntCounter, IntCounterVec};
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, TopicPartitionList};
use sarap_core::audit::record_hash_json;
use sarap_core::config::Config;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;

static STORED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "sarap_audit_records_stored_total",
        "Audit records stored in the audit log (redeliveries not counted)"
    )
    .expect("metric registers")
});
static BAD: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sarap_audit_records_bad_total",
        "Messages on the audit topic that are not audit records, by reason",
        &["reason"]
    )
    .expect("metric registers")
});
/// Records whose hash or link is wrong as they arrive.
pub static CHAIN_BREAKS: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "sarap_audit_chain_breaks_total",
        "Audit records whose hash does not match their content or whose prev_hash does not link to the chain's previous record"
    )
    .expect("metric registers")
});
static PURGED: LazyLock<IntCounter> = LazyLock::new(|| {
    register_int_counter!(
        "sarap_audit_excerpts_purged_total",
        "Audit excerpts deleted because retention.audit_excerpt_days ended"
    )
    .expect("metric registers")
});

/// Checks records as they arrive; remembers each chain's last link (one entry per analyzer
/// process, so memory follows the number of chains, not of records).
#[derive(Default)]
pub struct LiveCheck {
    last: HashMap<String, (i64, String)>,
}

impl LiveCheck {
    /// Checks one record; returns why it breaks the chain, if it does.
    pub fn check(&mut self, record: &str, chain: &str, seq: i64) -> Option<String> {
        let v: serde_json::Value = serde_json::from_str(record).ok()?;
        let recorded = v["hash"].as_str().unwrap_or_default().to_string();
        let actual = match record_hash_json(record) {
            Ok(h) => h,
            Err(e) => return Some(e),
        };
        if actual != recorded {
            return Some("content does not match its hash".into());
        }
        let prev = v["prev_hash"].as_str().unwrap_or_default();
        let broken = match self.last.get(chain) {
            Some((s, h)) if *s + 1 == seq && h != prev => {
                Some(format!("prev_hash does not link to seq {s}"))
            }
            Some((s, h)) if *s == seq && *h != actual => {
                Some("two different records with the same sequence number".into())
            }
            _ => None,
        };
        if self.last.get(chain).is_none_or(|(s, _)| seq > *s) {
            self.last.insert(chain.to_string(), (seq, actual));
        }
        broken
    }
}

/// Runs the audit consumer until `shutdown`.
pub async fn run(
    cfg: &Config,
    excerpt_days: u32,
    brokers: &str,
    store: Arc<dyn Store>,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<u64> {
    let kafka = &cfg.kafka;
    let group = format!("{}-audit", kafka.group_prefix);
    let mut c: ClientConfig = sarap_bus::kafka::base_config(kafka, brokers);
    c.set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", kafka.session_timeout_ms.to_string())
        .set(
            "heartbeat.interval.ms",
            (kafka.session_timeout_ms / 3).max(100).to_string(),
        )
        .set("enable.partition.eof", "false");
    for (k, v) in &kafka.client {
        c.set(k, v);
    }
    let consumer: StreamConsumer = c.create()?;
    consumer.subscribe(&[kafka.topics.audit.as_str()])?;
    LazyLock::force(&CHAIN_BREAKS);
    tracing::info!(topic = %kafka.topics.audit, group = %group, "audit log consumer started");
    let mut live = LiveCheck::default();
    let mut stored = 0u64;
    let mut last_purge = Instant::now() - Duration::from_secs(3600);
    loop {
        if *shutdown.borrow() {
            break;
        }
        if last_purge.elapsed() >= Duration::from_secs(60) {
            last_purge = Instant::now();
            match store
                .audit()
                .purge_excerpts(chrono::Utc::now().timestamp())
                .await
            {
                Ok(n) if n > 0 => {
                    PURGED.inc_by(n);
                    tracing::info!(excerpts = n, "audit excerpts past retention deleted");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "purging audit excerpts failed"),
            }
        }
        // A batch: up to 500 records or 200 ms after the first.
        let mut rows: Vec<AuditRow> = Vec::new();
        let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
        let deadline = tokio::time::sleep(Duration::from_millis(200));
        tokio::pin!(deadline);
        while rows.len() < 500 {
            tokio::select! {
                _ = &mut deadline => break,
                _ = shutdown.changed() => break,
                m = consumer.recv() => {
                    let m = match m {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::warn!(error = %e, "audit consumer error");
                            break;
                        }
                    };
                    next.insert((m.topic().to_string(), m.partition()), m.offset() + 1);
                    match AuditRow::parse(m.payload().unwrap_or_default(), excerpt_days) {
                        Ok(r) => {
                            if let Some(why) = live.check(&r.record, &r.chain, r.seq) {
                                CHAIN_BREAKS.inc();
                                tracing::error!(chain = %r.chain, seq = r.seq, reason = %why, "audit chain break on arrival");
                            }
                            rows.push(r);
                        }
                        Err(reason) => {
                            BAD.with_label_values(&[reason.split(':').next().unwrap_or("bad")]).inc();
                            tracing::warn!(partition = m.partition(), offset = m.offset(), %reason, "not an audit record; skipped");
                        }
                    }
                }
            }
        }
        if next.is_empty() {
            continue;
        }
        // Stored first, then committed: a crash in between redelivers, and the insert ignores
        // what is already there.
        loop {
            match store.audit().insert_audit(&rows).await {
                Ok(n) => {
                    STORED.inc_by(n);
                    stored += n;
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "storing audit records failed; retrying");
                    if *shutdown.borrow() {
                        return Ok(stored);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        let mut tpl = TopicPartitionList::new();
        for ((topic, p), off) in &next {
            tpl.add_partition_offset(topic, *p, rdkafka::Offset::Offset(*off))?;
        }
        if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
            tracing::warn!(error = %e, "committing audit offsets failed; the records will be redelivered and ignored");
        }
    }
    tracing::info!(stored, "audit log consumer stopped");
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sarap_core::audit::Chain;
    use sarap_core::contracts::{AuditDecision, ModelRef, SCHEMA_AUDIT};

    fn rec(i: u32) -> AuditDecision {
        AuditDecision {
            schema: SCHEMA_AUDIT.into(),
            decision_id: format!("d-{i}"),
            chain: String::new(),
            seq: 0,
            prev_hash: String::new(),
            hash: String::new(),
            at: chrono::Utc::now(),
            post_key: "k".into(),
            input_sha256: "00".into(),
            model: ModelRef {
                id: "m".into(),
                version: "1".into(),
                sha256: "ab".into(),
            },
            policy_hash: "p".into(),
            scores: Default::default(),
            thresholds: Default::default(),
            labels: vec![],
            explanation: serde_json::json!({}),
            excerpt: None,
            excerpt_sha256: None,
        }
    }

    #[test]
    fn live_check_flags_a_changed_record_and_a_relinked_one() {
        let mut c = Chain::new("c".into());
        let log: Vec<String> = (0..4)
            .map(|i| serde_json::to_string(&c.seal(rec(i))).unwrap())
            .collect();
        let mut live = LiveCheck::default();
        for (i, r) in log.iter().enumerate() {
            assert_eq!(live.check(r, "c", i as i64), None);
        }
        // A redelivery is fine.
        assert_eq!(live.check(&log[3], "c", 3), None);
        let tampered = log[2].replace("\"d-2\"", "\"d-9\"");
        assert!(LiveCheck::default().check(&tampered, "c", 2).is_some());
        // Another chain's record at seq 1 does not link to this chain's seq 0.
        let mut other = Chain::new("c".into());
        let o: Vec<String> = (10..12)
            .map(|i| serde_json::to_string(&other.seal(rec(i))).unwrap())
            .collect();
        let mut live = LiveCheck::default();
        assert_eq!(live.check(&log[0], "c", 0), None);
        assert!(live.check(&o[1], "c", 1).unwrap().contains("prev_hash"));
    }
}
