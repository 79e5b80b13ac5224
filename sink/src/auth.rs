//! Roles, bearer tokens, browser sessions and CSRF protection for the sink's HTTP server.
//!
//! Three roles, each with its own secret: `SARAP_TOKEN_ANALYST`, `SARAP_TOKEN_AUDITOR`,
//! `SARAP_TOKEN_OPERATOR` (or a file named by the same variable with `_FILE`). A secret holds
//! one token, or several as `name:token` entries separated by commas or newlines, so each person
//! can have their own token and reviews record who made them. Tokens are at least 24 characters.
//!
//! - API clients send `Authorization: Bearer TOKEN`.
//! - Browsers sign in once (`POST /api/login`) and get a session cookie (HttpOnly, SameSite=Strict)
//!   signed with a key derived from the tokens, so every sink replica accepts it and changing a
//!   token ends its sessions. Requests that change state with the cookie must send the session's
//!   CSRF token in `X-CSRF-Token` and, when the browser sends one, an `Origin` of this host.

use axum::http::{header, HeaderMap, Method};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::fmt;

type HmacSha256 = Hmac<Sha256>;

/// Who may do what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Reads regions, signals and alerts; reviews alerts.
    Analyst,
    /// Reads audit decisions (with excerpts while retention allows); records verdicts.
    Auditor,
    /// Reads health and metrics.
    Operator,
}

impl Role {
    /// All roles.
    pub const ALL: [Role; 3] = [Role::Analyst, Role::Auditor, Role::Operator];

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Analyst => "analyst",
            Role::Auditor => "auditor",
            Role::Operator => "operator",
        }
    }

    /// The environment variable holding this role's tokens.
    pub fn env_var(self) -> String {
        format!("SARAP_TOKEN_{}", self.as_str().to_uppercase())
    }

    fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The role.
    pub role: Role,
    /// The token's name (`name:token`), else the role's name.
    pub name: String,
    /// Authenticated by a session cookie (so state changes need the CSRF token).
    pub via_cookie: bool,
    /// The session's CSRF token (cookie sessions).
    pub csrf: Option<String>,
}

/// Why a request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// No or bad credentials (401).
    Unauthenticated(String),
    /// Authenticated, but not allowed (403).
    Forbidden(String),
}

/// The shortest token accepted.
pub const MIN_TOKEN_CHARS: usize = 24;
/// How long a browser session lasts.
pub const SESSION_SECS: i64 = 12 * 3600;
/// The session cookie's name.
pub const COOKIE: &str = "sarap_session";

/// A configured token (only its hash is kept).
struct Entry {
    hash: [u8; 32],
    role: Role,
    name: String,
}

/// The configured tokens and the session key derived from them.
pub struct Auth {
    entries: Vec<Entry>,
    key: [u8; 32],
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the tokens or the key.
        f.debug_struct("Auth")
            .field("tokens", &self.entries.len())
            .finish()
    }
}

