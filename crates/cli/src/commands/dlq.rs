//! `cdc-streamer dlq list|replay`: look at what the sinks gave up on, and
//! send it again once the cause is fixed (a property created in HubSpot, a
//! column widened in the target, …).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::Message;
use tracing::{info, warn};

use cdc_bus_kafka::checkpoint::scan_topic;
use cdc_bus_kafka::consumer;
use cdc_bus_kafka::dlq::{DeadLetter, DeadLetterWriter};

use crate::config::AppConfig;
use crate::sink::writer::{WriteError, Writer};

#[derive(clap::Subcommand)]
pub enum DlqCommand {
    /// Print the dead letters (one line each, or JSON lines with --json).
    List {
        #[arg(long, short, env = "CDC_STREAMER_CONFIG")]
        config: PathBuf,
        /// Only this sink's letters.
        #[arg(long)]
        sink: Option<String>,
        /// Print each letter as a JSON line.
        #[arg(long)]
        json: bool,
    },
    /// Send a sink's dead letters through the sink again. Each letter is
    /// replayed once (progress is kept in the consumer group
    /// `cdc-dlq-replay-<sink>`); letters refused again are dead-lettered anew.
    Replay {
        #[arg(long, short, env = "CDC_STREAMER_CONFIG")]
        config: PathBuf,
        #[arg(long)]
        sink: String,
    },
}

pub async fn run(cmd: DlqCommand) -> Result<()> {
    match cmd {
        DlqCommand::List { config, sink, json } => list(config, sink, json).await,
        DlqCommand::Replay { config, sink } => replay(config, sink).await,
    }
}

async fn list(path: PathBuf, sink: Option<String>, json: bool) -> Result<()> {
    let config = AppConfig::load(&path)?;
    let kafka = config.kafka.clone();
    let topic = kafka.dlq_topic.clone();
    let lines = tokio::task::spawn_blocking(move || -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut count = 0usize;
        scan_topic(&kafka, &topic, |r| {
            let Some(payload) = r.payload else { return };
            match serde_json::from_slice::<DeadLetter>(payload) {
                Ok(l) if sink.as_ref().is_none_or(|s| s == &l.sink) => {
                    count += 1;
                    out.push(if json {
                        String::from_utf8_lossy(payload).into_owned()
                    } else {
                        format!(
                            "{}@{}\t{}\t{}\tkey={}\t{}",
                            r.partition, r.offset, l.sink, l.kind, l.key, l.reason
                        )
                    });
                }
                Ok(_) => {}
                Err(e) => out.push(format!(
                    "{}@{}\t(unreadable dead letter: {e})",
                    r.partition, r.offset
                )),
            }
        })?;
        if !json {
            out.push(format!("{count} dead letter(s)"));
        }
        Ok(out)
    })
    .await??;
    for l in lines {
        println!("{l}");
    }
    Ok(())
}

async fn replay(path: PathBuf, sink: String) -> Result<()> {
    let config = AppConfig::load(&path)?;
    super::logging::init(&config.log);
    let sink_config = config
        .sinks
        .get(&sink)
        .with_context(|| format!("no [sinks.{sink}] in the config"))?;
    let writer = Writer::open(&sink, sink_config, &config.source).await?;
    let kafka = &config.kafka;
    let dlq = DeadLetterWriter::open(kafka).await?;
    let group = format!("cdc-dlq-replay-{sink}");
    let consumer: StreamConsumer = consumer::subscribe(kafka, &group, &kafka.dlq_topic, None)?;
    // Stop at the end the topic has now: letters refused again are appended
    // and must wait for the next replay, not loop.
    let ends = end_offsets(&consumer, &kafka.dlq_topic)?;
    let mut done = std::collections::HashMap::<i32, i64>::new();
    let (mut replayed, mut refused) = (0usize, 0usize);
    while ends
        .iter()
        .any(|(p, end)| done.get(p).copied().unwrap_or(-1) + 1 < *end)
    {
        let msg = tokio::time::timeout(std::time::Duration::from_secs(15), consumer.recv())
            .await
            .context("timed out reading the dead-letter topic")??;
        let (p, o) = (msg.partition(), msg.offset());
        if let Some(letter) = msg
            .payload()
            .and_then(|b| serde_json::from_slice::<DeadLetter>(b).ok())
        {
            if letter.sink == sink {
                if letter.kind == "malformed" {
                    warn!(key = %letter.key, "malformed message cannot be replayed; see its payload with `dlq list --json`");
                } else {
                    match writer.replay(&letter, sink_config).await {
                        Ok(None) => replayed += 1,
                        Ok(Some(again)) => {
                            refused += 1;
                            warn!(key = %again.key, reason = %again.reason, "still refused; dead-lettered again");
                            dlq.send(&again).await?;
                        }
                        Err(WriteError::Retriable(e)) => bail!("target unavailable ({e}); nothing after this letter was replayed, run again later"),
                        Err(WriteError::Fatal(e)) => return Err(e),
                    }
                }
            }
        }
        consumer::commit_offsets(&consumer, &kafka.dlq_topic, &[(p, o + 1)])?;
        done.insert(p, o);
    }
    info!(replayed, refused, "dead-letter replay finished");
    println!("replayed {replayed} dead letter(s) of sink {sink}; {refused} refused again");
    Ok(())
}

fn end_offsets(consumer: &StreamConsumer, topic: &str) -> Result<Vec<(i32, i64)>> {
    let md = consumer.fetch_metadata(Some(topic), std::time::Duration::from_secs(10))?;
    let mut out = Vec::new();
    for t in md.topics() {
        for p in t.partitions() {
            let (_, high) =
                consumer.fetch_watermarks(topic, p.id(), std::time::Duration::from_secs(10))?;
            out.push((p.id(), high));
        }
    }
    Ok(out)
}
