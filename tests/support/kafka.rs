//! Reading topics back in tests: assign every partition from the beginning (no group, so no
//! join delay) and collect until the expected count or a deadline.

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};

/// One message read back.
#[derive(Debug, Clone)]
pub struct Record {
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Key as text.
    pub key: Option<String>,
    /// Payload bytes.
    pub payload: Vec<u8>,
}

impl Record {
    /// The payload parsed as JSON (Sarap's outputs always are).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).expect("outputs are JSON")
    }
}

/// A reader assigned to every partition of some topics from the beginning, which keeps what
/// it has read, so a test can watch outputs arrive without re-reading from the start.
pub struct Reader {
    consumer: BaseConsumer,
    records: Vec<Record>,
}

impl Reader {
    /// Assigns every partition of `topics` from the beginning.
    pub fn new(brokers: &str, topics: &[&str]) -> Reader {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("group.id", "sarap-test-reader")
            .set("enable.auto.commit", "false")
            .create()
            .expect("reader consumer");
        let mut tpl = TopicPartitionList::new();
        for t in topics {
            let md = consumer
                .fetch_metadata(Some(t), Duration::from_secs(10))
                .expect("metadata");
            for p in md.topics()[0].partitions() {
                tpl.add_partition_offset(t, p.id(), Offset::Beginning)
                    .unwrap();
            }
        }
        consumer.assign(&tpl).expect("assign");
        Reader {
            consumer,
            records: Vec::new(),
        }
    }

    /// Polls until `done(records so far)` holds or `timeout` passes; returns whether it held.
    pub fn poll_until(&mut self, timeout: Duration, done: impl Fn(&[Record]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while !done(&self.records) {
            if Instant::now() >= deadline {
                return false;
            }
            if let Some(Ok(m)) = self.consumer.poll(Duration::from_millis(50)) {
                self.records.push(Record {
                    topic: m.topic().to_string(),
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                    payload: m.payload().unwrap_or_default().to_vec(),
                });
            }
        }
        true
    }

    /// Everything read so far.
    pub fn records(&self) -> &[Record] {
        &self.records
    }
}

/// Reads `topics` from the beginning until `expected` messages arrived or `timeout` passed.
pub fn read_all(brokers: &str, topics: &[&str], expected: usize, timeout: Duration) -> Vec<Record> {
    let mut reader = Reader::new(brokers, topics);
    reader.poll_until(timeout, |r| r.len() >= expected);
    reader.records
}
