//! The audit log in the store: every `audit.decisions` record as it was received, the
//! auditors' verdicts on them, and what the workbench (`/audit`, `sarap audit …`) asks of them.
//!
//! A record is stored without its excerpt (the excerpt is a column of its own, deleted when
//! `retention.audit_excerpt_days` ends); the record's hash does not cover the excerpt, so the
//! chain still verifies after the deletion. Rows are keyed by (chain, seq): a redelivered record
//! is the same row, so consuming at least once stores each record once.

use crate::store::{rfc3339, SqlStore, StoreError};
use futures::future::BoxFuture;
use futures::StreamExt;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use sarap_core::audit::{Break, ChainWalker, VerifyReport};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::BTreeMap;

/// Migration 2: the audit log and the auditors' verdicts.
pub const MIGRATION: &str = r#"
CREATE TABLE audit_records (
    chain TEXT NOT NULL,
    seq BIGINT NOT NULL,
    decision_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    lang TEXT NOT NULL,
    region TEXT NOT NULL,
    labels TEXT NOT NULL,
    record TEXT NOT NULL,
    excerpt TEXT,
    excerpt_until BIGINT,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_decision ON audit_records (decision_id);
CREATE INDEX audit_at ON audit_records (at);
CREATE INDEX audit_strata ON audit_records (lang, region);
CREATE TABLE audit_reviews (
    decision_id TEXT NOT NULL,
    auditor TEXT NOT NULL,
    verdict TEXT NOT NULL,
    note TEXT NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (decision_id, auditor)
)
"#;

/// One record to store, as received.
#[derive(Debug, Clone)]
pub struct AuditRow {
    /// Chain id.
    pub chain: String,
    /// Sequence number in the chain.
    pub seq: i64,
    /// Decision id.
    pub decision_id: String,
    /// When the decision was made (unix seconds).
    pub at: i64,
    /// Language of the post (from the explanation).
    pub lang: String,
    /// Region of the post (from the explanation).
    pub region: String,
    /// Labels, space-separated.
    pub labels: String,
    /// The record's JSON without its excerpt.
    pub record: String,
    /// The excerpt, while retention allows.
    pub excerpt: Option<String>,
    /// When the excerpt must be deleted (unix seconds).
    pub excerpt_until: Option<i64>,
}

impl AuditRow {
    /// Parses a record from `audit.decisions`; `excerpt_days` is the policy's retention.
    pub fn parse(payload: &[u8], excerpt_days: u32) -> Result<AuditRow, String> {
        let text = std::str::from_utf8(payload).map_err(|_| "not UTF-8".to_string())?;
        let mut v: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let o = v.as_object_mut().ok_or("not a JSON object")?;
        if o.get("schema").and_then(|s| s.as_str()) != Some(sarap_core::SCHEMA_AUDIT) {
            return Err(format!("schema is not {}", sarap_core::SCHEMA_AUDIT));
        }
        let s = |o: &serde_json::Map<String, serde_json::Value>, k: &str| {
            o.get(k)
                .and_then(|x| x.as_str())
                .map(str::to_string)
                .ok_or_else(|| format!("missing {k}"))
        };
        let chain = s(o, "chain")?;
        let decision_id = s(o, "decision_id")?;
        let seq = o.get("seq").and_then(|x| x.as_i64()).ok_or("missing seq")?;
        let at = chrono::DateTime::parse_from_rfc3339(&s(o, "at")?)
            .map_err(|e| format!("at: {e}"))?
            .timestamp();
        let labels: Vec<&str> = o
            .get("labels")
            .and_then(|l| l.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
            .unwrap_or_default();
        let labels = labels.join(" ");
        let expl = o.get("explanation");
        let field = |k: &str| {
            expl.and_then(|e| e.get(k))
                .and_then(|x| x.as_str())
                .unwrap_or("unknown")
                .to_string()
        };
        let (lang, region) = (field("lang"), field("region"));
        let excerpt = o
            .remove("excerpt")
            .and_then(|e| e.as_str().map(str::to_string))
            .filter(|_| excerpt_days > 0);
        let excerpt_until = excerpt.as_ref().map(|_| at + excerpt_days as i64 * 86_400);
        // The stored text is the received record minus the excerpt, re-serialised from the
        // parsed value: the canonical hash is over the parsed value, so nothing it covers changes.
        let record = serde_json::to_string(&v).map_err(|e| e.to_string())?;
        Ok(AuditRow {
            chain,
            seq,
            decision_id,
            at,
            lang,
            region,
            labels,
            record,
            excerpt,
            excerpt_until,
        })
    }
}

/// A decision in a list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DecisionSummary {
    /// Decision id.
    pub decision_id: String,
    /// Chain id.
    pub chain: String,
    /// Sequence number.
    pub seq: i64,
    /// When (RFC 3339).
    pub at: String,
    /// Language.
    pub lang: String,
    /// Region.
    pub region: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Scores.
    pub scores: BTreeMap<String, f64>,
    /// Verdicts recorded on it.
    pub reviews: i64,
    /// The stratum it was drawn from (samples only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stratum: Option<String>,
}

/// A decision with everything stored about it.
#[derive(Debug, Clone)]
pub struct StoredDecision {
    /// The record's JSON (without the excerpt).
    pub record: String,
    /// The excerpt, when stored and not expired.
    pub excerpt: Option<String>,
    /// When the excerpt expires (unix seconds).
    pub excerpt_until: Option<i64>,
    /// The verdicts on it.
    pub reviews: Vec<AuditReview>,
}

/// An auditor's verdict.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditReview {
    /// Decision id.
    pub decision_id: String,
    /// `agree` or `disagree`.
    pub verdict: String,
    /// Why.
    pub note: String,
    /// Who.
    pub auditor: String,
    /// When (RFC 3339).
    pub at: String,
}

