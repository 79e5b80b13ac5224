//! The sink's store: window results, consumed offsets, baselines, alerts and the signal outbox.
//!
//! One trait, [`Store`], with one SQL implementation, [`SqlStore`], that speaks SQLite (the
//! embedded default, a file) and PostgreSQL (production) through sqlx's Any driver: the schema and
//! the migrations are the same text on both, and so is every query (`$n` placeholders, `ON
//! CONFLICT` upserts, BIGINT Unix seconds for time, JSON in TEXT columns).
//!
//! Exactly-once effect: [`Store::commit`] writes, in ONE transaction, the cells a batch changed,
//! the next offset of every partition the batch covered, the region baselines, the alerts and the
//! signals still to publish (outbox). Offsets and cells are fenced: the transaction checks that
//! each partition's stored offset and each cell's version are what this instance last saw, so a
//! second instance that took over a partition (or a stale one after a rebalance) can never
//! overwrite newer state; a failed check rolls everything back ([`StoreError::Conflict`]).

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};
use std::time::Duration;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another writer changed a fenced row since this instance read it; nothing was written.
    #[error("store conflict: {0}")]
    Conflict(String),
    /// The URL is not one this build can open.
    #[error("sink.store_url: {0}")]
    Url(String),
    /// The database failed.
    #[error("store: {0}")]
    Db(#[from] sqlx::Error),
    /// A stored value could not be decoded.
    #[error("store: corrupt row: {0}")]
    Corrupt(String),
}

/// Which database a store talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, a file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// The stored position of one input partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionRow {
    /// Partition.
    pub partition: i32,
    /// The next offset to apply: everything below is in the store.
    pub next_offset: i64,
    /// Newest event time seen in the partition (Unix seconds), which sets its watermark.
    pub max_event: Option<i64>,
}

/// One stored cell (region × resolution × window).
#[derive(Debug, Clone, PartialEq)]
pub struct CellRow {
    /// Region id.
    pub region: String,
    /// Resolution code (`5m`, `1h`, `1d`).
    pub resolution: String,
    /// Window start, Unix seconds.
    pub window_start: i64,
    /// Window end (exclusive), Unix seconds.
    pub window_end: i64,
    /// Whether the watermark passed the window's end.
    pub closed: bool,
    /// Input partition whose watermark closes the cell.
    pub partition: i32,
    /// Aggregate state, JSON.
    pub state: String,
    /// The last published signal, JSON (closed cells).
    pub signal: Option<String>,
    /// Publications so far.
    pub revision: i64,
    /// Alert associated with the window.
    pub alert_id: Option<String>,
    /// Row version, for fencing.
    pub version: i64,
}

/// A cell to write, fenced on the version this instance last saw (0: it must not exist yet).
#[derive(Debug, Clone)]
pub struct CellWrite {
    /// The new row (its `version` is `expected_version + 1`).
    pub row: CellRow,
    /// The version the store must still hold.
    pub expected_version: i64,
}

/// A partition position to write, fenced on the offset this instance last saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionWrite {
    /// The new position.
    pub row: PartitionRow,
    /// The next offset the store must still hold (None: no row yet).
    pub expected: Option<i64>,
}

/// A region's baseline and alert state, JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionRow {
    /// Region id.
    pub region: String,
    /// State, JSON.
    pub state: String,
}

/// What the sink writes about an alert; the review columns are the analysts' alone.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertWrite {
    /// Alert id.
    pub id: String,
    /// Region id.
    pub region: String,
    /// Current level (0 once cleared).
    pub level: i64,
    /// Highest level reached.
    pub max_level: i64,
    /// Whether the condition still holds.
    pub active: bool,
    /// Start of the raising window.
    pub window_start: i64,
    /// End of the raising window.
    pub window_end: i64,
    /// End of the latest window evaluated while active.
    pub last_window_end: i64,
    /// Risk of the raising window.
    pub risk: f64,
    /// Anomaly of the raising window.
    pub anomaly: f64,
    /// Highest anomaly while active.
    pub peak_anomaly: f64,
    /// When raised, Unix seconds (wall clock).
    pub raised_at: i64,
}

/// A signal waiting to be produced to `signals.regional`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxRow {
    /// Region id (also the message key).
    pub region: String,
    /// Resolution code.
    pub resolution: String,
    /// Window start.
    pub window_start: i64,
    /// Publication number.
    pub revision: i64,
    /// The signal, JSON.
    pub payload: String,
    /// The transaction that wrote it (random): acknowledged rows are deleted by it, one
    /// statement per transaction instead of one key match per row.
    pub commit_id: i64,
}

