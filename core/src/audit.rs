//! The hash-chained audit log.
//!
//! Each analyzer process writes its own chain (`chain` id), so two writers never race for
//! one chain's next link. A record's `hash` is the SHA-256 of its canonical JSON with `hash`
//! set to the empty string and the `excerpt` field left out; canonical JSON is the record
//! parsed into a generic JSON value (keys sorted) and printed without whitespace. A verifier
//! recomputes it from the bytes it received, so it needs no Sarap types: `docs/AUDIT.md` shows
//! it in a few lines of Python.
//!
//! The excerpt is outside the hash because the retention policy deletes it after
//! `retention.audit_excerpt_days`, and deleting it must not break the chain; its SHA-256
//! (`excerpt_sha256`) is inside, so a kept excerpt can still be checked.

use crate::contracts::AuditDecision;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// `prev_hash` of a chain's first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Canonical hash of a record given as JSON text (its own `hash` and `excerpt` are ignored).
pub fn record_hash_json(json: &str) -> Result<String, String> {
    let mut v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let obj = v
        .as_object_mut()
        .ok_or("an audit record is a JSON object")?;
    obj.insert("hash".into(), serde_json::Value::String(String::new()));
    obj.remove("excerpt");
    let canonical = serde_json::to_string(&v).map_err(|e| e.to_string())?;
    Ok(hex::encode(Sha256::digest(canonical.as_bytes())))
}

/// Canonical hash of a record.
pub fn record_hash(rec: &AuditDecision) -> String {
    let text = serde_json::to_string(rec).expect("audit records serialise");
    record_hash_json(&text).expect("a serialised record parses")
}

/// The writer's end of a chain.
#[derive(Debug, Clone)]
pub struct Chain {
    id: String,
    next_seq: u64,
    prev_hash: String,
}

impl Chain {
    /// A new chain, unique to this process: host name, start time and a random suffix.
    pub fn new_for_process() -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "local".into());
        let now = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
        let mut nonce = [0u8; 4];
        getrandom_fill(&mut nonce);
        Chain::new(format!("{host}-{now}-{}", hex::encode(nonce)))
    }

    /// A chain with a given id, starting at seq 0.
    pub fn new(id: String) -> Self {
        Chain {
            id,
            next_seq: 0,
            prev_hash: GENESIS.to_string(),
        }
    }

    /// The chain id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Links a record into the chain: sets chain, seq, prev_hash and hash.
    pub fn seal(&mut self, mut rec: AuditDecision) -> AuditDecision {
        rec.chain = self.id.clone();
        rec.seq = self.next_seq;
        rec.prev_hash = std::mem::take(&mut self.prev_hash);
        rec.hash = String::new();
        rec.hash = record_hash(&rec);
        self.prev_hash = rec.hash.clone();
        self.next_seq += 1;
        rec
    }
}

fn getrandom_fill(buf: &mut [u8]) {
    // The chain id only has to differ between processes; time and pid entropy suffice
    // where no random source is wired in.
    let seed = format!(
        "{:?}{}{:?}",
        std::time::SystemTime::now(),
        std::process::id(),
        std::thread::current().id()
    );
    let d = Sha256::digest(seed.as_bytes());
    buf.copy_from_slice(&d[..buf.len()]);
}

/// The first problem found in a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    /// Chain id.
    pub chain: String,
    /// Sequence number of the offending record.
    pub seq: u64,
    /// Position of the record in the input.
    pub position: usize,
    /// What is wrong.
    pub reason: String,
}

impl std::fmt::Display for Break {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chain {} seq {} (record #{}): {}",
            self.chain, self.seq, self.position, self.reason
        )
    }
}

/// Result of walking a log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VerifyReport {
    /// Records read.
    pub records: usize,
    /// Chains found, with their record counts.
    pub chains: BTreeMap<String, u64>,
    /// Records with a decision id seen before (re-deliveries after a crash), not an error.
    pub repeated_decisions: usize,
}

