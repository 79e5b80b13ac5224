//! The ethics and privacy policy (`config/policy.toml`) and the floors no deployment may break.
//!
//! Each rule is documented in `docs/ETHICS.md` with the UNESCO Recommendation or AI Concept
//! principle it serves. The floors are constants here, not configuration: a policy file can make
//! Sarap stricter, never looser. Every role calls [`Policy::load`] before it touches data.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::Path;

/// The smallest `privacy.min_authors_per_cell` any policy may set.
pub const FLOOR_MIN_AUTHORS_PER_CELL: u32 = 5;
/// The longest `retention.redacted_text_days` any policy may set.
pub const CEILING_TEXT_RETENTION_DAYS: u32 = 90;
/// The longest `retention.audit_excerpt_days` any policy may set.
pub const CEILING_EXCERPT_RETENTION_DAYS: u32 = 365;
/// The longest `privacy.pseudonym_key_rotation_days` any policy may set.
pub const CEILING_KEY_ROTATION_DAYS: u32 = 365;
/// The largest `models.max_language_gap` (macro-F1 points as a fraction) any policy may set.
pub const CEILING_LANGUAGE_GAP: f64 = 0.10;
/// The largest `privacy.laplace_epsilon` (weakest noise) any policy may set, when noise is on.
pub const CEILING_LAPLACE_EPSILON: f64 = 10.0;
/// The shortest declared purpose accepted, in characters.
pub const MIN_PURPOSE_CHARS: usize = 40;

/// The parsed policy file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// What the system is for, and only that.
    pub purpose: Purpose,
    /// Personal data protection.
    pub privacy: Privacy,
    /// How long text and excerpts may be kept.
    pub retention: Retention,
    /// Human oversight of alerts.
    pub oversight: Oversight,
    /// What the system must never do.
    pub prohibitions: Prohibitions,
    /// Conditions on models before they load.
    pub models: Models,
}

/// `[purpose]`: the declared purpose (Concept: declared purposes only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Purpose {
    /// The declared purpose, in words.
    pub declared: String,
    /// The outputs this purpose allows (subset of the known output kinds).
    pub allowed_outputs: Vec<String>,
}

/// `[privacy]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Privacy {
    /// Replace author ids with keyed hashes at ingest. Must be true.
    pub pseudonymize_authors: bool,
    /// Rotate the pseudonymisation key at least this often, in days.
    pub pseudonym_key_rotation_days: u32,
    /// Suppress any published cell with fewer distinct authors than this. Never below 5.
    pub min_authors_per_cell: u32,
    /// Redact personal data (IIN/BIN, phones, e-mails, cards, mentions) from text. Must be true.
    pub redact_personal_data: bool,
    /// Laplace noise on published counts: epsilon per window, or 0 for none.
    #[serde(default)]
    pub laplace_epsilon: f64,
}

/// `[retention]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Days redacted post text may be kept in any store. At most 90.
    pub redacted_text_days: u32,
    /// Days redacted excerpts may stay in audit records shown to auditors. At most 365.
    pub audit_excerpt_days: u32,
}

/// `[oversight]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Oversight {
    /// An alert counts as confirmed only after an analyst's review. Must be true.
    pub alerts_require_human_review: bool,
    /// Every model decision is written to the audit log. Must be true.
    pub audit_every_decision: bool,
}

/// `[prohibitions]`: each is an `allow_*` switch that must stay false.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Prohibitions {
    /// Outputs keyed by, or about, an individual person. Must be false.
    pub allow_person_level_outputs: bool,
    /// Inferring a person's ethnicity, nationality or religion. Must be false.
    pub allow_person_ethnicity_inference: bool,
    /// Demographic inference from images. Must be false.
    pub allow_image_demographics: bool,
    /// Raw (unredacted) text leaving ingest. Must be false.
    pub allow_raw_text_downstream: bool,
}

/// `[models]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Models {
    /// A model loads only with a model card beside it. Must be true.
    pub require_model_card: bool,
    /// A model loads only if its sha256 matches the card. Must be true.
    pub require_sha256_match: bool,
    /// A model loads only if its card has per-language evaluation. Must be true.
    pub require_per_language_eval: bool,
    /// Largest allowed gap in macro-F1 between the best and worst language. At most 0.10.
    pub max_language_gap: f64,
}

