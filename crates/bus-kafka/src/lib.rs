//! The Kafka bus between the reader and the sinks.
//!
//! # Layout
//! - [`config`]: the `[kafka]` section (brokers, topics, producer limits).
//! - [`admin`]: creating topics (brokers such as tansu do not auto-create).
//! - [`publisher`]: the reader's idempotent producer with a bounded in-flight
//!   window, and the rule that makes checkpoints safe: a transaction's
//!   position is released only when every message before it is acknowledged.
//! - [`checkpoint`]: the reader's resume position, in a compacted topic.
//! - [`consumer`]: what sinks read with: a consumer group, manual commits.
//! - [`dlq`]: the dead-letter topic.
//! - [`error`]: bus errors.

pub mod admin;
pub mod checkpoint;
pub mod config;
pub mod consumer;
pub mod dlq;
pub mod error;
pub mod publisher;

pub use checkpoint::CheckpointStore;
pub use config::KafkaConfig;
pub use error::BusError;
pub use publisher::Publisher;
