//! The broker side of the tests: create topics, read them back.
//!
//! Everything goes through rdkafka (the bundled librdkafka), the same client the streamer uses;
//! Debian's kcat links librdkafka 2.0.2, which cannot talk to tansu 0.6.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::{ClientConfig, Message};

use crate::stack::unique;

/// One consumed message: `(key, payload, partition, offset)`.
pub type Record = (Option<Vec<u8>>, Option<Vec<u8>>, i32, i64);

/// The settings every test client shares.
pub fn client_config(brokers: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", brokers);
    config
}

/// Creates `name` with `partitions` partitions (replication 1, the broker is alone).
/// An existing topic is fine, so a test may call this for a topic a component also creates.
pub async fn create_topic(brokers: &str, name: &str, partitions: i32) {
    let admin: AdminClient<DefaultClientContext> = client_config(brokers)
        .create()
        .expect("creating the admin client");
    let topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
    let results = admin
        .create_topics([&topic], &options)
        .await
        .unwrap_or_else(|e| panic!("CreateTopics {name} on {brokers}: {e}"));
    for result in results {
        match result {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => panic!("creating topic {topic}: {code}"),
        }
    }
}

/// A consumer in `group` that starts at the earliest offset when the group has no committed
/// offset, and commits only when the test says so.
pub fn group_consumer(brokers: &str, group: &str) -> StreamConsumer {
    client_config(brokers)
        .set("group.id", group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()
        .expect("creating the consumer")
}

/// Reads up to `n` messages from `consumer`, giving up after `timeout`; returns what arrived,
/// so the caller's assertion shows how many were missing. Transient errors (the topic not yet
/// known, a rebalance) are skipped.
pub async fn recv_n(consumer: &StreamConsumer, n: usize, timeout: Duration) -> Vec<Record> {
    let mut records = Vec::with_capacity(n);
    let deadline = tokio::time::Instant::now() + timeout;
    while records.len() < n {
        match tokio::time::timeout_at(deadline, consumer.recv()).await {
            Err(_elapsed) => break,
            Ok(Err(_transient)) => continue,
            Ok(Ok(message)) => records.push((
                message.key().map(<[u8]>::to_vec),
                message.payload().map(<[u8]>::to_vec),
                message.partition(),
                message.offset(),
            )),
        }
    }
    records
}

/// Reads `topic` from the beginning through a fresh consumer group until `expected_n` messages
/// arrived or `timeout` passed, in arrival order. Commits nothing.
pub async fn consume_all(
    brokers: &str,
    topic: &str,
    expected_n: usize,
    timeout: Duration,
) -> Vec<Record> {
    let consumer = group_consumer(brokers, &unique("drain"));
    consumer
        .subscribe(&[topic])
        .unwrap_or_else(|e| panic!("subscribing to {topic}: {e}"));
    recv_n(&consumer, expected_n, timeout).await
}
