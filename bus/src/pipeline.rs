//! The at-least-once consume → transform → produce loop shared by every consuming role.
//!
//! Delivery guarantee: an input offset is stored (and later auto-committed) only after every
//! output record the transform made from it has been acknowledged by the broker (`acks=all`).
//! A crash at any point therefore re-delivers, never loses; downstream stages tolerate the
//! re-delivery (ingest drops exact duplicates, the sink upserts by window).
//!
//! Rebalance safety: when partitions are revoked, the context commits what has been stored
//! (so the next owner starts right after our last acknowledged output) and the loop hands
//! back messages of those partitions that it holds but has not processed (their offsets are
//! not stored, so the next owner processes them once).
//!
//! Overlap: while one batch is transformed, up to [`IN_FLIGHT`] earlier batches wait for their
//! acknowledgements on a separate acknowledger thread, which stores their offsets in batch
//! order (a failed batch stops all later stores). A revoke waits for that thread to finish
//! the batches in flight before committing, so a rebalance still hands over exactly what was
//! acknowledged, as when each batch was awaited before the next was read.

use futures::future::join_all;
use prometheus::{
    register_histogram_vec, register_int_counter_vec, register_int_gauge_vec, HistogramVec,
    IntCounterVec, IntGaugeVec,
};
use rdkafka::client::ClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::DeliveryFuture;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;
use rdkafka::{Offset, TopicPartitionList};
use sarap_core::config::KafkaConfig;
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{watch, Semaphore};

/// Batches whose outputs may still await acknowledgement while the next one is transformed.
pub const IN_FLIGHT: usize = 2;

/// Longest a revoke waits for the batches in flight to be acknowledged and stored.
const REVOKE_DRAIN: Duration = Duration::from_secs(30);

static CONSUMED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!("sarap_consumed_total", "Input messages consumed", &["role"])
        .expect("metric registers once")
});
static PRODUCED: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sarap_produced_total",
        "Output records acknowledged by the broker",
        &["role", "topic"]
    )
    .expect("metric registers once")
});
static BATCH_SIZE: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "sarap_batch_messages",
        "Input messages per processed batch",
        &["role"],
        vec![1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0]
    )
    .expect("metric registers once")
});
static BATCH_SECONDS: LazyLock<HistogramVec> = LazyLock::new(|| {
    register_histogram_vec!(
        "sarap_batch_seconds",
        "Time to transform a batch and get every output acknowledged",
        &["role"],
        prometheus::exponential_buckets(0.0005, 2.0, 16).expect("valid buckets")
    )
    .expect("metric registers once")
});
static LAG: LazyLock<IntGaugeVec> = LazyLock::new(|| {
    register_int_gauge_vec!(
        "sarap_consumer_lag",
        "Messages between the partition's high watermark and the group's committed offset",
        &["group", "topic", "partition"]
    )
    .expect("metric registers once")
});
static REBALANCES: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sarap_rebalances_total",
        "Partition assignments and revocations",
        &["role", "kind"]
    )
    .expect("metric registers once")
});
static HANDED_BACK: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sarap_handed_back_total",
        "Unprocessed messages handed back to the group on partition revoke",
        &["role"]
    )
    .expect("metric registers once")
});

/// One input message, owned.
#[derive(Debug, Clone)]
pub struct InMsg {
    /// Topic it was read from.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Message key, if any.
    pub key: Option<Vec<u8>>,
    /// Payload bytes (empty for a null payload).
    pub payload: Vec<u8>,
}

impl InMsg {
    /// Where the message came from, as carried by every output made from it.
    pub fn source(&self) -> sarap_core::SourceRef {
        sarap_core::SourceRef {
            topic: self.topic.clone(),
            partition: self.partition,
            offset: self.offset,
        }
    }
}

/// One output record to produce.
#[derive(Debug, Clone, PartialEq)]
pub struct OutRecord {
    /// Destination topic.
    pub topic: String,
    /// Partitioning key (the region for clean posts).
    pub key: Option<String>,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

/// What a role does with a batch of input messages.
pub trait Transform: Send {
    /// Turns a batch into output records; must not fail on bad input (reject it instead).
    fn transform(&mut self, batch: &[InMsg]) -> Vec<OutRecord>;