/// Walks every chain in a log of JSON records (any order; re-deliveries of an identical
/// record are tolerated). Fails at the first record whose hash does not match its content,
/// whose `prev_hash` is not its predecessor's hash, or where a sequence number is missing.
pub fn verify<'a>(records: impl IntoIterator<Item = &'a str>) -> Result<VerifyReport, Break> {
    struct Rec {
        position: usize,
        seq: u64,
        hash: String,
        prev: String,
    }
    let mut chains: BTreeMap<String, BTreeMap<u64, Rec>> = BTreeMap::new();
    let mut report = VerifyReport::default();
    let mut decisions = std::collections::HashSet::new();
    for (position, json) in records.into_iter().enumerate() {
        report.records += 1;
        let brk = |chain: &str, seq: u64, reason: String| Break {
            chain: chain.to_string(),
            seq,
            position,
            reason,
        };
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| brk("?", 0, format!("not JSON: {e}")))?;
        let chain = v["chain"].as_str().unwrap_or("?").to_string();
        let seq = v["seq"]
            .as_u64()
            .ok_or_else(|| brk(&chain, 0, "no seq".into()))?;
        let hash = v["hash"].as_str().unwrap_or_default().to_string();
        let prev = v["prev_hash"].as_str().unwrap_or_default().to_string();
        let actual = record_hash_json(json).map_err(|e| brk(&chain, seq, e))?;
        if actual != hash {
            return Err(brk(
                &chain,
                seq,
                format!("content does not match its hash (recorded {hash}, computed {actual})"),
            ));
        }
        if let Some(d) = v["decision_id"].as_str() {
            if !decisions.insert(d.to_string()) {
                report.repeated_decisions += 1;
            }
        }
        let slot = chains.entry(chain.clone()).or_default();
        if let Some(existing) = slot.get(&seq) {
            if existing.hash != hash {
                return Err(brk(
                    &chain,
                    seq,
                    "two different records with the same sequence number".into(),
                ));
            }
            continue;
        }
        slot.insert(
            seq,
            Rec {
                position,
                seq,
                hash,
                prev,
            },
        );
    }
    for (chain, recs) in &chains {
        let mut expected_seq = 0u64;
        let mut prev_hash = GENESIS.to_string();
        for r in recs.values() {
            let brk = |reason: String| Break {
                chain: chain.clone(),
                seq: r.seq,
                position: r.position,
                reason,
            };
            if r.seq != expected_seq {
                return Err(brk(format!(
                    "sequence gap: expected seq {expected_seq}, found {}",
                    r.seq
                )));
            }
            if r.prev != prev_hash {
                return Err(brk(format!(
                    "prev_hash {} is not the hash of seq {} ({prev_hash})",
                    r.prev,
                    expected_seq.wrapping_sub(1)
                )));
            }
            prev_hash = r.hash.clone();
            expected_seq += 1;
        }
        report.chains.insert(chain.clone(), expected_seq);
    }
    Ok(report)
}

/// Verifies a log read in (chain, seq) order, one record at a time, keeping only the current
/// chain's last link in memory; what a store walks with (`sarap audit verify`).
#[derive(Debug, Default)]
pub struct ChainWalker {
    report: VerifyReport,
    chain: Option<String>,
    next_seq: u64,
    prev_hash: String,
}

impl ChainWalker {
    /// A walker at the start of a log.
    pub fn new() -> Self {
        ChainWalker::default()
    }

    /// Checks the next record (records of one chain must come together, by `seq`).
    pub fn feed(&mut self, json: &str) -> Result<(), Break> {
        let position = self.report.records;
        self.report.records += 1;
        let brk = |chain: &str, seq: u64, reason: String| Break {
            chain: chain.to_string(),
            seq,
            position,
            reason,
        };
        let v: serde_json::Value =
            serde_json::from_str(json).map_err(|e| brk("?", 0, format!("not JSON: {e}")))?;
        let chain = v["chain"].as_str().unwrap_or("?").to_string();
        let seq = v["seq"]
            .as_u64()
            .ok_or_else(|| brk(&chain, 0, "no seq".into()))?;
        let hash = v["hash"].as_str().unwrap_or_default();
        let actual = record_hash_json(json).map_err(|e| brk(&chain, seq, e))?;
        if actual != hash {
            return Err(brk(
                &chain,
                seq,
                format!("content does not match its hash (recorded {hash}, computed {actual})"),
            ));
        }
        if self.chain.as_deref() != Some(chain.as_str()) {
            self.close();
            self.chain = Some(chain.clone());
            self.next_seq = 0;
            self.prev_hash = GENESIS.to_string();
        }
        if seq != self.next_seq {
            return Err(brk(
                &chain,
                seq,
                format!("sequence gap: expected seq {}, found {seq}", self.next_seq),
            ));
        }
        let prev = v["prev_hash"].as_str().unwrap_or_default();
        if prev != self.prev_hash {
            return Err(brk(
                &chain,
                seq,
                format!(
                    "prev_hash {prev} is not the hash of seq {} ({})",
                    self.next_seq.wrapping_sub(1),
                    self.prev_hash
                ),
            ));
        }
        self.prev_hash = actual;
        self.next_seq += 1;
        Ok(())
    }

    fn close(&mut self) {
        if let Some(c) = self.chain.take() {
            self.report.chains.insert(c, self.next_seq);
        }
    }