/// Filters of a decision list.
#[derive(Debug, Clone, Default)]
pub struct DecisionQuery {
    /// Language.
    pub lang: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// A label (`hostile`, `not_hostile`, `sentiment:neg`, `claim`, `claim:ID`).
    pub label: Option<String>,
    /// Page size.
    pub limit: i64,
    /// Rows to skip.
    pub offset: i64,
}

/// Agreement between the model and the auditors for one language and label.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AgreementRow {
    /// Language.
    pub lang: String,
    /// The model's label.
    pub label: String,
    /// Verdicts recorded.
    pub reviewed: u64,
    /// Of those, `agree`.
    pub agree: u64,
    /// agree / reviewed.
    pub agreement: f64,
}

/// What stratifies a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stratum {
    /// The post's language.
    Lang,
    /// The post's region.
    Region,
    /// Hostile or not, by the model.
    Label,
}

impl std::str::FromStr for Stratum {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "lang" => Ok(Stratum::Lang),
            "region" => Ok(Stratum::Region),
            "label" => Ok(Stratum::Label),
            o => Err(format!("{o:?}: stratify by lang, region or label")),
        }
    }
}

/// Result of walking the stored log.
#[derive(Debug, Clone)]
pub struct StoredVerify {
    /// Records and chains walked (up to the break).
    pub report: VerifyReport,
    /// The first broken link and its decision id.
    pub broken: Option<(Break, Option<String>)>,
}

