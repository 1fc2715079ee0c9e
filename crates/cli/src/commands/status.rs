//! `cdc-streamer status`: how far behind each part of the pipeline is.
//!
//! - The reader: its checkpoint against the server's current binlog position
//!   (bytes and seconds behind).
//! - Each sink: its position per partition against the end of the change
//!   topic (see `offsets` for where positions come from).
//! - The dead-letter topic: how many letters, per sink when cheap to count.
//!
//! Nothing here writes, except that reading a MySQL sink's offsets creates
//! its checkpoint table when missing (as the sink itself does). `--json`
//! prints the same as one JSON document whose field names are part of the
//! interface (docs/operations.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use cdc_bus_kafka::checkpoint::scan_topic;
use cdc_bus_kafka::dlq::DeadLetter;
use cdc_bus_kafka::{admin, CheckpointStore, KafkaConfig};
use cdc_core::{BinlogPosition, Checkpoint};
use cdc_source_mysql::preflight;

use super::offsets::{self, SinkPositions};
use crate::config::AppConfig;

/// Dead letters are counted per sink by reading the whole topic; above this
/// many only the total is given.
const DLQ_SCAN_LIMIT: i64 = 10_000;

#[derive(clap::Args)]
pub struct StatusArgs {
    /// Path of the TOML config file.
    #[arg(long, short, env = "CDC_STREAMER_CONFIG")]
    pub config: PathBuf,
    /// Print one JSON document instead of tables (for scripts and alerts).
    #[arg(long)]
    pub json: bool,
}

/// The whole report (`--json`).
#[derive(Debug, Serialize)]
pub struct Status {
    pub source: SourceStatus,
    pub sinks: Vec<SinkStatus>,
    pub dlq: DlqStatus,
}

/// The reader's progress through the binlog.
#[derive(Debug, Serialize)]
pub struct SourceStatus {
    /// `source.name`: the key of the checkpoint.
    pub name: String,
    /// The last checkpoint written by the reader; null when there is none.
    pub checkpoint: Option<Checkpoint>,
    /// The server's current end of the binlog (last file of `SHOW BINARY
    /// LOGS` and its size).
    pub server_position: Option<BinlogPosition>,
    /// Binlog bytes between the checkpoint and the server position.
    pub bytes_behind: Option<u64>,
    /// Now − commit time of the checkpoint's transaction, 0 when caught up;
    /// null when unknown (no transaction read yet).
    pub seconds_behind: Option<i64>,
    pub errors: Vec<String>,
}

/// A sink's positions plus its dead letters.
#[derive(Debug, Serialize)]
pub struct SinkStatus {
    #[serde(flatten)]
    pub positions: SinkPositions,
    /// Letters of this sink on the dead-letter topic; null when not counted.
    pub dead_letters: Option<u64>,
}

/// The dead-letter topic.
#[derive(Debug, Serialize)]
pub struct DlqStatus {
    pub topic: String,
    /// Messages on the topic (sum of high − low watermarks).
    pub messages: Option<i64>,
    /// Letters per sink name; null when the topic is too large to scan.
    pub by_sink: Option<BTreeMap<String, u64>>,
    pub errors: Vec<String>,
}

pub async fn run(args: StatusArgs) -> Result<()> {
    // No log output: the report is the output (the broker client's
    // connection errors would only interleave with it).
    let config = AppConfig::load(&args.config)?;
    let status = gather(&config).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print(&status);
    }
    let errors = status.source.errors.len()
        + status.dlq.errors.len()
        + status
            .sinks
            .iter()
            .map(|s| s.positions.errors.len())
            .sum::<usize>();
    if errors > 0 {
        anyhow::bail!("{errors} part(s) of the status could not be read (see `errors`)");
    }
    Ok(())
}

/// Reads everything; the parts are independent and read concurrently, so an
/// unreachable broker costs one timeout, not one per part.
pub async fn gather(config: &AppConfig) -> Status {
    let sink_tasks: Vec<_> = config
        .sinks
        .iter()
        .map(|(name, sink)| {
            let (name, sink, kafka) = (name.clone(), sink.clone(), config.kafka.clone());
            tokio::spawn(async move { offsets::positions(&name, &sink, &kafka).await })
        })
        .collect();
    let (source, dlq) = tokio::join!(source_status(config), dlq_status(&config.kafka));
    let mut sinks = Vec::new();
    for (task, name) in sink_tasks.into_iter().zip(config.sinks.keys()) {
        // A panic in the task is a bug: let it surface as one.
        let positions = task
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        let dead_letters = dlq
            .by_sink
            .as_ref()
            .map(|m| m.get(name).copied().unwrap_or(0));
        sinks.push(SinkStatus {
            positions,
            dead_letters,
        });
    }
    Status { source, sinks, dlq }
}

