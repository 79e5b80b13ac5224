//! Scoring (shared by the analyze role and `sarap classify`) and the analyze role's transform:
//! `posts.clean` → `posts.scored`, `audit.decisions`, `factcheck.requests`.

use crate::audit::Chain;
use crate::batcher::{Batcher, BatcherOptions};
use crate::card::{check_sha256, read_card, HeadCard};
use crate::claims::{Claim, Registry};
use crate::encoder::{Embedding, Encoder, EncoderOptions};
use crate::groups::{GroupHit, GroupLexicon};
use crate::heads::Head;
use crate::translit::model_input;
use crate::AnalyzerError;
use prometheus::{register_int_counter_vec, IntCounterVec};
use sarap_bus::{InMsg, OutRecord, Transform};
use sarap_core::config::{AnalyzeConfig, Topics};
use sarap_core::contracts::{
    AuditDecision, ClaimMatch, CleanPost, FactcheckRequest, Lang, ModelRef, RejectReason,
    RejectedPost, ScoredPost, Script, Sentiment, SCHEMA_AUDIT, SCHEMA_CLEAN, SCHEMA_FACTCHECK,
    SCHEMA_REJECTED, SCHEMA_SCORED,
};
use sarap_core::Policy;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashSet, VecDeque};
use std::path::Path;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

static DECISIONS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sarap_analyze_decisions_total",
        "Posts scored, by label",
        &["label"]
    )
    .expect("metric registers once")
});
static ANALYZE_REJECTED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sarap_analyze_rejected_total",
        "Messages on posts.clean that break the contract, sent to posts.rejected",
        &["reason"]
    )
    .expect("metric registers once")
});
static REGISTRY_RELOADS: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sarap_claims_registry_reloads_total",
        "Reloads of the verified-claims registry, by outcome",
        &["outcome"]
    )
    .expect("metric registers once")
});

/// Sentiment labels in head output order.
pub const SENTIMENT_LABELS: [&str; 3] = ["neg", "neu", "pos"];
/// Hostility labels in head output order.
pub const HOSTILITY_LABELS: [&str; 2] = ["0", "1"];
/// Languages every head must be evaluated in.
pub const EVAL_LANGS: [&str; 3] = ["kk", "ru", "en"];

/// Calibration of claim matching, written by `sarap train` beside the heads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClaimCalibration {
    /// Language-centred similarity (see [`crate::claims`]) at or above which a post matches
    /// its nearest claim.
    pub threshold: f32,
    /// SHA-256 of the encoder the threshold was calibrated with.
    pub encoder_sha256: String,
    /// SHA-256 of the labelled pairs file.
    pub pairs_sha256: String,
    /// Figures on the held-out pairs at the threshold.
    pub eval: serde_json::Value,
}

/// The features a head reads: the embedding plus whether a group is mentioned (the
/// lexicon's evidence, which the hostility head needs: hostility is toward a group).
pub fn features(e: &[f32], mentions_group: bool) -> Vec<f32> {
    let mut f = Vec::with_capacity(e.len() + 1);
    f.extend_from_slice(e);
    f.push(if mentions_group { 1.0 } else { 0.0 });
    f
}

/// Everything the analyzer decided about one text.
#[derive(Debug, Clone)]
pub struct Scoring {
    /// Sentiment distribution.
    pub sentiment: Sentiment,
    /// Most probable sentiment label.
    pub sentiment_label: &'static str,
    /// Probability of hostility toward a group.
    pub hostility: f32,
    /// Whether `hostility` reaches the threshold.
    pub hostile: bool,
    /// Group mentions found by the lexicon.
    pub groups: Vec<GroupHit>,
    /// Group ids mentioned, sorted.
    pub targets: Vec<String>,
    /// Nearest claim with its cosine similarity and language-centred score, matched or not.
    pub nearest: Option<(Claim, f32, f32)>,
    /// The nearest claim when it reaches the calibrated threshold.
    pub matched: Option<ClaimMatch>,
    /// Relevance to the declared purpose, 0..1.
    pub relevance: f32,
}

