//! The aggregate of one region and window (a "cell"), and what of it may be published.
//!
//! A cell's memory is fixed: counters, a capped map of target groups, Space-Saving summaries of
//! claims and near-duplicate clusters, and HyperLogLog sketches of authors (one per pseudonym
//! key id) and of clusters. No post or author is ever stored; `author_pid` only feeds a sketch.

use crate::hll::{hash_id, Hll, AUTHOR_PRECISION, CLUSTER_PRECISION};
use crate::topk::TopK;
use crate::window::Settings;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use sarap_core::{AlertState, Lang, Region, RegionalSignal, ScoredPost, Sentiment, Window};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Distinct pseudonym key ids kept per cell; a key rotation needs two, the rest is abuse.
pub const MAX_KEY_IDS: usize = 4;
/// Distinct target groups kept per cell; more are counted under `other`.
pub const MAX_TARGETS: usize = 64;
/// Target groups counted per post; bounds one post's weight (and the noise's sensitivity).
pub const MAX_TARGETS_PER_POST: usize = 8;
/// Claims tracked per cell.
pub const CLAIM_SLOTS: usize = 32;
/// Near-duplicate clusters tracked per cell.
pub const CLUSTER_SLOTS: usize = 16;
/// Claims and clusters published per cell.
pub const TOP_PUBLISHED: usize = 10;

/// Authors seen under one pseudonymisation key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyedAuthors {
    /// The key id (`author_key_id`).
    pub key_id: String,
    /// Sketch of the pseudonyms.
    pub sketch: Hll,
}

/// The aggregate state of one cell; serialised as JSON into the store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CellState {
    /// Posts.
    pub posts: u64,
    /// Posts applied after the window closed (corrections).
    pub late_posts: u64,
    /// Posts at or above the hostility threshold.
    pub hostile: u64,
    /// Sum of negative-sentiment probabilities, in millionths. Integers, not floats: sums must
    /// be bit-identical after a store round trip, or a restarted sink would drift from an
    /// uninterrupted one.
    pub neg_micro: u64,
    /// Sum of neutral-sentiment probabilities, in millionths.
    pub neu_micro: u64,
    /// Sum of positive-sentiment probabilities, in millionths.
    pub pos_micro: u64,
    /// Posts mentioning at least one group.
    pub with_targets: u64,
    /// Mentions per target group.
    pub targets: BTreeMap<String, u64>,
    /// Posts matching a verified claim.
    pub claimed: u64,
    /// Most frequent claims.
    pub claims: TopK,
    /// Posts per language, in [`LANGS`] order.
    pub langs: [u64; 4],
    /// Posts carrying a near-duplicate cluster id.
    pub clustered: u64,
    /// Sketch of distinct clusters.
    pub clusters: Hll,
    /// Largest clusters.
    pub top_clusters: TopK,
    /// Distinct authors per pseudonym key id; never merged across keys.
    pub authors: Vec<KeyedAuthors>,
}

/// Languages in the order of [`CellState::langs`].
pub const LANGS: [Lang; 4] = [Lang::Kk, Lang::Ru, Lang::En, Lang::Other];

impl Default for CellState {
    fn default() -> Self {
        CellState {
            posts: 0,
            late_posts: 0,
            hostile: 0,
            neg_micro: 0,
            neu_micro: 0,
            pos_micro: 0,
            with_targets: 0,
            targets: BTreeMap::new(),
            claimed: 0,
            claims: TopK::new(CLAIM_SLOTS),
            langs: [0; 4],
            clustered: 0,
            clusters: Hll::new(CLUSTER_PRECISION),
            top_clusters: TopK::new(CLUSTER_SLOTS),
            authors: Vec::new(),
        }
    }
}

/// A probability in millionths (clamped to 0..1; NaN counts as 0).
fn micro(p: f32) -> u64 {
    (p.clamp(0.0, 1.0) as f64 * 1e6).round() as u64
}

/// The hashes of a post computed once for all of its cells.
#[derive(Debug, Clone, Copy)]
pub struct PostHashes {
    /// Hash of `author_pid`.
    pub author: u64,
    /// Hash of `dup_cluster`, when present.
    pub cluster: Option<u64>,
}