/// The audit log's queries (implemented by [`SqlStore`]).
pub trait AuditLog: Send + Sync {
    /// Stores records (a record already stored is left as it is); returns how many were new.
    fn insert_audit<'a>(&'a self, rows: &'a [AuditRow]) -> BoxFuture<'a, Result<u64, StoreError>>;
    /// Deletes the excerpts whose retention ended; returns how many.
    fn purge_excerpts(&self, now: i64) -> BoxFuture<'_, Result<u64, StoreError>>;
    /// Walks every chain in order and checks every hash and link.
    fn verify_audit(&self) -> BoxFuture<'_, Result<StoredVerify, StoreError>>;
    /// One decision (its latest record when it was redelivered).
    fn decision<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredDecision>, StoreError>>;
    /// Decisions, newest first, with the total that matches.
    fn decisions<'a>(
        &'a self,
        q: &'a DecisionQuery,
    ) -> BoxFuture<'a, Result<(i64, Vec<DecisionSummary>), StoreError>>;
    /// A stratified sample: up to `n` decisions spread equally over the strata, drawn with `seed`.
    fn sample<'a>(
        &'a self,
        n: usize,
        by: &'a [Stratum],
        seed: u64,
    ) -> BoxFuture<'a, Result<(usize, Vec<DecisionSummary>), StoreError>>;
    /// Records (or replaces) an auditor's verdict; `None` when the decision is unknown.
    fn review_decision<'a>(
        &'a self,
        review: &'a AuditReview,
        at: i64,
    ) -> BoxFuture<'a, Result<Option<AuditReview>, StoreError>>;
    /// Agreement per language and label, and overall.
    fn agreement(&self) -> BoxFuture<'_, Result<(Vec<AgreementRow>, AgreementRow), StoreError>>;
}

const SUMMARY_COLUMNS: &str = "r.decision_id, r.chain, r.seq, r.at, r.lang, r.region, r.labels, r.record, (SELECT COUNT(*) FROM audit_reviews v WHERE v.decision_id = r.decision_id) AS reviews";

fn summary(r: &AnyRow) -> Result<DecisionSummary, sqlx::Error> {
    let record: String = r.try_get(7)?;
    let scores = serde_json::from_str::<serde_json::Value>(&record)
        .ok()
        .and_then(|v| serde_json::from_value(v["scores"].clone()).ok())
        .unwrap_or_default();
    let labels: String = r.try_get(6)?;
    Ok(DecisionSummary {
        decision_id: r.try_get(0)?,
        chain: r.try_get(1)?,
        seq: r.try_get(2)?,
        at: rfc3339(r.try_get(3)?),
        lang: r.try_get(4)?,
        region: r.try_get(5)?,
        labels: labels.split_whitespace().map(str::to_string).collect(),
        scores,
        reviews: r.try_get(8)?,
        stratum: None,
    })
}

/// The SQL condition of a label filter, with its bind value.
fn label_condition(label: &str) -> (String, Option<String>) {
    match label {
        "not_hostile" => (
            "(' ' || r.labels || ' ') NOT LIKE '% hostile %'".into(),
            None,
        ),
        "claim" => ("(' ' || r.labels || ' ') LIKE '% claim:%'".into(), None),
        l => (
            "(' ' || r.labels || ' ') LIKE ?".into(),
            Some(format!("% {} %", l.replace(['%', '_'], ""))),
        ),
    }
}

/// The labels an agreement row counts a decision under.
fn agreement_labels(labels: &str) -> Vec<String> {
    let ls: Vec<&str> = labels.split_whitespace().collect();
    let mut out = vec![if ls.contains(&"hostile") {
        "hostile".to_string()
    } else {
        "not_hostile".to_string()
    }];
    out.extend(
        ls.iter()
            .filter(|l| l.starts_with("sentiment:"))
            .map(|l| l.to_string()),
    );
    out.push(if ls.iter().any(|l| l.starts_with("claim:")) {
        "claim".into()
    } else {
        "no_claim".into()
    });
    out
}

impl SqlStore {
    /// `?` placeholders become `$n` on PostgreSQL.
    fn numbered(&self, sql: &str) -> String {
        if self.backend() != crate::store::Backend::Postgres {
            return sql.to_string();
        }
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(ch);
            }
        }
        out
    }
}

use crate::store::Store as _;