    /// Like [`Transform::transform`], for roles whose machinery can fail (a model runtime):
    /// an error stops the loop without storing the batch's offsets, so the batch is
    /// processed again after the restart instead of being lost.
    fn try_transform(&mut self, batch: &[InMsg]) -> anyhow::Result<Vec<OutRecord>> {
        Ok(self.transform(batch))
    }
}

/// Settings of one consuming loop.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// Role name, used in metric labels and logs.
    pub role: String,
    /// Consumer group id.
    pub group_id: String,
    /// Topics to consume.
    pub topics: Vec<String>,
    /// Most messages per batch.
    pub batch_size: usize,
    /// Longest wait to fill a batch after its first message.
    pub batch_wait: Duration,
    /// Stop once this many input messages were handled (benchmarks, bounded replays).
    pub stop_after: Option<u64>,
    /// Where a new group starts: `earliest` or `latest`.
    pub auto_offset_reset: String,
}

/// Counts from a finished loop.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PipelineReport {
    /// Input messages handled (outputs acknowledged, offsets stored).
    pub consumed: u64,
    /// Output records acknowledged.
    pub produced: u64,
    /// Messages handed back on revoke.
    pub handed_back: u64,
    /// Seconds from the first message received to the last batch acknowledged
    /// (excludes the group join, so throughput figures measure the work).
    pub active_secs: f64,
}

/// Consumer context: lag from statistics, drain on revoke.
pub struct BusContext {
    role: String,
    group: String,
    revoked: Mutex<HashSet<(String, i32)>>,
    generation: AtomicU64,
    /// Batches handed to the acknowledger and not yet stored.
    in_flight: Mutex<usize>,
    drained: Condvar,
}

impl BusContext {
    fn batch_sent(&self) {
        *self.in_flight.lock().unwrap() += 1;
    }

    fn batch_done(&self) {
        let mut n = self.in_flight.lock().unwrap();
        *n = n.saturating_sub(1);
        if *n == 0 {
            self.drained.notify_all();
        }
    }

    /// Blocks until no batch is in flight (or `limit` passes); the acknowledger is a plain
    /// thread, so this cannot wait on the very task that would have to make progress.
    fn wait_drained(&self, limit: Duration) -> bool {
        let n = self.in_flight.lock().unwrap();
        let (n, _) = self
            .drained
            .wait_timeout_while(n, limit, |n| *n > 0)
            .unwrap();
        *n == 0
    }
}

impl ClientContext for BusContext {
    fn stats(&self, stats: Statistics) {
        record_lag(&self.group, &stats);
    }
}

/// Sets `sarap_consumer_lag` from a consumer's librdkafka statistics; for roles with their own
/// consumer loop (the sink), so every group's lag is one metric.
pub fn record_lag(group: &str, stats: &Statistics) {
    for (topic, t) in &stats.topics {
        for (pid, p) in &t.partitions {
            // librdkafka reports -1 for partitions it does not consume or has no commit for.
            if *pid >= 0 && p.consumer_lag >= 0 {
                LAG.with_label_values(&[group, topic, &pid.to_string()])
                    .set(p.consumer_lag);
            }
        }
    }
}

impl ConsumerContext for BusContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                REBALANCES.with_label_values(&[&self.role, "revoke"]).inc();
                // Let the batches in flight be acknowledged and stored first, so the next
                // owner does not process them again.
                if !self.wait_drained(REVOKE_DRAIN) {
                    tracing::warn!(role = %self.role, "batches still unacknowledged at revoke; the next owner re-processes them");
                }
                // Commit what is stored: everything whose outputs were acknowledged.
                match consumer.commit_consumer_state(CommitMode::Sync) {
                    Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
                    Err(e) => {
                        tracing::warn!(role = %self.role, error = %e, "commit on revoke failed")
                    }
                }
                let mut revoked = self.revoked.lock().unwrap();
                for e in tpl.elements() {
                    revoked.insert((e.topic().to_string(), e.partition()));
                    let _ = LAG.remove_label_values(&[
                        &self.group,
                        e.topic(),
                        &e.partition().to_string(),
                    ]);
                }
                self.generation.fetch_add(1, Ordering::SeqCst);
                tracing::info!(role = %self.role, partitions = tpl.count(), "partitions revoked");
            }
            Rebalance::Assign(tpl) => {
                REBALANCES.with_label_values(&[&self.role, "assign"]).inc();
                let mut revoked = self.revoked.lock().unwrap();
                for e in tpl.elements() {
                    revoked.remove(&(e.topic().to_string(), e.partition()));
                }
                tracing::info!(role = %self.role, partitions = tpl.count(), "partitions assigned");
            }
            Rebalance::Error(e) => tracing::warn!(role = %self.role, error = %e, "rebalance error"),
        }
    }
}