impl PostHashes {
    /// Hashes a post's author and cluster.
    pub fn of(p: &ScoredPost) -> PostHashes {
        PostHashes {
            author: hash_id(&p.author_pid),
            cluster: p.dup_cluster.as_deref().map(hash_id),
        }
    }
}

impl CellState {
    /// Adds one post.
    pub fn add(&mut self, p: &ScoredPost, h: PostHashes, hostile_threshold: f32, late: bool) {
        self.posts += 1;
        if late {
            self.late_posts += 1;
        }
        // The analyzer's own label at its calibrated threshold; the sink's threshold only for
        // producers that do not send one.
        if p.hostile.unwrap_or(p.hostility >= hostile_threshold) {
            self.hostile += 1;
        }
        self.neg_micro += micro(p.sentiment.neg);
        self.neu_micro += micro(p.sentiment.neu);
        self.pos_micro += micro(p.sentiment.pos);
        if !p.targets.is_empty() {
            self.with_targets += 1;
            for (i, t) in p.targets.iter().enumerate() {
                // A post naming a group twice counts once.
                if i >= MAX_TARGETS_PER_POST || p.targets[..i].contains(t) {
                    continue;
                }
                if let Some(c) = self.targets.get_mut(t.as_str()) {
                    *c += 1;
                } else if self.targets.len() < MAX_TARGETS {
                    self.targets.insert(t.clone(), 1);
                } else {
                    *self.targets.entry("other".into()).or_default() += 1;
                }
            }
        }
        if let Some(c) = &p.claim {
            self.claimed += 1;
            self.claims.add(&c.claim_id);
        }
        self.langs[match p.lang {
            Lang::Kk => 0,
            Lang::Ru => 1,
            Lang::En => 2,
            Lang::Other => 3,
        }] += 1;
        if let (Some(id), Some(hc)) = (&p.dup_cluster, h.cluster) {
            self.clustered += 1;
            self.clusters.insert_hash(hc);
            self.top_clusters.add_hashed(id, hc);
        }
        let keys = self.authors.len();
        match self
            .authors
            .iter_mut()
            .find(|a| a.key_id == p.author_key_id)
        {
            Some(a) => a.sketch.insert_hash(h.author),
            None if keys < MAX_KEY_IDS => {
                let mut sketch = Hll::new(AUTHOR_PRECISION);
                sketch.insert_hash(h.author);
                self.authors.push(KeyedAuthors {
                    key_id: p.author_key_id.clone(),
                    sketch,
                });
            }
            // Beyond the cap the post still counts, its author does not: the author count
            // stays a lower bound, which only makes suppression stricter.
            None => {}
        }
    }

    /// Estimated distinct authors: the largest per-key estimate. Pseudonyms under two keys may
    /// be the same person, so summing could count one author twice and let a cell of fewer
    /// than k people through; the maximum is a lower bound of the truth.
    pub fn authors(&self) -> u64 {
        self.authors
            .iter()
            .map(|a| a.sketch.estimate().round() as u64)
            .max()
            .unwrap_or(0)
    }

    /// Posts that copy another post of the window: posts with a cluster − distinct clusters.
    pub fn copies(&self) -> u64 {
        let distinct = (self.clusters.estimate().round() as u64).min(self.clustered);
        self.clustered - distinct
    }
}

/// Where, when and how a cell is published.
#[derive(Debug, Clone, Copy)]
pub struct CellMeta {
    /// Region.
    pub region: Region,
    /// Window start, Unix seconds.
    pub start: i64,
    /// Window end (exclusive), Unix seconds.
    pub end: i64,
    /// Publication number of this window (0 first, then corrections).
    pub revision: u32,
}

/// The shares the risk index is built from, each in 0..1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Components {
    /// Share of hostile posts.
    pub hostility: f64,
    /// Mean negative-sentiment probability.
    pub negative: f64,
    /// Share of posts matching a verified claim.
    pub claims: f64,
    /// Share of near-duplicate copies.
    pub copies: f64,
    /// Share of posts mentioning a group.
    pub targets: f64,
}

