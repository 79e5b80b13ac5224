//! The analyst dashboard, the auditor workbench and the operator page, served by the sink:
//! pages and assets compiled into the binary (no CDN, no tiles: it works offline), sign-in,
//! and the endpoints the pages read besides those of [`crate::api`].
//!
//! Roles: analysts read regions, signals, claims, coverage and exports and review alerts;
//! auditors read decisions (with the redacted excerpt only while retention allows) and record
//! verdicts; operators read health and metrics. Pages hold no data; every number comes from
//! an endpoint that checks the caller's role.

use crate::api::{
    denied, error, not_allowed, parse_time, signal_json, signal_query, store_error, ApiState,
    BadParam, Caller,
};
use crate::audit_log::{AuditReview, DecisionQuery, Stratum};
use crate::auth::{clear_cookie, session_cookie, Role};
use crate::store::{rfc3339, SignalQuery, SignalRow};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Instant;

/// What the pages and the audit and operator endpoints need besides the store.
#[derive(Debug, Clone)]
pub struct WebContext {
    /// The verified-claims registry (JSONL), read for claim texts and verdicts.
    pub claims_path: PathBuf,
    /// Where the encoder's card is (`<models_dir>/e5-small/card.json`).
    pub models_dir: PathBuf,
    /// Where the heads' cards are.
    pub heads_dir: PathBuf,
    /// The policy's k.
    pub min_authors: u32,
    /// The policy's hash.
    pub policy_hash: String,
    /// `retention.audit_excerpt_days`: an excerpt is shown only this long after its decision.
    pub excerpt_days: u32,
    /// The risk index's weights, for the legend.
    pub risk_weights: Value,
    /// When the server started.
    pub started: Instant,
}

/// Pages and assets: (path, content type, body).
const ASSETS: &[(&str, &str, &str)] = &[
    (
        "/",
        "text/html; charset=utf-8",
        include_str!("../assets/index.html"),
    ),
    (
        "/audit",
        "text/html; charset=utf-8",
        include_str!("../assets/audit.html"),
    ),
    (
        "/ops",
        "text/html; charset=utf-8",
        include_str!("../assets/ops.html"),
    ),
    (
        "/login",
        "text/html; charset=utf-8",
        include_str!("../assets/login.html"),
    ),
    (
        "/report",
        "text/html; charset=utf-8",
        include_str!("../assets/report.html"),
    ),
    (
        "/assets/app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "/assets/common.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/common.js"),
    ),
    (
        "/assets/dashboard.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/dashboard.js"),
    ),
    (
        "/assets/audit.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/audit.js"),
    ),
    (
        "/assets/ops.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/ops.js"),
    ),
    (
        "/assets/report.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/report.js"),
    ),
    (
        "/assets/login.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/login.js"),
    ),
    (
        "/assets/regions.geojson",
        "application/geo+json",
        sarap_core::regions::REGIONS_GEOJSON,
    ),
];

/// The Content-Security-Policy of every page: nothing from elsewhere, no inline script.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