/// Encoder, batcher, heads, lexicon and calibration: the loaded model bundle.
pub struct Models {
    /// The queue in front of the encoder.
    pub batcher: Arc<Batcher>,
    /// Sentiment head.
    pub sentiment: Head,
    /// Its card.
    pub sentiment_card: HeadCard,
    /// Hostility head.
    pub hostility: Head,
    /// Its card.
    pub hostility_card: HeadCard,
    /// Claim-matching calibration.
    pub claims: ClaimCalibration,
    /// Group lexicon.
    pub lexicon: &'static GroupLexicon,
    /// Identity of the whole bundle, for audit records and `model_version`.
    pub bundle: ModelRef,
}

/// Reads a head and its card, checked against the policy and the encoder.
pub fn load_head(
    dir: &Path,
    id: &str,
    encoder: &Encoder,
    policy: &Policy,
) -> Result<(Head, HeadCard), AnalyzerError> {
    let card: HeadCard = read_card(&dir.join(format!("{id}.card.json")), policy)?;
    let path = dir.join(&card.file);
    check_sha256(&path, &card.sha256, policy)?;
    if card.encoder_sha256 != encoder.model_ref.sha256 {
        return Err(AnalyzerError::Card(format!(
            "head {id} was trained on encoder {} but the encoder loaded is {}: run `sarap train`",
            card.encoder_sha256, encoder.model_ref.sha256
        )));
    }
    card.check(policy, &EVAL_LANGS)?;
    let text = std::fs::read_to_string(&path).map_err(|e| AnalyzerError::io(&path, e))?;
    let head: Head = serde_json::from_str(&text)
        .map_err(|e| AnalyzerError::Card(format!("{}: {e}", path.display())))?;
    head.validate(encoder.dims() + 1)?;
    Ok((head, card))
}

/// Loads the encoder and starts its batcher (no heads: for training and benchmarks).
pub fn load_batcher(cfg: &AnalyzeConfig, policy: &Policy) -> Result<Arc<Batcher>, AnalyzerError> {
    let encoder = Encoder::load(
        &EncoderOptions {
            models_dir: cfg.models_dir.clone(),
            ort_library: cfg.ort_library.clone(),
            threads: cfg.threads,
            max_tokens: cfg.max_tokens,
        },
        policy,
    )?;
    Ok(Arc::new(Batcher::start(
        Arc::new(encoder),
        BatcherOptions {
            max_batch: cfg.max_batch,
            token_budget: cfg.token_budget,
            max_wait: Duration::from_millis(cfg.max_wait_ms),
            queue_capacity: cfg.queue_capacity,
            cache_capacity: cfg.cache_capacity,
        },
    )))
}

impl Models {
    /// Loads and checks everything; refuses models without cards or with other sha256s.
    pub fn load(cfg: &AnalyzeConfig, policy: &Policy) -> Result<Self, AnalyzerError> {
        let batcher = load_batcher(cfg, policy)?;
        Models::with_batcher(batcher, &cfg.heads_dir, policy)
    }

    /// Loads heads and calibration for an already running batcher.
    pub fn with_batcher(
        batcher: Arc<Batcher>,
        heads_dir: &Path,
        policy: &Policy,
    ) -> Result<Self, AnalyzerError> {
        let enc = batcher.encoder().clone();
        let (sentiment, sentiment_card) = load_head(heads_dir, "sentiment", &enc, policy)?;
        let (hostility, hostility_card) = load_head(heads_dir, "hostility", &enc, policy)?;
        let claims: ClaimCalibration = read_card(&heads_dir.join("claims.card.json"), policy)?;
        if claims.encoder_sha256 != enc.model_ref.sha256 {
            return Err(AnalyzerError::Card(
                "claims.card.json was calibrated on another encoder: run `sarap train`".into(),
            ));
        }
        let lexicon = GroupLexicon::builtin();
        let mut h = Sha256::new();
        for part in [
            enc.model_ref.sha256.as_str(),
            sentiment_card.sha256.as_str(),
            hostility_card.sha256.as_str(),
            &format!("{}", claims.threshold),
            lexicon_sha256(),
        ] {
            h.update(part.as_bytes());
            h.update(b"\n");
        }
        let bundle_sha = hex::encode(h.finalize());
        let short = |s: &str| s.chars().take(8).collect::<String>();
        let bundle = ModelRef {
            id: "sarap-analyzer".into(),
            version: format!(
                "e5s-{}.sent-{}.host-{}",
                short(&enc.model_ref.sha256),
                short(&sentiment_card.sha256),
                short(&hostility_card.sha256)
            ),
            sha256: bundle_sha,
        };
        Ok(Models {
            batcher,
            sentiment,
            sentiment_card,
            hostility,
            hostility_card,
            claims,
            lexicon,
            bundle,
        })
    }

