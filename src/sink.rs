//! The sink role's glue for `sarap sink` and `sarap run`: open the store, serve the API, run
//! `sarap_sink::run`.

use crate::roles::{start_telemetry, Loaded};
use anyhow::Context;
use sarap_bus::pipeline::shutdown_on_signals;
use sarap_bus::telemetry::Readiness;
use sarap_sink::{SinkOptions, SinkReport, Store};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// Opens (and migrates) the store of `sink.store_url` and serves the HTTP API on
/// `sink.api_listen`; fails fast, before any consuming starts. Returns the store and the
/// API's bound address.
pub async fn start_sink(loaded: &Loaded) -> anyhow::Result<(Arc<dyn Store>, SocketAddr)> {
    let cfg = &loaded.config.sink;
    let store = sarap_sink::open_store(&cfg.store_url)
        .await
        .context("opening the sink store (sink.store_url / SARAP_STORE_URL)")?;
    let state = sarap_sink::api_state(store.clone(), cfg, &loaded.policy);
    let addr = sarap_sink::api::serve(&cfg.api_listen, state).await?;
    tracing::info!(
        store = ?store.backend(),
        "sink API on http://{addr}/api/regions (OpenAPI document: /api/openapi.json)"
    );
    Ok((store, addr))
}

/// Runs the sink role on an opened store until `shutdown` (or `stop_after` inputs).
pub async fn run_sink(
    loaded: &Loaded,
    brokers: &str,
    store: Arc<dyn Store>,
    ready: &Readiness,
    shutdown: watch::Receiver<bool>,
    stop_after: Option<u64>,
) -> anyhow::Result<SinkReport> {
    let mut opts = SinkOptions::for_config(&loaded.config);
    opts.stop_after = stop_after;
    sarap_sink::run(
        &loaded.config,
        &loaded.policy,
        brokers,
        store,
        ready,
        shutdown,
        opts,
    )
    .await
}

/// `sarap sink`: the sink role against an external cluster, with telemetry and the API.
pub async fn sink_main(loaded: Loaded) -> anyhow::Result<()> {
    let brokers = loaded.config.kafka.brokers.clone();
    anyhow::ensure!(
        !brokers.is_empty(),
        "kafka.brokers: no brokers configured (set SARAP_BROKERS or --brokers)"
    );
    let ready = start_telemetry(&loaded, &["sink", "store"]).await?;
    let (store, _) = start_sink(&loaded).await?;
    let report = run_sink(
        &loaded,
        &brokers,
        store,
        &ready,
        shutdown_on_signals(),
        None,
    )
    .await?;
    tracing::info!(
        consumed = report.consumed,
        signals = report.signals_produced,
        "sink stopped"
    );
    Ok(())
}
