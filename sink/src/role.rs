//! The sink role: consume `posts.scored`, aggregate, persist, publish.
//!
//! Order of effects for every flush (at most `sink.flush_interval_ms` apart):
//! 1. one store transaction with the changed cells, the next offset of every partition applied,
//!    baselines, alerts and the signals to publish (outbox) — fenced against other writers;
//! 2. the outbox signals are produced to `signals.regional` (key: region) and, once
//!    acknowledged, removed from the outbox in the next transaction;
//! 3. only then are the Kafka offsets committed.
//!
//! A crash between any two steps loses nothing and applies nothing twice: on restart the store
//! says which offsets are applied (messages below are skipped, a group offset ahead of the store
//! is sought back), and leftover outbox signals are produced again (keyed by region, with a
//! revision, so a consumer keeps the latest).

use crate::engine::{Admit, Counters, Engine};
use crate::metrics;
use crate::store::{OutboxRow, Store, StoreError};
use crate::window::Settings;
use futures::future::join_all;
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use sarap_bus::telemetry::Readiness;
use sarap_core::config::Config;
use sarap_core::{Policy, ScoredPost, SCHEMA_SCORED};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Closed cells held before a commit is forced (each up to ~10 KB, most ~2 KB).
pub const MAX_CLOSED_IN_MEMORY: usize = 500;
/// Messages applied between two checks of that cap.
const SLICE: usize = 250;

/// How the role consumes.
#[derive(Debug, Clone)]
pub struct SinkOptions {
    /// Consumer group id.
    pub group_id: String,
    /// Stop after this many input messages (benchmarks, tests).
    pub stop_after: Option<u64>,
    /// Where a new group starts: `earliest` or `latest`.
    pub auto_offset_reset: String,
}

impl SinkOptions {
    /// The production defaults: group `<prefix>-sink`, from the earliest offset, no limit.
    pub fn for_config(cfg: &Config) -> SinkOptions {
        SinkOptions {
            group_id: format!("{}-sink", cfg.kafka.group_prefix),
            stop_after: None,
            auto_offset_reset: "earliest".into(),
        }
    }
}

/// Counts from a finished run.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SinkReport {
    /// Engine totals.
    pub counters: Counters,
    /// Input messages received (applied, skipped or bad).
    pub consumed: u64,
    /// Store transactions committed.
    pub commits: u64,
    /// Signals acknowledged by the broker.
    pub signals_produced: u64,
    /// Seconds from the first message to the last store commit and publication (excludes the
    /// group join and the bookkeeping on the way out).
    pub active_secs: f64,
}

/// Parses a `posts.scored` payload; the error is the metric label of why it is not one.
pub fn parse(payload: &[u8]) -> Result<ScoredPost, &'static str> {
    match serde_json::from_slice::<ScoredPost>(payload) {
        Ok(p) if p.schema == SCHEMA_SCORED => Ok(p),
        Ok(_) => Err("unknown_schema"),
        Err(e) if e.is_syntax() || e.is_eof() => Err("not_json"),
        Err(_) => {
            // Only on the error path: tell another schema version from a broken message.
            #[derive(serde::Deserialize)]
            struct Schema {
                schema: String,
            }
            match serde_json::from_slice::<Schema>(payload) {
                Ok(s) if s.schema != SCHEMA_SCORED => Err("unknown_schema"),
                _ => Err("invalid_field"),
            }
        }
    }
}

enum Event {
    Assigned(Vec<i32>),
    Revoked(Vec<i32>),
}

/// Records rebalances for the loop, which handles them between batches (store I/O is async).
struct SinkContext {
    topic: String,
    group: String,
    events: Mutex<Vec<Event>>,
}

impl ClientContext for SinkContext {
    fn stats(&self, stats: rdkafka::statistics::Statistics) {
        // The same lag metric as every other role (`sarap_consumer_lag{group,topic,partition}`).
        sarap_bus::pipeline::record_lag(&self.group, &stats);
    }
}

