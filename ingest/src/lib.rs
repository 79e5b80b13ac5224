//! Sarap ingest: `posts.raw` → `posts.clean` (keyed by region) and `posts.rejected`.
//!
//! Per post: validate ([`parse`]), normalise ([`normalize`]), redact personal data
//! ([`redact`]), identify language and script ([`lang`]), resolve the region ([`region`]),
//! pseudonymise the author, drop exact duplicates and group near-duplicates ([`dedup`]).
//! The stateless steps run in parallel over a batch; the deduplication state is updated in
//! input order so results do not depend on thread timing. The raw author id and the raw text
//! never leave this crate.

#![warn(missing_docs)]

pub mod dedup;
pub mod lang;
pub mod normalize;
pub mod parse;
pub mod redact;
pub mod region;
#[cfg(test)]
mod testwords;

use chrono::{DateTime, Utc};
use prometheus::{register_int_counter_vec, register_int_gauge, IntCounterVec, IntGauge};
use rayon::prelude::*;
use sarap_bus::{InMsg, OutRecord, Transform};
use sarap_core::config::{Config, IngestConfig};
use sarap_core::pseudonym::PseudonymKey;
use sarap_core::{
    CleanPost, Lang, Policy, RedactionCounts, RejectReason, RejectedPost, SourceRef, SCHEMA_CLEAN,
    SCHEMA_REJECTED,
};
use sha2::{Digest, Sha256};
use std::sync::LazyLock;

static CLEAN: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sarap_ingest_clean_total",
        "Posts written to posts.clean",
        &["lang", "region_source"]
    )
    .expect("metric registers once")
});
static REJECTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sarap_ingest_rejected_total",
        "Raw messages written to posts.rejected, by reason",
        &["reason"]
    )
    .expect("metric registers once")
});
static REDACTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sarap_ingest_redactions_total",
        "Personal data items redacted from text, by kind",
        &["kind"]
    )
    .expect("metric registers once")
});
static DEDUP_ENTRIES: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "sarap_ingest_dedup_entries",
        "Keys held by the exact-duplicate filters"
    )
    .expect("metric registers once")
});
static NEAR_DUP_JOINED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sarap_ingest_near_duplicates_total",
        "Posts that joined an existing near-duplicate cluster",
        &["lang"]
    )
    .expect("metric registers once")
});

/// The result of ingesting one raw message.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A clean post for `posts.clean`.
    Clean(Box<CleanPost>),
    /// A rejection for `posts.rejected`.
    Rejected(Box<RejectedPost>),
}

/// A post after the stateless steps, waiting for deduplication.
struct Prepared {
    valid: parse::ValidPost,
    text: String,
    redactions: RedactionCounts,
    lang: lang::LangGuess,
    region: (sarap_core::Region, sarap_core::RegionSource),
    author_pid: String,
    /// Digest of pseudonym and text: the key of same-author reposts.
    content_key: [u8; 16],
    sketch: Option<dedup::Sketch>,
}

/// The ingest transform with its deduplication state.
pub struct Ingestor {
    cfg: IngestConfig,
    clean_topic: String,
    rejected_topic: String,
    policy_hash: String,
    key: PseudonymKey,
    redactor: redact::Redactor,
    detector: lang::LangDetector,
    regions: region::RegionResolver,
    seen_posts: dedup::ExactDedup,
    seen_content: dedup::ExactDedup,
    near: Option<dedup::NearDupIndex>,
}

impl Ingestor {
    /// Builds the transform; refuses a policy that does not pseudonymise and redact.
    pub fn new(cfg: &Config, policy: &Policy, key: PseudonymKey) -> anyhow::Result<Self> {
        // Policy::load already enforces these floors; checked again because the ingest
        // would otherwise leak identities if handed an unchecked policy.
        anyhow::ensure!(
            policy.privacy.pseudonymize_authors && policy.privacy.redact_personal_data,
            "privacy.pseudonymize_authors and privacy.redact_personal_data must be true"
        );
        let i = &cfg.ingest;
        let detector = lang::LangDetector::new(&i.other_languages)
            .map_err(|e| anyhow::anyhow!("ingest.other_languages: {e}"))?;
        Ok(Ingestor {
            cfg: i.clone(),
            clean_topic: cfg.kafka.topics.clean.clone(),
            rejected_topic: cfg.kafka.topics.rejected.clone(),
            policy_hash: policy.hash(),
            key,
            redactor: redact::Redactor::new(),
            detector,
            regions: region::RegionResolver::new(),
            seen_posts: dedup::ExactDedup::new(i.dedup_window_secs, i.dedup_capacity),
            seen_content: dedup::ExactDedup::new(i.dedup_window_secs, i.dedup_capacity),
            near: i.near_dup.then(|| {
                dedup::NearDupIndex::new(
                    i.near_dup_threshold,
                    i.near_dup_capacity,
                    i.near_dup_window_secs,
                )
            }),
        })
    }

