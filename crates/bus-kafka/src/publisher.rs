//! The reader's producer.
//!
//! Two rules live here:
//! - **Back-pressure, not buffering.** At most `max_in_flight` messages are
//!   unacknowledged; `publish` waits for the oldest acknowledgement before
//!   taking more, which stalls the binlog read (and, through TCP, the
//!   server's sending) instead of growing memory.
//! - **A checkpoint only after everything before it is acknowledged.** Commit
//!   markers travel in the same FIFO as the messages, and a marker is released
//!   ([`Publisher::take_acked`]) only when every message ahead of it has been
//!   acknowledged by the broker. A crash can therefore only resend, never skip.

use std::collections::VecDeque;

use futures::FutureExt;
use rdkafka::error::KafkaError;
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};
use rdkafka::types::RDKafkaErrorCode;

use cdc_core::{ChangeEvent, Checkpoint};

use crate::config::KafkaConfig;
use crate::error::BusError;

enum Pending {
    Message(DeliveryFuture),
    Commit(Checkpoint),
}

pub struct Publisher {
    producer: FutureProducer,
    topic: String,
    queue: VecDeque<Pending>,
    in_flight: usize,
    max_in_flight: usize,
    acked: Option<Checkpoint>,
    /// Messages acknowledged since the publisher started.
    pub acknowledged: u64,
}

impl Publisher {
    pub fn new(config: &KafkaConfig, topic: &str) -> Result<Self, BusError> {
        Ok(Self {
            producer: config.producer_config().create()?,
            topic: topic.to_string(),
            queue: VecDeque::new(),
            in_flight: 0,
            max_in_flight: config.max_in_flight.max(1),
            acked: None,
            acknowledged: 0,
        })
    }

    /// Messages sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// Sends one change, keyed by its routing key. Returns once the message
    /// is queued and the in-flight window has room again.
    pub async fn publish(&mut self, event: &ChangeEvent) -> Result<(), BusError> {
        let payload = serde_json::to_vec(event).map_err(|e| BusError::Encode {
            what: format!("a change event of {}.{}", event.db, event.table),
            reason: e.to_string(),
        })?;
        self.publish_raw(event.key.as_bytes(), &payload).await
    }

    /// Sends one keyed payload (used by replays and the dead-letter path).
    pub async fn publish_raw(&mut self, key: &[u8], payload: &[u8]) -> Result<(), BusError> {
        loop {
            let record = FutureRecord::to(&self.topic).key(key).payload(payload);
            match self.producer.send_result(record) {
                Ok(fut) => {
                    self.queue.push_back(Pending::Message(fut));
                    self.in_flight += 1;
                    break;
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                    if !self.wait_front().await? {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge), _)) => {
                    return Err(BusError::Delivery(format!(
                        "a row change of {} bytes is larger than kafka.max_message_bytes allows; raise it (and the broker's message.max.bytes / the topic's max.message.bytes). The reader stopped before this row: nothing was skipped",
                        payload.len()
                    )))
                }
                Err((e, _)) => return Err(e.into()),
            }
        }
        while self.in_flight >= self.max_in_flight {
            self.wait_front().await?;
        }
        Ok(())
    }

    /// Marks a transaction boundary: `checkpoint` becomes releasable once
    /// everything published before this call is acknowledged.
    pub fn commit(&mut self, checkpoint: Checkpoint) {
        if self.queue.is_empty() {
            self.acked = Some(checkpoint);
        } else {
            self.queue.push_back(Pending::Commit(checkpoint));
        }
    }

    /// The newest checkpoint whose messages are all acknowledged, if it
    /// changed since the last call. Never blocks.
    pub fn take_acked(&mut self) -> Result<Option<Checkpoint>, BusError> {
        while let Some(front) = self.queue.front_mut() {
            match front {
                Pending::Commit(_) => self.pop_commit(),
                Pending::Message(fut) => match fut.now_or_never() {
                    Some(result) => {
                        self.queue.pop_front();
                        self.acked_message(result)?;
                    }
                    None => break,
                },
            }
        }
        Ok(self.acked.take())
    }

    /// Waits for every message, then returns the last checkpoint.
    pub async fn flush(&mut self) -> Result<Option<Checkpoint>, BusError> {
        while self.wait_front().await? {}
        Ok(self.acked.take())
    }

    /// Waits for the oldest pending item. Returns false when nothing pends.
    async fn wait_front(&mut self) -> Result<bool, BusError> {
        match self.queue.pop_front() {
            None => Ok(false),
            Some(Pending::Commit(cp)) => {
                self.acked = Some(cp);
                Ok(true)
            }
            Some(Pending::Message(fut)) => {
                let result = fut.await;
                self.acked_message(result)?;
                while matches!(self.queue.front(), Some(Pending::Commit(_))) {
                    self.pop_commit();
                }
                Ok(true)
            }
        }
    }

    fn pop_commit(&mut self) {
        if let Some(Pending::Commit(cp)) = self.queue.pop_front() {
            self.acked = Some(cp);
        }
    }

    fn acked_message(
        &mut self,
        result: Result<
            rdkafka::producer::future_producer::OwnedDeliveryResult,
            futures::channel::oneshot::Canceled,
        >,
    ) -> Result<(), BusError> {
        self.in_flight -= 1;
        match result {
            Ok(Ok(_)) => {
                self.acknowledged += 1;
                Ok(())
            }
            Ok(Err((e, _))) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::MessageSizeTooLarge) => Err(BusError::Delivery(
                "the broker refused a row change as too large: raise the broker's message.max.bytes / the topic's max.message.bytes (and kafka.max_message_bytes). The reader stopped before this row: nothing was skipped".into(),
            )),
            Ok(Err((e, _))) => Err(BusError::Delivery(e.to_string())),
            Err(_) => Err(BusError::Delivery(
                "producer dropped the delivery report".into(),
            )),
        }
    }

    /// Flushes librdkafka's own queues (used on shutdown).
    pub fn close(&self) {
        let _ = self.producer.flush(std::time::Duration::from_secs(10));
    }
}