fn asset(path: &'static str) -> Response {
    let (_, ty, body) = ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .expect("every routed asset is in ASSETS");
    (
        [
            (header::CONTENT_TYPE, *ty),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        *body,
    )
        .into_response()
}

/// The routes of this module (merged into [`crate::api::router`]).
pub fn routes() -> Router<ApiState> {
    let mut r = Router::new();
    for (path, _, _) in ASSETS {
        r = r.route(path, get(move || async move { asset(path) }));
    }
    r.route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/session", get(session))
        .route("/api/meta", get(meta))
        .route("/api/claims/spread", get(claims_spread))
        .route("/api/coverage", get(coverage))
        .route("/api/export", get(export))
        .route("/api/audit/verify", get(audit_verify))
        .route("/api/audit/decisions", get(audit_decisions))
        .route("/api/audit/decisions/{id}", get(audit_decision))
        .route("/api/audit/decisions/{id}/review", post(audit_review))
        .route("/api/audit/sample", get(audit_sample))
        .route("/api/audit/agreement", get(audit_agreement))
        .route("/api/ops/health", get(ops_health))
        .route("/api/ops/metrics", get(ops_metrics))
}

fn need(caller: Caller, role: Role) -> Result<crate::auth::Principal, crate::api::WrongRole> {
    caller.need(role)
}

async fn login(State(st): State<ApiState>, headers: HeaderMap, body: Bytes) -> Response {
    // JSON only: a cross-site form cannot send it without a CORS preflight this server refuses.
    let json_body = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json_body {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send {\"token\": \"…\"} as application/json",
        );
    }
    if let Err(d) = crate::auth::check_origin(&headers) {
        return denied(d);
    }
    let token = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["token"].as_str().map(str::to_string))
        .unwrap_or_default();
    let Some(p) = st.auth.check_token(&token) else {
        tracing::warn!("sign-in with an unknown token");
        return error(StatusCode::UNAUTHORIZED, "unknown token");
    };
    let now = chrono::Utc::now().timestamp();
    let cookie = st.auth.new_session(&p, now);
    let csrf = st.auth.csrf_for(&cookie);
    tracing::info!(role = %p.role, name = %p.name, "signed in");
    (
        [(header::SET_COOKIE, session_cookie(&cookie, &headers))],
        Json(json!({"role": p.role.as_str(), "name": p.name, "csrf": csrf})),
    )
        .into_response()
}

async fn logout(caller: Caller) -> Response {
    // Through the extractor: a cross-site page cannot sign a user out (CSRF check).
    let _ = caller;
    (
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, clear_cookie())],
    )
        .into_response()
}

async fn session(caller: Caller) -> Response {
    let p = caller.0;
    Json(json!({"role": p.role.as_str(), "name": p.name, "csrf": p.csrf})).into_response()
}

/// Claim id → its registry line (text, verdict, lang, source).
fn claims(st: &ApiState) -> BTreeMap<String, Value> {
    let text = std::fs::read_to_string(&st.web.claims_path).unwrap_or_default();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| Some((v["claim_id"].as_str()?.to_string(), v)))
        .collect()
}

async fn meta(State(st): State<ApiState>, caller: Caller) -> Response {
    if let Err(r) = need(caller, Role::Analyst) {
        return r.into_response();
    }
    let claims: BTreeMap<String, Value> = claims(&st)
        .into_iter()
        .map(|(id, v)| {
            (
                id,
                json!({"text": v["text"], "verdict": v["verdict"], "lang": v["lang"], "source": v["source"]}),
            )
        })
        .collect();
    Json(json!({
        "resolutions": st.codes,
        "base": st.base_code,
        "min_authors_per_cell": st.web.min_authors,
        "policy_hash": st.web.policy_hash,
        "risk_weights": st.web.risk_weights,
        "claims": claims,
    }))
    .into_response()
}

/// The end of the newest published base window (the dashboard's "now").
async fn data_end(st: &ApiState) -> Result<Option<i64>, Response> {
    let latest = st
        .store
        .latest_signals(&st.base_code)
        .await
        .map_err(store_error)?;
    Ok(latest.iter().map(|r| window_of(&signal_json(r)).1).max())
}

/// A signal's window as unix seconds (start, end).
fn window_of(v: &Value) -> (i64, i64) {
    let t = |k: &str| {
        v["window"][k]
            .as_str()
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            .map(|t| t.timestamp())
            .unwrap_or(0)
    };
    (t("start"), t("end"))
}

async fn base_signals(
    st: &ApiState,
    region: Option<String>,
    from: i64,
    to: i64,
) -> Result<Vec<SignalRow>, Response> {
    st.store
        .signals(&SignalQuery {
            region,
            resolution: st.base_code.clone(),
            from,
            to,
            limit: 100_000,
        })
        .await
        .map_err(store_error)
}

