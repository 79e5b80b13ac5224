//! The registry of verified claims: loaded at start, embedded once, reloaded when the file
//! changes.
//!
//! Matching uses a language-centred similarity. The encoder's cosine similarities are
//! compressed and biased by language: a Kazakh post sits closer to every Kazakh claim than to
//! the Russian claim it restates. So a post's similarity to a claim is compared with the
//! post's mean similarity to all registry claims written in that claim's language:
//! `score = cos(post, claim) − mean cos(post, claims in claim.lang)`. The nearest claim is the
//! one with the highest score, and it matches when the score reaches the threshold calibrated
//! by `sarap train` on labelled pairs (`data/claims/pairs.jsonl`). On the project's pairs this
//! lifts the right claim to the top for 85 % of positive posts, against 64 % for raw cosine.

use crate::batcher::Batcher;
use crate::encoder::{cosine, Embedding};
use crate::AnalyzerError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// One verified claim, one line of the registry (JSONL).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Claim {
    /// Stable id.
    pub claim_id: String,
    /// What the fact-checkers found: false, misleading, true, unproven.
    pub verdict: String,
    /// Language of `text`.
    pub lang: String,
    /// The claim as stated.
    pub text: String,
    /// Where the verdict comes from.
    pub source: String,
}

/// Verdicts a registry may use.
pub const VERDICTS: [&str; 4] = ["false", "misleading", "true", "unproven"];

/// Parses registry text; errors name the line.
pub fn parse_registry(text: &str) -> Result<Vec<Claim>, AnalyzerError> {
    let mut out: Vec<Claim> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let c: Claim = serde_json::from_str(line)
            .map_err(|e| AnalyzerError::Claims(format!("line {}: {e}", i + 1)))?;
        if c.claim_id.is_empty() || c.text.trim().is_empty() {
            return Err(AnalyzerError::Claims(format!(
                "line {}: claim_id and text must not be empty",
                i + 1
            )));
        }
        if !VERDICTS.contains(&c.verdict.as_str()) {
            return Err(AnalyzerError::Claims(format!(
                "line {}: verdict {:?} is not one of {VERDICTS:?}",
                i + 1,
                c.verdict
            )));
        }
        if out.iter().any(|o| o.claim_id == c.claim_id) {
            return Err(AnalyzerError::Claims(format!(
                "line {}: claim_id {} appears twice",
                i + 1,
                c.claim_id
            )));
        }
        out.push(c);
    }
    Ok(out)
}

/// The nearest claim to a post.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest {
    /// Index into the registry.
    pub index: usize,
    /// Cosine similarity.
    pub similarity: f32,
    /// Language-centred similarity, the value the threshold applies to.
    pub score: f32,
}

/// Fewest claims in a language for a mean of its own; smaller groups use the whole registry.
const MIN_CLAIMS_PER_LANGUAGE: usize = 3;

/// For each claim, the group of claims whose mean similarity centres it.
fn centring_groups(claims: &[Claim]) -> Vec<Vec<usize>> {
    let all: Vec<usize> = (0..claims.len()).collect();
    claims
        .iter()
        .map(|c| {
            let same: Vec<usize> = (0..claims.len())
                .filter(|&j| claims[j].lang == c.lang)
                .collect();
            if same.len() >= MIN_CLAIMS_PER_LANGUAGE {
                same
            } else {
                all.clone()
            }
        })
        .collect()
}

/// The nearest claim by language-centred similarity, given a post's cosine to every claim.
pub fn nearest_by_score(sims: &[f32], groups: &[Vec<usize>]) -> Option<Nearest> {
    let mut means: std::collections::HashMap<&[usize], f32> = std::collections::HashMap::new();
    (0..sims.len())
        .map(|i| {
            let g = groups[i].as_slice();
            let mean = *means
                .entry(g)
                .or_insert_with(|| g.iter().map(|&j| sims[j]).sum::<f32>() / g.len() as f32);
            Nearest {
                index: i,
                similarity: sims[i],
                score: sims[i] - mean,
            }
        })
        .max_by(|a, b| a.score.total_cmp(&b.score))
}

/// Claims with their embeddings.
pub struct Registry {
    path: Option<PathBuf>,
    claims: Vec<Claim>,
    embeddings: Vec<Embedding>,
    groups: Vec<Vec<usize>>,
    modified: Option<SystemTime>,
    checked: Instant,
}

/// How often the registry file's modification time is looked at.
const RELOAD_CHECK: Duration = Duration::from_secs(2);