async fn source_status(config: &AppConfig) -> SourceStatus {
    let name = config.source.name.clone();
    let mut st = SourceStatus {
        name: name.clone(),
        checkpoint: None,
        server_position: None,
        bytes_behind: None,
        seconds_behind: None,
        errors: Vec::new(),
    };
    match load_checkpoint(&config.kafka, &name).await {
        Ok(cp) => st.checkpoint = cp,
        Err(e) => st.errors.push(format!("checkpoint: {e:#}")),
    }
    let logs = match binary_logs(config).await {
        Ok(l) => l,
        Err(e) => {
            st.errors.push(format!("source server: {e:#}"));
            return st;
        }
    };
    st.server_position = logs
        .last()
        .map(|(f, size)| BinlogPosition::new(f.clone(), *size));
    let Some(cp) = &st.checkpoint else {
        return st;
    };
    match bytes_behind(&cp.position(), &logs) {
        Ok(bytes) => {
            st.bytes_behind = Some(bytes);
            st.seconds_behind = match (bytes, cp.ts_ms) {
                (0, _) => Some(0),
                (_, 0) => None,
                (_, ts) => Some((now_ms() - ts).max(0) / 1000),
            };
        }
        Err(e) => st.errors.push(e),
    }
    st
}

/// The checkpoint, without creating its topic when it does not exist.
async fn load_checkpoint(kafka: &KafkaConfig, source: &str) -> Result<Option<Checkpoint>> {
    let (k, topic) = (kafka.clone(), kafka.checkpoint_topic.clone());
    let exists = tokio::task::spawn_blocking(move || admin::partition_count(&k, &topic))
        .await??
        .is_some();
    if !exists {
        return Ok(None);
    }
    Ok(CheckpointStore::open(kafka).await?.load(source).await?)
}

/// `SHOW BINARY LOGS`: `(file, size)`, oldest first.
pub async fn binary_logs(config: &AppConfig) -> Result<Vec<(String, u64)>> {
    Ok(preflight::server_binary_logs(&config.source).await?)
}

/// Binlog bytes from `from` to the end of the last file of `logs` (`SHOW
/// BINARY LOGS`, oldest first): the rest of `from`'s file plus every later
/// file. An error says why they cannot be compared.
pub fn bytes_behind(from: &BinlogPosition, logs: &[(String, u64)]) -> Result<u64, String> {
    if let Some(i) = logs.iter().position(|(f, _)| *f == from.file) {
        let rest_of_file = logs[i].1.saturating_sub(from.pos);
        let later: u64 = logs[i + 1..].iter().map(|(_, size)| size).sum();
        return Ok(rest_of_file + later);
    }
    let Some((oldest, _)) = logs.first() else {
        return Err("the server lists no binary logs".into());
    };
    let oldest = BinlogPosition::new(oldest.clone(), BinlogPosition::START_OF_FILE);
    Err(match from.partial_cmp(&oldest) {
        Some(std::cmp::Ordering::Less) => format!(
            "checkpoint {from} is no longer on the server (purged; oldest available: {}): restart from a snapshot (`cdc-streamer snapshot`), see docs/operations.md",
            oldest.file
        ),
        Some(_) => format!(
            "checkpoint {from} is beyond the server's binary logs (a different server, or a reset binlog?)"
        ),
        None => format!(
            "checkpoint {from} is in another binlog series than the server's ({}): was the server replaced?",
            oldest.file
        ),
    })
}

async fn dlq_status(kafka: &KafkaConfig) -> DlqStatus {
    let topic = kafka.dlq_topic.clone();
    let k = kafka.clone();
    let t = topic.clone();
    let counted = tokio::task::spawn_blocking(move || count_letters(&k, &t)).await;
    let mut st = DlqStatus {
        topic,
        messages: None,
        by_sink: None,
        errors: Vec::new(),
    };
    match counted {
        Ok(Ok((messages, by_sink))) => {
            st.messages = Some(messages);
            st.by_sink = by_sink;
        }
        Ok(Err(e)) => st.errors.push(format!("{e:#}")),
        Err(e) => st.errors.push(e.to_string()),
    }
    st
}

/// Letters per sink name.
type PerSink = BTreeMap<String, u64>;