    /// Ingests a batch; one outcome per input message, in input order.
    pub fn process(&mut self, batch: &[InMsg]) -> Vec<Outcome> {
        let now = Utc::now();
        let limits = parse::Limits {
            max_message_bytes: self.cfg.max_message_bytes,
            max_future_skew_secs: self.cfg.max_future_skew_secs,
        };
        let prepared: Vec<Result<Prepared, parse::Refusal>> = {
            let this = &*self;
            batch
                .par_iter()
                .with_min_len(16)
                .map(|m| this.prepare(&m.payload, limits, now))
                .collect()
        };
        let out = prepared
            .into_iter()
            .zip(batch)
            .map(|(p, m)| {
                let source = SourceRef {
                    topic: m.topic.clone(),
                    partition: m.partition,
                    offset: m.offset,
                };
                match p.and_then(|p| self.deduplicate(p, now)) {
                    Ok((p, near)) => self.clean(p, near, source, now),
                    Err(r) => self.reject(r, &m.payload, source, now),
                }
            })
            .collect();
        DEDUP_ENTRIES.set((self.seen_posts.len() + self.seen_content.len()) as i64);
        out
    }

    /// The stateless steps: validate, normalise, redact, identify language and region, pseudonymise.
    fn prepare(
        &self,
        payload: &[u8],
        limits: parse::Limits,
        now: DateTime<Utc>,
    ) -> Result<Prepared, parse::Refusal> {
        let valid = parse::parse_raw(payload, limits, now)?;
        let refuse = |reason, detail: String| parse::Refusal {
            reason,
            field: Some("text".into()),
            detail,
            post_key: Some(valid.post_key.clone()),
            duplicate_of: None,
        };
        let normalized = normalize::normalize(&valid.post.text);
        let chars = normalized.chars().count();
        if chars > self.cfg.max_text_chars {
            return Err(refuse(
                RejectReason::TextTooLong,
                format!("{chars} characters, limit {}", self.cfg.max_text_chars),
            ));
        }
        if normalized.is_empty() {
            return Err(refuse(
                RejectReason::EmptyText,
                "no text after normalisation".into(),
            ));
        }
        let (text, redactions) = self.redactor.redact(&normalized);
        let lang = self.detector.detect(&text);
        let post = &valid.post;
        let geo = post.geo.clone().unwrap_or_default();
        let region = self.regions.resolve(&region::RegionHints {
            field: geo.region.as_deref(),
            lat: geo.lat,
            lon: geo.lon,
            place: geo.place.as_deref(),
            profile: post.author.location.as_deref(),
            text: &text,
        });
        let author_pid = self.key.pseudonymize(&post.platform, &post.author.id);
        let sketch = self.near.is_some().then(|| dedup::Sketch::of(&text));
        let digest = Sha256::new()
            .chain_update(author_pid.as_bytes())
            .chain_update([0u8])
            .chain_update(text.as_bytes())
            .finalize();
        let mut content_key = [0u8; 16];
        content_key.copy_from_slice(&digest[..16]);
        Ok(Prepared {
            valid,
            text,
            redactions,
            lang,
            region,
            author_pid,
            content_key,
            sketch,
        })
    }