/// A consumer and a producer joined by a [`Transform`].
pub struct Pipeline {
    consumer: Arc<StreamConsumer<BusContext>>,
    producer: FutureProducer,
    opts: PipelineOptions,
}

impl Pipeline {
    /// Connects a consumer (manual offset store, auto commit) and an `acks=all` producer.
    pub fn new(kafka: &KafkaConfig, brokers: &str, opts: PipelineOptions) -> anyhow::Result<Self> {
        let mut c: ClientConfig = crate::kafka::base_config(kafka, brokers);
        c.set("group.id", &opts.group_id)
            .set("enable.auto.commit", "true")
            .set("auto.commit.interval.ms", "1000")
            // Offsets are stored by the loop, only after outputs are acknowledged.
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
            // Incremental rebalancing: scaling out does not stop every member.
            c.set("partition.assignment.strategy", "cooperative-sticky");
        }
        for (k, v) in &kafka.client {
            c.set(k, v);
        }
        let ctx = BusContext {
            role: opts.role.clone(),
            group: opts.group_id.clone(),
            revoked: Mutex::new(HashSet::new()),
            generation: AtomicU64::new(0),
            in_flight: Mutex::new(0),
            drained: Condvar::new(),
        };
        let consumer: StreamConsumer<BusContext> = c.create_with_context(ctx)?;
        let topics: Vec<&str> = opts.topics.iter().map(String::as_str).collect();
        consumer.subscribe(&topics)?;
        let producer = crate::kafka::producer(kafka, brokers)?;
        Ok(Pipeline {
            consumer: Arc::new(consumer),
            producer,
            opts,
        })
    }

    /// Runs until `shutdown` turns true (or `stop_after` is reached), then finishes the batch
    /// in hand, waits for the batches in flight, commits, and leaves the group.
    pub async fn run<T: Transform>(
        &self,
        transform: &mut T,
        mut shutdown: watch::Receiver<bool>,
    ) -> anyhow::Result<PipelineReport> {
        let acker = Acker::start(
            self.consumer.clone(),
            self.producer.clone(),
            self.opts.role.clone(),
        )?;
        let permits = Arc::new(Semaphore::new(IN_FLIGHT));
        let mut dispatched = 0u64;
        let mut handed_back = 0u64;
        let mut batch: Vec<InMsg> = Vec::with_capacity(self.opts.batch_size);
        let mut first_at: Option<Instant> = None;
        'outer: loop {
            if *shutdown.borrow() || self.reached_limit(dispatched) {
                break;
            }
            acker.check()?;
            batch.clear();
            let generation = self.consumer.context().generation.load(Ordering::SeqCst);
            // Wait for the first message of a batch as long as it takes.
            tokio::select! {
                biased;
                _ = shutdown.changed() => break 'outer,
                m = self.consumer.recv() => batch.push(owned(&m?)),
            }
            first_at.get_or_insert_with(Instant::now);
            let deadline = Instant::now() + self.opts.batch_wait;
            let want = self.batch_limit(dispatched);
            while batch.len() < want {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                match tokio::time::timeout(left, self.consumer.recv()).await {
                    Ok(m) => batch.push(owned(&m?)),
                    Err(_) => break,
                }
            }
            if self.consumer.context().generation.load(Ordering::SeqCst) != generation {
                handed_back += self.hand_back_revoked(&mut batch);
            }
            if batch.is_empty() {
                continue;
            }
            let started = Instant::now();
            let outputs = transform.try_transform(&batch)?;
            let permit = permits.clone().acquire_owned().await?;
            self.consumer.context().batch_sent();
            acker.send(Handoff {
                outputs,
                offsets: next_offsets(&batch),
                inputs: batch.len() as u64,
                started,
                _permit: permit,
            })?;
            dispatched += batch.len() as u64;
        }
        // Every batch in flight is acknowledged (or has failed) once all permits are back.
        let _all = permits.acquire_many(IN_FLIGHT as u32).await?;
        let done = acker.stop()?;
        self.finish()?;
        Ok(PipelineReport {
            consumed: done.consumed,
            produced: done.produced,
            handed_back,
            active_secs: match (first_at, done.last_at) {
                (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
                _ => 0.0,
            },
        })
    }

    fn reached_limit(&self, dispatched: u64) -> bool {
        self.opts.stop_after.is_some_and(|n| dispatched >= n)
    }

    fn batch_limit(&self, dispatched: u64) -> usize {
        match self.opts.stop_after {
            Some(n) => (n.saturating_sub(dispatched) as usize).clamp(1, self.opts.batch_size),
            None => self.opts.batch_size,
        }
    }

    /// Drops messages of revoked partitions from the batch in hand; returns how many.
    fn hand_back_revoked(&self, batch: &mut Vec<InMsg>) -> u64 {
        let revoked = self.consumer.context().revoked.lock().unwrap();
        let before = batch.len();
        batch.retain(|m| !revoked.contains(&(m.topic.clone(), m.partition)));
        let n = (before - batch.len()) as u64;
        if n > 0 {
            HANDED_BACK.with_label_values(&[&self.opts.role]).inc_by(n);
            tracing::info!(role = %self.opts.role, messages = n, "handed back unprocessed messages of revoked partitions");
        }
        n
    }

    /// Commits stored offsets synchronously and flushes the producer.
    fn finish(&self) -> anyhow::Result<()> {
        match self.consumer.commit_consumer_state(CommitMode::Sync) {
            Ok(()) | Err(KafkaError::ConsumerCommit(RDKafkaErrorCode::NoOffset)) => {}
            Err(e) => tracing::warn!(role = %self.opts.role, error = %e, "final commit failed"),
        }
        use rdkafka::producer::Producer;
        self.producer.flush(Duration::from_secs(30))?;
        self.consumer.unsubscribe();
        tracing::info!(role = %self.opts.role, "drained and left the group");
        Ok(())
    }
}