    /// The report once every record is fed.
    pub fn finish(mut self) -> VerifyReport {
        self.close();
        self.report
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contracts::{ModelRef, SCHEMA_AUDIT};

    fn record(i: u32) -> AuditDecision {
        AuditDecision {
            schema: SCHEMA_AUDIT.into(),
            decision_id: format!("d-{i}"),
            chain: String::new(),
            seq: 0,
            prev_hash: String::new(),
            hash: String::new(),
            at: chrono::Utc::now(),
            post_key: format!("k{i}"),
            input_sha256: "00".into(),
            model: ModelRef {
                id: "m".into(),
                version: "1".into(),
                sha256: "ab".into(),
            },
            policy_hash: "pol-x".into(),
            scores: [("hostility".to_string(), 0.1f32 * i as f32)].into(),
            thresholds: [("hostility".to_string(), 0.5f32)].into(),
            labels: vec!["neu".into()],
            explanation: serde_json::json!({"groups": [], "lang": "ru"}),
            excerpt: None,
            excerpt_sha256: None,
        }
    }

    fn chain_of(n: u32) -> Vec<String> {
        let mut c = Chain::new("t".into());
        (0..n)
            .map(|i| serde_json::to_string(&c.seal(record(i))).unwrap())
            .collect()
    }

    #[test]
    fn a_sealed_chain_verifies_in_any_order_and_with_redeliveries() {
        let mut log = chain_of(20);
        let r = verify(log.iter().map(|s| s.as_str())).unwrap();
        assert_eq!(r.chains["t"], 20);
        log.reverse();
        log.push(log[3].clone());
        let r = verify(log.iter().map(|s| s.as_str())).unwrap();
        assert_eq!(r.repeated_decisions, 1);
    }

    #[test]
    fn tampering_deletion_and_relinking_are_detected() {
        let log = chain_of(10);
        // A changed score.
        let mut t = log.clone();
        t[4] = t[4].replace("\"hostility\":0.4", "\"hostility\":0.9");
        assert_ne!(t[4], log[4]);
        let e = verify(t.iter().map(|s| s.as_str())).unwrap_err();
        assert_eq!((e.seq, e.position), (4, 4));
        assert!(e.reason.contains("does not match"), "{e}");
        // A deleted record.
        let mut d = log.clone();
        d.remove(6);
        let e = verify(d.iter().map(|s| s.as_str())).unwrap_err();
        assert!(e.reason.contains("sequence gap"), "{e}");
        // A record rewritten with a fresh, self-consistent hash still breaks the next link.
        let mut v: serde_json::Value = serde_json::from_str(&log[2]).unwrap();
        v["labels"] = serde_json::json!(["hostile"]);
        let text = serde_json::to_string(&v).unwrap();
        v["hash"] = serde_json::Value::String(record_hash_json(&text).unwrap());
        let mut r = log.clone();
        r[2] = serde_json::to_string(&v).unwrap();
        let e = verify(r.iter().map(|s| s.as_str())).unwrap_err();
        assert_eq!(e.seq, 3);
        assert!(e.reason.contains("prev_hash"), "{e}");
    }

    #[test]
    fn the_hash_is_the_documented_canonical_form() {
        let mut c = Chain::new("t".into());
        let rec = c.seal(record(1));
        let mut v = serde_json::to_value(&rec).unwrap();
        v["hash"] = serde_json::Value::String(String::new());
        // Keys sorted, no whitespace: what a Python verifier gets from json.dumps(sort_keys=True,
        // separators=(",", ":"), ensure_ascii=False) on the parsed record.
        let text: serde_json::Value =
            serde_json::from_str(&serde_json::to_string(&rec).unwrap()).unwrap();
        let mut text = text;
        text["hash"] = serde_json::Value::String(String::new());
        let canonical = serde_json::to_string(&text).unwrap();
        assert!(canonical.starts_with("{\"at\":"));
        assert_eq!(hex::encode(Sha256::digest(canonical.as_bytes())), rec.hash);
        assert_eq!(rec.prev_hash, GENESIS);
    }

    #[test]
    fn the_walker_agrees_with_verify_and_ignores_a_deleted_excerpt() {
        let mut c = Chain::new("w".into());
        let mut log: Vec<String> = (0..6)
            .map(|i| {
                let mut r = record(i);
                r.excerpt = Some(format!("excerpt {i}"));
                r.excerpt_sha256 = Some(hex::encode(Sha256::digest(format!("excerpt {i}"))));
                serde_json::to_string(&c.seal(r)).unwrap()
            })
            .collect();
        // Retention deletes an excerpt: the chain still verifies.
        let mut v: serde_json::Value = serde_json::from_str(&log[2]).unwrap();
        v.as_object_mut().unwrap().remove("excerpt");
        log[2] = serde_json::to_string(&v).unwrap();
        let mut w = ChainWalker::new();
        for r in &log {
            w.feed(r).unwrap();
        }
        let rep = w.finish();
        assert_eq!(rep.chains["w"], 6);
        assert_eq!(rep, verify(log.iter().map(|s| s.as_str())).unwrap());
        // Its hash is not: a changed excerpt hash breaks the record.
        let t = log[3].replace("\"excerpt_sha256\":\"", "\"excerpt_sha256\":\"0");
        let mut w = ChainWalker::new();
        let e = log[..3]
            .iter()
            .chain(std::iter::once(&t))
            .try_for_each(|r| w.feed(r))
            .unwrap_err();
        assert_eq!(e.seq, 3);
        assert!(e.reason.contains("does not match"), "{e}");
    }
}