impl ConsumerContext for SinkContext {
    fn post_rebalance(&self, _c: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let parts = |tpl: &TopicPartitionList| -> Vec<i32> {
            tpl.elements()
                .iter()
                .filter(|e| e.topic() == self.topic)
                .map(|e| e.partition())
                .collect()
        };
        let ev = match rebalance {
            Rebalance::Assign(tpl) => Event::Assigned(parts(tpl)),
            Rebalance::Revoke(tpl) => Event::Revoked(parts(tpl)),
            Rebalance::Error(e) => {
                tracing::warn!(error = %e, "sink rebalance error");
                return;
            }
        };
        self.events.lock().unwrap().push(ev);
    }
}

type SinkConsumer = StreamConsumer<SinkContext>;

fn consumer(cfg: &Config, brokers: &str, opts: &SinkOptions) -> anyhow::Result<SinkConsumer> {
    let kafka = &cfg.kafka;
    let mut c: ClientConfig = sarap_bus::kafka::base_config(kafka, brokers);
    c.set("group.id", &opts.group_id)
        // Offsets are committed by the loop, only after the store transaction that covers them.
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", &opts.auto_offset_reset)
        .set("session.timeout.ms", kafka.session_timeout_ms.to_string())
        .set(
            "heartbeat.interval.ms",
            (kafka.session_timeout_ms / 3).max(100).to_string(),
        )
        .set("statistics.interval.ms", "5000")
        .set("enable.partition.eof", "false");
    if !kafka.client.contains_key("partition.assignment.strategy") {
        c.set("partition.assignment.strategy", "cooperative-sticky");
    }
    for (k, v) in &kafka.client {
        c.set(k, v);
    }
    let ctx = SinkContext {
        topic: kafka.topics.scored.clone(),
        group: opts.group_id.clone(),
        events: Mutex::new(Vec::new()),
    };
    let consumer: SinkConsumer = c.create_with_context(ctx)?;
    consumer.subscribe(&[kafka.topics.scored.as_str()])?;
    Ok(consumer)
}

/// Produces signals (key: region) and waits for every acknowledgement.
async fn produce(p: &FutureProducer, topic: &str, rows: &[OutboxRow]) -> anyhow::Result<u64> {
    let sends = rows.iter().map(|o| {
        p.send(
            FutureRecord::to(topic).key(&o.region).payload(&o.payload),
            Duration::from_secs(30),
        )
    });
    let mut n = 0;
    for r in join_all(sends).await {
        match r {
            Ok(_) => n += 1,
            Err((e, _)) => anyhow::bail!("producing to {topic}: {e}"),
        }
    }
    Ok(n)
}

/// One input message, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct Msg<'a> {
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Payload bytes.
    pub payload: &'a [u8],
}