/// An enqueued record's topic and its delivery report.
type Pending = (String, DeliveryFuture);

/// A transformed batch on its way to the acknowledger.
struct Handoff {
    outputs: Vec<OutRecord>,
    /// Per partition, the offset after the highest one in the batch.
    offsets: Vec<(String, i32, i64)>,
    inputs: u64,
    started: Instant,
    /// Returned when the batch is stored, letting the next one in.
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// What the acknowledger has done.
#[derive(Default)]
struct AckState {
    consumed: u64,
    produced: u64,
    last_at: Option<Instant>,
    error: Option<String>,
}

/// A thread that enqueues each batch's outputs, waits for their acknowledgements in batch
/// order and then stores the batch's offsets, so the consuming task can read and transform
/// the next batch meanwhile.
struct Acker {
    tx: Option<std::sync::mpsc::Sender<Handoff>>,
    state: Arc<Mutex<AckState>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Acker {
    fn start(
        consumer: Arc<StreamConsumer<BusContext>>,
        producer: FutureProducer,
        role: String,
    ) -> anyhow::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel::<Handoff>();
        let state = Arc::new(Mutex::new(AckState::default()));
        let st = state.clone();
        let thread = std::thread::Builder::new()
            .name(format!("{role}-acks"))
            .spawn(move || {
                for h in rx {
                    // After a failure nothing more is stored: a later batch's offsets would
                    // cover the failed one's inputs.
                    let failed = st.lock().unwrap().error.is_some();
                    let result = if failed {
                        Err(anyhow::anyhow!("an earlier batch failed"))
                    } else {
                        futures::executor::block_on(produce_all(&producer, &role, h.outputs))
                            .and_then(|n| store_offsets(&consumer, &role, &h.offsets).map(|()| n))
                    };
                    {
                        let mut s = st.lock().unwrap();
                        match result {
                            Ok(n) => {
                                s.consumed += h.inputs;
                                s.produced += n;
                                s.last_at = Some(Instant::now());
                                BATCH_SIZE
                                    .with_label_values(&[&role])
                                    .observe(h.inputs as f64);
                                BATCH_SECONDS
                                    .with_label_values(&[&role])
                                    .observe(h.started.elapsed().as_secs_f64());
                                CONSUMED.with_label_values(&[&role]).inc_by(h.inputs);
                            }
                            Err(e) => {
                                s.error.get_or_insert_with(|| format!("{e:#}"));
                            }
                        }
                    }
                    consumer.context().batch_done();
                }
            })?;
        Ok(Acker {
            tx: Some(tx),
            state,
            thread: Some(thread),
        })
    }

    fn send(&self, h: Handoff) -> anyhow::Result<()> {
        self.tx
            .as_ref()
            .and_then(|tx| tx.send(h).ok())
            .ok_or_else(|| anyhow::anyhow!("the acknowledger thread has stopped"))
    }

