//! `cdc-streamer replay`: publishes a binlog range again, flagged as replay,
//! without touching the reader's checkpoint.

use std::path::PathBuf;

use anyhow::{bail, Result};
use tokio::sync::mpsc;
use tracing::info;

use cdc_bus_kafka::{admin, Publisher};
use cdc_core::BinlogPosition;
use cdc_source_mysql::binlog::StartAt;
use cdc_source_mysql::{preflight, BinlogReader, ReadRange};

use super::publish;
use crate::config::AppConfig;
use crate::shutdown::Shutdown;

#[derive(clap::Args)]
pub struct ReplayArgs {
    /// Path of the TOML config file.
    #[arg(long, short, env = "CDC_STREAMER_CONFIG")]
    pub config: PathBuf,
    /// First position to read, `FILE:POS` (a transaction start, e.g. from the
    /// `source` of an event or `SHOW BINLOG EVENTS`).
    #[arg(long)]
    pub from: BinlogPosition,
    /// Stop after the transaction ending at or after `FILE:POS`. Default: the
    /// server's current position when the replay starts.
    #[arg(long)]
    pub to: Option<BinlogPosition>,
    /// Only these tables (`db.table`, comma separated); default: all configured.
    #[arg(long, value_delimiter = ',')]
    pub tables: Option<Vec<String>>,
}

pub async fn run(args: ReplayArgs) -> Result<()> {
    let mut config = AppConfig::load(&args.config)?;
    super::logging::init(&config.log);
    // A replay registers as its own replica so it can run beside the reader.
    config.source.server_id = config.source.server_id.wrapping_add(1_000);
    let server = preflight::check(&config.source).await?;
    if let Some(t) = &args.tables {
        for name in t {
            if !config.source.tables.contains(name) {
                bail!("--tables: `{name}` is not in source.tables");
            }
        }
    }
    let to = match args.to {
        Some(t) => t,
        None => current_position(&config).await?,
    };
    let kafka = &config.kafka;
    admin::ensure_topic(kafka, &kafka.topic, kafka.partitions, false).await?;
    info!(from = %args.from, %to, "replaying");

    let (tx, rx) = mpsc::channel(1024);
    let mut reader = BinlogReader::new(&config.source, server)?;
    let range = ReadRange {
        from: StartAt::Position(args.from.clone()),
        to: Some(to.clone()),
        replay: true,
        only_tables: args.tables.clone(),
    };
    let reader_task = tokio::spawn(async move {
        let r = reader.run(range, tx).await;
        reader.close().await;
        r
    });
    let mut publisher = Publisher::new(kafka, &kafka.topic)?;
    let target = to.clone();
    let progress = publish::pump(
        rx,
        &mut publisher,
        None,
        Shutdown::install(),
        move |p, pos| {
            if p.transactions.is_multiple_of(1_000) {
                info!(published = p.published, at = %pos, to = %target, "replay progress");
            }
        },
    )
    .await?;
    match reader_task.await {
        Ok(Err(e)) => return Err(e.into()),
        Err(e) => bail!("replay reader failed: {e}"),
        Ok(Ok(())) => {}
    }
    println!(
        "replayed {} row changes from {} to {}",
        progress.published, args.from, to
    );
    Ok(())
}

async fn current_position(config: &AppConfig) -> Result<BinlogPosition> {
    let logs = preflight::server_binary_logs(&config.source).await?;
    logs.last()
        .map(|(f, s)| BinlogPosition::new(f.clone(), *s))
        .ok_or_else(|| anyhow::anyhow!("the server lists no binary logs"))
}
