//! The HTTP JSON API for analysts and the dashboard (axum), and its OpenAPI document.
//!
//! - `GET /api/regions`: the 20 regions with their latest published base window and alert.
//! - `GET /api/signals?region=&from=&to=&resolution=&limit=`: published signals, oldest first.
//! - `GET /api/alerts?state=&region=&limit=`: alerts, newest first.
//! - `POST /api/alerts/{id}/review`: `{"decision": "confirm"|"dismiss", "reason", "analyst"}`.
//! - `GET /api/openapi.json`: the OpenAPI 3.1 document of all of the above.
//!
//! Nothing here is keyed by author and nothing shows an alert as confirmed unless an analyst's
//! review, with who, when and why, is recorded. Every endpoint but the OpenAPI document needs a
//! role ([`crate::auth`]); the pages, the audit and operator endpoints are in [`crate::web`].

use crate::auth::{Auth, Denied, Principal, Role};
use crate::store::{AlertQuery, Decision, ReviewOutcome, SignalQuery, SignalRow, Store};
use crate::web::WebContext;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use sarap_core::{Region, REGIONS};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// Code of the base resolution (`5m`), the default of `/api/signals`.
    pub base_code: String,
    /// Every resolution code served.
    pub codes: Vec<String>,
    /// The policy's purpose lists `regional_signals` (else `/api/regions` and `/api/signals` answer 403).
    pub allow_signals: bool,
    /// The policy's purpose lists `alerts` (else the alert endpoints answer 403).
    pub allow_alerts: bool,
    /// Tokens and sessions.
    pub auth: Arc<Auth>,
    /// What the pages, the audit and operator endpoints need.
    pub web: Arc<WebContext>,
}

/// The authenticated caller of a request (401 without credentials; 403 on a failed CSRF check).
pub struct Caller(pub Principal);

impl FromRequestParts<ApiState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &ApiState) -> Result<Self, Response> {
        let now = chrono::Utc::now().timestamp();
        st.auth
            .authenticate(&parts.method, &parts.headers, now)
            .map(Caller)
            .map_err(denied)
    }
}

impl Caller {
    /// The caller, if it has `role`; else a 403 naming the role needed.
    pub fn need(self, role: Role) -> Result<Principal, WrongRole> {
        if self.0.role == role {
            Ok(self.0)
        } else {
            Err(WrongRole {
                needed: role,
                has: self.0.role,
            })
        }
    }
}

/// A caller without the role an endpoint needs (a 403 naming both).
#[derive(Debug)]
pub struct WrongRole {
    needed: Role,
    has: Role,
}

impl IntoResponse for WrongRole {
    fn into_response(self) -> Response {
        error(
            StatusCode::FORBIDDEN,
            format!(
                "this needs the {} role; you are signed in as {}",
                self.needed, self.has
            ),
        )
    }
}

/// The response for a refused request.
pub fn denied(d: Denied) -> Response {
    match d {
        Denied::Unauthenticated(m) => error(StatusCode::UNAUTHORIZED, m),
        Denied::Forbidden(m) => error(StatusCode::FORBIDDEN, m),
    }
}

/// 403: the policy's purpose does not list this output.
pub fn not_allowed(output: &str) -> Response {
    error(
        StatusCode::FORBIDDEN,
        format!("the policy's purpose.allowed_outputs does not list {output:?}"),
    )
}

/// The API routes (merge them into a router or serve them with [`serve`]).
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/regions", get(regions))
        .route("/api/signals", get(signals))
        .route("/api/alerts", get(alerts))
        .route("/api/alerts/{id}/review", post(review))
        .route("/api/openapi.json", get(openapi_json))
        .merge(crate::web::routes())
        .with_state(state)
}

/// Binds `addr` and serves the API in the background; returns the bound address.
pub async fn serve(addr: &str, state: ApiState) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("sink.api_listen {addr}: {e}"))?;
    let local = listener.local_addr()?;
    let app = router(state);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "API server stopped");
        }
    });
    Ok(local)
}

/// A JSON error response.
pub fn error(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, Json(json!({ "error": msg.into() }))).into_response()
}

/// A bad request parameter, named in its message (a 400 response).
pub struct BadParam(pub String);

impl IntoResponse for BadParam {
    fn into_response(self) -> Response {
        error(StatusCode::BAD_REQUEST, self.0)
    }
}

