//! Sarap sink: `posts.scored` → regional, aggregate signals for analysts.
//!
//! - [`window`]: event-time tumbling windows (default 5 minutes) rolled up to hours and days.
//! - [`cell`]: the aggregate of one region and window in fixed memory ([`hll`] for distinct
//!   authors and clusters, [`topk`] for claims and clusters), k-suppression and Laplace noise.
//! - [`risk`]: each region's baseline, anomaly score and alert levels with hysteresis.
//! - [`engine`]: watermarks, closing, late corrections, what a commit must write.
//! - [`store`]: SQLite (embedded) or PostgreSQL behind one [`store::Store`] trait, one schema.
//! - [`role`]: the Kafka loop with its exactly-once effect on the store.
//! - [`api`]: the HTTP JSON API and its OpenAPI document; [`metrics`]: Prometheus.

#![warn(missing_docs)]

pub mod api;
pub mod cell;
pub mod engine;
pub mod hll;
pub mod metrics;
pub mod risk;
pub mod role;
pub mod store;
pub mod topk;
pub mod window;

pub use role::{run, SinkOptions, SinkReport};
pub use store::{SqlStore, Store, StoreError};
pub use window::Settings;

use std::sync::Arc;

/// Opens (and migrates) the store named by `sink.store_url`.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    Ok(Arc::new(SqlStore::open(url).await?))
}

/// The API's shared state for a configuration and policy.
pub fn api_state(
    store: Arc<dyn Store>,
    cfg: &sarap_core::config::SinkConfig,
    policy: &sarap_core::Policy,
) -> api::ApiState {
    let s = Settings::new(cfg, policy);
    api::ApiState {
        store,
        base_code: s.code(window::Res::Base),
        codes: s.resolutions().iter().map(|r| s.code(*r)).collect(),
        allow_signals: s.allow_signals,
        allow_alerts: s.allow_alerts,
    }
}
