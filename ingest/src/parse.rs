//! Validation of raw messages: every way a message can be unusable maps to one
//! machine-readable [`RejectReason`] with the field concerned, and nothing here can panic.

use chrono::{DateTime, Utc};
use sarap_core::{RawPost, RejectReason, SCHEMA_RAW};
use serde_json::Value;

/// Why a raw message was refused, before any personal data was looked at.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    /// Machine-readable reason.
    pub reason: RejectReason,
    /// The field concerned, as a dotted path.
    pub field: Option<String>,
    /// Human-readable detail (never post text or author ids).
    pub detail: String,
    /// `post_key`, when platform and id were readable.
    pub post_key: Option<String>,
    /// For duplicates, the `post_key` of the first occurrence.
    pub duplicate_of: Option<String>,
}

impl Refusal {
    fn new(reason: RejectReason, field: Option<&str>, detail: impl Into<String>) -> Self {
        Refusal {
            reason,
            field: field.map(str::to_string),
            detail: detail.into(),
            post_key: None,
            duplicate_of: None,
        }
    }
}

/// Limits applied while parsing.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest payload in bytes.
    pub max_message_bytes: usize,
    /// How far in the future `created_at` may be, in seconds.
    pub max_future_skew_secs: i64,
}

/// A raw post that passed validation, with its parsed timestamp.
#[derive(Debug, Clone)]
pub struct ValidPost {
    /// The typed post.
    pub post: RawPost,
    /// `created_at`, parsed.
    pub created_at: DateTime<Utc>,
    /// Hash of platform and id.
    pub post_key: String,
}

/// Required fields, checked for presence before types so a missing field is named as such.
const REQUIRED: [&[&str]; 6] = [
    &["id"],
    &["platform"],
    &["text"],
    &["created_at"],
    &["author", "id"],
    &["author", "kind"],
];

/// Parses and validates one raw payload.
pub fn parse_raw(payload: &[u8], limits: Limits, now: DateTime<Utc>) -> Result<ValidPost, Refusal> {
    use RejectReason::*;
    if payload.len() > limits.max_message_bytes {
        return Err(Refusal::new(
            MessageTooLarge,
            None,
            format!(
                "{} bytes, limit {}",
                payload.len(),
                limits.max_message_bytes
            ),
        ));
    }
    let text = std::str::from_utf8(payload).map_err(|e| {
        Refusal::new(
            InvalidUtf8,
            None,
            format!("invalid UTF-8 at byte {}", e.valid_up_to()),
        )
    })?;
    // Fast path: a well-formed post parses straight into its type. Only a message that fails
    // is parsed again as a JSON tree to say precisely what is wrong with it.
    let post = match serde_json::from_str::<RawPost>(text) {
        Ok(post) if post.schema == SCHEMA_RAW => post,
        _ => return Err(diagnose(text)),
    };
    check_post(post, limits, now)
}

/// Finds the reason a payload that is valid UTF-8 did not parse as a raw post.
fn diagnose(text: &str) -> Refusal {
    use RejectReason::*;
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Refusal::new(
                NotJson,
                None,
                format!("line {} column {}: {}", e.line(), e.column(), classify(&e)),
            )
        }
    };
    let Value::Object(obj) = &value else {
        return Refusal::new(NotJson, None, "not a JSON object");
    };
    match obj.get("schema") {
        Some(Value::String(s)) if s == SCHEMA_RAW => {}
        Some(Value::String(s)) => {
            return Refusal::new(
                UnknownSchema,
                Some("schema"),
                format!("{:?} is not {SCHEMA_RAW}", truncate(s, 64)),
            )
        }
        _ => {
            return Refusal::new(
                UnknownSchema,
                Some("schema"),
                "schema is absent or not a string",
            )
        }
    }
    for path in REQUIRED {
        let mut node = &value;
        for seg in path {
            node = node.get(seg).unwrap_or(&Value::Null);
        }
        if node.is_null() {
            let field = path.join(".");
            let mut r = Refusal::new(MissingField, Some(&field), format!("{field} is required"));
            r.post_key = key_of(&value);
            return r;
        }
    }
    let mut r = match serde_path_to_error::deserialize::<_, RawPost>(&value) {
        Err(e) => Refusal::new(
            InvalidField,
            Some(&e.path().to_string()),
            type_detail(e.inner()),
        ),
        // The typed parser and the tree agree in practice; say so rather than guess a field.
        Ok(_) => Refusal::new(InvalidField, None, "rejected by the typed parser"),
    };
    r.post_key = key_of(&value);
    r
}