/// The response when the store fails.
pub fn store_error(e: crate::store::StoreError) -> Response {
    tracing::warn!(error = %e, "API store query failed");
    error(
        StatusCode::SERVICE_UNAVAILABLE,
        "the store is not available",
    )
}

/// A stored signal with its alert's review state now, its alert id and resolution.
pub fn signal_json(r: &SignalRow) -> Value {
    let mut v: Value = serde_json::from_str(&r.signal).unwrap_or(Value::Null);
    if let Some(o) = v.as_object_mut() {
        if let Some(state) = &r.alert_state {
            o.insert("alert".into(), Value::String(state.clone()));
        }
        o.insert("alert_id".into(), json!(r.alert_id));
        o.insert("resolution".into(), json!(r.resolution));
    }
    v
}

async fn regions(State(st): State<ApiState>, caller: Caller) -> Response {
    if let Err(r) = caller.need(Role::Analyst) {
        return r.into_response();
    }
    if !st.allow_signals {
        return not_allowed("regional_signals");
    }
    let latest = match st.store.latest_signals(&st.base_code).await {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };
    let alerts = match st
        .store
        .alerts(&AlertQuery {
            limit: 10_000,
            ..AlertQuery::default()
        })
        .await
    {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };
    let mut by_region: HashMap<String, Value> = HashMap::new();
    for r in &latest {
        let v = signal_json(r);
        if let Some(region) = v.get("region").and_then(Value::as_str) {
            by_region.insert(region.to_string(), v.clone());
        }
    }
    let out: Vec<Value> = REGIONS
        .iter()
        .map(|info| {
            let id = info.region.as_str();
            let mine: Vec<_> = alerts.iter().filter(|a| a.region == id).collect();
            let active = mine.iter().find(|a| a.active);
            json!({
                "region": id,
                "iso": info.iso,
                "name_en": info.name_en,
                "name_ru": info.name_ru,
                "name_kk": info.name_kk,
                "latest": by_region.get(id).cloned().unwrap_or(Value::Null),
                "active_alert": active.map(|a| json!({"id": a.id, "level": a.level, "state": a.state})),
                "open_alerts": mine.iter().filter(|a| a.state == "open").count(),
            })
        })
        .collect();
    // The newest window end published: the dashboard's "now" (event time, not wall time).
    let data_end = by_region
        .values()
        .filter_map(|v| v["window"]["end"].as_str())
        .max()
        .map(str::to_string);
    Json(json!({ "resolution": st.base_code, "data_end": data_end, "regions": out }))
        .into_response()
}

/// A time parameter (RFC 3339), or `default` when absent.
pub fn parse_time(q: &HashMap<String, String>, key: &str, default: i64) -> Result<i64, BadParam> {
    match q.get(key).map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(default),
        Some(s) => chrono::DateTime::parse_from_rfc3339(s)
            .map(|t| t.timestamp())
            .map_err(|_| {
                BadParam(format!(
                    "{key}: {s:?} is not an RFC 3339 time like 2026-11-01T10:00:00Z"
                ))
            }),
    }
}

/// The `region` parameter: one of the 20 region ids, or none.
pub fn parse_region(q: &HashMap<String, String>) -> Result<Option<String>, BadParam> {
    match q.get("region").map(|s| s.trim()).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => match s.parse::<Region>() {
            Ok(Region::Unknown) | Err(_) => Err(BadParam(format!(
                "region: {s:?} is not one of the 20 region ids (see /api/regions)"
            ))),
            Ok(r) => Ok(Some(r.as_str().to_string())),
        },
    }
}

/// The `limit` parameter, 1..=10000.
pub fn parse_limit(q: &HashMap<String, String>, default: i64) -> Result<i64, BadParam> {
    match q.get("limit") {
        None => Ok(default),
        Some(s) => match s.trim().parse::<i64>() {
            Ok(n) if (1..=10_000).contains(&n) => Ok(n),
            _ => Err(BadParam("limit: must be in 1..=10000".into())),
        },
    }
}

