//! `cdc-streamer reader`: checks the server, resumes from the checkpoint and
//! streams changes to the topic until stopped.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::sync::mpsc;
use tracing::{info, warn};

use cdc_bus_kafka::{admin, CheckpointStore, Publisher};
use cdc_core::{BinlogPosition, Checkpoint};
use cdc_source_mysql::binlog::StartAt;
use cdc_source_mysql::config::{ResumeMode, SnapshotMode, StartMode};
use cdc_source_mysql::{preflight, BinlogReader, ReadRange, SourceError};

use super::publish::{self, CheckpointSink};
use super::snapshot::{run_snapshot, SnapshotOptions};
use crate::config::AppConfig;
use crate::shutdown::Shutdown;

/// Room between the binlog decoder and the producer: enough to keep both
/// busy, small enough that a huge transaction waits in the server, not here.
const CHANNEL_CAPACITY: usize = 1024;

pub async fn run(path: &Path) -> Result<()> {
    let config = AppConfig::load(path)?;
    super::logging::init(&config.log);
    crate::metrics::start(&config.metrics)?;
    let shutdown = Shutdown::install();
    run_with(&config, shutdown).await
}

pub async fn run_with(config: &AppConfig, shutdown: Shutdown) -> Result<()> {
    let mut snapshot_taken = false;
    loop {
        match stream(config, shutdown.clone()).await {
            // `when_needed`: the checkpoint's binlog is gone, so the changes
            // since are lost; a snapshot restores the state, and streaming
            // continues from its position. Once: a second purge would mean
            // the snapshot itself outlived the binlog retention.
            Err(e)
                if config.source.snapshot == SnapshotMode::WhenNeeded
                    && !snapshot_taken
                    && matches!(
                        e.downcast_ref::<SourceError>(),
                        Some(SourceError::PositionPurged { .. })
                    ) =>
            {
                warn!("{e:#}; taking a snapshot (source.snapshot = \"when_needed\")");
                run_snapshot(config, &SnapshotOptions::default(), shutdown.clone()).await?;
                snapshot_taken = true;
            }
            other => return other,
        }
    }
}

/// Checks the server, resumes from the checkpoint (taking the initial
/// snapshot first when `source.snapshot` asks for it) and streams until
/// stopped.
async fn stream(config: &AppConfig, shutdown: Shutdown) -> Result<()> {
    let server = preflight::check(&config.source).await?;
    for w in &server.warnings {
        warn!("{w}");
    }
    info!(version = %server.version, server_id = server.server_id, "source server checked");

    let kafka = &config.kafka;
    admin::ensure_topic(kafka, &kafka.topic, kafka.partitions, false)
        .await
        .with_context(|| format!("preparing topic {}", kafka.topic))?;
    let store = CheckpointStore::open(kafka).await?;
    let mut checkpoint = store.load(&config.source.name).await?;
    if checkpoint.is_none() && config.source.snapshot != SnapshotMode::Never {
        info!(mode = ?config.source.snapshot, "no checkpoint; taking the initial snapshot first");
        run_snapshot(config, &SnapshotOptions::default(), shutdown.clone()).await?;
        checkpoint = store.load(&config.source.name).await?;
    }
    let start = match checkpoint {
        Some(cp) => {
            if cp.server_id != server.server_id {
                warn!(checkpoint_server = cp.server_id, server = server.server_id, "checkpoint was written against another server_id; file positions may not match this server");
            }
            info!(position = %cp.position(), gtid = ?cp.gtid, "resuming from checkpoint");
            match (config.source.resume, &cp.gtid) {
                (ResumeMode::Gtid, Some(g)) => StartAt::Gtid(g.clone()),
                _ => StartAt::Position(cp.position()),
            }
        }
        None => {
            let pos = initial_position(config).await?;
            info!(position = %pos, "no checkpoint; starting at {:?} position", config.source.start);
            // Record it at once: a crash before the first transaction must not
            // move the start to a later "current" position and skip changes.
            store
                .save(&Checkpoint {
                    source: config.source.name.clone(),
                    server_id: server.server_id,
                    file: pos.file.clone(),
                    pos: pos.pos,
                    gtid: None,
                    ts_ms: 0,
                    written_ms: cdc_source_mysql::reader::now_ms(),
                })
                .await?;
            StartAt::Position(pos)
        }
    };

    let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
    let mut reader = BinlogReader::new(&config.source, server.clone())?;
    let range = ReadRange {
        from: start,
        to: None,
        replay: false,
        only_tables: None,
    };
    let reader_task = tokio::spawn(async move {
        let r = reader.run(range, tx).await;
        reader.close().await;
        r
    });

    let mut publisher = Publisher::new(kafka, &kafka.topic)?;
    crate::metrics::set_ready(true);
    let sink = CheckpointSink {
        store: &store,
        source: config.source.name.clone(),
        server_id: server.server_id,
        interval: Duration::from_millis(kafka.checkpoint_interval_ms),
    };
    let progress = publish::pump(
        rx,
        &mut publisher,
        Some(sink),
        shutdown,
        publish::log_progress,
    )
    .await?;
    // When the source failed, the pump ended because the channel closed and
    // the task is finishing (closing its pool): wait for it, or its error
    // (e.g. a purged position) would be lost to the abort. When shutdown
    // ended the pump, the task may sit in a binlog read: abort it.
    let mut reader_task = reader_task;
    let outcome = match tokio::time::timeout(Duration::from_secs(2), &mut reader_task).await {
        Ok(joined) => joined,
        Err(_) => {
            reader_task.abort();
            reader_task.await
        }
    };
    info!(
        published = progress.published,
        transactions = progress.transactions,
        "reader stopped"
    );
    match outcome {
        Ok(Err(e)) => Err(e.into()),
        _ => Ok(()),
    }
}

/// Where to start without a checkpoint (`source.start`).
async fn initial_position(config: &AppConfig) -> Result<BinlogPosition> {
    let logs = preflight::server_binary_logs(&config.source).await?;
    let pick = match config.source.start {
        StartMode::Earliest => logs
            .first()
            .map(|(f, _)| BinlogPosition::new(f.clone(), BinlogPosition::START_OF_FILE)),
        StartMode::Current => logs
            .last()
            .map(|(f, size)| BinlogPosition::new(f.clone(), *size)),
    };
    pick.context("the server lists no binary logs (SHOW BINARY LOGS is empty)")
}