/// Everything one flush writes, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct CommitBatch {
    /// Input topic the offsets belong to.
    pub topic: String,
    /// Partition positions.
    pub partitions: Vec<PartitionWrite>,
    /// Changed cells.
    pub cells: Vec<CellWrite>,
    /// Changed region states.
    pub regions: Vec<RegionRow>,
    /// New or changed alerts.
    pub alerts: Vec<AlertWrite>,
    /// Signals to publish.
    pub outbox: Vec<OutboxRow>,
    /// Signals already acknowledged by the broker, to remove from the outbox.
    pub outbox_done: Vec<OutboxRow>,
}

/// An alert as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertView {
    /// Alert id.
    pub id: String,
    /// Region id.
    pub region: String,
    /// `open` until an analyst reviews it, then `confirmed` or `dismissed`.
    pub state: String,
    /// Current level (0 once the condition cleared).
    pub level: i64,
    /// Highest level reached: 1 elevated, 2 high.
    pub max_level: i64,
    /// Whether the condition still holds.
    pub active: bool,
    /// Start of the raising window (RFC 3339).
    pub window_start: String,
    /// End of the raising window (RFC 3339).
    pub window_end: String,
    /// End of the latest window evaluated while active (RFC 3339).
    pub last_window_end: String,
    /// Risk index of the raising window.
    pub risk: f64,
    /// Anomaly score of the raising window.
    pub anomaly: f64,
    /// Highest anomaly score while active.
    pub peak_anomaly: f64,
    /// When it was raised (RFC 3339).
    pub raised_at: String,
    /// The review, once there is one.
    pub review: Option<ReviewView>,
}

/// A recorded review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewView {
    /// Who reviewed.
    pub analyst: String,
    /// When (RFC 3339).
    pub at: String,
    /// `confirmed` or `dismissed`.
    pub decision: String,
    /// Why.
    pub reason: String,
}

/// An analyst's decision on an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// The alert is real.
    Confirm,
    /// The alert is not real (noise, bot wave already handled, misclassification…).
    Dismiss,
}

/// What a review attempt did.
#[derive(Debug, Clone, PartialEq)]
pub enum ReviewOutcome {
    /// Recorded; the alert as it is now.
    Done(AlertView),
    /// No alert with this id.
    NotFound,
    /// Already reviewed; the alert as it is (reviews are final and never overwritten).
    AlreadyReviewed(AlertView),
}

/// Filter for listing alerts.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// Only this review state (`open`, `confirmed`, `dismissed`).
    pub state: Option<String>,
    /// Only this region.
    pub region: Option<String>,
    /// Most rows returned.
    pub limit: i64,
}

/// Filter for listing published signals.
#[derive(Debug, Clone)]
pub struct SignalQuery {
    /// Only this region.
    pub region: Option<String>,
    /// Resolution code.
    pub resolution: String,
    /// Windows starting at or after this (Unix seconds).
    pub from: i64,
    /// Windows ending at or before this (Unix seconds).
    pub to: i64,
    /// Most rows returned.
    pub limit: i64,
}

/// A published signal as stored, with the current state of its alert.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalRow {
    /// Resolution code.
    pub resolution: String,
    /// The signal JSON as last published.
    pub signal: String,
    /// The alert associated with the window.
    pub alert_id: Option<String>,
    /// That alert's review state now.
    pub alert_state: Option<String>,
}