/// The signal query of `region`, `from`, `to`, `resolution` and `limit` (default `limit`).
/// Without `to`: the last day up to now, and windows still to come; with it, the day before it.
pub fn signal_query(
    st: &ApiState,
    q: &HashMap<String, String>,
    limit: i64,
) -> Result<SignalQuery, BadParam> {
    let now = chrono::Utc::now().timestamp();
    let region = parse_region(q)?;
    let to = parse_time(q, "to", now + 86_400)?;
    let default_from = if q.contains_key("to") {
        to - 86_400
    } else {
        now - 86_400
    };
    let from = parse_time(q, "from", default_from)?;
    let resolution = q
        .get("resolution")
        .cloned()
        .unwrap_or_else(|| st.base_code.clone());
    if !st.codes.contains(&resolution) {
        return Err(BadParam(format!(
            "resolution: {resolution:?} is not one of {:?}",
            st.codes
        )));
    }
    if from > to {
        return Err(BadParam("from: must not be after to".into()));
    }
    Ok(SignalQuery {
        region,
        resolution,
        from,
        to,
        limit: parse_limit(q, limit)?,
    })
}

async fn signals(
    State(st): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = caller.need(Role::Analyst) {
        return r.into_response();
    }
    if !st.allow_signals {
        return not_allowed("regional_signals");
    }
    let query = match signal_query(&st, &q, 2000) {
        Ok(q) => q,
        Err(r) => return r.into_response(),
    };
    match st.store.signals(&query).await {
        Ok(rows) => {
            let signals: Vec<Value> = rows.iter().map(signal_json).collect();
            Json(json!({
                "resolution": query.resolution,
                "count": signals.len(),
                "signals": signals,
            }))
            .into_response()
        }
        Err(e) => store_error(e),
    }
}

async fn alerts(
    State(st): State<ApiState>,
    caller: Caller,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Err(r) = caller.need(Role::Analyst) {
        return r.into_response();
    }
    if !st.allow_alerts {
        return not_allowed("alerts");
    }
    let region = match parse_region(&q) {
        Ok(r) => r,
        Err(r) => return r.into_response(),
    };
    let state = q
        .get("state")
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    if let Some(s) = &state {
        if !["open", "confirmed", "dismissed"].contains(&s.as_str()) {
            return error(
                StatusCode::BAD_REQUEST,
                "state: must be open, confirmed or dismissed",
            );
        }
    }
    let limit = match parse_limit(&q, 500) {
        Ok(l) => l,
        Err(r) => return r.into_response(),
    };
    match st
        .store
        .alerts(&AlertQuery {
            state,
            region,
            limit,
        })
        .await
    {
        Ok(v) => Json(json!({ "alerts": v })).into_response(),
        Err(e) => store_error(e),
    }
}

/// Body of `POST /api/alerts/{id}/review`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewRequest {
    /// `confirm` or `dismiss`.
    pub decision: Decision,
    /// Why, in words (required).
    pub reason: String,
    /// Who reviews: recorded when the token is a shared one (no `name:`); a named token's
    /// name is recorded instead.
    #[serde(default)]
    pub analyst: Option<String>,
}

async fn review(
    State(st): State<ApiState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let who = match caller.need(Role::Analyst) {
        Ok(p) => p,
        Err(r) => return r.into_response(),
    };
    if !st.allow_alerts {
        return not_allowed("alerts");
    }
    let req: ReviewRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("body: {e}; expected {{\"decision\": \"confirm\"|\"dismiss\", \"reason\": \"…\", \"analyst\": \"…\"}}"),
            )
        }
    };
    let reason = req.reason.trim();
    // A shared token is named after its role; then the reviewer says who they are.
    let analyst = if who.name == Role::Analyst.as_str() {
        req.analyst.as_deref().unwrap_or("").trim().to_string()
    } else {
        who.name.clone()
    };
    let analyst = analyst.as_str();
    if analyst.is_empty() || analyst.chars().count() > 200 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "analyst: who reviews is required with a shared analyst token (at most 200 characters)",
        );
    }
    if reason.chars().count() < 3 || reason.chars().count() > 2000 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "reason: a reason of 3 to 2000 characters is required",
        );
    }
    let at = chrono::Utc::now().timestamp();
    match st
        .store
        .review_alert(&id, analyst, req.decision, reason, at)
        .await
    {
        Ok(ReviewOutcome::Done(a)) => {
            tracing::info!(alert = %a.id, state = %a.state, analyst, "alert reviewed");
            Json(a).into_response()
        }
        Ok(ReviewOutcome::NotFound) => error(StatusCode::NOT_FOUND, format!("no alert {id:?}")),
        Ok(ReviewOutcome::AlreadyReviewed(a)) => (
            StatusCode::CONFLICT,
            Json(json!({
                "error": format!("alert {id:?} was already reviewed ({}); reviews are final", a.state),
                "alert": a,
            })),
        )
            .into_response(),
        Err(e) => store_error(e),
    }
}

