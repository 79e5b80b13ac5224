//! Message contracts: one typed struct per Kafka topic, each carrying a `schema` id.
//!
//! `posts.raw` is what platforms send and is read leniently (unknown fields are ignored,
//! since connectors add their own); every topic Sarap writes is strict (`deny_unknown_fields`)
//! so that a producer bug is caught by the contract tests rather than by an analyst.

use crate::regions::Region;
use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Schema id of `posts.raw` messages.
pub const SCHEMA_RAW: &str = "sarap.post.raw/1";
/// Schema id of `posts.clean` messages.
pub const SCHEMA_CLEAN: &str = "sarap.post.clean/1";
/// Schema id of `posts.rejected` messages.
pub const SCHEMA_REJECTED: &str = "sarap.post.rejected/1";
/// Schema id of `posts.scored` messages.
pub const SCHEMA_SCORED: &str = "sarap.post.scored/1";
/// Schema id of `audit.decisions` messages.
pub const SCHEMA_AUDIT: &str = "sarap.audit.decision/1";
/// Schema id of `signals.regional` messages.
pub const SCHEMA_SIGNAL: &str = "sarap.signal.regional/1";
/// Schema id of `factcheck.requests` messages.
pub const SCHEMA_FACTCHECK: &str = "sarap.factcheck.request/1";

/// Who posted: a private person, a media outlet or an official body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AuthorKind {
    /// A private person; never the subject of any output.
    Person,
    /// A media outlet.
    Outlet,
    /// A government or official account.
    Official,
}

/// The author block of a raw post. The id is the platform's; it never leaves ingest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RawAuthor {
    /// Platform account id.
    pub id: String,
    /// Display handle, if the platform has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Follower count at collection time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub followers: Option<u64>,
    /// Kind of account.
    pub kind: AuthorKind,
    /// Free-text location from the profile, used only to resolve a region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

/// Location hints attached to a raw post.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RawGeo {
    /// A region id, ISO code or region name set by the connector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Latitude in degrees (WGS 84).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    /// Longitude in degrees (WGS 84).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
    /// A place name tagged on the post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<String>,
}

/// Engagement counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Engagement {
    /// Likes or reactions.
    #[serde(default)]
    pub likes: u64,
    /// Shares, reposts or forwards.
    #[serde(default)]
    pub shares: u64,
    /// Views.
    #[serde(default)]
    pub views: u64,
}

/// `posts.raw`: one public post as a connector delivers it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct RawPost {
    /// Always [`SCHEMA_RAW`].
    pub schema: String,
    /// Platform-unique post id.
    pub id: String,
    /// Platform name (`telegram`, `vk`, `x`, `instagram`, …).
    pub platform: String,
    /// The account that posted.
    pub author: RawAuthor,
    /// Post text.
    pub text: String,
    /// When the post was published, RFC 3339.
    pub created_at: String,
    /// Language claimed by the platform, if any (a hint only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
    /// Location hints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geo: Option<RawGeo>,
    /// Link to the post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Platform id of the post this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Engagement counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Engagement>,
}

/// Language of a post as ingest identified it.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Kazakh (either script; code-switched Kazakh-Russian too).
    Kk,
    /// Russian.
    Ru,
    /// English.
    En,
    /// Anything else, or too short to tell.
    Other,
}

impl Lang {
    /// The ISO 639-1 code, or `other`.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Kk => "kk",
            Lang::Ru => "ru",
            Lang::En => "en",
            Lang::Other => "other",
        }
    }
}

/// Writing system of a post (ISO 15924 codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum Script {
    /// Cyrillic.
    Cyrl,
    /// Latin.
    Latn,
    /// Cyrillic and Latin letters in comparable amounts.
    Mixed,
    /// Neither, or no letters at all.
    Other,
}

/// How the region of a post was found, strongest evidence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RegionSource {
    /// The connector's explicit `geo.region` field.
    Field,
    /// Coordinates inside a region polygon.
    Coordinates,
    /// The place name tagged on the post.
    Place,
    /// The location in the author's profile.
    Profile,
    /// A place name in the text.
    Text,
    /// Nothing resolved.
    None,
}

impl RegionSource {
    /// Every source, strongest first.
    pub const ALL: [RegionSource; 6] = [
        RegionSource::Field,
        RegionSource::Coordinates,
        RegionSource::Place,
        RegionSource::Profile,
        RegionSource::Text,
        RegionSource::None,
    ];