    /// Drops redeliveries and same-author reposts; assigns the near-duplicate cluster.
    fn deduplicate(
        &mut self,
        p: Prepared,
        now: DateTime<Utc>,
    ) -> Result<(Prepared, Option<dedup::NearDup>), parse::Refusal> {
        let t = now.timestamp();
        let key = p.valid.post_key.clone();
        let dup = |of: String, detail: &str| parse::Refusal {
            reason: RejectReason::Duplicate,
            field: None,
            detail: detail.to_string(),
            post_key: Some(key.clone()),
            duplicate_of: Some(of),
        };
        if let Some(first) = self.seen_posts.check(key.as_bytes(), &key, t) {
            return Err(dup(first, "same platform and id"));
        }
        if let Some(first) = self.seen_content.check(&p.content_key, &key, t) {
            return Err(dup(first, "same author and text"));
        }
        let near = match (self.near.as_mut(), &p.sketch) {
            (Some(n), Some(sketch)) => Some(n.assign_sketch(sketch, &key, t)),
            _ => None,
        };
        if near.as_ref().is_some_and(|n| n.seen > 1) {
            NEAR_DUP_JOINED
                .with_label_values(&[p.lang.lang.as_str()])
                .inc();
        }
        Ok((p, near))
    }

    fn clean(
        &self,
        p: Prepared,
        near: Option<dedup::NearDup>,
        source: SourceRef,
        now: DateTime<Utc>,
    ) -> Outcome {
        let r = p.redactions;
        for (kind, n) in [
            ("iin", r.iin),
            ("phone", r.phone),
            ("email", r.email),
            ("card", r.card),
            ("mention", r.mention),
        ] {
            if n > 0 {
                REDACTED.with_label_values(&[kind]).inc_by(u64::from(n));
            }
        }
        let source_label = serde_json::to_value(p.region.1)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        CLEAN
            .with_label_values(&[p.lang.lang.as_str(), &source_label])
            .inc();
        let post = p.valid.post;
        Outcome::Clean(Box::new(CleanPost {
            schema: SCHEMA_CLEAN.to_string(),
            post_key: p.valid.post_key,
            reply_to_key: post
                .reply_to
                .as_deref()
                .map(|id| sarap_core::pseudonym::post_key(&post.platform, id)),
            platform: post.platform,
            author_pid: p.author_pid,
            author_key_id: self.key.id().to_string(),
            author_kind: post.author.kind,
            text: p.text,
            lang: p.lang.lang,
            script: p.lang.script,
            lang_confidence: p.lang.confidence,
            code_switched: p.lang.code_switched && p.lang.lang == Lang::Kk,
            region: p.region.0,
            region_source: p.region.1,
            created_at: p.valid.created_at,
            ingested_at: now,
            dup_cluster: near.as_ref().map(|n| n.cluster.clone()),
            dup_seen: near.map(|n| n.seen),
            metrics: post.metrics,
            redactions: p.redactions,
            source,
            policy_hash: self.policy_hash.clone(),
        }))
    }

    fn reject(
        &self,
        r: parse::Refusal,
        payload: &[u8],
        source: SourceRef,
        now: DateTime<Utc>,
    ) -> Outcome {
        REJECTED.with_label_values(&[r.reason.as_str()]).inc();
        Outcome::Rejected(Box::new(RejectedPost {
            schema: SCHEMA_REJECTED.to_string(),
            reason: r.reason,
            field: r.field,
            detail: r.detail,
            post_key: r.post_key,
            duplicate_of: r.duplicate_of,
            payload_sha256: hex::encode(Sha256::digest(payload)),
            payload_bytes: payload.len() as u64,
            source,
            rejected_at: now,
            policy_hash: self.policy_hash.clone(),
        }))
    }
}

impl Transform for Ingestor {
    fn transform(&mut self, batch: &[InMsg]) -> Vec<OutRecord> {
        let outcomes = self.process(batch);
        outcomes
            .into_par_iter()
            .with_min_len(64)
            .map(|o| match o {
                Outcome::Clean(c) => OutRecord {
                    topic: self.clean_topic.clone(),
                    key: Some(c.region.as_str().to_string()),
                    payload: serde_json::to_vec(&c).expect("clean post serialises"),
                },
                Outcome::Rejected(r) => OutRecord {
                    topic: self.rejected_topic.clone(),
                    key: r.post_key.clone(),
                    payload: serde_json::to_vec(&r).expect("rejection serialises"),
                },
            })
            .collect()
    }
}
