//! The reader's checkpoint, stored in a compacted topic keyed by source name.
//!
//! Keeping it in Kafka (rather than a local file) means a reader can move to
//! another machine, and the checkpoint lives next to the data it describes.
//! Loading reads the topic from the beginning to its end and keeps the last
//! record for the key: compaction keeps that cheap.
//!
//! Other small records that must survive a restart beside the checkpoint
//! (the snapshot's progress, under `<source>#snapshot`) go to the same topic
//! through [`CheckpointStore::save_state`] and [`CheckpointStore::load_state`].

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde::de::DeserializeOwned;
use serde::Serialize;

use cdc_core::Checkpoint;

use crate::admin;
use crate::config::KafkaConfig;
use crate::error::BusError;

pub struct CheckpointStore {
    config: KafkaConfig,
    producer: FutureProducer,
}

impl CheckpointStore {
    /// Opens the store, creating the compacted topic when missing.
    pub async fn open(config: &KafkaConfig) -> Result<Self, BusError> {
        admin::ensure_topic(config, &config.checkpoint_topic, 1, true).await?;
        Ok(Self {
            config: config.clone(),
            producer: config.producer_config().create()?,
        })
    }

    /// Writes `checkpoint` and waits for the broker's acknowledgement.
    pub async fn save(&self, checkpoint: &Checkpoint) -> Result<(), BusError> {
        self.save_state(&checkpoint.source, checkpoint).await
    }

    /// The last checkpoint written for `source`, if any.
    pub async fn load(&self, source: &str) -> Result<Option<Checkpoint>, BusError> {
        self.load_state(source).await
    }

    /// Writes `value` as JSON under `key` and waits for the broker's
    /// acknowledgement.
    pub async fn save_state<T: Serialize>(&self, key: &str, value: &T) -> Result<(), BusError> {
        let payload = serde_json::to_vec(value).map_err(|e| BusError::Encode {
            what: format!("state `{key}`"),
            reason: e.to_string(),
        })?;
        let record = FutureRecord::to(&self.config.checkpoint_topic)
            .key(key.as_bytes())
            .payload(&payload);
        self.producer
            .send(record, Duration::from_secs(30))
            .await
            .map_err(|(e, _)| BusError::Delivery(e.to_string()))?;
        Ok(())
    }

    /// The last value written under `key` that parses as a `T`, if any.
    pub async fn load_state<T: DeserializeOwned + Send + 'static>(
        &self,
        key: &str,
    ) -> Result<Option<T>, BusError> {
        let config = self.config.clone();
        let key = key.to_string();
        tokio::task::spawn_blocking(move || load_blocking(&config, &key))
            .await
            .map_err(|e| BusError::Task(e.to_string()))?
    }
}

fn load_blocking<T: DeserializeOwned>(
    config: &KafkaConfig,
    key: &str,
) -> Result<Option<T>, BusError> {
    let topic = &config.checkpoint_topic;
    let mut last: Option<T> = None;
    let mut bad = None;
    scan_topic(config, topic, |record| {
        if record.key == Some(key.as_bytes()) {
            if let Some(payload) = record.payload {
                match serde_json::from_slice(payload) {
                    Ok(value) => last = Some(value),
                    Err(e) => bad = Some(e.to_string()),
                }
            }
        }
    })?;
    if let (None, Some(reason)) = (&last, bad) {
        return Err(BusError::BadCheckpoint {
            topic: topic.clone(),
            reason,
        });
    }
    Ok(last)
}

/// One record met by [`scan_topic`].
pub struct Scanned<'a> {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<&'a [u8]>,
    pub payload: Option<&'a [u8]>,
}

/// Reads every partition of `topic` from its start to the end it had when
/// the scan began, calling `f` per record (blocking; no consumer group state
/// is committed). Used for the checkpoint and the dead-letter listing.
pub fn scan_topic(
    config: &KafkaConfig,
    topic: &str,
    mut f: impl FnMut(Scanned<'_>),
) -> Result<(), BusError> {
    let consumer: BaseConsumer = config
        .client_config()
        .set("group.id", "cdc-streamer-scan")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()?;
    let partitions = admin::partition_count(config, topic)?
        .ok_or_else(|| BusError::MissingTopic(topic.to_string()))?;
    let mut tpl = TopicPartitionList::new();
    let mut ends: HashMap<i32, i64> = HashMap::new();
    for p in 0..partitions as i32 {
        let (low, high) = consumer.fetch_watermarks(topic, p, Duration::from_secs(10))?;
        if high > low {
            ends.insert(p, high);
            tpl.add_partition_offset(topic, p, Offset::Offset(low))?;
        }
    }
    if ends.is_empty() {
        return Ok(());
    }
    consumer.assign(&tpl)?;
    const IDLE: Duration = Duration::from_secs(30);
    let mut deadline = Instant::now() + IDLE;
    while !ends.is_empty() {
        if Instant::now() > deadline {
            let (&partition, &missing) = ends.iter().min().expect("not empty");
            return Err(BusError::ScanStalled {
                topic: topic.to_string(),
                partition,
                missing: missing - 1,
                idle_secs: IDLE.as_secs(),
            });
        }
        let Some(msg) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let msg = msg?;
        deadline = Instant::now() + IDLE;
        f(Scanned {
            partition: msg.partition(),
            offset: msg.offset(),
            key: msg.key(),
            payload: msg.payload(),
        });
        if let Some(end) = ends.get(&msg.partition()) {
            if msg.offset() + 1 >= *end {
                ends.remove(&msg.partition());
            }
        }
    }
    Ok(())
}