fn sha(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

/// Equal-time comparison, so a wrong token's timing tells nothing about the right one.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Auth {
    /// Parses each role's secret (`None`: the role has no tokens and is refused).
    pub fn from_secrets(secrets: &[(Role, Option<String>)]) -> Result<Auth, String> {
        let mut entries = Vec::new();
        let mut key = Sha256::new();
        key.update(b"sarap-session-key/1");
        for (role, secret) in secrets {
            let Some(secret) = secret else { continue };
            for item in secret
                .split([',', '\n'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                let (name, token) = match item.split_once(':') {
                    Some((n, t)) if !n.trim().is_empty() => (n.trim().to_string(), t.trim()),
                    _ => (role.as_str().to_string(), item),
                };
                if token.chars().count() < MIN_TOKEN_CHARS {
                    return Err(format!(
                        "{}: every token needs at least {MIN_TOKEN_CHARS} characters",
                        role.env_var()
                    ));
                }
                if name.len() > 64 || name.chars().any(|c| c.is_control() || c == '|') {
                    return Err(format!(
                        "{}: a token's name is at most 64 printable characters without '|'",
                        role.env_var()
                    ));
                }
                let hash = sha(token.as_bytes());
                if entries.iter().any(|e: &Entry| e.hash == hash) {
                    return Err(format!(
                        "{}: a token is configured twice (each role needs its own)",
                        role.env_var()
                    ));
                }
                key.update(role.as_str().as_bytes());
                key.update(hash);
                entries.push(Entry {
                    hash,
                    role: *role,
                    name,
                });
            }
        }
        Ok(Auth {
            entries,
            key: key.finalize().into(),
        })
    }

    /// Reads `SARAP_TOKEN_<ROLE>` or the file named by `SARAP_TOKEN_<ROLE>_FILE` for every role.
    pub fn from_env() -> Result<Auth, String> {
        let mut secrets = Vec::new();
        for role in Role::ALL {
            let var = role.env_var();
            let value = match std::env::var(&var) {
                Ok(v) if !v.trim().is_empty() => Some(v),
                _ => match std::env::var(format!("{var}_FILE")) {
                    Ok(path) if !path.is_empty() => Some(
                        std::fs::read_to_string(&path)
                            .map_err(|e| format!("{var}_FILE: cannot read {path}: {e}"))?,
                    ),
                    _ => None,
                },
            };
            secrets.push((role, value));
        }
        Auth::from_secrets(&secrets)
    }

    /// Roles that have at least one token.
    pub fn roles(&self) -> Vec<Role> {
        let mut r: Vec<Role> = self.entries.iter().map(|e| e.role).collect();
        r.sort();
        r.dedup();
        r
    }

    /// The caller of a bearer token.
    pub fn check_token(&self, token: &str) -> Option<Principal> {
        let h = sha(token.trim().as_bytes());
        self.entries
            .iter()
            .find(|e| same(&e.hash, &h))
            .map(|e| Principal {
                role: e.role,
                name: e.name.clone(),
                via_cookie: false,
                csrf: None,
            })
    }

    fn mac(&self, parts: &[&[u8]]) -> String {
        let mut m = HmacSha256::new_from_slice(&self.key).expect("any key length");
        for p in parts {
            m.update(p);
            m.update(b"\x1f");
        }
        hex::encode(m.finalize().into_bytes())
    }

    /// A session cookie value for a principal: `role|name|expiry|nonce|mac`.
    pub fn new_session(&self, p: &Principal, now: i64) -> String {
        let nonce: [u8; 16] = rand::random();
        let body = format!(
            "{}|{}|{}|{}",
            p.role,
            hex::encode(p.name.as_bytes()),
            now + SESSION_SECS,
            hex::encode(nonce)
        );
        let mac = self.mac(&[b"session", body.as_bytes()]);
        format!("{body}|{mac}")
    }

    /// The CSRF token bound to a session cookie value.
    pub fn csrf_for(&self, session: &str) -> String {
        self.mac(&[b"csrf", session.as_bytes()])
    }

    /// The caller of a session cookie value, if it is genuine and not expired.
    pub fn check_session(&self, value: &str, now: i64) -> Option<Principal> {
        let (body, mac) = value.rsplit_once('|')?;
        if !same(
            self.mac(&[b"session", body.as_bytes()]).as_bytes(),
            mac.as_bytes(),
        ) {
            return None;
        }
        let mut it = body.split('|');
        let role = Role::parse(it.next()?)?;
        let name = String::from_utf8(hex::decode(it.next()?).ok()?).ok()?;
        let expiry: i64 = it.next()?.parse().ok()?;
        if expiry <= now {
            return None;
        }
        // A role whose tokens were all removed loses its sessions too.
        if !self.entries.iter().any(|e| e.role == role) {
            return None;
        }
        Some(Principal {
            role,
            name,
            via_cookie: true,
            csrf: Some(self.csrf_for(value)),
        })
    }

    /// Authenticates a request (bearer token first, then the session cookie) and, for a
    /// state-changing request made with the cookie, checks the CSRF token and the origin.
    pub fn authenticate(
        &self,
        method: &Method,
        headers: &HeaderMap,
        now: i64,
    ) -> Result<Principal, Denied> {
        if let Some(v) = headers.get(header::AUTHORIZATION) {
            let v = v.to_str().unwrap_or_default();
            let token = v
                .strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .ok_or_else(|| {
                    Denied::Unauthenticated("Authorization: expected \"Bearer TOKEN\"".into())
                })?;
            return self
                .check_token(token)
                .ok_or_else(|| Denied::Unauthenticated("unknown token".into()));
        }
        let Some(cookie) = cookie_value(headers, COOKIE) else {
            return Err(Denied::Unauthenticated(
                "sign in (POST /api/login) or send Authorization: Bearer TOKEN".into(),
            ));
        };
        let p = self.check_session(&cookie, now).ok_or_else(|| {
            Denied::Unauthenticated("the session expired or is not valid; sign in again".into())
        })?;
        if !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            check_origin(headers)?;
            let sent = headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let want = p.csrf.as_deref().unwrap_or_default();
            if sent.is_empty() || !same(sent.as_bytes(), want.as_bytes()) {
                return Err(Denied::Forbidden(
                    "CSRF check failed: send the session's X-CSRF-Token header".into(),
                ));
            }
        }
        Ok(p)
    }
}

/// A state-changing request from a browser must come from a page of this host.
pub fn check_origin(headers: &HeaderMap) -> Result<(), Denied> {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let origin_host = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .unwrap_or("");
    if origin_host.is_empty() || origin_host != host {
        return Err(Denied::Forbidden(format!(
            "CSRF check failed: origin {origin:?} is not this server ({host:?})"
        )));
    }
    Ok(())
}

/// The value of a cookie in the request.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