async fn openapi_json() -> Response {
    Json(openapi()).into_response()
}

/// Moves `$defs` of a generated JSON Schema into `components/schemas` and rewrites its refs.
fn hoist_defs(mut schema: Value, components: &mut serde_json::Map<String, Value>) -> Value {
    if let Some(Value::Object(defs)) = schema.as_object_mut().and_then(|o| o.remove("$defs")) {
        for (k, v) in defs {
            let v = hoist_defs(v, components);
            components.insert(k, v);
        }
    }
    fn rewrite(v: &mut Value) {
        match v {
            Value::Object(o) => {
                if let Some(Value::String(r)) = o.get_mut("$ref") {
                    if let Some(name) = r.strip_prefix("#/$defs/") {
                        *r = format!("#/components/schemas/{name}");
                    }
                }
                o.remove("$schema");
                o.remove("$id");
                for x in o.values_mut() {
                    rewrite(x);
                }
            }
            Value::Array(a) => a.iter_mut().for_each(rewrite),
            _ => {}
        }
    }
    rewrite(&mut schema);
    schema
}

/// The OpenAPI 3.1 document. The signal schema is generated from the `signals.regional`
/// contract, so the API documentation cannot drift from the topic's.
pub fn openapi() -> Value {
    let mut components = serde_json::Map::new();
    let signal = sarap_core::json_schemas()
        .into_iter()
        .find(|(topic, _, _)| *topic == "signals.regional")
        .map(|(_, _, s)| s)
        .expect("the signals.regional contract exists");
    let mut signal = hoist_defs(signal, &mut components);
    if let Some(props) = signal.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert(
            "alert_id".into(),
            json!({"type": ["string", "null"], "description": "Alert associated with the window; its review state is in `alert`."}),
        );
        props.insert(
            "resolution".into(),
            json!({"type": "string", "description": "Resolution code: the base window (e.g. 5m), 1h or 1d."}),
        );
    }
    components.insert("RegionalSignal".into(), signal);
    components.insert(
        "Error".into(),
        json!({
            "type": "object", "required": ["error"],
            "properties": {"error": {"type": "string"}}
        }),
    );
    components.insert(
        "Review".into(),
        json!({
            "type": ["object", "null"],
            "required": ["analyst", "at", "decision", "reason"],
            "properties": {
                "analyst": {"type": "string", "description": "Who reviewed."},
                "at": {"type": "string", "format": "date-time"},
                "decision": {"type": "string", "enum": ["confirmed", "dismissed"]},
                "reason": {"type": "string"}
            }
        }),
    );
    components.insert("Alert".into(), json!({
        "type": "object",
        "required": ["id", "region", "state", "level", "max_level", "active", "window_start", "window_end", "last_window_end", "risk", "anomaly", "peak_anomaly", "raised_at", "review"],
        "properties": {
            "id": {"type": "string"},
            "region": {"type": "string"},
            "state": {"type": "string", "enum": ["open", "confirmed", "dismissed"], "description": "open until an analyst reviews it; nothing is confirmed without a recorded review"},
            "level": {"type": "integer", "description": "Current level: 0 once the condition cleared, 1 elevated, 2 high"},
            "max_level": {"type": "integer"},
            "active": {"type": "boolean", "description": "Whether the anomaly condition still holds (independent of the review)"},
            "window_start": {"type": "string", "format": "date-time"},
            "window_end": {"type": "string", "format": "date-time"},
            "last_window_end": {"type": "string", "format": "date-time"},
            "risk": {"type": "number"},
            "anomaly": {"type": "number"},
            "peak_anomaly": {"type": "number"},
            "raised_at": {"type": "string", "format": "date-time"},
            "review": {"$ref": "#/components/schemas/Review"}
        }
    }));
    components.insert(
        "ReviewRequest".into(),
        json!({
            "type": "object", "additionalProperties": false,
            "required": ["decision", "reason"],
            "properties": {
                "decision": {"type": "string", "enum": ["confirm", "dismiss"]},
                "reason": {"type": "string", "minLength": 3, "maxLength": 2000},
                "analyst": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Who reviews; required only with a shared (unnamed) analyst token"}
            }
        }),
    );
    components.insert("Region".into(), json!({
        "type": "object",
        "required": ["region", "iso", "name_en", "name_ru", "name_kk", "latest", "active_alert", "open_alerts"],
        "properties": {
            "region": {"type": "string"},
            "iso": {"type": "string", "description": "ISO 3166-2:KZ code"},
            "name_en": {"type": "string"},
            "name_ru": {"type": "string"},
            "name_kk": {"type": "string"},
            "latest": {"oneOf": [{"$ref": "#/components/schemas/RegionalSignal"}, {"type": "null"}]},
            "active_alert": {"oneOf": [{"type": "null"}, {"type": "object", "properties": {
                "id": {"type": "string"}, "level": {"type": "integer"}, "state": {"type": "string"}}}]},
            "open_alerts": {"type": "integer"}
        }
    }));
    let err = |d: &str| json!({"description": d, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let region_param = json!({"name": "region", "in": "query", "required": false, "schema": {"type": "string"}, "description": "Region id, e.g. abai (see /api/regions)"});
    let limit_param = json!({"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 10000}});
    let mut doc = json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Sarap sink API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Regional, aggregate risk signals and alerts for analysts. Cells with fewer distinct authors than the policy's minimum are published as suppressed, without numbers; nothing is keyed by author; alerts stay open until an analyst confirms or dismisses them with a reason."
        },
        "paths": {
            "/api/regions": {"get": {
                "summary": "The 20 regions with their latest published base window and active alert",
                "operationId": "listRegions",
                "responses": {
                    "200": {"description": "Regions", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["resolution", "regions"],
                        "properties": {"resolution": {"type": "string"}, "regions": {"type": "array", "items": {"$ref": "#/components/schemas/Region"}}}}}}},
                    "503": err("Store unavailable")
                }
            }},
            "/api/signals": {"get": {
                "summary": "Published signals of closed windows, oldest first",
                "operationId": "listSignals",
                "parameters": [
                    region_param.clone(),
                    {"name": "from", "in": "query", "required": false, "schema": {"type": "string", "format": "date-time"}, "description": "Windows starting at or after (default: `to` − 24 h, or now − 24 h without `to`)"},
                    {"name": "to", "in": "query", "required": false, "schema": {"type": "string", "format": "date-time"}, "description": "Windows ending at or before (default: now + 24 h)"},
                    {"name": "resolution", "in": "query", "required": false, "schema": {"type": "string"}, "description": "The base window code (default, e.g. 5m), 1h or 1d"},
                    limit_param.clone()
                ],
                "responses": {
                    "200": {"description": "Signals", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["resolution", "count", "signals"],
                        "properties": {"resolution": {"type": "string"}, "count": {"type": "integer"},
                            "signals": {"type": "array", "items": {"$ref": "#/components/schemas/RegionalSignal"}}}}}}},
                    "400": err("Bad parameter (named in the message)"),
                    "503": err("Store unavailable")
                }
            }},
            "/api/alerts": {"get": {
                "summary": "Alerts, newest first",
                "operationId": "listAlerts",
                "parameters": [
                    {"name": "state", "in": "query", "required": false, "schema": {"type": "string", "enum": ["open", "confirmed", "dismissed"]}},
                    region_param,
                    limit_param
                ],
                "responses": {
                    "200": {"description": "Alerts", "content": {"application/json": {"schema": {
                        "type": "object", "required": ["alerts"],
                        "properties": {"alerts": {"type": "array", "items": {"$ref": "#/components/schemas/Alert"}}}}}}},
                    "400": err("Bad parameter"),
                    "503": err("Store unavailable")
                }
            }},
            "/api/alerts/{id}/review": {"post": {
                "summary": "Confirm or dismiss an open alert, with a reason; recorded with who and when. Reviews are final.",
                "operationId": "reviewAlert",
                "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReviewRequest"}}}},
                "responses": {
                    "200": {"description": "The reviewed alert", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Alert"}}}},
                    "400": err("Body is not a review request"),
                    "404": err("No such alert"),
                    "409": {"description": "Already reviewed", "content": {"application/json": {"schema": {
                        "type": "object", "properties": {"error": {"type": "string"}, "alert": {"$ref": "#/components/schemas/Alert"}}}}}},
                    "422": err("Reason or analyst missing"),
                    "503": err("Store unavailable")
                }
            }},
            "/api/openapi.json": {"get": {
                "summary": "This document",
                "operationId": "openapi",
                "responses": {"200": {"description": "OpenAPI 3.1 document", "content": {"application/json": {}}}}
            }}
        },
        "components": {"schemas": Value::Object(components)}
    });
    add_web_paths(&mut doc);
    doc
}

