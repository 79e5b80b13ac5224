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
    CleanPost, Lang, Policy, RedactionCounts, RegionSource, RejectReason, RejectedPost,
    SCHEMA_CLEAN, SCHEMA_REJECTED,
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

/// Posts per chunk of a batch. Deduplication (sequential, in input order) of one chunk runs
/// while the stateless steps of the next chunk run on the other threads, so no core waits
/// for the sequential part; a chunk is small enough for several to overlap in a 2000-post
/// batch and large enough to split well across threads.
const CHUNK: usize = 256;

/// A post after the stateless steps, waiting for deduplication.
struct Prepared {
    /// The clean post, without its near-duplicate cluster (assigned by deduplication).
    post: Box<CleanPost>,
    /// `post` serialised, when the caller produces bytes; the cluster fields are appended
    /// after deduplication.
    json: Option<Vec<u8>>,
    /// Key of the post's identity (platform and id): redeliveries.
    post_id_key: dedup::Key128,
    /// Key of pseudonym and text: same-author reposts.
    content_key: dedup::Key128,
    sketch: Option<dedup::Sketch>,
}

/// A post after deduplication: clean with its cluster, or refused.
type Decided = Result<(Prepared, Option<dedup::NearDup>), parse::Refusal>;

/// The steps that need no state across posts; shared read-only by the worker threads.
struct Stages {
    cfg: IngestConfig,
    clean_topic: String,
    rejected_topic: String,
    policy_hash: String,
    key: PseudonymKey,
    redactor: redact::Redactor,
    detector: lang::LangDetector,
    regions: region::RegionResolver,
    near_dup: bool,
}

/// What deduplication remembers, updated in input order.
struct DedupState {
    seen_posts: dedup::ExactDedup,
    seen_content: dedup::ExactDedup,
    near: Option<dedup::NearDupIndex>,
}

/// Per-batch metric counts, added to the registry once per batch: looking a labelled counter
/// up per post cost more than some of the steps.
#[derive(Default)]
struct Counts {
    clean: [[u64; RegionSource::ALL.len()]; 4],
    redactions: RedactionCounts,
    near_joined: [u64; 4],
    rejected: Vec<(RejectReason, u64)>,
}

const LANGS: [Lang; 4] = [Lang::Kk, Lang::Ru, Lang::En, Lang::Other];

fn lang_index(l: Lang) -> usize {
    LANGS.iter().position(|x| *x == l).unwrap_or(3)
}

impl Counts {
    fn reject(&mut self, reason: RejectReason) {
        match self.rejected.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, n)) => *n += 1,
            None => self.rejected.push((reason, 1)),
        }
    }

    fn clean(&mut self, p: &CleanPost) {
        let src = RegionSource::ALL
            .iter()
            .position(|s| *s == p.region_source)
            .unwrap_or(RegionSource::ALL.len() - 1);
        self.clean[lang_index(p.lang)][src] += 1;
        let (a, r) = (&mut self.redactions, p.redactions);
        a.iin += r.iin;
        a.phone += r.phone;
        a.email += r.email;
        a.card += r.card;
        a.mention += r.mention;
    }

    fn publish(&self) {
        for (li, row) in self.clean.iter().enumerate() {
            for (si, &n) in row.iter().enumerate() {
                if n > 0 {
                    CLEAN
                        .with_label_values(&[LANGS[li].as_str(), RegionSource::ALL[si].as_str()])
                        .inc_by(n);
                }
            }
        }
        let r = self.redactions;
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
        for (li, &n) in self.near_joined.iter().enumerate() {
            if n > 0 {
                NEAR_DUP_JOINED
                    .with_label_values(&[LANGS[li].as_str()])
                    .inc_by(n);
            }
        }
        for (reason, n) in &self.rejected {
            REJECTED.with_label_values(&[reason.as_str()]).inc_by(*n);
        }
    }
}

