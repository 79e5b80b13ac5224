//! Dynamic batching in front of the encoder.
//!
//! One worker thread owns the model (as in text-embeddings-inference: a single queue owner).
//! Callers put tokenised texts on a bounded queue; when it is full they wait, so a burst
//! pauses consumption from Kafka instead of growing memory. The worker closes a batch at
//! `max_batch` texts, at `token_budget` padded tokens, or `max_wait` after the oldest text
//! arrived. It sorts what is waiting by length and builds the batch around the oldest text
//! from its nearest neighbours in length, so padding stays small and no text waits behind
//! an endless stream of better-fitting ones. An embedding cache keyed by the normalised text
//! means a duplicate never runs the model twice.

use crate::encoder::{Embedding, Encoder};
use crate::AnalyzerError;
use prometheus::{
    register_histogram, register_int_counter_vec, register_int_gauge, Histogram, IntCounterVec,
    IntGauge,
};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

static QUEUE_WAIT: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "sarap_analyze_queue_wait_seconds",
        "Time a text waited in the batch queue before its batch ran",
        prometheus::exponential_buckets(0.0005, 2.0, 14).expect("valid buckets")
    )
    .expect("metric registers once")
});
static BATCH_TEXTS: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "sarap_analyze_batch_size",
        "Texts per model batch",
        vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0]
    )
    .expect("metric registers once")
});
static BATCH_TOKENS: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "sarap_analyze_batch_tokens",
        "Padded tokens (rows x longest row) per model batch",
        prometheus::exponential_buckets(16.0, 2.0, 12).expect("valid buckets")
    )
    .expect("metric registers once")
});
static INFERENCE: LazyLock<Histogram> = LazyLock::new(|| {
    register_histogram!(
        "sarap_analyze_inference_seconds",
        "Model time per batch",
        prometheus::exponential_buckets(0.001, 2.0, 14).expect("valid buckets")
    )
    .expect("metric registers once")
});
static CACHE: LazyLock<IntCounterVec> = LazyLock::new(|| {
    register_int_counter_vec!(
        "sarap_analyze_cache_total",
        "Embedding cache lookups by result (hit rate = hit / (hit + miss))",
        &["result"]
    )
    .expect("metric registers once")
});
static QUEUE_DEPTH: LazyLock<IntGauge> = LazyLock::new(|| {
    register_int_gauge!(
        "sarap_analyze_queue_depth",
        "Texts waiting for the model (queued plus held by the batch builder)"
    )
    .expect("metric registers once")
});

/// Limits of the batcher.
#[derive(Debug, Clone, Copy)]
pub struct BatcherOptions {
    /// Most texts per model batch.
    pub max_batch: usize,
    /// Most padded tokens per model batch.
    pub token_budget: usize,
    /// Longest wait after the oldest waiting text arrived.
    pub max_wait: Duration,
    /// Texts the queue holds before callers wait.
    pub queue_capacity: usize,
    /// Embeddings the cache keeps.
    pub cache_capacity: usize,
}

/// Key of a text in the cache: 128 bits of its SHA-256 (collisions are not a practical concern).
type TextKey = [u8; 16];

fn text_key(text: &str) -> TextKey {
    let d = Sha256::digest(text.as_bytes());
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}

/// Bounded cache with two generations: when the young one is full it becomes the old one
/// and the previous old one is dropped. Cheap, bounded, and close to LRU for a stream.
struct Cache {
    young: HashMap<TextKey, Embedding>,
    old: HashMap<TextKey, Embedding>,
    half: usize,
}

impl Cache {
    fn new(capacity: usize) -> Self {
        Cache {
            young: HashMap::new(),
            old: HashMap::new(),
            half: (capacity / 2).max(1),
        }
    }

    fn get(&mut self, k: &TextKey) -> Option<Embedding> {
        if let Some(e) = self.young.get(k) {
            return Some(e.clone());
        }
        let e = self.old.remove(k)?;
        self.put(*k, e.clone());
        Some(e)
    }