impl Registry {
    /// Loads and embeds the registry at `path`.
    pub fn load(path: &Path, batcher: &Batcher) -> Result<Self, AnalyzerError> {
        let text = std::fs::read_to_string(path).map_err(|e| AnalyzerError::io(path, e))?;
        let claims = parse_registry(&text)
            .map_err(|e| AnalyzerError::Claims(format!("{}: {e}", path.display())))?;
        let mut r = Registry::from_claims(claims, batcher)?;
        r.path = Some(path.to_path_buf());
        r.modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        Ok(r)
    }

    /// Embeds claims that did not come from a file (offline scoring, tests).
    pub fn from_claims(claims: Vec<Claim>, batcher: &Batcher) -> Result<Self, AnalyzerError> {
        let texts: Vec<&str> = claims.iter().map(|c| c.text.as_str()).collect();
        let embeddings = batcher.embed(&texts)?;
        Ok(Registry::from_embeddings(claims, embeddings))
    }

    /// A registry over claims already embedded (training, tools).
    pub fn from_embeddings(claims: Vec<Claim>, embeddings: Vec<Embedding>) -> Self {
        Registry {
            path: None,
            groups: centring_groups(&claims),
            claims,
            embeddings,
            modified: None,
            checked: Instant::now(),
        }
    }

    /// Reloads when the file changed since the last look (at most every two seconds).
    /// A broken new file keeps the old registry and returns the error, so a typo by an
    /// editor never empties the registry of a running analyzer.
    pub fn reload_if_changed(&mut self, batcher: &Batcher) -> Result<bool, AnalyzerError> {
        let Some(path) = self.path.clone() else {
            return Ok(false);
        };
        if self.checked.elapsed() < RELOAD_CHECK {
            return Ok(false);
        }
        self.checked = Instant::now();
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        if modified == self.modified {
            return Ok(false);
        }
        // Remember this version even if it is broken, so it is reported once, not every check.
        self.modified = modified;
        *self = Registry::load(&path, batcher)?;
        Ok(true)
    }

    /// Forces the next [`Registry::reload_if_changed`] to look at the file.
    pub fn expire_check(&mut self) {
        self.checked = Instant::now() - RELOAD_CHECK;
    }

    /// The claims.
    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }

    /// The nearest claim to an embedding by language-centred similarity, if any claims exist.
    pub fn nearest(&self, e: &[f32]) -> Option<Nearest> {
        let sims: Vec<f32> = self.embeddings.iter().map(|c| cosine(e, c)).collect();
        nearest_by_score(&sims, &self.groups)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centring_removes_a_language_offset() {
        let claim = |id: &str, lang: &str| Claim {
            claim_id: id.into(),
            verdict: "false".into(),
            lang: lang.into(),
            text: "t".into(),
            source: "s".into(),
        };
        let claims = vec![
            claim("kk1", "kk"),
            claim("kk2", "kk"),
            claim("kk3", "kk"),
            claim("ru1", "ru"),
            claim("ru2", "ru"),
            claim("ru3", "ru"),
            claim("en1", "en"),
        ];
        let groups = centring_groups(&claims);
        assert_eq!(
            groups[6].len(),
            7,
            "a lone language is centred on the whole registry"
        );
        // A Kazakh post: every kk claim looks close, but ru2 stands out among ru claims.
        let sims = [0.88, 0.87, 0.89, 0.80, 0.86, 0.79, 0.80];
        let n = nearest_by_score(&sims, &groups).unwrap();
        assert_eq!(claims[n.index].claim_id, "ru2");
        assert!((n.similarity - 0.86).abs() < 1e-6);
        assert!(n.score > 0.03);
    }

    #[test]
    fn registry_errors_name_the_line() {
        let good = r#"{"claim_id":"c1","verdict":"false","lang":"ru","text":"x","source":"s"}"#;
        assert_eq!(parse_registry(good).unwrap().len(), 1);
        let bad_verdict = format!(
            "{good}\n{}",
            good.replace("c1", "c2").replace("false", "fake")
        );
        let e = parse_registry(&bad_verdict).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("verdict"), "{e}");
        let dup = format!("{good}\n\n{good}");
        assert!(parse_registry(&dup)
            .unwrap_err()
            .to_string()
            .contains("line 3"));
        assert!(parse_registry("{")
            .unwrap_err()
            .to_string()
            .contains("line 1"));
        let extra = good.replace("\"source\"", "\"extra\":1,\"source\"");
        assert!(parse_registry(&extra).is_err());
    }
}