/// The ingest transform with its deduplication state.
pub struct Ingestor {
    stages: Stages,
    state: DedupState,
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
            stages: Stages {
                cfg: i.clone(),
                clean_topic: cfg.kafka.topics.clean.clone(),
                rejected_topic: cfg.kafka.topics.rejected.clone(),
                policy_hash: policy.hash(),
                key,
                redactor: redact::Redactor::new(),
                detector,
                regions: region::RegionResolver::new(),
                near_dup: i.near_dup,
            },
            state: DedupState {
                seen_posts: dedup::ExactDedup::new(i.dedup_window_secs, i.dedup_capacity),
                seen_content: dedup::ExactDedup::new(i.dedup_window_secs, i.dedup_capacity),
                near: i.near_dup.then(|| {
                    dedup::NearDupIndex::new(
                        i.near_dup_threshold,
                        i.near_dup_capacity,
                        i.near_dup_window_secs,
                    )
                }),
            },
        })
    }

    /// Ingests a batch; one outcome per input message, in input order.
    pub fn process(&mut self, batch: &[InMsg]) -> Vec<Outcome> {
        self.run(batch, false, |stages, decided, m, now, counts| match stages
            .finish(decided, m, now, counts)
        {
            Ok((mut p, near)) => {
                if let Some(n) = near {
                    p.post.dup_cluster = Some(n.cluster);
                    p.post.dup_seen = Some(n.seen);
                }
                Outcome::Clean(p.post)
            }
            Err(r) => Outcome::Rejected(r),
        })
    }

    /// The batch driver: the stateless steps of chunk k+1 run in parallel while chunk k is
    /// deduplicated in input order; `emit` turns each decided post into the caller's output.
    fn run<O: Send>(
        &mut self,
        batch: &[InMsg],
        serialise: bool,
        emit: impl Fn(&Stages, Decided, &InMsg, DateTime<Utc>, &mut Counts) -> O + Sync,
    ) -> Vec<O> {
        let now = Utc::now();
        let (stages, state) = (&self.stages, &mut self.state);
        let chunks: Vec<&[InMsg]> = batch.chunks(CHUNK).collect();
        let mut out = Vec::with_capacity(batch.len());
        let mut counts = Counts::default();
        let mut ready = chunks
            .first()
            .map(|c| stages.prepare_chunk(c, serialise, now));
        for (k, chunk) in chunks.iter().enumerate() {
            let prepared = ready.take().unwrap_or_default();
            let next = chunks.get(k + 1);
            let (done, next) = rayon::join(
                || {
                    let mut done = Vec::with_capacity(chunk.len());
                    for (p, m) in prepared.into_iter().zip(chunk.iter()) {
                        let decided = p.and_then(|p| state.deduplicate(p, now, &mut counts));
                        done.push(emit(stages, decided, m, now, &mut counts));
                    }
                    done
                },
                || next.map(|c| stages.prepare_chunk(c, serialise, now)),
            );
            out.extend(done);
            ready = next;
        }
        counts.publish();
        DEDUP_ENTRIES.set((state.seen_posts.len() + state.seen_content.len()) as i64);
        out
    }
}

impl Stages {
    fn limits(&self) -> parse::Limits {
        parse::Limits {
            max_message_bytes: self.cfg.max_message_bytes,
            max_future_skew_secs: self.cfg.max_future_skew_secs,
        }
    }

    fn prepare_chunk(
        &self,
        chunk: &[InMsg],
        serialise: bool,
        now: DateTime<Utc>,
    ) -> Vec<Result<Prepared, parse::Refusal>> {
        let limits = self.limits();
        chunk
            .par_iter()
            .with_min_len(16)
            .map(|m| self.prepare(m, limits, now, serialise))
            .collect()
    }

    /// The stateless steps: validate, normalise, redact, identify language and region,
    /// pseudonymise, build (and serialise) the clean post.
    fn prepare(
        &self,
        m: &InMsg,
        limits: parse::Limits,
        now: DateTime<Utc>,
        serialise: bool,
    ) -> Result<Prepared, parse::Refusal> {
        let valid = parse::parse_raw(&m.payload, limits, now)?;
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
        let post = valid.post;
        let geo = post.geo.unwrap_or_default();
        let (region, region_source) = self.regions.resolve(&region::RegionHints {
            field: geo.region.as_deref(),
            lat: geo.lat,
            lon: geo.lon,
            place: geo.place.as_deref(),
            profile: post.author.location.as_deref(),
            text: &text,
        });
        let author_pid = self.key.pseudonymize(&post.platform, &post.author.id);
        let sketch = self.near_dup.then(|| dedup::Sketch::of(&text));
        let post_id_key = dedup::Key128::of(valid.post_key.as_bytes());
        let content_key = dedup::Key128::of_parts(&[author_pid.as_bytes(), text.as_bytes()]);
        let clean = Box::new(CleanPost {
            schema: SCHEMA_CLEAN.to_string(),
            post_key: valid.post_key,
            reply_to_key: post
                .reply_to
                .as_deref()
                .map(|id| sarap_core::pseudonym::post_key(&post.platform, id)),
            platform: post.platform,
            author_pid,
            author_key_id: self.key.id().to_string(),
            author_kind: post.author.kind,
            text,
            lang: lang.lang,
            script: lang.script,
            lang_confidence: lang.confidence,
            code_switched: lang.code_switched && lang.lang == Lang::Kk,
            region,
            region_source,
            created_at: valid.created_at,
            ingested_at: now,
            dup_cluster: None,
            dup_seen: None,
            metrics: post.metrics,
            redactions,
            source: m.source(),
            policy_hash: self.policy_hash.clone(),
        });
        let json = serialise.then(|| serde_json::to_vec(&clean).expect("clean post serialises"));
        Ok(Prepared {
            post: clean,
            json,
            post_id_key,
            content_key,
            sketch,
        })
    }