impl Components {
    /// The risk index: the weighted mean of the components, in 0..1.
    pub fn risk(&self, s: &Settings) -> f64 {
        let w = &s.weights;
        let total = w.hostility + w.negative + w.claims + w.copies + w.targets;
        let r = (w.hostility * self.hostility
            + w.negative * self.negative
            + w.claims * self.claims
            + w.copies * self.copies
            + w.targets * self.targets)
            / total;
        r.clamp(0.0, 1.0)
    }
}

/// Statistics released per cell, each a share of the window's privacy budget (epsilon / 9):
/// posts, authors, sentiment, hostility, targets, claims, languages, copies and late posts.
const NOISE_GROUPS: f64 = 9.0;

/// Laplace noise with the given scale.
fn laplace(rng: &mut ChaCha8Rng, scale: f64) -> f64 {
    let u: f64 = rng.gen_range(-0.5..0.5);
    -scale * u.signum() * (1.0 - 2.0 * u.abs()).ln()
}

/// A count with noise of `sensitivity` (or none), rounded and never negative.
fn noisy(v: f64, sensitivity: f64, noise: &mut Option<(&mut ChaCha8Rng, f64)>) -> f64 {
    match noise {
        Some((rng, eps)) => (v + laplace(rng, sensitivity * NOISE_GROUPS / *eps))
            .round()
            .max(0.0),
        None => v,
    }
}

