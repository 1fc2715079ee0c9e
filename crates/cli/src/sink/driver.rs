//! The sink loop, the same for every sink:
//!
//! 1. **Fill** a bounded window from the topic (max events, max entities,
//!    max wait). Messages that are not change events, and events whose
//!    mapping fails, become dead letters; nothing is skipped silently.
//! 2. **Write** the coalesced window. Retriable failures (outage, 429 storm,
//!    deadlock) retry the same window with backoff: the consumer does not
//!    read further, so the backlog waits in Kafka, not in memory.
//! 3. **Dead-letter** what the target refused, and wait for the broker.
//! 4. **Commit** the offsets of everything the window read.
//!
//! The order of 2–4 is the delivery guarantee: an offset moves only after its
//! record was applied or dead-lettered.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use rdkafka::consumer::StreamConsumer;
use rdkafka::Message;
use tokio::time::Instant;
use tracing::{debug, info, warn};

use cdc_bus_kafka::consumer;
use cdc_bus_kafka::dlq::DeadLetterWriter;
use cdc_bus_kafka::KafkaConfig;
use cdc_core::coalesce::{MappingRoute, PushOutcome, Window};
use cdc_core::ChangeEvent;
use cdc_source_mysql::SourceConfig;

use super::config::{SinkConfig, SinkKind};
use super::letters;
use super::writer::{WriteError, Writer};
use crate::metrics as m;
use crate::shutdown::Shutdown;

/// What one window read from the topic, written or not.
#[derive(Default)]
struct Consumed {
    /// Next offset per partition: what to commit once the window is done.
    next: BTreeMap<i32, i64>,
    /// Source commit times (ms) of the change events, for the latency metric.
    commit_times: Vec<i64>,
}

impl Consumed {
    fn note(&mut self, partition: i32, offset: i64, commit_ms: Option<i64>) {
        self.next.insert(partition, offset + 1);
        if let Some(ts) = commit_ms.filter(|ts| *ts > 0) {
            self.commit_times.push(ts);
        }
    }
}

