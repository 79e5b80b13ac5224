//! `/metrics` (Prometheus text format), `/healthz` (the process is alive) and `/readyz`
//! (every dependency a role declared is reachable: broker, model, store).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus::{Encoder, TextEncoder};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

/// Named readiness checks shared between a role and its `/readyz` endpoint.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Arc<Mutex<BTreeMap<String, bool>>>,
}

impl Readiness {
    /// Declares a check (initially not ready).
    pub fn declare(&self, name: &str) {
        self.checks
            .lock()
            .unwrap()
            .entry(name.to_string())
            .or_insert(false);
    }

    /// Sets a check's state.
    pub fn set(&self, name: &str, ok: bool) {
        self.checks.lock().unwrap().insert(name.to_string(), ok);
    }

    /// True when at least one check is declared and all pass.
    pub fn is_ready(&self) -> bool {
        let c = self.checks.lock().unwrap();
        !c.is_empty() && c.values().all(|v| *v)
    }

    fn snapshot(&self) -> BTreeMap<String, bool> {
        self.checks.lock().unwrap().clone()
    }
}

/// Renders every metric in the default registry in Prometheus text format.
pub fn render_metrics() -> String {
    let mut buf = Vec::new();
    TextEncoder::new()
        .encode(&prometheus::gather(), &mut buf)
        .expect("text encoding of gathered metrics cannot fail");
    String::from_utf8(buf).expect("prometheus text format is UTF-8")
}

/// The telemetry routes, to be served alone or merged into a role's own router.
pub fn router(ready: Readiness) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|| async {
                (
                    [("content-type", "text/plain; version=0.0.4")],
                    render_metrics(),
                )
            }),
        )
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(ready)
}

async fn readyz(State(ready): State<Readiness>) -> impl IntoResponse {
    let body = serde_json::to_string(&ready.snapshot()).unwrap_or_default();
    let code = if ready.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, [("content-type", "application/json")], body)
}

/// Binds `addr` and serves `app` in the background; returns the bound address (port 0 picks one).
pub async fn serve(addr: &str, app: Router) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("telemetry.listen {addr}: {e}"))?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "telemetry server stopped");
        }
    });
    Ok(local)
}