    /// The first failure of a batch in flight, as an error.
    fn check(&self) -> anyhow::Result<()> {
        match &self.state.lock().unwrap().error {
            Some(e) => anyhow::bail!("{e}"),
            None => Ok(()),
        }
    }

    /// Lets the thread finish what it holds; returns its counts, or the first failure.
    fn stop(mut self) -> anyhow::Result<AckState> {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            t.join()
                .map_err(|_| anyhow::anyhow!("the acknowledger thread panicked"))?;
        }
        self.check()?;
        Ok(std::mem::take(&mut *self.state.lock().unwrap()))
    }
}

/// Enqueues every record, then waits for every acknowledgement; any failure is an error (the
/// caller must not store offsets then). Runs on the acknowledger thread, where a blocking
/// sleep stalls nothing else.
async fn produce_all(
    producer: &FutureProducer,
    role: &str,
    outputs: Vec<OutRecord>,
) -> anyhow::Result<u64> {
    let mut pending = Vec::with_capacity(outputs.len());
    let mut acked = 0u64;
    for rec in outputs {
        loop {
            let mut fr = FutureRecord::to(&rec.topic).payload(&rec.payload);
            if let Some(k) = &rec.key {
                fr = fr.key(k);
            }
            match producer.send_result(fr) {
                Ok(fut) => {
                    pending.push((rec.topic, fut));
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    // Backpressure: wait for what is in flight before enqueuing more.
                    acked += await_acks(role, std::mem::take(&mut pending)).await?;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => anyhow::bail!("producing to {}: {e}", rec.topic),
            }
        }
    }
    Ok(acked + await_acks(role, pending).await?)
}

/// Waits for every delivery report; any failure is an error (offsets must not be stored then).
async fn await_acks(role: &str, pending: Vec<Pending>) -> anyhow::Result<u64> {
    let (topics, futs): (Vec<String>, Vec<DeliveryFuture>) = pending.into_iter().unzip();
    let results = join_all(futs).await;
    let mut per_topic: BTreeMap<&str, u64> = BTreeMap::new();
    for (topic, r) in topics.iter().zip(results) {
        match r {
            Ok(Ok(_)) => *per_topic.entry(topic.as_str()).or_default() += 1,
            Ok(Err((e, _))) => anyhow::bail!("delivery to {topic} failed: {e}"),
            Err(_) => anyhow::bail!("delivery to {topic} cancelled (producer closed)"),
        }
    }
    let mut n = 0;
    for (topic, c) in per_topic {
        PRODUCED.with_label_values(&[role, topic]).inc_by(c);
        n += c;
    }
    Ok(n)
}

/// Per partition, the offset after the highest one in the batch.
fn next_offsets(batch: &[InMsg]) -> Vec<(String, i32, i64)> {
    let mut next: BTreeMap<(&str, i32), i64> = BTreeMap::new();
    for m in batch {
        let e = next
            .entry((m.topic.as_str(), m.partition))
            .or_insert(m.offset + 1);
        *e = (*e).max(m.offset + 1);
    }
    next.into_iter()
        .map(|((t, p), o)| (t.to_string(), p, o))
        .collect()
}

/// Stores a batch's offsets (auto-commit commits them later).
fn store_offsets(
    consumer: &StreamConsumer<BusContext>,
    role: &str,
    offsets: &[(String, i32, i64)],
) -> anyhow::Result<()> {
    let mut tpl = TopicPartitionList::new();
    for (t, p, o) in offsets {
        tpl.add_partition_offset(t, *p, Offset::Offset(*o))?;
    }
    match consumer.store_offsets(&tpl) {
        Ok(()) => Ok(()),
        // A partition revoked meanwhile: its next owner re-processes (at-least-once).
        Err(KafkaError::StoreOffset(RDKafkaErrorCode::State))
        | Err(KafkaError::StoreOffset(RDKafkaErrorCode::UnknownPartition)) => {
            tracing::info!(role = %role, "offset store skipped for a revoked partition");
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

fn owned(m: &rdkafka::message::BorrowedMessage<'_>) -> InMsg {
    InMsg {
        topic: m.topic().to_string(),
        partition: m.partition(),
        offset: m.offset(),
        key: m.key().map(<[u8]>::to_vec),
        payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
    }
}

/// A shutdown flag that turns true on SIGTERM or SIGINT.
pub fn shutdown_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::error!("cannot install signal handlers");
            return;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: draining"),
            _ = int.recv() => tracing::info!("SIGINT: draining"),
        }
        let _ = tx.send(true);
    });
    rx
}