async fn claims_spread(
    State(st): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = need(caller, Role::Analyst) {
        return r.into_response();
    }
    if !st.allow_signals {
        return not_allowed("regional_signals");
    }
    let hours: i64 = match q.get("hours").map(|h| h.parse::<i64>()) {
        None => 6,
        Some(Ok(h)) if (1..=24 * 30).contains(&h) => h,
        _ => return BadParam("hours: an integer in 1..=720".into()).into_response(),
    };
    let end = match data_end(&st).await {
        Ok(Some(e)) => e,
        Ok(None) => return Json(json!({"from": null, "to": null, "claims": []})).into_response(),
        Err(r) => return r,
    };
    let from = end - hours * 3600;
    let rows = match base_signals(&st, None, from, end).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    #[derive(Default)]
    struct Spread {
        total: u64,
        last_hour: u64,
        prev_hour: u64,
        regions: BTreeMap<String, u64>,
        series: BTreeMap<i64, u64>,
    }
    let mut by: BTreeMap<String, Spread> = BTreeMap::new();
    for r in &rows {
        let v = signal_json(r);
        let (start, window_end) = window_of(&v);
        let region = v["region"].as_str().unwrap_or_default().to_string();
        for pair in v["top_claims"].as_array().into_iter().flatten() {
            let (Some(id), Some(n)) = (pair[0].as_str(), pair[1].as_u64()) else {
                continue;
            };
            let s = by.entry(id.to_string()).or_default();
            s.total += n;
            if window_end > end - 3600 {
                s.last_hour += n;
            } else if window_end > end - 7200 {
                s.prev_hour += n;
            }
            *s.regions.entry(region.clone()).or_default() += n;
            *s.series.entry(start).or_default() += n;
        }
    }
    let registry = claims(&st);
    let mut out: Vec<Value> = by
        .into_iter()
        .map(|(id, s)| {
            let meta = registry.get(&id).cloned().unwrap_or(Value::Null);
            let mut regions: Vec<(String, u64)> = s.regions.into_iter().collect();
            regions.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            json!({
                "claim_id": id, "text": meta["text"], "verdict": meta["verdict"], "lang": meta["lang"],
                "total": s.total, "last_hour": s.last_hour, "prev_hour": s.prev_hour,
                "growth": s.last_hour as f64 / s.prev_hour.max(1) as f64,
                "regions": regions.into_iter().map(|(r, n)| json!({"region": r, "count": n})).collect::<Vec<_>>(),
                "series": s.series.into_iter().map(|(t, n)| json!({"start": rfc3339(t), "count": n})).collect::<Vec<_>>(),
            })
        })
        .collect();
    out.sort_by(|a, b| {
        let k = |v: &Value| {
            (
                v["growth"].as_f64().unwrap_or(0.0),
                v["total"].as_u64().unwrap_or(0),
            )
        };
        k(b).partial_cmp(&k(a)).unwrap_or(std::cmp::Ordering::Equal)
    });
    Json(json!({"from": rfc3339(from), "to": rfc3339(end), "claims": out})).into_response()
}

async fn coverage(
    State(st): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = need(caller, Role::Analyst) {
        return r.into_response();
    }
    let end = match data_end(&st).await {
        Ok(e) => e.unwrap_or_else(|| chrono::Utc::now().timestamp()),
        Err(r) => return r,
    };
    let (from, to) = match (parse_time(&q, "to", end), parse_time(&q, "from", 0)) {
        (Ok(to), Ok(f)) => (
            if q.contains_key("from") {
                f
            } else {
                to - 86_400
            },
            to,
        ),
        (Err(b), _) | (_, Err(b)) => return b.into_response(),
    };
    let rows = match base_signals(&st, None, from, to).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let (mut total, mut unknown, mut suppressed) = (0u64, 0u64, 0u64);
    let mut by_language: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_region: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for r in &rows {
        let v = signal_json(r);
        if v["suppressed"].as_bool().unwrap_or(false) {
            suppressed += 1;
            continue;
        }
        let region = v["region"].as_str().unwrap_or("unknown").to_string();
        let n = v["n_posts"].as_u64().unwrap_or(0);
        total += n;
        if region == "unknown" {
            unknown += n;
        }
        let cell = by_region.entry(region).or_default();
        for (lang, c) in v["languages"].as_object().into_iter().flatten() {
            let c = c.as_u64().unwrap_or(0);
            *cell.entry(lang.clone()).or_default() += c;
            *by_language.entry(lang.clone()).or_default() += c;
        }
    }
    Json(json!({
        "from": rfc3339(from), "to": rfc3339(to), "total": total,
        "unknown_region": unknown,
        "unknown_share": if total == 0 { 0.0 } else { unknown as f64 / total as f64 },
        "suppressed_cells": suppressed, "cells": rows.len(),
        "by_language": by_language, "by_region": by_region,
    }))
    .into_response()
}

