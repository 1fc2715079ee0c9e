//! `cdc-streamer check`: everything the reader and the sinks verify at
//! start-up, run at once and reported one line per check, so an operator
//! fixes all problems in one round instead of one restart per problem.
//!
//! Each check prints `ok`, `warn`, `skip` or `FAIL` and the checks go on
//! after a failure (only a config that does not load stops them); the
//! command fails when any check failed. Checks reuse the start-up code of
//! the parts they check (`preflight::check`, `Writer::open`) rather than
//! imitating it, so `check` cannot pass where a start would fail for the
//! same reason.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use mysql_async::prelude::*;
use rdkafka::consumer::{BaseConsumer, Consumer};

use cdc_bus_kafka::{admin, CheckpointStore, KafkaConfig};
use cdc_sink_mysql::write::quote_ident;
use cdc_source_mysql::config::StartMode;
use cdc_source_mysql::preflight::{self, ServerInfo};
use cdc_source_mysql::SourceConfig;

use super::status::{binary_logs, bytes_behind};
use crate::config::AppConfig;
use crate::sink::config::{SinkConfig, SinkKind};
use crate::sink::writer::Writer;

/// Longest a single check may take (a black-holed host, a HubSpot outage
/// retried by the client) before it counts as failed.
const CHECK_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Path of the TOML config file.
    #[arg(long, short, env = "CDC_STREAMER_CONFIG")]
    pub config: PathBuf,
}

/// Prints the outcome lines and counts failures.
#[derive(Default)]
struct Report {
    failed: usize,
}

impl Report {
    fn line(&mut self, status: &str, what: &str, message: &str) {
        // Multi-line messages (the TOML error's snippet) stay under their check.
        let message = message.trim_end().replace('\n', "\n     ");
        println!("{status:<4} {what}: {message}");
    }
    fn ok(&mut self, what: &str, message: impl AsRef<str>) {
        self.line("ok", what, message.as_ref());
    }
    fn warn(&mut self, what: &str, message: impl AsRef<str>) {
        self.line("warn", what, message.as_ref());
    }
    fn skip(&mut self, what: &str, message: impl AsRef<str>) {
        self.line("skip", what, message.as_ref());
    }
    fn fail(&mut self, what: &str, message: impl AsRef<str>) {
        self.failed += 1;
        self.line("FAIL", what, message.as_ref());
    }
}

pub async fn run(args: CheckArgs) -> Result<()> {
    let mut report = Report::default();
    let config = match AppConfig::load(&args.config) {
        Ok(c) => c,
        Err(e) => {
            report.fail("config", format!("{e:#}"));
            bail!("the config does not load; nothing else was checked");
        }
    };
    // No log output: every finding is a report line, and a failure's log
    // line would only repeat it.
    let sinks: Vec<&str> = config.sinks.keys().map(String::as_str).collect();
    report.ok(
        "config",
        format!(
            "{} (source {}, {} table(s), sinks: {})",
            args.config.display(),
            config.source.name,
            config.source.tables.len(),
            if sinks.is_empty() {
                "none".into()
            } else {
                sinks.join(", ")
            }
        ),
    );

    match config.metrics.address() {
        Ok(Some(addr)) => report.ok(
            "metrics",
            format!("reader and sinks serve /metrics, /healthz and /readyz on {addr}"),
        ),
        Ok(None) => report.ok(
            "metrics",
            "no endpoint ([metrics] listen and CDC_METRICS_LISTEN are not set)",
        ),
        Err(e) => report.fail("metrics", format!("{e:#}")),
    }
    let server = check_source(&config, &mut report).await;
    let kafka_up = check_kafka(&config.kafka, &mut report).await;
    match (&server, kafka_up) {
        (Some(server), true) => check_checkpoint(&config, server, &mut report).await,
        _ => report.skip("checkpoint", "needs both the source server and the brokers"),
    }
    for (name, sink) in &config.sinks {
        check_sink(name, sink, &config.source, &mut report).await;
    }

    match report.failed {
        0 => Ok(()),
        n => bail!("{n} check(s) failed"),
    }
}

