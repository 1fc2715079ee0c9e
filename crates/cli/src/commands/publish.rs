//! The reader pipeline: source items in, Kafka messages out, checkpoints
//! written once the broker acknowledged everything before them.

use std::time::Duration;

use anyhow::Result;
use tokio::sync::mpsc;
use tracing::{debug, info};

use cdc_bus_kafka::{CheckpointStore, Publisher};
use cdc_core::Checkpoint;
use cdc_source_mysql::SourceItem;

use crate::metrics as m;
use crate::shutdown::Shutdown;

/// Where acknowledged checkpoints go (none for replays).
pub struct CheckpointSink<'a> {
    pub store: &'a CheckpointStore,
    pub source: String,
    pub server_id: u32,
    pub interval: Duration,
}

/// Counters for progress lines.
#[derive(Debug, Default, Clone, Copy)]
pub struct Progress {
    pub published: u64,
    pub transactions: u64,
}

/// Drains `rx` into `publisher` until the source ends or shutdown is asked.
/// On the way out everything is flushed and the last checkpoint written.
pub async fn pump(
    mut rx: mpsc::Receiver<SourceItem>,
    publisher: &mut Publisher,
    checkpoints: Option<CheckpointSink<'_>>,
    mut shutdown: Shutdown,
    mut on_commit: impl FnMut(&Progress, &cdc_core::BinlogPosition),
) -> Result<Progress> {
    let mut progress = Progress::default();
    let interval = checkpoints
        .as_ref()
        .map(|c| c.interval)
        .unwrap_or(Duration::from_secs(1));
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            biased;
            _ = shutdown.requested() => break,
            item = rx.recv() => match item {
                Some(SourceItem::Change(ev)) => {
                    let table = format!("{}.{}", ev.db, ev.table);
                    metrics::counter!(m::READER_EVENTS, "table" => table.clone()).increment(1);
                    publisher.publish(&ev).await?;
                    metrics::counter!(m::READER_PUBLISHED, "table" => table).increment(1);
                    progress.published += 1;
                }
                Some(SourceItem::Commit { position, gtid, ts_ms }) => {
                    progress.transactions += 1;
                    metrics::gauge!(m::READER_BINLOG_POSITION, "file" => position.file.clone()).set(position.pos as f64);
                    if ts_ms > 0 {
                        let behind = (cdc_source_mysql::reader::now_ms() - ts_ms).max(0) as f64 / 1000.0;
                        metrics::gauge!(m::READER_SECONDS_BEHIND).set(behind);
                    }
                    metrics::gauge!(m::READER_IN_FLIGHT).set(publisher.in_flight() as f64);
                    on_commit(&progress, &position);
                    if let Some(c) = &checkpoints {
                        publisher.commit(Checkpoint {
                            source: c.source.clone(),
                            server_id: c.server_id,
                            file: position.file.clone(),
                            pos: position.pos,
                            gtid,
                            ts_ms,
                            written_ms: 0,
                        });
                    }
                }
                Some(SourceItem::Heartbeat { position }) => {
                    // Idle and caught up with the server.
                    metrics::gauge!(m::READER_SECONDS_BEHIND).set(0.0);
                    metrics::gauge!(m::READER_BINLOG_POSITION, "file" => position.file.clone()).set(position.pos as f64);
                    debug!(%position, "heartbeat");
                }
                Some(SourceItem::End) | None => break,
            },
            _ = tick.tick() => {
                if let Some(c) = &checkpoints {
                    if let Some(cp) = publisher.take_acked()? {
                        save(c, cp).await?;
                    }
                }
            }
        }
    }
    let last = publisher.flush().await?;
    if let (Some(c), Some(cp)) = (&checkpoints, last) {
        save(c, cp).await?;
    }
    publisher.close();
    Ok(progress)
}

async fn save(c: &CheckpointSink<'_>, mut cp: Checkpoint) -> Result<()> {
    cp.written_ms = cdc_source_mysql::reader::now_ms();
    c.store.save(&cp).await?;
    debug!(position = %cp.position(), "checkpoint saved");
    Ok(())
}

pub fn log_progress(progress: &Progress, position: &cdc_core::BinlogPosition) {
    if progress.transactions.is_multiple_of(10_000) {
        info!(published = progress.published, transactions = progress.transactions, %position, "progress");
    }
}