/// The `Set-Cookie` value of a session (`Secure` behind a TLS-terminating proxy).
pub fn session_cookie(value: &str, headers: &HeaderMap) -> String {
    let secure = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    format!(
        "{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={SESSION_SECS}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends a session.
pub fn clear_cookie() -> String {
    format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0")
}

/// Tokens for `sarap run` on one machine: the configured ones, and a fresh random token for
/// each role that has none, written to `path` (mode 0600) so the person at the machine can
/// sign in; the tokens themselves are never logged.
pub fn local_tokens(path: &std::path::Path) -> Result<(Auth, Vec<Role>), String> {
    let mut secrets = Vec::new();
    let mut made = Vec::new();
    let mut file = String::from(
        "# Sign-in tokens for this `sarap run` (one per role); made fresh when the variable is unset.\n",
    );
    for role in Role::ALL {
        let var = role.env_var();
        match std::env::var(&var) {
            Ok(v) if !v.trim().is_empty() => secrets.push((role, Some(v))),
            _ => {
                let t: [u8; 24] = rand::random();
                let token = hex::encode(t);
                file.push_str(&format!("{var}={token}\n"));
                secrets.push((role, Some(token)));
                made.push(role);
            }
        }
    }
    if !made.is_empty() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        write_private(path, &file).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok((Auth::from_secrets(&secrets)?, made))
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    let mut f = o.open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    const A: &str = "analyst-token-0123456789abcdef";
    const U: &str = "auditor-token-0123456789abcdef";

    fn auth() -> Auth {
        Auth::from_secrets(&[
            (Role::Analyst, Some(format!("aida:{A}, berik:{A}x"))),
            (Role::Auditor, Some(U.into())),
            (Role::Operator, None),
        ])
        .unwrap()
    }

    #[test]
    fn tokens_map_to_roles_and_names_and_short_ones_are_refused() {
        let a = auth();
        assert_eq!(a.check_token(A).unwrap().name, "aida");
        assert_eq!(a.check_token(&format!("{A}x")).unwrap().name, "berik");
        let u = a.check_token(U).unwrap();
        assert_eq!((u.role, u.name.as_str()), (Role::Auditor, "auditor"));
        assert!(a.check_token("nope").is_none());
        assert_eq!(a.roles(), vec![Role::Analyst, Role::Auditor]);
        let e = Auth::from_secrets(&[(Role::Operator, Some("short".into()))]).unwrap_err();
        assert!(e.contains("SARAP_TOKEN_OPERATOR"), "{e}");
        let e = Auth::from_secrets(&[
            (Role::Analyst, Some(A.into())),
            (Role::Auditor, Some(A.into())),
        ])
        .unwrap_err();
        assert!(e.contains("twice"), "{e}");
    }

    #[test]
    fn sessions_are_signed_expire_and_need_csrf_for_changes() {
        let a = auth();
        let p = a.check_token(A).unwrap();
        let s = a.new_session(&p, 1000);
        let got = a.check_session(&s, 1001).unwrap();
        assert_eq!((got.role, got.name.as_str()), (Role::Analyst, "aida"));
        assert!(a.check_session(&s, 1000 + SESSION_SECS).is_none());
        // A forged role breaks the signature.
        assert!(a
            .check_session(&s.replacen("analyst", "auditor", 1), 1001)
            .is_none());
        // Another deployment's tokens, another key.
        let other = Auth::from_secrets(&[(Role::Analyst, Some(format!("{A}zz")))]).unwrap();
        assert!(other.check_session(&s, 1001).is_none());

        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("x=1; {COOKIE}={s}")).unwrap(),
        );
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert!(a.authenticate(&Method::GET, &h, 1001).is_ok());
        assert!(matches!(
            a.authenticate(&Method::POST, &h, 1001),
            Err(Denied::Forbidden(_))
        ));
        h.insert(
            "x-csrf-token",
            HeaderValue::from_str(&a.csrf_for(&s)).unwrap(),
        );
        assert!(a.authenticate(&Method::POST, &h, 1001).is_ok());
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://evil.example"),
        );
        assert!(matches!(
            a.authenticate(&Method::POST, &h, 1001),
            Err(Denied::Forbidden(_))
        ));
        h.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://127.0.0.1:8080"),
        );
        assert!(a.authenticate(&Method::POST, &h, 1001).is_ok());
        // A bearer token needs no CSRF token: browsers do not send it on their own.
        let mut b = HeaderMap::new();
        b.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {U}")).unwrap(),
        );
        assert_eq!(
            a.authenticate(&Method::POST, &b, 1).unwrap().role,
            Role::Auditor
        );
        b.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer wrong"),
        );
        assert!(matches!(
            a.authenticate(&Method::GET, &b, 1),
            Err(Denied::Unauthenticated(_))
        ));
        assert!(matches!(
            a.authenticate(&Method::GET, &HeaderMap::new(), 1),
            Err(Denied::Unauthenticated(_))
        ));
    }
}