    /// The name used on the wire and in metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            RegionSource::Field => "field",
            RegionSource::Coordinates => "coordinates",
            RegionSource::Place => "place",
            RegionSource::Profile => "profile",
            RegionSource::Text => "text",
            RegionSource::None => "none",
        }
    }
}

/// Where a message came from in Kafka, so any output can be traced to its input offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    /// Topic of the input message.
    pub topic: String,
    /// Partition of the input message.
    pub partition: i32,
    /// Offset of the input message.
    pub offset: i64,
}

/// Counts of personal data redacted from a text, per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedactionCounts {
    /// Kazakh IIN/BIN numbers (checksum valid).
    pub iin: u32,
    /// Phone numbers.
    pub phone: u32,
    /// E-mail addresses.
    pub email: u32,
    /// Payment card numbers (Luhn valid).
    pub card: u32,
    /// @mentions of accounts.
    pub mention: u32,
}

impl RedactionCounts {
    /// Total number of redactions.
    pub fn total(&self) -> u32 {
        self.iin + self.phone + self.email + self.card + self.mention
    }
}

/// `posts.clean`: a validated, normalised, pseudonymised and redacted post, keyed by region.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CleanPost {
    /// Always [`SCHEMA_CLEAN`].
    pub schema: String,
    /// Hash of platform and post id (hex, 32 chars).
    pub post_key: String,
    /// Platform name.
    pub platform: String,
    /// Keyed hash (HMAC-SHA256) of the author id (hex, 32 chars).
    pub author_pid: String,
    /// Id of the pseudonymisation key that produced `author_pid`.
    pub author_key_id: String,
    /// Kind of account.
    pub author_kind: AuthorKind,
    /// Normalised text with personal data replaced by placeholders.
    pub text: String,
    /// Identified language.
    pub lang: Lang,
    /// Writing system.
    pub script: Script,
    /// Confidence of the language decision, 0..1.
    pub lang_confidence: f32,
    /// Kazakh and Russian mixed in one post.
    pub code_switched: bool,
    /// Resolved region, or `unknown`.
    pub region: Region,
    /// Evidence the region came from.
    pub region_source: RegionSource,
    /// Publication time.
    pub created_at: DateTime<Utc>,
    /// When ingest processed it.
    pub ingested_at: DateTime<Utc>,
    /// Near-duplicate cluster id (copy-paste campaigns); every post starts or joins one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dup_cluster: Option<String>,
    /// Members of `dup_cluster` seen so far, this post included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dup_seen: Option<u32>,
    /// `post_key` of the post this one replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_key: Option<String>,
    /// Engagement counters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Engagement>,
    /// What was redacted from the text.
    pub redactions: RedactionCounts,
    /// The input this came from.
    pub source: SourceRef,
    /// Hash of the policy in force.
    pub policy_hash: String,
}

/// Why a raw message was rejected; machine-readable and stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The bytes are not valid UTF-8.
    InvalidUtf8,
    /// The message is not a JSON object.
    NotJson,
    /// `schema` is absent or not one this version reads.
    UnknownSchema,
    /// A required field is absent or null.
    MissingField,
    /// A field has the wrong type or an invalid value.
    InvalidField,
    /// `created_at` is not RFC 3339 or lies implausibly in the future.
    BadTimestamp,
    /// The text exceeds the configured limit.
    TextTooLong,
    /// The message exceeds the configured size limit.
    MessageTooLarge,
    /// Nothing is left of the text after normalisation.
    EmptyText,
    /// The same post (or the same text by the same author) was seen within the window.
    Duplicate,
}

impl RejectReason {
    /// The wire name, also used as a metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::InvalidUtf8 => "invalid_utf8",
            RejectReason::NotJson => "not_json",
            RejectReason::UnknownSchema => "unknown_schema",
            RejectReason::MissingField => "missing_field",
            RejectReason::InvalidField => "invalid_field",
            RejectReason::BadTimestamp => "bad_timestamp",
            RejectReason::TextTooLong => "text_too_long",
            RejectReason::MessageTooLarge => "message_too_large",
            RejectReason::EmptyText => "empty_text",
            RejectReason::Duplicate => "duplicate",
        }
    }
}