    fn put(&mut self, k: TextKey, e: Embedding) {
        if self.young.len() >= self.half {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(k, e);
    }

    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

/// One text waiting for the model.
struct Job {
    ids: Vec<i64>,
    enqueued: Instant,
    slot: usize,
    reply: mpsc::Sender<(usize, Result<Embedding, String>)>,
}

/// What the worker did, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchStats {
    /// Model batches run.
    pub batches: u64,
    /// Texts embedded by the model.
    pub texts: u64,
    /// Largest batch, in texts.
    pub max_texts: usize,
    /// Largest batch, in padded tokens.
    pub max_tokens: usize,
    /// Padded tokens over all batches.
    pub padded_tokens: u64,
    /// Real tokens over all batches.
    pub real_tokens: u64,
    /// Most texts ever waiting at once (queue plus builder).
    pub max_waiting: usize,
}

/// Where a finished embedding goes: a caller's reply channel and its slot there.
type Waiter = (mpsc::Sender<(usize, Result<Embedding, String>)>, usize);

/// Cache plus the texts queued right now, so concurrent callers asking for the same text
/// wait for the one model run instead of starting another.
struct Shared {
    cache: Cache,
    in_flight: HashMap<TextKey, Vec<Waiter>>,
}

/// Queue, cache and the worker thread that owns the model.
pub struct Batcher {
    tx: Option<SyncSender<Job>>,
    encoder: Arc<Encoder>,
    cache: Mutex<Shared>,
    stats: Arc<Mutex<BatchStats>>,
    worker: Option<std::thread::JoinHandle<()>>,
    opts: BatcherOptions,
}

impl Batcher {
    /// Starts the worker thread.
    pub fn start(encoder: Arc<Encoder>, opts: BatcherOptions) -> Self {
        let opts = BatcherOptions {
            max_batch: opts.max_batch.max(1),
            token_budget: opts.token_budget.max(1),
            queue_capacity: opts.queue_capacity.max(1),
            ..opts
        };
        // The channel holds half the capacity and the builder at most the other half, so
        // the number of texts waiting never exceeds `queue_capacity`.
        let (tx, rx) = mpsc::sync_channel::<Job>((opts.queue_capacity / 2).max(1));
        let stats = Arc::new(Mutex::new(BatchStats::default()));
        let worker = {
            let encoder = encoder.clone();
            let stats = stats.clone();
            std::thread::Builder::new()
                .name("sarap-batcher".into())
                .spawn(move || worker(rx, &encoder, opts, &stats))
                .expect("spawning the batcher thread")
        };
        Batcher {
            tx: Some(tx),
            encoder,
            cache: Mutex::new(Shared {
                cache: Cache::new(opts.cache_capacity),
                in_flight: HashMap::new(),
            }),
            stats,
            worker: Some(worker),
            opts,
        }
    }

    /// The encoder behind the queue.
    pub fn encoder(&self) -> &Arc<Encoder> {
        &self.encoder
    }

    /// The limits in force.
    pub fn options(&self) -> BatcherOptions {
        self.opts
    }

    /// Counters of the worker so far.
    pub fn stats(&self) -> BatchStats {
        *self.stats.lock().expect("stats lock")
    }