    /// Threshold on the hostility probability.
    pub fn hostility_threshold(&self) -> f32 {
        self.hostility_card
            .thresholds
            .get("hostility")
            .copied()
            .unwrap_or(0.5)
    }

    /// Scores texts (already normalised and redacted), each with its language and script,
    /// against a claim registry. Latin-script Kazakh reaches the encoder in Cyrillic.
    pub fn score(
        &self,
        texts: &[&str],
        scripts: &[(Lang, Script)],
        registry: &Registry,
    ) -> Result<Vec<Scoring>, AnalyzerError> {
        let inputs: Vec<std::borrow::Cow<str>> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let (l, s) = scripts
                    .get(i)
                    .copied()
                    .unwrap_or((Lang::Other, Script::Other));
                model_input(t, l, s)
            })
            .collect();
        let refs: Vec<&str> = inputs.iter().map(|c| c.as_ref()).collect();
        let embs = self.batcher.embed(&refs)?;
        Ok(texts
            .iter()
            .zip(embs)
            .map(|(t, e)| self.score_one(t, &e, registry))
            .collect())
    }

    fn score_one(&self, text: &str, e: &Embedding, registry: &Registry) -> Scoring {
        let groups = self.lexicon.find(text);
        let mut targets: Vec<String> = groups.iter().map(|g| g.group.to_string()).collect();
        targets.sort();
        targets.dedup();
        let f = features(e, !targets.is_empty());
        let s = self.sentiment.predict(&f);
        let sentiment = Sentiment {
            neg: round4(s[0]),
            neu: round4(s[1]),
            pos: round4(s[2]),
        };
        let best = (0..3).max_by(|&a, &b| s[a].total_cmp(&s[b])).unwrap_or(1);
        let hostility = round4(self.hostility.predict(&f)[1]);
        let hostile = hostility >= self.hostility_threshold();
        let nearest = registry.nearest(e).map(|n| {
            (
                registry.claims()[n.index].clone(),
                round4(n.similarity),
                round4(n.score),
            )
        });
        let matched = nearest.as_ref().and_then(|(c, sim, score)| {
            (*score >= self.claims.threshold).then(|| ClaimMatch {
                claim_id: c.claim_id.clone(),
                similarity: *sim,
            })
        });
        // Relevance to the declared purpose: hostility toward a group, a known claim,
        // or at least a group being talked about.
        let relevance = hostility
            .max(if matched.is_some() { 1.0 } else { 0.0 })
            .max(if targets.is_empty() { 0.0 } else { 0.5 });
        Scoring {
            sentiment,
            sentiment_label: SENTIMENT_LABELS[best],
            hostility,
            hostile,
            groups,
            targets,
            nearest,
            matched,
            relevance,
        }
    }
}

/// An f32 as the f64 with the same four decimals, so JSON shows `0.9`, not `0.8999999761581421`.
fn dec4(v: f32) -> f64 {
    (v as f64 * 10_000.0).round() / 10_000.0
}

/// SHA-256 of the built-in group lexicon, part of the bundle's identity.
fn lexicon_sha256() -> &'static str {
    static SHA: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SHA.get_or_init(|| hex::encode(Sha256::digest(crate::groups::LEXICON_TSV.as_bytes())))
}

/// Rounds to four decimals, so records print the same in every JSON implementation.
pub fn round4(v: f32) -> f32 {
    ((v as f64 * 10_000.0).round() / 10_000.0) as f32
}

/// Words that mark a statement of fact worth checking (announcements, decrees, numbers
/// are handled separately), in kk, ru and en.
const CLAIM_MARKERS: [&str; 30] = [
    "указ",
    "закон",
    "постановлен",
    "правительств",
    "министр",
    "официальн",
    "срочно",
    "говорят",
    "с 1",
    "с 15",
    "жарлық",
    "үкімет",
    "шұғыл",
    "ресми",
    "заң",
    "министрлі",
    "деп жатыр",
    "jarlyq",
    "úkimet",
    "shuǵyl",
    "decree",
    "government",
    "officially",
    "breaking",
    "ministry",
    "law",
    "announced",
    "will be",
    "from monday",
    "starting",
];

