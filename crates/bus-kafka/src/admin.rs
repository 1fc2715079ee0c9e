//! Topic administration. Brokers such as tansu do not auto-create topics,
//! and an auto-created topic would get the broker's default partition count
//! and cleanup policy anyway: we create ours explicitly.

use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::types::RDKafkaErrorCode;

use crate::config::KafkaConfig;
use crate::error::BusError;

const TIMEOUT: Duration = Duration::from_secs(10);

/// Partition count of `topic`, or `None` when it does not exist.
pub fn partition_count(config: &KafkaConfig, topic: &str) -> Result<Option<usize>, BusError> {
    let consumer: BaseConsumer = config
        .client_config()
        .set("group.id", "cdc-streamer-metadata")
        .create()?;
    let md = consumer
        .fetch_metadata(Some(topic), TIMEOUT)
        .map_err(|e| BusError::Unreachable {
            brokers: config.brokers.clone(),
            reason: e.to_string(),
        })?;
    Ok(md
        .topics()
        .iter()
        .find(|t| t.name() == topic && t.error().is_none() && !t.partitions().is_empty())
        .map(|t| t.partitions().len()))
}

/// Creates `topic` unless it exists. `compacted` topics keep the last value
/// per key (used for checkpoints). Returns whether it was created.
pub async fn ensure_topic(
    config: &KafkaConfig,
    topic: &str,
    partitions: i32,
    compacted: bool,
) -> Result<bool, BusError> {
    let cfg = config.clone();
    let name = topic.to_string();
    if tokio::task::spawn_blocking(move || partition_count(&cfg, &name))
        .await
        .map_err(|e| BusError::Task(e.to_string()))??
        .is_some()
    {
        return Ok(false);
    }
    let admin: AdminClient<DefaultClientContext> = config.client_config().create()?;
    let mut new = NewTopic::new(
        topic,
        partitions,
        TopicReplication::Fixed(config.replication_factor),
    );
    let max_message = config.max_message_bytes.to_string();
    new = new.set("max.message.bytes", &max_message);
    if compacted {
        new = new.set("cleanup.policy", "compact");
    }
    let results = admin
        .create_topics(
            &[new],
            &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
        )
        .await?;
    for r in results {
        match r {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => return Ok(false),
            Err((t, code)) => {
                return Err(BusError::CreateTopic {
                    topic: t,
                    reason: code.to_string(),
                })
            }
        }
    }
    tracing::info!(topic, partitions, compacted, "created topic");
    Ok(true)
}
