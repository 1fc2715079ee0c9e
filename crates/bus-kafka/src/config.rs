//! The `[kafka]` section.

use std::collections::BTreeMap;

use rdkafka::ClientConfig;
use serde::{Deserialize, Serialize};

/// Broker connection and topics.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// Bootstrap servers, comma separated (`host:port,host:port`).
    pub brokers: String,
    /// Topic the change events are published to.
    #[serde(default = "default_topic")]
    pub topic: String,
    /// Partitions of the change topic when the reader creates it. More
    /// partitions let more sink processes share the work; changes of one key
    /// always go to one partition.
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    /// Replication factor for topics the streamer creates.
    #[serde(default = "default_replication")]
    pub replication_factor: i32,
    /// Compacted topic holding the reader's checkpoint, keyed by source name.
    #[serde(default = "default_checkpoint_topic")]
    pub checkpoint_topic: String,
    /// Dead-letter topic for records a sink cannot apply.
    #[serde(default = "default_dlq_topic")]
    pub dlq_topic: String,
    /// Producer compression: `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    #[serde(default = "default_compression")]
    pub compression: String,
    /// Largest message the producer sends, in bytes (one row change as
    /// JSON). Rows larger than this stop the reader with an error naming
    /// this key; nothing is skipped. Default 64 MiB, like a 64 MB
    /// `max_allowed_packet`. The broker must accept it too: Apache Kafka's
    /// `message.max.bytes` (broker) / `max.message.bytes` (topic) default to
    /// 1 MB; topics created by the reader get this value.
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: usize,
    /// Most messages published but not yet acknowledged. When reached, the
    /// reader stops reading the binlog until acknowledgements arrive: memory
    /// stays bounded whatever the size of a transaction.
    #[serde(default = "default_max_in_flight")]
    pub max_in_flight: usize,
    /// Write the checkpoint at most this often (and on shutdown).
    #[serde(default = "default_checkpoint_interval_ms")]
    pub checkpoint_interval_ms: u64,
    /// Extra librdkafka settings (e.g. `"security.protocol" = "SSL"`),
    /// applied to every client.
    #[serde(default)]
    pub client: BTreeMap<String, String>,
}

fn default_topic() -> String {
    "cdc.changes".into()
}
fn default_partitions() -> i32 {
    6
}
fn default_replication() -> i32 {
    1
}
fn default_checkpoint_topic() -> String {
    "cdc.checkpoints".into()
}
fn default_dlq_topic() -> String {
    "cdc.changes.dlq".into()
}
fn default_compression() -> String {
    "lz4".into()
}
fn default_max_message_bytes() -> usize {
    64 * 1024 * 1024
}
fn default_max_in_flight() -> usize {
    10_000
}
fn default_checkpoint_interval_ms() -> u64 {
    1_000
}

impl KafkaConfig {
    /// A config with defaults for everything but the brokers (tests).
    pub fn new(brokers: impl Into<String>) -> Self {
        Self {
            brokers: brokers.into(),
            topic: default_topic(),
            partitions: default_partitions(),
            replication_factor: default_replication(),
            checkpoint_topic: default_checkpoint_topic(),
            dlq_topic: default_dlq_topic(),
            compression: default_compression(),
            max_message_bytes: default_max_message_bytes(),
            max_in_flight: default_max_in_flight(),
            checkpoint_interval_ms: default_checkpoint_interval_ms(),
            client: BTreeMap::new(),
        }
    }

    /// Base librdkafka settings shared by every client we create.
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new();
        c.set("bootstrap.servers", &self.brokers);
        c.set("socket.keepalive.enable", "true");
        for (k, v) in &self.client {
            c.set(k, v);
        }
        c
    }

    /// Settings of an idempotent producer: no duplicates or reordering from
    /// the producer's own retries, every replica acknowledges.
    pub fn producer_config(&self) -> ClientConfig {
        let mut c = self.client_config();
        c.set("enable.idempotence", "true")
            .set("acks", "all")
            .set("compression.type", &self.compression)
            .set("linger.ms", "5")
            .set("message.timeout.ms", "300000")
            .set("message.max.bytes", self.max_message_bytes.to_string())
            .set(
                "queue.buffering.max.messages",
                (self.max_in_flight.max(1000) * 2).to_string(),
            );
        for (k, v) in &self.client {
            c.set(k, v);
        }
        c
    }
}