/// The sink's persistence. Every method is one short transaction or query.
pub trait Store: Send + Sync {
    /// Which database this is.
    fn backend(&self) -> Backend;
    /// A per-store random secret (created with the schema) that seeds the privacy noise, so a
    /// replay publishes the same noise and outsiders cannot predict it.
    fn noise_secret(&self) -> BoxFuture<'_, Result<[u8; 32], StoreError>>;
    /// Stored positions of these partitions of `topic`.
    fn load_partitions<'a>(
        &'a self,
        topic: &'a str,
        partitions: &'a [i32],
    ) -> BoxFuture<'a, Result<Vec<PartitionRow>, StoreError>>;
    /// Cells not closed yet whose watermark comes from these partitions.
    fn load_open_cells<'a>(
        &'a self,
        partitions: &'a [i32],
    ) -> BoxFuture<'a, Result<Vec<CellRow>, StoreError>>;
    /// The cells with these keys (region, resolution, window start) that exist.
    fn load_cells<'a>(
        &'a self,
        keys: &'a [(String, String, i64)],
    ) -> BoxFuture<'a, Result<Vec<CellRow>, StoreError>>;
    /// Every region's baseline and alert state.
    fn load_regions(&self) -> BoxFuture<'_, Result<Vec<RegionRow>, StoreError>>;
    /// Writes a flush in one fenced transaction; on [`StoreError::Conflict`] nothing is written.
    fn commit<'a>(&'a self, batch: &'a CommitBatch) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Signals written but not yet acknowledged by the broker (after a crash).
    fn pending_outbox(&self) -> BoxFuture<'_, Result<Vec<OutboxRow>, StoreError>>;
    /// Removes acknowledged signals from the outbox.
    fn delete_outbox<'a>(&'a self, rows: &'a [OutboxRow]) -> BoxFuture<'a, Result<(), StoreError>>;
    /// Review states of these alerts.
    fn alert_states<'a>(
        &'a self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, StoreError>>;
    /// The newest published signal of each region at a resolution.
    fn latest_signals<'a>(
        &'a self,
        resolution: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SignalRow>, StoreError>>;
    /// Published signals matching a query, oldest first.
    fn signals<'a>(
        &'a self,
        q: &'a SignalQuery,
    ) -> BoxFuture<'a, Result<Vec<SignalRow>, StoreError>>;
    /// Alerts matching a query, newest first.
    fn alerts<'a>(&'a self, q: &'a AlertQuery)
        -> BoxFuture<'a, Result<Vec<AlertView>, StoreError>>;
    /// One alert.
    fn alert<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<AlertView>, StoreError>>;
    /// Records an analyst's review of an open alert, once.
    fn review_alert<'a>(
        &'a self,
        id: &'a str,
        analyst: &'a str,
        decision: Decision,
        reason: &'a str,
        at: i64,
    ) -> BoxFuture<'a, Result<ReviewOutcome, StoreError>>;
    /// Every cell, ordered by key: for exports and consistency checks (a restarted sink's store
    /// against an uninterrupted one's).
    fn export_cells(&self) -> BoxFuture<'_, Result<Vec<CellRow>, StoreError>>;
    /// Whether the database answers (for `/readyz`).
    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>>;
    /// The audit log kept in the same database.
    fn audit(&self) -> &dyn crate::audit_log::AuditLog;
}

/// The migrations, in order. The same text runs on SQLite and PostgreSQL.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "sink schema: cells, offsets, regions, alerts, outbox",
        r#"
CREATE TABLE sink_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE cells (
    region TEXT NOT NULL,
    resolution TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    closed BIGINT NOT NULL,
    source_partition BIGINT NOT NULL,
    state TEXT NOT NULL,
    signal TEXT,
    revision BIGINT NOT NULL,
    alert_id TEXT,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (region, resolution, window_start)
);
CREATE INDEX cells_open ON cells (closed, source_partition);
CREATE INDEX cells_time ON cells (resolution, window_start);
CREATE TABLE offsets (
    topic TEXT NOT NULL,
    partition_id BIGINT NOT NULL,
    next_offset BIGINT NOT NULL,
    max_event BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (topic, partition_id)
);
CREATE TABLE regions (
    region TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    region TEXT NOT NULL,
    level BIGINT NOT NULL,
    max_level BIGINT NOT NULL,
    active BIGINT NOT NULL,
    state TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    last_window_end BIGINT NOT NULL,
    risk DOUBLE PRECISION NOT NULL,
    anomaly DOUBLE PRECISION NOT NULL,
    peak_anomaly DOUBLE PRECISION NOT NULL,
    raised_at BIGINT NOT NULL,
    reviewed_by TEXT,
    reviewed_at BIGINT,
    review_reason TEXT
);
CREATE INDEX alerts_state ON alerts (state, region);
CREATE TABLE outbox (
    region TEXT NOT NULL,
    resolution TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    payload TEXT NOT NULL,
    commit_id BIGINT NOT NULL,
    PRIMARY KEY (region, resolution, window_start, revision)
);
CREATE INDEX outbox_commit ON outbox (commit_id)
"#,
    ),
    (
        2,
        "audit log: records of audit.decisions and auditors' verdicts",
        crate::audit_log::MIGRATION,
    ),
];

/// The store over SQLite or PostgreSQL.
pub struct SqlStore {
    pool: AnyPool,
    backend: Backend,
}

/// Rows per multi-row statement: one round trip per chunk instead of one per row, well below
/// both databases' limits on parameters (SQLite 32766, PostgreSQL 65535). These statements are
/// not kept in sqlx's per-connection statement cache (`persistent(false)`): their text varies
/// with the number of rows, and caching every variant grew memory with the stream.
const CHUNK: usize = 200;

/// A bind parameter: `$n` for PostgreSQL; a plain `?` for SQLite, where `$n` is a *named*
/// parameter that SQLite looks up by a linear scan for every bind, which made a multi-row
/// statement of a few thousand parameters quadratic (profiled: 80 ms for 760 cells).
/// Every statement here binds its parameters once each, in order, so `?` is equivalent.
fn param(b: Backend, n: usize) -> String {
    match b {
        Backend::Sqlite => "?".to_string(),
        Backend::Postgres => format!("${n}"),
    }
}

