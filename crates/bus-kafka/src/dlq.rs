//! The dead-letter topic: records a sink cannot apply (rejected by the
//! target, or not a valid change event at all) are written here with the
//! reason and where they came from, so one bad record never blocks the
//! stream and nothing is silently dropped. Writes wait for the broker's
//! acknowledgement: a sink commits its offsets only after that.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use serde::{Deserialize, Serialize};

use crate::admin;
use crate::config::KafkaConfig;
use crate::error::BusError;

/// One dead letter, as stored on the topic (JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Sink that gave up on the record (`sinks.<name>`).
    pub sink: String,
    /// `rejected` (the target refused it), `malformed` (not a change event),
    /// or `unmappable` (a conversion failed).
    pub kind: String,
    /// Human-readable reason (the target's message, the parse error, …).
    pub reason: String,
    /// Target-specific details (HubSpot status, category, correlationId, errors).
    #[serde(default)]
    pub details: serde_json::Value,
    /// The entity key (e.g. the user id).
    pub key: String,
    /// The record as the sink tried to write it (mapped properties), if any.
    #[serde(default)]
    pub record: serde_json::Value,
    /// Source positions (`file:pos#row`) of the events folded into the record.
    #[serde(default)]
    pub sources: Vec<String>,
    /// Where the message(s) were read: `topic/partition@offset`.
    #[serde(default)]
    pub origin: Vec<String>,
    /// The raw payload, for malformed messages (UTF-8 lossy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    pub ts_ms: i64,
}

pub struct DeadLetterWriter {
    producer: FutureProducer,
    topic: String,
}

impl DeadLetterWriter {
    pub async fn open(config: &KafkaConfig) -> Result<Self, BusError> {
        admin::ensure_topic(config, &config.dlq_topic, 1, false).await?;
        Ok(Self {
            producer: config.producer_config().create()?,
            topic: config.dlq_topic.clone(),
        })
    }

    /// Writes one dead letter and waits for the acknowledgement.
    pub async fn send(&self, letter: &DeadLetter) -> Result<(), BusError> {
        let payload = serde_json::to_vec(letter).map_err(|e| BusError::Encode {
            what: "a dead letter".into(),
            reason: e.to_string(),
        })?;
        let record = FutureRecord::to(&self.topic)
            .key(letter.key.as_bytes())
            .payload(&payload);
        self.producer
            .send(record, Duration::from_secs(60))
            .await
            .map_err(|(e, _)| BusError::Delivery(e.to_string()))?;
        Ok(())
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }
}
