//! Kafka client construction, topic administration and the embedded broker.

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{DefaultProducerContext, FutureProducer};
use sarap_core::config::KafkaConfig;
use std::time::Duration;

/// A base client configuration: brokers plus every pass-through property (TLS, SASL, tuning).
pub fn base_config(kafka: &KafkaConfig, brokers: &str) -> ClientConfig {
    let mut c = ClientConfig::new();
    c.set("bootstrap.servers", brokers);
    for (k, v) in &kafka.client {
        c.set(k, v);
    }
    c
}

/// A producer that waits for all in-sync replicas, so an acknowledged output is durable.
pub fn producer(kafka: &KafkaConfig, brokers: &str) -> anyhow::Result<FutureProducer> {
    Ok(producer_config(kafka, brokers).create()?)
}

/// The producer's configuration: durable, idempotent, bounded; pass-through keys last.
pub fn producer_config(kafka: &KafkaConfig, brokers: &str) -> ClientConfig {
    let mut c = base_config(kafka, brokers);
    c.set("acks", "all")
        // A retried request must not land after a later one nor twice: the audit chain is
        // checked link by link on arrival, and the sink counts what arrives.
        .set("enable.idempotence", "true")
        // Batches are sent whole and then awaited, so lingering only adds latency.
        .set("linger.ms", "1")
        .set("queue.buffering.max.messages", "200000")
        // Bounded so a dead cluster surfaces as an error instead of an endless wait.
        .set("message.timeout.ms", "120000");
    // Pass-through keys win over our defaults.
    for (k, v) in &kafka.client {
        c.set(k, v);
    }
    c
}

/// Creates topics that do not exist yet; existing ones are left as they are.
pub async fn ensure_topics(
    kafka: &KafkaConfig,
    brokers: &str,
    names: &[&str],
    partitions: i32,
) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = base_config(kafka, brokers).create()?;
    let topics: Vec<NewTopic<'_>> = names
        .iter()
        .map(|n| NewTopic::new(n, partitions, TopicReplication::Fixed(1)))
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    for result in admin.create_topics(&topics, &opts).await? {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => anyhow::bail!("creating topic {name}: {code}"),
        }
    }
    Ok(())
}

/// An in-process Kafka-protocol broker (librdkafka's mock cluster) that speaks the real
/// protocol over loopback TCP. Meant for single-machine runs and tests: each partition keeps
/// only a few MiB, older data is silently dropped.
pub struct EmbeddedBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl EmbeddedBroker {
    /// Starts a one-broker cluster and creates `topics` with `partitions` each.
    pub fn start(topics: &[&str], partitions: i32) -> anyhow::Result<Self> {
        let cluster = MockCluster::new(1)?;
        for t in topics {
            cluster.create_topic(t, partitions, 1)?;
        }
        Ok(EmbeddedBroker { cluster })
    }

    /// The bootstrap address of the embedded broker.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdkafka::producer::FutureRecord;

    #[test]
    fn producer_is_durable_and_idempotent_unless_overridden() {
        let kafka = KafkaConfig::default();
        let c = producer_config(&kafka, "localhost:9092");
        assert_eq!(c.get("acks"), Some("all"));
        assert_eq!(c.get("enable.idempotence"), Some("true"));
        let mut overridden = KafkaConfig::default();
        overridden
            .client
            .insert("enable.idempotence".into(), "false".into());
        let c = producer_config(&overridden, "localhost:9092");
        assert_eq!(c.get("enable.idempotence"), Some("false"));
    }

    #[tokio::test]
    async fn idempotent_producer_delivers_to_the_embedded_broker() {
        let broker = EmbeddedBroker::start(&["t"], 2).expect("mock cluster starts");
        let p = producer(&KafkaConfig::default(), &broker.bootstrap_servers())
            .expect("producer builds");
        for i in 0..5 {
            let payload = format!("m{i}");
            let d = p
                .send(
                    FutureRecord::to("t").key("k").payload(&payload),
                    Duration::from_secs(10),
                )
                .await
                .expect("delivered");
            // One key, one partition: the offsets count up without gaps or repeats.
            assert_eq!(d.offset, i64::from(i), "partition {}", d.partition);
        }
    }
}
