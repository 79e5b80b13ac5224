//! Author pseudonymisation: a keyed hash (HMAC-SHA256) of platform and account id.
//!
//! The key comes from a secret (environment variable or file), never from the config file,
//! so the same config can be published while the pseudonyms stay unlinkable to anyone
//! without the secret. Rotating the key changes every pseudonym; the key id in each clean
//! post tells which key made it, so windows across a rotation are never merged by author.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

/// Shortest accepted key, in bytes.
pub const MIN_KEY_BYTES: usize = 32;

/// A pseudonymisation key and its public id.
#[derive(Clone)]
pub struct PseudonymKey {
    key: Vec<u8>,
    id: String,
}

impl fmt::Debug for PseudonymKey {
    // The key bytes must never reach a log line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PseudonymKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Neither the variable nor the file was set.
    #[error("no pseudonymisation key: set {env} or pseudonym.key_file (at least {MIN_KEY_BYTES} bytes of secret)")]
    Missing {
        /// The environment variable looked at.
        env: String,
    },
    /// The key is too short to be a secret.
    #[error(
        "pseudonymisation key from {origin} is {len} bytes; at least {MIN_KEY_BYTES} are required"
    )]
    TooShort {
        /// Where it came from.
        origin: String,
        /// Its length.
        len: usize,
    },
    /// The key file could not be read.
    #[error("pseudonymisation key file {path}: {source}")]
    File {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl PseudonymKey {
    /// Builds a key from secret bytes; surrounding whitespace is ignored.
    pub fn from_secret(secret: &[u8], origin: &str) -> Result<Self, KeyError> {
        let trimmed = trim_ascii(secret);
        if trimmed.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                origin: origin.to_string(),
                len: trimmed.len(),
            });
        }
        let digest = Sha256::new()
            .chain_update(b"sarap-pseudonym-key-id\0")
            .chain_update(trimmed)
            .finalize();
        Ok(PseudonymKey {
            key: trimmed.to_vec(),
            id: format!("k-{}", hex::encode(&digest[..4])),
        })
    }

    /// Loads the key from the environment variable `env`, or else from `file`.
    pub fn load(env: &str, file: Option<&std::path::Path>) -> Result<Self, KeyError> {
        if let Some(v) = std::env::var_os(env) {
            use std::os::unix::ffi::OsStrExt;
            return Self::from_secret(v.as_bytes(), env);
        }
        if let Some(path) = file {
            let bytes = std::fs::read(path).map_err(|source| KeyError::File {
                path: path.display().to_string(),
                source,
            })?;
            return Self::from_secret(&bytes, &path.display().to_string());
        }
        Err(KeyError::Missing {
            env: env.to_string(),
        })
    }

    /// The public key id (`k-` and 8 hex digits), recorded beside every pseudonym.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The pseudonym of an account: hex of the first 16 bytes of HMAC(key, platform ‖ 0 ‖ id).
    pub fn pseudonymize(&self, platform: &str, author_id: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length");
        mac.update(platform.as_bytes());
        mac.update(&[0]);
        mac.update(author_id.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }
}

/// The post key: hex of the first 16 bytes of SHA-256(platform ‖ 0 ‖ post id). Not secret:
/// it identifies a post, not a person, and lets any stage trace a post end to end.
pub fn post_key(platform: &str, post_id: &str) -> String {
    let d = Sha256::new()
        .chain_update(platform.as_bytes())
        .chain_update([0u8])
        .chain_update(post_id.as_bytes())
        .finalize();
    hex::encode(&d[..16])
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn pseudonyms_are_keyed_stable_and_unlinkable_across_keys() {
        let k1 = PseudonymKey::from_secret(SECRET, "t").unwrap();
        let k2 = PseudonymKey::from_secret(b"another-secret-of-sufficient-length!", "t").unwrap();
        let a = k1.pseudonymize("telegram", "12345");
        assert_eq!(a, k1.pseudonymize("telegram", "12345"));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("12345"));
        assert_ne!(a, k2.pseudonymize("telegram", "12345"));
        assert_ne!(a, k1.pseudonymize("vk", "12345"));
        // Platform/id boundaries cannot be shifted to collide.
        assert_ne!(k1.pseudonymize("ab", "c"), k1.pseudonymize("a", "bc"));
        assert_ne!(k1.id(), k2.id());
        assert!(k1.id().starts_with("k-") && k1.id().len() == 10);
    }

    #[test]
    fn short_or_missing_keys_are_refused_and_debug_hides_the_key() {
        assert!(matches!(
            PseudonymKey::from_secret(b"  short \n", "env"),
            Err(KeyError::TooShort { len: 5, .. })
        ));
        let k = PseudonymKey::from_secret(SECRET, "t").unwrap();
        assert!(!format!("{k:?}").contains("0123456789"));
        let err = PseudonymKey::load("SARAP_TEST_SURELY_UNSET_VAR", None).unwrap_err();
        assert!(err.to_string().contains("SARAP_TEST_SURELY_UNSET_VAR"));
    }

    #[test]
    fn post_key_is_stable() {
        assert_eq!(post_key("x", "1"), post_key("x", "1"));
        assert_ne!(post_key("x", "1"), post_key("x", "2"));
        assert_eq!(post_key("x", "1").len(), 32);
    }
}