/// CSV field: quoted when it holds a separator, a quote or a line break.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

async fn export(
    State(st): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = need(caller, Role::Analyst) {
        return r.into_response();
    }
    if !st.allow_signals {
        return not_allowed("regional_signals");
    }
    let format = q
        .get("format")
        .map(String::as_str)
        .unwrap_or("csv")
        .to_string();
    if !["csv", "json"].contains(&format.as_str()) {
        return BadParam("format: csv or json".into()).into_response();
    }
    let query = match signal_query(&st, &q, 10_000) {
        Ok(q) => q,
        Err(b) => return b.into_response(),
    };
    let rows = match st.store.signals(&query).await {
        Ok(r) => r,
        Err(e) => return store_error(e),
    };
    let SignalQuery {
        region,
        resolution,
        from,
        to,
        ..
    } = query;
    let name = format!(
        "sarap-{}-{}-{}-{}.{format}",
        region.as_deref().unwrap_or("all"),
        resolution,
        chrono::DateTime::from_timestamp(from, 0)
            .unwrap_or_default()
            .format("%Y%m%dT%H%M"),
        chrono::DateTime::from_timestamp(to, 0)
            .unwrap_or_default()
            .format("%Y%m%dT%H%M"),
    );
    let disposition = format!("attachment; filename=\"{name}\"");
    let signals: Vec<Value> = rows.iter().map(signal_json).collect();
    if format == "json" {
        let body = json!({"resolution": resolution, "from": rfc3339(from), "to": rfc3339(to),
            "policy_hash": st.web.policy_hash, "count": signals.len(), "signals": signals});
        return (
            [
                (header::CONTENT_TYPE, "application/json".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            body.to_string(),
        )
            .into_response();
    }
    let mut out = String::from("region,window_start,window_end,suppressed,n_posts,n_authors,sentiment_neg,sentiment_neu,sentiment_pos,hostility_rate,claim_matches,copies,risk,anomaly,alert\n");
    let num = |v: &Value| match v {
        Value::Null => String::new(),
        v => v.to_string(),
    };
    for v in &signals {
        let claims: u64 = v["top_claims"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|p| p[1].as_u64())
            .sum();
        let suppressed = v["suppressed"].as_bool().unwrap_or(false);
        let fields = [
            csv_field(v["region"].as_str().unwrap_or_default()),
            csv_field(v["window"]["start"].as_str().unwrap_or_default()),
            csv_field(v["window"]["end"].as_str().unwrap_or_default()),
            suppressed.to_string(),
            num(&v["n_posts"]),
            num(&v["n_authors"]),
            num(&v["sentiment"]["neg"]),
            num(&v["sentiment"]["neu"]),
            num(&v["sentiment"]["pos"]),
            num(&v["hostility_rate"]),
            if suppressed {
                String::new()
            } else {
                claims.to_string()
            },
            num(&v["copies"]),
            num(&v["risk"]),
            num(&v["anomaly"]),
            csv_field(v["alert"].as_str().unwrap_or_default()),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        out,
    )
        .into_response()
}

/// The JSON of a stored verification.
pub fn verify_json(v: &crate::audit_log::StoredVerify) -> Value {
    json!({
        "ok": v.broken.is_none(),
        "records": v.report.records,
        "chains": v.report.chains,
        "repeated_decisions": v.report.repeated_decisions,
        "break": v.broken.as_ref().map(|(b, id)| json!({
            "chain": b.chain, "seq": b.seq, "position": b.position, "reason": b.reason, "decision_id": id,
        })),
    })
}

async fn audit_verify(State(st): State<ApiState>, caller: Caller) -> Response {
    if let Err(r) = need(caller, Role::Auditor) {
        return r.into_response();
    }
    match st.store.audit().verify_audit().await {
        Ok(v) => {
            if let Some((b, _)) = &v.broken {
                crate::audit_role::CHAIN_BREAKS.inc();
                tracing::error!(chain = %b.chain, seq = b.seq, reason = %b.reason, "audit log verification failed");
            }
            Json(verify_json(&v)).into_response()
        }
        Err(e) => store_error(e),
    }
}

fn opt(q: &HashMap<String, String>, k: &str) -> Option<String> {
    q.get(k)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

async fn audit_decisions(
    State(st): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = need(caller, Role::Auditor) {
        return r.into_response();
    }
    let int = |k: &str, d: i64, max: i64| match q.get(k) {
        None => Ok(d),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=max).contains(n))
            .ok_or_else(|| BadParam(format!("{k}: an integer in 0..={max}"))),
    };
    let (limit, offset) = match (int("limit", 50, 1000), int("offset", 0, i64::MAX / 2)) {
        (Ok(l), Ok(o)) => (l.max(1), o),
        (Err(b), _) | (_, Err(b)) => return b.into_response(),
    };
    let query = DecisionQuery {
        lang: opt(&q, "lang"),
        region: opt(&q, "region"),
        label: opt(&q, "label"),
        limit,
        offset,
    };
    match st.store.audit().decisions(&query).await {
        Ok((total, list)) => Json(json!({"total": total, "decisions": list})).into_response(),
        Err(e) => store_error(e),
    }
}

/// A card file's JSON, if it is there and is the one the record names (same sha256).
fn card(path: PathBuf) -> Value {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .unwrap_or(Value::Null)
}

/// A decision as the workbench shows it; the excerpt only while retention allows.
pub fn decision_json(d: &crate::audit_log::StoredDecision, excerpt_days: u32, now: i64) -> Value {
    let mut record: Value = serde_json::from_str(&d.record).unwrap_or(Value::Null);
    let hash_ok = sarap_core::audit::record_hash_json(&d.record)
        .map(|h| record["hash"].as_str() == Some(h.as_str()))
        .unwrap_or(false);
    // The stored expiry, shortened if the policy's retention has been lowered since.
    let at = record["at"]
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.timestamp())
        .unwrap_or(0);
    let until = d
        .excerpt_until
        .map(|u| u.min(at + excerpt_days as i64 * 86_400));
    let shown = match (&d.excerpt, until) {
        (Some(e), Some(u)) if u > now => Some(e.clone()),
        _ => None,
    };
    if let (Some(o), Some(e)) = (record.as_object_mut(), &shown) {
        o.insert("excerpt".into(), Value::String(e.clone()));
    }
    json!({
        "record": record,
        "hash_ok": hash_ok,
        "excerpt_expires": shown.as_ref().and(until).map(rfc3339),
        "reviews": d.reviews,
    })
}

async fn audit_decision(
    State(st): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = need(caller, Role::Auditor) {
        return r.into_response();
    }
    match st.store.audit().decision(&id).await {
        Ok(Some(d)) => {
            let mut v = decision_json(&d, st.web.excerpt_days, chrono::Utc::now().timestamp());
            let encoder = card(st.web.models_dir.join("e5-small/card.json"));
            let head = |name: &str| card(st.web.heads_dir.join(format!("{name}.card.json")));
            v["cards"] = json!({
                "encoder": encoder,
                "sentiment": head("sentiment"),
                "hostility": head("hostility"),
                "claims": head("claims"),
            });
            Json(v).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no decision {id:?}")),
        Err(e) => store_error(e),
    }
}

async fn audit_review(
    State(st): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let who = match need(caller, Role::Auditor) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!(
                    "body: {e}; expected {{\"verdict\": \"agree\"|\"disagree\", \"note\": \"…\"}}"
                ),
            )
        }
    };
    let verdict = v["verdict"].as_str().unwrap_or_default();
    if !["agree", "disagree"].contains(&verdict) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "verdict: agree or disagree",
        );
    }
    let note = v["note"].as_str().unwrap_or_default().trim();
    if note.chars().count() > 2000 || (verdict == "disagree" && note.chars().count() < 3) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "note: at most 2000 characters, and at least 3 to say why when you disagree",
        );
    }
    let auditor = if who.name == Role::Auditor.as_str() {
        v["auditor"]
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or("auditor")
            .to_string()
    } else {
        who.name.clone()
    };
    let review = AuditReview {
        decision_id: id.clone(),
        verdict: verdict.into(),
        note: note.into(),
        auditor,
        at: String::new(),
    };
    match st
        .store
        .audit()
        .review_decision(&review, chrono::Utc::now().timestamp())
        .await
    {
        Ok(Some(r)) => {
            tracing::info!(decision = %id, verdict, auditor = %r.auditor, "audit verdict recorded");
            Json(r).into_response()
        }
        Ok(None) => error(StatusCode::NOT_FOUND, format!("no decision {id:?}")),
        Err(e) => store_error(e),
    }
}