/// `posts.rejected`: a raw message that did not become a clean post, and why.
///
/// It never carries the raw payload (which holds text and author ids); `payload_sha256`
/// and `source` let an operator find the original in `posts.raw` while it is retained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectedPost {
    /// Always [`SCHEMA_REJECTED`].
    pub schema: String,
    /// Machine-readable reason.
    pub reason: RejectReason,
    /// The field concerned, as a JSON path (`author.id`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Human-readable detail; never contains post text or author ids.
    pub detail: String,
    /// `post_key`, when the platform and id could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post_key: Option<String>,
    /// For duplicates: the `post_key` of the first occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
    /// SHA-256 of the raw payload bytes.
    pub payload_sha256: String,
    /// Size of the raw payload in bytes.
    pub payload_bytes: u64,
    /// The input this came from.
    pub source: SourceRef,
    /// When it was rejected.
    pub rejected_at: DateTime<Utc>,
    /// Hash of the policy in force.
    pub policy_hash: String,
}

/// Sentiment distribution of a post.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Sentiment {
    /// Probability of negative.
    pub neg: f32,
    /// Probability of neutral.
    pub neu: f32,
    /// Probability of positive.
    pub pos: f32,
}

/// A match of a post against the registry of verified claims.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimMatch {
    /// Id of the verified claim.
    pub claim_id: String,
    /// Cosine similarity between post and claim embeddings.
    pub similarity: f32,
}

/// `posts.scored`: model outputs for one post. No text and no author identity on this topic:
/// only the pseudonym, which the sink needs to count distinct authors per cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoredPost {
    /// Always [`SCHEMA_SCORED`].
    pub schema: String,
    /// Key of the clean post.
    pub post_key: String,
    /// Region of the post.
    pub region: Region,
    /// Language of the post.
    pub lang: Lang,
    /// Publication time (event time for windows).
    pub created_at: DateTime<Utc>,
    /// Sentiment distribution.
    pub sentiment: Sentiment,
    /// Probability of hostility toward a group.
    pub hostility: f32,
    /// Group ids mentioned.
    pub targets: Vec<String>,
    /// Best claim match above threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<ClaimMatch>,
    /// Relevance to the declared purpose, 0..1.
    pub relevance: f32,
    /// The hostility head's label at its calibrated threshold (the threshold is in the audit
    /// record); absent from producers older than this field, then the sink applies its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostile: Option<bool>,
    /// Near-duplicate cluster carried from ingest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dup_cluster: Option<String>,
    /// Pseudonymous author id, carried only so the sink can count distinct authors
    /// (k-suppression); never an output key.
    pub author_pid: String,
    /// Key id of `author_pid`, so counts across a key rotation are not merged or inflated unseen.
    pub author_key_id: String,
    /// Version of the model bundle.
    pub model_version: String,
    /// Hash of the policy in force.
    pub policy_hash: String,
    /// Id of the audit record for this decision.
    pub decision_id: String,
}

/// The model that made a decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModelRef {
    /// Model id.
    pub id: String,
    /// Model version.
    pub version: String,
    /// SHA-256 of the model file.
    pub sha256: String,
}

/// `audit.decisions`: one hash-chained record per model decision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditDecision {
    /// Always [`SCHEMA_AUDIT`].
    pub schema: String,
    /// Unique id of the decision.
    pub decision_id: String,
    /// The chain this record belongs to: one per analyzer process, so concurrent writers
    /// never interleave one chain.
    pub chain: String,
    /// Position in the chain, from 0.
    pub seq: u64,
    /// Hash of the previous record (hex); zeros for the first.
    pub prev_hash: String,
    /// Hash of this record with `hash` empty (hex).
    pub hash: String,
    /// When the decision was made.
    pub at: DateTime<Utc>,
    /// Key of the post.
    pub post_key: String,
    /// SHA-256 of the model input text.
    pub input_sha256: String,
    /// The models used.
    pub model: ModelRef,
    /// Hash of the policy in force.
    pub policy_hash: String,
    /// Raw scores by name.
    pub scores: BTreeMap<String, f32>,
    /// Thresholds applied, by name.
    pub thresholds: BTreeMap<String, f32>,
    /// Labels assigned.
    pub labels: Vec<String>,
    /// Why: group hits, nearest claim, language and region evidence.
    pub explanation: serde_json::Value,
    /// Redacted excerpt, present only while the policy's retention allows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt: Option<String>,
    /// SHA-256 (hex) of the excerpt, inside the hash, so the excerpt can be deleted when its
    /// retention ends without breaking the chain, and a kept one can still be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub excerpt_sha256: Option<String>,
}

