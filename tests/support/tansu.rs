//! A real Kafka-protocol broker (tansu, memory storage) for integration tests.
//!
//! The binary is installed by `scripts/setup-test-env` into `.tools/bin/tansu`
//! (override with env `SARAP_TANSU_BIN`). Each [`Tansu`] is its own broker on
//! a free loopback port with empty in-memory storage; it is killed on drop.
//!
//! Quirks of this build (tansu 0.6.0-510f3e2, memory storage):
//! - every group join (and each rebalance round) waits about half of
//!   `session.timeout.ms`, rounded up to whole seconds (6000 -> ~3 s, 2000 -> ~1 s);
//! - `fetch_watermarks` (ListOffsets latest) returns the last batch's base
//!   offset + 1, not the end offset; the fetch high watermark (statistics
//!   `hi_offset`/`consumer_lag`) and partition EOF are correct;
//! - producing to an unknown topic auto-creates it (4 partitions);
//! - alter_configs and create_partitions are unsupported, delete_records fails.
#![allow(dead_code)]

use std::fs::File;
use std::future::Future;
use std::io::Read;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::metadata::Metadata;
use rdkafka::producer::{BaseProducer, Producer};

/// How long `start` and `create_topics` wait for the broker before panicking.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// A tansu broker process on a free loopback port, killed on drop.
pub struct Tansu {
    child: Child,
    port: u16,
    log_path: PathBuf,
}

impl Tansu {
    /// Starts `.tools/bin/tansu` (path from env SARAP_TANSU_BIN, else
    /// <CARGO_MANIFEST_DIR>/.tools/bin/tansu) and waits until a metadata
    /// request succeeds; panics (naming the log file) if it does not within ~10 s.
    pub fn start() -> Tansu {
        let bin = tansu_bin();
        assert!(
            bin.is_file(),
            "tansu broker binary not found at {}: run scripts/setup-test-env \
             (or set SARAP_TANSU_BIN to a tansu binary)",
            bin.display()
        );
        // The port is picked by binding port 0 and released before tansu
        // binds it, so another process may take it in between: retry then.
        let mut last_failure = String::new();
        for _ in 0..3 {
            let port = free_port();
            let log_path = log_path(port);
            let log = File::create(&log_path)
                .unwrap_or_else(|e| panic!("cannot create tansu log {}: {e}", log_path.display()));
            let log_err = log.try_clone().expect("clone tansu log file handle");
            let url = format!("tcp://127.0.0.1:{port}");
            let child = Command::new(&bin)
                .arg("broker")
                .arg("--listener-url")
                .arg(&url)
                .arg("--advertised-listener-url")
                .arg(&url)
                .arg("--storage-engine")
                .arg("memory://tansu/")
                .stdin(Stdio::null())
                .stdout(Stdio::from(log))
                .stderr(Stdio::from(log_err))
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
            let mut tansu = Tansu {
                child,
                port,
                log_path,
            };
            match tansu.wait_ready() {
                Ok(()) => return tansu,
                Err(failure) => last_failure = failure,
            }
        }
        panic!("tansu broker did not start: {last_failure}");
    }

    /// The bootstrap address for clients: "127.0.0.1:PORT".
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The loopback port the broker listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The file that receives the broker's stdout and stderr.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Creates topics with N partitions through rdkafka's AdminClient and
    /// waits until metadata shows them with a leader for every partition.
    pub fn create_topics(&self, names: &[&str], partitions: i32) {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .create()
            .expect("create rdkafka AdminClient");
        let topics: Vec<NewTopic<'_>> = names
            .iter()
            .map(|name| NewTopic::new(name, partitions, TopicReplication::Fixed(1)))
            .collect();
        let options = AdminOptions::new()
            .request_timeout(Some(READY_TIMEOUT))
            .operation_timeout(Some(READY_TIMEOUT));
        let results = block_on(admin.create_topics(&topics, &options))
            .unwrap_or_else(|e| self.fail(&format!("create_topics {names:?} failed: {e}")));
        for result in results {
            if let Err((topic, code)) = result {
                self.fail(&format!("creating topic {topic} failed: {code:?}"));
            }
        }

        let producer = self.metadata_client();
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let missing: Vec<&str> = match producer
                .client()
                .fetch_metadata(None, Duration::from_secs(1))
            {
                Ok(metadata) => names
                    .iter()
                    .copied()
                    .filter(|name| !topic_ready(&metadata, name, partitions))
                    .collect(),
                Err(_) => names.to_vec(),
            };
            if missing.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!(
                    "topics {missing:?} not in metadata with {partitions} partitions \
                     after {READY_TIMEOUT:?}"
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until the port accepts TCP and a metadata request succeeds.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        let mut producer: Option<BaseProducer> = None;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "tansu exited early with {status}; log {}:\n{}",
                    self.log_path.display(),
                    self.log_tail()
                ));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                let client = producer.get_or_insert_with(|| self.metadata_client());
                if let Ok(metadata) = client.client().fetch_metadata(None, Duration::from_secs(1)) {
                    if !metadata.brokers().is_empty() {
                        return Ok(());
                    }
                }
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return Err(format!(
                    "no metadata from tansu on {} within {READY_TIMEOUT:?}; log {}:\n{}",
                    self.bootstrap(),
                    self.log_path.display(),
                    self.log_tail()
                ));
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// A client used only for metadata requests.
    fn metadata_client(&self) -> BaseProducer {
        ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .create()
            .expect("create rdkafka BaseProducer")
    }

    /// Panics with `msg`, the log path and the end of the broker log.
    fn fail(&self, msg: &str) -> ! {
        panic!(
            "{msg}\ntansu log {}:\n{}",
            self.log_path.display(),
            self.log_tail()
        )
    }

    /// The last few KiB of the broker log.
    fn log_tail(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = File::open(&self.log_path) {
            let _ = file.read_to_string(&mut text);
        }
        let start = text.len().saturating_sub(4096);
        let start = (start..text.len())
            .find(|&i| text.is_char_boundary(i))
            .unwrap_or(text.len());
        text[start..].to_string()
    }
}

impl Drop for Tansu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if thread::panicking() {
            eprintln!("tansu broker log kept at {}", self.log_path.display());
        } else {
            let _ = std::fs::remove_file(&self.log_path);
        }
    }
}

/// The tansu binary: env SARAP_TANSU_BIN, else <CARGO_MANIFEST_DIR>/.tools/bin/tansu.
fn tansu_bin() -> PathBuf {
    match std::env::var_os("SARAP_TANSU_BIN") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/tansu"),
    }
}

/// A loopback port that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("bind a free loopback port")
}

/// A fresh log file path under the system temp dir.
fn log_path(port: u16) -> PathBuf {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    std::env::temp_dir().join(format!(
        "sarap-tansu-{}-{port}-{nanos}.log",
        std::process::id()
    ))
}

/// Whether metadata lists `name` with `partitions` partitions, each with a leader.
fn topic_ready(metadata: &Metadata, name: &str, partitions: i32) -> bool {
    metadata.topics().iter().any(|topic| {
        topic.name() == name
            && topic.error().is_none()
            && topic.partitions().len() == partitions as usize
            && topic
                .partitions()
                .iter()
                .all(|p| p.error().is_none() && p.leader() >= 0)
    })
}

/// Runs a future to completion on this thread (rdkafka admin futures are
/// completed by rdkafka's own thread, so no async runtime is needed; this also
/// works when called from inside a tokio runtime).
fn block_on<F: Future>(future: F) -> F::Output {
    struct ThreadWaker(thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(output) => return output,
            Poll::Pending => thread::park(),
        }
    }
}