/// `(p1, p2, …), (…), …` for `rows` rows of `cols` columns, numbering from `first`.
fn values(b: Backend, rows: usize, cols: usize, first: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&param(b, first + r * cols + c));
        }
        out.push(')');
    }
    out
}

/// `(a = p1 AND b = p2 …) OR (…)` for `rows` keys of the named columns, numbering from 1.
fn key_match(b: Backend, rows: usize, cols: &[&str]) -> String {
    let mut out = String::new();
    for r in 0..rows {
        if r > 0 {
            out.push_str(" OR ");
        }
        out.push('(');
        for (c, name) in cols.iter().enumerate() {
            if c > 0 {
                out.push_str(" AND ");
            }
            out.push_str(&format!("{name} = {}", param(b, r * cols.len() + c + 1)));
        }
        out.push(')');
    }
    out
}

fn now_secs() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Unix seconds as RFC 3339 (UTC, whole seconds), as every API answer writes times.
pub(crate) fn rfc3339(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The `sqlite://` URL with `mode=rwc` (create the file) unless a mode is given, and the file's
/// folder created.
fn sqlite_url(url: &str) -> Result<String, StoreError> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or_else(|| StoreError::Url(format!("{url:?} is not a sqlite: URL")))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() {
        return Err(StoreError::Url(format!("{url:?} names no file")));
    }
    if path != ":memory:" {
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Url(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
        }
    }
    let mode = if query.split('&').any(|kv| kv.starts_with("mode=")) {
        query.to_string()
    } else if query.is_empty() {
        "mode=rwc".to_string()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok(format!("sqlite://{path}?{mode}"))
}

impl SqlStore {
    /// Opens (creating a SQLite file if needed) and migrates the store at `url`.
    pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url, max) = if url.starts_with("sqlite:") {
            // One writer at a time is all SQLite allows; with WAL one more connection serves
            // the API's reads meanwhile.
            (Backend::Sqlite, sqlite_url(url)?, 2)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string(), 8)
        } else {
            return Err(StoreError::Url(format!(
                "{url:?}: expected sqlite://FILE or postgres://…"
            )));
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL with synchronous=NORMAL: a commit is not fsynced. A process crash
                        // loses nothing (the WAL is in the OS); a power loss can lose the last
                        // transactions, which the sink replays from Kafka because the group's
                        // offsets are then ahead of the store (it seeks back). Reviews, which
                        // Kafka cannot replay, are written with FULL (see `review_alert`).
                        sqlx::query("PRAGMA synchronous = NORMAL")
                            .execute(&mut *conn)
                            .await?;
                        // 256 KiB of page cache per connection (SQLite's default is 2 MiB): the
                        // sink rereads little, and memory should not grow with the file.
                        sqlx::query("PRAGMA cache_size = -256")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await?;
        let store = SqlStore { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies the migrations not applied yet, each in its own transaction.
    async fn migrate(&self) -> Result<(), StoreError> {
        if self.backend == Backend::Sqlite {
            // WAL: the API reads while the sink writes. Persistent in the file.
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&self.pool)
                .await?;
        }
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .execute(&self.pool)
        .await?;
        for (version, description, sql) in MIGRATIONS {
            let mut tx = self.pool.begin().await?;
            if self.backend == Backend::Postgres {
                // Two sinks starting together must not both migrate.
                // (Wrapped so the row has a type the Any driver decodes; the lock returns void.)
                sqlx::query("SELECT 1 AS locked FROM (SELECT pg_advisory_xact_lock(7361727)) AS l")
                    .execute(&mut *tx)
                    .await?;
            }
            let done: Option<i64> =
                sqlx::query_scalar("SELECT version FROM schema_migrations WHERE version = $1")
                    .bind(*version)
                    .fetch_optional(&mut *tx)
                    .await?;
            if done.is_some() {
                tx.rollback().await?;
                continue;
            }
            for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
                sqlx::query(stmt).execute(&mut *tx).await?;
            }
            sqlx::query(
                "INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)",
            )
            .bind(*version)
            .bind(*description)
            .bind(now_secs())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            tracing::info!(version, description, "store migrated");
        }
        // The noise secret: created once, kept with the data it protects.
        let secret: [u8; 32] = rand::random();
        sqlx::query(
            "INSERT INTO sink_meta (name, value) VALUES ('noise_secret', $1) ON CONFLICT (name) DO NOTHING",
        )
        .bind(hex::encode(secret))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The connection pool (the audit log's queries live in `audit_log`).
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Versions of the applied migrations.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
                .fetch_all(&self.pool)
                .await?,
        )
    }
}