/// The signal of a cell and, when it is published with numbers, its risk components.
///
/// Below k distinct authors the signal carries no number at all (`suppressed`). Otherwise, with
/// `noise` (a seeded generator and the policy's epsilon), every released count gets Laplace noise
/// and every share is computed from noisy counts, so everything published — the risk index and
/// the alerts derived from it included — is post-processing of the noisy release.
pub fn publish(
    state: &CellState,
    meta: CellMeta,
    s: &Settings,
    noise: Option<(&mut ChaCha8Rng, f64)>,
) -> (RegionalSignal, Option<Components>) {
    let window = Window {
        start: chrono::DateTime::from_timestamp(meta.start, 0).unwrap_or_default(),
        end: chrono::DateTime::from_timestamp(meta.end, 0).unwrap_or_default(),
    };
    let mut signal = RegionalSignal {
        schema: sarap_core::SCHEMA_SIGNAL.to_string(),
        region: meta.region,
        window,
        suppressed: true,
        n_posts: None,
        n_authors: None,
        sentiment: None,
        hostility_rate: None,
        targets: BTreeMap::new(),
        top_claims: Vec::new(),
        languages: BTreeMap::new(),
        copies: None,
        top_dup_clusters: Vec::new(),
        late_posts: None,
        risk: None,
        anomaly: None,
        alert: AlertState::None,
        policy_hash: s.policy_hash.clone(),
        revision: meta.revision,
    };
    let authors = state.authors();
    if authors < s.k as u64 || state.posts == 0 {
        return (signal, None);
    }
    let mut noise = noise;
    let posts = noisy(state.posts as f64, 1.0, &mut noise).max(1.0);
    let n_authors = noisy(authors as f64, 1.0, &mut noise);
    // Sentiment sums: one post moves the three sums by 1 in total (L1).
    let neg = noisy(state.neg_micro as f64 / 1e6, 1.0, &mut noise);
    let neu = noisy(state.neu_micro as f64 / 1e6, 1.0, &mut noise);
    let pos = noisy(state.pos_micro as f64 / 1e6, 1.0, &mut noise);
    let hostile = noisy(state.hostile as f64, 1.0, &mut noise);
    let tsens = MAX_TARGETS_PER_POST as f64 + 1.0;
    let with_targets = noisy(state.with_targets as f64, tsens, &mut noise);
    let targets: BTreeMap<String, u64> = state
        .targets
        .iter()
        .map(|(k, v)| (k.clone(), noisy(*v as f64, tsens, &mut noise) as u64))
        .filter(|(_, v)| *v > 0)
        .collect();
    let claimed = noisy(state.claimed as f64, 2.0, &mut noise);
    let top_claims: Vec<(String, u64)> = state
        .claims
        .top(TOP_PUBLISHED, 1)
        .into_iter()
        .map(|(k, v)| (k, noisy(v as f64, 2.0, &mut noise) as u64))
        .filter(|(_, v)| *v > 0)
        .collect();
    let languages: BTreeMap<String, u64> = LANGS
        .iter()
        .zip(state.langs)
        .filter(|(_, n)| *n > 0)
        .map(|(l, n)| {
            (
                l.as_str().to_string(),
                noisy(n as f64, 1.0, &mut noise) as u64,
            )
        })
        .filter(|(_, v)| *v > 0)
        .collect();
    let copies = noisy(state.copies() as f64, 2.0, &mut noise);
    let top_dup_clusters: Vec<(String, u64)> = state
        .top_clusters
        .top(TOP_PUBLISHED, 2)
        .into_iter()
        .map(|(k, v)| (k, noisy(v as f64, 2.0, &mut noise) as u64))
        .filter(|(_, v)| *v >= 2)
        .collect();
    let late = noisy(state.late_posts as f64, 1.0, &mut noise);

    let share = |x: f64| (x / posts).clamp(0.0, 1.0);
    let sent_total = (neg + neu + pos).max(1e-9);
    signal.suppressed = false;
    signal.n_posts = Some(posts as u64);
    signal.n_authors = Some(n_authors as u64);
    signal.sentiment = Some(Sentiment {
        neg: (neg / sent_total) as f32,
        neu: (neu / sent_total) as f32,
        pos: (pos / sent_total) as f32,
    });
    signal.hostility_rate = Some(share(hostile) as f32);
    signal.targets = targets;
    signal.top_claims = top_claims;
    signal.languages = languages;
    signal.copies = Some(copies as u64);
    signal.top_dup_clusters = top_dup_clusters;
    signal.late_posts = Some(late as u64);
    let c = Components {
        hostility: share(hostile),
        negative: (neg / sent_total).clamp(0.0, 1.0),
        claims: share(claimed),
        copies: share(copies),
        targets: share(with_targets),
    };
    signal.risk = Some(c.risk(s) as f32);
    (signal, Some(c))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::window::tests::settings;
    use rand::SeedableRng;
    use sarap_core::ClaimMatch;

    /// A scored post for tests: author number, hostility, time.
    pub(crate) fn post(region: Region, author: u32, hostility: f32, at: i64) -> ScoredPost {
        ScoredPost {
            schema: sarap_core::SCHEMA_SCORED.into(),
            post_key: format!("{:032x}", (author as u128) << 40 | at as u128),
            region,
            lang: if author % 2 == 0 { Lang::Kk } else { Lang::Ru },
            created_at: chrono::DateTime::from_timestamp(at, 0).unwrap(),
            sentiment: Sentiment {
                neg: 0.2,
                neu: 0.5,
                pos: 0.3,
            },
            hostility,
            targets: if hostility > 0.5 {
                vec!["uzbeks".into()]
            } else {
                vec![]
            },
            claim: (author % 7 == 0).then(|| ClaimMatch {
                claim_id: "claim-fuel-price".into(),
                similarity: 0.9,
            }),
            relevance: 0.8,
            hostile: None,
            dup_cluster: Some(format!("c{}", author % 5)),
            author_pid: format!("{:032x}", 0x5eed_0000_0000u64 + author as u64 * 7919),
            author_key_id: "k1".into(),
            model_version: "test".into(),
            policy_hash: "pol-test".into(),
            decision_id: format!("d-{author}-{at}"),
        }
    }

    fn meta() -> CellMeta {
        CellMeta {
            region: Region::Abai,
            start: 1_800_000_000,
            end: 1_800_000_300,
            revision: 0,
        }
    }

    fn cell_with_authors(n: u32, posts_each: u32) -> CellState {
        let s = settings();
        let mut c = CellState::default();
        for a in 0..n {
            for i in 0..posts_each {
                let p = post(
                    Region::Abai,
                    a,
                    if a % 4 == 0 { 0.9 } else { 0.1 },
                    1_800_000_000 + i as i64,
                );
                c.add(&p, PostHashes::of(&p), s.hostile_threshold, false);
            }
        }
        c
    }

    #[test]
    fn below_k_is_suppressed_without_any_number() {
        let s = settings();
        assert_eq!(s.k, 10);
        // Nine authors with many posts each: still fewer than k people.
        let c = cell_with_authors(9, 20);
        assert_eq!(c.posts, 180);
        let (sig, comp) = publish(&c, meta(), &s, None);
        assert!(sig.suppressed && comp.is_none());
        let v = serde_json::to_value(&sig).unwrap();
        let o = v.as_object().unwrap();
        for key in [
            "n_posts",
            "n_authors",
            "sentiment",
            "hostility_rate",
            "risk",
            "anomaly",
            "copies",
            "late_posts",
        ] {
            assert!(!o.contains_key(key), "suppressed signal carries {key}: {v}");
        }
        for key in ["targets", "languages"] {
            assert_eq!(o[key], serde_json::json!({}), "{key}");
        }
        for key in ["top_claims", "top_dup_clusters"] {
            assert_eq!(o[key], serde_json::json!([]), "{key}");
        }
        // No number anywhere in the document but the revision.
        fn numbers(v: &serde_json::Value, path: &str, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Number(_) => out.push(path.to_string()),
                serde_json::Value::Object(o) => {
                    for (k, x) in o {
                        numbers(x, &format!("{path}.{k}"), out)
                    }
                }
                serde_json::Value::Array(a) => {
                    for x in a {
                        numbers(x, path, out)
                    }
                }
                _ => {}
            }
        }
        let mut found = Vec::new();
        numbers(&v, "", &mut found);
        assert_eq!(found, vec![".revision".to_string()]);
    }

    #[test]
    fn at_k_numbers_are_published() {
        let s = settings();
        let c = cell_with_authors(10, 3);
        let (sig, comp) = publish(&c, meta(), &s, None);
        assert!(!sig.suppressed);
        assert_eq!(sig.n_posts, Some(30));
        assert_eq!(sig.n_authors, Some(10));
        // Authors 0, 4, 8 are hostile: 9 of 30 posts.
        assert!((sig.hostility_rate.unwrap() - 0.3).abs() < 1e-6);
        assert_eq!(sig.targets.get("uzbeks"), Some(&9));
        assert_eq!(sig.languages.get("kk"), Some(&15));
        assert_eq!(sig.top_claims, vec![("claim-fuel-price".to_string(), 6)]);
        // Five clusters among 30 posts: 25 copies.
        assert_eq!(sig.copies, Some(25));
        let comp = comp.unwrap();
        assert!((comp.hostility - 0.3).abs() < 1e-9);
        let risk = sig.risk.unwrap() as f64;
        assert!((risk - comp.risk(&s)).abs() < 1e-6 && risk > 0.0 && risk < 1.0);
    }

    #[test]
    fn authors_are_not_merged_across_key_ids() {
        let s = settings();
        let mut c = CellState::default();
        // The same six people before and after a key rotation: 12 pseudonyms, 6 people.
        for key in ["k1", "k2"] {
            for a in 0..6u32 {
                let mut p = post(Region::Abai, a, 0.1, 1_800_000_000);
                p.author_key_id = key.into();
                p.author_pid = format!("{key}{:030x}", a);
                c.add(&p, PostHashes::of(&p), s.hostile_threshold, false);
            }
        }
        assert_eq!(c.authors.len(), 2);
        assert_eq!(c.authors(), 6);
        assert!(publish(&c, meta(), &s, None).0.suppressed);
    }

    #[test]
    fn laplace_noise_changes_counts_but_keeps_them_sane() {
        let mut s = settings();
        s.epsilon = 1.0;
        let c = cell_with_authors(40, 5);
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (sig, _) = publish(&c, meta(), &s, Some((&mut rng, s.epsilon)));
        let n = sig.n_posts.unwrap() as f64;
        assert!(n >= 1.0 && (n - 200.0).abs() < 200.0, "{n}");
        let h = sig.hostility_rate.unwrap();
        assert!((0.0..=1.0).contains(&h));
        // Same seed, same noise: a replay publishes the same numbers.
        let mut rng2 = ChaCha8Rng::seed_from_u64(7);
        assert_eq!(publish(&c, meta(), &s, Some((&mut rng2, s.epsilon))).0, sig);
        // Noise is actually there over many draws.
        let mut differ = 0;
        for seed in 0..20 {
            let mut r = ChaCha8Rng::seed_from_u64(seed);
            if publish(&c, meta(), &s, Some((&mut r, 1.0))).0.n_posts != Some(200) {
                differ += 1;
            }
        }
        assert!(differ > 10);
    }
}