/// Runs `f` with [`CHECK_TIMEOUT`].
async fn timed<T>(f: impl Future<Output = Result<T>>) -> Result<T> {
    match tokio::time::timeout(CHECK_TIMEOUT, f).await {
        Ok(r) => r,
        Err(_) => bail!("no answer within {} s", CHECK_TIMEOUT.as_secs()),
    }
}

async fn check_source(config: &AppConfig, report: &mut Report) -> Option<ServerInfo> {
    match timed(async { Ok(preflight::check(&config.source).await?) }).await {
        Ok(server) => {
            let user = config
                .source
                .resolved_url()
                .ok()
                .and_then(|u| mysql_async::Opts::from_url(&u).ok())
                .and_then(|o| o.user().map(str::to_string))
                .unwrap_or_else(|| "?".into());
            report.ok(
                "mysql",
                format!(
                    "connected to {} as {user} (server_id {}; binlog settings, privileges and the {} table(s) ok)",
                    server.version,
                    server.server_id,
                    config.source.tables.len()
                ),
            );
            for w in &server.warnings {
                report.warn("mysql", w);
            }
            Some(server)
        }
        Err(e) => {
            report.fail("mysql", format!("{e:#}"));
            None
        }
    }
}

/// Broker reachability and the three topics. Returns whether the brokers
/// answered.
async fn check_kafka(kafka: &KafkaConfig, report: &mut Report) -> bool {
    let k = kafka.clone();
    let metadata = tokio::task::spawn_blocking(move || -> Result<_> {
        let consumer: BaseConsumer = k.client_config().create()?;
        let md = consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .with_context(|| format!("cannot reach the brokers {}", k.brokers))?;
        let brokers = md.brokers().len();
        let topics: Vec<(String, usize)> = md
            .topics()
            .iter()
            .filter(|t| t.error().is_none())
            .map(|t| (t.name().to_string(), t.partitions().len()))
            .collect();
        Ok((brokers, topics))
    })
    .await;
    let (brokers, topics) = match metadata {
        Ok(Ok(m)) => m,
        Ok(Err(e)) => {
            report.fail("kafka", format!("{e:#}"));
            return false;
        }
        Err(e) => {
            report.fail("kafka", e.to_string());
            return false;
        }
    };
    report.ok(
        "kafka",
        format!("{brokers} broker(s) at {} answered", kafka.brokers),
    );
    let partitions = |name: &str| {
        topics
            .iter()
            .find(|(t, n)| t == name && *n > 0)
            .map(|(_, n)| *n)
    };
    let topic = &kafka.topic;
    match partitions(topic) {
        Some(n) if n as i32 != kafka.partitions => report.ok(
            &format!("topic {topic}"),
            format!(
                "change topic exists with {n} partitions (kafka.partitions = {} only applies when the reader creates it)",
                kafka.partitions
            ),
        ),
        Some(n) => report.ok(
            &format!("topic {topic}"),
            format!("change topic exists with {n} partitions"),
        ),
        None => report.ok(
            &format!("topic {topic}"),
            format!(
                "change topic does not exist yet; the reader creates it with {} partitions",
                kafka.partitions
            ),
        ),
    }
    let cp = &kafka.checkpoint_topic;
    match partitions(cp) {
        Some(_) => report.ok(&format!("topic {cp}"), "checkpoint topic exists"),
        None => report.ok(
            &format!("topic {cp}"),
            "checkpoint topic does not exist yet; the reader creates it (compacted)",
        ),
    }
    let dlq = &kafka.dlq_topic;
    match partitions(dlq) {
        Some(_) => report.ok(&format!("topic {dlq}"), "dead-letter topic exists"),
        None => report.ok(
            &format!("topic {dlq}"),
            "dead-letter topic does not exist yet; the sinks create it",
        ),
    }
    true
}