const CELL_COLUMNS: &str = "region, resolution, window_start, window_end, closed, source_partition, state, signal, revision, alert_id, version";

fn cell_row(r: &AnyRow) -> Result<CellRow, sqlx::Error> {
    Ok(CellRow {
        region: r.try_get(0)?,
        resolution: r.try_get(1)?,
        window_start: r.try_get(2)?,
        window_end: r.try_get(3)?,
        closed: r.try_get::<i64, _>(4)? != 0,
        partition: r.try_get::<i64, _>(5)? as i32,
        state: r.try_get(6)?,
        signal: r.try_get(7)?,
        revision: r.try_get(8)?,
        alert_id: r.try_get(9)?,
        version: r.try_get(10)?,
    })
}

const ALERT_COLUMNS: &str = "id, region, state, level, max_level, active, window_start, window_end, last_window_end, risk, anomaly, peak_anomaly, raised_at, reviewed_by, reviewed_at, review_reason";

fn alert_view(r: &AnyRow) -> Result<AlertView, sqlx::Error> {
    let state: String = r.try_get(2)?;
    let reviewed_by: Option<String> = r.try_get(13)?;
    let reviewed_at: Option<i64> = r.try_get(14)?;
    let reason: Option<String> = r.try_get(15)?;
    let review = match (reviewed_by, reviewed_at) {
        (Some(analyst), Some(at)) => Some(ReviewView {
            analyst,
            at: rfc3339(at),
            decision: state.clone(),
            reason: reason.unwrap_or_default(),
        }),
        _ => None,
    };
    Ok(AlertView {
        id: r.try_get(0)?,
        region: r.try_get(1)?,
        state,
        level: r.try_get(3)?,
        max_level: r.try_get(4)?,
        active: r.try_get::<i64, _>(5)? != 0,
        window_start: rfc3339(r.try_get(6)?),
        window_end: rfc3339(r.try_get(7)?),
        last_window_end: rfc3339(r.try_get(8)?),
        risk: r.try_get(9)?,
        anomaly: r.try_get(10)?,
        peak_anomaly: r.try_get(11)?,
        raised_at: rfc3339(r.try_get(12)?),
        review,
    })
}

fn signal_row(r: &AnyRow) -> Result<SignalRow, sqlx::Error> {
    Ok(SignalRow {
        resolution: r.try_get(0)?,
        signal: r.try_get(1)?,
        alert_id: r.try_get(2)?,
        alert_state: r.try_get(3)?,
    })
}

impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn noise_secret(&self) -> BoxFuture<'_, Result<[u8; 32], StoreError>> {
        Box::pin(async move {
            let v: String =
                sqlx::query_scalar("SELECT value FROM sink_meta WHERE name = 'noise_secret'")
                    .fetch_one(&self.pool)
                    .await?;
            let b = hex::decode(v.trim()).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            b.try_into()
                .map_err(|_| StoreError::Corrupt("noise secret is not 32 bytes".into()))
        })
    }

    fn load_partitions<'a>(
        &'a self,
        topic: &'a str,
        partitions: &'a [i32],
    ) -> BoxFuture<'a, Result<Vec<PartitionRow>, StoreError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for p in partitions {
                let row = sqlx::query(
                    "SELECT partition_id, next_offset, max_event FROM offsets WHERE topic = $1 AND partition_id = $2",
                )
                .bind(topic)
                .bind(*p as i64)
                .fetch_optional(&self.pool)
                .await?;
                if let Some(r) = row {
                    out.push(PartitionRow {
                        partition: r.try_get::<i64, _>(0)? as i32,
                        next_offset: r.try_get(1)?,
                        max_event: r.try_get(2)?,
                    });
                }
            }
            Ok(out)
        })
    }

    fn load_open_cells<'a>(
        &'a self,
        partitions: &'a [i32],
    ) -> BoxFuture<'a, Result<Vec<CellRow>, StoreError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for p in partitions {
                let q = format!(
                    "SELECT {CELL_COLUMNS} FROM cells WHERE closed = 0 AND source_partition = $1"
                );
                for r in sqlx::query(&q)
                    .bind(*p as i64)
                    .fetch_all(&self.pool)
                    .await?
                {
                    out.push(cell_row(&r)?);
                }
            }
            Ok(out)
        })
    }

    fn load_cells<'a>(
        &'a self,
        keys: &'a [(String, String, i64)],
    ) -> BoxFuture<'a, Result<Vec<CellRow>, StoreError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for chunk in keys.chunks(CHUNK) {
                let q = format!(
                    "SELECT {CELL_COLUMNS} FROM cells WHERE {}",
                    key_match(
                        self.backend,
                        chunk.len(),
                        &["region", "resolution", "window_start"]
                    )
                );
                let mut query = sqlx::query(&q).persistent(false);
                for (region, res, start) in chunk {
                    query = query.bind(region.as_str()).bind(res.as_str()).bind(*start);
                }
                for r in query.fetch_all(&self.pool).await? {
                    out.push(cell_row(&r)?);
                }
            }
            Ok(out)
        })
    }

    fn load_regions(&self) -> BoxFuture<'_, Result<Vec<RegionRow>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT region, state FROM regions")
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(RegionRow {
                        region: r.try_get(0)?,
                        state: r.try_get(1)?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(Into::into)
        })
    }

    fn commit<'a>(&'a self, b: &'a CommitBatch) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let now = now_secs();
            let mut tx = self.pool.begin().await?;
            for p in &b.partitions {
                let n = match p.expected {
                    Some(prev) => sqlx::query(
                        "UPDATE offsets SET next_offset = $1, max_event = $2, updated_at = $3 WHERE topic = $4 AND partition_id = $5 AND next_offset = $6",
                    )
                    .bind(p.row.next_offset)
                    .bind(p.row.max_event)
                    .bind(now)
                    .bind(b.topic.as_str())
                    .bind(p.row.partition as i64)
                    .bind(prev)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                    None => sqlx::query(
                        "INSERT INTO offsets (topic, partition_id, next_offset, max_event, updated_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (topic, partition_id) DO NOTHING",
                    )
                    .bind(b.topic.as_str())
                    .bind(p.row.partition as i64)
                    .bind(p.row.next_offset)
                    .bind(p.row.max_event)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                };
                if n != 1 {
                    tx.rollback().await?;
                    return Err(StoreError::Conflict(format!(
                        "partition {} of {} moved on since it was read (expected next offset {:?})",
                        p.row.partition, b.topic, p.expected
                    )));
                }
            }
            for chunk in b.cells.chunks(CHUNK) {
                // Fenced per row: the new version is the expected one + 1, so a row whose stored
                // version moved on is neither inserted nor updated, and the count comes up short.
                let q = format!(
                    "INSERT INTO cells (region, resolution, window_start, window_end, closed, source_partition, state, signal, revision, alert_id, version, updated_at) \
                     VALUES {} \
                     ON CONFLICT (region, resolution, window_start) DO UPDATE SET \
                     window_end = excluded.window_end, closed = excluded.closed, source_partition = excluded.source_partition, \
                     state = excluded.state, signal = excluded.signal, revision = excluded.revision, alert_id = excluded.alert_id, \
                     version = excluded.version, updated_at = excluded.updated_at \
                     WHERE cells.version = excluded.version - 1",
                    values(self.backend, chunk.len(), 12, 1)
                );
                let mut query = sqlx::query(&q).persistent(false);
                for c in chunk {
                    let r = &c.row;
                    debug_assert_eq!(r.version, c.expected_version + 1);
                    query = query
                        .bind(r.region.as_str())
                        .bind(r.resolution.as_str())
                        .bind(r.window_start)
                        .bind(r.window_end)
                        .bind(r.closed as i64)
                        .bind(r.partition as i64)
                        .bind(r.state.as_str())
                        .bind(r.signal.as_deref())
                        .bind(r.revision)
                        .bind(r.alert_id.as_deref())
                        .bind(r.version)
                        .bind(now);
                }
                let n = query.execute(&mut *tx).await?.rows_affected();
                if n != chunk.len() as u64 {
                    tx.rollback().await?;
                    let first = &chunk[0].row;
                    return Err(StoreError::Conflict(format!(
                        "{} of {} cells (from {}/{}/{}) changed since they were read",
                        chunk.len() as u64 - n,
                        chunk.len(),
                        first.region,
                        first.resolution,
                        first.window_start
                    )));
                }
            }
            for chunk in b.regions.chunks(CHUNK) {
                let q = format!(
                    "INSERT INTO regions (region, state, updated_at) VALUES {} \
                     ON CONFLICT (region) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at",
                    values(self.backend, chunk.len(), 3, 1)
                );
                let mut query = sqlx::query(&q).persistent(false);
                for r in chunk {
                    query = query
                        .bind(r.region.as_str())
                        .bind(r.state.as_str())
                        .bind(now);
                }
                query.execute(&mut *tx).await?;
            }
            for a in &b.alerts {
                // The review columns and the state are never touched here: they belong to the
                // analysts, and a replay after a crash must not reopen a reviewed alert.
                sqlx::query(
                    "INSERT INTO alerts (id, region, level, max_level, active, state, window_start, window_end, last_window_end, risk, anomaly, peak_anomaly, raised_at) \
                     VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10, $11, $12) \
                     ON CONFLICT (id) DO UPDATE SET level = excluded.level, max_level = excluded.max_level, active = excluded.active, \
                     last_window_end = excluded.last_window_end, peak_anomaly = excluded.peak_anomaly",
                )
                .bind(a.id.as_str())
                .bind(a.region.as_str())
                .bind(a.level)
                .bind(a.max_level)
                .bind(a.active as i64)
                .bind(a.window_start)
                .bind(a.window_end)
                .bind(a.last_window_end)
                .bind(a.risk)
                .bind(a.anomaly)
                .bind(a.peak_anomaly)
                .bind(a.raised_at)
                .execute(&mut *tx)
                .await?;
            }
            for chunk in b.outbox.chunks(CHUNK) {
                let q = format!(
                    "INSERT INTO outbox (region, resolution, window_start, revision, payload, commit_id) VALUES {} \
                     ON CONFLICT (region, resolution, window_start, revision) DO UPDATE SET payload = excluded.payload, commit_id = excluded.commit_id",
                    values(self.backend, chunk.len(), 6, 1)
                );
                let mut query = sqlx::query(&q).persistent(false);
                for o in chunk {
                    query = query
                        .bind(o.region.as_str())
                        .bind(o.resolution.as_str())
                        .bind(o.window_start)
                        .bind(o.revision)
                        .bind(o.payload.as_str())
                        .bind(o.commit_id);
                }
                query.execute(&mut *tx).await?;
            }
            delete_outbox_in(&mut tx, &b.outbox_done).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn pending_outbox(&self) -> BoxFuture<'_, Result<Vec<OutboxRow>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT region, resolution, window_start, revision, payload, commit_id FROM outbox ORDER BY window_start, region, resolution, revision",
            )
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(|r| {
                    Ok(OutboxRow {
                        region: r.try_get(0)?,
                        resolution: r.try_get(1)?,
                        window_start: r.try_get(2)?,
                        revision: r.try_get(3)?,
                        payload: r.try_get(4)?,
                        commit_id: r.try_get(5)?,
                    })
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(Into::into)
        })
    }

    fn delete_outbox<'a>(&'a self, rows: &'a [OutboxRow]) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let mut tx = self.pool.begin().await?;
            delete_outbox_in(&mut tx, rows).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    fn alert_states<'a>(
        &'a self,
        ids: &'a [String],
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, StoreError>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for id in ids {
                if let Some(state) =
                    sqlx::query_scalar::<_, String>("SELECT state FROM alerts WHERE id = $1")
                        .bind(id.as_str())
                        .fetch_optional(&self.pool)
                        .await?
                {
                    out.push((id.clone(), state));
                }
            }
            Ok(out)
        })
    }

    fn latest_signals<'a>(
        &'a self,
        resolution: &'a str,
    ) -> BoxFuture<'a, Result<Vec<SignalRow>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT c.resolution, c.signal, c.alert_id, a.state FROM cells c \
                 JOIN (SELECT region, MAX(window_start) AS ws FROM cells WHERE resolution = $1 AND closed = 1 AND signal IS NOT NULL GROUP BY region) m \
                 ON c.region = m.region AND c.window_start = m.ws \
                 LEFT JOIN alerts a ON a.id = c.alert_id \
                 WHERE c.resolution = $2 ORDER BY c.region",
            )
            .bind(resolution)
            .bind(resolution)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(signal_row)
                .collect::<Result<_, _>>()
                .map_err(Into::into)
        })
    }

    fn signals<'a>(
        &'a self,
        q: &'a SignalQuery,
    ) -> BoxFuture<'a, Result<Vec<SignalRow>, StoreError>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT c.resolution, c.signal, c.alert_id, a.state FROM cells c LEFT JOIN alerts a ON a.id = c.alert_id \
                 WHERE c.resolution = $1 AND c.closed = 1 AND c.signal IS NOT NULL \
                 AND c.window_start >= $2 AND c.window_end <= $3 AND ($4 = '' OR c.region = $5) \
                 ORDER BY c.window_start, c.region LIMIT $6",
            )
            .bind(q.resolution.as_str())
            .bind(q.from)
            .bind(q.to)
            .bind(q.region.as_deref().unwrap_or(""))
            .bind(q.region.as_deref().unwrap_or(""))
            .bind(q.limit)
            .fetch_all(&self.pool)
            .await?;
            rows.iter()
                .map(signal_row)
                .collect::<Result<_, _>>()
                .map_err(Into::into)
        })
    }

    fn alerts<'a>(
        &'a self,
        q: &'a AlertQuery,
    ) -> BoxFuture<'a, Result<Vec<AlertView>, StoreError>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {ALERT_COLUMNS} FROM alerts WHERE ($1 = '' OR state = $2) AND ($3 = '' OR region = $4) \
                 ORDER BY window_start DESC, id LIMIT $5"
            );
            let rows = sqlx::query(&sql)
                .bind(q.state.as_deref().unwrap_or(""))
                .bind(q.state.as_deref().unwrap_or(""))
                .bind(q.region.as_deref().unwrap_or(""))
                .bind(q.region.as_deref().unwrap_or(""))
                .bind(q.limit)
                .fetch_all(&self.pool)
                .await?;
            rows.iter()
                .map(alert_view)
                .collect::<Result<_, _>>()
                .map_err(Into::into)
        })
    }

    fn alert<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<Option<AlertView>, StoreError>> {
        Box::pin(async move {
            let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1");
            match sqlx::query(&sql)
                .bind(id)
                .fetch_optional(&self.pool)
                .await?
            {
                Some(r) => Ok(Some(alert_view(&r)?)),
                None => Ok(None),
            }
        })
    }

    fn review_alert<'a>(
        &'a self,
        id: &'a str,
        analyst: &'a str,
        decision: Decision,
        reason: &'a str,
        at: i64,
    ) -> BoxFuture<'a, Result<ReviewOutcome, StoreError>> {
        Box::pin(async move {
            let state = match decision {
                Decision::Confirm => "confirmed",
                Decision::Dismiss => "dismissed",
            };
            let mut conn = self.pool.acquire().await?;
            let sqlite = self.backend == Backend::Sqlite;
            if sqlite {
                // A review is the one write Kafka cannot replay: make it durable at once.
                sqlx::query("PRAGMA synchronous = FULL")
                    .execute(&mut *conn)
                    .await?;
            }
            // Only an open alert can be reviewed, and only once: the condition is in the UPDATE,
            // so two analysts racing cannot both win.
            let n = sqlx::query(
                "UPDATE alerts SET state = $1, reviewed_by = $2, reviewed_at = $3, review_reason = $4 WHERE id = $5 AND state = 'open'",
            )
            .bind(state)
            .bind(analyst)
            .bind(at)
            .bind(reason)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
            if sqlite {
                sqlx::query("PRAGMA synchronous = NORMAL")
                    .execute(&mut *conn)
                    .await?;
            }
            drop(conn);
            let view = self.alert(id).await?;
            Ok(match (n, view) {
                (_, None) => ReviewOutcome::NotFound,
                (1, Some(v)) => ReviewOutcome::Done(v),
                (_, Some(v)) => ReviewOutcome::AlreadyReviewed(v),
            })
        })
    }

    fn export_cells(&self) -> BoxFuture<'_, Result<Vec<CellRow>, StoreError>> {
        Box::pin(async move {
            let q = format!(
                "SELECT {CELL_COLUMNS} FROM cells ORDER BY region, resolution, window_start"
            );
            let rows = sqlx::query(&q).fetch_all(&self.pool).await?;
            rows.iter()
                .map(cell_row)
                .collect::<Result<_, _>>()
                .map_err(Into::into)
        })
    }

    fn ping(&self) -> BoxFuture<'_, Result<(), StoreError>> {
        Box::pin(async move {
            sqlx::query("SELECT 1").execute(&self.pool).await?;
            Ok(())
        })
    }

    fn audit(&self) -> &dyn crate::audit_log::AuditLog {
        self
    }
}

async fn delete_outbox_in(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    rows: &[OutboxRow],
) -> Result<(), StoreError> {
    let mut ids: Vec<i64> = rows.iter().map(|o| o.commit_id).collect();
    ids.sort_unstable();
    ids.dedup();
    for id in ids {
        sqlx::query("DELETE FROM outbox WHERE commit_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_create_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/x.db");
        let u = sqlite_url(&format!("sqlite://{}", p.display())).unwrap();
        assert!(u.ends_with("x.db?mode=rwc"), "{u}");
        assert!(p.parent().unwrap().is_dir());
        assert!(sqlite_url("sqlite://x.db?mode=ro")
            .unwrap()
            .ends_with("?mode=ro"));
        assert!(sqlite_url("sqlite://").is_err());
    }

    #[test]
    fn placeholders_number_in_order() {
        assert_eq!(
            values(Backend::Postgres, 2, 3, 1),
            "($1, $2, $3), ($4, $5, $6)"
        );
        assert_eq!(values(Backend::Sqlite, 1, 3, 1), "(?, ?, ?)");
        assert_eq!(
            key_match(Backend::Postgres, 2, &["a", "b"]),
            "(a = $1 AND b = $2) OR (a = $3 AND b = $4)"
        );
    }
}
