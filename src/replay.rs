//! Producing a stream of raw posts into `posts.raw`: from a JSONL file (`sarap replay`)
//! or from the synthesizer (`sarap run`'s sample stream, tests, benchmarks).

use indicatif::{ProgressBar, ProgressStyle};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use std::io::BufRead;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How to replay.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Destination topic.
    pub topic: String,
    /// Messages per second; `None` for as fast as the broker takes them.
    pub rate: Option<f64>,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

/// The message key of a raw post: its `post_key` when platform and id are readable, so that
/// redeliveries of one post land on the same partition and the same ingest instance.
pub fn raw_key(line: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Ids<'a> {
        #[serde(borrow)]
        platform: &'a str,
        #[serde(borrow)]
        id: &'a str,
    }
    let ids: Ids<'_> = serde_json::from_slice(line).ok()?;
    Some(sarap_core::pseudonym::post_key(ids.platform, ids.id))
}

/// Produces every line and waits for all acknowledgements; returns how many were produced.
/// Stops early (after flushing what was sent) when `stop` turns true.
pub async fn replay<I>(
    producer: &FutureProducer,
    lines: I,
    total: Option<u64>,
    opts: &ReplayOptions,
    stop: Option<watch::Receiver<bool>>,
) -> anyhow::Result<u64>
where
    I: IntoIterator<Item = Vec<u8>>,
{
    let bar = if opts.progress {
        let b = total.map_or_else(ProgressBar::new_spinner, ProgressBar::new);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:40}] {pos}/{len} posts {per_sec} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let started = Instant::now();
    let mut pending: Vec<DeliveryFuture> = Vec::new();
    let mut sent = 0u64;
    for line in lines {
        if stop.as_ref().is_some_and(|s| *s.borrow()) {
            break;
        }
        if let Some(rate) = opts.rate {
            let due = started + Duration::from_secs_f64(sent as f64 / rate);
            let now = Instant::now();
            if due > now {
                tokio::time::sleep(due - now).await;
            }
        }
        let key = raw_key(&line);
        loop {
            let mut rec = FutureRecord::to(&opts.topic).payload(&line);
            if let Some(k) = &key {
                rec = rec.key(k);
            }
            match producer.send_result(rec) {
                Ok(f) => {
                    pending.push(f);
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    settle(&mut pending).await?;
                }
                Err((e, _)) => anyhow::bail!("producing to {}: {e}", opts.topic),
            }
        }
        sent += 1;
        bar.inc(1);
        if pending.len() >= 10_000 {
            settle(&mut pending).await?;
        }
    }
    settle(&mut pending).await?;
    producer.flush(Duration::from_secs(30))?;
    bar.finish_with_message("acknowledged");
    Ok(sent)
}

async fn settle(pending: &mut Vec<DeliveryFuture>) -> anyhow::Result<()> {
    for f in pending.drain(..) {
        match f.await {
            Ok(Ok(_)) => {}
            Ok(Err((e, _))) => anyhow::bail!("delivery failed: {e}"),
            Err(_) => anyhow::bail!("delivery cancelled"),
        }
    }
    Ok(())
}

/// Reads a JSONL file into lines (empty lines skipped); the bytes are kept as they are, so
/// malformed lines are replayed too and rejected downstream with a reason.
pub fn read_lines(path: &std::path::Path) -> anyhow::Result<Vec<Vec<u8>>> {
    let f = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut reader = std::io::BufReader::new(f);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        if reader.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        while buf.last().is_some_and(|c| *c == b'\n' || *c == b'\r') {
            buf.pop();
        }
        if !buf.is_empty() {
            out.push(buf.clone());
        }
    }
    Ok(out)
}