    /// Embeddings of `texts` in order. Cached texts, repeats within the call and texts another
    /// caller has already queued skip the model; the rest are queued (waiting while the queue
    /// is full) and answered by the worker.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>, AnalyzerError> {
        let keys: Vec<TextKey> = texts.iter().map(|t| text_key(t)).collect();
        let mut out: Vec<Option<Embedding>> = vec![None; texts.len()];
        let (rtx, rrx) = mpsc::channel();
        // Slots this call queues itself, and how many answers it waits for in all.
        let mut own: Vec<usize> = Vec::new();
        let mut awaited = 0usize;
        {
            let mut sh = self.cache.lock().expect("cache lock");
            let mut first: HashMap<TextKey, usize> = HashMap::new();
            for (i, k) in keys.iter().enumerate() {
                if let Some(e) = sh.cache.get(k) {
                    out[i] = Some(e);
                    CACHE.with_label_values(&["hit"]).inc();
                } else if first.contains_key(k) {
                    CACHE.with_label_values(&["hit"]).inc();
                } else if let Some(waiters) = sh.in_flight.get_mut(k) {
                    waiters.push((rtx.clone(), i));
                    first.insert(*k, i);
                    awaited += 1;
                    CACHE.with_label_values(&["hit"]).inc();
                } else {
                    sh.in_flight.insert(*k, Vec::new());
                    first.insert(*k, i);
                    own.push(i);
                    awaited += 1;
                    CACHE.with_label_values(&["miss"]).inc();
                }
            }
        }
        let result = self.queue_and_collect(texts, &keys, &own, awaited, rtx, &rrx, &mut out);
        if result.is_err() {
            // Whoever waits on texts this call queued gets the error instead of waiting forever.
            let mut sh = self.cache.lock().expect("cache lock");
            for &slot in &own {
                for (w, ws) in sh.in_flight.remove(&keys[slot]).unwrap_or_default() {
                    let _ = w.send((ws, Err("the caller that queued this text failed".into())));
                }
            }
        }
        result?;
        // Repeats within the call take the first occurrence's embedding.
        let mut first: HashMap<TextKey, Embedding> = HashMap::new();
        for (i, k) in keys.iter().enumerate() {
            if let Some(e) = &out[i] {
                first.entry(*k).or_insert_with(|| e.clone());
            }
        }
        keys.iter()
            .map(|k| {
                first
                    .get(k)
                    .cloned()
                    .ok_or_else(|| AnalyzerError::Runtime("embedding missing".into()))
            })
            .collect()
    }

    /// Queues this call's own texts, then collects `awaited` answers (its own and those
    /// other callers' runs forward to it), caching and forwarding each as it arrives.
    #[allow(clippy::too_many_arguments)]
    fn queue_and_collect(
        &self,
        texts: &[&str],
        keys: &[TextKey],
        own: &[usize],
        awaited: usize,
        rtx: mpsc::Sender<(usize, Result<Embedding, String>)>,
        rrx: &mpsc::Receiver<(usize, Result<Embedding, String>)>,
        out: &mut [Option<Embedding>],
    ) -> Result<(), AnalyzerError> {
        if awaited == 0 {
            return Ok(());
        }
        let tx = self
            .tx
            .as_ref()
            .ok_or_else(|| AnalyzerError::Runtime("batcher stopped".into()))?;
        // Tokenise everything first, so a burst reaches the queue at once and the worker can
        // sort all of it by length instead of batching whatever trickled in so far.
        let ids: Vec<Vec<i64>> = own
            .iter()
            .map(|&slot| self.encoder.tokenize(texts[slot]))
            .collect::<Result<_, _>>()?;
        for (&slot, ids) in own.iter().zip(ids) {
            let job = Job {
                ids,
                enqueued: Instant::now(),
                slot,
                reply: rtx.clone(),
            };
            // Blocks while the queue is full: backpressure.
            tx.send(job)
                .map_err(|_| AnalyzerError::Runtime("batcher worker stopped".into()))?;
        }
        drop(rtx);
        for _ in 0..awaited {
            let (slot, res) = rrx
                .recv()
                .map_err(|_| AnalyzerError::Runtime("batcher worker stopped".into()))?;
            let mut sh = self.cache.lock().expect("cache lock");
            if let Ok(e) = &res {
                sh.cache.put(keys[slot], e.clone());
            }
            // Forward to callers that asked for the same text meanwhile (only for our own runs).
            if own.binary_search(&slot).is_ok() {
                for (w, ws) in sh.in_flight.remove(&keys[slot]).unwrap_or_default() {
                    let _ = w.send((ws, res.clone()));
                }
            }
            drop(sh);
            out[slot] = Some(res.map_err(AnalyzerError::Runtime)?);
        }
        Ok(())
    }