/// Whether the reader can resume: its checkpoint's binlog is still on the
/// server.
async fn check_checkpoint(config: &AppConfig, server: &ServerInfo, report: &mut Report) {
    let name = &config.source.name;
    let loaded = timed(async {
        let (k, topic) = (config.kafka.clone(), config.kafka.checkpoint_topic.clone());
        let exists = tokio::task::spawn_blocking(move || admin::partition_count(&k, &topic))
            .await??
            .is_some();
        if !exists {
            return Ok(None);
        }
        Ok(CheckpointStore::open(&config.kafka)
            .await?
            .load(name)
            .await?)
    })
    .await;
    let cp = match loaded {
        Ok(Some(cp)) => cp,
        Ok(None) => {
            let start = match config.source.start {
                StartMode::Current => "current",
                StartMode::Earliest => "earliest",
            };
            report.ok(
                "checkpoint",
                format!("none for source {name}; the reader starts at the {start} position (source.start)"),
            );
            return;
        }
        Err(e) => {
            report.fail("checkpoint", format!("{e:#}"));
            return;
        }
    };
    if cp.server_id != server.server_id {
        report.warn(
            "checkpoint",
            format!(
                "written against server_id {}, the server is {}: file positions may not match this server",
                cp.server_id, server.server_id
            ),
        );
    }
    match timed(binary_logs(config)).await {
        Ok(logs) => match bytes_behind(&cp.position(), &logs) {
            Ok(bytes) => report.ok(
                "checkpoint",
                format!(
                    "source {name} at {}, still on the server ({bytes} bytes behind)",
                    cp.position()
                ),
            ),
            Err(e) => report.fail("checkpoint", e),
        },
        Err(e) => report.fail("checkpoint", format!("{e:#}")),
    }
}

async fn check_sink(name: &str, sink: &SinkConfig, source: &SourceConfig, report: &mut Report) {
    let what = format!("sink {name}");
    if !sink.enabled {
        report.skip(&what, "disabled (enabled = false)");
        return;
    }
    // Opening the writer is the sink's own start-up check: HubSpot token and
    // property definitions, or MySQL connection and checkpoint table.
    if let Err(e) = timed(Writer::open(name, sink, source)).await {
        report.fail(&what, format!("{e:#}"));
        return;
    }
    match sink.kind {
        SinkKind::Hubspot => {
            let h = sink.hubspot.as_ref();
            report.ok(
                &what,
                format!(
                    "HubSpot at {} accepts the token from {}; the mapped properties exist with fitting types",
                    h.map_or("?", |h| h.base_url.as_str()),
                    h.map_or("?", |h| h.token_env.as_str()),
                ),
            );
        }
        SinkKind::Mysql => {
            let table = sink
                .target
                .as_ref()
                .map_or("?", |t| t.checkpoint_table.as_str());
            report.ok(
                &what,
                format!("MySQL target reachable, checkpoint table {table} ready"),
            );
            match timed(check_target_tables(sink)).await {
                Ok(tables) => report.ok(
                    &what,
                    format!(
                        "target tables {} have the mapped columns",
                        tables.join(", ")
                    ),
                ),
                Err(e) => report.fail(&what, format!("{e:#}")),
            }
        }
    }
}

/// Every target table of a MySQL sink exists with its key and mapped
/// columns: a `SELECT` of them that returns no row.
async fn check_target_tables(sink: &SinkConfig) -> Result<Vec<String>> {
    let t = sink.target.as_ref().context("missing [target] section")?;
    let url = cdc_source_mysql::config::expand_env(&t.url)?;
    let mut conn = mysql_async::Conn::new(mysql_async::Opts::from_url(&url)?).await?;
    let mut checked = Vec::new();
    let mut problems = Vec::new();
    for m in &sink.tables.tables {
        let Some(table) = &m.target else { continue };
        let mut columns: Vec<&str> = m.target_key.iter().map(String::as_str).collect();
        columns.extend(m.columns.iter().map(|c| c.to.as_str()));
        columns.dedup();
        let list = columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {list} FROM {} LIMIT 0", quote_ident(table));
        match conn.query_drop(sql).await {
            Ok(()) => checked.push(table.clone()),
            Err(mysql_async::Error::Server(e)) => problems.push(format!("{table}: {}", e.message)),
            Err(e) => {
                let _ = conn.disconnect().await;
                return Err(e.into());
            }
        }
    }
    let _ = conn.disconnect().await;
    if !problems.is_empty() {
        bail!(
            "target tables do not fit the mapping: {}",
            problems.join("; ")
        );
    }
    Ok(checked)
}