/// The dashboard's, workbench's and operators' endpoints (`crate::web`) and the security
/// schemes: brief entries, each with the role it needs.
fn add_web_paths(doc: &mut Value) {
    let ok = |d: &str| json!({"200": {"description": d}, "401": {"description": "Not signed in"}, "403": {"description": "Another role, or a failed CSRF check"}});
    let entries: [(&str, &str, &str, &str); 15] = [
        ("/api/login", "post", "none", "Sign in with a token ({\"token\"}); sets the session cookie, returns role, name and the CSRF token"),
        ("/api/logout", "post", "any", "Sign out (clears the session cookie)"),
        ("/api/session", "get", "any", "The signed-in role, name and CSRF token"),
        ("/api/meta", "get", "analyst", "Resolutions, k, policy hash, risk weights, the claims registry's texts and verdicts"),
        ("/api/claims/spread", "get", "analyst", "Claims matched in the last `hours` of data: totals, last and previous hour, growth, regions, series"),
        ("/api/coverage", "get", "analyst", "Posts per language and region and the unknown-region share (unsuppressed cells)"),
        ("/api/export", "get", "analyst", "Signals of a region and period as a CSV or JSON download (`format`)"),
        ("/api/audit/verify", "get", "auditor", "Walks every audit chain; the first broken link"),
        ("/api/audit/decisions", "get", "auditor", "Decisions, newest first (filters lang, region, label; limit, offset)"),
        ("/api/audit/decisions/{id}", "get", "auditor", "A decision with its cards, hash check, verdicts and, while retention allows, its excerpt"),
        ("/api/audit/decisions/{id}/review", "post", "auditor", "Record a verdict ({\"verdict\": \"agree\"|\"disagree\", \"note\"})"),
        ("/api/audit/sample", "get", "auditor", "A stratified sample (n, by=lang,region,label, seed)"),
        ("/api/audit/agreement", "get", "auditor", "Model–auditor agreement per language and label"),
        ("/api/ops/health", "get", "operator", "Store, policy hash, version, uptime, configured roles"),
        ("/api/ops/metrics", "get", "operator", "Prometheus text exposition"),
    ];
    let paths = doc["paths"].as_object_mut().expect("paths");
    for (path, method, role, summary) in entries {
        let mut op = json!({"summary": summary, "x-sarap-role": role, "responses": ok("OK")});
        if role == "none" {
            op["security"] = json!([]);
        }
        paths
            .entry(path.to_string())
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("a path item")
            .insert(method.into(), op);
    }
    doc["components"]["securitySchemes"] = json!({
        "bearer": {"type": "http", "scheme": "bearer", "description": "A role's token (SARAP_TOKEN_ANALYST, _AUDITOR, _OPERATOR)"},
        "session": {"type": "apiKey", "in": "cookie", "name": crate::auth::COOKIE, "description": "Set by POST /api/login; changes also need the X-CSRF-Token header"}
    });
    doc["security"] = json!([{"bearer": []}, {"session": []}]);
    doc["paths"]["/api/openapi.json"]["get"]["security"] = json!([]);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$ref` in the document resolves inside it.
    #[test]
    fn openapi_refs_resolve() {
        let doc = openapi();
        fn refs(v: &Value, out: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    if let Some(Value::String(r)) = o.get("$ref") {
                        out.push(r.clone());
                    }
                    o.values().for_each(|x| refs(x, out));
                }
                Value::Array(a) => a.iter().for_each(|x| refs(x, out)),
                _ => {}
            }
        }
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(all.len() > 5);
        for r in all {
            let ptr = r.strip_prefix('#').expect("local ref");
            assert!(doc.pointer(ptr).is_some(), "unresolved {r}");
        }
        for p in [
            "/api/regions",
            "/api/signals",
            "/api/alerts",
            "/api/alerts/{id}/review",
        ] {
            assert!(doc["paths"][p].is_object(), "{p}");
        }
    }
}