/// Messages on the dead-letter topic, and per sink when at most
/// [`DLQ_SCAN_LIMIT`]. A missing topic holds none (sinks create it).
fn count_letters(kafka: &KafkaConfig, topic: &str) -> Result<(i64, Option<PerSink>)> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    let Some(partitions) = admin::partition_count(kafka, topic)? else {
        return Ok((0, Some(BTreeMap::new())));
    };
    let consumer: BaseConsumer = kafka.client_config().create()?;
    let mut messages = 0;
    for p in 0..partitions as i32 {
        let (low, high) =
            consumer.fetch_watermarks(topic, p, std::time::Duration::from_secs(10))?;
        messages += (high - low).max(0);
    }
    if messages > DLQ_SCAN_LIMIT {
        return Ok((messages, None));
    }
    let mut by_sink = BTreeMap::new();
    scan_topic(kafka, topic, |r| {
        let sink = r
            .payload
            .and_then(|b| serde_json::from_slice::<DeadLetter>(b).ok())
            .map_or_else(|| "(unreadable)".to_string(), |l| l.sink);
        *by_sink.entry(sink).or_insert(0) += 1;
    })?;
    Ok((messages, Some(by_sink)))
}

pub fn now_ms() -> i64 {
    cdc_source_mysql::reader::now_ms()
}

/// Epoch ms as an RFC 3339 UTC time.
pub fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_else(|| format!("{ms} ms"))
}

fn print(status: &Status) {
    let s = &status.source;
    println!("source {}", s.name);
    match &s.checkpoint {
        Some(cp) => {
            let gtid = cp
                .gtid
                .as_deref()
                .map_or(String::new(), |g| format!("  gtid {g}"));
            let committed = match cp.ts_ms {
                0 => String::new(),
                ts => format!("  committed {}", rfc3339(ts)),
            };
            println!(
                "  checkpoint  {}{gtid}{committed}  written {}",
                cp.position(),
                rfc3339(cp.written_ms)
            );
        }
        None => println!("  checkpoint  none (the reader has not run, or source.name changed)"),
    }
    if let Some(p) = &s.server_position {
        println!("  server      {p}");
    }
    if let Some(bytes) = s.bytes_behind {
        let secs = s
            .seconds_behind
            .map_or("unknown".to_string(), |s| format!("{s} s"));
        println!("  behind      {bytes} bytes, {secs}");
    }
    for e in &s.errors {
        println!("  error: {e}");
    }
    for sink in &status.sinks {
        println!();
        offsets::print_positions(&sink.positions);
        if let Some(n) = sink.dead_letters {
            println!("  dead letters {n}");
        }
    }
    println!();
    let d = &status.dlq;
    let count = d
        .messages
        .map_or("unknown".to_string(), |n| format!("{n} message(s)"));
    let per_sink = match &d.by_sink {
        Some(m) if !m.is_empty() => format!(
            " ({})",
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(_) => String::new(),
        None if d.messages.is_some() => {
            " (too many to count per sink; see `cdc-streamer dlq list`)".into()
        }
        None => String::new(),
    };
    println!("dead-letter topic {}: {count}{per_sink}", d.topic);
    for e in &d.errors {
        println!("  error: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logs() -> Vec<(String, u64)> {
        vec![
            ("mysql-bin.000009".into(), 1_000),
            ("mysql-bin.000010".into(), 2_000),
            ("mysql-bin.000011".into(), 300),
        ]
    }

    #[test]
    fn bytes_behind_sums_the_files_in_between() {
        let at = |f: &str, p| BinlogPosition::new(f, p);
        assert_eq!(bytes_behind(&at("mysql-bin.000011", 300), &logs()), Ok(0));
        assert_eq!(bytes_behind(&at("mysql-bin.000011", 100), &logs()), Ok(200));
        assert_eq!(
            bytes_behind(&at("mysql-bin.000009", 400), &logs()),
            Ok(600 + 2_000 + 300)
        );
    }

    #[test]
    fn positions_off_the_list_are_explained() {
        let purged = bytes_behind(&BinlogPosition::new("mysql-bin.000008", 4), &logs());
        assert!(purged.unwrap_err().contains("purged"));
        let ahead = bytes_behind(&BinlogPosition::new("mysql-bin.000012", 4), &logs());
        assert!(ahead.unwrap_err().contains("beyond"));
        let other = bytes_behind(&BinlogPosition::new("db1-bin.000001", 4), &logs());
        assert!(other.unwrap_err().contains("another binlog series"));
    }

    #[test]
    fn rfc3339_prints_utc_millis() {
        assert_eq!(rfc3339(1_714_564_800_123), "2024-05-01T12:00:00.123Z");
    }
}
