//! Rebalance safety against the real broker (tansu): two `sarap analyze` processes share the
//! group while one joins mid-stream and the other leaves on SIGTERM. Every clean post is
//! scored exactly once and no audit record is written twice; each process's chain verifies.

#[allow(dead_code)]
mod support;

use sarap_analyzers::audit::verify;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};
use support::clean::{clean_post, corpus_texts};
use support::kafka::{Reader, Record};
use support::process::{sigterm, spawn_sarap, Guard};
use support::tansu::Tansu;

fn spawn_analyze(cfg: &std::path::Path, log: &std::path::Path) -> Guard {
    Guard(spawn_sarap(
        &["analyze", "--config", cfg.to_str().unwrap()],
        log,
        &[],
    ))
}

fn chains(recs: &[Record]) -> HashSet<String> {
    recs.iter()
        .filter(|r| r.topic == "audit.decisions")
        .map(|r| r.json()["chain"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn one_analyzer_joins_and_one_leaves_without_loss_or_double_audit() {
    let broker = Tansu::start();
    broker.create_topics(
        &[
            "posts.clean",
            "posts.scored",
            "audit.decisions",
            "posts.rejected",
            "factcheck.requests",
        ],
        6,
    );
    let brokers = broker.bootstrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("sarap.toml");
    std::fs::write(
        &cfg,
        format!(
            "policy = \"config/policy.toml\"\n[kafka]\nbrokers = \"{brokers}\"\nsession_timeout_ms = 6000\n\
             [telemetry]\nlisten = \"127.0.0.1:0\"\n[analyze]\nbatch_size = 16\nbatch_wait_ms = 20\nthreads = 1\n"
        ),
    )
    .unwrap();
    let log_a = dir.path().join("a.log");
    let log_b = dir.path().join("b.log");

    let n = 900;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let kafka = sarap_core::config::KafkaConfig::default();
    let producer = sarap_bus::kafka::producer(&kafka, &brokers).unwrap();
    let keys: HashSet<String> = rt.block_on(async {
        let mut keys = HashSet::new();
        for (i, (t, l)) in corpus_texts(n).iter().enumerate() {
            let p = clean_post(i, t, *l, None);
            producer
                .send(
                    rdkafka::producer::FutureRecord::to("posts.clean")
                        .key(&p.post_key)
                        .payload(&serde_json::to_vec(&p).unwrap()),
                    Duration::from_secs(5),
                )
                .await
                .unwrap();
            keys.insert(p.post_key);
        }
        keys
    });
    assert_eq!(keys.len(), n);

    let logs = || {
        format!(
            "\n--- a ---\n{}\n--- b ---\n{}",
            std::fs::read_to_string(&log_a).unwrap_or_default(),
            std::fs::read_to_string(&log_b).unwrap_or_default()
        )
    };
    let mut reader = Reader::new(&brokers, &["posts.scored", "audit.decisions"]);
    let scored = |r: &[Record]| r.iter().filter(|m| m.topic == "posts.scored").count();
    let mut a = spawn_analyze(&cfg, &log_a);
    assert!(
        reader.poll_until(Duration::from_secs(90), |r| scored(r) >= 20),
        "first analyzer produced nothing{}",
        logs()
    );
    let mut b = spawn_analyze(&cfg, &log_b);
    // B has joined once a second chain writes.
    let joined = reader.poll_until(Duration::from_secs(90), |r| chains(r).len() >= 2);
    assert!(joined, "second analyzer never got partitions{}", logs());
    let before_leave = scored(reader.records());
    assert!(
        before_leave < n,
        "the stream ended before the rebalance; make it longer"
    );
    sigterm(&a.0);
    let a_status = a.0.wait().unwrap();
    assert!(
        a_status.success(),
        "analyzer A did not drain cleanly: {a_status:?}{}",
        logs()
    );

    let deadline = Instant::now() + Duration::from_secs(120);
    let done = |r: &[Record]| {
        let got: HashSet<String> = r
            .iter()
            .filter(|m| m.topic == "posts.scored")
            .map(|m| m.json()["post_key"].as_str().unwrap().to_string())
            .collect();
        got.len() >= n
    };
    let complete = reader.poll_until(deadline.saturating_duration_since(Instant::now()), done);
    // Anything written twice would arrive shortly after.
    reader.poll_until(Duration::from_secs(3), |_| false);
    sigterm(&b.0);
    let b_status = b.0.wait().unwrap();
    assert!(complete, "not every clean post was scored{}", logs());
    assert!(
        b_status.success(),
        "analyzer B did not drain cleanly: {b_status:?}{}",
        logs()
    );

    let recs = reader.records();
    let mut per_key: HashMap<String, usize> = HashMap::new();
    for r in recs.iter().filter(|r| r.topic == "posts.scored") {
        *per_key
            .entry(r.json()["post_key"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    let twice: Vec<_> = per_key.iter().filter(|(_, c)| **c > 1).collect();
    assert!(twice.is_empty(), "scored more than once: {twice:?}");
    assert_eq!(per_key.keys().cloned().collect::<HashSet<_>>(), keys);
    let audit: Vec<String> = recs
        .iter()
        .filter(|r| r.topic == "audit.decisions")
        .map(|r| String::from_utf8(r.payload.clone()).unwrap())
        .collect();
    assert_eq!(audit.len(), n, "one audit record per post");
    let report = verify(audit.iter().map(|s| s.as_str())).expect("both chains verify");
    assert_eq!(
        report.repeated_decisions, 0,
        "an audit record was written twice"
    );
    assert!(report.chains.len() >= 2, "{:?}", report.chains);
    eprintln!(
        "A scored before B joined and while both ran; {} posts scored when A left; chains {:?}",
        before_leave, report.chains
    );
}
