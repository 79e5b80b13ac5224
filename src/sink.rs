//! The sink role's glue for `sarap sink` and `sarap run`: open the store, serve the API, run
//! `sarap_sink::run`.

use crate::roles::{start_telemetry, Loaded, StartupError};
use anyhow::Context;
use sarap_bus::pipeline::shutdown_on_signals;
use sarap_bus::telemetry::Readiness;
use sarap_core::config::ConfigError;
use sarap_sink::auth::{Auth, Role};
use sarap_sink::{SinkOptions, SinkReport, Store};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// Opens (and migrates) the store of `sink.store_url` and serves the HTTP API, the dashboard
/// and the audit workbench on `sink.api_listen`; fails fast, before any consuming starts.
/// Callers authenticate with the tokens in `auth`. Returns the store and the bound address.
pub async fn start_sink_with(
    loaded: &Loaded,
    auth: Auth,
) -> anyhow::Result<(Arc<dyn Store>, SocketAddr)> {
    let cfg = &loaded.config.sink;
    let store = sarap_sink::open_store(&cfg.store_url)
        .await
        .context("opening the sink store (sink.store_url / SARAP_STORE_URL)")?;
    let roles: Vec<&str> = auth.roles().iter().map(|r| r.as_str()).collect();
    for role in Role::ALL {
        if !auth.roles().contains(&role) {
            tracing::warn!(
                "{} is not set: nobody can sign in as {role}",
                role.env_var()
            );
        }
    }
    let state = sarap_sink::api_state(store.clone(), &loaded.config, &loaded.policy, auth);
    let addr = sarap_sink::api::serve(&cfg.api_listen, state).await?;
    tracing::info!(
        store = ?store.backend(),
        roles = ?roles,
        "dashboard on http://{addr}/ (auditor workbench /audit, operators /ops, API /api/openapi.json)"
    );
    Ok((store, addr))
}

/// [`start_sink_with`] the tokens of `SARAP_TOKEN_ANALYST`, `_AUDITOR` and `_OPERATOR`.
pub async fn start_sink(loaded: &Loaded) -> anyhow::Result<(Arc<dyn Store>, SocketAddr)> {
    let auth = Auth::from_env().map_err(token_error)?;
    start_sink_with(loaded, auth).await
}

/// A bad token secret stops the role with exit status 2, naming the variable.
pub fn token_error(e: String) -> StartupError {
    let (key, message) = e.split_once(": ").unwrap_or(("SARAP_TOKEN_*", &e));
    StartupError::Config(ConfigError::Invalid {
        key: key.to_string(),
        message: message.to_string(),
    })
}

/// Runs the audit-log consumer (`audit.decisions` → the store) until `shutdown`.
pub fn spawn_audit_log(
    loaded: &Loaded,
    brokers: &str,
    store: Arc<dyn Store>,
    shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<anyhow::Result<u64>> {
    let (cfg, brokers) = (loaded.config.clone(), brokers.to_string());
    let days = loaded.policy.retention.audit_excerpt_days;
    tokio::spawn(
        async move { sarap_sink::audit_role::run(&cfg, days, &brokers, store, shutdown).await },
    )
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
    let shutdown = shutdown_on_signals();
    let audit = spawn_audit_log(&loaded, &brokers, store.clone(), shutdown.clone());
    let report = run_sink(&loaded, &brokers, store, &ready, shutdown, None).await?;
    audit.await??;
    tracing::info!(
        consumed = report.consumed,
        signals = report.signals_produced,
        "sink stopped"
    );
    Ok(())
}