/// Output kinds a purpose may allow.
pub const KNOWN_OUTPUTS: [&str; 5] = [
    "regional_signals",
    "alerts",
    "claim_spread",
    "factcheck_requests",
    "audit_records",
];

/// One broken rule: the dotted key and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyViolation {
    /// The dotted key, e.g. `privacy.min_authors_per_cell`.
    pub key: String,
    /// What the floor requires.
    pub message: String,
}

impl fmt::Display for PolicyViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// Why a policy cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("policy file {path}: {source}")]
    Read {
        /// The path tried.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or misses/misnames a key.
    #[error("policy file {path}: {key}: {message}")]
    Parse {
        /// The path read.
        path: String,
        /// The dotted key at fault (or `(file)`).
        key: String,
        /// The parser's message.
        message: String,
    },
    /// One or more floors are broken.
    #[error("policy breaks {} floor(s): {}", .0.len(), .0.iter().map(|v| v.to_string()).collect::<Vec<_>>().join("; "))]
    Floors(Vec<PolicyViolation>),
}

impl PolicyError {
    /// The violations, when the error is about floors.
    pub fn violations(&self) -> &[PolicyViolation] {
        match self {
            PolicyError::Floors(v) => v,
            _ => &[],
        }
    }
}

impl Policy {
    /// Reads, parses and checks a policy file; any broken floor is an error.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let policy = Policy::parse(&text, &path.display().to_string())?;
        let violations = policy.violations();
        if violations.is_empty() {
            Ok(policy)
        } else {
            Err(PolicyError::Floors(violations))
        }
    }

    /// Parses policy TOML without checking floors; errors name the key.
    pub fn parse(text: &str, origin: &str) -> Result<Policy, PolicyError> {
        let de = toml::Deserializer::new(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let key = e.path().to_string();
            let inner = e.into_inner();
            PolicyError::Parse {
                path: origin.to_string(),
                key: if key == "." { "(file)".into() } else { key },
                message: inner.message().to_string(),
            }
        })
    }

    /// Every floor this policy breaks, in file order.
    pub fn violations(&self) -> Vec<PolicyViolation> {
        let mut v = Vec::new();
        let mut fail = |key: &str, msg: String| {
            v.push(PolicyViolation {
                key: key.to_string(),
                message: msg,
            })
        };
        let purpose = self.purpose.declared.trim();
        if purpose.chars().count() < MIN_PURPOSE_CHARS {
            fail(
                "purpose.declared",
                format!(
                    "a declared purpose of at least {MIN_PURPOSE_CHARS} characters is required"
                ),
            );
        }
        if self.purpose.allowed_outputs.is_empty() {
            fail(
                "purpose.allowed_outputs",
                "must list at least one output".into(),
            );
        }
        for o in &self.purpose.allowed_outputs {
            if !KNOWN_OUTPUTS.contains(&o.as_str()) {
                fail(
                    "purpose.allowed_outputs",
                    format!(
                        "{o:?} is not a known output (known: {})",
                        KNOWN_OUTPUTS.join(", ")
                    ),
                );
            }
        }
        if !self.privacy.pseudonymize_authors {
            fail("privacy.pseudonymize_authors", "must be true".into());
        }
        if self.privacy.pseudonym_key_rotation_days == 0
            || self.privacy.pseudonym_key_rotation_days > CEILING_KEY_ROTATION_DAYS
        {
            fail(
                "privacy.pseudonym_key_rotation_days",
                format!("must be between 1 and {CEILING_KEY_ROTATION_DAYS}"),
            );
        }
        if self.privacy.min_authors_per_cell < FLOOR_MIN_AUTHORS_PER_CELL {
            fail(
                "privacy.min_authors_per_cell",
                format!(
                    "is {}, must be at least {FLOOR_MIN_AUTHORS_PER_CELL}",
                    self.privacy.min_authors_per_cell
                ),
            );
        }
        if !self.privacy.redact_personal_data {
            fail("privacy.redact_personal_data", "must be true".into());
        }
        let eps = self.privacy.laplace_epsilon;
        if !eps.is_finite() || !(0.0..=CEILING_LAPLACE_EPSILON).contains(&eps) {
            fail(
                "privacy.laplace_epsilon",
                format!("must be 0 (off) or in (0, {CEILING_LAPLACE_EPSILON}]"),
            );
        }
        if self.retention.redacted_text_days > CEILING_TEXT_RETENTION_DAYS {
            fail(
                "retention.redacted_text_days",
                format!(
                    "is {}, must be at most {CEILING_TEXT_RETENTION_DAYS}",
                    self.retention.redacted_text_days
                ),
            );
        }
        if self.retention.audit_excerpt_days > CEILING_EXCERPT_RETENTION_DAYS {
            fail(
                "retention.audit_excerpt_days",
                format!(
                    "is {}, must be at most {CEILING_EXCERPT_RETENTION_DAYS}",
                    self.retention.audit_excerpt_days
                ),
            );
        }
        if !self.oversight.alerts_require_human_review {
            fail(
                "oversight.alerts_require_human_review",
                "must be true".into(),
            );
        }
        if !self.oversight.audit_every_decision {
            fail("oversight.audit_every_decision", "must be true".into());
        }
        let p = &self.prohibitions;
        for (key, allowed) in [
            (
                "prohibitions.allow_person_level_outputs",
                p.allow_person_level_outputs,
            ),
            (
                "prohibitions.allow_person_ethnicity_inference",
                p.allow_person_ethnicity_inference,
            ),
            (
                "prohibitions.allow_image_demographics",
                p.allow_image_demographics,
            ),
            (
                "prohibitions.allow_raw_text_downstream",
                p.allow_raw_text_downstream,
            ),
        ] {
            if allowed {
                fail(key, "must be false".into());
            }
        }
        let m = &self.models;
        for (key, on) in [
            ("models.require_model_card", m.require_model_card),
            ("models.require_sha256_match", m.require_sha256_match),
            (
                "models.require_per_language_eval",
                m.require_per_language_eval,
            ),
        ] {
            if !on {
                fail(key, "must be true".into());
            }
        }
        if !m.max_language_gap.is_finite()
            || !(0.0..=CEILING_LANGUAGE_GAP).contains(&m.max_language_gap)
        {
            fail(
                "models.max_language_gap",
                format!("must be between 0 and {CEILING_LANGUAGE_GAP}"),
            );
        }
        v
    }

    /// The policy hash written into every message: SHA-256 of the canonical JSON form,
    /// so that comments and layout do not change it but any rule does. Hex, first 16 bytes.
    pub fn hash(&self) -> String {
        // serde_json writes struct fields in declaration order, which is fixed by this file,
        // so the serialisation is canonical for a given parsed policy.
        let canonical = serde_json::to_vec(self).expect("policy serialises");
        let digest = Sha256::digest(&canonical);
        format!("pol-{}", hex::encode(&digest[..16]))
    }

    /// Whether the purpose allows an output kind.
    pub fn allows_output(&self, output: &str) -> bool {
        self.purpose.allowed_outputs.iter().any(|o| o == output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHIPPED: &str = include_str!("../../config/policy.toml");

    fn shipped() -> Policy {
        Policy::parse(SHIPPED, "config/policy.toml").unwrap()
    }

    /// Parses the shipped policy with one line replaced, and returns its violations' keys.
    fn keys_after(from: &str, to: &str) -> Vec<String> {
        assert!(SHIPPED.contains(from), "shipped policy lacks {from:?}");
        let text = SHIPPED.replacen(from, to, 1);
        let p = Policy::parse(&text, "test").unwrap();
        p.violations().into_iter().map(|v| v.key).collect()
    }

    #[test]
    fn shipped_policy_has_no_violations() {
        assert_eq!(shipped().violations(), vec![]);
    }

    #[test]
    fn each_floor_is_enforced() {
        let cases = [
            (
                "pseudonymize_authors = true",
                "pseudonymize_authors = false",
                "privacy.pseudonymize_authors",
            ),
            (
                "min_authors_per_cell = 10",
                "min_authors_per_cell = 4",
                "privacy.min_authors_per_cell",
            ),
            (
                "min_authors_per_cell = 10",
                "min_authors_per_cell = 1",
                "privacy.min_authors_per_cell",
            ),
            (
                "pseudonym_key_rotation_days = 90",
                "pseudonym_key_rotation_days = 0",
                "privacy.pseudonym_key_rotation_days",
            ),
            (
                "redact_personal_data = true",
                "redact_personal_data = false",
                "privacy.redact_personal_data",
            ),
            (
                "laplace_epsilon = 0.0",
                "laplace_epsilon = 50.0",
                "privacy.laplace_epsilon",
            ),
            (
                "redacted_text_days = 30",
                "redacted_text_days = 91",
                "retention.redacted_text_days",
            ),
            (
                "audit_excerpt_days = 180",
                "audit_excerpt_days = 400",
                "retention.audit_excerpt_days",
            ),
            (
                "alerts_require_human_review = true",
                "alerts_require_human_review = false",
                "oversight.alerts_require_human_review",
            ),
            (
                "audit_every_decision = true",
                "audit_every_decision = false",
                "oversight.audit_every_decision",
            ),
            (
                "allow_person_level_outputs = false",
                "allow_person_level_outputs = true",
                "prohibitions.allow_person_level_outputs",
            ),
            (
                "allow_person_ethnicity_inference = false",
                "allow_person_ethnicity_inference = true",
                "prohibitions.allow_person_ethnicity_inference",
            ),
            (
                "allow_image_demographics = false",
                "allow_image_demographics = true",
                "prohibitions.allow_image_demographics",
            ),
            (
                "allow_raw_text_downstream = false",
                "allow_raw_text_downstream = true",
                "prohibitions.allow_raw_text_downstream",
            ),
            (
                "require_model_card = true",
                "require_model_card = false",
                "models.require_model_card",
            ),
            (
                "require_sha256_match = true",
                "require_sha256_match = false",
                "models.require_sha256_match",
            ),
            (
                "require_per_language_eval = true",
                "require_per_language_eval = false",
                "models.require_per_language_eval",
            ),
            (
                "max_language_gap = 0.10",
                "max_language_gap = 0.25",
                "models.max_language_gap",
            ),
        ];
        for (from, to, key) in cases {
            assert_eq!(keys_after(from, to), vec![key.to_string()], "{to}");
        }
    }

    #[test]
    fn purpose_must_be_declared() {
        let p = shipped();
        let mut q = p.clone();
        q.purpose.declared = "monitoring".into();
        assert_eq!(q.violations()[0].key, "purpose.declared");
        let mut q = p.clone();
        q.purpose.allowed_outputs.push("author_profiles".into());
        assert_eq!(q.violations()[0].key, "purpose.allowed_outputs");
    }

    #[test]
    fn missing_and_unknown_keys_are_named() {
        let text = SHIPPED.replacen("min_authors_per_cell = 10\n", "", 1);
        let err = Policy::parse(&text, "t").unwrap_err().to_string();
        assert!(err.contains("min_authors_per_cell"), "{err}");
        let text = SHIPPED.replacen("[privacy]\n", "[privacy]\nprofile_people = true\n", 1);
        let err = Policy::parse(&text, "t").unwrap_err().to_string();
        assert!(err.contains("profile_people"), "{err}");
    }

    #[test]
    fn hash_ignores_layout_but_not_rules() {
        let p = shipped();
        let with_comment = format!("# a comment\n{SHIPPED}\n\n");
        assert_eq!(Policy::parse(&with_comment, "t").unwrap().hash(), p.hash());
        let stricter =
            SHIPPED.replacen("min_authors_per_cell = 10", "min_authors_per_cell = 11", 1);
        assert_ne!(Policy::parse(&stricter, "t").unwrap().hash(), p.hash());
        assert!(p.hash().starts_with("pol-") && p.hash().len() == 36);
    }
}