/// An event-time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
}

/// State of an alert: nothing counts as confirmed without a human review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// No alert.
    None,
    /// Raised, waiting for review.
    Open,
    /// Confirmed by an analyst.
    Confirmed,
    /// Dismissed by an analyst.
    Dismissed,
}

/// `signals.regional`: aggregates for one region and window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionalSignal {
    /// Always [`SCHEMA_SIGNAL`].
    pub schema: String,
    /// Region.
    pub region: Region,
    /// Event-time window.
    pub window: Window,
    /// True when the cell has fewer distinct authors than the policy's k; numbers are then absent.
    pub suppressed: bool,
    /// Posts in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_posts: Option<u64>,
    /// Estimated distinct authors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n_authors: Option<u64>,
    /// Mean sentiment shares.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentiment: Option<Sentiment>,
    /// Share of hostile posts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostility_rate: Option<f32>,
    /// Mentions per target group.
    #[serde(default)]
    pub targets: BTreeMap<String, u64>,
    /// Matches per claim, most frequent first.
    #[serde(default)]
    pub top_claims: Vec<(String, u64)>,
    /// Posts per language (`kk`, `ru`, `en`, `other`).
    #[serde(default)]
    pub languages: BTreeMap<String, u64>,
    /// Posts that are near-duplicate copies of another post in the window (posts − distinct clusters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copies: Option<u64>,
    /// Largest near-duplicate clusters in the window with their posts (copy-paste campaigns).
    #[serde(default)]
    pub top_dup_clusters: Vec<(String, u64)>,
    /// Posts that arrived after the window closed and were applied as a correction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_posts: Option<u64>,
    /// 0 for the first publication of the window; each correction publishes the next revision.
    #[serde(default)]
    pub revision: u32,
    /// Risk index, 0..1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<f32>,
    /// Anomaly score against the region's baseline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly: Option<f32>,
    /// Alert state.
    pub alert: AlertState,
    /// Hash of the policy in force.
    pub policy_hash: String,
}

/// `factcheck.requests`: a spreading, check-worthy post that matched no verified claim.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FactcheckRequest {
    /// Always [`SCHEMA_FACTCHECK`].
    pub schema: String,
    /// Key of a representative post.
    pub post_key: String,
    /// Near-duplicate cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dup_cluster: Option<String>,
    /// Region.
    pub region: Region,
    /// Language.
    pub lang: Lang,
    /// Redacted text for the fact-checkers.
    pub text: String,
    /// How far it has spread: posts in the cluster.
    pub cluster_posts: u32,
    /// Nearest claim below the threshold, for context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nearest_claim: Option<ClaimMatch>,
    /// When requested.
    pub requested_at: DateTime<Utc>,
    /// Hash of the policy in force.
    pub policy_hash: String,
}

/// Every topic's schema id with its JSON Schema, for `schemas/` and the contract tests.
/// The `schema` property is pinned to the topic's id, so a message for another topic
/// (or another version) fails validation.
pub fn json_schemas() -> Vec<(&'static str, &'static str, serde_json::Value)> {
    use schemars::schema_for;
    let all = vec![
        ("posts.raw", SCHEMA_RAW, schema_for!(RawPost)),
        ("posts.clean", SCHEMA_CLEAN, schema_for!(CleanPost)),
        ("posts.rejected", SCHEMA_REJECTED, schema_for!(RejectedPost)),
        ("posts.scored", SCHEMA_SCORED, schema_for!(ScoredPost)),
        ("audit.decisions", SCHEMA_AUDIT, schema_for!(AuditDecision)),
        (
            "signals.regional",
            SCHEMA_SIGNAL,
            schema_for!(RegionalSignal),
        ),
        (
            "factcheck.requests",
            SCHEMA_FACTCHECK,
            schema_for!(FactcheckRequest),
        ),
    ];
    all.into_iter()
        .map(|(topic, id, schema)| {
            let mut v = schema.to_value();
            if let Some(o) = v.as_object_mut() {
                o.insert("$id".into(), serde_json::Value::String(format!("urn:sarap:schema:{id}")));
                if let Some(p) = o.get_mut("properties").and_then(|p| p.as_object_mut()) {
                    p.insert(
                        "schema".into(),
                        serde_json::json!({"const": id, "description": "Schema id of this message."}),
                    );
                }
            }
            (topic, id, v)
        })
        .collect()
}