async fn audit_sample(
    State(st): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = need(caller, Role::Auditor) {
        return r.into_response();
    }
    let n = match q.get("n").map(|s| s.parse::<usize>()) {
        None => 20,
        Some(Ok(n)) if (1..=1000).contains(&n) => n,
        _ => return BadParam("n: an integer in 1..=1000".into()).into_response(),
    };
    let by: Result<Vec<Stratum>, String> = q
        .get("by")
        .map(String::as_str)
        .unwrap_or("lang,region")
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect();
    let by = match by {
        Ok(b) => b,
        Err(e) => return BadParam(format!("by: {e}")).into_response(),
    };
    let seed = q.get("seed").and_then(|s| s.parse().ok()).unwrap_or(1u64);
    match st.store.audit().sample(n, &by, seed).await {
        Ok((strata, list)) => {
            let names: Vec<&str> = by
                .iter()
                .map(|s| match s {
                    Stratum::Lang => "lang",
                    Stratum::Region => "region",
                    Stratum::Label => "label",
                })
                .collect();
            Json(json!({"by": names, "strata": strata, "seed": seed, "decisions": list}))
                .into_response()
        }
        Err(e) => store_error(e),
    }
}

async fn audit_agreement(State(st): State<ApiState>, caller: Caller) -> Response {
    if let Err(r) = need(caller, Role::Auditor) {
        return r.into_response();
    }
    match st.store.audit().agreement().await {
        Ok((rows, overall)) => Json(json!({"rows": rows, "overall": overall})).into_response(),
        Err(e) => store_error(e),
    }
}