/// Admits, parses and applies one batch; cells the batch needs that are only in the store are
/// loaded first. Returns `(partition, offset)` seeks for partitions the broker resumed beyond
/// the store's position (the rest of such a partition's batch is not applied).
pub async fn apply_batch(
    engine: &mut Engine,
    store: &dyn Store,
    batch: &[Msg<'_>],
) -> Result<Vec<(i32, i64)>, StoreError> {
    let mut seeks: Vec<(i32, i64)> = Vec::new();
    let mut todo: Vec<(i32, i64, Option<ScoredPost>)> = Vec::with_capacity(batch.len());
    for m in batch {
        if seeks.iter().any(|(p, _)| *p == m.partition) {
            continue;
        }
        match engine.admit(m.partition, m.offset) {
            Admit::Skip => {
                engine.counters.skipped += 1;
                metrics::SKIPPED.inc();
            }
            Admit::Seek(to) => {
                engine.seeked(m.partition);
                seeks.push((m.partition, to));
            }
            Admit::Apply => {
                let post = match parse(m.payload) {
                    Ok(post) => Some(post),
                    Err(reason) => {
                        metrics::BAD.with_label_values(&[reason]).inc();
                        tracing::debug!(
                            partition = m.partition,
                            offset = m.offset,
                            reason,
                            "skipping a message that is not a scored post"
                        );
                        None
                    }
                };
                todo.push((m.partition, m.offset, post));
            }
        }
    }
    let posts: Vec<&ScoredPost> = todo.iter().filter_map(|(_, _, p)| p.as_ref()).collect();
    let missing = engine.missing(&posts);
    if !missing.is_empty() {
        let keys: Vec<_> = missing.iter().map(|k| engine.store_key(k)).collect();
        let rows = store.load_cells(&keys).await?;
        engine.insert_rows(rows);
    }
    let now = Instant::now();
    for (p, off, post) in &todo {
        engine.apply(*p, *off, post.as_ref(), now);
    }
    Ok(seeks)
}

/// Runs the sink's aggregation and store path without Kafka over `(partition, payload)` messages
/// (offsets count per partition from the store's position): for benchmarks and tests of
/// everything the sink keeps in memory. Commits every `commit_every` messages and at the end.
/// Returns the report and the most cells held in memory at once.
pub async fn run_in_memory(
    cfg: &Config,
    policy: &Policy,
    store: Arc<dyn Store>,
    partitions: &[i32],
    messages: impl Iterator<Item = (i32, Vec<u8>)>,
    commit_every: usize,
) -> anyhow::Result<(SinkReport, usize)> {
    let topic = cfg.kafka.topics.scored.clone();
    let mut engine = Engine::new(
        Settings::new(&cfg.sink, policy),
        &topic,
        store.noise_secret().await?,
    );
    engine.load_regions(store.load_regions().await?);
    let rows = store.load_partitions(&topic, partitions).await?;
    let mut next: std::collections::HashMap<i32, i64> = partitions
        .iter()
        .map(|p| {
            (
                *p,
                rows.iter()
                    .find(|r| r.partition == *p)
                    .map_or(0, |r| r.next_offset),
            )
        })
        .collect();
    let open = store.load_open_cells(partitions).await?;
    engine.assign(partitions, rows, open);
    let mut report = SinkReport::default();
    let mut peak_cells = 0;
    let started = Instant::now();
    let mut batch: Vec<(i32, i64, Vec<u8>)> = Vec::with_capacity(cfg.sink.batch_size);
    let mut since_commit = 0usize;
    let mut messages = messages.peekable();
    while messages.peek().is_some() {
        batch.clear();
        for (p, payload) in messages.by_ref().take(cfg.sink.batch_size) {
            let o = next.entry(p).or_insert(0);
            batch.push((p, *o, payload));
            *o += 1;
        }
        let msgs: Vec<Msg<'_>> = batch
            .iter()
            .map(|(p, o, b)| Msg {
                partition: *p,
                offset: *o,
                payload: b,
            })
            .collect();
        for slice in msgs.chunks(SLICE) {
            apply_batch(&mut engine, store.as_ref(), slice).await?;
            report.consumed += slice.len() as u64;
            since_commit += slice.len();
            peak_cells = peak_cells.max(engine.cells_in_memory());
            if since_commit < commit_every && engine.closed_in_memory() < MAX_CLOSED_IN_MEMORY {
                continue;
            }
            since_commit = 0;
            let b = engine.prepare_commit(Vec::new());
            store.commit(&b).await?;
            engine.committed(&b);
            // The outbox is what a producer would publish; acknowledge it at once (and drop
            // what would have gone to the gauges).
            store.delete_outbox(&b.outbox).await?;
            engine.take_published_base();
            report.commits += 1;
        }
    }
    let b = engine.prepare_commit(Vec::new());
    store.commit(&b).await?;
    engine.committed(&b);
    store.delete_outbox(&b.outbox).await?;
    report.commits += 1;
    report.counters = engine.counters;
    report.active_secs = started.elapsed().as_secs_f64();
    Ok((report, peak_cells))
}

/// The loop's state besides the engine.
struct Loop<'a> {
    cfg: &'a Config,
    store: Arc<dyn Store>,
    producer: FutureProducer,
    engine: Engine,
    /// Signals acknowledged since the last commit (to drop from the outbox).
    acked: Vec<OutboxRow>,
    /// Signals committed but not acknowledged yet (a produce failed): retried each flush.
    unsent: Vec<OutboxRow>,
    report: SinkReport,
    ready: &'a Readiness,
}

enum Flushed {
    Done,
    Conflict,
}

