//! Sarap sink: `posts.scored` → regional, aggregate signals for analysts.
//!
//! - [`window`]: event-time tumbling windows (default 5 minutes) rolled up to hours and days.
//! - [`cell`]: the aggregate of one region and window in fixed memory ([`hll`] for distinct
//!   authors and clusters, [`topk`] for claims and clusters), k-suppression and Laplace noise.
//! - [`risk`]: each region's baseline, anomaly score and alert levels with hysteresis.
//! - [`engine`]: watermarks, closing, late corrections, what a commit must write.
//! - [`store`]: SQLite (embedded) or PostgreSQL behind one [`store::Store`] trait, one schema.
//! - [`role`]: the Kafka loop with its exactly-once effect on the store.
//! - [`audit_log`]: the audit log and auditors' verdicts in the same store.
//! - [`api`]: the HTTP JSON API and its OpenAPI document; [`metrics`]: Prometheus.
//! - [`auth`]: roles, tokens, sessions and CSRF; [`web`]: the dashboard, the auditor
//!   workbench and the operator page, and the endpoints they read.
//! - [`audit_role`]: the consumer that stores `audit.decisions` in the audit log.

#![warn(missing_docs)]

pub mod api;
pub mod audit_log;
pub mod audit_role;
pub mod auth;
pub mod cell;
pub mod engine;
pub mod hll;
pub mod metrics;
pub mod risk;
pub mod role;
pub mod store;
pub mod topk;
pub mod web;
pub mod window;

pub use role::{run, SinkOptions, SinkReport};
pub use store::{SqlStore, Store, StoreError};
pub use window::Settings;

use std::sync::Arc;

/// Opens (and migrates) the store named by `sink.store_url`.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(SqlStore::open(url).await?))
}

/// The API's shared state for a configuration, policy and the callers' tokens.
pub fn api_state(
    store: Arc<dyn Store>,
    cfg: &sarap_core::config::Config,
    policy: &sarap_core::Policy,
    auth: auth::Auth,
) -> api::ApiState {
    let s = Settings::new(&cfg.sink, policy);
    api::ApiState {
        store,
        base_code: s.code(window::Res::Base),
        codes: s.resolutions().iter().map(|r| s.code(*r)).collect(),
        allow_signals: s.allow_signals,
        allow_alerts: s.allow_alerts,
        auth: Arc::new(auth),
        web: Arc::new(web::WebContext {
            claims_path: cfg.analyze.claims.clone(),
            models_dir: cfg.analyze.models_dir.clone(),
            heads_dir: cfg.analyze.heads_dir.clone(),
            min_authors: policy.privacy.min_authors_per_cell,
            policy_hash: policy.hash().to_string(),
            excerpt_days: policy.retention.audit_excerpt_days,
            risk_weights: serde_json::to_value(cfg.sink.risk_weights).unwrap_or_default(),
            started: std::time::Instant::now(),
        }),
    }
}
