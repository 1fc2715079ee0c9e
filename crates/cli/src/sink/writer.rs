//! What the driver needs from a sink.

use anyhow::Result;

use cdc_bus_kafka::dlq::DeadLetter;
use cdc_core::coalesce::{Drained, MappingRoute, PushOutcome, Window};
use cdc_core::ChangeEvent;
use cdc_source_mysql::SourceConfig;

use super::config::{SinkConfig, SinkKind};
use super::hubspot::HubSpotWriter;
use super::mysql::MySqlWriter;

/// A written window.
#[derive(Debug, Default)]
pub struct WriteOutcome {
    /// Records the target refused: to the dead-letter topic, then commit.
    pub dead_letters: Vec<DeadLetter>,
    /// The offsets were stored with the data (MySQL), nothing left to do
    /// before the Kafka commit.
    pub offsets_stored: bool,
    /// Requests made (HubSpot calls, MySQL transactions).
    pub calls: usize,
}

/// Why a write did not complete.
#[derive(Debug)]
pub enum WriteError {
    /// Try the same window again later (outage, rate limit, deadlock).
    Retriable(String),
    /// Stop the sink: the operator has to act (bad token, missing table).
    Fatal(anyhow::Error),
}

pub enum Writer {
    // Boxed: the HubSpot writer (client, caches) is much the larger.
    HubSpot(Box<HubSpotWriter>),
    MySql(MySqlWriter),
}

impl Writer {
    /// Connects and runs the start-up checks (HubSpot property definitions,
    /// MySQL connection and checkpoint table).
    /// `source` is read only to complete re-created HubSpot contacts (see
    /// `refill.rs`).
    pub async fn open(name: &str, config: &SinkConfig, source: &SourceConfig) -> Result<Writer> {
        Ok(match config.kind {
            SinkKind::Hubspot => {
                Writer::HubSpot(Box::new(HubSpotWriter::open(name, config, source).await?))
            }
            SinkKind::Mysql => Writer::MySql(MySqlWriter::open(name, config).await?),
        })
    }

    pub async fn write(
        &self,
        drained: &Drained,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<WriteOutcome, WriteError> {
        match self {
            Writer::HubSpot(w) => w.write(drained).await,
            Writer::MySql(w) => w.write(drained, group, topic, offsets).await,
        }
    }

    /// Stores offsets where the sink keeps them itself (MySQL), after the
    /// dead letters of a window were written.
    pub async fn store_offsets(
        &self,
        group: &str,
        topic: &str,
        offsets: &[(i32, i64)],
    ) -> Result<(), WriteError> {
        match self {
            Writer::HubSpot(_) => Ok(()),
            Writer::MySql(w) => w.store_offsets(group, topic, offsets).await,
        }
    }

    /// Offsets the sink stored itself: messages below them are already
    /// applied (MySQL's exactly-once). `None` for sinks that rely on Kafka.
    pub async fn stored_offsets(
        &self,
        group: &str,
        topic: &str,
    ) -> Result<Option<Vec<(i32, i64)>>, WriteError> {
        match self {
            Writer::HubSpot(_) => Ok(None),
            Writer::MySql(w) => w.stored_offsets(group, topic).await.map(Some),
        }
    }

    /// Re-applies a dead letter (after its cause was fixed). Returns a new
    /// dead letter when the target still refuses it. A letter whose mapping
    /// failed is mapped again with the current config.
    pub async fn replay(
        &self,
        letter: &DeadLetter,
        config: &SinkConfig,
    ) -> Result<Option<DeadLetter>, WriteError> {
        if letter.kind == "unmappable" {
            let event: ChangeEvent =
                serde_json::from_value(letter.record.clone()).map_err(|e| {
                    WriteError::Fatal(anyhow::anyhow!("dead letter holds no change event: {e}"))
                })?;
            let route = MappingRoute::new(config.tables.clone(), config.kind.flavor(), "contact");
            let mut window = Window::new(config.window.clone());
            if let PushOutcome::Rejected(e) =
                window.push(&event, 0, 0, &route, std::time::Instant::now())
            {
                return Ok(Some(DeadLetter {
                    reason: e.to_string(),
                    ..letter.clone()
                }));
            }
            let outcome = self.write(&window.drain(), "", "", &[]).await?;
            return Ok(outcome.dead_letters.into_iter().next());
        }
        match self {
            Writer::HubSpot(w) => w.replay(letter).await,
            Writer::MySql(w) => w.replay(letter).await,
        }
    }
}