/// Checks that need the typed post: non-empty ids, timestamp, coordinates.
fn check_post(post: RawPost, limits: Limits, now: DateTime<Utc>) -> Result<ValidPost, Refusal> {
    use RejectReason::*;
    let post_key = sarap_core::pseudonym::post_key(&post.platform, &post.id);
    let refuse = |reason, field: &str, detail: String| {
        let mut r = Refusal::new(reason, Some(field), detail);
        r.post_key = Some(post_key.clone());
        r
    };
    if post.id.trim().is_empty() {
        return Err(refuse(MissingField, "id", "id is empty".into()));
    }
    if post.platform.trim().is_empty() {
        return Err(refuse(MissingField, "platform", "platform is empty".into()));
    }
    if post.author.id.trim().is_empty() {
        return Err(refuse(
            MissingField,
            "author.id",
            "author.id is empty".into(),
        ));
    }
    let created_at = DateTime::parse_from_rfc3339(post.created_at.trim())
        .map_err(|e| refuse(BadTimestamp, "created_at", format!("not RFC 3339: {e}")))?
        .with_timezone(&Utc);
    if created_at > now + chrono::Duration::seconds(limits.max_future_skew_secs) {
        return Err(refuse(
            BadTimestamp,
            "created_at",
            format!("{}s in the future", (created_at - now).num_seconds()),
        ));
    }
    if created_at.timestamp() < 946_684_800 {
        return Err(refuse(
            BadTimestamp,
            "created_at",
            "before 2000-01-01".into(),
        ));
    }
    if let Some(g) = &post.geo {
        let bad = |v: Option<f64>, lim: f64| v.is_some_and(|x| !x.is_finite() || x.abs() > lim);
        if bad(g.lat, 90.0) {
            return Err(refuse(
                InvalidField,
                "geo.lat",
                "latitude out of range".into(),
            ));
        }
        if bad(g.lon, 180.0) {
            return Err(refuse(
                InvalidField,
                "geo.lon",
                "longitude out of range".into(),
            ));
        }
    }
    Ok(ValidPost {
        post,
        created_at,
        post_key,
    })
}

/// The post key of a message whose platform and id are readable strings.
fn key_of(v: &Value) -> Option<String> {
    let platform = v.get("platform")?.as_str()?;
    let id = v.get("id")?.as_str()?;
    Some(sarap_core::pseudonym::post_key(platform, id))
}

/// The serde message without the offending value, which could be post text or an author id.
fn type_detail(e: &serde_json::Error) -> String {
    let m = e.to_string();
    match (
        m.find("invalid type"),
        m.find("unknown variant"),
        m.find(", expected"),
    ) {
        (Some(_), _, Some(i)) => format!("wrong type{}", &m[i..]),
        (_, Some(_), Some(i)) => format!("unknown value{}", &m[i..]),
        _ => "invalid value".to_string(),
    }
}