    /// Embeddings held by the cache.
    pub fn cached(&self) -> usize {
        self.cache.lock().expect("cache lock").cache.len()
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// How long a full batch waits for the rest of a burst that is still arriving.
const SETTLE: Duration = Duration::from_micros(300);

/// The worker: collect, pick a batch, run it, answer; until every sender is gone.
fn worker(rx: Receiver<Job>, encoder: &Encoder, opts: BatcherOptions, stats: &Mutex<BatchStats>) {
    let hold = (opts.queue_capacity - opts.queue_capacity / 2).max(opts.max_batch);
    let mut waiting: Vec<Job> = Vec::new();
    let mut open = true;
    while open || !waiting.is_empty() {
        if waiting.is_empty() {
            match rx.recv() {
                Ok(j) => waiting.push(j),
                Err(_) => break,
            }
        }
        // Take everything already queued (up to what the builder may hold), then wait for
        // more until the batch is full or the oldest text's deadline passes.
        loop {
            while waiting.len() < hold {
                match rx.try_recv() {
                    Ok(j) => waiting.push(j),
                    Err(mpsc::TryRecvError::Empty) => break,
                    Err(mpsc::TryRecvError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
            QUEUE_DEPTH.set(waiting.len() as i64);
            if !open || waiting.len() >= hold {
                break;
            }
            if full(&waiting, &opts) {
                // A caller may still be putting the rest of its burst on the queue: let it
                // settle briefly, so the batch is chosen from the whole burst sorted by length.
                match rx.recv_timeout(SETTLE) {
                    Ok(j) => {
                        waiting.push(j);
                        continue;
                    }
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
            let oldest = waiting.iter().map(|j| j.enqueued).min().expect("non-empty");
            let Some(left) = (oldest + opts.max_wait).checked_duration_since(Instant::now()) else {
                break;
            };
            match rx.recv_timeout(left) {
                Ok(j) => waiting.push(j),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        {
            let mut s = stats.lock().expect("stats lock");
            s.max_waiting = s.max_waiting.max(waiting.len());
        }
        let batch = pick_batch(&mut waiting, &opts);
        run_batch(encoder, batch, stats);
    }
    QUEUE_DEPTH.set(0);
}

/// Whether what is waiting already fills a batch.
fn full(waiting: &[Job], opts: &BatcherOptions) -> bool {
    if waiting.len() >= opts.max_batch {
        return true;
    }
    let longest = waiting.iter().map(|j| j.ids.len()).max().unwrap_or(0);
    (waiting.len() + 1) * longest > opts.token_budget
}

/// Removes and returns the next batch: the oldest text plus its nearest neighbours in length,
/// within `max_batch` texts and `token_budget` padded tokens (a text longer than the budget
/// alone still runs, alone).
fn pick_batch(waiting: &mut Vec<Job>, opts: &BatcherOptions) -> Vec<Job> {
    waiting.sort_by_key(|j| (j.ids.len(), j.enqueued));
    let anchor = waiting
        .iter()
        .enumerate()
        .min_by_key(|(_, j)| j.enqueued)
        .map(|(i, _)| i)
        .unwrap_or(0);
    let (mut lo, mut hi) = (anchor, anchor + 1);
    let mut longest = waiting[anchor].ids.len();
    while hi - lo < opts.max_batch {
        let left = (lo > 0).then(|| waiting[lo - 1].ids.len());
        let right = (hi < waiting.len()).then(|| waiting[hi].ids.len());
        let anchor_len = waiting[anchor].ids.len();
        let take_left = match (left, right) {
            (None, None) => break,
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (Some(l), Some(r)) => anchor_len - l <= r - anchor_len,
        };
        let len = if take_left { left } else { right }.expect("a side exists");
        let new_longest = longest.max(len);
        if (hi - lo + 1) * new_longest > opts.token_budget {
            break;
        }
        longest = new_longest;
        if take_left {
            lo -= 1;
        } else {
            hi += 1;
        }
    }
    waiting.drain(lo..hi).collect()
}

fn run_batch(encoder: &Encoder, batch: Vec<Job>, stats: &Mutex<BatchStats>) {
    let now = Instant::now();
    for j in &batch {
        QUEUE_WAIT.observe(now.duration_since(j.enqueued).as_secs_f64());
    }
    let rows: Vec<&[i64]> = batch.iter().map(|j| j.ids.as_slice()).collect();
    let longest = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let padded = longest * rows.len();
    let real: usize = rows.iter().map(|r| r.len()).sum();
    BATCH_TEXTS.observe(rows.len() as f64);
    BATCH_TOKENS.observe(padded as f64);
    let timer = INFERENCE.start_timer();
    let result = encoder.embed_ids(&rows);
    timer.observe_duration();
    {
        let mut s = stats.lock().expect("stats lock");
        s.batches += 1;
        s.texts += rows.len() as u64;
        s.max_texts = s.max_texts.max(rows.len());
        s.max_tokens = s.max_tokens.max(padded);
        s.padded_tokens += padded as u64;
        s.real_tokens += real as u64;
    }
    match result {
        Ok(embs) => {
            for (j, e) in batch.into_iter().zip(embs) {
                let _ = j.reply.send((j.slot, Ok(e)));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for j in batch {
                let _ = j.reply.send((j.slot, Err(msg.clone())));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(len: usize, age_ms: u64) -> Job {
        let (tx, _rx) = mpsc::channel();
        Job {
            ids: vec![0; len],
            enqueued: Instant::now() - Duration::from_millis(age_ms),
            slot: 0,
            reply: tx,
        }
    }

    fn opts(max_batch: usize, token_budget: usize) -> BatcherOptions {
        BatcherOptions {
            max_batch,
            token_budget,
            max_wait: Duration::from_millis(5),
            queue_capacity: 64,
            cache_capacity: 16,
        }
    }

    #[test]
    fn batch_is_built_around_the_oldest_text_from_similar_lengths() {
        let mut w: Vec<Job> = [40, 10, 12, 90, 11, 41, 39]
            .iter()
            .enumerate()
            .map(|(i, &l)| job(l, if l == 40 { 100 } else { i as u64 }))
            .collect();
        let b = pick_batch(&mut w, &opts(3, 10_000));
        let mut lens: Vec<usize> = b.iter().map(|j| j.ids.len()).collect();
        lens.sort();
        assert_eq!(lens, vec![39, 40, 41]);
        assert_eq!(w.len(), 4);
    }

    #[test]
    fn batch_respects_token_budget_and_max_batch() {
        let mut w: Vec<Job> = (0..50).map(|i| job(20 + i % 7, i as u64)).collect();
        while !w.is_empty() {
            let b = pick_batch(&mut w, &opts(8, 100));
            let longest = b.iter().map(|j| j.ids.len()).max().unwrap();
            assert!(b.len() <= 8);
            assert!(
                b.len() * longest <= 100 || b.len() == 1,
                "{} x {longest}",
                b.len()
            );
        }
    }

    #[test]
    fn an_overlong_text_runs_alone() {
        let mut w = vec![job(600, 5), job(10, 1)];
        let b = pick_batch(&mut w, &opts(8, 256));
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].ids.len(), 600);
    }

    #[test]
    fn cache_is_bounded_and_keeps_recent_entries() {
        let mut c = Cache::new(10);
        for i in 0..100u8 {
            c.put([i; 16], Embedding::from(vec![i as f32]));
            assert!(c.len() <= 10);
        }
        assert!(c.get(&[99; 16]).is_some());
        assert!(c.get(&[0; 16]).is_none());
    }
}