/// Whether a text states something checkable: a number or a claim marker.
pub fn check_worthy(text: &str) -> bool {
    let lower = text.to_lowercase();
    lower.chars().any(|c| c.is_ascii_digit()) || CLAIM_MARKERS.iter().any(|m| lower.contains(m))
}

/// The analyze role's transform.
pub struct Analyzer {
    models: Arc<Models>,
    registry: Registry,
    chain: Chain,
    policy_hash: String,
    topics: Topics,
    excerpts: bool,
    factcheck: bool,
    factcheck_min_cluster: u32,
    requested: VecDeque<String>,
    requested_set: HashSet<String>,
}

/// Clusters remembered as already sent to fact-checkers.
const REQUESTED_CAPACITY: usize = 100_000;

impl Analyzer {
    /// A transform over loaded models, with a fresh audit chain for this process.
    pub fn new(
        models: Arc<Models>,
        registry: Registry,
        policy: &Policy,
        cfg: &AnalyzeConfig,
        topics: &Topics,
    ) -> Self {
        Analyzer {
            models,
            registry,
            chain: Chain::new_for_process(),
            policy_hash: policy.hash(),
            topics: topics.clone(),
            excerpts: policy.retention.audit_excerpt_days > 0,
            factcheck: policy
                .purpose
                .allowed_outputs
                .iter()
                .any(|o| o == "factcheck_requests"),
            factcheck_min_cluster: cfg.factcheck_min_cluster,
            requested: VecDeque::new(),
            requested_set: HashSet::new(),
        }
    }

    /// The audit chain id of this process.
    pub fn chain_id(&self) -> &str {
        self.chain.id()
    }

    fn reject(&self, m: &InMsg, reason: RejectReason, detail: String) -> OutRecord {
        ANALYZE_REJECTED.with_label_values(&[reason.as_str()]).inc();
        let r = RejectedPost {
            schema: SCHEMA_REJECTED.into(),
            reason,
            field: None,
            detail: format!("analyze: {detail}"),
            post_key: None,
            duplicate_of: None,
            payload_sha256: hex::encode(Sha256::digest(&m.payload)),
            payload_bytes: m.payload.len() as u64,
            source: m.source(),
            rejected_at: chrono::Utc::now(),
            policy_hash: self.policy_hash.clone(),
        };
        OutRecord {
            topic: self.topics.rejected.clone(),
            key: None,
            payload: serde_json::to_vec(&r).expect("rejections serialise"),
        }
    }

    fn remember_request(&mut self, cluster: &str) -> bool {
        if self.requested_set.contains(cluster) {
            return false;
        }
        if self.requested.len() >= REQUESTED_CAPACITY {
            if let Some(old) = self.requested.pop_front() {
                self.requested_set.remove(&old);
            }
        }
        self.requested.push_back(cluster.to_string());
        self.requested_set.insert(cluster.to_string());
        true
    }