fn classify(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "read error",
        serde_json::error::Category::Syntax => "syntax error",
        serde_json::error::Category::Data => "data error",
        serde_json::error::Category::Eof => "unexpected end",
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits() -> Limits {
        Limits {
            max_message_bytes: 4096,
            max_future_skew_secs: 600,
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-11-01T12:00:00Z".parse().unwrap()
    }

    fn good() -> Value {
        json!({
            "schema": "sarap.post.raw/1", "id": "42", "platform": "telegram",
            "author": {"id": "777", "kind": "person"},
            "text": "Сәлем", "created_at": "2026-11-01T11:59:00+06:00",
            "extra_connector_field": {"kept": "ignored"}
        })
    }

    fn refusal(v: &Value) -> Refusal {
        parse_raw(v.to_string().as_bytes(), limits(), now()).unwrap_err()
    }

    #[test]
    fn a_good_post_parses_with_its_key() {
        let p = parse_raw(good().to_string().as_bytes(), limits(), now()).unwrap();
        assert_eq!(
            p.post_key,
            sarap_core::pseudonym::post_key("telegram", "42")
        );
        assert_eq!(
            p.created_at,
            "2026-11-01T05:59:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn every_structural_reason() {
        let r = parse_raw(b"\xff\xfe{}", limits(), now()).unwrap_err();
        assert_eq!(r.reason, RejectReason::InvalidUtf8);
        let r = parse_raw(b"{\"schema\": ", limits(), now()).unwrap_err();
        assert_eq!(r.reason, RejectReason::NotJson);
        let r = parse_raw(b"[1,2]", limits(), now()).unwrap_err();
        assert_eq!(r.reason, RejectReason::NotJson);
        let r = parse_raw(&vec![b' '; 5000], limits(), now()).unwrap_err();
        assert_eq!(r.reason, RejectReason::MessageTooLarge);
        let mut v = good();
        v["schema"] = json!("sarap.post.raw/9");
        assert_eq!(refusal(&v).reason, RejectReason::UnknownSchema);
        v.as_object_mut().unwrap().remove("schema");
        assert_eq!(refusal(&v).reason, RejectReason::UnknownSchema);
    }

    #[test]
    fn missing_fields_are_named() {
        for path in REQUIRED {
            let mut v = good();
            match path {
                [a] => {
                    v.as_object_mut().unwrap().remove(*a);
                }
                [a, b] => {
                    v[*a].as_object_mut().unwrap().remove(*b);
                }
                _ => unreachable!(),
            }
            let r = refusal(&v);
            assert_eq!(r.reason, RejectReason::MissingField, "{path:?}");
            assert_eq!(r.field.as_deref(), Some(path.join(".").as_str()));
        }
        let mut v = good();
        v["id"] = json!("  ");
        assert_eq!(refusal(&v).field.as_deref(), Some("id"));
        v["text"] = Value::Null;
        assert_eq!(refusal(&v).reason, RejectReason::MissingField);
    }

    #[test]
    fn invalid_fields_are_named_without_echoing_values() {
        let mut v = good();
        v["author"]["kind"] = json!("celebrity-secret-name");
        let r = refusal(&v);
        assert_eq!(
            (r.reason, r.field.as_deref()),
            (RejectReason::InvalidField, Some("author.kind"))
        );
        assert!(!r.detail.contains("celebrity"), "{}", r.detail);
        assert!(r.post_key.is_some());
        let mut v = good();
        v["text"] = json!(12);
        assert_eq!(refusal(&v).field.as_deref(), Some("text"));
        let mut v = good();
        v["geo"] = json!({"lat": 123.0, "lon": 70.0});
        assert_eq!(refusal(&v).field.as_deref(), Some("geo.lat"));
    }

    #[test]
    fn bad_timestamps() {
        for ts in [
            "yesterday",
            "2026-13-01T00:00:00Z",
            "2026-11-01 12:00",
            "1999-12-31T23:59:59Z",
            "2026-11-02T12:00:00Z",
        ] {
            let mut v = good();
            v["created_at"] = json!(ts);
            let r = refusal(&v);
            assert_eq!(
                (r.reason, r.field.as_deref()),
                (RejectReason::BadTimestamp, Some("created_at")),
                "{ts}"
            );
        }
        let mut v = good();
        v["created_at"] = json!("2026-11-01T12:05:00Z"); // within the allowed skew
        assert!(parse_raw(v.to_string().as_bytes(), limits(), now()).is_ok());
    }
}