impl AuditLog for SqlStore {
    fn insert_audit<'a>(&'a self, rows: &'a [AuditRow]) -> BoxFuture<'a, Result<u64, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool().begin().await?;
            let mut new = 0;
            let now = chrono::Utc::now().timestamp();
            let sql = self.numbered(
                "INSERT INTO audit_records (chain, seq, decision_id, at, lang, region, labels, record, excerpt, excerpt_until, received_at) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (chain, seq) DO NOTHING",
            );
            for r in rows {
                let done = sqlx::query(&sql)
                    .bind(&r.chain)
                    .bind(r.seq)
                    .bind(&r.decision_id)
                    .bind(r.at)
                    .bind(&r.lang)
                    .bind(&r.region)
                    .bind(&r.labels)
                    .bind(&r.record)
                    .bind(r.excerpt.as_deref())
                    .bind(r.excerpt_until)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                new += done.rows_affected();
            }
            tx.commit().await?;
            Ok(new)
        })
    }

    fn purge_excerpts(&self, now: i64) -> BoxFuture<'_, Result<u64, StoreError>> {
        Box::pin(async move {
            let sql = self.numbered(
                "UPDATE audit_records SET excerpt = NULL, excerpt_until = NULL WHERE excerpt_until IS NOT NULL AND excerpt_until <= ?",
            );
            Ok(sqlx::query(&sql)
                .bind(now)
                .execute(self.pool())
                .await?
                .rows_affected())
        })
    }

    fn verify_audit(&self) -> BoxFuture<'_, Result<StoredVerify, StoreError>> {
        Box::pin(async move {
            let mut walker = ChainWalker::new();
            // Streamed in key order: memory stays flat however long the log is.
            let mut rows =
                sqlx::query("SELECT record, decision_id FROM audit_records ORDER BY chain, seq")
                    .fetch(self.pool());
            while let Some(row) = rows.next().await {
                let row = row?;
                let record: String = row.try_get(0)?;
                if let Err(b) = walker.feed(&record) {
                    let id: String = row.try_get(1)?;
                    let mut report = VerifyReport {
                        records: b.position + 1,
                        ..VerifyReport::default()
                    };
                    report.chains.insert(b.chain.clone(), b.seq);
                    return Ok(StoredVerify {
                        report,
                        broken: Some((b, Some(id))),
                    });
                }
            }
            drop(rows);
            let mut report = walker.finish();
            let dup: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) - COUNT(DISTINCT decision_id) FROM audit_records",
            )
            .fetch_one(self.pool())
            .await?;
            report.repeated_decisions = dup.max(0) as usize;
            Ok(StoredVerify {
                report,
                broken: None,
            })
        })
    }

    fn decision<'a>(
        &'a self,
        id: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredDecision>, StoreError>> {
        Box::pin(async move {
            let sql = self.numbered(
                "SELECT record, excerpt, excerpt_until FROM audit_records WHERE decision_id = ? ORDER BY at DESC, chain, seq LIMIT 1",
            );
            let Some(row) = sqlx::query(&sql)
                .bind(id)
                .fetch_optional(self.pool())
                .await?
            else {
                return Ok(None);
            };
            let sql = self.numbered(
                "SELECT decision_id, verdict, note, auditor, at FROM audit_reviews WHERE decision_id = ? ORDER BY at",
            );
            let reviews = sqlx::query(&sql)
                .bind(id)
                .fetch_all(self.pool())
                .await?
                .iter()
                .map(review_row)
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Some(StoredDecision {
                record: row.try_get(0)?,
                excerpt: row.try_get(1)?,
                excerpt_until: row.try_get(2)?,
                reviews,
            }))
        })
    }

    fn decisions<'a>(
        &'a self,
        q: &'a DecisionQuery,
    ) -> BoxFuture<'a, Result<(i64, Vec<DecisionSummary>), StoreError>> {
        Box::pin(async move {
            let mut conds: Vec<String> = Vec::new();
            let mut binds: Vec<String> = Vec::new();
            if let Some(l) = &q.lang {
                conds.push("r.lang = ?".into());
                binds.push(l.clone());
            }
            if let Some(r) = &q.region {
                conds.push("r.region = ?".into());
                binds.push(r.clone());
            }
            if let Some(l) = &q.label {
                let (c, b) = label_condition(l);
                conds.push(c);
                binds.extend(b);
            }
            let filter = if conds.is_empty() {
                String::new()
            } else {
                format!("WHERE {}", conds.join(" AND "))
            };
            let count_sql =
                self.numbered(&format!("SELECT COUNT(*) FROM audit_records r {filter}"));
            let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
            for b in &binds {
                count = count.bind(b);
            }
            let total = count.fetch_one(self.pool()).await?;
            let sql = self.numbered(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM audit_records r {filter} ORDER BY r.at DESC, r.chain, r.seq DESC LIMIT ? OFFSET ?"
            ));
            let mut query = sqlx::query(&sql);
            for b in &binds {
                query = query.bind(b);
            }
            let rows = query
                .bind(q.limit)
                .bind(q.offset)
                .fetch_all(self.pool())
                .await?;
            let list = rows.iter().map(summary).collect::<Result<Vec<_>, _>>()?;
            Ok((total, list))
        })
    }

    fn sample<'a>(
        &'a self,
        n: usize,
        by: &'a [Stratum],
        seed: u64,
    ) -> BoxFuture<'a, Result<(usize, Vec<DecisionSummary>), StoreError>> {
        Box::pin(async move {
            // Light rows of every decision (one per decision id), grouped into strata in memory;
            // a decision's stratum comes from its language, region and hostility label.
            let sql = "SELECT r.decision_id, r.lang, r.region, r.labels FROM audit_records r ORDER BY r.decision_id, r.chain, r.seq";
            let rows = sqlx::query(sql).fetch_all(self.pool()).await?;
            let mut strata: BTreeMap<String, Vec<String>> = BTreeMap::new();
            let mut last = String::new();
            for row in &rows {
                let id: String = row.try_get(0)?;
                if id == last {
                    continue;
                }
                let lang: String = row.try_get(1)?;
                let region: String = row.try_get(2)?;
                let labels: String = row.try_get(3)?;
                let key: Vec<String> = by
                    .iter()
                    .map(|s| match s {
                        Stratum::Lang => lang.clone(),
                        Stratum::Region => region.clone(),
                        Stratum::Label => agreement_labels(&labels)[0].clone(),
                    })
                    .collect();
                strata.entry(key.join("/")).or_default().push(id.clone());
                last = id;
            }
            let n_strata = strata.len();
            // Equal allocation, not proportional: small languages and regions get as many
            // reviews as large ones, which is what a check for unequal treatment needs.
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let mut picked: Vec<(String, String)> = Vec::new();
            let mut pools: Vec<(String, Vec<String>)> = strata.into_iter().collect();
            for (_, ids) in pools.iter_mut() {
                ids.shuffle(&mut rng);
            }
            let mut round = 0;
            while picked.len() < n && pools.iter().any(|(_, ids)| ids.len() > round) {
                for (name, ids) in &pools {
                    if picked.len() >= n {
                        break;
                    }
                    if let Some(id) = ids.get(round) {
                        picked.push((name.clone(), id.clone()));
                    }
                }
                round += 1;
            }
            let sql = self.numbered(&format!(
                "SELECT {SUMMARY_COLUMNS} FROM audit_records r WHERE r.decision_id = ? ORDER BY r.chain, r.seq LIMIT 1"
            ));
            let mut out = Vec::with_capacity(picked.len());
            for (stratum, id) in picked {
                if let Some(row) = sqlx::query(&sql)
                    .bind(&id)
                    .fetch_optional(self.pool())
                    .await?
                {
                    let mut s = summary(&row)?;
                    s.stratum = Some(stratum);
                    out.push(s);
                }
            }
            Ok((n_strata, out))
        })
    }

    fn review_decision<'a>(
        &'a self,
        review: &'a AuditReview,
        at: i64,
    ) -> BoxFuture<'a, Result<Option<AuditReview>, StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool().begin().await?;
            let sql = self.numbered("SELECT COUNT(*) FROM audit_records WHERE decision_id = ?");
            let known: i64 = sqlx::query_scalar(&sql)
                .bind(&review.decision_id)
                .fetch_one(&mut *tx)
                .await?;
            if known == 0 {
                tx.rollback().await?;
                return Ok(None);
            }
            let sql = self.numbered(
                "INSERT INTO audit_reviews (decision_id, auditor, verdict, note, at) VALUES (?, ?, ?, ?, ?) \
                 ON CONFLICT (decision_id, auditor) DO UPDATE SET verdict = excluded.verdict, note = excluded.note, at = excluded.at",
            );
            sqlx::query(&sql)
                .bind(&review.decision_id)
                .bind(&review.auditor)
                .bind(&review.verdict)
                .bind(&review.note)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Some(AuditReview {
                at: rfc3339(at),
                ..review.clone()
            }))
        })
    }

    fn agreement(&self) -> BoxFuture<'_, Result<(Vec<AgreementRow>, AgreementRow), StoreError>> {
        Box::pin(async move {
            // One row per verdict, with the language and labels of the decision (every record
            // of a decision id carries the same ones).
            let sql = "SELECT v.verdict, \
                       (SELECT r.lang FROM audit_records r WHERE r.decision_id = v.decision_id LIMIT 1), \
                       (SELECT r.labels FROM audit_records r WHERE r.decision_id = v.decision_id LIMIT 1) \
                       FROM audit_reviews v";
            let rows = sqlx::query(sql).fetch_all(self.pool()).await?;
            let mut cells: BTreeMap<(String, String), (u64, u64)> = BTreeMap::new();
            let mut all = (0u64, 0u64);
            for row in &rows {
                let verdict: String = row.try_get(0)?;
                let lang: String = row.try_get(1)?;
                let labels: String = row.try_get(2)?;
                let agree = u64::from(verdict == "agree");
                all.0 += 1;
                all.1 += agree;
                for l in agreement_labels(&labels) {
                    let c = cells.entry((lang.clone(), l)).or_default();
                    c.0 += 1;
                    c.1 += agree;
                }
            }
            let row = |lang: String, label: String, (reviewed, agree): (u64, u64)| AgreementRow {
                lang,
                label,
                reviewed,
                agree,
                agreement: if reviewed == 0 {
                    0.0
                } else {
                    agree as f64 / reviewed as f64
                },
            };
            let out = cells
                .into_iter()
                .map(|((lang, label), c)| row(lang, label, c))
                .collect();
            Ok((out, row("all".into(), "all".into(), all)))
        })
    }
}