    fn decide(&mut self, post: &CleanPost, s: &Scoring) -> Vec<OutRecord> {
        let m = &self.models;
        let mut h = Sha256::new();
        for part in [&post.post_key, &m.bundle.sha256, &self.policy_hash] {
            h.update(part.as_bytes());
            h.update(b"|");
        }
        // Deterministic: a re-delivered post gets the same id, so auditors can spot repeats.
        let decision_id = format!("d-{}", &hex::encode(h.finalize())[..24]);
        let mut labels = vec![format!("sentiment:{}", s.sentiment_label)];
        if s.hostile {
            labels.push("hostile".into());
        }
        if let Some(c) = &s.matched {
            labels.push(format!("claim:{}", c.claim_id));
        }
        for l in &labels {
            DECISIONS
                .with_label_values(&[l.split(':').next().unwrap_or(l)])
                .inc();
        }
        let groups: Vec<serde_json::Value> = s
            .groups
            .iter()
            .map(|g| serde_json::json!({"group": g.group, "form": g.form}))
            .collect();
        let nearest = s.nearest.as_ref().map(|(c, sim, score)| {
            serde_json::json!({"claim_id": c.claim_id, "verdict": c.verdict, "similarity": dec4(*sim),
                "score": dec4(*score), "claim_lang": c.lang, "matched": s.matched.is_some()})
        });
        let explanation = serde_json::json!({
            "groups": groups,
            "nearest_claim": nearest,
            "lang": post.lang.as_str(),
            "script": post.script,
            "lang_confidence": dec4(post.lang_confidence),
            "code_switched": post.code_switched,
            "region": post.region.as_str(),
            "region_source": post.region_source,
            "dup_cluster": post.dup_cluster,
            "heads": {
                "sentiment": {"version": m.sentiment_card.version, "sha256": m.sentiment_card.sha256},
                "hostility": {"version": m.hostility_card.version, "sha256": m.hostility_card.sha256},
                "encoder": {"id": m.batcher.encoder().model_ref.id, "sha256": m.batcher.encoder().model_ref.sha256},
            },
        });
        let mut scores = std::collections::BTreeMap::new();
        scores.insert("sentiment.neg".to_string(), s.sentiment.neg);
        scores.insert("sentiment.neu".to_string(), s.sentiment.neu);
        scores.insert("sentiment.pos".to_string(), s.sentiment.pos);
        scores.insert("hostility".to_string(), s.hostility);
        if let Some((_, sim, score)) = &s.nearest {
            scores.insert("claim_similarity".to_string(), *sim);
            scores.insert("claim_score".to_string(), *score);
        }
        let mut thresholds = std::collections::BTreeMap::new();
        thresholds.insert("hostility".to_string(), round4(m.hostility_threshold()));
        thresholds.insert("claim_score".to_string(), round4(m.claims.threshold));
        let now = chrono::Utc::now();
        let excerpt: Option<String> = self.excerpts.then(|| post.text.chars().take(280).collect());
        let record = self.chain.seal(AuditDecision {
            schema: SCHEMA_AUDIT.into(),
            decision_id: decision_id.clone(),
            chain: String::new(),
            seq: 0,
            prev_hash: String::new(),
            hash: String::new(),
            at: now,
            post_key: post.post_key.clone(),
            input_sha256: hex::encode(Sha256::digest(post.text.as_bytes())),
            model: m.bundle.clone(),
            policy_hash: self.policy_hash.clone(),
            scores,
            thresholds,
            labels,
            explanation,
            excerpt_sha256: excerpt
                .as_ref()
                .map(|e: &String| hex::encode(Sha256::digest(e.as_bytes()))),
            excerpt,
        });
        let scored = ScoredPost {
            schema: SCHEMA_SCORED.into(),
            post_key: post.post_key.clone(),
            region: post.region,
            lang: post.lang,
            created_at: post.created_at,
            sentiment: s.sentiment,
            hostility: s.hostility,
            targets: s.targets.clone(),
            claim: s.matched.clone(),
            relevance: s.relevance,
            hostile: Some(s.hostile),
            dup_cluster: post.dup_cluster.clone(),
            author_pid: post.author_pid.clone(),
            author_key_id: post.author_key_id.clone(),
            model_version: m.bundle.version.clone(),
            policy_hash: self.policy_hash.clone(),
            decision_id,
        };
        let mut out = vec![
            OutRecord {
                topic: self.topics.scored.clone(),
                key: Some(post.region.as_str().to_string()),
                payload: serde_json::to_vec(&scored).expect("scored posts serialise"),
            },
            OutRecord {
                topic: self.topics.audit.clone(),
                key: Some(record.chain.clone()),
                payload: serde_json::to_vec(&record).expect("audit records serialise"),
            },
        ];
        let spread = post.dup_seen.unwrap_or(1);
        if self.factcheck
            && s.matched.is_none()
            && spread >= self.factcheck_min_cluster
            && check_worthy(&post.text)
        {
            let cluster = post
                .dup_cluster
                .clone()
                .unwrap_or_else(|| post.post_key.clone());
            if self.remember_request(&cluster) {
                let req = FactcheckRequest {
                    schema: SCHEMA_FACTCHECK.into(),
                    post_key: post.post_key.clone(),
                    dup_cluster: post.dup_cluster.clone(),
                    region: post.region,
                    lang: post.lang,
                    text: post.text.clone(),
                    cluster_posts: spread,
                    nearest_claim: s.nearest.as_ref().map(|(c, sim, _)| ClaimMatch {
                        claim_id: c.claim_id.clone(),
                        similarity: *sim,
                    }),
                    requested_at: now,
                    policy_hash: self.policy_hash.clone(),
                };
                out.push(OutRecord {
                    topic: self.topics.factcheck.clone(),
                    key: Some(cluster),
                    payload: serde_json::to_vec(&req).expect("requests serialise"),
                });
            }
        }
        out
    }
}