impl Loop<'_> {
    fn topic(&self) -> &str {
        &self.cfg.kafka.topics.scored
    }

    /// Commits, publishes, commits Kafka offsets; retries transient store failures.
    async fn flush(
        &mut self,
        consumer: &SinkConsumer,
        shutdown: &watch::Receiver<bool>,
    ) -> anyhow::Result<Flushed> {
        self.engine.tick(Instant::now());
        if !self.engine.has_changes() && self.acked.is_empty() && self.unsent.is_empty() {
            return Ok(Flushed::Done);
        }
        let t0 = Instant::now();
        let batch = self.engine.prepare_commit(std::mem::take(&mut self.acked));
        let prepared = t0.elapsed();
        let mut backoff = Duration::from_millis(200);
        loop {
            let started = Instant::now();
            match self.store.commit(&batch).await {
                Ok(()) => {
                    metrics::COMMIT_SECONDS.observe(started.elapsed().as_secs_f64());
                    self.ready.set("store", true);
                    break;
                }
                Err(StoreError::Conflict(m)) => {
                    metrics::CONFLICTS.inc();
                    tracing::warn!(reason = %m, "store conflict: another sink moved on; reloading state");
                    // The acknowledged signals are still in the outbox; delete them next time.
                    self.acked = batch.outbox_done.clone();
                    return Ok(Flushed::Conflict);
                }
                Err(e) => {
                    self.ready.set("store", false);
                    if *shutdown.borrow() && backoff > Duration::from_secs(5) {
                        anyhow::bail!("store unavailable at shutdown: {e}");
                    }
                    tracing::warn!(error = %e, "store commit failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        let stored = t0.elapsed();
        self.engine.committed(&batch);
        self.report.commits += 1;
        // Publish what the transaction made durable, plus anything a failed produce left.
        let mut to_send = std::mem::take(&mut self.unsent);
        to_send.extend(batch.outbox.iter().cloned());
        if !to_send.is_empty() {
            let signals = self.cfg.kafka.topics.signals.clone();
            match produce(&self.producer, &signals, &to_send).await {
                Ok(n) => {
                    self.report.signals_produced += n;
                    let base = self.engine.settings().code(crate::window::Res::Base);
                    for o in to_send.iter().filter(|o| o.resolution == base) {
                        metrics::SIGNALS_PUBLISHED
                            .with_label_values(&[o.region.as_str()])
                            .inc();
                    }
                    self.acked.extend(to_send);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "signals not acknowledged; they stay in the outbox and are retried");
                    self.unsent = to_send;
                }
            }
        }
        // Kafka offsets last: the store is ahead of or equal to the group, never behind.
        if !batch.partitions.is_empty() {
            let mut tpl = TopicPartitionList::new();
            for p in &batch.partitions {
                tpl.add_partition_offset(
                    self.topic(),
                    p.row.partition,
                    Offset::Offset(p.row.next_offset),
                )?;
            }
            if let Err(e) = consumer.commit(&tpl, CommitMode::Async) {
                tracing::debug!(error = %e, "offset commit not accepted (the store has the position)");
            }
        }
        for s in self.engine.take_published_base() {
            let level = self.engine.region_level(s.region);
            metrics::set_region(&s, level);
        }
        let ids = self.engine.active_alert_ids();
        if !ids.is_empty() {
            let states = self.store.alert_states(&ids).await?;
            self.engine.set_alert_states(states);
        }
        tracing::debug!(
            state_bytes = batch
                .cells
                .iter()
                .map(|c| c.row.state.len() + c.row.signal.as_ref().map_or(0, |s| s.len()))
                .sum::<usize>(),
            outbox_bytes = batch.outbox.iter().map(|o| o.payload.len()).sum::<usize>(),
            cells = batch.cells.len(),
            signals = batch.outbox.len(),
            prepare_ms = prepared.as_secs_f64() * 1e3,
            store_ms = (stored - prepared).as_secs_f64() * 1e3,
            total_ms = t0.elapsed().as_secs_f64() * 1e3,
            "flushed"
        );
        Ok(Flushed::Done)
    }

    /// Loads stored positions and open cells of newly assigned partitions.
    async fn assign(&mut self, parts: &[i32]) -> anyhow::Result<()> {
        let held = self.engine.partitions();
        let new: Vec<i32> = parts
            .iter()
            .copied()
            .filter(|p| !held.contains(p))
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let topic = self.topic().to_string();
        let rows = self.store.load_partitions(&topic, &new).await?;
        let open = self.store.load_open_cells(&new).await?;
        tracing::info!(partitions = ?new, stored = rows.len(), open_cells = open.len(), "sink partitions assigned");
        self.engine.assign(&new, rows, open);
        Ok(())
    }

    /// Reloads everything from the store (start-up and after a conflict).
    async fn reload(&mut self) -> anyhow::Result<()> {
        self.engine.reset();
        let regions = self.store.load_regions().await?;
        self.engine.load_regions(regions);
        Ok(())
    }
}

/// Runs the sink until `shutdown` (or `stop_after` messages); flushes and commits before leaving.
pub async fn run(
    cfg: &Config,
    policy: &Policy,
    brokers: &str,
    store: Arc<dyn Store>,
    ready: &Readiness,
    mut shutdown: watch::Receiver<bool>,
    opts: SinkOptions,
) -> anyhow::Result<SinkReport> {
    let settings = Settings::new(&cfg.sink, policy);
    let topic = cfg.kafka.topics.scored.clone();
    let secret = store.noise_secret().await?;
    let producer = sarap_bus::kafka::producer(&cfg.kafka, brokers)?;
    let mut lp = Loop {
        cfg,
        store: store.clone(),
        producer,
        engine: Engine::new(settings, &topic, secret),
        acked: Vec::new(),
        unsent: Vec::new(),
        report: SinkReport::default(),
        ready,
    };
    lp.reload().await?;
    // Signals a previous run made durable but may not have published.
    let leftovers = store.pending_outbox().await?;
    if !leftovers.is_empty() {
        let n = produce(&lp.producer, &cfg.kafka.topics.signals, &leftovers).await?;
        store.delete_outbox(&leftovers).await?;
        tracing::info!(
            signals = n,
            "published signals left in the outbox by the previous run"
        );
    }
    let mut consumer = consumer(cfg, brokers, &opts)?;
    ready.set("sink", true);
    ready.set("store", true);
    tracing::info!(policy = %policy.hash(), k = policy.privacy.min_authors_per_cell, epsilon = policy.privacy.laplace_epsilon, store = ?store.backend(), "sink started");

    let batch_size = cfg.sink.batch_size;
    let batch_wait = Duration::from_millis(cfg.sink.batch_wait_ms);
    let flush_every = Duration::from_millis(cfg.sink.flush_interval_ms);
    let mut last_flush = Instant::now();
    let mut first_at: Option<Instant> = None;
    let reached = |r: &SinkReport| opts.stop_after.is_some_and(|n| r.consumed >= n);
    let mut batch: Vec<rdkafka::message::OwnedMessage> = Vec::with_capacity(batch_size);
    loop {
        if *shutdown.borrow() || reached(&lp.report) {
            break;
        }
        batch.clear();
        tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            m = consumer.recv() => batch.push(m?.detach()),
            _ = tokio::time::sleep_until((last_flush + flush_every).into()) => {}
        }
        if !batch.is_empty() {
            first_at.get_or_insert_with(Instant::now);
            let want = match opts.stop_after {
                Some(n) => (n.saturating_sub(lp.report.consumed) as usize).clamp(1, batch_size),
                None => batch_size,
            };
            let deadline = Instant::now() + batch_wait;
            while batch.len() < want {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match tokio::time::timeout(left, consumer.recv()).await {
                    Ok(m) => batch.push(m?.detach()),
                    Err(_) => break,
                }
            }
        }
        // Rebalances: make what we hold durable first, then drop and load partitions.
        let events: Vec<Event> = std::mem::take(&mut *consumer.context().events.lock().unwrap());
        if !events.is_empty() {
            if let Flushed::Conflict = lp.flush(&consumer, &shutdown).await? {
                drop(consumer);
                lp.reload().await?;
                consumer = self::consumer(cfg, brokers, &opts)?;
                continue;
            }
            for ev in events {
                match ev {
                    Event::Revoked(ps) => {
                        tracing::info!(partitions = ?ps, "sink partitions revoked");
                        lp.engine.revoke(&ps);
                    }
                    Event::Assigned(ps) => lp.assign(&ps).await?,
                }
            }
            // Every region's state is clean now; take the store's (other sinks may own some).
            let regions = lp.store.load_regions().await?;
            lp.engine.load_regions(regions);
        }
        // Messages of partitions this engine does not hold: either the assignment event has
        // not been handled (take the partition over now) or it was just revoked (leave it).
        let mut msgs: Vec<Msg<'_>> = Vec::with_capacity(batch.len());
        for m in &batch {
            lp.report.consumed += 1;
            let p = m.partition();
            if !lp.engine.holds(p) {
                let assigned = consumer
                    .assignment()
                    .map(|tpl| tpl.find_partition(m.topic(), p).is_some())
                    .unwrap_or(false);
                if !assigned {
                    continue;
                }
                lp.assign(&[p]).await?;
            }
            msgs.push(Msg {
                partition: p,
                offset: m.offset(),
                payload: m.payload().unwrap_or_default(),
            });
        }
        // Applied in slices, so that a replay of a sparse backlog (many windows per batch)
        // commits as soon as the closed cells in memory reach their cap.
        let mut seeked: Vec<i32> = Vec::new();
        let mut conflict = false;
        for slice in msgs.chunks(SLICE) {
            let slice: Vec<Msg<'_>> = slice
                .iter()
                .filter(|m| !seeked.contains(&m.partition))
                .copied()
                .collect();
            for (p, to) in apply_batch(&mut lp.engine, lp.store.as_ref(), &slice).await? {
                metrics::SEEKS.inc();
                tracing::warn!(
                    partition = p,
                    to,
                    "group offset ahead of the store: replaying from the store's position"
                );
                consumer.seek(&topic, p, Offset::Offset(to), Duration::from_secs(10))?;
                seeked.push(p);
            }
            if lp.engine.closed_in_memory() >= MAX_CLOSED_IN_MEMORY {
                last_flush = Instant::now();
                if let Flushed::Conflict = lp.flush(&consumer, &shutdown).await? {
                    conflict = true;
                    break;
                }
            }
        }
        if conflict {
            drop(msgs);
            drop(consumer);
            lp.reload().await?;
            consumer = self::consumer(cfg, brokers, &opts)?;
            continue;
        }
        if last_flush.elapsed() >= flush_every || reached(&lp.report) {
            last_flush = Instant::now();
            if let Flushed::Conflict = lp.flush(&consumer, &shutdown).await? {
                drop(consumer);
                lp.reload().await?;
                consumer = self::consumer(cfg, brokers, &opts)?;
            }
        }
    }
    if lp.engine.has_changes() || !lp.unsent.is_empty() {
        if let Flushed::Conflict = lp.flush(&consumer, &shutdown).await? {
            tracing::warn!("final flush hit a conflict; the other sink's state stands");
        }
    }
    // Everything applied is durable and published: the work ends here (what follows is
    // bookkeeping, as the reference loop's final commit is not timed either).
    lp.report.active_secs = first_at.map_or(0.0, |t| t.elapsed().as_secs_f64());
    // Acknowledged signals still listed in the outbox: remove them now.
    if !lp.acked.is_empty() {
        store.delete_outbox(&lp.acked).await?;
    }
    // The group's offsets catch up with the store before leaving (synchronously this time).
    let mut tpl = TopicPartitionList::new();
    for (p, o) in lp.engine.positions() {
        tpl.add_partition_offset(&topic, p, Offset::Offset(o))?;
    }
    if tpl.count() > 0 {
        match consumer.commit(&tpl, CommitMode::Sync) {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => {
                tracing::debug!(error = %e, "final offset commit (the store has the position)")
            }
        }
    }
    consumer.unsubscribe();
    ready.set("sink", false);
    lp.report.counters = lp.engine.counters;
    tracing::info!(report = ?lp.report, "sink stopped");
    Ok(lp.report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_messages_are_classified_not_fatal() {
        assert_eq!(parse(b"not json").unwrap_err(), "not_json");
        assert_eq!(parse(b"{\"schema\":").unwrap_err(), "not_json");
        assert_eq!(parse(b"{\"schema\":\"x\"}").unwrap_err(), "unknown_schema");
        assert_eq!(
            parse(b"{\"schema\":\"sarap.post.scored/1\"}").unwrap_err(),
            "invalid_field"
        );
        let p = crate::cell::tests::post(sarap_core::Region::Abai, 1, 0.2, 1_800_000_000);
        let mut v = serde_json::to_value(&p).unwrap();
        assert!(parse(v.to_string().as_bytes()).is_ok());
        v["schema"] = "sarap.post.scored/2".into();
        assert_eq!(
            parse(v.to_string().as_bytes()).unwrap_err(),
            "unknown_schema"
        );
        v["schema"] = SCHEMA_SCORED.into();
        v["author_name"] = "someone".into();
        assert_eq!(
            parse(v.to_string().as_bytes()).unwrap_err(),
            "invalid_field"
        );
    }
}

#[cfg(test)]
mod timing {
    //! Where a message's time goes, step by step (not run by default):
    //! `cargo test -p sarap-sink --release --lib timing -- --ignored --nocapture`.
    use super::*;
    use crate::window::tests::settings;

    #[test]
    #[ignore = "a measurement, not a check"]
    fn where_time_goes() {
        let posts: Vec<Vec<u8>> = (0..30_000u32)
            .map(|i| {
                let mut p = crate::cell::tests::post(
                    sarap_core::Region::all().nth((i % 20) as usize).unwrap(),
                    i % 3000,
                    0.1,
                    1_800_000_000 + i as i64 / 3,
                );
                p.dup_cluster = Some(format!("dc-{:016x}", i as u64 * 7919));
                p.author_pid = format!("{:032x}", (i as u128 % 3000) * 0x9e3779b97f4a7c15);
                serde_json::to_vec(&p).unwrap()
            })
            .collect();
        let t = Instant::now();
        let mut n = 0;
        for p in &posts {
            n += serde_json::from_slice::<serde_json::Value>(p).is_ok() as usize;
        }
        eprintln!("Value parse: {:?} per msg ({n})", t.elapsed() / 30_000);
        let t = Instant::now();
        let parsed: Vec<ScoredPost> = posts.iter().map(|p| parse(p).unwrap()).collect();
        eprintln!("typed parse: {:?} per msg", t.elapsed() / 30_000);
        let mut e = Engine::new(settings(), "t", [0; 32]);
        e.assign(&[0], vec![], vec![]);
        let t = Instant::now();
        for chunk in parsed.chunks(2000) {
            let refs: Vec<&ScoredPost> = chunk.iter().collect();
            std::hint::black_box(e.missing(&refs));
        }
        eprintln!("missing: {:?} per msg", t.elapsed() / 30_000);
        let t = Instant::now();
        let now = Instant::now();
        for (i, p) in parsed.iter().enumerate() {
            e.apply(0, i as i64, Some(p), now);
        }
        eprintln!(
            "apply: {:?} per msg, {} cells",
            t.elapsed() / 30_000,
            e.cells_in_memory()
        );
        let t = Instant::now();
        let b = e.prepare_commit(vec![]);
        eprintln!(
            "prepare_commit: {:?} for {} cells, {} signals, {} state bytes",
            t.elapsed(),
            b.cells.len(),
            b.outbox.len(),
            b.cells.iter().map(|c| c.row.state.len()).sum::<usize>()
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let dir = std::env::temp_dir().join(format!("sink-timing-{}", std::process::id()));
            let store = crate::open_store(&format!("sqlite://{}/t.db", dir.display()))
                .await
                .unwrap();
            let t = Instant::now();
            store.commit(&b).await.unwrap();
            eprintln!("commit: {:?}", t.elapsed());
            let t = Instant::now();
            store.delete_outbox(&b.outbox).await.unwrap();
            eprintln!("delete outbox: {:?}", t.elapsed());
            let _ = std::fs::remove_dir_all(dir);
        });
    }
}