fn review_row(r: &AnyRow) -> Result<AuditReview, sqlx::Error> {
    Ok(AuditReview {
        decision_id: r.try_get(0)?,
        verdict: r.try_get(1)?,
        note: r.try_get(2)?,
        auditor: r.try_get(3)?,
        at: rfc3339(r.try_get(4)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agreement_counts_a_decision_under_its_hostility_sentiment_and_claim_labels() {
        assert_eq!(
            agreement_labels("sentiment:neg hostile claim:claim-x"),
            vec!["hostile", "sentiment:neg", "claim"]
        );
        assert_eq!(
            agreement_labels("sentiment:pos"),
            vec!["not_hostile", "sentiment:pos", "no_claim"]
        );
    }

    #[test]
    fn a_record_is_stored_without_its_excerpt_and_with_its_retention() {
        let rec = serde_json::json!({
            "schema": sarap_core::SCHEMA_AUDIT, "decision_id": "d-1", "chain": "c", "seq": 3,
            "prev_hash": "p", "hash": "h", "at": "2026-11-02T10:00:00Z", "labels": ["hostile"],
            "explanation": {"lang": "kk", "region": "abai"}, "excerpt": "text"
        });
        let row = AuditRow::parse(rec.to_string().as_bytes(), 10).unwrap();
        assert_eq!((row.lang.as_str(), row.region.as_str()), ("kk", "abai"));
        assert_eq!(row.excerpt.as_deref(), Some("text"));
        assert_eq!(row.excerpt_until, Some(row.at + 10 * 86_400));
        assert!(!row.record.contains("excerpt"));
        let none = AuditRow::parse(rec.to_string().as_bytes(), 0).unwrap();
        assert_eq!((none.excerpt, none.excerpt_until), (None, None));
        assert!(AuditRow::parse(b"{\"schema\":\"x\"}", 1).is_err());
        assert!(AuditRow::parse(b"\xff", 1).is_err());
    }
}