async fn ops_health(State(st): State<ApiState>, caller: Caller) -> Response {
    if let Err(r) = need(caller, Role::Operator) {
        return r.into_response();
    }
    let store_ok = st.store.ping().await.is_ok();
    Json(json!({
        "status": if store_ok { "ok" } else { "degraded" },
        "version": env!("CARGO_PKG_VERSION"),
        "policy_hash": st.web.policy_hash,
        "store": {"backend": format!("{:?}", st.store.backend()).to_lowercase(), "ok": store_ok},
        "uptime_s": st.web.started.elapsed().as_secs(),
        "roles": st.auth.roles().iter().map(|r| r.as_str()).collect::<Vec<_>>(),
    }))
    .into_response()
}

async fn ops_metrics(caller: Caller) -> Response {
    if let Err(r) = need(caller, Role::Operator) {
        return r.into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        sarap_bus::telemetry::render_metrics(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("abai"), "abai");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
    }

    #[test]
    fn an_excerpt_is_shown_only_while_retention_allows() {
        let d = crate::audit_log::StoredDecision {
            record: r#"{"at":"2025-11-01T00:00:00Z","hash":"x"}"#.into(),
            excerpt: Some("redacted text".into()),
            excerpt_until: Some(1_761_955_200 + 10 * 86_400),
            reviews: vec![],
        };
        let t0 = 1_761_955_200;
        let v = decision_json(&d, 10, t0 + 86_400);
        assert_eq!(v["record"]["excerpt"], "redacted text");
        assert!(v["excerpt_expires"].is_string());
        // Expired.
        let v = decision_json(&d, 10, t0 + 11 * 86_400);
        assert!(v["record"].get("excerpt").is_none());
        // The policy lowered retention to 0 since: hidden at once.
        let v = decision_json(&d, 0, t0 + 1);
        assert!(v["record"].get("excerpt").is_none());
        assert_eq!(v["hash_ok"], false);
    }
}