/// Runs one sink until shutdown or a fatal error.
pub async fn run_sink(
    name: &str,
    config: &SinkConfig,
    source: &SourceConfig,
    kafka: &KafkaConfig,
    mut shutdown: Shutdown,
) -> Result<()> {
    config.validate(name)?;
    let group = config.group(name);
    let topic = kafka.topic.clone();
    let writer = Writer::open(name, config, source).await?;
    let dlq = DeadLetterWriter::open(kafka).await?;
    let entity = match config.kind {
        SinkKind::Hubspot => "contact",
        SinkKind::Mysql => "row",
    };
    let route = MappingRoute::new(config.tables.clone(), config.kind.flavor(), entity);
    let instance = config.instance(name);
    let consumer = consumer::subscribe(kafka, &group, &topic, Some(&instance))?;
    info!(sink = name, %group, %topic, "sink started");
    crate::metrics::set_ready(true);

    let mut window = Window::new(config.window.clone());
    // An event that did not fit into the last window: first in the next.
    let mut carry: Option<(ChangeEvent, i32, i64)> = None;
    loop {
        // MySQL keeps its own offsets: whatever is below them is applied.
        let floor: BTreeMap<i32, i64> = match writer.stored_offsets(&group, &topic).await {
            Ok(o) => o.unwrap_or_default().into_iter().collect(),
            Err(WriteError::Retriable(e)) => {
                warn!(sink = name, error = %e, "cannot read stored offsets; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
            Err(WriteError::Fatal(e)) => return Err(e),
        };
        let mut read = Consumed::default();
        if let Some((event, partition, offset)) = carry.take() {
            if floor.get(&partition).is_none_or(|f| offset >= *f) {
                window.push(&event, partition, offset, &route, std::time::Instant::now());
            }
            read.note(partition, offset, Some(event.source.ts_ms));
        }
        let stop = fill(
            name,
            &consumer,
            &topic,
            &route,
            &mut window,
            &floor,
            &mut read,
            &dlq,
            &mut carry,
            &mut shutdown,
        )
        .await?;
        if !read.next.is_empty() {
            flush(
                name,
                &writer,
                &dlq,
                &consumer,
                &group,
                &topic,
                &mut window,
                &read,
                &shutdown,
            )
            .await?;
        }
        if stop {
            info!(sink = name, "sink stopped");
            return Ok(());
        }
    }
}

/// Reads into the window until it is due, full, or shutdown is requested.
/// Returns whether to stop after flushing. `read` gets the next offset per
/// partition of every message consumed, written or not.
#[allow(clippy::too_many_arguments)]
async fn fill(
    name: &str,
    consumer: &StreamConsumer,
    topic: &str,
    route: &MappingRoute,
    window: &mut Window,
    floor: &BTreeMap<i32, i64>,
    read: &mut Consumed,
    dlq: &DeadLetterWriter,
    carry: &mut Option<(ChangeEvent, i32, i64)>,
    shutdown: &mut Shutdown,
) -> Result<bool> {
    let deadline = Instant::now() + window.config().max_wait();
    loop {
        let msg = tokio::select! {
            biased;
            _ = shutdown.requested() => return Ok(true),
            r = tokio::time::timeout_at(deadline, consumer.recv()) => match r {
                Err(_) => return Ok(false),
                Ok(Err(e)) => {
                    debug!(sink = name, error = %e, "consumer error (retried by the client)");
                    continue;
                }
                Ok(Ok(m)) => m,
            },
        };
        let (partition, offset) = (msg.partition(), msg.offset());
        if floor.get(&partition).is_some_and(|f| offset < *f) {
            continue;
        }
        let event: ChangeEvent = match msg.payload().map(serde_json::from_slice::<ChangeEvent>) {
            Some(Ok(ev)) => ev,
            Some(Err(e)) => {
                let letter = letters::malformed(
                    name,
                    topic,
                    partition,
                    offset,
                    msg.key(),
                    msg.payload(),
                    format!("not a change event: {e}"),
                );
                warn!(
                    sink = name,
                    partition, offset, "malformed message dead-lettered: {e}"
                );
                dlq.send(&letter).await?;
                read.note(partition, offset, None);
                continue;
            }
            None => {
                read.note(partition, offset, None);
                continue;
            }
        };
        match window.push(&event, partition, offset, route, std::time::Instant::now()) {
            PushOutcome::Full => {
                // Not accepted and its offset not in `read`: the caller
                // flushes, then starts the next window with it.
                *carry = Some((event, partition, offset));
                return Ok(false);
            }
            PushOutcome::Rejected(e) => {
                warn!(
                    sink = name,
                    partition, offset, "unmappable change dead-lettered: {e}"
                );
                dlq.send(&letters::unmappable(
                    name,
                    topic,
                    partition,
                    offset,
                    &event,
                    e.to_string(),
                ))
                .await?;
            }
            _ => {}
        }
        read.note(partition, offset, Some(event.source.ts_ms));
        if window.is_full() || window.is_due(std::time::Instant::now()) {
            return Ok(false);
        }
    }
}

/// Writes the window until it is written (retrying what can be retried),
/// dead-letters what the target refused, then commits `read`.
#[allow(clippy::too_many_arguments)]
async fn flush(
    name: &str,
    writer: &Writer,
    dlq: &DeadLetterWriter,
    consumer: &StreamConsumer,
    group: &str,
    topic: &str,
    window: &mut Window,
    read: &Consumed,
    shutdown: &Shutdown,
) -> Result<()> {
    let drained = window.drain();
    let offsets: Vec<(i32, i64)> = read.next.iter().map(|(p, o)| (*p, *o)).collect();
    let commit_times = &read.commit_times;
    let mut backoff = Duration::from_millis(500);
    let outcome = loop {
        match writer.write(&drained, group, topic, &offsets).await {
            Ok(o) => break o,
            Err(WriteError::Fatal(e)) => return Err(e.context(format!("sink {name} stopped"))),
            Err(WriteError::Retriable(e)) => {
                metrics::counter!(m::SINK_RETRIES, "sink" => name.to_string()).increment(1);
                warn!(sink = name, error = %e, retry_in = ?backoff, "write failed; the window stays in place and is retried");
                let _ = shutdown;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    };
    for letter in &outcome.dead_letters {
        warn!(sink = name, key = %letter.key, reason = %letter.reason, "record dead-lettered");
        dlq.send(letter).await?;
    }
    if !outcome.offsets_stored {
        let mut backoff = Duration::from_millis(500);
        while let Err(e) = writer.store_offsets(group, topic, &offsets).await {
            match e {
                WriteError::Fatal(e) => return Err(e),
                WriteError::Retriable(e) => {
                    warn!(sink = name, error = %e, "storing offsets failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
    // A failed Kafka commit only means this window may be read again by
    // whoever owns the partition next: at-least-once for HubSpot, and
    // filtered by the stored offsets for MySQL.
    if let Err(e) = consumer::commit_offsets(consumer, topic, &offsets) {
        warn!(sink = name, error = %e, "committing offsets failed; the window may be re-read");
    }
    let stats = drained.stats;
    let labels = [("sink", name.to_string())];
    metrics::counter!(m::SINK_BATCHES, &labels).increment(1);
    metrics::histogram!(m::SINK_BATCH_SIZE, &labels).record(stats.updates_out as f64);
    metrics::counter!(m::SINK_EVENTS_IN, &labels).increment(stats.events_in);
    metrics::counter!(m::SINK_RECORDS_OUT, &labels).increment(stats.updates_out);
    metrics::counter!(m::SINK_DEAD_LETTERS, &labels).increment(outcome.dead_letters.len() as u64);
    // Commit in the source → applied here (second resolution: the binlog
    // records commit times in seconds).
    let now = cdc_source_mysql::reader::now_ms();
    let latency = metrics::histogram!(m::SINK_END_TO_END_LATENCY, &labels);
    for ts in commit_times {
        latency.record((now - ts).max(0) as f64 / 1000.0);
    }
    info!(
        sink = name,
        events = stats.events_in,
        records = stats.updates_out,
        dead_letters = outcome.dead_letters.len(),
        calls = outcome.calls,
        duplicates = stats.duplicates,
        "window applied"
    );
    Ok(())
}