    /// Counts a decided post; turns a refusal into its rejection record.
    fn finish(
        &self,
        decided: Decided,
        m: &InMsg,
        now: DateTime<Utc>,
        counts: &mut Counts,
    ) -> Result<(Prepared, Option<dedup::NearDup>), Box<RejectedPost>> {
        match decided {
            Ok((p, near)) => {
                counts.clean(&p.post);
                Ok((p, near))
            }
            Err(r) => {
                counts.reject(r.reason);
                Err(Box::new(self.rejection(r, m, now)))
            }
        }
    }

    fn rejection(&self, r: parse::Refusal, m: &InMsg, now: DateTime<Utc>) -> RejectedPost {
        RejectedPost {
            schema: SCHEMA_REJECTED.to_string(),
            reason: r.reason,
            field: r.field,
            detail: r.detail,
            post_key: r.post_key,
            duplicate_of: r.duplicate_of,
            payload_sha256: hex::encode(Sha256::digest(&m.payload)),
            payload_bytes: m.payload.len() as u64,
            source: m.source(),
            rejected_at: now,
            policy_hash: self.policy_hash.clone(),
        }
    }
}

impl DedupState {
    /// Drops redeliveries and same-author reposts; assigns the near-duplicate cluster.
    fn deduplicate(&mut self, p: Prepared, now: DateTime<Utc>, counts: &mut Counts) -> Decided {
        let t = now.timestamp();
        let key = &p.post.post_key;
        let dup = |of: String, detail: &str| parse::Refusal {
            reason: RejectReason::Duplicate,
            field: None,
            detail: detail.to_string(),
            post_key: Some(key.clone()),
            duplicate_of: Some(of),
        };
        if let Some(first) = self.seen_posts.check_key(p.post_id_key, key, t) {
            return Err(dup(first, "same platform and id"));
        }
        if let Some(first) = self.seen_content.check_key(p.content_key, key, t) {
            return Err(dup(first, "same author and text"));
        }
        let near = match (self.near.as_mut(), &p.sketch) {
            (Some(n), Some(sketch)) => Some(n.assign_sketch(sketch, key, t)),
            _ => None,
        };
        if near.as_ref().is_some_and(|n| n.seen > 1) {
            counts.near_joined[lang_index(p.post.lang)] += 1;
        }
        Ok((p, near))
    }
}

/// Appends the near-duplicate fields to a serialised clean post (an object ending in `}`).
fn append_cluster(json: &mut Vec<u8>, near: &dedup::NearDup) {
    debug_assert_eq!(json.last(), Some(&b'}'));
    json.pop();
    json.extend_from_slice(b",\"dup_cluster\":");
    serde_json::to_writer(&mut *json, &near.cluster).expect("writing to a Vec cannot fail");
    json.extend_from_slice(b",\"dup_seen\":");
    json.extend_from_slice(near.seen.to_string().as_bytes());
    json.push(b'}');
}

impl Transform for Ingestor {
    fn transform(&mut self, batch: &[InMsg]) -> Vec<OutRecord> {
        self.run(batch, true, |stages, decided, m, now, counts| match stages
            .finish(decided, m, now, counts)
        {
            Ok((p, near)) => {
                let mut payload = p.json.expect("serialised in prepare");
                if let Some(n) = &near {
                    append_cluster(&mut payload, n);
                }
                OutRecord {
                    topic: stages.clean_topic.clone(),
                    key: Some(p.post.region.as_str().to_string()),
                    payload,
                }
            }
            Err(r) => OutRecord {
                topic: stages.rejected_topic.clone(),
                key: r.post_key.clone(),
                payload: serde_json::to_vec(&r).expect("rejection serialises"),
            },
        })
    }
}