impl Transform for Analyzer {
    fn transform(&mut self, batch: &[InMsg]) -> Vec<OutRecord> {
        // Only reached through `try_transform`'s default by callers that ignore errors.
        self.try_transform(batch).unwrap_or_default()
    }

    fn try_transform(&mut self, batch: &[InMsg]) -> anyhow::Result<Vec<OutRecord>> {
        match self.registry.reload_if_changed(&self.models.batcher) {
            Ok(true) => {
                REGISTRY_RELOADS.with_label_values(&["ok"]).inc();
                tracing::info!(
                    claims = self.registry.claims().len(),
                    "claims registry reloaded"
                );
            }
            Ok(false) => {}
            Err(e) => {
                REGISTRY_RELOADS.with_label_values(&["error"]).inc();
                tracing::error!("claims registry not reloaded, keeping the previous one: {e}");
            }
        }
        let mut out = Vec::with_capacity(batch.len() * 2);
        let mut posts: Vec<CleanPost> = Vec::with_capacity(batch.len());
        for m in batch {
            match parse_clean(&m.payload) {
                Ok(p) => posts.push(p),
                Err((reason, detail)) => out.push(self.reject(m, reason, detail)),
            }
        }
        let texts: Vec<&str> = posts.iter().map(|p| p.text.as_str()).collect();
        let scripts: Vec<(Lang, Script)> = posts.iter().map(|p| (p.lang, p.script)).collect();
        let scorings = self.models.score(&texts, &scripts, &self.registry)?;
        for (p, s) in posts.iter().zip(&scorings) {
            out.extend(self.decide(p, s));
        }
        Ok(out)
    }
}

/// Parses a `posts.clean` message; the reason says what broke.
fn parse_clean(payload: &[u8]) -> Result<CleanPost, (RejectReason, String)> {
    let text = std::str::from_utf8(payload).map_err(|_| {
        (
            RejectReason::InvalidUtf8,
            "payload is not UTF-8".to_string(),
        )
    })?;
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        (
            RejectReason::NotJson,
            format!("not JSON: line {} column {}", e.line(), e.column()),
        )
    })?;
    if v.get("schema").and_then(|s| s.as_str()) != Some(SCHEMA_CLEAN) {
        return Err((
            RejectReason::UnknownSchema,
            format!("expected schema {SCHEMA_CLEAN}"),
        ));
    }
    serde_json::from_value(v).map_err(|e| {
        // serde's message names the field, never the text.
        let msg = e.to_string();
        let reason = if msg.starts_with("missing field") {
            RejectReason::MissingField
        } else {
            RejectReason::InvalidField
        };
        (reason, msg.chars().take(200).collect())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_worthiness_needs_a_number_or_a_marker() {
        assert!(check_worthy("С 1 декабря бензин подорожает"));
        assert!(check_worthy("Breaking: the government froze deposits"));
        assert!(check_worthy("Жарлық шықты!"));
        assert!(!check_worthy("Какой красивый закат сегодня"));
        assert!(!check_worthy("Keremet kún!"));
    }

    #[test]
    fn broken_clean_messages_get_reasons_not_panics() {
        assert_eq!(
            parse_clean(b"\xff\xfe").unwrap_err().0,
            RejectReason::InvalidUtf8
        );
        assert_eq!(parse_clean(b"{").unwrap_err().0, RejectReason::NotJson);
        assert_eq!(
            parse_clean(br#"{"schema":"sarap.post.raw/1"}"#)
                .unwrap_err()
                .0,
            RejectReason::UnknownSchema
        );
        assert_eq!(
            parse_clean(br#"{"schema":"sarap.post.clean/1"}"#)
                .unwrap_err()
                .0,
            RejectReason::MissingField
        );
    }

    #[test]
    fn rounding_keeps_four_decimals() {
        assert_eq!(round4(0.123_456), 0.1235);
        assert_eq!(round4(1.0), 1.0);
    }
}
